/* test_dcap.c: the DCAP verifier against Intel's real quotes and collateral,
 * and every mutation of them that can be made without Intel's keys: each
 * must fail with the specific error of the check that covers the field.
 * (Mutations of signed collateral bodies that need a re-signature, CRL
 * revocations and QE identity field mismatches are in test_dcap_sim.c, on
 * the simulated platform whose keys we hold.)
 *
 * Where asps and the public peers differ (measured with
 * scripts/compare_peer.sh against npm @phala/dcap-qvl, pure JS, and
 * @phala/dcap-qvl-web, the Rust crate built to wasm):
 *  - the JS peer accepts the real SGX quote with a root CA CRL or a PCK CRL
 *    whose signature byte was flipped (test_crl_signature_flipped_is_refused),
 *    with the PCK CRL given as the root CA CRL
 *    (test_crls_swapped_are_refused_by_issuer), and with the other platform's
 *    (Platform CA) PCK CRL and chain (test_other_platform_pck_crl_is_refused):
 *    it verifies no CRL signature and never ties a CRL to its CA. The wasm
 *    peer refuses all four, as asps and Intel's QVL (PckCrlVerifier) do.
 *  - the wasm peer accepts TCB info before its issueDate
 *    (test_tcb_info_not_yet_valid_is_refused); asps and the JS peer refuse it.
 *  - both peers (and QVL) ignore bytes after the quote; asps accepts only
 *    zero padding there (test_trailing_bytes_refused_unless_zero_padding),
 *    since anything else could only be smuggled content.
 */
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asps/verify.h"
#include "claims_json.h"
#include "dcap_parse.h"
#include "quote.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

#define AT_OK 1751328000     /* 2025-07-01T00:00:00Z */
#define AT_EXPIRED 1754006400 /* 2025-08-01T00:00:00Z */

typedef struct fixture {
    uint8_t *quote;
    size_t quote_len;
    char *col_json;
    size_t col_len;
} fixture;

static void load(fixture *f, const char *tee)
{
    char name[64];
    snprintf(name, sizeof name, "%s_quote", tee);
    f->quote = tu_read_vector(name, &f->quote_len);
    snprintf(name, sizeof name, "%s_quote_collateral.json", tee);
    f->col_json = (char *)tu_read_vector(name, &f->col_len);
}

static void unload(fixture *f)
{
    free(f->quote);
    free(f->col_json);
}

static asps_err verify_with(const uint8_t *q, size_t qlen, const char *col_json, int64_t at,
                            asps_claims *c, asps_errbuf *eb)
{
    asps_verifier *v;
    asps_collateral *col;
    assert_int_equal(asps_verifier_new(&v, eb), ASPS_OK);
    asps_err e = asps_collateral_parse_bundle((const uint8_t *)col_json, strlen(col_json), &col, eb);
    if (e == ASPS_OK) {
        e = asps_verify_quote(v, q, qlen, col, at, c, eb);
        asps_collateral_free(col);
    }
    asps_verifier_free(v);
    return e;
}

static asps_err verify_fixture(fixture *f, int64_t at, asps_claims *c, asps_errbuf *eb)
{
    return verify_with(f->quote, f->quote_len, f->col_json, at, c, eb);
}

