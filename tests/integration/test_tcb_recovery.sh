#!/usr/bin/env bash
# test_tcb_recovery.sh: the policy's TCB recovery rules from the command
# line (README "TCB recovery"): `asps policy check` shows them, a
# misspelt or out-of-range one is refused naming the field, and
# `asps quote verify QUOTE --sim DIR --policy FILE [--at T] [--json]`
# prints the decision the server would make (exit 1 when denied, the rule
# named), for a quote of the simulated platform. The simulated platform's
# TCB info is evaluation data number 1 and its levels' tcbDate is the day
# before `sim init`; both are read from `quote verify --json`, not assumed.
set -u
bin=${ASPS_BIN:?}
. "$(dirname "$0")/../../scripts/lib_wait.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
cd "$work" || exit 1

"$bin" sim init sim >/dev/null || { echo "FAIL: sim init"; exit 1; }
MRE=$(printf 'a1%.0s' $(seq 32)); MRS=$(printf 'b2%.0s' $(seq 32))
"$bin" sim quote sim --out ood.bin --mrenclave "$MRE" --mrsigner "$MRS" --isv-prod-id 1 \
    --tcb OutOfDate >/dev/null || { echo "FAIL: sim quote"; exit 1; }
claims=$("$bin" quote verify ood.bin --sim sim --json) || { echo "FAIL: verify"; exit 1; }
num=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tcb_info_evaluation_data_number"])' "$claims")
tcb_date=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tcb_date"])' "$claims")
tcb_day=${tcb_date%%T*}
day_after=$(date -u -d "$tcb_day + 1 day" +%F)
[ -n "$num" ] && [ -n "$tcb_day" ] || { echo "FAIL: claims lack number/date: $claims"; exit 1; }

policy() { # $1: extra match keys -> p.json
  cat >p.json <<JSON
{"version": 1, "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE",
  "tcb_statuses": ["UpToDate", "OutOfDate"]$1}, "allow_simulated": true,
  "secrets": {"k": "web/k", "j": "web/j"}}]}
JSON
}

# -- policy check shows the rules; strict parsing names the field
policy ", \"min_tcb_evaluation_data_number\": 2, \"min_tcb_date\": \"2025-05-14\", \"tcb_grace_days\": 30, \"refuse_stale_collateral\": true"
out=$("$bin" policy check p.json) || fail "policy check: exit $?"
grep -qx "     TCB recovery: min_tcb_evaluation_data_number 2, min_tcb_date 2025-05-14, tcb_grace_days 30, refuse_stale_collateral" <<<"$out" \
  || fail "policy check does not show the rules: $out"
for bad in '"tcb_grace_days": 3651|apps[0].match.tcb_grace_days' \
           '"min_tcb_date": "2025-02-29"|apps[0].match.min_tcb_date: expected a date' \
           '"min_tcb_evaluation_data_number": -1|apps[0].match.min_tcb_evaluation_data_number' \
           '"refuse_stale_collateral": "no"|apps[0].match.refuse_stale_collateral' \
           '"tcb_grace_dayz": 3|tcb_grace_dayz'; do
  policy ", ${bad%%|*}"
  err=$("$bin" policy check p.json 2>&1); rc=$?
  [ $rc -eq 1 ] || fail "bad policy (${bad%%|*}) exit $rc"
  grep -qF "${bad#*|}" <<<"$err" || fail "bad policy (${bad%%|*}): message lacks ${bad#*|}: $err"
done

# -- min_tcb_evaluation_data_number: equal allowed, one above denied
policy ", \"min_tcb_evaluation_data_number\": $num"
out=$("$bin" quote verify ood.bin --sim sim --policy p.json); rc=$?
[ $rc -eq 0 ] || fail "min number $num: exit $rc"
grep -qx "decision: allowed: app 'web' matched; all 2 names granted" <<<"$out" || fail "allowed line: $out"
policy ", \"min_tcb_evaluation_data_number\": $((num+1))"
out=$("$bin" quote verify ood.bin --sim sim --policy p.json 2>err); rc=$?
[ $rc -eq 1 ] || fail "min number $((num+1)): exit $rc"
grep -qF "decision: denied: no app matches: app 'web': tcb_evaluation_data_number $num < $((num+1));" <<<"$out" \
  || fail "denied line: $out"
grep -qF "asps quote verify: denied by policy p.json: no app matches" err || fail "stderr: $(cat err)"
grep -q "^verified: SGX quote, TCB status OutOfDate" <<<"$out" || fail "claims line first: $out"

# -- min_tcb_date: the same day allowed, the day after denied
policy ", \"min_tcb_date\": \"$tcb_day\""
"$bin" quote verify ood.bin --sim sim --policy p.json >/dev/null || fail "min_tcb_date = tcbDate's day denied"
policy ", \"min_tcb_date\": \"$day_after\""
out=$("$bin" quote verify ood.bin --sim sim --policy p.json 2>/dev/null); rc=$?
[ $rc -eq 1 ] || fail "min_tcb_date day after: exit $rc"
grep -qF "tcb_date $tcb_date < $day_after" <<<"$out" || fail "tcb_date reason: $out"

# -- JSON: one object, the decision in it, the rule named
out=$("$bin" quote verify ood.bin --sim sim --policy p.json --json 2>/dev/null); rc=$?
[ $rc -eq 1 ] || fail "json denied: exit $rc"
python3 - "$out" <<'PY' || fail "json decision: $out"
import json, sys
o = json.loads(sys.argv[1])
d = o["decision"]
assert o["verified"] is True and d["allowed"] is False and d["app"] is None, d
assert d["rule"] == "tcb_date", d
assert "grace" not in d
PY

