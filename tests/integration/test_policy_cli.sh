#!/usr/bin/env bash
# test_policy_cli.sh: `asps policy check|convert` exit codes and messages.
set -u
bin=${ASPS_BIN:?} src=${ASPS_SRC:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin" policy check "$src/examples/policy.json") || fail "valid policy rejected"
grep -q "valid, 3 apps" <<<"$out" || fail "summary missing: $out"

sed 's/"mrenclave": "6a0a4f58[0-9a-f]*"/"mrenclave": "6a0a"/' "$src/examples/policy.json" >"$work/bad.json"
err=$("$bin" policy check "$work/bad.json" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "invalid policy: exit $rc"
grep -q 'apps\[0\].match.mrenclave: expected 64 hex characters' <<<"$err" || fail "message: $err"

"$bin" policy check "$work/missing.json" 2>/dev/null; [ $? -eq 2 ] || fail "missing file should exit 2"
"$bin" policy 2>/dev/null; [ $? -eq 2 ] || fail "no args should exit 2"
"$bin" policy convert "$src/examples/occlum_ra_config.json" 2>/dev/null; [ $? -eq 2 ] || fail "convert without --from"

# Occlum -> native -> check; notes on stderr only.
"$bin" policy convert --from occlum --secrets "$src/examples/occlum_secret_config.json" \
    "$src/examples/occlum_ra_config.json" >"$work/occ.json" 2>"$work/notes" || fail "occlum convert"
grep -q "isv_svn" "$work/notes" || fail "no note about isv_svn"
"$bin" policy check "$work/occ.json" >/dev/null || fail "converted occlum policy does not check"
grep -q "dGVzdCBzYW1wbGUga2V5" "$work/occ.json" && fail "secret value copied into the policy"

# CCZoo none -> native + KMS file (0600), value not in the policy.
"$bin" policy convert --from cczoo --kms-out "$work/kms.json" \
    "$src/examples/cczoo_policy_no_kms.json" >"$work/cz.json" 2>/dev/null || fail "cczoo convert"
[ "$(stat -c %a "$work/kms.json")" = 600 ] || fail "kms file mode"
grep -q '"123"' "$work/kms.json" || fail "value not in kms file"
grep -q '"123"' "$work/cz.json" && fail "value left in the policy"
"$bin" policy check "$work/cz.json" >/dev/null || fail "converted cczoo policy does not check"

printf '{"kms":"ehsm","app_list":[]}' >"$work/ehsm.json"
err=$("$bin" policy check --from cczoo "$work/ehsm.json" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q ehsm <<<"$err" || fail "ehsm: $rc $err"
echo "1 passed, 0 failed"
