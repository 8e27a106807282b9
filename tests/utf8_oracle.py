#!/usr/bin/env python3
"""utf8_oracle.py: Python's own UTF-8 codec as the outside oracle for
src/utf8.c (tests/unit/test_utf8.c).

usage: utf8_oracle.py CASES OUT
CASES holds one hex string per line. For each, OUT gets one line:
  "<valid> <replaced>" where valid is 1 if bytes.decode("utf-8") (strict)
  accepts the bytes, and replaced is the hex of
  bytes.decode("utf-8", "replace").encode("utf-8") (CPython substitutes
  U+FFFD for each maximal ill-formed subpart, as the Unicode Standard
  recommends in section 3.9).
usage: utf8_oracle.py --audit AUDITFILE CASES
Reads AUDITFILE (JSON lines) with json.loads on text decoded as strict
UTF-8: every line must be a JSON object; line i's names_asked[0] must be
exactly case i decoded with "replace". Prints "ok N" or raises.
"""
import json
import sys


def main():
    if sys.argv[1] == "--audit":
        raw = open(sys.argv[2], "rb").read()
        text = raw.decode("utf-8")  # strict: any ill-formed byte raises
        lines = text.split("\n")
        assert lines[-1] == "", "audit file does not end with a newline"
        lines = lines[:-1]
        cases = [bytes.fromhex(l) for l in open(sys.argv[3]).read().split("\n") if l]
        assert len(lines) == len(cases), (len(lines), len(cases))
        for line, case in zip(lines, cases):
            o = json.loads(line)  # strict=True: no raw control characters
            assert isinstance(o, dict), line
            want = case.decode("utf-8", "replace")
            got = o["names_asked"][0]
            assert got == want, (case.hex(), got, want)
        print("ok %d" % len(lines))
        return 0
    out = []
    for line in open(sys.argv[1]).read().split("\n"):
        if line == "":
            continue
        b = bytes.fromhex(line)
        try:
            b.decode("utf-8")
            valid = 1
        except UnicodeDecodeError:
            valid = 0
        out.append("%d %s" % (valid, b.decode("utf-8", "replace").encode("utf-8").hex()))
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
