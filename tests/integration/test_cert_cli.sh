#!/usr/bin/env bash
# The `asps cert` command line on the simulated platform: a certificate made
# by `cert new` verifies (both quotes, SGX and TDX); expiry, a forged
# certificate (valid quote copied under a new key), a certificate of another
# platform and bad arguments are refused with the documented exit codes
# (0 verified, 1 not, reason on one stderr line, 2 usage).
set -u
bin=${ASPS_BIN:?}
command -v openssl >/dev/null || { echo "NOTICE: openssl missing; skipping"; exit 77; }
fail=0 pass=0
check() { # name expected-rc actual-rc
  if [ "$2" = "$3" ]; then pass=$((pass+1)); else echo "FAIL: $1: want rc $2, got $3"; fail=$((fail+1)); fi
}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT

"$bin" sim init "$t/sim" >/dev/null 2>&1 || { echo "FAIL: sim init"; exit 1; }
mre=$(printf 'ab%.0s' $(seq 32))

"$bin" cert new --out "$t/c.pem" --key "$t/k.pem" --attester sim --sim "$t/sim" \
  --mrenclave "$mre" --isv-prod-id 7 --isv-svn 3 --days 2 >/dev/null 2>"$t/err"
check "cert new (sgx)" 0 $?
[ "$(stat -c %a "$t/k.pem")" = 600 ] || { echo "FAIL: key not 0600"; fail=$((fail+1)); }
openssl x509 -in "$t/c.pem" -noout -text >"$t/text" 2>&1
check "openssl reads it" 0 $?
grep -q "1.2.840.113741.1337.6" "$t/text" || { echo "FAIL: no Gramine extension"; fail=$((fail+1)); }
grep -q "2.23.133.5.4.9" "$t/text" || { echo "FAIL: no DICE extension"; fail=$((fail+1)); }
grep -q "ecdsa-with-SHA256" "$t/text" || { echo "FAIL: not ECDSA/SHA-256"; fail=$((fail+1)); }
grep -q "prime256v1\|P-256" "$t/text" || { echo "FAIL: not P-256"; fail=$((fail+1)); }
# the key file is the certificate's key
[ "$(openssl pkey -in "$t/k.pem" -pubout 2>/dev/null)" = "$(openssl x509 -in "$t/c.pem" -noout -pubkey)" ] ||
  { echo "FAIL: key does not match certificate"; fail=$((fail+1)); }
# --days 2: notAfter - notBefore = 2 days
nb=$(date -d "$(openssl x509 -in "$t/c.pem" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$t/c.pem" -noout -enddate | cut -d= -f2)" +%s)
[ $((na - nb)) = 172800 ] || { echo "FAIL: validity $((na - nb)) s, want 2 days"; fail=$((fail+1)); }

"$bin" cert verify "$t/c.pem" --sim "$t/sim" --json >"$t/out" 2>"$t/err"
check "cert verify (sgx)" 0 $?
python3 - "$t/out" "$mre" <<'PY' || { echo "FAIL: verify json"; fail=$((fail+1)); }
import json, sys
o = json.load(open(sys.argv[1]))
assert o["verified"] is True and o["simulated"] is True, o
assert o["ratls_format"] == "gramine+dice", o
assert o["mrenclave"] == sys.argv[2] and o["isv_prod_id"] == 7 and o["isv_svn"] == 3, o
PY

"$bin" cert show "$t/c.pem" --json >"$t/out" 2>"$t/err"
check "cert show" 0 $?
python3 -c "
import json; o=json.load(open('$t/out')); assert 'gramine+dice' in json.dumps(o), o" ||
  { echo "FAIL: show json lacks the format"; fail=$((fail+1)); }

# DER works as well as PEM
openssl x509 -in "$t/c.pem" -outform DER -out "$t/c.der"
"$bin" cert verify "$t/c.der" --sim "$t/sim" >/dev/null 2>&1
check "cert verify DER" 0 $?

