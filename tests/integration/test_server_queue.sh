#!/usr/bin/env bash
# test_server_queue.sh: calls over limits.max_concurrent_calls wait for a
# slot (issue 17), through a running `asps serve` with a Vault that answers
# after 4 s, the real client (asps get) and Python grpcio as peers, each
# refusal read back from the audit log:
#  - max_concurrent_calls 1, max_waiting_calls 1: a second call waits and is
#    granted once the first is done;
#  - a waiting call whose own deadline passes (grpcio, 0.8 s) gets
#    DEADLINE_EXCEEDED and one audit line, while the call before it runs;
#  - with the one waiting place taken, the next call is busy at once:
#    RESOURCE_EXHAUSTED with gRPC's retry pushback, one audit line;
#  - a call that waited for its slot gives up its KMS fetch before its own
#    deadline: UNAVAILABLE and an audit line saying so, not the
#    transport's DEADLINE_EXCEEDED while the audit line said otherwise;
#  - a waiting call whose client cancels (grpcio future.cancel()) is dropped
#    with one audit line: its handler never runs for a client that is gone;
#  - limits.max_waiting_calls is a strict key (0 to 100000).
set -u
BIN=${ASPS_BIN:?}
SRC=${ASPS_SRC:?}
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import grpc' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with grpcio"; exit 77; }
. "$(dirname "$0")/lib_serve.sh"
serve_begin test_server_queue
serve_platform
ID=(--sim sim --mrenclave "$MRE")
PYC() { $PY "$SRC/tests/rpc_client.py" --target "$S" --ca server.pem --server-name localhost --cert c.pem --key c.key "$@"; }
$PY - <<'EOF'
import json
json.dump({"kv2": {"secret": {"fine": {"key": "fine"}}}, "tokens": {"root": ["*"]}}, open("seed.json", "w"))
EOF
$PY "$SRC/tests/vault_server.py" --seed seed.json > vault.out 2> vault.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q PORT vault.out 2>/dev/null && break; sleep 0.1; done
VPORT=$(sed -n 's/^PORT //p' vault.out)
[ -n "$VPORT" ] || { echo "FAIL: vault test server"; exit 1; }
V=http://127.0.0.1:$VPORT
cat > policy.json <<EOF
{"version": 1, "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"},
  "allow_simulated": true, "secrets": {"fine": "fine"}}]}
EOF
mkconf() { # file limits
    cat > "$1" <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log",
 "kms": {"type": "vault", "addr": "$V", "kv_version": 2, "token": "root"},
 "limits": {$2}}
EOF
}

# ---- the key ----------------------------------------------------------------------
for v in -1 100001 '"8"'; do
    mkconf bad.json "\"max_waiting_calls\": $v"
    out=$($BIN serve --config bad.json --check 2>&1)
    want="config.limits.max_waiting_calls: expected a whole number from 0 to 100000"
    [ "$v" = '"8"' ] && want="config.limits.max_waiting_calls: expected a whole number, got a string"
    echo "$out" | grep -q "$want" && ok || bad "max_waiting_calls $v: $out"
done

# ---- waiting, its deadline, the backlog bound ---------------------------------------
mkconf server.json '"threads": 2, "max_concurrent_calls": 1, "max_waiting_calls": 1,
            "deadline_ms": 15000, "kms_deadline_ms": 12000'
