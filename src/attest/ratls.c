/* ratls.c: RA-TLS certificates: create, extract evidence, verify binding.
 * See asps/ratls.h for the formats. Trusts nothing in the certificate but
 * what the DCAP-verified quote binds; every byte of the extensions is read
 * through the bounded reader and the CBOR decoder. Just over 700 lines:
 * the five evidence formats (Gramine, its mis-encoded OID, DICE, Occlum,
 * CCZoo) share one extension walk and one binding check, which is why they
 * stay in one file. */
#include "asps/ratls.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbor.h"
#include "quote.h"
#include "reader.h"
#include "util.h"
#include "x509.h"

#define OID_GRAMINE "1.2.840.113741.1337.6"
#define OID_DICE "2.23.133.5.4.9"
#define DICE_TAG 60000
#define MAX_CERT (256 * 1024)

typedef struct priv {
    X509 *x;
    uint8_t *legacy;   /* owned copies of the evidence */
    size_t legacy_len;
    uint8_t *dice;
    size_t dice_len;
} priv;

/* ---- create ----------------------------------------------------------------- */

static void put_text(asps_writer *o, const char *s) { cbor_put_bytes(o, CBOR_TEXT, s, strlen(s)); }

/* claims = {"pubkey-hash": bstr(CBOR [1, bstr SHA-256(SPKI)])} */
static void dice_claims(asps_writer *claims, const uint8_t spki_hash[32])
{
    asps_writer ph = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
    cbor_put_head(&ph, CBOR_ARRAY, 2);
    cbor_put_head(&ph, CBOR_UINT, 1);
    cbor_put_bytes(&ph, CBOR_BYTES, spki_hash, 32);
    cbor_put_head(claims, CBOR_MAP, 1);
    put_text(claims, "pubkey-hash");
    if (ph.failed)
        claims->failed = 1;
    else
        cbor_put_bytes(claims, CBOR_BYTES, ph.p, ph.len);
    asps_writer_free(&ph);
}

static int add_ext(X509 *x, const char *oid, const uint8_t *val, size_t len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    int ok = obj && os && len <= INT32_MAX && ASN1_OCTET_STRING_set(os, val, (int)len);
    X509_EXTENSION *ext = ok ? X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os) : NULL;
    ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok;
}

