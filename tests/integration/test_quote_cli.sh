#!/usr/bin/env bash
# The `asps quote` command line, as other tools depend on it: exit codes
# (0 verified, 1 not, 2 usage), --at in both forms, --json fields.
set -u
bin=${ASPS_BIN:?}
. "$(dirname "$0")/vectors.sh"
need_vectors "$VEC/sgx_quote"
vec=$VEC
fail=0 pass=0
check() { # name expected-rc actual-rc
  if [ "$2" = "$3" ]; then pass=$((pass+1)); else echo "FAIL: $1: want rc $2, got $3"; fail=$((fail+1)); fi
}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT

"$bin" quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 2025-07-01T00:00:00Z >"$t/out" 2>"$t/err"
check "sgx verifies (RFC 3339)" 0 $?
grep -q "ConfigurationAndSWHardeningNeeded" "$t/out" || { echo "FAIL: status missing"; fail=$((fail+1)); }

"$bin" quote verify "$vec/tdx_quote" --collateral "$vec/tdx_quote_collateral.json" --at 1751328000 --json >"$t/out" 2>"$t/err"
check "tdx verifies (unix time, json)" 0 $?
python3 - "$t/out" "$vec/tdx_quote_collateral.json" <<'PY' || fail=$((fail+1))
import json, re, sys
o = json.load(open(sys.argv[1]))
assert o["verified"] is True and o["tee"] == "tdx" and o["tcb_status"] == "UpToDate", o
assert o["advisory_ids"] == [] and len(o["mrtd"]) == 96 and len(o["rtmr3"]) == 96, o
assert o["simulated"] is False
# the TCB recovery the verdict was made under, as Intel's collateral says
col = json.load(open(sys.argv[2]))
assert o["tcb_info_evaluation_data_number"] == json.loads(col["tcb_info"])["tcbEvaluationDataNumber"], o
assert o["qe_identity_evaluation_data_number"] == json.loads(col["qe_identity"])["tcbEvaluationDataNumber"], o
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", o["tcb_date"]), o
assert o["qe_advisory_ids"] == [] and o["tdx_module_advisory_ids"] == [], o
PY

"$bin" quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 2025-07-01T00:00:00Z --json >"$t/out"
python3 -c "
import json,sys; o=json.load(open('$t/out'))
assert o['advisory_ids']==['INTEL-SA-00289','INTEL-SA-00615'], o
assert len(o['mrenclave'])==64 and o['isv_prod_id']==0 and o['debug'] is False, o
" || { echo "FAIL: sgx json"; fail=$((fail+1)); }

"$bin" quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 2025-08-01T00:00:00Z >"$t/out" 2>"$t/err"
check "expired collateral fails" 1 $?
[ "$(wc -l <"$t/err")" = 1 ] || { echo "FAIL: reason should be one line"; cat "$t/err"; fail=$((fail+1)); }

"$bin" quote verify "$vec/tdx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 1751328000 >/dev/null 2>&1
check "wrong collateral fails" 1 $?

head -c 1000 "$vec/sgx_quote" >"$t/trunc"
"$bin" quote verify "$t/trunc" --collateral "$vec/sgx_quote_collateral.json" --at 1751328000 >/dev/null 2>&1
check "truncated quote fails" 1 $?

"$bin" quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at yesterday >/dev/null 2>&1
check "bad --at is usage" 2 $?
# a plain date is 00:00:00 UTC (the same verdict and JSON as the RFC 3339
# form); a day its month does not have is a usage error, not March 2
"$bin" quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 2025-07-01 --json >"$t/day" 2>&1
check "--at YYYY-MM-DD" 0 $?
"$bin" quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 2025-07-01T00:00:00Z --json >"$t/rfc" 2>&1
cmp -s "$t/day" "$t/rfc"; check "--at YYYY-MM-DD is midnight UTC" 0 $?
"$bin" quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 2025-06-31 >/dev/null 2>"$t/err"
check "--at 2025-06-31 is usage" 2 $?
grep -q -- "--at: '2025-06-31' is not unix seconds, a date YYYY-MM-DD or RFC 3339" "$t/err"; check "--at 2025-06-31 message" 0 $?
# --tcb-update early with collateral that holds no early TCB info (Intel's
# bundle here): the verdict is the standard set's, and the output says so
"$bin" quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 2025-07-01 --tcb-update early >"$t/out" 2>"$t/err"
check "--tcb-update early without an early set" 0 $?
grep -q "^tcb update: standard (the collateral holds no update=early TCB info; " "$t/out"; check "--tcb-update early: standard said" 0 $?
"$bin" quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 2025-07-01 >"$t/out" 2>"$t/err"
grep -q "^tcb update" "$t/out"; check "no tcb update line when not asked" 1 $?
# a --policy that cannot be used: exit 2 before any verdict is printed
# (stdout used to say "verified: ..." and the exit be 2), whatever the quote
echo '{' > "$t/badpol.json"
for q in "$vec/sgx_quote" "$vec/tdx_quote"; do # verifies / does not with this collateral
    "$bin" quote verify "$q" --collateral "$vec/sgx_quote_collateral.json" --at 2025-07-01 --policy "$t/badpol.json" >"$t/out" 2>"$t/err"
    rc=$?; check "bad --policy ($(basename "$q"))" 2 $rc
    [ ! -s "$t/out" ] && grep -q "^asps quote verify: $t/badpol.json: invalid JSON" "$t/err"; rc=$?
    check "bad --policy output ($(basename "$q"))" 0 $rc
done
"$bin" quote verify >/dev/null 2>&1
check "no quote is usage" 2 $?
"$bin" quote verify "$t/missing" --collateral "$vec/sgx_quote_collateral.json" >/dev/null 2>&1
check "missing quote file is usage" 2 $?
"$bin" quote frobnicate >/dev/null 2>&1
check "unknown subcommand is usage" 2 $?
"$bin" quote --help >"$t/help"
check "help" 0 $?
grep -q -- "--collateral FILE" "$t/help" || { echo "FAIL: help lacks --collateral"; fail=$((fail+1)); }

"$bin" quote show "$vec/sgx_quote" --json >"$t/out"
check "show" 0 $?
python3 -c "
import json; o=json.load(open('$t/out')); assert o['version']==3 and o['tee']=='sgx', o" || fail=$((fail+1))

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
