/* test_sim.c: the simulated platform, and through it the DCAP checks that
 * need collateral re-signed (we hold the simulated keys): each mutation of a
 * signed body, validly re-signed, must still be caught by the check that
 * covers that field. Also: sim quotes verify only with the sim root, every
 * TCB level yields its status and advisories, revocation, expiry; the
 * sim's certificates carry Intel's extensions (CRL distribution points). */
#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sim.h"
#include "asps/verify.h"
#include "dcap_parse.h"
#include "quote.h"
#include "testutil.h"
#include "util.h"

static char *g_dir;

static int setup(void **state)
{
    (void)state;
    g_dir = tu_mkdtemp();
    asps_errbuf eb;
    if (asps_sim_init(g_dir, &eb) != ASPS_OK) {
        fprintf(stderr, "sim init: %s\n", eb.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(g_dir);
    free(g_dir);
    return 0;
}

static uint8_t *make_quote(const char *dir, asps_tee tee, asps_tcb_status tcb, size_t *len)
{
    asps_sim *s;
    asps_errbuf eb;
    assert_int_equal(asps_sim_open(dir, &s, &eb), ASPS_OK);
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    id.tee = tee;
    id.tcb = tcb;
    memset(id.mr_enclave, 0xa1, 32);
    memset(id.mr_td, 0xcd, 48);
    uint8_t *q;
    assert_int_equal(asps_sim_quote(s, &id, &q, len, &eb), ASPS_OK);
    asps_sim_free(s);
    return q;
}

static char *read_bundle(const char *dir, const char *tee)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/collateral_%s.json", dir, tee);
    return (char *)tu_read_file(p, NULL);
}

static asps_err verify(const char *dir, const uint8_t *q, size_t len, const char *bundle,
                       int trust_sim, int64_t at, asps_claims *c, asps_errbuf *eb)
{
    asps_verifier *v;
    asps_collateral *col;
    assert_int_equal(asps_verifier_new(&v, eb), ASPS_OK);
    if (trust_sim) {
        char p[4200];
        size_t n;
        snprintf(p, sizeof p, "%s/root_ca.der", dir);
        uint8_t *root = tu_read_file(p, &n);
        assert_int_equal(asps_verifier_add_root(v, root, n, eb), ASPS_OK);
        free(root);
    }
    asps_err e = asps_collateral_parse_bundle((const uint8_t *)bundle, strlen(bundle), &col, eb);
    if (e == ASPS_OK) {
        e = asps_verify_quote(v, q, len, col, at ? at : (int64_t)time(NULL), c, eb);
        asps_collateral_free(col);
    }
    asps_verifier_free(v);
    return e;
}

/* Sign BODY with the sim's TCB signing key; raw r||s hex into out (129). */
static void resign(const char *body, char out[129])
{
    char p[4200];
    snprintf(p, sizeof p, "%s/tcb_signing.key", g_dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[80], raw[64];
    size_t dl = sizeof der;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(md, der, &dl, (const uint8_t *)body, strlen(body)), 1);
    const unsigned char *pp = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &pp, (long)dl);
    const BIGNUM *r, *sv;
    ECDSA_SIG_get0(s, &r, &sv);
    BN_bn2binpad(r, raw, 32);
    BN_bn2binpad(sv, raw + 32, 32);
    asps_hex_encode(raw, 64, out);
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
}

/* The bundle with FIELD's body edited (find -> repl, once) and re-signed. */
static char *edited(const char *bundle, const char *field, const char *find, const char *repl)
{
    cJSON *o = cJSON_Parse(bundle);
    const char *body = cJSON_GetObjectItem(o, field)->valuestring;
    const char *at = strstr(body, find);
    if (!at)
        fail_msg("'%s' not in %s", find, field);
    size_t n = strlen(body) - strlen(find) + strlen(repl) + 1;
    char *nb = malloc(n);
    snprintf(nb, n, "%.*s%s%s", (int)(at - body), body, repl, at + strlen(find));
    char sig[129];
    resign(nb, sig);
    char sigfield[64];
    snprintf(sigfield, sizeof sigfield, "%s_signature", field);
    cJSON_ReplaceItemInObject(o, field, cJSON_CreateString(nb));
    cJSON_ReplaceItemInObject(o, sigfield, cJSON_CreateString(sig));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(nb);
    return s;
}

static void expect(asps_tee tee, const char *bundle, asps_err want, const char *what)
{
    size_t len;
    uint8_t *q = make_quote(g_dir, tee, ASPS_TCB_UP_TO_DATE, &len);
    asps_claims c;
    asps_errbuf eb = {{0}};
    asps_err e = verify(g_dir, q, len, bundle, 1, 0, &c, &eb);
    if (e != want)
        fail_msg("%s: want %s, got %s: %s", what, asps_err_name(want), asps_err_name(e), eb.msg);
    free(q);
}

/* ---- the platform itself ------------------------------------------------------ */

static void test_sim_init_writes_pki_with_private_keys_0600(void **state)
{
    (void)state;
    const char *keys[] = {"root_ca.key", "pck_ca.key", "tcb_signing.key", "pck.key"};
    struct stat st;
    for (size_t i = 0; i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", g_dir, keys[i]);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    assert_int_equal(stat(g_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char p[4200];
    snprintf(p, sizeof p, "%s/root_ca.pem", g_dir);
    FILE *f = fopen(p, "r");
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    char cn[256];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    assert_non_null(strstr(cn, "asps simulated"));
    X509_free(x);
}

/* A trusted root comes as DER or PEM (the one PEM->DER, base/util.c), and
 * as exactly one certificate: trailing bytes after the DER, outside or
 * inside the PEM, are refused rather than ignored. */
static void test_verifier_root_der_or_pem_exactly(void **state)
{
    (void)state;
    asps_errbuf eb;
    asps_verifier *v;
    char p[4200];
    size_t n;
    snprintf(p, sizeof p, "%s/root_ca.der", g_dir);
    uint8_t *der = tu_read_file(p, &n);
    assert_non_null(der);
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    assert_int_equal(asps_verifier_add_root(v, der, n, &eb), ASPS_OK);
    /* the PEM the sim wrote beside it */
    snprintf(p, sizeof p, "%s/root_ca.pem", g_dir);
    size_t pn;
    uint8_t *pem = tu_read_file(p, &pn);
    assert_non_null(pem);
    assert_int_equal(asps_verifier_add_root(v, pem, pn, &eb), ASPS_OK);
    /* DER + one byte */
    uint8_t *der1 = malloc(n + 1);
    assert_non_null(der1);
    memcpy(der1, der, n);
    der1[n] = 0;
    assert_int_equal(asps_verifier_add_root(v, der1, n + 1, &eb), ASPS_E_PARSE);
    /* PEM around DER + one byte */
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio(b, "CERTIFICATE", "", der1, (long)n + 1) > 0);
    char *text;
    long tl = BIO_get_mem_data(b, &text);
    assert_int_equal(asps_verifier_add_root(v, (const uint8_t *)text, (size_t)tl, &eb), ASPS_E_PARSE);
    BIO_free(b);
    /* a PEM block that is not a certificate */
    b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio(b, "X509 CRL", "", der, (long)n) > 0);
    tl = BIO_get_mem_data(b, &text);
    assert_int_equal(asps_verifier_add_root(v, (const uint8_t *)text, (size_t)tl, &eb), ASPS_E_PARSE);
    BIO_free(b);
    asps_verifier_free(v);
    free(der1);
    free(pem);
    free(der);
}

static void test_sim_pck_extension_parses_as_intel_asn1(void **state)
{
    (void)state;
    char p[4200];
    snprintf(p, sizeof p, "%s/pck_chain_OutOfDate.pem", g_dir);
    FILE *f = fopen(p, "r");
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    int idx = X509_get_ext_by_OBJ(x, oid, -1);
    assert_true(idx >= 0);
    ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    asps_pck_ext ext;
    asps_errbuf eb;
    assert_int_equal(asps_dcap_parse_pck_ext(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), &ext, &eb),
                     ASPS_OK);
    assert_memory_equal(ext.fmspc, "\x00\x90\x6e\xd5\x00\x00", 6);
    assert_int_equal(ext.pcesvn, 13);
    assert_int_equal(ext.cpusvn_comp[0], 5); /* OutOfDate is the 5th level: 9 - 4 */
    assert_int_equal(ext.cpusvn[0], 5);
    ASN1_OBJECT_free(oid);
    X509_free(x);
}

static void test_sim_quote_verifies_with_sim_root_only(void **state)
{
    (void)state;
    size_t len;
    uint8_t *q = make_quote(g_dir, ASPS_TEE_SGX, ASPS_TCB_UP_TO_DATE, &len);
    char *b = read_bundle(g_dir, "sgx");
    asps_claims c;
    asps_errbuf eb;
    assert_int_equal(verify(g_dir, q, len, b, 1, 0, &c, &eb), ASPS_OK);
    assert_true(c.simulated);
    assert_int_equal(c.sgx.mr_enclave[5], 0xa1);
    assert_int_equal(verify(g_dir, q, len, b, 0, 0, &c, &eb), ASPS_E_ROOT_UNTRUSTED);
    free(q);
    free(b);
}

