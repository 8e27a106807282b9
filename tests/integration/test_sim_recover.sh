#!/usr/bin/env bash
# `asps sim recover`: the simulated platform's TCB recovery, and the test
# PCCS (tests/pccs_server.py) serving it.
# - The TCB evaluation data numbers list in the bundles has the shape of
#   Intel's published list (PCS v4 tcbevaluationdatanumbers: the object's
#   keys id, version, issueDate, nextUpdate, tcbEvalNumbers in that order,
#   each entry tcbEvaluationDataNumber, tcbRecoveryEventDate, tcbDate, newest
#   first, tcbDate = event + 1 day, as in Intel's list of 2025-06-02 with
#   numbers 19 (2025-05-13 / 2025-05-14), 18, 17).
# - Every signed part verifies with openssl (ECDSA P-256 r||s over the exact
#   body, the TCB signing certificate from the bundle's chain, that chain to
#   the sim root), not with asps.
# - How the old levels are demoted is pinned with Intel's real TCB infos of
#   one platform at evaluation data numbers 17 and 19 (../shared/vectors/real).
# - Quotes at each level before and after, under the standard and the early
#   TCB info (a bundle whose tcb_info is the early one, made here), through
#   `asps quote verify`; a second recovery; usage errors.
# - pccs_server.py with two bundles serves every endpoint byte for byte.
set -u
BIN=${ASPS_BIN:?}; SRC=${ASPS_SRC:?}
. "$(dirname "$0")/vectors.sh"
T=$(mktemp -d /tmp/asps-simrec-XXXXXX)
PIDS=
cleanup() { for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T"
d=$T/sim

# ---- python helpers: the bundle read as JSON, signatures checked by openssl ----
cat >chk.py <<'PY'
import json, subprocess, sys, tempfile, os, urllib.parse

def pairs(text):
    return json.loads(text, object_pairs_hook=lambda p: p)

def der_sig(hexsig):
    raw = bytes.fromhex(hexsig)
    assert len(raw) == 64, "signature is not 64 bytes r||s"
    def integer(b):
        b = b.lstrip(b"\0") or b"\0"
        if b[0] & 0x80:
            b = b"\0" + b
        return b"\x02" + bytes([len(b)]) + b
    body = integer(raw[:32]) + integer(raw[32:])
    return b"\x30" + bytes([len(body)]) + body

def verify(body, hexsig, chain_pem, root_pem):
    """openssl: the signing certificate (first in CHAIN) chains to ROOT and
    its key verifies HEXSIG (r||s) over BODY's exact bytes."""
    with tempfile.TemporaryDirectory() as t:
        certs = [c + "-----END CERTIFICATE-----\n" for c in chain_pem.split("-----END CERTIFICATE-----")
                 if "BEGIN" in c]
        open(t + "/leaf.pem", "w").write(certs[0].lstrip())
        r = subprocess.run(["openssl", "verify", "-CAfile", root_pem, t + "/leaf.pem"], capture_output=True)
        assert r.returncode == 0, "signing certificate does not chain to the root: %s" % r.stdout
        pub = subprocess.run(["openssl", "x509", "-in", t + "/leaf.pem", "-pubkey", "-noout"],
                             capture_output=True, check=True).stdout
        open(t + "/pub.pem", "wb").write(pub)
        open(t + "/sig", "wb").write(der_sig(hexsig))
        open(t + "/body", "wb").write(body.encode() if isinstance(body, str) else body)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", t + "/pub.pem", "-signature",
                            t + "/sig", t + "/body"], capture_output=True)
        return r.returncode == 0
PY

