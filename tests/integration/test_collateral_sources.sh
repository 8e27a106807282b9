#!/usr/bin/env bash
# test_collateral_sources.sh: collateral that survives PCCS trouble, through
# a running `asps serve` and two test PCCS (tests/pccs_server.py) serving a
# simulated platform's collateral:
#  - failover: the first PCCS down, the second serves; counted
#    (asps_pccs_failover_total) and logged;
#  - the disk cache (collateral.cache_dir): written 0600 under the cache's
#    name, its signed bodies byte for byte what the PCCS served;
#  - a restart with no PCCS at all verifies from the cache;
#  - a tampered cache file is refused (logged, not used);
#  - background refresh: a held platform is fetched again without any call;
#  - stale: TCB info re-signed here (openssl, with the simulated platform's
#    TCB signing key) to expire a few seconds after start; with every PCCS
#    down past its nextUpdate, a call within max_stale is served and marked,
#    /readyz stays ready; after max_stale it is refused and /readyz is 503;
#  - config errors for the new keys.
set -u
BIN=${ASPS_BIN:?}; SRC=${ASPS_SRC:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
PY=python3
for tool in curl python3 openssl; do
    command -v $tool >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done
T=$(mktemp -d /tmp/asps-colsrc-XXXXXX)
PIDS=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    # left for the suite-wide check of every audit line (audit_lines_json)
    if [ -n "${ASPS_AUDIT_KEEP:-}" ]; then
        mkdir -p "$ASPS_AUDIT_KEEP"
        for f in fo stale; do
            [ -f "$T/$f.log" ] && cp "$T/$f.log" "$ASPS_AUDIT_KEEP/test_collateral_sources_$f.log"
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
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -subj "/CN=asps test CA" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem 2>/dev/null
ec server.key && openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
    -out server.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
MRE=$(printf 'a1%.0s' {1..32}); MRS=$(printf '5e%.0s' {1..32})
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE", "mrsigner": "$MRS"},
           "allow_simulated": true, "secrets": {"image_key": "image_key"}}]}
EOF
echo '{"image_key": "text:k3y"}' > kms.json
ID=(--mrenclave "$MRE" --mrsigner "$MRS")
# the platform's FMSPC as its TCB info says it (not asps)
FMSPC=$($PY -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["tcb_info"])["fmspc"].upper())' \
    sim/collateral_sgx.json)
# and its PCK CA, from the CA certificate's subject (Intel names them "Intel
# SGX PCK Processor CA" and "Intel SGX PCK Platform CA")
if openssl x509 -in sim/pck_ca.pem -noout -subject | grep -qi platform; then CA=platform; else CA=processor; fi
CACHE_FILE=cache/sgx-$FMSPC-$CA.json

start_pccs() { # bundle name -> sets PORT; the pid joins PIDS as NAME_PID
    $PY "$SRC/tests/pccs_server.py" --bundle "$1" --cert pccs.pem --key pccs.key > "$2.out" 2> "$2.err" &
    PIDS="$PIDS $!"
    eval "${2}_PID=$!"
    for _ in $(seq 50); do grep -q PORT "$2.out" 2>/dev/null && break; sleep 0.1; done
    PORT=$(sed -n 's/^PORT //p' "$2.out")
    [ -n "$PORT" ] || { echo "FAIL: test PCCS $2 did not start"; cat "$2.err"; exit 1; }
}
start_server() { # config name -> sets S (host:port) and OPS; the pid joins PIDS as NAME_PID
    rm -f "$1.out" "$1.err" # never a previous server's listening line (nopccs starts twice)
    $BIN serve --config "$1.json" > "$1.out" 2> "$1.err" &
    PIDS="$PIDS $!"
    eval "${1}_PID=$!"
    wait_listening "$1.out" $! "$1.err" || { echo "FAIL: server $1 did not start"; exit 1; }
    S=$LISTEN_ADDR
    OPS=$(sed -n 's/.*ops: listening on 127.0.0.1:\([0-9]*\) .*/\1/p' "$1.err")
}
stop_server() { local p; eval "p=\$${1}_PID"; kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; }
get() { $BIN get --server "$S" --ca ca.pem --sim sim "${ID[@]}" image_key 2>&1; }
metric() { # name{labels} -> value
    curl -s "http://127.0.0.1:$OPS/metrics" | awk -v k="$1" '$1 == k {print $2}'
}
served() { # port path -> how many times the test PCCS served PATH
    curl -s --cacert pccs.pem "https://127.0.0.1:$1/__stats" |
        $PY -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], 0))' "$2"
}
config() { # name pccs-json extra-json
    cat > "$1.json" <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {$2}, "policy": "policy.json", "audit": "$1.log",
 "ops": {"listen": "127.0.0.1:0"}}
