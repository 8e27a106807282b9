#!/usr/bin/env bash
# test_refusals.sh: a refused client can tell a refused attestation from a
# dead server (issue 12, part 4), through a running `asps serve`, with the
# real client (asps get / asps run: exit 5) and Python grpcio as the peer.
#  - untrusted platform, Revoked TCB, an expired client certificate, no
#    client certificate: the TLS handshake completes and every call on the
#    connection (native, Occlum, CCZoo, health, unknown methods) answers
#    UNAUTHENTICATED "evidence refused: REASON (...)"; nothing is released
#  - collateral unavailable (the PCCS answers 503): UNAVAILABLE "evidence
#    not checked: collateral_unavailable (retry later)", asps get exit 3;
#    once the PCCS is back a new connection is served, and so is a later
#    call on the same connection
#  - refusals TLS itself makes (not TLS, a certificate too large, a peer that
#    connects and leaves) leave an audit line too
#  - every refusal has an audit line; stderr gets a rate-limited summary
#    whose counts add up to the refusals
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

T=$(mktemp -d /tmp/asps-refusals-XXXXXX)
PIDS=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    # left for the suite-wide check of every audit line (audit_lines_json)
    if [ -n "${ASPS_AUDIT_KEEP:-}" ]; then
        mkdir -p "$ASPS_AUDIT_KEEP"
        for f in audit audit_pccs audit_bundle; do
            [ -f "$T/$f.log" ] && cp "$T/$f.log" "$ASPS_AUDIT_KEEP/test_refusals_$f.log"
        done
    fi
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

# ---- a simulated platform, another one nobody trusts, server PKI, policy -------
$BIN sim init sim >/dev/null && $BIN sim init other >/dev/null || { echo "FAIL: sim init"; exit 1; }
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -subj "/CN=asps test CA" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem 2>/dev/null
ec server.key && openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null
MRE=$(printf 'a1%.0s' {1..32}); MRS=$(printf '5e%.0s' {1..32})
cat > policy.json <<EOF2
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE", "mrsigner": "$MRS"},
           "allow_simulated": true, "secrets": {"image_key": "image_key"}}]}
EOF2
echo '{"image_key": "text:k3y"}' > kms.json
ID=(--mrenclave "$MRE" --mrsigner "$MRS")

start_server() { # config name -> sets S (host:port); the pid joins PIDS
    $BIN serve --config "$1.json" > "$1.out" 2> "$1.err" &
    PIDS="$PIDS $!"
    eval "${1}_PID=$!"
    wait_listening "$1.out" $! "$1.err" || { echo "FAIL: server $1 did not start"; exit 1; }
    S=$LISTEN_ADDR
}
cat > main.json <<'EOF2'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log"}
EOF2
start_server main
START=$SECONDS
A=audit.log
lines() { wc -l < "$1"; }
py() { # CERTNAME|- args... : the Python client, with or without a client certificate
    local c=$1; shift
    if [ "$c" = - ]; then $CLIENT --target "$S" --ca ca.pem --server-name localhost "$@" 2>&1
    else $CLIENT --target "$S" --ca ca.pem --server-name localhost --cert $c.pem --key $c.key "$@" 2>&1; fi
}
good_client() {
    out=$($BIN get --server "$S" --ca ca.pem --sim sim "${ID[@]}" image_key 2>&1)
    [ "$out" = "Secret received: 6b-33-79" ] && ok || bad "good client after $1: $out"
}
good_client "start"

# a refused connection does not linger: left idle, the server closes it
# (GOAWAY after 10 to 20 s; checked later, it runs meanwhile)
$PY - "$S" > idle.out 2>&1 <<'PYEOF' &
import grpc, sys, threading, time
rd = lambda p: open(p, "rb").read()
creds = grpc.ssl_channel_credentials(rd("ca.pem"))
ch = grpc.secure_channel(sys.argv[1], creds, options=[("grpc.ssl_target_name_override", "localhost")])
try:
    ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5)
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e
states, idle = [], threading.Event()
def watch(st):
    states.append(st.name)
    if st == grpc.ChannelConnectivity.IDLE and "READY" in states:
        idle.set()