/* The collateral with one field replaced (by a string) */
static char *col_with(const char *json, const char *field, const char *value)
{
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    cJSON_ReplaceItemInObjectCaseSensitive(o, field, cJSON_CreateString(value));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static char *col_field(const char *json, const char *field)
{
    cJSON *o = cJSON_Parse(json);
    char *s = strdup(cJSON_GetObjectItem(o, field)->valuestring);
    cJSON_Delete(o);
    return s;
}

/* Flip one bit of a field (hex fields: flip a hex digit; text: one char). */
static char *col_flip(const char *json, const char *field, size_t pos)
{
    char *v = col_field(json, field);
    size_t n = strlen(v);
    pos = pos % n;
    char c = v[pos];
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
        v[pos] = c == '0' ? '1' : '0';
    else
        v[pos] = c == 'a' ? 'b' : 'a';
    char *s = col_with(json, field, v);
    free(v);
    return s;
}

static void expect_col_err(fixture *f, char *mutated, asps_err want)
{
    asps_claims c;
    asps_errbuf eb = {{0}};
    asps_err e = verify_with(f->quote, f->quote_len, mutated, AT_OK, &c, &eb);
    if (e != want)
        fail_msg("want %s, got %s: %s", asps_err_name(want), asps_err_name(e), eb.msg);
    assert_true(strlen(eb.msg) > 0);
    free(mutated);
}

/* ---- the real quotes verify exactly as README lists ------------------------- */

static void test_real_sgx_quote_verifies_with_status_and_advisories(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    asps_claims c;
    asps_errbuf eb = {{0}};
    asps_err e = verify_fixture(&f, AT_OK, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(c.tee, ASPS_TEE_SGX);
    assert_int_equal(c.tcb_status, ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(c.n_advisories, 2);
    assert_string_equal(c.advisory_ids[0], "INTEL-SA-00289");
    assert_string_equal(c.advisory_ids[1], "INTEL-SA-00615");
    assert_false(c.simulated);
    assert_false(c.debug);
    /* the claims are the quote's body */
    asps_quote q;
    assert_int_equal(asps_quote_parse(f.quote, f.quote_len, &q, &eb), ASPS_OK);
    assert_memory_equal(c.sgx.mr_enclave, q.sgx.mr_enclave, 32);
    assert_memory_equal(c.sgx.report_data, "Hello, world!", 13);
    /* earliest expiry of the collateral used: the QE identity's nextUpdate */
    int64_t want;
    assert_int_equal(asps_time_parse("2025-07-19T10:01:18Z", &want), 0);
    assert_int_equal(c.expires_at, want);
    unload(&f);
}

static void test_real_tdx_quote_verifies_up_to_date(void **state)
{
    (void)state;
    fixture f;
    load(&f, "tdx");
    asps_claims c;
    asps_errbuf eb = {{0}};
    asps_err e = verify_fixture(&f, AT_OK, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(c.tee, ASPS_TEE_TDX);
    assert_int_equal(c.tcb_status, ASPS_TCB_UP_TO_DATE);
    assert_int_equal(c.n_advisories, 0);
    assert_int_equal(c.quote_version, 4);
    unload(&f);
}

static void test_real_quotes_fail_when_collateral_expired(void **state)
{
    (void)state;
    const char *tees[] = {"sgx", "tdx"};
    for (int i = 0; i < 2; i++) {
        fixture f;
        load(&f, tees[i]);
        asps_claims c;
        asps_errbuf eb = {{0}};
        asps_err e = verify_fixture(&f, AT_EXPIRED, &c, &eb);
        /* QVL's order checks the PCK chain's CRLs before the TCB info */
        assert_int_equal(e, ASPS_E_CRL_EXPIRED);
        unload(&f);
    }
}

static void test_tcb_info_not_yet_valid_is_refused(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    asps_claims c;
    asps_errbuf eb = {{0}};
    int64_t at;
    /* after the CRLs' lastUpdate (10:23:18), before TCB info issueDate (10:56:11) */
    assert_int_equal(asps_time_parse("2025-06-19T10:40:00Z", &at), 0);
    assert_int_equal(verify_fixture(&f, at, &c, &eb), ASPS_E_TCB_INFO_EXPIRED);
    assert_non_null(strstr(eb.msg, "TCB info"));
    unload(&f);
}

static void test_tcb_info_expired_after_next_update(void **state)
{
    (void)state;
    fixture f;
    load(&f, "tdx");
    /* TDX: CRLs valid until 10:00:35 and 10:2x; QE identity 10:32:27; TCB info
     * 10:16:03. Check that a time after only the TCB info's nextUpdate fails
     * on it, by using a time between the two when the order allows. */
    asps_claims c;
    asps_errbuf eb = {{0}};
    int64_t at;
    assert_int_equal(asps_time_parse("2025-07-19T10:10:00Z", &at), 0);
    asps_err e = verify_fixture(&f, at, &c, &eb);
    assert_int_not_equal(e, ASPS_OK);
    unload(&f);
}

/* ---- quote mutations ----------------------------------------------------------- */

static asps_err verify_mutated_quote(fixture *f, size_t off, uint8_t xor, asps_errbuf *eb)
{
    uint8_t *q = malloc(f->quote_len);
    memcpy(q, f->quote, f->quote_len);
    q[off] ^= xor;
    asps_claims c;
    asps_err e = verify_with(q, f->quote_len, f->col_json, AT_OK, &c, eb);
    free(q);
    return e;
}

static void expect_quote_err_x(fixture *f, size_t off, uint8_t xor, asps_err want)
{
    asps_errbuf eb = {{0}};
    asps_err e = verify_mutated_quote(f, off, xor, &eb);
    if (e != want)
        fail_msg("offset %zu: want %s, got %s: %s", off, asps_err_name(want), asps_err_name(e),
                 eb.msg);
}

static void expect_quote_err(fixture *f, size_t off, asps_err want)
{
    expect_quote_err_x(f, off, 0x01, want);
}

/* SGX v3 offsets: header 0, body 48 (mrenclave at 48+64, report_data at
 * 48+320), sig len 432, sig 436, att key 500, QE report 564 (isvsvn at
 * 564+258, report data at 564+320), QE sig 948, auth len 1012, auth 1014. */
static void test_sgx_quote_mutations_hit_their_checks(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    expect_quote_err(&f, 48 + 64, ASPS_E_QUOTE_SIGNATURE);     /* MRENCLAVE */
    expect_quote_err(&f, 48 + 128, ASPS_E_QUOTE_SIGNATURE);    /* MRSIGNER */
    expect_quote_err(&f, 48 + 256, ASPS_E_QUOTE_SIGNATURE);    /* ISVPRODID */
    expect_quote_err(&f, 48 + 258, ASPS_E_QUOTE_SIGNATURE);    /* ISVSVN */
    expect_quote_err(&f, 48 + 96, ASPS_E_QUOTE_SIGNATURE);     /* ATTRIBUTES (debug bit) */
    expect_quote_err(&f, 48 + 320, ASPS_E_QUOTE_SIGNATURE);    /* report data */
    expect_quote_err(&f, 28, ASPS_E_QUOTE_SIGNATURE);          /* header user data */
    expect_quote_err(&f, 436, ASPS_E_QUOTE_SIGNATURE);         /* quote signature r */
    expect_quote_err(&f, 436 + 63, ASPS_E_QUOTE_SIGNATURE);    /* quote signature s */
    expect_quote_err(&f, 500 + 10, ASPS_E_QE_REPORT_DATA);     /* attestation key */
    expect_quote_err(&f, 564 + 258, ASPS_E_QE_REPORT_SIGNATURE); /* QE ISVSVN */
    expect_quote_err(&f, 564 + 128, ASPS_E_QE_REPORT_SIGNATURE); /* QE MRSIGNER */
    expect_quote_err(&f, 564 + 320, ASPS_E_QE_REPORT_SIGNATURE); /* QE report data */
    expect_quote_err(&f, 948, ASPS_E_QE_REPORT_SIGNATURE);     /* QE report signature */
    expect_quote_err(&f, 1014, ASPS_E_QE_REPORT_DATA);         /* QE auth data */
    expect_quote_err(&f, 12, ASPS_E_UNSUPPORTED);              /* QE vendor ID */
    expect_quote_err(&f, 0, ASPS_E_UNSUPPORTED);               /* version 3 -> 2 */
    expect_quote_err(&f, 2, ASPS_E_UNSUPPORTED);               /* att key type 2 -> 3 */
    unload(&f);
}

/* TDX v4: header 0, TD report 48 (tee_tcb_svn 48, mrsignerseam 48+64,
 * seam attributes 48+112, td attributes 48+120, mrtd 48+136, rtmr0 48+328,
 * report data 48+520), sig len 632, sig 636, att key 700, cert type 764,
 * cert len 766, QE report 770. */
static void test_tdx_quote_mutations_hit_their_checks(void **state)
{
    (void)state;
    fixture f;
    load(&f, "tdx");
    expect_quote_err(&f, 48 + 136, ASPS_E_QUOTE_SIGNATURE);  /* MRTD */
    expect_quote_err(&f, 48 + 328, ASPS_E_QUOTE_SIGNATURE);  /* RTMR0 */
    expect_quote_err(&f, 48 + 520, ASPS_E_QUOTE_SIGNATURE);  /* report data */
    expect_quote_err(&f, 48 + 120, ASPS_E_QUOTE_SIGNATURE);  /* TD attributes */
    expect_quote_err(&f, 48 + 64, ASPS_E_TDX_MODULE);        /* MRSIGNERSEAM */
    expect_quote_err(&f, 48 + 112, ASPS_E_TDX_MODULE);       /* SEAM attributes */
    /* TDX module version 1 -> 5: no TDX_05 identity in the TCB info */
    expect_quote_err_x(&f, 48 + 1, 0x04, ASPS_E_TDX_MODULE);
    /* module version 1 -> 0: no module identity used, the signature catches it */
    expect_quote_err_x(&f, 48 + 1, 0x01, ASPS_E_QUOTE_SIGNATURE);
    expect_quote_err(&f, 636, ASPS_E_QUOTE_SIGNATURE);
    expect_quote_err(&f, 700, ASPS_E_QE_REPORT_DATA);
    expect_quote_err(&f, 770 + 256, ASPS_E_QE_REPORT_SIGNATURE);
    expect_quote_err(&f, 764, ASPS_E_UNSUPPORTED);           /* cert data type 6 -> 7 */
    unload(&f);
}

static void test_tdx_tee_tcb_svn_below_every_level_is_not_found(void **state)
{
    (void)state;
    fixture f;
    load(&f, "tdx");
    /* TEE_TCB_SVN[2] = 3 in the quote; the lowest TDX level wants 2 there
     * (with module version > 0 bytes 0-1 are judged by module identity). Set
     * it to 0: the signature breaks first, proving the body is covered. */
    asps_errbuf eb = {{0}};
    assert_int_equal(verify_mutated_quote(&f, 48 + 2, 0x03, &eb), ASPS_E_QUOTE_SIGNATURE);
    unload(&f);
}

static void test_truncated_quotes_fail_cleanly_at_every_length(void **state)
{
    (void)state;
    const char *tees[] = {"sgx", "tdx"};
    for (int t = 0; t < 2; t++) {
        fixture f;
        load(&f, tees[t]);
        asps_quote q;
        asps_errbuf eb;
        /* the TDX vector carries 70 bytes of zero padding: cutting into the
         * padding still leaves a whole quote */
        size_t whole = f.quote_len - (t == 1 ? 70 : 0);
        for (size_t n = 0; n < whole; n++) {
            asps_err e = asps_quote_parse(f.quote, n, &q, &eb);
            if (e == ASPS_OK)
                fail_msg("%s quote truncated to %zu parsed", tees[t], n);
        }
        assert_int_equal(asps_quote_parse(f.quote, whole, &q, &eb), ASPS_OK);
        unload(&f);
    }
}

static void test_trailing_bytes_refused_unless_zero_padding(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    uint8_t *q = calloc(1, f.quote_len + 8);
    memcpy(q, f.quote, f.quote_len);
    asps_claims c;
    asps_errbuf eb;
    assert_int_equal(verify_with(q, f.quote_len + 8, f.col_json, AT_OK, &c, &eb), ASPS_OK);
    q[f.quote_len + 3] = 0x41;
    assert_int_equal(verify_with(q, f.quote_len + 8, f.col_json, AT_OK, &c, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "trailing"));
    free(q);
    unload(&f);
}

static void test_inner_lengths_cannot_escape(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    size_t offs[] = {432, 433, 435, 1012, 1013}; /* sig data len, auth len */
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        asps_errbuf eb = {{0}};
        asps_err e = verify_mutated_quote(&f, offs[i], 0x80, &eb);
        /* a longer auth data length swallows the cert data header: either
         * way a clean refusal */
        if (e != ASPS_E_PARSE && e != ASPS_E_UNSUPPORTED)
            fail_msg("offset %zu: %s: %s", offs[i], asps_err_name(e), eb.msg);
    }
    unload(&f);
}

/* ---- collateral mutations --------------------------------------------------- */

static void test_collateral_signature_and_body_flips(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    expect_col_err(&f, col_flip(f.col_json, "tcb_info_signature", 5), ASPS_E_TCB_INFO_SIGNATURE);
    expect_col_err(&f, col_flip(f.col_json, "tcb_info_signature", 100), ASPS_E_TCB_INFO_SIGNATURE);
    expect_col_err(&f, col_flip(f.col_json, "tcb_info", 200), ASPS_E_TCB_INFO_SIGNATURE);
    expect_col_err(&f, col_flip(f.col_json, "qe_identity_signature", 7), ASPS_E_QE_IDENTITY_SIGNATURE);
    expect_col_err(&f, col_flip(f.col_json, "qe_identity", 300), ASPS_E_QE_IDENTITY_SIGNATURE);
    /* a space added to the signed body: any byte counts */
    char *body = col_field(f.col_json, "tcb_info");
    size_t n = strlen(body);
    char *spaced = malloc(n + 2);
    memcpy(spaced, body, n - 1);
    spaced[n - 1] = ' ';
    spaced[n] = '}';
    spaced[n + 1] = 0;
    expect_col_err(&f, col_with(f.col_json, "tcb_info", spaced), ASPS_E_TCB_INFO_SIGNATURE);
    free(body);
    free(spaced);
    unload(&f);
}

static void test_crl_signature_flipped_is_refused(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    /* the last bytes of a DER CRL are its ECDSA signature's s value */
    char *v = col_field(f.col_json, "root_ca_crl");
    size_t n = strlen(v);
    free(v);
    expect_col_err(&f, col_flip(f.col_json, "root_ca_crl", n - 3), ASPS_E_CRL_SIGNATURE);
    v = col_field(f.col_json, "pck_crl");
    n = strlen(v);
    free(v);
    expect_col_err(&f, col_flip(f.col_json, "pck_crl", n - 3), ASPS_E_CRL_SIGNATURE);
    unload(&f);
}

static void test_crls_swapped_are_refused_by_issuer(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    char *pck = col_field(f.col_json, "pck_crl");
    char *root = col_field(f.col_json, "root_ca_crl");
    expect_col_err(&f, col_with(f.col_json, "root_ca_crl", pck), ASPS_E_CRL_ISSUER);
    expect_col_err(&f, col_with(f.col_json, "pck_crl", root), ASPS_E_CRL_ISSUER);
    free(pck);
    free(root);
    unload(&f);
}

static void test_other_platform_pck_crl_is_refused(void **state)
{
    (void)state;
    /* the TDX vector's PCK CRL is issued by the Platform CA; the SGX quote's
     * PCK certificate comes from the Processor CA */
    fixture f, g;
    load(&f, "sgx");
    load(&g, "tdx");
    char *crl = col_field(g.col_json, "pck_crl");
    char *chain = col_field(g.col_json, "pck_crl_issuer_chain");
    char *m1 = col_with(f.col_json, "pck_crl", crl);
    char *m2 = col_with(m1, "pck_crl_issuer_chain", chain);
    free(m1);
    expect_col_err(&f, m2, ASPS_E_CRL_ISSUER);
    free(crl);
    free(chain);
    unload(&f);
    unload(&g);
}

static void test_chains_swapped_are_refused(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    char *tcb_chain = col_field(f.col_json, "tcb_info_issuer_chain");
    char *pck_chain = col_field(f.col_json, "pck_crl_issuer_chain");
    /* TCB signing cert where the PCK CA belongs: not a CA by name */
    expect_col_err(&f, col_with(f.col_json, "pck_crl_issuer_chain", tcb_chain), ASPS_E_CHAIN);
    expect_col_err(&f, col_with(f.col_json, "tcb_info_issuer_chain", pck_chain), ASPS_E_CHAIN);
    /* root only */
    char *root_only = strstr(tcb_chain, "-----END CERTIFICATE-----");
    root_only = root_only ? strstr(root_only + 5, "-----BEGIN") : NULL;
    assert_non_null(root_only);
    expect_col_err(&f, col_with(f.col_json, "tcb_info_issuer_chain", root_only), ASPS_E_CHAIN);
    free(tcb_chain);
    free(pck_chain);
    unload(&f);
}

/* Position of a base64 character inside the signature of the n-th (0-based)
 * certificate of a PEM text: a few characters before its END line. */
static size_t pem_sig_char(const char *pem, int n)
{
    const char *end = pem;
    for (int i = 0; i <= n; i++) {
        end = strstr(i ? end + 1 : end, "-----END CERTIFICATE-----");
        assert_non_null(end);
    }
    const char *c = end - 1;
    while (*c == '\n' || *c == '\r' || *c == '=')
        c--;
    return (size_t)(c - pem) - 4;
}

/* A certificate whose to-be-signed part is byte-identical to one already
 * verified, but whose signature differs, is a different certificate: it is
 * checked on its own and refused (QVL verifies every signature of every
 * chain). Guards the "same certificate" shortcut, which must compare whole
 * certificates, signature included. */
static void test_same_certificate_with_other_signature_is_refused(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    /* the quote's PCK CA (second certificate), while the collateral carries
     * the intact one */
    asps_quote q;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_quote_parse(f.quote, f.quote_len, &q, &eb), ASPS_OK);
    size_t off = (size_t)(q.pck_chain - f.quote) + pem_sig_char((const char *)q.pck_chain, 1);
    uint8_t *m = malloc(f.quote_len);
    memcpy(m, f.quote, f.quote_len);
    m[off] = m[off] == 'A' ? 'B' : 'A';
    asps_claims c;
    asps_err e = verify_with(m, f.quote_len, f.col_json, AT_OK, &c, &eb);
    if (e != ASPS_E_CHAIN)
        fail_msg("PCK CA signature: want chain, got %s: %s", asps_err_name(e), eb.msg);
    free(m);
    /* the QE identity's TCB signing certificate, while the TCB info's is
     * intact */
    char *chain = col_field(f.col_json, "qe_identity_issuer_chain");
    size_t pos = pem_sig_char(chain, 0);
    chain[pos] = chain[pos] == 'A' ? 'B' : 'A';
    expect_col_err(&f, col_with(f.col_json, "qe_identity_issuer_chain", chain), ASPS_E_CHAIN);
    free(chain);
    unload(&f);
}

static void test_tdx_collateral_for_sgx_quote_is_mismatch(void **state)
{
    (void)state;
    fixture f, g;
    load(&f, "sgx");
    load(&g, "tdx");
    /* TDX TCB info (validly signed) for an SGX quote */
    char *ti = col_field(g.col_json, "tcb_info");
    char *ts = col_field(g.col_json, "tcb_info_signature");
    char *m1 = col_with(f.col_json, "tcb_info", ti);
    expect_col_err(&f, col_with(m1, "tcb_info_signature", ts), ASPS_E_TCB_INFO_MISMATCH);
    free(m1);
    /* TD QE identity (validly signed) for an SGX quote */
    char *qi = col_field(g.col_json, "qe_identity");
    char *qs = col_field(g.col_json, "qe_identity_signature");
    m1 = col_with(f.col_json, "qe_identity", qi);
    expect_col_err(&f, col_with(m1, "qe_identity_signature", qs), ASPS_E_QE_IDENTITY_MISMATCH);
    free(m1);
    free(ti);
    free(ts);
    free(qi);
    free(qs);
    unload(&f);
    unload(&g);
}

static void test_collateral_shape_errors(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    expect_col_err(&f, col_with(f.col_json, "tcb_info_signature", "abcd"), ASPS_E_PARSE);
    expect_col_err(&f, col_with(f.col_json, "root_ca_crl", "zz"), ASPS_E_PARSE);
    expect_col_err(&f, col_with(f.col_json, "pck_crl", "3082"), ASPS_E_PARSE);
    expect_col_err(&f, col_with(f.col_json, "qe_identity_issuer_chain", "no pem here"), ASPS_E_PARSE);
    expect_col_err(&f, col_with(f.col_json, "tcb_info", ""), ASPS_E_PARSE);
    asps_collateral *c;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_parse_bundle((const uint8_t *)"[1]", 3, &c, &eb), ASPS_E_PARSE);
    assert_int_equal(asps_collateral_parse_bundle((const uint8_t *)"{", 1, &c, &eb), ASPS_E_PARSE);
    unload(&f);
}

static void test_intel_root_untrusted_when_dropped(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    asps_verifier *v;
    asps_collateral *col;
    asps_errbuf eb;
    asps_claims c;
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    asps_verifier_drop_intel_root(v);
    assert_int_equal(asps_collateral_parse_bundle((uint8_t *)f.col_json, f.col_len, &col, &eb), ASPS_OK);
    assert_int_equal(asps_verify_quote(v, f.quote, f.quote_len, col, AT_OK, &c, &eb),
                     ASPS_E_ROOT_UNTRUSTED);
    asps_collateral_free(col);
    asps_verifier_free(v);
    unload(&f);
}

static void test_cached_verifier_gives_same_answers(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    asps_verifier *v;
    asps_collateral *col;
    asps_errbuf eb;
    asps_claims c1, c2;
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    assert_int_equal(asps_collateral_parse_bundle((uint8_t *)f.col_json, f.col_len, &col, &eb), ASPS_OK);
    assert_int_equal(asps_verify_quote(v, f.quote, f.quote_len, col, AT_OK, &c1, &eb), ASPS_OK);
    assert_int_equal(asps_verify_quote(v, f.quote, f.quote_len, col, AT_OK, &c2, &eb), ASPS_OK);
    assert_memory_equal(&c1, &c2, sizeof c1);
    /* the cache never outlives the dates: expired collateral still fails */
    assert_int_equal(asps_verify_quote(v, f.quote, f.quote_len, col, AT_EXPIRED, &c2, &eb),
                     ASPS_E_CRL_EXPIRED);
    /* and a tampered quote with a cached chain still fails */
    f.quote[48 + 64] ^= 1;
    assert_int_equal(asps_verify_quote(v, f.quote, f.quote_len, col, AT_OK, &c2, &eb),
                     ASPS_E_QUOTE_SIGNATURE);
    asps_collateral_free(col);
    asps_verifier_free(v);
    unload(&f);
}

/* The verifier's one cache (store.c): least recently used out first, a get
 * counts as a use, kinds apart, every value freed once (on eviction, on a
 * root change, with the verifier), nothing kept with caching off. */
static int store_freed;
static void store_free_value(void *p)
{
    store_freed++;
    free(p);
}

static int *store_value(int n)
{
    int *p = malloc(sizeof *p);
    assert_non_null(p);
    *p = n;
    return p;
}

static void test_store_one_lru_cache(void **state)
{
    (void)state;
    asps_verifier *v;
    asps_errbuf eb;
    uint8_t key[32] = {0};
    store_freed = 0;
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    /* 16 collateral slots: fill them, use key 0 again, add one more */
    for (int i = 0; i < 16; i++) {
        key[0] = (uint8_t)i;
        assert_int_equal(asps_store_put(v, ASPS_STORE_COLLATERAL, key, store_value(i),
                                        store_free_value), 1);
    }
    key[0] = 0;
    assert_int_equal(*(int *)asps_store_get(v, ASPS_STORE_COLLATERAL, key), 0);
    key[0] = 16;
    assert_int_equal(asps_store_put(v, ASPS_STORE_COLLATERAL, key, store_value(16),
                                    store_free_value), 1);
    assert_int_equal(store_freed, 1); /* key 1, the least recently used */
    key[0] = 1;
    assert_null(asps_store_get(v, ASPS_STORE_COLLATERAL, key));
    for (int i = 0; i <= 16; i++) {
        key[0] = (uint8_t)i;
        if (i != 1)
            assert_int_equal(*(int *)asps_store_get(v, ASPS_STORE_COLLATERAL, key), i);
    }
    /* the kinds are apart: the same key is no PCK chain */
    key[0] = 0;
    assert_null(asps_store_get(v, ASPS_STORE_PCK_CHAIN, key));
    assert_int_equal(asps_store_put(v, ASPS_STORE_PCK_CHAIN, key, store_value(100),
                                    store_free_value), 1);
    assert_int_equal(*(int *)asps_store_get(v, ASPS_STORE_PCK_CHAIN, key), 100);
    assert_int_equal(*(int *)asps_store_get(v, ASPS_STORE_COLLATERAL, key), 0);
    /* caching off empties the store and keeps nothing */
    asps_verifier_set_cache(v, 0);
    assert_int_equal(store_freed, 1 + 16 + 1);
    assert_null(asps_store_get(v, ASPS_STORE_COLLATERAL, key));
    int *mine = store_value(7);
    assert_int_equal(asps_store_put(v, ASPS_STORE_COLLATERAL, key, mine, store_free_value), 0);
    assert_null(asps_store_get(v, ASPS_STORE_COLLATERAL, key));
    free(mine);
    /* on again: what is kept is freed with the verifier */
    asps_verifier_set_cache(v, 1);
    assert_int_equal(asps_store_put(v, ASPS_STORE_PCK_CHAIN, key, store_value(8),
                                    store_free_value), 1);
    asps_verifier_free(v);
    assert_int_equal(store_freed, 1 + 16 + 1 + 1);
}

/* The collateral with FIELD set to VALUE, added when absent */
static char *col_add(const char *json, const char *field, const char *value)
{
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    cJSON_DeleteItemFromObjectCaseSensitive(o, field);
    cJSON_AddStringToObject(o, field, value);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The optional TCB recovery fields (README "Collateral bundle"): present
 * but not strings, or given half (a body without its signature, the
 * numbers list without its chain), each refused and named; never read as
 * absent. */
static void test_collateral_optional_field_shape_errors(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    struct {
        const char *field, *value, *named;
    } half[] = {
        {"tcb_info_early", "{}", "tcb_info_early_signature"},
        {"tcb_info_early_signature", "00", "tcb_info_early"},
        {"tcb_evaluation_data_numbers", "{}", "tcb_evaluation_data_numbers_issuer_chain"},
        {"tcb_evaluation_data_numbers_signature", "00", "tcb_evaluation_data_numbers"},
        {"tcb_evaluation_data_numbers_issuer_chain", "x", "tcb_evaluation_data_numbers"},
    };
    asps_collateral *c;
    asps_errbuf eb;
    for (size_t i = 0; i < sizeof half / sizeof half[0]; i++) {
        char *m = col_add(f.col_json, half[i].field, half[i].value);
        assert_int_equal(asps_collateral_parse_bundle((uint8_t *)m, strlen(m), &c, &eb), ASPS_E_PARSE);
        if (!strstr(eb.msg, half[i].named))
            fail_msg("%s alone: \"%s\"", half[i].field, eb.msg);
        free(m);
        /* not a string */
        cJSON *o = cJSON_Parse(f.col_json);
        cJSON_AddNumberToObject(o, half[i].field, 1);
        m = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        assert_int_equal(asps_collateral_parse_bundle((uint8_t *)m, strlen(m), &c, &eb), ASPS_E_PARSE);
        assert_non_null(strstr(eb.msg, half[i].field));
        free(m);
    }
    /* a signature that is not 64 bytes, or not hex */
    char *t = col_field(f.col_json, "tcb_info");
    char *m1 = col_add(f.col_json, "tcb_info_early", t);
    char *m2 = col_add(m1, "tcb_info_early_signature", "abcd");
    assert_int_equal(asps_collateral_parse_bundle((uint8_t *)m2, strlen(m2), &c, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "64 bytes"));
    free(m2);
    m2 = col_add(m1, "tcb_info_early_signature", "zz");
    assert_int_equal(asps_collateral_parse_bundle((uint8_t *)m2, strlen(m2), &c, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "not valid hex"));
    free(m2);
    free(m1);
    free(t);
    unload(&f);
}

/* A bundle without the optional fields has the digest it always had: the
 * SHA-256 of the nine fields, each after its 8-byte little-endian length
 * (computed here from the JSON, not by collateral.c). */
static void add_lp(EVP_MD_CTX *md, const void *p, size_t n)
{
    uint8_t l[8];
    for (int i = 0; i < 8; i++)
        l[i] = (uint8_t)((uint64_t)n >> (8 * i));
    EVP_DigestUpdate(md, l, 8);
    EVP_DigestUpdate(md, p, n);
}

static void test_bundle_without_optional_fields_keeps_its_digest(void **state)
{
    (void)state;
    const char *tees[] = {"sgx", "tdx"};
    for (int k = 0; k < 2; k++) {
        fixture f;
        load(&f, tees[k]);
        const char *names[] = {"pck_crl_issuer_chain", "root_ca_crl", "pck_crl",
                               "tcb_info_issuer_chain", "tcb_info", "tcb_info_signature",
                               "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"};
        int hex[] = {0, 1, 1, 0, 0, 1, 0, 0, 1};
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
        for (int i = 0; i < 9; i++) {
            char *v = col_field(f.col_json, names[i]);
            if (hex[i]) {
                uint8_t *b;
                size_t n;
                assert_int_equal(asps_hex_decode_alloc(v, &b, &n), 0);
                add_lp(md, b, n);
                free(b);
            } else {
                add_lp(md, v, strlen(v));
            }
            free(v);
        }
        uint8_t want[32], got[32];
        unsigned int n = 0;
        EVP_DigestFinal_ex(md, want, &n);
        EVP_MD_CTX_free(md);
        asps_collateral *c;
        asps_errbuf eb;
        assert_int_equal(asps_collateral_parse_bundle((uint8_t *)f.col_json, f.col_len, &c, &eb), ASPS_OK);
        asps_collateral_digest(c, got);
        assert_memory_equal(want, got, 32);
        /* and it is written back without them */
        char *s;
        assert_int_equal(asps_collateral_to_bundle(c, &s, &eb), ASPS_OK);
        assert_null(strstr(s, "tcb_info_early"));
        assert_null(strstr(s, "tcb_evaluation_data_numbers"));
        free(s);
        asps_collateral_free(c);
        unload(&f);
    }
}

static void test_bundle_roundtrip_is_identical(void **state)
{
    (void)state;
    fixture f;
    load(&f, "tdx");
    asps_collateral *a, *b;
    asps_errbuf eb;
    char *s;
    assert_int_equal(asps_collateral_parse_bundle((uint8_t *)f.col_json, f.col_len, &a, &eb), ASPS_OK);
    assert_int_equal(asps_collateral_to_bundle(a, &s, &eb), ASPS_OK);
    assert_int_equal(asps_collateral_parse_bundle((uint8_t *)s, strlen(s), &b, &eb), ASPS_OK);
    uint8_t d1[32], d2[32];
    asps_collateral_digest(a, d1);
    asps_collateral_digest(b, d2);
    assert_memory_equal(d1, d2, 32);
    free(s);
    asps_collateral_free(a);
    asps_collateral_free(b);
    unload(&f);
}

static void test_quote_platform_reads_fmspc_and_ca(void **state)
{
    (void)state;
    fixture f;
    load(&f, "sgx");
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    asps_errbuf eb;
    assert_int_equal(asps_quote_platform(f.quote, f.quote_len, &tee, fmspc, ca, &eb), ASPS_OK);
    assert_int_equal(tee, ASPS_TEE_SGX);
    assert_memory_equal(fmspc, "\x00\xa0\x67\x11\x00\x00", 6);
    assert_string_equal(ca, "processor");
    unload(&f);
    load(&f, "tdx");
    assert_int_equal(asps_quote_platform(f.quote, f.quote_len, &tee, fmspc, ca, &eb), ASPS_OK);
    assert_int_equal(tee, ASPS_TEE_TDX);
    assert_memory_equal(fmspc, "\xb0\xc0\x6f\x00\x00\x00", 6);
    assert_string_equal(ca, "platform");
    unload(&f);
}

/* ---- the real corpus (../shared/vectors/real): Intel's QVL answers -------------- */

typedef tu_real_case rcase; /* testutil.h */

/* A member of case.json by a dotted path ("collateral.tcb_info.id"). */
static const cJSON *meta_get(const rcase *r, const char *path)
{
    const cJSON *o = r->meta;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok(buf, "."); k && o; k = strtok(NULL, "."))
        o = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!o)
        fail_msg("case.json has no %s", path);
    return o;
}

