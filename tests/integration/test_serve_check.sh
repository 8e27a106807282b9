#!/usr/bin/env bash
# test_serve_check.sh: issue 14, part "check": what the server says about
# itself and what it refuses before serving, each checked against something
# asps did not write:
#  - `asps --version` and `asps version --json`: the library versions are the
#    ones the system's own tools report (openssl, pkg-config, curl), the
#    commit is git's, the version asps/version.h's;
#  - the start-up banner (logger lines on stderr): version, listen, policy,
#    trust roots (a WARNING for the simulated root, none without it),
#    collateral, KMS (never its token), audit, limits; the certificate's
#    end date as `openssl x509 -enddate` says; a warning within 14 days;
#  - a server certificate that has expired (dates made by `openssl ca`), is
#    not valid yet, or does not match its key: serve exits 2, listens on
#    nothing; --check fails the same way;
#  - `serve --check`: 0 for a usable config, 1 for one with a problem (KMS
#    file missing, Vault down, PCCS down, bad listen, config error), no
#    listener, no audit file written; a real Vault API shape
#    (tests/vault_server.py) and PCCS (tests/pccs_server.py) reached;
#    seed-format conversion notes printed;
#  - strict addresses: "127.0.0.1:99999" and "localhost" refused with the
#    value named (they listened on 34463 and 443), IPv6 [::1] served to a
#    real client, `get --server` and init-RA's kms_server checked, Vault and
#    PCCS URLs with a bad port or a password refused (the password never
#    repeated).
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
SRC=${ASPS_SRC:?}
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
T=$(mktemp -d /tmp/asps-check-XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

# ---- version -------------------------------------------------------------------------
$BIN version --json > v.json || bad "version --json: exit $?"
jget() { python3 -c "import json,sys; print(json.load(open('v.json'))[sys.argv[1]])" "$1"; }
# the one place the version is written (CMakeLists.txt reads it from there)
want_v=$(sed -n 's/^#define ASPS_VERSION_STRING "\([0-9.]*\)"$/\1/p' "$SRC/include/asps/version.h")
[ -n "$want_v" ] && [ "$(jget version)" = "$want_v" ] && ok || bad "version: $(jget version), asps/version.h says $want_v"
# the library OpenSSL reports of itself through the openssl command
want_ossl=$(openssl version -v | sed -n 's/.*Library: OpenSSL \([^ ]*\).*/\1/p')
[ -n "$want_ossl" ] || want_ossl=$(openssl version | awk '{print $2}')
[ "$(jget openssl)" = "$want_ossl" ] && ok || bad "openssl: $(jget openssl), openssl version says $want_ossl"
[ "$(jget grpc_core)" = "$(pkg-config --modversion grpc)" ] && ok || bad "grpc_core: $(jget grpc_core) vs pkg-config $(pkg-config --modversion grpc)"
[ "$(jget protobuf_c)" = "$(pkg-config --modversion libprotobuf-c)" ] && ok || bad "protobuf_c: $(jget protobuf_c)"
[ "$(jget cjson)" = "$(pkg-config --modversion libcjson)" ] && ok || bad "cjson: $(jget cjson)"
[ "$(jget libcurl)" = "$(pkg-config --modversion libcurl)" ] && ok || bad "libcurl: $(jget libcurl)"
if git -C "$SRC" rev-parse HEAD >/dev/null 2>&1; then
    [ "$(jget commit)" = "$(git -C "$SRC" rev-parse HEAD)" ] && ok || bad "commit: $(jget commit), git says $(git -C "$SRC" rev-parse HEAD)"
else
    [ "$(jget commit)" = unknown ] && ok || bad "commit outside a checkout: $(jget commit)"
fi
line=$($BIN --version)
case "$line" in
    "asps $want_v (commit $(jget commit | cut -c1-12), OpenSSL $want_ossl, gRPC core $(jget grpc_core))") ok ;;
    *) bad "--version: $line" ;;
esac
$BIN --help | grep -q -- "--version" && ok || bad "asps --help does not mention --version"
for extra in extra --bogus; do # a mistake, not a version
    $BIN --version "$extra" >/dev/null 2>&1; rc=$?
    [ "$rc" = 2 ] && ok || bad "asps --version $extra: exit $rc, want 2"
