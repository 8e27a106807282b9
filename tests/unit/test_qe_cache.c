/* test_qe_cache.c: the verifier keeps a QE report signature that verified
 * (dcap.c, qe_report_signed) by the exact bytes it was checked over: the
 * PCK certificate's key, the QE report and its signature. After a cached
 * success, a quote whose QE report, QE report signature, attestation key,
 * QE authentication data or PCK certificate key differs by one byte is
 * still refused with the error of the check that covers it, exactly as by
 * a verifier with caching off (asps_verifier_set_cache); the cache is
 * bounded (64 QE reports, least recently used out first). On Intel's real
 * quotes (../shared/vectors/dcap) and on the simulated platform, whose PCK
 * CA key we hold to issue a PCK certificate with another key. The PCK
 * chain cache likewise takes a kept chain only for the same bytes whole.
 *
 * "Cached" is observed through the count of signature checks a call makes
 * (asps_x509_verifies): with collateral, PCK chain and QE report kept, a
 * call checks one signature, the quote's. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/verify.h"
#include "dcap_chains.h"
#include "quote.h"
#include "store.h"
#include "sim.h"
#include "testutil.h"
#include "util.h"
#include "x509.h"

#define AT_REAL 1751328000 /* 2025-07-01T00:00:00Z: the real collateral's window */

/* Where the QE report's parts sit in a quote, from its parse (not from a
 * table of ours): QE report, its signature, the attestation key (after the
 * signature data length and the quote signature), QE authentication data,
 * the PCK chain. */
typedef struct parts {
    size_t qe_report, qe_sig, att_key, qe_auth, qe_auth_len, pck_chain, pck_chain_len;
} parts;

static parts parts_of(const uint8_t *q, size_t len)
{
    asps_quote pq;
    asps_errbuf eb;
    assert_int_equal(asps_quote_parse(q, len, &pq, &eb), ASPS_OK);
    parts p;
    p.qe_report = (size_t)(pq.qe_report_raw - q);
    p.qe_sig = p.qe_report + ASPS_SGX_REPORT_LEN;
    assert_memory_equal(q + p.qe_sig, pq.qe_report_sig, 64);
    assert_ptr_equal(pq.signed_data, q);
    p.att_key = pq.signed_len + 4 + 64;
    assert_memory_equal(q + p.att_key, pq.att_key, 64);
    p.qe_auth = (size_t)(pq.qe_auth - q);
    p.qe_auth_len = pq.qe_auth_len;
    p.pck_chain = (size_t)(pq.pck_chain - q);
    p.pck_chain_len = pq.pck_chain_len;
    return p;
}

/* Verify with V; *N the signature checks the call made. */
static asps_err verify_n(asps_verifier *v, const uint8_t *q, size_t len,
                         const asps_collateral *col, int64_t at, asps_claims *c, uint64_t *n)
{
    asps_errbuf eb = {{0}};
    uint64_t n0 = asps_x509_verifies();
    asps_err e = asps_verify_quote(v, q, len, col, at, c, &eb);
    if (n)
        *n = asps_x509_verifies() - n0;
    if (e != ASPS_OK)
        assert_true(strlen(eb.msg) > 0);
    return e;
}

/* A verifier with caching on or off, trusting ROOT (DER) when given. */
static asps_verifier *verifier(int cache, const uint8_t *root, size_t root_len)
{
    asps_verifier *v;
    asps_errbuf eb;
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    if (root)
        assert_int_equal(asps_verifier_add_root(v, root, root_len, &eb), ASPS_OK);
    if (!cache)
        asps_verifier_set_cache(v, 0);
    return v;
}

/* Q with byte OFF flipped, verified by the cached verifier V (after its
 * success on Q) and by a verifier with caching off: both give WANT; then Q
 * itself still verifies on V with one signature check (the kept QE report
 * was neither dropped nor replaced by the refusal). */
