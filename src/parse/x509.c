/* x509.c: decoding untrusted X.509 certificates, and the general PKI
 * helpers over them (x509.h: names, signatures, PEM chains, CRLs, dates).
 *
 * OpenSSL 3.0's d2i_X509 decodes the subject key through its generic decoder
 * framework, which builds and tears down a decoder context on every call:
 * about 80% of a certificate decode, a fifth of a cold quote verification
 * and a third of an RA-TLS certificate check. (OpenSSL 3.1+ caches that
 * context; Debian 12 ships 3.0.) Certificates are therefore decoded by
 * OpenSSL's own X.509 decoder in a library context that has no providers,
 * so the key is left undecoded. A P-256 key (every key in Intel's PKI, and
 * asps' RA-TLS keys) is then imported by the EC key manager from its point
 * bytes; any other key, when the caller accepts one, goes through OpenSSL's
 * decoder as before. The key is attached to the certificate as ex_data.
 * Signatures are checked with it by X509_verify / X509_CRL_verify, which
 * fetch their algorithms from the key's provider; should a later OpenSSL
 * not do so, every signature check fails: the change fails closed. */
#include "x509.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "util.h"

static OSSL_LIB_CTX *structure_ctx; /* no providers: structure only */
static int cert_key_idx = -1;       /* X509 ex_data slot holding the EVP_PKEY */
static EVP_PKEY *p256_params;       /* the P-256 curve, no key */
/* the curves RA-TLS keys may be on (P-256, P-384, P-521), built once, only
 * read after: asps_x509_ec_point_ok */
static const int ec_nids[3] = {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1};
static EC_GROUP *ec_groups[3];
static pthread_once_t decode_once = PTHREAD_ONCE_INIT;

static void cert_key_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    EVP_PKEY_free(ptr);
}

static void decode_init(void)
{
    OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
    /* Loading the null provider stops OpenSSL from loading the default
     * provider into this context on first use. */
    if (ctx && !OSSL_PROVIDER_load(ctx, "null")) {
        OSSL_LIB_CTX_free(ctx);
        ctx = NULL;
    }
    structure_ctx = ctx;
    cert_key_idx = X509_get_ex_new_index(0, NULL, NULL, NULL, cert_key_free);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!pctx || EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, &p256_params, EVP_PKEY_KEY_PARAMETERS, params) <= 0)
        p256_params = NULL;
    EVP_PKEY_CTX_free(pctx);
    for (int i = 0; i < 3; i++)
        ec_groups[i] = EC_GROUP_new_by_curve_name(ec_nids[i]);
    ERR_clear_error();
}

/* SEC 1 2.3.3: an uncompressed (04 X Y) or compressed (02/03 X) point of
 * a curve whose field elements take FB bytes. Not the point at infinity
 * (a single 00 byte): with it as the key, ECDSA's check sees only u1*G,
 * and anyone can sign (r = x(kG), s = e/k); OpenSSL 3.0 imports it. Not
 * the hybrid form (06/07), which no producer writes. */
static int point_form_ok(const uint8_t *pt, size_t len, size_t fb)
{
    return len > 0 && ((pt[0] == 0x04 && len == 1 + 2 * fb) ||
                       ((pt[0] == 0x02 || pt[0] == 0x03) && len == 1 + fb));
}

/* A copy of a parameters-only P-256 key (the curve is built once per
 * process; building it is most of the cost of importing a key) given the
 * point, which the EC key manager refuses when it is not on the curve. */
EVP_PKEY *asps_x509_p256_key(const uint8_t *point, size_t len)
{
    pthread_once(&decode_once, decode_init);
    if (!point || !point_form_ok(point, len, 32))
        return NULL;
    EVP_PKEY *pk = p256_params ? EVP_PKEY_dup(p256_params) : NULL;
    if (pk && EVP_PKEY_set1_encoded_public_key(pk, point, len) != 1) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    ERR_clear_error();
    return pk;
}

/* The subject key: a P-256 key imported from its point; any other key
 * through OpenSSL's decoder when `keys` allows it; otherwise NULL. */
static EVP_PKEY *subject_key(X509 *x, asps_x509_keys keys);

EVP_PKEY *asps_x509_import_key(X509 *x, asps_x509_keys keys)
{
    pthread_once(&decode_once, decode_init);
    return keys == ASPS_X509_NO_KEY ? NULL : subject_key(x, keys);
}