done

# ---- a server, its certificates -----------------------------------------------------------
$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
mkcert() { # name days
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" -days "$2" \
        -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost" 2>/dev/null
}
mkcert server 30
mkcert soon 10
# certificates with given dates, signed by a CA through `openssl ca`
mkdir -p ca/new && : > ca/index.txt && echo 01 > ca/serial
cat > ca/ca.cnf <<EOF
[ca]
default_ca = d
[d]
dir = $T/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = copy
[p]
commonName = supplied
EOF
mkcert ca 30
dated() { # name start end
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
        -subj "/CN=localhost" 2>/dev/null
    openssl ca -batch -config ca/ca.cnf -cert ca.pem -keyfile ca.key -in "$1.csr" -out "$1.pem" \
        -startdate "$2" -enddate "$3" -notext >/dev/null 2>&1 || bad "openssl ca $1"
}
dated expired 20200101000000Z 20200201000000Z
dated future 20990101000000Z 20990201000000Z
MRE=$(printf 'a1%.0s' {1..32})
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"k": "k"}}]}
EOF
echo '{"k": "text:v1"}' > kms.json
SIMTRUST=', "trust": {"sim": "sim"}'
conf() { # file listen cert [key [extra json members, default: trust the simulated root]]
    local extra=${5-$SIMTRUST}
    printf '{"listen": "%s", "server_cert": "%s.pem", "server_key": "%s.key",\n "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log"%s}\n' \
        "$2" "$3" "${4:-$3}" "$extra" > "$1"
}
start_server() { # config [serve args...] -> S, SPID
    local cfg=$1; shift
    rm -f "$cfg.out" "$cfg.err" # never a previous server's "listening" line
    $BIN serve --config "$cfg" "$@" > "$cfg.out" 2> "$cfg.err" &
    SPID=$!; PIDS="$PIDS $SPID"
    S=
    wait_listening "$cfg.out" $SPID "$cfg.err" || { bad "server $cfg did not start"; return 1; }
    S=$LISTEN_ADDR
}
stop_server() { kill -TERM "$SPID"; wait "$SPID" 2>/dev/null; }
GET() { $BIN get --server "$1" --ca server.pem --sim sim --mrenclave "$MRE" "${@:2}"; }
RFC3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})[ ]+(info|warn)[ ]+serve: '

# ---- the banner ----------------------------------------------------------------------------
conf good.json 127.0.0.1:0 server
start_server good.json
[ "$(GET "$S" k 2>&1)" = "Secret received: 76-31" ] && ok || bad "a call to the good server"
stop_server
B=good.json.err
for want in "info +serve: asps $want_v \(commit [0-9a-f]{12}, OpenSSL $want_ossl, gRPC core [0-9.]+\) starting" \
    "info +serve: listen: 127\.0\.0\.1:0$" \
    "info +serve: server certificate: CN=localhost, EC prime256v1, 1 certificate in the file, valid until " \
    "info +serve: policy: native format, 1 app, from .*policy\.json$" \
    "info +serve: trust: Intel SGX Root CA \(built in\)$" \
    "warn +serve: trust: WARNING: the SIMULATED platform's root .*sim/root_ca\.der is trusted" \
    "info +serve: collateral: simulated platform's collateral in .*sim$" \
    "info +serve: kms: file .*kms\.json \(from the policy\)$" \
    "info +serve: audit: .*audit\.log \(a grant whose line cannot be written is refused\)$" \
    "info +serve: limits: max_message_bytes=65536 max_names=64 max_concurrent_calls=64 max_waiting_calls=256 deadline_ms=10000 kms_deadline_ms=5000 drain_ms=5000 threads=[0-9]+ io_threads=[0-9]+ verify_threads=[0-9]+ claims_cache=4096 "; do
    grep -Eq "$RFC3339" "$B" && grep -Eq -- "$want" "$B" && ok || bad "banner lacks /$want/: $(cat "$B")"
