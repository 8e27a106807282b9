#!/usr/bin/env bash
# test_server_limits.sh: the server's own refusals, its audit log and its
# connections, through a running `asps serve` (review of issue 12), with the
# real client (asps get / asps run) and Python grpcio as peers.
#  - refusals the RPC layer makes itself each leave one audit line: the server
#    busy (max_concurrent_calls with max_waiting_calls 0: no call waits; a
#    Vault that answers after 3 s), a request
#    over max_message_bytes, a request message missing, an unknown method;
#    busy is "retry later": RESOURCE_EXHAUSTED with gRPC's retry pushback,
#    asps get and asps run exit 3
#  - an audit log that cannot be written: a rate-limited stderr line; with
#    audit_required (the default) nothing is released (UNAVAILABLE, exit 3),
#    with "audit_required": false the secret is released and stderr says so;
#    a FIFO or a device as the audit path is refused at start-up at once
#  - refused connections held open: gRPC's memory quota (grpc_memory_mb)
#    closes some of them, and the server still serves (figures printed)
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
SRC=${ASPS_SRC:?}
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import grpc' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with grpcio"; exit 77; }
CLIENT="$PY $SRC/tests/rpc_client.py"

T=$(mktemp -d /tmp/asps-limits-XXXXXX)
PIDS=
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${ASPS_AUDIT_KEEP:-}" ]; then # for the suite-wide check of every audit line
        mkdir -p "$ASPS_AUDIT_KEEP"
        for f in audit; do
            [ -f "$T/$f.log" ] && cp "$T/$f.log" "$ASPS_AUDIT_KEEP/test_server_limits_$f.log"
        done
    fi
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
MRE=$(printf 'a1%.0s' {1..32})
ID=(--sim sim --mrenclave "$MRE")
$BIN cert new --out c.pem --key c.key "${ID[@]}" >/dev/null || { echo "FAIL: cert new"; exit 1; }
PYC() { $CLIENT --target "$S" --ca server.pem --server-name localhost --cert c.pem --key c.key "$@"; }
start_server() { # config-file [env...] -> sets S, SPID; ulimits of the caller apply
    $BIN serve --config "$1" > "$1.out" 2> "$1.err" &
    SPID=$!
    PIDS="$PIDS $SPID"
    wait_listening "$1.out" $SPID "$1.err" || { echo "FAIL: server did not start"; exit 1; }
    S=$LISTEN_ADDR
}
lines() { wc -l < "$1"; }

# ---- 1. refusals of the RPC layer are audited; busy is "retry later" -----------
$PY - <<'EOF'
import json
json.dump({"kv2": {"secret": {"fine": {"key": "fine"}}}, "tokens": {"root": ["*"]}}, open("seed.json", "w"))
EOF
$PY "$SRC/tests/vault_server.py" --seed seed.json > vault.out 2> vault.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q PORT vault.out 2>/dev/null && break; sleep 0.1; done
VPORT=$(sed -n 's/^PORT //p' vault.out)
[ -n "$VPORT" ] || { echo "FAIL: vault test server"; exit 1; }
V=http://127.0.0.1:$VPORT
control() { curl -s -X POST -d "$1" $V/__control >/dev/null; }
cat > policy.json <<EOF
{"version": 1, "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"},
  "allow_simulated": true, "secrets": {"fine": "fine"}}]}
EOF
cat > server.json <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log",
 "kms": {"type": "vault", "addr": "$V", "kv_version": 2, "token": "root"},
 "limits": {"threads": 2, "max_concurrent_calls": 2, "max_waiting_calls": 0, "max_message_bytes": 4096,
            "deadline_ms": 8000, "kms_deadline_ms": 6000}}
EOF
start_server server.json
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" fine 2>&1) && ok || bad "served: $out"

# five calls 0.3 s apart while Vault takes 3 s: two run, three are refused busy
control '{"delay": 3}'
n0=$(lines audit.log)
for i in 1 2 3 4 5; do
    ( $BIN get --server "$S" --ca server.pem "${ID[@]}" fine > busy$i.out 2>&1; echo $? > busy$i.rc ) &
    sleep 0.3
