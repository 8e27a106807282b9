#!/usr/bin/env bash
# test_kms_faults.sh: KMS faults against a running `asps serve` (issue 12,
# parts 1 and 2), with the real client (asps get) and an independent one
# (Python grpcio), and Python's json module writing the KMS and Vault JSON.
#  - a FIFO in place of the JSON KMS file: calls answer UNAVAILABLE at once
#    ("not a regular file"), more of them than there are workers; the file
#    back: served again; SIGTERM: the server exits within its bound;
#  - a Vault that hangs: UNAVAILABLE within the KMS deadline, served again
#    after; a call stuck in a hanging Vault when SIGTERM comes: the server
#    exits after drain_ms + 1 s anyway and says what it abandoned;
#  - secrets holding 0x00 bytes arrive whole (file text and base64, Vault),
#    through every method that can carry them; CCZoo's string refuses them;
#  - raw control bytes inside JSON strings (file and Vault reply) refused.
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

T=$(mktemp -d /tmp/asps-kmsf-XXXXXX)
PIDS=
keep_audit() { # left for the suite-wide check of every audit line (audit_lines_json)
    [ -n "${ASPS_AUDIT_KEEP:-}" ] || return 0
    mkdir -p "$ASPS_AUDIT_KEEP"
    for f in audit vaudit; do
        if [ -f "$T/$f.log" ]; then cp "$T/$f.log" "$ASPS_AUDIT_KEEP/test_kms_faults_$f.log"; fi
    done
}
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; keep_audit; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
now_ms() { date +%s%3N; }
cd "$T"

$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
MRE=$(printf 'a1%.0s' {1..32})
ID=(--sim sim --mrenclave "$MRE")
$BIN cert new --out c.pem --key c.key "${ID[@]}" >/dev/null || { echo "FAIL: cert new"; exit 1; }
PYC() { $CLIENT --target "$S" --ca server.pem --server-name localhost --cert c.pem --key c.key "$@"; }

start_server() { # config-file -> sets S, SPID
    $BIN serve --config "$1" > "$1.out" 2> "$1.err" &
    SPID=$!
    PIDS="$PIDS $SPID"
    wait_listening "$1.out" $SPID "$1.err" || { echo "FAIL: server did not start"; exit 1; }
    S=$LISTEN_ADDR
}
# SIGTERM, then the server must be gone within $2 ms (generous: not a speed test)
stop_server() { # name bound_ms
    local t0 rc
    t0=$(now_ms)
    kill -TERM "$SPID"
    for _ in $(seq $(( $2 / 100 ))); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SPID" 2>/dev/null; then
        bad "$1: still running $2 ms after SIGTERM"
        kill -9 "$SPID"
    else
        ok
    fi
    wait "$SPID"; rc=$?
    [ "$rc" = 0 ] && ok || bad "$1: exit $rc after SIGTERM"
    echo "$1: stopped $(( $(now_ms) - t0 )) ms after SIGTERM"
}
hexdash() { xxd -p | tr -d '\n' | sed 's/../&-/g; s/-$//'; }

# ---- the JSON file KMS ---------------------------------------------------------
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"db_password": "db_password", "bin_key": "bin_key", "plain": "plain",
                       "obj": "obj"}}]}
EOF
# Python's json module writes the file: "\u0000" is its spelling of U+0000
$PY - <<'EOF'
import base64, json
json.dump({"db_password": "text:pw\x00tail",
           "bin_key": "base64:" + base64.b64encode(b"\x00\x01ab\x00\xff\x00").decode(),
           "plain": "x\x00y", "obj": {"text": "\x00"}}, open("kms.json", "w"))
EOF
grep -q 'pw\\u0000tail' kms.json && ok || bad "python did not write \\u0000: $(cat kms.json)"
cp kms.json kms.good
cat > server.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log",
 "limits": {"threads": 2, "deadline_ms": 8000, "kms_deadline_ms": 3000, "drain_ms": 1000}}
EOF
start_server server.json

# a value holding NUL bytes arrives whole: never exit 0 with a shortened value
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" db_password 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = "Secret received: $(printf 'pw\0tail' | hexdash)" ] && ok \
    || bad "text:pw\\u0000tail via asps get: rc $rc: $out"
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" --json plain obj)
# valid UTF-8 with NUL: the text whole (\u0000), hex and base64
[ "$out" = '{"secrets":[{"name":"plain","value":"x\u0000y","value_hex":"780079","value_base64":"eAB5"},{"name":"obj","value":"\u0000","value_hex":"00","value_base64":"AA=="}]}' ] && ok \
    || bad "plain and {\"text\"} values with NUL: $out"
