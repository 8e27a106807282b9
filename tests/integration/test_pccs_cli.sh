#!/usr/bin/env bash
# test_pccs.sh: collateral from a PCCS (v4 API) over HTTPS: a local test PCCS
# (tests/pccs_server.py) serving Intel's real collateral; the real quotes
# verify through it exactly as from the bundle; a PCCS whose TLS certificate
# is not trusted, a PCCS that is down, and one answering 500 are refused with
# a clear reason; retries get past transient 500s.
set -u
BIN=${ASPS_BIN:?}; SRC=${ASPS_SRC:?}
. "$(dirname "$0")/vectors.sh"
need_vectors "$VEC/sgx_quote"
T=$(mktemp -d /tmp/asps-pccs-XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem -days 1 \
    -subj "/CN=other" 2>/dev/null
# Not called in $(...): the server's PID must reach this shell's PIDS so
# that cleanup stops it.
start() { # bundle name -> sets PORT
    python3 "$SRC/tests/pccs_server.py" --bundle "$1" --cert pccs.pem --key pccs.key > "$2.out" 2> "$2.err" &
    PIDS="$PIDS $!"
    for _ in $(seq 50); do grep -q PORT "$2.out" 2>/dev/null && break; sleep 0.1; done
    PORT=$(sed -n 's/^PORT //p' "$2.out")
}
start "$VEC/sgx_quote_collateral.json" sgx; SGX=$PORT
start "$VEC/tdx_quote_collateral.json" tdx; TDX=$PORT
[ -n "$SGX" ] && [ -n "$TDX" ] || { echo "FAIL: test PCCS did not start"; cat sgx.err; exit 1; }

out=$($BIN quote verify "$VEC/sgx_quote" --pccs "https://127.0.0.1:$SGX" --pccs-ca pccs.pem --at 1751328000 --json)
echo "$out" | grep -q '"verified":true' && echo "$out" | grep -q '"tcb_status":"ConfigurationAndSWHardeningNeeded"' \
    && echo "$out" | grep -q '"advisory_ids":\["INTEL-SA-00289","INTEL-SA-00615"\]' && ok || bad "sgx via PCCS: $out"
out=$($BIN quote verify "$VEC/tdx_quote" --pccs "https://127.0.0.1:$TDX/" --pccs-ca pccs.pem --at 1751328000 --json)
echo "$out" | grep -q '"verified":true' && echo "$out" | grep -q '"tcb_status":"UpToDate"' && ok || bad "tdx via PCCS: $out"
stats=$(curl -s --cacert pccs.pem "https://127.0.0.1:$SGX/__stats")
echo "$stats" | grep -q '"/sgx/certification/v4/pckcrl": 1' && echo "$stats" | grep -q '"/sgx/certification/v4/rootcacrl": 1' \
    && ok || bad "expected one request per endpoint: $stats"

$BIN quote verify "$VEC/sgx_quote" --pccs "https://127.0.0.1:$SGX" --pccs-ca other.pem --at 1751328000 2> err.txt
[ $? = 3 ] && grep -qi "certificate\|SSL" err.txt && ok || bad "untrusted PCCS certificate: exit 3 wanted: $(cat err.txt)"
$BIN quote verify "$VEC/sgx_quote" --pccs "https://127.0.0.1:1" --pccs-ca pccs.pem --at 1751328000 2> err.txt
[ $? = 3 ] && grep -q "unavailable" err.txt && ok || bad "PCCS down: exit 3 (unavailable) wanted: $(cat err.txt)"
# the same for a certificate's evidence (README "Exit codes": collateral
# trouble is 3, not a verdict on what was verified)
$BIN sim init sim >/dev/null && $BIN cert new --out c.pem --key c.key --attester sim --sim sim \
    --mrenclave "$(printf 'a1%.0s' {1..32})" >/dev/null || bad "sim cert for cert verify"
$BIN cert verify c.pem --pccs "https://127.0.0.1:1" --pccs-ca pccs.pem --root-ca sim/root_ca.der 2> err.txt
[ $? = 3 ] && grep -q "unavailable" err.txt && ok || bad "cert verify, PCCS down: exit 3 wanted: $(cat err.txt)"
# a --pccs-ca (or collateral.pccs_ca) that cannot be read is the caller's
# input error (2), said at once: not a PCCS that looks down, retried
$BIN quote verify "$VEC/sgx_quote" --pccs "https://127.0.0.1:$SGX" --pccs-ca no-such-ca.pem --at 1751328000 2> err.txt
[ $? = 2 ] && grep -q "CA file: cannot open no-such-ca.pem" err.txt && ! grep -q "is down" err.txt && ok \
    || bad "--pccs-ca missing: exit 2 wanted: $(cat err.txt)"
$BIN quote verify "$VEC/sgx_quote" --pccs "https://127.0.0.1:$SGX" --pccs-ca "$T" --at 1751328000 2> err.txt
[ $? = 2 ] && grep -q "not a regular file" err.txt && ok || bad "--pccs-ca a folder: exit 2 wanted: $(cat err.txt)"
printf '{"version": 1, "kms": {"type": "file", "path": "kms.json"}, "apps": [{"name": "a", "match": {"tee": "sgx", "mrenclave": "%s"}, "secrets": {"k": "k"}}]}' \
    "$(printf 'a1%.0s' {1..32})" > policy.json
cat > srv.json <<EOF
{"listen": "127.0.0.1:0", "server_cert": "pccs.pem", "server_key": "pccs.key",
 "collateral": {"pccs": "https://127.0.0.1:$SGX", "pccs_ca": "no-such-ca.pem"},
 "policy": "policy.json", "audit": "audit.log"}
EOF
timeout 10 $BIN serve --config srv.json > srv.out 2> srv.err; rc=$?
[ $rc = 2 ] && grep -q "CA file: cannot open ./no-such-ca.pem" srv.err && ! grep -q listening srv.out && ok \
    || bad "serve, collateral.pccs_ca missing: exit $rc (2 wanted): $(cat srv.err)"
curl -s --cacert pccs.pem -X POST -d '{"fail": 2, "status": 500}' "https://127.0.0.1:$SGX/__control" >/dev/null
$BIN quote verify "$VEC/sgx_quote" --pccs "https://127.0.0.1:$SGX" --pccs-ca pccs.pem --at 1751328000 >/dev/null 2>err.txt \
    && ok || bad "two 500s then success (retries): $(cat err.txt)"
curl -s --cacert pccs.pem -X POST -d '{"fail": 100, "status": 503}' "https://127.0.0.1:$SGX/__control" >/dev/null
$BIN quote verify "$VEC/sgx_quote" --pccs "https://127.0.0.1:$SGX" --pccs-ca pccs.pem --at 1751328000 2> err.txt
[ $? = 3 ] && grep -q "HTTP 503" err.txt && ok || bad "PCCS failing: exit 3 wanted: $(cat err.txt)"
curl -s --cacert pccs.pem -X POST -d '{"fail": 0}' "https://127.0.0.1:$SGX/__control" >/dev/null
curl -s --cacert pccs.pem -X POST -d '{"fail": 1, "status": 404}' "https://127.0.0.1:$SGX/__control" >/dev/null
$BIN quote verify "$VEC/sgx_quote" --pccs "https://127.0.0.1:$SGX" --pccs-ca pccs.pem --at 1751328000 2> err.txt
[ $? = 3 ] && grep -q "HTTP 404" err.txt && ok || bad "PCCS 404: exit 3 wanted: $(cat err.txt)"

echo "$pass passed, $failn failed"
[ $failn = 0 ]
