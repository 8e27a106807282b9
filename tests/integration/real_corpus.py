#!/usr/bin/env python3
"""real_corpus.py: every case of the real-quote corpus and of the field cases
through the `asps` command, checked against an answer asps did not write.

  VECTORS/real/NAME/case.json   real quotes and Intel-signed collateral from
                                other projects' public test data; the expected
                                result is what Intel's own QVL returned
                                (VECTORS/real/README.md)
  VECTORS/field/NAME/case.json  inputs from outside with the asps command to
                                run and the right result (VECTORS/field/README.md)

For a real case the command follows its case.json (README "Running a case
with asps"): `expect` verified or refused -> `asps quote verify quote
--collateral collateral.json --at AT --json`; RA-TLS cases (`ratls`) ->
`asps cert verify cert.pem ...` the same way; parses -> `asps quote show
quote --json`. A field case gives its argv in `command` (paths relative to
its folder). Checked: the verdict and exit code as README.md documents them
(0 verified, 1 not verified, `quote show` 0 when it parses); for a verified
case `tcb_status` and `advisory_ids` exactly QVL's (order too; asps prints
the INTEL-SA- prefix as case.json does); for a refused case the asps error
name for QVL's reason; every key of `fields` equal in `asps quote show
--json` (whose names the corpus follows) and, where the verification output
carries the same key, there too; every key of a field case's
`expect_fields` equal in its command's output; the quote file is the one
case.json describes (quote_sha256).

One line per case (PASS, or FAIL with every difference) and a summary;
exit 0 only when every case passes. `--stats` prints the corpus counts
(distinct quotes by TEE, quote version and FMSPC) that README.md gives.
The data is read where it lies and never copied into this repository.
"""
import argparse
import collections
import hashlib
import json
import os
import subprocess
import sys

# QVL's reason for a refusal (case.json `refused_because`, QVL's status
# name) -> the asps error name (include/asps/err.h, names in src/base/err.c) for
# the same finding. A refused case whose QVL status is not here fails: add
# the mapping, do not guess.
QVL_TO_ASPS_ERROR = {
    # QVL: no TCB level that the platform's PCK SVNs reach, after every
    # signature, chain and CRL check passed. asps: ASPS_E_TCB_NOT_FOUND,
    # "no TCB level matches the platform".
    "STATUS_TCB_NOT_SUPPORTED": "tcb_not_found",
}

# Cases where asps gives, on purpose, another answer than Intel's QVL,
# because of a rule README.md states. Only deliberate, documented rules
# belong here; a fault is fixed, not listed. Each entry:
#   "case-name": {
#       "rule": "a phrase README.md contains (the rule that decides)",
#       "expect": {"verdict": "verified|refused|parses", "error": NAME,
#                  "tcb_status": S, "advisory_ids": [...]},  # what asps gives
#   }
# The checker refuses an entry whose case does not exist, whose rule text
# README.md lacks, or whose expectation does not differ from QVL's.
DIFFERENCES = {
}

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def short(v):
    s = json.dumps(v)
    if not isinstance(v, str) or len(s) <= 60:
        return s
    return s[:28] + "..." + s[-12:] + " (%d chars)" % len(s)


def differ(what, want, got):
    """One difference, with the first differing offset for long strings."""
    if isinstance(want, str) and isinstance(got, str) and len(want) > 40:
        i = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
        return "%s: want %s, got %s (first difference at char %d)" % (what, short(want), short(got), i)
    return "%s: want %s, got %s" % (what, short(want), short(got))


