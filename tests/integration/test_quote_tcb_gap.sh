#!/usr/bin/env bash
# `asps quote verify` says which TCB component is behind (issue 16): real
# quotes with real TCB infos from ../shared/vectors/real, the expected
# shortfalls worked out here in Python from the TCB info in the vector
# (Intel's levels, listed highest first; the first level the platform's
# SVNs reach is the matched one, the one listed just before it the next),
# the components named with the category/type Intel's TCB info v3 gives.
# Also the --tcb-update / --max-stale usage errors.
set -u
bin=${ASPS_BIN:?}
. "$(dirname "$0")/vectors.sh"
real=$VEC_ROOT/real
need_vectors "$real/tdx4-50806f-outofdate/quote" "$real/sgx3-00606a-platform-eval19/quote" \
  "$real/sgx3-00606a-platform-tcbinfo-v2-qe-outofdate/quote"
fail=0 pass=0
check() { # name expected-rc actual-rc
  if [ "$2" = "$3" ]; then pass=$((pass+1)); else echo "FAIL: $1: want rc $2, got $3"; fail=$((fail+1)); fi
}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT

cat >"$t/gap.py" <<'PY'
# gap.py BUNDLE TXT JSON SHOW [CASE]: the gap `asps quote verify` printed
# (TXT, JSON) for a quote (SHOW: its `quote show --json`) against the one
# worked out here from the bundle's TCB info and QE identity.
import json, sys
bundle, txt, js, show = sys.argv[1:5]
case = json.load(open(sys.argv[5])) if len(sys.argv) > 5 else None
col = json.load(open(bundle))
out = json.load(open(js))
# the TCB info of the verdict: the early one when its number is the verdict's
ti = json.loads(col["tcb_info"])
if "tcb_info_early" in col:
    early = json.loads(col["tcb_info_early"])
    if early["tcbEvaluationDataNumber"] == out["tcb_info_evaluation_data_number"]:
        ti = early
assert ti["tcbEvaluationDataNumber"] == out["tcb_info_evaluation_data_number"], out
qe = json.loads(col["qe_identity"])
sh = json.load(open(show))
text = open(txt).read()
d = bundle.rsplit("/", 1)[0]
# the platform's SVNs: the PCK certificate's (asps quote show), PCE SVN
# checked against the case's own decoder
if case:
    assert sh["pce_svn_in_pck"] == case["fields"]["pce_svn_in_pck"], sh
cpu = bytes.fromhex(sh["cpu_svn_in_pck"])
pce = sh["pce_svn_in_pck"]
tdx = ti.get("id") == "TDX"
tee = bytes.fromhex(sh["tee_tcb_svn"]) if tdx else b""
if case and tdx:
    assert sh["tee_tcb_svn"] == case["fields"]["tee_tcb_svn"], sh
first_tdx = 2 if tdx and tee[1] > 0 else 0

def comps(level, key):
    tcb = level["tcb"]
    if ti["version"] == 2:
        return [tcb["sgxtcbcomp%02dsvn" % (i + 1)] for i in range(16)]
    return [c["svn"] for c in tcb[key]]

def reaches(level):
    if any(cpu[i] < s for i, s in enumerate(comps(level, "sgxtcbcomponents"))):
        return False
    if pce < level["tcb"]["pcesvn"]:
        return False
    if tdx and any(tee[i] < comps(level, "tdxtcbcomponents")[i] for i in range(first_tdx, 16)):
        return False
    return True

levels = ti["tcbLevels"]
m = next(i for i, l in enumerate(levels) if reaches(l))
assert levels[m]["tcbStatus"] in (out["tcb_status"], "UpToDate", "SWHardeningNeeded"), (m, out)

def name(key, i):
    for l in levels:
        if ti["version"] != 3:
            break
        c = l["tcb"][key][i]
        cat, typ = c.get("category", ""), c.get("type", "")
        if cat or typ:
            return cat + (": " if cat and typ else "") + typ
    return "TEE_TCB_SVN byte %d" % i if key == "tdxtcbcomponents" else ""

want = []
gap_expected = m > 0
def dominates(a, b):  # a at or above b in every SVN the matching reads
    if any(x < y for x, y in zip(comps(a, "sgxtcbcomponents"), comps(b, "sgxtcbcomponents"))):
        return False
    if a["tcb"]["pcesvn"] < b["tcb"]["pcesvn"]:
        return False
    return not tdx or all(comps(a, "tdxtcbcomponents")[i] >= comps(b, "tdxtcbcomponents")[i]
                          for i in range(first_tdx, 16))