done
# every banner line has the logger's time and level
n_serve=$(grep -c " serve: " "$B"); n_fmt=$(grep -Ec "$RFC3339" "$B")
[ "$n_serve" -ge 10 ] && [ "$n_serve" = "$n_fmt" ] && ok || bad "banner lines without time/level: $n_serve vs $n_fmt"
# the certificate's end as openssl reads it
end=$(openssl x509 -in server.pem -noout -enddate | sed 's/^notAfter=//')
iso=$(date -u -d "$end" +%Y-%m-%dT%H:%M:%SZ)
grep -q "valid until $iso (29 days left)\|valid until $iso (30 days left)" "$B" && ok || bad "banner end date: want $iso: $(grep certificate "$B")"
grep -q "WARNING: expires" "$B" && bad "a 30-day certificate warned about" || ok
# the machine-readable port line is unchanged and on stdout only
grep -Eq '^asps: listening on 127\.0\.0\.1:[0-9]+$' good.json.out && ok || bad "listening line: $(cat good.json.out)"
# no simulated root trusted: no WARNING
conf noroot.json 127.0.0.1:0 server "" ""
start_server noroot.json && stop_server
grep -q "WARNING" noroot.json.err && bad "WARNING without a simulated root: $(grep WARNING noroot.json.err)" || ok
grep -q "trust: Intel SGX Root CA" noroot.json.err && ok || bad "no trust line: $(cat noroot.json.err)"
# a certificate ending within 14 days: accepted, with a warning
conf soon.json 127.0.0.1:0 soon
start_server soon.json && stop_server
grep -Eq "warn +serve: server certificate: WARNING: expires on .*, in less than 14 days" soon.json.err && ok || bad "no expiry warning: $(cat soon.json.err)"

# ---- certificates refused before serving ------------------------------------------------------
refuse() { # name cert key words
    conf "$1.json" 127.0.0.1:0 "$2" "$3"
    timeout 20 $BIN serve --config "$1.json" > "$1.out" 2> "$1.err"; local rc=$?
    [ $rc = 2 ] && ok || bad "$1: serve exit $rc (want 2): $(cat "$1.err")"
    grep -q listening "$1.out" && bad "$1: it listened" || ok
    grep -q -- "$4" "$1.err" && ok || bad "$1: no '$4' in: $(cat "$1.err")"
    $BIN serve --config "$1.json" --check > "$1.check" 2>&1; rc=$?
    [ $rc = 1 ] && grep -q "^FAIL  server certificate: .*$4" "$1.check" && ok || bad "$1: --check exit $rc: $(cat "$1.check")"
}
refuse expired expired expired "server certificate: expired on 2020-02-01T00:00:00Z"
refuse future future future "server certificate: not valid yet: valid from 2099-01-01T00:00:00Z"
refuse mismatch server soon "server key: not the key of the server certificate"
echo "junk" > junk.pem
refuse junk junk server "server certificate: no PEM certificate"

# ---- serve --check -------------------------------------------------------------------------------
rm -f audit.log
$BIN serve --config good.json --check > check.out 2> check.err; rc=$?
[ $rc = 0 ] && grep -q "^asps serve --check: OK (1 warning)$" check.out && ok || bad "check good: exit $rc: $(cat check.out check.err)"
grep -q "^ok    kms: reachable" check.out && ok || bad "check: kms probe: $(cat check.out)"
grep -q "^WARN  trust: WARNING: the SIMULATED" check.out && ok || bad "check: sim warning: $(cat check.out)"
grep -q listening check.out && bad "check listened" || ok
[ -e audit.log ] && bad "check wrote the audit file" || ok
# the KMS file gone: a problem
mv kms.json kms.away
$BIN serve --config good.json --check > check2.out 2>&1; rc=$?
[ $rc = 1 ] && grep -q "^FAIL  kms: unreachable or unusable: " check2.out && grep -q "FAILED: 1 problem" check2.out && ok || bad "check without the KMS file: exit $rc: $(cat check2.out)"
mv kms.away kms.json
# a config error, a bad --listen: exit 1 under --check (2 when serving)
printf '{"listen": "127.0.0.1:0", "bogus": 1}' > badkey.json
$BIN serve --config badkey.json --check > check3.out 2>&1; rc=$?
[ $rc = 1 ] && grep -q "^FAIL  config: .*bogus" check3.out && ok || bad "check config error: exit $rc: $(cat check3.out)"
$BIN serve --config good.json --check --listen localhost > check4.out 2>&1; rc=$?
[ $rc = 1 ] && grep -q -- '--listen: "localhost": no port' check4.out && ok || bad "check --listen localhost: exit $rc: $(cat check4.out)"
# an unwritable audit folder
conf audit.json 127.0.0.1:0 server
sed -i 's#"audit.log"#"/proc/asps-no/audit.log"#' audit.json
$BIN serve --config audit.json --check > check5.out 2>&1; rc=$?
[ $rc = 1 ] && grep -q "^FAIL  audit: " check5.out && ok || bad "check unwritable audit: exit $rc: $(cat check5.out)"

