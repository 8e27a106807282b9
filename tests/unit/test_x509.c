/* test_x509.c: certificates decoded without OpenSSL's key decoder keep
 * every part a check reads (names, dates, extensions, critical flags, the
 * signature), carry the right key for each key policy, and refuse trailing
 * bytes, truncation and keys that are not what they claim. */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "testutil.h"

#include "x509.h"

/* A self-signed certificate for k, DER in *der; `critical_oid` adds an
 * unknown critical extension when not NULL. */
static int make_cert(EVP_PKEY *k, const char *critical_oid, uint8_t **der)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"asps x509 test", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, k);
    if (critical_oid) {
        ASN1_OBJECT *o = OBJ_txt2obj(critical_oid, 1);
        ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x04\x00", 2);
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 1, v);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(v);
        ASN1_OBJECT_free(o);
    }
    X509_sign(x, k, EVP_sha256());
    *der = NULL;
    int len = i2d_X509(x, der);
    X509_free(x);
    return len;
}

static void test_x509_p256_key_matches_openssl_and_verifies(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t *der;
    int len = make_cert(k, NULL, &der);
    assert_true(len > 0);
    for (int keys = ASPS_X509_P256; keys <= ASPS_X509_ANY_KEY; keys++) {
        X509 *x = asps_x509_decode(der, (size_t)len, (asps_x509_keys)keys);
        assert_non_null(x);
        EVP_PKEY *got = asps_x509_key(x);
        assert_non_null(got);
        assert_int_equal(EVP_PKEY_eq(got, k), 1);
        assert_int_equal(X509_verify(x, got), 1);
        assert_false(X509_get_extension_flags(x) & EXFLAG_CRITICAL);
        /* X509_dup copies no ex_data: the copy has no key and fails closed */
        X509 *copy = X509_dup(x);
        X509_free(x);
        assert_non_null(copy);
        assert_null(asps_x509_key(copy));
        X509_free(copy);
    }
    /* a flipped signature byte no longer verifies */
    der[len - 3] ^= 1;
    X509 *x = asps_x509_decode(der, (size_t)len, ASPS_X509_P256);
    assert_non_null(x);
    assert_int_not_equal(X509_verify(x, asps_x509_key(x)), 1);
    ERR_clear_error();
    X509_free(x);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
}

static void test_x509_other_keys_only_when_asked(void **state)
{
    (void)state;
    EVP_PKEY *keys[] = {EVP_EC_gen("P-384"), EVP_RSA_gen(2048)};
    for (size_t i = 0; i < 2; i++) {
        uint8_t *der;
        int len = make_cert(keys[i], NULL, &der);
        X509 *x = asps_x509_decode(der, (size_t)len, ASPS_X509_P256);
        assert_non_null(x);
        assert_null(asps_x509_key(x)); /* not P-256: no key, no check passes */
        X509_free(x);
        x = asps_x509_decode(der, (size_t)len, ASPS_X509_ANY_KEY);
        assert_non_null(x);
        assert_int_equal(EVP_PKEY_eq(asps_x509_key(x), keys[i]), 1);
        assert_int_equal(X509_verify(x, asps_x509_key(x)), 1);
        X509_free(x);
        x = asps_x509_decode(der, (size_t)len, ASPS_X509_NO_KEY);
        assert_non_null(x);
        assert_null(asps_x509_key(x));
        X509_free(x);
        OPENSSL_free(der);
        EVP_PKEY_free(keys[i]);
    }
}

static void test_x509_point_off_the_curve_has_no_key(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t *der;
    int len = make_cert(k, NULL, &der);
    /* The uncompressed point is the 65 bytes after the BIT STRING header
     * 03 42 00 04; change its last byte of y. */
    int at = -1;
    for (int i = 0; i + 4 < len; i++)
        if (der[i] == 0x03 && der[i + 1] == 0x42 && der[i + 2] == 0x00 && der[i + 3] == 0x04) {
            at = i + 3;
            break;
        }
    assert_true(at > 0);
    der[at + 64] ^= 1;
    for (int keys = ASPS_X509_P256; keys <= ASPS_X509_ANY_KEY; keys++) {
        X509 *x = asps_x509_decode(der, (size_t)len, (asps_x509_keys)keys);
        assert_non_null(x);
        assert_null(asps_x509_key(x));
        X509_free(x);
    }
    OPENSSL_free(der);
    EVP_PKEY_free(k);
}

static void test_x509_refuses_trailing_truncated_and_empty(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t *der;
    int len = make_cert(k, NULL, &der);
    uint8_t *longer = malloc((size_t)len + 1);
    memcpy(longer, der, (size_t)len);
    longer[len] = 0;
    assert_null(asps_x509_decode(longer, (size_t)len + 1, ASPS_X509_P256));
    assert_null(asps_x509_decode(der, (size_t)len - 1, ASPS_X509_P256));
    assert_null(asps_x509_decode(der, 0, ASPS_X509_P256));
    assert_int_equal(ERR_peek_error(), 0);
    free(longer);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
}

static void test_x509_critical_unknown_extension_is_flagged(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t *der;
    int len = make_cert(k, "1.2.3.4.5.6", &der);
    X509 *x = asps_x509_decode(der, (size_t)len, ASPS_X509_NO_KEY);
    assert_non_null(x);
    assert_true(X509_get_extension_flags(x) & EXFLAG_CRITICAL);
    X509_free(x);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
}

static void test_x509_reads_pem_certificates_only(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t *der;
    int len = make_cert(k, NULL, &der);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio(b, "CERTIFICATE", "", der, len);
    PEM_write_bio(b, "PUBLIC KEY", "", der, len);
    X509 *x = asps_x509_read_pem(b, ASPS_X509_P256);
    assert_non_null(x);
    assert_int_equal(EVP_PKEY_eq(asps_x509_key(x), k), 1);
    X509_free(x);
    assert_null(asps_x509_read_pem(b, ASPS_X509_P256)); /* not a certificate */
    assert_null(asps_x509_read_pem(b, ASPS_X509_P256)); /* the end */
    BIO_free(b);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x509_p256_key_matches_openssl_and_verifies),
        cmocka_unit_test(test_x509_other_keys_only_when_asked),
        cmocka_unit_test(test_x509_point_off_the_curve_has_no_key),
        cmocka_unit_test(test_x509_refuses_trailing_truncated_and_empty),
        cmocka_unit_test(test_x509_critical_unknown_extension_is_flagged),
        cmocka_unit_test(test_x509_reads_pem_certificates_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
