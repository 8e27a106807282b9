#!/usr/bin/env bash
# test_collateral_cli.sh: `asps collateral fetch` and `asps collateral show`
# against Intel's real collateral (../shared/vectors/dcap) served by the test
# PCCS (tests/pccs_server.py): fetch with failover writes the cache file
# (0600, the cache's name), its signed bodies byte for byte Intel's, and the
# real quote verifies with it exactly as with Intel's bundle; fetching again
# leaves the file alone; every URL down is exit 3; argument errors are exit 2.
# `show` prints what the bundle holds; the expected dates and numbers are
# read here from the bundle with Python's json and openssl, not from asps.
set -u
BIN=${ASPS_BIN:?}; SRC=${ASPS_SRC:?}
. "$(dirname "$0")/vectors.sh"
need_vectors "$VEC/sgx_quote" "$VEC/sgx_quote_collateral.json" "$VEC/tdx_quote_collateral.json"
T=$(mktemp -d /tmp/asps-colcli-XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
start() { # bundle name -> sets PORT
    python3 "$SRC/tests/pccs_server.py" --bundle "$1" --cert pccs.pem --key pccs.key > "$2.out" 2> "$2.err" &
    PIDS="$PIDS $!"
    for _ in $(seq 50); do grep -q PORT "$2.out" 2>/dev/null && break; sleep 0.1; done
    PORT=$(sed -n 's/^PORT //p' "$2.out")
}
start "$VEC/sgx_quote_collateral.json" sgx; SGX=$PORT
start "$VEC/tdx_quote_collateral.json" tdx; TDX=$PORT
[ -n "$SGX" ] && [ -n "$TDX" ] || { echo "FAIL: test PCCS did not start"; cat sgx.err; exit 1; }
fmspc() { python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["tcb_info"])["fmspc"].upper())' "$1"; }
SFM=$(fmspc "$VEC/sgx_quote_collateral.json")
DFM=$(fmspc "$VEC/tdx_quote_collateral.json")

# ---- fetch: the first URL down, the second serves -------------------------------
out=$($BIN collateral fetch --pccs https://127.0.0.1:1 --pccs "https://127.0.0.1:$SGX" --pccs-ca pccs.pem \
    --tee sgx --fmspc "$SFM" --out held 2> err.txt); rc=$?
F=held/sgx-$SFM-processor.json
[ $rc = 0 ] && [ "$out" = "$F written (from https://127.0.0.1:$SGX)" ] && ok || bad "fetch: $rc $out $(cat err.txt)"
grep -q "https://127.0.0.1:1/.*trying the next URL" err.txt && ok || bad "first URL's failure not said: $(cat err.txt)"
[ "$(stat -c %a "$F" 2>/dev/null)" = 600 ] && ok || bad "cache file mode: $(stat -c %a "$F" 2>&1)"
python3 - "$F" "$VEC/sgx_quote_collateral.json" <<'EOF' && ok || bad "fetched file differs from Intel's bundle"
import json, sys
c, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for k in ("tcb_info", "tcb_info_signature", "tcb_info_issuer_chain", "qe_identity", "qe_identity_signature",
          "qe_identity_issuer_chain", "pck_crl", "pck_crl_issuer_chain", "root_ca_crl"):
    assert c[k] == b[k], k
EOF
out=$($BIN quote verify "$VEC/sgx_quote" --collateral "$F" --at 1751328000 --json)
echo "$out" | grep -q '"verified":true' && echo "$out" | grep -q '"tcb_status":"ConfigurationAndSWHardeningNeeded"' \
    && ok || bad "the real quote with the fetched file: $out"
t0=$(stat -c %Y.%N "$F")
out=$($BIN collateral fetch --pccs "https://127.0.0.1:$SGX" --pccs-ca pccs.pem --tee sgx --fmspc "$SFM" --out held)
[ "$out" = "$F unchanged (from https://127.0.0.1:$SGX)" ] && [ "$(stat -c %Y.%N "$F")" = "$t0" ] && ok \
    || bad "the same answer again: $out"
out=$($BIN collateral fetch --pccs "https://127.0.0.1:$TDX" --pccs-ca pccs.pem --tee tdx --fmspc "$DFM" \
    --ca platform --out held 2>&1); rc=$?
