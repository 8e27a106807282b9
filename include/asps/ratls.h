/* asps/ratls.h: RA-TLS certificates — X.509 certificates that carry a quote
 * whose report data binds the certificate's own public key.
 *
 * Formats read (and reported in asps_claims.ratls_format):
 *   "gramine"       OID 1.2.840.113741.1337.6, the raw quote; report data
 *                   [0..31] = SHA-256(DER SubjectPublicKeyInfo)
 *   "dice"          OID 2.23.133.5.4.9 (TCG DICE tagged evidence): CBOR tag
 *                   60000 around [bstr quote, bstr claims]; claims is a CBOR
 *                   map with "pubkey-hash": bstr(CBOR [alg, bstr hash]) (alg
 *                   1 SHA-256, 7 SHA-384, 8 SHA-512); report data [0..31] =
 *                   SHA-256(claims bytes)
 *   "gramine-misencoded-oid"
 *                   Gramine before its August 2022 OID fix (gramine commit
 *                   f4d6b2bb5): the same raw quote and binding as "gramine",
 *                   under an OID whose value holds its own DER tag and length
 *                   (it decodes as 0.6.9.42.840.113741.1337.6, DER
 *                   06 0b 06 09 2a 86 48 86 f8 4d 8a 39 06); matched whole.
 *                   Refused beside the proper OID or DICE evidence.
 *   "gramine+dice"  "gramine" and "dice" (Gramine >= 1.8, what asps writes):
 *                   each quote is checked under its own rule and both must
 *                   claim the same identity
 *   "occlum"        OID 1.2.840.113741.1 (Occlum and Intel CCZoo gRPC
 *                   RA-TLS): the raw quote; report data [0..31] =
 *                   SHA-256(DER SubjectPublicKeyInfo)
 * Critical extensions: an evidence extension may be critical (the TCG DICE
 * profile recommends it); so may basicConstraints, keyUsage (which, critical
 * or not, must allow digitalSignature) and subjectAltName. Any other critical
 * extension is refused (ASPS_E_UNSUPPORTED, its OID named): RFC 5280 4.2,
 * decided by asps's own list (ratls.c says why each is on it).
 * Trust comes from the quote binding the key, never from the certificate's
 * self-signature (CCZoo's is SHA-1). Bytes 32..63 of the report data are not
 * checked: Gramine leaves them zero, others may use them for nonces.
 */
#ifndef ASPS_RATLS_H
#define ASPS_RATLS_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/collateral.h"
#include "asps/err.h"
#include "asps/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes a quote whose report data is REPORT_DATA (64 bytes). */
typedef asps_err (*asps_ratls_quote_fn)(void *ctx, const uint8_t report_data[64], uint8_t **quote,
                                        size_t *quote_len, asps_errbuf *eb);

typedef struct asps_ratls_create_opts {
    asps_ratls_quote_fn quote;   /* the attester */
    void *quote_ctx;
    int64_t not_before;          /* 0 = now - 60 s (else the caller's, even past) */
    int64_t validity_secs;       /* 0 = 24 h; notAfter = notBefore + this. Refused:
                                    negative, 1..60 with the default notBefore
                                    (expired when made), an end past 9999 */
    int legacy_only;             /* write only the Gramine legacy extension */
    const char *common_name;     /* default "asps RA-TLS" */
} asps_ratls_create_opts;

/* A fresh ECDSA P-256 key and a self-signed certificate carrying evidence.
 * *cert_pem and *key_pem are malloc'd, NUL-terminated PEM, the caller's;
 * free the key with asps_ratls_free_key (cleanses). Errors: ASPS_E_ARG (bad
 * options: no attester, a validity window above), the attester's own error
 * from o->quote (e.g. ASPS_E_NO_DEVICE),
 * ASPS_E_INTERNAL (OpenSSL failed), ASPS_E_NOMEM. On an error nothing is
 * left to free. */
asps_err asps_ratls_create(const asps_ratls_create_opts *o, char **cert_pem, char **key_pem,
                           asps_errbuf *eb);
void asps_ratls_free_key(char *key_pem);

