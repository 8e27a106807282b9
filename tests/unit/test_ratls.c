/* test_ratls.c: RA-TLS certificates: what asps writes, what others write,
 * and every refusal: no evidence, forged binding, expired, critical unknown
 * extension, not self-signed, weak digest, malformed DICE, two formats. */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/ratls.h"
#include "sim.h"
#include "cbor.h"
#include "quote.h"
#include "x509.h"
#include "testutil.h"

#define AT_OK 1751328000

typedef struct fake_att {
    uint8_t *quote;
    size_t len;
    uint8_t last_rd[2][64];
    int calls;
} fake_att;

/* Returns the same (real) quote whatever report data it is asked for: the
 * quote then binds another key, which is what a forger has. */
static asps_err fake_quote(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *len, asps_errbuf *eb)
{
    (void)eb;
    fake_att *a = ctx;
    if (a->calls < 2)
        memcpy(a->last_rd[a->calls], rd, 64);
    a->calls++;
    *q = malloc(a->len);
    memcpy(*q, a->quote, a->len);
    *len = a->len;
    return ASPS_OK;
}

static asps_err col_fn(void *ctx, const uint8_t *q, size_t len, const asps_collateral **col,
                       int *owned, asps_errbuf *eb)
{
    (void)q;
    (void)len;
    (void)eb;
    *col = ctx;
    *owned = 0;
    return ASPS_OK;
}

static void make_cert(fake_att *a, int legacy_only, int64_t nb, char **cert, char **key)
{
    asps_ratls_create_opts o = {.quote = fake_quote, .quote_ctx = a, .not_before = nb,
                                .legacy_only = legacy_only};
    asps_errbuf eb;
    asps_err e = asps_ratls_create(&o, cert, key, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
}

/* Validity windows that would make a certificate expired when made (or
 * one X.509 cannot write) are refused before the attester is asked; an
 * explicit past notBefore stays the caller's choice. */
static void test_ratls_create_refuses_windows_expired_when_made(void **state)
{
    (void)state;
    uint8_t q[8] = {3, 0};
    fake_att a = {.quote = q, .len = sizeof q};
    struct {
        int64_t nb, validity;
        const char *msg;
    } bad[] = {{0, -1, "negative"},
               {0, 1, "expired when made"},
               {0, 60, "expired when made"},
               {0, INT64_MAX, "9999"},
               {-5, 100, "9999"},
               {253402300000, 1000, "9999"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        asps_ratls_create_opts o = {.quote = fake_quote, .quote_ctx = &a, .not_before = bad[i].nb,
                                    .validity_secs = bad[i].validity};
        char *cert = NULL, *key = NULL;
        asps_errbuf eb = {{0}};
        assert_int_equal(asps_ratls_create(&o, &cert, &key, &eb), ASPS_E_ARG);
        if (!strstr(eb.msg, bad[i].msg))
            fail_msg("case %zu: %s", i, eb.msg);
        assert_null(cert);
        assert_null(key);
    }
    assert_int_equal(a.calls, 0);
    /* the shortest default-notBefore window that is still valid now, and a
     * deliberately expired one */
    int64_t ok_cases[][2] = {{0, 61}, {1577836800, 86400}};
    for (size_t i = 0; i < 2; i++) {
        asps_ratls_create_opts o = {.quote = fake_quote, .quote_ctx = &a, .not_before = ok_cases[i][0],
                                    .validity_secs = ok_cases[i][1]};
        char *cert = NULL, *key = NULL;
        asps_errbuf eb = {{0}};
        assert_int_equal(asps_ratls_create(&o, &cert, &key, &eb), ASPS_OK);
        asps_ratls_evidence *ev;
        assert_int_equal(asps_ratls_extract((uint8_t *)cert, strlen(cert), &ev, &eb), ASPS_OK);
        int64_t now = (int64_t)time(NULL);
        if (i == 0)
            assert_true(ev->not_after > now && ev->not_after <= now + 1);
        else
            assert_int_equal(ev->not_after, 1577836800 + 86400);
        asps_ratls_evidence_free(ev);
        free(cert);
        asps_ratls_free_key(key);
    }
}

static void test_ratls_create_writes_both_gramine_extensions_binding_the_key(void **state)
{
    (void)state;
    fake_att a = {0};
    a.quote = tu_read_vector("sgx_quote", &a.len);
    char *cert, *key;
    make_cert(&a, 0, 0, &cert, &key);
    assert_int_equal(a.calls, 2);
    asps_ratls_evidence *ev;
    asps_errbuf eb;
    assert_int_equal(asps_ratls_extract((uint8_t *)cert, strlen(cert), &ev, &eb), ASPS_OK);
    assert_string_equal(ev->format, "gramine+dice");
    assert_int_equal(ev->quote_len, a.len);
    assert_memory_equal(ev->quote, a.quote, a.len);
    assert_non_null(ev->quote2);
    assert_true(ev->dice_pubkey_ok);
    /* the attester was asked for SHA-256(SPKI) || zeros, then for the claims hash */
    assert_memory_equal(a.last_rd[0], ev->spki_hash, 32);
    static const uint8_t zero[32];
    assert_memory_equal(a.last_rd[0] + 32, zero, 32);
    assert_memory_equal(a.last_rd[1], ev->dice_claims_hash, 32);
    /* short validity, P-256, SHA-256, non-critical extensions */
    assert_true(ev->not_after - ev->not_before <= 24 * 3600 + 60);
    BIO *b = BIO_new_mem_buf(cert, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    for (int i = 0; i < X509_get_ext_count(x); i++)
        assert_false(X509_EXTENSION_get_critical(X509_get_ext(x, i)));
    X509_free(x);
    asps_ratls_evidence_free(ev);
    free(cert);
    asps_ratls_free_key(key);
    free(a.quote);
}

static void test_ratls_forged_certificate_with_valid_quote_is_refused(void **state)
{
    (void)state;
    /* Intel's real quote (valid at AT_OK) copied into a certificate of a new
     * key: DCAP verifies it, the binding does not hold. */
    fake_att a = {0};
    a.quote = tu_read_vector("sgx_quote", &a.len);
    size_t cl;
    uint8_t *cj = tu_read_vector("sgx_quote_collateral.json", &cl);
    asps_collateral *col;
    asps_verifier *v;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_parse_bundle(cj, cl, &col, &eb), ASPS_OK);
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    for (int legacy_only = 0; legacy_only < 2; legacy_only++) {
        char *cert, *key;
        make_cert(&a, legacy_only, AT_OK - 60, &cert, &key);
        asps_claims c;
        asps_err e = asps_ratls_verify(v, (uint8_t *)cert, strlen(cert), col_fn, col, AT_OK, &c, &eb);
        if (e != ASPS_E_BINDING)
            fail_msg("want binding, got %s: %s", asps_err_name(e), eb.msg);
        /* and outside the certificate's validity it is refused first */
        e = asps_ratls_verify(v, (uint8_t *)cert, strlen(cert), col_fn, col, AT_OK + 2 * 86400, &c, &eb);
        assert_int_equal(e, ASPS_E_CERT_EXPIRED);
        free(cert);
        asps_ratls_free_key(key);
    }
    asps_verifier_free(v);
    asps_collateral_free(col);
    free(cj);
    free(a.quote);
}

/* ---- certificates made by hand, as other producers make them -------------- */

typedef struct certspec {
    int rsa;              /* RSA-2048 (Occlum/CCZoo) instead of P-256 */
    const EVP_MD *md;
    const char *oids[3];  /* evidence extensions to add */
    const uint8_t *vals[3];
    size_t lens[3];
    int critical_unknown; /* add a critical extension OpenSSL does not know */
    int other_issuer;     /* issuer name != subject name */
} certspec;

/* X as PEM text (malloc'd, NUL-terminated); frees X. */
static char *pem_and_free(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long len = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)len + 1);
    memcpy(out, p, (size_t)len);
    out[len] = 0;
    BIO_free(b);
    X509_free(x);
    return out;
}

static char *hand_cert(const certspec *s)
{
    EVP_PKEY *k = s->rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_subject_name(x, n);
    if (s->other_issuer) {
        X509_NAME *i = X509_NAME_new();
        X509_NAME_add_entry_by_txt(i, "CN", MBSTRING_ASC, (const unsigned char *)"someone else", -1, -1, 0);
        X509_set_issuer_name(x, i);
        X509_NAME_free(i);
    } else {
        X509_set_issuer_name(x, n);
    }
    X509_NAME_free(n);
    ASN1_TIME_set(X509_getm_notBefore(x), AT_OK - 3600);
    ASN1_TIME_set(X509_getm_notAfter(x), AT_OK + 20 * 365 * 86400L);
    X509_set_pubkey(x, k);
    for (int i = 0; i < 3 && s->oids[i]; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(s->oids[i], 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, s->vals[i], (int)s->lens[i]);
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
    }
    if (s->critical_unknown) {
        ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2);
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 1, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
    }
    X509_sign(x, k, s->md ? s->md : EVP_sha256());
    char *out = pem_and_free(x);
    EVP_PKEY_free(k);
    return out;
}

static asps_err extract_spec(const certspec *s, asps_ratls_evidence **ev, asps_errbuf *eb)
{
    char *pem = hand_cert(s);
    asps_err e = asps_ratls_extract((uint8_t *)pem, strlen(pem), ev, eb);
    free(pem);
    return e;
}

