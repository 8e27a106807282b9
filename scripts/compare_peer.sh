#!/usr/bin/env bash
# compare_peer.sh: mutations of Intel's real SGX quote and collateral
# through asps and through the two public peers from the npm registry,
# @phala/dcap-qvl (pure JS) and @phala/dcap-qvl-web (the Rust crate built
# to wasm), side by side. Not part of make test (it needs the npm
# registry); the findings are recorded in tests/unit/test_dcap.c.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/build/asps
VEC=${ASPS_VECTORS:-${ASPS_VECTORS_ROOT:-$PWD/../shared/vectors}/dcap}
W=$(mktemp -d /tmp/asps-peer-XXXXXX); trap 'rm -rf "$W"' EXIT
cd "$W"
npm install --silent @phala/dcap-qvl @phala/dcap-qvl-web >/dev/null 2>&1
cat > wasm_verify.mjs <<'JS'
import fs from 'fs';
import { initSync, js_verify } from './node_modules/@phala/dcap-qvl-web/dcap-qvl-web.js';
initSync({ module: fs.readFileSync('./node_modules/@phala/dcap-qvl-web/dcap-qvl-web_bg.wasm') });
const [q, c, now] = process.argv.slice(2);
try {
  const r = js_verify(new Uint8Array(fs.readFileSync(q)), JSON.parse(fs.readFileSync(c, 'utf8')), BigInt(now));
  console.log('verified: ' + r.status);
} catch (e) { console.log('refused: ' + e); }
JS
python3 - "$VEC" <<'PY'
import json, sys
V = sys.argv[1]
d = json.load(open(V + "/sgx_quote_collateral.json"))
t = json.load(open(V + "/tdx_quote_collateral.json"))
def flip(h, pos): return h[:pos] + ("1" if h[pos] == "0" else "0") + h[pos + 1:]
cases = {
    "root_ca_crl_signature_flipped": {"root_ca_crl": flip(d["root_ca_crl"], len(d["root_ca_crl"]) - 3)},
    "pck_crl_signature_flipped": {"pck_crl": flip(d["pck_crl"], len(d["pck_crl"]) - 3)},
    "pck_crl_as_root_ca_crl": {"root_ca_crl": d["pck_crl"]},
    "other_platform_pck_crl": {"pck_crl": t["pck_crl"], "pck_crl_issuer_chain": t["pck_crl_issuer_chain"]},
}
for name, change in cases.items():
    m = dict(d); m.update(change); json.dump(m, open(name + ".json", "w"))
q = open(V + "/sgx_quote", "rb").read()
open("trailing.quote", "wb").write(q + b"AB")
PY
run() { # name quote collateral time
  printf '%s\n' "$1"
  printf '  dcap-qvl (JS):   %s\n' "$(node node_modules/@phala/dcap-qvl/test_case.js verify --time "$4" "$2" "$3" 2>&1 | tail -1 || true)"
  printf '  dcap-qvl (wasm): %s\n' "$(node wasm_verify.mjs "$2" "$3" "$4" 2>&1 | tail -1 || true)"
  printf '  asps:            %s\n' "$("$BIN" quote verify "$2" --collateral "$3" --at "$4" 2>&1 | tail -1 || true)"
}
for f in root_ca_crl_signature_flipped pck_crl_signature_flipped pck_crl_as_root_ca_crl other_platform_pck_crl; do
  run "$f" "$VEC/sgx_quote" $f.json 1751328000
done
run "TCB info not yet valid (2025-06-19T10:40Z, before its issueDate)" "$VEC/sgx_quote" "$VEC/sgx_quote_collateral.json" 1750329600
run "non-zero bytes after the quote" trailing.quote "$VEC/sgx_quote_collateral.json" 1751328000

# Speed, same machine, same inputs: each peer verifies the real quotes in a
# loop in one process (collateral JSON parsed on every call, as asps's cold
# figure parses its bundle); asps's cold and warm medians from bench_verify.
cat > timing.js <<'JS'
const fs = require('fs');
const { verify } = require('./node_modules/@phala/dcap-qvl/src/verify');
const [q, c, now, n] = process.argv.slice(2);
const quote = new Uint8Array(fs.readFileSync(q)), text = fs.readFileSync(c, 'utf8'), N = Number(n);
(async () => {
  let r = await verify(quote, JSON.parse(text), Number(now));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) r = await verify(quote, JSON.parse(text), Number(now));
  console.log(`${r.status}: ${Math.round(Number(process.hrtime.bigint() - t0) / 1000 / N)} us per verification`);
})().catch(e => console.log('error ' + e));
JS
cat > timing_wasm.mjs <<'JS'
import fs from 'fs';
import { initSync, js_verify } from './node_modules/@phala/dcap-qvl-web/dcap-qvl-web.js';
initSync({ module: fs.readFileSync('./node_modules/@phala/dcap-qvl-web/dcap-qvl-web_bg.wasm') });
const [q, c, now, n] = process.argv.slice(2);
const quote = new Uint8Array(fs.readFileSync(q)), text = fs.readFileSync(c, 'utf8'), N = Number(n);
let r = js_verify(quote, JSON.parse(text), BigInt(now));
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) r = js_verify(quote, JSON.parse(text), BigInt(now));
console.log(`${r.status}: ${Math.round(Number(process.hrtime.bigint() - t0) / 1000 / N)} us per verification`);
JS
for t in sgx tdx; do
  echo "speed, real $t quote"
  printf '  dcap-qvl (JS):   %s\n' "$(node timing.js "$VEC/${t}_quote" "$VEC/${t}_quote_collateral.json" 1751328000 50)"
  printf '  dcap-qvl (wasm): %s\n' "$(node timing_wasm.mjs "$VEC/${t}_quote" "$VEC/${t}_quote_collateral.json" 1751328000 50)"
  printf '  asps:            %s\n' "$("$(dirname "$BIN")/bench_verify" "$VEC/${t}_quote" "$VEC/${t}_quote_collateral.json" 1751328000 | tail -1)"
done
