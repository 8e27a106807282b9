#!/usr/bin/env bash
# `asps sim init|quote` (recover: test_sim_recover.sh) as scripts use them: files and modes; quotes that
# `asps quote verify` accepts only with the simulated root given explicitly;
# the identity flags land in the verified claims; each --tcb level gives its
# status; a tampered quote fails; usage errors exit 2. Needs no DCAP vectors.
set -u
bin=${ASPS_BIN:?}
fail=0 pass=0
check() { # name expected-rc actual-rc
  if [ "$2" = "$3" ]; then pass=$((pass+1)); else echo "FAIL: $1: want rc $2, got $3"; fail=$((fail+1)); fi
}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
d=$t/sim

"$bin" sim init "$d" >"$t/out" 2>"$t/err"
check "sim init" 0 $?
# a DIR that cannot be made is an output that cannot be written: 2, not 1
: >"$t/plainfile"
"$bin" sim init "$t/plainfile/sub" >/dev/null 2>"$t/err"
check "sim init under a file" 2 $?
grep -q "^asps sim init: " "$t/err" || { echo "FAIL: sim init under a file: $(cat "$t/err")"; fail=$((fail+1)); }
"$bin" sim init /proc/asps-no-such-dir >/dev/null 2>&1
check "sim init in /proc" 2 $?
mode() { stat -c %a "$1"; }
[ "$(mode "$d")" = 700 ] || { echo "FAIL: DIR mode $(mode "$d")"; fail=$((fail+1)); }
for k in root_ca.key pck_ca.key tcb_signing.key pck.key; do
  [ "$(mode "$d/$k")" = 600 ] || { echo "FAIL: $k mode $(mode "$d/$k")"; fail=$((fail+1)); }
done
for f in root_ca.der root_ca.pem collateral_sgx.json collateral_tdx.json; do
  [ -s "$d/$f" ] || { echo "FAIL: $f missing"; fail=$((fail+1)); }
done
# nobody mistakes it for Intel's: every subject says so
if command -v openssl >/dev/null; then
  openssl x509 -inform DER -in "$d/root_ca.der" -noout -subject | grep -q "asps simulated" \
    || { echo "FAIL: root subject"; fail=$((fail+1)); }
  # the PCK chain passes standard path validation to the sim root
  awk -v o="$t/c" '/BEGIN CERT/{n++} {print > (o n ".pem")}' "$d/pck_chain_UpToDate.pem"
  openssl verify -x509_strict -CAfile "$d/root_ca.pem" -untrusted "$t/c2.pem" "$t/c1.pem" >/dev/null 2>&1
  check "openssl verify of the PCK chain" 0 $?
fi

mre=$(printf 'a1%.0s' $(seq 32)); mrs=$(printf 'b2%.0s' $(seq 32)); rd=$(printf '0f%.0s' $(seq 64))
"$bin" sim quote "$d" --out "$t/q" --mrenclave "$mre" --mrsigner "$mrs" --isv-prod-id 7 --isv-svn 3 \
  --report-data "$rd" --debug
check "sim quote sgx" 0 $?

"$bin" quote verify "$t/q" --collateral "$d/collateral_sgx.json" --root-ca "$d/root_ca.der" --json >"$t/out" 2>"$t/err"
check "verifies with the sim root" 0 $?
python3 - "$t/out" "$mre" "$mrs" "$rd" <<'PY' || { echo "FAIL: sgx claims"; fail=$((fail+1)); }
import json, sys
o = json.load(open(sys.argv[1]))
assert o["verified"] is True and o["simulated"] is True and o["tee"] == "sgx", o
assert o["tcb_status"] == "UpToDate" and o["advisory_ids"] == [], o
assert o["mrenclave"] == sys.argv[2] and o["mrsigner"] == sys.argv[3], o
assert o["report_data"] == sys.argv[4] and o["isv_prod_id"] == 7 and o["isv_svn"] == 3, o
assert o["debug"] is True and o["quote_version"] == 3, o
PY

"$bin" quote verify "$t/q" --collateral "$d/collateral_sgx.json" >"$t/out" 2>"$t/err"
check "fails with only the Intel root" 1 $?
grep -qi "root" "$t/err" || { echo "FAIL: reason should name the root"; cat "$t/err"; fail=$((fail+1)); }

"$bin" quote verify "$t/q" --sim "$d" >"$t/out" 2>"$t/err"
check "--sim DIR" 0 $?

# another simulated platform's root does not vouch for this one
"$bin" sim init "$t/other" >/dev/null
"$bin" quote verify "$t/q" --collateral "$d/collateral_sgx.json" --root-ca "$t/other/root_ca.der" >"$t/out" 2>"$t/err"
check "another sim's root" 1 $?