ch.subscribe(watch)
t0 = time.time()
print("closed after %.0f s" % (time.time() - t0) if idle.wait(30) else "still open: %s" % states)
PYEOF
IDLE_PID=$!

# ---- asps get: exit 5 and the reason, for what it can present -------------------
get_refused() { # name reason args...
    local name=$1 why=$2 before; shift 2
    before=$(lines $A)
    $BIN get --server "$S" --ca ca.pem "$@" image_key > get.out 2> get.err
    local rc=$?
    [ $rc = 5 ] && ok || bad "$name: asps get exit $rc, want 5: $(cat get.err)"
    grep -q "UNAUTHENTICATED: evidence refused: $why " get.err && ok || bad "$name: message: $(cat get.err)"
    [ ! -s get.out ] && ok || bad "$name: something printed: $(cat get.out)"
    # two lines: the handshake's verdict (no address: TLS has none to give)
    # and the refused call (with the peer's address and the method)
    tail -n +$((before + 1)) $A > new.log
    grep -q "\"peer\":null.*\"verdict\":\"unauthenticated\",\"reason\":\"handshake: $why: " new.log \
        && ok || bad "$name: no handshake audit line: $(cat new.log)"
    grep -q "\"peer\":\"ipv4:127.0.0.1:[0-9]*\".*\"verdict\":\"unauthenticated\",\"reason\":\"/asps.v1.SecretProvision/GetSecrets: evidence refused: $why " new.log \
        && ok || bad "$name: no call audit line: $(cat new.log)"
}
get_refused "untrusted platform" root_untrusted --sim other "${ID[@]}"
get_refused "Revoked TCB" tcb_revoked --sim sim "${ID[@]}" --tcb Revoked
$BIN get --help | grep -q "^  5  the server refused this workload's attestation evidence" && ok || bad "asps get --help: exit 5"

# asps run: exit 5 too, nothing written, the app not started
cat > initra.json <<EOF2
{"kms_server": "$S", "kms_keys": [{"key": "image_key", "path": "/etc/image_key"}],
 "ra_config": {"verify_mr_enclave": "off", "verify_mr_signer": "off", "verify_isv_prod_id": "off",
               "verify_isv_svn": "off", "verify_config_svn": "off", "verify_enclave_debuggable": "off",
               "sgx_mrs": []}}
EOF2
mkdir -p "$T/root"
$BIN run --conf initra.json --ca ca.pem --sim sim "${ID[@]}" --tcb Revoked --root "$T/root" -- touch "$T/started" 2> run.err
rc=$?
[ $rc = 5 ] && grep -q "evidence refused: tcb_revoked" run.err && ok || bad "asps run refused: exit $rc: $(cat run.err)"
[ ! -e root/etc/image_key ] && [ ! -e started ] && ok || bad "asps run refused: file written or app started"
$BIN run --help | grep -q "^  5  the server refused" && ok || bad "asps run --help: exit 5"
$BIN run --conf initra.json --ca ca.pem --sim sim "${ID[@]}" --root "$T/root" -- touch "$T/started" 2> run.err \
    && [ -e started ] && [ "$(cat root/etc/image_key)" = k3y ] && ok || bad "asps run good: $(cat run.err)"

