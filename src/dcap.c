/* dcap.c: DCAP quote verification, the checks of Intel's Quote Verification
 * Library (QVL) in its order:
 *   collateral: issuer chains to a trusted root, root CA CRL and PCK CRL
 *     (issuer, required extensions, signature), TCB signing certificate not
 *     revoked, TCB info and QE identity signatures over their exact bytes;
 *   quote: PCK chain (roles, signatures, trusted root, same anchor as the
 *     collateral), revocation of the PCK CA and the PCK certificate, validity
 *     of every certificate, CRL, TCB info and QE identity at the given time,
 *     TCB info for this TEE/FMSPC/PCE ID, TDX module identity, QE report
 *     signature by the PCK key, QE report data binding the attestation key,
 *     QE identity (MRSIGNER, ISVPRODID, masked MISCSELECT/ATTRIBUTES, ISVSVN),
 *     quote signature by the attestation key, TCB level and final status.
 * Trusts: Intel's root by its key (any issue of the Intel SGX Root CA
 * certificate, self-signed and valid, as QvE does), and the roots the caller
 * installed as those exact certificates. Every certificate of every chain
 * must carry QVL's five required extensions (CRL distribution points
 * included). Caches: collateral whose
 * signatures verified (by digest) and PCK chains whose signatures verified
 * (by exact bytes); times, revocation and everything per quote are checked on
 * every call.
 */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/verify.h"
#include "collateral_int.h"
#include "dcap_int.h"
#include "quote.h"
#include "util.h"
#include "x509.h"

#define MAX_ROOTS 8
#define COL_CACHE 16
#define CHAIN_CACHE 64
#define MAX_CHAIN_CERTS 8

static const uint8_t INTEL_QE_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

/* A trust anchor. A root named by the caller (--root-ca, the simulated
 * platform, config) is trusted as that exact certificate. Intel's is
 * trusted by its key, as QvE trusts it: any self-issued, self-signed
 * "SGX Root CA" certificate whose public key is the Intel SGX Root CA key
 * (qve.cpp, sgx_qve_verify_quote: the PCK chain's root must carry
 * INTEL_ROOT_PUB_KEY; QVL CommonVerifier::verifyRootCACert: self-issued and
 * self-signed), valid at the verification time. Intel issued that
 * certificate twice (2018-2033 and 2018-2049, same subject and key);
 * platforms provisioned before the reissue still carry the first. */
typedef struct trust_root {
    X509 *cert;
    uint8_t *der;
    int der_len;
    int intel;                 /* trusted by key: cert is the built-in issue */
} trust_root;

/* A time window that must contain the verification time. */
typedef struct window {
    int64_t not_before, not_after;
    asps_err code;
    const char *what;
} window;

typedef struct vcol {
    int used;
    uint64_t stamp;
    uint8_t digest[32];
    int root;                  /* index into roots */
    X509_CRL *root_crl, *pck_crl;
    X509 *pck_ca;              /* issuer of the PCK CRL */
    X509 *tcb_signer;
    X509 *root_cert;           /* the TCB info issuer chain's root */
    asps_tcb_info tcb;
    asps_qe_identity qe;
    window win[12];
    int n_win;
} vcol;

typedef struct vchain {
    int used;
    uint64_t stamp;
    uint8_t digest[32];
    int root;
    X509 *leaf, *ca;
    EVP_PKEY *leaf_key;        /* owned via leaf; not freed separately */
    asps_pck_ext ext;
    window win[3];
} vchain;

struct asps_verifier {
    trust_root roots[MAX_ROOTS];
    int n_roots;
    int cache_on;
    uint64_t clock;
    vcol cols[COL_CACHE];
    vchain chains[CHAIN_CACHE];
};

/* ---- small OpenSSL helpers ------------------------------------------------ */

int64_t asps_asn1_time_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return INT64_MIN;
    return (int64_t)timegm(&tm);
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* Certificates from quotes and collateral are decoded by x509.c (structure
 * without OpenSSL 3.0's per-call key decoder; P-256 keys only, the one key
 * type of Intel's PKI: a certificate with any other key has none, and no
 * check here accepts it). */

static int cert_der_equal(X509 *a, const trust_root *r)
{
    uint8_t *der = NULL;
    int n = i2d_X509(a, &der);
    int eq = n > 0 && n == r->der_len && CRYPTO_memcmp(der, r->der, (size_t)n) == 0;
    OPENSSL_free(der);
    return eq;
}

/* The common name of a subject or issuer name, for role checks. */
static int cn_contains(const X509_NAME *name, const char *phrase)
{
    char cn[256];
    int n = X509_NAME_get_text_by_NID((X509_NAME *)name, NID_commonName, cn, sizeof cn);
    return n > 0 && strstr(cn, phrase) != NULL;
}

static int is_self_issued(X509 *c)
{
    return X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)) == 0;
}

/* issuer signed cert: names chain and the ECDSA-SHA256 signature verifies. */
static int signed_by(X509 *cert, X509 *issuer)
{
    if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0)
        return 0;
    if (X509_get_signature_nid(cert) != NID_ecdsa_with_SHA256)
        return 0;
    EVP_PKEY *k = asps_x509_key(issuer);
    int ok = k && X509_verify(cert, k) == 1;
    ERR_clear_error();
    return ok;
}

/* The extensions Intel's QVL requires on every certificate it reads
 * (AttestationParsers X509Constants.h REQUIRED_X509_EXTENSIONS, checked by
 * x509::Certificate's constructor in Certificate.cpp, setExtensions; the
 * CRL distribution points once more in setCrlDistributionPoint). QvE reads
 * through that constructor every certificate of the quote's PCK chain and of
 * the TCB info, QE identity and PCK CRL issuer chains (CertificateChain::
 * parse, from sgx_qve_verify_quote and qve_get_collateral_dates), and refuses
 * the quote when one lacks any of them. Presence is all QVL checks: it keeps
 * the CRL distribution point's printed text and never reads the URI, so
 * neither does asps (no CRL is fetched from it; CRLs come with the
 * collateral).
 *
 * The rule is Intel's certificate profile, so asps holds to it the chains
 * whose root carries Intel's root key, the only ones QVL can judge (checked
 * before the root's signature, as QVL parses before it trusts). A chain under a
 * root the operator named (--root-ca, trust.roots, a simulated platform) is
 * that operator's PKI: its profile is theirs, and simulated folders made
 * before the simulated PKI carried these extensions keep verifying. The
 * simulated PKI writes them anyway, as Intel's certificates carry them
 * (test_sim compares the two). */
static const struct {
    int nid;
    const char *name;
} REQUIRED_EXTENSIONS[] = {
    {NID_authority_key_identifier, "Authority Key Identifier"},
    {NID_crl_distribution_points, "CRL Distribution Points"},
    {NID_subject_key_identifier, "Subject Key Identifier"},
    {NID_key_usage, "Key Usage"},
    {NID_basic_constraints, "Basic Constraints"},
};