asps_err asps_ratls_create(const asps_ratls_create_opts *o, char **cert_pem, char **key_pem,
                           asps_errbuf *eb)
{
    *cert_pem = *key_pem = NULL;
    if (!o || !o->quote)
        return asps_fail(eb, ASPS_E_ARG, "ratls: no attester");
    /* A window that cannot hold "now" by mistake: a negative lifetime, or
     * one the default backdating (60 s) eats whole. An explicit not_before
     * is the caller's choice (tests make expired certificates on purpose).
     * The end must fit X.509's GeneralizedTime (year 9999). */
    const int64_t x509_time_max = 253402300799; /* 9999-12-31T23:59:59Z */
    int64_t now = (int64_t)time(NULL);
    if (o->validity_secs < 0)
        return asps_fail(eb, ASPS_E_ARG, "ratls: validity %lld s is negative",
                         (long long)o->validity_secs);
    if (!o->not_before && o->validity_secs > 0 && o->validity_secs <= 60)
        return asps_fail(eb, ASPS_E_ARG,
                         "ratls: validity %lld s from a notBefore 60 s in the past: the certificate "
                         "would be expired when made (give more than 60 s)",
                         (long long)o->validity_secs);
    if (o->not_before < 0 || o->not_before > x509_time_max ||
        o->validity_secs > x509_time_max - (o->not_before ? o->not_before : now))
        return asps_fail(eb, ASPS_E_ARG, "ratls: validity window ends after the year 9999");
    asps_err e = ASPS_OK;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    uint8_t *spki = NULL, *q1 = NULL, *q2 = NULL;
    size_t q1_len = 0, q2_len = 0;
    asps_writer claims = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN), ev = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
    BIO *cb = NULL, *kb = NULL;
    if (!key || !x) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "ratls: key generation failed");
        goto out;
    }
    int spki_len = i2d_PUBKEY(key, &spki);
    if (spki_len <= 0) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "ratls: cannot encode the public key");
        goto out;
    }
    uint8_t h[32], rd[64] = {0};
    asps_sha256(spki, (size_t)spki_len, h);
    memcpy(rd, h, 32);
    if ((e = o->quote(o->quote_ctx, rd, &q1, &q1_len, eb)) != ASPS_OK)
        goto out;
    if (!o->legacy_only) {
        dice_claims(&claims, h);
        if (claims.failed) {
            e = asps_fail(eb, ASPS_E_NOMEM, "ratls: out of memory");
            goto out;
        }
        uint8_t rd2[64] = {0};
        asps_sha256(claims.p, claims.len, rd2);
        if ((e = o->quote(o->quote_ctx, rd2, &q2, &q2_len, eb)) != ASPS_OK)
            goto out;
        cbor_put_head(&ev, CBOR_TAG, DICE_TAG);
        cbor_put_head(&ev, CBOR_ARRAY, 2);
        cbor_put_bytes(&ev, CBOR_BYTES, q2, q2_len);
        cbor_put_bytes(&ev, CBOR_BYTES, claims.p, claims.len);
        if (ev.failed) {
            e = asps_fail(eb, ASPS_E_NOMEM, "ratls: out of memory");
            goto out;
        }
    }
    int64_t nb = o->not_before ? o->not_before : (int64_t)time(NULL) - 60;
    int64_t validity = o->validity_secs > 0 ? o->validity_secs : 24 * 3600;
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    ASN1_INTEGER *sn = NULL;
    X509_NAME *name = X509_NAME_new();
    const char *cn = o->common_name ? o->common_name : "asps RA-TLS";
    int ok = RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f; /* positive */
    ok = ok && (bn = BN_bin2bn(serial, sizeof serial, NULL)) && (sn = BN_to_ASN1_INTEGER(bn, NULL)) &&
         X509_set_version(x, 2) && X509_set_serialNumber(x, sn) && name &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) &&
         X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
         ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) &&
         ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(nb + validity)) && X509_set_pubkey(x, key) &&
         add_ext(x, OID_GRAMINE, q1, q1_len) &&
         (o->legacy_only || add_ext(x, OID_DICE, ev.p, ev.len)) &&
         X509_sign(x, key, EVP_sha256()) > 0;
    BN_free(bn);
    ASN1_INTEGER_free(sn);
    X509_NAME_free(name);
    if (!ok) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "ratls: cannot build the certificate");
        goto out;
    }
    cb = BIO_new(BIO_s_mem());
    kb = BIO_new(BIO_s_secmem());
    if (!kb)
        kb = BIO_new(BIO_s_mem());
    if (!cb || !kb || !PEM_write_bio_X509(cb, x) ||
        !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL)) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "ratls: cannot encode PEM");
        goto out;
    }
    char *p;
    long n = BIO_get_mem_data(cb, &p);
    *cert_pem = malloc((size_t)n + 1);
    if (*cert_pem) {
        memcpy(*cert_pem, p, (size_t)n);
        (*cert_pem)[n] = 0;
    }
    n = BIO_get_mem_data(kb, &p);
    *key_pem = malloc((size_t)n + 1);
    if (*key_pem) {
        memcpy(*key_pem, p, (size_t)n);
        (*key_pem)[n] = 0;
        OPENSSL_cleanse(p, (size_t)n);
    }
    if (!*cert_pem || !*key_pem) {
        free(*cert_pem);
        asps_ratls_free_key(*key_pem);
        *cert_pem = *key_pem = NULL;
        e = asps_fail(eb, ASPS_E_NOMEM, "ratls: out of memory");
    }
out:
    BIO_free(cb);
    BIO_free(kb);
    OPENSSL_free(spki);
    free(q1);
    free(q2);
    asps_writer_free(&claims);
    asps_writer_free(&ev);
    X509_free(x);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return e;
}

void asps_ratls_free_key(char *key_pem)
{
    if (!key_pem)
        return;
    asps_cleanse_free_str(key_pem);
}

/* ---- extract ---------------------------------------------------------------- */

void asps_ratls_evidence_free(asps_ratls_evidence *e)
{
    if (!e)
        return;
    priv *p = e->priv;
    if (p) {
        X509_free(p->x);
        free(p->legacy);
        free(p->dice);
        free(p);
    }
    free(e);
}

/* Some producers wrap the quote in a DER OCTET STRING inside extnValue;
 * unwrap only when one OCTET STRING TLV spans the whole value. */
static asps_reader unwrap_octets(asps_reader v)
{
    asps_reader r = v, c;
    if (!asps_reader_der(&r, 0x04, &c) || asps_reader_left(&r) != 0)
        return v;
    return c;
}

/* DICE: tag 60000 [bstr quote, bstr claims]; claims: map with
 * "pubkey-hash": bstr([alg, bstr hash]) (other keys, e.g. "nonce", skipped). */
