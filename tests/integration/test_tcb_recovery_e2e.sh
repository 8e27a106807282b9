#!/usr/bin/env bash
# test_tcb_recovery_e2e.sh: a TCB recovery of the simulated platform end to
# end (issue 16; README "TCB recovery"), through the real verifier:
#  1. `asps sim recover` at a date D; a quote at the old top level
#     (--evaluation-data-number 1);
#  2. `asps quote verify --policy --at` with tcb_grace_days 30: under the
#     early set allowed with grace at D+29 days, denied "grace over" at
#     D+31; under the standard set the same at D+12 months+29/+31 days, the
#     verdict's set changing on D+12 months (the second before: number 1);
#  3. the forecast before and after that date, text and --json;
#  4. a running `asps serve` with collateral from the test PCCS
#     (tests/pccs_server.py: update=early and the numbers list), recoveries
#     dated today-29 and today-31 days (`sim init --issued` dates the
#     platform in the past): `asps get` granted under grace, then refused;
#     the audit line's tcb_update/forecast/demoted_at/grace/behind; the
#     metrics asps_decisions_total{reason="grace"|"tcb_grace_over"} and
#     asps_tcb_forecast_demotions_total.
# Every expected date, status and shortfall is computed here (python3's
# datetime) from the signed bundle (TCB infos, the numbers list) and the
# quote's bytes by Intel's rules (the first TCB level whose SVNs the
# platform's all reach; a number becomes standard 12 calendar months after
# its tcbRecoveryEventDate), never read from asps's own output.
set -u
BIN=${ASPS_BIN:?}; SRC=${ASPS_SRC:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
for tool in curl python3 openssl; do
    command -v $tool >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done
T=$(mktemp -d /tmp/asps-tcbe2e-XXXXXX)
PIDS=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${ASPS_AUDIT_KEEP:-}" ]; then
        mkdir -p "$ASPS_AUDIT_KEEP"
        for f in early29 std29 early31; do
            [ -f "$T/$f.log" ] && cp "$T/$f.log" "$ASPS_AUDIT_KEEP/test_tcb_recovery_e2e_$f.log"
        done
    fi
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
cd "$T" || exit 1
MRE=$(printf 'a1%.0s' $(seq 32)); MRS=$(printf 'b2%.0s' $(seq 32))

# ---- the expectations, from the bundle and the quote (not from asps) --------------
cat >expect.py <<'PY'
"""expect.py BUNDLE QUOTE: the quote's TCB level under the standard and the
early TCB info (Intel's matching: the first level, newest first, whose
sgxtcbcomponents SVNs and PCE SVN the platform's all reach; the platform's
from the quote: CPUSVN = report body bytes 0-15, PCESVN = header bytes
10-11), the recovery's dates from the numbers list, and what is behind.
Prints shell assignments."""
import datetime, json, struct, sys

def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)