def run(binary, argv, cwd):
    """Run asps; returns (rc, parsed JSON or None, one-line stderr, problems)."""
    try:
        p = subprocess.run([binary] + argv, cwd=cwd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, None, "", ["asps %s: timed out" % " ".join(argv[:2])]
    except OSError as e:
        return None, None, "", ["cannot run %s: %s" % (binary, e.strerror)]
    problems = []
    err = p.stderr.strip()
    if any(m in p.stderr for m in SANITIZER_MARKS):
        problems.append("asps %s: sanitizer report on stderr" % " ".join(argv[:2]))
    out = None
    try:
        out = json.loads(p.stdout)
        if not isinstance(out, dict):
            out = None
    except ValueError:
        pass
    last = err.splitlines()[-1] if err else ""
    return p.returncode, out, last, problems


def check_verdict(label, rc, out, err, want, simulated):
    """The verdict and exit code (README.md: 0 verified, 1 not), and for a
    verified result the TCB status and advisory IDs."""
    d = []
    v = want["verdict"]
    if rc is None:
        return d
    if out is None:
        return ["%s: no JSON object on stdout (rc %s; %s)" % (label, rc, err or "no stderr")]
    if v == "parses":
        if rc != 0:
            d.append("%s: rc %d, want 0 (%s)" % (label, rc, err))
        return d
    if v == "verified":
        if rc != 0 or out.get("verified") is not True:
            return ["%s: want verified (rc 0), got rc %d verified=%s error=%s (%s)"
                    % (label, rc, out.get("verified"), out.get("error"), out.get("reason", err))]
        for k in ("tcb_status", "advisory_ids", "tcb_info_evaluation_data_number",
                  "qe_identity_evaluation_data_number"):
            if k in want and want[k] != out.get(k):
                d.append(differ("%s.%s" % (label, k), want[k], out.get(k)))
        if out.get("simulated") is not simulated:
            d.append(differ("%s.simulated" % label, simulated, out.get("simulated")))
        return d
    if v == "refused":
        if rc != 1 or out.get("verified") is not False:
            return ["%s: want refused (rc 1), got rc %d verified=%s" % (label, rc, out.get("verified"))]
        if "error" in want and out.get("error") != want["error"]:
            d.append("%s: refused as %s, want %s (%s)" % (label, out.get("error"), want["error"],
                                                         out.get("reason", "")))
        return d
    return ["%s: unknown expected verdict %r" % (label, v)]


def check_fields(label, fields, out, alias=None, required=True):
    """Every key of fields equal in out; a missing key is a difference when
    required (alias maps a fields key to the name out uses)."""
    d, missing = [], []
    for k, want in fields.items():
        key = (alias or {}).get(k, k)
        if key not in out:
            if required:
                missing.append(key)
            continue
        if out[key] != want or type(out[key]) is not type(want):
            d.append(differ("%s.%s" % (label, key), want, out[key]))
    if missing:
        d.append("%s lacks %s" % (label, ", ".join(missing)))
    return d


def real_case(a, folder, c):
    name = c.get("name")
    d, f, inp = [], [], []  # differences in the verdict, in the fields, in the input
    if name != os.path.basename(folder):
        inp.append("case.json name %r is not its folder's" % name)
        name = os.path.basename(folder)
    exp = c.get("expect")
    want = {"verdict": exp}
    if exp == "verified":
        want["tcb_status"] = c["tcb_status"]
        want["advisory_ids"] = c["advisory_ids"]
        # the TCB recovery a verdict was made under, as the case's
        # collateral summary gives it
        col = c.get("collateral") or {}
        for k, part in (("tcb_info_evaluation_data_number", "tcb_info"),
                        ("qe_identity_evaluation_data_number", "qe_identity")):
            n = (col.get(part) or {}).get("tcb_evaluation_data_number")
            if n is not None:
                want[k] = n
    elif exp == "refused":
        qs = c.get("refused_because")
        if qs not in QVL_TO_ASPS_ERROR:
            inp.append("no asps error name for QVL's %s (QVL_TO_ASPS_ERROR)" % qs)
        else:
            want["error"] = QVL_TO_ASPS_ERROR[qs]
    elif exp != "parses":
        inp.append("unknown expect %r" % exp)
    rule = None
    if name in DIFFERENCES:
        rule = DIFFERENCES[name]["rule"]
        want = dict(want, **DIFFERENCES[name]["expect"])

    qpath = os.path.join(folder, "quote")
    try:
        got = hashlib.sha256(open(qpath, "rb").read()).hexdigest()
        if got != c.get("quote_sha256"):
            inp.append("quote file sha256 %s is not case.json's %s" % (got[:16], str(c.get("quote_sha256"))[:16]))
    except OSError as e:
        inp.append("quote file: %s" % e.strerror)

    at = str(c.get("at"))
    outputs = []  # (label, rc, out, err) of the verification commands
    if exp in ("verified", "refused"):
        if c.get("ratls"):
            cmds = [("cert verify", ["cert", "verify", "cert.pem"]),
                    ("quote verify", ["quote", "verify", "quote"])]  # QVL judged this quote
        else:
            cmds = [("quote verify", ["quote", "verify", "quote"])]
        for label, argv in cmds:
            rc, out, err, probs = run(a.bin, argv + ["--collateral", "collateral.json", "--at", at, "--json"],
                                      folder)
            d += probs
            d += check_verdict(label, rc, out, err, want, simulated=False)
            outputs.append((label, rc, out, err))

    rc, show, err, probs = run(a.bin, ["quote", "show", "quote", "--json"], folder)
    d += probs
    if exp == "parses":
        d += check_verdict("quote show", rc, show, err, want, simulated=False)
    fields = c.get("fields", {})
    if show is not None and rc == 0:
        f += check_fields("quote show", fields, show)
    elif exp != "parses":
        f.append("quote show: rc %s (%s)" % (rc, err))
    for label, rc, out, err in outputs:
        if out is not None and out.get("verified") is True:
            f += check_fields(label, fields, out, alias={"version": "quote_version"}, required=False)
    return name, {"input": inp, "verdict": d, "fields": f}, rule


def field_case(a, folder, c):
    name = c.get("name") or os.path.basename(folder)
    d, f = [], []
    argv = c.get("command")
    if not isinstance(argv, list) or not argv:
        return name, {"input": ["case.json has no command"]}, None
    want = {"verdict": c.get("expect")}
    if "expect_status" in c:
        want["tcb_status"] = c["expect_status"]
    if "expect_error" in c:
        want["error"] = c["expect_error"]
    rc, out, err, probs = run(a.bin, argv, folder)
    d += probs
    label = " ".join(argv[:2])
    d += check_verdict(label, rc, out, err, want, simulated="--root-ca" in argv or "--sim" in argv)
    if out is not None and (want["verdict"] == "parses" or out.get("verified") is True):
        f += check_fields(label, c.get("expect_fields", {}), out)  # a refusal carries no claims
    return name, {"verdict": d, "fields": f}, None


def cases(root):
    if not os.path.isdir(root):
        return []
    r = []
    for n in sorted(os.listdir(root)):
        f = os.path.join(root, n)
        if os.path.isfile(os.path.join(f, "case.json")):
            r.append(f)
    return r


def stats(vectors):
    """Distinct real quotes (by SHA-256) by TEE, quote version and FMSPC."""
    seen = {}
    for f in cases(os.path.join(vectors, "real")):
        c = json.load(open(os.path.join(f, "case.json")))
        seen.setdefault(c["quote_sha256"], c)
    by = collections.Counter()
    for c in seen.values():
        by[(c["tee"].upper(), c["quote_version"], (c["fmspc"] or "").upper() or "no PCK chain")] += 1
    n = collections.Counter()
    for c in seen.values():
        n[(c["tee"].upper(), c["quote_version"])] += 1
    folders = cases(os.path.join(vectors, "real"))
    ex = collections.Counter(json.load(open(os.path.join(f, "case.json")))["expect"] for f in folders)
    print("%d real cases (%s), %d distinct quotes"
          % (len(folders), ", ".join("%d %s" % (v, k) for k, v in sorted(ex.items())), len(seen)))
    for k in sorted(n):
        print("  %s v%d: %d" % (k[0], k[1], n[k]))
    for k in sorted(by):
        print("    %s v%d %s: %d" % (k[0], k[1], k[2], by[k]))
    print("%d field cases" % len(cases(os.path.join(vectors, "field"))))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", help="the asps binary")
    p.add_argument("--vectors", required=True, help="the vectors root (holds real/ and field/)")
    p.add_argument("--readme", help="asps's README.md (the rules DIFFERENCES cites)")
    p.add_argument("--stats", action="store_true", help="print the corpus counts and exit")
    p.add_argument("--only", help="run only the case with this name")
    a = p.parse_args()
    if a.stats:
        stats(a.vectors)
        return 0
    if not a.bin:
        p.error("--bin is required")
    a.bin = os.path.abspath(a.bin)  # commands run in each case's folder

    bad = 0
    readme = " ".join(open(a.readme, encoding="utf-8").read().split()) if a.readme else ""
    real, field = cases(os.path.join(a.vectors, "real")), cases(os.path.join(a.vectors, "field"))
    names = {os.path.basename(f) for f in real}
    for n, e in DIFFERENCES.items():
        why = []
        if n not in names:
            why.append("no such real case")
        if " ".join(e["rule"].split()) not in readme:  # line breaks in README do not matter
            why.append("README.md does not state the rule %r" % e["rule"])
        if not why:
            c = json.load(open(os.path.join(a.vectors, "real", n, "case.json")))
            qvl = {"verdict": c["expect"], "tcb_status": c.get("tcb_status"), "advisory_ids": c.get("advisory_ids"),
                   "error": QVL_TO_ASPS_ERROR.get(c.get("refused_because"))}
            if all(qvl.get(k) == v for k, v in e["expect"].items()):
                why.append("expects what QVL gives: the entry is stale")
        if why:
            print("FAIL DIFFERENCES[%s]: %s" % (n, "; ".join(why)))
            bad += 1
    if not real or not field:
        print("FAIL: no cases under %s/real or %s/field" % (a.vectors, a.vectors))
        return 1

    tally = collections.Counter()
    for kind, folders, fn in (("real", real, real_case), ("field", field, field_case)):
        for f in folders:
            if a.only and os.path.basename(f) != a.only:
                continue
            try:
                c = json.load(open(os.path.join(f, "case.json")))
                name, diffs, rule = fn(a, f, c)
            except (ValueError, KeyError, OSError) as e:
                name, diffs, rule = os.path.basename(f), {"input": ["case.json unusable: %r" % e]}, None
            tally[kind, "run"] += 1
            for cat, lst in diffs.items():
                tally[cat] += bool(lst)
            d = [x for cat in ("input", "verdict", "fields") for x in diffs.get(cat, [])]
            note = " (differs from QVL by README rule: %s)" % rule if rule else ""
            if d:
                bad += 1
                print("FAIL %s/%s: %s%s" % (kind, name, "; ".join(d), note))
            else:
                tally[kind, "pass"] += 1
                print("PASS %s/%s%s" % (kind, name, note))
    print("real: %d of %d cases pass; field: %d of %d pass; %d failure(s): verdict, status, advisories or "
          "error differ in %d cases, fields in %d, unusable input in %d"
          % (tally["real", "pass"], tally["real", "run"], tally["field", "pass"], tally["field", "run"], bad,
             tally["verdict"], tally["fields"], tally["input"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
