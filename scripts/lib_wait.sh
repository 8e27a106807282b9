# lib_wait.sh: waiting for "asps serve" to listen (sourced, never run; by the
# demos and the integration tests).
#
#   wait_listening OUTFILE PID [ERRFILE]
#       waits for the whole line "asps: listening on ADDR" in OUTFILE (the
#       server's stdout; the server prints it once its ports are bound, after
#       the "ops: listening" line on stderr), ADDR being HOST:PORT as the
#       server prints it (127.0.0.1:7788, [::1]:7788). On it: LISTEN_ADDR=ADDR,
#       LISTEN_PORT=PORT, return 0. Gives up (return 1), saying why and
#       showing what OUTFILE and ERRFILE hold, as soon as PID has exited
#       without that line, or after 30 s (a loaded CI machine once took
#       more than 3 s; this is not a speed test). The caller decides what a
#       failure means; mostly: "FAIL: ... did not start", exit 1.
#
# OUTFILE should not hold an earlier server's line (remove it first when a
# name is reused: the redirection happens in the child, maybe late).

wait_listening() {
    local out=$1 pid=$2 err=${3:-} why="" end=$((SECONDS + 30))
    LISTEN_ADDR= LISTEN_PORT=
    while :; do
        LISTEN_ADDR=$(sed -n 's/^asps: listening on \([^ ]*:[0-9][0-9]*\)$/\1/p; T; q' "$out" 2>/dev/null)
        [ -n "$LISTEN_ADDR" ] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            # it may have written the line just before it ended
            LISTEN_ADDR=$(sed -n 's/^asps: listening on \([^ ]*:[0-9][0-9]*\)$/\1/p; T; q' "$out" 2>/dev/null)
            [ -n "$LISTEN_ADDR" ] && break
            why="exited without its listening line"
            break
        fi
        if [ "$SECONDS" -ge "$end" ]; then
            why="printed no listening line within 30 s"
            break
        fi
        sleep 0.1
    done
    if [ -n "$LISTEN_ADDR" ]; then
        LISTEN_PORT=${LISTEN_ADDR##*:}
        return 0
    fi
    echo "asps serve (pid $pid) $why"
    local f
    for f in "$out" ${err:+"$err"}; do
        if [ -s "$f" ]; then
            echo "--- $f:"
            sed 's/^/    /' "$f"
        else
            echo "--- $f: (empty or missing)"
        fi
    done
    return 1
}