static void test_sim_every_tcb_level_yields_its_status_and_advisories(void **state)
{
    (void)state;
    static const struct {
        asps_tcb_status st;
        const char *adv;
    } want[] = {
        {ASPS_TCB_UP_TO_DATE, ""},
        {ASPS_TCB_SW_HARDENING_NEEDED, "INTEL-SA-00615,"},
        {ASPS_TCB_CONFIGURATION_NEEDED, "INTEL-SA-00289,"},
        {ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, "INTEL-SA-00289,INTEL-SA-00615,"},
        {ASPS_TCB_OUT_OF_DATE, "INTEL-SA-00828,"},
        {ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, "INTEL-SA-00828,INTEL-SA-00289,"},
        {ASPS_TCB_REVOKED, "INTEL-SA-00999,"},
    };
    for (int t = 0; t < 2; t++) {
        asps_tee tee = t ? ASPS_TEE_TDX : ASPS_TEE_SGX;
        char *b = read_bundle(g_dir, t ? "tdx" : "sgx");
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            size_t len;
            uint8_t *q = make_quote(g_dir, tee, want[i].st, &len);
            asps_claims c;
            asps_errbuf eb;
            asps_err e = verify(g_dir, q, len, b, 1, 0, &c, &eb);
            assert_int_equal(e, want[i].st == ASPS_TCB_REVOKED ? ASPS_E_TCB_REVOKED : ASPS_OK);
            assert_int_equal(c.tcb_status, want[i].st);
            char got[512] = "";
            for (size_t k = 0; k < c.n_advisories; k++) {
                strcat(got, c.advisory_ids[k]);
                strcat(got, ",");
            }
            if (strcmp(got, want[i].adv))
                fail_msg("%s level %s: advisories '%s'", t ? "tdx" : "sgx",
                         asps_tcb_status_name(want[i].st), got);
            free(q);
        }
        free(b);
    }
}

static void test_sim_tampered_quotes_are_caught(void **state)
{
    (void)state;
    size_t len;
    uint8_t *q = make_quote(g_dir, ASPS_TEE_SGX, ASPS_TCB_UP_TO_DATE, &len);
    char *b = read_bundle(g_dir, "sgx");
    asps_claims c;
    asps_errbuf eb;
    q[48 + 64] ^= 1; /* MRENCLAVE */
    assert_int_equal(verify(g_dir, q, len, b, 1, 0, &c, &eb), ASPS_E_QUOTE_SIGNATURE);
    q[48 + 64] ^= 1;
    q[564 + 258] ^= 1; /* QE ISVSVN */
    assert_int_equal(verify(g_dir, q, len, b, 1, 0, &c, &eb), ASPS_E_QE_REPORT_SIGNATURE);
    free(q);
    free(b);
}

/* ---- the sim's artifacts checked without asps's verifier ----------------------- */

static STACK_OF(X509) *pem_certs(const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
        sk_X509_push(sk, x);
    BIO_free(b);
    return sk;
}

static STACK_OF(X509) *pem_file_certs(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t n;
    char *pem = (char *)tu_read_file(p, &n);
    assert_non_null(pem);
    STACK_OF(X509) *sk = pem_certs(pem, n);
    free(pem);
    return sk;
}

/* Standard RFC 5280 path validation (OpenSSL, strict) of LEAF through the
 * other certificates of CHAIN to the root in ROOT_DER. */
static int openssl_path_ok(X509 *leaf, STACK_OF(X509) *untrusted, const uint8_t *root_der, size_t root_len,
                           int expect_ok)
{
    const unsigned char *p = root_der;
    X509 *root = d2i_X509(NULL, &p, (long)root_len);
    assert_non_null(root);
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, root);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, untrusted);
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
    int ok = X509_verify_cert(ctx) == 1;
    if (!ok && expect_ok)
        fprintf(stderr, "  openssl: %s\n", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_free(root);
    return ok;
}

/* Every chain the sim hands out (PCK chain per TCB level, TDX PCK chain, the
 * collateral's issuer chains) passes OpenSSL's strict path validation to the
 * sim root (Intel's basic constraints: root pathlen 1, PCK CA pathlen 0),
 * and none of them to Intel's root. */
static void test_sim_chains_pass_openssl_path_validation(void **state)
{
    (void)state;
    char p[4200];
    size_t root_len, intel_len;
    snprintf(p, sizeof p, "%s/root_ca.der", g_dir);
    uint8_t *root = tu_read_file(p, &root_len);
    const uint8_t *intel = asps_intel_root_ca_der(&intel_len);
    const char *files[] = {"pck_chain_UpToDate.pem", "pck_chain_SWHardeningNeeded.pem",
                           "pck_chain_ConfigurationNeeded.pem",
                           "pck_chain_ConfigurationAndSWHardeningNeeded.pem", "pck_chain_OutOfDate.pem",
                           "pck_chain_OutOfDateConfigurationNeeded.pem", "pck_chain_Revoked.pem",
                           "pck_chain_tdx.pem"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        STACK_OF(X509) *sk = pem_file_certs(g_dir, files[i]);
        assert_int_equal(sk_X509_num(sk), 3);
        if (!openssl_path_ok(sk_X509_value(sk, 0), sk, root, root_len, 1))
            fail_msg("%s does not validate to the sim root", files[i]);
        assert_false(openssl_path_ok(sk_X509_value(sk, 0), sk, intel, intel_len, 0));
        sk_X509_pop_free(sk, X509_free);
    }
    const char *fields[] = {"tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_crl_issuer_chain"};
    for (int t = 0; t < 2; t++) {
        char *b = read_bundle(g_dir, t ? "tdx" : "sgx");
        cJSON *o = cJSON_Parse(b);
        for (size_t i = 0; i < 3; i++) {
            const char *pem = cJSON_GetObjectItem(o, fields[i])->valuestring;
            STACK_OF(X509) *sk = pem_certs(pem, strlen(pem));
            assert_int_equal(sk_X509_num(sk), 2);
            if (!openssl_path_ok(sk_X509_value(sk, 0), sk, root, root_len, 1))
                fail_msg("%s does not validate to the sim root", fields[i]);
            sk_X509_pop_free(sk, X509_free);
        }
        cJSON_Delete(o);
        free(b);
    }
    free(root);
}

/* Raw r||s (hex) over BODY, verified with CERT's key by OpenSSL. */
static int openssl_sig_ok(X509 *cert, const char *body, size_t body_len, const char *sig_hex)
{
    uint8_t raw[64];
    assert_int_equal(strlen(sig_hex), 128);
    assert_int_equal(asps_hex_decode(sig_hex, 128, raw, 64), 0);
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
    uint8_t *der = NULL;
    int dl = i2d_ECDSA_SIG(sig, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)) == 1 &&
             EVP_DigestVerify(md, der, (size_t)dl, (const uint8_t *)body, body_len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return ok;
}

/* TCB info and QE identity signatures are ECDSA P-256 SHA-256 over the exact
 * body bytes by the TCB signing certificate of the issuer chain, stored as
 * raw r||s; CRLs are DER, signed by the CA whose CRL they are. Checked with
 * OpenSSL alone; a one-byte change in a body breaks its signature. */
static void test_sim_collateral_signatures_verify_with_openssl(void **state)
{
    (void)state;
    for (int t = 0; t < 2; t++) {
        char *b = read_bundle(g_dir, t ? "tdx" : "sgx");
        cJSON *o = cJSON_Parse(b);
        const char *chain = cJSON_GetObjectItem(o, "tcb_info_issuer_chain")->valuestring;
        STACK_OF(X509) *sk = pem_certs(chain, strlen(chain));
        X509 *signer = sk_X509_value(sk, 0), *root = sk_X509_value(sk, 1);
        char cn[256];
        X509_NAME_get_text_by_NID(X509_get_subject_name(signer), NID_commonName, cn, sizeof cn);
        assert_string_equal(cn, "asps simulated SGX TCB Signing");
        const char *bodies[] = {"tcb_info", "qe_identity"};
        for (int k = 0; k < 2; k++) {
            char sigf[64];
            snprintf(sigf, sizeof sigf, "%s_signature", bodies[k]);
            const char *body = cJSON_GetObjectItem(o, bodies[k])->valuestring;
            const char *sig = cJSON_GetObjectItem(o, sigf)->valuestring;
            assert_true(openssl_sig_ok(signer, body, strlen(body), sig));
            char *copy = strdup(body);
            copy[strlen(copy) / 2] ^= 1;
            assert_false(openssl_sig_ok(signer, copy, strlen(copy), sig));
            free(copy);
            /* the body is the JSON shape Intel signs */
            cJSON *j = cJSON_Parse(body);
            assert_non_null(j);
            const char *id = cJSON_GetObjectItem(j, "id")->valuestring;
            assert_string_equal(id, k == 0 ? (t ? "TDX" : "SGX") : (t ? "TD_QE" : "QE"));
            assert_int_equal(cJSON_GetObjectItem(j, "version")->valueint, k == 0 ? 3 : 2);
            cJSON_Delete(j);
        }
        /* CRLs */
        const char *pchain = cJSON_GetObjectItem(o, "pck_crl_issuer_chain")->valuestring;
        STACK_OF(X509) *psk = pem_certs(pchain, strlen(pchain));
        struct {
            const char *field;
            X509 *issuer;
        } crls[] = {{"root_ca_crl", root}, {"pck_crl", sk_X509_value(psk, 0)}};
        for (int k = 0; k < 2; k++) {
            uint8_t *der;
            size_t dl;
            assert_int_equal(asps_hex_decode_alloc(cJSON_GetObjectItem(o, crls[k].field)->valuestring, &der, &dl), 0);
            const unsigned char *pp = der;
            X509_CRL *crl = d2i_X509_CRL(NULL, &pp, (long)dl);
            assert_non_null(crl);
            assert_ptr_equal(pp, der + dl);
            assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(crls[k].issuer)), 0);
            assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(crls[k].issuer)), 1);
            assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0); /* -1: no list */
            X509_CRL_free(crl);
            free(der);
        }
        sk_X509_pop_free(psk, X509_free);
        sk_X509_pop_free(sk, X509_free);
        cJSON_Delete(o);
        free(b);
    }
}