static void expect_flip(asps_verifier *v, const uint8_t *root, size_t root_len, const uint8_t *q,
                        size_t len, const asps_collateral *col, int64_t at, size_t off,
                        asps_err want, const char *what)
{
    uint8_t *m = malloc(len);
    assert_non_null(m);
    memcpy(m, q, len);
    m[off] ^= 0x01;
    asps_claims c;
    asps_err on = verify_n(v, m, len, col, at, &c, NULL);
    asps_verifier *off_v = verifier(0, root, root_len);
    asps_err offr = verify_n(off_v, m, len, col, at, &c, NULL);
    asps_verifier_free(off_v);
    free(m);
    if (on != want || offr != want)
        fail_msg("%s (byte %zu): want %s, cached verifier %s, cache off %s", what, off,
                 asps_err_name(want), asps_err_name(on), asps_err_name(offr));
    uint64_t n;
    assert_int_equal(verify_n(v, q, len, col, at, &c, &n), ASPS_OK);
    if (n != 1)
        fail_msg("after %s: the original quote took %llu signature checks, not 1", what,
                 (unsigned long long)n);
}

/* The first PEM block of the quote's PCK chain (the PCK certificate), its
 * place in Q and the certificate. */
static X509 *pck_leaf(const uint8_t *q, const parts *p, size_t *off, size_t *len)
{
    const char *c = (const char *)q + p->pck_chain;
    const char *end_tag = "-----END CERTIFICATE-----";
    const char *e = memmem(c, p->pck_chain_len, end_tag, strlen(end_tag));
    assert_non_null(e);
    assert_memory_equal(c, "-----BEGIN CERTIFICATE-----", 27);
    *off = p->pck_chain;
    *len = (size_t)(e - c) + strlen(end_tag);
    BIO *b = BIO_new_mem_buf(c, (int)*len);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    char cn[256];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    assert_non_null(strstr(cn, "SGX PCK Certificate"));
    return x;
}

/* ---- Intel's real quotes ------------------------------------------------------ */