static asps_err required_extensions(X509 *c, const char *what, asps_errbuf *eb)
{
    for (size_t i = 0; i < sizeof REQUIRED_EXTENSIONS / sizeof REQUIRED_EXTENSIONS[0]; i++)
        if (X509_get_ext_by_NID(c, REQUIRED_EXTENSIONS[i].nid, -1) < 0)
            return asps_fail(eb, ASPS_E_CHAIN,
                             "%s lacks the %s extension (Intel's QVL requires it on every "
                             "certificate of the PCK and collateral chains)",
                             what, REQUIRED_EXTENSIONS[i].name);
    return ASPS_OK;
}

static int crl_signed_by(X509_CRL *crl, X509 *issuer)
{
    EVP_PKEY *k = asps_x509_key(issuer);
    int ok = k && X509_CRL_verify(crl, k) == 1;
    ERR_clear_error();
    return ok;
}

static int revoked(X509_CRL *crl, X509 *cert)
{
    X509_REVOKED *rev = NULL;
    return X509_CRL_get0_by_serial(crl, &rev, (ASN1_INTEGER *)X509_get0_serialNumber(cert)) == 1;
}

/* Parse up to MAX_CHAIN_CERTS PEM certificates. A certificate byte-identical
 * to a trusted root or to one of `known` (already verified in this run) is
 * taken as that object instead of being decoded again, so callers can tell
 * "the same certificate" by pointer. */
static int parse_pem_chain(const asps_verifier *v, const char *pem, size_t len, X509 *const *known,
                           int n_known, X509 **out, int *n)
{
    *n = 0;
    if (len > INT32_MAX)
        return 0;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b)
        return 0;
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long dlen = 0;
    while (*n < MAX_CHAIN_CERTS && PEM_read_bio(b, &name, &header, &der, &dlen) == 1) {
        X509 *x = NULL;
        if (!strcmp(name, PEM_STRING_X509) && dlen > 0) {
            for (int i = 0; v && i < v->n_roots && !x; i++)
                if (dlen == v->roots[i].der_len && !memcmp(der, v->roots[i].der, (size_t)dlen))
                    x = v->roots[i].cert;
            for (int i = 0; i < n_known && !x; i++) {
                uint8_t *kd = NULL;
                int kl = known[i] ? i2d_X509(known[i], &kd) : -1;
                if (kl == dlen && !memcmp(der, kd, (size_t)dlen))
                    x = known[i];
                OPENSSL_free(kd);
            }
            if (x) {
                X509_up_ref(x);
            } else {
                x = asps_x509_decode(der, (size_t)dlen, ASPS_X509_P256);
            }
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        name = header = NULL;
        der = NULL;
        if (!x)
            break; /* not a certificate, or undecodable: the chain is refused */
        out[(*n)++] = x;
    }
    ERR_clear_error();
    BIO_free(b);
    return *n > 0;
}

static void free_chain(X509 **c, int n)
{
    for (int i = 0; i < n; i++)
        X509_free(c[i]);
}

static int same_key(X509 *a, X509 *b)
{
    const ASN1_BIT_STRING *ka = X509_get0_pubkey_bitstr(a), *kb = X509_get0_pubkey_bitstr(b);
    return ka && kb && ka->length == kb->length && ka->length > 0 &&
           CRYPTO_memcmp(ka->data, kb->data, (size_t)ka->length) == 0;
}

/* Does CERT carry the Intel SGX Root CA key (whatever else it is)? */
static int intel_key(const asps_verifier *v, X509 *cert)
{
    for (int i = 0; i < v->n_roots; i++)
        if (v->roots[i].intel && same_key(cert, v->roots[i].cert))
            return 1;
    return 0;
}

/* The trust anchor a chain's self-issued certificate stands for, or -1.
 * First a root byte-identical to an installed one (whose self-signature was
 * checked when it was installed); then, for Intel's root, any issue with its
 * key whose self-signature verifies (see trust_root). Its validity at the
 * verification time is checked with the chain's other windows. */
static int find_root(const asps_verifier *v, X509 *cert)
{
    for (int i = 0; i < v->n_roots; i++)
        if (cert_der_equal(cert, &v->roots[i]))
            return i;
    for (int i = 0; i < v->n_roots; i++)
        if (v->roots[i].intel && is_self_issued(cert) &&
            cn_contains(X509_get_subject_name(cert), "SGX Root CA") &&
            same_key(cert, v->roots[i].cert) && signed_by(cert, cert))
            return i;
    return -1;
}

static EVP_PKEY *raw_p256_key(const uint8_t xy[64])
{
    uint8_t pub[65];
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, xy, 64);
    return asps_x509_p256_key(pub, sizeof pub);
}

/* Verify a raw r||s ECDSA P-256 signature over msg with SHA-256. */
static int ecdsa_verify_raw(EVP_PKEY *pk, const uint8_t sig[64], const uint8_t *msg, size_t len)
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
    if (dlen <= 0 || !md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1)
        goto out;
    ok = EVP_DigestVerify(md, der, (size_t)dlen, msg, len) == 1;
out:
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

static int cert_window(X509 *c, window *w, asps_err code, const char *what)
{
    w->not_before = asps_asn1_time_unix(X509_get0_notBefore(c));
    w->not_after = asps_asn1_time_unix(X509_get0_notAfter(c));
    w->code = code;
    w->what = what;
    return w->not_before != INT64_MIN && w->not_after != INT64_MIN;
}

static int crl_window(X509_CRL *c, window *w, const char *what)
{
    w->not_before = asps_asn1_time_unix(X509_CRL_get0_lastUpdate(c));
    w->not_after = asps_asn1_time_unix(X509_CRL_get0_nextUpdate(c));
    w->code = ASPS_E_CRL_EXPIRED;
    w->what = what;
    return w->not_before != INT64_MIN && w->not_after != INT64_MIN;
}

static asps_err check_windows(const window *w, int n, int64_t at, int64_t *expiry,
                              asps_errbuf *eb)
{
    for (int i = 0; i < n; i++) {
        if (at < w[i].not_before || at > w[i].not_after) {
            char a[32], b[32], c[32];
            asps_time_format(at, a);
            asps_time_format(w[i].not_before, b);
            asps_time_format(w[i].not_after, c);
            return asps_fail(eb, w[i].code, "%s is not valid at %s (valid %s to %s)", w[i].what, a,
                             b, c);
        }
        if (w[i].not_after < *expiry)
            *expiry = w[i].not_after;
    }
    return ASPS_OK;
}

/* ---- verifier lifecycle ----------------------------------------------------- */