[ $rc = 0 ] && [ -f "held/tdx-$DFM-platform.json" ] && ok || bad "tdx fetch: $rc $out"

# ---- a PCCS that serves another platform than asked (the test PCCS
# ignores fmspc and ca): refused, no file named for what was asked ----------
$BIN collateral fetch --pccs "https://127.0.0.1:$SGX" --pccs-ca pccs.pem --tee sgx --fmspc 0102030405A6 \
    --out wrong > out.txt 2> err.txt; rc=$?
[ $rc = 3 ] && grep -q "https://127.0.0.1:$SGX served collateral for sgx FMSPC $SFM (processor CA), not the sgx FMSPC 0102030405A6 (processor CA) asked for" err.txt \
    && [ ! -e wrong ] && ok || bad "another FMSPC served: exit $rc $(cat err.txt)"
$BIN collateral fetch --pccs "https://127.0.0.1:$TDX" --pccs-ca pccs.pem --tee tdx --fmspc "$DFM" \
    --out wrong > out.txt 2> err.txt; rc=$?
[ $rc = 3 ] && grep -q "(platform CA), not the tdx FMSPC $DFM (processor CA) asked for" err.txt && [ ! -e wrong ] \
    && ok || bad "another CA served: exit $rc $(cat err.txt)"

# ---- every URL down: exit 3 ------------------------------------------------------
$BIN collateral fetch --pccs https://127.0.0.1:1 --pccs https://127.0.0.1:2 --pccs-ca pccs.pem --tee sgx \
    --fmspc "$SFM" --out none > out.txt 2> err.txt; rc=$?
[ $rc = 3 ] && grep -q "unavailable: no URL served the collateral" err.txt && [ ! -e none ] && ok \
    || bad "every URL down: exit $rc $(cat err.txt)"
# the command's own lines only, not the server's dependency log
! grep -q "calls that need it fail" err.txt && ok || bad "server log lines in collateral fetch: $(cat err.txt)"

# ---- the optional endpoints: a 404 is "not offered" (above: the test PCCS
# has no numbers list), any other failure fails the set. A proxy in front
# of the test PCCS answers one endpoint its own way.
cat > proxy.py <<'EOF'
import http.server, ssl, sys, urllib.request, urllib.error
upstream, mode = sys.argv[1], sys.argv[2]
uctx = ssl.create_default_context(cafile="pccs.pem")
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def answer(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if mode == "numbers500" and "tcbevaluationdatanumbers" in self.path:
            return self.answer(500, b"{}")
        if mode == "numbersbad" and "tcbevaluationdatanumbers" in self.path:
            return self.answer(200, b'{"tcbEvaluationDataNumbers": {"id": "SGX"}, "signature": "zz"}',
                               [("TCB-Evaluation-Data-Numbers-Issuer-Chain", "x")])
        if mode == "early503" and "update=early" in self.path:
            return self.answer(503, b"{}")
        try:
            r = urllib.request.urlopen(upstream + self.path, context=uctx)
            code, body, hdrs = r.status, r.read(), r.headers.items()
        except urllib.error.HTTPError as e:
            code, body, hdrs = e.code, e.read(), e.headers.items()
        skip = ("content-length", "connection", "transfer-encoding", "date", "server")
        self.answer(code, body, [(k, v) for k, v in hdrs if k.lower() not in skip])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("pccs.pem", "pccs.key")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("PORT %d" % srv.server_address[1], flush=True)
srv.serve_forever()
EOF
proxy() { # mode -> sets PX
    python3 proxy.py "https://127.0.0.1:$SGX" $1 > $1.out 2> $1.err &
    PIDS="$PIDS $!"
    for _ in $(seq 50); do grep -q PORT $1.out 2>/dev/null && break; sleep 0.1; done
    PX=$(sed -n 's/^PORT //p' $1.out)
}
for mode in numbers500 numbersbad early503; do
    proxy $mode
    $BIN collateral fetch --pccs "https://127.0.0.1:$PX" --pccs-ca pccs.pem --tee sgx --fmspc "$SFM" \
        --out $mode > out.txt 2> err.txt; rc=$?
    case $mode in
        numbers500) want="tcbevaluationdatanumbers: HTTP 500" ;;
        numbersbad) want="tcbevaluationdatanumbers: signature is not 128 hex characters" ;;
        early503) want="update=early: HTTP 503" ;;
    esac
    [ $rc = 3 ] && grep -q "$want" err.txt && [ ! -e $mode ] && ok || bad "$mode: exit $rc: $(cat err.txt)"
