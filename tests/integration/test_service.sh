#!/usr/bin/env bash
# test_service.sh: the real server (asps serve) and the real client (asps
# get), plus an independent client (Python grpcio) presenting an RA-TLS
# certificate from `asps cert new`. Grants, every denial the issue lists,
# bad bytes, faults (KMS gone and back, SIGHUP with a broken policy), and
# the server keeps serving a good client after each.
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

T=$(mktemp -d /tmp/asps-svc-XXXXXX)
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null
    # left for the suite-wide check of every audit line (audit_lines_json)
    [ -n "${ASPS_AUDIT_KEEP:-}" ] && [ -f "$T/audit.log" ] && mkdir -p "$ASPS_AUDIT_KEEP" &&
        cp "$T/audit.log" "$ASPS_AUDIT_KEEP/test_service.log"
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

# ---- tenant side: simulated platform, server PKI, policy, KMS ---------------
$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -subj "/CN=asps test CA" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem 2>/dev/null
ec server.key && openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null

MRE=$(printf 'a1%.0s' {1..32}); MRS=$(printf '5e%.0s' {1..32}); OTHER=$(printf 'b2%.0s' {1..32})
MRE2=$(printf 'c3%.0s' {1..32})
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [
  {"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE", "mrsigner": "$MRS", "isv_prod_id": 1,
                            "min_isv_svn": 2},
   "allow_simulated": true, "secrets": {"image_key": "image_key", "db_password": "db_password"}},
  {"name": "batch", "match": {"tee": "sgx", "mrenclave": "$MRE2", "tcb_statuses": ["UpToDate"]},
   "allow_simulated": true, "secrets": {"batch_token": "batch_token"}}
 ]}
EOF
cp policy.json policy.good
cat > kms.json <<'EOF'
{"image_key": "base64:QoDNSyT2D6UzhcoDdA1Lkdc=", "db_password": "text:hunter2", "batch_token": "text:tok-123"}
EOF
cat > server.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log",
 "limits": {"max_names": 64, "max_message_bytes": 16384}}
EOF
$BIN serve --config server.json > serve.out 2> serve.err &
SPID=$!
wait_listening serve.out $SPID serve.err || { echo "FAIL: server did not start"; exit 1; }
PORT=$LISTEN_PORT
S=$LISTEN_ADDR
ID=(--sim sim --mrenclave "$MRE" --mrsigner "$MRS" --isv-prod-id 1 --isv-svn 3)

audit_count() { wc -l < audit.log; }
good_client() {
    out=$($BIN get --server "$S" --ca ca.pem "${ID[@]}" image_key 2>&1)
    [ "$out" = "Secret received: 42-80-cd-4b-24-f6-0f-a5-33-85-ca-03-74-0d-4b-91-d7" ] && ok || bad "good client after $1: $out"
}
expect_get() { # name rc [args...]
    local name=$1 want=$2; shift 2
    local before; before=$(audit_count)
    $BIN get --server "$S" --ca ca.pem "$@" > get.out 2> get.err
    local rc=$?
    [ "$rc" = "$want" ] && ok || bad "$name: rc $rc, want $want: $(cat get.err)"
    [ "$(audit_count)" -gt "$before" ] && ok || bad "$name: no audit line"
}

# ---- grants ------------------------------------------------------------------
expect_get "granted" 0 "${ID[@]}" image_key db_password
grep -q "Secret received: 68-75-6e-74-65-72-32" get.out && ok || bad "db_password value"
$BIN get --server "$S" --ca ca.pem "${ID[@]}" --out "$T/key.bin" image_key && ok || bad "--out"
[ "$(stat -c %a key.bin)" = 600 ] && ok || bad "--out mode"

# the server trusted by a pinned certificate instead of a CA; --json output
$BIN get --server "$S" --pin server.pem "${ID[@]}" db_password > pin.out && grep -q "68-75-6e-74-65-72-32" pin.out && ok || bad "--pin"
$BIN get --server "$S" --pin ca.pem "${ID[@]}" db_password 2> pin.err; [ $? = 1 ] && grep -q "pinned" pin.err && ok || bad "--pin with another certificate: $(cat pin.err)"
out=$($BIN get --server "$S" --ca ca.pem "${ID[@]}" --json image_key db_password)
# image_key's bytes are not UTF-8: no "value"; db_password's are text
[ "$out" = '{"secrets":[{"name":"image_key","value_hex":"4280cd4b24f60fa53385ca03740d4b91d7","value_base64":"QoDNSyT2D6UzhcoDdA1Lkdc="},{"name":"db_password","value":"hunter2","value_hex":"68756e74657232","value_base64":"aHVudGVyMg=="}]}' ] && ok || bad "--json: $out"