static void vcol_clear(vcol *c)
{
    X509_CRL_free(c->root_crl);
    X509_CRL_free(c->pck_crl);
    X509_free(c->pck_ca);
    X509_free(c->tcb_signer);
    X509_free(c->root_cert);
    asps_dcap_tcb_info_clear(&c->tcb);
    asps_dcap_qe_identity_clear(&c->qe);
    memset(c, 0, sizeof *c);
}

static void vchain_clear(vchain *c)
{
    X509_free(c->leaf);
    X509_free(c->ca);
    memset(c, 0, sizeof *c);
}

static void flush_caches(asps_verifier *v)
{
    for (int i = 0; i < COL_CACHE; i++)
        if (v->cols[i].used)
            vcol_clear(&v->cols[i]);
    for (int i = 0; i < CHAIN_CACHE; i++)
        if (v->chains[i].used)
            vchain_clear(&v->chains[i]);
}

static asps_err add_root(asps_verifier *v, const uint8_t *buf, size_t len, int intel,
                         asps_errbuf *eb)
{
    if (v->n_roots == MAX_ROOTS)
        return asps_fail(eb, ASPS_E_LIMIT, "verifier: at most %d trusted roots", MAX_ROOTS);
    if (len > 65536)
        return asps_fail(eb, ASPS_E_LIMIT, "verifier: root certificate too large");
    const unsigned char *p = buf;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x || p != buf + len) {
        X509_free(x);
        x = NULL;
        BIO *b = BIO_new_mem_buf(buf, (int)len);
        if (b)
            x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
    }
    ERR_clear_error();
    if (!x)
        return asps_fail(eb, ASPS_E_PARSE, "verifier: root CA is not a DER or PEM certificate");
    if (!is_self_issued(x) || !signed_by(x, x)) {
        X509_free(x);
        return asps_fail(eb, ASPS_E_CHAIN, "verifier: root CA is not self-signed with ECDSA-SHA256");
    }
    trust_root *r = &v->roots[v->n_roots];
    r->der = NULL;
    r->der_len = i2d_X509(x, &r->der);
    if (r->der_len <= 0) {
        X509_free(x);
        return asps_fail(eb, ASPS_E_INTERNAL, "verifier: cannot encode root");
    }
    r->cert = x;
    r->intel = intel;
    v->n_roots++;
    flush_caches(v);
    return ASPS_OK;
}

/* The built-in Intel root, decoded once per process: it is a constant, and
 * decoding a certificate's key is costly with OpenSSL 3. */
static X509 *intel_root;
static pthread_once_t intel_root_once = PTHREAD_ONCE_INIT;

static void intel_root_init(void)
{
    size_t len;
    const uint8_t *der = asps_intel_root_ca_der(&len);
    const unsigned char *p = der;
    intel_root = d2i_X509(NULL, &p, (long)len);
    /* checked once, as an installed root is: a byte-identical root in a
     * chain is then taken without a second signature check */
    if (intel_root && (!is_self_issued(intel_root) || !signed_by(intel_root, intel_root))) {
        X509_free(intel_root);
        intel_root = NULL;
    }
    ERR_clear_error();
}

asps_err asps_verifier_new(asps_verifier **out, asps_errbuf *eb)
{
    *out = NULL;
    pthread_once(&intel_root_once, intel_root_init);
    if (!intel_root)
        return asps_fail(eb, ASPS_E_INTERNAL, "verifier: built-in Intel root does not decode");
    asps_verifier *v = calloc(1, sizeof *v);
    if (!v)
        return asps_fail(eb, ASPS_E_NOMEM, "verifier: out of memory");
    v->cache_on = 1;
    trust_root *r = &v->roots[0];
    r->der = NULL;
    r->der_len = i2d_X509(intel_root, &r->der);
    if (r->der_len <= 0) {
        free(v);
        return asps_fail(eb, ASPS_E_INTERNAL, "verifier: cannot encode the Intel root");
    }
    X509_up_ref(intel_root);
    r->cert = intel_root;
    r->intel = 1;
    v->n_roots = 1;
    *out = v;
    return ASPS_OK;
}

void asps_verifier_free(asps_verifier *v)
{
    if (!v)
        return;
    flush_caches(v);
    for (int i = 0; i < v->n_roots; i++) {
        X509_free(v->roots[i].cert);
        OPENSSL_free(v->roots[i].der);
    }
    free(v);
}

asps_err asps_verifier_add_root(asps_verifier *v, const uint8_t *cert, size_t len, asps_errbuf *eb)
{
    return add_root(v, cert, len, 0, eb);
}

asps_err asps_verifier_add_root_file(asps_verifier *v, const char *path, asps_errbuf *eb)
{
    uint8_t *b;
    size_t n;
    ASPS_TRY(asps_read_file(path, 65536, &b, &n, eb));
    asps_err e = asps_verifier_add_root(v, b, n, eb);
    free(b);
    if (e != ASPS_OK)
        asps_err_prefix(eb, ": ");
    if (e != ASPS_OK)
        asps_err_prefix(eb, path);
    return e;
}

void asps_verifier_drop_intel_root(asps_verifier *v)
{
    for (int i = 0; i < v->n_roots; i++)
        if (v->roots[i].intel) {
            X509_free(v->roots[i].cert);
            OPENSSL_free(v->roots[i].der);
            memmove(&v->roots[i], &v->roots[i + 1], (size_t)(v->n_roots - i - 1) * sizeof v->roots[0]);
            v->n_roots--;
            i--;
        }
    flush_caches(v);
}

void asps_verifier_set_cache(asps_verifier *v, int on)
{
    v->cache_on = on;
    flush_caches(v);
}

/* ---- collateral ------------------------------------------------------------- */

/* An issuer chain from the collateral: 2 certificates, the self-issued one
 * a trusted root, the other (named WHAT_LEAF in errors) signed by it; both
 * with QVL's required extensions and their validity windows recorded.
 * Returns the non-root certificate, the root (when ROOT_OUT is given) and
 * the root's anchor index. */