def rfc(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")

def plus_12_months(t):
    return t.replace(year=t.year + 1)  # D is never Feb 29 here (the test avoids it)

b = json.load(open(sys.argv[1]))
q = open(sys.argv[2], "rb").read()
assert struct.unpack_from("<H", q, 0)[0] == 3, "an SGX v3 quote"
pcesvn = struct.unpack_from("<H", q, 10)[0]
cpusvn = q[48:64]
std, early = json.loads(b["tcb_info"]), json.loads(b["tcb_info_early"])
nums = json.loads(b["tcb_evaluation_data_numbers"])["tcbEvalNumbers"]

def match(ti):
    for i, l in enumerate(ti["tcbLevels"]):
        comps = [c["svn"] for c in l["tcb"]["sgxtcbcomponents"]]
        if all(cpusvn[k] >= comps[k] for k in range(16)) and pcesvn >= l["tcb"]["pcesvn"]:
            return i, l
    raise SystemExit("no level matches")

def demotion(ti, i):
    """The recovery that put level I below the top: the level just above it;
    its tcbDate's entry in the numbers list (else the oldest later one)."""
    if i == 0:
        return None
    above = ts(ti["tcbLevels"][i - 1]["tcbDate"])
    later = sorted((ts(e["tcbDate"]), e) for e in nums if ts(e["tcbDate"]) >= above)
    return ts(later[0][1]["tcbRecoveryEventDate"])

si, sl = match(std)
ei, el = match(early)
n_early = early["tcbEvaluationDataNumber"]
entry = [e for e in nums if e["tcbEvaluationDataNumber"] == n_early][0]
D = ts(entry["tcbRecoveryEventDate"])
STD = plus_12_months(D)
dem_early = demotion(early, ei)
assert dem_early == D, (dem_early, D)
day = datetime.timedelta(days=1)
top = early["tcbLevels"][ei - 1]["tcb"] if ei else None
behind = []
if top:
    for k, c in enumerate(top["sgxtcbcomponents"]):
        if cpusvn[k] < c["svn"]:
            behind.append("sgxtcbcomponent %d:%d:%d" % (k, cpusvn[k], c["svn"]))
    if pcesvn < top["pcesvn"]:
        behind.append("pcesvn:%d:%d" % (pcesvn, top["pcesvn"]))
out = {
    "D": rfc(D), "D_DAY": D.strftime("%Y-%m-%d"), "STD": rfc(STD), "STD_DAY": STD.strftime("%Y-%m-%d"),
    "N_STD": std["tcbEvaluationDataNumber"], "N_EARLY": n_early,
    "ST_STD": sl["tcbStatus"], "ST_EARLY": el["tcbStatus"],
    "STD_TOP": int(si == 0), "EARLY_TOP": int(ei == 0),
    "AT_D29": rfc(D + 29 * day), "AT_D31": rfc(D + 31 * day), "UNTIL_D": rfc(D + 30 * day),
    "AT_S29": rfc(STD + 29 * day), "AT_S31": rfc(STD + 31 * day), "UNTIL_S": rfc(STD + 30 * day),
    "AT_S_1": rfc(STD - datetime.timedelta(seconds=1)), "AT_S_DAY": rfc(STD - day),
    "BEHIND": ",".join(behind), "ADV_EARLY": ",".join(el.get("advisoryIDs", [])),
}
for k, v in out.items():
    print("%s='%s'" % (k, v))
PY
# what a --json result says (decision and claims), as one line of fields
cat >show.py <<'PY'
import json, sys
o = json.loads(sys.stdin.read())
d = o.get("decision", {})
f = o.get("forecast")
g = d.get("grace") or {}
print("|".join(str(x) for x in (
    o["tcb_status"], o["tcb_info_evaluation_data_number"], o["tcb_update"],
    o.get("demoted_at", "-"), o.get("tcb_recovery_event_date", "-"),
    ("%s/%s/%s/%s" % (f["status"], f["evaluation_data_number"], f["effective_at"], f["worse"])) if f else "-",
    d.get("allowed"), d.get("rule", "-"), g.get("until", "-"), g.get("left_seconds", "-"))))
PY

# ---- 1. recover at D, a quote at the old top level --------------------------------
"$BIN" sim init sim --days 500 >/dev/null || { echo "FAIL: sim init"; exit 1; }
D_ARG=$(date -u -d "+5 days" +%F)
[ "${D_ARG#*-}" = "02-29" ] && D_ARG=$(date -u -d "+6 days" +%F)
"$BIN" sim recover sim --date "$D_ARG" --tee sgx >/dev/null || { echo "FAIL: sim recover"; exit 1; }
"$BIN" sim quote sim --out old.bin --mrenclave "$MRE" --mrsigner "$MRS" --evaluation-data-number 1 \
    >/dev/null || { echo "FAIL: sim quote"; exit 1; }
eval "$(python3 expect.py sim/collateral_sgx.json old.bin)" || { echo "FAIL: expectations"; exit 1; }
# the setting itself, as Intel's data has it after a recovery: the old top
# level is UpToDate (the top) under the standard set, OutOfDate under the
# early one, and D is the date given
[ "$D" = "${D_ARG}T00:00:00Z" ] && [ "$N_STD" = 1 ] && [ "$N_EARLY" = 2 ] && [ "$ST_STD" = UpToDate ] &&
  [ "$STD_TOP" = 1 ] && [ "$ST_EARLY" = OutOfDate ] && [ "$EARLY_TOP" = 0 ] && [ -n "$BEHIND" ] && ok ||
  bad "the recovered sim: D=$D N=$N_STD/$N_EARLY $ST_STD/$ST_EARLY top=$STD_TOP/$EARLY_TOP behind=$BEHIND"

cat >p.json <<JSON
{"version": 1, "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE",
  "tcb_statuses": ["UpToDate"], "tcb_grace_days": 30}, "allow_simulated": true,
  "secrets": {"k": "web/k"}}]}
