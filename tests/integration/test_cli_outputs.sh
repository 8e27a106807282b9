#!/usr/bin/env bash
# What the asps command's options promise (issue 15, part A), each checked
# with something asps did not write where there is one (openssl, Python's
# json/base64, coreutils): `sim init` refuses an existing platform without
# --force; `--out -` writes to stdout (sim quote, cert new, get); `get
# --json` gives text values as strings when valid UTF-8, and always hex and
# base64; hints for a certificate given to `quote verify/show` and for a
# CCZoo/Occlum policy read as native (policy check, serve --check, serve);
# exit codes: an unreadable --ca/--pin is 2, no TEE found is 3.
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
SRC=${ASPS_SRC:?}
T=$(mktemp -d /tmp/asps-outputs-XXXXXX)
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

# ---- sim init: an existing platform is kept unless --force ----
$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
root=$(sha256sum < sim/root_ca.der)
$BIN sim init sim >out 2>err; rc=$?
[ $rc = 2 ] && ok || bad "sim init over a platform: rc $rc"
grep -q "already holds a simulated platform.*--force" err && ok || bad "sim init refusal: $(cat err)"
[ "$(sha256sum < sim/root_ca.der)" = "$root" ] && ok || bad "sim init replaced the PKI without --force"
[ -s out ] && bad "sim init refusal printed on stdout"
$BIN sim init sim --force >/dev/null && ok || bad "sim init --force: rc $?"
[ "$(sha256sum < sim/root_ca.der)" != "$root" ] && ok || bad "sim init --force kept the old PKI"
# a fresh folder and an empty existing one are fine
mkdir empty && $BIN sim init empty >/dev/null && ok || bad "sim init into an empty folder"

# ---- --out -: stdout ----
$BIN sim quote sim --out - --isv-svn 4 > q.bin && ok || bad "sim quote --out -"
[ -e ./- ] && bad "sim quote --out - made a file named -"
$BIN quote verify q.bin --sim sim --json > v.json && ok || bad "the quote from stdout does not verify"
python3 -c 'import json,sys; d=json.load(open("v.json")); sys.exit(d["isv_svn"] != 4)' && ok || bad "isv_svn: $(cat v.json)"
$BIN cert new --out - --key k.pem --sim sim > c.pem && ok || bad "cert new --out -"
openssl x509 -in c.pem -noout 2>/dev/null && ok || bad "cert new --out -: not a certificate for openssl"
openssl pkey -in k.pem -noout 2>/dev/null && ok || bad "cert new --key: not a key for openssl"
[ "$(stat -c %a k.pem)" = 600 ] && ok || bad "key mode $(stat -c %a k.pem)"
$BIN cert verify c.pem --sim sim >/dev/null && ok || bad "cert from stdout does not verify"
[ -e ./- ] && bad "an option made a file named -"

# ---- hints ----
for cmd in verify show; do
  if [ "$cmd" = verify ]; then $BIN quote verify c.pem --sim sim >out 2>err; rc=$?
  else $BIN quote show c.pem >out 2>err; rc=$?; fi
  [ $rc = 2 ] && ok || bad "quote $cmd CERT: rc $rc"
  grep -q "^asps quote $cmd: c.pem is an X.509 certificate (PEM), not a quote.*asps cert $cmd c.pem" err \
    && ok || bad "quote $cmd CERT: $(cat err)"
done
openssl x509 -in c.pem -outform DER -out c.der
$BIN quote verify c.der --sim sim 2>err; rc=$?
[ $rc = 2 ] && grep -q "X.509 certificate (DER)" err && ok || bad "quote verify DER cert: rc $rc $(cat err)"
# a quote is not mistaken for one
$BIN quote show q.bin >/dev/null 2>err && ok || bad "quote show of a quote: $(cat err)"

$BIN policy check "$SRC/examples/cczoo_policy_no_kms.json" >out 2>err; rc=$?
[ $rc != 0 ] && grep -q "hint: .* looks like a CCZoo secret manager config.*pass --from cczoo" err \
  && ok || bad "policy check CCZoo as native: rc $rc $(cat err)"
$BIN policy check "$SRC/examples/occlum_ra_config.json" >out 2>err; rc=$?
[ $rc != 0 ] && grep -q "looks like an Occlum grpc_ratls dynamic_config.json.*pass --from occlum" err \
  && ok || bad "policy check Occlum as native: rc $rc $(cat err)"