/* Advisory IDs equal a JSON array of strings, in order. */
static void expect_ids(const char (*ids)[ASPS_ADVISORY_LEN], size_t n, const cJSON *want,
                       const char *what)
{
    char got[2048] = "", exp[2048] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s ", ids[i]);
    const cJSON *it;
    cJSON_ArrayForEach(it, want) snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%s ",
                                          it->valuestring);
    if (strcmp(got, exp) != 0)
        fail_msg("%s: got [%s], want [%s]", what, got, exp);
}

static asps_err verify_case(const rcase *r, const uint8_t *quote, size_t quote_len,
                            const char *col, int64_t at, asps_claims *c, asps_errbuf *eb)
{
    return verify_with(quote ? quote : r->quote, quote ? quote_len : r->quote_len,
                       col ? col : r->col, at ? at : r->at, c, eb);
}

/* The n-th (0-based) PEM certificate of a text, as a new string. */
static char *pem_cert(const char *pem, int n)
{
    const char *b = pem;
    for (int i = 0; i <= n; i++) {
        b = strstr(i ? b + 1 : b, "-----BEGIN CERTIFICATE-----");
        assert_non_null(b);
    }
    const char *e = strstr(b, "-----END CERTIFICATE-----");
    assert_non_null(e);
    e += strlen("-----END CERTIFICATE-----");
    if (*e == '\n')
        e++;
    return strndup(b, (size_t)(e - b));
}

