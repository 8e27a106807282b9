#!/usr/bin/env python3
"""audit_lines_check.py: every audit line the test suite wrote, read by a
strict JSON parser (ctest's audit_lines_json, run after all other tests).

usage: audit_lines_check.py DIR NAME...
DIR holds the audit logs the tests left (ASPS_AUDIT_KEEP); each NAME must be
there as NAME.log (a missing one fails when ASPS_STRICT is set, as in `make
test`, else is a notice). Each file is decoded as strict UTF-8, and each
line must be one JSON object (json.loads, strict: no raw control
characters) with the fields of asps/audit.h.
"""
import glob
import json
import os
import sys

FIELDS = ("time", "peer", "tee", "app", "names_asked", "names_granted", "verdict", "reason")


def main():
    d, names = sys.argv[1], sys.argv[2:]
    strict = os.environ.get("ASPS_STRICT") == "1"
    missing = [n for n in names if not os.path.isfile(os.path.join(d, n + ".log"))]
    for n in missing:
        print("%s: %s.log not left by its test" % ("FAIL" if strict else "NOTICE", n))
    files = sorted(glob.glob(os.path.join(d, "*.log")))
    if not files:
        print("FAIL: no audit logs in %s" % d)
        return 1
    total = 0
    for path in files:
        text = open(path, "rb").read().decode("utf-8")  # strict: ill-formed bytes raise
        if text and not text.endswith("\n"):
            print("FAIL: %s: last line unterminated" % path)
            return 1
        for i, line in enumerate(text.split("\n")[:-1], 1):
            try:
                o = json.loads(line)
            except ValueError as e:
                print("FAIL: %s:%d: not JSON: %s" % (path, i, e))
                return 1
            if not isinstance(o, dict) or any(k not in o for k in FIELDS):
                print("FAIL: %s:%d: not an audit line: %s" % (path, i, line))
                return 1
            total += 1
        print("%s: %d lines" % (os.path.basename(path), text.count("\n")))
    print("%d audit lines in %d files, all strict JSON" % (total, len(files)))
    return 1 if strict and missing else 0


if __name__ == "__main__":
    sys.exit(main())