static void real_changed_bytes_refused(const char *tee)
{
    char name[64];
    size_t qlen, clen;
    snprintf(name, sizeof name, "%s_quote", tee);
    uint8_t *q = tu_read_vector(name, &qlen);
    snprintf(name, sizeof name, "%s_quote_collateral.json", tee);
    uint8_t *cj = tu_read_vector(name, &clen);
    asps_collateral *col;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_parse_bundle(cj, clen, &col, &eb), ASPS_OK);
    parts p = parts_of(q, qlen);

    /* a cached success: the second call checks only the quote signature */
    asps_verifier *v = verifier(1, NULL, 0);
    asps_claims c0, c1;
    uint64_t n;
    assert_int_equal(verify_n(v, q, qlen, col, AT_REAL, &c0, &n), ASPS_OK);
    assert_int_equal(n, 9); /* 6 collateral, PCK certificate, QE report, quote */
    assert_int_equal(verify_n(v, q, qlen, col, AT_REAL, &c1, &n), ASPS_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(&c0, &c1, sizeof c0);
    /* the same verdict with caching off */
    asps_verifier *off_v = verifier(0, NULL, 0);
    assert_int_equal(verify_n(off_v, q, qlen, col, AT_REAL, &c1, NULL), ASPS_OK);
    assert_memory_equal(&c0, &c1, sizeof c0);
    asps_verifier_free(off_v);

    /* the QE report (CPUSVN, MRENCLAVE, MRSIGNER, ISVSVN, report data,
     * last byte) and its signature (r, s): the signature check */
    const size_t report_offs[] = {0, 64, 128, 258, 320, 383};
    for (size_t i = 0; i < sizeof report_offs / sizeof report_offs[0]; i++)
        expect_flip(v, NULL, 0, q, qlen, col, AT_REAL, p.qe_report + report_offs[i],
                    ASPS_E_QE_REPORT_SIGNATURE, "QE report");
    expect_flip(v, NULL, 0, q, qlen, col, AT_REAL, p.qe_sig, ASPS_E_QE_REPORT_SIGNATURE,
                "QE report signature r");
    expect_flip(v, NULL, 0, q, qlen, col, AT_REAL, p.qe_sig + 63, ASPS_E_QE_REPORT_SIGNATURE,
                "QE report signature s");
    /* the attestation key and QE authentication data: the report data
     * binding, checked on every call */
    expect_flip(v, NULL, 0, q, qlen, col, AT_REAL, p.att_key, ASPS_E_QE_REPORT_DATA,
                "attestation key");
    expect_flip(v, NULL, 0, q, qlen, col, AT_REAL, p.att_key + 63, ASPS_E_QE_REPORT_DATA,
                "attestation key");
    assert_true(p.qe_auth_len > 0);
    expect_flip(v, NULL, 0, q, qlen, col, AT_REAL, p.qe_auth, ASPS_E_QE_REPORT_DATA,
                "QE authentication data");
    expect_flip(v, NULL, 0, q, qlen, col, AT_REAL, p.qe_auth + p.qe_auth_len - 1,
                ASPS_E_QE_REPORT_DATA, "QE authentication data");

    /* and the original, last, as it was first */
    assert_int_equal(verify_n(v, q, qlen, col, AT_REAL, &c1, &n), ASPS_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(&c0, &c1, sizeof c0);
    asps_verifier_free(v);
    asps_collateral_free(col);
    free(q);
    free(cj);
}

static void test_real_sgx_cached_qe_report_refuses_changed_bytes(void **state)
{
    (void)state;
    real_changed_bytes_refused("sgx");
}

static void test_real_tdx_cached_qe_report_refuses_changed_bytes(void **state)
{
    (void)state;
    real_changed_bytes_refused("tdx");
}

/* A slot found by its digest is a hit only when its bytes compare equal
 * whole: a slot under the digest of a quote's (bad) QE report whose bytes
 * are another's (the good one's, as a SHA-256 collision would have it)
 * does not let the bad signature through. */
static void test_real_slot_with_other_bytes_is_no_hit(void **state)
{
    (void)state;
    size_t qlen, clen;
    uint8_t *q = tu_read_vector("sgx_quote", &qlen);
    uint8_t *cj = tu_read_vector("sgx_quote_collateral.json", &clen);
    asps_collateral *col;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_parse_bundle(cj, clen, &col, &eb), ASPS_OK);
    parts p = parts_of(q, qlen);
    asps_verifier *v = verifier(1, NULL, 0);
    asps_claims c;
    assert_int_equal(verify_n(v, q, qlen, col, AT_REAL, &c, NULL), ASPS_OK);

    /* the PCK certificate as the verifier decodes it */
    size_t off, len;
    X509 *leaf = pck_leaf(q, &p, &off, &len);
    uint8_t *der = NULL;
    int dlen = i2d_X509(leaf, &der);
    X509_free(leaf);
    leaf = asps_x509_decode(der, (size_t)dlen, ASPS_X509_P256);
    OPENSSL_free(der);
    assert_non_null(leaf);

    asps_quote good, bad;
    assert_int_equal(asps_quote_parse(q, qlen, &good, &eb), ASPS_OK);
    uint8_t *m = malloc(qlen);
    assert_non_null(m);
    memcpy(m, q, qlen);
    m[p.qe_sig + 10] ^= 0x01;
    assert_int_equal(asps_quote_parse(m, qlen, &bad, &eb), ASPS_OK);
    uint8_t gb[ASPS_QE_SIG_MAX], bb[ASPS_QE_SIG_MAX], bd[32];
    size_t gn = asps_dcap_qe_sig_bytes(&good, leaf, gb), bn = asps_dcap_qe_sig_bytes(&bad, leaf, bb);
    assert_int_equal(gn, 1 + 65 + 384 + 64);
    assert_int_equal(bn, gn);
    assert_int_equal(asps_sha256(bb, bn, bd), 1);
    asps_qe_sig_kept *forged = malloc(sizeof *forged + gn);
    assert_non_null(forged);
    forged->len = gn;
    memcpy(forged->bytes, gb, gn);
    assert_null(asps_store_get(v, ASPS_STORE_QE_REPORT, bd));
    assert_int_equal(asps_store_put(v, ASPS_STORE_QE_REPORT, bd, forged, free), 1);
    assert_int_equal(verify_n(v, m, qlen, col, AT_REAL, &c, NULL), ASPS_E_QE_REPORT_SIGNATURE);
    /* the forged slot stays (not replaced by a verdict), the good quote
     * still verifies */
    assert_ptr_equal(asps_store_get(v, ASPS_STORE_QE_REPORT, bd), forged);
    assert_int_equal(verify_n(v, q, qlen, col, AT_REAL, &c, NULL), ASPS_OK);
    X509_free(leaf);
    free(m);
    asps_verifier_free(v);
    asps_collateral_free(col);
    free(q);
    free(cj);
}

/* The PCK chain kept the same way: a slot found by the digest of a
 * quote's chain is taken only when its PEM bytes compare equal whole. A
 * slot under the digest of a changed chain holding the original's verified
 * chain (as a SHA-256 collision would have it) does not let the changed
 * chain through: the verdict is the one of a verifier with caching off. */
