#!/usr/bin/env bash
# test_ops.sh: the operations listener of a running `asps serve` (issue 14),
# read by tools asps did not write:
#  - curl: /healthz 200 "ok", /readyz 200 "ready", 404, 405;
#  - promtool (Prometheus's own linter): `promtool check metrics` accepts the
#    exposition and has nothing to say about it;
#  - a REAL Prometheus (/usr/bin/prometheus, its own config and storage in a
#    temp folder, 127.0.0.1, scrape_interval 1s) scrapes the server; after a
#    known number of grants and denials (asps get, the real client) the test
#    asks Prometheus's HTTP API (/api/v1/query) for the counters and checks
#    the exact values;
#  - the KMS going away and coming back (asps_kms_up, asps_kms_errors_total,
#    the decision's reason), a refused handshake, SIGHUP reloads good and
#    broken (asps_config_generation, asps_config_reload_failures_total), the
#    server certificate's countdown against openssl's own notAfter;
#  - collateral from a PCCS (tests/pccs_server.py): its errors, latency and
#    up gauge; /readyz 503 while it fails and nothing is cached, 200 once
#    it answers (and while its collateral is cached, even if it fails);
#  - bad "ops" config: refused with the key named, nothing listening.
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
SRC=${ASPS_SRC:?}
for tool in prometheus promtool curl python3 openssl; do
    command -v $tool >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done

T=$(mktemp -d /tmp/asps-ops-XXXXXX)
PIDS=
keep_audit() { # left for the suite-wide check of every audit line (audit_lines_json)
    [ -n "${ASPS_AUDIT_KEEP:-}" ] && [ -f "$T/audit.log" ] || return 0
    mkdir -p "$ASPS_AUDIT_KEEP" && cp "$T/audit.log" "$ASPS_AUDIT_KEEP/test_ops.log"
}
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; keep_audit; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
$BIN sim init other >/dev/null || { echo "FAIL: sim init other"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem \
    -days 2 -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
MRE=$(printf 'b2%.0s' {1..32})
ID=(--sim sim --mrenclave "$MRE")
$BIN cert new --out c.pem --key c.key "${ID[@]}" >/dev/null || { echo "FAIL: cert new"; exit 1; }
echo '{"db_password": "text:pw", "api_key": "text:k"}' > kms.json
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"db_password": "db_password", "api_key": "api_key", "gone": "not_in_kms"}}]}
EOF
cp policy.json policy.good
cat > server.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log",
 "ops": {"listen": "127.0.0.1:0"}, "limits": {"drain_ms": 1000}}
EOF

$BIN serve --config server.json > serve.out 2> serve.err &
SPID=$!
PIDS="$PIDS $SPID"
wait_listening serve.out $SPID serve.err || { echo "FAIL: server did not start"; exit 1; }
port=$LISTEN_PORT
OPS=$(sed -n 's/.*ops: listening on 127.0.0.1:\([0-9]*\) .*/\1/p' serve.err)
[ -n "$OPS" ] || { echo "FAIL: no ops listening line"; cat serve.out serve.err; exit 1; }
S=$LISTEN_ADDR
O=http://127.0.0.1:$OPS

# ---- before any call: the series known in advance are there, at 0 -------------------
# (a counter that first appears at 1 has no increase() to alert on; below, the
# real Prometheus sees the first reload failure as an increase)
curl -s "http://127.0.0.1:$OPS/metrics" > m0.txt
for k in asps_config_reloads_total asps_config_reload_failures_total \
         'asps_handshakes_total{result="accepted"}' 'asps_handshakes_total{result="refused"}'; do
    [ "$(awk -v k="$k" '$1 == k {print $2}' m0.txt)" = 0 ] && ok || bad "$k not 0 at start: $(grep "^${k%%\{*}" m0.txt)"
done

# ---- the probes ----------------------------------------------------------------
get() { # path -> "CODE BODY"
    local code
    code=$(curl -s -o body.txt -w '%{http_code}' "$O$1")
    echo "$code $(cat body.txt)"
}
[ "$(get /healthz)" = "200 ok" ] && ok || bad "/healthz: $(get /healthz)"
[ "$(get /readyz)" = "200 ready" ] && ok || bad "/readyz: $(get /readyz)"
[ "$(get /nope | cut -d' ' -f1)" = 404 ] && ok || bad "/nope: $(get /nope)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$O/metrics")
[ "$code" = 405 ] && ok || bad "POST /metrics: $code"
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$O/metrics")
[ "$ctype" = "text/plain; version=0.0.4; charset=utf-8" ] && ok || bad "/metrics Content-Type: $ctype"