JSON
# qv SET AT [--json]: quote verify with the policy -> out, rc
qv() { out=$("$BIN" quote verify old.bin --sim sim --tcb-update "$1" --policy p.json --at "$2" ${3:-} 2>err); rc=$?; }
# want NAME RC FIELDS (show.py's line)
want() {
  local name=$1 wrc=$2 wfields=$3 got
  qv "${name%%@*}" "${name#*@}" --json
  got=$(python3 show.py <<<"$out" 2>&1)
  [ "$rc" = "$wrc" ] && [ "$got" = "$wfields" ] && ok || bad "$name: exit $rc (want $wrc): [$got], want [$wfields]; $(cat err)"
}
F="forecast"
# ---- 2. grace by --at: the early set (demoted D) --------------------------------
# (the other set, number 1, says UpToDate: a forecast that is not worse, no date)
want "early@$AT_D29" 0 "$ST_EARLY|$N_EARLY|early|$D|$D|$ST_STD/$N_STD/None/False|True|-|$UNTIL_D|86400"
want "early@$AT_D31" 1 "$ST_EARLY|$N_EARLY|early|$D|$D|$ST_STD/$N_STD/None/False|False|tcb_grace_over|-|-"
qv early "$AT_D29"
grep -qx "decision: allowed: app 'web' matched; all 1 names granted; grace: TCB status $ST_EARLY accepted until ${UNTIL_D%%T*} (1 d 0 h left)" <<<"$out" &&
  grep -qx "demoted: $D_DAY (TCB recovery of $D_DAY, early set)" <<<"$out" && ok || bad "early D+29 text: $out"
qv early "$AT_D31"
[ $rc = 1 ] && grep -qx "decision: denied: no app matches: app 'web': TCB status $ST_EARLY not allowed, grace over: demoted $D_DAY, 30 days;.*" <<<"$out" &&
  grep -qF "denied by policy p.json" err && ok || bad "early D+31 text: $out $(cat err)"
# behind: the components below the level above, as the early TCB info has them
qv early "$AT_D29"
want_behind="behind:"; sep=" "
IFS=, read -ra parts <<<"$BEHIND"
for p in "${parts[@]}"; do IFS=: read -r c h n <<<"$p"; want_behind="$want_behind$sep$c $h < $n"; sep="; "; done
grep -q "^$want_behind; moving up to UpToDate" <<<"$out" && ok || bad "behind line: want [$want_behind], got: $out"
# the early set a year on: still demoted on D, long over (both sets are
# number 2 now: nothing to forecast)
want "early@$AT_S29" 1 "$ST_EARLY|$N_EARLY|early|$D|$D|-|False|tcb_grace_over|-|-"

# ---- 2/3. the standard set: number 1 (UpToDate, forecast) until D+12 months ------
want "standard@$AT_D29" 0 "$ST_STD|$N_STD|standard|-|-|$ST_EARLY/$N_EARLY/$STD/True|True|-|-|-"
want "standard@$AT_S_DAY" 0 "$ST_STD|$N_STD|standard|-|-|$ST_EARLY/$N_EARLY/$STD/True|True|-|-|-"
want "standard@$AT_S_1" 0 "$ST_STD|$N_STD|standard|-|-|$ST_EARLY/$N_EARLY/$STD/True|True|-|-|-"
qv standard "$AT_S_DAY"
grep -qx "forecast: $ST_EARLY under TCB evaluation data number $N_EARLY, which becomes standard on $STD_DAY" <<<"$out" &&
  grep -qx "decision: allowed: app 'web' matched; all 1 names granted" <<<"$out" && ! grep -q "^demoted:" <<<"$out" &&
  ok || bad "forecast before $STD_DAY: $out"
# from D+12 months the early set's number is the standard one: demoted then
for at in "$STD" "$AT_S29"; do
  qv standard "$at" --json
  python3 - "$out" "$ST_EARLY" "$N_EARLY" "$STD" <<'PY' && ok || bad "standard at $at: $out"
import json, sys
o, st, n, std = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
assert o["tcb_status"] == st and o["tcb_info_evaluation_data_number"] == n, o
assert o["demoted_at"] == std and o["tcb_update"] == "standard", o
# no coming demotion left: no forecast, or one that is not worse
assert "forecast" not in o or o["forecast"]["worse"] is False, o["forecast"]
assert o["decision"]["allowed"] is True and "grace" in o["decision"], o["decision"]
PY
done
want "standard@$AT_S29" 0 "$ST_EARLY|$N_EARLY|standard|$STD|$D|-|True|-|$UNTIL_S|86400"
want "standard@$AT_S31" 1 "$ST_EARLY|$N_EARLY|standard|$STD|$D|-|False|tcb_grace_over|-|-"
qv standard "$AT_S29"
! grep -q "becomes standard" <<<"$out" && grep -qx "demoted: $STD_DAY (TCB recovery of $D_DAY, standard set)" <<<"$out" &&
  grep -q "^decision: allowed: .*; grace: TCB status $ST_EARLY accepted until ${UNTIL_S%%T*} (1 d 0 h left)$" <<<"$out" &&
  ok || bad "standard after $STD_DAY: $out"