/* The tag/OID skeleton of a DER value: constructed types recurse, OIDs and
 * OCTET STRING lengths are kept, INTEGER/ENUMERATED/BOOLEAN values are not
 * (they differ between platforms). */
static void skeleton(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t i = 0;
    while (i + 2 <= n) {
        uint8_t tag = p[i];
        size_t len = p[i + 1], hl = 2;
        if (len == 0x81) {
            len = p[i + 2];
            hl = 3;
        } else if (len == 0x82) {
            len = (size_t)p[i + 2] << 8 | p[i + 3];
            hl = 4;
        }
        assert_true(i + hl + len <= n);
        char t[128];
        if (tag & 0x20) {
            snprintf(t, sizeof t, "%02x{", tag);
            strncat(out, t, cap - strlen(out) - 1);
            skeleton(p + i + hl, len, out, cap);
            strncat(out, "}", cap - strlen(out) - 1);
        } else {
            if (tag == 0x06) {
                char h[64];
                asps_hex_encode(p + i + hl, len < 31 ? len : 31, h);
                snprintf(t, sizeof t, "06:%s ", h);
            } else if (tag == 0x04)
                snprintf(t, sizeof t, "04/%zu ", len);
            else
                snprintf(t, sizeof t, "%02x ", tag);
            strncat(out, t, cap - strlen(out) - 1);
        }
        i += hl + len;
    }
    assert_int_equal(i, n);
}

static void ext_skeleton(X509 *x, char *out, size_t cap, asps_pck_ext *parsed)
{
    ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    int idx = X509_get_ext_by_OBJ(x, oid, -1);
    ASN1_OBJECT_free(oid);
    assert_true(idx >= 0);
    ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    out[0] = 0;
    skeleton(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), out, cap);
    asps_errbuf eb;
    assert_int_equal(asps_dcap_parse_pck_ext(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), parsed, &eb),
                     ASPS_OK);
}

/* The sim's PCK certificates carry the SGX extension in exactly the ASN.1 of
 * a real Intel PCK certificate from the PCK Platform CA (the one in the real
 * TDX quote): same entries, same order, same types, same OCTET STRING sizes.
 * One platform has one PPID and platform instance ID across its TCB levels. */
static void test_sim_pck_extension_matches_real_intel_asn1(void **state)
{
    (void)state;
    size_t qlen;
    uint8_t *real = tu_read_vector("tdx_quote", &qlen);
    asps_quote q;
    asps_errbuf eb;
    assert_int_equal(asps_quote_parse(real, qlen, &q, &eb), ASPS_OK);
    STACK_OF(X509) *rsk = pem_certs((const char *)q.pck_chain, q.pck_chain_len);
    char want[4096], got[4096];
    asps_pck_ext rext, ext, first;
    ext_skeleton(sk_X509_value(rsk, 0), want, sizeof want, &rext);
    assert_int_equal(rext.sgx_type, 1);
    const char *files[] = {"pck_chain_UpToDate.pem", "pck_chain_OutOfDate.pem", "pck_chain_Revoked.pem",
                           "pck_chain_tdx.pem"};
    for (size_t i = 0; i < 4; i++) {
        STACK_OF(X509) *sk = pem_file_certs(g_dir, files[i]);
        ext_skeleton(sk_X509_value(sk, 0), got, sizeof got, &ext);
        if (strcmp(want, got))
            fail_msg("%s: SGX extension differs from Intel's:\nintel %s\nsim   %s", files[i], want, got);
        /* the TCB's CPUSVN OCTET STRING is the 16 components */
        assert_memory_equal(ext.cpusvn, ext.cpusvn_comp, 16);
        assert_int_equal(ext.sgx_type, 1);
        if (i == 0)
            first = ext;
        else if (i < 3)
            assert_memory_equal(ext.ppid, first.ppid, 16); /* same SGX platform */
        else
            assert_memory_not_equal(ext.ppid, first.ppid, 16); /* the TDX platform */
        char cn[256];
        X509_NAME_get_text_by_NID(X509_get_issuer_name(sk_X509_value(sk, 0)), NID_commonName, cn, sizeof cn);
        assert_string_equal(cn, "asps simulated SGX PCK Platform CA");
        /* 160-bit serials like Intel's (20 content bytes, positive) */
        for (int k = 0; k < 3; k++) {
            const ASN1_INTEGER *sn = X509_get0_serialNumber(sk_X509_value(sk, k));
            assert_int_equal(ASN1_STRING_length(sn), 20);
            assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
        }
        sk_X509_pop_free(sk, X509_free);
    }
    sk_X509_pop_free(rsk, X509_free);
    free(real);
}

/* The first TCB level (in listed order) that the SVNs meet, as QVL picks it;
 * NULL if none. tee_tcb_svn NULL for SGX. Written here from the rule, not
 * taken from the verifier. */
static const char *first_level(const char *tcb_info, const asps_pck_ext *x, const uint8_t *tee_tcb_svn)
{
    static char status[64];
    cJSON *j = cJSON_Parse(tcb_info);
    const cJSON *lv;
    const char *res = NULL;
    cJSON_ArrayForEach(lv, cJSON_GetObjectItem(j, "tcbLevels"))
    {
        const cJSON *tcb = cJSON_GetObjectItem(lv, "tcb");
        int ok = cJSON_GetObjectItem(tcb, "pcesvn")->valueint <= x->pcesvn;
        for (int k = 0; k < 16; k++) {
            ok = ok && cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(tcb, "sgxtcbcomponents"), k), "svn")
                               ->valueint <= x->cpusvn_comp[k];
            /* TDX: with a module version (TEE_TCB_SVN[1]) the first two
             * components are the module's, checked by its identity */
            if (tee_tcb_svn && (k >= 2 || tee_tcb_svn[1] == 0))
                ok = ok &&
                     cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(tcb, "tdxtcbcomponents"), k), "svn")
                             ->valueint <= tee_tcb_svn[k];
        }
        if (ok) {
            snprintf(status, sizeof status, "%s", cJSON_GetObjectItem(lv, "tcbStatus")->valuestring);
            res = status;
            break;
        }
    }
    cJSON_Delete(j);
    return res;
}

static void pck_ext_of_quote(const asps_quote *q, asps_pck_ext *x)
{
    STACK_OF(X509) *sk = pem_certs((const char *)q->pck_chain, q->pck_chain_len);
    char skel[4096];
    ext_skeleton(sk_X509_value(sk, 0), skel, sizeof skel, x);
    sk_X509_pop_free(sk, X509_free);
}

/* Each --tcb choice lands on that level by the matching rule alone: the
 * PCK certificate's CPU SVN (SGX) or the TD report's TEE_TCB_SVN (TDX) meets
 * that level first, and no two levels share an SVN vector. */
