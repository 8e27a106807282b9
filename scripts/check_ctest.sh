#!/usr/bin/env bash
# check_ctest.sh BUILD_DIR: after ctest under ASPS_STRICT. A test that ctest
# reports as not run fails make test, except one that recorded in
# BUILD/not-run.txt that it needs the vectors folder beside the checkout
# (../shared/vectors, data from other projects that this repository does not
# carry) and there is none. Those are listed, so a bare clone says clearly
# what it could not run.
set -u
build=$1
log=$build/ctest.log
notrun=$build/not-run.txt
bad=0
while read -r name; do
  if [ -f "$notrun" ] && grep -q "^$name" "$notrun"; then continue; fi
  echo "FAIL: $name did not run"; bad=1
done < <(sed -n '/tests did not run/,$p' "$log" | grep -oE '^[[:space:]]*[0-9]+ - [A-Za-z0-9_]+' | awk '{print $3}')
if [ -s "$notrun" ]; then
  echo "NOT RUN in $build (no ../shared/vectors beside this checkout; ASPS_VECTORS_ROOT names another):"
  sort -u "$notrun" | sed 's/^/  /'
fi
exit $bad
