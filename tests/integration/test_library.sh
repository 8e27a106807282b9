#!/usr/bin/env bash
# test_library.sh: the library as a program outside asps sees it (issue 15,
# "The library"), after `cmake --install` into a temporary prefix:
#  - libasps.so exports only asps_* (nm -D), has SONAME libasps.so.MAJOR
#    (objdump -p), and keeps our cbor_* local although the objects define
#    them; the Occlum-compatible libraries export Occlum's three names only;
#  - asps/version.h's macros agree with `asps version --json`, asps.pc's
#    version and the SONAME;
#  - examples/client/get_secret.c, built with `pkg-config --cflags --libs
#    asps` as its comment says, gets a secret from a real `asps serve`, and
#    is denied with exit 1 for another identity;
#  - a client with a short RA-TLS validity (3 s) keeps getting secrets
#    after its first certificate expired (the server refuses expired
#    certificates, so only a renewed one gets through), and
#    asps_client_set_attester renews at once with the new identity;
#    validity settings that would give an expired certificate are refused;
#  - pinned_cert_file and ca_file are both paths;
#  - examples/server.json and server-full.json pass `asps serve --check`
#    (against a Vault and a PCCS test server), and both init_ra_conf.json
#    examples are read by `asps run` (which gets as far as the server).
set -u
BUILD=${ASPS_BUILD:?}; BIN=${ASPS_BIN:?}; SRC=${ASPS_SRC:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
CC=${ASPS_CC:-cc}
SAN=
[ "${ASPS_SANITIZE:-0}" = 1 ] && SAN="-fsanitize=address,undefined"
[ -f "$BUILD/libasps.so" ] || { echo "SKIP: shared library not built"; exit 77; }
T=$(mktemp -d /tmp/asps-lib-XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"
cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null || { echo "FAIL: install"; exit 1; }
SO=$(find "$T/prefix" -name 'libasps.so' | head -1)
[ -n "$SO" ] && ok || { echo "FAIL: libasps.so not installed"; exit 1; }
LIB=$(dirname "$SO")

# ---- exported symbols ------------------------------------------------------------
# (nm -D names versioned symbols NAME@@NODE; the node itself is type A)
exported() { nm -D --defined-only "$1" | awk '$2 != "A" {sub(/@.*/, "", $3); print $3}'; }
exported "$SO" > asps.syms
others=$(grep -v '^asps_' asps.syms | head -5)
[ -z "$others" ] && ok || bad "libasps.so exports non-asps_ names: $others"
grep -q '^asps__' asps.syms && bad "libasps.so exports protobuf-c's asps__ names" || ok
# only the public API: every exported name is declared in include/asps/*.h
# (read here with grep, not by the build's own list), and the internal
# helpers the library does hold stay local
grep -ohE '[ *]asps_[a-z0-9_]+\(' "$SRC"/include/asps/*.h | tr -d ' *(' | sort -u > public.syms
extra=$(sort -u asps.syms | comm -23 - public.syms | head -5 | tr '\n' ' ')
[ -z "$extra" ] && ok || bad "libasps.so exports names no public header declares: $extra"
missing=$(sort -u asps.syms | comm -13 - public.syms | head -5 | tr '\n' ' ')
[ -z "$missing" ] && ok || bad "public functions libasps.so does not export: $missing"
nm "$BUILD/libasps.a" 2>/dev/null | grep -q ' T asps_hex_encode$' && ok || bad "no asps_hex_encode in libasps.a: the check below proves nothing"
grep -qx 'asps_hex_encode' asps.syms && bad "libasps.so exports the internal asps_hex_encode" || ok
for f in asps_client_new asps_client_get asps_client_free asps_client_renew asps_client_set_attester \
         asps_client_attester_from_env asps_secrets_free asps_err_name asps_attester_free asps_ratls_create; do
    grep -qx "$f" asps.syms && ok || bad "libasps.so does not export $f"
done
# the objects do define cbor_* (so their absence above is the map's doing)
nm "$BUILD/libasps.a" 2>/dev/null | grep -q ' T cbor_' && ok || bad "no cbor_ in libasps.a: the check below proves nothing"
for l in grpc_ratls_client grpc_ratls_server; do
    got=$(exported "$LIB/lib$l.so" | sort | tr '\n' ' ')
    [ "$got" = "grpc_ratls_get_secret grpc_ratls_get_secret_to_buf grpc_ratls_start_server " ] && ok \
        || bad "lib$l.so exports: $(echo "$got" | cut -c1-200)"
    objdump -T "$LIB/lib$l.so" | grep -q ' cbor_' && bad "lib$l.so still exports cbor_" || ok
done
soname=$(objdump -p "$SO" | awk '$1 == "SONAME" {print $2}')

# ---- the version macro ------------------------------------------------------------
export PKG_CONFIG_PATH="$LIB/pkgconfig"
cat > ver.c <<'EOF2'
#include <stdio.h>
#include <asps/client.h>
int main(void)
{
#if ASPS_VERSION_NUMBER != ASPS_VERSION_MAJOR * 10000 + ASPS_VERSION_MINOR * 100 + ASPS_VERSION_PATCH
#error ASPS_VERSION_NUMBER
#endif
    printf("%s %d %d %d\n", ASPS_VERSION_STRING, ASPS_VERSION_MAJOR, ASPS_VERSION_MINOR, ASPS_VERSION_PATCH);
    return 0;
}
EOF2
$CC ver.c $(pkg-config --cflags asps) -o ver 2> ver.err && read -r vs vmaj vmin vpat < <(./ver) && ok || bad "version program: $(cat ver.err)"
[ "${vs:-}" = "$vmaj.$vmin.$vpat" ] && ok || bad "ASPS_VERSION_STRING ${vs:-} vs $vmaj.$vmin.$vpat"
bv=$($BIN version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
[ "$bv" = "${vs:-}" ] && ok || bad "asps version says $bv, the header ${vs:-}"
[ "$(pkg-config --modversion asps)" = "${vs:-}" ] && ok || bad "asps.pc version $(pkg-config --modversion asps) vs ${vs:-}"
[ "$soname" = "libasps.so.${vmaj:-}" ] && ok || bad "SONAME $soname, want libasps.so.${vmaj:-}"

# ---- a real server ----------------------------------------------------------------
$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -subj "/CN=asps test CA" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem 2>/dev/null
ec server.key && openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
    -out server.pem 2>/dev/null
MRE=$(printf 'a1%.0s' {1..32}); MRS=$(printf '5e%.0s' {1..32}); OTHER=$(printf 'b2%.0s' {1..32})
cat > policy.json <<EOF2
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE", "mrsigner": "$MRS"},
           "allow_simulated": true, "secrets": {"image_key": "image_key"}}]}
EOF2
echo '{"image_key": "base64:QoDNSyT2D6UzhcoDdA1Lkdc="}' > kms.json
cat > server.json <<'EOF2'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log"}
EOF2
$BIN serve --config server.json > serve.out 2> serve.err &
PIDS="$PIDS $!"
wait_listening serve.out $! serve.err || { echo "FAIL: server did not start"; exit 1; }
PORT=$LISTEN_PORT
S=$LISTEN_ADDR
WANT="image_key (17 bytes): 4280cd4b24f60fa53385ca03740d4b91d7"

# ---- the example client, built as its comment says --------------------------------
cp "$SRC/examples/client/get_secret.c" .
$CC $SAN get_secret.c $(pkg-config --cflags --libs asps) -Wl,-rpath,"$LIB" -o get_secret 2> build.err \
    && ok || bad "example client does not build: $(cat build.err)"
ldd ./get_secret | grep -q "libasps.so.${vmaj:-0} => $LIB/" && ok || bad "example not linked to the installed libasps.so: $(ldd ./get_secret | grep asps)"
export ASPS_ATTESTER=sim ASPS_SIM_DIR=sim ASPS_SIM_MRSIGNER=$MRS
out=$(ASPS_SIM_MRENCLAVE=$MRE ./get_secret "$S" ca.pem image_key 2> ex.err)
[ "$out" = "$WANT" ] && ok || bad "example client: '$out' $(cat ex.err)"
ASPS_SIM_MRENCLAVE=$OTHER ./get_secret "$S" ca.pem image_key > ex2.out 2> ex2.err; rc=$?
[ $rc = 1 ] && [ ! -s ex2.out ] && grep -q "PERMISSION_DENIED" ex2.err && ok || bad "example, other identity: exit $rc $(cat ex2.err)"
./get_secret "$S" > /dev/null 2>&1; [ $? = 2 ] && ok || bad "example usage exit"

# ---- renewal, validity, trust files -------------------------------------------------
cat > renew.c <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <asps/client.h>
static int fails;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL: " __VA_ARGS__); printf("\n"); fails++; } } while (0)
static int get(asps_client *c, int *status, asps_errbuf *eb)
{
    const char *names[] = {"image_key"};
    asps_secret *s = NULL;
    asps_err e = asps_client_get(c, names, 1, &s, status, eb);
    if (e == ASPS_OK)
        asps_secrets_free(s, 1);
    return e;
}
static asps_err try_new(const char *server, long validity, const char *ca, const char *pin,
                        asps_attester *att, asps_client **c, asps_errbuf *eb)
{
    asps_client_opts o = {.server = server, .ca_file = ca, .pinned_cert_file = pin,
                          .use_attester = att, .validity_secs = validity};
    return asps_client_new(&o, c, eb);
}
int main(int argc, char **argv)
{
    const char *server = argv[1];
    asps_errbuf eb = {{0}};
    asps_attester *att = NULL, *other = NULL;
    if (asps_client_attester_from_env(&att, &eb) != ASPS_OK) { printf("attester: %s\n", eb.msg); return 2; }
    setenv("ASPS_SIM_MRENCLAVE", argv[2], 1); /* another identity */
    if (asps_client_attester_from_env(&other, &eb) != ASPS_OK) { printf("attester 2: %s\n", eb.msg); return 2; }
    asps_client *c = NULL;
    int status = -1;
    /* validity that would give an expired (or about to be) certificate */
    long badv[] = {-1, 1, ASPS_CLIENT_MAX_VALIDITY_SECS + 1};
    for (int i = 0; i < 3; i++) {
        asps_err e = try_new(server, badv[i], "ca.pem", NULL, att, &c, &eb);
        CHECK(e == ASPS_E_ARG && !c && strstr(eb.msg, "validity"), "validity %ld: %s %s", badv[i], asps_err_name(e), eb.msg);
    }
    /* a pinned certificate and a CA are both files */
    asps_err e = try_new(server, 0, NULL, "server.pem", att, &c, &eb);
    CHECK(e == ASPS_OK && get(c, &status, &eb) == ASPS_OK, "pinned_cert_file server.pem: %s", eb.msg);
    asps_client_free(c); c = NULL;
    e = try_new(server, 0, NULL, "ca.pem", att, &c, &eb);
    CHECK(e == ASPS_OK && get(c, &status, &eb) == ASPS_E_DENIED && strstr(eb.msg, "server not verified") && strstr(eb.msg, "pinned"), "pinned another cert: %s", eb.msg);
    asps_client_free(c); c = NULL;
    e = try_new(server, 0, NULL, "no-such.pem", att, &c, &eb);
    CHECK(e == ASPS_E_IO && !c, "pinned_cert_file missing: %s %s", asps_err_name(e), eb.msg);
    e = try_new(server, 0, "no-such.pem", NULL, att, &c, &eb);
    CHECK(e == ASPS_E_IO && !c, "ca_file missing: %s %s", asps_err_name(e), eb.msg);
    /* short validity: the first certificate expires, the client renews */
    e = try_new(server, 3, "ca.pem", NULL, att, &c, &eb);
    CHECK(e == ASPS_OK, "client with validity 3: %s", eb.msg);
    if (e != ASPS_OK)
        return 1;
    char *first = strdup(asps_client_cert_pem(c));
    int64_t na = asps_client_cert_not_after(c), t0 = time(NULL);
    CHECK(na >= t0 + 2 && na <= t0 + 3, "notAfter %lld, now %lld", (long long)na, (long long)t0);
    CHECK(asps_client_renew_at(c) < na && asps_client_renew_at(c) > t0, "renew_at");
    CHECK(get(c, &status, &eb) == ASPS_OK, "first get: %s", eb.msg);
    while (time(NULL) <= na + 1)
        usleep(100000);
    /* the first certificate is past its notAfter now */
    e = get(c, &status, &eb);
    CHECK(e == ASPS_OK && status == 0, "get after the first certificate expired: %s (status %d)", eb.msg, status);
    CHECK(strcmp(first, asps_client_cert_pem(c)) != 0, "certificate not renewed");
    CHECK(asps_client_cert_not_after(c) > na, "notAfter did not move");
    /* attester change: renewed at once, the server sees the new identity */
    const char *before = asps_client_cert_pem(c);
    char *second = strdup(before);
    e = asps_client_set_attester(c, other, &eb);
    CHECK(e == ASPS_OK && strcmp(second, asps_client_cert_pem(c)) != 0, "set_attester: %s", eb.msg);
    e = get(c, &status, &eb);
    CHECK(e == ASPS_E_DENIED && status == 7, "other identity: %s %d %s", asps_err_name(e), status, eb.msg);
    CHECK(asps_client_set_attester(c, NULL, &eb) == ASPS_E_ARG, "set_attester NULL");
    e = asps_client_set_attester(c, att, &eb);
    CHECK(e == ASPS_OK && get(c, &status, &eb) == ASPS_OK, "back to the first identity: %s", eb.msg);
    CHECK(asps_client_renew(c, &eb) == ASPS_OK && get(c, &status, &eb) == ASPS_OK, "renew: %s", eb.msg);
    free(first);
    free(second);
    asps_client_free(c);
    asps_attester_free(other);
    asps_attester_free(att);
    printf("%d failed\n", fails);
    return fails != 0;
}
EOF2
$CC $SAN renew.c $(pkg-config --cflags --libs asps) -Wl,-rpath,"$LIB" -o renew 2> renew.err && ok || bad "renew.c: $(cat renew.err)"
ASPS_SIM_MRENCLAVE=$MRE ./renew "$S" "$OTHER" > renew.out 2>&1 && ok || bad "renewal: $(grep -v '^0 failed' renew.out)"

# ---- example server configs: serve --check ------------------------------------------
mkdir ex && cd ex
cp "$SRC/examples/server.json" "$SRC/examples/server-full.json" "$SRC/examples/policy.json" "$SRC/examples/kms.json" .
cp ../server.pem ../server.key .
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs-ca.pem -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
openssl x509 -in ../ca.pem -outform DER -out extra_root_ca.der
cp ../ca.pem vault-ca.pem
printf 's3cret-id' > vault-secret-id
chmod 600 vault-secret-id
cat > seed.json <<'EOF2'
{"kv2": {"secret": {"web/tls_key": {"value": "v"}}}, "tokens": {},
 "approle": {"role_id": "asps-server", "secret_id": "s3cret-id", "policies": ["secret/"], "ttl": 60,
             "max_ttl": 600, "mount": "approle"}}
EOF2
python3 "$SRC/tests/vault_server.py" --seed seed.json > vault.out 2> vault.err &
PIDS="$PIDS $!"
python3 "$SRC/tests/pccs_server.py" --bundle ../sim/collateral_sgx.json --cert pccs-ca.pem --key pccs.key > pccs.out 2> pccs.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q PORT vault.out 2>/dev/null && grep -q PORT pccs.out 2>/dev/null && break; sleep 0.1; done
VPORT=$(sed -n 's/^PORT //p' vault.out); PPORT=$(sed -n 's/^PORT //p' pccs.out)
[ -n "$VPORT" ] && [ -n "$PPORT" ] && ok || bad "vault or pccs test server did not start"
# the examples as they are, but for the test servers' addresses and free ports
for f in server.json server-full.json; do
    sed -i -e "s#https://pccs.example.internal:8081#https://127.0.0.1:$PPORT#" \
           -e "s#https://pccs2.example.internal:8081#https://localhost:$PPORT#" \
           -e "s#https://vault.example.internal:8200#http://127.0.0.1:$VPORT#" \
           -e 's#"0.0.0.0:7788"#"127.0.0.1:0"#' -e 's#"127.0.0.1:9788"#"127.0.0.1:0"#' "$f"
done
# the minimal one trusts the PCCS's certificate through the system's CAs,
# which a test cannot change: it gets the test PCCS's CA as pccs_ca
sed -i 's#"pccs": "\(https://[^"]*\)"#"pccs": "\1", "pccs_ca": "pccs-ca.pem"#' server.json
grep -q '"pccs_ca": "pccs-ca.pem"' server.json && ok || bad "minimal example: pccs_ca not added: $(cat server.json)"
$BIN serve --config server.json --check > check1.out 2>&1; rc=$?
[ $rc = 0 ] && ok || bad "examples/server.json --check: exit $rc: $(cat check1.out)"
$BIN serve --config server-full.json --check > check2.out 2>&1; rc=$?
[ $rc = 0 ] && ok || bad "examples/server-full.json --check: exit $rc: $(cat check2.out)"
grep -q "vault" check2.out && grep -q "^ok    kms: reachable" check2.out && ok || bad "server-full: no Vault line: $(cat check2.out)"
# every key the server reads is in the full example (config.* keys of service.h)
python3 - "$SRC/src/service/service_config.c" server-full.json <<'EOF2' && ok || bad "server-full.json lacks keys"
import json, re, sys
src = open(sys.argv[1]).read()
cfg = json.load(open(sys.argv[2]))
missing = []
for path, key in re.findall(r'opt_\w+\((?:root|o), "config\.?(\w*)", "(\w+)"', src) + \
        re.findall(r'asps_json_get_\w+\((?:root|o), "config\.?(\w*)", "(\w+)"', src):
    node = cfg.get(path, {}) if path else cfg
    # the other ways to say one thing (token or AppRole; pccs or bundle or
    # sim), the file KMS's and the Occlum format's own keys, and Vault
    # Enterprise's namespace
    alt = {"token", "token_file", "secret_id", "bundle", "sim", "path", "default_encoding",
           "occlum_secrets", "namespace"}
    if key not in node and key not in alt:
        missing.append((path or "") + "." + key)
if missing:
    print("missing:", missing)
    sys.exit(1)
EOF2
cd ..

# ---- init_ra_conf.json examples: read by asps run --------------------------------------
CLOSED=127.0.0.1:9   # discard port: nothing listens on it here
OCCLUM_INIT_RA_KMS_SERVER=$CLOSED $BIN run --conf "$SRC/examples/init_ra_conf_grpc_ratls.json" --server-sim sim \
    --sim sim --mrenclave "$MRE" --root "$T/r1" -- true > run1.out 2> run1.err; rc=$?
[ $rc = 3 ] && grep -q "could not get key(s) image_key, db_password from $CLOSED" run1.err && ok \
    || bad "grpc_ratls example: exit $rc: $(cat run1.err)"
OCCLUM_INIT_RA_KMS_SERVER=$CLOSED UA_ENV_PCCS_URL=https://127.0.0.1:1 $BIN run \
    --conf "$SRC/examples/init_ra_conf_aecs.json" --sim sim --mrenclave "$MRE" --root "$T/r2" -- true > run2.out 2> run2.err; rc=$?
[ $rc = 3 ] && grep -q "could not get key(s) image_key from $CLOSED" run2.err && ok \
    || bad "aecs example: exit $rc: $(cat run2.err)"
[ ! -e "$T/r1" ] && [ ! -e "$T/r2" ] && ok || bad "run wrote files"

echo "$pass passed, $failn failed"
[ $failn = 0 ]