# ---- Python grpcio: each kind, each method ---------------------------------------
$BIN cert new --out good.pem --key good.key --sim sim "${ID[@]}" >/dev/null
$BIN cert new --out untrusted.pem --key untrusted.key --sim other "${ID[@]}" >/dev/null
$BIN cert new --out revoked.pem --key revoked.key --sim sim "${ID[@]}" --tcb Revoked >/dev/null
$BIN cert new --out expired.pem --key expired.key --sim sim "${ID[@]}" --not-before 2020-01-01T00:00:00Z --days 1 >/dev/null
for c in untrusted:root_untrusted revoked:tcb_revoked expired:cert_expired -:no; do
    why=${c#*:} c=${c%%:*}
    if [ "$why" = no ]; then want="STATUS UNAUTHENTICATED no client certificate"
    else want="STATUS UNAUTHENTICATED evidence refused: $why ("; fi
    for call in "get image_key" "occlum image_key" "cczoo image_key" "health" "raw /no.Such/Method 00"; do
        before=$(lines $A)
        out=$(py $c $call)
        case "$out" in "$want"*) ok ;; *) bad "$c $call: $out" ;; esac
        m=$(echo "$call" | cut -d' ' -f1)
        path=$(case $m in get) echo /asps.v1.SecretProvision/GetSecrets ;; occlum) echo /ratls.GrSecret/GetSecret ;;
               cczoo) echo /secretmanager.SecretManger/GetSecret ;; health) echo /grpc.health.v1.Health/Check ;;
               raw) echo /no.Such/Method ;; esac)
        tail -n +$((before + 1)) $A | grep -q "\"peer\":\"ipv4:.*\"verdict\":\"unauthenticated\",\"reason\":\"$path: " \
            && ok || bad "$c $call: no audit line for the call"
    done
done

# many calls on one refused connection: every one refused, nothing released
$PY - "$S" <<'PYEOF' && ok || bad "calls on one refused connection"
import grpc, sys
rd = lambda p: open(p, "rb").read()
creds = grpc.ssl_channel_credentials(rd("ca.pem"), rd("revoked.key"), rd("revoked.pem"))
with grpc.secure_channel(sys.argv[1], creds, options=[("grpc.ssl_target_name_override", "localhost")]) as ch:
    for i in range(10):
        for m, req in (("/asps.v1.SecretProvision/GetSecrets", b"\x0a\x09image_key"),
                       ("/ratls.GrSecret/GetSecret", b"\x0a\x09image_key"),
                       ("/secretmanager.SecretManger/GetSecret", b"\x0a\x09image_key")):
            try:
                ch.unary_unary(m)(req, timeout=5)
                sys.exit("released on a refused connection: " + m)
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.UNAUTHENTICATED, (m, e.code(), e.details())
                assert e.details().startswith("evidence refused: tcb_revoked ("), e.details()
PYEOF

# ---- refusals TLS makes itself --------------------------------------------------
tls_refused() { # name text-in-reason
    sleep 0.3
    tail -n +$((before + 1)) $A | grep -q "\"peer\":null.*\"verdict\":\"unauthenticated\",\"reason\":\"TLS handshake failed before any certificate check: .*$2" \
        && ok || bad "$1: no audit line: $(tail -n +$((before + 1)) $A)"
}
# a client certificate larger than TLS takes (OpenSSL's 100 KiB limit)
printf '[req]\ndistinguished_name=dn\n[dn]\n[ext]\n1.2.3.4=DER:0483%06x%s\n' 150000 \
    "$(head -c 150000 /dev/zero | xxd -p | tr -d '\n')" > big.cnf
openssl req -x509 -new -key good.key -subj "/CN=big" -days 1 -out big.pem -config big.cnf -extensions ext 2>/dev/null
cp good.key big.key
before=$(lines $A)
out=$(py big get image_key)
case "$out" in "STATUS UNAVAILABLE"*) ok ;; *) bad "certificate too large: $out" ;; esac
tls_refused "certificate too large" "excessive message size"
# not TLS at all, and a peer that connects and leaves
before=$(lines $A)
$PY - "${S#*:}" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(b"GET / HTTP/1.0\r\n\r\n"); s.recv(100); s.close()
PYEOF
tls_refused "HTTP on the TLS port" "http request"
before=$(lines $A)
$PY -c "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1]))).close()" "${S#*:}"
tls_refused "connect and leave" ""
good_client "TLS refusals"

