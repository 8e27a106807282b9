#!/usr/bin/env bash
# The man page help2man made from the command's own help at build time
# (ASPS_BUILD/asps.1): man(1) and groff render it without warnings, and it
# holds every command's usage and options and the exit-code table, as the
# binary prints them.
set -u
BIN=${ASPS_BIN:?}
BUILD=${ASPS_BUILD:?}
M=$BUILD/asps.1
fail=0 pass=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
for tool in man groff help2man; do
  command -v $tool >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done
[ -s "$M" ] || { echo "FAIL: no $M (help2man at build time)"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
groff -man -Tutf8 -ww -z "$M" 2>"$T/warn" && [ ! -s "$T/warn" ] && ok || bad "groff warnings: $(head -5 "$T/warn")"
MANWIDTH=100 man -l "$M" 2>"$T/err" | col -bx >"$T/page" && [ -s "$T/page" ] && ok || bad "man -l: $(cat "$T/err")"
head -1 "$T/page" | grep -q "^ASPS(1)" && ok || bad "title: $(head -1 "$T/page")"
for s in NAME DESCRIPTION COMMANDS "EXIT STATUS"; do
  grep -q "^$s" "$T/page" && ok || bad "no section $s"
done
grep -q "asps $("$BIN" version | cut -d' ' -f2)" "$T/page" && ok || bad "version not in the page"
# every command, and every subcommand's usage line as the binary prints it
cmds=$("$BIN" --help | awk '/^commands:/ { x = 1; next } x && /^  [a-z]/ { print $1 }')
[ -n "$cmds" ] || bad "asps --help lists no commands"
for c in $cmds; do
  grep -q "^ *asps $c\$" "$T/page" && ok || bad "no subsection for asps $c"
  "$BIN" $c --help | sed -n '1,/^$/p' | grep -o 'asps [a-z]* [a-z-]*' | sort -u | while read -r u; do
    grep -qF "$u" "$T/page" || echo "$u"
  done >"$T/missing"
  [ -s "$T/missing" ] && bad "asps $c: not in the page: $(cat "$T/missing")" || ok
done
for o in --force --pccs-ca --attester --policy-format --out --json --kms-out --td15; do
  grep -q -- "$o" "$T/page" && ok || bad "option $o not in the page"
done
# the exit codes, all six
for code in 0 1 2 3 4 5; do
  sed -n '/^EXIT STATUS/,/^[A-Z]/p' "$T/page" | grep -q "^ *$code  " && ok || bad "exit code $code not in EXIT STATUS"
done
echo "test_cli_man: $pass passed, $fail failed"
[ $fail = 0 ]
