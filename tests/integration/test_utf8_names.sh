#!/usr/bin/env bash
# test_utf8_names.sh: string fields that are not UTF-8, through a running
# `asps serve`, from a peer the policy allows and from one it denies
# (issue 12, part 3). proto3 requires every string field to be valid UTF-8:
# the name bytes ff fe 69 6d 61 67 65, an overlong form, an encoded
# surrogate, a code point above U+10FFFF, a lone c3 (also in Occlum's
# GrSecret name), CCZoo's key and ctx, the health service name: each is
# refused INVALID_ARGUMENT, saying which field and which bytes, with an
# audit line; well-formed non-ASCII names are not refused as malformed. The
# audit log is then read by Python's json module from strictly decoded
# UTF-8, and the server still serves a good client.
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

T=$(mktemp -d /tmp/asps-utf8-XXXXXX)
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null
    # left for the suite-wide check of every audit line (audit_lines_json)
    [ -n "${ASPS_AUDIT_KEEP:-}" ] && [ -f "$T/audit.log" ] && mkdir -p "$ASPS_AUDIT_KEEP" &&
        cp "$T/audit.log" "$ASPS_AUDIT_KEEP/test_utf8_names.log"
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
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null
MRE=$(printf 'a1%.0s' {1..32}); MRS=$(printf '5e%.0s' {1..32}); OTHER=$(printf 'b2%.0s' {1..32})
cat > policy.json <<EOF2
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE", "mrsigner": "$MRS"},
           "allow_simulated": true, "secrets": {"image_key": "image_key"}}]}
EOF2
echo '{"image_key": "text:k3y"}' > kms.json
cat > server.json <<'EOF2'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log"}
EOF2
$BIN serve --config server.json > serve.out 2> serve.err &
SPID=$!
wait_listening serve.out $SPID serve.err || { echo "FAIL: server did not start"; exit 1; }
PORT=$LISTEN_PORT
S=$LISTEN_ADDR
$BIN cert new --out allowed.pem --key allowed.key --sim sim --mrenclave "$MRE" --mrsigner "$MRS" >/dev/null || bad "cert"
$BIN cert new --out denied.pem --key denied.key --sim sim --mrenclave "$OTHER" --mrsigner "$MRS" >/dev/null || bad "cert"

audit_count() { wc -l < audit.log; }
# field HEX as a length-delimited protobuf field NUM (one length byte)
fld() { printf '%02x%02x%s' $(( $1 << 3 | 2 )) $(( ${#2} / 2 )) "$2"; }
# expect PEER METHOD REQHEX FIELD BYTES: INVALID_ARGUMENT naming FIELD and
# BYTES, and an audit line saying the same
expect_invalid() {
    local peer=$1 method=$2 req=$3 field=$4 bytes=$5 before out
    before=$(audit_count)
    out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert $peer.pem --key $peer.key \
        raw "$method" "$req" 2>&1)
    case "$out" in
    "STATUS INVALID_ARGUMENT "*"$field is not valid UTF-8"*"bytes $bytes"*) ok ;;
    *) bad "$peer $method $req: $out" ;;
    esac
    [ "$method" = /grpc.health.v1.Health/Check ] && return # health checks are not decisions
    [ "$(audit_count)" -gt "$before" ] && ok || bad "$peer $method $req: no audit line"
    tail -n 1 audit.log | grep -q "\"verdict\":\"invalid\".*is not valid UTF-8.*bytes $bytes" \
        && ok || bad "$peer $method $req: audit line: $(tail -n 1 audit.log)"
}

G=/asps.v1.SecretProvision/GetSecrets O=/ratls.GrSecret/GetSecret C=/secretmanager.SecretManger/GetSecret
for peer in allowed denied; do
    # the issue's name, then an overlong "/" (2 and 3 bytes), an encoded
    # surrogate, a code point above U+10FFFF, a sequence cut short, a lone c3
    expect_invalid $peer $G "$(fld 1 fffe696d616765)" "GetSecretsRequest.names[0]" "ff fe 69 6d 61 67 65"
    expect_invalid $peer $G "$(fld 1 61c0af62)" "names[0]" "61 c0 af 62"
    expect_invalid $peer $G "$(fld 1 e080af)" "names[0]" "e0 80 af"
    expect_invalid $peer $G "$(fld 1 eda080)" "names[0]" "ed a0 80"
    expect_invalid $peer $G "$(fld 1 f4908080)" "names[0]" "f4 90 80 80"
    expect_invalid $peer $G "$(fld 1 696d616765)$(fld 1 e282)" "names[1]" "e2 82"
    expect_invalid $peer $G "$(fld 1 c3)" "names[0]" "c3"
    # Occlum's GrSecret name: a lone c3, and the others
    expect_invalid $peer $O "$(fld 1 c3)" "SecretRequest.name" "c3"
    expect_invalid $peer $O "$(fld 1 fffe696d616765)" "SecretRequest.name" "ff fe 69"
    expect_invalid $peer $O "$(fld 1 eda080)" "SecretRequest.name" "ed a0 80"
    # CCZoo's key and ctx
    expect_invalid $peer $C "$(fld 1 c0af)" "SecretRequest.key" "c0 af"
    expect_invalid $peer $C "$(fld 1 696d6167655f6b6579)$(fld 2 edbfbf)" "SecretRequest.ctx" "ed bf bf"
    # the health check's service name
    expect_invalid $peer /grpc.health.v1.Health/Check "$(fld 1 c3)" "HealthCheckRequest.service" "c3"
done

# well-formed UTF-8 is not malformed: e-acute, U+10FFFF, a 4-byte emoji are
# names like any other (unknown here: PERMISSION_DENIED)
for n in c3a9 f48fbfbf f09f9491; do
    out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert allowed.pem --key allowed.key \
        raw $G "$(fld 1 $n)" 2>&1)
    echo "$out" | grep -q "^STATUS PERMISSION_DENIED" && ok || bad "well-formed name $n: $out"
done
out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert allowed.pem --key allowed.key \
    raw $O "$(fld 1 696d6167655f6b6579)")
[ "$out" = "$(fld 1 "$(printf 'k3y' | base64 | tr -d '\n' | xxd -p)")" ] && ok || bad "Occlum GetSecret with a good name: $out"

# every line of the audit log: strict UTF-8, then Python's JSON parser
$PY - <<'PYEOF' && ok || bad "audit log is not strict JSON lines"
import json
raw = open("audit.log", "rb").read()
text = raw.decode("utf-8")          # strict: raises on any ill-formed byte
lines = text.split("\n")
assert lines[-1] == "" and len(lines) > 20, len(lines)
for l in lines[:-1]:
    o = json.loads(l)               # strict=True: no raw control characters
    assert isinstance(o, dict) and o["verdict"], l
PYEOF

out=$($BIN get --server "$S" --ca ca.pem --sim sim --mrenclave "$MRE" --mrsigner "$MRS" image_key 2>&1)
[ "$out" = "Secret received: 6b-33-79" ] && ok || bad "good client afterwards: $out"
kill -TERM $SPID; wait $SPID; rc=$?; SPID=
[ $rc = 0 ] && ok || bad "SIGTERM exit $rc"

echo "$pass passed, $failn failed"
[ $failn = 0 ]