static void test_real_chain_slot_with_other_bytes_is_no_hit(void **state)
{
    (void)state;
    size_t qlen, clen;
    uint8_t *q = tu_read_vector("sgx_quote", &qlen);
    uint8_t *cj = tu_read_vector("sgx_quote_collateral.json", &clen);
    asps_collateral *col;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_parse_bundle(cj, clen, &col, &eb), ASPS_OK);
    parts p = parts_of(q, qlen);
    size_t off, len;
    X509_free(pck_leaf(q, &p, &off, &len));
    /* the changed quote: one base64 character near the end of the PCK
     * certificate's PEM (its signature) */
    uint8_t *m = malloc(qlen);
    assert_non_null(m);
    memcpy(m, q, qlen);
    size_t at = off + len - strlen("-----END CERTIFICATE-----") - 8;
    m[at] = m[at] == 'A' ? 'B' : 'A';
    asps_claims c;
    asps_verifier *off_v = verifier(0, NULL, 0);
    asps_err want = verify_n(off_v, m, qlen, col, AT_REAL, &c, NULL);
    assert_int_not_equal(want, ASPS_OK);

    /* the original's chain, verified (owned: caching off) */
    asps_quote good, bad;
    assert_int_equal(asps_quote_parse(q, qlen, &good, &eb), ASPS_OK);
    assert_int_equal(asps_quote_parse(m, qlen, &bad, &eb), ASPS_OK);
    int fresh = 0;
    asps_err e = ASPS_OK;
    asps_verified_chain *ch = asps_dcap_verified_pck_chain(off_v, &good, NULL, &fresh, &eb, &e);
    assert_non_null(ch);
    assert_int_equal(fresh, 1);
    asps_verifier_free(off_v);

    asps_verifier *v = verifier(1, NULL, 0);
    assert_int_equal(verify_n(v, q, qlen, col, AT_REAL, &c, NULL), ASPS_OK);
    uint8_t bd[32];
    assert_int_equal(asps_sha256(bad.pck_chain, bad.pck_chain_len, bd), 1);
    assert_null(asps_store_get(v, ASPS_STORE_PCK_CHAIN, bd));
    assert_int_equal(asps_store_put(v, ASPS_STORE_PCK_CHAIN, bd, ch, asps_dcap_chain_free), 1);
    assert_int_equal(verify_n(v, m, qlen, col, AT_REAL, &c, NULL), want);
    assert_ptr_equal(asps_store_get(v, ASPS_STORE_PCK_CHAIN, bd), ch); /* the slot stays */
    assert_int_equal(verify_n(v, q, qlen, col, AT_REAL, &c, NULL), ASPS_OK);
    free(m);
    asps_verifier_free(v);
    asps_collateral_free(col);
    free(q);
    free(cj);
}

/* ---- the simulated platform -------------------------------------------------- */

static char *g_dir;
static uint8_t *g_root;
static size_t g_root_len;

static int setup(void **state)
{
    (void)state;
    g_dir = tu_mkdtemp();
    asps_errbuf eb;
    if (asps_sim_init(g_dir, &eb) != ASPS_OK) {
        fprintf(stderr, "sim init: %s\n", eb.msg);
        return -1;
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/root_ca.der", g_dir);
    g_root = tu_read_file(p, &g_root_len);
    return g_root ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(g_dir);
    free(g_dir);
    free(g_root);
    return 0;
}

static asps_collateral *sim_collateral(const char *tee)
{
    char p[4200];
    size_t n;
    snprintf(p, sizeof p, "%s/collateral_%s.json", g_dir, tee);
    uint8_t *b = tu_read_file(p, &n);
    assert_non_null(b);
    asps_collateral *col;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_parse_bundle(b, n, &col, &eb), ASPS_OK);
    free(b);
    return col;
}

static uint8_t *sim_quote(asps_sim *s, asps_tee tee, uint8_t rd, size_t *len)
{
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    id.tee = tee;
    memset(id.mr_enclave, 0xa1, 32);
    memset(id.mr_td, 0xcd, 48);
    memset(id.report_data, rd, 64);
    uint8_t *q;
    asps_errbuf eb;
    assert_int_equal(asps_sim_quote(s, &id, &q, len, &eb), ASPS_OK);
    return q;
}

/* A copy of Q whose PCK certificate is LEAF re-issued by the sim's PCK CA
 * (same subject, extensions and validity) with KEY as its subject key (NULL:
 * its own), signed until its PEM is as long as the original's so it takes
 * the same place in the quote. */
