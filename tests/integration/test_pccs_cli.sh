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