static asps_err collateral_chain(asps_verifier *v, const char *pem, const char *what,
                                 const char *what_leaf, const char *root_what,
                                 const char *leaf_phrase, X509 *known,
                                 X509 **leaf, X509 **root_out,
                                 int *root_idx, window *win, int *n_win, asps_errbuf *eb)
{
    X509 *c[MAX_CHAIN_CERTS];
    int n;
    if (!parse_pem_chain(v, pem, strlen(pem), &known, 1, c, &n))
        return asps_fail(eb, ASPS_E_PARSE, "%s: no PEM certificate", what);
    asps_err e = ASPS_OK;
    X509 *root = NULL, *other = NULL;
    if (n != 2) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: expected 2 certificates, got %d", what, n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (is_self_issued(c[i]) && !root)
            root = c[i];
        else if (!other)
            other = c[i];
    }
    if (!root || !other) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: no root CA in chain", what);
        goto out;
    }
    if (intel_key(v, root) && ((e = required_extensions(other, what_leaf, eb)) != ASPS_OK ||
                               (e = required_extensions(root, root_what, eb)) != ASPS_OK))
        goto out;
    int idx = find_root(v, root);
    if (idx < 0) {
        e = asps_fail(eb, ASPS_E_ROOT_UNTRUSTED, "%s: chain does not end at a trusted root CA", what);
        goto out;
    }
    if (!cn_contains(X509_get_subject_name(root), "SGX Root CA")) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: root CA name lacks \"SGX Root CA\"", what);
        goto out;
    }
    if (!cn_contains(X509_get_subject_name(other), leaf_phrase)) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: certificate is not an \"%s\"", what, leaf_phrase);
        goto out;
    }
    /* Byte-identical to a certificate this verification already checked?
     * (parse_pem_chain then hands back that very object.) */
    if (!(known && other == known) && !signed_by(other, root)) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: certificate not signed by the root CA", what);
        goto out;
    }
    if (*root_idx >= 0 && *root_idx != idx) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: chains end at different roots", what);
        goto out;
    }
    *root_idx = idx;
    if (!cert_window(other, &win[(*n_win)++], ASPS_E_CERT_EXPIRED, what) ||
        !cert_window(root, &win[(*n_win)++], ASPS_E_CERT_EXPIRED, root_what)) {
        e = asps_fail(eb, ASPS_E_PARSE, "%s: unreadable validity", what);
        goto out;
    }
    X509_up_ref(other);
    *leaf = other;
    if (root_out) {
        X509_up_ref(root);
        *root_out = root;
    }
out:
    free_chain(c, n);
    return e;
}

static X509_CRL *parse_crl(const uint8_t *der, size_t len)
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

/* QVL's PckCrlVerifier::verify: issuer is the CA, the CRL carries CRL number
 * and authority key identifier, and the CA signed it. */
static asps_err check_crl(X509_CRL *crl, X509 *ca, const char *what, asps_errbuf *eb)
{
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0)
        return asps_fail(eb, ASPS_E_CRL_ISSUER, "%s: issuer is not the expected CA", what);
    if (X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1) < 0 ||
        X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier, -1) < 0)
        return asps_fail(eb, ASPS_E_CRL_ISSUER,
                         "%s: missing CRL number or authority key identifier", what);
    if (!crl_signed_by(crl, ca))
        return asps_fail(eb, ASPS_E_CRL_SIGNATURE, "%s: signature does not verify", what);
    return ASPS_OK;
}

static asps_err verify_collateral(asps_verifier *v, const asps_collateral *col, vcol *c,
                                  asps_errbuf *eb)
{
    int root = -1;
    memcpy(c->digest, col->digest, 32);
    ASPS_TRY(collateral_chain(v, col->tcb_info_issuer_chain, "TCB info issuer chain",
                              "TCB info issuer chain: TCB signing certificate",
                              "TCB info issuer chain root CA", "SGX TCB Signing", NULL,
                              &c->tcb_signer, &c->root_cert, &root, c->win, &c->n_win, eb));
    X509 *qe_signer = NULL;
    if (strcmp(col->qe_identity_issuer_chain, col->tcb_info_issuer_chain) == 0) {
        /* The same text (as PCS and PCCS send it) checks out the same: the
         * chain just verified. */
        X509_up_ref(c->tcb_signer);
        qe_signer = c->tcb_signer;
    } else {
        asps_err e = collateral_chain(v, col->qe_identity_issuer_chain, "QE identity issuer chain",
                                      "QE identity issuer chain: TCB signing certificate",
                                      "QE identity issuer chain root CA", "SGX TCB Signing",
                                      c->tcb_signer, &qe_signer, NULL, &root, c->win, &c->n_win,
                                      eb);
        if (e != ASPS_OK)
            return e;
    }
    /* Intel signs both with the same TCB signing key; require it, so one
     * revocation check and one key serve both. */
    int same = EVP_PKEY_eq(asps_x509_key(qe_signer), asps_x509_key(c->tcb_signer)) == 1;
    X509_free(qe_signer);
    if (!same)
        return asps_fail(eb, ASPS_E_CHAIN,
                         "QE identity issuer chain: signer differs from the TCB info signer");
    ASPS_TRY(collateral_chain(v, col->pck_crl_issuer_chain, "PCK CRL issuer chain",
                              "PCK CRL issuer chain: PCK CA certificate",
                              "PCK CRL issuer chain root CA", "CA",
                              NULL, &c->pck_ca, NULL, &root, c->win, &c->n_win, eb));
    c->root = root;
    /* The root CA CRL is checked against the TCB info chain's root (QVL
     * TCBSigningChain::verify); every issue of a root has the same name and
     * key, so this is the same check for the others. */
    X509 *rootc = c->root_cert;

    c->root_crl = parse_crl(col->root_ca_crl, col->root_ca_crl_len);
    if (!c->root_crl)
        return asps_fail(eb, ASPS_E_PARSE, "root CA CRL: not a DER CRL");
    ASPS_TRY(check_crl(c->root_crl, rootc, "root CA CRL", eb));
    if (!crl_window(c->root_crl, &c->win[c->n_win++], "root CA CRL"))
        return asps_fail(eb, ASPS_E_PARSE, "root CA CRL: unreadable dates");
    c->pck_crl = parse_crl(col->pck_crl, col->pck_crl_len);
    if (!c->pck_crl)
        return asps_fail(eb, ASPS_E_PARSE, "PCK CRL: not a DER CRL");
    if (!cn_contains(X509_CRL_get_issuer(c->pck_crl), "CA"))
        return asps_fail(eb, ASPS_E_CRL_ISSUER, "PCK CRL: issuer is not a CA");
    ASPS_TRY(check_crl(c->pck_crl, c->pck_ca, "PCK CRL", eb));
    if (!crl_window(c->pck_crl, &c->win[c->n_win++], "PCK CRL"))
        return asps_fail(eb, ASPS_E_PARSE, "PCK CRL: unreadable dates");
    if (revoked(c->root_crl, c->tcb_signer))
        return asps_fail(eb, ASPS_E_CERT_REVOKED, "TCB signing certificate is revoked");
    if (revoked(c->root_crl, c->pck_ca))
        return asps_fail(eb, ASPS_E_CERT_REVOKED, "PCK CA certificate is revoked");

    EVP_PKEY *tk = asps_x509_key(c->tcb_signer);
    if (!ecdsa_verify_raw(tk, col->tcb_info_sig, (const uint8_t *)col->tcb_info, col->tcb_info_len))
        return asps_fail(eb, ASPS_E_TCB_INFO_SIGNATURE,
                         "TCB info: signature does not verify with the TCB signing key");
    if (!ecdsa_verify_raw(tk, col->qe_identity_sig, (const uint8_t *)col->qe_identity,
                          col->qe_identity_len))
        return asps_fail(eb, ASPS_E_QE_IDENTITY_SIGNATURE,
                         "QE identity: signature does not verify with the TCB signing key");
    ASPS_TRY(asps_dcap_parse_tcb_info(col->tcb_info, col->tcb_info_len, &c->tcb, eb));
    ASPS_TRY(asps_dcap_parse_qe_identity(col->qe_identity, col->qe_identity_len, &c->qe, eb));
    c->win[c->n_win++] = (window){c->tcb.issue_date, c->tcb.next_update, ASPS_E_TCB_INFO_EXPIRED,
                                  "TCB info"};
    c->win[c->n_win++] = (window){c->qe.issue_date, c->qe.next_update,
                                  ASPS_E_QE_IDENTITY_EXPIRED, "QE identity"};
    return ASPS_OK;
}