static asps_err parse_dice(asps_reader r, const uint8_t *spki, size_t spki_len,
                           asps_ratls_evidence *ev, asps_errbuf *eb)
{
    int m;
    uint64_t a;
    asps_reader quote, claims, c;
    if (!cbor_head(&r, &m, &a) || m != CBOR_TAG || a != DICE_TAG || !cbor_head(&r, &m, &a) ||
        m != CBOR_ARRAY || a != 2 || !cbor_string(&r, CBOR_BYTES, &quote) ||
        !cbor_string(&r, CBOR_BYTES, &claims) || asps_reader_left(&r) != 0)
        return asps_fail(eb, ASPS_E_PARSE, "ratls: DICE evidence is not tag 60000 [bstr, bstr]");
    ev->quote2 = asps_reader_data(&quote);
    ev->quote2_len = asps_reader_left(&quote);
    asps_sha256(asps_reader_data(&claims), asps_reader_left(&claims), ev->dice_claims_hash);
    c = claims;
    uint64_t n_keys;
    if (!cbor_head(&c, &m, &n_keys) || m != CBOR_MAP || n_keys > 64)
        return asps_fail(eb, ASPS_E_PARSE, "ratls: DICE claims are not a CBOR map");
    int found = 0;
    for (uint64_t i = 0; i < n_keys; i++) {
        asps_reader key, val;
        if (!cbor_string(&c, CBOR_TEXT, &key))
            return asps_fail(eb, ASPS_E_PARSE, "ratls: DICE claims key is not text");
        if (asps_reader_left(&key) == 11 && !memcmp(asps_reader_data(&key), "pubkey-hash", 11)) {
            if (found)
                return asps_fail(eb, ASPS_E_PARSE, "ratls: DICE pubkey-hash given twice");
            found = 1;
            asps_reader h;
            uint64_t alg;
            if (!cbor_string(&c, CBOR_BYTES, &val) || !cbor_head(&val, &m, &a) ||
                m != CBOR_ARRAY || a != 2 || !cbor_head(&val, &m, &alg) || m != CBOR_UINT ||
                !cbor_string(&val, CBOR_BYTES, &h) || asps_reader_left(&val) != 0)
                return asps_fail(eb, ASPS_E_PARSE, "ratls: DICE pubkey-hash malformed");
            const EVP_MD *md = alg == 1 ? EVP_sha256() : alg == 7 ? EVP_sha384()
                               : alg == 8 ? EVP_sha512() : NULL;
            if (!md)
                return asps_fail(eb, ASPS_E_UNSUPPORTED, "ratls: DICE hash algorithm %llu",
                                 (unsigned long long)alg);
            uint8_t d[64];
            unsigned int dl = sizeof d;
            EVP_Digest(spki, spki_len, d, &dl, md, NULL);
            ev->dice_pubkey_ok = asps_reader_left(&h) == dl &&
                                 CRYPTO_memcmp(asps_reader_data(&h), d, dl) == 0;
        } else if (!cbor_skip(&c, 1)) {
            return asps_fail(eb, ASPS_E_PARSE, "ratls: DICE claims malformed");
        }
    }
    if (!found)
        return asps_fail(eb, ASPS_E_BINDING, "ratls: DICE claims carry no pubkey-hash");
    if (asps_reader_left(&c) != 0)
        return asps_fail(eb, ASPS_E_PARSE, "ratls: trailing bytes after DICE claims");
    return ASPS_OK;
}

static X509 *load_cert(const uint8_t *buf, size_t len, asps_x509_keys keys)
{
    if (len > 0 && buf[0] == 0x30)
        return asps_x509_decode(buf, len, keys);
    /* PEM: the first block (asps_pem_cert_der: one pass for the strict
     * form gRPC hands over, OpenSSL's PEM reader for any other) */
    uint8_t *der = NULL;
    size_t dl = 0;
    if (!asps_pem_cert_der((const char *)buf, len, &der, &dl))
        return NULL;
    X509 *x = asps_x509_decode(der, dl, keys);
    OPENSSL_free(der);
    return x;
}

/* The key is what the quote vouches for; one an attacker could break would
 * let them hold an attested identity. RSA >= 2048 bits (Occlum and CCZoo
 * use 2048, old Gramine 3072), EC on the NIST curves producers use (asps
 * P-256, Gramine P-384). */
static asps_err check_key(EVP_PKEY *k, asps_errbuf *eb)
{
    if (!k)
        return asps_fail(eb, ASPS_E_PARSE, "ratls: unreadable public key");
    int id = EVP_PKEY_get_base_id(k);
    if (id == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(k) < 2048)
            return asps_fail(eb, ASPS_E_UNSUPPORTED, "ratls: RSA key of %d bits (2048 or more needed)",
                             EVP_PKEY_get_bits(k));
    } else if (id == EVP_PKEY_EC) {
        char curve[64] = "";
        size_t cl = 0;
        if (!EVP_PKEY_get_utf8_string_param(k, "group", curve, sizeof curve, &cl) ||
            (strcmp(curve, "prime256v1") && strcmp(curve, "secp384r1") && strcmp(curve, "secp521r1"))) {
            ERR_clear_error();
            return asps_fail(eb, ASPS_E_UNSUPPORTED, "ratls: EC key not on P-256, P-384 or P-521");
        }
    } else {
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "ratls: key type %s not accepted (RSA or ECDSA)",
                         OBJ_nid2sn(id));
    }
    return ASPS_OK;
}