static uint8_t *with_reissued_pck(const uint8_t *q, size_t qlen, EVP_PKEY *key)
{
    parts p = parts_of(q, qlen);
    size_t off, len;
    X509 *leaf = pck_leaf(q, &p, &off, &len);
    char path[4200];
    snprintf(path, sizeof path, "%s/pck_ca.key", g_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(ca_key);
    uint8_t *out = NULL;
    for (int tries = 0; tries < 64 && !out; tries++) {
        X509 *x = X509_dup(leaf);
        assert_non_null(x);
        if (key)
            assert_int_equal(X509_set_pubkey(x, key), 1);
        assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
        BIO *b = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_X509(b, x), 1);
        char *pem;
        long n = BIO_get_mem_data(b, &pem);
        while (n > 0 && pem[n - 1] == '\n')
            n--; /* the block without its final newline, as measured in Q */
        if ((size_t)n == len) {
            out = malloc(qlen);
            assert_non_null(out);
            memcpy(out, q, qlen);
            assert_memory_not_equal(out + off, pem, len);
            memcpy(out + off, pem, len);
        }
        BIO_free(b);
        X509_free(x);
    }
    assert_non_null(out);
    EVP_PKEY_free(ca_key);
    X509_free(leaf);
    return out;
}

/* After a cached success, the same QE report and signature under a PCK
 * certificate (valid, issued by the PCK CA) with another key: refused by
 * the QE report signature check, cached or not. The same certificate
 * re-signed with its own key (other bytes, same key) still verifies, and
 * from the kept QE report: 2 checks (its PCK certificate, the quote). */