# every TCB level, SGX and TDX
for tee in sgx tdx; do
  while read -r level adv; do
    "$bin" sim quote "$d" --out "$t/l" --tee $tee --tcb "$level" --mrtd "$(printf 'cd%.0s' $(seq 48))" \
      --rtmr "3=$(printf 'ee%.0s' $(seq 48))"
    check "sim quote $tee $level" 0 $?
    "$bin" quote verify "$t/l" --collateral "$d/collateral_$tee.json" --root-ca "$d/root_ca.der" --json >"$t/out" 2>"$t/err"
    rc=$?
    if [ "$level" = Revoked ]; then check "$tee $level refused" 1 $rc; continue; fi
    check "$tee $level verifies" 0 $rc
    python3 - "$t/out" "$tee" "$level" "$adv" <<'PY' || { echo "FAIL: $tee $level claims"; fail=$((fail+1)); }
import json, sys
o = json.load(open(sys.argv[1]))
want_adv = [] if sys.argv[4] == "-" else sys.argv[4].split(",")
assert o["tee"] == sys.argv[2] and o["tcb_status"] == sys.argv[3], o
assert o["advisory_ids"] == want_adv, o
if sys.argv[2] == "tdx":
    assert o["mrtd"] == "cd" * 48 and o["rtmr3"] == "ee" * 48 and o["quote_version"] == 4, o
PY
  done <<'EOF'
UpToDate -
SWHardeningNeeded INTEL-SA-00615
ConfigurationNeeded INTEL-SA-00289
ConfigurationAndSWHardeningNeeded INTEL-SA-00289,INTEL-SA-00615
OutOfDate INTEL-SA-00828
OutOfDateConfigurationNeeded INTEL-SA-00828,INTEL-SA-00289
Revoked -
EOF
done

# a flipped byte in the signed body (MRENCLAVE) fails
python3 - "$t/q" "$t/bad" <<'PY'
import sys
q = bytearray(open(sys.argv[1], "rb").read()); q[48 + 64] ^= 1
open(sys.argv[2], "wb").write(q)
PY
"$bin" quote verify "$t/bad" --collateral "$d/collateral_sgx.json" --root-ca "$d/root_ca.der" >"$t/out" 2>"$t/err"
check "tampered quote" 1 $?

# expired: the collateral lasts 30 days
"$bin" quote verify "$t/q" --collateral "$d/collateral_sgx.json" --root-ca "$d/root_ca.der" \
  --at $(( $(date +%s) + 31 * 86400 )) >"$t/out" 2>"$t/err"
check "collateral expires after 30 days" 1 $?

# usage errors
"$bin" sim >/dev/null 2>&1; check "no subcommand" 2 $?
"$bin" sim quote "$d" >/dev/null 2>&1; check "quote without --out" 2 $?
"$bin" sim quote "$d" --out "$t/x" --tee sev >/dev/null 2>&1; check "bad --tee" 2 $?
"$bin" sim quote "$d" --out "$t/x" --mrenclave abc >/dev/null 2>&1; check "bad hex" 2 $?
"$bin" sim quote "$d" --out "$t/x" --tcb Bogus >/dev/null 2>&1; check "bad --tcb" 2 $?
"$bin" sim quote "$d" --out "$t/x" --tcb TDRelaunchAdvised >/dev/null 2>&1; check "--tcb no sim level" 2 $?
"$bin" sim quote "$d" --out "$t/x" --rtmr 4=00 >/dev/null 2>&1; check "bad --rtmr" 2 $?
"$bin" sim quote "$t/nonexistent" --out "$t/x" >/dev/null 2>&1; check "not a sim folder" 2 $?
"$bin" sim init >/dev/null 2>&1; check "init without DIR" 2 $?
"$bin" sim init "$t/d0" --days 0 >/dev/null 2>&1; check "init --days 0" 2 $?
"$bin" sim init "$t/d0" --days 3651 >/dev/null 2>&1; check "init --days 3651" 2 $?
"$bin" sim init "$t/d0" --days 1x >/dev/null 2>&1; check "init --days 1x" 2 $?
"$bin" sim quote "$d" --out "$t/x" --evaluation-data-number x >/dev/null 2>&1; check "bad --evaluation-data-number" 2 $?
"$bin" sim quote "$d" --out "$t/x" --evaluation-data-number 2 >/dev/null 2>&1; check "no number 2 yet" 2 $?
"$bin" sim quote "$d" --out "$t/x" --evaluation-data-number 1 >/dev/null 2>&1; check "number 1" 0 $?
"$bin" sim recover "$d" >/dev/null 2>&1; check "recover without --date" 2 $?
# --days N: nextUpdate N days after now (issued a day before)
"$bin" sim init "$t/d400" --days 400 >/dev/null; check "init --days 400" 0 $?
python3 - "$t/d400/collateral_sgx.json" <<'PY' || { echo "FAIL: --days 400 nextUpdate"; fail=$((fail+1)); }
import datetime, json, sys
t = json.loads(json.load(open(sys.argv[1]))["tcb_info"])
p = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
assert (p(t["nextUpdate"]) - p(t["issueDate"])).days == 401, t
PY
"$bin" sim --help >/dev/null 2>&1; check "--help" 0 $?

echo "test_sim_cli: $pass passed, $fail failed"
[ $fail = 0 ]