static void test_ratls_reads_occlum_cczoo_format_with_sha1_rsa(void **state)
{
    (void)state;
    size_t ql;
    uint8_t *q = tu_read_vector("sgx_quote", &ql);
    certspec s = {.rsa = 1, .md = EVP_sha1(), .oids = {"1.2.840.113741.1"}, .vals = {q}, .lens = {ql}};
    asps_ratls_evidence *ev;
    asps_errbuf eb;
    asps_err e = extract_spec(&s, &ev, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_string_equal(ev->format, "occlum");
    assert_int_equal(ev->quote_len, ql);
    asps_ratls_evidence_free(ev);
    /* SHA-1 is accepted only for that format */
    certspec g = {.md = EVP_sha1(), .oids = {"1.2.840.113741.1337.6"}, .vals = {q}, .lens = {ql}};
    assert_int_equal(extract_spec(&g, &ev, &eb), ASPS_E_UNSUPPORTED);
    free(q);
}

static void test_ratls_refusals(void **state)
{
    (void)state;
    size_t ql;
    uint8_t *q = tu_read_vector("sgx_quote", &ql);
    asps_ratls_evidence *ev;
    asps_errbuf eb;
    certspec none = {0};
    assert_int_equal(extract_spec(&none, &ev, &eb), ASPS_E_NO_EVIDENCE);
    certspec crit = {.oids = {"1.2.840.113741.1337.6"}, .vals = {q}, .lens = {ql}, .critical_unknown = 1};
    assert_int_equal(extract_spec(&crit, &ev, &eb), ASPS_E_UNSUPPORTED);
    certspec issuer = {.oids = {"1.2.840.113741.1337.6"}, .vals = {q}, .lens = {ql}, .other_issuer = 1};
    assert_int_equal(extract_spec(&issuer, &ev, &eb), ASPS_E_CHAIN);
    { /* also when a handshake proved the key: it must still be self-issued */
        char *pem = hand_cert(&issuer);
        asps_verifier *v;
        asps_claims c;
        assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
        assert_int_equal(asps_ratls_verify_ex(v, (uint8_t *)pem, strlen(pem), NULL, NULL, AT_OK,
                                              ASPS_RATLS_KEY_PROVEN, &c, &eb),
                         ASPS_E_CHAIN);
        assert_non_null(strstr(eb.msg, "issuer != subject"));
        asps_verifier_free(v);
        free(pem);
    }
    certspec two = {.oids = {"1.2.840.113741.1337.6", "1.2.840.113741.1"}, .vals = {q, q}, .lens = {ql, ql}};
    assert_int_equal(extract_spec(&two, &ev, &eb), ASPS_E_PARSE);
    certspec dup = {.oids = {"1.2.840.113741.1337.6", "1.2.840.113741.1337.6"}, .vals = {q, q}, .lens = {ql, ql}};
    assert_int_equal(extract_spec(&dup, &ev, &eb), ASPS_E_PARSE);
    /* the Gramine OID carrying something that is not a quote: extraction
     * passes it on, verification refuses it (test below does a truncated one) */
    certspec notquote = {.oids = {"1.2.840.113741.1337.6"}, .vals = {(const uint8_t *)"not a quote"}, .lens = {11}};
    assert_int_equal(extract_spec(&notquote, &ev, &eb), ASPS_OK);
    asps_ratls_evidence_free(ev);
    /* an empty evidence extension */
    certspec empty = {.oids = {"1.2.840.113741.1"}, .vals = {(const uint8_t *)""}, .lens = {0}, .rsa = 1};
    assert_int_equal(extract_spec(&empty, &ev, &eb), ASPS_E_NO_EVIDENCE);
    certspec bad_dice = {.oids = {"2.23.133.5.4.9"}, .vals = {(const uint8_t *)"\xd9\xea\x60\x82\x41"}, .lens = {5}};
    assert_int_equal(extract_spec(&bad_dice, &ev, &eb), ASPS_E_PARSE);
    assert_int_equal(asps_ratls_extract((const uint8_t *)"junk", 4, &ev, &eb), ASPS_E_PARSE);
    free(q);
}

static void test_ratls_truncated_quote_in_certificate_is_refused(void **state)
{
    (void)state;
    size_t ql, cl;
    uint8_t *q = tu_read_vector("sgx_quote", &ql);
    uint8_t *cj = tu_read_vector("sgx_quote_collateral.json", &cl);
    certspec s = {.oids = {"1.2.840.113741.1337.6"}, .vals = {q}, .lens = {ql / 2}};
    char *pem = hand_cert(&s);
    asps_collateral *col;
    asps_verifier *v;
    asps_errbuf eb;
    asps_claims c;
    assert_int_equal(asps_collateral_parse_bundle(cj, cl, &col, &eb), ASPS_OK);
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    assert_int_equal(asps_ratls_verify(v, (uint8_t *)pem, strlen(pem), col_fn, col, AT_OK, &c, &eb),
                     ASPS_E_PARSE);
    free(pem);
    asps_verifier_free(v);
    asps_collateral_free(col);
    free(cj);
    free(q);
}

static void test_cbor_skip_is_bounded(void **state)
{
    (void)state;
    /* 20 nested arrays: deeper than CBOR_MAX_DEPTH */
    uint8_t deep[21];
    memset(deep, 0x81, 20);
    deep[20] = 0x00;
    asps_reader r = asps_reader_init(deep, sizeof deep);
    assert_false(cbor_skip(&r, 0));
    /* a length larger than the input */
    const uint8_t big[] = {0x5a, 0xff, 0xff, 0xff, 0xff, 0x00};
    r = asps_reader_init(big, sizeof big);
    assert_false(cbor_skip(&r, 0));
    /* indefinite length refused */
    const uint8_t indef[] = {0x9f, 0x01, 0xff};
    r = asps_reader_init(indef, sizeof indef);
    assert_false(cbor_skip(&r, 0));
}

/* ---- end to end on the simulated platform: real quotes that bind -------- */

typedef struct simfix {
    char *dir;
    asps_sim *sim;
    asps_verifier *v;
    asps_collateral *col[2]; /* SGX, TDX */
} simfix;

static simfix g_sim;

static int sim_setup(void **state)
{
    (void)state;
    asps_errbuf eb;
    g_sim.dir = tu_mkdtemp();
    if (!g_sim.dir || asps_sim_init(g_sim.dir, &eb) != ASPS_OK ||
        asps_sim_open(g_sim.dir, &g_sim.sim, &eb) != ASPS_OK ||
        asps_verifier_new(&g_sim.v, &eb) != ASPS_OK)
        return -1;
    char path[4096];
    asps_sim_root_path(g_sim.sim, path, sizeof path);
    if (asps_verifier_add_root_file(g_sim.v, path, &eb) != ASPS_OK)
        return -1;
    asps_verifier_drop_intel_root(g_sim.v);
    asps_sim_collateral_path(g_sim.sim, ASPS_TEE_SGX, path, sizeof path);
    if (asps_collateral_load_file(path, &g_sim.col[0], &eb) != ASPS_OK)
        return -1;
    asps_sim_collateral_path(g_sim.sim, ASPS_TEE_TDX, path, sizeof path);
    if (asps_collateral_load_file(path, &g_sim.col[1], &eb) != ASPS_OK)
        return -1;
    return 0;
}

static int sim_teardown(void **state)
{
    (void)state;
    asps_collateral_free(g_sim.col[0]);
    asps_collateral_free(g_sim.col[1]);
    asps_verifier_free(g_sim.v);
    asps_sim_free(g_sim.sim);
    if (g_sim.dir) {
        tu_rm_rf(g_sim.dir);
        free(g_sim.dir);
    }
    return 0;
}

/* Collateral chosen by the quote's TEE type (header bytes 4..7, LE). */
static asps_err sim_col(void *ctx, const uint8_t *q, size_t len, const asps_collateral **col,
                        int *owned, asps_errbuf *eb)
{
    (void)ctx;
    if (len < 8)
        return asps_fail(eb, ASPS_E_PARSE, "test: short quote");
    *col = g_sim.col[q[4] == 0x81 ? 1 : 0];
    *owned = 0;
    return ASPS_OK;
}

/* The sim attester; the n-th call may use another identity (ids[n]). */
typedef struct simatt {
    asps_sim_identity ids[2];
    int calls;
} simatt;

static asps_err sim_quote_fn(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *len,
                             asps_errbuf *eb)
{
    simatt *a = ctx;
    asps_sim_identity id = a->ids[a->calls > 0 ? 1 : 0];
    a->calls++;
    memcpy(id.report_data, rd, 64);
    return asps_sim_quote(g_sim.sim, &id, q, len, eb);
}

static asps_err verify_pem(const char *pem, int64_t at, asps_claims *c, asps_errbuf *eb)
{
    return asps_ratls_verify(g_sim.v, (const uint8_t *)pem, strlen(pem), sim_col, NULL, at, c, eb);
}

static void spki_hash(EVP_PKEY *k, uint8_t out[32])
{
    uint8_t *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    assert_true(n > 0);
    unsigned int l = 32;
    EVP_Digest(der, (size_t)n, out, &l, EVP_sha256(), NULL);
    OPENSSL_free(der);
}

/* A certificate as another producer makes it, for key K, with the given
 * extensions (value bytes as extnValue content), crit[i] marking the i-th
 * critical (crit NULL: none). */

static char *cert_for_key_ex(EVP_PKEY *k, const EVP_MD *md, int64_t nb, int64_t na, int n_ext,
                             const char *const *oids, const uint8_t *const *vals,
                             const size_t *lens, const int *crit)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"CN", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Intel Inc.", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_NAME_free(n);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);
    X509_set_pubkey(x, k);
    for (int i = 0; i < n_ext; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(oids[i], 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, vals[i], (int)lens[i]);
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, crit ? crit[i] : 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
    }
    if (X509_sign(x, k, md) <= 0) {
        X509_free(x);
        return NULL;
    }
    return pem_and_free(x);
}