static void sim_pck_key_is_part_of_the_kept_bytes(asps_tee tee, const char *name)
{
    asps_sim *s;
    asps_errbuf eb;
    assert_int_equal(asps_sim_open(g_dir, &s, &eb), ASPS_OK);
    asps_collateral *col = sim_collateral(name);
    int64_t now = (int64_t)time(NULL);
    size_t qlen;
    uint8_t *q = sim_quote(s, tee, 0x11, &qlen);
    asps_verifier *v = verifier(1, g_root, g_root_len);
    asps_claims c;
    uint64_t n;
    assert_int_equal(verify_n(v, q, qlen, col, now, &c, NULL), ASPS_OK);
    assert_int_equal(verify_n(v, q, qlen, col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 1);

    EVP_PKEY *other = EVP_EC_gen("P-256");
    assert_non_null(other);
    uint8_t *m = with_reissued_pck(q, qlen, other);
    assert_int_equal(verify_n(v, m, qlen, col, now, &c, &n), ASPS_E_QE_REPORT_SIGNATURE);
    assert_int_equal(n, 2); /* the new PCK certificate verified, then the QE report */
    asps_verifier *off_v = verifier(0, g_root, g_root_len);
    assert_int_equal(verify_n(off_v, m, qlen, col, now, &c, NULL), ASPS_E_QE_REPORT_SIGNATURE);
    asps_verifier_free(off_v);
    free(m);
    EVP_PKEY_free(other);

    m = with_reissued_pck(q, qlen, NULL);
    assert_int_equal(verify_n(v, m, qlen, col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 2);
    free(m);
    assert_int_equal(verify_n(v, q, qlen, col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 1);

    asps_verifier_free(v);
    asps_collateral_free(col);
    free(q);
    asps_sim_free(s);
}

static void test_sim_sgx_pck_key_is_part_of_the_kept_bytes(void **state)
{
    (void)state;
    sim_pck_key_is_part_of_the_kept_bytes(ASPS_TEE_SGX, "sgx");
}

static void test_sim_tdx_pck_key_is_part_of_the_kept_bytes(void **state)
{
    (void)state;
    sim_pck_key_is_part_of_the_kept_bytes(ASPS_TEE_TDX, "tdx");
}

/* Quotes of one open platform (new report data each, as RA-TLS
 * certificates have) share the QE report: after the first, each checks one
 * signature. The mutations of the real quotes' test, on a sim quote. */
static void test_sim_quotes_of_one_qe_share_the_kept_report(void **state)
{
    (void)state;
    asps_sim *s;
    asps_errbuf eb;
    assert_int_equal(asps_sim_open(g_dir, &s, &eb), ASPS_OK);
    asps_collateral *col = sim_collateral("sgx");
    int64_t now = (int64_t)time(NULL);
    asps_verifier *v = verifier(1, g_root, g_root_len);
    asps_claims c;
    uint64_t n;
    size_t qlen;
    uint8_t *q = sim_quote(s, ASPS_TEE_SGX, 0, &qlen);
    assert_int_equal(verify_n(v, q, qlen, col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 10); /* 7 collateral (numbers list too), PCK certificate, QE report, quote */
    for (int i = 1; i <= 4; i++) {
        free(q);
        q = sim_quote(s, ASPS_TEE_SGX, (uint8_t)i, &qlen);
        assert_int_equal(verify_n(v, q, qlen, col, now, &c, &n), ASPS_OK);
        assert_int_equal(n, 1);
        assert_int_equal(c.sgx.report_data[0], i);
    }
    parts p = parts_of(q, qlen);
    expect_flip(v, g_root, g_root_len, q, qlen, col, now, p.qe_report + 320,
                ASPS_E_QE_REPORT_SIGNATURE, "QE report data");
    expect_flip(v, g_root, g_root_len, q, qlen, col, now, p.qe_sig + 5,
                ASPS_E_QE_REPORT_SIGNATURE, "QE report signature");
    expect_flip(v, g_root, g_root_len, q, qlen, col, now, p.att_key + 7, ASPS_E_QE_REPORT_DATA,
                "attestation key");
    expect_flip(v, g_root, g_root_len, q, qlen, col, now, p.qe_auth + 3, ASPS_E_QE_REPORT_DATA,
                "QE authentication data");
    free(q);
    asps_sim_free(s);

    /* the QE restarted: a new attestation key, a new QE report, checked */
    assert_int_equal(asps_sim_open(g_dir, &s, &eb), ASPS_OK);
    q = sim_quote(s, ASPS_TEE_SGX, 9, &qlen);
    assert_int_equal(verify_n(v, q, qlen, col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 2);
    free(q);
    asps_sim_free(s);
    asps_verifier_free(v);
    asps_collateral_free(col);
}

/* The bound: 64 QE reports kept, the least recently used dropped first. 65
 * platforms (each open a QE with its own attestation key): the first is
 * checked again, the 65th and a reused one are not. */
static void test_sim_kept_reports_are_bounded_lru(void **state)
{
    (void)state;
    enum { N = 65 };
    asps_collateral *col = sim_collateral("sgx");
    int64_t now = (int64_t)time(NULL);
    asps_verifier *v = verifier(1, g_root, g_root_len);
    asps_claims c;
    asps_errbuf eb;
    uint64_t n;
    uint8_t *q[N];
    size_t qlen[N];
    for (int i = 0; i < N; i++) {
        asps_sim *s;
        assert_int_equal(asps_sim_open(g_dir, &s, &eb), ASPS_OK);
        q[i] = sim_quote(s, ASPS_TEE_SGX, 1, &qlen[i]);
        asps_sim_free(s);
    }
    for (int i = 0; i < N - 1; i++) {
        assert_int_equal(verify_n(v, q[i], qlen[i], col, now, &c, &n), ASPS_OK);
        assert_int_equal(n, i == 0 ? 10 : 2);
    }
    /* use the first again: the second is now the least recently used */
    assert_int_equal(verify_n(v, q[0], qlen[0], col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(verify_n(v, q[N - 1], qlen[N - 1], col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 2); /* the 65th: in place of the second */
    assert_int_equal(verify_n(v, q[0], qlen[0], col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(verify_n(v, q[N - 1], qlen[N - 1], col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(verify_n(v, q[1], qlen[1], col, now, &c, &n), ASPS_OK);
    assert_int_equal(n, 2); /* dropped, checked again */
    for (int i = 0; i < N; i++)
        free(q[i]);
    asps_verifier_free(v);
    asps_collateral_free(col);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_sgx_cached_qe_report_refuses_changed_bytes),
        cmocka_unit_test(test_real_tdx_cached_qe_report_refuses_changed_bytes),
        cmocka_unit_test(test_real_slot_with_other_bytes_is_no_hit),
        cmocka_unit_test(test_real_chain_slot_with_other_bytes_is_no_hit),
        cmocka_unit_test(test_sim_sgx_pck_key_is_part_of_the_kept_bytes),
        cmocka_unit_test(test_sim_tdx_pck_key_is_part_of_the_kept_bytes),
        cmocka_unit_test(test_sim_quotes_of_one_qe_share_the_kept_report),
        cmocka_unit_test(test_sim_kept_reports_are_bounded_lru),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