# ---- a burst: one summary line per 10 s, the counts add up -----------------------
$PY - "$S" <<'PYEOF' && ok || bad "burst"
import grpc, sys
rd = lambda p: open(p, "rb").read()
creds = grpc.ssl_channel_credentials(rd("ca.pem"), rd("expired.key"), rd("expired.pem"))
for i in range(40):  # a new connection each
    with grpc.secure_channel(sys.argv[1], creds, options=[("grpc.ssl_target_name_override", "localhost")]) as ch:
        try:
            ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5)
            sys.exit("health answered on a refused connection")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e.code()
PYEOF
elapsed=$((SECONDS - START))
n=$(grep -c '^[0-9-]*T[0-9:.]*Z warn  service: refusals in the last ' main.err)
[ "$n" -ge 1 ] && [ "$n" -le $((elapsed / 10 + 2)) ] && ok || bad "$n summary lines in $elapsed s: $(cat main.err)"
good_client "a burst of refusals"
wait $IDLE_PID # before SIGTERM, which would close it anyway
grep -q "^closed after" idle.out && ok || bad "refused connection left open: $(cat idle.out)"
kill -TERM $main_PID; wait $main_PID; rc=$?
[ $rc = 0 ] && ok || bad "SIGTERM exit $rc"
# at exit the rest is summed up: every refused handshake counted once
$PY - <<'PYEOF' && ok || bad "summary counts do not add up: $(grep 'service: refusals' main.err)"
import json, re
audit = [json.loads(l) for l in open("audit.log", encoding="utf-8")]
refused = sum(1 for o in audit if o["reason"].startswith(("handshake: ", "TLS handshake failed")))
counts = {}
for line in open("main.err"):
    m = re.match(r"[0-9-]+T[0-9:.]+Z warn  service: refusals in the last [0-9.]+ s: (\d+) \((.*)\)$", line.rstrip("\n"))
    if m:
        parts = [p.rsplit(" ", 1) for p in m.group(2).split(", ")]
        assert sum(int(c) for _, c in parts) == int(m.group(1)), line
        for r, c in parts:
            counts[r] = counts.get(r, 0) + int(c)
total = sum(counts.values())
assert total == refused, (total, refused, counts)
for r in ("root_untrusted", "tcb_revoked", "cert_expired", "no_certificate", "tls_handshake"):
    assert counts.get(r, 0) > 0, (r, counts)
assert counts["cert_expired"] >= 40, counts
PYEOF

# ---- collateral unavailable: UNAVAILABLE, retry later works ----------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
$PY "$SRC/tests/pccs_server.py" --bundle sim/collateral_sgx.json --cert pccs.pem --key pccs.key > pccs.out 2> pccs.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q PORT pccs.out 2>/dev/null && break; sleep 0.1; done
PP=$(sed -n 's/^PORT //p' pccs.out)
[ -n "$PP" ] || { echo "FAIL: test PCCS did not start"; cat pccs.err; exit 1; }
pccs() { curl -s --cacert pccs.pem -X POST -d "$1" "https://127.0.0.1:$PP/__control" >/dev/null; }
cat > pccs.json <<EOF2
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"pccs": "https://127.0.0.1:$PP", "pccs_ca": "pccs.pem"},
 "policy": "policy.json", "audit": "audit_pccs.log"}
EOF2
start_server pccs
A=audit_pccs.log
pccs '{"fail": 1000, "status": 503}'
before=$(lines $A)
$BIN get --server "$S" --ca ca.pem --sim sim "${ID[@]}" image_key > get.out 2> get.err
rc=$?
[ $rc = 3 ] && grep -q "UNAVAILABLE: evidence not checked: collateral_unavailable (retry later)" get.err \
    && ok || bad "collateral unavailable: exit $rc: $(cat get.err)"