static char *cert_for_key(EVP_PKEY *k, const EVP_MD *md, int64_t nb, int64_t na, int n_ext,
                          const char *const *oids, const uint8_t *const *vals, const size_t *lens)
{
    return cert_for_key_ex(k, md, nb, na, n_ext, oids, vals, lens, NULL);
}

/* DICE tagged evidence for QUOTE and CLAIMS. */
static void dice_value(asps_writer *ev, const uint8_t *q, size_t ql, const uint8_t *claims, size_t cl)
{
    cbor_put_head(ev, CBOR_TAG, 60000);
    cbor_put_head(ev, CBOR_ARRAY, 2);
    cbor_put_bytes(ev, CBOR_BYTES, q, ql);
    cbor_put_bytes(ev, CBOR_BYTES, claims, cl);
}

/* {"nonce": h'..', "pubkey-hash": bstr([alg, bstr h])} ("nonce" first, to
 * show other keys are skipped) */
static void dice_claims(asps_writer *c, uint64_t alg, const uint8_t *h, size_t hl, int with_nonce)
{
    asps_writer ph = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
    cbor_put_head(&ph, CBOR_ARRAY, 2);
    cbor_put_head(&ph, CBOR_UINT, alg);
    cbor_put_bytes(&ph, CBOR_BYTES, h, hl);
    cbor_put_head(c, CBOR_MAP, with_nonce ? 2 : 1);
    if (with_nonce) {
        cbor_put_bytes(c, CBOR_TEXT, "nonce", 5);
        cbor_put_bytes(c, CBOR_BYTES, "\x01\x02\x03\x04", 4);
    }
    cbor_put_bytes(c, CBOR_TEXT, "pubkey-hash", 11);
    cbor_put_bytes(c, CBOR_BYTES, ph.p, ph.len);
    asps_writer_free(&ph);
}

static void sha256_of(const uint8_t *p, size_t n, uint8_t out[64])
{
    unsigned int l = 32;
    memset(out, 0, 64);
    EVP_Digest(p, n, out, &l, EVP_sha256(), NULL);
}

static void test_ratls_sim_gramine_certificates_verify_with_their_format(void **state)
{
    (void)state;
    int64_t now = (int64_t)time(NULL);
    for (int legacy_only = 0; legacy_only < 2; legacy_only++) {
        for (int tdx = 0; tdx < 2; tdx++) {
            simatt a = {0};
            a.ids[0].tee = a.ids[1].tee = tdx ? ASPS_TEE_TDX : ASPS_TEE_SGX;
            memset(a.ids[0].mr_enclave, 0x11, 32);
            memset(a.ids[0].mr_td, 0x22, 48);
            a.ids[1] = a.ids[0];
            a.ids[0].isv_prod_id = a.ids[1].isv_prod_id = 9;
            asps_ratls_create_opts o = {.quote = sim_quote_fn, .quote_ctx = &a,
                                        .legacy_only = legacy_only};
            char *cert, *key;
            asps_errbuf eb;
            asps_claims c;
            assert_int_equal(asps_ratls_create(&o, &cert, &key, &eb), ASPS_OK);
            assert_int_equal(a.calls, legacy_only ? 1 : 2);
            asps_err e = verify_pem(cert, now, &c, &eb);
            if (e != ASPS_OK)
                fail_msg("legacy_only=%d tdx=%d: %s", legacy_only, tdx, eb.msg);
            assert_string_equal(c.ratls_format, legacy_only ? "gramine" : "gramine+dice");
            assert_true(c.simulated);
            assert_int_equal(c.tee, tdx ? ASPS_TEE_TDX : ASPS_TEE_SGX);
            if (tdx)
                assert_int_equal(c.tdx.mr_td[0], 0x22);
            else
                assert_int_equal(c.sgx.isv_prod_id, 9);
            /* claims expire no later than the certificate (default 24 h) */
            assert_true(c.expires_at <= now + 24 * 3600);
            assert_int_equal(verify_pem(cert, now + 25 * 3600, &c, &eb), ASPS_E_CERT_EXPIRED);
            assert_non_null(strstr(eb.msg, "certificate expired at 2")); /* the notAfter */
            assert_int_equal(verify_pem(cert, now - 3600, &c, &eb), ASPS_E_CERT_EXPIRED);
            assert_non_null(strstr(eb.msg, "certificate not valid before 2")); /* the notBefore */
            free(cert);
            asps_ratls_free_key(key);
        }
    }
}

static void test_ratls_sim_occlum_cczoo_certificate_verifies_with_nonce_in_upper_half(void **state)
{
    (void)state;
    /* As Occlum/CCZoo make it: RSA-2048, SHA-1, 20 years, OID
     * 1.2.840.113741.1; report data [0..31] = SHA-256(SPKI). Bytes 32..63
     * are not part of the binding (Gramine's verifier compares 32 bytes
     * too), so a producer's nonce there does not matter. */
    int64_t now = (int64_t)time(NULL);
    EVP_PKEY *k = EVP_RSA_gen(2048);
    uint8_t rd[64];
    spki_hash(k, rd);
    memset(rd + 32, 0xee, 32);
    simatt a = {0};
    uint8_t *q;
    size_t ql;
    asps_errbuf eb;
    assert_int_equal(sim_quote_fn(&a, rd, &q, &ql, &eb), ASPS_OK);
    const char *oid = "1.2.840.113741.1";
    const uint8_t *val = q;
    char *pem = cert_for_key(k, EVP_sha1(), now - 60, now + 20 * 365 * 86400L, 1, &oid, &val, &ql);
    asps_claims c;
    asps_err e = verify_pem(pem, now, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_string_equal(c.ratls_format, "occlum");
    free(pem);

    /* some producers put a DER OCTET STRING around the quote inside
     * extnValue; one such TLV spanning the whole value is unwrapped */
    uint8_t *wrapped = malloc(ql + 4);
    wrapped[0] = 0x04;
    wrapped[1] = 0x82;
    wrapped[2] = (uint8_t)(ql >> 8);
    wrapped[3] = (uint8_t)ql;
    memcpy(wrapped + 4, q, ql);
    size_t wl = ql + 4;
    const uint8_t *wv = wrapped;
    pem = cert_for_key(k, EVP_sha256(), now - 60, now + 86400, 1, &oid, &wv, &wl);
    e = verify_pem(pem, now, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("wrapped: %s", eb.msg);
    free(pem);
    /* a wrapper whose length does not span the value is not unwrapped,
     * and then the bytes are no quote */
    wrapped[3] ^= 1;
    pem = cert_for_key(k, EVP_sha256(), now - 60, now + 86400, 1, &oid, &wv, &wl);
    e = verify_pem(pem, now, &c, &eb); /* header 04 82 ..: quote version 0x8204 */
    assert_true(e == ASPS_E_PARSE || e == ASPS_E_UNSUPPORTED);
    free(pem);
    free(wrapped);

    /* the same quote under a fresh key of the same kind: refused */
    EVP_PKEY *k2 = EVP_RSA_gen(2048);
    pem = cert_for_key(k2, EVP_sha1(), now - 60, now + 86400, 1, &oid, &val, &ql);
    assert_int_equal(verify_pem(pem, now, &c, &eb), ASPS_E_BINDING);
    free(pem);

    /* notAfter before notBefore: refused at extraction */
    pem = cert_for_key(k, EVP_sha256(), now + 60, now - 60, 1, &oid, &val, &ql);
    asps_ratls_evidence *inv = NULL;
    assert_int_equal(asps_ratls_extract((const uint8_t *)pem, strlen(pem), &inv, &eb), ASPS_E_PARSE);
    free(pem);

    /* a quote whose first 32 bytes differ by one bit: refused */
    uint8_t *q2;
    size_t q2l;
    rd[31] ^= 1;
    assert_int_equal(sim_quote_fn(&a, rd, &q2, &q2l, &eb), ASPS_OK);
    val = q2;
    pem = cert_for_key(k, EVP_sha256(), now - 60, now + 86400, 1, &oid, &val, &q2l);
    assert_int_equal(verify_pem(pem, now, &c, &eb), ASPS_E_BINDING);
    free(pem);
    free(q2);
    free(q);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k);
}

static void test_ratls_sim_dice_only_certificate_verifies_and_checks_pubkey_hash(void **state)
{
    (void)state;
    int64_t now = (int64_t)time(NULL);
    EVP_PKEY *k = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
    const char *oid = "2.23.133.5.4.9";
    asps_errbuf eb;
    asps_claims c;
    for (int wrong_key = 0; wrong_key < 2; wrong_key++) {
        uint8_t h[32], rd[64];
        spki_hash(wrong_key ? other : k, h);
        asps_writer claims = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN), ev = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
        dice_claims(&claims, 1, h, 32, 1);
        sha256_of(claims.p, claims.len, rd);
        simatt a = {0};
        uint8_t *q;
        size_t ql;
        assert_int_equal(sim_quote_fn(&a, rd, &q, &ql, &eb), ASPS_OK);
        dice_value(&ev, q, ql, claims.p, claims.len);
        const uint8_t *val = ev.p;
        char *pem = cert_for_key(k, EVP_sha256(), now - 60, now + 3600, 1, &oid, &val, &ev.len);
        asps_err e = verify_pem(pem, now, &c, &eb);
        if (wrong_key) {
            /* the quote binds the claims, but the claims name another key */
            assert_int_equal(e, ASPS_E_BINDING);
        } else {
            if (e != ASPS_OK)
                fail_msg("%s", eb.msg);
            assert_string_equal(c.ratls_format, "dice");
        }
        free(pem);
        free(q);
        asps_writer_free(&claims);
        asps_writer_free(&ev);
    }
    EVP_PKEY_free(other);
    EVP_PKEY_free(k);
}