# ---- a real Prometheus scrapes it ----------------------------------------------
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > prom.yml <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: asps
    static_configs:
      - targets: ['127.0.0.1:$OPS']
EOF
prometheus --config.file=prom.yml --storage.tsdb.path="$T/tsdb" --web.listen-address=127.0.0.1:$PPORT \
    > prom.log 2>&1 &
PPID_=$!
PIDS="$PIDS $PPID_"
P=http://127.0.0.1:$PPORT
for _ in $(seq 150); do curl -sf "$P/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$P/-/ready" >/dev/null || { echo "FAIL: prometheus did not start"; tail -20 prom.log; exit 1; }

# query EXPR -> one line per series: "label=value ... VALUE", sorted
query() {
    curl -s --get "$P/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "success", r
out = []
for s in r["data"]["result"]:
    labels = " ".join("%s=%s" % kv for kv in sorted(s["metric"].items()) if kv[0] not in ("__name__", "instance", "job"))
    out.append((labels + " " + s["value"][1]).strip())
print("\n".join(sorted(out)))'
}
# wait until Prometheus's answer to EXPR is WANT (a scrape each second)
await() { # name expr want
    local got=
    for _ in $(seq 60); do
        got=$(query "$2")
        [ "$got" = "$3" ] && { ok; return; }
        sleep 0.5
    done
    bad "$1: Prometheus says [$got], expected [$3]"
}
await "up" 'up{job="asps"}' "1"

# a known number of grants and denials, through the real client
for i in 1 2 3; do
    $BIN get --server "$S" --ca server.pem "${ID[@]}" db_password >/dev/null 2>&1 || bad "grant $i"
done
$BIN get --server "$S" --ca server.pem "${ID[@]}" db_password api_key >/dev/null 2>&1 || bad "grant 4"
for i in 1 2; do  # not in the policy
    $BIN get --server "$S" --ca server.pem "${ID[@]}" other >/dev/null 2>&1 && bad "denial $i released"
done
# granted by the policy, unknown to the KMS: denied with the same words
$BIN get --server "$S" --ca server.pem "${ID[@]}" gone >/dev/null 2>&1 && bad "kms not_found released"
# evidence from a platform the server does not trust: refused in the handshake
out=$($BIN get --server "$S" --ca server.pem --sim other --mrenclave "$MRE" db_password 2>&1); rc=$?
[ $rc = 5 ] && ok || bad "untrusted platform: rc $rc: $out"

await "granted" 'asps_decisions_total{verdict="granted"}' "reason=policy verdict=granted 4"
await "denied by reason" 'asps_decisions_total{verdict="denied"}' \
    "$(printf 'reason=kms_not_found verdict=denied 1\nreason=policy verdict=denied 2')"
await "grants + denials" 'sum(asps_decisions_total{verdict=~"granted|denied"})' "7"
await "handshakes accepted" 'asps_handshakes_total{result="accepted"}' "result=accepted 7"
await "KMS fetches" 'asps_kms_request_duration_seconds_count' "backend=file 6"
await "KMS not_found" 'asps_kms_errors_total' "backend=file error=not_found 1"

# ---- the exposition itself ------------------------------------------------------
curl -s "$O/metrics" > m1.txt
lint=$(promtool check metrics < m1.txt 2>&1); rc=$?
[ $rc = 0 ] && [ -z "$lint" ] && ok || bad "promtool check metrics: rc $rc: $lint"
# a broken exposition is caught by promtool (the check above can fail)
sed 's/_total{verdict/_total{verdict=/' m1.txt | promtool check metrics >/dev/null 2>&1 \
    && bad "promtool accepted a broken exposition" || ok