serve_start server.json serve
grep -q "max_concurrent_calls=1 max_waiting_calls=1 " serve.err && ok || bad "limits line: $(grep limits serve.err)"
$BIN get --server "$S" --ca server.pem "${ID[@]}" fine > /dev/null 2>&1 && ok || bad "first call"
curl -s -X POST -d '{"delay": 4}' $V/__control > /dev/null
n0=$(wc -l < audit.log)
# A runs (4 s in Vault). The Python client takes a few tenths of a second
# to start (import grpc): the times below leave room for it
( $BIN get --server "$S" --ca server.pem "${ID[@]}" fine > a.out 2>&1; echo $? > a.rc ) &
sleep 0.5
# B waits, and its own deadline (0.8 s) passes while A runs
out=$(PYC --timeout 0.8 get fine)
echo "$out" | grep -q "^STATUS DEADLINE_EXCEEDED" && ok || bad "B past its deadline while waiting: $out"
sleep 0.3
# C waits (the one place is free again) and is granted after A
( $BIN get --server "$S" --ca server.pem "${ID[@]}" fine > c.out 2>&1; echo $? > c.rc ) &
sleep 0.3
# D: the place is taken (C waits, A still runs): busy at once, with pushback
t0=$(date +%s%N)
out=$(PYC get fine)
t1=$(date +%s%N)
echo "$out" | grep -q "^STATUS RESOURCE_EXHAUSTED server busy" && ok || bad "D over the backlog: $out"
echo "$out" | grep -q "^PUSHBACK [0-9][0-9]*$" && ok || bad "D: no retry pushback: $out"
[ $(( (t1 - t0) / 1000000 )) -lt 1500 ] && ok || bad "D answered after $(( (t1 - t0) / 1000000 )) ms, not at once"
wait_rc() { for _ in $(seq 150); do [ -s "$1" ] && break; sleep 0.1; done; cat "$1"; }
[ "$(wait_rc a.rc)" = 0 ] && ok || bad "A: $(cat a.out)"
[ "$(wait_rc c.rc)" = 0 ] && grep -q "Secret received" c.out && ok || bad "C (waited): $(cat c.out)"
curl -s -X POST -d '{"delay": 0}' $V/__control > /dev/null
# the audit log: A and C granted, B's deadline and D's busy refused, one line each
new=$(tail -n +$((n0 + 1)) audit.log)
[ "$(echo "$new" | wc -l)" = 4 ] && ok || bad "audit: want 4 lines: $new"
[ "$(echo "$new" | grep -c '"verdict":"granted"')" = 2 ] && ok || bad "audit: want 2 granted: $new"
echo "$new" | grep -q '"reason":"/asps.v1.SecretProvision/GetSecrets: deadline exceeded while waiting: the server was at its limit of 1 concurrent calls"' \
    && ok || bad "audit: no line for B's deadline: $new"
echo "$new" | grep -q '"reason":"/asps.v1.SecretProvision/GetSecrets: server busy: too many calls (limit 1); retry later"' \
    && ok || bad "audit: no line for D's busy: $new"

# ---- a call that waited has less time for its KMS fetch ----------------------------
mkconf server2.json '"threads": 2, "max_concurrent_calls": 1, "max_waiting_calls": 4,
            "deadline_ms": 6000, "kms_deadline_ms": 5000'
serve_start server2.json serve2
curl -s -X POST -d '{"delay": 4}' $V/__control > /dev/null
n0=$(wc -l < audit.log)
# A holds the one slot about 4 s (Vault's delay); B arrives 0.5 s later and
# waits, so it is admitted with about 2.5 s left of its 6 s: its fetch must
# end before that (kms_deadline_ms 5000 from the admission would not)
( $BIN get --server "$S" --ca server.pem "${ID[@]}" fine > a2.out 2>&1; echo $? > a2.rc ) &
sleep 0.5
t0=$(date +%s%N)
out=$(PYC --timeout 20 get fine)
t1=$(date +%s%N)
echo "$out" | grep -q "^STATUS UNAVAILABLE secret store unavailable" && ok || bad "B after waiting, Vault slow: $out"
[ $(( (t1 - t0) / 1000000 )) -lt 6500 ] && ok || bad "B answered after $(( (t1 - t0) / 1000000 )) ms"
[ "$(wait_rc a2.rc)" = 0 ] && ok || bad "A2: $(cat a2.out)"
curl -s -X POST -d '{"delay": 0}' $V/__control > /dev/null
new=$(tail -n +$((n0 + 1)) audit.log)
[ "$(echo "$new" | wc -l)" = 2 ] && ok || bad "audit: want 2 lines: $new"
[ "$(echo "$new" | grep -c '"verdict":"unavailable"')" = 1 ] && ok || bad "audit: B not unavailable: $new"

# ---- a waiting call whose client goes away -----------------------------------------
curl -s -X POST -d '{"delay": 3}' $V/__control > /dev/null
n0=$(wc -l < audit.log)
( $BIN get --server "$S" --ca server.pem "${ID[@]}" fine > a3.out 2>&1; echo $? > a3.rc ) &
sleep 0.5
out=$(PYC --timeout 20 --cancel-after 1 get fine)
[ "$out" = CANCELLED ] && ok || bad "B3 not cancelled: $out"
[ "$(wait_rc a3.rc)" = 0 ] && ok || bad "A3: $(cat a3.out)"
sleep 0.5
curl -s -X POST -d '{"delay": 0}' $V/__control > /dev/null
new=$(tail -n +$((n0 + 1)) audit.log)
[ "$(echo "$new" | wc -l)" = 2 ] && ok || bad "audit: want 2 lines (A3, B3): $new"
[ "$(echo "$new" | grep -c '"verdict":"granted"')" = 1 ] && ok || bad "audit: B3 ran for a gone client: $new"
echo "$new" | grep -q '"verdict":"cancelled","reason":"/asps.v1.SecretProvision/GetSecrets: cancelled by the client while waiting"' \
    && ok || bad "audit: no line for B3's cancel: $new"

serve_end
