# Sourced by the shell tests that read vectors: data from other projects,
# never committed here, read from ../shared/vectors beside the checkout
# (ASPS_VECTORS_ROOT picks another folder; ASPS_VECTORS another DCAP folder).
# Sets VEC_ROOT and VEC (Intel's DCAP vectors). need_vectors FILE... exits 77
# when one is missing: with no vectors root at all the test is recorded as
# not run (BUILD/not-run.txt, printed by make test); with the root present
# the skip fails make test like any other.
VEC_ROOT=${ASPS_VECTORS_ROOT:-${ASPS_VECTORS_ROOT_DEFAULT:-}}
VEC=${ASPS_VECTORS:-$VEC_ROOT/dcap}
need_vectors() {
  local f
  for f in "$@"; do
    [ -e "$f" ] && continue
    if [ -z "$VEC_ROOT" ] || [ ! -d "$VEC_ROOT" ]; then
      echo "NOT RUN: $(basename "$0"): no vectors folder (../shared/vectors or ASPS_VECTORS_ROOT)"
      # the ctest name: the script's, or what the caller set (fuzz/smoke.sh)
      [ -n "${ASPS_BUILD:-}" ] && echo "${ASPS_TEST_NAME:-$(basename "$0" .sh)}: needs $f" >>"$ASPS_BUILD/not-run.txt"
    else
      echo "NOTICE: $f missing; skipping"
    fi
    exit 77
  done
}