static void test_sim_each_tcb_choice_lands_on_its_level(void **state)
{
    (void)state;
    static const asps_tcb_status levels[] = {
        ASPS_TCB_UP_TO_DATE, ASPS_TCB_SW_HARDENING_NEEDED, ASPS_TCB_CONFIGURATION_NEEDED,
        ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, ASPS_TCB_OUT_OF_DATE,
        ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, ASPS_TCB_REVOKED};
    const size_t n = sizeof levels / sizeof levels[0];
    for (int t = 0; t < 2; t++) {
        char *b = read_bundle(g_dir, t ? "tdx" : "sgx");
        cJSON *o = cJSON_Parse(b);
        const char *ti = cJSON_GetObjectItem(o, "tcb_info")->valuestring;
        uint8_t seen[8][16];
        for (size_t i = 0; i < n; i++) {
            size_t len;
            uint8_t *raw = make_quote(g_dir, t ? ASPS_TEE_TDX : ASPS_TEE_SGX, levels[i], &len);
            asps_quote q;
            asps_errbuf eb;
            assert_int_equal(asps_quote_parse(raw, len, &q, &eb), ASPS_OK);
            asps_pck_ext x;
            pck_ext_of_quote(&q, &x);
            /* the QE runs on the same CPU SVN as the PCK certificate's */
            assert_memory_equal(q.qe_report.cpu_svn, x.cpusvn, 16);
            if (!t)
                assert_memory_equal(q.sgx.cpu_svn, x.cpusvn, 16);
            const char *st = first_level(ti, &x, t ? q.tdx.tee_tcb_svn : NULL);
            if (!st || strcmp(st, asps_tcb_status_name(levels[i])))
                fail_msg("%s --tcb %s lands on %s", t ? "tdx" : "sgx", asps_tcb_status_name(levels[i]),
                         st ? st : "no level");
            memcpy(seen[i], t ? q.tdx.tee_tcb_svn : x.cpusvn, 16);
            for (size_t k = 0; k < i; k++)
                assert_memory_not_equal(seen[k], seen[i], 16);
            free(raw);
        }
        cJSON_Delete(o);
        free(b);
    }
}

static void sha256_2(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int l = 32;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, a, an);
    EVP_DigestUpdate(md, b, bn);
    EVP_DigestFinal_ex(md, out, &l);
    EVP_MD_CTX_free(md);
}

static int raw_sig_ok(EVP_PKEY *k, const uint8_t sig[64], const uint8_t *msg, size_t len)
{
    char hex[129];
    asps_hex_encode(sig, 64, hex);
    X509 *x = X509_new();
    X509_set_pubkey(x, k);
    int ok = openssl_sig_ok(x, (const char *)msg, len, hex);
    X509_free(x);
    return ok;
}

/* Quotes in Intel's layout, checked field by field with the parser and
 * OpenSSL: header (version, key type 2, TEE type, Intel's QE vendor ID), the
 * identity as asked, the quote signature by the attestation key, the QE
 * report binding SHA-256(attestation key || auth data) and signed by the PCK
 * certificate's key, certification data type 5 with three certificates. */
static void test_sim_quotes_have_intel_layout_and_real_signatures(void **state)
{
    (void)state;
    static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
    asps_sim *s;
    asps_errbuf eb;
    assert_int_equal(asps_sim_open(g_dir, &s, &eb), ASPS_OK);
    for (int t = 0; t < 2; t++) {
        asps_sim_identity id;
        memset(&id, 0, sizeof id);
        id.tee = t ? ASPS_TEE_TDX : ASPS_TEE_SGX;
        for (int i = 0; i < 64; i++)
            id.report_data[i] = (uint8_t)(i * 7 + 1);
        memset(id.mr_enclave, 0x11, 32);
        memset(id.mr_signer, 0x22, 32);
        id.isv_prod_id = 0x1234;
        id.isv_svn = 7;
        id.config_svn = 3;
        id.debug = 1;
        memset(id.mr_td, 0x33, 48);
        memset(id.rtmr[2], 0x44, 48);
        memset(id.mr_config_id, 0x55, 48);
        memset(id.mr_owner, 0x66, 48);
        uint8_t *raw;
        size_t len;
        assert_int_equal(asps_sim_quote(s, &id, &raw, &len, &eb), ASPS_OK);
        asps_quote q;
        assert_int_equal(asps_quote_parse(raw, len, &q, &eb), ASPS_OK);
        assert_int_equal(q.version, t ? 4 : 3);
        assert_int_equal(q.att_key_type, 2);
        assert_int_equal(q.tee_type, t ? 0x81 : 0);
        assert_memory_equal(q.qe_vendor_id, intel_qe_vendor, 16);
        assert_int_equal(q.cert_type, 5);
        if (!t) {
            assert_memory_equal(q.sgx.report_data, id.report_data, 64);
            assert_memory_equal(q.sgx.mr_enclave, id.mr_enclave, 32);
            assert_memory_equal(q.sgx.mr_signer, id.mr_signer, 32);
            assert_int_equal(q.sgx.isv_prod_id, 0x1234);
            assert_int_equal(q.sgx.isv_svn, 7);
            assert_int_equal(q.sgx.config_svn, 3);
            assert_int_equal(q.sgx.attributes[0] & 0x02, 0x02); /* DEBUG */
            assert_int_not_equal(q.qe_svn, 0);
            assert_int_not_equal(q.pce_svn, 0);
        } else {
            assert_memory_equal(q.tdx.report_data, id.report_data, 64);
            assert_memory_equal(q.tdx.mr_td, id.mr_td, 48);
            assert_memory_equal(q.tdx.rtmr[2], id.rtmr[2], 48);
            assert_memory_equal(q.tdx.mr_config_id, id.mr_config_id, 48);
            assert_memory_equal(q.tdx.mr_owner, id.mr_owner, 48);
            assert_int_equal(q.tdx.td_attributes[0] & 0x01, 0x01); /* DEBUG */
            assert_false(q.tdx.has_v15);
        }
        /* quote signature: attestation key over header || body */
        uint8_t pub[65] = {0x04};
        memcpy(pub + 1, q.att_key, 64);
        EVP_PKEY *ak = NULL;
        {
            OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
            OSSL_PARAM_BLD_push_utf8_string(bld, "group", "prime256v1", 0);
            OSSL_PARAM_BLD_push_octet_string(bld, "pub", pub, 65);
            OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
            EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
            assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
            assert_int_equal(EVP_PKEY_fromdata(pc, &ak, EVP_PKEY_PUBLIC_KEY, params), 1);
            EVP_PKEY_CTX_free(pc);
            OSSL_PARAM_free(params);
            OSSL_PARAM_BLD_free(bld);
        }
        assert_ptr_equal(q.signed_data, raw);
        assert_int_equal(q.signed_len, 48 + (t ? 584 : 384));
        assert_true(raw_sig_ok(ak, q.signature, q.signed_data, q.signed_len));
        EVP_PKEY_free(ak);
        /* QE report: binds the attestation key, signed by the PCK key */
        uint8_t h[32], zero[32] = {0};
        assert_true(q.qe_auth_len > 0);
        sha256_2(q.att_key, 64, q.qe_auth, q.qe_auth_len, h);
        assert_memory_equal(q.qe_report.report_data, h, 32);
        assert_memory_equal(q.qe_report.report_data + 32, zero, 32);
        STACK_OF(X509) *sk = pem_certs((const char *)q.pck_chain, q.pck_chain_len);
        assert_int_equal(sk_X509_num(sk), 3);
        assert_true(raw_sig_ok(X509_get0_pubkey(sk_X509_value(sk, 0)), q.qe_report_sig, q.qe_report_raw, 384));
        assert_false(raw_sig_ok(X509_get0_pubkey(sk_X509_value(sk, 1)), q.qe_report_sig, q.qe_report_raw, 384));
        /* QE report matches the QE identity of the bundle */
        char *b = read_bundle(g_dir, t ? "tdx" : "sgx");
        cJSON *o = cJSON_Parse(b);
        cJSON *qi = cJSON_Parse(cJSON_GetObjectItem(o, "qe_identity")->valuestring);
        uint8_t ms[32];
        const char *mshex = cJSON_GetObjectItem(qi, "mrsigner")->valuestring;
        assert_int_equal(asps_hex_decode(mshex, strlen(mshex), ms, 32), 0);
        assert_memory_equal(q.qe_report.mr_signer, ms, 32);
        assert_int_equal(q.qe_report.isv_prod_id, cJSON_GetObjectItem(qi, "isvprodid")->valueint);
        assert_int_equal(
            q.qe_report.isv_svn,
            cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(qi, "tcbLevels"), 0), "tcb"),
                                "isvsvn")
                ->valueint);
        cJSON_Delete(qi);
        cJSON_Delete(o);
        free(b);
        sk_X509_pop_free(sk, X509_free);
        free(raw);
    }
    asps_sim_free(s);
}

/* A flipped byte anywhere that is signed or binds is caught, with the code
 * of the check that covers it; on SGX and TDX quotes alike. */
