#!/usr/bin/env bash
# test_rpc_python.sh: a stock Python grpcio client talks to the asps rpc
# server (tests/rpc_echo_server.c) over mutual TLS: echo, GetSecrets with our
# protobuf-c encoding, health; clients without a certificate or with a
# refused one fail; the server stops cleanly on SIGTERM.
set -u

BUILD=${ASPS_BUILD:?ASPS_BUILD not set}
SRC=${ASPS_SRC:?ASPS_SRC not set}
SERVER=$BUILD/rpc_echo_server
CLIENT=$SRC/tests/rpc_client.py

[ -x "$SERVER" ] || { echo "SKIP: $SERVER not built"; exit 77; }
# The Debian python3-grpcio lives in /usr/bin/python3's path; a python3
# earlier on PATH (pyenv, venv) may not see it.
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import grpc' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with grpcio (apt-get install python3-grpcio)"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }

T=$(mktemp -d /tmp/asps-rpc-py-XXXXXX)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; [ -f "$T/server.err" ] && sed 's/^/server: /' "$T/server.err"; exit 1; }

# ---- throwaway PKI: CA + server cert for 127.0.0.1, two self-signed clients
cd "$T"
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -subj "/CN=asps test CA" -days 1 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out ca.pem 2>/dev/null || fail "CA"
ec server.key && openssl req -new -key server.key -subj "/CN=asps test server" -out server.csr 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:asps.test\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
    -extfile server.ext -out server.pem 2>/dev/null || fail "server cert"
for who in good bad slow; do
    ec $who.key && openssl req -x509 -new -key $who.key -subj "/CN=$who-client" -days 1 \
        -addext "extendedKeyUsage=clientAuth" -out $who.pem 2>/dev/null || fail "$who cert"
done

# ---- server
# one io thread: if certificate checks ran on it, a slow check would stall all
"$SERVER" --cert server.pem --key server.key --accept-cn good-client --slow-cn slow-client \
    --io-threads 1 >server.out 2>server.err &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -q '^PORT ' server.out 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited early"
    sleep 0.1
done
PORT=$(awk '/^PORT /{print $2}' server.out)
[ -n "$PORT" ] || fail "server printed no port"

py() { "$PY" "$CLIENT" --target "127.0.0.1:$PORT" --ca ca.pem "$@" 2>>client.err; }

# ---- good client
out=$(py --cert good.pem --key good.key echo hello from python) || fail "echo: $out"
[ "$out" = "hello from python" ] || fail "echo reply '$out'"

out=$(py --cert good.pem --key good.key health) || fail "health: $out"
[ "$out" = "SERVING" ] || fail "health says '$out'"
out=$(py --cert good.pem --key good.key health asps.v1.SecretProvision) || fail "health svc: $out"
[ "$out" = "SERVING" ] || fail "health(asps.v1.SecretProvision) says '$out'"

out=$(py --cert good.pem --key good.key get db-password tls-key) || fail "get: $out"
[ "$out" = "$(printf 'db-password=value-of-db-password\ntls-key=value-of-tls-key')" ] \
    || fail "GetSecrets reply '$out'"

out=$(py --cert good.pem --key good.key get deny); rc=$?
[ $rc -eq 1 ] && [ "$out" = "STATUS PERMISSION_DENIED not granted" ] || fail "deny: rc=$rc '$out'"

out=$(py --cert good.pem --key good.key --server-name asps.test echo named) || fail "override: $out"
[ "$out" = "named" ] || fail "echo via server name '$out'"

# ---- clients the server must refuse: no certificate, refused certificate
out=$(py echo nocert); rc=$?
[ $rc -eq 1 ] && [[ "$out" == "STATUS UNAVAILABLE"* ]] || fail "no-cert client: rc=$rc '$out'"
out=$(py --cert bad.pem --key bad.key echo bad); rc=$?
[ $rc -eq 1 ] && [[ "$out" == "STATUS UNAVAILABLE"* ]] || fail "bad-cert client: rc=$rc '$out'"

# ---- a certificate check that takes 6 s does not hold up other clients
py --cert slow.pem --key slow.key --timeout 10 echo slow >slow.out &
SLOW_PID=$!
sleep 0.5
t0=$(date +%s%N)
out=$(py --cert good.pem --key good.key echo during slow check) || fail "during slow check: $out"
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$out" = "during slow check" ] || fail "echo during slow check '$out'"
[ $took_ms -lt 4500 ] || fail "a good client waited ${took_ms} ms behind a slow certificate check"
wait $SLOW_PID || fail "slow client: $(cat slow.out)"
[ "$(cat slow.out)" = "slow" ] || fail "slow client reply '$(cat slow.out)'"

# ---- and the server still serves, then stops cleanly
out=$(py --cert good.pem --key good.key echo still up) || fail "after refusals: $out"
[ "$out" = "still up" ] || fail "echo after refusals '$out'"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID"; rc=$?
SERVER_PID=
[ $rc -eq 0 ] || fail "server exit code $rc after SIGTERM"
echo "PASS: python grpcio client interoperates with the asps rpc server"
