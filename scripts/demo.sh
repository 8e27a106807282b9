#!/usr/bin/env bash
# make demo: what asps does, end to end, on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/asps
vec=${ASPS_VECTORS:-../shared/vectors/dcap}

echo "== 1. Verifying Intel's real DCAP quotes (collateral valid 2025-06-19..2025-07-19)"
if [ -f "$vec/sgx_quote" ]; then
  for t in sgx tdx; do
    echo "\$ asps quote verify $t""_quote --collateral $t""_quote_collateral.json --at 2025-07-01T00:00:00Z"
    $bin quote verify "$vec/${t}_quote" --collateral "$vec/${t}_quote_collateral.json" --at 2025-07-01T00:00:00Z
  done
  echo "\$ asps quote verify sgx_quote --collateral sgx_quote_collateral.json --at 2025-08-01T00:00:00Z"
  $bin quote verify "$vec/sgx_quote" --collateral "$vec/sgx_quote_collateral.json" --at 2025-08-01T00:00:00Z || echo "(refused, as it must be: exit $?)"
else
  echo "(vectors folder $vec not found; set ASPS_VECTORS)"
fi
