# lib_serve.sh: the set-up the server tests share (sourced, never run).
#
#   serve_begin NAME     a temporary folder /tmp/asps-NAME-XXXXXX, made the
#                        current one (T); at exit every pid in PIDS is
#                        killed, the folder's audit.log kept as
#                        $ASPS_AUDIT_KEEP/NAME.log when that is set (the
#                        suite's audit_lines_json reads it), the folder
#                        removed; ok / bad count checks (pass, failn)
#   serve_platform       a simulated platform (sim/), a server certificate
#                        for 127.0.0.1 and localhost (server.pem,
#                        server.key), MRE (an enclave measurement) and an
#                        RA-TLS client certificate for it (c.pem, c.key)
#   serve_start CONFIG PREFIX [NAME=VALUE...]
#                        asps serve --config CONFIG in the background, in
#                        the environment given, stdout in PREFIX.out and
#                        stderr in PREFIX.err; returns once it listens:
#                        SPID its pid (also in PIDS), S its address; exits
#                        the test, showing what it said, if it does not
#   serve_end            the summary line; the test's status
#
# Needs BIN (the asps command) set before.

. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib_wait.sh"

serve_begin() {
    SERVE_NAME=$1
    T=$(mktemp -d "/tmp/asps-$1-XXXXXX")
    PIDS=
    pass=0 failn=0
    trap serve_cleanup EXIT
    cd "$T" || exit 1
}

serve_cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${ASPS_AUDIT_KEEP:-}" ] && [ -f "$T/audit.log" ]; then
        mkdir -p "$ASPS_AUDIT_KEEP" && cp "$T/audit.log" "$ASPS_AUDIT_KEEP/$SERVE_NAME.log"
    fi
    rm -rf "$T"
}

ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }

serve_platform() {
    "$BIN" sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
        -out server.pem -days 30 -subj "/CN=localhost" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null \
        || { echo "FAIL: server certificate"; exit 1; }
    MRE=$(printf 'a1%.0s' {1..32})
    "$BIN" cert new --out c.pem --key c.key --sim sim --mrenclave "$MRE" >/dev/null \
        || { echo "FAIL: cert new"; exit 1; }
}

serve_start() {
    local conf=$1 pre=$2
    shift 2
    env "$@" "$BIN" serve --config "$conf" > "$pre.out" 2> "$pre.err" &
    SPID=$!
    PIDS="$PIDS $SPID"
    wait_listening "$pre.out" "$SPID" "$pre.err" \
        || { echo "FAIL: asps serve --config $conf did not start"; exit 1; }
    S=$LISTEN_ADDR
}

serve_end() {
    echo "$SERVE_NAME: $pass passed, $failn failed"
    [ "$failn" = 0 ]
}