static void test_ratls_sim_two_extensions_claiming_different_identities_are_refused(void **state)
{
    (void)state;
    /* Both quotes bind the key under their own rule, but the enclaves
     * differ: the certificate does not say one thing. */
    simatt a = {0};
    memset(a.ids[0].mr_enclave, 0x11, 32);
    a.ids[1] = a.ids[0];
    a.ids[1].mr_enclave[31] = 0x12;
    asps_ratls_create_opts o = {.quote = sim_quote_fn, .quote_ctx = &a};
    char *cert, *key;
    asps_errbuf eb;
    asps_claims c;
    assert_int_equal(asps_ratls_create(&o, &cert, &key, &eb), ASPS_OK);
    assert_int_equal(verify_pem(cert, (int64_t)time(NULL), &c, &eb), ASPS_E_BINDING);
    assert_non_null(strstr(eb.msg, "different identities"));
    free(cert);
    asps_ratls_free_key(key);
    /* the same with equal identities verifies (the test can fail) */
    a.calls = 0;
    a.ids[1] = a.ids[0];
    assert_int_equal(asps_ratls_create(&o, &cert, &key, &eb), ASPS_OK);
    assert_int_equal(verify_pem(cert, (int64_t)time(NULL), &c, &eb), ASPS_OK);
    free(cert);
    asps_ratls_free_key(key);
}

static void test_ratls_sim_gramine_plus_dice_with_dice_for_another_key_is_refused(void **state)
{
    (void)state;
    /* Legacy quote binds the key; the DICE claims (bound by their own quote)
     * name another key. */
    int64_t now = (int64_t)time(NULL);
    EVP_PKEY *k = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
    uint8_t rd1[64] = {0}, h2[32], rd2[64];
    spki_hash(k, rd1);
    spki_hash(other, h2);
    asps_writer claims = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN), ev = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
    dice_claims(&claims, 1, h2, 32, 0);
    sha256_of(claims.p, claims.len, rd2);
    simatt a = {0};
    uint8_t *q1, *q2;
    size_t l1, l2;
    asps_errbuf eb;
    assert_int_equal(sim_quote_fn(&a, rd1, &q1, &l1, &eb), ASPS_OK);
    assert_int_equal(sim_quote_fn(&a, rd2, &q2, &l2, &eb), ASPS_OK);
    dice_value(&ev, q2, l2, claims.p, claims.len);
    const char *oids[2] = {"1.2.840.113741.1337.6", "2.23.133.5.4.9"};
    const uint8_t *vals[2] = {q1, ev.p};
    size_t lens[2] = {l1, ev.len};
    char *pem = cert_for_key(k, EVP_sha256(), now - 60, now + 3600, 2, oids, vals, lens);
    asps_claims c;
    assert_int_equal(verify_pem(pem, now, &c, &eb), ASPS_E_BINDING);
    free(pem);
    /* with the legacy extension alone the same key verifies */
    pem = cert_for_key(k, EVP_sha256(), now - 60, now + 3600, 1, oids, vals, lens);
    assert_int_equal(verify_pem(pem, now, &c, &eb), ASPS_OK);
    free(pem);
    free(q1);
    free(q2);
    asps_writer_free(&claims);
    asps_writer_free(&ev);
    EVP_PKEY_free(other);
    EVP_PKEY_free(k);
}

/* Gramine + DICE whose DICE quote is the legacy quote but for its report
 * data and signature (one QE's two quotes, as asps and Gramine write them):
 * for a TLS peer (ASPS_RATLS_SAME_QE_BINDING) only the first quote's
 * signature is checked, the second's binding is; a DICE quote that differs
 * anywhere else, or any pair without the flag, is verified in full. Counted in
 * ECDSA verifies (asps_x509_verifies), with the verifier's PCK chain and QE
 * report already seen. */
static char *gramine_dice_cert(EVP_PKEY *k, int64_t now, const uint8_t *q1, size_t l1,
                               const uint8_t *q2, size_t l2, const asps_writer *claims)
{
    asps_writer ev = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
    dice_value(&ev, q2, l2, claims->p, claims->len);
    const char *oids[2] = {"1.2.840.113741.1337.6", "2.23.133.5.4.9"};
    const uint8_t *vals[2] = {q1, ev.p};
    size_t lens[2] = {l1, ev.len};
    char *pem = cert_for_key(k, EVP_sha256(), now - 60, now + 3600, 2, oids, vals, lens);
    asps_writer_free(&ev);
    return pem;
}

static asps_err verify_counting(const char *pem, int64_t now, unsigned flags, uint64_t *n,
                                asps_claims *c, asps_errbuf *eb)
{
    uint64_t n0 = asps_x509_verifies();
    asps_err e = asps_ratls_verify_ex(g_sim.v, (const uint8_t *)pem, strlen(pem), sim_col, NULL, now,
                                      flags, c, eb);
    *n = asps_x509_verifies() - n0;
    return e;
}

static void test_ratls_sim_second_quote_of_one_qe_is_checked_for_its_binding(void **state)
{
    (void)state;
    int64_t now = (int64_t)time(NULL);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t rd1[64] = {0}, h[32], rd2[64];
    spki_hash(k, rd1);
    memcpy(h, rd1, 32);
    asps_writer claims = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
    dice_claims(&claims, 1, h, 32, 0);
    sha256_of(claims.p, claims.len, rd2);
    simatt a = {0};
    memset(a.ids[0].mr_enclave, 0x33, 32);
    a.ids[1] = a.ids[0];
    uint8_t *q1, *q2;
    size_t l1, l2;
    asps_errbuf eb;
    asps_claims c;
    uint64_t n;
    assert_int_equal(sim_quote_fn(&a, rd1, &q1, &l1, &eb), ASPS_OK);
    assert_int_equal(sim_quote_fn(&a, rd2, &q2, &l2, &eb), ASPS_OK);
    assert_int_equal(asps_quote_same_but_binding(q1, l1, q2, l2, rd1), 1);

    char *pem = gramine_dice_cert(k, now, q1, l1, q2, l2, &claims);
    assert_int_equal(verify_counting(pem, now, 0, &n, &c, &eb), ASPS_OK); /* warms the caches */
    assert_int_equal(verify_counting(pem, now, 0, &n, &c, &eb), ASPS_OK);
    assert_string_equal(c.ratls_format, "gramine+dice");
    assert_int_equal(n, 3); /* as a file: self-signature, both quotes */
    assert_int_equal(verify_counting(pem, now, ASPS_RATLS_KEY_PROVEN, &n, &c, &eb), ASPS_OK);
    assert_int_equal(n, 2); /* the key proven: both quotes */
    assert_int_equal(verify_counting(pem, now, ASPS_RATLS_SAME_QE_BINDING, &n, &c, &eb), ASPS_OK);
    assert_int_equal(n, 2); /* self-signature, first quote */
    assert_int_equal(verify_counting(pem, now, ASPS_RATLS_PEER, &n, &c, &eb), ASPS_OK);
    assert_int_equal(n, 1); /* as a TLS peer: the first quote alone */
    free(pem);

    /* the DICE quote's signature spoiled: nothing it claims is used, so
     * still accepted; spoiled and one body byte changed (isv_svn): verified
     * in full, refused */
    const size_t SIG = 48 + 384 + 4, ISV_SVN = 48 + 258;
    q2[SIG + 7] ^= 0x01;
    pem = gramine_dice_cert(k, now, q1, l1, q2, l2, &claims);
    assert_int_equal(verify_counting(pem, now, ASPS_RATLS_PEER, &n, &c, &eb), ASPS_OK);
    /* as a file, every quote is verified: refused */
    assert_int_not_equal(verify_counting(pem, now, 0, &n, &c, &eb), ASPS_OK);
    free(pem);
    q2[ISV_SVN] ^= 0x01;
    pem = gramine_dice_cert(k, now, q1, l1, q2, l2, &claims);
    assert_int_not_equal(verify_counting(pem, now, ASPS_RATLS_PEER, &n, &c, &eb), ASPS_OK);
    assert_int_equal(n, 2); /* both quotes' signatures tried */
    free(pem);

    /* a genuine second quote with another isv_svn: verified in full,
     * accepted only if it claimed the same identity (it does not) */
    free(q2);
    a.ids[1].isv_svn = 2;
    assert_int_equal(sim_quote_fn(&a, rd2, &q2, &l2, &eb), ASPS_OK);
    pem = gramine_dice_cert(k, now, q1, l1, q2, l2, &claims);
    assert_int_equal(verify_counting(pem, now, ASPS_RATLS_PEER, &n, &c, &eb), ASPS_E_BINDING);
    assert_non_null(strstr(eb.msg, "different identities"));
    assert_int_equal(n, 2);
    free(pem);

    /* the same quote shape, but its report data for other claims */
    free(q2);
    a.ids[1] = a.ids[0];
    uint8_t other[64];
    memset(other, 0x44, sizeof other);
    assert_int_equal(sim_quote_fn(&a, other, &q2, &l2, &eb), ASPS_OK);
    pem = gramine_dice_cert(k, now, q1, l1, q2, l2, &claims);
    assert_int_equal(verify_counting(pem, now, ASPS_RATLS_PEER, &n, &c, &eb), ASPS_E_BINDING);
    assert_non_null(strstr(eb.msg, "DICE quote was made for another key"));
    free(pem);

    free(q1);
    free(q2);
    asps_writer_free(&claims);
    EVP_PKEY_free(k);
}