/* TEXT with the first FIND replaced by REPL (a new string). */
static char *replace_once(const char *text, const char *find, const char *repl)
{
    const char *at = strstr(text, find);
    if (!at)
        fail_msg("replace: text not found");
    size_t n = strlen(text) - strlen(find) + strlen(repl) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%.*s%s%s", (int)(at - text), text, repl, at + strlen(find));
    return s;
}

/* The certificate PEM with extension NID removed. Its signature no longer
 * verifies (Intel's keys are not ours): the test is that the extension
 * check names what is missing. test_sim.c shows the same refusal with
 * validly signed certificates. */
static char *pem_without_ext(const char *pem, int nid)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    int idx = X509_get_ext_by_NID(x, nid, -1);
    assert_true(idx >= 0);
    X509_EXTENSION_free(X509_delete_ext(x, idx));
    /* OpenSSL 3.0 keeps the old to-be-signed encoding until told */
    assert_true(i2d_re_X509_tbs(x, NULL) > 0);
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(b, x), 1);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = strndup(p, (size_t)n);
    BIO_free(b);
    X509_free(x);
    return out;
}

/* The quote with its PCK chain (certification data type 5) replaced: the
 * certification data size and the signature data length follow (neither is
 * under the quote's or the QE report's signature). */
static uint8_t *quote_with_chain(const uint8_t *quote, size_t len, const char *chain,
                                 size_t *out_len)
{
    asps_quote q;
    asps_errbuf eb;
    assert_int_equal(asps_quote_parse(quote, len, &q, &eb), ASPS_OK);
    assert_int_equal(q.version, 3); /* signature data length at 48 + 384 */
    size_t off = (size_t)(q.pck_chain - quote), old = q.pck_chain_len, nw = strlen(chain);
    size_t n = len - old + nw;
    uint8_t *m = malloc(n);
    memcpy(m, quote, off);
    memcpy(m + off, chain, nw);
    memcpy(m + off + nw, quote + off + old, len - off - old);
    uint32_t cd = (uint32_t)nw, sd;
    memcpy(&sd, m + 432, 4);
    sd = (uint32_t)(sd - old + nw);
    memcpy(m + off - 4, &cd, 4); /* little-endian host, as the quote */
    memcpy(m + 432, &sd, 4);
    *out_len = n;
    return m;
}

