#!/usr/bin/env bash
# test_serve_signals.sh: `asps serve` takes SIGHUP, SIGINT and SIGTERM in its
# main thread only, and nothing it reads on SIGHUP can hold that thread
# (issue 12, part 1: the server never wedges, and SIGTERM stops it within
# its drain deadline).
#  - every thread but the main one blocks SIGHUP, SIGINT and SIGTERM
#    (/proc/PID/task/*/status): a signal sent to the process goes to a thread
#    that does not block it, and in any thread but the one in sigwait() its
#    default action ends the process at once (the refusal summary's thread
#    took them: a SIGHUP during a drain or during a reload killed the
#    server, exit 129, nothing drained);
#  - SIGHUP while SIGTERM drains a call stuck in a hanging Vault: the drain
#    goes on, exit 0, the abandoned call named;
#  - a second SIGHUP while the first one's reload of a large policy runs:
#    the server lives on and serves;
#  - SIGHUP with a FIFO in place of the policy, of Occlum's
#    secret_config.json, of the Vault token_file: that reload is refused at
#    once ("not a regular file (a FIFO)"), the old policy kept, calls
#    served, and SIGTERM then stops the server (before, the main thread
#    waited in open() for a writer that never came).
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
SRC=${ASPS_SRC:?}
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import json' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3"; exit 77; }
[ -d /proc/self/task ] || { echo "SKIP: no /proc"; exit 77; }

T=$(mktemp -d /tmp/asps-sig-XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
now_ms() { date +%s%3N; }
cd "$T"

$BIN sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
MRE=$(printf 'a1%.0s' {1..32})
ID=(--sim sim --mrenclave "$MRE")
GET() { $BIN get --server "$S" --ca server.pem "${ID[@]}" "$@"; }

start_server() { # config-file [serve args...] -> sets S, SPID
    local cfg=$1
    shift
    # a previous server's "listening" line must not be read as this one's
    # (the redirection below happens in the child, maybe after the first grep)
    rm -f "$cfg.out" "$cfg.err"
    $BIN serve --config "$cfg" "$@" > "$cfg.out" 2> "$cfg.err" &
    SPID=$!
    PIDS="$PIDS $SPID"
    wait_listening "$cfg.out" $SPID "$cfg.err" || { echo "FAIL: server did not start"; exit 1; }
    S=$LISTEN_ADDR
}
# SIGTERM; gone within $2 ms with exit 0 (generous: not a speed test)
stop_server() { # name bound_ms
    local t0 rc
    t0=$(now_ms)
    kill -TERM "$SPID"
    for _ in $(seq $(( $2 / 100 ))); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SPID" 2>/dev/null; then
        bad "$1: still running $2 ms after SIGTERM"
        kill -9 "$SPID"
    else
        ok
    fi
    wait "$SPID"; rc=$?
    [ "$rc" = 0 ] && ok || bad "$1: exit $rc after SIGTERM (want 0)"
    echo "$1: stopped $(( $(now_ms) - t0 )) ms after SIGTERM"
}
# wait until the server's stderr has $2 lines matching $1 (a reload done)
wait_err() { # file pattern count
    for _ in $(seq 100); do [ "$(grep -c "$2" "$1")" -ge "$3" ] && return 0; sleep 0.1; done
    return 1
}
# SIGHUP (1), SIGINT (2), SIGTERM (15): bits 0x1, 0x2, 0x4000 of SigBlk
threads_block_signals() { # pid -> 0 if every thread but the main one blocks all three
    local pid=$1 t blk fail=0
    for t in /proc/"$pid"/task/*; do
        [ "${t##*/}" = "$pid" ] && continue
        blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "$t/status" 2>/dev/null) || continue
        [ -n "$blk" ] || continue
        if [ $(( 0x$blk & 0x4003 )) != $(( 0x4003 )) ]; then
            echo "thread ${t##*/} ($(cat "$t/comm" 2>/dev/null)) takes signals: SigBlk $blk"
            fail=1
        fi
    done
    return $fail
}

cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"k": "k"}}]}
EOF
cp policy.json policy.good
echo '{"k": "text:v1"}' > kms.json
cat > server.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log",
 "limits": {"threads": 2, "drain_ms": 1000}}
EOF

# ---- the threads ---------------------------------------------------------------
start_server server.json
[ "$(GET k 2>&1)" = "Secret received: 76-31" ] && ok || bad "first call"
why=$(threads_block_signals "$SPID") && ok || bad "threads other than main take SIGHUP/SIGINT/SIGTERM: $why"

# ---- a second SIGHUP during a reload of a large policy ------------------------------
$PY - <<EOF
import json
p = json.load(open("policy.good"))
app = p["apps"][0]
apps = [dict(app, name="app%d" % i, match={"tee": "sgx", "mrenclave": "%064x" % (i + 1)}) for i in range(3000)]
p["apps"] = apps + [app]
json.dump(p, open("policy.json", "w"))
EOF
for _ in 1 2 3; do
    kill -HUP "$SPID"; sleep 0.005; kill -HUP "$SPID"; sleep 0.3
done
# signals that come while one is pending merge into it: at least one reload,
# then none more
wait_err server.json.err "reloaded policy" 1 && ok || bad "no reload done: $(cat server.json.err)"
n=-1
for _ in $(seq 50); do
    m=$(grep -c "reloaded policy" server.json.err)
    [ "$m" = "$n" ] && break
    n=$m; sleep 0.5