/* The self-signature: SHA-256 or stronger, or SHA-1 for the Occlum/CCZoo
 * format, whose producers sign that way (trust comes from the quote).
 * With KEY_PROVEN (ASPS_RATLS_KEY_PROVEN) everything is checked but the
 * signature itself: see asps_ratls_verify_ex. */
static asps_err check_self_signature(X509 *x, int occlum, int key_proven, asps_errbuf *eb)
{
    if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) != 0)
        return asps_fail(eb, ASPS_E_CHAIN, "ratls: certificate is not self-signed (issuer != subject)");
    int mdnid = 0, pknid = 0;
    if (!OBJ_find_sigid_algs(X509_get_signature_nid(x), &mdnid, &pknid))
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "ratls: unknown signature algorithm");
    int strong = mdnid == NID_sha256 || mdnid == NID_sha384 || mdnid == NID_sha512;
    if (!strong && !(occlum && mdnid == NID_sha1))
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "ratls: self-signature digest %s not accepted",
                         OBJ_nid2sn(mdnid));
    /* An EC key: on a named NIST curve, its point a point of that curve
     * and not the point at infinity (asps_x509_ec_point_ok), in both
     * modes. RFC 5480 2.1.1: named curves only, no explicit parameters. */
    ASN1_OBJECT *alg = NULL;
    X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
    int ec = pub && X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pub) &&
             OBJ_obj2nid(alg) == NID_X9_62_id_ecPublicKey;
    if (ec && asps_x509_ec_point_ok(x) == NID_undef)
        return asps_fail(eb, ASPS_E_UNSUPPORTED,
                         "ratls: EC key not a point of named P-256, P-384 or P-521");
    if (key_proven) {
        /* TLS has verified the peer's signature with this very key: an EC
         * key checked above is not imported again (the import was 45% of
         * decoding a peer's certificate). Other keys are imported to have
         * their size judged. */
        if (ec)
            return ASPS_OK;
        EVP_PKEY *k = asps_x509_import_key(x, ASPS_X509_ANY_KEY);
        asps_err e = check_key(k, eb);
        EVP_PKEY_free(k);
        return e;
    }
    EVP_PKEY *k = asps_x509_key(x);
    asps_err e = check_key(k, eb);
    if (e != ASPS_OK)
        return e;
    if (!asps_x509_verify_with(x, k))
        return asps_fail(eb, ASPS_E_CHAIN, "ratls: self-signature does not verify");
    return ASPS_OK;
}

/* ---- which extensions asps understands -------------------------------------
 *
 * RFC 5280 4.2: a verifier MUST refuse a certificate that has a critical
 * extension it does not recognise, or one it recognises but cannot process;
 * a non-critical one it does not recognise it may ignore. What asps
 * understands is decided here, by asps's own list, not by OpenSSL's
 * (X509_supported_extension: it lacks the evidence OIDs, so the TCG DICE
 * evidence marked critical as the DICE profile recommends was refused, and
 * it has path-validation extensions asps never processes for a certificate
 * that is its own one-certificate path). Matched on the OID's DER content
 * bytes, exactly and whole (no prefixes):
 *
 * evidence, read below (the quote, and the binding checked by verify):
 *   1.2.840.113741.1337.6       Gramine (legacy)
 *   0.6.9.42.840.113741.1337.6  Gramine before its August 2022 OID fix
 *                               (gramine commit f4d6b2bb5): the OID's own DER
 *                               tag and length (06 09) inside its value
 *   2.23.133.5.4.9              TCG DICE tagged evidence
 *   1.2.840.113741.1            Occlum / Intel CCZoo
 * standard:
 *   basicConstraints (2.5.29.19, RFC 5280 4.2.1.9) limits the certificate's
 *     use as an issuer (checked on intermediates only, 6.1.4 (k)). asps never
 *     checks another certificate's signature with an RA-TLS certificate, so
 *     the constraint holds whatever it says; CA:TRUE is tolerated too
 *     (`openssl req -x509` writes critical CA:TRUE by default).
 *   keyUsage (2.5.29.15, 4.2.1.3) is processed, critical or not (4.2: a
 *     recognised extension is processed): it must assert digitalSignature,
 *     as the key's one use is to sign the TLS handshake.
 *   subjectAltName (2.5.29.17, 4.2.1.6) is critical when the subject is
 *     empty. asps never identifies an RA-TLS peer by name (the quote does),
 *     so no name in it is relied on.
 * A critical standard extension must also decode. Anything else marked
 * critical is refused with its OID named: among them extendedKeyUsage
 * (4.2.1.12: asps would have to know the certificate's role to honour it),
 * the path-validation extensions (certificatePolicies 4.2.1.4,
 * policyMappings 4.2.1.5, nameConstraints 4.2.1.10, policyConstraints
 * 4.2.1.11, inhibitAnyPolicy 4.2.1.14), and the key identifiers, which
 * 4.2.1.1 and 4.2.1.2 forbid marking critical. */