int asps_x509_ec_point_ok(X509 *x)
{
    pthread_once(&decode_once, decode_init);
    int nid = asps_x509_ec_named_curve(x);
    const EC_GROUP *g = NULL;
    for (int i = 0; i < 3; i++)
        if (nid == ec_nids[i])
            g = ec_groups[i];
    const unsigned char *pt;
    int pt_len;
    X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
    if (!g || !pub || !X509_PUBKEY_get0_param(NULL, &pt, &pt_len, NULL, pub) || pt_len <= 0 ||
        !point_form_ok(pt, (size_t)pt_len, (size_t)(EC_GROUP_get_degree(g) + 7) / 8))
        return NID_undef;
    /* decoded against the curve (OpenSSL refuses a point not on it), not
     * imported as a key: no key object, no copy of the curve */
    EC_POINT *q = EC_POINT_new(g);
    int ok = q && EC_POINT_oct2point(g, q, pt, (size_t)pt_len, NULL) == 1 &&
             !EC_POINT_is_at_infinity(g, q);
    EC_POINT_free(q);
    ERR_clear_error();
    return ok ? nid : NID_undef;
}

int asps_x509_ec_named_curve(X509 *x)
{
    ASN1_OBJECT *alg;
    const unsigned char *pt;
    int pt_len, ptype;
    X509_ALGOR *algor;
    const void *pval;
    X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
    if (!pub || !X509_PUBKEY_get0_param(&alg, &pt, &pt_len, &algor, pub) || pt_len <= 0 ||
        OBJ_obj2nid(alg) != NID_X9_62_id_ecPublicKey)
        return NID_undef;
    X509_ALGOR_get0(NULL, &ptype, &pval, algor);
    return ptype == V_ASN1_OBJECT ? OBJ_obj2nid(pval) : NID_undef;
}

static EVP_PKEY *subject_key(X509 *x, asps_x509_keys keys)
{
    const unsigned char *pt;
    int pt_len;
    X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
    if (!pub || !X509_PUBKEY_get0_param(NULL, &pt, &pt_len, NULL, pub))
        return NULL;
    if (asps_x509_ec_named_curve(x) == NID_X9_62_prime256v1)
        return asps_x509_p256_key(pt, (size_t)pt_len);
    if (keys != ASPS_X509_ANY_KEY)
        return NULL;
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(pub, &der);
    const unsigned char *p = der;
    EVP_PKEY *k = n > 0 ? d2i_PUBKEY(NULL, &p, n) : NULL;
    if (k && p != der + n) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    OPENSSL_free(der);
    ERR_clear_error();
    return k;
}

X509 *asps_x509_decode(const uint8_t *der, size_t len, asps_x509_keys keys)
{
    pthread_once(&decode_once, decode_init);
    if (!structure_ctx || cert_key_idx < 0 || len == 0 || len > INT32_MAX)
        return NULL;
    X509 *x = X509_new_ex(structure_ctx, NULL);
    const unsigned char *p = der;
    if (!x || !d2i_X509(&x, &p, (long)len) || p != der + len) {
        X509_free(x); /* d2i_X509 freed and cleared it on failure */
        ERR_clear_error();
        return NULL;
    }
    EVP_PKEY *k = keys == ASPS_X509_NO_KEY ? NULL : subject_key(x, keys);
    if (k && !X509_set_ex_data(x, cert_key_idx, k)) {
        EVP_PKEY_free(k);
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    return x;
}

X509 *asps_x509_read_pem(BIO *b, asps_x509_keys keys)
{
    uint8_t *der;
    size_t dlen;
    if (!asps_pem_next_cert_der(b, &der, &dlen))
        return NULL;
    X509 *x = asps_x509_decode(der, dlen, keys);
    OPENSSL_free(der);
    return x;
}

EVP_PKEY *asps_x509_key(X509 *x)
{
    EVP_PKEY *k = cert_key_idx >= 0 ? X509_get_ex_data(x, cert_key_idx) : NULL;
    if (!k) {
        k = X509_get0_pubkey(x); /* decoded by OpenSSL itself (a trusted root) */
        ERR_clear_error();
    }
    return k;
}

/* ---- PKI helpers (moved from dcap.c: see x509.h) ------------------------- */

int64_t asps_x509_time_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return INT64_MIN;
    return (int64_t)timegm(&tm);
}

int asps_x509_validity(X509 *c, int64_t *not_before, int64_t *not_after)
{
    *not_before = asps_x509_time_unix(X509_get0_notBefore(c));
    *not_after = asps_x509_time_unix(X509_get0_notAfter(c));
    return *not_before != INT64_MIN && *not_after != INT64_MIN;
}

