#!/usr/bin/env bash
# test_serve_notify.sh: `asps serve` speaks systemd's readiness protocol
# (sd_notify(3), Type=notify) to a fake NOTIFY_SOCKET: a python3 unix
# datagram socket that records each message, as systemd's manager would
# receive it. Expected, in this order:
#   READY=1 (+ STATUS=serving on HOST:PORT), only after the port is bound;
#   on SIGHUP: RELOADING=1 with MONOTONIC_USEC=, then READY=1 with a STATUS
#   summing the reload up (a refused TLS pair and a refused policy say so);
#   on SIGTERM: STOPPING=1 with a STATUS, before the process exits.
# Without NOTIFY_SOCKET nothing is sent and nothing is logged about it.
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import socket' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3"; exit 77; }
T=$(mktemp -d /tmp/asps-notify-XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

# the fake manager: one JSON line per datagram, with whether the address a
# STATUS names ("serving on HOST:PORT") accepted a connection when the
# datagram came (READY=1 must not come before the port is bound)
cat > notify_sink.py <<'EOF'
import json, re, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("BOUND", flush=True)
with open(out, "a") as f:
    while True:
        data = s.recv(65536)
        listening = False
        m = re.search(r"serving on 127\.0\.0\.1:([0-9]+)", data.decode("utf-8", "replace"))
        if m:
            try:
                socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=1).close()
                listening = True
            except OSError:
                pass
        f.write(json.dumps({"msg": data.decode("utf-8", "replace"), "listening": listening}) + "\n")
        f.flush()
EOF
$PY notify_sink.py "$T/notify.sock" notify.jsonl > sink.out 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q BOUND sink.out 2>/dev/null && break; sleep 0.1; done
grep -q BOUND sink.out || { echo "FAIL: notify sink did not start: $(cat sink.out)"; exit 1; }

$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem -days 2 \
    -subj "/CN=other" 2>/dev/null
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
 "limits": {"threads": 2, "drain_ms": 500}}
EOF
NOTIFY_SOCKET="$T/notify.sock" $BIN serve --config server.json > serve.out 2> serve.err &
SPID=$!
PIDS="$PIDS $SPID"
wait_listening serve.out $SPID serve.err || { echo "FAIL: server did not start"; exit 1; }
PORT=$LISTEN_PORT
msgs() { [ -f notify.jsonl ] && wc -l < notify.jsonl || echo 0; }
wait_msgs() { # count
    for _ in $(seq 100); do [ "$(msgs)" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
}
# field N (1-based) of the recorded messages: "KEY=VALUE|KEY=VALUE|..."
msg() {
    $PY - "$1" <<'EOF'
import json, sys
lines = open("notify.jsonl").read().splitlines()
m = json.loads(lines[int(sys.argv[1]) - 1])
print("|".join(m["msg"].split("\n")) + ("|listening" if m["listening"] else "|not-listening"))
EOF
}

wait_msgs 1 && ok || bad "no READY=1 after start"
m=$(msg 1)
case "$m" in "READY=1|STATUS=serving on 127.0.0.1:$PORT|listening") ok ;; *) bad "first message: $m" ;; esac

# a reload that is fine
kill -HUP "$SPID"
wait_msgs 3 && ok || bad "SIGHUP: $(msgs) messages, want 3"
m=$(msg 2)
echo "$m" | grep -Eq '^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=reloading' && ok || bad "reload begins: $m"
usec=$(echo "$m" | sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p')
now=$($PY -c 'import time; print(int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6))')
[ -n "$usec" ] && [ "$usec" -le "$now" ] && [ $((now - usec)) -lt 60000000 ] && ok \
    || bad "MONOTONIC_USEC=$usec is not CLOCK_MONOTONIC now ($now)"
m=$(msg 3)
echo "$m" | grep -Eq "^READY=1\|STATUS=serving on 127.0.0.1:$PORT; reload at [0-9T:-]+Z: policy and KMS reloaded, audit file reopened, TLS certificate unchanged\|listening$" \
    && ok || bad "reload done: $m"

# a reload whose policy and TLS pair are both bad: still READY=1, the STATUS says so
cp policy.json policy.good; echo '{' > policy.json
cp server.key server.key.good; cp other.key server.key
kill -HUP "$SPID"
wait_msgs 5 && ok || bad "second SIGHUP: $(msgs) messages, want 5"
m=$(msg 4)
echo "$m" | grep -q '^RELOADING=1|' && ok || bad "second reload begins: $m"
m=$(msg 5)
echo "$m" | grep -q "^READY=1|STATUS=serving on 127.0.0.1:$PORT; reload at .*: policy and KMS refused (old kept), audit file reopened, TLS certificate refused|listening$" \
    && ok || bad "refused reload: $m"
cp policy.good policy.json; cp server.key.good server.key

# SIGTERM: STOPPING=1 before the process is gone
kill -TERM "$SPID"
wait "$SPID"; rc=$?
PIDS=${PIDS% $SPID}
[ "$rc" = 0 ] && ok || bad "exit $rc after SIGTERM"
wait_msgs 6 && ok || bad "no STOPPING=1"
m=$(msg 6)
echo "$m" | grep -q '^STOPPING=1|STATUS=stopping: draining in-flight calls for up to 500 ms|' && ok || bad "stopping: $m"
[ "$(msgs)" = 6 ] && ok || bad "$(msgs) messages, want 6: $(cat notify.jsonl)"

# without NOTIFY_SOCKET: serves, says nothing about systemd
$BIN serve --config server.json > plain.out 2> plain.err &
SPID=$!
PIDS="$PIDS $SPID"
wait_listening plain.out $SPID plain.err && ok || bad "without NOTIFY_SOCKET: did not start"
kill -TERM "$SPID"; wait "$SPID"
grep -qi "sd_notify" plain.err && bad "without NOTIFY_SOCKET: $(grep -i sd_notify plain.err)" || ok
[ "$(msgs)" = 6 ] && ok || bad "a server without NOTIFY_SOCKET sent messages"

# a NOTIFY_SOCKET nobody listens on: one warning line per message, serving goes on
NOTIFY_SOCKET="$T/nobody.sock" $BIN serve --config server.json > gone.out 2> gone.err &
SPID=$!
PIDS="$PIDS $SPID"
wait_listening gone.out $SPID gone.err && ok || bad "dead NOTIFY_SOCKET: did not start"
kill -TERM "$SPID"; wait "$SPID"; rc=$?
[ "$rc" = 0 ] && ok || bad "dead NOTIFY_SOCKET: exit $rc"
grep -q "warn  serve: sd_notify: cannot tell systemd" gone.err && ok || bad "dead NOTIFY_SOCKET: no warning: $(cat gone.err)"

echo "$pass passed, $failn failed"
[ $failn = 0 ]