val() { awk -v k="$1" '$1 == k {print $2}' "${2:-m1.txt}"; }
# the call load, read at the scrape: nothing running or queued now, nothing queued ever
[ "$(val asps_calls_in_flight)" = 0 ] && [ "$(val asps_calls_waiting)" = 0 ] && ok \
    || bad "calls in flight / waiting: $(grep '^asps_calls' m1.txt)"
[ "$(val asps_calls_waited_total)" = 0 ] && [ "$(val asps_calls_busy_total)" = 0 ] && ok \
    || bad "calls waited / busy: $(grep '^asps_calls' m1.txt)"
[ "$(val 'asps_handshakes_total{result="refused"}')" = 1 ] && ok || bad "refused handshakes: $(grep handshakes m1.txt)"
grep -qE '^asps_handshake_refusals_total\{reason="[a-z_]+"\} 1$' m1.txt && ok \
    || bad "refusal reason: $(grep refusals_total m1.txt)"
grep -q '^asps_decisions_total{verdict="unauthenticated",reason="transport"} 1$' m1.txt && ok \
    || bad "the refused client's call: $(grep decisions m1.txt)"
[ "$(val 'asps_verification_duration_seconds_count{result="ok"}')" -ge 1 ] && ok || bad "verification histogram"
[ "$(val 'asps_verification_duration_seconds_bucket{result="ok",le="+Inf"}')" = \
  "$(val 'asps_verification_duration_seconds_count{result="ok"}')" ] && ok || bad "+Inf bucket != count"
grep -qE '^asps_build_info\{version="[0-9.]+",commit="([0-9a-f]+|unknown)",openssl="[0-9][^"]*",grpc="[0-9][^"]*"\} 1$' m1.txt \
    && ok || bad "build info: $(grep build_info m1.txt)"
