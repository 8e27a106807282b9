#!/usr/bin/env bash
# The asps command's help and usage errors, against README.md (so the two
# cannot drift): every leaf command's `--help` and `-h` print exactly the
# synopsis README's command table shows, then the one exit-code table README
# shows; a group's help prints all its leaves' synopses; help does nothing
# else (no file made, nothing read); every usage error exits 2 and begins
# "asps CMD:".
set -u
bin=${ASPS_BIN:?} src=${ASPS_SRC:?}
fail=0 pass=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
readme=$src/README.md

# README's command table: the first cell's `...` spans, one synopsis each
python3 - "$readme" >"$t/readme.syn" <<'PY' || bad "README command table unreadable"
import re, sys
s = open(sys.argv[1]).read()
a = s.index('| command | what |')
rows = s[a:].split('\n\n', 1)[0].split('\n')[2:]
for r in rows:
    cell = re.split(r'(?<!\\)\|', r)[1]
    for syn in re.findall(r'`([^`]*)`', cell):
        print(syn.replace('\\|', '|'))
PY
# README's exit-code table: the code block after "### Exit codes"
sed -n '/^### Exit codes/,/^```$/{/^```$/,$!d}' "$readme" >/dev/null
awk '/^### Exit codes/{x=1} x&&/^```/{n++; next} x&&n==1{print} n==2{exit}' "$readme" >"$t/readme.exit"
[ -s "$t/readme.exit" ] && ok || bad "README has no exit-code table"

# the synopses a help output prints: "usage: asps ..." and "       asps ..."
# lines, each with its indented continuation lines joined
synopses() {
  python3 -c '
import sys
out, cur = [], None
for l in sys.stdin.read().split("\n"):
    if l.startswith("usage: asps ") or l.startswith("       asps "):
        cur = l[7:].strip(); out.append(cur)
    elif cur is not None and l.startswith("        ") and l.strip():
        out[-1] += " " + l.strip()
    else:
        cur = None
        if out and not l.strip():
            break
print("\n".join(out))'
}

leaves=("quote verify" "quote show" "sim init" "sim quote" "sim recover" "cert new" "cert show" "cert verify"
        "policy check" "policy convert" "collateral fetch" "collateral show" "serve" "version" "get" "run")
for leaf in "${leaves[@]}"; do
  for h in --help -h; do
    # shellcheck disable=SC2086
    (cd "$t" && "$bin" $leaf $h >"$t/out" 2>"$t/err"); rc=$?
    [ $rc = 0 ] && ok || bad "asps $leaf $h: rc $rc"
    [ -s "$t/err" ] && bad "asps $leaf $h: stderr: $(head -2 "$t/err")"
    synopses <"$t/out" >"$t/got"
    grep -E "^asps $leaf( |$)" "$t/readme.syn" | grep -v "^asps --version" >"$t/want"
    [ "$leaf" = version ] && echo "asps --version" >>"$t/want"
    if [ -s "$t/want" ] && diff "$t/want" "$t/got" >"$t/diff"; then ok
    else bad "asps $leaf $h usage differs from README's table:"; cat "$t/diff"; fi
    # ends with the one exit-code table, as README shows it
    tail -n "$(wc -l <"$t/readme.exit")" "$t/out" | diff "$t/readme.exit" - >/dev/null \
      && ok || bad "asps $leaf $h does not end with README's exit-code table"
  done
done
# every README synopsis is some command's; every group's help lists its leaves
for g in quote sim cert policy collateral; do
  "$bin" $g --help >"$t/out" 2>&1 && ok || bad "asps $g --help: rc $?"
  synopses <"$t/out" >"$t/got"
  grep -E "^asps $g " "$t/readme.syn" >"$t/want"
  diff "$t/want" "$t/got" >"$t/diff" && ok || { bad "asps $g --help differs from README"; cat "$t/diff"; }
done
n_readme=$(wc -l <"$t/readme.syn")
[ "$n_readme" = 17 ] && ok || bad "README's table has $n_readme synopses, the command 17"
# the top level lists exactly the commands
"$bin" --help >"$t/out" 2>&1 && ok || bad "asps --help: rc"
cmds=$(awk '/^commands:/{x=1;next} x&&/^  [a-z]/{print $1}' "$t/out" | sort | tr '\n' ' ')
[ "$cmds" = "cert collateral get policy quote run serve sim version " ] && ok || bad "asps --help commands: $cmds"
tail -n "$(wc -l <"$t/readme.exit")" "$t/out" | diff "$t/readme.exit" - >/dev/null \
  && ok || bad "asps --help does not end with README's exit-code table"
