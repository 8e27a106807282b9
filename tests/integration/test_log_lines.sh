#!/usr/bin/env bash
# test_log_lines.sh: a running `asps serve`'s stderr (issue 14, part "log"),
# read by python3 (json, re, datetime), with the real client (asps get) and
# a test PCCS (tests/pccs_server.py):
#  - text (--log-level debug): every stderr line is "TIME LEVEL COMPONENT:
#    MSG" with an RFC 3339 UTC time and one of the four levels; gRPC's own
#    lines among them (GRPC_VERBOSITY=DEBUG GRPC_TRACE=tcp makes hundreds)
#    still rate-limited: at most 20 per 10 s window, the rest summed up in
#    "grpc: N log lines suppressed"; the refusal summary, the reload and
#    the stop are log lines too;
#  - a file KMS gone for 5 calls: exactly one "down" line, one "recovered"
#    line after, saying 5 failed calls;
#  - json (default level info): every line one JSON object with exactly
#    time, level, component, msg; a PCCS answering 404 (no such platform:
#    up, no line), then 503 for several calls: one "down" and one
#    "recovered" line (component pccs); the KMS again; no debug line;
#  - a Vault KMS sealed for 3 calls, then its process stopped (SIGSTOP: no
#    answer within the KMS deadline) for 2: two outages, each one "down" and
#    one "recovered" line with its count; a name Vault does not have
#    (PERMISSION_DENIED to the peer) does not make it look down;
#  - --log-level warn: no info line (the reload says nothing), the KMS's
#    transitions still there; --log-level and --log-format refuse unknown
#    values (exit 2);
#  - stdout holds only the "asps: listening on" announcement.
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
SRC=${ASPS_SRC:?}
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import json' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: no curl"; exit 77; }

