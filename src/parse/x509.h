/* x509.h: decoding untrusted X.509 certificates (quotes, collateral, RA-TLS
 * certificates) without OpenSSL 3.0's per-call key decoder. Internal. */
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

/* A P-256 public key from a SEC1 point; NULL when the point is not on the
 * curve. The caller frees it. */
EVP_PKEY *asps_x509_p256_key(const uint8_t *point, size_t len);

#endif