enum ext_kind {
    EXT_OTHER,
    EXT_GRAMINE,
    EXT_GRAMINE_MISENCODED,
    EXT_DICE,
    EXT_OCCLUM,
    EXT_BASIC_CONSTRAINTS,
    EXT_KEY_USAGE,
    EXT_SUBJECT_ALT_NAME,
    EXT_KINDS
};

static const struct known_ext {
    enum ext_kind kind;
    size_t len;
    uint8_t der[11]; /* the OID's DER content bytes (after tag and length) */
} known_exts[] = {
    {EXT_GRAMINE, 9, {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x8a, 0x39, 0x06}},
    {EXT_GRAMINE_MISENCODED, 11, {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x8a, 0x39, 0x06}},
    {EXT_DICE, 6, {0x67, 0x81, 0x05, 0x05, 0x04, 0x09}},
    {EXT_OCCLUM, 7, {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01}},
    {EXT_BASIC_CONSTRAINTS, 3, {0x55, 0x1d, 0x13}},
    {EXT_KEY_USAGE, 3, {0x55, 0x1d, 0x0f}},
    {EXT_SUBJECT_ALT_NAME, 3, {0x55, 0x1d, 0x11}},
};

static enum ext_kind ext_kind_of(const ASN1_OBJECT *o)
{
    const unsigned char *d = OBJ_get0_data(o);
    size_t n = OBJ_length(o);
    for (size_t i = 0; d && i < sizeof known_exts / sizeof known_exts[0]; i++)
        if (known_exts[i].len == n && !memcmp(known_exts[i].der, d, n))
            return known_exts[i].kind;
    return EXT_OTHER;
}

/* RFC 5280 4.2 on one extension, by the list above. */
static asps_err check_extension(X509_EXTENSION *ext, enum ext_kind k, asps_errbuf *eb)
{
    int critical = X509_EXTENSION_get_critical(ext) > 0;
    char oid[128];
    if (OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 1) <= 0)
        strcpy(oid, "(unprintable OID)");
    if (critical && k == EXT_OTHER)
        return asps_fail(eb, ASPS_E_UNSUPPORTED,
                         "ratls: critical extension %s is not one asps understands", oid);
    if (k == EXT_KEY_USAGE) {
        ASN1_BIT_STRING *ku = X509V3_EXT_d2i(ext);
        int sign = ku && ASN1_BIT_STRING_get_bit(ku, 0); /* digitalSignature */
        int readable = ku != NULL;
        ASN1_BIT_STRING_free(ku);
        if (!readable)
            return asps_fail(eb, ASPS_E_PARSE, "ratls: keyUsage extension cannot be read");
        if (!sign)
            return asps_fail(eb, ASPS_E_UNSUPPORTED,
                             "ratls: keyUsage does not allow digitalSignature (the key signs the TLS handshake)");
    } else if (critical && (k == EXT_BASIC_CONSTRAINTS || k == EXT_SUBJECT_ALT_NAME)) {
        void *v = X509V3_EXT_d2i(ext);
        if (!v)
            return asps_fail(eb, ASPS_E_PARSE, "ratls: critical extension %s cannot be read", oid);
        if (k == EXT_BASIC_CONSTRAINTS)
            BASIC_CONSTRAINTS_free(v);
        else
            GENERAL_NAMES_free(v);
    }
    return ASPS_OK;
}

/* RFC 5280 4.2: "A certificate MUST NOT include more than one instance of a
 * particular extension." OpenSSL flags a duplicate only among the
 * extensions it knows, and asps reads one instance of each, so a second
 * one (two basicConstraints saying CA:TRUE and CA:FALSE, two copies of an
 * unknown extension) would pass unread. Any OID twice refuses the
 * certificate. The OIDs are sorted first: a certificate may hold tens of
 * thousands of extensions, and the handshake must not pay n^2 for them. */
typedef struct oid_ref {
    const unsigned char *der;
    size_t len;
    int index;
} oid_ref;