# ---- init: number 1, the list in each bundle --------------------------------------
"$BIN" sim init "$d" --days 400 >/dev/null && ok || bad "sim init"
python3 - "$d" <<'PY' && ok || bad "the numbers list after init"
import json, sys
sys.path.insert(0, ".")
from chk import pairs, verify
d = sys.argv[1]
for tee in ("sgx", "tdx"):
    b = json.load(open("%s/collateral_%s.json" % (d, tee)))
    assert "tcb_info_early" not in b and "tcb_info_early_signature" not in b, "early TCB info before any recovery"
    en = pairs(b["tcb_evaluation_data_numbers"])
    assert [k for k, _ in en] == ["id", "version", "issueDate", "nextUpdate", "tcbEvalNumbers"], en
    o = dict(en)
    assert o["id"] == tee.upper() and o["version"] == 1, o
    ent = [dict(e) for e in o["tcbEvalNumbers"]]
    assert [list(dict(e).keys()) for e in o["tcbEvalNumbers"]] == [["tcbEvaluationDataNumber", "tcbRecoveryEventDate", "tcbDate"]], en
    ti = json.loads(b["tcb_info"])
    assert ti["tcbEvaluationDataNumber"] == 1 and ent[0]["tcbEvaluationDataNumber"] == 1, ent
    assert o["issueDate"] == ti["issueDate"] and o["nextUpdate"] == ti["nextUpdate"], (o, ti)
    # number 1's tcbDate is its levels' tcbDate
    assert {l["tcbDate"] for l in ti["tcbLevels"]} == {ent[0]["tcbDate"]}, ent
    assert b["tcb_evaluation_data_numbers_issuer_chain"] == b["tcb_info_issuer_chain"]
    root = d + "/root_ca.pem"
    assert verify(b["tcb_evaluation_data_numbers"], b["tcb_evaluation_data_numbers_signature"],
                  b["tcb_evaluation_data_numbers_issuer_chain"], root), "numbers list signature"
    assert verify(b["tcb_info"], b["tcb_info_signature"], b["tcb_info_issuer_chain"], root), "tcb_info signature"
    # a tampered body does not verify: the check can fail
    assert not verify(b["tcb_evaluation_data_numbers"].replace('"version":1', '"version":2'),
                      b["tcb_evaluation_data_numbers_signature"], b["tcb_evaluation_data_numbers_issuer_chain"], root)
PY
cp "$d/collateral_sgx.json" before_sgx.json

# early.json: the bundle with its early TCB info as tcb_info (the verdict
# the early set gives, with the verifier as it is on main)
mkearly() { python3 - "$d/collateral_$1.json" "$2" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["tcb_info"], b["tcb_info_signature"] = b["tcb_info_early"], b["tcb_info_early_signature"]
json.dump(b, open(sys.argv[2], "w"))
PY
}
# status TEE BUNDLE [quote args...]: "STATUS ADVISORIES" of a fresh sim quote
status() {
  local tee=$1 bundle=$2; shift 2
  rm -f q
  "$BIN" sim quote "$d" --out q --tee "$tee" "$@" 2>qerr || { echo "quote-rc-$?"; return; }
  "$BIN" quote verify q --collateral "$bundle" --root-ca "$d/root_ca.der" --json 2>verr |
    python3 -c 'import json,sys; o=json.load(sys.stdin); print(o["tcb_status"], ",".join(o["advisory_ids"]))' \
    2>/dev/null || echo "verify-failed: $(cat verr)"
}
want() { # name got expected
  [ "$2" = "$3" ] && ok || bad "$1: got [$2], want [$3]"
}

want "sgx UpToDate before" "$(status sgx "$d/collateral_sgx.json")" "UpToDate "
want "sgx UpToDate at 1 before" "$(status sgx "$d/collateral_sgx.json" --evaluation-data-number 1)" "UpToDate "
want "sgx OutOfDate before" "$(status sgx "$d/collateral_sgx.json" --tcb OutOfDate)" "OutOfDate INTEL-SA-00828"
want "tdx UpToDate before" "$(status tdx "$d/collateral_tdx.json")" "UpToDate "
want "number 2 before any recovery" "$(status sgx "$d/collateral_sgx.json" --evaluation-data-number 2)" "quote-rc-2"

# ---- recover ----------------------------------------------------------------------
D1=$(date -u -d "+10 days" +%Y-%m-%d)
D2=$(date -u -d "+20 days" +%Y-%m-%d)
"$BIN" sim recover "$d" --date "$D1" >out.txt 2>err.txt && ok || bad "sim recover: $(cat err.txt)"
grep -q "^SGX: TCB evaluation data number 2 (tcbRecoveryEventDate ${D1}T00:00:00Z" out.txt &&
  grep -q "^TDX: TCB evaluation data number 2" out.txt && ok || bad "recover output: $(cat out.txt)"
