#!/usr/bin/env bash
# test_make_install.sh: `make install` with PREFIX and DESTDIR (issue 14),
# through the Makefile's own install step (install-built: `make install`
# minus the build, run on this build) into a temporary DESTDIR:
#  - everything lands under DESTDIR/PREFIX, nothing elsewhere, and no
#    installed text file names DESTDIR (the unit says PREFIX/bin/asps);
#  - the binary (runs), the libraries (core, rpc, client; Occlum's
#    grpc_ratls shared libraries), every public header (byte for byte),
#    asps.pc (relocatable: pkg-config finds the staged headers), the systemd
#    unit, its sysusers.d file, the example server config (JSON that
#    `asps serve` reads as a config) and the example policies;
#  - PREFIX defaults to /usr/local.
set -u
SRC=${ASPS_SRC:?}; BUILD=${ASPS_BUILD:?}
T=$(mktemp -d /tmp/asps-minstall-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
D=$T/stage
P=/opt/asps-test

make -s -C "$SRC" --no-print-directory install-built BUILD_DIR="$BUILD" DESTDIR="$D" PREFIX="$P" > "$T/install.log" 2>&1 \
    || { echo "FAIL: make install-built: $(tail -5 "$T/install.log")"; exit 1; }
R=$D$P

# nothing outside DESTDIR/PREFIX
stray=$(cd "$D" && find . -mindepth 1 \( -type f -o -type l \) | grep -v "^\.$P/")
[ -z "$stray" ] && ok || bad "installed outside PREFIX: $stray"

need() { [ -f "$R/$1" ] && ok || bad "missing $P/$1"; }
need bin/asps
[ -x "$R/bin/asps" ] && ok || bad "bin/asps not executable"
"$R/bin/asps" serve --help > "$T/help.txt" 2>&1 && grep -q "usage: asps serve" "$T/help.txt" && ok \
    || bad "installed asps does not run: $(head -3 "$T/help.txt")"
LIBDIR=$(dirname "$(find "$R" -name libasps.a | head -1)")
for l in libasps.a libasps_rpc.a libasps_client.a libasps_sim.a libasps.so libasps.so.0 \
         libgrpc_ratls_client.so libgrpc_ratls_server.so; do
    [ -f "$LIBDIR/$l" ] && ok || bad "missing library $l"
done
for h in "$SRC"/include/asps/*.h; do
    cmp -s "$h" "$R/include/asps/$(basename "$h")" && ok || bad "header $(basename "$h") not installed as it is"
done
need lib/systemd/system/asps.service
need lib/sysusers.d/asps.conf
need share/asps/asps.json
need share/asps/examples/policy.json
need share/asps/examples/README.md
need share/asps/examples/client/get_secret.c
need share/asps/examples/server.json
need share/asps/examples/server-full.json
need share/asps/examples/init_ra_conf_grpc_ratls.json
need share/asps/examples/init_ra_conf_aecs.json
need share/doc/asps/README.md
need share/man/man1/asps.1
need share/bash-completion/completions/asps
grep -qx "ExecStart=$P/bin/asps serve --config /etc/asps/asps.json" "$R/lib/systemd/system/asps.service" && ok \
    || bad "unit's ExecStart: $(grep ExecStart "$R/lib/systemd/system/asps.service")"
leak=$(grep -rlI -- "$D" "$R" 2>/dev/null)
[ -z "$leak" ] && ok || bad "installed files name the staging folder: $leak"

# asps.pc: relocatable, so the staged copy points at the staged headers
PC=$(find "$R" -name asps.pc | head -1)
[ -n "$PC" ] && ok || bad "no asps.pc"
inc=$(PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --variable=includedir asps 2>&1)
[ -f "$inc/asps/client.h" ] && ok || bad "asps.pc includedir '$inc' has no asps/client.h"
# the shared library by default, the archives with --static
PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --libs asps 2>&1 | grep -q -- "-lasps\b" && ok \
    || bad "pkg-config --libs asps: $(PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --libs asps 2>&1)"
PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --static --libs asps 2>&1 | grep -q -- "-lasps_client" && ok \
    || bad "pkg-config --static --libs asps: $(PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --static --libs asps 2>&1)"

# the example server config is one asps reads: serve gets past the config
# and stops at the first file it names that is not on this machine
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$R/share/asps/asps.json" && ok || bad "asps.json is not JSON"
"$R/bin/asps" serve --config "$R/share/asps/asps.json" > "$T/serve.out" 2> "$T/serve.err"; rc=$?
[ "$rc" != 0 ] && grep -q "/etc/asps/" "$T/serve.err" && ! grep -q "config\." "$T/serve.err" && ok \
    || bad "example config: exit $rc: $(cat "$T/serve.err")"
"$R/bin/asps" policy check "$R/share/asps/examples/policy.json" > /dev/null 2>&1 && ok || bad "example policy does not check"

# the default PREFIX
make -s -n -C "$SRC" --no-print-directory install-built BUILD_DIR="$BUILD" | grep -q -- '--prefix "/usr/local"' && ok \
    || bad "PREFIX does not default to /usr/local: $(make -s -n -C "$SRC" install-built BUILD_DIR="$BUILD")"

echo "installed $(cd "$D" && find . -type f | wc -l) files under $P"
echo "$pass passed, $failn failed"
[ $failn = 0 ]