# -- tcb_grace_days: a platform demoted with no recovery date known (the
# simulated platform has no TCB recovery yet) gets no grace; said so
policy "" ; sed -i 's/"UpToDate", "OutOfDate"/"UpToDate"/; s/"tcb_statuses"/"tcb_grace_days": 30, "tcb_statuses"/' p.json
out=$("$bin" quote verify ood.bin --sim sim --policy p.json --at "$tcb_date" 2>/dev/null); rc=$?
[ $rc -eq 1 ] || fail "grace without a demotion date: exit $rc"
grep -qF "TCB status OutOfDate not allowed (tcb_grace_days: no TCB recovery date for its level)" <<<"$out" \
  || fail "grace reason: $out"

# -- not verified: no decision printed; usage errors
out=$("$bin" quote verify ood.bin --sim sim --policy p.json --at 2000-01-01T00:00:00Z 2>/dev/null); rc=$?
[ $rc -eq 1 ] || fail "not verified: exit $rc"
grep -q "^decision:" <<<"$out" && fail "decision printed for a quote that did not verify: $out"
"$bin" quote verify ood.bin --sim sim --policy 2>/dev/null; [ $? -eq 2 ] || fail "--policy without a file"
"$bin" quote verify ood.bin --sim sim --policy p.json --policy p.json 2>/dev/null; [ $? -eq 2 ] || fail "--policy twice"
"$bin" quote verify ood.bin --sim sim --policy missing.json 2>/dev/null; [ $? -eq 2 ] || fail "missing policy: not 2"
echo '{"version": 1, "apps": []}' >empty.json
"$bin" quote verify ood.bin --sim sim --policy empty.json 2>/dev/null; [ $? -eq 2 ] || fail "invalid policy: not 2"
"$bin" quote verify ood.bin --sim sim >/dev/null || fail "without --policy: exit $?"

# ---- through a running server: the rule named in the audit line and in
# asps_decisions_total, the TCB recovery fields in the line; a reload that
# lowers the baseline grants
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key && openssl req -x509 -new -key ca.key -subj "/CN=asps test CA" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem 2>/dev/null
ec server.key && openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem 2>/dev/null || { echo "FAIL: server PKI"; exit 1; }
echo '{"web/k": "text:k3y"}' > kms.json
serve_policy() { # $1: extra match keys
  cat >sp.json <<JSON
{"version": 1, "kms": {"type": "file", "path": "kms.json"},
 "apps": [{"name": "web", "match": {"tee": "sgx", "mrenclave": "$MRE"$1},
           "allow_simulated": true, "secrets": {"k": "web/k"}}]}
JSON
}
serve_policy ", \"min_tcb_evaluation_data_number\": $((num+1))"
cat > server.json <<'JSON'
{"listen": "127.0.0.1:0", "server_cert": "server.pem", "server_key": "server.key",
 "trust": {"sim": "sim"}, "collateral": {"sim": "sim"}, "policy": "sp.json", "audit": "audit.log",
 "ops": {"listen": "127.0.0.1:0"}, "limits": {"drain_ms": 1000}}
JSON
"$bin" serve --config server.json > serve.out 2> serve.err &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null
      if [ -n "${ASPS_AUDIT_KEEP:-}" ] && [ -f "$work/audit.log" ]; then
        mkdir -p "$ASPS_AUDIT_KEEP"; cp "$work/audit.log" "$ASPS_AUDIT_KEEP/test_tcb_recovery.log"; fi
      rm -rf "$work"' EXIT
wait_listening serve.out $SPID serve.err || { echo "FAIL: server did not start"; exit 1; }
port=$LISTEN_PORT
OPS=$(sed -n 's/.*ops: listening on 127.0.0.1:\([0-9]*\) .*/\1/p' serve.err)
[ -n "$OPS" ] || { echo "FAIL: no ops listening line"; cat serve.out serve.err; exit 1; }
get() { "$bin" get --server "127.0.0.1:$port" --ca ca.pem --sim sim --mrenclave "$MRE" k; }
out=$(get 2>&1); rc=$?
[ $rc -eq 1 ] || fail "server: below the baseline: asps get exit $rc: $out"
line=$(tail -n 1 audit.log)
python3 - "$line" "$num" <<'PY' || fail "server: audit line: $line"
import json, sys
o, num = json.loads(sys.argv[1]), int(sys.argv[2])
assert o["verdict"] == "denied", o
assert "app 'web': tcb_evaluation_data_number %d < %d;" % (num, num + 1) in o["reason"], o["reason"]
assert o["tcb_update"] == "standard" and o["collateral_stale"] is False, o
assert "grace" not in o and "forecast" not in o, o
PY
curl -s "http://127.0.0.1:$OPS/metrics" > m.txt
grep -qx 'asps_decisions_total{verdict="denied",reason="tcb_evaluation_data_number"} 1' m.txt \
  || fail "server: metric: $(grep asps_decisions_total m.txt)"
serve_policy ", \"min_tcb_evaluation_data_number\": $num, \"min_tcb_date\": \"$tcb_day\", \"tcb_grace_days\": 30, \"refuse_stale_collateral\": true"
kill -HUP $SPID
for _ in $(seq 50); do grep -q 'asps_config_generation 2' <(curl -s "http://127.0.0.1:$OPS/metrics") && break; sleep 0.1; done
out=$(get 2>&1) || fail "server: at the baseline after reload: $out"
tail -n 1 audit.log | grep -q '"verdict":"granted"' || fail "server: granted line: $(tail -n 1 audit.log)"
curl -s "http://127.0.0.1:$OPS/metrics" > m.txt
grep -qx 'asps_decisions_total{verdict="granted",reason="policy"} 1' m.txt \
  || fail "server: granted metric: $(grep asps_decisions_total m.txt)"

[ $fails -eq 0 ] && echo "test_tcb_recovery: ok" || exit 1