#define CASE_2033 "sgx3-00906ea1-processor-2033-root"
#define CASE_EVAL17 "sgx3-00906ed5-processor-eval17"
#define CASE_EVAL19 "sgx3-00906ed5-processor-eval19"
#define CASE_V2_QE "sgx3-00606a-platform-tcbinfo-v2-qe-outofdate"

/* Intel's root is trusted by its key (QvE): a PCK chain and issuer chains
 * ending at the first issue of the Intel SGX Root CA certificate (valid to
 * 2033; today's runs to 2049, same subject and key) verify, with QVL's
 * status and advisory IDs. */
static void test_real_root_first_issue_trusted_by_key(void **state)
{
    (void)state;
    rcase r;
    tu_real_case_load(&r, CASE_2033);
    /* the case's root is another certificate than the built-in one, with
     * the same key */
    asps_quote q;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_quote_parse(r.quote, r.quote_len, &q, &eb), ASPS_OK);
    char *chain = strndup((const char *)q.pck_chain, q.pck_chain_len);
    char *root_pem = pem_cert(chain, 2);
    BIO *b = BIO_new_mem_buf(root_pem, -1);
    X509 *root = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    size_t blen;
    const uint8_t *bder = asps_intel_root_ca_der(&blen);
    const unsigned char *bp = bder;
    X509 *builtin = d2i_X509(NULL, &bp, (long)blen);
    assert_non_null(root);
    assert_non_null(builtin);
    assert_int_not_equal(X509_cmp(root, builtin), 0);
    assert_int_equal(ASN1_STRING_cmp(X509_get0_pubkey_bitstr(root), X509_get0_pubkey_bitstr(builtin)), 0);
    X509_free(root);
    X509_free(builtin);

    asps_claims c;
    asps_err e = verify_case(&r, NULL, 0, NULL, 0, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_string_equal(asps_tcb_status_name(c.tcb_status), meta_get(&r, "tcb_status")->valuestring);
    expect_ids(c.advisory_ids, c.n_advisories, meta_get(&r, "advisory_ids"), "advisory_ids");
    assert_false(c.simulated);

    /* trust by key goes with the Intel root: dropped, nothing verifies */
    asps_verifier *v;
    asps_collateral *col;
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    asps_verifier_drop_intel_root(v);
    assert_int_equal(asps_collateral_parse_bundle((uint8_t *)r.col, strlen(r.col), &col, &eb), ASPS_OK);
    assert_int_equal(asps_verify_quote(v, r.quote, r.quote_len, col, r.at, &c, &eb),
                     ASPS_E_ROOT_UNTRUSTED);
    asps_collateral_free(col);
    asps_verifier_free(v);

    /* the certificate is still checked for validity: after 2033-05-21 this
     * issue has expired (checked before the PCK certificate's own dates) */
    e = verify_case(&r, NULL, 0, NULL, 2001196800 /* 2033-06-01 */, &c, &eb);
    assert_int_equal(e, ASPS_E_CERT_EXPIRED);
    if (!strstr(eb.msg, "PCK chain root CA"))
        fail_msg("%s", eb.msg);
    free(root_pem);
    free(chain);
    tu_real_case_free(&r);
}