done
sleep 1.0
# a sixth, through Python: the status and gRPC's retry pushback trailer
out=$(PYC get fine)
echo "$out" | grep -q "^STATUS RESOURCE_EXHAUSTED server busy" && ok || bad "busy via grpcio: $out"
echo "$out" | grep -q "^PUSHBACK [0-9][0-9]*$" && ok || bad "busy: no grpc-retry-pushback-ms: $out"
# and asps run: exit 3 (retry later), nothing written, the app not started
cat > initra.json <<EOF
{"kms_server": "$S", "kms_keys": [{"key": "fine", "path": "/etc/fine"}],
 "ra_config": {"verify_mr_enclave": "off", "verify_mr_signer": "off", "verify_isv_prod_id": "off",
               "verify_isv_svn": "off", "verify_config_svn": "off", "verify_enclave_debuggable": "off",
               "sgx_mrs": []}}
EOF
mkdir -p root
$BIN run --conf initra.json --ca server.pem "${ID[@]}" --root "$T/root" -- touch "$T/started" 2> run.err
rc=$?
[ $rc = 3 ] && grep -q "server busy" run.err && ok || bad "asps run while busy: exit $rc: $(cat run.err)"
[ ! -e root/etc/fine ] && [ ! -e started ] && ok || bad "asps run while busy: file written or app started"
wait_rc() { for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.1; done; cat "$1"; }
granted=0 busy=0
for i in 1 2 3 4 5; do
    rc=$(wait_rc busy$i.rc)
    if [ "$rc" = 0 ]; then granted=$((granted+1))
    elif [ "$rc" = 3 ] && grep -q "RESOURCE_EXHAUSTED: server busy" busy$i.out; then busy=$((busy+1))
    else bad "call $i while busy: exit $rc: $(cat busy$i.out)"; fi
done
[ $granted = 2 ] && [ $busy = 3 ] && ok || bad "busy: $granted granted, $busy busy (want 2 and 3)"
control '{"delay": 0}'
# one audit line per call: 5 + the Python call + asps run's
n1=$(lines audit.log)
[ $((n1 - n0)) = 7 ] && ok || bad "busy: $((n1 - n0)) audit lines for 7 calls"
nb=$(tail -n +$((n0 + 1)) audit.log | grep -c '"verdict":"unavailable","reason":"/asps.v1.SecretProvision/GetSecrets: server busy')
[ "$nb" = 5 ] && ok || bad "busy: $nb busy audit lines (want 5)"

# the request's own faults, each one audit line (verdict invalid)
audited() { # name pattern command...: the call's one audit line
    local name=$1 pat=$2 n
    shift 2
    n=$(lines audit.log)
    out=$("$@")
    [ "$(lines audit.log)" = $((n + 1)) ] && tail -1 audit.log | grep -q "$pat" && ok \
        || bad "$name: no audit line ($out): $(tail -n +$((n + 1)) audit.log)"
}
BIG=0aa09c01$(head -c 20000 /dev/zero | xxd -p | tr -d '\n')
audited "over max_message_bytes" '"verdict":"invalid","reason":"/asps.v1.SecretProvision/GetSecrets: request message not received: larger than max_message_bytes (4096)' \
    PYC raw /asps.v1.SecretProvision/GetSecrets "$BIG"
echo "$out" | grep -q "^STATUS RESOURCE_EXHAUSTED" && ok || bad "over max_message_bytes: $out"
audited "Occlum, over max_message_bytes" '"reason":"/ratls.GrSecret/GetSecret: request message not received' \
    PYC raw /ratls.GrSecret/GetSecret "$BIG"
audited "request message missing" '"verdict":"invalid","reason":"/asps.v1.SecretProvision/GetSecrets: request message missing"' \
    PYC nomessage /asps.v1.SecretProvision/GetSecrets
echo "$out" | grep -q "^STATUS INVALID_ARGUMENT request message missing" && ok || bad "message missing: $out"
audited "unknown method" '"verdict":"invalid","reason":"/no.such.Service/Method: unknown method"' \
    PYC raw /no.such.Service/Method 00
audited "malformed health check" '"reason":"/grpc.health.v1.Health/Check: malformed HealthCheckRequest' \
    PYC raw /grpc.health.v1.Health/Check ff