"$bin" -h | cmp -s - "$t/out" && ok || bad "asps -h differs from asps --help"

# help never does anything else: nothing made, nothing read, whatever else is given
mkdir "$t/empty"
for args in "sim init --help" "sim init newdir --help" "sim init -h newdir" \
            "sim quote newdir --out q --help" "sim recover newdir --date 2030-01-01 --help" \
            "cert new --out c --key k --help" \
            "get --server 127.0.0.1:1 --sim s x --out f --help" "run --conf c --root r -h" \
            "policy convert --from cczoo --kms-out k p --help" "serve --config c --help"; do
  # shellcheck disable=SC2086
  (cd "$t/empty" && "$bin" $args >/dev/null 2>"$t/err"); rc=$?
  [ $rc = 0 ] && ok || bad "asps $args: rc $rc ($(head -1 "$t/err"))"
  [ -z "$(ls -A "$t/empty")" ] && ok || { bad "asps $args made $(ls -A "$t/empty")"; rm -rf "$t/empty"/*; }
done
# ... but after "--" it is the application's
(cd "$t/empty" && "$bin" run -- app --help >/dev/null 2>"$t/err"); rc=$?
[ $rc = 2 ] && grep -q "^asps run: --conf" "$t/err" && ok || bad "run -- app --help: rc $rc $(cat "$t/err")"

# usage errors: exit 2, the first line "asps CMD: ...", then the usage
usage_err() { # expected-prefix args...
  local want=$1; shift
  (cd "$t/empty" && "$bin" "$@" >"$t/out" 2>"$t/err"); local rc=$?
  [ $rc = 2 ] && ok || bad "asps $*: rc $rc, want 2"
  [ -s "$t/out" ] && bad "asps $*: usage error printed on stdout"
  head -1 "$t/err" | grep -q "^asps $want: " && ok || bad "asps $*: first line: $(head -1 "$t/err")"
  grep -q "^usage: asps $want" "$t/err" && ok || bad "asps $*: no usage on stderr"
}
usage_err quote quote; usage_err quote quote bogus
usage_err "quote verify" quote verify
usage_err "quote verify" quote verify a b
usage_err "quote verify" quote verify --bogus a
usage_err "quote verify" quote verify a --collateral
usage_err "quote show" quote show
usage_err sim sim; usage_err sim sim bogus
usage_err "sim init" sim init
usage_err "sim init" sim init a b
usage_err "sim quote" sim quote d
usage_err "sim quote" sim quote d --out q --quote-version 9
usage_err "sim quote" sim quote d --out q --tee arm
usage_err cert cert; usage_err cert cert bogus
usage_err "cert new" cert new
usage_err "cert new" cert new --out c --key k --days 0
usage_err "cert new" cert new --out c --key k --days 1x
usage_err "cert new" cert new --out - --key -
usage_err "cert show" cert show
usage_err "cert verify" cert verify c --at yesterday
usage_err policy policy; usage_err policy policy bogus
usage_err "policy check" policy check
usage_err "policy check" policy check --kms-out k p
usage_err "policy check" policy check --from yaml p
usage_err "policy convert" policy convert p
usage_err serve serve
usage_err serve serve --config c --ra-config r
usage_err serve serve --config c extra
usage_err get get
usage_err get get --server 127.0.0.1:1 --ca c
usage_err get get --server 127.0.0.1:1 --ca c --out f a b
usage_err get get --server 127.0.0.1:1 --ca c --out f --json a
usage_err get get --server
usage_err get get --bogus
usage_err get get --server 127.0.0.1:1 --ca c --isv-svn 70000 a
usage_err get get --server 127.0.0.1:1 --ca c --isv-svn 0x10 a   # decimal only
usage_err get get --server 127.0.0.1:1 --ca c --isv-svn " 7" a
usage_err get get --server 127.0.0.1:1 --ca c --server-sim s a
usage_err get get --server 127.0.0.1:1 --pin c --pccs https://127.0.0.1:2 a
usage_err get get --server 127.0.0.1:1 --ca c --collateral b a
usage_err run run
usage_err run run --conf c app
usage_err version version extra
usage_err version version --bogus
[ -z "$(ls -A "$t/empty")" ] && ok || bad "usage errors made $(ls -A "$t/empty")"
# --opt=value is getopt_long's too
"$bin" sim init "$t/s" >/dev/null && "$bin" sim quote "$t/s" --out="$t/q" --isv-svn=3 && [ -s "$t/q" ] \
  && ok || bad "--opt=value"

echo "test_cli_help: $pass passed, $fail failed"
[ $fail = 0 ]