/* ... and for its self-signature: a root with Intel's key and name whose
 * signature is not its own is untrusted, in the collateral and in the
 * quote. */
static void test_real_root_with_intel_key_needs_its_self_signature(void **state)
{
    (void)state;
    rcase r;
    tu_real_case_load(&r, CASE_2033);
    asps_claims c;
    asps_errbuf eb = {{0}};
    /* the TCB info issuer chain's root (second certificate) */
    char *chain = col_field(r.col, "tcb_info_issuer_chain");
    size_t pos = pem_sig_char(chain, 1);
    chain[pos] = chain[pos] == 'A' ? 'B' : 'A';
    char *m = col_with(r.col, "tcb_info_issuer_chain", chain);
    asps_err e = verify_case(&r, NULL, 0, m, 0, &c, &eb);
    if (e != ASPS_E_ROOT_UNTRUSTED || !strstr(eb.msg, "TCB info issuer chain"))
        fail_msg("collateral root: %s: %s", asps_err_name(e), eb.msg);
    free(m);
    free(chain);
    /* the quote's PCK chain root (third certificate): the quote's own bytes */
    asps_quote q;
    assert_int_equal(asps_quote_parse(r.quote, r.quote_len, &q, &eb), ASPS_OK);
    size_t off = (size_t)(q.pck_chain - r.quote) + pem_sig_char((const char *)q.pck_chain, 2);
    uint8_t *mq = malloc(r.quote_len);
    memcpy(mq, r.quote, r.quote_len);
    mq[off] = mq[off] == 'A' ? 'B' : 'A';
    e = verify_case(&r, mq, r.quote_len, NULL, 0, &c, &eb);
    if (e != ASPS_E_ROOT_UNTRUSTED || !strstr(eb.msg, "PCK chain"))
        fail_msg("quote root: %s: %s", asps_err_name(e), eb.msg);
    free(mq);
    tu_real_case_free(&r);
}

/* A deliberate difference (README, "asps and Intel's QVL"): the PCK chain
 * ends at the 2033 issue, the issuer chains at the 2049 issue (as Intel's
 * PCS served them in 2024). QVL refuses (STATUS_SGX_TCB_SIGNING_CERT_CHAIN_
 * UNTRUSTED: QvE takes the quote's root as the only trusted certificate and
 * compares signature bytes, TCBSigningChain::verify); asps trusts each chain
 * by its root's key, the same key, and verifies. */
