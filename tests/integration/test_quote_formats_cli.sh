#!/usr/bin/env bash
# `asps quote show --json` and `quote verify` on quotes asps did not write:
# - every real quote of ../shared/vectors/real (SGX v3, TDX v4 and v5, one
#   with certification data type 3): each value of its case.json `fields`
#   (decoded by the corpus's own decoder from Intel's published layouts,
#   PCK values from the PCK certificate) equals what `quote show --json`
#   prints under that name;
# - the v5 field cases of ../shared/vectors/field give their case.json
#   result (command, verdict, status, fields);
# - a quote with no PCK chain (certification data type 3) shows but is
#   not verified: `unsupported`, saying it needs a PCK certificate;
# - simulated quotes of every kind show their version, body type (v5) and
#   certification data types, and verify with `quote_version` in the claims.
set -u
bin=${ASPS_BIN:?}
. "$(dirname "$0")/vectors.sh"
need_vectors "$VEC_ROOT/real/README.md" "$VEC/sgx_quote_collateral.json" \
  "$VEC_ROOT/field/gtg-v5-td15-90c06f/case.json" \
  "$VEC_ROOT/field/trustee-tdx5-show/case.json"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
fail=0

python3 - "$bin" "$VEC_ROOT" <<'PY' || fail=1
import glob, json, os, subprocess, sys
bin, root = sys.argv[1], sys.argv[2]
bad = 0
cases = sorted(glob.glob(os.path.join(root, "real", "*", "case.json")))
assert len(cases) >= 26, f"only {len(cases)} real cases"
versions = set()
for cj in cases:
    case = json.load(open(cj))
    d = os.path.dirname(cj)
    fields = case.get("fields")
    if not fields:
        print(f"FAIL: {d}: no fields"); bad += 1; continue
    p = subprocess.run([bin, "quote", "show", os.path.join(d, "quote"), "--json"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print(f"FAIL: {os.path.basename(d)}: quote show rc {p.returncode}: {p.stderr.strip()}"); bad += 1
        continue
    got = json.loads(p.stdout)
    for k, v in fields.items():
        if k not in got:
            print(f"FAIL: {os.path.basename(d)}: show lacks {k}"); bad += 1
        elif got[k] != v:
            print(f"FAIL: {os.path.basename(d)}: {k} = {got[k]!r}, case.json says {v!r}"); bad += 1
    # a field only v5 quotes carry is shown only for them
    if ("body_type" in got) != (got["version"] == 5):
        print(f"FAIL: {os.path.basename(d)}: body_type shown for v{got['version']}"); bad += 1
    versions.add((got["tee"], got["version"], got.get("body_type"), got["cert_data_type"]))
# the corpus covers what this test claims to check
for want in [("sgx", 3, None, 5), ("sgx", 3, None, 3), ("tdx", 4, None, 5), ("tdx", 5, 3, 5)]:
    assert want in versions, f"corpus lacks {want}: {versions}"

# the field cases whose command is a quote command
for name in ["gtg-v5-td15-90c06f", "trustee-tdx5-show"]:
    d = os.path.join(root, "field", name)
    case = json.load(open(os.path.join(d, "case.json")))
    p = subprocess.run([bin] + case["command"], capture_output=True, text=True, cwd=d)
    want_rc = 0
    if p.returncode != want_rc:
        print(f"FAIL: field {name}: rc {p.returncode}: {p.stderr.strip()}"); bad += 1; continue
    got = json.loads(p.stdout)
    if case["expect"] == "verified":
        if got.get("verified") is not True or got.get("tcb_status") != case["expect_status"]:
            print(f"FAIL: field {name}: {got.get('verified')} {got.get('tcb_status')}"); bad += 1
    for k, v in case["expect_fields"].items():
        if got.get(k) != v:
            print(f"FAIL: field {name}: {k} = {got.get(k)!r}, want {v!r}"); bad += 1
sys.exit(1 if bad else 0)
PY

# no PCK chain: shown above, refused as unsupported when verified, with a
# bundle or a simulated platform to look collateral up from
pp="$VEC_ROOT/real/sgx3-certtype3-ppid-show/quote"
"$bin" sim init "$t/sim" >/dev/null || fail=1
for src in "--collateral $VEC/sgx_quote_collateral.json" "--sim $t/sim"; do
  # shellcheck disable=SC2086
  "$bin" quote verify "$pp" $src --at 2025-07-01T00:00:00Z --json >"$t/out" 2>"$t/err"
  rc=$?
  [ $rc = 1 ] || { echo "FAIL: type-3 quote verify ($src): rc $rc"; fail=1; }
  python3 - "$t/out" <<'PY' || { echo "FAIL: type-3 quote verify ($src)"; cat "$t/out"; fail=1; }
import json, sys
o = json.load(open(sys.argv[1]))
assert o["verified"] is False and o["error"] == "unsupported", o
assert "certification data type 3" in o["reason"] and "needs a PCK certificate from elsewhere" in o["reason"], o
PY
done

# simulated quotes of every kind
while read -r tee qv td15 ver body inner outer; do
  args="--quote-version $qv"
  [ "$td15" = td15 ] && args="$args --td15"
  # shellcheck disable=SC2086
  "$bin" sim quote "$t/sim" --out "$t/q" --tee "$tee" $args --report-data "$(printf 'ab%.0s' $(seq 64))" \
    || { echo "FAIL: sim quote $tee $args"; fail=1; continue; }
  "$bin" quote show "$t/q" --json >"$t/show" || { echo "FAIL: show $tee $args"; fail=1; continue; }
  "$bin" quote verify "$t/q" --sim "$t/sim" --json >"$t/ver" || { echo "FAIL: verify $tee $args"; fail=1; }
  python3 - "$t/show" "$t/ver" "$tee" "$ver" "$body" "$inner" "$outer" <<'PY' || { echo "FAIL: sim $tee $args"; fail=1; }
import json, sys
s, v = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
tee, ver, body, inner, outer = sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), sys.argv[7]
assert s["tee"] == tee and s["version"] == ver, s
assert s.get("body_type") == (None if body == "-" else int(body)), s
assert s["cert_data_type"] == inner and s.get("outer_cert_data_type") == (None if outer == "-" else int(outer)), s
assert s["report_data"] == "ab" * 64 and s["trailing_bytes"] == 0, s
assert ("tee_tcb_svn2" in s) == (body == "3") and ("mrservicetd" in s) == (body == "3"), s
assert v["verified"] is True and v["quote_version"] == ver and v["simulated"] is True, v
PY
done <<'EOF2'
sgx 3 - 3 - 5 -
sgx 4 - 4 - 5 6
sgx 5 - 5 1 5 6
tdx 4 - 4 - 5 6
tdx 5 - 5 2 5 6
tdx 5 td15 5 3 5 6
EOF2

exit $fail