# base64 with NUL bytes, through each method: native and Occlum carry every
# byte; CCZoo's string field cannot: a clear refusal, never a cut value
BIN_HEX=0001616200ff00
out=$(PYC gethex bin_key db_password)
[ "$out" = "$(printf 'bin_key=%s\ndb_password=%s' $BIN_HEX "$(printf 'pw\0tail' | xxd -p)")" ] && ok \
    || bad "native GetSecrets: $out"
out=$(PYC occlum bin_key)
[ "$out" = "$(printf '\0\1ab\0\377\0' | base64)" ] && ok || bad "Occlum GetSecret: $out"
[ "$(printf '%s' "$out" | base64 -d | xxd -p)" = $BIN_HEX ] && ok || bad "Occlum value decoded: $out"
out=$(PYC occlum db_password)
[ "$(printf '%s' "$out" | base64 -d | xxd -p)" = "$(printf 'pw\0tail' | xxd -p)" ] && ok || bad "Occlum text value: $out"
for name in bin_key db_password; do
    out=$(PYC cczoo $name c.pem)
    echo "$out" | grep -q "^STATUS FAILED_PRECONDITION" && ok || bad "CCZoo $name: $out"
done
grep -q '"reason":"binary value cannot travel in CCZoo' audit.log && ok || bad "CCZoo refusal not audited"
grep -q "pw\\\\u0000\|pwtail\|AAFhYgD/AA" audit.log server.json.err && bad "a value in a log" || ok

# raw control bytes inside a JSON string are not JSON (RFC 8259): refused,
# never cut at the byte; escaped they are fine
for b in 00 01 0a 1f; do
    printf '{"db_password": "text:pw\x'$b'tail", "bin_key": "base64:AA=="}' > kms.json
    out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" bin_key 2>&1); rc=$?
    [ $rc = 3 ] && echo "$out" | grep -q "UNAVAILABLE" && ok || bad "raw 0x$b in the KMS file: rc $rc: $out"
done
grep -q 'control character in a string' audit.log && ok || bad "raw control byte: audit reason"
cp kms.good kms.json

# ---- a FIFO in place of the KMS file (a hung file system) ----------------------
rm kms.json && mkfifo kms.json
t0=$(now_ms)
for i in 1 2 3 4 5 6; do   # three times the worker threads
    ( $BIN get --server "$S" --ca server.pem "${ID[@]}" db_password > fifo$i.out 2>&1; echo $? > fifo$i.rc ) &
done
for i in 1 2 3 4 5 6; do
    for _ in $(seq 150); do [ -s fifo$i.rc ] && break; sleep 0.1; done
done
took=$(( $(now_ms) - t0 ))
for i in 1 2 3 4 5 6; do
    [ "$(cat fifo$i.rc 2>/dev/null)" = 3 ] && grep -q "UNAVAILABLE: secret store unavailable" fifo$i.out && ok \
        || bad "FIFO call $i: rc $(cat fifo$i.rc 2>/dev/null): $(cat fifo$i.out)"
done
echo "six calls on a FIFO answered in $took ms"
[ "$took" -lt 7000 ] && ok || bad "FIFO calls took $took ms (KMS deadline 3000, call deadline 8000)"
grep -q 'kms.json is not a regular file (a FIFO)' audit.log && ok || bad "FIFO: audit reason: $(tail -1 audit.log)"
# the file back: the next call succeeds
rm kms.json && cp kms.good kms.json
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" db_password 2>&1) && ok || bad "file back: $out"
# the FIFO again, then SIGTERM: the server stops within drain_ms + 1 s (+ slack)
rm kms.json && mkfifo kms.json
$BIN get --server "$S" --ca server.pem "${ID[@]}" db_password >/dev/null 2>&1; [ $? = 3 ] && ok || bad "FIFO again"
stop_server "file KMS server" 10000

# ---- Vault -------------------------------------------------------------------
$PY - <<'EOF'
import json
json.dump({"kv2": {"secret": {"nul": {"key": "ab\x00cd"}, "fine": {"key": "fine"}}},
           "tokens": {"root": ["*"]}}, open("seed.json", "w"))
