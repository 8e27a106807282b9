#!/usr/bin/env bash
# test_ratls_vectors.sh: RA-TLS certificates asps did not make, read from
# ../shared/vectors (never copied here).
# - field/ratls-dice-critical: the TCG DICE evidence extension marked
#   critical; its case.json command must give its expected result.
# - real/ratls-gramine-legacy-oid-ecdsa and -rsa: real Gramine certificates
#   from before Gramine's 2022 OID fix (the quote under the mis-encoded OID
#   0.6.9.42.840.113741.1337.6): `asps cert verify` verifies them with
#   QVL's TCB status (case.json), reports ratls_format
#   gramine-misencoded-oid and the binding of the key; the same certificate
#   with one byte of that OID changed carries no evidence (whole-OID match).
# Advisory IDs are left to the DCAP corpus runner.
set -u
BIN=${ASPS_BIN:?}
. "$(dirname "$0")/vectors.sh"
FIELD=$VEC_ROOT/field/ratls-dice-critical
REAL=$VEC_ROOT/real
need_vectors "$FIELD/case.json" "$REAL/ratls-gramine-legacy-oid-ecdsa/case.json" \
    "$REAL/ratls-gramine-legacy-oid-rsa/case.json"
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
pass=0 failn=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; failn=$((failn+1)); }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# ---- the field case: run its own command -------------------------------------------
mapfile -t argv < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["command"]))' \
    "$FIELD/case.json")
(cd "$FIELD" && "$BIN" "${argv[@]}") > "$T/field.out" 2> "$T/field.err"
rc=$?
python3 - "$FIELD/case.json" "$T/field.out" "$rc" <<'PY' && ok || bad "field ratls-dice-critical: $(cat "$T/field.err")"
import json, sys
case = json.load(open(sys.argv[1]))
out = json.load(open(sys.argv[2]))
rc = int(sys.argv[3])
assert case["expect"] == "verified", case["expect"]
assert rc == 0 and out["verified"] is True, (rc, out)
for k, v in case["expect_fields"].items():
    assert out[k] == v, (k, out[k], v)
PY

# ---- real Gramine certificates with the mis-encoded OID ---------------------------
for kind in ecdsa rsa; do
    d=$REAL/ratls-gramine-legacy-oid-$kind
    at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["at"])' "$d/case.json")
    "$BIN" cert verify "$d/cert.pem" --collateral "$d/collateral.json" --at "$at" --json \
        > "$T/$kind.out" 2> "$T/$kind.err"
    rc=$?
    python3 - "$d/case.json" "$T/$kind.out" "$rc" <<'PY' && ok || bad "real $kind: $(cat "$T/$kind.err")"
import json, sys
case = json.load(open(sys.argv[1]))
out = json.load(open(sys.argv[2]))
rc = int(sys.argv[3])
assert case["expect"] == "verified" and case["ratls"]["binding_holds"] is True
assert case["ratls"]["extension_oid_der"] == "060b06092a864886f84d8a3906"
assert rc == 0 and out["verified"] is True, (rc, out)
assert out["ratls_format"] == "gramine-misencoded-oid", out
assert out["tcb_status"] == case["tcb_status"], (out["tcb_status"], case["tcb_status"])
assert out["mrenclave"] == case["fields"]["mrenclave"], out
assert out["report_data"][:64] == case["ratls"]["sha256_of_spki"], out
PY
    "$BIN" cert show "$d/cert.pem" --json > "$T/$kind.show" 2>&1
    python3 - "$T/$kind.show" "$d/quote" <<'PY' && ok || bad "cert show $kind: $(cat "$T/$kind.show")"
import json, os, sys
o = json.load(open(sys.argv[1]))
assert o["format"] == "gramine-misencoded-oid" and o["quote_parses"] is True, o
assert o["quote_bytes"] == os.path.getsize(sys.argv[2]), o
PY
    # one byte of the OID changed (its last arc 6 -> 7): no longer that
    # OID, not critical, so ignored: no evidence
    openssl x509 -in "$d/cert.pem" -outform DER | xxd -p | tr -d '\n' > "$T/$kind.hex"
    [ "$(grep -o 060b06092a864886f84d8a3906 "$T/$kind.hex" | wc -l)" = 1 ] && ok || bad "$kind: OID not found once"
    sed 's/060b06092a864886f84d8a3906/060b06092a864886f84d8a3907/' "$T/$kind.hex" | xxd -r -p > "$T/$kind-other.der"
    "$BIN" cert verify "$T/$kind-other.der" --collateral "$d/collateral.json" --at "$at" --json \
        > "$T/$kind-other.out" 2>/dev/null
    grep -q '"error":"no_evidence"' "$T/$kind-other.out" && ok || bad "$kind with another OID: $(cat "$T/$kind-other.out")"
    # the quote checked at a time outside the collateral: refused, so the
    # verdict above is the quote's, not a certificate-only pass
    "$BIN" cert verify "$d/cert.pem" --collateral "$d/collateral.json" --at 2029-01-01T00:00:00Z \
        > /dev/null 2>&1 && bad "$kind verified outside the collateral's window" || ok
done

echo "$pass passed, $failn failed"
[ $failn = 0 ]