static vcol *get_collateral(asps_verifier *v, const asps_collateral *col, vcol *scratch,
                            asps_errbuf *eb, asps_err *e)
{
    if (v->cache_on)
        for (int i = 0; i < COL_CACHE; i++)
            if (v->cols[i].used && memcmp(v->cols[i].digest, col->digest, 32) == 0) {
                v->cols[i].stamp = ++v->clock;
                return &v->cols[i];
            }
    memset(scratch, 0, sizeof *scratch);
    *e = verify_collateral(v, col, scratch, eb);
    if (*e != ASPS_OK) {
        vcol_clear(scratch);
        return NULL;
    }
    scratch->used = 1;
    if (!v->cache_on)
        return scratch;
    int slot = 0;
    for (int i = 0; i < COL_CACHE; i++) {
        if (!v->cols[i].used) {
            slot = i;
            break;
        }
        if (v->cols[i].stamp < v->cols[slot].stamp)
            slot = i;
    }
    vcol_clear(&v->cols[slot]);
    v->cols[slot] = *scratch;
    v->cols[slot].stamp = ++v->clock;
    memset(scratch, 0, sizeof *scratch);
    return &v->cols[slot];
}

/* ---- PCK chain from the quote ---------------------------------------------- */

static asps_err verify_pck_chain(asps_verifier *v, const asps_quote *q, X509 *known_ca,
                                 vchain *ch, asps_errbuf *eb)
{
    X509 *c[MAX_CHAIN_CERTS];
    int n;
    if (!parse_pem_chain(v, (const char *)q->pck_chain, q->pck_chain_len, &known_ca, 1, c, &n))
        return asps_fail(eb, ASPS_E_PARSE, "PCK chain: no PEM certificate in the quote");
    asps_err e = ASPS_OK;
    X509 *root = NULL, *ca = NULL, *leaf = NULL;
    if (n != 3) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain: expected 3 certificates, got %d", n);
        goto out;
    }
    /* roles as QVL's CertificateChain finds them */
    for (int i = 0; i < n; i++) {
        X509_NAME *s = X509_get_subject_name(c[i]);
        if (is_self_issued(c[i]) && cn_contains(s, "SGX Root CA") && !root)
            root = c[i];
        else if (cn_contains(s, "SGX PCK Certificate") && !leaf)
            leaf = c[i];
        else if (!is_self_issued(c[i]) && cn_contains(s, "CA") && !ca)
            ca = c[i];
    }
    if (!root || !ca || !leaf) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain: needs a root CA, a PCK CA and a PCK certificate");
        goto out;
    }
    /* The root must be a trusted one (find_root: an installed certificate,
     * or any issue of Intel's root by its key); a PCK CA identical to the
     * one the collateral's chain proved was signed by that root needs no
     * second check. */
    if (intel_key(v, root) &&
        ((e = required_extensions(leaf, "PCK chain: PCK certificate", eb)) != ASPS_OK ||
         (e = required_extensions(ca, "PCK chain: PCK CA certificate", eb)) != ASPS_OK ||
         (e = required_extensions(root, "PCK chain: root CA certificate", eb)) != ASPS_OK))
        goto out;
    ch->root = find_root(v, root);
    if (ch->root < 0) {
        e = asps_fail(eb, ASPS_E_ROOT_UNTRUSTED, "PCK chain: does not end at a trusted root CA");
        goto out;
    }

    if (!(known_ca && ca == known_ca) && !signed_by(ca, root)) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain: PCK CA not signed by the root CA");
        goto out;
    }
    if (!signed_by(leaf, ca)) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain: PCK certificate not signed by the PCK CA");
        goto out;
    }
    int idx;
    ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    idx = oid ? X509_get_ext_by_OBJ(leaf, oid, -1) : -1;
    int idx2 = idx >= 0 ? X509_get_ext_by_OBJ(leaf, oid, idx) : -1;
    ASN1_OBJECT_free(oid);
    if (idx < 0 || idx2 >= 0) {
        e = asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK certificate: needs exactly one SGX extension");
        goto out;
    }
    ASN1_OCTET_STRING *val = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
    e = asps_dcap_parse_pck_ext(ASN1_STRING_get0_data(val), (size_t)ASN1_STRING_length(val),
                                &ch->ext, eb);
    if (e != ASPS_OK)
        goto out;
    if (!cert_window(root, &ch->win[0], ASPS_E_CERT_EXPIRED, "PCK chain root CA") ||
        !cert_window(ca, &ch->win[1], ASPS_E_CERT_EXPIRED, "PCK CA certificate") ||
        !cert_window(leaf, &ch->win[2], ASPS_E_CERT_EXPIRED, "PCK certificate")) {
        e = asps_fail(eb, ASPS_E_PARSE, "PCK chain: unreadable validity");
        goto out;
    }
    X509_up_ref(leaf);
    X509_up_ref(ca);
    ch->leaf = leaf;
    ch->ca = ca;
    ch->leaf_key = asps_x509_key(leaf);
    if (!ch->leaf_key || EVP_PKEY_get_base_id(ch->leaf_key) != EVP_PKEY_EC) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK certificate: key is not ECDSA");
        goto out;
    }
out:
    ERR_clear_error();
    free_chain(c, n);
    return e;
}