tail -n +$((before + 1)) $A | grep -q '"verdict":"unavailable","reason":"handshake: collateral_unavailable: collateral: pccs: .*HTTP 503' \
    && ok || bad "collateral unavailable: audit line: $(cat $A)"
tail -n +$((before + 1)) $A | grep -q '"peer":"ipv4:.*"verdict":"unavailable","reason":"/asps.v1.SecretProvision/GetSecrets: evidence not checked: collateral_unavailable' \
    && ok || bad "collateral unavailable: call audit line: $(cat $A)"
out=$(py good occlum image_key)
[ "$out" = "STATUS UNAVAILABLE evidence not checked: collateral_unavailable (retry later)" ] && ok || bad "python, collateral unavailable: $out"
grep -q "collateral_unavailable" pccs.err && ok || bad "no refusal summary on stderr: $(cat pccs.err)"
# the same connection, the PCCS back: a call after the retry time is checked again
$PY - "$S" "$PP" <<'PYEOF' && ok || bad "retry on the same connection"
import grpc, json, ssl, sys, time, urllib.request
rd = lambda p: open(p, "rb").read()
creds = grpc.ssl_channel_credentials(rd("ca.pem"), rd("good.key"), rd("good.pem"))
ctx = ssl.create_default_context(cafile="pccs.pem")
with grpc.secure_channel(sys.argv[1], creds, options=[("grpc.ssl_target_name_override", "localhost")]) as ch:
    call = ch.unary_unary("/ratls.GrSecret/GetSecret")
    try:
        call(b"\x0a\x09image_key", timeout=5)
        sys.exit("answered while the PCCS is down")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNAVAILABLE and "collateral_unavailable" in e.details(), e
    urllib.request.urlopen(urllib.request.Request("https://127.0.0.1:%s/__control" % sys.argv[2],
                           data=json.dumps({"fail": 0}).encode()), context=ctx).read()
    time.sleep(5.5)  # ASPS_RPC_REFUSAL_RETRY_MS
    reply = call(b"\x0a\x09image_key", timeout=5)
    assert reply == b"\x0a\x04azN5", reply  # "k3y" in base64
PYEOF
out=$($BIN get --server "$S" --ca ca.pem --sim sim "${ID[@]}" image_key 2>&1)
[ "$out" = "Secret received: 6b-33-79" ] && ok || bad "collateral back, a new connection: $out"
# collateral that does not verify (a bundle of another platform, signed by a
# root nobody trusts) is the server's trouble too, not the peer's
sed -e 's|{"pccs": [^}]*}|{"bundle": "other/collateral_sgx.json"}|' -e 's/audit_pccs/audit_bundle/' pccs.json > bundle.json
grep -q other/collateral_sgx.json bundle.json || bad "bundle config"
start_server bundle
$BIN get --server "$S" --ca ca.pem --sim sim "${ID[@]}" image_key > get.out 2> get.err
rc=$?
[ $rc = 3 ] && grep -q "UNAVAILABLE: evidence not checked: collateral_unavailable" get.err && ok || bad "collateral that does not verify: exit $rc: $(cat get.err)"
grep -q '"reason":"handshake: collateral_unavailable: collateral: TCB info issuer chain: .*\[root_untrusted\]"' audit_bundle.log \
    && ok || bad "collateral that does not verify: audit: $(cat audit_bundle.log)"
# a PCCS that is not there at all is the same kind of trouble
kill $pccs_PID; wait $pccs_PID 2>/dev/null
sed "s/127.0.0.1:$PP/127.0.0.1:1/" pccs.json > gone.json
start_server gone
$BIN get --server "$S" --ca ca.pem --sim sim "${ID[@]}" image_key > get.out 2> get.err
rc=$?
[ $rc = 3 ] && grep -q "collateral_unavailable" get.err && ok || bad "PCCS gone: exit $rc: $(cat get.err)"

echo "$pass passed, $failn failed"
[ $failn = 0 ]