static void test_ratls_self_signature_and_key_oddities_are_refused(void **state)
{
    (void)state;
    /* Each certificate carries a quote that binds its key, so only the
     * oddity under test can refuse it. */
    int64_t now = (int64_t)time(NULL);
    const char *oid = "1.2.840.113741.1";
    /* want_proven: the same with ASPS_RATLS_KEY_PROVEN (a TLS handshake
     * proved the key): everything but the signature value is still checked */
    struct { const char *name; int rsa_bits; const char *curve; const EVP_MD *md; int corrupt; asps_err want, want_proven; } cases[] = {
        {"good RSA-2048 SHA-256", 2048, NULL, NULL, 0, ASPS_OK, ASPS_OK},
        {"good P-384", 0, "P-384", NULL, 0, ASPS_OK, ASPS_OK},
        {"RSA-1024", 1024, NULL, NULL, 0, ASPS_E_UNSUPPORTED, ASPS_E_UNSUPPORTED},
        {"secp256k1", 0, "secp256k1", NULL, 0, ASPS_E_UNSUPPORTED, ASPS_E_UNSUPPORTED},
        {"MD5 self-signature", 2048, NULL, NULL, 0, ASPS_E_UNSUPPORTED, ASPS_E_UNSUPPORTED},
        {"signature does not verify", 0, "P-256", NULL, 1, ASPS_E_CHAIN, ASPS_OK},
    };
    cases[0].md = EVP_sha256();
    cases[1].md = EVP_sha384();
    cases[2].md = EVP_sha256();
    cases[3].md = EVP_sha256();
    cases[4].md = EVP_md5();
    cases[5].md = EVP_sha256();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        EVP_PKEY *k = cases[i].rsa_bits ? EVP_RSA_gen((unsigned)cases[i].rsa_bits)
                                        : EVP_PKEY_Q_keygen(NULL, NULL, "EC", cases[i].curve);
        assert_non_null(k);
        uint8_t rd[64] = {0};
        spki_hash(k, rd);
        simatt a = {0};
        uint8_t *q;
        size_t ql;
        asps_errbuf eb;
        assert_int_equal(sim_quote_fn(&a, rd, &q, &ql, &eb), ASPS_OK);
        const uint8_t *val = q;
        char *pem = cert_for_key(k, cases[i].md, now - 60, now + 3600, 1, &oid, &val, &ql);
        if (!pem) /* this OpenSSL refuses to sign so (MD5 under a FIPS-ish policy) */
            goto next;
        uint8_t *der = NULL;
        int dl;
        {
            BIO *b = BIO_new_mem_buf(pem, -1);
            X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
            BIO_free(b);
            dl = i2d_X509(x, &der);
            X509_free(x);
        }
        assert_true(dl > 0);
        if (cases[i].corrupt)
            der[dl - 3] ^= 0x01; /* inside the signature value */
        asps_claims c;
        asps_err e = asps_ratls_verify(g_sim.v, der, (size_t)dl, sim_col, NULL, now, &c, &eb);
        if (e != cases[i].want)
            fail_msg("%s: want %s, got %s (%s)", cases[i].name, asps_err_name(cases[i].want),
                     asps_err_name(e), e ? eb.msg : "");
        e = asps_ratls_verify_ex(g_sim.v, der, (size_t)dl, sim_col, NULL, now, ASPS_RATLS_KEY_PROVEN,
                                 &c, &eb);
        if (e != cases[i].want_proven)
            fail_msg("%s, key proven: want %s, got %s (%s)", cases[i].name,
                     asps_err_name(cases[i].want_proven), asps_err_name(e), e ? eb.msg : "");
        OPENSSL_free(der);
        free(pem);
    next:
        free(q);
        EVP_PKEY_free(k);
    }
}

/* The subject key of a TLS peer (ASPS_RATLS_KEY_PROVEN): the handshake's
 * CertificateVerify was checked with it, but OpenSSL 3.0 decodes some keys
 * that prove nothing. A P-256 SPKI whose point is the point at infinity
 * (one byte 0x00) decodes, and an ECDSA signature anyone can make (r =
 * x(kG), s = e/k) verifies with it: such a key must be refused whatever the
 * handshake says, as it was before the curve was read from the OID alone.
 * The other oddities (off-curve point, a P-384 point or an RSA key under
 * the P-256 OID, NULL parameters, P-224, explicit parameters, which RFC
 * 5480 2.1.1 rules out) are refused with and without KEY_PROVEN. */
static char *cert_with_spki(EVP_PKEY *signer, int pknid, int ptype, void *pval,
                            const uint8_t *bits, size_t bl, int64_t now, uint8_t spki_h[32],
                            int with_quote, int forge_for_infinity)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"peer", -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_NAME_free(n);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - 60));
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + 3600));
    X509_set_pubkey(x, signer);
    uint8_t *pb = OPENSSL_malloc(bl);
    memcpy(pb, bits, bl);
    assert_int_equal(X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(pknid), ptype,
                                            pval, pb, (int)bl), 1);
    uint8_t *spki = NULL;
    int sl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    assert_true(sl > 0);
    unsigned hl = 32;
    EVP_Digest(spki, (size_t)sl, spki_h, &hl, EVP_sha256(), NULL);
    OPENSSL_free(spki);
    if (with_quote) {
        uint8_t rd[64] = {0}, *q;
        size_t ql;
        memcpy(rd, spki_h, 32);
        simatt a = {0};
        asps_errbuf eb;
        assert_int_equal(sim_quote_fn(&a, rd, &q, &ql, &eb), ASPS_OK);
        ASN1_OBJECT *o = OBJ_txt2obj("1.2.840.113741.1337.6", 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, q, (int)ql);
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
        free(q);
    }
    assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
    if (forge_for_infinity) {
        /* ECDSA with Q = O: u1*G + u2*O = u1*G, so r = x(kG), s = e/k
         * verifies for any k: anyone signs for this "key" */
        uint8_t *tbs = NULL, h[32];
        int tl = i2d_re_X509_tbs(x, &tbs);
        unsigned hl2 = 32;
        EVP_Digest(tbs, (size_t)tl, h, &hl2, EVP_sha256(), NULL);
        OPENSSL_free(tbs);
        EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
        BN_CTX *bc = BN_CTX_new();
        const BIGNUM *ord = EC_GROUP_get0_order(g);
        BIGNUM *kk = BN_new(), *e = BN_bin2bn(h, 32, NULL), *r = BN_new(), *sv = BN_new(), *ki = BN_new();
        EC_POINT *R = EC_POINT_new(g);
        BN_rand_range(kk, ord);
        EC_POINT_mul(g, R, kk, NULL, NULL, bc);
        EC_POINT_get_affine_coordinates(g, R, r, NULL, bc);
        BN_nnmod(r, r, ord, bc);
        BN_mod_inverse(ki, kk, ord, bc);
        BN_mod_mul(sv, e, ki, ord, bc);
        ECDSA_SIG *sig = ECDSA_SIG_new();
        ECDSA_SIG_set0(sig, r, sv);
        uint8_t *sd = NULL;
        int sdl = i2d_ECDSA_SIG(sig, &sd);
        const ASN1_BIT_STRING *bs;
        X509_get0_signature(&bs, NULL, x);
        ASN1_BIT_STRING_set((ASN1_BIT_STRING *)bs, sd, sdl);
        OPENSSL_free(sd);
        ECDSA_SIG_free(sig);
        EC_POINT_free(R);
        BN_free(kk), BN_free(e), BN_free(ki);
        BN_CTX_free(bc);
        EC_GROUP_free(g);
    }
    return pem_and_free(x);
}

static void point_of(EVP_PKEY *k, uint8_t *out, size_t *len)
{
    uint8_t *p = NULL;
    *len = EVP_PKEY_get1_encoded_public_key(k, &p);
    memcpy(out, p, *len);
    OPENSSL_free(p);
}