grep -q "openssl=\"$(openssl version | awk '{print $2}')\"" m1.txt && ok || bad "build info OpenSSL version"
# gRPC core's own version number ("29.0.0" for gRPC 1.51), as its pkg-config file says
gv=$(pkg-config --modversion grpc 2>/dev/null)
[ -z "$gv" ] || grep -q "grpc=\"$gv\"" m1.txt && ok || bad "build info gRPC version (pkg-config: $gv): $(grep build_info m1.txt)"
[ "$(val asps_config_generation)" = 1 ] && ok || bad "generation at start"
# the certificate's countdown against openssl's reading of its notAfter
na=$(date -d "$(openssl x509 -in server.pem -noout -enddate | cut -d= -f2)" +%s)
left=$(val asps_server_certificate_expires_in_seconds)
d=$(( na - $(date +%s) - ${left%.*} ))
[ "${d#-}" -le 5 ] && ok || bad "certificate countdown $left, openssl says $((na - $(date +%s)))"
# the simulated collateral's platforms (TCB info read by Python's json)
for tee in sgx tdx; do
    read -r fm nu < <(python3 -c '
import json, sys, datetime
t = json.loads(json.load(open(sys.argv[1]))["tcb_info"])
print(t["fmspc"].upper(), int(datetime.datetime.strptime(t["nextUpdate"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()))' \
        sim/collateral_$tee.json)
    v=$(val "asps_collateral_next_update_seconds{tee=\"$tee\",fmspc=\"$fm\"}")
    # the earliest of four dates: at most the TCB info's
    [ -n "$v" ] && [ "${v%.*}" -le $(( nu - $(date +%s) + 2 )) ] && [ "${v%.*}" -gt 0 ] && ok \
        || bad "$tee collateral countdown [$v] for $fm (TCB info nextUpdate in $((nu - $(date +%s))) s)"
done

# ---- the KMS goes away and comes back ---------------------------------------------
mv kms.json kms.away
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" db_password 2>&1) && bad "no KMS, released: $out"
echo "$out" | grep -q UNAVAILABLE && ok || bad "no KMS: $out"
curl -s "$O/metrics" > m2.txt
[ "$(val asps_kms_up m2.txt)" = 0 ] && ok || bad "asps_kms_up with the KMS gone: $(val asps_kms_up m2.txt)"
[ "$(val 'asps_kms_errors_total{backend="file",error="unavailable"}' m2.txt)" = 1 ] && ok || bad "KMS unavailable count"
[ "$(val 'asps_decisions_total{verdict="unavailable",reason="kms"}' m2.txt)" = 1 ] && ok || bad "decision unavailable/kms"
# a KMS outage does not take the server out of rotation (README: why)
[ "$(get /readyz)" = "200 ready" ] && ok || bad "/readyz with the KMS gone: $(get /readyz)"
mv kms.away kms.json
$BIN get --server "$S" --ca server.pem "${ID[@]}" db_password >/dev/null 2>&1 && ok || bad "KMS back"
[ "$(val asps_kms_up <(curl -s "$O/metrics"))" = 1 ] && ok || bad "asps_kms_up after recovery"

# ---- reloads ------------------------------------------------------------------------
kill -HUP $SPID
await "generation after a reload" 'asps_config_generation' "2"
echo '{"version": 1, "apps": [' > policy.json
kill -HUP $SPID
await "reload failure" 'asps_config_reload_failures_total' "1"
# an alert rule's expression sees the first failure (the series was 0 before)
await "increase of reload failures" 'increase(asps_config_reload_failures_total[1m]) > bool 0' "1"
curl -s "$O/metrics" > m3.txt
[ "$(val asps_config_generation m3.txt)" = 2 ] && ok || bad "generation after a refused reload"
[ "$(val asps_config_reloads_total m3.txt)" = 1 ] && ok || bad "reloads_total"
cp policy.good policy.json
# the final counts, through Prometheus once more: nothing counted twice
await "grants at the end" 'sum(asps_decisions_total{verdict="granted"})' "5"

kill -TERM $SPID
wait $SPID; rc=$?
[ $rc = 0 ] && ok || bad "exit $rc after SIGTERM"
curl -s -m 2 "$O/healthz" >/dev/null 2>&1 && bad "ops listener still up after exit" || ok

# ---- collateral from a PCCS -----------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
python3 "$SRC/tests/pccs_server.py" --bundle sim/collateral_sgx.json --cert pccs.pem --key pccs.key \
    > pccs.out 2> pccs.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q PORT pccs.out 2>/dev/null && break; sleep 0.1; done
PP=$(sed -n 's/^PORT //p' pccs.out)
[ -n "$PP" ] || { echo "FAIL: test PCCS did not start"; cat pccs.err; exit 1; }
pccs() { curl -s --cacert pccs.pem -X POST -d "$1" "https://127.0.0.1:$PP/__control" >/dev/null; }
sed "s|\"collateral\": {\"sim\": \"sim\"}|\"collateral\": {\"pccs\": \"https://127.0.0.1:$PP\", \"pccs_ca\": \"pccs.pem\"}|" \
    server.json > pccs.json
grep -q pccs_ca pccs.json || bad "pccs config not written"
$BIN serve --config pccs.json > p.out 2> p.err &
SPID=$!
PIDS="$PIDS $SPID"
wait_listening p.out $SPID p.err || { echo "FAIL: server (PCCS collateral) did not start"; exit 1; }
S=$LISTEN_ADDR
O=http://127.0.0.1:$(sed -n 's/.*ops: listening on 127.0.0.1:\([0-9]*\) .*/\1/p' p.err)
[ "$(get /readyz)" = "200 ready" ] && ok || bad "PCCS, nothing fetched yet: /readyz $(get /readyz)"
pccs '{"fail": 1000, "status": 503}'
out=$($BIN get --server "$S" --ca server.pem "${ID[@]}" db_password 2>&1); rc=$?
[ $rc = 3 ] && ok || bad "PCCS down: rc $rc: $out"
curl -s "$O/metrics" > m4.txt
[ "$(val 'asps_pccs_errors_total{endpoint="pckcrl"}' m4.txt)" = 1 ] && ok || bad "PCCS errors: $(grep pccs_errors m4.txt)"
[ "$(val asps_pccs_up m4.txt)" = 0 ] && ok || bad "asps_pccs_up while down"
[ "$(val 'asps_handshake_refusals_total{reason="collateral_unavailable"}' m4.txt)" = 1 ] && ok \
    || bad "refusal collateral_unavailable: $(grep refusals_total m4.txt)"
[ "$(get /readyz)" = "503 not ready: collateral: the PCCS's last fetch failed and no cached collateral is fresh" ] \
    && ok || bad "PCCS down, nothing cached: /readyz $(get /readyz)"
pccs '{"fail": 0}'
sleep 1.1 # a platform not held is not fetched for again within 1 s of a failed fetch
$BIN get --server "$S" --ca server.pem "${ID[@]}" db_password >/dev/null 2>&1 && ok || bad "PCCS back: no grant"
[ "$(get /readyz)" = "200 ready" ] && ok || bad "PCCS back: /readyz $(get /readyz)"
curl -s "$O/metrics" > m5.txt
[ "$(val asps_pccs_up m5.txt)" = 1 ] && ok || bad "asps_pccs_up after recovery"
for ep in pckcrl tcb qe_identity rootcacrl; do
    [ "$(val "asps_pccs_request_duration_seconds_count{endpoint=\"$ep\"}" m5.txt)" -ge 1 ] && ok \
        || bad "PCCS latency for $ep: $(grep pccs_request_duration_seconds_count m5.txt)"
done
fm=$(python3 -c 'import json; print(json.loads(json.load(open("sim/collateral_sgx.json"))["tcb_info"])["fmspc"].upper())')
v=$(val "asps_collateral_next_update_seconds{tee=\"sgx\",fmspc=\"$fm\"}" m5.txt)
[ -n "$v" ] && [ "${v%%[.e]*}" -gt 0 ] && ok || bad "PCCS collateral countdown for $fm: [$v]"
# the PCCS down again, its collateral cached and fresh: still ready
pccs '{"fail": 1000, "status": 503}'
[ "$(get /readyz)" = "200 ready" ] && ok || bad "PCCS down, cache fresh: /readyz $(get /readyz)"
kill -TERM $SPID
wait $SPID

# ---- bad ops config: refused, naming the key; nothing listens ----------------------
try_cfg() { # name ops-json expected-stderr
    sed "s|\"ops\": {\"listen\": \"127.0.0.1:0\"}|$2|" server.json > bad.json
    timeout 20 $BIN serve --config bad.json > bad.out 2> bad.err; rc=$?
    [ $rc != 0 ] && grep -q "$3" bad.err && ! grep -q listening bad.out && ok \
        || bad "$1: rc $rc: $(cat bad.err bad.out)"
}
# serve --check refuses what serve refuses (it said OK to a port out of range)
check_cfg() { # name ops-json expected-stdout
    sed "s|\"ops\": {\"listen\": \"127.0.0.1:0\"}|$2|" server.json > bad.json
    timeout 20 $BIN serve --config bad.json --check > bad.out 2>&1; rc=$?
    [ $rc = 1 ] && grep -q "^FAIL  config: $3" bad.out && ok || bad "--check $1: rc $rc: $(cat bad.out)"
}
check_cfg "port out of range" '"ops": {"listen": "127.0.0.1:99999"}' 'config.ops.listen: "127.0.0.1:99999": port 99999 is out of range'
check_cfg "no port" '"ops": {"listen": "localhost"}' 'config.ops.listen: "localhost": no port'
timeout 20 $BIN serve --config server.json --check > good.out 2>&1; rc=$?
[ $rc = 0 ] && grep -q "^ok    ops: 127.0.0.1:0 (/healthz /readyz /metrics)$" good.out && ok || bad "--check ops line: rc $rc: $(cat good.out)"
try_cfg "port out of range" '"ops": {"listen": "127.0.0.1:99999"}' 'config.ops.listen: "127.0.0.1:99999"'
try_cfg "no port" '"ops": {"listen": "127.0.0.1"}' 'config.ops.listen: "127.0.0.1"'
try_cfg "no listen" '"ops": {}' 'config.ops.listen: required'
try_cfg "unknown key" '"ops": {"listen": "127.0.0.1:0", "tls": true}' 'config.ops'
# the port taken by Prometheus: cannot bind
try_cfg "port in use" "\"ops\": {\"listen\": \"127.0.0.1:$PPORT\"}" "ops: cannot listen on 127.0.0.1:$PPORT"

echo "test_ops: $pass passed, $failn failed"
[ $failn = 0 ]