# Vault (tests/vault_server.py: Vault's HTTP API) and a PCCS (tests/pccs_server.py)
cat > seed.json <<'EOF'
{"kv2": {"secret": {"app1": {"key": "v"}}}, "tokens": {"s.server-TOKEN-never-shown": ["secret/"]}}
EOF
python3 "$SRC/tests/vault_server.py" --seed seed.json > vault.out 2> vault.err &
VPID=$!; PIDS="$PIDS $VPID"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
python3 "$SRC/tests/pccs_server.py" --bundle sim/collateral_sgx.json --cert pccs.pem --key pccs.key > pccs.out 2> pccs.err &
PPID_=$!; PIDS="$PIDS $PPID_"
for _ in $(seq 50); do grep -q PORT vault.out 2>/dev/null && grep -q PORT pccs.out 2>/dev/null && break; sleep 0.1; done
VPORT=$(sed -n 's/^PORT //p' vault.out); PPORT=$(sed -n 's/^PORT //p' pccs.out)
[ -n "$VPORT" ] && [ -n "$PPORT" ] || { bad "vault or pccs test server did not start"; echo "$pass passed, $failn failed"; exit 1; }
cat > vault.json <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "collateral": {"pccs": "https://127.0.0.1:$PPORT", "pccs_ca": "pccs.pem"}, "policy": "policy.json",
 "kms": {"type": "vault", "addr": "http://127.0.0.1:$VPORT", "kv_version": 2, "mount": "secret",
         "token": "s.server-TOKEN-never-shown"}}
EOF
$BIN serve --config vault.json --check > check6.out 2>&1; rc=$?
[ $rc = 0 ] && ok || bad "check vault+pccs: exit $rc: $(cat check6.out)"
grep -q "^ok    kms: vault http://127.0.0.1:$VPORT (KV v2, mount secret, server token in the config; from the config)$" check6.out && ok || bad "check vault line: $(cat check6.out)"
grep -q "^ok    kms: reachable" check6.out && ok || bad "check vault probe: $(cat check6.out)"
grep -q "^ok    collateral: PCCS https://127.0.0.1:$PPORT reachable" check6.out && ok || bad "check pccs probe: $(cat check6.out)"
grep -q "^WARN" check6.out && bad "warnings without a simulated root: $(grep WARN check6.out)" || ok
start_server vault.json && stop_server
grep -q "kms: vault http://127.0.0.1:$VPORT" vault.json.err && ok || bad "banner vault line: $(cat vault.json.err)"
grep -q "TOKEN-never-shown" check6.out vault.json.err vault.json.out && bad "the Vault token was printed" || ok
# a server token Vault does not know: a problem
sed 's/s.server-TOKEN-never-shown/s.unknown-token/' vault.json > vault_bad.json
$BIN serve --config vault_bad.json --check > check6b.out 2>&1; rc=$?
[ $rc = 1 ] && grep -q "^FAIL  kms: " check6b.out && ok || bad "check with a dead Vault token: exit $rc: $(cat check6b.out)"
# a CCZoo policy whose apps bring their own tokens, the server none: Vault's
# unauthenticated sys/seal-status is asked; a sealed Vault is a problem
MRE1=$(printf 'a1%.0s' {1..32})
cat > cczoo.json <<EOF
{"kms": "vault", "addr": "http://127.0.0.1:$VPORT", "auth_method": "token",
 "app_list": [{"id": 1, "mr_enclave": "$MRE1", "app_token": "hvs.app1", "secrets": {"master_key": "occlum/1/image_key"}}]}