qv standard "$AT_S31"
grep -q "^decision: denied: no app matches: app 'web': TCB status $ST_EARLY not allowed, grace over: demoted $STD_DAY, 30 days;" <<<"$out" &&
  ok || bad "standard D+12m+31: $out"

# sim init --issued: in the past only
"$BIN" sim init later --issued "$(date -u -d '+2 days' +%F)" >/dev/null 2>err; rc=$?
[ $rc = 2 ] && grep -q -- "--issued: YYYY-MM-DD or RFC 3339, in the past" err && [ ! -e later/root_ca.der ] && ok ||
  bad "sim init --issued in the future: exit $rc $(cat err)"

# ---- 4. a running server, collateral from the test PCCS --------------------------
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -subj "/CN=asps test CA" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem 2>/dev/null
ec server.key && openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem 2>/dev/null || { echo "FAIL: server PKI"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pccs.key -out pccs.pem -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
echo '{"web/k": "text:k3y"}' > kms.json
cat >sp.json <<JSON
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE", "tcb_statuses": ["UpToDate"],
           "tcb_grace_days": 30}, "allow_simulated": true, "secrets": {"k": "web/k"}}]}
JSON
start_pccs() { # bundle name -> PORT
  python3 "$SRC/tests/pccs_server.py" --bundle "$1" --cert pccs.pem --key pccs.key >"$2.out" 2>"$2.err" &
  PIDS="$PIDS $!"
  for _ in $(seq 50); do grep -q PORT "$2.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(sed -n 's/^PORT //p' "$2.out")
  [ -n "$PORT" ] || { echo "FAIL: test PCCS $2 did not start: $(cat "$2.err")"; exit 1; }
}
start_server() { # name sim port update -> S, OPS, SPID
  cat >"$1.json" <<JSON
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "$2"}, "collateral": {"pccs": ["https://127.0.0.1:$3"], "pccs_ca": "pccs.pem",
 "tcb_update": "$4"}, "policy": "sp.json", "audit": "$1.log", "ops": {"listen": "127.0.0.1:0"}}
JSON
  "$BIN" serve --config "$1.json" >"$1.out" 2>"$1.err" &
  SPID=$!; PIDS="$PIDS $SPID"
  wait_listening "$1.out" $SPID "$1.err" || { echo "FAIL: server $1 did not start"; exit 1; }
  S=$LISTEN_ADDR
  OPS=$(sed -n 's/.*ops: listening on 127.0.0.1:\([0-9]*\) .*/\1/p' "$1.err")
  [ -n "$OPS" ] || { echo "FAIL: server $1: no ops listening line: $(cat "$1.err")"; exit 1; }
}
stop_server() { kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; }
# the client's quote: --tcb OutOfDate under the newest number is the old top
# level (checked below with the same identity through sim quote)
get() { "$BIN" get --server "$S" --ca ca.pem --sim "$1" --mrenclave "$MRE" --mrsigner "$MRS" --tcb OutOfDate k 2>&1; }
metrics() { curl -s "http://127.0.0.1:$OPS/metrics"; }