int asps_x509_crl_dates(X509_CRL *c, int64_t *this_update, int64_t *next_update)
{
    *this_update = asps_x509_time_unix(X509_CRL_get0_lastUpdate(c));
    *next_update = asps_x509_time_unix(X509_CRL_get0_nextUpdate(c));
    return *this_update != INT64_MIN && *next_update != INT64_MIN;
}

int asps_x509_cn_contains(const X509_NAME *name, const char *phrase)
{
    char cn[256];
    int n = X509_NAME_get_text_by_NID((X509_NAME *)name, NID_commonName, cn, sizeof cn);
    return n > 0 && strstr(cn, phrase) != NULL;
}

int asps_x509_self_issued(X509 *c)
{
    return X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)) == 0;
}

/* Signature checks done by this thread (asps_x509_verifies): a counter, not
 * a clock, so tests and benchmarks can tell how many ECDSA verifies a
 * verification costs. Thread-local: no sharing, no atomics. */
static _Thread_local uint64_t verifies;

uint64_t asps_x509_verifies(void)
{
    return verifies;
}

int asps_x509_signed_by(X509 *cert, X509 *issuer)
{
    if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0)
        return 0;
    if (X509_get_signature_nid(cert) != NID_ecdsa_with_SHA256)
        return 0;
    EVP_PKEY *k = asps_x509_key(issuer);
    verifies += k != NULL;
    int ok = k && X509_verify(cert, k) == 1;
    ERR_clear_error();
    return ok;
}

int asps_x509_verify_with(X509 *cert, EVP_PKEY *k)
{
    verifies += k != NULL;
    int ok = k && X509_verify(cert, k) == 1;
    ERR_clear_error();
    return ok;
}

int asps_x509_same_key(X509 *a, X509 *b)
{
    const ASN1_BIT_STRING *ka = X509_get0_pubkey_bitstr(a), *kb = X509_get0_pubkey_bitstr(b);
    return ka && kb && ka->length == kb->length && ka->length > 0 &&
           CRYPTO_memcmp(ka->data, kb->data, (size_t)ka->length) == 0;
}

X509_CRL *asps_x509_crl_decode(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    if (crl && p != der + len) {
        X509_CRL_free(crl);
        crl = NULL;
    }
    ERR_clear_error();
    return crl;
}

int asps_x509_crl_signed_by(X509_CRL *crl, X509 *issuer)
{
    EVP_PKEY *k = asps_x509_key(issuer);
    verifies += k != NULL;
    int ok = k && X509_CRL_verify(crl, k) == 1;
    ERR_clear_error();
    return ok;
}

int asps_x509_revoked(X509_CRL *crl, X509 *cert)
{
    X509_REVOKED *rev = NULL;
    return X509_CRL_get0_by_serial(crl, &rev, (ASN1_INTEGER *)X509_get0_serialNumber(cert)) == 1;
}

int asps_x509_ecdsa_verify_raw(EVP_PKEY *pk, const uint8_t sig[64], const uint8_t *msg,
                               size_t len)
{
    int ok = 0;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *sv = BN_bin2bn(sig + 32, 32, NULL);
    uint8_t *der = NULL;
    EVP_MD_CTX *md = NULL;
    if (!s || !r || !sv || !ECDSA_SIG_set0(s, r, sv)) {
        BN_free(r);
        BN_free(sv);
        goto out;
    }
    int dlen = i2d_ECDSA_SIG(s, &der);
    md = EVP_MD_CTX_new();
    if (dlen <= 0 || !md || EVP_DigestVerifyInit(md, NULL, asps_sha256_md(), NULL, pk) != 1)
        goto out;
    verifies++;
    ok = EVP_DigestVerify(md, der, (size_t)dlen, msg, len) == 1;
out:
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

int asps_x509_pem_chain(const char *pem, size_t len, asps_x509_lookup lookup, void *ctx,
                        X509 **out, int max)
{
    int n = 0;
    if (len > INT32_MAX)
        return 0;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b)
        return 0;
    uint8_t *der = NULL;
    size_t dlen = 0;
    /* a block that is not a certificate, or one that does not decode, ends
     * the chain: the caller refuses what is short */
    while (n < max && asps_pem_next_cert_der(b, &der, &dlen)) {
        X509 *x = lookup ? lookup(ctx, der, dlen) : NULL;
        if (x)
            X509_up_ref(x);
        else
            x = asps_x509_decode(der, dlen, ASPS_X509_P256);
        OPENSSL_free(der);
        der = NULL;
        if (!x)
            break;
        out[n++] = x;
    }
    ERR_clear_error();
    BIO_free(b);
    return n;
}

void asps_x509_chain_free(X509 **c, int n)
{
    for (int i = 0; i < n; i++)
        X509_free(c[i]);
}
