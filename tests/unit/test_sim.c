/* test_sim.c: the simulated platform, and through it the DCAP checks that
 * need collateral re-signed (we hold the simulated keys): each mutation of a
 * signed body, validly re-signed, must still be caught by the check that
 * covers that field. Also: sim quotes verify only with the sim root, every
 * TCB level yields its status and advisories, revocation, expiry. */
#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "asps/sim.h"
#include "asps/verify.h"
#include "dcap_int.h"
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
        /* QVL: QE OutOfDate turns SWHardeningNeeded into OutOfDate, and the
         * QE level's advisories are merged after the platform's */
        assert_int_equal(c.tcb_status, ASPS_TCB_OUT_OF_DATE);
        assert_int_equal(c.n_advisories, 1);
        assert_string_equal(c.advisory_ids[0], "INTEL-SA-00615");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_init_writes_pki_with_private_keys_0600),
        cmocka_unit_test(test_sim_pck_extension_parses_as_intel_asn1),
        cmocka_unit_test(test_sim_quote_verifies_with_sim_root_only),
        cmocka_unit_test(test_sim_every_tcb_level_yields_its_status_and_advisories),
        cmocka_unit_test(test_sim_tampered_quotes_are_caught),
        cmocka_unit_test(test_resigned_tcb_info_field_mutations),
        cmocka_unit_test(test_resigned_qe_identity_field_mutations),
        cmocka_unit_test(test_resigned_tdx_module_mutations),
        cmocka_unit_test(test_sim_td15_quotes_and_relaunch_advice),
        cmocka_unit_test(test_sim_revoked_pck_and_expired_collateral),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