# ---- denials -------------------------------------------------------------------
expect_get "unknown MRENCLAVE" 1 --sim sim --mrenclave "$OTHER" --mrsigner "$MRS" --isv-prod-id 1 --isv-svn 3 image_key
expect_get "wrong MRSIGNER" 1 --sim sim --mrenclave "$MRE" --mrsigner "$OTHER" --isv-prod-id 1 --isv-svn 3 image_key
expect_get "debug enclave" 1 "${ID[@]}" --debug image_key
expect_get "ISVSVN below minimum" 1 --sim sim --mrenclave "$MRE" --mrsigner "$MRS" --isv-prod-id 1 --isv-svn 1 image_key
expect_get "TCB status not allowed" 1 --sim sim --mrenclave "$MRE2" --tcb OutOfDate batch_token
expect_get "TCB UpToDate allowed" 0 --sim sim --mrenclave "$MRE2" batch_token
expect_get "name not granted" 1 "${ID[@]}" batch_token
$BIN get --server "$S" --ca ca.pem "${ID[@]}" no_such_name 2> unknown.err
$BIN get --server "$S" --ca ca.pem "${ID[@]}" batch_token 2> denied.err
cmp -s unknown.err denied.err && ok || bad "unknown and denied names answer differently: $(cat unknown.err) / $(cat denied.err)"
# a Revoked platform fails verification: the client is told so (exit 5,
# UNAUTHENTICATED with the reason), the audit log says why
# (every kind of refusal: test_refusals.sh)
expect_get "revoked TCB" 5 --sim sim --mrenclave "$MRE2" --tcb Revoked batch_token
grep -q 'tcb_revoked' get.err && ok || bad "revoked: client not told the reason: $(cat get.err)"
grep -q 'tcb_revoked' audit.log && ok || bad "revoked: audit reason"

# certificates whose evidence must be refused: no evidence, forged, expired
$BIN cert new --out good.pem --key good.key "${ID[@]}" >/dev/null && ok || bad "cert new"
openssl req -x509 -new -key good.key -subj "/CN=plain" -days 1 -out plain.pem 2>/dev/null
$BIN sim quote sim --out other.quote --mrenclave "$MRE" --mrsigner "$MRS" --isv-prod-id 1 --isv-svn 3 \
    --report-data "$(printf '00%.0s' {1..64})"
ec forged.key
openssl req -x509 -new -key forged.key -subj "/CN=forged" -days 1 -out forged.pem \
    -addext "1.2.840.113741.1337.6=DER:$(xxd -p other.quote | tr -d '\n')" 2>/dev/null || bad "forge"
$BIN cert verify forged.pem --sim sim >/dev/null 2>forged.err; [ $? = 1 ] && grep -q binding forged.err && ok || bad "forged cert verify: $(cat forged.err)"
$BIN cert new --out old.pem --key old.key "${ID[@]}" --not-before 2020-01-01T00:00:00Z --days 1 >/dev/null
for c in plain:no_evidence forged:binding old:cert_expired; do
    why=${c#*:} c=${c%%:*}
    k=$c; [ $c = plain ] && k=good
    before=$(audit_count)
    out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert $c.pem --key $k.key get image_key 2>&1)
    echo "$out" | grep -q "^STATUS UNAUTHENTICATED evidence refused: $why " && ok || bad "$c certificate not refused: $out"
    [ "$(audit_count)" -gt "$before" ] && ok || bad "$c: no audit line"
done
grep -q '"verdict":"unauthenticated"' audit.log && ok || bad "no unauthenticated audit line"

# ---- the independent client (Python grpcio) with an asps RA-TLS cert ----------
out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert good.pem --key good.key gethex image_key db_password)
[ "$out" = "$(printf 'image_key=4280cd4b24f60fa53385ca03740d4b91d7\ndb_password=68756e74657232')" ] && ok || bad "python GetSecrets: $out"
out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert good.pem --key good.key health)
[ "$out" = SERVING ] && ok || bad "health: $out"
out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert good.pem --key good.key occlum image_key)
[ "$out" = "QoDNSyT2D6UzhcoDdA1Lkdc=" ] && ok || bad "occlum GetSecret: $out"
out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert good.pem --key good.key cczoo db_password good.pem)
[ "$out" = hunter2 ] && ok || bad "cczoo GetSecret with own ctx: $out"
out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert good.pem --key good.key cczoo db_password forged.pem)
echo "$out" | grep -q "^STATUS PERMISSION_DENIED" && ok || bad "cczoo with another cert as ctx: $out"
grep -q '"reason":"ctx is not the certificate of this connection"' audit.log && ok || bad "cczoo ctx refusal: no audit line"
# a binary secret cannot travel in CCZoo's string field: a clear refusal
out=$($CLIENT --target "$S" --ca ca.pem --server-name localhost --cert good.pem --key good.key cczoo image_key)
echo "$out" | grep -q "^STATUS FAILED_PRECONDITION" && ok || bad "cczoo binary secret: $out"

