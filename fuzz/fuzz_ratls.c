/* fuzz_ratls.c: certificate parsing and evidence extraction (PEM or DER,
 * extensions, DICE CBOR) on arbitrary bytes; whatever evidence comes out is
 * handed to the quote parser, as asps_ratls_verify would. The same bytes
 * also go through the CBOR skipper and, as a DICE extension value, through
 * the reader the extractor uses; and, as the value of one extension in a
 * well-formed signed certificate (the first byte picks which extension and
 * whether it is critical), through the extension checks (asps's own list of
 * what it understands: keyUsage, basicConstraints, subjectAltName decoded;
 * each evidence OID, the mis-encoded Gramine one among them, read), which a
 * mutated certificate rarely reaches intact. Seeds: fuzz/corpus/ratls
 * (certificates in every format asps reads, with critical evidence, the
 * mis-encoded OID and an unknown critical extension, and one DICE extension
 * value); the smoke run adds the real RA-TLS certificates of
 * ../shared/vectors when present. Every input is also read as PEM text by
 * the strict one-pass reader and by OpenSSL's PEM reader: where the strict
 * one answers, the two must give the same DER (abort otherwise). */
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "asps/ratls.h"
#include "cbor.h"
#include "quote.h"
#include "util.h"
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

static void strict_pem_agrees(const uint8_t *data, size_t size)
{
    uint8_t *der = NULL;
    size_t dl = 0;
    if (size > (1u << 20) || !asps_pem_cert_der_strict((const char *)data, size, &der, &dl))
        return;
    /* the reference reads the same text: up to a NUL, as the strict one */
    BIO *b = BIO_new_mem_buf(data, (int)strnlen((const char *)data, size));
    char *name = NULL, *header = NULL;
    unsigned char *ref = NULL;
    long rl = 0;
    int ok = b && PEM_read_bio(b, &name, &header, &ref, &rl) == 1 && !strcmp(name, "CERTIFICATE") &&
             rl > 0 && (size_t)rl == dl && memcmp(ref, der, dl) == 0;
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(ref);
    OPENSSL_free(der);
    BIO_free(b);
    ERR_clear_error();
    if (!ok)
        abort();
}

static void extract_and_parse(const uint8_t *data, size_t size)
{
    asps_ratls_evidence *ev = NULL;
    asps_errbuf eb;
    if (asps_ratls_extract(data, size, &ev, &eb) == ASPS_OK) {
        asps_quote q;
        (void)asps_quote_parse(ev->quote, ev->quote_len, &q, &eb);
        if (ev->quote2)
            (void)asps_quote_parse(ev->quote2, ev->quote2_len, &q, &eb);
        asps_ratls_evidence_free(ev);
    }
}

static const char *const ext_oids[] = {
    "2.5.29.15",                  /* keyUsage */
    "2.5.29.19",                  /* basicConstraints */
    "2.5.29.17",                  /* subjectAltName */
    "1.2.840.113741.1337.6",      /* Gramine */
    "0.6.9.42.840.113741.1337.6", /* Gramine before its 2022 OID fix */
    "2.23.133.5.4.9",             /* TCG DICE tagged evidence */
    "1.2.840.113741.1",           /* Occlum / CCZoo */
    "1.3.6.1.4.1.99999.1",        /* one asps does not know */
};

/* A self-signed P-256 certificate whose one extension has VALUE. */
static void extension_value(const uint8_t *data, size_t size)
{
    static EVP_PKEY *key; /* one per run: key generation is most of the cost */
    if (size < 1 || size > 64 * 1024)
        return;
    if (!key && !(key = EVP_EC_gen("P-256")))
        return;
    int crit = data[0] >> 7;
    const char *oid = ext_oids[(data[0] & 0x7f) % (sizeof ext_oids / sizeof ext_oids[0])];
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    unsigned char *der = NULL;
    int len = 0;
    if (x && n && o && os && ASN1_OCTET_STRING_set(os, data + 1, (int)(size - 1)) &&
        (ext = X509_EXTENSION_create_by_OBJ(NULL, o, crit, os)) && X509_set_version(x, 2) &&
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0) &&
        X509_set_subject_name(x, n) && X509_set_issuer_name(x, n) &&
        ASN1_TIME_set(X509_getm_notBefore(x), 1700000000) &&
        ASN1_TIME_set(X509_getm_notAfter(x), 1900000000) && X509_set_pubkey(x, key) &&
        X509_add_ext(x, ext, -1) && X509_sign(x, key, EVP_sha256()) > 0)
        len = i2d_X509(x, &der);
    if (len > 0)
        extract_and_parse(der, (size_t)len);
    OPENSSL_free(der);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(o);
    X509_NAME_free(n);
    X509_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strict_pem_agrees(data, size);
    extract_and_parse(data, size);
    asps_reader r = asps_reader_init(data, size);
    (void)cbor_skip(&r, 0);
    /* DICE layout: tag, array, two byte strings */
    r = asps_reader_init(data, size);
    int m;
    uint64_t a;
    asps_reader s1, s2;
    if (cbor_head(&r, &m, &a) && m == CBOR_TAG && cbor_head(&r, &m, &a) && m == CBOR_ARRAY &&
        cbor_string(&r, CBOR_BYTES, &s1) && cbor_string(&r, CBOR_BYTES, &s2))
        (void)cbor_skip(&s2, 1);
    extension_value(data, size);
    return 0;
}