# outside the validity window
"$bin" cert verify "$t/c.pem" --sim "$t/sim" --at $(( $(date +%s) + 3 * 86400 )) >/dev/null 2>"$t/err"
check "expired certificate" 1 $?
[ "$(wc -l <"$t/err")" = 1 ] || { echo "FAIL: reason should be one line"; cat "$t/err"; fail=$((fail+1)); }

# forged: the same extensions (valid quotes) in a certificate of a new key
openssl ecparam -name prime256v1 -genkey -noout -out "$t/k2.pem" 2>/dev/null
python3 - "$t/c.pem" "$t/ext.cnf" <<'PY'
import subprocess, sys
der = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-outform", "DER"],
                     capture_output=True, check=True).stdout
def tlv(b, i):
    tag = b[i]; l = b[i + 1]; i += 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i:i + n], "big"); i += n
    return tag, i, l
# walk Certificate > TBSCertificate > [3] extensions, copy the two evidence ones
_, i, _ = tlv(der, 0)
_, i, tl = tlv(der, i); end = i + tl
exts = []
while i < end:
    tag, s, l = tlv(der, i)
    if tag == 0xa3:
        _, j, sl = tlv(der, s)
        k = j
        while k < j + sl:
            _, e, el = tlv(der, k)
            _, o, ol = tlv(der, e)
            oid = der[o:o + ol]
            _, v, vl = tlv(der, o + ol)
            exts.append((oid, der[v:v + vl]))
            k = e + el
    i = s + l
names = {bytes.fromhex("2a864886f84d8a3906"): "1.2.840.113741.1337.6",
         bytes.fromhex("678105050409"): "2.23.133.5.4.9"}
with open(sys.argv[2], "w") as f:
    f.write("[v3]\n")
    for oid, val in exts:
        if oid in names:
            f.write("%s = DER:%s\n" % (names[oid], val.hex()))
PY
grep -c "DER:" "$t/ext.cnf" | grep -q 2 || { echo "FAIL: could not copy both extensions"; fail=$((fail+1)); }
openssl req -new -x509 -key "$t/k2.pem" -subj "/CN=forged" -days 1 -sha256 \
  -extensions v3 -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n'; cat "$t/ext.cnf") \
  -out "$t/forged.pem" 2>"$t/err" || { echo "FAIL: openssl req"; cat "$t/err"; fail=$((fail+1)); }
"$bin" cert verify "$t/forged.pem" --sim "$t/sim" --json >"$t/out" 2>"$t/err"
check "forged certificate (valid quote, new key)" 1 $?
python3 -c "
import json; o=json.load(open('$t/out')); assert o['verified'] is False and o['error']=='binding', o" ||
  { echo "FAIL: forged refusal is not a binding error"; fail=$((fail+1)); }

# a certificate without evidence
openssl req -new -x509 -key "$t/k2.pem" -subj "/CN=plain" -days 1 -sha256 -out "$t/plain.pem" \
  -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n') 2>/dev/null
"$bin" cert verify "$t/plain.pem" --sim "$t/sim" --json >"$t/out" 2>/dev/null
check "no evidence" 1 $?
grep -q no_evidence "$t/out" || { echo "FAIL: want no_evidence"; fail=$((fail+1)); }

# another platform's root does not vouch for it
"$bin" sim init "$t/sim2" >/dev/null 2>&1
"$bin" cert verify "$t/c.pem" --sim "$t/sim2" >/dev/null 2>&1
check "other platform" 1 $?

# Occlum/CCZoo-shaped certificate made with openssl alone: RSA-2048, SHA-1
# self-signature, 20 years, OID 1.2.840.113741.1 holding a quote whose report
# data is SHA-256(DER SubjectPublicKeyInfo) (+ 32 bytes a producer may use)
openssl genrsa -out "$t/rsa.pem" 2048 2>/dev/null
spki=$(openssl rsa -in "$t/rsa.pem" -pubout -outform DER 2>/dev/null | openssl dgst -sha256 -r | cut -c1-64)
"$bin" sim quote "$t/sim" --out "$t/occ.quote" --report-data "${spki}$(printf '5a%.0s' $(seq 32))" \
  --mrenclave "$mre" >/dev/null 2>&1