done
kill -0 "$SPID" 2>/dev/null && ok || bad "a SIGHUP during a reload ended the server"
[ "$(GET k 2>&1)" = "Secret received: 76-31" ] && ok || bad "served after reloads"
stop_server "server after SIGHUPs during reloads" 8000

# ---- a FIFO in place of the policy: that reload refused, the old policy kept ---------
cp policy.good policy.json
start_server server.json
rm policy.json && mkfifo policy.json
kill -HUP "$SPID"
wait_err server.json.err "reload refused.*policy.json is not a regular file (a FIFO)" 1 && ok \
    || bad "FIFO policy: no refusal: $(tail -3 server.json.err)"
[ "$(GET k 2>&1)" = "Secret received: 76-31" ] && ok || bad "served with the old policy while a FIFO is in its place"
stop_server "server after a FIFO policy" 8000

# ---- Occlum's secret_config.json replaced by a FIFO --------------------------------
cat > dynamic_config.json <<EOF
{"verify_mr_enclave": "on", "verify_mr_signer": "off", "verify_isv_prod_id": "off",
 "verify_isv_svn": "off", "verify_config_svn": "off", "verify_enclave_debuggable": "off",
 "sgx_mrs": [{"mr_enclave": "$MRE", "mr_signer": "", "isv_prod_id": 0, "isv_svn": 0,
              "config_svn": 0, "debuggable": false}]}
EOF
echo '{"k": "djE="}' > secret_config.json
cat > oserver.json <<'EOF'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "seed_allow_simulated": true, "audit": "oaudit.log",
 "limits": {"drain_ms": 1000}}
EOF
start_server oserver.json --ra-config dynamic_config.json --secrets secret_config.json
[ "$(GET k 2>&1)" = "Secret received: 76-31" ] && ok || bad "Occlum: first call: $(GET k 2>&1)"
rm secret_config.json && mkfifo secret_config.json
kill -HUP "$SPID"
wait_err oserver.json.err "reload refused.*secret_config.json is not a regular file (a FIFO)" 1 && ok \
    || bad "FIFO secret_config.json: no refusal: $(tail -3 oserver.json.err)"
rm secret_config.json && echo '{"k": "djE="}' > secret_config.json
stop_server "Occlum server after a FIFO secret_config.json" 8000

# ---- Vault: the token_file replaced by a FIFO; SIGHUP during a drain ------------------
$PY - <<'EOF'
import json
json.dump({"kv2": {"secret": {"k": {"key": "v1"}}}, "tokens": {"root": ["*"]}}, open("seed.json", "w"))
EOF
$PY "$SRC/tests/vault_server.py" --seed seed.json > vault.out 2> vault.err &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q PORT vault.out 2>/dev/null && break; sleep 0.1; done
VPORT=$(sed -n 's/^PORT //p' vault.out)
[ -n "$VPORT" ] || { echo "FAIL: vault test server"; exit 1; }
V=http://127.0.0.1:$VPORT
control() { curl -s -X POST -d "$1" $V/__control >/dev/null; }
printf 'root\n' > token && chmod 600 token
cat > vserver.json <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "vpolicy.json", "audit": "vaudit.log",
 "kms": {"type": "vault", "addr": "$V", "kv_version": 2, "token_file": "token"},
 "limits": {"threads": 2, "deadline_ms": 30000, "kms_deadline_ms": 25000, "drain_ms": 1500}}
EOF
sed 's/"kms": {[^}]*}, //' policy.good > vpolicy.json
start_server vserver.json
[ "$(GET k 2>&1)" = "Secret received: 76-31" ] && ok || bad "Vault: first call: $(GET k 2>&1)"
rm token && mkfifo -m 600 token
kill -HUP "$SPID"
wait_err vserver.json.err "reload refused.*token is not a regular file (a FIFO)" 1 && ok \
    || bad "FIFO token_file: no refusal: $(tail -3 vserver.json.err)"
[ "$(GET k 2>&1)" = "Secret received: 76-31" ] && ok || bad "Vault: served with the old token"
rm token && printf 'root\n' > token && chmod 600 token
# a call stuck in a hanging Vault; SIGTERM; SIGHUP and SIGINT while it drains
control '{"delay": 20}'
reads() { curl -s $V/__stats | $PY -c 'import json,sys; print(json.load(sys.stdin)["stats"].get("/v1/secret/data/k", 0))'; }
before=$(reads)
( GET k > stuck.out 2>&1; echo $? > stuck.rc ) &
for _ in $(seq 100); do [ "$(reads)" -gt "$before" ] && break; sleep 0.1; done
[ "$(reads)" -gt "$before" ] && ok || bad "the call did not reach Vault"
t0=$(now_ms)
kill -TERM "$SPID"
sleep 0.3
kill -HUP "$SPID"
kill -INT "$SPID"
for _ in $(seq 80); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SPID" 2>/dev/null && { bad "still running 8 s after SIGTERM"; kill -9 "$SPID"; }
wait "$SPID"; rc=$?
echo "server with a stuck call, SIGHUP and SIGINT during the drain: exit $rc $(( $(now_ms) - t0 )) ms after SIGTERM"
[ $rc = 0 ] && ok || bad "SIGHUP/SIGINT during the drain: exit $rc (129: killed by SIGHUP), want 0"
grep -q 'abandoning 1 call still in handlers' vserver.json.err && ok \
    || bad "the drain did not run to its end: $(cat vserver.json.err)"
control '{"delay": 0}'

echo "$pass passed, $failn failed"
[ $failn = 0 ]