# too many names is still a request fault: exit 2, not 3
names=$(for i in $(seq 70); do printf 'n%d ' $i; done)
$BIN get --server "$S" --ca server.pem "${ID[@]}" $names > many.out 2>&1; rc=$?
[ $rc = 2 ] && grep -q RESOURCE_EXHAUSTED many.out && ok || bad "70 names: exit $rc: $(cat many.out)"
# a health check the server answers is not a refusal: no line
n=$(lines audit.log); out=$(PYC health)
[ "$out" = SERVING ] && [ "$(lines audit.log)" = "$n" ] && ok || bad "health: $out"
kill -TERM $SPID; wait $SPID; [ $? = 0 ] && ok || bad "server exit after SIGTERM"

# ---- 2. an audit log that cannot be written --------------------------------------
cat > fpolicy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"k": "k"}}]}
EOF
echo '{"k": "text:v4lue"}' > kms.json
mkconf() { # file audit-path [extra top-level JSON]
    cat > "$1" <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "fpolicy.json", "audit": "$2"${3:-}}
EOF
}
# the file size limit (ulimit -f, in 1 KiB blocks) makes every write fail
# (EFBIG), as a full disk does (ENOSPC); the server ignores SIGXFSZ itself
# (its default action would kill it at the first write past the limit)
head -c 4096 /dev/zero | tr '\0' '\n' > faudit.log
mkconf full.json faudit.log
( ulimit -f 4; exec $BIN serve --config full.json > full.json.out 2> full.json.err ) &
SPID=$!; PIDS="$PIDS $SPID"
wait_listening full.json.out $SPID full.json.err || { echo "FAIL: server (unwritable audit) did not start"; exit 1; }
S=$LISTEN_ADDR
for i in 1 2 3; do
    $BIN get --server "$S" --ca server.pem "${ID[@]}" k > full$i.out 2>&1; rc=$?
    [ $rc = 3 ] && grep -q "UNAVAILABLE: audit log unavailable: nothing released" full$i.out && ok \
        || bad "unwritable audit, call $i: exit $rc: $(cat full$i.out)"
    grep -q "Secret received" full$i.out && bad "a secret released without its audit line"
done
sleep 0.3
grep -q "^[0-9-]*T[0-9:.]*Z warn  service: audit lines not written in the last [0-9.]* s: [0-9]* (File too large" full.json.err && ok \
    || bad "unwritable audit: no stderr line: $(cat full.json.err)"
