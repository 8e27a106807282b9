#!/usr/bin/env bash
# Short libFuzzer run of one target over its seed corpus (fuzz/corpus/NAME,
# plus the real DCAP vectors when present). A crash, leak or hang fails.
set -euo pipefail
bin=$1 name=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
seeds="${ASPS_SRC:-$(dirname "$0")/..}/fuzz/corpus/${name#fuzz_}"
[ -d "$seeds" ] && cp -r "$seeds"/. "$work/corpus/" 2>/dev/null || true
ASPS_TEST_NAME=${name}_smoke  # as ctest names it, for the not-run list
. "${ASPS_SRC:-$(dirname "$0")/..}/tests/integration/vectors.sh"
# fuzz_verify needs Intel's collateral; the others only take the real
# quotes as extra seeds when they are there
[ "$name" = fuzz_verify ] && need_vectors "$VEC/sgx_quote_collateral.json"
if [ -d "$VEC" ]; then
  cp "$VEC"/* "$work/corpus/" 2>/dev/null || true
  export ASPS_VECTORS=$VEC
fi
# fuzz_ratls: the real and field RA-TLS certificates as extra seeds, read
# from the vectors folder at run time (never kept in fuzz/corpus)
if [ "$name" = fuzz_ratls ] && [ -n "$VEC_ROOT" ] && [ -d "$VEC_ROOT" ]; then
  for c in "$VEC_ROOT"/real/*/cert.pem "$VEC_ROOT"/field/*/cert.pem; do
    if [ -f "$c" ]; then cp "$c" "$work/corpus/$(basename "$(dirname "$c")").pem"; fi
  done
fi
# the quote parser also starts from every real quote (SGX v3, TDX v4/v5,
# certification data type 3) of the corpus and the field cases
if [ "$name" = fuzz_quote ] && [ -n "$VEC_ROOT" ]; then
  for q in "$VEC_ROOT"/real/*/quote "$VEC_ROOT"/field/*/quote; do
    if [ -f "$q" ]; then cp "$q" "$work/corpus/real-$(basename "$(dirname "$q")")"; fi
  done
fi
cd "$work"
exec "$bin" -max_total_time="${ASPS_FUZZ_SECONDS:-5}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work/corpus"
