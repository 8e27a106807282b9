#!/usr/bin/env bash
# compare_peer.sh: run CRL mutations of Intel's real SGX collateral through
# asps and through the public peer npm @phala/dcap-qvl (installed from the
# npm registry into a temp folder), side by side. Not part of make test (it
# needs the npm registry); the findings are recorded in tests/unit/test_dcap.c.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/build/asps
VEC=${ASPS_VECTORS:-$PWD/../shared/vectors/dcap}
W=$(mktemp -d /tmp/asps-peer-XXXXXX); trap 'rm -rf "$W"' EXIT
cd "$W"
npm install --silent @phala/dcap-qvl >/dev/null
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
PY
for f in root_ca_crl_signature_flipped pck_crl_signature_flipped pck_crl_as_root_ca_crl other_platform_pck_crl; do
  peer=$(node node_modules/@phala/dcap-qvl/test_case.js verify --time 1751328000 "$VEC/sgx_quote" $f.json 2>&1 | tail -1 || true)
  ours=$("$BIN" quote verify "$VEC/sgx_quote" --collateral $f.json --at 1751328000 2>&1 | tail -1 || true)
  printf '%s\n  dcap-qvl: %s\n  asps:     %s\n' "$f" "$peer" "$ours"
done