# rate-limited: one line at the first failure, the rest summed up later
[ "$(grep -c 'audit lines not written' full.json.err)" = 1 ] && ok || bad "audit failure lines: $(cat full.json.err)"
[ "$(wc -c < faudit.log)" = 4096 ] && ok || bad "the audit file changed"
kill -TERM $SPID; wait $SPID
# every lost line counted: per call the grant's line and the refusal's
total=$(sed -n 's/^[0-9-]*T[0-9:.]*Z warn  service: audit lines not written in the last [0-9.]* s: \([0-9]*\) .*/\1/p' full.json.err | awk '{s+=$1} END {print s+0}')
[ "$total" = 6 ] && ok || bad "audit lines counted as lost: $total (want 6): $(cat full.json.err)"
# audit_required false: released anyway, and stderr says the lines are lost
mkconf open.json faudit.log ', "audit_required": false'
( ulimit -f 4; exec $BIN serve --config open.json > open.json.out 2> open.json.err ) &
SPID=$!; PIDS="$PIDS $SPID"
wait_listening open.json.out $SPID open.json.err || { echo "FAIL: server (audit_required false) did not start"; exit 1; }
S=$LISTEN_ADDR
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" k 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = "Secret received: 76-34-6c-75-65" ] && ok || bad "audit_required false: exit $rc: $out"
sleep 0.3
grep -q "^[0-9-]*T[0-9:.]*Z warn  service: audit lines not written" open.json.err && ok || bad "audit_required false: no stderr line"
kill -TERM $SPID; wait $SPID
# not a regular file: refused at start-up, at once (a FIFO nobody reads
# would block open(); one with a reader would block every write)
mkfifo afifo
mkconf fifo.json afifo
timeout 10 $BIN serve --config fifo.json > fifo.out 2>&1; rc=$?
[ $rc = 2 ] && grep -q "audit: .*afifo is not a regular file (a FIFO)" fifo.out && ok || bad "FIFO audit: exit $rc: $(cat fifo.out)"
( sleep 30 < afifo & echo $! > reader.pid; wait ) & sleep 0.2
timeout 10 $BIN serve --config fifo.json > fifo2.out 2>&1; rc=$?
[ $rc = 2 ] && grep -q "is not a regular file (a FIFO)" fifo2.out && ok || bad "FIFO with a reader: exit $rc: $(cat fifo2.out)"
kill "$(cat reader.pid)" 2>/dev/null
mkconf dev.json /dev/full
timeout 10 $BIN serve --config dev.json > dev.out 2>&1; rc=$?
[ $rc = 2 ] && grep -q "is not a regular file (a device)" dev.out && ok || bad "device audit: exit $rc: $(cat dev.out)"
# started with stderr closed (2>&-): /dev/null takes descriptor 2, so the
# log goes nowhere rather than into the audit file (or, after a reopen, a
# client's socket)
mkconf closed.json closed.log
$BIN serve --config closed.json > closed.json.out 2>&- &
SPID=$!; PIDS="$PIDS $SPID"
wait_listening closed.json.out $SPID /dev/null || { echo "FAIL: server (stderr closed) did not start"; exit 1; }
S=$LISTEN_ADDR
[ "$(readlink /proc/$SPID/fd/2)" = /dev/null ] && ok || bad "stderr closed: descriptor 2 is $(readlink /proc/$SPID/fd/2)"
$BIN get --server "$S" --ca server.pem "${ID[@]}" k > closed1.out 2>&1 && ok || bad "stderr closed: not served: $(cat closed1.out)"
kill -HUP $SPID; sleep 0.5
$BIN get --server "$S" --ca server.pem "${ID[@]}" k > closed2.out 2>&1 && ok || bad "stderr closed, after SIGHUP: $(cat closed2.out)"
[ "$(readlink /proc/$SPID/fd/2)" = /dev/null ] && ok || bad "stderr closed, after SIGHUP: descriptor 2 is $(readlink /proc/$SPID/fd/2)"
python3 - closed.log <<'PYEOF' && ok || bad "stderr closed: the audit file holds more than audit lines: $(head -c 600 closed.log)"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for l in lines:
    assert json.loads(l)["verdict"] == "granted", l
PYEOF
kill -TERM $SPID; wait $SPID
mkconf stderr.json - # stderr stays allowed
sed -i 's|"audit": "-"|"audit": "-", "limits": {"threads": 1}|' stderr.json
start_server stderr.json
$BIN get --server "$S" --ca server.pem "${ID[@]}" k >/dev/null 2>&1 && ok || bad "audit to stderr: not served"
sleep 0.2
grep -q '"verdict":"granted"' stderr.json.err && ok || bad "audit to stderr: no line"
kill -TERM $SPID; wait $SPID

# ---- 3. refused connections held open: gRPC's memory quota sheds them -----------
# 2000 TLS connections without a client certificate (each refused, kept to be
# told why), held 3 s; with a small quota gRPC closes some, and the server
# still serves. Figures for the record; the check is only "fewer held than
# opened" (without the quota every one is held).
N=2000
mkconf mem.json audit.log ', "limits": {"grpc_memory_mb": 8}'
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
start_server mem.json
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$SPID/status; }
r0=$(rss)
flood=$($PY "$SRC/tests/conn_flood.py" 127.0.0.1 "${S#*:}" $N tls 3)
r1=$(rss)
opened=$(echo "$flood" | sed -n 's/^OPEN //p'); still=$(echo "$flood" | sed -n 's/^STILL //p')
echo "memory: $opened refused connections opened, $still still open after 3 s; resident ${r0} kB -> ${r1} kB"
[ -n "$still" ] && [ "$opened" -gt 0 ] && [ "$still" -lt "$opened" ] && ok \
    || bad "memory quota: $still of $opened refused connections held open"
$BIN get --server "$S" --ca server.pem "${ID[@]}" k >/dev/null 2>&1 && ok || bad "not served after the flood"
kill -TERM $SPID; wait $SPID

echo "test_server_limits: $pass passed, $failn failed"
[ $failn = 0 ]