static int oid_ref_cmp(const void *a, const void *b)
{
    const oid_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->der, y->der, n) : 0;
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static asps_err no_duplicate_extensions(X509 *x, asps_errbuf *eb)
{
    int n = X509_get_ext_count(x);
    if (n < 2)
        return ASPS_OK;
    oid_ref *r = malloc((size_t)n * sizeof *r);
    if (!r)
        return asps_fail(eb, ASPS_E_NOMEM, "ratls: out of memory");
    for (int i = 0; i < n; i++) {
        const ASN1_OBJECT *o = X509_EXTENSION_get_object(X509_get_ext(x, i));
        r[i].der = OBJ_get0_data(o);
        r[i].len = r[i].der ? OBJ_length(o) : 0;
        r[i].index = i;
    }
    qsort(r, (size_t)n, sizeof *r, oid_ref_cmp);
    asps_err e = ASPS_OK;
    for (int i = 1; i < n && e == ASPS_OK; i++) {
        if (oid_ref_cmp(&r[i - 1], &r[i]) != 0)
            continue;
        char oid[128];
        if (OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(X509_get_ext(x, r[i].index)), 1) <= 0)
            strcpy(oid, "(unprintable OID)");
        e = asps_fail(eb, ASPS_E_PARSE,
                      "ratls: extension %s appears twice (RFC 5280 4.2: one instance at most)", oid);
    }
    free(r);
    return e;
}

static asps_err extract(const uint8_t *cert, size_t len, unsigned flags, asps_ratls_evidence **out,
                        asps_errbuf *eb)
{
    *out = NULL;
    if (!cert || len == 0 || len > MAX_CERT)
        return asps_fail(eb, ASPS_E_PARSE, "ratls: certificate empty or larger than %d bytes", MAX_CERT);
    /* a TLS peer's key is not imported (check_self_signature) */
    X509 *x = load_cert(cert, len, flags & ASPS_RATLS_KEY_PROVEN ? ASPS_X509_NO_KEY : ASPS_X509_ANY_KEY);
    if (!x)
        return asps_fail(eb, ASPS_E_PARSE, "ratls: not a PEM or DER X.509 certificate");
    asps_ratls_evidence *ev = calloc(1, sizeof *ev);
    priv *p = calloc(1, sizeof *p);
    if (!ev || !p) {
        free(ev);
        free(p);
        X509_free(x);
        return asps_fail(eb, ASPS_E_NOMEM, "ratls: out of memory");
    }
    ev->priv = p;
    p->x = x;
    asps_err e = ASPS_OK;
    uint8_t *spki = NULL;
    int spki_len;
    /* every extension, by asps's own list (above), before anything else */
    int n[EXT_KINDS] = {0};
    const ASN1_OCTET_STRING *val[EXT_KINDS] = {0};
    if ((e = no_duplicate_extensions(x, eb)) != ASPS_OK)
        goto out;
    for (int i = 0; i < X509_get_ext_count(x); i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        enum ext_kind k = ext_kind_of(X509_EXTENSION_get_object(ext));
        if ((e = check_extension(ext, k, eb)) != ASPS_OK)
            goto out;
        n[k]++;
        val[k] = X509_EXTENSION_get_data(ext);
    }
    ev->not_before = asps_x509_time_unix(X509_get0_notBefore(x));
    ev->not_after = asps_x509_time_unix(X509_get0_notAfter(x));
    if (ev->not_before == INT64_MIN || ev->not_after == INT64_MIN || ev->not_after < ev->not_before) {
        e = asps_fail(eb, ASPS_E_PARSE, "ratls: unreadable or inverted validity period");
        goto out;
    }
    spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    if (spki_len <= 0) {
        e = asps_fail(eb, ASPS_E_PARSE, "ratls: unreadable public key");
        goto out;
    }
    asps_sha256(spki, (size_t)spki_len, ev->spki_hash);

    int misencoded = n[EXT_GRAMINE_MISENCODED] > 0;
    int n_legacy = n[EXT_GRAMINE] + n[EXT_GRAMINE_MISENCODED], n_dice = n[EXT_DICE],
        n_occlum = n[EXT_OCCLUM];
    const ASN1_OCTET_STRING *legacy = val[misencoded ? EXT_GRAMINE_MISENCODED : EXT_GRAMINE],
                            *dice = val[EXT_DICE], *occ = val[EXT_OCCLUM];
    if (n[EXT_GRAMINE] && misencoded) {
        e = asps_fail(eb, ASPS_E_PARSE,
                      "ratls: Gramine evidence under both its OID and the mis-encoded pre-2022 one");
        goto out;
    }
    if (n_legacy > 1 || n_dice > 1 || n_occlum > 1) {
        e = asps_fail(eb, ASPS_E_PARSE, "ratls: an evidence extension appears twice");
        goto out;
    }
    /* Gramine wrote the mis-encoded OID until August 2022 and DICE evidence
     * only from 1.8 on: no producer writes both, so nothing says how they
     * would bind together */
    if (misencoded && n_dice) {
        e = asps_fail(eb, ASPS_E_PARSE,
                      "ratls: DICE evidence beside the mis-encoded pre-2022 Gramine OID");
        goto out;
    }
    if (n_occlum && (n_legacy || n_dice)) {
        e = asps_fail(eb, ASPS_E_PARSE, "ratls: evidence in two unrelated formats (Occlum and Gramine)");
        goto out;
    }
    if (!n_legacy && !n_dice && !n_occlum) {
        e = asps_fail(eb, ASPS_E_NO_EVIDENCE, "ratls: the certificate carries no attestation evidence");
        goto out;
    }
    if ((e = check_self_signature(x, n_occlum, (flags & ASPS_RATLS_KEY_PROVEN) != 0, eb)) != ASPS_OK)
        goto out;
    const ASN1_OCTET_STRING *q = n_occlum ? occ : n_legacy ? legacy : NULL;
    if (q) {
        asps_reader v = unwrap_octets(
            asps_reader_init(ASN1_STRING_get0_data(q), (size_t)ASN1_STRING_length(q)));
        if (asps_reader_left(&v) == 0) {
            e = asps_fail(eb, ASPS_E_NO_EVIDENCE, "ratls: the evidence extension is empty");
            goto out;
        }
        p->legacy = malloc(asps_reader_left(&v));
        if (!p->legacy) {
            e = asps_fail(eb, ASPS_E_NOMEM, "ratls: out of memory");
            goto out;
        }
        p->legacy_len = asps_reader_left(&v);
        asps_reader_copy(&v, p->legacy, p->legacy_len);
        ev->quote = p->legacy;
        ev->quote_len = p->legacy_len;
    }
    if (n_dice) {
        p->dice_len = (size_t)ASN1_STRING_length(dice);
        p->dice = malloc(p->dice_len ? p->dice_len : 1);
        if (!p->dice) {
            e = asps_fail(eb, ASPS_E_NOMEM, "ratls: out of memory");
            goto out;
        }
        memcpy(p->dice, ASN1_STRING_get0_data(dice), p->dice_len);
        e = parse_dice(asps_reader_init(p->dice, p->dice_len), spki, (size_t)spki_len, ev, eb);
        if (e != ASPS_OK)
            goto out;
    }
    strcpy(ev->format, n_occlum                  ? "occlum"
                       : misencoded              ? "gramine-misencoded-oid"
                       : (n_legacy && n_dice)    ? "gramine+dice"
                       : n_legacy                ? "gramine"
                                                 : "dice");
    if (!ev->quote) { /* DICE only: its quote is the one to verify */
        ev->quote = ev->quote2;
        ev->quote_len = ev->quote2_len;
        ev->quote2 = NULL;
        ev->quote2_len = 0;
    }
out:
    OPENSSL_free(spki);
    ERR_clear_error();
    if (e != ASPS_OK) {
        asps_ratls_evidence_free(ev);
        return e;
    }
    *out = ev;
    return ASPS_OK;
}

