#!/usr/bin/env bash
# test_server_threads.sh: the server's thread counts (issue 17):
# limits.threads (workers), limits.io_threads (gRPC's completion-queue
# threads: network and TLS) and limits.verify_threads (certificate checks
# at once).
#  - defaults from the CPUs the process may run on (nproc): threads and
#    io_threads = nproc clamped to 2..64, verify_threads the same at most 16;
#    shown by serve --check and the start-up banner;
#  - out-of-range values are config errors naming the key and its range;
#  - the values are used: the server's own threads (named after the
#    process; gRPC names its own) grow by exactly the threads configured
#    more, counted in /proc/PID/task.
set -u
BIN=${ASPS_BIN:?}
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
. "$(dirname "$0")/lib_serve.sh"
serve_begin test_server_threads
serve_platform
cat > policy.json <<EOF
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"}, "allow_simulated": true,
           "secrets": {"k": "k"}}]}
EOF
echo '{"k": "text:v1"}' > kms.json
conf() { # file limits-json
    cat > "$1" <<EOF
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "policy.json", "audit": "audit.log",
 "limits": {$2}}
EOF
}

# ---- defaults -----------------------------------------------------------------
n=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
d=$n; [ "$d" -lt 2 ] && d=2; [ "$d" -gt 64 ] && d=64
v=$d; [ "$v" -gt 16 ] && v=16
conf def.json ''
out=$($BIN serve --config def.json --check 2>&1)
echo "$out" | grep -q "^ok    limits: .* threads=$d io_threads=$d verify_threads=$v " && ok \
    || bad "defaults for $n CPUs: want threads=$d io_threads=$d verify_threads=$v: $(echo "$out" | grep limits)"

# ---- ranges -------------------------------------------------------------------
for kv in "threads 0 64" "threads 65 64" "io_threads 0 64" "io_threads 65 64" \
          "verify_threads 0 16" "verify_threads 17 16"; do
    set -- $kv
    conf bad.json "\"$1\": $2"
    out=$($BIN serve --config bad.json --check 2>&1)
    rc=$?
    [ $rc = 1 ] && echo "$out" | grep -q "config.limits.$1: expected a whole number from 1 to $3" && ok \
        || bad "$1=$2: exit $rc: $out"
done
conf bad.json '"io_threads": 65'
$BIN serve --config bad.json > bad.out 2> bad.err
rc=$?
[ $rc = 2 ] && grep -q "config.limits.io_threads: expected a whole number from 1 to 64" bad.err && ok \
    || bad "serve with io_threads 65: exit $rc: $(cat bad.err)"

# ---- the values are used --------------------------------------------------------
# threads named after the process ("asps"): main, ours, the service's; gRPC
# names its own threads (event_engine, timer_manager, ...)
own_threads() { # config -> "BANNER-LIMITS COUNT" (in a subshell: its own PIDS)
    serve_start "$1" "$1"
    local pid=$SPID
    # one attested call, so that every lazily started thread is there
    $BIN get --server "$S" --ca server.pem --sim sim --mrenclave "$MRE" k > /dev/null 2>&1
    sleep 0.3
    local c
    c=$(cat /proc/$pid/task/*/comm 2>/dev/null | grep -c "^$(cat /proc/$pid/comm)\$")
    kill "$pid"; wait "$pid" 2>/dev/null
    echo "$(grep -o 'threads=[0-9]* io_threads=[0-9]* verify_threads=[0-9]*' "$1.err") $c"
}
conf small.json '"threads": 1, "io_threads": 1, "verify_threads": 1'
conf big.json '"threads": 3, "io_threads": 6, "verify_threads": 5'
a=$(own_threads small.json)
b=$(own_threads big.json)
case "$a" in "threads=1 io_threads=1 verify_threads=1 "*) ok ;; *) bad "banner, small: $a" ;; esac
case "$b" in "threads=3 io_threads=6 verify_threads=5 "*) ok ;; *) bad "banner, big: $b" ;; esac
na=${a##* } nb=${b##* }
[ $((nb - na)) = $(( (3 - 1) + (6 - 1) + (5 - 1) )) ] && ok \
    || bad "threads: $na with 1/1/1, $nb with 3/6/5: want 11 more"

serve_end
