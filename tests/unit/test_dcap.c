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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asps/verify.h"
#include "quote.h"
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
        cmocka_unit_test(test_bundle_roundtrip_is_identical),
        cmocka_unit_test(test_quote_platform_reads_fmspc_and_ca),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