EOF
}

# ---- failover: the first PCCS is down, the second serves ----------------------
start_pccs sim/collateral_sgx.json pa; PA=$PORT
start_pccs sim/collateral_sgx.json pb; PB=$PORT
kill $pa_PID; wait $pa_PID 2>/dev/null   # A: a port nobody answers on now
config fo "\"pccs\": [\"https://127.0.0.1:$PA\", \"https://127.0.0.1:$PB\"], \"pccs_ca\": \"pccs.pem\", \"cache_dir\": \"cache\""
start_server fo
out=$(get)
[ "$out" = "Secret received: 6b-33-79" ] && ok || bad "failover: $out $(cat fo.err)"
[ "$(served $PB /sgx/certification/v4/pckcrl)" = 1 ] && ok || bad "failover: the second PCCS was not asked"
# the early TCB info and the numbers list were asked for (404 from a PCCS that has none: not offered)
[ "$(served $PB /sgx/certification/v4/tcb)" = 2 ] && [ "$(served $PB /sgx/certification/v4/tcbevaluationdatanumbers)" = 1 ] \
    && ok || bad "tcb (standard, early) and tcbevaluationdatanumbers not asked: $(curl -s --cacert pccs.pem https://127.0.0.1:$PB/__stats)"
v=$(metric asps_pccs_failover_total)
[ -n "$v" ] && [ "${v%%.*}" -ge 1 ] && ok || bad "asps_pccs_failover_total: [$v]"
grep -q "pccs: https://127.0.0.1:$PA failed (.*); trying https://127.0.0.1:$PB" fo.err && ok || bad "failover not logged: $(cat fo.err)"
# a second call: held in memory, no new request
get >/dev/null
[ "$(served $PB /sgx/certification/v4/pckcrl)" = 1 ] && ok || bad "held collateral fetched again"

# ---- the disk cache (a file is written
# only once the collateral verifies) ------------------------------------------
if [ -f "$CACHE_FILE" ]; then
    ok
    [ "$(stat -c %a "$CACHE_FILE")" = 600 ] && ok || bad "cache file mode $(stat -c %a "$CACHE_FILE")"
    # its signed bodies are byte for byte what the PCCS served
    $PY - "$CACHE_FILE" sim/collateral_sgx.json <<'EOF' && ok || bad "cache file differs from the served bundle"
import json, sys
c, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for k in ("tcb_info", "tcb_info_signature", "qe_identity", "qe_identity_signature", "pck_crl", "root_ca_crl"):
    assert c[k] == b[k], k
EOF
else
    bad "no cache file $CACHE_FILE $(grep cache fo.err)"
fi
stop_server fo

# ---- a restart with no PCCS at all: from the cache ---------------------------
config nopccs '"cache_dir": "cache"'
start_server nopccs
out=$(get)
[ "$out" = "Secret received: 6b-33-79" ] && ok || bad "restart from the cache, no PCCS: $out $(cat nopccs.err)"
grep -Eq "cache: (\./)?cache/sgx-$FMSPC-$CA.json verified and held" nopccs.err && ok \
    || bad "cache file not logged as verified: $(cat nopccs.err)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OPS/readyz")" = 200 ] && ok || bad "readyz from the cache"
stop_server nopccs
# the same with a PCCS that is down
config downpccs "\"pccs\": \"https://127.0.0.1:$PA\", \"pccs_ca\": \"pccs.pem\", \"cache_dir\": \"cache\""
start_server downpccs
out=$(get)
[ "$out" = "Secret received: 6b-33-79" ] && ok || bad "restart from the cache, PCCS down: $out"
stop_server downpccs