python3 - "$d" "$D1" <<'PY' && ok || bad "bundles after the recovery"
import json, sys, datetime
sys.path.insert(0, ".")
from chk import pairs, verify
d, date = sys.argv[1], sys.argv[2]
nxt = (datetime.date.fromisoformat(date) + datetime.timedelta(days=1)).isoformat()
before = json.load(open("before_sgx.json"))
for tee in ("sgx", "tdx"):
    b = json.load(open("%s/collateral_%s.json" % (d, tee)))
    root = d + "/root_ca.pem"
    for part, sig, chain in (("tcb_info", "tcb_info_signature", "tcb_info_issuer_chain"),
                             ("tcb_info_early", "tcb_info_early_signature", "tcb_info_issuer_chain"),
                             ("tcb_evaluation_data_numbers", "tcb_evaluation_data_numbers_signature",
                              "tcb_evaluation_data_numbers_issuer_chain")):
        assert verify(b[part], b[sig], b[chain], root), "%s %s signature" % (tee, part)
    std, early = json.loads(b["tcb_info"]), json.loads(b["tcb_info_early"])
    assert std["tcbEvaluationDataNumber"] == 1 and early["tcbEvaluationDataNumber"] == 2
    if tee == "sgx":  # the standard set is number 1, byte for byte as before
        assert b["tcb_info"] == before["tcb_info"], "standard TCB info changed"
        for k in ("pck_crl", "root_ca_crl", "qe_identity", "qe_identity_signature"):
            assert b[k] == before[k], k
    o = dict(pairs(b["tcb_evaluation_data_numbers"]))
    ent = [dict(e) for e in o["tcbEvalNumbers"]]
    assert [e["tcbEvaluationDataNumber"] for e in ent] == [2, 1], ent
    assert ent[0]["tcbRecoveryEventDate"] == date + "T00:00:00Z" and ent[0]["tcbDate"] == nxt + "T00:00:00Z", ent
    top = early["tcbLevels"][0]
    assert top["tcbStatus"] == "UpToDate" and top["tcbDate"] == ent[0]["tcbDate"] and "advisoryIDs" not in top, top
    # a new level above the old top: higher SVN, the rest are the old levels
    def svns(l):
        t = l["tcb"]
        return [c["svn"] for c in t["sgxtcbcomponents"]] + [c["svn"] for c in t.get("tdxtcbcomponents", [])] + [t["pcesvn"]]
    assert [svns(l) for l in early["tcbLevels"][1:]] == [svns(l) for l in std["tcbLevels"]]
    assert all(a >= b for a, b in zip(svns(top), svns(std["tcbLevels"][0]))) and svns(top) != svns(std["tcbLevels"][0])
    for old, new in zip(std["tcbLevels"], early["tcbLevels"][1:]):
        assert new["tcbDate"] == old["tcbDate"], (old, new)
        assert new["advisoryIDs"] == old.get("advisoryIDs", []) + ["INTEL-SA-SIM-2"], (old, new)
    open("transitions_%s.json" % tee, "w").write(json.dumps(
        sorted({(old["tcbStatus"], new["tcbStatus"]) for old, new in zip(std["tcbLevels"], early["tcbLevels"][1:])})))
PY

# the demotions as Intel's data has them: one platform's levels at
# evaluation data numbers 17 and 19 (matched by SVNs)
R=$VEC_ROOT/real
if [ -f "$R/sgx3-00606a-platform-eval17/collateral.json" ] && [ -f "$R/sgx3-00606a-platform-eval19/collateral.json" ] &&
   [ -f "$R/sgx3-00906ed5-processor-eval17/collateral.json" ]; then
  python3 - "$R" <<'PY' && ok || bad "demotions differ from Intel's eval17 -> eval19"