asps_err asps_ratls_extract(const uint8_t *cert, size_t len, asps_ratls_evidence **out,
                            asps_errbuf *eb)
{
    return extract(cert, len, 0, out, eb);
}

/* ---- verify ----------------------------------------------------------------- */

static asps_err verify_one(asps_verifier *v, const uint8_t *q, size_t qlen,
                           asps_ratls_collateral_fn colfn, void *ctx, int64_t at,
                           asps_claims *c, asps_errbuf *eb)
{
    const asps_collateral *col = NULL;
    int owned = 0;
    ASPS_TRY(colfn(ctx, q, qlen, &col, &owned, eb));
    asps_err e = asps_verify_quote(v, q, qlen, col, at, c, eb);
    if (owned)
        asps_collateral_free((asps_collateral *)col);
    return e;
}

static int same_identity(const asps_claims *a, const asps_claims *b)
{
    if (a->tee != b->tee || a->debug != b->debug || a->simulated != b->simulated)
        return 0;
    if (a->tee == ASPS_TEE_SGX) {
        const asps_claims_sgx *x = &a->sgx, *y = &b->sgx;
        return !CRYPTO_memcmp(x->mr_enclave, y->mr_enclave, 32) &&
               !CRYPTO_memcmp(x->mr_signer, y->mr_signer, 32) && x->isv_prod_id == y->isv_prod_id &&
               x->isv_svn == y->isv_svn && x->config_svn == y->config_svn &&
               !CRYPTO_memcmp(x->attributes, y->attributes, 16) &&
               !CRYPTO_memcmp(x->config_id, y->config_id, 64);
    }
    const asps_claims_tdx *x = &a->tdx, *y = &b->tdx;
    return !CRYPTO_memcmp(x->mr_td, y->mr_td, 48) && !CRYPTO_memcmp(x->rtmr, y->rtmr, sizeof x->rtmr) &&
           !CRYPTO_memcmp(x->mr_config_id, y->mr_config_id, 48) &&
           !CRYPTO_memcmp(x->mr_owner, y->mr_owner, 48) &&
           !CRYPTO_memcmp(x->td_attributes, y->td_attributes, 8);
}