check "sim quote over the SPKI hash" 0 $?
occ_cert() { # quote-file out-file key
  openssl req -new -x509 -key "$3" -subj "/C=CN/O=Intel Inc./CN=localhost" -days 7300 -sha1 \
    -extensions v3 -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n1.2.840.113741.1 = DER:%s\n' \
    "$(xxd -p "$1" | tr -d '\n')") -out "$2" 2>/dev/null
}
occ_cert "$t/occ.quote" "$t/occ.pem" "$t/rsa.pem"
"$bin" cert verify "$t/occ.pem" --sim "$t/sim" --json >"$t/out" 2>"$t/err"
check "occlum/cczoo certificate (openssl-made)" 0 $?
grep -q '"ratls_format":"occlum"' "$t/out" || { echo "FAIL: want format occlum"; cat "$t/out" "$t/err"; fail=$((fail+1)); }
# the same quote under another RSA key
openssl genrsa -out "$t/rsa2.pem" 2048 2>/dev/null
occ_cert "$t/occ.quote" "$t/occ2.pem" "$t/rsa2.pem"
"$bin" cert verify "$t/occ2.pem" --sim "$t/sim" >/dev/null 2>&1
check "occlum quote under another key" 1 $?

# TDX
"$bin" cert new --out "$t/td.pem" --key "$t/tdk.pem" --attester sim --sim "$t/sim" --tee tdx \
  --mrtd "$(printf 'cd%.0s' $(seq 48))" >/dev/null 2>&1
check "cert new (tdx)" 0 $?
"$bin" cert verify "$t/td.pem" --sim "$t/sim" --json >"$t/out" 2>"$t/err"
check "cert verify (tdx)" 0 $?
grep -q '"tee":"tdx"' "$t/out" || { echo "FAIL: want tee tdx"; cat "$t/out"; fail=$((fail+1)); }

# --not-before takes README's TIME: unix seconds, a date (00:00:00 UTC) or
# RFC 3339; openssl reads back the notBefore written
for nb in 1764547200 2025-12-01 2025-12-01T00:00:00Z; do
  "$bin" cert new --out "$t/nb.pem" --key "$t/nb.key" --sim "$t/sim" --mrenclave "$mre" \
    --not-before "$nb" --days 1 >/dev/null 2>"$t/err"
  check "cert new --not-before $nb" 0 $?
  got=$(openssl x509 -in "$t/nb.pem" -noout -startdate 2>/dev/null | cut -d= -f2)
  [ "$(date -u -d "$got" +%s 2>/dev/null)" = 1764547200 ] ||
    { echo "FAIL: --not-before $nb: notBefore $got"; fail=$((fail+1)); }
done
"$bin" cert new --out "$t/nb.pem" --key "$t/nb.key" --sim "$t/sim" --mrenclave "$mre" \
  --not-before 2025-13-01 >/dev/null 2>&1; check "--not-before month 13" 2 $?

# usage errors
"$bin" cert verify >/dev/null 2>&1;                         check "verify without CERT" 2 $?
"$bin" cert verify "$t/missing" --sim "$t/sim" >/dev/null 2>&1; check "missing CERT file" 2 $?
"$bin" cert verify "$t/c.pem" --at yesterday --sim "$t/sim" >/dev/null 2>&1; check "bad --at" 2 $?
"$bin" cert new --out "$t/x.pem" >/dev/null 2>&1;           check "new without --key" 2 $?
"$bin" cert frobnicate >/dev/null 2>&1;                     check "unknown subcommand" 2 $?
"$bin" cert --help >/dev/null;                              check "help" 0 $?

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