import json, sys
R = sys.argv[1]
intel = {}
for p in ("sgx3-00606a-platform", "sgx3-00906ed5-processor"):
    a, b = (json.loads(json.load(open("%s/%s-eval%d/collateral.json" % (R, p, n)))["tcb_info"]) for n in (17, 19))
    assert a["tcbEvaluationDataNumber"] == 17 and b["tcbEvaluationDataNumber"] == 19
    # a level is its SVNs; Intel lists two statuses per SVN set (with and
    # without configuration): match on the SVNs and the configuration part
    def cfg(s): return "Configuration" in s
    new = {}
    for l in b["tcbLevels"]:
        new.setdefault(json.dumps(l["tcb"], sort_keys=True), []).append(l)
    for l in a["tcbLevels"]:
        for m in new.get(json.dumps(l["tcb"], sort_keys=True), []):
            if cfg(m["tcbStatus"]) == cfg(l["tcbStatus"]):
                intel.setdefault(l["tcbStatus"], set()).add(m["tcbStatus"])
                # Intel adds the new advisories to every level it keeps
                assert set(l.get("advisoryIDs", [])) <= set(m.get("advisoryIDs", [])), (l, m)
for tee in ("sgx", "tdx"):
    for old, new in json.load(open("transitions_%s.json" % tee)):
        if old in intel:
            assert intel[old] == {new}, (tee, old, new, intel[old])
# what Intel's data shows, so that the check above is not empty
assert intel.get("SWHardeningNeeded") == {"OutOfDate"}, intel
assert intel.get("ConfigurationAndSWHardeningNeeded") == {"OutOfDateConfigurationNeeded"}, intel
print("intel transitions:", {k: sorted(v) for k, v in intel.items()})
PY
else
  echo "NOTICE: Intel's eval17/eval19 TCB infos (../shared/vectors/real) missing: demotions not pinned"
  [ -n "${ASPS_BUILD:-}" ] && echo "test_sim_recover: the demotions pinned with $R/*-eval17/19" >>"$ASPS_BUILD/not-run.txt"
fi

mkearly sgx early_sgx.json
mkearly tdx early_tdx.json
S=$d/collateral_sgx.json
want "sgx new top, standard" "$(status sgx "$S")" "UpToDate "
want "sgx new top, early" "$(status sgx early_sgx.json)" "UpToDate "
want "sgx UpToDate at 1, standard" "$(status sgx "$S" --evaluation-data-number 1)" "UpToDate "
want "sgx UpToDate at 1, early" "$(status sgx early_sgx.json --evaluation-data-number 1)" "OutOfDate INTEL-SA-SIM-2"
want "sgx OutOfDate at 2 = old top" "$(status sgx early_sgx.json --tcb OutOfDate)" "OutOfDate INTEL-SA-SIM-2"
want "sgx OutOfDate at 2, standard" "$(status sgx "$S" --tcb OutOfDate)" "UpToDate "
want "sgx SWHardeningNeeded at 1, standard" "$(status sgx "$S" --tcb SWHardeningNeeded --evaluation-data-number 1)" \
  "SWHardeningNeeded INTEL-SA-00615"
want "sgx SWHardeningNeeded at 1, early" "$(status sgx early_sgx.json --tcb SWHardeningNeeded --evaluation-data-number 1)" \
  "OutOfDate INTEL-SA-00615,INTEL-SA-SIM-2"
want "sgx ConfigurationNeeded at 1, early" \
  "$(status sgx early_sgx.json --tcb ConfigurationNeeded --evaluation-data-number 1)" \
  "OutOfDateConfigurationNeeded INTEL-SA-00289,INTEL-SA-SIM-2"
want "sgx no SWHardeningNeeded at 2" "$(status sgx "$S" --tcb SWHardeningNeeded)" "quote-rc-2"
grep -q "no SWHardeningNeeded level under TCB evaluation data number 2" qerr && ok || bad "message: $(cat qerr)"
want "sgx number 3 does not exist" "$(status sgx "$S" --evaluation-data-number 3)" "quote-rc-2"
T2=$d/collateral_tdx.json
want "tdx new top, early" "$(status tdx early_tdx.json)" "UpToDate "
want "tdx new top, standard" "$(status tdx "$T2")" "UpToDate "
want "tdx UpToDate at 1, early" "$(status tdx early_tdx.json --evaluation-data-number 1)" "OutOfDate INTEL-SA-SIM-2"
want "tdx UpToDate at 1, standard" "$(status tdx "$T2" --evaluation-data-number 1)" "UpToDate "
want "tdx OutOfDateConfigurationNeeded at 2" "$(status tdx early_tdx.json --tcb OutOfDateConfigurationNeeded)" \
  "OutOfDateConfigurationNeeded INTEL-SA-00289,INTEL-SA-00615,INTEL-SA-SIM-2"