EOF
$PY "$SRC/tests/vault_server.py" --seed seed.json > vault.out 2> vault.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q PORT vault.out 2>/dev/null && break; sleep 0.1; done
VPORT=$(sed -n 's/^PORT //p' vault.out)
[ -n "$VPORT" ] || { echo "FAIL: vault test server"; exit 1; }
V=http://127.0.0.1:$VPORT
control() { curl -s -X POST -d "$1" $V/__control >/dev/null; }
cat > vpolicy.json <<EOF
{"version": 1,
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"nul": "nul", "fine": "fine"}}]}
EOF
cat > vserver.json <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "vpolicy.json", "audit": "vaudit.log",
 "kms": {"type": "vault", "addr": "$V", "kv_version": 2, "token": "root"},
 "limits": {"threads": 2, "deadline_ms": 8000, "kms_deadline_ms": 2000}}
EOF
start_server vserver.json
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" nul 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = "Secret received: 61-62-00-63-64" ] && ok || bad "Vault ab\\u0000cd: rc $rc: $out"
out=$(PYC gethex nul); [ "$out" = nul=6162006364 ] && ok || bad "Vault value, native method: $out"
# a reply with a raw 0x00 inside a string is not JSON: refused
control '{"fail": 1, "status": 200, "error_body": "{\"data\": {\"data\": {\"key\": \"ab\u0000cd\"}}}"}'
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" nul 2>&1); rc=$?
[ $rc = 3 ] && ok || bad "Vault reply with a raw 0x00: rc $rc: $out"
grep -q 'control character in a string' vaudit.log && ok || bad "raw 0x00 in a Vault reply: audit reason"
# a Vault that hangs: UNAVAILABLE within the KMS deadline, more calls than
# workers; then served again
control '{"delay": 6}'
t0=$(now_ms)
for i in 1 2 3 4; do
    ( $BIN get --server "$S" --ca server.pem "${ID[@]}" fine > hang$i.out 2>&1; echo $? > hang$i.rc ) &
done
for i in 1 2 3 4; do
    for _ in $(seq 150); do [ -s hang$i.rc ] && break; sleep 0.1; done
done
took=$(( $(now_ms) - t0 ))
for i in 1 2 3 4; do
    [ "$(cat hang$i.rc 2>/dev/null)" = 3 ] && grep -q "UNAVAILABLE: secret store unavailable" hang$i.out && ok \
        || bad "hanging Vault call $i: rc $(cat hang$i.rc 2>/dev/null): $(cat hang$i.out)"
done
echo "four calls on a hanging Vault answered in $took ms"
[ "$took" -lt 7000 ] && ok || bad "hanging Vault calls took $took ms (KMS deadline 2000, call deadline 8000)"
control '{"delay": 0}'
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" fine 2>&1) && ok || bad "Vault back: $out"
stop_server "Vault server" 10000

# a call stuck in a hanging Vault past the drain: SIGTERM stops the server
# anyway (drain_ms + 1 s) and it says what it abandoned
sed 's/"kms_deadline_ms": 2000/"kms_deadline_ms": 25000, "drain_ms": 500/; s/"deadline_ms": 8000/"deadline_ms": 30000/' \
    vserver.json > vserver2.json
start_server vserver2.json
control '{"delay": 20}'
before=$(curl -s $V/__stats | $PY -c 'import json,sys; print(json.load(sys.stdin)["stats"].get("/v1/secret/data/fine", 0))')
( $BIN get --server "$S" --ca server.pem "${ID[@]}" fine > stuck.out 2>&1; echo $? > stuck.rc ) &
for _ in $(seq 100); do
    n=$(curl -s $V/__stats | $PY -c 'import json,sys; print(json.load(sys.stdin)["stats"].get("/v1/secret/data/fine", 0))')
    [ "$n" -gt "$before" ] && break; sleep 0.1
done
[ "$n" -gt "$before" ] && ok || bad "the call did not reach Vault"
stop_server "server with a stuck call" 8000
grep -q 'abandoning 1 call still in handlers (/asps.v1.SecretProvision/GetSecrets x1)' vserver2.json.err && ok \
    || bad "abandoned call not named: $(cat vserver2.json.err)"
for _ in $(seq 50); do [ -s stuck.rc ] && break; sleep 0.1; done
[ "$(cat stuck.rc 2>/dev/null)" = 3 ] && ok || bad "stuck client: rc $(cat stuck.rc 2>/dev/null): $(cat stuck.out)"
control '{"delay": 0}'

# ---- audit: one JSON object per line, never a value -----------------------------
$PY - <<'EOF' && ok || bad "audit lines"
import json
for f in ("audit.log", "vaudit.log"):
    text = open(f).read()
    for l in text.splitlines():
        json.loads(l)
    for v in ("u0000tail", "pwtail", "ab\\u0000cd", "6162006364", "AAFhYgD/AA"):
        assert v not in text, (f, v)
EOF

echo "$pass passed, $failn failed"
[ $failn = 0 ]