static void test_real_root_issues_mixed_verify(void **state)
{
    (void)state;
    rcase r, other;
    tu_real_case_load(&r, CASE_2033);
    tu_real_case_load(&other, CASE_EVAL17);
    char *oc = col_field(other.col, "tcb_info_issuer_chain");
    char *root2049 = pem_cert(oc, 1);
    char *tc = col_field(r.col, "tcb_info_issuer_chain");
    char *root2033 = pem_cert(tc, 1);
    assert_string_not_equal(root2049, root2033);
    char *chain = replace_once(tc, root2033, root2049);
    char *m1 = col_with(r.col, "tcb_info_issuer_chain", chain);
    char *m2 = col_with(m1, "qe_identity_issuer_chain", chain);
    asps_claims c;
    asps_errbuf eb = {{0}};
    asps_err e = verify_case(&r, NULL, 0, m2, 0, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_string_equal(asps_tcb_status_name(c.tcb_status), meta_get(&r, "tcb_status")->valuestring);
    free(m1);
    free(m2);
    free(chain);
    free(root2033);
    free(root2049);
    free(tc);
    free(oc);
    tu_real_case_free(&other);
    tu_real_case_free(&r);
}

/* advisory_ids is exactly QvE's list: the matched platform TCB level's only
 * (qve.cpp: sa_list from getMatchingTcbLevel). The QE identity level's
 * advisories are reported apart, in qe_advisory_ids. */
static void test_real_advisory_ids_are_the_platform_levels_only(void **state)
{
    (void)state;
    rcase r;
    asps_claims c;
    asps_errbuf eb = {{0}};
    /* v2 TCB info (no advisory IDs at all); the QE at ISVSVN 7 falls on the
     * QE identity's OutOfDate level for ISVSVN 6, which lists 00615: QVL
     * says OutOfDate and [] */
    tu_real_case_load(&r, CASE_V2_QE);
    asps_err e = verify_case(&r, NULL, 0, NULL, 0, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_string_equal(asps_tcb_status_name(c.tcb_status), meta_get(&r, "tcb_status")->valuestring);
    expect_ids(c.advisory_ids, c.n_advisories, meta_get(&r, "advisory_ids"), "advisory_ids");
    assert_int_equal(c.n_advisories, 0);
    assert_int_equal(c.n_qe_advisories, 1);
    assert_string_equal(c.qe_advisory_ids[0], "INTEL-SA-00615");
    assert_int_equal(c.n_tdx_module_advisories, 0);
    tu_real_case_free(&r);
    /* the 2020 QE (ISVSVN 5) on the level for 5: 00477, 00615 apart; the
     * platform's 13 in Intel's order */
    tu_real_case_load(&r, CASE_2033);
    assert_int_equal(verify_case(&r, NULL, 0, NULL, 0, &c, &eb), ASPS_OK);
    expect_ids(c.advisory_ids, c.n_advisories, meta_get(&r, "advisory_ids"), "advisory_ids");
    assert_int_equal(c.n_qe_advisories, 2);
    assert_string_equal(c.qe_advisory_ids[0], "INTEL-SA-00477");
    assert_string_equal(c.qe_advisory_ids[1], "INTEL-SA-00615");
    tu_real_case_free(&r);
}

/* Every verified quote case of the corpus: QVL's status and advisory IDs,
 * in QVL's order. */
static void test_real_corpus_advisory_ids_in_qvl_order(void **state)
{
    (void)state;
    const char *real = tu_vectors_subdir("real");
    if (!real)
        tu_skip_vectors("real quotes (vectors/real)");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", real);
    static const char *const cases[] = {
        "sgx3-00a06711-processor-2023-eval16", "sgx3-00a06711-processor-2025-debug",
        CASE_EVAL17, CASE_EVAL19, "sgx3-00906ed5-processor-2025-02", CASE_V2_QE,
        "sgx3-00606a-platform-teepot-2025-03", "sgx3-00606a-platform-eval17",
        "sgx3-00606a-platform-eval19", CASE_2033, "tdx4-00806f05-teepot-2025-03",
        "tdx4-00806f05-zkdcap-outofdate", "tdx4-00806f05-gcp", "tdx4-00806f05-azure",
        "tdx4-50806f-outofdate", "tdx4-b0c06f-2026-eval18",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rcase r;
        tu_real_case_load(&r, cases[i]);
        assert_string_equal(meta_get(&r, "expect")->valuestring, "verified");
        asps_claims c;
        asps_errbuf eb = {{0}};
        asps_err e = verify_case(&r, NULL, 0, NULL, 0, &c, &eb);
        if (e != ASPS_OK)
            fail_msg("%s: %s", cases[i], eb.msg);
        if (strcmp(asps_tcb_status_name(c.tcb_status), meta_get(&r, "tcb_status")->valuestring))
            fail_msg("%s: status %s", cases[i], asps_tcb_status_name(c.tcb_status));
        expect_ids(c.advisory_ids, c.n_advisories, meta_get(&r, "advisory_ids"), cases[i]);
        tu_real_case_free(&r);
    }
}

/* The TCB recovery a verdict was made under: the evaluation data numbers
 * of the TCB info and QE identity used (case.json's summary of the
 * collateral), and the tcbDate of the matched levels. The two cases are one
 * quote judged by the eval-17 and the eval-19 TCB info. */
static void test_real_claims_carry_evaluation_numbers_and_tcb_dates(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *tcb_date, *qe_tcb_date; /* read from the TCB info / QE identity */
    } want[] = {
        /* the SWHardeningNeeded level of eval 17 / the OutOfDate level of
         * eval 19 the platform reaches; the QE's UpToDate level */
        {CASE_EVAL17, "2024-03-13T00:00:00Z", "2024-03-13T00:00:00Z"},
        {CASE_EVAL19, "2024-11-13T00:00:00Z", "2024-03-13T00:00:00Z"},
        /* v2 TCB info: its OutOfDate level; the QE's level for ISVSVN 6 */
        {CASE_V2_QE, "2021-11-10T00:00:00Z", "2021-11-10T00:00:00Z"},
        /* TDX: the level both the SGX and TDX components reach */
        {"tdx4-00806f05-zkdcap-outofdate", "2023-08-09T00:00:00Z", "2024-03-13T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        rcase r;
        tu_real_case_load(&r, want[i].name);
        asps_claims c;
        asps_errbuf eb = {{0}};
        asps_err e = verify_case(&r, NULL, 0, NULL, 0, &c, &eb);
        if (e != ASPS_OK)
            fail_msg("%s: %s", want[i].name, eb.msg);
        assert_int_equal(c.tcb_info_evaluation_data_number,
                         (int)meta_get(&r, "collateral.tcb_info.tcb_evaluation_data_number")->valuedouble);
        assert_int_equal(c.qe_identity_evaluation_data_number,
                         (int)meta_get(&r, "collateral.qe_identity.tcb_evaluation_data_number")->valuedouble);
        int64_t t;
        assert_int_equal(asps_time_parse(want[i].tcb_date, &t), 0);
        assert_int_equal(c.tcb_date, t);
        assert_int_equal(asps_time_parse(want[i].qe_tcb_date, &t), 0);
        assert_int_equal(c.qe_tcb_date, t);
        /* and as quote verify --json and the service print them */
        cJSON *o = cJSON_CreateObject();
        assert_int_equal(asps_claims_to_json(&c, o), 0);
        assert_int_equal(cJSON_GetObjectItem(o, "tcb_info_evaluation_data_number")->valueint,
                         (int)c.tcb_info_evaluation_data_number);
        assert_int_equal(cJSON_GetObjectItem(o, "qe_identity_evaluation_data_number")->valueint,
                         (int)c.qe_identity_evaluation_data_number);
        assert_string_equal(cJSON_GetObjectItem(o, "tcb_date")->valuestring, want[i].tcb_date);
        assert_string_equal(cJSON_GetObjectItem(o, "qe_tcb_date")->valuestring, want[i].qe_tcb_date);
        assert_true(cJSON_IsArray(cJSON_GetObjectItem(o, "qe_advisory_ids")));
        assert_int_equal(cJSON_IsArray(cJSON_GetObjectItem(o, "tdx_module_advisory_ids")),
                         c.tee == ASPS_TEE_TDX);
        cJSON_Delete(o);
        tu_real_case_free(&r);
    }
}

/* TEXT without the first "tcbDate":"...", member found after FROM. */
static char *cut_tcb_date(const char *text, const char *from)
{
    const char *d = strstr(from, "\"tcbDate\":\"");
    assert_non_null(d);
    const char *e = strchr(d + 11, '"');
    assert_non_null(e);
    assert_int_equal(e[1], ',');
    size_t n = strlen(text) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%.*s%s", (int)(d - text), text, e + 2);
    return s;
}

/* QVL requires tcbDate on every level (TcbLevel::parseTcbLevelCommon,
 * EnclaveIdentityV2::parseTcbLevels, TdxModuleTcbLevel): without it the
 * body is refused, as QVL refuses its format. */
static void test_real_levels_without_tcb_date_are_refused(void **state)
{
    (void)state;
    rcase r;
    tu_real_case_load(&r, "tdx4-00806f05-zkdcap-outofdate");
    asps_errbuf eb = {{0}};
    asps_tcb_info t;
    asps_qe_identity qe;
    char *ti = col_field(r.col, "tcb_info"), *qi = col_field(r.col, "qe_identity");
    assert_int_equal(asps_dcap_parse_tcb_info(ti, strlen(ti), &t, &eb), ASPS_OK);
    asps_dcap_tcb_info_clear(&t);
    assert_int_equal(asps_dcap_parse_qe_identity(qi, strlen(qi), &qe, &eb), ASPS_OK);
    asps_dcap_qe_identity_clear(&qe);
    /* the first platform TCB level's tcbDate (the levels come after the
     * module identities, whose levels have their own), then the first
     * module level's, then the first QE identity level's */
    const char *lvl = strstr(ti, "\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\"");
    assert_non_null(lvl);
    char *m = cut_tcb_date(ti, lvl);
    assert_int_equal(asps_dcap_parse_tcb_info(m, strlen(m), &t, &eb), ASPS_E_PARSE);
    if (!strstr(eb.msg, "tcb_info:") || !strstr(eb.msg, "tcbDate"))
        fail_msg("%s", eb.msg);
    free(m);
    lvl = strstr(ti, "\"tdxModuleIdentities\"");
    assert_non_null(lvl);
    m = cut_tcb_date(ti, lvl);
    assert_int_equal(asps_dcap_parse_tcb_info(m, strlen(m), &t, &eb), ASPS_E_PARSE);
    if (!strstr(eb.msg, "tdxModuleIdentities") || !strstr(eb.msg, "tcbDate"))
        fail_msg("%s", eb.msg);
    free(m);
    m = cut_tcb_date(qi, qi);
    assert_int_equal(asps_dcap_parse_qe_identity(m, strlen(m), &qe, &eb), ASPS_E_PARSE);
    if (!strstr(eb.msg, "qe_identity") || !strstr(eb.msg, "tcbDate"))
        fail_msg("%s", eb.msg);
    free(m);
    free(ti);
    free(qi);
    tu_real_case_free(&r);
}

/* The PCCS client's light reader gives the dates the full parser gives, for
 * both bodies of real collateral, and refuses a body without them. */
static void test_real_collateral_dates_as_the_full_parse(void **state)
{
    (void)state;
    const char *cases[] = {"tdx4-00806f05-zkdcap-outofdate"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rcase r;
        tu_real_case_load(&r, cases[i]);
        asps_errbuf eb = {{0}};
        asps_tcb_info t;
        asps_qe_identity qe;
        int64_t issue, next;
        char *ti = col_field(r.col, "tcb_info"), *qi = col_field(r.col, "qe_identity");
        assert_int_equal(asps_dcap_parse_tcb_info(ti, strlen(ti), &t, &eb), ASPS_OK);
        assert_int_equal(asps_dcap_collateral_dates(ti, strlen(ti), "tcb_info", &issue, &next, &eb),
                         ASPS_OK);
        assert_int_equal(issue, t.issue_date);
        assert_int_equal(next, t.next_update);
        asps_dcap_tcb_info_clear(&t);
        assert_int_equal(asps_dcap_parse_qe_identity(qi, strlen(qi), &qe, &eb), ASPS_OK);
        assert_int_equal(asps_dcap_collateral_dates(qi, strlen(qi), "qe_identity", &issue, &next, &eb),
                         ASPS_OK);
        assert_int_equal(issue, qe.issue_date);
        assert_int_equal(next, qe.next_update);
        asps_dcap_qe_identity_clear(&qe);
        /* nextUpdate renamed: no date, a parse error naming it */
        char *m = strdup(ti);
        char *d = strstr(m, "\"nextUpdate\"");
        assert_non_null(d);
        d[1] = 'N';
        assert_int_equal(asps_dcap_collateral_dates(m, strlen(m), "tcb_info", &issue, &next, &eb),
                         ASPS_E_PARSE);
        if (!strstr(eb.msg, "tcb_info") || !strstr(eb.msg, "nextUpdate"))
            fail_msg("%s", eb.msg);
        free(m);
        assert_int_equal(asps_dcap_collateral_dates("[1]", 3, "qe_identity", &issue, &next, &eb),
                         ASPS_E_PARSE);
        free(ti);
        free(qi);
        tu_real_case_free(&r);
    }
}

/* QVL refuses any certificate of the PCK chain or of the TCB info, QE
 * identity and PCK CRL issuer chains without the CRL distribution points
 * extension (or another of its five required ones): so does asps, naming
 * the certificate and the extension. */
static void test_real_chain_certificate_without_crl_distribution_points_is_refused(void **state)
{
    (void)state;
    rcase r;
    tu_real_case_load(&r, CASE_EVAL17);
    asps_quote q;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_quote_parse(r.quote, r.quote_len, &q, &eb), ASPS_OK);
    char *pck_chain = strndup((const char *)q.pck_chain, q.pck_chain_len);
    static const char *const quote_roles[] = {"PCK chain: PCK certificate",
                                              "PCK chain: PCK CA certificate",
                                              "PCK chain: root CA certificate"};
    asps_claims c;
    for (int i = 0; i < 3; i++) {
        char *cert = pem_cert(pck_chain, i), *bare = pem_without_ext(cert, NID_crl_distribution_points);
        char *chain = replace_once(pck_chain, cert, bare);
        size_t mlen;
        uint8_t *mq = quote_with_chain(r.quote, r.quote_len, chain, &mlen);
        asps_err e = verify_case(&r, mq, mlen, NULL, 0, &c, &eb);
        if (e != ASPS_E_CHAIN || !strstr(eb.msg, quote_roles[i]) ||
            !strstr(eb.msg, "lacks the CRL Distribution Points extension"))
            fail_msg("%s: %s: %s", quote_roles[i], asps_err_name(e), eb.msg);
        free(mq);
        free(chain);
        free(bare);
        free(cert);
    }
    /* the unchanged chain through the same rebuild verifies */
    size_t mlen;
    uint8_t *mq = quote_with_chain(r.quote, r.quote_len, pck_chain, &mlen);
    assert_int_equal(verify_case(&r, mq, mlen, NULL, 0, &c, &eb), ASPS_OK);
    free(mq);
    static const struct {
        const char *field;
        int idx;
        const char *role;
    } col_cases[] = {
        {"tcb_info_issuer_chain", 0, "TCB info issuer chain: TCB signing certificate"},
        {"tcb_info_issuer_chain", 1, "TCB info issuer chain root CA"},
        {"qe_identity_issuer_chain", 0, "QE identity issuer chain: TCB signing certificate"},
        {"pck_crl_issuer_chain", 0, "PCK CRL issuer chain: PCK CA certificate"},
        {"pck_crl_issuer_chain", 1, "PCK CRL issuer chain root CA"},
    };
    for (size_t i = 0; i < sizeof col_cases / sizeof col_cases[0]; i++) {
        char *ch = col_field(r.col, col_cases[i].field);
        char *cert = pem_cert(ch, col_cases[i].idx);
        char *bare = pem_without_ext(cert, NID_crl_distribution_points);
        char *nch = replace_once(ch, cert, bare);
        char *m = col_with(r.col, col_cases[i].field, nch);
        asps_err e = verify_case(&r, NULL, 0, m, 0, &c, &eb);
        if (e != ASPS_E_CHAIN || !strstr(eb.msg, col_cases[i].role) ||
            !strstr(eb.msg, "lacks the CRL Distribution Points extension"))
            fail_msg("%s: %s: %s", col_cases[i].role, asps_err_name(e), eb.msg);
        free(m);
        free(nch);
        free(bare);
        free(cert);
        free(ch);
    }
    /* the other four of QVL's REQUIRED_X509_EXTENSIONS, on the PCK CA */
    static const struct {
        int nid;
        const char *name;
    } others[] = {
        {NID_authority_key_identifier, "Authority Key Identifier"},
        {NID_subject_key_identifier, "Subject Key Identifier"},
        {NID_key_usage, "Key Usage"},
        {NID_basic_constraints, "Basic Constraints"},
    };
    char *ch = col_field(r.col, "pck_crl_issuer_chain");
    char *cert = pem_cert(ch, 0);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char *bare = pem_without_ext(cert, others[i].nid);
        char *nch = replace_once(ch, cert, bare);
        char *m = col_with(r.col, "pck_crl_issuer_chain", nch);
        asps_err e = verify_case(&r, NULL, 0, m, 0, &c, &eb);
        if (e != ASPS_E_CHAIN || !strstr(eb.msg, others[i].name))
            fail_msg("%s: %s: %s", others[i].name, asps_err_name(e), eb.msg);
        free(m);
        free(nch);
        free(bare);
    }
    free(cert);
    free(ch);
    free(pck_chain);
    tu_real_case_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_sgx_quote_verifies_with_status_and_advisories),
        cmocka_unit_test(test_real_tdx_quote_verifies_up_to_date),
        cmocka_unit_test(test_real_quotes_fail_when_collateral_expired),
        cmocka_unit_test(test_tcb_info_not_yet_valid_is_refused),
        cmocka_unit_test(test_tcb_info_expired_after_next_update),
        cmocka_unit_test(test_sgx_quote_mutations_hit_their_checks),
        cmocka_unit_test(test_tdx_quote_mutations_hit_their_checks),
        cmocka_unit_test(test_tdx_tee_tcb_svn_below_every_level_is_not_found),
        cmocka_unit_test(test_truncated_quotes_fail_cleanly_at_every_length),
        cmocka_unit_test(test_trailing_bytes_refused_unless_zero_padding),
        cmocka_unit_test(test_inner_lengths_cannot_escape),
        cmocka_unit_test(test_collateral_signature_and_body_flips),
        cmocka_unit_test(test_crl_signature_flipped_is_refused),
        cmocka_unit_test(test_crls_swapped_are_refused_by_issuer),
        cmocka_unit_test(test_other_platform_pck_crl_is_refused),
        cmocka_unit_test(test_chains_swapped_are_refused),
        cmocka_unit_test(test_same_certificate_with_other_signature_is_refused),
        cmocka_unit_test(test_tdx_collateral_for_sgx_quote_is_mismatch),
        cmocka_unit_test(test_collateral_shape_errors),
        cmocka_unit_test(test_intel_root_untrusted_when_dropped),
        cmocka_unit_test(test_cached_verifier_gives_same_answers),
        cmocka_unit_test(test_store_one_lru_cache),
        cmocka_unit_test(test_bundle_roundtrip_is_identical),
        cmocka_unit_test(test_collateral_optional_field_shape_errors),
        cmocka_unit_test(test_bundle_without_optional_fields_keeps_its_digest),
        cmocka_unit_test(test_quote_platform_reads_fmspc_and_ca),
        cmocka_unit_test(test_real_root_first_issue_trusted_by_key),
        cmocka_unit_test(test_real_root_with_intel_key_needs_its_self_signature),
        cmocka_unit_test(test_real_root_issues_mixed_verify),
        cmocka_unit_test(test_real_advisory_ids_are_the_platform_levels_only),
        cmocka_unit_test(test_real_corpus_advisory_ids_in_qvl_order),
        cmocka_unit_test(test_real_claims_carry_evaluation_numbers_and_tcb_dates),
        cmocka_unit_test(test_real_levels_without_tcb_date_are_refused),
        cmocka_unit_test(test_real_collateral_dates_as_the_full_parse),
        cmocka_unit_test(test_real_chain_certificate_without_crl_distribution_points_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