done
# the proxy passes everything else through: the set is whole through it
proxy none
$BIN collateral fetch --pccs "https://127.0.0.1:$PX" --pccs-ca pccs.pem --tee sgx --fmspc "$SFM" --out viaproxy \
    > out.txt 2> err.txt && cmp -s "viaproxy/sgx-$SFM-processor.json" "$F" && ok || bad "through the proxy: $(cat err.txt)"

# ---- argument errors: exit 2, "asps collateral fetch: ..." ---------------------
usage() { # expected-message args...
    local want=$1; shift
    $BIN collateral fetch "$@" > out.txt 2> err.txt; local rc=$?
    [ $rc = 2 ] && head -1 err.txt | grep -q "^asps collateral fetch: $want" && ok \
        || bad "fetch $*: exit $rc: $(head -1 err.txt)"
}
usage "--pccs URL is needed" --tee sgx --fmspc "$SFM" --out x
usage "--tee sgx|tdx is needed" --pccs https://127.0.0.1:1 --fmspc "$SFM" --out x
usage "--tee: expected sgx or tdx" --pccs https://127.0.0.1:1 --tee sev --fmspc "$SFM" --out x
usage "--fmspc HEX is needed" --pccs https://127.0.0.1:1 --tee sgx --out x
usage "--fmspc: expected 12 hex digits" --pccs https://127.0.0.1:1 --tee sgx --fmspc 00906ED5 --out x
usage "--fmspc: expected 12 hex digits" --pccs https://127.0.0.1:1 --tee sgx --fmspc 00906ED5000G --out x
usage "--ca: expected processor or platform" --pccs https://127.0.0.1:1 --tee sgx --fmspc "$SFM" --ca root --out x
usage "--out DIR is needed" --pccs https://127.0.0.1:1 --tee sgx --fmspc "$SFM"
usage "unexpected argument 'extra'" --pccs https://127.0.0.1:1 --tee sgx --fmspc "$SFM" --out x extra
usage "--pccs: at most 8 URLs" $(for i in 1 2 3 4 5 6 7 8 9; do echo --pccs https://127.0.0.1:$i; done) \
    --tee sgx --fmspc "$SFM" --out x
$BIN collateral fetch --pccs ftp://127.0.0.1:1 --tee sgx --fmspc "$SFM" --out x 2> err.txt; rc=$?
[ $rc = 2 ] && grep -q "pccs URL" err.txt && ok || bad "ftp URL: exit $rc $(cat err.txt)"
$BIN collateral fetch --pccs "https://127.0.0.1:$SGX" --pccs-ca no-such.pem --tee sgx --fmspc "$SFM" --out x \
    2> err.txt; rc=$?
[ $rc = 2 ] && grep -q "no-such.pem" err.txt && ok || bad "--pccs-ca missing: exit $rc $(cat err.txt)"
[ ! -e x ] && ok || bad "a failed fetch made its --out folder"

# ---- show --------------------------------------------------------------------
# what the bundle holds, read here without asps
python3 - "$VEC/sgx_quote_collateral.json" > want.txt <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))
t, q = json.loads(b["tcb_info"]), json.loads(b["qe_identity"])
print("  tcb info: v%d, evaluation data number %d, issued %s, nextUpdate %s" % (
    t["version"], t["tcbEvaluationDataNumber"], t["issueDate"], t["nextUpdate"]))
print("  qe identity: evaluation data number %d, issued %s, nextUpdate %s" % (
    q["tcbEvaluationDataNumber"], q["issueDate"], q["nextUpdate"]))