# read as the other seed format, or a native one read as a seed format: the
# same hint, naming the format it was read as
$BIN policy check --from occlum "$SRC/examples/cczoo_policy_no_kms.json" >out 2>err; rc=$?
[ $rc = 1 ] && grep -q "looks like a CCZoo secret manager config.*read as an Occlum grpc_ratls dynamic_config.json: pass --from cczoo" err \
  && ok || bad "policy check CCZoo as Occlum: rc $rc $(cat err)"
$BIN policy check --from cczoo "$SRC/examples/occlum_ra_config.json" >out 2>err; rc=$?
[ $rc = 1 ] && grep -q "looks like an Occlum grpc_ratls dynamic_config.json.*read as a CCZoo secret manager config: pass --from occlum" err \
  && ok || bad "policy check Occlum as CCZoo: rc $rc $(cat err)"
$BIN policy check --from occlum "$SRC/examples/policy.json" >out 2>err; rc=$?
[ $rc = 1 ] && grep -q "looks like a native asps policy.*pass --from native" err \
  && ok || bad "policy check native as Occlum: rc $rc $(cat err)"
$BIN policy convert --from cczoo "$SRC/examples/policy.json" >out 2>err; rc=$?
[ $rc = 1 ] && grep -q "already a native asps policy.*asps policy check" err && ! grep -q "pass --from native" err \
  && ok || bad "policy convert of a native policy: rc $rc $(cat err)"
# --seed-tcb-statuses with a native policy: ignored, and said so (as serve does)
$BIN policy check --seed-tcb-statuses UpToDate "$SRC/examples/policy.json" >out 2>err; rc=$?
[ $rc = 0 ] && grep -q "WARNING: --seed-tcb-statuses is ignored: the policy is native" err \
  && ok || bad "policy check native --seed-tcb-statuses: rc $rc $(cat err)"
$BIN policy check "$SRC/examples/policy.json" >out 2>err && [ ! -s err ] && ok || bad "policy check native: stderr $(cat err)"
# a broken native policy gets no such hint
echo '{"version": 1, "apps": [], "bogus": 1}' > native_bad.json
$BIN policy check native_bad.json >/dev/null 2>err
grep -q hint err && bad "hint for a native policy: $(cat err)" || ok

ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -subj "/CN=asps test CA" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem 2>/dev/null
ec server.key && openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
    -out server.pem 2>/dev/null
cp "$SRC/examples/cczoo_policy_no_kms.json" cczoo.json
cat > cz_server.json <<'EOF2'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "cczoo.json", "audit": "cz_audit.log"}
EOF2
$BIN serve --config cz_server.json --check >out 2>err; rc=$?
[ $rc = 1 ] && grep -q "hint: .*cczoo.json looks like a CCZoo.*pass --policy-format cczoo" out \
  && ok || bad "serve --check CCZoo as native: rc $rc $(cat out err)"
sed 's/"policy": "cczoo.json"/"policy": "occlum.json", "policy_format": "cczoo"/' cz_server.json > oc_server.json
cp "$SRC/examples/occlum_ra_config.json" occlum.json
$BIN serve --config oc_server.json --check >out 2>err; rc=$?
[ $rc = 1 ] && grep -q "hint: .*occlum.json looks like an Occlum.*read as a CCZoo.*pass --policy-format occlum" out \
  && ok || bad "serve --check Occlum as CCZoo: rc $rc $(cat out err)"
timeout 20 $BIN serve --config cz_server.json >out 2>err; rc=$?
[ $rc = 2 ] && grep -q "hint: .*cczoo.json looks like a CCZoo.*pass --policy-format cczoo" err \
  && ok || bad "serve CCZoo as native: rc $rc $(cat err)"

# ---- get: --json, --out -, exit codes ----
MRE=$(printf 'a1%.0s' {1..32}); MRS=$(printf '5e%.0s' {1..32})
cat > policy.json <<EOF2
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE", "mrsigner": "$MRS"},
           "allow_simulated": true,
           "secrets": {"text": "text", "utf8": "utf8", "bin": "bin", "nul": "nul", "quote": "quote",
                       "empty": "empty"}}]}
EOF2
# text: ASCII; utf8: "h\u00e9llo \u2603" (UTF-8); bin: ff fe 00 01 (not UTF-8);
# nul: "a\0b" (valid UTF-8: "a\u0000b"); quote: "\"\\\n" (escaped); empty
python3 - <<'PY'
import base64, json
v = {"text": b"k3y", "utf8": "h\u00e9llo \u2603".encode(), "bin": b"\xff\xfe\x00\x01",
     "nul": b"a\x00b", "quote": b"\"\\\n\x1f", "empty": b""}
