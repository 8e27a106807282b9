#!/usr/bin/env bash
# test_cczoo_vault.sh: a CCZoo ASPS user's files, unchanged: policy_vault.json
# (KV v1 paths, per-app app_token) served by `asps serve --policy`, secrets
# in a Vault (our Vault-shaped test server), fetched by asps get and by the
# CCZoo client method (key, ctx -> value). The server token comes from
# VAULT_TOKEN, never from the policy. An app token Vault refuses is
# PERMISSION_DENIED; a sealed Vault is UNAVAILABLE, then served again.
set -u
BIN=${ASPS_BIN:?}; SRC=${ASPS_SRC:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import grpc' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with grpcio"; exit 77; }
T=$(mktemp -d /tmp/asps-vault-XXXXXX)
PIDS=
cleanup() {
    for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null
    # left for the suite-wide check of every audit line (audit_lines_json)
    [ -n "${ASPS_AUDIT_KEEP:-}" ] && [ -f "$T/audit.log" ] && mkdir -p "$ASPS_AUDIT_KEEP" &&
        cp "$T/audit.log" "$ASPS_AUDIT_KEEP/test_cczoo_vault.log"
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"
MRE1=$(printf 'a1%.0s' {1..32}); MRE2=$(printf 'a2%.0s' {1..32})
cat > seed.json <<'EOF2'
{"kv1": {"occlum/1": {"image_key": {"key": "app1-image-key"}, "rsa_pubkey": {"key": "app1-pub"}},
         "occlum/2": {"image_key": {"key": "app2-image-key"}}},
 "tokens": {"hvs.app1": ["occlum/1/"], "hvs.app2-revoked": []}}
EOF2
python3 "$SRC/tests/vault_server.py" --seed seed.json > vault.out 2> vault.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q PORT vault.out 2>/dev/null && break; sleep 0.1; done
VPORT=$(sed -n 's/^PORT //p' vault.out)
[ -n "$VPORT" ] || { echo "FAIL: vault test server"; exit 1; }
cat > policy_vault.json <<EOF2
{
    "kms" : "vault",
    "addr" : "http://127.0.0.1:$VPORT",
    "auth_method" : "token",
    "app_list" : [
        {"id" : 1, "mr_enclave" : "$MRE1", "app_token" : "hvs.app1",
         "secrets" : {"master_key" : "occlum/1/image_key", "secret1" : "occlum/1/rsa_pubkey"}},
        {"id" : 2, "mr_enclave" : "$MRE2", "app_token" : "hvs.app2-revoked",
         "secrets" : {"master_key" : "occlum/2/image_key"}}
    ]
}
EOF2
$BIN sim init sim >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
cat > server.json <<'EOF2'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "seed_allow_simulated": true,
 "policy_format": "cczoo", "audit": "audit.log"}
EOF2
$BIN policy check --from cczoo policy_vault.json >/dev/null && ok || bad "policy check"
VAULT_TOKEN=unused-server-token $BIN serve --config server.json --policy policy_vault.json > serve.out 2> serve.err &
PIDS="$PIDS $!"
wait_listening serve.out $! serve.err || { echo "FAIL: server did not start"; exit 1; }
PORT=$LISTEN_PORT
S=127.0.0.1:$PORT
out=$($BIN get --server $S --ca server.pem --sim sim --mrenclave $MRE1 master_key secret1)
[ "$out" = "$(printf 'Secret received: %s\nSecret received: %s' \
    "$(printf app1-image-key | xxd -p | sed 's/../&-/g; s/-$//')" "$(printf app1-pub | xxd -p | sed 's/../&-/g; s/-$//')")" ] \
    && ok || bad "app1 via vault: $out"
$BIN get --server $S --ca server.pem --sim sim --mrenclave $MRE2 master_key 2> e.txt; rc=$?
[ $rc = 1 ] && ok || bad "app2 token refused by vault: rc $rc $(cat e.txt)"
grep -q "KMS: vault" audit.log && ok || bad "audit names the KMS refusal"
$BIN cert new --out c.pem --key c.key --sim sim --mrenclave $MRE1 >/dev/null
out=$($PY "$SRC/tests/rpc_client.py" --target $S --ca server.pem --server-name localhost --cert c.pem --key c.key cczoo master_key c.pem)
[ "$out" = app1-image-key ] && ok || bad "CCZoo GetSecret: $out"
curl -s -X POST -d '{"sealed": true}' http://127.0.0.1:$VPORT/__control >/dev/null
$BIN get --server $S --ca server.pem --sim sim --mrenclave $MRE1 master_key 2> e.txt; rc=$?
[ $rc = 3 ] && grep -q UNAVAILABLE e.txt && ok || bad "sealed vault: rc $rc $(cat e.txt)"
curl -s -X POST -d '{"sealed": false}' http://127.0.0.1:$VPORT/__control >/dev/null
$BIN get --server $S --ca server.pem --sim sim --mrenclave $MRE1 master_key >/dev/null && ok || bad "unsealed: served again"
grep -q "hvs.app1\|app1-image-key" audit.log serve.err && bad "token or value in a log" || ok
echo "$pass passed, $failn failed"
[ $failn = 0 ]
