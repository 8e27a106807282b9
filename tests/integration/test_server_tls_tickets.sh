#!/usr/bin/env bash
# test_server_tls_tickets.sh: asps serve issues no TLS 1.3 session tickets
# (issue 17: two per handshake, each re-encoding the client's certificate,
# used by no client), checked on the wire with a real peer (openssl
# s_client -msg counts the NewSessionTicket messages it receives):
#  - the counter itself: a stock OpenSSL server (openssl s_server) sends 2;
#  - asps serve sends 0, to a client without a certificate and to one with
#    an RA-TLS certificate, after a completed handshake; it still serves;
#  - the system's OpenSSL settings are kept: with an OPENSSL_CONF whose
#    ssl_conf system_default allows only the TLS 1.3 suite CHACHA20, a
#    client offering only AES-128-GCM is refused and one offering CHACHA20
#    connects (and gets no ticket either); also when OPENSSL_CONF's path
#    holds '#' and '$' (special to OpenSSL's config parser).
set -u
BIN=${ASPS_BIN:?}
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
. "$(dirname "$0")/lib_serve.sh"
serve_begin test_server_tls_tickets
serve_platform
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"k": "k"}}]}
EOF
echo '{"k": "text:v1"}' > kms.json
cat > server.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log"}
EOF

# one TLS connection held open 1 s (the tickets come after the handshake),
# its messages in NAME.msg; prints "CIPHER TICKETS" (CIPHER "(NONE)" when
# the handshake did not complete)
probe() { # name host:port [s_client args...]
    local name=$1 addr=$2
    shift 2
    (sleep 1) | timeout 10 openssl s_client -connect "$addr" -msg "$@" > "$name.msg" 2>&1
    local cipher tickets
    cipher=$(sed -n 's/.*, Cipher is \(.*\)$/\1/p' "$name.msg" | head -1)
    tickets=$(grep -a -c '^<<< .*NewSessionTicket' "$name.msg")
    echo "${cipher:-(NONE)} $tickets"
}
start_server() { # out-prefix [NAME=VALUE...]
    local pre=$1
    shift
    serve_start server.json "$pre" "$@"
}

# ---- the counter sees a stock OpenSSL server's tickets ----------------------
(sleep 5 | openssl s_server -accept 127.0.0.1:0 -cert server.pem -key server.key -naccept 1 \
    > sserver.out 2>&1) &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -aq '^ACCEPT 127' sserver.out 2>/dev/null && break; sleep 0.1; done
SS=$(sed -n 's/^ACCEPT \(127.0.0.1:[0-9]*\)$/\1/p' sserver.out)
[ -n "$SS" ] || { echo "FAIL: openssl s_server did not start"; cat sserver.out; exit 1; }
out=$(probe stock "$SS")
case "$out" in TLS_*" 2") ok ;; *) bad "openssl s_server: want a TLS 1.3 suite and 2 tickets, got: $out" ;; esac

# ---- asps serve sends none ----------------------------------------------------
start_server a
out=$(probe nocert "$S" -alpn h2)
case "$out" in TLS_*" 0") ok ;; *) bad "asps serve, client without a certificate: $out (want 0 tickets)" ;; esac
out=$(probe ratls "$S" -alpn h2 -cert c.pem -key c.key)
case "$out" in TLS_*" 0") ok ;; *) bad "asps serve, RA-TLS client: $out (want 0 tickets)" ;; esac
grep -a -q '^>>> .*Certificate$' ratls.msg && ok || bad "the RA-TLS client sent no certificate"
got=$($BIN get --server "$S" --ca server.pem --sim sim --mrenclave "$MRE" k 2>&1)
[ "$got" = "Secret received: 76-31" ] && ok || bad "asps get: $got"
grep -qi "session tickets" a.err && bad "asps serve warned: $(grep -i "session tickets" a.err)" || ok
kill "$SPID"; wait "$SPID" 2>/dev/null

# ---- with the system's ssl_conf settings kept ---------------------------------
cat > sys.cnf <<'EOF'
openssl_conf = sys_init
[sys_init]
ssl_conf = sys_ssl
[sys_ssl]
system_default = sys_default
[sys_default]
Ciphersuites = TLS_CHACHA20_POLY1305_SHA256
EOF
start_server b OPENSSL_CONF="$T/sys.cnf"
out=$(probe aes "$S" -alpn h2 -ciphersuites TLS_AES_128_GCM_SHA256)
case "$out" in "(NONE) "*) ok ;; *) bad "system Ciphersuites not kept: AES-128 client got $out" ;; esac
out=$(probe chacha "$S" -alpn h2 -ciphersuites TLS_CHACHA20_POLY1305_SHA256)
[ "$out" = "TLS_CHACHA20_POLY1305_SHA256 0" ] && ok || bad "system Ciphersuites: CHACHA20 client got $out (want it and 0 tickets)"
kill "$SPID"; wait "$SPID" 2>/dev/null
# the same file in a folder whose name holds characters OpenSSL's config
# parser reads specially ('#' starts a comment, '$' a variable): read again
# whole, not cut short. Before, the second read lost the file, and running
# the ssl_conf module on what was left dropped the system's settings: the
# AES-128 client connected, and got 2 tickets
mkdir -p "$T/odd#dir\$x"
cp sys.cnf "$T/odd#dir\$x/sys.cnf"
start_server d OPENSSL_CONF="$T/odd#dir\$x/sys.cnf"
out=$(probe aes3 "$S" -alpn h2 -ciphersuites TLS_AES_128_GCM_SHA256)
case "$out" in "(NONE) "*) ok ;; *) bad "OPENSSL_CONF with '#' and '\$': system Ciphersuites not kept: AES-128 client got $out" ;; esac
out=$(probe chacha3 "$S" -alpn h2 -ciphersuites TLS_CHACHA20_POLY1305_SHA256)
[ "$out" = "TLS_CHACHA20_POLY1305_SHA256 0" ] && ok || bad "OPENSSL_CONF with '#' and '\$': CHACHA20 client got $out (want it and 0 tickets)"
grep -qi "session tickets" d.err && bad "OPENSSL_CONF with '#' and '\$': warned: $(grep -i "session tickets" d.err)" || ok
kill "$SPID"; wait "$SPID" 2>/dev/null
# the same client against a server without that file: AES-128 is fine
start_server c
out=$(probe aes2 "$S" -alpn h2 -ciphersuites TLS_AES_128_GCM_SHA256)
[ "$out" = "TLS_AES_128_GCM_SHA256 0" ] && ok || bad "default settings: AES-128 client got $out"

serve_end