static void test_ratls_sim_key_proven_spki_oddities_are_refused(void **state)
{
    (void)state;
    int64_t now = (int64_t)time(NULL);
    EVP_PKEY *k256 = EVP_EC_gen("P-256"), *k384 = EVP_EC_gen("P-384");
    EVP_PKEY *k224 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    assert_non_null(k224);
    uint8_t p256[200], p384[200], p224[200], rsader[600], off[200];
    size_t l256, l384, l224;
    point_of(k256, p256, &l256);
    point_of(k384, p384, &l384);
    point_of(k224, p224, &l224);
    memcpy(off, p256, l256);
    off[10] ^= 1; /* off the curve (a 2^-128 chance to stay on it) */
    uint8_t *rp = rsader;
    int rl = i2d_PublicKey(rsa, &rp);
    assert_true(rl > 0);
    static const uint8_t inf[1] = {0};
    /* explicit P-256 parameters: the ECParameters of the curve, as
     * `openssl ecparam -param_enc explicit` writes them */
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_GROUP_set_asn1_flag(g, OPENSSL_EC_EXPLICIT_CURVE);
    uint8_t *ecp = NULL;
    int ecpl = i2d_ECPKParameters(g, &ecp);
    assert_true(ecpl > 0);
    EC_GROUP_free(g);
    struct {
        const char *name;
        int curve; /* NID of the OID parameter; 0: NULL; -1: explicit */
        const uint8_t *bits;
        size_t bl;
    } cases[] = {
        {"P-256 OID, point at infinity", NID_X9_62_prime256v1, inf, 1},
        {"P-256 OID, point off the curve", NID_X9_62_prime256v1, off, l256},
        {"P-256 OID, a P-384 point", NID_X9_62_prime256v1, p384, l384},
        {"P-256 OID, an RSA key", NID_X9_62_prime256v1, rsader, (size_t)rl},
        {"P-384 OID, a P-256 point", NID_secp384r1, p256, l256},
        {"NULL parameters, P-256 point", 0, p256, l256},
        {"P-224", NID_secp224r1, p224, l224},
        {"explicit P-256 parameters", -1, p256, l256},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int ptype;
        void *pval;
        if (cases[i].curve > 0) {
            ptype = V_ASN1_OBJECT;
            pval = OBJ_nid2obj(cases[i].curve);
        } else if (cases[i].curve == 0) {
            ptype = V_ASN1_NULL;
            pval = NULL;
        } else {
            ASN1_STRING *seq = ASN1_STRING_new();
            ASN1_STRING_set(seq, ecp, ecpl);
            ptype = V_ASN1_SEQUENCE;
            pval = seq;
        }
        uint8_t h[32];
        char *pem = cert_with_spki(k256, NID_X9_62_id_ecPublicKey, ptype, pval, cases[i].bits,
                                   cases[i].bl, now, h, 1, cases[i].bits == inf);
        asps_claims c;
        asps_errbuf eb = {{0}}, eb0 = {{0}};
        asps_err e0 = asps_ratls_verify_ex(g_sim.v, (const uint8_t *)pem, strlen(pem), sim_col,
                                           NULL, now, 0, &c, &eb0);
        asps_err e = asps_ratls_verify_ex(g_sim.v, (const uint8_t *)pem, strlen(pem), sim_col,
                                          NULL, now, ASPS_RATLS_PEER, &c, &eb);
        print_message("%-32s file: %-16s (%s) | TLS peer: %-16s (%s)\n", cases[i].name,
                      asps_err_name(e0), e0 ? eb0.msg : "", asps_err_name(e), e ? eb.msg : "");
        /* every one refused, as a file and as a peer, for its key (a
         * peer's self-signature is not checked: only the key can refuse
         * it); anyone can sign for the point at infinity */
        if (e0 == ASPS_OK || e != ASPS_E_UNSUPPORTED)
            bad++;
        free(pem);
    }
    OPENSSL_free(ecp);
    EVP_PKEY_free(k256);
    EVP_PKEY_free(k384);
    EVP_PKEY_free(k224);
    EVP_PKEY_free(rsa);
    assert_int_equal(bad, 0);
}

static void test_ratls_dice_evidence_mutations_are_refused(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t h[32];
    spki_hash(k, h);
    static const uint8_t q[8] = {3, 0, 2, 0, 0, 0, 0, 0};
    const char *oid = "2.23.133.5.4.9";
    struct { const char *name; asps_err want; } cases[] = {
        {"tag 60001", ASPS_E_PARSE},        {"array of 3", ASPS_E_PARSE},
        {"quote as text", ASPS_E_PARSE},    {"trailing byte", ASPS_E_PARSE},
        {"claims an array", ASPS_E_PARSE},  {"no pubkey-hash", ASPS_E_BINDING},
        {"alg 2", ASPS_E_UNSUPPORTED},      {"pubkey-hash twice", ASPS_E_PARSE},
        {"integer key", ASPS_E_PARSE},      {"sha-384 ok", ASPS_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        asps_writer claims = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN), ev = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
        if (i == 4) {
            cbor_put_head(&claims, CBOR_ARRAY, 0);
        } else if (i == 5) {
            cbor_put_head(&claims, CBOR_MAP, 1);
            cbor_put_bytes(&claims, CBOR_TEXT, "nonce", 5);
            cbor_put_head(&claims, CBOR_UINT, 1);
        } else if (i == 6) {
            dice_claims(&claims, 2, h, 32, 0);
        } else if (i == 7) {
            asps_writer ph = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
            cbor_put_head(&ph, CBOR_ARRAY, 2);
            cbor_put_head(&ph, CBOR_UINT, 1);
            cbor_put_bytes(&ph, CBOR_BYTES, h, 32);
            cbor_put_head(&claims, CBOR_MAP, 2);
            for (int j = 0; j < 2; j++) {
                cbor_put_bytes(&claims, CBOR_TEXT, "pubkey-hash", 11);
                cbor_put_bytes(&claims, CBOR_BYTES, ph.p, ph.len);
            }
            asps_writer_free(&ph);
        } else if (i == 8) {
            cbor_put_head(&claims, CBOR_MAP, 1);
            cbor_put_head(&claims, CBOR_UINT, 1);
            cbor_put_head(&claims, CBOR_UINT, 1);
        } else if (i == 9) {
            uint8_t *der = NULL;
            int n = i2d_PUBKEY(k, &der);
            uint8_t h384[48];
            unsigned int l = 48;
            EVP_Digest(der, (size_t)n, h384, &l, EVP_sha384(), NULL);
            OPENSSL_free(der);
            dice_claims(&claims, 7, h384, 48, 0);
        } else {
            dice_claims(&claims, 1, h, 32, 0);
        }
        cbor_put_head(&ev, CBOR_TAG, i == 0 ? 60001 : 60000);
        cbor_put_head(&ev, CBOR_ARRAY, i == 1 ? 3 : 2);
        cbor_put_bytes(&ev, i == 2 ? CBOR_TEXT : CBOR_BYTES, q, sizeof q);
        cbor_put_bytes(&ev, CBOR_BYTES, claims.p, claims.len);
        if (i == 1 || i == 3)
            cbor_put_head(&ev, CBOR_UINT, 0);
        const uint8_t *val = ev.p;
        char *pem = cert_for_key(k, EVP_sha256(), 1000, 2000000000, 1, &oid, &val, &ev.len);
        asps_ratls_evidence *out = NULL;
        asps_errbuf eb;
        asps_err e = asps_ratls_extract((const uint8_t *)pem, strlen(pem), &out, &eb);
        if (e != cases[i].want)
            fail_msg("%s: want %s, got %s (%s)", cases[i].name, asps_err_name(cases[i].want),
                     asps_err_name(e), e ? eb.msg : "");
        if (e == ASPS_OK) {
            assert_true(out->dice_pubkey_ok);
            assert_string_equal(out->format, "dice");
        }
        asps_ratls_evidence_free(out);
        free(pem);
        asps_writer_free(&claims);
        asps_writer_free(&ev);
    }
    EVP_PKEY_free(k);
}


/* ---- extension criticality, the mis-encoded Gramine OID ------------------- */

#define OID_G "1.2.840.113741.1337.6"
#define OID_D "2.23.133.5.4.9"
#define OID_O "1.2.840.113741.1"
#define OID_M "0.6.9.42.840.113741.1337.6" /* Gramine before its 2022 fix */

/* Evidence binding key K on the simulated platform: the raw quote over
 * SHA-256(SPKI) (Gramine, Occlum, mis-encoded OID) and DICE tagged evidence. */
typedef struct evset {
    uint8_t *q, *q2;
    size_t ql, q2l;
    asps_writer claims, dice;
} evset;

static void evidence_for(EVP_PKEY *k, evset *s)
{
    uint8_t rd[64] = {0}, rd2[64];
    spki_hash(k, rd);
    simatt a = {0};
    asps_errbuf eb;
    s->claims = s->dice = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
    assert_int_equal(sim_quote_fn(&a, rd, &s->q, &s->ql, &eb), ASPS_OK);
    dice_claims(&s->claims, 1, rd, 32, 0);
    sha256_of(s->claims.p, s->claims.len, rd2);
    assert_int_equal(sim_quote_fn(&a, rd2, &s->q2, &s->q2l, &eb), ASPS_OK);
    dice_value(&s->dice, s->q2, s->q2l, s->claims.p, s->claims.len);
}

static void evset_free(evset *s)
{
    free(s->q);
    free(s->q2);
    asps_writer_free(&s->claims);
    asps_writer_free(&s->dice);
}

enum { V_QUOTE, V_QUOTE_DICE, V_DICE, V_BC_CA, V_BC_BAD, V_SAN, V_KU_SIGN, V_KU_ENCIPHER, V_EKU, V_SKID, V_NULL, V_N };

typedef struct extcase {
    const char *name;
    const char *oids[3];
    int vals[3];
    int crit[3];
    asps_err want;
    const char *text; /* the format (ASPS_OK) or a part of the reason */
} extcase;