EOF
conf cz.json 127.0.0.1:0 server
sed -i 's#"policy.json"#"cczoo.json", "policy_format": "cczoo"#' cz.json
( unset VAULT_TOKEN; $BIN serve --config cz.json --check ) > check6c.out 2>&1; rc=$?
[ $rc = 0 ] && grep -q "^ok    kms: vault http://127.0.0.1:$VPORT (KV v1, the apps' own tokens only; from the policy)$" check6c.out &&
    grep -q "^ok    kms: reachable and unsealed" check6c.out && grep -q "^note  policy: conversion note: CCZoo policies check mr_enclave only" check6c.out &&
    ok || bad "check cczoo vault: exit $rc: $(cat check6c.out)"
curl -s -X POST -d '{"sealed": true}' "http://127.0.0.1:$VPORT/__control" >/dev/null
( unset VAULT_TOKEN; $BIN serve --config cz.json --check ) > check6d.out 2>&1; rc=$?
[ $rc = 1 ] && grep -q "^FAIL  kms: vault http://127.0.0.1:$VPORT is sealed$" check6d.out && ok || bad "check sealed vault: exit $rc: $(cat check6d.out)"
curl -s -X POST -d '{"sealed": false}' "http://127.0.0.1:$VPORT/__control" >/dev/null
# several PCCS URLs (failover): one down while another serves is a warning
# (the server fails over), not a problem that fails --check; all down is
sed 's#"pccs": "https://127.0.0.1:'"$PPORT"'"#"pccs": ["https://127.0.0.1:1", "https://127.0.0.1:'"$PPORT"'"]#' vault.json > vault_fo.json
$BIN serve --config vault_fo.json --check > check6e.out 2>&1; rc=$?
[ $rc = 0 ] && grep -q "^WARN  collateral: WARNING: PCCS https://127.0.0.1:1 unreachable: .* (failover: 1 of 2 PCCS URLs serve)$" check6e.out &&
    grep -q "^ok    collateral: PCCS https://127.0.0.1:$PPORT reachable" check6e.out && ! grep -q "^FAIL" check6e.out &&
    ok || bad "check with the first of two PCCS down: exit $rc: $(cat check6e.out)"
# a dead Vault and a dead PCCS: each a problem
kill $VPID $PPID_; wait $VPID $PPID_ 2>/dev/null
$BIN serve --config vault_fo.json --check > check7b.out 2>&1; rc=$?
[ $rc = 1 ] && grep -q "^FAIL  collateral: PCCS https://127.0.0.1:1 unreachable" check7b.out &&
    grep -q "^FAIL  collateral: PCCS https://127.0.0.1:$PPORT unreachable" check7b.out &&
    ok || bad "check with both PCCS down: exit $rc: $(cat check7b.out)"
$BIN serve --config vault.json --check > check7.out 2>&1; rc=$?
[ $rc = 1 ] && grep -q "^FAIL  kms: unreachable or unusable: " check7.out && grep -q "^FAIL  collateral: PCCS https://127.0.0.1:$PPORT unreachable" check7.out &&
    grep -q "FAILED: 2 problems" check7.out && ok || bad "check with Vault and PCCS down: exit $rc: $(cat check7.out)"
grep -q "TOKEN-never-shown" check7.out && bad "the Vault token was printed (down)" || ok

# a seed-format policy: its conversion notes
cp "$SRC/examples/occlum_ra_config.json" ra.json
cp "$SRC/examples/occlum_secret_config.json" secrets.json
$BIN serve --config good.json --check --ra-config ra.json --secrets secrets.json > check8.out 2>&1; rc=$?
[ $rc = 0 ] && grep -q "^ok    policy: occlum format, 1 app, from ra.json with secrets secrets.json$" check8.out &&
    grep -q "^note  policy: conversion note: isv_svn: Occlum requires equality" check8.out && ok || bad "check occlum: exit $rc: $(cat check8.out)"