json.dump({k: "base64:" + base64.b64encode(b).decode() for k, b in v.items()}, open("kms.json", "w"))
PY
cat > server.json <<'EOF2'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log"}
EOF2
$BIN serve --config server.json > serve.out 2> serve.err &
SPID=$!
wait_listening serve.out $SPID serve.err || { echo "FAIL: server did not start"; exit 1; }
S=$LISTEN_ADDR
ID=(--sim sim --mrenclave "$MRE" --mrsigner "$MRS")
$BIN get --server "$S" --ca ca.pem --server-name localhost "${ID[@]}" --json text utf8 bin nul quote empty \
    > get.json 2>err && ok || bad "get --json: $(cat err)"
python3 - get.json <<'PY' && ok || bad "get --json: $(cat get.json)"
import base64, json, sys
raw = open(sys.argv[1], "rb").read()
d = json.loads(raw.decode("utf-8", errors="strict"))
want = {"text": b"k3y", "utf8": "h\u00e9llo \u2603".encode(), "bin": b"\xff\xfe\x00\x01",
        "nul": b"a\x00b", "quote": b"\"\\\n\x1f", "empty": b""}
got = {s["name"]: s for s in d["secrets"]}
assert [s["name"] for s in d["secrets"]] == list(want), d
for k, b in want.items():
    s = got[k]
    assert bytes.fromhex(s["value_hex"]) == b, (k, s)
    assert base64.b64decode(s["value_base64"], validate=True) == b, (k, s)
    text = k != "bin"
    assert ("value" in s) == text, (k, s)
    if text:
        assert s["value"].encode() == b, (k, s)
PY
$BIN get --server "$S" --ca ca.pem --server-name localhost "${ID[@]}" --out - bin > bin.out 2>err \
  && ok || bad "get --out -: $(cat err)"
[ "$(xxd -p bin.out)" = fffe0001 ] && ok || bad "get --out - bytes: $(xxd -p bin.out)"
[ -e ./- ] && bad "get --out - made a file named -"
$BIN get --server "$S" --ca ca.pem --server-name localhost "${ID[@]}" --out bin.file bin 2>err \
  && [ "$(xxd -p bin.file)" = fffe0001 ] && [ "$(stat -c %a bin.file)" = 600 ] && ok || bad "get --out FILE"
# a --ca or --pin file that is missing: usage (2), not "denied"
$BIN get --server "$S" --ca missing.pem "${ID[@]}" text 2>err; rc=$?
[ $rc = 2 ] && ok || bad "get --ca missing: rc $rc $(cat err)"
$BIN get --server "$S" --pin missing.pem "${ID[@]}" text 2>err; rc=$?
[ $rc = 2 ] && ok || bad "get --pin missing: rc $rc $(cat err)"
# a server that is not the pinned one: not verified (1), not "retry later" (3)
$BIN get --server "$S" --pin ca.pem "${ID[@]}" text 2>err; rc=$?
[ $rc = 1 ] && grep -q "server not verified: .*not the pinned one" err && ok || bad "get --pin another certificate: rc $rc $(cat err)"
# ... or not a certificate (a key given by mistake): usage (2) too
$BIN get --server "$S" --ca ca.key "${ID[@]}" text 2>err; rc=$?
[ $rc = 2 ] && grep -q "not a PEM certificate" err && ok || bad "get --ca not a certificate: rc $rc $(cat err)"
$BIN get --server "$S" --pin ca.key "${ID[@]}" text 2>err; rc=$?
[ $rc = 2 ] && grep -q "unreadable" err && ok || bad "get --pin not a certificate: rc $rc $(cat err)"
# no TEE on this machine (no --sim): unavailable (3), not "denied"
if [ ! -e /dev/attestation/quote ] && [ ! -e /dev/sgx ] && [ ! -e /dev/sgx_enclave ] && \
   [ ! -d /sys/kernel/config/tsm/report ]; then
  $BIN get --server "$S" --ca ca.pem --server-name localhost text 2>err; rc=$?
  [ $rc = 3 ] && grep -q "no TEE found" err && ok || bad "get, no TEE: rc $rc $(cat err)"
  $BIN cert new --out x.pem --key x.key 2>err; rc=$?
  [ $rc = 3 ] && ok || bad "cert new, no TEE: rc $rc $(cat err)"
else
  bad "this machine has a TEE device: the no-TEE cases cannot run here"
fi
# denied stays 1
$BIN get --server "$S" --ca ca.pem --server-name localhost --sim sim --mrenclave "$MRS" --mrsigner "$MRS" \
    text 2>err; rc=$?
[ $rc = 1 ] && ok || bad "get denied: rc $rc $(cat err)"

echo "test_cli_outputs: $pass passed, $failn failed"
[ $failn = 0 ]