static void test_sim_flipped_bytes_are_caught_by_their_check(void **state)
{
    (void)state;
    for (int t = 0; t < 2; t++) {
        size_t len;
        uint8_t *raw = make_quote(g_dir, t ? ASPS_TEE_TDX : ASPS_TEE_SGX, ASPS_TCB_UP_TO_DATE, &len);
        char *b = read_bundle(g_dir, t ? "tdx" : "sgx");
        asps_quote q;
        asps_errbuf eb;
        assert_int_equal(asps_quote_parse(raw, len, &q, &eb), ASPS_OK);
        size_t sig_off = q.signed_len + 4; /* after the signature data length */
        size_t qe_off = (size_t)(q.qe_report_raw - raw), auth_off = (size_t)(q.qe_auth - raw);
        /* a byte inside the base64 of the PCK leaf's signature area: the
         * chain no longer verifies (or no longer decodes) */
        const char *leaf_end = strstr((const char *)q.pck_chain, "-----END CERTIFICATE-----");
        assert_non_null(leaf_end);
        /* a base64 letter or digit (not a line break or padding, which a
         * decoder skips) a few characters before the END line */
        const char *sc = leaf_end - 1;
        while (*sc == '\n' || *sc == '\r' || *sc == '=')
            sc--;
        sc -= 4;
        while (!((*sc >= 'A' && *sc <= 'Z') || (*sc >= 'a' && *sc <= 'z') || (*sc >= '0' && *sc <= '9')))
            sc--;
        size_t leaf_sig_off = (size_t)((const uint8_t *)sc - raw);
        struct {
            size_t off;
            asps_err want1, want2;
            const char *what;
        } cases[] = {
            /* SGX: CONFIGID; TDX: MRTD (bytes QVL checks before the
             * signature, like MRSIGNERSEAM, would fail their own check) */
            {48 + 200, ASPS_E_QUOTE_SIGNATURE, ASPS_E_QUOTE_SIGNATURE, "body"},
            {28 + 3, ASPS_E_QUOTE_SIGNATURE, ASPS_E_QUOTE_SIGNATURE, "header user data"},
            {sig_off + 5, ASPS_E_QUOTE_SIGNATURE, ASPS_E_QUOTE_SIGNATURE, "quote signature"},
            {sig_off + 64 + 5, ASPS_E_QE_REPORT_DATA, ASPS_E_QE_REPORT_DATA, "attestation key"},
            {qe_off + 320, ASPS_E_QE_REPORT_SIGNATURE, ASPS_E_QE_REPORT_SIGNATURE, "QE report data"},
            {qe_off + 384 + 10, ASPS_E_QE_REPORT_SIGNATURE, ASPS_E_QE_REPORT_SIGNATURE, "QE report signature"},
            {auth_off + 3, ASPS_E_QE_REPORT_DATA, ASPS_E_QE_REPORT_DATA, "QE auth data"},
            {leaf_sig_off, ASPS_E_CHAIN, ASPS_E_PARSE, "PCK certificate"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            uint8_t *m = malloc(len);
            memcpy(m, raw, len);
            m[cases[i].off] ^= (cases[i].off == leaf_sig_off) ? 0x03 : 0x01;
            asps_claims c;
            asps_err e = verify(g_dir, m, len, b, 1, 0, &c, &eb);
            if (e != cases[i].want1 && e != cases[i].want2)
                fail_msg("%s: flipped %s: got %s (%s)", t ? "tdx" : "sgx", cases[i].what, asps_err_name(e), eb.msg);
            free(m);
        }
        /* untouched, it verifies; only the Intel root: untrusted */
        asps_claims c;
        assert_int_equal(verify(g_dir, raw, len, b, 1, 0, &c, &eb), ASPS_OK);
        assert_int_equal(verify(g_dir, raw, len, b, 0, 0, &c, &eb), ASPS_E_ROOT_UNTRUSTED);
        free(raw);
        free(b);
    }
}

/* ---- re-signed collateral: the field checks themselves ------------------------- */

static void test_resigned_tcb_info_field_mutations(void **state)
{
    (void)state;
    char *b = read_bundle(g_dir, "sgx");
    char *m;
    expect(ASPS_TEE_SGX, m = edited(b, "tcb_info", "\"fmspc\":\"00906ED50000\"", "\"fmspc\":\"00906ED50001\""),
           ASPS_E_TCB_INFO_MISMATCH, "FMSPC");
    free(m);
    expect(ASPS_TEE_SGX, m = edited(b, "tcb_info", "\"pceId\":\"0000\"", "\"pceId\":\"0001\""),
           ASPS_E_TCB_INFO_MISMATCH, "PCE ID");
    free(m);
    /* id TDX without the TDX fields is malformed (QVL: format error); a
     * well-formed TDX TCB info for an SGX quote is test_dcap's mismatch case */
    expect(ASPS_TEE_SGX, m = edited(b, "tcb_info", "\"id\":\"SGX\"", "\"id\":\"TDX\""),
           ASPS_E_PARSE, "TCB info id");
    free(m);
    expect(ASPS_TEE_SGX, m = edited(b, "tcb_info", "\"nextUpdate\":\"", "\"nextUpdate\":\"2001-01-01T00:00:00Z\",\"x\":\""),
           ASPS_E_TCB_INFO_EXPIRED, "TCB info nextUpdate");
    free(m);
    /* every level's components raised above the platform: nothing matches */
    expect(ASPS_TEE_SGX, m = edited(b, "tcb_info", "\"pcesvn\":13}", "\"pcesvn\":14}"), ASPS_OK,
           "one level's PCE SVN raised (a lower level still matches)");
    free(m);
    expect(ASPS_TEE_SGX, m = edited(b, "tcb_info", "\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Bogus\""),
           ASPS_E_PARSE, "unknown TCB status");
    free(m);
    expect(ASPS_TEE_SGX, m = edited(b, "tcb_info", "\"version\":3", "\"version\":4"), ASPS_E_UNSUPPORTED,
           "TCB info version");
    free(m);
    free(b);
}

static void test_resigned_qe_identity_field_mutations(void **state)
{
    (void)state;
    char *b = read_bundle(g_dir, "sgx");
    char *m;
    expect(ASPS_TEE_SGX, m = edited(b, "qe_identity", "\"isvprodid\":1", "\"isvprodid\":3"),
           ASPS_E_QE_IDENTITY_MISMATCH, "ISVPRODID");
    free(m);
    expect(ASPS_TEE_SGX, m = edited(b, "qe_identity", "\"mrsigner\":\"", "\"mrsigner\":\"00"),
           ASPS_E_PARSE, "MRSIGNER length");
    free(m);
    /* flip the first MRSIGNER hex digit */
    cJSON *o = cJSON_Parse(b);
    const char *qi = cJSON_GetObjectItem(o, "qe_identity")->valuestring;
    const char *ms = strstr(qi, "\"mrsigner\":\"") + 12;
    char find[80], repl[80];
    snprintf(find, sizeof find, "\"mrsigner\":\"%.8s", ms);
    snprintf(repl, sizeof repl, "\"mrsigner\":\"%c%.7s", ms[0] == '0' ? '1' : '0', ms + 1);
    cJSON_Delete(o);
    expect(ASPS_TEE_SGX, m = edited(b, "qe_identity", find, repl), ASPS_E_QE_IDENTITY_MISMATCH, "MRSIGNER");
    free(m);
    /* The simulated QE reports MISCSELECT 1; the identity says "01000000":
     * the hex is in report byte order, as QVL reads it (little-endian).
     * Read big-endian, "00000001" would match instead; it must not. */
    expect(ASPS_TEE_SGX, m = edited(b, "qe_identity", "\"miscselect\":\"01000000\"", "\"miscselect\":\"00000001\""),
           ASPS_E_QE_IDENTITY_MISMATCH, "MISCSELECT byte order");
    free(m);
    expect(ASPS_TEE_SGX, m = edited(b, "qe_identity", "\"miscselect\":\"01000000\"", "\"miscselect\":\"02000000\""),
           ASPS_E_QE_IDENTITY_MISMATCH, "MISCSELECT");
    free(m);
    /* a mask without that bit makes any identity value with it unset match */
    expect(ASPS_TEE_SGX,
           m = edited(b, "qe_identity", "\"miscselect\":\"01000000\",\"miscselectMask\":\"FFFFFFFF\"",
                      "\"miscselect\":\"00000000\",\"miscselectMask\":\"FEFFFFFF\""),
           ASPS_OK, "MISCSELECT mask");
    free(m);
    expect(ASPS_TEE_SGX,
           m = edited(b, "qe_identity", "\"attributes\":\"11000000000000000000000000000000\"",
                      "\"attributes\":\"13000000000000000000000000000000\""),
           ASPS_E_QE_IDENTITY_MISMATCH, "ATTRIBUTES");
    free(m);
    /* an attribute bit outside the mask does not matter */
    expect(ASPS_TEE_SGX,
           m = edited(b, "qe_identity", "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\"",
                      "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\""),
           ASPS_OK, "mask unchanged");
    free(m);
    /* QE ISVSVN 8 now falls on an OutOfDate level: status converges */
    m = edited(b, "qe_identity", "{\"isvsvn\":8},\"tcbDate\"", "{\"isvsvn\":9},\"tcbDate\"");
    {
        size_t len;
        uint8_t *q = make_quote(g_dir, ASPS_TEE_SGX, ASPS_TCB_SW_HARDENING_NEEDED, &len);
        asps_claims c;
        asps_errbuf eb = {{0}};
        assert_int_equal(verify(g_dir, q, len, m, 1, 0, &c, &eb), ASPS_OK);
        /* QVL: QE OutOfDate turns SWHardeningNeeded into OutOfDate; the
         * advisories stay the platform level's (QvE's list), the QE level's
         * are reported apart */
        assert_int_equal(c.tcb_status, ASPS_TCB_OUT_OF_DATE);
        assert_int_equal(c.n_advisories, 1);
        assert_string_equal(c.advisory_ids[0], "INTEL-SA-00615");
        assert_int_equal(c.n_qe_advisories, 1);
        assert_string_equal(c.qe_advisory_ids[0], "INTEL-SA-00615");
        free(q);
    }
    free(m);
    /* QVL takes the FIRST listed level the QE meets, not the highest: with
     * levels listed [4 UpToDate, 6 OutOfDate] a QE at ISVSVN 8 is UpToDate */
    m = edited(b, "qe_identity", "{\"isvsvn\":8},\"tcbDate\"", "{\"isvsvn\":4},\"tcbDate\"");
    {
        size_t len;
        uint8_t *q = make_quote(g_dir, ASPS_TEE_SGX, ASPS_TCB_UP_TO_DATE, &len);
        asps_claims c;
        asps_errbuf eb = {{0}};
        assert_int_equal(verify(g_dir, q, len, m, 1, 0, &c, &eb), ASPS_OK);
        assert_int_equal(c.tcb_status, ASPS_TCB_UP_TO_DATE);
        assert_int_equal(c.n_advisories, 0);
        free(q);
    }
    free(m);
    m = edited(b, "qe_identity", "{\"isvsvn\":8},\"tcbDate\"", "{\"isvsvn\":9},\"tcbDate\"");
    char *m2 = edited(m, "qe_identity", "{\"isvsvn\":6}", "{\"isvsvn\":9}");
    expect(ASPS_TEE_SGX, m2, ASPS_E_TCB_NOT_FOUND, "QE ISVSVN below every level");
    free(m);
    free(m2);
    expect(ASPS_TEE_SGX, m = edited(b, "qe_identity", "\"id\":\"QE\"", "\"id\":\"TD_QE\""),
           ASPS_E_QE_IDENTITY_MISMATCH, "QE identity id");
    free(m);
    free(b);
}

static void test_resigned_tdx_module_mutations(void **state)
{
    (void)state;
    char *b = read_bundle(g_dir, "tdx");
    char *m;
    expect(ASPS_TEE_TDX, m = edited(b, "tcb_info", "\"id\":\"TDX_01\"", "\"id\":\"TDX_02\""),
           ASPS_E_TDX_MODULE, "module identity id");
    free(m);
    expect(ASPS_TEE_TDX, m = edited(b, "tcb_info", "\"id\":\"TDX_01\",\"mrsigner\":\"0", "\"id\":\"TDX_01\",\"mrsigner\":\"1"),
           ASPS_E_TDX_MODULE, "module MRSIGNER");
    free(m);
    expect(ASPS_TEE_TDX, m = edited(b, "tcb_info", "{\"tcb\":{\"isvsvn\":3}", "{\"tcb\":{\"isvsvn\":4}"),
           ASPS_E_TCB_NOT_FOUND, "module ISVSVN above the TD's");
    free(m);
    free(b);
}

/* A Revoked verdict names the level that revoked it: the platform's TCB
 * level (a microcode/platform update), the QE identity's (a new QE) or the
 * TDX module's (a module update) -- an operator acts on each differently.
 * Before, every one said "platform TCB level is Revoked". */
static void revoked_by(asps_tee tee, asps_tcb_status tcb, const char *bundle, const char *who)
{
    size_t len;
    uint8_t *q = make_quote(g_dir, tee, tcb, &len);
    asps_claims c;
    asps_errbuf eb = {{0}};
    asps_err e = verify(g_dir, q, len, bundle, 1, 0, &c, &eb);
    if (e != ASPS_E_TCB_REVOKED || !strstr(eb.msg, who))
        fail_msg("want tcb_revoked naming '%s', got %s: %s", who, asps_err_name(e), eb.msg);
    free(q);
}

static void test_sim_revoked_verdict_names_the_revoking_level(void **state)
{
    (void)state;
    char *sgx = read_bundle(g_dir, "sgx"), *tdx = read_bundle(g_dir, "tdx"), *m;
    revoked_by(ASPS_TEE_SGX, ASPS_TCB_REVOKED, sgx, "platform TCB level is Revoked");
    revoked_by(ASPS_TEE_TDX, ASPS_TCB_REVOKED, tdx, "platform TCB level is Revoked");
    /* the QE's level: the first listed, the one the sim's QE meets */
    m = edited(sgx, "qe_identity", "\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Revoked\"");
    revoked_by(ASPS_TEE_SGX, ASPS_TCB_UP_TO_DATE, m, "QE identity TCB level is Revoked");
    free(m);
    m = edited(tdx, "qe_identity", "\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Revoked\"");
    revoked_by(ASPS_TEE_TDX, ASPS_TCB_UP_TO_DATE, m, "QE identity TCB level is Revoked");
    free(m);
    /* the TDX module's level (TDX_01 ISVSVN 3, the sim's only one): the
     * first tcbStatus after "tdxModuleIdentities" */
    cJSON *o = cJSON_Parse(tdx);
    const char *ti = cJSON_GetObjectItem(o, "tcb_info")->valuestring;
    const char *mod = strstr(ti, "\"tdxModuleIdentities\"");
    assert_non_null(mod);
    const char *st = strstr(mod, "\"tcbStatus\":\"UpToDate\"");
    assert_non_null(st);
    char find[1024];
    assert_true(st - mod + 40 < (long)sizeof find);
    snprintf(find, sizeof find, "%.*s", (int)(st - mod) + 22, mod);
    char repl[1024];
    snprintf(repl, sizeof repl, "%.*s\"tcbStatus\":\"Revoked\"", (int)(st - mod), mod);
    cJSON_Delete(o);
    m = edited(tdx, "tcb_info", find, repl);
    revoked_by(ASPS_TEE_TDX, ASPS_TCB_UP_TO_DATE, m, "TDX module TCB level is Revoked");
    free(m);
    free(sgx);
    free(tdx);
}

static asps_err verify_td15(const char *bundle, asps_tcb_status tcb, int td15, const uint8_t svn2[3],
                            asps_claims *c, asps_errbuf *eb)
{
    asps_sim *s;
    assert_int_equal(asps_sim_open(g_dir, &s, eb), ASPS_OK);
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    id.tee = ASPS_TEE_TDX;
    id.tcb = tcb;
    id.td15 = td15;
    memcpy(id.tee_tcb_svn2, svn2, 3);
    uint8_t *q;
    size_t len;
    assert_int_equal(asps_sim_quote(s, &id, &q, &len, eb), ASPS_OK);
    asps_sim_free(s);
    asps_quote parsed;
    assert_int_equal(asps_quote_parse(q, len, &parsed, eb), ASPS_OK);
    assert_int_equal(parsed.version, td15 ? 5 : 4);
    assert_int_equal(parsed.tdx.has_v15, td15);
    asps_err e = verify(g_dir, q, len, bundle, 1, 0, c, eb);
    free(q);
    return e;
}

/* QVL's TD relaunch check (TD report 1.5): platform up to date, the running
 * TDX module out of date, TEE_TCB_SVN2 showing the update installed ->
 * TDRelaunchAdvised. The TCB info is re-signed with a module identity whose
 * newest level is ISVSVN 4 (the running module has 3). */
static void test_sim_td15_quotes_and_relaunch_advice(void **state)
{
    (void)state;
    char *b = read_bundle(g_dir, "tdx");
    asps_claims c;
    asps_errbuf eb = {{0}};
    const uint8_t none[3] = {0};
    /* a v5 quote with a TD 1.5 body verifies like a v4 one */
    assert_int_equal(verify_td15(b, ASPS_TCB_UP_TO_DATE, 1, none, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_UP_TO_DATE);
    assert_int_equal(c.quote_version, 5);
    /* the module identity's one level {"isvsvn":3 ... UpToDate} becomes
     * [{"isvsvn":4 ... UpToDate}, {"isvsvn":3 ... OutOfDate}] */
    cJSON *o = cJSON_Parse(b);
    const char *ti = cJSON_GetObjectItem(o, "tcb_info")->valuestring;
    const char *lv = strstr(ti, "{\"tcb\":{\"isvsvn\":3}");
    assert_non_null(lv);
    const char *lv_end = strstr(lv, "}") ? strstr(strstr(lv, "}") + 1, "}") : NULL;
    assert_non_null(lv_end);
    char find[256], repl[512];
    snprintf(find, sizeof find, "%.*s", (int)(lv_end + 1 - lv), lv);
    char *old_status = strstr(find, "\"UpToDate\"");
    assert_non_null(old_status);
    snprintf(repl, sizeof repl, "{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2025-01-01T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},%.*s\"OutOfDate\"%s",
             (int)(old_status - find), find, old_status + strlen("\"UpToDate\""));
    cJSON_Delete(o);
    char *m2 = edited(b, "tcb_info", find, repl);
    const uint8_t installed[3] = {4, 1, 9}, not_installed[3] = {3, 1, 9};
    asps_err e = verify_td15(m2, ASPS_TCB_OUT_OF_DATE, 1, installed, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(c.tcb_status, ASPS_TCB_TD_RELAUNCH_ADVISED);
    assert_int_equal(verify_td15(m2, ASPS_TCB_OUT_OF_DATE, 1, not_installed, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_OUT_OF_DATE);
    /* a TD report 1.0 has no TEE_TCB_SVN2: no relaunch advice */
    assert_int_equal(verify_td15(m2, ASPS_TCB_OUT_OF_DATE, 0, none, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_OUT_OF_DATE);
    free(m2);
    free(b);
}

static void test_sim_revoked_pck_and_expired_collateral(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    asps_errbuf eb;
    asps_sim_init_opts o = {.revoke_pck_level = 0};
    assert_int_equal(asps_sim_init_ex(d, &o, &eb), ASPS_OK);
    size_t len;
    uint8_t *q = make_quote(d, ASPS_TEE_SGX, ASPS_TCB_UP_TO_DATE, &len);
    char *b = read_bundle(d, "sgx");
    asps_claims c;
    assert_int_equal(verify(d, q, len, b, 1, 0, &c, &eb), ASPS_E_CERT_REVOKED);
    assert_non_null(strstr(eb.msg, "PCK certificate"));
    free(q);
    /* another level's PCK certificate is not revoked */
    q = make_quote(d, ASPS_TEE_SGX, ASPS_TCB_SW_HARDENING_NEEDED, &len);
    assert_int_equal(verify(d, q, len, b, 1, 0, &c, &eb), ASPS_OK);
    /* the collateral expires after 30 days */
    assert_int_equal(verify(d, q, len, b, 1, (int64_t)time(NULL) + 31 * 86400, &c, &eb), ASPS_E_CRL_EXPIRED);
    free(q);
    free(b);
    tu_rm_rf(d);
    free(d);
}

/* ---- advisories, TCB dates, certificate extensions --------------------------------- */

/* The TCB date every level of the sim's collateral carries (its issue
 * date), read from the bundle. */
static void sim_tcb_date(const char *bundle, const char *field, char out[32])
{
    cJSON *o = cJSON_Parse(bundle);
    const char *body = cJSON_GetObjectItem(o, field)->valuestring;
    const char *d = strstr(body, "\"tcbDate\":\"");
    assert_non_null(d);
    snprintf(out, 32, "%.20s", d + 11);
    cJSON_Delete(o);
}

static void expect_adv(const char (*ids)[ASPS_ADVISORY_LEN], size_t n, const char *want,
                       const char *what)
{
    char got[512] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(got, ids[i]);
        strcat(got, ",");
    }
    if (strcmp(got, want))
        fail_msg("%s: '%s', want '%s'", what, got, want);
}

/* Intel's TCB info may list advisory IDs on an UpToDate level (and its QE
 * identity and TDX module levels may list some too). QvE reports the
 * matched platform level's list whatever its status (qve.cpp, sa_list), and
 * nothing of the QE identity's or the module's: advisory_ids is that list,
 * the others are reported apart. The status stays UpToDate. For TDX the
 * reported level (and its tcbDate) is the one both the SGX and the TDX
 * components reach, not the first the SGX components reach. */
static void test_sim_advisories_on_up_to_date_levels_reported_apart(void **state)
{
    (void)state;
    for (int t = 0; t < 2; t++) {
        asps_tee tee = t ? ASPS_TEE_TDX : ASPS_TEE_SGX;
        char *b = read_bundle(g_dir, t ? "tdx" : "sgx");
        char date[32], find[128], repl[256];
        sim_tcb_date(b, "tcb_info", date);
        /* the platform's UpToDate level (the first listed; in TDX TCB info
         * the module identity's level, ending "}]}", comes before it) */
        char *m1 = edited(b, "tcb_info", "\"tcbStatus\":\"UpToDate\"},{",
                          "\"tcbStatus\":\"UpToDate\",\"advisoryIDs\":[\"INTEL-SA-01036\",\"INTEL-SA-01099\"]},{");
        /* the OutOfDate level gets a date of its own */
        snprintf(find, sizeof find, "\"tcbDate\":\"%s\",\"tcbStatus\":\"OutOfDate\"", date);
        char *m2 = edited(m1, "tcb_info", find, "\"tcbDate\":\"2020-01-01T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"");
        /* the QE identity's UpToDate level */
        char *m3 = edited(m2, "qe_identity", "\"tcbStatus\":\"UpToDate\"}",
                          "\"tcbStatus\":\"UpToDate\",\"advisoryIDs\":[\"INTEL-SA-00837\"]}");
        char *m = m3;
        if (tee == ASPS_TEE_TDX) {
            /* the TDX module identity's (only) level */
            snprintf(repl, sizeof repl, "%s", "\"tcbStatus\":\"UpToDate\",\"advisoryIDs\":[\"INTEL-SA-01100\"]}]}");
            m = edited(m3, "tcb_info", "\"tcbStatus\":\"UpToDate\"}]}", repl);
            free(m3);
        }
        size_t len;
        uint8_t *q = make_quote(g_dir, tee, ASPS_TCB_UP_TO_DATE, &len);
        asps_claims c;
        asps_errbuf eb = {{0}};
        asps_err e = verify(g_dir, q, len, m, 1, 0, &c, &eb);
        if (e != ASPS_OK)
            fail_msg("%s", eb.msg);
        assert_int_equal(c.tcb_status, ASPS_TCB_UP_TO_DATE);
        expect_adv(c.advisory_ids, c.n_advisories, "INTEL-SA-01036,INTEL-SA-01099,", "platform");
        expect_adv(c.qe_advisory_ids, c.n_qe_advisories, "INTEL-SA-00837,", "QE");
        expect_adv(c.tdx_module_advisory_ids, c.n_tdx_module_advisories,
                   tee == ASPS_TEE_TDX ? "INTEL-SA-01100," : "", "TDX module");
        int64_t want;
        assert_int_equal(asps_time_parse(date, &want), 0);
        assert_int_equal(c.tcb_date, want);
        assert_int_equal(c.qe_tcb_date, want);
        assert_int_equal(c.tcb_info_evaluation_data_number, 1);
        assert_int_equal(c.qe_identity_evaluation_data_number, 1);
        free(q);
        /* the OutOfDate level: its own advisories and date (TDX: the SGX
         * components reach the first level already, the TD's TEE TCB SVN
         * only the OutOfDate one) */
        q = make_quote(g_dir, tee, ASPS_TCB_OUT_OF_DATE, &len);
        e = verify(g_dir, q, len, m, 1, 0, &c, &eb);
        if (e != ASPS_OK)
            fail_msg("%s", eb.msg);
        assert_int_equal(c.tcb_status, ASPS_TCB_OUT_OF_DATE);
        expect_adv(c.advisory_ids, c.n_advisories, "INTEL-SA-00828,", "platform, OutOfDate");
        assert_int_equal(asps_time_parse("2020-01-01T00:00:00Z", &want), 0);
        assert_int_equal(c.tcb_date, want);
        free(q);
        free(m);
        free(m2);
        free(m1);
        free(b);
    }
}

static EVP_PKEY *sim_key(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

/* CERT re-issued by ISSUER_KEY (same subject, key and extensions), without
 * extension DROP (0: none): a validly signed certificate. */
static char *reissue(X509 *cert, EVP_PKEY *issuer_key, int drop)
{
    X509 *x = X509_dup(cert);
    assert_non_null(x);
    if (drop) {
        int idx = X509_get_ext_by_NID(x, drop, -1);
        assert_true(idx >= 0);
        X509_EXTENSION_free(X509_delete_ext(x, idx));
    }
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(b, x), 1);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = strndup(p, (size_t)n);
    BIO_free(b);
    X509_free(x);
    return out;
}

static char *file_text(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    char *s = (char *)tu_read_file(p, NULL);
    assert_non_null(s);
    return s;
}

static char *replaced(const char *text, const char *find, const char *repl)
{
    const char *at = strstr(text, find);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(find) + strlen(repl) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%.*s%s%s", (int)(at - text), text, repl, at + strlen(find));
    return s;
}

static char *bundle_with(const char *bundle, const char *field, const char *value)
{
    cJSON *o = cJSON_Parse(bundle);
    cJSON_ReplaceItemInObject(o, field, cJSON_CreateString(value));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Intel's QVL refuses a chain certificate without the CRL distribution
 * points extension, and so does asps for chains under Intel's root key
 * (test_dcap, on Intel's real certificates). Under a root the operator
 * named, here the simulated platform's, the profile is the operator's:
 * validly signed certificates (we hold the sim's keys) re-issued with or
 * without the extension both verify, so simulated folders made before the
 * simulated PKI carried it keep working. */
static void test_sim_chain_profile_under_an_operator_root_is_not_intels(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_sim_init(d, &eb), ASPS_OK);
    EVP_PKEY *root_k = sim_key(d, "root_ca.key"), *ca_k = sim_key(d, "pck_ca.key");
    char *b = read_bundle(d, "sgx");
    char *tcb_pem = file_text(d, "tcb_signing.pem"), *ca_pem = file_text(d, "pck_ca.pem");
    STACK_OF(X509) *tsk = pem_certs(tcb_pem, strlen(tcb_pem));
    STACK_OF(X509) *csk = pem_certs(ca_pem, strlen(ca_pem));
    asps_claims c;
    size_t len;
    uint8_t *q = make_quote(d, ASPS_TEE_SGX, ASPS_TCB_UP_TO_DATE, &len);
    for (int drop = 0; drop < 2; drop++) {
        int nid = drop ? NID_crl_distribution_points : 0;
        /* the TCB signing certificate, in both issuer chains */
        char *t2 = reissue(sk_X509_value(tsk, 0), root_k, nid);
        char *tc = file_text(d, "tcb_signing.pem"); /* the chains start with it */
        cJSON *o = cJSON_Parse(b);
        char *chain = replaced(cJSON_GetObjectItem(o, "tcb_info_issuer_chain")->valuestring, tc, t2);
        cJSON_Delete(o);
        char *m1 = bundle_with(b, "tcb_info_issuer_chain", chain);
        char *m2 = bundle_with(m1, "qe_identity_issuer_chain", chain);
        asps_err e = verify(d, q, len, m2, 1, 0, &c, &eb);
        if (e != ASPS_OK)
            fail_msg("TCB signing, %s: %s: %s", drop ? "without" : "with", asps_err_name(e), eb.msg);
        free(m1);
        free(m2);
        free(chain);
        free(tc);
        free(t2);
        /* the PCK CA, in the PCK CRL issuer chain */
        char *c2 = reissue(sk_X509_value(csk, 0), root_k, nid);
        o = cJSON_Parse(b);
        chain = replaced(cJSON_GetObjectItem(o, "pck_crl_issuer_chain")->valuestring, ca_pem, c2);
        cJSON_Delete(o);
        m1 = bundle_with(b, "pck_crl_issuer_chain", chain);
        e = verify(d, q, len, m1, 1, 0, &c, &eb);
        if (e != ASPS_OK)
            fail_msg("PCK CA, %s: %s: %s", drop ? "without" : "with", asps_err_name(e), eb.msg);
        free(m1);
        free(chain);
        free(c2);
    }
    /* the PCK certificate in the quote's chain: the sim quotes with the
     * chain file it finds, so that file gets the re-issued certificate */
    char *orig = file_text(d, "pck_chain_UpToDate.pem");
    STACK_OF(X509) *lsk = pem_certs(orig, strlen(orig));
    for (int drop = 0; drop < 2; drop++) {
        char *leaf = reissue(sk_X509_value(lsk, 0), ca_k, drop ? NID_crl_distribution_points : 0);
        /* the leaf first, then the CA and the root as they were */
        char *rest = strstr(orig, "-----END CERTIFICATE-----\n");
        assert_non_null(rest);
        rest += strlen("-----END CERTIFICATE-----\n");
        size_t n = strlen(leaf) + strlen(rest) + 1;
        char *chain = malloc(n);
        snprintf(chain, n, "%s%s", leaf, rest);
        char p[4200];
        snprintf(p, sizeof p, "%s/pck_chain_UpToDate.pem", d);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(chain, f);
        fclose(f);
        size_t ql;
        uint8_t *lq = make_quote(d, ASPS_TEE_SGX, ASPS_TCB_UP_TO_DATE, &ql);
        asps_err e = verify(d, lq, ql, b, 1, 0, &c, &eb);
        if (e != ASPS_OK)
            fail_msg("PCK certificate, %s: %s: %s", drop ? "without" : "with", asps_err_name(e), eb.msg);
        free(lq);
        free(chain);
        free(leaf);
    }
    sk_X509_pop_free(lsk, X509_free);
    free(orig);
    sk_X509_pop_free(tsk, X509_free);
    sk_X509_pop_free(csk, X509_free);
    free(q);
    free(tcb_pem);
    free(ca_pem);
    free(b);
    EVP_PKEY_free(root_k);
    EVP_PKEY_free(ca_k);
    tu_rm_rf(d);
    free(d);
}

/* Every extension of a certificate as "OID[!]" (! = critical), in order. */
static void ext_list(X509 *x, char *out, size_t cap)
{
    out[0] = 0;
    for (int i = 0; i < X509_get_ext_count(x); i++) {
        X509_EXTENSION *e = X509_get_ext(x, i);
        char oid[80];
        OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(e), 1);
        snprintf(out + strlen(out), cap - strlen(out), "%s%s ", oid, X509_EXTENSION_get_critical(e) ? "!" : "");
    }
}

/* The sim's certificates carry the extensions of Intel's certificates of
 * the same role, in the same order, with the same criticality (CRL
 * distribution points included, which QVL requires): a real Platform-CA
 * PCK chain and TCB signing certificate (../shared/vectors/real). */
static void test_sim_certificates_have_intels_extensions(void **state)
{
    (void)state;
    const char *real = tu_vectors_subdir("real");
    if (!real)
        tu_skip_vectors("real quotes (vectors/real)");
    char p[4200];
    snprintf(p, sizeof p, "%s/sgx3-00606a-platform-eval17/quote", real);
    size_t qlen;
    uint8_t *rq = tu_read_file(p, &qlen);
    snprintf(p, sizeof p, "%s/sgx3-00606a-platform-eval17/collateral.json", real);
    char *rc = (char *)tu_read_file(p, NULL);
    assert_non_null(rq);
    assert_non_null(rc);
    asps_quote q;
    asps_errbuf eb;
    assert_int_equal(asps_quote_parse(rq, qlen, &q, &eb), ASPS_OK);
    STACK_OF(X509) *rsk = pem_certs((const char *)q.pck_chain, q.pck_chain_len);
    cJSON *o = cJSON_Parse(rc);
    const char *tc = cJSON_GetObjectItem(o, "tcb_info_issuer_chain")->valuestring;
    STACK_OF(X509) *rtsk = pem_certs(tc, strlen(tc));
    STACK_OF(X509) *ssk = pem_file_certs(g_dir, "pck_chain_UpToDate.pem");
    STACK_OF(X509) *stsk = pem_file_certs(g_dir, "tcb_signing.pem");
    struct {
        const char *role;
        X509 *intel, *sim;
    } pairs[] = {
        {"PCK certificate", sk_X509_value(rsk, 0), sk_X509_value(ssk, 0)},
        {"PCK Platform CA", sk_X509_value(rsk, 1), sk_X509_value(ssk, 1)},
        {"root CA", sk_X509_value(rsk, 2), sk_X509_value(ssk, 2)},
        {"TCB signing", sk_X509_value(rtsk, 0), sk_X509_value(stsk, 0)},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char want[512], got[512];
        assert_non_null(pairs[i].intel);
        assert_non_null(pairs[i].sim);
        ext_list(pairs[i].intel, want, sizeof want);
        ext_list(pairs[i].sim, got, sizeof got);
        if (strcmp(want, got))
            fail_msg("%s: extensions differ\nintel %s\nsim   %s", pairs[i].role, want, got);
        assert_non_null(strstr(got, "2.5.29.31 ")); /* CRL distribution points */
    }
    sk_X509_pop_free(rsk, X509_free);
    sk_X509_pop_free(rtsk, X509_free);
    sk_X509_pop_free(ssk, X509_free);
    sk_X509_pop_free(stsk, X509_free);
    cJSON_Delete(o);
    free(rc);
    free(rq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_init_writes_pki_with_private_keys_0600),
        cmocka_unit_test(test_sim_pck_extension_parses_as_intel_asn1),
        cmocka_unit_test(test_verifier_root_der_or_pem_exactly),
        cmocka_unit_test(test_sim_quote_verifies_with_sim_root_only),
        cmocka_unit_test(test_sim_every_tcb_level_yields_its_status_and_advisories),
        cmocka_unit_test(test_sim_tampered_quotes_are_caught),
        cmocka_unit_test(test_sim_chains_pass_openssl_path_validation),
        cmocka_unit_test(test_sim_collateral_signatures_verify_with_openssl),
        cmocka_unit_test(test_sim_pck_extension_matches_real_intel_asn1),
        cmocka_unit_test(test_sim_each_tcb_choice_lands_on_its_level),
        cmocka_unit_test(test_sim_quotes_have_intel_layout_and_real_signatures),
        cmocka_unit_test(test_sim_flipped_bytes_are_caught_by_their_check),
        cmocka_unit_test(test_resigned_tcb_info_field_mutations),
        cmocka_unit_test(test_resigned_qe_identity_field_mutations),
        cmocka_unit_test(test_resigned_tdx_module_mutations),
        cmocka_unit_test(test_sim_revoked_verdict_names_the_revoking_level),
        cmocka_unit_test(test_sim_td15_quotes_and_relaunch_advice),
        cmocka_unit_test(test_sim_revoked_pck_and_expired_collateral),
        cmocka_unit_test(test_sim_advisories_on_up_to_date_levels_reported_apart),
        cmocka_unit_test(test_sim_chain_profile_under_an_operator_root_is_not_intels),
        cmocka_unit_test(test_sim_certificates_have_intels_extensions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