/* The evidence in a certificate (PEM or DER), without verifying anything. */
typedef struct asps_ratls_evidence {
    char format[32];
    const uint8_t *quote;        /* points into the evidence object */
    size_t quote_len;
    const uint8_t *quote2;       /* the DICE quote when both are present */
    size_t quote2_len;
    uint8_t spki_hash[32];       /* SHA-256(DER SubjectPublicKeyInfo) */
    uint8_t dice_claims_hash[32];/* SHA-256(DICE claims bytes) */
    int dice_pubkey_ok;          /* DICE claims' pubkey-hash matches the key */
    int64_t not_before, not_after;
    void *priv;
} asps_ratls_evidence;

/* Read the evidence of the certificate CERT (LEN bytes, PEM or DER).
 * On ASPS_OK *out is the caller's (asps_ratls_evidence_free); its quote
 * pointers point into it. Errors: ASPS_E_NO_EVIDENCE (no evidence
 * extension), ASPS_E_PARSE or ASPS_E_UNSUPPORTED for a certificate or
 * evidence asps cannot accept (the message says which: malformed, an
 * unknown critical extension, a repeated extension, formats that disagree),
 * ASPS_E_LIMIT (too large), ASPS_E_NOMEM. */
asps_err asps_ratls_extract(const uint8_t *cert, size_t len, asps_ratls_evidence **out,
                            asps_errbuf *eb);
void asps_ratls_evidence_free(asps_ratls_evidence *e);

/* Collateral source for a quote; *owned: caller frees it. */
typedef asps_err (*asps_ratls_collateral_fn)(void *ctx, const uint8_t *quote, size_t len,
                                             const asps_collateral **col, int *owned,
                                             asps_errbuf *eb);

/* Extract, check validity at AT (unix seconds), verify each quote with DCAP
 * (V is used by one thread at a time; COL gives each quote's collateral),
 * check the binding (constant time). A certificate with Gramine and DICE
 * evidence has both quotes verified, and they must claim one identity
 * (see ASPS_RATLS_SAME_QE_BINDING for the shortcut a relying party may
 * take). On ASPS_OK claims are filled, with
 * ratls_format, and expires_at lowered to the certificate's notAfter.
 * Errors: those of asps_ratls_extract, ASPS_E_CERT_EXPIRED (outside the
 * certificate's validity), ASPS_E_BINDING (the quote binds another key),
 * any error of asps_verify_quote or of COL. */
asps_err asps_ratls_verify(asps_verifier *v, const uint8_t *cert, size_t len,
                           asps_ratls_collateral_fn col, void *col_ctx, int64_t at,
                           asps_claims *claims, asps_errbuf *eb);

/* asps_ratls_verify_ex's FLAGS. ASPS_RATLS_KEY_PROVEN: the caller's TLS
 * handshake has proven that the peer holds this certificate's private key
 * (its CertificateVerify signature, RFC 8446 4.4.3 / RFC 5246 7.4.8, over a
 * transcript that holds this very certificate, checked by TLS before the
 * handshake ends; gRPC runs its certificate verifier after that). The
 * certificate's self-signature proves the same again, so it is not checked;
 * everything else about it is (self-issued, digest, key type and size; an
 * EC key's point is decoded against its named curve, as without the flag,
 * but not imported as a key a second time).
 * Never set it for a certificate read from a file or a message.
 * ASPS_RATLS_SAME_QE_BINDING: a certificate with Gramine and DICE evidence
 * whose two quotes differ only in the body's report data and the quote
 * signature (one QE's quotes for two report data: what asps and Gramine
 * write; asps_quote_same_but_binding) has the first verified and the
 * second checked for its binding alone: every claim is the first quote's,
 * so the second's signature adds nothing the relying party uses. Any other
 * pair is verified in full. Without it (`asps cert verify`, vetting a
 * certificate that others may read the DICE quote of) every quote is.
 * ASPS_RATLS_PEER: both, what the server and the client use for the peer
 * of a TLS handshake. */
#define ASPS_RATLS_KEY_PROVEN 1u
#define ASPS_RATLS_SAME_QE_BINDING 2u
#define ASPS_RATLS_PEER (ASPS_RATLS_KEY_PROVEN | ASPS_RATLS_SAME_QE_BINDING)

/* asps_ratls_verify with FLAGS (0 or ASPS_RATLS_* ORed); same errors. */
asps_err asps_ratls_verify_ex(asps_verifier *v, const uint8_t *cert, size_t len,
                              asps_ratls_collateral_fn col, void *col_ctx, int64_t at,
                              unsigned flags, asps_claims *claims, asps_errbuf *eb);

#ifdef __cplusplus
}
#endif
#endif