if m > 0:
    # the next level up: the nearest one listed before the matched one that
    # is at or above it in every SVN (raising SVNs reaches it), else the
    # one listed just before it
    nxt = next((levels[i] for i in range(m - 1, -1, -1) if dominates(levels[i], levels[m])),
               levels[m - 1])
    for i, s in enumerate(comps(nxt, "sgxtcbcomponents")):
        if cpu[i] < s:
            n = name("sgxtcbcomponents", i)
            want.append(("sgxtcbcomponent %d" % i + (" (%s)" % n if n else ""), cpu[i], s))
    if pce < nxt["tcb"]["pcesvn"]:
        want.append(("pcesvn", pce, nxt["tcb"]["pcesvn"]))
    if tdx:
        for i in range(first_tdx, 16):
            s = comps(nxt, "tdxtcbcomponents")[i]
            if tee[i] < s:
                want.append(("tdxtcbcomponent %d (%s)" % (i, name("tdxtcbcomponents", i)), tee[i], s))
    cleared = [a for a in levels[m].get("advisoryIDs", []) if a not in nxt.get("advisoryIDs", [])]
# the TDX module: its identity's levels, highest first
if tdx and tee[1] > 0:
    mod = next(x for x in ti["tdxModuleIdentities"] if x["id"].upper() == "TDX_%02X" % tee[1])
    k = next(i for i, l in enumerate(mod["tcbLevels"]) if tee[0] >= l["tcb"]["isvsvn"])
    if k > 0 and mod["tcbLevels"][k - 1]["tcb"]["isvsvn"] > tee[0]:
        want.append(("tdx module isvsvn", tee[0], mod["tcbLevels"][k - 1]["tcb"]["isvsvn"]))
        gap_expected = True
# the QE: its identity's levels, highest first
qsvn = sh["qe_isv_svn"]
k = next(i for i, l in enumerate(qe["tcbLevels"]) if qsvn >= l["tcb"]["isvsvn"])
if k > 0 and qe["tcbLevels"][k - 1]["tcb"]["isvsvn"] > qsvn:
    want.append(("qe isvsvn", qsvn, qe["tcbLevels"][k - 1]["tcb"]["isvsvn"]))
    gap_expected = True

if not gap_expected:
    assert "gap" not in out and "behind" not in out and "behind:" not in text, (out.get("gap"), text)
    print("no gap:", d.rsplit("/", 1)[1])
    sys.exit(0)
g = out["gap"]
got = [(s["component"], s["have"], s["need"]) for s in out["behind"]]
assert got == want, (got, want)
if m > 0:
    assert g["next_tcb_status"] == nxt["tcbStatus"], g
    assert g["next_tcb_date"] == nxt["tcbDate"], g
    assert g["cleared_advisory_ids"] == cleared, (g, cleared)
line = next(l for l in text.splitlines() if l.startswith("behind: "))
for comp, have, need in want:
    assert "%s %d < %d" % (comp, have, need) in line, (line, comp)
if m > 0 and cleared:
    assert line.endswith(" clears " + ", ".join(cleared)), line
assert out["tcb_update"] in ("standard", "early") and out["collateral_stale"] is False, out
print("gap ok:", d.rsplit("/", 1)[1], got)
PY

for c in tdx4-50806f-outofdate sgx3-00606a-platform-eval19 sgx3-00606a-platform-tcbinfo-v2-qe-outofdate \
         sgx3-00606a-platform-eval17 sgx3-00906ed5-processor-eval19; do
  d=$real/$c
  [ -e "$d/quote" ] || { echo "FAIL: $c missing"; fail=$((fail+1)); continue; }
  at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["at"])' "$d/case.json")
  "$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at "$at" >"$t/$c.txt" 2>"$t/err"
  check "$c verifies (text)" 0 $?
  "$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at "$at" --json >"$t/$c.json" 2>"$t/err"
  check "$c verifies (json)" 0 $?
  "$bin" quote show "$d/quote" --json >"$t/$c.show" 2>"$t/err"
  check "$c shows" 0 $?
  python3 "$t/gap.py" "$d/collateral.json" "$t/$c.txt" "$t/$c.json" "$t/$c.show" "$d/case.json" ||
    { echo "FAIL: $c gap"; fail=$((fail+1)); }
done