static vchain *get_chain(asps_verifier *v, const asps_quote *q, X509 *known_ca, vchain *scratch,
                         asps_errbuf *eb, asps_err *e)
{
    uint8_t d[32];
    sha256(q->pck_chain, q->pck_chain_len, d);
    if (v->cache_on)
        for (int i = 0; i < CHAIN_CACHE; i++)
            if (v->chains[i].used && memcmp(v->chains[i].digest, d, 32) == 0) {
                v->chains[i].stamp = ++v->clock;
                return &v->chains[i];
            }
    memset(scratch, 0, sizeof *scratch);
    *e = verify_pck_chain(v, q, known_ca, scratch, eb);
    if (*e != ASPS_OK) {
        vchain_clear(scratch);
        return NULL;
    }
    scratch->used = 1;
    memcpy(scratch->digest, d, 32);
    if (!v->cache_on)
        return scratch;
    int slot = 0;
    for (int i = 0; i < CHAIN_CACHE; i++) {
        if (!v->chains[i].used) {
            slot = i;
            break;
        }
        if (v->chains[i].stamp < v->chains[slot].stamp)
            slot = i;
    }
    vchain_clear(&v->chains[slot]);
    v->chains[slot] = *scratch;
    v->chains[slot].stamp = ++v->clock;
    memset(scratch, 0, sizeof *scratch);
    return &v->chains[slot];
}

/* ---- TCB ------------------------------------------------------------------------ */

/* A matched level's advisory IDs as listed, in Intel's order: QvE copies
 * the list as it is (qve.cpp, qve_set_quote_supplemental_data: sa_list from
 * getMatchingTcbLevel(...).getAdvisoryIDs()), whatever the level's status,
 * UpToDate included. The parser bounds a level's list to the claims' size. */
static void copy_adv(size_t *n, char ids[][ASPS_ADVISORY_LEN], const asps_advisories *a)
{
    *n = 0;
    for (size_t i = 0; i < a->n && i < ASPS_MAX_ADVISORIES; i++)
        snprintf(ids[(*n)++], ASPS_ADVISORY_LEN, "%s", a->id[i]);
}

/* QE identity TCB level for an ISVSVN: as QVL's EnclaveIdentityV2::
 * getTcbStatus, the first level in the listed order whose ISVSVN the QE
 * meets (Intel lists them highest first). */
static const asps_isvsvn_level *qe_level(const asps_qe_identity *qe, uint16_t isvsvn)
{
    for (size_t i = 0; i < qe->n_levels; i++)
        if (qe->levels[i].isvsvn <= isvsvn)
            return &qe->levels[i];
    return NULL;
}

/* QVL's EnclaveReportVerifier: a QE level other than UpToDate or Revoked
 * counts as ISVSVN_OUT_OF_DATE when statuses converge. */
static asps_tcb_status qe_effective_status(asps_tcb_status s)
{
    return s == ASPS_TCB_UP_TO_DATE || s == ASPS_TCB_REVOKED ? s : ASPS_TCB_OUT_OF_DATE;
}

/* QVL convergeTcbStatusWithQeTcbStatus / ...WithTdxModuleStatus: an
 * out-of-date component downgrades UpToDate/SWHardeningNeeded to OutOfDate
 * and the Configuration* statuses to OutOfDateConfigurationNeeded; a revoked
 * one revokes. */
