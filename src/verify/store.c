/* store.c: the verifier's trusted roots and its one cache (store.h).
 *
 * Roots: Intel's is built in and trusted by its key; the others are the
 * certificates the caller installed, trusted as those exact bytes. Caches:
 * a fixed table of slots per kind (16 collateral sets, 64 PCK chains: a
 * server sees few FMSPCs and, per platform, one chain, kept with its PEM
 * bytes (about 4 KB); 64 QE report signatures: per platform one QE report
 * until its attestation key changes, about 530 bytes each), least recently
 * used evicted; a kind whose digest is of untrusted bytes (PCK chains, QE
 * reports) is taken only when the kept bytes compare equal whole; what they
 * hold is what dcap.c verified once and never re-checks (signatures), while
 * times, revocation and everything per quote are checked on every call. */
#include "store.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "x509.h"

#define MAX_ROOTS 8

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

typedef struct slot {
    uint64_t stamp;            /* the store's clock at the last use */
    uint8_t key[32];
    void *value;               /* NULL: free slot */
    void (*free_value)(void *);
} slot;

static const int SLOTS[ASPS_STORE_KINDS] = {16, 64, 64};

struct asps_verifier {
    trust_root roots[MAX_ROOTS];
    int n_roots;
    int cache_on;
    int tcb_update_early; /* asps_verifier_set_tcb_update */
    int64_t max_stale;    /* asps_verifier_set_max_stale, seconds */
    uint64_t clock;
    slot *cache[ASPS_STORE_KINDS];
};

/* ---- the cache ---------------------------------------------------------------- */

static void slot_clear(slot *s)
{
    if (s->value)
        s->free_value(s->value);
    memset(s, 0, sizeof *s);
}

static void flush_caches(asps_verifier *v)
{
    for (int k = 0; k < ASPS_STORE_KINDS; k++)
        for (int i = 0; v->cache[k] && i < SLOTS[k]; i++)
            slot_clear(&v->cache[k][i]);
}

void *asps_store_get(asps_verifier *v, asps_store_kind kind, const uint8_t key[32])
{
    if (!v->cache_on)
        return NULL;
    slot *s = v->cache[kind];
    for (int i = 0; i < SLOTS[kind]; i++)
        if (s[i].value && memcmp(s[i].key, key, 32) == 0) {
            s[i].stamp = ++v->clock;
            return s[i].value;
        }
    return NULL;
}

int asps_store_put(asps_verifier *v, asps_store_kind kind, const uint8_t key[32], void *value,
                   void (*free_value)(void *))
{
    if (!v->cache_on)
        return 0;
    slot *s = v->cache[kind];
    int victim = 0;
    for (int i = 0; i < SLOTS[kind]; i++) {
        if (!s[i].value) {
            victim = i;
            break;
        }
        if (s[i].stamp < s[victim].stamp)
            victim = i;
    }
    slot_clear(&s[victim]);
    memcpy(s[victim].key, key, 32);
    s[victim].value = value;
    s[victim].free_value = free_value;
    s[victim].stamp = ++v->clock;
    return 1;
}

void *asps_store_verified(asps_verifier *v, asps_store_kind kind, const uint8_t key[32],
                          size_t size, asps_store_verify_fn verify, const void *arg,
                          void (*free_value)(void *), int *fresh, asps_errbuf *eb, asps_err *e)
{
    *fresh = 0;
    void *x = asps_store_get(v, kind, key);
    if (x)
        return x;
    if (!(x = calloc(1, size))) {
        *e = asps_fail(eb, ASPS_E_NOMEM, "verify: out of memory");
        return NULL;
    }
    if ((*e = verify(v, arg, x, eb)) != ASPS_OK) {
        free_value(x);
        return NULL;
    }
    *fresh = !asps_store_put(v, kind, key, x, free_value);
    return x;
}

/* ---- roots -------------------------------------------------------------------- */

