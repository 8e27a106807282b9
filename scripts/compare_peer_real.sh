#!/usr/bin/env bash
# compare_peer_real.sh: the real-quote corpus (../shared/vectors/real, each
# case's expected result from Intel's QVL) through asps and through the two
# public peers from the npm registry, @phala/dcap-qvl (pure JS) and
# @phala/dcap-qvl-web (the Rust crate built to wasm), side by side: verdict,
# TCB status and advisory IDs of each, and where each differs from QVL.
# Every case with collateral is run (for the RA-TLS cases, the quote inside
# the certificate, which is what QVL judged); the parse-only cases have no
# collateral to verify with. Not part of make test (it needs the npm
# registry); the findings are recorded in README.md ("The real-quote
# corpus"). scripts/compare_peer.sh does the same for mutations of Intel's
# vectors. Usage: scripts/compare_peer_real.sh [CASE...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/build/asps
REAL=${ASPS_VECTORS_ROOT:-$PWD/../shared/vectors}/real
[ -x "$BIN" ] || { echo "build/asps missing: make build" >&2; exit 2; }
[ -d "$REAL" ] || { echo "no corpus at $REAL (ASPS_VECTORS_ROOT names another vectors root)" >&2; exit 2; }
W=$(mktemp -d /tmp/asps-peer-real-XXXXXX); trap 'rm -rf "$W"' EXIT
(cd "$W" && npm install --silent @phala/dcap-qvl @phala/dcap-qvl-web >/dev/null 2>&1)
# Each driver prints one JSON line: verdict, and tcb_status/advisory_ids or error.
cat > "$W/js_verify.js" <<'JS'
const fs = require('fs');
const { verify } = require('./node_modules/@phala/dcap-qvl/src/verify');
const [q, c, now] = process.argv.slice(2);
(async () => {
  try {
    const r = await verify(new Uint8Array(fs.readFileSync(q)), JSON.parse(fs.readFileSync(c, 'utf8')), Number(now));
    console.log(JSON.stringify({verdict: 'verified', tcb_status: r.status, advisory_ids: r.advisory_ids}));
  } catch (e) { console.log(JSON.stringify({verdict: 'refused', error: String((e && e.message) || e)})); }
})();
JS
cat > "$W/wasm_verify.mjs" <<'JS'
import fs from 'fs';
import { initSync, js_verify } from './node_modules/@phala/dcap-qvl-web/dcap-qvl-web.js';
initSync({ module: fs.readFileSync('./node_modules/@phala/dcap-qvl-web/dcap-qvl-web_bg.wasm') });
const [q, c, now] = process.argv.slice(2);
try {
  const r = js_verify(new Uint8Array(fs.readFileSync(q)), JSON.parse(fs.readFileSync(c, 'utf8')), BigInt(now));
  console.log(JSON.stringify({verdict: 'verified', tcb_status: r.status, advisory_ids: r.advisory_ids}));
} catch (e) { console.log(JSON.stringify({verdict: 'refused', error: String((e && e.message) || e)})); }
JS
python3 - "$BIN" "$REAL" "$W" "$@" <<'PY'
import json, os, subprocess, sys
BIN, REAL, W, only = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def last_json(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    for line in reversed(p.stdout.splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            pass
    return {"verdict": "no answer", "error": (p.stderr.strip().splitlines() or ["?"])[-1]}

def asps(q, c, at):
    o = last_json([BIN, "quote", "verify", q, "--collateral", c, "--at", str(at), "--json"], REAL)
    if o.get("verified") is True:
        return {"verdict": "verified", "tcb_status": o.get("tcb_status"), "advisory_ids": o.get("advisory_ids")}
    return {"verdict": "refused", "error": "%s: %s" % (o.get("error"), o.get("reason"))}

def brief(r):
    if r["verdict"] == "verified":
        adv = " ".join(a.replace("INTEL-SA-", "") for a in r.get("advisory_ids") or []) or "no advisories"
        return "verified %s, %s" % (r["tcb_status"], adv)
    return "%s (%s)" % (r["verdict"], r.get("error", ""))

# QVL's reason for a refusal -> how asps and the peers say the same thing.
REASONS = {"STATUS_TCB_NOT_SUPPORTED": ("tcb_not_found:", "No matching TCB level")}

def differs(qvl, r):
    """'' when r is QVL's answer, else how it differs."""
    if qvl["verdict"] != r["verdict"]:
        return "differs from QVL"
    if qvl["verdict"] == "verified":
        if qvl["tcb_status"] != r["tcb_status"] or list(qvl["advisory_ids"]) != list(r["advisory_ids"] or []):
            return "differs from QVL"
        return ""
    marks = REASONS.get(qvl["error"])
    if not marks:
        return "QVL's reason %s has no entry in REASONS" % qvl["error"]
    return "" if any(m in r.get("error", "") for m in marks) else "refused for another reason than QVL"

rows, n = [], 0
for name in sorted(os.listdir(REAL)):
    f = os.path.join(REAL, name)
    if not os.path.isfile(os.path.join(f, "case.json")) or (only and name not in only):
        continue
    c = json.load(open(os.path.join(f, "case.json")))
    if c["expect"] not in ("verified", "refused"):
        continue
    n += 1
    qvl = {"verdict": c["expect"], "tcb_status": c.get("tcb_status"), "advisory_ids": c.get("advisory_ids") or [],
           "error": c.get("refused_because")}
    q, col = os.path.join(f, "quote"), os.path.join(f, "collateral.json")
    got = {"asps": asps(q, col, c["at"]),
           "dcap-qvl (JS)": last_json(["node", "js_verify.js", q, col, str(c["at"])], W),
           "dcap-qvl (wasm)": last_json(["node", "wasm_verify.mjs", q, col, str(c["at"])], W)}
    print(name)
    print("  %-16s %s" % ("QVL (expected):", brief(qvl)))
    for who, r in got.items():
        d = differs(qvl, r)
        print("  %-16s %s%s" % (who + ":", brief(r), d and "   <-- " + d))
        if d:
            rows.append((name, who, brief(qvl), brief(r)))
print("\n%d cases with collateral; differences from QVL (case | verifier | QVL | verifier's answer):" % n)
for r in rows:
    print("| `%s` | %s | %s | %s |" % r)
PY
