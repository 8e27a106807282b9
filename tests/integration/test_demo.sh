#!/usr/bin/env bash
# test_demo.sh: `make demo` (issue 15, "The demo"): its make rule builds
# only the asps command (make -n), and the script (scripts/demo.sh, run on
# this build's asps) prints the server config and the `asps serve` command
# line it used, shows a text secret as text beside its bytes and a binary
# one as bytes, denies the two impostors, removes its working folder, and
# keeps it with KEEP=1, saying where.
set -u
SRC=${ASPS_SRC:?}; BIN=${ASPS_BIN:?}
T=$(mktemp -d /tmp/asps-demotest-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }

# the make rule: configure, then the asps target alone; never a whole build
make -s -n -C "$SRC" --no-print-directory demo > "$T/make.n" 2>&1
grep -q -- "cmake --build build -j[0-9]* --target asps$" "$T/make.n" && ok || bad "make demo does not build --target asps: $(cat "$T/make.n")"
grep -E -- "cmake --build " "$T/make.n" | grep -v -- "--target asps$" | grep -q . && bad "make demo builds more: $(cat "$T/make.n")" || ok
grep -q "scripts/demo.sh" "$T/make.n" && ok || bad "make demo does not run the demo"

ASPS_BIN=$BIN bash "$SRC/scripts/demo.sh" > "$T/demo.out" 2>&1; rc=$?
sed 's/\x1b\[[0-9;]*m//g' "$T/demo.out" > "$T/demo.txt"
[ $rc = 0 ] && ok || bad "demo: exit $rc: $(tail -20 "$T/demo.txt")"
grep -q "^\$ .*asps serve --config server.json$" "$T/demo.txt" && ok || bad "no serve command line"
grep -q '^{"listen": "127.0.0.1:0", "server_cert": "server.pem"' "$T/demo.txt" && ok || bad "no server config shown"
grep -qx 'Secret received: tls_key_password = text "correct horse" (13 bytes: 63-6f-72-72-65-63-74-20-68-6f-72-73-65)' "$T/demo.txt" \
    && ok || bad "text secret not shown as text: $(grep 'Secret received' "$T/demo.txt")"
grep -qx 'Secret received: image_key = binary (17 bytes: 42-80-cd-4b-24-f6-0f-a5-33-85-ca-03-74-0d-4b-91-d7)' "$T/demo.txt" \
    && ok || bad "binary secret: $(grep 'Secret received' "$T/demo.txt")"
[ "$(grep -c '^(exit 1)$' "$T/demo.txt")" = 2 ] && ok || bad "impostors not denied: $(grep '^(exit' "$T/demo.txt")"
# the demo's own server certificate does not set off the banner's expiry warning
grep -q "server certificate: WARNING" "$T/demo.txt" && bad "demo server certificate about to expire: $(grep 'server certificate' "$T/demo.txt")" || ok
W=$(sed -n 's/^demo done (working folder \(.*\), removed on exit)$/\1/p' "$T/demo.txt")
[ -n "$W" ] && [ ! -e "$W" ] && ok || bad "working folder '$W' left behind without KEEP"
grep -q "KEEP" "$T/demo.txt" && bad "KEEP message without KEEP" || ok

KEEP=1 ASPS_BIN=$BIN bash "$SRC/scripts/demo.sh" > "$T/keep.out" 2>&1; rc=$?
K=$(sed -n 's/^KEEP=1: the working folder stays: //p' "$T/keep.out")
[ $rc = 0 ] && [ -n "$K" ] && [ -f "$K/server.json" ] && [ -f "$K/audit.log" ] && ok \
    || bad "KEEP=1: exit $rc, folder '$K': $(tail -3 "$T/keep.out")"
[ -n "$K" ] && case $K in /tmp/asps-demo-*) rm -rf "$K";; esac
echo "$pass passed, $failn failed"
[ $failn = 0 ]