static void run_extcases(EVP_PKEY *k, const evset *ev, const extcase *cases, size_t n)
{
    /* DER extension values (RFC 5280 4.2.1.x), written out by hand */
    static const uint8_t bc_ca[] = {0x30, 0x03, 0x01, 0x01, 0xff}, bc_bad[] = {0x30, 0x03, 0x01, 0x01},
        san[] = {0x30, 0x06, 0x87, 0x04, 0x7f, 0x00, 0x00, 0x01},
        ku_sign[] = {0x03, 0x02, 0x07, 0x80}, ku_enc[] = {0x03, 0x02, 0x05, 0x20},
        eku[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02},
        skid[] = {0x04, 0x02, 0x01, 0x02}, null_v[] = {0x05, 0x00};
    const uint8_t *vp[V_N] = {ev->q, ev->q2, ev->dice.p, bc_ca, bc_bad, san, ku_sign, ku_enc, eku, skid, null_v};
    size_t vl[V_N] = {ev->ql, ev->q2l, ev->dice.len, sizeof bc_ca, sizeof bc_bad, sizeof san, sizeof ku_sign,
                      sizeof ku_enc, sizeof eku, sizeof skid, sizeof null_v};
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        const extcase *t = &cases[i];
        int m = 0;
        const uint8_t *vals[3];
        size_t lens[3];
        while (m < 3 && t->oids[m]) {
            vals[m] = vp[t->vals[m]];
            lens[m] = vl[t->vals[m]];
            m++;
        }
        char *pem = cert_for_key_ex(k, EVP_sha256(), now - 60, now + 3600, m, t->oids, vals, lens,
                                    t->crit);
        assert_non_null(pem);
        asps_claims c;
        asps_errbuf eb = {{0}};
        asps_err e = verify_pem(pem, now, &c, &eb);
        if (e != t->want)
            fail_msg("%s: got %s (%s), want %s", t->name, asps_err_name(e), eb.msg, asps_err_name(t->want));
        if (e == ASPS_OK && strcmp(c.ratls_format, t->text) != 0)
            fail_msg("%s: format %s, want %s", t->name, c.ratls_format, t->text);
        if (e != ASPS_OK && !strstr(eb.msg, t->text))
            fail_msg("%s: reason '%s' lacks '%s'", t->name, eb.msg, t->text);
        free(pem);
    }
}

static void test_ratls_sim_critical_extensions_are_decided_by_asps_list(void **state)
{
    (void)state;
    /* RFC 5280 4.2: a critical extension the verifier does not understand
     * refuses the certificate; the ones asps understands do not. Every
     * certificate binds its key, so only its extensions decide. */
    static const extcase cases[] = {
        {"Gramine critical", {OID_G}, {V_QUOTE}, {1}, ASPS_OK, "gramine"},
        {"DICE critical (TCG DICE profile)", {OID_D}, {V_DICE}, {1}, ASPS_OK, "dice"},
        {"both critical", {OID_G, OID_D}, {V_QUOTE, V_DICE}, {1, 1}, ASPS_OK, "gramine+dice"},
        {"DICE critical beside Gramine", {OID_G, OID_D}, {V_QUOTE, V_DICE}, {0, 1}, ASPS_OK, "gramine+dice"},
        {"Occlum critical", {OID_O}, {V_QUOTE}, {1}, ASPS_OK, "occlum"},
        {"mis-encoded Gramine OID critical", {OID_M}, {V_QUOTE}, {1}, ASPS_OK, "gramine-misencoded-oid"},
        {"basicConstraints CA:TRUE critical", {OID_G, "2.5.29.19"}, {V_QUOTE, V_BC_CA}, {0, 1}, ASPS_OK, "gramine"},
        {"subjectAltName critical", {OID_D, "2.5.29.17"}, {V_DICE, V_SAN}, {1, 1}, ASPS_OK, "dice"},
        {"keyUsage digitalSignature critical", {OID_G, "2.5.29.15"}, {V_QUOTE, V_KU_SIGN}, {0, 1}, ASPS_OK, "gramine"},
        {"unknown non-critical", {OID_G, "1.3.6.1.4.1.99999.1"}, {V_QUOTE, V_NULL}, {0, 0}, ASPS_OK, "gramine"},
        {"extendedKeyUsage non-critical", {OID_G, "2.5.29.37"}, {V_QUOTE, V_EKU}, {0, 0}, ASPS_OK, "gramine"},
        {"malformed basicConstraints non-critical", {OID_G, "2.5.29.19"}, {V_QUOTE, V_BC_BAD}, {0, 0}, ASPS_OK, "gramine"},
        {"unknown critical", {OID_G, OID_D, "1.3.6.1.4.1.99999.1"}, {V_QUOTE, V_DICE, V_NULL}, {0, 1, 1},
         ASPS_E_UNSUPPORTED, "critical extension 1.3.6.1.4.1.99999.1 is not one asps understands"},
        {"unknown critical, no evidence", {"1.3.6.1.4.1.99999.1"}, {V_NULL}, {1},
         ASPS_E_UNSUPPORTED, "1.3.6.1.4.1.99999.1"},
        {"extendedKeyUsage critical", {OID_G, "2.5.29.37"}, {V_QUOTE, V_EKU}, {0, 1}, ASPS_E_UNSUPPORTED,
         "critical extension 2.5.29.37"},
        {"subjectKeyIdentifier critical (4.2.1.2: must not be)", {OID_G, "2.5.29.14"}, {V_QUOTE, V_SKID}, {0, 1},
         ASPS_E_UNSUPPORTED, "critical extension 2.5.29.14"},
        {"an arc below the DICE OID, critical", {OID_D, OID_D ".1"}, {V_DICE, V_NULL}, {1, 1},
         ASPS_E_UNSUPPORTED, "critical extension 2.23.133.5.4.9.1 "},
        {"the Gramine OID's parent, critical", {OID_G, "1.2.840.113741.1337"}, {V_QUOTE, V_NULL}, {0, 1},
         ASPS_E_UNSUPPORTED, "critical extension 1.2.840.113741.1337 "},
        {"keyUsage without digitalSignature", {OID_G, "2.5.29.15"}, {V_QUOTE, V_KU_ENCIPHER}, {0, 0},
         ASPS_E_UNSUPPORTED, "digitalSignature"},
        {"keyUsage without digitalSignature critical", {OID_G, "2.5.29.15"}, {V_QUOTE, V_KU_ENCIPHER}, {0, 1},
         ASPS_E_UNSUPPORTED, "digitalSignature"},
        {"malformed basicConstraints critical", {OID_G, "2.5.29.19"}, {V_QUOTE, V_BC_BAD}, {0, 1},
         ASPS_E_PARSE, "critical extension 2.5.29.19 cannot be read"},
    };
    EVP_PKEY *k = EVP_EC_gen("P-256");
    evset ev = {0};
    evidence_for(k, &ev);
    run_extcases(k, &ev, cases, sizeof cases / sizeof cases[0]);
    evset_free(&ev);
    EVP_PKEY_free(k);
}

/* RFC 5280 4.2: "A certificate MUST NOT include more than one instance of a
 * particular extension." asps reads one instance of each, so a second one
 * is refused whatever it is: two basicConstraints (one could say CA:TRUE,
 * the other CA:FALSE), two copies of an extension nobody reads, two
 * evidence extensions. Certificates made by OpenSSL with X509_add_ext,
 * which does not refuse duplicates. */
static void test_ratls_sim_duplicate_extensions_are_refused(void **state)
{
    (void)state;
    static const extcase cases[] = {
        /* controls: one instance of each */
        {"one basicConstraints, one subjectAltName", {OID_G, "2.5.29.19", "2.5.29.17"},
         {V_QUOTE, V_BC_CA, V_SAN}, {0, 1, 1}, ASPS_OK, "gramine"},
        {"Gramine and DICE once each", {OID_G, OID_D}, {V_QUOTE, V_DICE}, {0, 0}, ASPS_OK, "gramine+dice"},
        /* twice */
        {"basicConstraints twice", {OID_G, "2.5.29.19", "2.5.29.19"}, {V_QUOTE, V_BC_CA, V_BC_CA}, {0, 0, 0},
         ASPS_E_PARSE, "extension 2.5.29.19 appears twice"},
        {"basicConstraints twice, one malformed", {OID_G, "2.5.29.19", "2.5.29.19"},
         {V_QUOTE, V_BC_CA, V_BC_BAD}, {0, 1, 0}, ASPS_E_PARSE, "extension 2.5.29.19 appears twice"},
        {"subjectAltName twice, critical", {OID_D, "2.5.29.17", "2.5.29.17"}, {V_DICE, V_SAN, V_SAN},
         {1, 1, 1}, ASPS_E_PARSE, "extension 2.5.29.17 appears twice"},
        {"keyUsage twice", {OID_G, "2.5.29.15", "2.5.29.15"}, {V_QUOTE, V_KU_SIGN, V_KU_SIGN}, {0, 1, 1},
         ASPS_E_PARSE, "extension 2.5.29.15 appears twice"},
        {"an unknown non-critical extension twice", {OID_G, "1.3.6.1.4.1.99999.1", "1.3.6.1.4.1.99999.1"},
         {V_QUOTE, V_NULL, V_NULL}, {0, 0, 0}, ASPS_E_PARSE, "extension 1.3.6.1.4.1.99999.1 appears twice"},
        {"DICE evidence twice", {OID_D, OID_D}, {V_DICE, V_DICE}, {1, 1}, ASPS_E_PARSE,
         "extension 2.23.133.5.4.9 appears twice"},
        {"Gramine evidence twice", {OID_G, OID_G}, {V_QUOTE, V_QUOTE}, {0, 0}, ASPS_E_PARSE,
         "extension 1.2.840.113741.1337.6 appears twice"},
        {"Occlum evidence twice", {OID_O, OID_O}, {V_QUOTE, V_QUOTE}, {0, 0}, ASPS_E_PARSE,
         "extension 1.2.840.113741.1 appears twice"},
    };
    EVP_PKEY *k = EVP_EC_gen("P-256");
    evset ev = {0};
    evidence_for(k, &ev);
    run_extcases(k, &ev, cases, sizeof cases / sizeof cases[0]);
    evset_free(&ev);
    EVP_PKEY_free(k);
}