# the simulated platform (sim/): a quote at each level of its TCB info, for
# SGX and TDX, before and after `asps sim recover` (under both update sets
# then); the same Python works out each gap from the sim's bundle
sd=$t/sim
"$bin" sim init "$sd" --days 400 >/dev/null || { echo "FAIL: sim init"; fail=$((fail+1)); }
now=$(date +%s)
sim_levels() { # TEE ROUND SET...: verify a quote at each status of the newest TCB info
  local tee=$1 round=$2 st set n=0; shift 2
  for st in $(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); ti=json.loads(b.get("tcb_info_early", b["tcb_info"]))
print(" ".join(dict.fromkeys(l["tcbStatus"] for l in ti["tcbLevels"] if l["tcbStatus"] != "Revoked")))' "$sd/collateral_$tee.json"); do
    "$bin" sim quote "$sd" --out "$t/sq" --tee "$tee" --tcb "$st" 2>"$t/err" || { echo "FAIL: sim quote $tee $st"; cat "$t/err"; fail=$((fail+1)); continue; }
    "$bin" quote show "$t/sq" --json >"$t/sq.show"
    for set in "$@"; do
      "$bin" quote verify "$t/sq" --collateral "$sd/collateral_$tee.json" --root-ca "$sd/root_ca.der" --at "$now" \
        --tcb-update "$set" >"$t/sq.txt" 2>"$t/err"
      check "sim $tee $round $st $set (text)" 0 $?
      "$bin" quote verify "$t/sq" --collateral "$sd/collateral_$tee.json" --root-ca "$sd/root_ca.der" --at "$now" \
        --tcb-update "$set" --json >"$t/sq.json" 2>"$t/err"
      check "sim $tee $round $st $set (json)" 0 $?
      python3 "$t/gap.py" "$sd/collateral_$tee.json" "$t/sq.txt" "$t/sq.json" "$t/sq.show" >"$t/gap.out" ||
        { echo "FAIL: sim $tee $round $st $set gap"; fail=$((fail+1)); }
      grep -q "^gap ok" "$t/gap.out" && n=$((n+1))
    done
  done
  # some level below the top says what is short
  [ "$n" -gt 0 ] || { echo "FAIL: sim $tee $round: no level with a gap"; fail=$((fail+1)); }
}
for tee in sgx tdx; do sim_levels $tee before standard; done
"$bin" sim recover "$sd" --date "$(date -u -d @$((now + 10 * 86400)) +%Y-%m-%d)" >/dev/null 2>"$t/err" ||
  { echo "FAIL: sim recover"; cat "$t/err"; fail=$((fail+1)); }
for tee in sgx tdx; do sim_levels $tee after standard early; done

# the named components exist: the TDX case names its TDX microcode and the
# SGX case its microcode components (Intel's words, in the vector)
grep -q "tdxtcbcomponent [0-9]* (OS/VMM: " "$t/tdx4-50806f-outofdate.txt" ||
  { echo "FAIL: no named TDX component"; fail=$((fail+1)); }
grep -q "sgxtcbcomponent 1 (OS/VMM: SGX Late Microcode Update)" "$t/sgx3-00606a-platform-eval19.txt" ||
  { echo "FAIL: no named SGX component"; fail=$((fail+1)); }
grep -q "qe isvsvn" "$t/sgx3-00606a-platform-tcbinfo-v2-qe-outofdate.txt" ||
  { echo "FAIL: no QE shortfall"; fail=$((fail+1)); }

# --tcb-update and --max-stale: values checked, usage errors exit 2
d=$real/sgx3-00606a-platform-eval17
at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["at"])' "$d/case.json")
for bad in "--tcb-update=soon" "--tcb-update" "--max-stale=7" "--max-stale=366d" "--max-stale=-1h" \
           "--max-stale=1hh" "--max-stale=h" "--max-stale=07d" "--max-stale=99999999999999999999s"; do
  "$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at "$at" $bad >/dev/null 2>"$t/err"
  check "usage error: $bad" 2 $?
  grep -q -- "${bad%%=*}" "$t/err" || { echo "FAIL: $bad: message does not name the option"; cat "$t/err"; fail=$((fail+1)); }
done
for good in "--tcb-update standard" "--tcb-update=early" "--max-stale 0" "--max-stale=90s" \
            "--max-stale 30m" "--max-stale 36h" "--max-stale 365d"; do
  "$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at "$at" $good --json >"$t/out" 2>"$t/err"
  check "accepted: $good" 0 $?
done
# the update set reaches the verifier: with no early TCB info held the
# verdict is the standard one either way, and says which set it follows
"$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at "$at" --tcb-update standard --json >"$t/out"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["tcb_update"]=="standard" and o["tcb_status"]=="SWHardeningNeeded", o' "$t/out" ||
  { echo "FAIL: standard set"; fail=$((fail+1)); }
"$bin" quote verify --help >"$t/help" 2>&1
grep -q -- "--tcb-update SET" "$t/help" && grep -q -- "--max-stale DURATION" "$t/help" ||
  { echo "FAIL: help lacks the options"; fail=$((fail+1)); }