T=$(mktemp -d /tmp/asps-log-XXXXXX)
PIDS=
keep_audit() { # for the suite's audit_lines_json check
    [ -n "${ASPS_AUDIT_KEEP:-}" ] || return 0
    mkdir -p "$ASPS_AUDIT_KEEP"
    for f in audit vaudit; do [ -f "$T/$f.log" ] && cp "$T/$f.log" "$ASPS_AUDIT_KEEP/test_log_lines_$f.log"; done
    return 0
}
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; keep_audit; [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"

$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
MRE=$(printf 'a1%.0s' {1..32})
GET() { $BIN get --server "$S" --ca server.pem --sim sim --mrenclave "$MRE" k; }
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

start_server() { # name config [serve args...] -> sets S, SPID; stdout NAME.out, stderr NAME.err
    local name=$1 cfg=$2
    shift 2
    $BIN serve --config "$cfg" "$@" > "$name.out" 2> "$name.err" &
    SPID=$!
    PIDS="$PIDS $SPID"
    wait_listening "$name.out" $SPID "$name.err" || { echo "FAIL: server did not start"; exit 1; }
    S=$LISTEN_ADDR
}
stop_server() { # name
    kill -TERM "$SPID"
    wait "$SPID"; local rc=$?
    [ "$rc" = 0 ] && ok || bad "$1: exit $rc after SIGTERM"
    [ "$(cat "$1.out")" = "asps: listening on $S" ] && ok || bad "$1: stdout: $(cat "$1.out")"
}
wait_err() { # file pattern
    for _ in $(seq 50); do grep -q "$2" "$1" && return 0; sleep 0.1; done
    return 1
}
# N calls with the KMS file gone (each UNAVAILABLE), then back: served
kms_outage() { # n
    mv kms.json kms.away
    for i in $(seq "$1"); do
        out=$(GET 2>&1); rc=$?
        [ $rc = 3 ] && [[ "$out" == *"UNAVAILABLE: secret store unavailable"* ]] && ok \
            || bad "KMS gone, call $i: exit $rc: $out"
    done
    mv kms.away kms.json
    [ "$(GET 2>&1)" = "Secret received: 76-31" ] && ok || bad "KMS back: not served"
    [ "$(GET 2>&1)" = "Secret received: 76-31" ] && ok || bad "KMS back: second call"
}

# Every line of FILE in FORMAT (text|json): an RFC 3339 UTC time with
# milliseconds, within 5 minutes of now, a level of the four, a component.
check_format() { # file format
    $PY - "$1" "$2" <<'PYEOF'
import datetime, json, re, sys
path, fmt = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
assert data, "no lines at all"
assert data.endswith(b"\n"), "last line unterminated"
now = datetime.datetime.now(datetime.timezone.utc)
for raw in data.decode("utf-8").split("\n")[:-1]:
    if fmt == "json":
        o = json.loads(raw)
        assert list(o) == ["time", "level", "component", "msg"], raw
        assert all(isinstance(v, str) for v in o.values()), raw
        when, level, comp = o["time"], o["level"], o["component"]
    else:
        m = re.fullmatch(r"(\S+) (error|warn |info |debug) ([a-z_]+): (.+)", raw)
        assert m, "not a log line: %r" % raw
        when, level, comp = m.group(1), m.group(2).strip(), m.group(3)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", when), raw
    t = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    assert abs((now - t).total_seconds()) < 300, raw
    assert level in ("error", "warn", "info", "debug"), raw
PYEOF
}
# The messages of FILE's lines as "LEVEL COMPONENT: MSG", one a line.
msgs() { # file format
    $PY - "$1" "$2" <<'PYEOF'
import json, re, sys
for raw in open(sys.argv[1], encoding="utf-8"):
    if sys.argv[2] == "json":
        o = json.loads(raw)
        print("%s %s: %s" % (o["level"], o["component"], o["msg"]))
    else:
        m = re.fullmatch(r"\S+ (\S+) +([a-z_]+): (.*)\n", raw)
        print("%s %s: %s" % (m.group(1), m.group(2), m.group(3)))
PYEOF
}
# one line matching PATTERN (grep -E) in the messages, exactly
once() { # messages-file pattern what
    local n
    n=$(grep -cE "$2" "$1")
    [ "$n" = 1 ] && ok || bad "$3: $n lines match '$2' (want 1): $(cat "$1")"
}

# ---- text, debug, gRPC's own lines --------------------------------------------------
GRPC_VERBOSITY=DEBUG GRPC_TRACE=tcp start_server text server.json --log-level debug --log-format text
T0=$SECONDS
[ "$(GET 2>&1)" = "Secret received: 76-31" ] && ok || bad "text: first call"
kms_outage 5
# a connection that is not TLS at all: a refused handshake, summed up
exec 3<>"/dev/tcp/127.0.0.1/${S##*:}" && { echo garbage >&3; exec 3>&-; }
wait_err text.err "refusals in the last" && ok || bad "text: no refusal summary: $(cat text.err)"
# past gRPC's 10 s log window: the next window's first line sums up the last
sleep $(( 11 - (SECONDS - T0) > 0 ? 11 - (SECONDS - T0) : 0 ))
[ "$(GET 2>&1)" = "Secret received: 76-31" ] && ok || bad "text: a call after 10 s"
kill -HUP "$SPID"
wait_err text.err "reloaded policy and KMS" && ok || bad "text: no reload line"
stop_server text
check_format text.err text && ok || bad "text: lines not all log lines: $(head -c 3000 text.err)"
msgs text.err text > text.msgs
once text.msgs '^warn kms: the KMS \(file\) is down: kms: cannot open \./kms\.json: No such file or directory; calls that need it fail with UNAVAILABLE until it answers$' "text: KMS down"
once text.msgs '^warn kms: the KMS \(file\) recovered after [0-9.]+ s down \(5 failed calls\)$' "text: KMS recovered"
[ "$(grep -n 'KMS (file) is down' text.msgs | cut -d: -f1)" -lt "$(grep -n 'KMS (file) recovered' text.msgs | cut -d: -f1)" ] \
    && ok || bad "text: recovered before down"
grep -qE '^debug kms: the KMS \(file\) answers$' text.msgs && ok || bad "text: no debug line for the first answer"
grep -qE '^warn service: refusals in the last [0-9.]+ s: 1 \(tls_handshake 1\)$' text.msgs && ok || bad "text: refusal summary"
grep -qE '^info serve: reloaded policy and KMS$' text.msgs && ok || bad "text: reload line"
grep -qE '^info serve: stopping \(draining in-flight calls for up to 1000 ms\)$' text.msgs && ok || bad "text: stop line"
# gRPC: debug lines through the logger, at most 20 per window, the rest counted
$PY - text.msgs <<'PYEOF' && ok || bad "text: gRPC's lines: $(grep ' grpc: ' text.msgs | head -50)"
import re, sys
lines = [l.rstrip("\n") for l in open(sys.argv[1]) if " grpc: " in l]
shown = [l for l in lines if "log lines suppressed" not in l]
summed = [l for l in lines if "log lines suppressed" in l]
assert any(l.startswith("debug grpc: ") for l in shown), "no gRPC debug line"
assert summed, "no suppressed summary"
for l in summed:
    assert re.fullmatch(r"warn grpc: [1-9][0-9]* log lines suppressed in the last 10 s", l), l
# between two summaries (a window), at most 20 shown
run = 0
for l in lines:
    if "log lines suppressed" in l:
        run = 0
    else:
        run += 1
        assert run <= 20, "more than 20 gRPC lines in one window"
PYEOF

# ---- json, info, a PCCS outage and a KMS outage ---------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
$PY "$SRC/tests/pccs_server.py" --bundle sim/collateral_sgx.json --cert pccs.pem --key pccs.key > pccs.out 2> pccs.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q PORT pccs.out 2>/dev/null && break; sleep 0.1; done
PP=$(sed -n 's/^PORT //p' pccs.out)
[ -n "$PP" ] || { echo "FAIL: test PCCS did not start"; cat pccs.err; exit 1; }
pccs() { curl -s --cacert pccs.pem -X POST -d "$1" "https://127.0.0.1:$PP/__control" >/dev/null; }
sed "s|\"collateral\": {\"sim\": \"sim\"}|\"collateral\": {\"pccs\": \"https://127.0.0.1:$PP\", \"pccs_ca\": \"pccs.pem\"}|" \
    server.json > pccs.json
grep -q pccs_ca pccs.json || bad "pccs config"
# first a PCCS that answers 404 (it knows no such platform): it is up, the
# calls fail, no "down" line; then 503s: down. A platform not held is not
# fetched for again within 1 s of a failed fetch (README.md, collateral):
# each call waits that second out, so that every one of them asks the PCCS
pccs '{"fail": 100000, "status": 404}'
start_server json pccs.json --log-format json
for i in 1 2; do
    [ $i = 1 ] || sleep 1.1
    out=$(GET 2>&1); rc=$?
    [ $rc = 3 ] && [[ "$out" == *"collateral_unavailable"* ]] && ok || bad "PCCS 404, call $i: exit $rc: $out"
done
pccs '{"fail": 100000, "status": 503}'
for i in 1 2 3 4; do
    sleep 1.1
    out=$(GET 2>&1); rc=$?
    [ $rc = 3 ] && [[ "$out" == *"collateral_unavailable"* ]] && ok || bad "PCCS down, call $i: exit $rc: $out"
done
pccs '{"fail": 0}'
sleep 1.1
[ "$(GET 2>&1)" = "Secret received: 76-31" ] && ok || bad "PCCS back: not served"
[ "$(GET 2>&1)" = "Secret received: 76-31" ] && ok || bad "PCCS back: second call"
kms_outage 3
stop_server json
check_format json.err json && ok || bad "json: lines not all JSON log lines: $(head -c 3000 json.err)"
msgs json.err json > json.msgs
once json.msgs "^warn pccs: the PCCS \(https://127\.0\.0\.1:$PP\) is down: pccs: https://127\.0\.0\.1:$PP/[^ ]*: HTTP 503; calls that need it fail with UNAVAILABLE until it answers$" "json: PCCS down"
once json.msgs "^warn pccs: the PCCS \(https://127\.0\.0\.1:$PP\) recovered after [0-9.]+ s down \(([4-9]|[1-9][0-9]+) failed calls\)$" "json: PCCS recovered"
once json.msgs '^warn kms: the KMS \(file\) is down: ' "json: KMS down"
once json.msgs '^warn kms: the KMS \(file\) recovered after [0-9.]+ s down \(3 failed calls\)$' "json: KMS recovered"
grep -q '^debug ' json.msgs && bad "json: a debug line at level info: $(grep '^debug ' json.msgs)" || ok
grep -qE '^info serve: stopping ' json.msgs && ok || bad "json: stop line"

# ---- a Vault KMS: sealed, then stopped -------------------------------------------------
$PY - <<'EOF'
import json
json.dump({"kv2": {"secret": {"k": {"key": "v1"}}}, "tokens": {"root": ["*"]}}, open("seed.json", "w"))
EOF
$PY "$SRC/tests/vault_server.py" --seed seed.json > vsrv.out 2> vsrv.err &
VPID=$!
PIDS="$PIDS $VPID"
for _ in $(seq 50); do grep -q PORT vsrv.out 2>/dev/null && break; sleep 0.1; done
VPORT=$(sed -n "s/^PORT //p" vsrv.out)
[ -n "$VPORT" ] || { echo "FAIL: vault test server"; cat vsrv.err; exit 1; }
vault() { curl -s -X POST -d "$1" "http://127.0.0.1:$VPORT/__control" >/dev/null; }
cat > vpolicy.json <<EOF
{"version": 1,
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"k": "k", "gone": "gone"}}]}
EOF
cat > vserver.json <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "vpolicy.json", "audit": "vaudit.log",
 "kms": {"type": "vault", "addr": "http://127.0.0.1:$VPORT", "kv_version": 2, "token": "root"},
 "limits": {"threads": 2, "kms_deadline_ms": 1000}}