static int cert_der_equal(X509 *a, const trust_root *r)
{
    uint8_t *der = NULL;
    int n = i2d_X509(a, &der);
    int eq = n > 0 && n == r->der_len && CRYPTO_memcmp(der, r->der, (size_t)n) == 0;
    OPENSSL_free(der);
    return eq;
}

X509 *asps_store_root_by_der(const asps_verifier *v, const uint8_t *der, size_t len)
{
    for (int i = 0; i < v->n_roots; i++)
        if (len == (size_t)v->roots[i].der_len && !memcmp(der, v->roots[i].der, len))
            return v->roots[i].cert;
    return NULL;
}

int asps_store_root_is_intel(const asps_verifier *v, int idx)
{
    return idx >= 0 && idx < v->n_roots && v->roots[idx].intel;
}

int asps_store_intel_key(const asps_verifier *v, X509 *cert)
{
    for (int i = 0; i < v->n_roots; i++)
        if (v->roots[i].intel && asps_x509_same_key(cert, v->roots[i].cert))
            return 1;
    return 0;
}

/* First a root byte-identical to an installed one (whose self-signature was
 * checked when it was installed); then, for Intel's root, any issue with its
 * key whose self-signature verifies (see trust_root). */
int asps_store_find_root(const asps_verifier *v, X509 *cert)
{
    for (int i = 0; i < v->n_roots; i++)
        if (cert_der_equal(cert, &v->roots[i]))
            return i;
    for (int i = 0; i < v->n_roots; i++)
        if (v->roots[i].intel && asps_x509_self_issued(cert) &&
            asps_x509_cn_contains(X509_get_subject_name(cert), "SGX Root CA") &&
            asps_x509_same_key(cert, v->roots[i].cert) && asps_x509_signed_by(cert, cert))
            return i;
    return -1;
}

/* ---- the verifier's lifecycle ------------------------------------------------- */

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
        uint8_t *der = NULL;
        size_t dlen = 0;
        if (asps_pem_cert_der((const char *)buf, len, &der, &dlen)) {
            p = der;
            x = d2i_X509(NULL, &p, (long)dlen);
            if (x && p != der + dlen) {
                X509_free(x);
                x = NULL;
            }
        }
        OPENSSL_free(der);
    }
    ERR_clear_error();
    if (!x)
        return asps_fail(eb, ASPS_E_PARSE, "verifier: root CA is not a DER or PEM certificate");
    if (!asps_x509_self_issued(x) || !asps_x509_signed_by(x, x)) {
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
    if (intel_root &&
        (!asps_x509_self_issued(intel_root) || !asps_x509_signed_by(intel_root, intel_root))) {
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
    for (int k = 0; k < ASPS_STORE_KINDS; k++)
        if (!(v->cache[k] = calloc((size_t)SLOTS[k], sizeof(slot)))) {
            asps_verifier_free(v);
            return asps_fail(eb, ASPS_E_NOMEM, "verifier: out of memory");
        }
    trust_root *r = &v->roots[0];
    r->der = NULL;
    r->der_len = i2d_X509(intel_root, &r->der);
    if (r->der_len <= 0) {
        asps_verifier_free(v);
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
    for (int k = 0; k < ASPS_STORE_KINDS; k++)
        free(v->cache[k]);
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
            memmove(&v->roots[i], &v->roots[i + 1],
                    (size_t)(v->n_roots - i - 1) * sizeof v->roots[0]);
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


void asps_verifier_set_tcb_update(asps_verifier *v, int early) { v->tcb_update_early = early != 0; }
void asps_verifier_set_max_stale(asps_verifier *v, int64_t seconds)
{
    v->max_stale = seconds > 0 ? seconds : 0;
}
int asps_store_tcb_update_early(const asps_verifier *v) { return v->tcb_update_early; }
int64_t asps_store_max_stale(const asps_verifier *v) { return v->max_stale; }