# mksim NAME DAYS_AGO: a platform issued 60 days ago, recovered DAYS_AGO days
# ago; sets the expectations for its client quote
mksim() {
  local date; date=$(date -u -d "-$2 days" +%F)
  "$BIN" sim init "$1" --days 500 --issued "$(date -u -d '-60 days' +%F)" >/dev/null &&
    "$BIN" sim recover "$1" --date "$date" --tee sgx >/dev/null &&
    "$BIN" sim quote "$1" --out "$1.bin" --mrenclave "$MRE" --mrsigner "$MRS" --tcb OutOfDate >/dev/null ||
    { echo "FAIL: sim $1"; exit 1; }
  eval "$(python3 expect.py "$1/collateral_sgx.json" "$1.bin")" || { echo "FAIL: expectations $1"; exit 1; }
  [ "$ST_STD" = UpToDate ] && [ "$STD_TOP" = 1 ] && [ "$ST_EARLY" = OutOfDate ] &&
    [ "$D_DAY" = "$date" ] && ok || bad "$1: $ST_STD/$ST_EARLY $D_DAY"
}
# audit LOG NAME PYTHON-ASSERTS: the last line of LOG as o
audit() {
  python3 - "$(tail -n 1 "$1")" <<PY && ok || bad "$2: audit line: $(tail -n 1 "$1")"
import json, sys
o = json.loads(sys.argv[1])
$3
PY
}
BEHIND_JSON() { python3 -c '
import json, sys
print(json.dumps([{"component": c, "have": int(h), "need": int(n)} for c, h, n in
                  (p.split(":") for p in sys.argv[1].split(",") if p)]))' "$BEHIND"; }

# -- recovered 29 days ago, tcb_update early: granted under grace
mksim sim29 29
start_pccs sim29/collateral_sgx.json pccs29; P29=$PORT
start_server early29 sim29 "$P29" early
t0=$(date -u +%s); out=$(get sim29); rc=$?; t1=$(date -u +%s)
[ $rc = 0 ] && [ "$out" = "Secret received: 6b-33-79" ] && ok || bad "early, 29 days: exit $rc: $out $(cat early29.err)"
until_s=$(date -u -d "$UNTIL_D" +%s)
audit early29.log "early, 29 days" "
assert o['verdict'] == 'granted', o
assert o['tcb_status'] == '$ST_EARLY' and o['tcb_update'] == 'early', o
assert o['demoted_at'] == '$D' and o['tcb_recovery_event_date'] == '$D', o
assert o['grace']['until'] == '$UNTIL_D', o['grace']
assert $until_s - $t1 <= o['grace']['left_seconds'] <= $until_s - $t0, o['grace']
# the standard set (number 1) says UpToDate: no coming demotion to report
assert 'forecast' not in o, o
assert o['behind'] == $(BEHIND_JSON), o['behind']
assert 'grace: TCB status $ST_EARLY accepted until ${UNTIL_D%%T*}' in o['reason'], o['reason']"
# the early TCB info and the numbers list came from the PCCS
curl -s --cacert pccs.pem "https://127.0.0.1:$P29/__stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s.get("/sgx/certification/v4/tcb", 0) >= 2 and s.get("/sgx/certification/v4/tcbevaluationdatanumbers", 0) >= 1, s' \
  && ok || bad "the PCCS was not asked for update=early and the numbers list"
metrics >m.txt
grep -qx 'asps_decisions_total{verdict="granted",reason="grace"} 1' m.txt && ok ||
  bad "early29: decisions metric: $(grep asps_decisions_total m.txt)"
! grep -q '^asps_tcb_forecast_demotions_total{' m.txt && ok ||
  bad "early29: a forecast demotion counted where the other set is better: $(grep forecast m.txt)"
stop_server

# -- the same platform, the standard set: granted (UpToDate), the demotion forecast
start_server std29 sim29 "$P29" standard
out=$(get sim29); rc=$?
[ $rc = 0 ] && ok || bad "standard, 29 days: exit $rc: $out"
audit std29.log "standard, 29 days" "
assert o['verdict'] == 'granted' and o['tcb_status'] == '$ST_STD' and o['tcb_update'] == 'standard', o
assert o['forecast'] == {'update': 'early', 'status': '$ST_EARLY', 'evaluation_data_number': $N_EARLY,
                         'effective_at': '$STD'}, o['forecast']
assert 'grace' not in o and 'demoted_at' not in o, o"
metrics >m.txt
grep -qx "asps_tcb_forecast_demotions_total{status=\"$ST_EARLY\",effective=\"$STD_DAY\"} 1" m.txt && ok ||
  bad "std29: forecast metric: $(grep forecast_demotions m.txt)"
grep -qx 'asps_decisions_total{verdict="granted",reason="policy"} 1' m.txt && ok ||
  bad "std29: decisions metric: $(grep asps_decisions_total m.txt)"
stop_server

# -- recovered 31 days ago, tcb_update early: refused, grace over
mksim sim31 31
start_pccs sim31/collateral_sgx.json pccs31; P31=$PORT
start_server early31 sim31 "$P31" early
out=$(get sim31); rc=$?
[ $rc = 1 ] && ok || bad "early, 31 days: exit $rc (want 1, denied): $out"
audit early31.log "early, 31 days" "
assert o['verdict'] == 'denied', o
assert o['tcb_status'] == '$ST_EARLY' and o['tcb_update'] == 'early' and o['demoted_at'] == '$D', o
assert \"app 'web': TCB status $ST_EARLY not allowed, grace over: demoted $D_DAY, 30 days\" in o['reason'], o['reason']
assert 'grace' not in o and 'forecast' not in o, o
assert o['behind'] == $(BEHIND_JSON), o['behind']"
metrics >m.txt
grep -qx 'asps_decisions_total{verdict="denied",reason="tcb_grace_over"} 1' m.txt && ok ||
  bad "early31: decisions metric: $(grep asps_decisions_total m.txt)"
stop_server

echo "test_tcb_recovery_e2e: $pass passed, $failn failed"
[ $failn = 0 ]