static asps_tcb_status converge(asps_tcb_status platform, asps_tcb_status other)
{
    if (other == ASPS_TCB_OUT_OF_DATE) {
        if (platform == ASPS_TCB_UP_TO_DATE || platform == ASPS_TCB_SW_HARDENING_NEEDED)
            return ASPS_TCB_OUT_OF_DATE;
        if (platform == ASPS_TCB_CONFIGURATION_NEEDED ||
            platform == ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
            return ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    if (other == ASPS_TCB_REVOKED)
        return ASPS_TCB_REVOKED;
    return platform;
}

static const asps_tdx_module_identity *find_module(const asps_tcb_info *t, uint8_t version)
{
    char want[16];
    snprintf(want, sizeof want, "TDX_%02X", version);
    for (size_t i = 0; i < t->n_mod_ids; i++) {
        char id[16];
        size_t k = 0;
        for (; t->mod_ids[i].id[k] && k < sizeof id - 1; k++) {
            char ch = t->mod_ids[i].id[k];
            id[k] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
        }
        id[k] = 0;
        if (!strcmp(id, want))
            return &t->mod_ids[i];
    }
    return NULL;
}

/* QVL 4.1.2.4.11: TDX module signer and SEAM attributes. */
static asps_err check_tdx_module(const asps_tcb_info *t, const asps_quote *q,
                                 const asps_tdx_module_identity **mod, asps_errbuf *eb)
{
    const uint8_t *mrsigner = t->mod_mrsigner, *attr = t->mod_attributes;
    uint8_t version = q->tdx.tee_tcb_svn[1];
    *mod = NULL;
    if (version > 0) {
        *mod = find_module(t, version);
        if (!*mod)
            return asps_fail(eb, ASPS_E_TDX_MODULE, "TDX module: no identity TDX_%02X in TCB info",
                             version);
        mrsigner = (*mod)->mrsigner;
        attr = (*mod)->attributes;
    }
    if (CRYPTO_memcmp(mrsigner, q->tdx.mr_signer_seam, 48) != 0)
        return asps_fail(eb, ASPS_E_TDX_MODULE, "TDX module: MRSIGNERSEAM does not match TCB info");
    for (int i = 0; i < 8; i++)
        if (q->tdx.seam_attributes[i] != 0 || q->tdx.seam_attributes[i] != attr[i])
            return asps_fail(eb, ASPS_E_TDX_MODULE,
                             "TDX module: SEAMATTRIBUTES not zero or not as in TCB info");
    return ASPS_OK;
}

static int sgx_level_matches(const asps_tcb_level *l, const asps_pck_ext *x)
{
    for (int i = 0; i < 16; i++)
        if (x->cpusvn_comp[i] < l->sgx_comp[i])
            return 0;
    return x->pcesvn >= l->pcesvn;
}

static int tdx_level_matches(const asps_tcb_level *l, const uint8_t tee_tcb_svn[16])
{
    /* with a TDX module version (byte 1) the first two bytes are the module
     * SVN and version, judged by the module identity instead */
    for (int i = tee_tcb_svn[1] > 0 ? 2 : 0; i < 16; i++)
        if (tee_tcb_svn[i] < l->tdx_comp[i])
            return 0;
    return 1;
}

static int configuration_needed(asps_tcb_status s)
{
    return s == ASPS_TCB_CONFIGURATION_NEEDED || s == ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED ||
           s == ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
           s == ASPS_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/* QVL's checkForRelaunch (TD report 1.5): a TD whose platform is up to date
 * but whose running TDX module is out of date, while TEE_TCB_SVN2 shows the
 * update already installed, is told to relaunch instead of OutOfDate. */
static asps_err relaunch(const asps_tcb_info *t, const asps_quote *q, asps_tcb_status sgx_st,
                         asps_tcb_status module_st, asps_tcb_status qe_st, asps_tcb_status *st,
                         asps_errbuf *eb)
{
    const uint8_t *svn2 = q->tdx.tee_tcb_svn2;
    if (qe_st != ASPS_TCB_UP_TO_DATE)
        return ASPS_OK;
    if (sgx_st != ASPS_TCB_UP_TO_DATE && sgx_st != ASPS_TCB_SW_HARDENING_NEEDED &&
        sgx_st != ASPS_TCB_CONFIGURATION_NEEDED && sgx_st != ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
        return ASPS_OK;
    if ((*st != ASPS_TCB_OUT_OF_DATE && *st != ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) ||
        module_st != ASPS_TCB_OUT_OF_DATE)
        return ASPS_OK;
    const asps_tcb_level *latest = &t->levels[0]; /* highest, as QVL's set orders them */
    int relaunch_ok;
    if (svn2[1] == 0) {
        relaunch_ok = svn2[0] >= latest->tdx_comp[0] && svn2[2] >= latest->tdx_comp[2];
    } else {
        const asps_tdx_module_identity *m2 = find_module(t, svn2[1]);
        if (!m2)
            return asps_fail(eb, ASPS_E_TDX_MODULE, "TDX module: no identity TDX_%02X for TEE_TCB_SVN2",
                             svn2[1]);
        if (m2->n_levels == 0)
            return asps_fail(eb, ASPS_E_TCB_NOT_FOUND, "TDX module %s has no TCB levels", m2->id);
        relaunch_ok = svn2[0] >= m2->levels[0].isvsvn && svn2[2] >= latest->tdx_comp[2];
    }
    if (relaunch_ok)
        *st = configuration_needed(sgx_st) || configuration_needed(*st)
                  ? ASPS_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
                  : ASPS_TCB_TD_RELAUNCH_ADVISED;
    return ASPS_OK;
}

static asps_err tcb_status(const asps_tcb_info *t, const asps_pck_ext *x, const asps_quote *q,
                           const asps_tdx_module_identity *mod, const asps_isvsvn_level *qel,
                           asps_claims *out, asps_errbuf *eb)
{
    const asps_tcb_level *sgx = NULL, *tdx = NULL;
    int is_tdx = t->is_tdx && q->tee_type == ASPS_TEE_TDX;
    for (size_t i = 0; i < t->n_levels && !tdx; i++) {
        const asps_tcb_level *l = &t->levels[i];
        if (!sgx_level_matches(l, x))
            continue;
        if (!sgx)
            sgx = l;
        if (!is_tdx)
            break;
        if (tdx_level_matches(l, q->tdx.tee_tcb_svn))
            tdx = l;
    }
    if (!sgx)
        return asps_fail(eb, ASPS_E_TCB_NOT_FOUND,
                         "TCB: no TCB level matches the platform's CPU SVN and PCE SVN");
    asps_tcb_status st = sgx->status;
    asps_tcb_status module_st = ASPS_TCB_UP_TO_DATE; /* module version 0: no module level */
    /* The platform level QvE reports (getMatchingTcbLevel): for SGX the
     * first level the PCK certificate's SVNs reach, for TDX the first one
     * the TEE TCB SVN reaches too. */
    const asps_tcb_level *matched = sgx;
    if (is_tdx) {
        if (!tdx)
            return asps_fail(eb, ASPS_E_TCB_NOT_FOUND, "TCB: no TDX TCB level matches TEE_TCB_SVN");
        matched = tdx;
        st = tdx->status;
        uint8_t version = q->tdx.tee_tcb_svn[1], isvsvn = q->tdx.tee_tcb_svn[0];
        if (version > 0) {
            const asps_isvsvn_level *ml = NULL;
            /* QVL: first listed level whose ISVSVN the module meets */
            for (size_t i = 0; mod && i < mod->n_levels && !ml; i++)
                if (isvsvn >= mod->levels[i].isvsvn)
                    ml = &mod->levels[i];
            if (!ml)
                return asps_fail(eb, ASPS_E_TCB_NOT_FOUND,
                                 "TCB: TDX module SVN %u matches no level of %s", isvsvn,
                                 mod ? mod->id : "?");
            st = converge(st, ml->status);
            copy_adv(&out->n_tdx_module_advisories, out->tdx_module_advisory_ids, &ml->adv);
            module_st = ml->status;
        }
        if (st != ASPS_TCB_REVOKED && q->tdx.has_v15) {
            asps_err e = relaunch(t, q, sgx->status, module_st, qe_effective_status(qel->status), &st, eb);
            if (e != ASPS_OK)
                return e;
        }
    }
    st = converge(st, qe_effective_status(qel->status));
    copy_adv(&out->n_advisories, out->advisory_ids, &matched->adv);
    copy_adv(&out->n_qe_advisories, out->qe_advisory_ids, &qel->adv);
    out->tcb_date = matched->tcb_date;
    out->qe_tcb_date = qel->tcb_date;
    out->tcb_status = st;
    if (st == ASPS_TCB_REVOKED) /* say which level revoked it: the fix differs */
        return asps_fail(eb, ASPS_E_TCB_REVOKED, "TCB: %s is Revoked",
                         matched->status == ASPS_TCB_REVOKED ? "platform TCB level"
                         : module_st == ASPS_TCB_REVOKED     ? "TDX module TCB level"
                                                             : "QE identity TCB level");
    return ASPS_OK;
}

/* ---- the quote ---------------------------------------------------------------- */

static void fill_claims(const asps_quote *q, asps_claims *c)
{
    c->tee = q->tee_type == ASPS_TEE_TDX ? ASPS_TEE_TDX : ASPS_TEE_SGX;
    c->quote_version = q->version;
    if (c->tee == ASPS_TEE_SGX) {
        c->sgx = q->sgx;
        c->debug = (q->sgx.attributes[0] & 0x02) != 0;
    } else {
        c->tdx = q->tdx;
        c->debug = (q->tdx.td_attributes[0] & 0x01) != 0;
    }
}

asps_err asps_verify_quote(asps_verifier *v, const uint8_t *buf, size_t len,
                           const asps_collateral *col, int64_t at, asps_claims *claims,
                           asps_errbuf *eb)
{
    asps_quote q;
    asps_claims out;
    memset(&out, 0, sizeof out);
    memset(claims, 0, sizeof *claims);
    if (!v || !col)
        return asps_fail(eb, ASPS_E_ARG, "verify: no verifier or collateral");
    ASPS_TRY(asps_quote_parse(buf, len, &q, eb));
    ASPS_TRY(asps_quote_need_pck_chain(&q, eb));
    if (CRYPTO_memcmp(q.qe_vendor_id, INTEL_QE_VENDOR_ID, 16) != 0)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "quote: QE vendor ID is not Intel's");

    asps_err e = ASPS_OK;
    vcol col_scratch;
    vchain chain_scratch;
    memset(&chain_scratch, 0, sizeof chain_scratch);
    vcol *c = get_collateral(v, col, &col_scratch, eb, &e);
    if (!c)
        return e;
    vchain *ch = get_chain(v, &q, c->pck_ca, &chain_scratch, eb, &e);
    if (!ch)
        goto done;
    if (ch->root != c->root) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain and collateral end at different roots");
        goto done;
    }
    /* The PCK CA in the quote must be the CA that signed the PCK CRL
     * (QVL checks the CRL against the quote's intermediate). */
    if (X509_NAME_cmp(X509_CRL_get_issuer(c->pck_crl), X509_get_issuer_name(ch->leaf)) != 0) {
        e = asps_fail(eb, ASPS_E_CRL_ISSUER, "PCK CRL is not issued by the PCK certificate's CA");
        goto done;
    }
    if (EVP_PKEY_eq(asps_x509_key(ch->ca), asps_x509_key(c->pck_ca)) != 1) {
        e = asps_fail(eb, ASPS_E_CRL_SIGNATURE, "PCK CRL is not signed by the quote's PCK CA");
        goto done;
    }
    if (revoked(c->root_crl, ch->ca)) {
        e = asps_fail(eb, ASPS_E_CERT_REVOKED, "PCK CA certificate is revoked");
        goto done;
    }
    if (revoked(c->pck_crl, ch->leaf)) {
        e = asps_fail(eb, ASPS_E_CERT_REVOKED, "PCK certificate is revoked");
        goto done;
    }
    out.expires_at = INT64_MAX;
    e = check_windows(ch->win, 3, at, &out.expires_at, eb);
    if (e == ASPS_OK)
        e = check_windows(c->win, c->n_win, at, &out.expires_at, eb);
    if (e != ASPS_OK)
        goto done;

    const asps_tcb_info *t = &c->tcb;
    if ((t->is_tdx && q.tee_type != ASPS_TEE_TDX) ||
        (t->version >= 3 && !t->is_tdx && q.tee_type != ASPS_TEE_SGX) ||
        (t->version < 3 && q.tee_type == ASPS_TEE_TDX)) {
        e = asps_fail(eb, ASPS_E_TCB_INFO_MISMATCH, "TCB info is for %s, the quote is %s",
                      t->is_tdx ? "TDX" : "SGX", q.tee_type == ASPS_TEE_TDX ? "TDX" : "SGX");
        goto done;
    }
    if (memcmp(t->fmspc, ch->ext.fmspc, 6) != 0) {
        e = asps_fail(eb, ASPS_E_TCB_INFO_MISMATCH, "TCB info FMSPC differs from the PCK certificate's");
        goto done;
    }
    if (memcmp(t->pce_id, ch->ext.pce_id, 2) != 0) {
        e = asps_fail(eb, ASPS_E_TCB_INFO_MISMATCH, "TCB info PCE ID differs from the PCK certificate's");
        goto done;
    }
    const asps_tdx_module_identity *mod = NULL;
    if (t->is_tdx && (e = check_tdx_module(t, &q, &mod, eb)) != ASPS_OK)
        goto done;
    if (!ecdsa_verify_raw(ch->leaf_key, q.qe_report_sig, q.qe_report_raw, ASPS_SGX_REPORT_LEN)) {
        e = asps_fail(eb, ASPS_E_QE_REPORT_SIGNATURE, "QE report: signature does not verify with the PCK key");
        goto done;
    }
    {
        uint8_t h[32];
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned int hl = 32;
        int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
                 EVP_DigestUpdate(md, q.att_key, 64) &&
                 EVP_DigestUpdate(md, q.qe_auth, q.qe_auth_len) && EVP_DigestFinal_ex(md, h, &hl);
        EVP_MD_CTX_free(md);
        if (!ok) {
            e = asps_fail(eb, ASPS_E_INTERNAL, "SHA-256 failed");
            goto done;
        }
        if (CRYPTO_memcmp(h, q.qe_report.report_data, 32) != 0) {
            e = asps_fail(eb, ASPS_E_QE_REPORT_DATA,
                          "QE report: report data is not SHA-256(attestation key || QE auth data)");
            goto done;
        }
    }
    const asps_qe_identity *qe = &c->qe;
    if (strcmp(qe->id, q.tee_type == ASPS_TEE_TDX ? "TD_QE" : "QE") != 0) {
        e = asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH, "QE identity %s does not fit a %s quote", qe->id,
                      q.tee_type == ASPS_TEE_TDX ? "TDX" : "SGX");
        goto done;
    }
    if ((q.qe_report.misc_select & qe->miscselect_mask) != qe->miscselect) {
        e = asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH, "QE identity: MISCSELECT does not match");
        goto done;
    }
    for (int i = 0; i < 16; i++)
        if ((q.qe_report.attributes[i] & qe->attributes_mask[i]) != qe->attributes[i]) {
            e = asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH, "QE identity: ATTRIBUTES do not match");
            goto done;
        }
    if (CRYPTO_memcmp(q.qe_report.mr_signer, qe->mrsigner, 32) != 0) {
        e = asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH, "QE identity: MRSIGNER does not match");
        goto done;
    }
    if (q.qe_report.isv_prod_id != qe->isvprodid) {
        e = asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH, "QE identity: ISVPRODID does not match");
        goto done;
    }
    const asps_isvsvn_level *qel = qe_level(qe, q.qe_report.isv_svn);
    if (!qel) {
        e = asps_fail(eb, ASPS_E_TCB_NOT_FOUND, "QE identity: QE ISVSVN %u matches no TCB level",
                      q.qe_report.isv_svn);
        goto done;
    }
    {
        EVP_PKEY *ak = raw_p256_key(q.att_key);
        if (!ak) {
            e = asps_fail(eb, ASPS_E_QUOTE_SIGNATURE, "quote: attestation key is not a P-256 point");
            goto done;
        }
        int ok = ecdsa_verify_raw(ak, q.signature, q.signed_data, q.signed_len);
        EVP_PKEY_free(ak);
        if (!ok) {
            e = asps_fail(eb, ASPS_E_QUOTE_SIGNATURE,
                          "quote: signature does not verify with the attestation key");
            goto done;
        }
    }
    fill_claims(&q, &out);
    out.simulated = !v->roots[c->root].intel;
    memcpy(out.fmspc, ch->ext.fmspc, 6);
    memcpy(out.pce_id, ch->ext.pce_id, 2);
    out.pce_svn = ch->ext.pcesvn;
    out.tcb_info_evaluation_data_number = t->tcb_evaluation_data_number;
    out.qe_identity_evaluation_data_number = qe->tcb_evaluation_data_number;
    e = tcb_status(t, &ch->ext, &q, mod, qel, &out, eb);
    /* A revoked status still reports what was found, for the caller's log. */
    if (e == ASPS_OK || e == ASPS_E_TCB_REVOKED)
        *claims = out;
done:
    if (c == &col_scratch)
        vcol_clear(&col_scratch);
    if (ch == &chain_scratch)
        vchain_clear(&chain_scratch);
    return e;
}