# ---- a tampered cache file is refused: logged, not used ------------------------
if [ -f "$CACHE_FILE" ]; then
    cp "$CACHE_FILE" good.json
    # one hex digit of the TCB info signature changed: still a bundle, no longer Intel-shaped valid
    $PY - "$CACHE_FILE" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))
s = b["tcb_info_signature"]
b["tcb_info_signature"] = s[:10] + ("0" if s[10] != "0" else "1") + s[11:]
open(sys.argv[1], "w").write(json.dumps(b))
EOF
    start_server nopccs
    grep -Eq "cache: (\./)?cache/sgx-$FMSPC-$CA.json ignored: " nopccs.err && ok \
        || bad "tampered cache file not refused in the log: $(cat nopccs.err)"
    out=$(get); rc=$?
    echo "$out" | grep -q "collateral_unavailable" && ok || bad "tampered cache file used: $out"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OPS/readyz")" = 503 ] && ok \
        || bad "readyz with only a tampered cache file"
    stop_server nopccs
    cp good.json "$CACHE_FILE"
fi

# ---- background refresh: a platform held from the cache is fetched again
# before its nextUpdate (refresh_before larger than what is left), no call --
config refresh "\"pccs\": \"https://127.0.0.1:$PB\", \"pccs_ca\": \"pccs.pem\", \"cache_dir\": \"cache\", \"refresh_before\": \"365d\""
before=$(served $PB /sgx/certification/v4/pckcrl)
start_server refresh
for _ in $(seq 50); do [ "$(served $PB /sgx/certification/v4/pckcrl)" -gt "$before" ] && break; sleep 0.1; done
[ "$(served $PB /sgx/certification/v4/pckcrl)" = $((before + 1)) ] && ok || bad "no background refresh: $(cat refresh.err)"
for _ in $(seq 30); do [ -n "$(metric 'asps_collateral_refresh_total{result="ok"}')" ] && break; sleep 0.1; done
[ "$(metric 'asps_collateral_refresh_total{result="ok"}')" = 1 ] && ok \
    || bad "asps_collateral_refresh_total{ok}: $(curl -s http://127.0.0.1:$OPS/metrics | grep refresh)"
# the same answer: the file is left alone (idempotent across replicas)
grep -q "cache: wrote" refresh.err && bad "the same answer rewrote the cache file" || ok
stop_server refresh

# ---- stale: TCB info that expires NEXT seconds from now, every PCCS down ----
NEXT=20 STALE=15  # wide enough for a slow (sanitizer) build between the steps
# re-signed here with the simulated platform's TCB signing key (openssl): the
# exact body with a new nextUpdate, signature r||s as Intel writes it
$PY - sim/collateral_sgx.json sim/tcb_signing.key short.json $NEXT <<'EOF' || { echo "FAIL: re-sign"; exit 1; }
import json, subprocess, sys, time, datetime, re
b = json.load(open(sys.argv[1]))
t = b["tcb_info"]
nu = datetime.datetime.fromtimestamp(int(time.time()) + int(sys.argv[4]), datetime.timezone.utc)
t2 = re.sub(r'"nextUpdate":"[^"]*"', '"nextUpdate":"%s"' % nu.strftime("%Y-%m-%dT%H:%M:%SZ"), t, count=1)
assert t2 != t
der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", sys.argv[2]], input=t2.encode(),
                     capture_output=True, check=True).stdout
# ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } -> r||s, 32 bytes each
def ints(d):
    i = 2 if d[1] < 0x80 else 2 + (d[1] & 0x7f)
    out = []
    while i < len(d):
        assert d[i] == 2
        n = d[i + 1]
        out.append(int.from_bytes(d[i + 2:i + 2 + n], "big"))
        i += 2 + n
    return out