EOF
start_server vault vserver.json
[ "$(GET 2>&1)" = "Secret received: 76-31" ] && ok || bad "vault: first call"
vault '{"sealed": true}'
for i in 1 2 3; do
    out=$(GET 2>&1); rc=$?
    [ $rc = 3 ] && ok || bad "vault sealed, call $i: exit $rc: $out"
done
vault '{"sealed": false}'
[ "$(GET 2>&1)" = "Secret received: 76-31" ] && ok || bad "vault unsealed: not served"
kill -STOP "$VPID"
for i in 1 2; do
    out=$(GET 2>&1); rc=$?
    [ $rc = 3 ] && ok || bad "vault stopped, call $i: exit $rc: $out"
done
kill -CONT "$VPID"
[ "$(GET 2>&1)" = "Secret received: 76-31" ] && ok || bad "vault going again: not served"
out=$($BIN get --server "$S" --ca server.pem --sim sim --mrenclave "$MRE" gone 2>&1); rc=$?
[ $rc = 1 ] && [[ "$out" == *"PERMISSION_DENIED"* ]] && ok || bad "vault, a name it does not have: exit $rc: $out"
stop_server vault
check_format vault.err text && ok || bad "vault: lines: $(cat vault.err)"
msgs vault.err text > vault.msgs
$PY - vault.msgs <<'PYEOF' && ok || bad "vault: transitions: $(grep ' kms: ' vault.msgs)"
import re, sys
ls = [l.rstrip("\n") for l in open(sys.argv[1]) if l.startswith("warn kms: ")]
assert len(ls) == 4, ls
assert re.fullmatch(r"warn kms: the KMS \(vault\) is down: vault: .*Vault is sealed.*; calls that need it fail with UNAVAILABLE until it answers", ls[0]), ls[0]
assert re.fullmatch(r"warn kms: the KMS \(vault\) recovered after [0-9.]+ s down \(3 failed calls\)", ls[1]), ls[1]
# a stopped Vault is seen either by the fetch's own deadline or, on a slow
# machine, by curl's timeout when the deadline leaves no room for a retry
assert re.fullmatch(r"warn kms: the KMS \(vault\) is down: (kms: k: no answer from the vault backend within [0-9]+ ms \(fetch abandoned\)|the KMS deadline comes before the next try: vault: /v1/secret/data/k: Timeout was reached); calls that need it fail with UNAVAILABLE until it answers", ls[2]), ls[2]
assert re.fullmatch(r"warn kms: the KMS \(vault\) recovered after [0-9.]+ s down \(2 failed calls\)", ls[3]), ls[3]
PYEOF

# ---- --log-level warn; bad values ------------------------------------------------------
start_server warn server.json --log-level warn
kms_outage 2
kill -HUP "$SPID"
sleep 1
stop_server warn
check_format warn.err text && ok || bad "warn: lines: $(cat warn.err)"
msgs warn.err text > warn.msgs
grep -qE '^(info|debug) ' warn.msgs && bad "warn: lines below warn: $(cat warn.msgs)" || ok
once warn.msgs '^warn kms: the KMS \(file\) is down: ' "warn: KMS down"
once warn.msgs '^warn kms: the KMS \(file\) recovered after [0-9.]+ s down \(2 failed calls\)$' "warn: KMS recovered"
for a in "--log-level loud" "--log-level INFO" "--log-format xml" "--log-level"; do
    # shellcheck disable=SC2086
    $BIN serve --config server.json $a > bad.out 2> bad.err; rc=$?
    [ $rc = 2 ] && grep -q -- "${a%% *}" bad.err && [ ! -s bad.out ] && ok || bad "serve $a: exit $rc: $(cat bad.err)"
done

echo "$pass passed, $failn failed"
[ $failn = 0 ]
