#!/usr/bin/env bash
# make bench: every benchmark, on this machine (figures, not a test).
set -euo pipefail
cd "$(dirname "$0")/.."
VEC=${ASPS_VECTORS:-${ASPS_VECTORS_ROOT:-./../shared/vectors}/dcap}
W=$(mktemp -d /tmp/asps-bench-XXXXXX); trap 'rm -rf "$W"' EXIT
if [ -f "$VEC/sgx_quote" ]; then
  for t in sgx tdx; do
    echo "== bench_verify ($t, real quote)"; build/bench_verify "$VEC/${t}_quote" "$VEC/${t}_quote_collateral.json" 1751328000
  done
fi
build/asps sim init "$W/sim" >/dev/null
echo "== bench_ratls"; build/bench_ratls "$W/sim" 300
echo "== bench_provision"; ASPS_BIN=$PWD/build/asps build/bench_provision 300 3000 2>/dev/null
echo "== bench_load (1, 8, 32, 128 clients; attested and plain servers in their own processes)"; ASPS_BIN=$PWD/build/asps build/bench_load
echo "== bench_kms_vault (test Vault on loopback)"; build/bench_kms_vault 500 2>/dev/null | tail -1
echo "== bench_metrics"; build/bench_metrics 1000000 2
echo "== bench_policy"; build/bench_policy
echo "== bench_kms_file"; build/bench_kms_file 200