# ---- usage errors, and a second recovery ------------------------------------------
"$BIN" sim recover "$d" --date "$D1" >/dev/null 2>err.txt
[ $? = 2 ] && grep -q "must be after that of TCB evaluation data number 2" err.txt && ok || bad "same date again: $(cat err.txt)"
"$BIN" sim recover "$d" --date 2026-13-01 >/dev/null 2>err.txt
[ $? = 2 ] && grep -q -- "--date: YYYY-MM-DD or RFC 3339" err.txt && ok || bad "bad date: $(cat err.txt)"
# a day its month does not have (was read as 2027-03-02), and a date whose
# tcbDate or standard date would be in year 10000 (was written, and left a
# folder nothing could read: "tcbDate" must be an RFC 3339 date): usage
# errors, the folder untouched
cp "$d/collateral_sgx.json" before.json
for bd in 2027-02-29 2027-04-31 9999-01-01 9999-12-31; do
    "$BIN" sim recover "$d" --date $bd >/dev/null 2>err.txt
    [ $? = 2 ] && grep -q -- "--date: YYYY-MM-DD or RFC 3339, after 1970-01-01 and before 9999-01-01, not '$bd'" err.txt \
        && ok || bad "date $bd: $(cat err.txt)"
done
cmp -s before.json "$d/collateral_sgx.json" && "$BIN" collateral show "$d" >/dev/null 2>err.txt \
    && ok || bad "folder changed or unreadable after refused dates: $(cat err.txt)"
"$BIN" sim recover "$d" >/dev/null 2>err.txt
[ $? = 2 ] && grep -q -- "--date DATE is required" err.txt && ok || bad "no date: $(cat err.txt)"
"$BIN" sim recover "$d" --date "$D2" --tee arm >/dev/null 2>err.txt
[ $? = 2 ] && ok || bad "--tee arm: $(cat err.txt)"
"$BIN" sim recover "$T/nothing" --date "$D2" >/dev/null 2>err.txt
[ $? = 2 ] && grep -q "holds no simulated platform" err.txt && ok || bad "no platform: $(cat err.txt)"
"$BIN" sim quote "$d" --out q --evaluation-data-number 0 >/dev/null 2>&1
[ $? = 2 ] && ok || bad "--evaluation-data-number 0"
# a bundle whose numbers list is not the sim's is refused, not guessed at
cp -r "$d" broken
python3 - broken/collateral_sgx.json <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["tcb_evaluation_data_numbers"] = b["tcb_evaluation_data_numbers"].replace('"tcbEvaluationDataNumber":1', '"tcbEvaluationDataNumber":7')
json.dump(b, open(sys.argv[1], "w"))
PY
"$BIN" sim recover broken --date "$D2" --tee sgx >/dev/null 2>err.txt
[ $? = 2 ] && grep -q "numbers list entry not as the sim writes it" err.txt && ok || bad "broken list: $(cat err.txt)"
cp "$d/collateral_sgx.json" before2_sgx.json
cp "$d/collateral_tdx.json" before2_tdx.json
"$BIN" sim recover "$d" --date "$D2" --tee sgx >out.txt 2>err.txt && ok || bad "second recovery: $(cat err.txt)"
grep -q "^SGX: TCB evaluation data number 3" out.txt && ! grep -q "^TDX" out.txt && ok || bad "second: $(cat out.txt)"
# tcb_info moved from 1 to 2 (checked in the bundle below): said so, not "stays"
grep -q "in tcb_info_early; tcb_info holds 2, the standard set until 12 months after ${D2}T00:00:00Z" out.txt \
    && ok || bad "second recovery output: $(cat out.txt)"