static void test_ratls_sim_misencoded_gramine_oid_is_read_whole(void **state)
{
    (void)state;
    /* The OID as Gramine wrote it before its fix (commit f4d6b2bb5), DER
     * 06 0b 06 09 2a 86 48 86 f8 4d 8a 39 06 as the real certificates in
     * ../shared/vectors/real carry it: OpenSSL encodes the dotted form
     * used here to exactly those bytes. */
    static const uint8_t der[] = {0x06, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                  0xf8, 0x4d, 0x8a, 0x39, 0x06};
    ASN1_OBJECT *o = OBJ_txt2obj(OID_M, 1);
    unsigned char *enc = NULL;
    int enc_len = i2d_ASN1_OBJECT(o, &enc);
    assert_int_equal(enc_len, sizeof der);
    assert_memory_equal(enc, der, sizeof der);
    OPENSSL_free(enc);
    ASN1_OBJECT_free(o);

    static const extcase cases[] = {
        {"mis-encoded OID", {OID_M}, {V_QUOTE}, {0}, ASPS_OK, "gramine-misencoded-oid"},
        /* nothing by prefix: a longer, a shorter, a neighbour OID */
        {"an arc below it", {OID_M ".1"}, {V_QUOTE}, {0}, ASPS_E_NO_EVIDENCE, "no attestation evidence"},
        {"its parent", {"0.6.9.42.840.113741.1337"}, {V_QUOTE}, {0}, ASPS_E_NO_EVIDENCE, "no attestation evidence"},
        {"last arc 7", {"0.6.9.42.840.113741.1337.7"}, {V_QUOTE}, {0}, ASPS_E_NO_EVIDENCE, "no attestation evidence"},
        {"length byte 10", {"0.6.10.42.840.113741.1337.6"}, {V_QUOTE}, {0}, ASPS_E_NO_EVIDENCE, "no attestation evidence"},
        /* one Gramine quote, one format */
        {"beside the proper OID", {OID_M, OID_G}, {V_QUOTE, V_QUOTE}, {0, 0}, ASPS_E_PARSE, "mis-encoded"},
        {"twice", {OID_M, OID_M}, {V_QUOTE, V_QUOTE}, {0, 0}, ASPS_E_PARSE, "appears twice"},
        {"beside DICE", {OID_M, OID_D}, {V_QUOTE, V_DICE}, {0, 0}, ASPS_E_PARSE, "DICE evidence beside"},
        {"beside Occlum", {OID_M, OID_O}, {V_QUOTE, V_QUOTE}, {0, 0}, ASPS_E_PARSE, "two unrelated formats"},
        /* the binding is the legacy one: SHA-256(SPKI), not the DICE claims' */
        {"the DICE claims' quote under it", {OID_M}, {V_QUOTE_DICE}, {0}, ASPS_E_BINDING, "another key"},
    };
    EVP_PKEY *k = EVP_EC_gen("P-256");
    evset ev = {0};
    evidence_for(k, &ev);
    run_extcases(k, &ev, cases, sizeof cases / sizeof cases[0]);

    /* old Gramine keys are RSA-3072 (the real -rsa certificate): the quote
     * binds it; and a quote for another key under that OID is refused */
    EVP_PKEY *rsa = EVP_RSA_gen(3072), *other = EVP_EC_gen("P-256");
    evset rev = {0}, oev = {0};
    evidence_for(rsa, &rev);
    evidence_for(other, &oev);
    static const extcase rsa_case[] = {
        {"RSA-3072", {OID_M}, {V_QUOTE}, {0}, ASPS_OK, "gramine-misencoded-oid"}};
    run_extcases(rsa, &rev, rsa_case, 1);
    static const extcase other_case[] = {
        {"quote for another key", {OID_M}, {V_QUOTE}, {0}, ASPS_E_BINDING, "another key"}};
    run_extcases(k, &oev, other_case, 1);
    evset_free(&rev);
    evset_free(&oev);
    evset_free(&ev);
    EVP_PKEY_free(other);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(k);
}

/* The two real Gramine certificates from before its 2022 OID fix
 * (../shared/vectors/real, never copied here): the evidence is the
 * extension's exact bytes (the case's `quote` file), and report data [0..31]
 * (offset 368 of an SGX v3 quote: the 48-byte header, then report data at
 * 320 in the report body, Intel's sgx_quote_3.h / sgx_report.h) is
 * SHA-256 of the SubjectPublicKeyInfo as OpenSSL encodes it. Full DCAP
 * verification with the case's collateral: tests/integration/test_ratls_vectors.sh. */
static void test_ratls_real_gramine_certificates_with_misencoded_oid(void **state)
{
    (void)state;
    const char *real = tu_vectors_subdir("real");
    if (!real)
        tu_skip_vectors("real Gramine RA-TLS certificates (vectors/real)");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", real);
    const char *kinds[] = {"ecdsa", "rsa"};
    for (int i = 0; i < 2; i++) {
        char path[4200];
        size_t cl, ql;
        snprintf(path, sizeof path, "%s/ratls-gramine-legacy-oid-%s/cert.pem", dir, kinds[i]);
        uint8_t *cert = tu_read_file(path, &cl);
        snprintf(path, sizeof path, "%s/ratls-gramine-legacy-oid-%s/quote", dir, kinds[i]);
        uint8_t *quote = tu_read_file(path, &ql);
        if (!cert || !quote)
            tu_skip_vectors("ratls-gramine-legacy-oid-* cert.pem and quote");
        asps_ratls_evidence *ev = NULL;
        asps_errbuf eb;
        asps_err e = asps_ratls_extract(cert, cl, &ev, &eb);
        if (e != ASPS_OK)
            fail_msg("%s: %s", kinds[i], eb.msg);
        assert_string_equal(ev->format, "gramine-misencoded-oid");
        assert_int_equal(ev->quote_len, ql);
        assert_memory_equal(ev->quote, quote, ql);
        assert_null(ev->quote2);
        BIO *b = BIO_new_mem_buf(cert, (int)cl);
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        assert_non_null(x);
        unsigned char *spki = NULL;
        int sl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
        uint8_t h[64];
        sha256_of(spki, (size_t)sl, h);
        assert_memory_equal(ev->spki_hash, h, 32);
        assert_true(ql > 368 + 32);
        assert_memory_equal(quote + 368, h, 32);
        OPENSSL_free(spki);
        X509_free(x);
        BIO_free(b);
        asps_ratls_evidence_free(ev);
        free(cert);
        free(quote);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratls_create_refuses_windows_expired_when_made),
        cmocka_unit_test(test_ratls_create_writes_both_gramine_extensions_binding_the_key),
        cmocka_unit_test(test_ratls_forged_certificate_with_valid_quote_is_refused),
        cmocka_unit_test(test_ratls_reads_occlum_cczoo_format_with_sha1_rsa),
        cmocka_unit_test(test_ratls_refusals),
        cmocka_unit_test(test_ratls_truncated_quote_in_certificate_is_refused),
        cmocka_unit_test(test_cbor_skip_is_bounded),
        cmocka_unit_test(test_ratls_dice_evidence_mutations_are_refused),
        cmocka_unit_test(test_ratls_real_gramine_certificates_with_misencoded_oid),
    };
    const struct CMUnitTest sim_tests[] = {
        cmocka_unit_test(test_ratls_sim_gramine_certificates_verify_with_their_format),
        cmocka_unit_test(test_ratls_sim_occlum_cczoo_certificate_verifies_with_nonce_in_upper_half),
        cmocka_unit_test(test_ratls_sim_dice_only_certificate_verifies_and_checks_pubkey_hash),
        cmocka_unit_test(test_ratls_sim_two_extensions_claiming_different_identities_are_refused),
        cmocka_unit_test(test_ratls_sim_gramine_plus_dice_with_dice_for_another_key_is_refused),
        cmocka_unit_test(test_ratls_self_signature_and_key_oddities_are_refused),
        cmocka_unit_test(test_ratls_sim_key_proven_spki_oddities_are_refused),
        cmocka_unit_test(test_ratls_sim_second_quote_of_one_qe_is_checked_for_its_binding),
        cmocka_unit_test(test_ratls_sim_critical_extensions_are_decided_by_asps_list),
        cmocka_unit_test(test_ratls_sim_misencoded_gramine_oid_is_read_whole),
        cmocka_unit_test(test_ratls_sim_duplicate_extensions_are_refused),
    };
    int rc = cmocka_run_group_tests_name("ratls", tests, NULL, NULL);
    return rc | cmocka_run_group_tests_name("ratls_sim", sim_tests, sim_setup, sim_teardown);
}
