#!/usr/bin/env bash
# test_serve_reload.sh: what SIGHUP reloads besides the policy (issue 14):
#  - the audit file: renamed away (log rotation), SIGHUP, and the next
#    decision's line is in a new file at the configured path, none more in
#    the renamed one; a path that cannot be opened (a folder in its place)
#    keeps the old file in use and says why;
#  - the TLS certificate and key: a real peer (openssl s_client) sees the
#    NEW server certificate after SIGHUP, and asps get trusting only the new
#    one fetches a secret; a bad pair (key of another certificate, an
#    expired certificate, one not valid yet, a key file gone, a certificate
#    that is not PEM) is refused with its reason, the old pair kept and
#    served, the server alive.
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
T=$(mktemp -d /tmp/asps-reload-XXXXXX)
SPID=
keep_audit() { # the rotated files too, for the suite's audit_lines_json check
    [ -n "${ASPS_AUDIT_KEEP:-}" ] || return 0
    mkdir -p "$ASPS_AUDIT_KEEP"
    for f in audit.log.1 audit.log.2; do [ -f "$T/$f" ] && cp "$T/$f" "$ASPS_AUDIT_KEEP/test_serve_reload_${f#audit.log.}.log"; done
    return 0
}
cleanup() { [ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; wait 2>/dev/null; keep_audit; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
newcert() { # name [days]: a self-signed P-256 certificate for 127.0.0.1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$1.pem" -days "${2:-2}" -subj "/CN=asps-$1" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
}
# a certificate valid from $2 to $3 (openssl ca: req -x509 cannot backdate)
datedcert() { # name start end
    mkdir -p ca && : > ca/index.txt && echo 01 > ca/serial
    cat > ca/ca.cnf <<'EOF'
[ca]
default_ca = d
[d]
database = ca/index.txt
new_certs_dir = ca
serial = ca/serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = copy
[p]
commonName = supplied
EOF
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
        -subj "/CN=asps-$1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null &&
    openssl ca -batch -config ca/ca.cnf -selfsign -keyfile "$1.key" -in "$1.csr" -out "$1.pem" \
        -startdate "$2" -enddate "$3" -notext >/dev/null 2>&1
}
newcert a; newcert b
datedcert expired 20200101000000Z 20210101000000Z || { echo "FAIL: expired certificate"; exit 1; }
datedcert future 20990101000000Z 20991231000000Z || { echo "FAIL: future certificate"; exit 1; }
cp a.pem server.pem; cp a.key server.key

MRE=$(printf 'a1%.0s' {1..32})
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"k": "k"}}]}
EOF
echo '{"k": "text:v1"}' > kms.json
cat > server.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log",
 "limits": {"threads": 2, "drain_ms": 1000}}
EOF
$BIN serve --config server.json > serve.out 2> serve.err &
SPID=$!
wait_listening serve.out $SPID serve.err || { echo "FAIL: server did not start"; exit 1; }
PORT=$LISTEN_PORT
S=$LISTEN_ADDR
GET() { $BIN get --server "$S" --ca "$1" --sim sim --mrenclave "$MRE" k 2>&1; }
# the subject of the certificate the server presents to a new TLS client
# (openssl, not asps: a peer asps did not write)
presented() {
    openssl s_client -connect "$S" -alpn h2 </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null |
        sed 's/^subject=[[:space:]]*//; s/ //g'
}
# SIGHUP, then wait until serve.err has one more line matching $1
hup() { # pattern
    local n
    n=$(grep -c -- "$1" serve.err)
    kill -HUP "$SPID"
    for _ in $(seq 100); do [ "$(grep -c -- "$1" serve.err)" -gt "$n" ] && return 0; sleep 0.1; done
    return 1
}
lines() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

# ---- the audit file -----------------------------------------------------------------
[ "$(GET a.pem)" = "Secret received: 76-31" ] && ok || bad "first call: $(GET a.pem)"
before=$(lines audit.log)
[ "$before" -ge 1 ] && ok || bad "no audit line before rotation"
mv audit.log audit.log.1
hup "reopened the audit file" && ok || bad "no reopen line: $(tail -3 serve.err)"
[ -f audit.log ] && ok || bad "SIGHUP did not create a new audit.log"
[ "$(GET a.pem)" = "Secret received: 76-31" ] && ok || bad "call after rotation"
[ "$(lines audit.log)" = 1 ] && ok || bad "new audit.log has $(lines audit.log) lines, want 1"
grep -q '"verdict":"granted"' audit.log && ok || bad "new audit.log: $(cat audit.log)"
[ "$(lines audit.log.1)" = "$before" ] && ok || bad "the renamed file got more lines: $(lines audit.log.1), had $before"
# a folder in the log's place: reopen refused, lines still go to the old file
mv audit.log audit.log.2 && mkdir audit.log
hup "audit file reopen failed" && ok || bad "no reopen failure line: $(tail -3 serve.err)"
grep -q "audit file reopen failed, still writing to the old one: audit: cannot open .*audit.log: Is a directory" serve.err \
    && ok || bad "reopen failure reason: $(grep 'reopen failed' serve.err)"