cmp -s "$d/collateral_tdx.json" before2_tdx.json && ok || bad "--tee sgx changed the TDX bundle"
python3 - "$d" <<'PY' && ok || bad "bundle after the second recovery"
import json, sys
sys.path.insert(0, ".")
from chk import verify
d = sys.argv[1]
b, prev = json.load(open(d + "/collateral_sgx.json")), json.load(open("before2_sgx.json"))
assert b["tcb_info"] == prev["tcb_info_early"], "standard is now number 2, as it was signed"
assert json.loads(b["tcb_info_early"])["tcbEvaluationDataNumber"] == 3
ent = json.loads(b["tcb_evaluation_data_numbers"])["tcbEvalNumbers"]
assert [e["tcbEvaluationDataNumber"] for e in ent] == [3, 2, 1], ent
assert verify(b["tcb_info"], b["tcb_info_signature"], b["tcb_info_issuer_chain"], d + "/root_ca.pem")
PY
mkearly sgx early3.json
want "sgx UpToDate at 2, under 3" "$(status sgx early3.json --evaluation-data-number 2)" "OutOfDate INTEL-SA-SIM-3"
want "sgx UpToDate at 1, under 3" "$(status sgx early3.json --evaluation-data-number 1)" "OutOfDate INTEL-SA-SIM-2,INTEL-SA-SIM-3"
want "sgx UpToDate at 2, under 2" "$(status sgx "$S" --evaluation-data-number 2)" "UpToDate "
want "sgx newest, under 3" "$(status sgx early3.json)" "UpToDate "

# ---- the test PCCS: two bundles, every endpoint byte for byte ---------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
start() { # name bundle... -> sets PORT
  local n=$1; shift
  local args=()
  for b in "$@"; do args+=(--bundle "$b"); done
  python3 "$SRC/tests/pccs_server.py" "${args[@]}" --cert pccs.pem --key pccs.key >"$n.out" 2>"$n.err" &
  PIDS="$PIDS $!"
  for _ in $(seq 50); do grep -q PORT "$n.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(sed -n 's/^PORT //p' "$n.out")
}
start both "$d/collateral_sgx.json" "$d/collateral_tdx.json"; P=$PORT
[ -n "$P" ] || { echo "FAIL: test PCCS did not start: $(cat both.err)"; exit 1; }
python3 - "$P" "$d" <<'PY' && ok || bad "pccs_server endpoints"
import json, ssl, sys, urllib.request, urllib.error, urllib.parse
sys.path.insert(0, ".")
from chk import verify
port, d = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile="pccs.pem")
def get(path):
    try:
        r = urllib.request.urlopen("https://127.0.0.1:%s%s" % (port, path), context=ctx)
        return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers
root = d + "/root_ca.pem"
for tee in ("sgx", "tdx"):
    b = json.load(open("%s/collateral_%s.json" % (d, tee)))
    fm = json.loads(b["tcb_info"])["fmspc"]
    base = "/%s/certification/v4/" % tee
    def tcb(q):
        code, body, h = get(base + "tcb?fmspc=" + fm + q)
        assert code == 200, (tee, q, code, body)
        assert urllib.parse.unquote(h["TCB-Info-Issuer-Chain"]) == b["tcb_info_issuer_chain"]
        return body
    std = '{"tcbInfo":%s,"signature":"%s"}' % (b["tcb_info"], b["tcb_info_signature"])
    early = '{"tcbInfo":%s,"signature":"%s"}' % (b["tcb_info_early"], b["tcb_info_early_signature"])
    assert tcb("") == std and tcb("&update=standard") == std, tee
    assert tcb("&update=early") == early, tee
    n_std = json.loads(b["tcb_info"])["tcbEvaluationDataNumber"]
    n_early = json.loads(b["tcb_info_early"])["tcbEvaluationDataNumber"]
    assert tcb("&tcbEvaluationDataNumber=%d" % n_std) == std
    assert tcb("&tcbEvaluationDataNumber=%d" % n_early) == early
    assert get(base + "tcb?fmspc=" + fm + "&tcbEvaluationDataNumber=99")[0] == 404
    assert get(base + "tcb?fmspc=" + fm + "&update=sometimes")[0] == 400
    code, body, h = get(base + "tcbevaluationdatanumbers")
    assert code == 200, (code, body)
    want = '{"tcbEvaluationDataNumbers":%s,"signature":"%s"}' % (
        b["tcb_evaluation_data_numbers"], b["tcb_evaluation_data_numbers_signature"])
    assert body == want, body
    chain = urllib.parse.unquote(h["TCB-Evaluation-Data-Numbers-Issuer-Chain"])
    assert chain == b["tcb_evaluation_data_numbers_issuer_chain"]
    # as a client reads it: the object's bytes cut out of the response verify
    inner = body[len('{"tcbEvaluationDataNumbers":'):body.rindex(',"signature":"')]
    sig = json.loads(body)["signature"]
    assert verify(inner, sig, chain, root), "numbers list as served"
    code, body, h = get(base + "qe/identity")
    assert code == 200 and body == '{"enclaveIdentity":%s,"signature":"%s"}' % (
        b["qe_identity"], b["qe_identity_signature"]), tee