# ---- bad bytes -----------------------------------------------------------------
PYC="$CLIENT --target $S --ca ca.pem --server-name localhost --cert good.pem --key good.key"
out=$($PYC raw /asps.v1.SecretProvision/GetSecrets 0a05696d61) ; echo "$out" | grep -q "^STATUS INVALID_ARGUMENT" && ok || bad "truncated message: $out"
out=$($PYC raw /asps.v1.SecretProvision/GetSecrets "12fa22$(printf '00%.0s' {1..100})" 2>&1); echo "$out" | grep -q "^STATUS" && ok || bad "garbage message: $out"
out=$($PYC raw /asps.v1.SecretProvision/GetSecrets "0a$(printf 'ff%.0s' {1..3})"); echo "$out" | grep -q "^STATUS INVALID_ARGUMENT" && ok || bad "bad varint: $out"
names=$(for i in $(seq 100); do printf 'n%d ' $i; done)
out=$($PYC get $names); echo "$out" | grep -q "^STATUS RESOURCE_EXHAUSTED" && ok || bad "100 names: $out"
out=$($PYC raw /asps.v1.SecretProvision/GetSecrets "0aa09c01$(head -c 20000 /dev/zero | xxd -p | tr -d '\n')"); echo "$out" | grep -q "^STATUS RESOURCE_EXHAUSTED" && ok || bad "oversized message: $out"
# garbage on the TLS port, and a client that stalls mid-handshake
$PY - "$PORT" <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)) * 8); s.close()
stall = socket.create_connection(("127.0.0.1", port)); stall.sendall(b"\x16\x03\x01\x00\xff\x01")  # half a ClientHello
time.sleep(0.2)
PYEOF
good_client "garbage and a stalled handshake"
# a flood of refused handshakes cannot flood the log: gRPC's lines are rate-limited
$PY - "$PORT" <<'PYEOF'
import socket, sys
for _ in range(60):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(b"\x16\x03\x01\x00\x05hello"); s.close()
PYEOF
sleep 0.5
n=$(grep -c '^grpc ' serve.err || true)
[ "$n" -le 20 ] && ok || bad "gRPC log not rate-limited: $n lines"
good_client "a handshake flood"

# ---- concurrency: parallel clients while the policy is reloaded ------------------
for w in 1 2 3 4 5 6; do
    ( for i in 1 2 3 4 5 6; do
        $BIN get --server "$S" --ca ca.pem "${ID[@]}" image_key >/dev/null 2>&1 || echo fail >> conc.err
      done ) &
done
sleep 0.3; kill -HUP $SPID
wait_jobs() { for j in $(jobs -p); do [ "$j" = "$SPID" ] || wait "$j"; done; }
wait_jobs
[ ! -s conc.err ] && ok || bad "parallel clients: $(wc -l < conc.err) failed"
good_client "parallel clients and a reload"

# ---- faults ------------------------------------------------------------------
mv kms.json kms.away
expect_get "KMS file missing" 3 "${ID[@]}" image_key
grep -q '"verdict":"unavailable"' audit.log && ok || bad "no unavailable audit line"
mv kms.away kms.json
good_client "KMS back"
echo '{"version": 1, "apps": [{"name": "x", "match": {"tee": "sgx", "mrenclave": ""}}]}' > policy.json
kill -HUP $SPID; sleep 0.5
grep -q "reload refused" serve.err && ok || bad "broken policy not refused on SIGHUP"
good_client "SIGHUP with a broken policy"
# a good new policy takes effect: web loses db_password
sed 's/, "db_password": "db_password"//' policy.good > policy.json
kill -HUP $SPID; sleep 0.5
expect_get "after reload, db_password no longer granted" 1 "${ID[@]}" db_password
good_client "reload"

# a KMS failure after a grant lists nothing as granted
$PY - <<'PYEOF' && ok || bad "unavailable line lists granted names"
import json
for l in open("audit.log"):
    o = json.loads(l)
    if o["verdict"] in ("unavailable", "denied", "unauthenticated", "invalid", "refused"):
        assert o.get("names_granted", []) == [], o
PYEOF

# ---- audit: one JSON object per line, never a value ----------------------------
$PY - <<'PYEOF' && ok || bad "audit lines"
import json
lines = open("audit.log").read().splitlines()
assert len(lines) >= 10, len(lines)
for l in lines:
    o = json.loads(l)
    assert "verdict" in o and "time" in o, o
text = open("audit.log").read()
for secret in ("hunter2", "QoDNSyT2D6UzhcoDdA1Lkdc=", "4280cd4b", "tok-123"):
    assert secret not in text, secret
PYEOF

# ---- SIGTERM drains and stops ---------------------------------------------------
kill -TERM $SPID; wait $SPID; rc=$?; SPID=
[ $rc = 0 ] && ok || bad "SIGTERM exit $rc"

echo "$pass passed, $failn failed"
[ $failn = 0 ]