# ---- forecast, demotion and stale collateral. The bundles are made here,
# at test time, from the real TCB-recovery pairs: eval 17's collateral with
# eval 19's TCB info as tcb_info_early; the statuses expected are what
# Intel's QVL answered with each TCB info (the cases' case.json).
for pair in sgx3-00606a-platform sgx3-00906ed5-processor; do
  a=$real/$pair-eval17 b=$real/$pair-eval19
  python3 - "$a/collateral.json" "$b/collateral.json" "$t/$pair.json" <<'PY'
import json, sys
col = json.load(open(sys.argv[1]))
early = json.load(open(sys.argv[2]))
col["tcb_info_early"] = early["tcb_info"]
col["tcb_info_early_signature"] = early["tcb_info_signature"]
json.dump(col, open(sys.argv[3], "w"))
PY
  at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["at"])' "$a/case.json")
  for set in standard early; do
    "$bin" quote verify "$a/quote" --collateral "$t/$pair.json" --at "$at" --tcb-update $set --json >"$t/f.json" 2>"$t/err"
    check "$pair $set (json)" 0 $?
    "$bin" quote verify "$a/quote" --collateral "$t/$pair.json" --at "$at" --tcb-update $set >"$t/f.txt" 2>"$t/err"
    check "$pair $set (text)" 0 $?
    python3 - "$a/case.json" "$b/case.json" "$t/f.json" "$t/f.txt" $set <<'PY' || { echo "FAIL: $pair $set forecast"; fail=$((fail+1)); }
import json, sys
c17, c19 = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
o, text, early = json.load(open(sys.argv[3])), open(sys.argv[4]).read(), sys.argv[5] == "early"
verdict, other = (c19, c17) if early else (c17, c19)
n_other = other["collateral"]["tcb_info"]["tcb_evaluation_data_number"]
assert o["tcb_update"] == sys.argv[5], o
assert o["tcb_status"] == verdict["tcb_status"] and o["advisory_ids"] == verdict["advisory_ids"], o
f = o["forecast"]
assert f["update"] == ("standard" if early else "early"), f
assert f["evaluation_data_number"] == n_other, f
assert f["status"] == other["tcb_status"], f
assert f["worse"] is (not early), f     # eval 19 is the worse set here
assert f["effective_at"] is None, f     # no numbers list in ../shared: date unknown
line = "forecast: %s under TCB evaluation data number %d" % (other["tcb_status"], n_other)
assert line in text, text
if early:
  # demoted by the recovery of the next level up; with no numbers list its
  # date is that level's tcbDate, and under the early set that is when
  assert o["demoted_at"] == o["tcb_recovery_event_date"] == o["gap"]["next_tcb_date"], o
  assert "demoted: " + o["demoted_at"][:10] in text, text
print("forecast ok:", sys.argv[1].split("/")[-2], sys.argv[5], o["tcb_status"], "->", f["status"])
PY
  done
done
# stale: an hour past the earliest nextUpdate, refused without
# --max-stale, accepted and marked within 2h, refused 3h past
d=$real/sgx3-00606a-platform-eval17
at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["at"])' "$d/case.json")
"$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at "$at" --json >"$t/s.json"
exp=$(python3 -c 'import json,sys,calendar,time; print(calendar.timegm(time.strptime(json.load(open(sys.argv[1]))["expires_at"], "%Y-%m-%dT%H:%M:%SZ")))' "$t/s.json")
"$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at $((exp + 3600)) >/dev/null 2>&1
check "an hour stale, no --max-stale: refused" 1 $?
"$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at $((exp + 3600)) --max-stale 2h >"$t/s.txt" 2>&1
check "an hour stale, --max-stale 2h: accepted" 0 $?
grep -qx "collateral: stale, 3600 s past nextUpdate" "$t/s.txt" || { echo "FAIL: stale line"; cat "$t/s.txt"; fail=$((fail+1)); }
"$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at $((exp + 3600)) --max-stale 2h --json >"$t/s.json"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["collateral_stale"] is True and o["collateral_stale_seconds"] == 3600, o' "$t/s.json" ||
  { echo "FAIL: stale json"; fail=$((fail+1)); }
"$bin" quote verify "$d/quote" --collateral "$d/collateral.json" --at $((exp + 3 * 3600)) --max-stale 2h >/dev/null 2>&1
check "three hours stale, --max-stale 2h: refused" 1 $?

echo "test_quote_tcb_gap: $pass passed, $fail failed"
[ "$fail" = 0 ]
