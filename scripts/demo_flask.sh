#!/usr/bin/env bash
# make demo-flask: the seed demo (Occlum's init-RA with a Flask TLS app) in
# asps, on the simulated platform:
#   - an asps server, itself an "enclave" presenting its own RA-TLS
#     certificate, reads Occlum's dynamic_config.json and secret_config.json
#     as they are;
#   - `asps run` reads Occlum's init_ra_conf.json, verifies the server's
#     evidence against its ra_config, fetches flask_cert, flask_key and
#     image_key to /etc-like paths under a temp root, then starts the Flask
#     app, which knows nothing of attestation;
#   - curl talks to the app over TLS with the fetched certificate.
# Then the same with a wrong config_svn: no file, no app.
# With --check it runs as a test (quiet, exit status says).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${ASPS_BIN:-$ROOT/build/asps}
CHECK=${1:-}
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import flask' 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then echo "SKIP: no python3 with flask (apt-get install python3-flask)"; exit 77; fi
W=$(mktemp -d /tmp/asps-flask-XXXXXX)
SPID= APID=
cleanup() {
    for p in $SPID $APID; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    # under ctest: left for the suite-wide check of every audit line
    if [ -n "${ASPS_AUDIT_KEEP:-}" ]; then
        mkdir -p "$ASPS_AUDIT_KEEP"
        [ -f "$W/audit.log" ] && cp "$W/audit.log" "$ASPS_AUDIT_KEEP/test_demo_flask.log"
        [ -f "$W/audit2.log" ] && cp "$W/audit2.log" "$ASPS_AUDIT_KEEP/test_demo_flask_impostor.log"
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
cd "$W"
say() { [ "$CHECK" = --check ] || printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { [ "$CHECK" = --check ] || cat "$@"; }
fail() { echo "FAIL: $*"; for f in serve.err run.err app.out; do [ -f $f ] && sed "s/^/$f: /" $f; done; exit 1; }

say "1. The simulated platform, and the KMS server's own RA-TLS identity"
"$BIN" sim init sim >/dev/null
SERVER_MRE=$(printf '5e%.0s' {1..32}); SERVER_MRS=$(printf '77%.0s' {1..32})
"$BIN" cert new --out server.crt --key server.key --sim sim \
    --mrenclave "$SERVER_MRE" --mrsigner "$SERVER_MRS" --isv-prod-id 1 --isv-svn 1

say "2. The secrets: a Flask TLS certificate and key (gen-cert.sh), an image key"
openssl req -x509 -newkey rsa:2048 -nodes -keyout flask.key -out flask.crt -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
head -c 16 /dev/urandom > image_key
b64() { base64 -w0 < "$1"; }
cat > secret_config.json <<EOF
{
  "flask_cert": "$(b64 flask.crt)",
  "flask_key": "$(b64 flask.key)",
  "image_key": "$(b64 image_key)"
}
EOF

say "3. dynamic_config.json: which client enclave may have them (config_svn 1234, as 'occlum run --config-svn 1234')"
APP_MRE=$(printf 'a1%.0s' {1..32}); APP_MRS=$(printf 'b2%.0s' {1..32})
cat > dynamic_config.json <<EOF
{
    "verify_mr_enclave" : "on",
    "verify_mr_signer" : "on",
    "verify_isv_prod_id" : "on",
    "verify_isv_svn" : "on",
    "verify_config_svn" : "on",
    "verify_enclave_debuggable" : "on",
    "sgx_mrs": [
        {
            "mr_enclave" : "$APP_MRE",
            "mr_signer" : "$APP_MRS",
            "isv_prod_id" : 3,
            "isv_svn" : 1,
            "config_svn" : 1234,
            "debuggable" : false
        }
    ],
    "other" : []
}
EOF
show dynamic_config.json
cat > server.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.crt", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "seed_allow_simulated": true,
 "audit": "audit.log"}
EOF
# wait_listening: up to 30 s for the server's "asps: listening on ADDR" line
. "$ROOT/scripts/lib_wait.sh"

"$BIN" serve --config server.json --ra-config dynamic_config.json --secrets secret_config.json \
    > serve.out 2> serve.err &
SPID=$!
wait_listening serve.out "$SPID" serve.err || fail "server did not start"
PORT=$LISTEN_PORT
show serve.out

say "4. init_ra_conf.json on the client side: the keys, and the server it trusts"
cat > init_ra_conf.json <<EOF
{
    "kms_server": "localhost:50051",
    "kms_keys": [
        {"key": "flask_cert", "path": "/etc/flask.crt"},
        {"key": "flask_key", "path": "/etc/flask.key"},
        {"key": "image_key", "path": "/etc/image_key"}
    ],
    "ra_config": {
        "verify_mr_enclave" : "on",
        "verify_mr_signer" : "on",
        "verify_isv_prod_id" : "on",
        "verify_isv_svn" : "on",
        "verify_config_svn" : "off",
        "verify_enclave_debuggable" : "on",
        "sgx_mrs": [
            {
                "mr_enclave" : "$SERVER_MRE",
                "mr_signer" : "$SERVER_MRS",
                "isv_prod_id" : 1,
                "isv_svn" : 1,
                "config_svn" : 0,
                "debuggable" : false
            }
        ]
    }
}
EOF
show init_ra_conf.json
export OCCLUM_INIT_RA_KMS_SERVER=127.0.0.1:$PORT

say "5. asps run: attest, fetch the three keys, write them under the image root, start the app"
APP_ID=(--sim sim --mrenclave "$APP_MRE" --mrsigner "$APP_MRS" --isv-prod-id 3 --isv-svn 1)
mkdir -p image
[ "$CHECK" = --check ] || echo "\$ asps run --conf init_ra_conf.json --server-sim sim ${APP_ID[*]} --config-svn 1234 --root image -- rest_api.py image/etc/flask.crt image/etc/flask.key 0"
"$BIN" run --conf init_ra_conf.json --server-sim sim "${APP_ID[@]}" --config-svn 1234 --root "$W/image" \
    -- "$PY" "$ROOT/examples/flask/rest_api.py" "$W/image/etc/flask.crt" "$W/image/etc/flask.key" 0 \
    > app.out 2> run.err &
APID=$!
for _ in $(seq 100); do grep -q listening app.out 2>/dev/null && break; sleep 0.1; done
APORT=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' app.out)
[ -n "$APORT" ] || fail "the app did not start"
show run.err
cmp -s image/etc/flask.crt flask.crt && cmp -s image/etc/flask.key flask.key && cmp -s image/etc/image_key image_key \
    || fail "fetched files differ from the secrets"
[ "$(stat -c %a image/etc/flask.key)" = 600 ] || fail "flask.key mode"
[ "$(stat -c %a image/etc)" = 700 ] || fail "etc folder mode"
[ "$CHECK" = --check ] || ls -l image/etc

say "6. The seed's curl commands"
c() { [ "$CHECK" = --check ] || echo "\$ curl --cacert flask.crt $*" >&2; curl -s --cacert flask.crt "$@"; }
r1=$(c -X PUT "https://localhost:$APORT/customer/1" -d "data=Tom")
r2=$(c -X PUT "https://localhost:$APORT/customer/2" -d "data=Jerry")
r3=$(c -X GET "https://localhost:$APORT/customer/1")
r4=$(c -X GET "https://localhost:$APORT/customer/2")
[ "$CHECK" = --check ] || printf '%s\n%s\n%s\n%s\n' "$r1" "$r2" "$r3" "$r4"
echo "$r3" | grep -q '"data":"Tom"' && echo "$r4" | grep -q '"data":"Jerry"' || fail "curl answers: $r3 $r4"
kill "$APID"; wait "$APID" 2>/dev/null || true; APID=

say "7. The same app with the wrong config_svn: refused, no file, no app"
rm -rf image2; mkdir image2
set +e
"$BIN" run --conf init_ra_conf.json --server-sim sim "${APP_ID[@]}" --config-svn 1 --root "$W/image2" \
    -- "$PY" -c 'open("'"$W"'/app-started", "w")' > app2.out 2> run2.err
rc=$?
set -e
show run2.err
[ "$rc" = 1 ] || fail "wrong config_svn: exit $rc, want 1"
[ -z "$(ls -A image2)" ] || fail "files left behind: $(find image2)"
[ ! -e "$W/app-started" ] || fail "the app was started"

say "8. A server that is not the one ra_config names: refused before any secret moves"
"$BIN" cert new --out impostor.crt --key impostor.key --sim sim --mrenclave "$(printf 'ee%.0s' {1..32})" \
    --mrsigner "$SERVER_MRS" --isv-prod-id 1 --isv-svn 1
sed -e "s/\"server\\.crt\"/\"impostor.crt\"/" -e "s/\"server\\.key\"/\"impostor.key\"/" -e 's/audit.log/audit2.log/' server.json > impostor.json
"$BIN" serve --config impostor.json --ra-config dynamic_config.json --secrets secret_config.json > imp.out 2> imp.err &
IPID=$!
wait_listening imp.out "$IPID" imp.err || fail "impostor server did not start"
IPORT=$LISTEN_PORT
set +e
OCCLUM_INIT_RA_KMS_SERVER=127.0.0.1:$IPORT "$BIN" run --conf init_ra_conf.json --server-sim sim "${APP_ID[@]}" \
    --config-svn 1234 --root "$W/image3" > /dev/null 2> run3.err
rc=$?
set -e
kill $IPID; wait $IPID 2>/dev/null || true
show run3.err
[ "$rc" != 0 ] || fail "impostor server accepted"
[ ! -e "$W/image3/etc" ] || fail "files written for an impostor server"

if [ "$CHECK" = --check ]; then
    # 9. The server's collateral from a PCCS (ua_env_pccs_url, as Occlum sets
    # it), over TLS checked against --pccs-ca: refused without it (no file),
    # used with it (the PCCS saw the requests).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem \
        -days 1 -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
    python3 "$ROOT/tests/pccs_server.py" --bundle sim/collateral_sgx.json --cert pccs.pem --key pccs.key \
        > pccs.out 2> pccs.err &
    PPID_=$!
    SPID="$SPID $PPID_"
    for _ in $(seq 50); do grep -q PORT pccs.out 2>/dev/null && break; sleep 0.1; done
    PPORT=$(sed -n 's/^PORT //p' pccs.out)
    [ -n "$PPORT" ] || fail "test PCCS did not start"
    set +e
    UA_ENV_PCCS_URL=https://127.0.0.1:$PPORT "$BIN" run --conf init_ra_conf.json --server-sim sim "${APP_ID[@]}" \
        --config-svn 1234 --root "$W/image4" > /dev/null 2> run4.err
    rc=$?
    set -e
    [ "$rc" = 3 ] && grep -q "pccs: .*certificate" run4.err \
        || fail "PCCS with an untrusted TLS certificate: exit $rc, want 3: $(cat run4.err)"
    [ ! -e "$W/image4/etc" ] || fail "files written without the server's collateral"
    UA_ENV_PCCS_URL=https://127.0.0.1:$PPORT "$BIN" run --conf init_ra_conf.json --server-sim sim "${APP_ID[@]}" \
        --config-svn 1234 --root "$W/image5" --pccs-ca pccs.pem > /dev/null 2> run5.err \
        || fail "collateral from the PCCS: $(cat run5.err)"
    cmp -s image5/etc/image_key image_key || fail "image_key via PCCS collateral differs"
    # one collateral fetch asks for the TCB info twice: update=standard and update=early
    curl -s --cacert pccs.pem "https://127.0.0.1:$PPORT/__stats" | grep -q '"/sgx/certification/v4/tcb": 2' \
        || fail "the PCCS was not asked for the server's TCB info"
fi

say "Audit log of the KMS server"
show audit.log
[ "$CHECK" = --check ] && echo "demo-flask: 1 passed, 0 failed" || echo "demo-flask done"