[ "$(GET a.pem)" = "Secret received: 76-31" ] && ok || bad "call with a folder at the audit path"
[ "$(lines audit.log.2)" = 2 ] && ok || bad "old file after a failed reopen: $(lines audit.log.2) lines, want 2"
rmdir audit.log
hup "reopened the audit file" && ok || bad "reopen after the folder went"

# ---- the TLS certificate and key --------------------------------------------------------
[ "$(presented)" = "CN=asps-a" ] && ok || bad "before reload the server presents '$(presented)'"
cp b.pem server.pem.new && mv server.pem.new server.pem
cp b.key server.key.new && mv server.key.new server.key
hup "reloaded the TLS certificate" && ok || bad "no TLS reload line: $(tail -3 serve.err)"
[ "$(presented)" = "CN=asps-b" ] && ok || bad "after reload the server presents '$(presented)', want CN=asps-b"
[ "$(GET b.pem)" = "Secret received: 76-31" ] && ok || bad "asps get trusting the new certificate: $(GET b.pem)"
case "$(GET a.pem)" in "Secret received"*) bad "a client trusting only the old certificate still connects" ;; *) ok ;; esac

# each bad pair: refused with its reason, the pair in use (b) kept and served
refused() { # name cert key reason
    cp "$2" server.pem; cp "$3" server.key
    hup "TLS certificate reload refused" && ok || bad "$1: no refusal line: $(tail -2 serve.err)"
    tail -1 serve.err | grep -q -- "$4" && ok || bad "$1: reason: $(tail -1 serve.err), want $4"
    [ "$(presented)" = "CN=asps-b" ] && ok || bad "$1: server presents '$(presented)' after a refused reload"
    [ "$(GET b.pem)" = "Secret received: 76-31" ] && ok || bad "$1: not served after a refused reload"
}
refused "mismatched pair" a.pem b.key "server key: not the key of the server certificate"
refused "expired" expired.pem expired.key "server certificate: expired on 2021-01-01"
refused "not yet valid" future.pem future.key "server certificate: not valid yet: valid from 2099-01-01"
echo "not a certificate" > junk.pem
refused "not PEM" junk.pem b.key "server certificate: no PEM certificate in the file"
cp b.pem server.pem; rm -f server.key
hup "TLS certificate reload refused" && ok || bad "key gone: no refusal"
tail -1 serve.err | grep -q "server.key" && ok || bad "key gone: reason does not name the file: $(tail -1 serve.err)"
[ "$(presented)" = "CN=asps-b" ] && ok || bad "key gone: server presents '$(presented)'"
# and a good pair after all that is taken
cp a.pem server.pem; cp a.key server.key
hup "reloaded the TLS certificate" && ok || bad "no reload back to a"
[ "$(presented)" = "CN=asps-a" ] && ok || bad "after reload back the server presents '$(presented)'"
# the same pair again: nothing to reload, no line (the TLS step comes after
# the audit reopen's line; a swap would log within its 1.5 s wait)
hup "reopened the audit file" && ok || bad "reload of an unchanged pair"
sleep 2
[ "$(grep -c 'reloaded the TLS certificate' serve.err)" = 2 ] && ok || bad "an unchanged pair was reloaded"

kill -0 "$SPID" 2>/dev/null && ok || bad "server died"
kill -TERM "$SPID"; wait "$SPID"; rc=$?; SPID=
[ "$rc" = 0 ] && ok || bad "exit $rc after SIGTERM"
if [ -n "${ASPS_AUDIT_KEEP:-}" ]; then # every audit line, to the strict JSON reader
    mkdir -p "$ASPS_AUDIT_KEEP" && cat audit.log.1 audit.log.2 audit.log > "$ASPS_AUDIT_KEEP/test_serve_reload.log"
fi
echo "$pass passed, $failn failed"
[ $failn = 0 ]