asps_err asps_ratls_verify(asps_verifier *v, const uint8_t *cert, size_t len,
                           asps_ratls_collateral_fn colfn, void *ctx, int64_t at,
                           asps_claims *claims, asps_errbuf *eb)
{
    return asps_ratls_verify_ex(v, cert, len, colfn, ctx, at, 0, claims, eb);
}

asps_err asps_ratls_verify_ex(asps_verifier *v, const uint8_t *cert, size_t len,
                              asps_ratls_collateral_fn colfn, void *ctx, int64_t at, unsigned flags,
                              asps_claims *claims, asps_errbuf *eb)
{
    memset(claims, 0, sizeof *claims);
    asps_ratls_evidence *ev;
    ASPS_TRY(extract(cert, len, flags, &ev, eb));
    asps_err e = ASPS_OK;
    asps_claims c1, c2;
    if (at < ev->not_before || at > ev->not_after) {
        /* which end, and when: a peer whose clock is behind (not valid
         * yet) is told apart from one whose certificate ran out */
        char when[32];
        asps_time_format(at < ev->not_before ? ev->not_before : ev->not_after, when);
        e = asps_fail(eb, ASPS_E_CERT_EXPIRED, "ratls: certificate %s %s",
                      at < ev->not_before ? "not valid before" : "expired at", when);
        goto out;
    }
    int dice_only = !strcmp(ev->format, "dice");
    e = verify_one(v, ev->quote, ev->quote_len, colfn, ctx, at, &c1, eb);
    if (e != ASPS_OK)
        goto out;
    /* the binding: report data [0..31] = the key's hash (constant time).
     * Bytes 32..63 are not compared: Gramine's own verifier
     * (cmp_crt_pk_against_quote_report_data) compares 32 bytes, Gramine
     * writes zeros there and other producers may put a nonce there; none of
     * it weakens the binding, which SHA-256 carries alone. */
    const uint8_t *want = dice_only ? ev->dice_claims_hash : ev->spki_hash;
    if (CRYPTO_memcmp(asps_claims_report_data(&c1), want, 32) != 0) {
        e = asps_fail(eb, ASPS_E_BINDING, "ratls: the quote was made for another key");
        goto out;
    }
    if (dice_only && !ev->dice_pubkey_ok) {
        e = asps_fail(eb, ASPS_E_BINDING, "ratls: DICE pubkey-hash is not this certificate's key");
        goto out;
    }
    uint8_t rd2[64];
    if (ev->quote2 && (flags & ASPS_RATLS_SAME_QE_BINDING) &&
        asps_quote_same_but_binding(ev->quote, ev->quote_len, ev->quote2, ev->quote2_len, rd2)) {
        /* Gramine + DICE, as asps and Gramine write them: one QE's two
         * quotes for two report data. Every byte but the report data and
         * the quote signature is the verified quote's, so the DICE quote
         * claims the same identity, TCB and collateral; what is left to
         * check is that it was made for this certificate's DICE claims. Its
         * signature adds nothing a relying party uses (the claims are the
         * first quote's), so it is not checked: one ECDSA verify saved per
         * certificate. Any other pair, or without the flag, is verified in
         * full below. */
        if (!ev->dice_pubkey_ok || CRYPTO_memcmp(rd2, ev->dice_claims_hash, 32) != 0) {
            e = asps_fail(eb, ASPS_E_BINDING, "ratls: the DICE quote was made for another key");
            goto out;
        }
    } else if (ev->quote2) {
        e = verify_one(v, ev->quote2, ev->quote2_len, colfn, ctx, at, &c2, eb);
        if (e != ASPS_OK)
            goto out;
        if (!ev->dice_pubkey_ok ||
            CRYPTO_memcmp(asps_claims_report_data(&c2), ev->dice_claims_hash, 32) != 0) {
            e = asps_fail(eb, ASPS_E_BINDING, "ratls: the DICE quote was made for another key");
            goto out;
        }
        if (!same_identity(&c1, &c2)) {
            e = asps_fail(eb, ASPS_E_BINDING, "ratls: the two quotes claim different identities");
            goto out;
        }
        if (c2.expires_at < c1.expires_at)
            c1.expires_at = c2.expires_at;
    }
    if (ev->not_after < c1.expires_at)
        c1.expires_at = ev->not_after;
    snprintf(c1.ratls_format, sizeof c1.ratls_format, "%s", ev->format);
    *claims = c1;
out:
    asps_ratls_evidence_free(ev);
    return e;
}