# ---- addresses -----------------------------------------------------------------------------------
addr_refused() { # listen words
    conf a.json "$1" server
    timeout 20 $BIN serve --config a.json > a.out 2> a.err; local rc=$?
    [ $rc = 2 ] && grep -qF -- "$2" a.err && ok || bad "listen $1: exit $rc: $(cat a.err)"
    grep -q listening a.out && bad "listen $1: it listened: $(cat a.out)" || ok
}
addr_refused 127.0.0.1:99999 'config.listen: "127.0.0.1:99999": port 99999 is out of range (0-65535)'
addr_refused localhost 'config.listen: "localhost": no port (write HOST:PORT, e.g. localhost:7788)'
addr_refused ::1:7788 'needs brackets'
timeout 20 $BIN serve --config good.json --listen 127.0.0.1:65536 > a.out 2> a.err; rc=$?
[ $rc = 2 ] && grep -qF -- '--listen: "127.0.0.1:65536": port 65536 is out of range' a.err && ok || bad "--listen 65536: exit $rc: $(cat a.err)"
# IPv6: served to a real client over [::1]
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    conf v6.json "[::1]:0" server
    if start_server v6.json; then
        case "$S" in "[::1]:"[0-9]*) ok ;; *) bad "v6 listening line: $S" ;; esac
        [ "$(GET "$S" k --server-name localhost 2>&1)" = "Secret received: 76-31" ] && ok || bad "a call over [::1]: $(GET "$S" k --server-name localhost 2>&1)"
        stop_server
    fi
else
    bad "no IPv6 loopback on this machine"
fi
# the client side: get --server, init-RA's kms_server
for a in localhost 127.0.0.1:0 127.0.0.1:70000 '[::1]'; do
    $BIN get --server "$a" --ca server.pem --sim sim --mrenclave "$MRE" k > g.out 2>&1; rc=$?
    [ $rc = 2 ] && grep -qF -- "--server: \"$a\"" g.out && ok || bad "get --server $a: exit $rc: $(cat g.out)"
done
printf '{"kms_server": "localhost", "kms_keys": [{"key": "k", "path": "%s/k"}]}' "$T" > initra.json
$BIN run --conf initra.json --ca server.pem --sim sim --mrenclave "$MRE" -- true > r.out 2>&1; rc=$?
[ $rc = 2 ] && grep -qF 'init_ra_conf.kms_server: "localhost": no port' r.out && ok || bad "run kms_server localhost: exit $rc: $(cat r.out)"
# Vault and PCCS URLs
url_refused() { # member json words
    conf u.json 127.0.0.1:0 server
    python3 - "$1" <<'EOF'
import json, sys
c = json.load(open("u.json"))
c.update(json.loads(sys.argv[1]))
json.dump(c, open("u.json", "w"))
EOF
    timeout 20 $BIN serve --config u.json > u.out 2> u.err; local rc=$?
    [ $rc = 2 ] && grep -qF -- "$2" u.err && ok || bad "url $1: exit $rc: $(cat u.err)"
}
url_refused '{"kms": {"type": "vault", "addr": "http://127.0.0.1:99999"}}' 'config.kms.addr: "http://127.0.0.1:99999": port 99999 is out of range (1-65535)'
url_refused '{"kms": {"type": "vault", "addr": "vault:8200"}}' 'config.kms.addr: "vault:8200": must begin with https://'
url_refused '{"collateral": {"pccs": "https://127.0.0.1:0"}}' 'config.collateral.pccs: "https://127.0.0.1:0": port 0 is out of range'
url_refused '{"collateral": {"pccs": "https://admin:pw-SECRET@pccs:8081"}}' 'config.collateral.pccs: the URL holds a user name or password'
grep -q "pw-SECRET" u.err && bad "a password in a URL was repeated" || ok
# the policy's own Vault address goes through the same parser
cat > vpolicy.json <<EOF
{"version": 1, "kms": {"type": "vault", "addr": "http://127.0.0.1:123456"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true, "secrets": {"k": "k"}}]}
EOF
conf vp.json 127.0.0.1:0 server
sed -i 's#"policy.json"#"vpolicy.json"#' vp.json
timeout 20 $BIN serve --config vp.json > vp.out 2> vp.err; rc=$?
[ $rc = 2 ] && grep -qF 'kms: vault addr: "http://127.0.0.1:123456": port 123456 is out of range' vp.err && ok || bad "policy vault addr: exit $rc: $(cat vp.err)"

echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
