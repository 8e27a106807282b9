#!/usr/bin/env bash
# The bash completion (completions/asps) as Debian's bash-completion runs
# it: sourced after /usr/share/bash-completion/bash_completion, _asps is
# called with COMP_WORDS/COMP_CWORD as bash sets them and COMPREPLY is
# checked: commands, subcommands, each command's options (from its help),
# option values, files, and the application after `run --`.
set -u
BIN=${ASPS_BIN:?}
SRC=${ASPS_SRC:?}
BC=/usr/share/bash-completion/bash_completion
[ -f "$BC" ] || { echo "SKIP: bash-completion is not installed"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/files/sub" && ln -s "$BIN" "$T/bin/asps"
touch "$T/files/quote.bin" "$T/files/quote2.bin"
cd "$T/files"
PATH=$T/bin:$PATH bash --norc --noprofile -c '
source "$1" || exit 1
source "$2" || exit 1
fail=0 pass=0
# comp LINE: COMPREPLY for LINE with the cursor at its end, sorted, one line
comp() {
    COMP_LINE=$1; COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<<"$COMP_LINE"
    [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _asps asps "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
    printf "%s\n" "${COMPREPLY[@]}" | sort -u | tr "\n" " " | sed "s/ $//"
}
want() { # LINE EXPECTED
    local got; got=$(comp "$1")
    if [ "$got" = "$2" ]; then pass=$((pass+1)); else echo "FAIL: [$1]: got [$got], want [$2]"; fail=$((fail+1)); fi
}
has() { # LINE WORD...: each WORD among the candidates
    local got w; got=" $(comp "$1") "
    for w in "${@:2}"; do
        if [[ $got == *" $w "* ]]; then pass=$((pass+1)); else echo "FAIL: [$1]: no $w in [$got]"; fail=$((fail+1)); fi
    done
}
complete -p asps >/dev/null 2>&1 && pass=$((pass+1)) || { echo "FAIL: no complete -F for asps"; fail=$((fail+1)); }
want "asps " "--help --version cert collateral get policy quote run serve sim version"
want "asps s" "serve sim"
want "asps sim " "init quote recover"
want "asps cert " "new show verify"
want "asps policy c" "check convert"
want "asps collateral " "fetch show"
want "asps collateral fetch --ca p" "platform processor"
want "asps collateral fetch --tee " "sgx tdx"
has "asps collateral fetch --" --pccs --pccs-ca --tee --fmspc --ca --out --help
want "asps collateral show d --" "--help --json"
want "asps sim init --" "--days --force --help --issued"
want "asps sim quote d --o" "--out"
want "asps cert verify c --pccs" "--pccs --pccs-ca"
has "asps cert new --" --out --key --attester --days --legacy-only --tee --mrenclave --tcb --help
has "asps get --" --server --ca --pin --server-name --json --out --sim --isv-svn
has "asps run --" --conf --root --server-sim --pccs-ca --attester
want "asps serve --log-" "--log-format --log-level"
want "asps version --" "--help --json"
want "asps get --attester " "auto gramine occlum sim tdx"
want "asps get --attester o" "occlum"
want "asps serve --log-level w" "warn"
want "asps quote verify q --tcb-update " "early standard"
has "asps quote verify q --" --tcb-update --max-stale --at
want "asps serve --policy-format " "cczoo native occlum"
want "asps policy convert --from c" "cczoo"
want "asps sim quote d --quote-version " "3 4 5"
want "asps sim quote d --tcb Out" "OutOfDate OutOfDateConfigurationNeeded"
want "asps cert new --tee " "sgx tdx"
want "asps quote verify q" "quote.bin quote2.bin"
want "asps quote verify --collateral quote2" "quote2.bin"
want "asps get --server " ""
want "asps get --sim s" "sub"
want "asps get --server h:1 --ca c s" ""
has "asps run --conf c -- bas" bash
echo "test_cli_completion: $pass passed, $fail failed"
[ $fail = 0 ]
' _ "$BC" "$SRC/completions/asps"
