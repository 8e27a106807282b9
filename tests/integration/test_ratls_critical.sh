#!/usr/bin/env bash
# test_ratls_critical.sh: criticality of RA-TLS certificate extensions is
# decided by asps's own list (RFC 5280 4.2), in `asps cert verify` and in the
# real server's handshake (`asps serve`, an independent Python grpcio
# client). The certificates are re-made by openssl (tests/ratls_reissue.py)
# from the evidence of `asps cert new`, for the same key, so asps wrote
# neither their criticality flags nor their OIDs: the DICE evidence marked
# critical (as the TCG DICE profile recommends) and the Gramine one marked
# critical are accepted, and so is Gramine's mis-encoded pre-2022 OID;
# an unknown critical extension and a critical extendedKeyUsage are
# refused, the OID named in the reason and in the audit line; the server
# keeps serving after each refusal.
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
SRC=${ASPS_SRC:?}
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import grpc' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with grpcio"; exit 77; }
CLIENT="$PY $SRC/tests/rpc_client.py"
REISSUE="$PY $SRC/tests/ratls_reissue.py"

T=$(mktemp -d /tmp/asps-crit-XXXXXX)
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null
    # left for the suite-wide check of every audit line (audit_lines_json)
    if [ -n "${ASPS_AUDIT_KEEP:-}" ] && [ -f "$T/audit.log" ]; then
        mkdir -p "$ASPS_AUDIT_KEEP" && cp "$T/audit.log" "$ASPS_AUDIT_KEEP/test_ratls_critical.log"
    fi
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

GRAMINE=1.2.840.113741.1337.6 DICE=2.23.133.5.4.9 MISENC=0.6.9.42.840.113741.1337.6
UNKNOWN=1.3.6.1.4.1.99999.1 EKU=2.5.29.37
MRE=$(printf 'a1%.0s' {1..32})
$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
$BIN cert new --out asps.pem --key k.pem --sim sim --mrenclave "$MRE" >/dev/null || { echo "FAIL: cert new"; exit 1; }

# name: the re-made certificate; the rest: ratls_reissue.py options
make() { local n=$1; shift; $REISSUE asps.pem k.pem "$n.pem" "$@" || bad "reissue $n"; }
make dice-critical --copy $DICE:critical
make gramine-critical --copy $GRAMINE:critical
make both-critical --copy $GRAMINE:critical --copy $DICE:critical
make misencoded --copy $GRAMINE:as=$MISENC
make misencoded-critical --copy $GRAMINE:critical:as=$MISENC
make unknown-critical --copy $GRAMINE --copy $DICE --add $UNKNOWN:critical:0500
make unknown-noncritical --copy $GRAMINE --add $UNKNOWN:noncritical:0500
make eku-critical --copy $GRAMINE --add $EKU:critical:300a06082b06010505070302
# keyUsage (critical) with digitalSignature, and with keyEncipherment only
make ku-sign --copy $DICE:critical --add 2.5.29.15:critical:03020780
make ku-nosign --copy $GRAMINE --add 2.5.29.15:critical:03020520
# the premise: openssl itself reads these flags as written
openssl x509 -in dice-critical.pem -noout -text | grep -q "$DICE: critical" && ok || bad "DICE not critical"
openssl x509 -in gramine-critical.pem -noout -text | grep -q "$GRAMINE: critical" && ok || bad "Gramine not critical"
openssl x509 -in misencoded.pem -outform DER | xxd -p | tr -d '\n' | grep -q 060b06092a864886f84d8a3906 &&
    ok || bad "mis-encoded OID not as Gramine wrote it"

# ---- asps cert verify -----------------------------------------------------------
verify() { # name want-rc [want-format | want-reason-substring]
    $BIN cert verify "$1.pem" --sim sim --json > "$1.out" 2> "$1.err"
    local rc=$?
    [ "$rc" = "$2" ] && ok || bad "cert verify $1: rc $rc, want $2: $(cat "$1.err")"
    if [ "$2" = 0 ]; then
        grep -q "\"ratls_format\":\"$3\"" "$1.out" && ok || bad "cert verify $1: format: $(cat "$1.out")"
    else
        grep -qF "$3" "$1.out" && ok || bad "cert verify $1: reason: $(cat "$1.out")"
    fi
}
verify dice-critical 0 dice
verify gramine-critical 0 gramine
verify both-critical 0 gramine+dice
verify misencoded 0 gramine-misencoded-oid
verify misencoded-critical 0 gramine-misencoded-oid
verify unknown-noncritical 0 gramine
verify ku-sign 0 dice
verify unknown-critical 1 "critical extension $UNKNOWN is not one asps understands"
verify eku-critical 1 "critical extension $EKU is not one asps understands"
verify ku-nosign 1 "keyUsage does not allow digitalSignature"

# ---- the server's handshake -----------------------------------------------------------
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -subj "/CN=asps test CA" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem 2>/dev/null
ec server.key && openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
    -out server.pem 2>/dev/null
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"db_password": "db_password"}}]}
EOF
echo '{"db_password": "text:hunter2"}' > kms.json
cat > server.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log"}
EOF
$BIN serve --config server.json > serve.out 2> serve.err &
SPID=$!
wait_listening serve.out $SPID serve.err || { echo "FAIL: server did not start"; exit 1; }
PORT=$LISTEN_PORT

get() { $CLIENT --target "127.0.0.1:$PORT" --ca ca.pem --server-name localhost --cert "$1.pem" --key k.pem \
        gethex db_password 2>&1; }
granted() {
    local out; out=$(get "$1")
    [ "$out" = "db_password=68756e74657232" ] && ok || bad "server refused $1: $out"
}
refused() { # name reason-substring
    local before out; before=$(wc -l < audit.log)
    out=$(get "$1")
    # the refusal reaches the client with its reason (issue 12: evidence
    # refused is told apart from a server that is down)
    echo "$out" | grep -q "^STATUS UNAUTHENTICATED evidence refused: unsupported" &&
        echo "$out" | grep -qF "$2" && ok || bad "server did not refuse $1 with its reason: $out"
    tail -n +"$((before + 1))" audit.log | grep '"verdict":"unauthenticated"' | grep -qF "$2" &&
        ok || bad "$1: no audit line naming the reason ($2): $(tail -n +"$((before + 1))" audit.log)"
    granted dice-critical   # and the server still serves
}
granted asps
granted dice-critical
granted gramine-critical
granted both-critical
granted misencoded-critical
refused unknown-critical "critical extension $UNKNOWN is not one asps understands"
refused eku-critical "critical extension $EKU is not one asps understands"

kill -TERM $SPID; wait $SPID; rc=$?; SPID=
[ $rc = 0 ] && ok || bad "SIGTERM exit $rc"
echo "$pass passed, $failn failed"
[ $failn = 0 ]
