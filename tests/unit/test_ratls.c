/* test_ratls.c: RA-TLS certificates: what asps writes, what others write,
 * and every refusal: no evidence, forged binding, expired, critical unknown
 * extension, not self-signed, weak digest, malformed DICE, two formats. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "asps/ratls.h"
#include "cbor.h"
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
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long len = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)len + 1);
    memcpy(out, p, (size_t)len);
    out[len] = 0;
    BIO_free(b);
    X509_free(x);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratls_create_writes_both_gramine_extensions_binding_the_key),
        cmocka_unit_test(test_ratls_forged_certificate_with_valid_quote_is_refused),
        cmocka_unit_test(test_ratls_reads_occlum_cczoo_format_with_sha1_rsa),
        cmocka_unit_test(test_ratls_refusals),
        cmocka_unit_test(test_ratls_truncated_quote_in_certificate_is_refused),
        cmocka_unit_test(test_cbor_skip_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
