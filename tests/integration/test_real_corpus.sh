#!/usr/bin/env bash
# Real quotes against Intel's own answer: every case of ../shared/vectors/real
# (real quotes and Intel-signed collateral from other projects' public test
# data, each with the verdict, TCB status and advisory IDs that Intel's QVL
# returned) and of ../shared/vectors/field (outside inputs with the asps
# command and the right result) through the asps command; real_corpus.py
# says what is checked and holds the table of documented differences from
# QVL. Without the vectors folder the test is recorded as not run.
set -u
bin=${ASPS_BIN:?}
here=$(dirname "$0")
. "$here/vectors.sh"
need_vectors "$VEC_ROOT/real/README.md" "$VEC_ROOT/field/README.md"
exec python3 "$here/real_corpus.py" --bin "$bin" --vectors "$VEC_ROOT" \
  --readme "${ASPS_SRC:-$here/../..}/README.md"
