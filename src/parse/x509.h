/* x509.h: decoding untrusted X.509 certificates (quotes, collateral, RA-TLS
 * certificates) without OpenSSL 3.0's per-call key decoder, and the general
 * PKI helpers the verifiers build on (names, issuers and signatures, PEM
 * chains, CRLs, dates). Internal. No rule of Intel's is here: which chain,
 * which extensions, which names a role needs is the verifier's (dcap.c). */
#ifndef ASPS_X509_H
#define ASPS_X509_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ASPS_X509_NO_KEY,  /* structure only (names, dates, extensions): no key attached */
    ASPS_X509_P256,    /* a key attached only when it is id-ecPublicKey on named P-256 */
    ASPS_X509_ANY_KEY, /* P-256 as above; any other key through OpenSSL's decoder */
} asps_x509_keys;

/* One DER certificate, all of it and nothing after it; NULL when it does
 * not decode. The certificate's key, per `keys`, is read by asps_x509_key. */
X509 *asps_x509_decode(const uint8_t *der, size_t len, asps_x509_keys keys);

/* The next PEM block of b decoded as above; NULL at the end, or when the
 * block is not a CERTIFICATE or does not decode. */
X509 *asps_x509_read_pem(BIO *b, asps_x509_keys keys);

/* The certificate's public key (not a new reference): the key attached by
 * asps_x509_decode, or for a certificate decoded by OpenSSL itself its own
 * key. NULL when there is none. X509_dup does not copy the attached key
 * (OpenSSL copies no ex_data), so a copy has none and every signature check
 * with it fails: share a certificate with X509_up_ref. */
EVP_PKEY *asps_x509_key(X509 *x);

/* The certificate's subject key imported anew, per `keys` (as
 * asps_x509_decode would have attached it), for a certificate decoded with
 * ASPS_X509_NO_KEY; NULL when there is none. The caller frees it. */
EVP_PKEY *asps_x509_import_key(X509 *x, asps_x509_keys keys);

/* The NID of the named curve of the certificate's key when it is
 * id-ecPublicKey with a named-curve parameter and a non-empty point
 * (RFC 5480 2.1.1), read from SubjectPublicKeyInfo without importing the
 * key, so without checking the point; NID_undef otherwise. */
int asps_x509_ec_named_curve(X509 *x);

/* The NID of the curve when the certificate's key is id-ecPublicKey on
 * named P-256, P-384 or P-521 and its point decodes as a point of that
 * curve (SEC 1 2.3.4: the uncompressed or compressed form of the curve's
 * size, on the curve, not the point at infinity), read from
 * SubjectPublicKeyInfo without importing the key; NID_undef otherwise
 * (another curve, explicit parameters, a bad point). */
int asps_x509_ec_point_ok(X509 *x);

/* A P-256 public key from a SEC1 point (uncompressed or compressed form);
 * NULL when the point is not on the curve, is the point at infinity or is
 * in another form. The caller frees it. */
EVP_PKEY *asps_x509_p256_key(const uint8_t *point, size_t len);

/* ---- PKI helpers ---------------------------------------------------------- */

/* An ASN1_TIME (a certificate's or CRL's date) as unix seconds; INT64_MIN
 * when absent or unreadable. */
int64_t asps_x509_time_unix(const ASN1_TIME *t);

/* A certificate's notBefore/notAfter, or a CRL's thisUpdate (lastUpdate)/
 * nextUpdate, as unix seconds. 1 when both read, 0 otherwise. */
int asps_x509_validity(X509 *c, int64_t *not_before, int64_t *not_after);
int asps_x509_crl_dates(X509_CRL *c, int64_t *this_update, int64_t *next_update);

/* Does the common name of NAME contain PHRASE (a role check by name)? */
int asps_x509_cn_contains(const X509_NAME *name, const char *phrase);

/* Subject name equal to issuer name. */
int asps_x509_self_issued(X509 *c);

/* ISSUER signed CERT: CERT's issuer name is ISSUER's subject, the signature
 * algorithm is ECDSA-SHA256 and the signature verifies with ISSUER's key
 * (asps_x509_key). */
int asps_x509_signed_by(X509 *cert, X509 *issuer);

/* The two certificates carry the same subject public key (bit string
 * compared whole). */
int asps_x509_same_key(X509 *a, X509 *b);

/* One DER CRL, all of it and nothing after it; NULL when it does not
 * decode. The caller frees it. */
X509_CRL *asps_x509_crl_decode(const uint8_t *der, size_t len);

/* ISSUER's key (asps_x509_key) verifies CRL's signature. */
int asps_x509_crl_signed_by(X509_CRL *crl, X509 *issuer);

/* CRL lists CERT's serial number. */
int asps_x509_revoked(X509_CRL *crl, X509 *cert);

/* A raw r||s ECDSA P-256 signature (64 bytes, as in DCAP quotes and signed
 * collateral) over MSG with SHA-256 verifies with PK. */
int asps_x509_ecdsa_verify_raw(EVP_PKEY *pk, const uint8_t sig[64], const uint8_t *msg,
                               size_t len);

/* CERT's signature checked with K (an RA-TLS certificate's own key: its
 * self-signature): 1 if it verifies, 0 if not or K is NULL. Counted in
 * asps_x509_verifies. */
int asps_x509_verify_with(X509 *cert, EVP_PKEY *k);

/* How many signature checks (asps_x509_signed_by, _crl_signed_by,
 * _ecdsa_verify_raw, _verify_with: each one ECDSA verify, or RSA for an
 * RSA self-signed RA-TLS certificate) this thread has started since
 * it began; the difference across a call is that call's count. For tests
 * and benchmarks (bench_verify prints it). */
uint64_t asps_x509_verifies(void);

/* A certificate the caller already holds that is byte-identical to DER
 * (not a new reference), or NULL. */
typedef X509 *(*asps_x509_lookup)(void *ctx, const uint8_t *der, size_t len);

/* The CERTIFICATE blocks of PEM text PEM[0..LEN) into OUT (at most MAX, new
 * references), P-256 keys attached (ASPS_X509_P256). A block that LOOKUP
 * (when given) finds is taken as that object instead of being decoded
 * again, so callers can tell "the same certificate" by pointer. Reading
 * stops at the first block that is not a certificate or does not decode.
 * Returns the number read (0: none); free them with asps_x509_chain_free. */
int asps_x509_pem_chain(const char *pem, size_t len, asps_x509_lookup lookup, void *ctx,
                        X509 **out, int max);
void asps_x509_chain_free(X509 **c, int n);

#endif
