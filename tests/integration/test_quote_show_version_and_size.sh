#!/usr/bin/env bash
# test_quote_show_version_and_size.sh: `asps quote show --json` names the
# quote's version `quote_version` too (the name `quote verify` prints), and
# the value is the one the real-quote corpus's own decoder gives in each
# case.json (../shared/vectors/real, not written by asps); and the command
# reads a quote up to the parser's limit (ASPS_QUOTE_MAX_LEN, 1 MiB): a
# real quote zero-padded to exactly 1 MiB is shown and verified, one byte
# more is refused as too large (exit 2, the file cannot be used). Before
# this, the CLI refused the 1 MiB file saying it was larger than 1 MiB.
set -u
BIN=${ASPS_BIN:?}
here=$(dirname "$0")
. "$here/vectors.sh"
need_vectors "$VEC_ROOT/real/README.md"
T=$(mktemp -d /tmp/asps-qshow-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }

# ---- quote_version beside version, against the corpus's decoder ---------------
n=0
for c in "$VEC_ROOT"/real/*/case.json; do
    d=$(dirname "$c")
    [ -f "$d/quote" ] || continue
    n=$((n+1))
    if ! "$BIN" quote show "$d/quote" --json > "$T/show.json" 2> "$T/show.err"; then
        bad "quote show $(basename "$d"): $(cat "$T/show.err")"
        continue
    fi
    python3 - "$c" "$T/show.json" <<'EOF' && ok || bad "quote show $(basename "$d"): quote_version"
import json, sys
case, show = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
want = case["quote_version"]
assert show.get("quote_version") == want and show.get("version") == want, (want, show.get("version"), show.get("quote_version"))
EOF
done
[ "$n" -ge 20 ] && ok || bad "only $n real quotes found"

# ---- the size limit: exactly 1 MiB is read, one byte more is not --------------
case_dir="$VEC_ROOT/real/sgx3-00906ed5-processor-eval19"
at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["at"])' "$case_dir/case.json")
python3 - "$case_dir/quote" "$T" <<'EOF'
import sys
q = open(sys.argv[1], "rb").read()
lim = 1 << 20
open(sys.argv[2] + "/at-limit", "wb").write(q + bytes(lim - len(q)))
open(sys.argv[2] + "/over-limit", "wb").write(q + bytes(lim + 1 - len(q)))
EOF
if "$BIN" quote show "$T/at-limit" --json > "$T/lim.json" 2> "$T/lim.err"; then
    python3 - "$T/lim.json" <<'EOF' && ok || bad "1 MiB quote: trailing_bytes"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["signed_length"] + o["trailing_bytes"] == 1 << 20, o["trailing_bytes"]
EOF
else
    bad "quote show of a 1 MiB (zero-padded) quote: $(cat "$T/lim.err")"
fi
"$BIN" quote verify "$T/at-limit" --collateral "$case_dir/collateral.json" --at "$at" > "$T/v.out" 2>&1 &&
    ok || bad "quote verify of a 1 MiB (zero-padded) quote: $(cat "$T/v.out")"
"$BIN" quote show "$T/over-limit" > "$T/o.out" 2> "$T/o.err"
rc=$?
[ "$rc" = 2 ] && grep -q "is larger than 1048576 bytes" "$T/o.err" && ok ||
    bad "1 MiB + 1 quote: rc $rc, $(cat "$T/o.err")"

echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
