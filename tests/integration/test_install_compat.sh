#!/usr/bin/env bash
# test_install_compat.sh: what an outside program sees after `cmake --install`:
#  - Occlum's grpc_ratls C API (libgrpc_ratls_client / _server): a client
#    and a server written against Occlum's three functions, unchanged,
#    exchange a binary secret whose base64 has padding (Occlum's own decoder
#    dropped such bytes); a server identity not in ra_config is refused;
#  - the asps client library through `pkg-config --cflags --libs asps`.
set -u
BUILD=${ASPS_BUILD:?}; BIN=${ASPS_BIN:?}
CC=${ASPS_CC:-cc}
SAN=
[ "${ASPS_SANITIZE:-0}" = 1 ] && SAN="-fsanitize=address,undefined"
[ -f "$BUILD/libgrpc_ratls_client.so" ] || { echo "SKIP: compat library not built"; exit 77; }
T=$(mktemp -d /tmp/asps-install-XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"
cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null || { echo "FAIL: install"; exit 1; }
LIB=$(dirname "$(find "$T/prefix" -name libgrpc_ratls_client.so | head -1)")
[ -f "$T/prefix/include/asps/client.h" ] && [ -f "$LIB/pkgconfig/asps.pc" ] && ok || bad "installed files"

cat > client.c <<'EOF2'
#include <stdio.h>
#include <string.h>
#include <asps/occlum_grpc_ratls.h>
int main(int argc, char **argv)
{
    char buf[64];
    unsigned int len = sizeof buf;
    if (grpc_ratls_get_secret(argv[1], argv[2], "image_key", argv[3]) != 0)
        return 1;
    if (grpc_ratls_get_secret_to_buf(argv[1], argv[2], "image_key", buf, &len) != 0)
        return 2;
    fwrite(buf, 1, len, stdout);
    return 0;
}
EOF2
cat > server.c <<'EOF2'
#include <asps/occlum_grpc_ratls.h>
int main(int argc, char **argv) { return grpc_ratls_start_server(argv[1], argv[2], argv[3]) == 0 ? 0 : 1; }
EOF2
$CC $SAN -I"$T/prefix/include" client.c -L"$LIB" -lgrpc_ratls_client -Wl,-rpath,"$LIB" -o client && \
$CC $SAN -I"$T/prefix/include" server.c -L"$LIB" -lgrpc_ratls_server -Wl,-rpath,"$LIB" -o server && ok || bad "compile against the compat library"

$BIN sim init sim >/dev/null
SMRE=$(printf '5e%.0s' {1..32}); CMRE=$(printf 'c1%.0s' {1..32})
ra() { # verify-on ra_config naming one mr_enclave
cat <<EOF2
{"verify_mr_enclave": "on", "verify_mr_signer": "off", "verify_isv_prod_id": "off", "verify_isv_svn": "off",
 "verify_config_svn": "off", "verify_enclave_debuggable": "on",
 "sgx_mrs": [{"mr_enclave": "$1", "mr_signer": "", "isv_prod_id": 0, "isv_svn": 0, "config_svn": 0, "debuggable": false}]}
EOF2
}
ra "$CMRE" > server_ra.json   # which clients the server serves
ra "$SMRE" > client_ra.json   # which server the client trusts
printf '\x00\x01\xfe\xff\x00' > secret.bin   # base64 with '=' padding
printf '{"image_key": "%s"}' "$(base64 -w0 secret.bin)" > secret_config.json
ASPS_ATTESTER=sim ASPS_SIM_DIR=sim ASPS_SIM_MRENCLAVE=$SMRE ./server 127.0.0.1:0 server_ra.json secret_config.json 2> server.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q "serving on port" server.err 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' server.err)
[ -n "$PORT" ] || { echo "FAIL: compat server"; cat server.err; exit 1; }
ASPS_ATTESTER=sim ASPS_SIM_DIR=sim ASPS_SIM_MRENCLAVE=$CMRE ./client 127.0.0.1:$PORT client_ra.json out.bin > buf.bin 2> client.err \
    && cmp -s out.bin secret.bin && cmp -s buf.bin secret.bin && ok || bad "secret through the compat API: $(cat client.err)"
[ "$(stat -c %a out.bin)" = 600 ] && ok || bad "secret file mode"
ra "$(printf 'ee%.0s' {1..32})" > wrong_ra.json
ASPS_ATTESTER=sim ASPS_SIM_DIR=sim ASPS_SIM_MRENCLAVE=$CMRE ./client 127.0.0.1:$PORT wrong_ra.json out2.bin >/dev/null 2>err2
[ $? != 0 ] && [ ! -e out2.bin ] && ok || bad "server not in ra_config accepted"
ASPS_ATTESTER=sim ASPS_SIM_DIR=sim ASPS_SIM_MRENCLAVE=$(printf 'dd%.0s' {1..32}) ./client 127.0.0.1:$PORT client_ra.json out3.bin >/dev/null 2>err3
[ $? != 0 ] && [ ! -e out3.bin ] && ok || bad "client not in the server's ra_config served"

cat > pc.c <<'EOF2'
#include <stdio.h>
#include <asps/client.h>
int main(void)
{
    asps_client_opts o = {0};
    asps_client *c;
    asps_errbuf eb;
    asps_err e = asps_client_new(&o, &c, &eb);
    printf("%s: %s\n", asps_err_name(e), eb.msg);
    return e == ASPS_E_ARG ? 0 : 1;
}
EOF2
export PKG_CONFIG_PATH="$LIB/pkgconfig"
$CC $SAN pc.c $(pkg-config --cflags --libs asps) -Wl,-rpath,"$LIB" -o pc 2> pc.err && ./pc >/dev/null && ok || bad "pkg-config asps: $(cat pc.err)"
echo "$pass passed, $failn failed"
[ $failn = 0 ]
