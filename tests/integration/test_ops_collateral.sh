#!/usr/bin/env bash
# test_ops_collateral.sh: readiness and the collateral gauge against REAL
# Intel collateral (../shared/vectors/dcap, captured mid-2025, long past its
# nextUpdate): a server given that bundle starts, but /readyz answers 503
# "collateral expired" naming the platform, and
# asps_collateral_next_update_seconds{tee,fmspc} carries the TCB info's own
# TEE and FMSPC and counts down to the earliest nextUpdate of the four
# signed parts, computed here without asps: Python's json for TCB info and
# QE identity, `openssl crl -nextupdate` for the PCK and root CA CRLs.
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
. "$(dirname "$0")/vectors.sh"
need_vectors "$VEC/sgx_quote_collateral.json" "$VEC/tdx_quote_collateral.json"
for tool in curl python3 openssl; do
    command -v $tool >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done

T=$(mktemp -d /tmp/asps-opsc-XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem \
    -days 1 -subj "/CN=localhost" 2>/dev/null
echo '{}' > kms.json
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "x", "match": {"tee": "sgx", "mrenclave": "$(printf 'c3%.0s' {1..32})"}, "secrets": {"a": "a"}}]}
EOF

# the earliest nextUpdate of a bundle, and its TEE and FMSPC, without asps
expect() { # bundle -> "tee FMSPC unix"
    python3 - "$1" <<'EOF' > parts.txt
import json, sys, datetime
b = json.load(open(sys.argv[1]))
t, q = json.loads(b["tcb_info"]), json.loads(b["qe_identity"])
ts = lambda s: int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())
print(t.get("id", "SGX").lower(), t["fmspc"], min(ts(t["nextUpdate"]), ts(q["nextUpdate"])))
open("pck.der", "wb").write(bytes.fromhex(b["pck_crl"]))
open("root.der", "wb").write(bytes.fromhex(b["root_ca_crl"]))
EOF
    local tee fm nu c
    read -r tee fm nu < parts.txt
    for crl in pck.der root.der; do
        c=$(date -d "$(openssl crl -inform DER -in $crl -noout -nextupdate | cut -d= -f2)" +%s)
        [ "$c" -lt "$nu" ] && nu=$c
    done
    echo "$tee $fm $nu"
}

for tee in sgx tdx; do
    read -r etee fm nu < <(expect "$VEC/${tee}_quote_collateral.json")
    [ "$etee" = $tee ] && ok || bad "$tee bundle's TCB info says $etee"
    cat > server.json <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "collateral": {"bundle": "$VEC/${tee}_quote_collateral.json"}, "policy": "policy.json", "audit": "audit.log",
 "ops": {"listen": "127.0.0.1:0"}}
EOF
    rm -f s.out s.err # never the sgx server's listening line for the tdx one
    $BIN serve --config server.json > s.out 2> s.err &
    SPID=$!
    PIDS="$PIDS $SPID"
    wait_listening s.out $SPID s.err || { echo "FAIL: $tee: server did not start"; exit 1; }
    OPS=$(sed -n 's/.*ops: listening on 127.0.0.1:\([0-9]*\) .*/\1/p' s.err)
    [ -n "$OPS" ] || { echo "FAIL: $tee: server did not start"; cat s.err; exit 1; }
    code=$(curl -s -o body.txt -w '%{http_code}' "http://127.0.0.1:$OPS/readyz")
    [ "$code" = 503 ] && grep -q "^not ready: collateral expired: $tee FMSPC $fm, nextUpdate [0-9]* s ago$" body.txt \
        && ok || bad "$tee /readyz: $code $(cat body.txt)"
    ago=$(sed -n 's/.*nextUpdate \([0-9]*\) s ago/\1/p' body.txt)
    d=$(( $(date +%s) - nu - ${ago:-0} ))
    [ "${d#-}" -le 5 ] && ok || bad "$tee: $ago s ago, openssl and json say $(( $(date +%s) - nu ))"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OPS/healthz")" = 200 ] && ok \
        || bad "$tee /healthz: alive even when not ready"
    v=$(curl -s "http://127.0.0.1:$OPS/metrics" |
        awk -v k="asps_collateral_next_update_seconds{tee=\"$tee\",fmspc=\"$fm\"}" '$1 == k {print $2}')
    d=$(( nu - $(date +%s) - ${v:-0} ))
    [ -n "$v" ] && [ "${v%%[.e]*}" -lt 0 ] && [ "${d#-}" -le 5 ] && ok \
        || bad "$tee gauge [$v] for $fm, expected $(( nu - $(date +%s) ))"
    kill -TERM $SPID
    wait $SPID
done

echo "test_ops_collateral: $pass passed, $failn failed"
[ $failn = 0 ]
