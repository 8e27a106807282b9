#!/usr/bin/env python3
"""ratls_reissue.py: re-make an RA-TLS certificate with openssl, not asps.

Copies the evidence extensions of CERT (any extension whose OID is given
with --copy) into a new self-signed certificate for the same key (KEY, so
the quote's binding of the key still holds), made by `openssl req -x509`,
and marks the chosen ones critical. The tests use it to put in front of
asps certificates whose extensions' criticality and OIDs asps did not write.

usage: ratls_reissue.py CERT KEY OUT [--copy OID[:critical][:as=OID]]...
                                     [--add OID:critical:HEXDER]... [--days N]
  --copy OID               copy that extension's value (OID dotted, as in CERT)
         ...:critical      mark the copy critical
         ...:as=OID2       put the value under OID2 instead (any dotted OID
                           openssl can encode, e.g. the mis-encoded Gramine
                           OID 0.6.9.42.840.113741.1337.6)
  --add OID:crit|noncrit:HEX   add an extension with value HEX (DER)
exit 0 when OUT is written; prints openssl's error otherwise.
"""
import argparse
import subprocess
import sys
import tempfile


def tlv(b, i):
    """(tag, start of value, length) of the DER TLV at b[i]."""
    tag = b[i]
    n = b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, n


def oid_text(der):
    """The dotted form of an OID's DER content bytes (X.690 8.19)."""
    arcs, v = [], 0
    for c in der:
        v = v << 7 | (c & 0x7F)
        if not c & 0x80:
            arcs.append(v)
            v = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def extensions(der):
    """[(dotted OID, critical, value bytes)] of a DER certificate."""
    _, i, _ = tlv(der, 0)                   # Certificate
    _, i, tl = tlv(der, i)                  # TBSCertificate
    end, out = i + tl, []
    while i < end:
        tag, s, n = tlv(der, i)
        if tag == 0xA3:                     # [3] extensions
            _, j, sl = tlv(der, s)
            k = j
            while k < j + sl:
                _, e, el = tlv(der, k)      # Extension
                _, o, ol = tlv(der, e)
                p, crit = o + ol, False
                if der[p] == 0x01:          # critical BOOLEAN
                    _, bv, bl = tlv(der, p)
                    crit = der[bv] != 0
                    p = bv + bl
                _, v, vl = tlv(der, p)
                out.append((oid_text(der[o:o + ol]), crit, der[v:v + vl]))
                k = e + el
        i = s + n
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cert")
    ap.add_argument("key")
    ap.add_argument("out")
    ap.add_argument("--copy", action="append", default=[])
    ap.add_argument("--add", action="append", default=[])
    ap.add_argument("--days", default="1")
    a = ap.parse_args()
    der = subprocess.run(["openssl", "x509", "-in", a.cert, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    have = {oid: val for oid, _, val in extensions(der)}
    lines = []
    for spec in a.copy:
        parts = spec.split(":")
        oid, crit, as_oid = parts[0], "critical" in parts[1:], parts[0]
        for p in parts[1:]:
            if p.startswith("as="):
                as_oid = p[3:]
        if oid not in have:
            sys.exit("ratls_reissue: %s has no extension %s" % (a.cert, oid))
        lines.append("%s = %sDER:%s" % (as_oid, "critical," if crit else "", have[oid].hex()))
    for spec in a.add:
        oid, crit, hexval = spec.split(":")
        lines.append("%s = %sDER:%s" % (oid, "critical," if crit == "critical" else "", hexval))
    with tempfile.NamedTemporaryFile("w", suffix=".cnf") as cnf:
        # subjectKeyIdentifier/authorityKeyIdentifier "none": only the
        # extensions asked for (openssl 3 adds both by default)
        cnf.write("[req]\ndistinguished_name=dn\n[dn]\n[v3]\n"
                  "subjectKeyIdentifier = none\nauthorityKeyIdentifier = none\n")
        cnf.write("\n".join(lines) + "\n")
        cnf.flush()
        r = subprocess.run(["openssl", "req", "-new", "-x509", "-key", a.key, "-sha256",
                            "-subj", "/CN=RA-TLS reissued by openssl", "-days", a.days,
                            "-config", cnf.name, "-extensions", "v3", "-out", a.out],
                           capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("ratls_reissue: openssl req: " + r.stderr)


if __name__ == "__main__":
    main()