sgx = json.load(open(d + "/collateral_sgx.json"))
code, body, h = get("/sgx/certification/v4/rootcacrl")
assert code == 200 and body == sgx["root_ca_crl"]
r = urllib.request.urlopen("https://127.0.0.1:%s/sgx/certification/v4/pckcrl?ca=platform" % port, context=ctx)
assert r.read() == bytes.fromhex(sgx["pck_crl"])
assert get("/tdx/certification/v4/nothing")[0] == 404
PY
# a quote verifies through it (the standard set), SGX and TDX from one server
"$BIN" sim quote "$d" --out q --tee sgx && "$BIN" quote verify q --pccs "https://127.0.0.1:$P" --pccs-ca pccs.pem \
  --root-ca "$d/root_ca.der" >/dev/null 2>err.txt && ok || bad "sgx via the two-bundle PCCS: $(cat err.txt)"
"$BIN" sim quote "$d" --out q --tee tdx && "$BIN" quote verify q --pccs "https://127.0.0.1:$P" --pccs-ca pccs.pem \
  --root-ca "$d/root_ca.der" >/dev/null 2>err.txt && ok || bad "tdx via the two-bundle PCCS: $(cat err.txt)"

# a bundle without the optional parts (from before this change): no list
# (404), update=early is the standard one
python3 - "$d/collateral_sgx.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
for k in [k for k in b if k.startswith("tcb_info_early") or k.startswith("tcb_evaluation_data_numbers")]:
    del b[k]
json.dump(b, open("plain.json", "w"))
PY
start plain plain.json; P2=$PORT
python3 - "$P2" <<'PY' && ok || bad "pccs_server with a plain bundle"
import json, ssl, sys, urllib.request, urllib.error
ctx = ssl.create_default_context(cafile="pccs.pem")
b = json.load(open("plain.json"))
fm = json.loads(b["tcb_info"])["fmspc"]
def get(path):
    try:
        r = urllib.request.urlopen("https://127.0.0.1:%s%s" % (sys.argv[1], path), context=ctx)
        return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
std = '{"tcbInfo":%s,"signature":"%s"}' % (b["tcb_info"], b["tcb_info_signature"])
assert get("/sgx/certification/v4/tcb?fmspc=%s&update=early" % fm) == (200, std)
assert get("/sgx/certification/v4/tcbevaluationdatanumbers")[0] == 404
assert get("/tdx/certification/v4/tcb?fmspc=%s" % fm)[0] == 404
PY
# two bundles of one TEE are refused
python3 "$SRC/tests/pccs_server.py" --bundle plain.json --bundle "$d/collateral_sgx.json" --cert pccs.pem \
  --key pccs.key >two.out 2>two.err
[ $? != 0 ] && grep -q "two sgx bundles" two.err && ok || bad "two sgx bundles: $(cat two.err)"

echo "test_sim_recover: $pass passed, $failn failed"
[ $failn = 0 ]
