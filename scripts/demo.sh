#!/usr/bin/env bash
# make demo: a full attested secret release on this machine, on the
# simulated platform with a JSON-file KMS; then Intel's real quotes through
# the same verifier. Cleans up after itself, unless KEEP=1 (then it says
# where its working folder is). ASPS_BIN: another asps binary (the tests').
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${ASPS_BIN:-$ROOT/build/asps}
VEC=${ASPS_VECTORS:-${ASPS_VECTORS_ROOT:-$ROOT/../shared/vectors}/dcap}
KEEP=${KEEP:-}
W=$(mktemp -d /tmp/asps-demo-XXXXXX)
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null || true
    if [ -n "$KEEP" ] && [ "$KEEP" != 0 ]; then
        printf '\nKEEP=%s: the working folder stays: %s\n' "$KEEP" "$W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT
cd "$W"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# asps get's lines ("Secret received: 42-80-...") with each secret's name,
# its bytes, and the text they spell when they are printable UTF-8
show_secrets() {
    python3 -c '
import sys
names = sys.argv[1:]
for line in sys.stdin:
    if not line.startswith("Secret received: "):
        sys.stdout.write(line)
        continue
    hx = line.split(": ", 1)[1].strip()
    b = bytes.fromhex(hx.replace("-", "")) if hx else b""
    name = names.pop(0) if names else "?"
    try:
        t = b.decode("utf-8")
        text = "text \"%s\"" % t if t.isprintable() else "binary"
    except UnicodeDecodeError:
        text = "binary"
    print("Secret received: %s = %s (%d bytes: %s)" % (name, text, len(b), hx))
' "$@"
}

step "1. A simulated SGX platform (test PKI shaped like Intel's; trusted only where named)"
run "$BIN" sim init sim

step "2. The tenant: a server certificate, a policy with one app, a JSON-file KMS"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj "/CN=asps demo CA" -days 30 -out ca.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile ext.cnf -out server.pem 2>/dev/null
MRENCLAVE=$(printf 'a1%.0s' {1..32})
MRSIGNER=$(printf '5e%.0s' {1..32})
cat > policy.json <<EOF
{"version": 1,
 "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web-frontend",
           "match": {"tee": "sgx", "mrenclave": "$MRENCLAVE", "mrsigner": "$MRSIGNER",
                     "isv_prod_id": 1, "min_isv_svn": 1},
           "allow_simulated": true,
           "secrets": {"image_key": "image_key", "tls_key_password": "tls_key_password"}}]}
EOF
cat > kms.json <<'EOF'
{"image_key": "base64:QoDNSyT2D6UzhcoDdA1Lkdc=", "tls_key_password": "text:correct horse", "other_app_key": "text:not yours"}
EOF
cat policy.json
run "$BIN" policy check policy.json
cat > server.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"},
 "policy": "policy.json", "audit": "audit.log"}
EOF

# wait_listening: up to 30 s for the server's "asps: listening on ADDR" line
. "$ROOT/scripts/lib_wait.sh"

step "3. The asps server on 127.0.0.1 (a free port), with this config (server.json)"
cat server.json
printf '$ %s serve --config server.json\n' "$BIN"
"$BIN" serve --config server.json > serve.out 2> serve.err &
SPID=$!
wait_listening serve.out "$SPID" serve.err || exit 1
cat serve.out
PORT=$LISTEN_PORT

step "4. The approved workload: attests (RA-TLS certificate with a quote binding its key) and gets its secrets"
run "$BIN" get --server 127.0.0.1:"$PORT" --ca ca.pem \
    --sim sim --mrenclave "$MRENCLAVE" --mrsigner "$MRSIGNER" --isv-prod-id 1 --isv-svn 2 \
    image_key tls_key_password | show_secrets image_key tls_key_password

step "5. A workload with a different MRENCLAVE asks for the same secret: denied"
set +e
run "$BIN" get --server 127.0.0.1:"$PORT" --ca ca.pem \
    --sim sim --mrenclave "$(printf 'b2%.0s' {1..32})" --mrsigner "$MRSIGNER" --isv-prod-id 1 --isv-svn 2 \
    image_key
echo "(exit $?)"
step "6. The approved workload asks for another app's secret: denied"
run "$BIN" get --server 127.0.0.1:"$PORT" --ca ca.pem \
    --sim sim --mrenclave "$MRENCLAVE" --mrsigner "$MRSIGNER" --isv-prod-id 1 --isv-svn 2 \
    other_app_key
echo "(exit $?)"
set -e

step "7. The audit log: one JSON line per decision, never a value"
cat audit.log

step "8. Stop the server (SIGTERM drains in-flight calls)"
kill -TERM "$SPID"; wait "$SPID" || true; SPID=
cat serve.err

step "9. The same verifier on Intel's real DCAP quotes (collateral valid 2025-06-19..07-19)"
if [ -f "$VEC/sgx_quote" ]; then
  for t in sgx tdx; do
    run "$BIN" quote verify "$VEC/${t}_quote" --collateral "$VEC/${t}_quote_collateral.json" --at 2025-07-01T00:00:00Z
  done
  set +e
  run "$BIN" quote verify "$VEC/sgx_quote" --collateral "$VEC/sgx_quote_collateral.json" --at 2025-08-01T00:00:00Z
  echo "(exit $?: collateral expired, as it must be)"
  set -e
else
  echo "(vectors not found at $VEC; set ASPS_VECTORS)"
fi
if [ -n "$KEEP" ] && [ "$KEEP" != 0 ]; then
  printf '\ndemo done\n' # the cleanup says where its folder stays
else
  printf '\ndemo done (working folder %s, removed on exit)\n' "$W"
fi