EOF
crl_dates() { # DER CRL hex from the bundle field -> "thisUpdate X, nextUpdate Y" (openssl)
    python3 -c 'import json,sys; open("crl.der","wb").write(bytes.fromhex(json.load(open(sys.argv[1]))[sys.argv[2]]))' \
        "$VEC/sgx_quote_collateral.json" "$1"
    local a b
    a=$(date -u -d "$(openssl crl -inform DER -in crl.der -noout -lastupdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
    b=$(date -u -d "$(openssl crl -inform DER -in crl.der -noout -nextupdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
    echo "thisUpdate $a, nextUpdate $b"
}
echo "  pck crl: $(crl_dates pck_crl)" >> want.txt
echo "  root ca crl: $(crl_dates root_ca_crl)" >> want.txt
$BIN collateral show "$F" > show.txt 2> err.txt; rc=$?
[ $rc = 0 ] && ok || bad "show: exit $rc $(cat err.txt)"
head -1 show.txt | grep -qx "$F" && ok || bad "show: first line: $(head -1 show.txt)"
grep -q "^  platform: sgx FMSPC $SFM" show.txt && ok || bad "show: platform: $(cat show.txt)"
while IFS= read -r line; do
    grep -qxF -- "$line" show.txt && ok || bad "show: no line '$line' in: $(cat show.txt)"
done < want.txt
grep -q "^  tcb evaluation data numbers: not held$" show.txt && ok || bad "show: numbers list: $(cat show.txt)"
# a folder: each file, sorted
$BIN collateral show held > show2.txt 2> err.txt; rc=$?
[ $rc = 0 ] && [ "$(grep -c '^held/' show2.txt)" = 2 ] && grep -q "^held/sgx-$SFM-processor.json$" show2.txt \
    && grep -q "^  platform: tdx FMSPC $DFM" show2.txt && ok || bad "show DIR: $rc $(cat show2.txt err.txt)"
$BIN collateral show held --json > show.json 2> err.txt; rc=$?
python3 - show.json "$VEC/sgx_quote_collateral.json" "$SFM" <<'EOF' && [ $rc = 0 ] && ok || bad "show --json: $rc $(cat show.json err.txt)"
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
t = json.loads(b["tcb_info"])
s = [x for x in a if x["tee"] == "sgx"][0]
assert len(a) == 2, a
assert s["fmspc"] == sys.argv[3], s
assert s["tcb_info"]["tcb_evaluation_data_number"] == t["tcbEvaluationDataNumber"], s
assert s["tcb_info"]["issue_date"] == t["issueDate"] and s["tcb_info"]["next_update"] == t["nextUpdate"], s
assert s["tcb_evaluation_data_numbers"] is None, s
EOF
# errors: a path that is not there (2); a file that is not collateral (1, named)
$BIN collateral show no-such > out.txt 2> err.txt; rc=$?
[ $rc = 2 ] && grep -q "cannot open no-such" err.txt && ok || bad "show missing: exit $rc $(cat err.txt)"
echo '{"version": 1}' > notcol.json
$BIN collateral show notcol.json > out.txt 2> err.txt; rc=$?
[ $rc = 1 ] && grep -q "^asps collateral show: notcol.json: " err.txt && ok || bad "show not collateral: exit $rc $(cat err.txt)"
$BIN collateral show > out.txt 2> err.txt; rc=$?
[ $rc = 2 ] && grep -q "DIR or BUNDLE is needed" err.txt && ok || bad "show no argument: exit $rc"
# an empty folder: nothing to show, not a crash (qsort of no names)
mkdir empty
$BIN collateral show empty > out.txt 2> err.txt; rc=$?
[ $rc = 0 ] && grep -q "^empty: no collateral files" out.txt && [ ! -s err.txt ] && ok \
    || bad "show empty folder: exit $rc $(cat out.txt err.txt)"
# a file that cannot be read is exit 2 (README's table), not 1: a FIFO in a
# bundle's place is refused at once (it used to hang the command), a file
# over 16 MiB is refused
mkdir fifo; mkfifo fifo/sgx-00906ED50000-platform.json
timeout -s KILL 10 $BIN collateral show fifo > out.txt 2> err.txt; rc=$?
[ $rc = 2 ] && grep -q "not a regular file (a FIFO)" err.txt && ok || bad "show FIFO: exit $rc $(cat err.txt)"
head -c 17000000 /dev/zero > big.json
$BIN collateral show big.json > out.txt 2> err.txt; rc=$?
[ $rc = 2 ] && grep -q "is larger than 16777216 bytes" err.txt && ok || bad "show too large: exit $rc $(cat err.txt)"

echo "test_collateral_cli: $pass passed, $failn failed"
[ $failn = 0 ]