r, s = ints(der)
b["tcb_info"] = t2
b["tcb_info_signature"] = "%064x%064x" % (r, s)
open(sys.argv[3], "w").write(json.dumps(b))
EOF
T0=$(date +%s)
start_pccs short.json ps; PS=$PORT
config stale "\"pccs\": \"https://127.0.0.1:$PS\", \"pccs_ca\": \"pccs.pem\", \"max_stale\": \"${STALE}s\", \"refresh_before\": \"0\""
start_server stale
out=$(get)
[ "$out" = "Secret received: 6b-33-79" ] && ok || bad "short-lived collateral, fresh: $out $(cat stale.err)"
kill $ps_PID; wait $ps_PID 2>/dev/null
while [ $(date +%s) -le $((T0 + NEXT + 1)) ]; do sleep 0.5; done
# past nextUpdate, within max_stale: served (the verifier applies max_stale)
# and marked collateral_stale in the audit line
out=$(get)
[ "$out" = "Secret received: 6b-33-79" ] && ok || bad "stale within max_stale not served: $out"
grep -q '"collateral_stale":true' stale.log && ok || bad "stale result not marked in the audit line: $(tail -2 stale.log)"
v=$(metric asps_collateral_stale_total)
[ -n "$v" ] && [ "${v%%.*}" -ge 1 ] && ok || bad "asps_collateral_stale_total: [$v]"
grep -q "verified with collateral [0-9]* s past its nextUpdate (max_stale $STALE s)" stale.err && ok \
    || bad "stale use not logged: $(cat stale.err)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OPS/readyz")" = 200 ] && ok || bad "readyz within max_stale"
while [ $(date +%s) -le $((T0 + NEXT + STALE + 2)) ]; do sleep 0.5; done
out=$(get); rc=$?
echo "$out" | grep -q "collateral_unavailable" && ok || bad "stale beyond max_stale served: $out"
grep -q "the collateral held went past its nextUpdate [0-9]* s ago (max_stale $STALE s)" stale.log && ok \
    || bad "refusal after max_stale does not say why: $(tail -2 stale.log)"
code=$(curl -s -o body.txt -w '%{http_code}' "http://127.0.0.1:$OPS/readyz")
[ "$code" = 503 ] && grep -q "max_stale" body.txt && ok || bad "readyz after max_stale: $code $(cat body.txt)"
stop_server stale

# ---- config errors: each new key's bad value, exit 2, the key named -----------
bad_config() { # what json-fragment expected-message
    config badc "$2"
    timeout 10 $BIN serve --config badc.json > badc.out 2> badc.err; rc=$?
    [ $rc = 2 ] && grep -q -- "$3" badc.err && ok || bad "$1: exit $rc: $(cat badc.err)"
}
bad_config "max_stale unit" '"cache_dir": "c", "max_stale": "5x"' "config.collateral.max_stale: expected a duration"
bad_config "max_stale > 365d" '"cache_dir": "c", "max_stale": "366d"' "config.collateral.max_stale: expected a duration"
bad_config "max_stale a number" '"cache_dir": "c", "max_stale": 5' "config.collateral.max_stale"
bad_config "refresh_before" '"cache_dir": "c", "refresh_before": "-1h"' "config.collateral.refresh_before: expected a duration"
bad_config "tcb_update" '"cache_dir": "c", "tcb_update": "late"' 'config.collateral.tcb_update: expected "standard" or "early"'
bad_config "pccs empty list" '"pccs": []' "config.collateral.pccs: the list is empty"
bad_config "pccs not a URL" '"pccs": ["https://127.0.0.1:1", 5]' "config.collateral.pccs\[1\]: expected a URL"
bad_config "pccs twice" '"pccs": ["https://127.0.0.1:1", "https://127.0.0.1:1"]' "config.collateral.pccs\[1\]: listed twice"
bad_config "pccs ftp" '"pccs": ["ftp://127.0.0.1:1"]' "config.collateral.pccs\[0\]"
bad_config "unknown key" '"cache_dri": "c"' "cache_dri"
# serve --check names every URL, the cache folder and the stale window
config chk "\"pccs\": [\"https://127.0.0.1:$PA\", \"https://127.0.0.1:$PB\"], \"pccs_ca\": \"pccs.pem\", \"cache_dir\": \"cache\", \"max_stale\": \"36h\", \"tcb_update\": \"early\""
$BIN serve --config chk.json --check > chk.out 2>&1
grep -q "PCCS https://127.0.0.1:$PA, first" chk.out && grep -q "PCCS https://127.0.0.1:$PB, failover" chk.out \
    && grep -q "cache folder ./cache" chk.out && grep -q "max_stale 129600 s" chk.out \
    && grep -q "TCB update set for the verdict: early" chk.out && ok || bad "serve --check: $(cat chk.out)"

echo "test_collateral_sources: $pass passed, $failn failed"
[ $failn = 0 ]
