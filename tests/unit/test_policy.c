/* test_policy.c: policy loading (native and seed formats), validation
 * messages that name the field, and decisions on claims. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms.h"
#include "policy.h"
#include "util.h"

#define ENC_A "6a0a4f58a8d1c5a1d0b0c6a8e3f8f0e5b2f7c9d4e1a3b5c7d9e0f1a2b3c4d5e6"
#define ENC_B "1e4f3efafac6038dadaa94fdd248b93c82ae9f0a16642ff4bb07afe442aac56e"
#define SIG_A "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e"
#define SIG_B "126fa00be457bf85a8d864c44bc8f025d35eb7e870868e79ee147145fcacb92a"
#define TD_A "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define RT_A "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

/* ---- helpers -------------------------------------------------------------- */

static asps_err parse(const char *json, asps_policy **p, asps_errbuf *eb)
{
    memset(eb, 0, sizeof *eb);
    return asps_policy_parse(json, strlen(json), "test.json", p, eb);
}

static asps_policy *must_parse(const char *json)
{
    asps_policy *p = NULL;
    asps_errbuf eb;
    asps_err e = parse(json, &p, &eb);
    if (e != ASPS_OK)
        fail_msg("policy did not load: %s", eb.msg);
    return p;
}

static void sgx_claims(asps_claims *c, const char *enc, const char *sig)
{
    memset(c, 0, sizeof *c);
    c->tee = ASPS_TEE_SGX;
    c->tcb_status = ASPS_TCB_UP_TO_DATE;
    assert_int_equal(asps_hex_decode(enc, 64, c->sgx.mr_enclave, 32), 0);
    assert_int_equal(asps_hex_decode(sig, 64, c->sgx.mr_signer, 32), 0);
    c->sgx.isv_prod_id = 1;
    c->sgx.isv_svn = 2;
}

static void tdx_claims(asps_claims *c)
{
    memset(c, 0, sizeof *c);
    c->tee = ASPS_TEE_TDX;
    c->tcb_status = ASPS_TCB_UP_TO_DATE;
    assert_int_equal(asps_hex_decode(TD_A, 96, c->tdx.mr_td, 48), 0);
    assert_int_equal(asps_hex_decode(RT_A, 96, c->tdx.rtmr[1], 48), 0);
}

/* One SGX app "web" pinned by ENC_A+SIG_A, prod 1, min svn 2, refusing
 * INTEL-SA-00615; EXTRA is spliced into the app object. */
static char *web_policy(const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"version\":1,\"apps\":[{\"name\":\"web\",\"match\":{\"tee\":\"sgx\","
             "\"mrenclave\":\"" ENC_A "\",\"mrsigner\":\"" SIG_A "\",\"isv_prod_id\":1,"
             "\"min_isv_svn\":2,\"refuse_advisories\":[\"INTEL-SA-00615\"]}%s%s,"
             "\"secrets\":{\"tls_key\":\"web/tls_key\",\"db\":\"web/db\"}},"
             "{\"name\":\"batch\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_B "\"},"
             "\"secrets\":{\"image_key\":\"batch/image_key\"}}]}",
             extra && *extra ? "," : "", extra ? extra : "");
    return buf;
}

static asps_err decide(const char *policy_json, const asps_claims *c, const char *const *names,
                       size_t n, asps_decision *d)
{
    asps_policy *p = must_parse(policy_json);
    asps_errbuf eb;
    asps_err e = asps_policy_decide(p, c, names, n, d, &eb);
    /* The reason must outlive the policy for these tests; copy app name. */
    static char app[64];
    snprintf(app, sizeof app, "%s", d->app ? d->app : "");
    d->app = d->app ? app : NULL;
    for (size_t i = 0; i < d->n; i++)
        d->grants[i].kms_ref = NULL; /* points into p, freed below */
    asps_policy_free(p);
    return e;
}

static void expect_denied(const char *policy_json, const asps_claims *c, const char *why)
{
    const char *names[] = {"tls_key"};
    asps_decision d;
    asps_err e = decide(policy_json, c, names, 1, &d);
    assert_int_equal(e, ASPS_E_DENIED);
    assert_false(d.allowed);
    if (strstr(d.reason, why) == NULL)
        fail_msg("reason \"%s\" lacks \"%s\"", d.reason, why);
    asps_decision_clear(&d);
}

static void expect_granted(const char *policy_json, const asps_claims *c)
{
    const char *names[] = {"tls_key"};
    asps_decision d;
    asps_err e = decide(policy_json, c, names, 1, &d);
    if (e != ASPS_OK)
        fail_msg("denied: %s", d.reason);
    assert_true(d.allowed);
    asps_decision_clear(&d);
}

static char *src_path(const char *rel)
{
    static char buf[4096];
    const char *src = getenv("ASPS_SRC");
    snprintf(buf, sizeof buf, "%s/%s", src ? src : "..", rel);
    return buf;
}

/* ---- loading ------------------------------------------------------------------ */

static void test_valid_policy_loads_and_lists_apps(void **state)
{
    (void)state;
    asps_policy *p = must_parse(web_policy(NULL));
    assert_int_equal(asps_policy_app_count(p), 2);
    assert_string_equal(asps_policy_app_name(p, 0), "web");
    assert_int_equal(asps_policy_app_secret_count(p, 0), 2);
    assert_string_equal(asps_policy_app_secret_name(p, 0, 0), "tls_key");
    assert_false(asps_policy_app_has_credential(p, 0));
    asps_policy_free(p);
}

static void test_example_policy_file_loads_with_kms_path_beside_it(void **state)
{
    (void)state;
    asps_policy *p = NULL;
    asps_errbuf eb;
    asps_err e = asps_policy_load_file(src_path("examples/policy.json"), &p, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(asps_policy_app_count(p), 3);
    assert_int_equal(asps_policy_app_tee(p, 2), ASPS_TEE_TDX);
    asps_policy_kms k;
    asps_policy_kms_info(p, &k);
    assert_string_equal(k.type, "file");
    assert_non_null(strstr(k.path, "examples/kms.json"));
    asps_policy_free(p);
}

struct bad_case {
    const char *json;
    const char *msg;
};

#define APP_PRE "{\"version\":1,\"apps\":[{\"name\":\"a\",\"secrets\":{\"k\":\"r\"},\"match\":"
#define APP_END "}]}"
#define M(x) APP_PRE "{" x "}" APP_END
#define SGXE "\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A "\""

static const struct bad_case bad_cases[] = {
    {M("\"tee\":\"sgx\",\"mrenclave\":\"abc\""), "apps[0].match.mrenclave: expected 64 hex characters"},
    {M("\"tee\":\"sgx\",\"mrenclave\":\"\""), "apps[0].match.mrenclave: expected 64 hex characters"},
    {M("\"tee\":\"sgx\",\"mrenclave\":\"" "zz" ENC_A "\""), "apps[0].match.mrenclave: expected 64 hex characters"},
    {M("\"tee\":\"sgx\",\"mrenclave\":\"zz0a4f58a8d1c5a1d0b0c6a8e3f8f0e5b2f7c9d4e1a3b5c7d9e0f1a2b3c4d5e6\""),
     "apps[0].match.mrenclave: expected 64 hex characters"},
    {M("\"tee\":\"sgx\",\"mrenclave\":42"), "apps[0].match.mrenclave: expected a string"},
    {M(SGXE ",\"mrsigner\":\"83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9\""),
     "apps[0].match.mrsigner: expected 64 hex characters"},
    {M(SGXE ",\"isv_prod_id\":-1"), "apps[0].match.isv_prod_id: expected a whole number from 0 to 65535"},
    {M(SGXE ",\"isv_prod_id\":1.5"), "apps[0].match.isv_prod_id: expected a whole number"},
    {M(SGXE ",\"isv_prod_id\":65536"), "apps[0].match.isv_prod_id: expected a whole number"},
    {M(SGXE ",\"min_isv_svn\":\"2\""), "apps[0].match.min_isv_svn: expected a whole number"},
    {M(SGXE ",\"min_config_svn\":true"), "apps[0].match.min_config_svn: expected a whole number"},
    {M("\"tee\":\"sev\",\"mrenclave\":\"" ENC_A "\""), "apps[0].match.tee: expected \"sgx\" or \"tdx\""},
    {M("\"mrenclave\":\"" ENC_A "\""), "apps[0].match.tee: required field is missing"},
    {M(SGXE ",\"mrenclve\":\"" ENC_A "\""), "apps[0].match.mrenclve: unknown field"},
    {M(SGXE ",\"mrenclave\":\"" ENC_B "\""), "apps[0].match.mrenclave: field appears twice"},
    {M(SGXE ",\"tcb_statuses\":[\"Fine\"]"), "apps[0].match.tcb_statuses[0]: \"Fine\" is not a TCB status"},
    {M(SGXE ",\"tcb_statuses\":[\"UpToDate\",7]"), "apps[0].match.tcb_statuses[1]: expected a TCB status"},
    {M(SGXE ",\"tcb_statuses\":[\"UpToDate\",\"Revoked\"]"), "apps[0].match.tcb_statuses[1]: \"Revoked\" can never be allowed"},
    {M(SGXE ",\"tcb_statuses\":[]"), "apps[0].match.tcb_statuses: must list at least one status"},
    {M(SGXE ",\"tcb_statuses\":\"UpToDate\""), "apps[0].match.tcb_statuses: expected an array"},
    {M(SGXE ",\"refuse_advisories\":[\"\"]"), "apps[0].match.refuse_advisories[0]: expected an advisory ID"},
    {M("\"tee\":\"sgx\""), "apps[0].match: needs mrenclave or mrsigner"},
    {M("\"tee\":\"sgx\",\"mrsigner\":\"" SIG_A "\""), "apps[0].match.isv_prod_id: required when mrenclave is not given"},
    {M("\"tee\":\"tdx\""), "apps[0].match.mrtd: required for tee \"tdx\""},
    {M("\"tee\":\"tdx\",\"mrtd\":\"" TD_A "\",\"mrenclave\":\"" ENC_A "\""), "apps[0].match.mrenclave: not a field for tee \"tdx\""},
    {M("\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A "\",\"rtmr0\":\"" RT_A "\""), "apps[0].match.rtmr0: not a field for tee \"sgx\""},
    {M("\"tee\":\"tdx\",\"mrtd\":\"" ENC_A "\""), "apps[0].match.mrtd: expected 96 hex characters"},
    {M("\"tee\":\"tdx\",\"mrtd\":\"" TD_A "\",\"rtmr2\":\"\""), "apps[0].match.rtmr2: expected 96 hex characters"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"secrets\":{}}]}", "apps[0].match: required field is missing"},
    {"{\"version\":1,\"apps\":[{\"secrets\":{},\"match\":{" SGXE "}}]}", "apps[0].name: required field is missing"},
    {"{\"version\":1,\"apps\":[{\"name\":\"\",\"secrets\":{},\"match\":{" SGXE "}}]}", "apps[0].name: must not be empty"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"match\":{" SGXE "}}]}", "apps[0].secrets: required field is missing"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"secrets\":{\"k\":5},\"match\":{" SGXE "}}]}", "apps[0].secrets.k: expected a KMS reference"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"secrets\":{\"k\":\"\"},\"match\":{" SGXE "}}]}", "apps[0].secrets.k: KMS reference must not be empty"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"secrets\":{\"k\":\"x\",\"k\":\"y\"},\"match\":{" SGXE "}}]}", "apps[0].secrets.k: secret appears twice"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"allow_debug\":\"yes\",\"secrets\":{},\"match\":{" SGXE "}}]}", "apps[0].allow_debug: expected true or false"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"allow_simulated\":1,\"secrets\":{},\"match\":{" SGXE "}}]}", "apps[0].allow_simulated: expected true or false"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"kms_credential\":\"\",\"secrets\":{},\"match\":{" SGXE "}}]}", "apps[0].kms_credential: must not be empty"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"secrets\":{},\"match\":{" SGXE "}},"
     "{\"name\":\"a\",\"secrets\":{},\"match\":{" SGXE "}}]}", "apps[1].name: \"a\" is already the name of apps[0]"},
    {"{\"version\":1,\"apps\":[{\"name\":\"a\",\"secrets\":{},\"match\":{" SGXE "}}, 7]}", "apps[1]: expected an object"},
    {"{\"version\":2,\"apps\":[]}", "version: expected 1"},
    {"{\"apps\":[]}", "version: required field is missing"},
    {"{\"version\":1,\"apps\":[]}", "apps: must list at least one app"},
    {"{\"version\":1,\"apps\":{}}", "apps: expected an array"},
    {"{\"version\":1,\"app\":[]}", "app: unknown field"},
    {"{\"version\":1,\"kms\":{\"type\":\"s3\"},\"apps\":[]}", "kms.type: expected \"file\" or \"vault\""},
    {"{\"version\":1,\"kms\":{\"type\":\"file\"},\"apps\":[{\"name\":\"a\",\"secrets\":{},\"match\":{" SGXE "}}]}", "kms.path: required"},
    {"[1,2]", "(top level): expected an object"},
    {"{\"version\":1,\n\"apps\":[}", "invalid JSON near line 2"},
    {"{\"version\":1,\"apps\":[]} trailing", "unexpected data after the JSON value"},
};

static void test_each_malformed_field_is_named_in_the_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        asps_policy *p = NULL;
        asps_errbuf eb;
        asps_err e = parse(bad_cases[i].json, &p, &eb);
        if (e == ASPS_OK)
            fail_msg("case %zu loaded but should not: %s", i, bad_cases[i].json);
        assert_null(p);
        if (strstr(eb.msg, bad_cases[i].msg) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, eb.msg, bad_cases[i].msg);
        /* The message starts with the input's name. */
        assert_memory_equal(eb.msg, "test.json: ", 11);
    }
}

static void test_every_bad_case_is_fine_once_fixed(void **state)
{
    /* Guard for the table: the same skeleton with a valid match loads, so
     * the failures above come from the field named, not the skeleton. */
    (void)state;
    asps_policy *p = must_parse(M(SGXE));
    asps_policy_free(p);
    p = must_parse(M("\"tee\":\"tdx\",\"mrtd\":\"" TD_A "\",\"rtmr2\":\"" RT_A "\""));
    asps_policy_free(p);
    p = must_parse(M("\"tee\":\"sgx\",\"mrsigner\":\"" SIG_A "\",\"isv_prod_id\":3"));
    asps_policy_free(p);
}

/* ---- matching ----------------------------------------------------------------- */

static void test_right_mrenclave_is_granted_with_kms_ref(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    asps_policy *p = must_parse(web_policy(NULL));
    const char *names[] = {"db", "tls_key"};
    asps_decision d;
    asps_errbuf eb;
    assert_int_equal(asps_policy_decide(p, &c, names, 2, &d, &eb), ASPS_OK);
    assert_true(d.allowed);
    assert_string_equal(d.app, "web");
    assert_int_equal(d.n, 2);
    assert_true(d.grants[0].granted && d.grants[1].granted);
    assert_string_equal(d.grants[0].kms_ref, "web/db");
    assert_string_equal(d.grants[1].kms_ref, "web/tls_key");
    assert_null(d.kms_credential);
    asps_decision_clear(&d);
    asps_policy_free(p);
}

/* The granted reason is built by hand (policy.c reason_granted): the same
 * text as its printf format, for the longest app name and counts of one
 * and of two digits. */
static void test_granted_reason_is_the_printf_text(void **state)
{
    (void)state;
    char name[ASPS_POLICY_MAX_NAME + 1];
    memset(name, 'w', ASPS_POLICY_MAX_NAME);
    name[ASPS_POLICY_MAX_NAME] = 0;
    static char json[4096];
    snprintf(json, sizeof json,
             "{\"version\":1,\"apps\":[{\"name\":\"%s\",\"match\":{\"tee\":\"sgx\","
             "\"mrenclave\":\"" ENC_A "\"},\"secrets\":{\"db\":\"web/db\"}}]}",
             name);
    asps_policy *p = must_parse(json);
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    const char *names[12];
    for (size_t i = 0; i < 12; i++)
        names[i] = "db";
    size_t counts[] = {1, 9, 10, 12};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        asps_decision d;
        asps_errbuf eb;
        assert_int_equal(asps_policy_decide(p, &c, names, counts[k], &d, &eb), ASPS_OK);
        char want[sizeof d.reason];
        snprintf(want, sizeof want, "app '%s' matched; all %zu names granted", name, counts[k]);
        assert_string_equal(d.reason, want);
        asps_decision_clear(&d);
    }
    asps_policy_free(p);
}

static void test_wrong_mrenclave_is_denied(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, "ff0a4f58a8d1c5a1d0b0c6a8e3f8f0e5b2f7c9d4e1a3b5c7d9e0f1a2b3c4d5e6", SIG_A);
    expect_denied(web_policy(NULL), &c, "app 'web': mrenclave differs");
    /* Differs in the last byte only: still a whole-value compare. */
    sgx_claims(&c, "6a0a4f58a8d1c5a1d0b0c6a8e3f8f0e5b2f7c9d4e1a3b5c7d9e0f1a2b3c4d5e7", SIG_A);
    expect_denied(web_policy(NULL), &c, "mrenclave differs");
}

static void test_wrong_mrsigner_with_right_mrenclave_is_denied(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_B);
    expect_denied(web_policy(NULL), &c, "app 'web': mrsigner differs");
}

static void test_debug_enclave_denied_unless_allowed(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.debug = 1;
    expect_denied(web_policy(NULL), &c, "debug enclave not allowed");
    expect_denied(web_policy("\"allow_debug\":false"), &c, "debug enclave not allowed");
    expect_granted(web_policy("\"allow_debug\":true"), &c);
}

static void test_isv_svn_below_minimum_is_denied(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.sgx.isv_svn = 1;
    expect_denied(web_policy(NULL), &c, "isv_svn 1 below minimum 2");
    c.sgx.isv_svn = 3; /* above the minimum is fine */
    expect_granted(web_policy(NULL), &c);
}

static void test_isv_prod_id_and_config_svn_are_checked(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.sgx.isv_prod_id = 9;
    expect_denied(web_policy(NULL), &c, "isv_prod_id 9 differs from 1");
    sgx_claims(&c, ENC_B, SIG_A);
    const char *pol = "{\"version\":1,\"apps\":[{\"name\":\"b\",\"match\":{\"tee\":\"sgx\","
                      "\"mrenclave\":\"" ENC_B "\",\"min_config_svn\":5},"
                      "\"secrets\":{\"tls_key\":\"x\"}}]}";
    c.sgx.config_svn = 4;
    expect_denied(pol, &c, "config_svn 4 below minimum 5");
    c.sgx.config_svn = 5;
    expect_granted(pol, &c);
}

static void test_tcb_status_not_allowed_is_denied(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.tcb_status = ASPS_TCB_SW_HARDENING_NEEDED;
    /* Default: UpToDate only. */
    expect_denied(web_policy(NULL), &c, "TCB status SWHardeningNeeded not allowed");
    const char *pol = "{\"version\":1,\"apps\":[{\"name\":\"b\",\"match\":{\"tee\":\"sgx\","
                      "\"mrenclave\":\"" ENC_A "\",\"tcb_statuses\":[\"UpToDate\","
                      "\"SWHardeningNeeded\"]},\"secrets\":{\"tls_key\":\"x\"}}]}";
    expect_granted(pol, &c);
    c.tcb_status = ASPS_TCB_OUT_OF_DATE;
    expect_denied(pol, &c, "TCB status OutOfDate not allowed");
}

static void test_refused_advisory_is_denied(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.n_advisories = 2;
    strcpy(c.advisory_ids[0], "INTEL-SA-00334");
    strcpy(c.advisory_ids[1], "INTEL-SA-00615");
    expect_denied(web_policy(NULL), &c, "advisory INTEL-SA-00615 refused");
    c.n_advisories = 1; /* only the one not refused */
    expect_granted(web_policy(NULL), &c);
    /* the QE's and the TDX module's advisories count too (Intel's list is
     * the platform level's only; they are reported apart) */
    c.n_qe_advisories = 1;
    strcpy(c.qe_advisory_ids[0], "INTEL-SA-00615");
    expect_denied(web_policy(NULL), &c, "advisory INTEL-SA-00615 refused (QE identity)");
    c.n_qe_advisories = 0;
    c.n_tdx_module_advisories = 1;
    strcpy(c.tdx_module_advisory_ids[0], "INTEL-SA-00615");
    expect_denied(web_policy(NULL), &c, "advisory INTEL-SA-00615 refused (TDX module)");
    c.n_tdx_module_advisories = 0;
    expect_granted(web_policy(NULL), &c);
}

static void test_simulated_claims_need_allow_simulated(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.simulated = 1;
    expect_denied(web_policy(NULL), &c, "simulated evidence not allowed");
    expect_granted(web_policy("\"allow_simulated\":true"), &c);
}

static void test_tdx_matches_mrtd_and_rtmrs(void **state)
{
    (void)state;
    const char *pol = "{\"version\":1,\"apps\":[{\"name\":\"td\",\"match\":{\"tee\":\"tdx\","
                      "\"mrtd\":\"" TD_A "\",\"rtmr1\":\"" RT_A "\"},"
                      "\"secrets\":{\"tls_key\":\"td/k\"}}]}";
    asps_claims c;
    tdx_claims(&c);
    expect_granted(pol, &c);
    c.tdx.rtmr[1][47] ^= 1;
    expect_denied(pol, &c, "rtmr1 differs");
    tdx_claims(&c);
    c.tdx.mr_td[0] ^= 0x80;
    expect_denied(pol, &c, "mrtd differs");
    /* An SGX enclave never matches a TDX app. */
    sgx_claims(&c, ENC_A, SIG_A);
    expect_denied(pol, &c, "TEE type differs");
}

static void test_name_not_granted_denies_the_whole_call(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    asps_policy *p = must_parse(web_policy(NULL));
    /* image_key belongs to app "batch", not to "web". */
    const char *names[] = {"tls_key", "image_key"};
    asps_decision d;
    asps_errbuf eb;
    assert_int_equal(asps_policy_decide(p, &c, names, 2, &d, &eb), ASPS_E_DENIED);
    assert_false(d.allowed);
    assert_string_equal(d.app, "web");
    assert_true(d.grants[0].granted);
    assert_false(d.grants[1].granted);
    assert_null(d.grants[1].kms_ref);
    assert_string_equal(d.reason, "app 'web' matched; not granted: image_key");
    asps_decision_clear(&d);
    asps_policy_free(p);
}

static void test_unknown_name_gets_the_same_answer_as_denied_name(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    asps_policy *p = must_parse(web_policy(NULL));
    const char *other_app[] = {"tls_key", "image_key"};  /* exists, other app */
    const char *nowhere[] = {"tls_key", "image_kez"};    /* exists nowhere */
    asps_decision d1, d2;
    asps_errbuf eb;
    asps_err e1 = asps_policy_decide(p, &c, other_app, 2, &d1, &eb);
    asps_err e2 = asps_policy_decide(p, &c, nowhere, 2, &d2, &eb);
    assert_int_equal(e1, ASPS_E_DENIED);
    assert_int_equal(e1, e2);
    assert_int_equal(d1.allowed, d2.allowed);
    assert_int_equal(d1.grants[1].granted, d2.grants[1].granted);
    /* Same reason text but for the name itself. */
    char *r = d2.reason, *at = strstr(r, "image_kez");
    assert_non_null(at);
    at[8] = 'y';
    assert_string_equal(d1.reason, d2.reason);
    asps_decision_clear(&d1);
    asps_decision_clear(&d2);
    asps_policy_free(p);
}

static void test_first_matching_app_decides(void **state)
{
    (void)state;
    /* Both apps match this enclave; only the first one's secrets count. */
    const char *pol = "{\"version\":1,\"apps\":["
                      "{\"name\":\"first\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A "\"},"
                      "\"secrets\":{\"a\":\"ref/a\"}},"
                      "{\"name\":\"second\",\"match\":{\"tee\":\"sgx\",\"mrsigner\":\"" SIG_A
                      "\",\"isv_prod_id\":1},\"kms_credential\":\"tok2\","
                      "\"secrets\":{\"b\":\"ref/b\"}}]}";
    asps_policy *p = must_parse(pol);
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    const char *b[] = {"b"};
    asps_decision d;
    asps_errbuf eb;
    assert_int_equal(asps_policy_decide(p, &c, b, 1, &d, &eb), ASPS_E_DENIED);
    assert_string_equal(d.app, "first");
    asps_decision_clear(&d);
    /* Another enclave of the same signer falls through to "second", whose
     * credential comes with the decision. */
    sgx_claims(&c, ENC_B, SIG_A);
    assert_int_equal(asps_policy_decide(p, &c, b, 1, &d, &eb), ASPS_OK);
    assert_string_equal(d.app, "second");
    assert_string_equal(d.kms_credential, "tok2");
    assert_string_equal(d.grants[0].kms_ref, "ref/b");
    asps_decision_clear(&d);
    asps_policy_free(p);
}

static void test_no_names_and_too_many_names_are_not_granted(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    asps_policy *p = must_parse(web_policy(NULL));
    asps_decision d;
    asps_errbuf eb;
    assert_int_equal(asps_policy_decide(p, &c, NULL, 0, &d, &eb), ASPS_E_DENIED);
    assert_false(d.allowed);
    asps_decision_clear(&d);
    static const char *many[ASPS_POLICY_MAX_REQUEST + 1];
    for (size_t i = 0; i < ASPS_POLICY_MAX_REQUEST + 1; i++)
        many[i] = "tls_key";
    assert_int_equal(asps_policy_decide(p, &c, many, ASPS_POLICY_MAX_REQUEST + 1, &d, &eb),
                     ASPS_E_LIMIT);
    assert_false(d.allowed);
    asps_decision_clear(&d);
    asps_policy_free(p);
}

static void test_to_json_round_trips(void **state)
{
    (void)state;
    asps_policy *p = must_parse(web_policy("\"allow_debug\":true,\"kms_credential\":\"tok\""));
    char *json;
    asps_errbuf eb;
    assert_int_equal(asps_policy_to_json(p, &json, &eb), ASPS_OK);
    asps_policy *q = must_parse(json);
    char *json2;
    assert_int_equal(asps_policy_to_json(q, &json2, &eb), ASPS_OK);
    assert_string_equal(json, json2);
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.debug = 1;
    const char *names[] = {"tls_key"};
    asps_decision d;
    assert_int_equal(asps_policy_decide(q, &c, names, 1, &d, &eb), ASPS_OK);
    assert_string_equal(d.kms_credential, "tok");
    asps_decision_clear(&d);
    free(json);
    free(json2);
    asps_policy_free(p);
    asps_policy_free(q);
}

/* ---- seed formats ---------------------------------------------------------- */

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    static char path[3][4096];
    static int k;
    char *p = path[k++ % 3];
    snprintf(p, 4096, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void test_cczoo_vault_example_loads_with_app_tokens(void **state)
{
    (void)state;
    asps_policy *p = NULL;
    asps_errbuf eb;
    asps_err e = asps_policy_load_seed(ASPS_POLICY_CCZOO, src_path("examples/cczoo_policy_vault.json"),
                                       NULL, &p, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(asps_policy_app_count(p), 2);
    assert_string_equal(asps_policy_app_name(p, 0), "app1");
    assert_true(asps_policy_app_has_credential(p, 0));
    asps_policy_kms k;
    asps_policy_kms_info(p, &k);
    assert_string_equal(k.type, "vault");
    assert_string_equal(k.addr, "http://127.0.0.1:8200");
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_B);
    const char *names[] = {"master_key", "secret2"};
    asps_decision d;
    assert_int_equal(asps_policy_decide(p, &c, names, 2, &d, &eb), ASPS_OK);
    assert_string_equal(d.grants[0].kms_ref, "occlum/1/image_key");
    assert_string_equal(d.kms_credential, "hvs.EXAMPLE-app1-token-not-real");
    asps_decision_clear(&d);
    /* Converted apps refuse debug enclaves. */
    c.debug = 1;
    assert_int_equal(asps_policy_decide(p, &c, names, 2, &d, &eb), ASPS_E_DENIED);
    asps_decision_clear(&d);
    asps_policy_free(p);
}

static void test_cczoo_no_kms_moves_values_to_kms_file(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char kms_path[4096];
    snprintf(kms_path, sizeof kms_path, "%s/kms.json", dir);
    asps_policy_seed_options opt = {0};
    opt.kms_out_path = kms_path;
    asps_policy *p = NULL;
    asps_errbuf eb;
    asps_err e = asps_policy_load_seed(ASPS_POLICY_CCZOO,
                                       src_path("examples/cczoo_policy_no_kms.json"), &opt, &p, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    /* The policy holds references only, never the inline value "123". */
    char *json;
    assert_int_equal(asps_policy_to_json(p, &json, &eb), ASPS_OK);
    assert_null(strstr(json, "\"123\""));
    free(json);
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    const char *names[] = {"master_key"};
    asps_decision d;
    assert_int_equal(asps_policy_decide(p, &c, names, 1, &d, &eb), ASPS_OK);
    asps_policy_kms k;
    asps_policy_kms_info(p, &k);
    asps_kms *kms;
    assert_int_equal(asps_kms_open_file(k.path, ASPS_KMS_PLAIN_TEXT, &kms, &eb), ASPS_OK);
    uint8_t *v;
    size_t len;
    assert_int_equal(asps_kms_get(kms, d.grants[0].kms_ref, NULL, &v, &len, &eb), ASPS_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "123", 3);
    asps_kms_value_free(v, len);
    asps_kms_free(kms);
    asps_decision_clear(&d);
    asps_policy_free(p);
    /* Without a KMS file to write to, the inline values are refused. */
    e = asps_policy_load_seed(ASPS_POLICY_CCZOO, src_path("examples/cczoo_policy_no_kms.json"),
                              NULL, &p, &eb);
    assert_int_equal(e, ASPS_E_ARG);
    assert_non_null(strstr(eb.msg, "--kms-out"));
    tu_rm_rf(dir);
    free(dir);
}

static void test_cczoo_ehsm_is_refused(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *f = write_tmp(dir, "p.json",
                        "{\"kms\":\"ehsm\",\"app_list\":[{\"id\":1,\"mr_enclave\":\"" ENC_A
                        "\",\"secrets\":{\"a\":\"b\"}}]}");
    asps_policy *p = NULL;
    asps_errbuf eb;
    assert_int_equal(asps_policy_load_seed(ASPS_POLICY_CCZOO, f, NULL, &p, &eb),
                     ASPS_E_UNSUPPORTED);
    assert_null(p);
    assert_non_null(strstr(eb.msg, "\"ehsm\" is not supported"));
    tu_rm_rf(dir);
    free(dir);
}

static void test_cczoo_empty_or_short_mr_enclave_is_refused_naming_the_entry(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    const char *bad[] = {"", "abc", "6a0a4f58"};
    for (size_t i = 0; i < 3; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"kms\":\"vault\",\"addr\":\"http://127.0.0.1:8200\",\"app_list\":["
                 "{\"id\":1,\"mr_enclave\":\"" ENC_A "\",\"app_token\":\"t1\",\"secrets\":{\"a\":\"p/a\"}},"
                 "{\"id\":2,\"mr_enclave\":\"%s\",\"app_token\":\"t2\",\"secrets\":{\"a\":\"p/b\"}}]}",
                 bad[i]);
        char *f = write_tmp(dir, "p.json", text);
        asps_policy *p = NULL;
        asps_errbuf eb;
        assert_int_equal(asps_policy_load_seed(ASPS_POLICY_CCZOO, f, NULL, &p, &eb), ASPS_E_PARSE);
        if (!strstr(eb.msg, "app_list[1].mr_enclave: expected 64 hex characters"))
            fail_msg("message: %s", eb.msg);
    }
    /* A vault app without its token cannot be served. */
    char *f = write_tmp(dir, "p.json",
                        "{\"kms\":\"vault\",\"addr\":\"http://x\",\"app_list\":[{\"id\":1,"
                        "\"mr_enclave\":\"" ENC_A "\",\"secrets\":{\"a\":\"p/a\"}}]}");
    asps_policy *p = NULL;
    asps_errbuf eb;
    assert_int_equal(asps_policy_load_seed(ASPS_POLICY_CCZOO, f, NULL, &p, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "app_list[0].app_token: required"));
    tu_rm_rf(dir);
    free(dir);
}

static void test_occlum_example_loads_and_svn_is_a_minimum(void **state)
{
    (void)state;
    asps_policy_seed_options opt = {0};
    char secrets[4096];
    snprintf(secrets, sizeof secrets, "%s", src_path("examples/occlum_secret_config.json"));
    opt.occlum_secrets_path = secrets;
    asps_policy *p = NULL;
    asps_errbuf eb;
    asps_err e = asps_policy_load_seed(ASPS_POLICY_OCCLUM, src_path("examples/occlum_ra_config.json"),
                                       &opt, &p, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(asps_policy_app_count(p), 1);
    assert_int_equal(asps_policy_app_secret_count(p, 0), 2);
    asps_policy_kms k;
    asps_policy_kms_info(p, &k);
    assert_string_equal(k.default_encoding, "base64");
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.sgx.isv_prod_id = 0;
    c.sgx.isv_svn = 5;
    const char *names[] = {"cert", "key"};
    asps_decision d;
    assert_int_equal(asps_policy_decide(p, &c, names, 2, &d, &eb), ASPS_OK);
    asps_decision_clear(&d);
    /* debuggable false + verify on: debug refused. */
    c.debug = 1;
    assert_int_equal(asps_policy_decide(p, &c, names, 2, &d, &eb), ASPS_E_DENIED);
    asps_decision_clear(&d);
    /* The KMS the policy names reads Occlum's base64 file as is. */
    asps_kms *kms;
    asps_kms_config cfg = {.type = k.type, .path = k.path, .default_encoding = k.default_encoding};
    assert_int_equal(asps_kms_open(&cfg, &kms, &eb), ASPS_OK);
    uint8_t *v;
    size_t len;
    assert_int_equal(asps_kms_get(kms, "key", NULL, &v, &len, &eb), ASPS_OK);
    assert_int_equal(len, strlen("test sample key\n"));
    assert_memory_equal(v, "test sample key\n", len);
    asps_kms_value_free(v, len);
    asps_kms_free(kms);
    asps_policy_free(p);
}

static void test_occlum_configs_that_accept_anything_are_refused(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"verify_mr_enclave\":\"off\",\"verify_mr_signer\":\"off\",\"sgx_mrs\":[{}]}",
         "both \"off\" would accept any enclave"},
        {"{\"verify_mr_enclave\":\"on\",\"verify_mr_signer\":\"off\",\"sgx_mrs\":[{\"mr_enclave\":\"\"}]}",
         "sgx_mrs[0].mr_enclave: expected 64 hex characters"},
        {"{\"verify_mr_enclave\":\"off\",\"verify_mr_signer\":\"on\",\"verify_isv_prod_id\":\"off\","
         "\"sgx_mrs\":[{\"mr_signer\":\"" SIG_A "\"}]}",
         "verify_isv_prod_id: must be \"on\""},
        {"{\"verify_mr_enclave\":\"yes\",\"sgx_mrs\":[]}", "verify_mr_enclave: expected \"on\" or \"off\""},
        {"{\"verify_mr_enclave\":\"on\",\"sgx_mrs\":[]}", "sgx_mrs: must list at least one entry"},
        {"{\"verify_mr_enclave\":\"on\",\"verify_isv_svn\":\"on\",\"sgx_mrs\":[{\"mr_enclave\":\"" ENC_A
         "\",\"isv_svn\":\"x1\"}]}", "sgx_mrs[0].isv_svn: expected a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *f = write_tmp(dir, "ra.json", cases[i].json);
        asps_policy *p = NULL;
        asps_errbuf eb;
        assert_int_not_equal(asps_policy_load_seed(ASPS_POLICY_OCCLUM, f, NULL, &p, &eb), ASPS_OK);
        if (!strstr(eb.msg, cases[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, eb.msg, cases[i].msg);
    }
    /* CCZoo's dynamic_config.json writes numbers as strings; debug "off"
     * accepts debug enclaves, as Occlum did. */
    char *f = write_tmp(dir, "ra.json",
                        "{\"verify_mr_enclave\":\"on\",\"verify_mr_signer\":\"on\","
                        "\"verify_isv_prod_id\":\"on\",\"verify_isv_svn\":\"on\",\"sgx_mrs\":["
                        "{\"mr_enclave\":\"" ENC_A "\",\"mr_signer\":\"" SIG_A "\","
                        "\"isv_prod_id\":\"1\",\"isv_svn\":\"2\"}]}");
    asps_policy *p = NULL;
    asps_errbuf eb;
    if (asps_policy_load_seed(ASPS_POLICY_OCCLUM, f, NULL, &p, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.debug = 1;
    c.sgx.isv_svn = 1;
    asps_decision d;
    assert_int_equal(asps_policy_decide(p, &c, NULL, 0, &d, &eb), ASPS_E_DENIED);
    assert_non_null(strstr(d.reason, "isv_svn 1 below minimum 2"));
    asps_decision_clear(&d);
    asps_policy_free(p);
    tu_rm_rf(dir);
    free(dir);
}

static void collect_note(void *ctx, const char *line)
{
    char *buf = ctx;
    strncat(buf, line, 4095 - strlen(buf));
    strncat(buf, "\n", 4095 - strlen(buf));
}

/* Converted apps accept the TCB statuses the seed verifiers accepted
 * (UpToDate and the five non-terminal ones, ASPS_POLICY_SEED_TCB_DEFAULT)
 * unless told otherwise; Revoked never; and a note says which. Both
 * formats. */
static void test_seed_tcb_statuses_default_and_option(void **state)
{
    (void)state;
    static const struct {
        asps_policy_format fmt;
        const char *file, *enc, *sig;
        const char *names[2];
    } f[] = {{ASPS_POLICY_OCCLUM, "examples/occlum_ra_config.json", ENC_A, SIG_A, {"cert", "key"}},
             {ASPS_POLICY_CCZOO, "examples/cczoo_policy_vault.json", ENC_A, SIG_B,
              {"master_key", "secret2"}}};
    for (size_t k = 0; k < 2; k++) {
        char secrets[4096], notes[4096] = "";
        snprintf(secrets, sizeof secrets, "%s", src_path("examples/occlum_secret_config.json"));
        asps_policy_seed_options opt = {.note = collect_note, .note_ctx = notes};
        if (f[k].fmt == ASPS_POLICY_OCCLUM)
            opt.occlum_secrets_path = secrets;
        for (int narrow = 0; narrow < 2; narrow++) {
            asps_errbuf eb;
            notes[0] = 0;
            opt.tcb_mask = 0;
            if (narrow)
                assert_int_equal(asps_policy_tcb_mask_parse("UpToDate,SWHardeningNeeded",
                                                            "--seed-tcb-statuses", &opt.tcb_mask, &eb),
                                 ASPS_OK);
            asps_policy *p = NULL;
            if (asps_policy_load_seed(f[k].fmt, src_path(f[k].file), &opt, &p, &eb) != ASPS_OK)
                fail_msg("%s", eb.msg);
            asps_claims c;
            sgx_claims(&c, f[k].enc, f[k].sig);
            c.sgx.isv_prod_id = 0;
            c.sgx.isv_svn = 5;
            for (int st = 0; st < ASPS_TCB__COUNT; st++) {
                c.tcb_status = (asps_tcb_status)st;
                asps_decision d;
                asps_err e = asps_policy_decide(p, &c, f[k].names, 2, &d, &eb);
                int want = narrow ? (st == ASPS_TCB_UP_TO_DATE || st == ASPS_TCB_SW_HARDENING_NEEDED)
                                  : (st <= ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
                if ((e == ASPS_OK) != want)
                    fail_msg("format %zu narrow %d status %s: %s", k, narrow,
                             asps_tcb_status_name(c.tcb_status), e == ASPS_OK ? "granted" : d.reason);
                if (!want)
                    assert_non_null(strstr(d.reason, "TCB status"));
                asps_decision_clear(&d);
            }
            const char *want_note =
                narrow ? "TCB statuses: converted apps accept UpToDate, SWHardeningNeeded (seed_tcb_statuses)"
                       : "TCB statuses: converted apps accept UpToDate, SWHardeningNeeded, "
                         "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
                         "OutOfDateConfigurationNeeded, as the seed system's verifier did";
            if (!strstr(notes, want_note))
                fail_msg("format %zu narrow %d: notes lack \"%s\":\n%s", k, narrow, want_note, notes);
            asps_policy_free(p);
        }
    }
}

static void test_seed_tcb_statuses_list_is_checked(void **state)
{
    (void)state;
    static const struct {
        const char *list, *msg;
    } bad[] = {{"", "x: must list at least one status"},
               {"UpToDate,Revoked", "x[1]: \"Revoked\" can never be allowed"},
               {"UpToDate,Fine", "x[1]: \"Fine\" is not a TCB status"},
               {"UpToDate,", "x: ends with a comma"},
               {",UpToDate", "x[0]: \"\" is not a TCB status"},
               {"uptodate", "x[0]: \"uptodate\" is not a TCB status"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t m = 0;
        asps_errbuf eb = {{0}};
        assert_int_equal(asps_policy_tcb_mask_parse(bad[i].list, "x", &m, &eb), ASPS_E_PARSE);
        if (!strstr(eb.msg, bad[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, eb.msg, bad[i].msg);
    }
    uint32_t m = 0;
    asps_errbuf eb;
    assert_int_equal(asps_policy_tcb_mask_parse("OutOfDate,UpToDate", "x", &m, &eb), ASPS_OK);
    assert_int_equal(m, (1u << ASPS_TCB_OUT_OF_DATE) | (1u << ASPS_TCB_UP_TO_DATE));
    char names[200];
    asps_policy_tcb_mask_names(m, names, sizeof names);
    assert_string_equal(names, "UpToDate, OutOfDate");
}

/* ---- TCB recovery rules ------------------------------------------------------ */

#define DAY 86400
#define T_2025_05_13 1747094400 /* 2025-05-13T00:00:00Z */
#define T_2025_05_14 1747180800 /* 2025-05-14T00:00:00Z */
#define T_2027_01_01 1798761600 /* 2027-01-01T00:00:00Z */

/* One SGX app "web" (ENC_A), MATCH_EXTRA spliced into its match; a second
 * app "batch" (ENC_B) that never matches claims for ENC_A. */
static char *recovery_policy(const char *match_extra)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"version\":1,\"apps\":[{\"name\":\"web\",\"match\":{\"tee\":\"sgx\","
             "\"mrenclave\":\"" ENC_A "\"%s%s},\"secrets\":{\"tls_key\":\"web/tls_key\"}},"
             "{\"name\":\"batch\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_B "\"},"
             "\"secrets\":{\"image_key\":\"batch/image_key\"}}]}",
             match_extra && *match_extra ? "," : "", match_extra ? match_extra : "");
    return buf;
}

/* Decide for "tls_key" at AT; the reason and rule copied to the caller. */
static asps_err decide_at(const char *policy_json, const asps_claims *c, int64_t at,
                          asps_decision *out, char reason[512])
{
    asps_policy *p = must_parse(policy_json);
    const char *names[] = {"tls_key"};
    asps_errbuf eb;
    asps_decision d;
    asps_err e = asps_policy_decide_at(p, c, names, 1, at, &d, &eb);
    snprintf(reason, 512, "%s", d.reason);
    *out = d;
    out->grants = NULL;
    out->n = 0;
    out->app = NULL;
    out->kms_credential = NULL;
    asps_decision_clear(&d);
    asps_policy_free(p);
    return e;
}

static void test_recovery_keys_are_parsed_strictly(void **state)
{
    (void)state;
    static const struct {
        const char *extra, *msg;
    } bad[] = {
        {"\"min_tcb_evaluation_data_number\":-1", "apps[0].match.min_tcb_evaluation_data_number"},
        {"\"min_tcb_evaluation_data_number\":\"17\"", "apps[0].match.min_tcb_evaluation_data_number"},
        {"\"min_tcb_evaluation_data_number\":1.5", "apps[0].match.min_tcb_evaluation_data_number"},
        {"\"min_tcb_evaluation_data_number\":4294967296",
         "apps[0].match.min_tcb_evaluation_data_number"},
        {"\"min_tcb_date\":\"2025-02-29\"", "apps[0].match.min_tcb_date: expected a date"},
        {"\"min_tcb_date\":\"2025-04-31\"", "apps[0].match.min_tcb_date: expected a date"},
        {"\"min_tcb_date\":\"2025-13-01\"", "apps[0].match.min_tcb_date: expected a date"},
        {"\"min_tcb_date\":\"2025-5-14\"", "apps[0].match.min_tcb_date: expected a date"},
        {"\"min_tcb_date\":\"1747180800\"", "apps[0].match.min_tcb_date: expected a date"},
        {"\"min_tcb_date\":\"2025-05-14T00:00\"", "apps[0].match.min_tcb_date: expected a date"},
        {"\"min_tcb_date\":\"2025-05-14 junk\"", "apps[0].match.min_tcb_date: expected a date"},
        {"\"min_tcb_date\":\"\"", "apps[0].match.min_tcb_date"},
        {"\"min_tcb_date\":\"1969-12-31\"", "apps[0].match.min_tcb_date: expected a date"},
        {"\"min_tcb_date\":\"1970-01-01T01:00:00+02:00\"", "apps[0].match.min_tcb_date: expected"},
        {"\"min_tcb_date\":\"9999-12-31T23:00:00-02:00\"", "apps[0].match.min_tcb_date: expected"},
        {"\"min_tcb_date\":20250514", "apps[0].match.min_tcb_date"},
        {"\"tcb_grace_days\":3651", "apps[0].match.tcb_grace_days"},
        {"\"tcb_grace_days\":-1", "apps[0].match.tcb_grace_days"},
        {"\"tcb_grace_days\":true", "apps[0].match.tcb_grace_days"},
        {"\"refuse_stale_collateral\":\"yes\"", "apps[0].match.refuse_stale_collateral"},
        {"\"refuse_stale_collateral\":1", "apps[0].match.refuse_stale_collateral"},
        {"\"tcb_grace_day\":30", "tcb_grace_day"},
        {"\"tcb_grace_days\":30,\"tcb_grace_days\":31", "tcb_grace_days"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        asps_policy *p = NULL;
        asps_errbuf eb;
        asps_err e = parse(recovery_policy(bad[i].extra), &p, &eb);
        if (e == ASPS_OK)
            fail_msg("case %zu (%s) loaded", i, bad[i].extra);
        if (!strstr(eb.msg, bad[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, eb.msg, bad[i].msg);
    }
    /* the edges that are fine */
    static const char *const good[] = {
        "\"min_tcb_evaluation_data_number\":0", "\"min_tcb_evaluation_data_number\":4294967295",
        "\"min_tcb_date\":\"2024-02-29\"", "\"min_tcb_date\":\"2025-05-14T12:30:00+02:00\"",
        "\"min_tcb_date\":\"1970-01-01\"", "\"min_tcb_date\":\"9999-12-31T23:59:59Z\"",
        "\"tcb_grace_days\":0", "\"tcb_grace_days\":3650", "\"refuse_stale_collateral\":false",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        asps_policy_free(must_parse(recovery_policy(good[i])));
}

static void test_recovery_keys_round_trip_and_show(void **state)
{
    (void)state;
    asps_policy *p = must_parse(recovery_policy(
        "\"min_tcb_evaluation_data_number\":17,\"min_tcb_date\":\"2025-05-14T12:30:00+02:00\","
        "\"tcb_grace_days\":30,\"refuse_stale_collateral\":true"));
    char *json, *json2;
    asps_errbuf eb;
    assert_int_equal(asps_policy_to_json(p, &json, &eb), ASPS_OK);
    assert_non_null(strstr(json, "\"min_tcb_evaluation_data_number\":\t17"));
    assert_non_null(strstr(json, "\"min_tcb_date\":\t\"2025-05-14T10:30:00Z\""));
    assert_non_null(strstr(json, "\"tcb_grace_days\":\t30"));
    assert_non_null(strstr(json, "\"refuse_stale_collateral\":\ttrue"));
    asps_policy *q = must_parse(json);
    assert_int_equal(asps_policy_to_json(q, &json2, &eb), ASPS_OK);
    assert_string_equal(json, json2);
    char rules[256];
    asps_policy_app_tcb_rules(q, 0, rules, sizeof rules);
    assert_string_equal(rules, "min_tcb_evaluation_data_number 17, min_tcb_date "
                               "2025-05-14T10:30:00Z, tcb_grace_days 30, refuse_stale_collateral");
    asps_policy_app_tcb_rules(q, 1, rules, sizeof rules);
    assert_string_equal(rules, "");
    free(json);
    free(json2);
    asps_policy_free(p);
    asps_policy_free(q);
    /* a date alone stays a date; absent keys stay absent */
    p = must_parse(recovery_policy("\"min_tcb_date\":\"2025-05-14\""));
    assert_int_equal(asps_policy_to_json(p, &json, &eb), ASPS_OK);
    assert_non_null(strstr(json, "\"min_tcb_date\":\t\"2025-05-14\""));
    assert_null(strstr(json, "tcb_grace_days"));
    assert_null(strstr(json, "refuse_stale_collateral"));
    assert_null(strstr(json, "min_tcb_evaluation_data_number"));
    free(json);
    asps_policy_free(p);
}

static void test_min_tcb_evaluation_data_number(void **state)
{
    (void)state;
    const char *pol = recovery_policy("\"min_tcb_evaluation_data_number\":17");
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    asps_decision d;
    char reason[512];
    c.tcb_info_evaluation_data_number = 17; /* equal: enough */
    assert_int_equal(decide_at(pol, &c, T_2025_05_14, &d, reason), ASPS_OK);
    assert_null(d.rule);
    c.tcb_info_evaluation_data_number = 18;
    assert_int_equal(decide_at(pol, &c, T_2025_05_14, &d, reason), ASPS_OK);
    c.tcb_info_evaluation_data_number = 16; /* one below */
    assert_int_equal(decide_at(pol, &c, T_2025_05_14, &d, reason), ASPS_E_DENIED);
    assert_non_null(strstr(reason, "app 'web': tcb_evaluation_data_number 16 < 17"));
    assert_string_equal(d.rule, "tcb_evaluation_data_number");
}

static void test_min_tcb_date(void **state)
{
    (void)state;
    const char *pol = recovery_policy("\"min_tcb_date\":\"2025-05-14\"");
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    asps_decision d;
    char reason[512];
    c.tcb_date = T_2025_05_14; /* the same day */
    assert_int_equal(decide_at(pol, &c, T_2025_05_14, &d, reason), ASPS_OK);
    c.tcb_date = T_2025_05_13; /* a day before */
    assert_int_equal(decide_at(pol, &c, T_2025_05_14, &d, reason), ASPS_E_DENIED);
    assert_non_null(strstr(reason, "tcb_date 2025-05-13 < 2025-05-14"));
    assert_string_equal(d.rule, "tcb_date");
    c.tcb_date = T_2025_05_14 - 1; /* a second before */
    assert_int_equal(decide_at(pol, &c, T_2025_05_14, &d, reason), ASPS_E_DENIED);
    assert_non_null(strstr(reason, "tcb_date 2025-05-13T23:59:59Z < 2025-05-14"));
    c.tcb_date = 0; /* unknown: below any minimum */
    assert_int_equal(decide_at(pol, &c, T_2025_05_14, &d, reason), ASPS_E_DENIED);
    assert_non_null(strstr(reason, "tcb_date unknown < 2025-05-14"));
    /* a date-time minimum counts to the second */
    pol = recovery_policy("\"min_tcb_date\":\"2025-05-14T12:00:00Z\"");
    c.tcb_date = T_2025_05_14;
    assert_int_equal(decide_at(pol, &c, T_2025_05_14, &d, reason), ASPS_E_DENIED);
    assert_non_null(strstr(reason, "tcb_date 2025-05-14 < 2025-05-14T12:00:00Z"));
    c.tcb_date = T_2025_05_14 + 12 * 3600;
    assert_int_equal(decide_at(pol, &c, T_2025_05_14, &d, reason), ASPS_OK);
}

/* tcb_grace_days 30, platform demoted (OutOfDate) on 2027-01-01: accepted
 * through day 29 (N-1), refused from day 30 on (N+1 too), marked. */
static void test_grace_days_boundaries(void **state)
{
    (void)state;
    const char *pol = recovery_policy("\"tcb_grace_days\":30");
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.tcb_status = ASPS_TCB_OUT_OF_DATE;
    c.demoted_at = T_2027_01_01;
    asps_decision d;
    char reason[512];
    int64_t until = T_2027_01_01 + 30 * DAY;

    assert_int_equal(decide_at(pol, &c, until - DAY, &d, reason), ASPS_OK); /* day N-1 */
    assert_true(d.grace);
    assert_int_equal(d.grace_until, until);
    assert_int_equal(d.grace_left_seconds, DAY);
    assert_non_null(strstr(reason, "app 'web' matched; all 1 names granted; grace: TCB status "
                                   "OutOfDate accepted until 2027-01-31 (1 d 0 h left)"));
    assert_int_equal(decide_at(pol, &c, until - 1, &d, reason), ASPS_OK); /* last second */
    assert_int_equal(d.grace_left_seconds, 1);
    assert_int_equal(decide_at(pol, &c, T_2027_01_01 - DAY, &d, reason), ASPS_OK);
    assert_int_equal(d.grace_left_seconds, 31 * DAY);

    assert_int_equal(decide_at(pol, &c, until, &d, reason), ASPS_E_DENIED); /* day N */
    assert_false(d.grace);
    assert_non_null(strstr(reason, "app 'web': TCB status OutOfDate not allowed, grace over: "
                                   "demoted 2027-01-01, 30 days"));
    assert_string_equal(d.rule, "tcb_grace_over");
    assert_int_equal(decide_at(pol, &c, until + DAY, &d, reason), ASPS_E_DENIED); /* N+1 */
    assert_string_equal(d.rule, "tcb_grace_over");

    /* OutOfDateConfigurationNeeded is a demotion too */
    c.tcb_status = ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    assert_int_equal(decide_at(pol, &c, until - DAY, &d, reason), ASPS_OK);
    assert_true(d.grace);
    assert_int_equal(decide_at(pol, &c, until + DAY, &d, reason), ASPS_E_DENIED);

    /* tcb_grace_days 0: no grace at all */
    c.tcb_status = ASPS_TCB_OUT_OF_DATE;
    assert_int_equal(decide_at(recovery_policy("\"tcb_grace_days\":0"), &c, T_2027_01_01, &d,
                               reason),
                     ASPS_E_DENIED);
    assert_non_null(strstr(reason, "grace over: demoted 2027-01-01, 0 days"));
}

static void test_grace_applies_only_to_a_known_demotion(void **state)
{
    (void)state;
    const char *pol = recovery_policy("\"tcb_grace_days\":30");
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    asps_decision d;
    char reason[512];
    int64_t at = T_2027_01_01 + DAY;
    c.demoted_at = T_2027_01_01;
    /* not a demotion status: grace does not apply */
    c.tcb_status = ASPS_TCB_SW_HARDENING_NEEDED;
    assert_int_equal(decide_at(pol, &c, at, &d, reason), ASPS_E_DENIED);
    assert_non_null(strstr(reason, "TCB status SWHardeningNeeded not allowed;"));
    assert_null(d.rule);
    c.tcb_status = ASPS_TCB_REVOKED;
    assert_int_equal(decide_at(pol, &c, at, &d, reason), ASPS_E_DENIED);
    /* no demotion date known */
    c.tcb_status = ASPS_TCB_OUT_OF_DATE;
    c.demoted_at = 0;
    assert_int_equal(decide_at(pol, &c, at, &d, reason), ASPS_E_DENIED);
    assert_non_null(strstr(reason, "TCB status OutOfDate not allowed (tcb_grace_days: no TCB "
                                   "recovery date for its level)"));
    /* no tcb_grace_days: the status check as ever */
    c.demoted_at = T_2027_01_01;
    assert_int_equal(decide_at(recovery_policy(NULL), &c, at, &d, reason), ASPS_E_DENIED);
    assert_non_null(strstr(reason, "app 'web': TCB status OutOfDate not allowed;"));
    /* allowed outright: not marked as grace */
    assert_int_equal(decide_at(recovery_policy("\"tcb_grace_days\":30,\"tcb_statuses\":["
                                               "\"UpToDate\",\"OutOfDate\"]"),
                               &c, at, &d, reason),
                     ASPS_OK);
    assert_false(d.grace);
    assert_null(strstr(reason, "grace"));
    /* grace relaxes the status only: a refused advisory still refuses */
    c.n_advisories = 1;
    strcpy(c.advisory_ids[0], "INTEL-SA-00615");
    assert_int_equal(decide_at(recovery_policy("\"tcb_grace_days\":30,\"refuse_advisories\":["
                                               "\"INTEL-SA-00615\"]"),
                               &c, at, &d, reason),
                     ASPS_E_DENIED);
    assert_false(d.grace);
    assert_non_null(strstr(reason, "advisory INTEL-SA-00615 refused"));
    /* and so does a baseline */
    c.n_advisories = 0;
    c.tcb_info_evaluation_data_number = 16;
    assert_int_equal(decide_at(recovery_policy("\"tcb_grace_days\":30,"
                                               "\"min_tcb_evaluation_data_number\":17"),
                               &c, at, &d, reason),
                     ASPS_E_DENIED);
    assert_string_equal(d.rule, "tcb_evaluation_data_number");
}

static void test_stale_collateral(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    asps_decision d;
    char reason[512];
    c.collateral_stale = 1;
    c.collateral_stale_seconds = 3600;
    /* default: accepted, and the decision says so */
    assert_int_equal(decide_at(recovery_policy(NULL), &c, T_2025_05_14, &d, reason), ASPS_OK);
    assert_non_null(strstr(reason, "; collateral stale, 3600 s past nextUpdate"));
    assert_int_equal(decide_at(recovery_policy("\"refuse_stale_collateral\":false"), &c,
                               T_2025_05_14, &d, reason),
                     ASPS_OK);
    assert_int_equal(decide_at(recovery_policy("\"refuse_stale_collateral\":true"), &c,
                               T_2025_05_14, &d, reason),
                     ASPS_E_DENIED);
    assert_non_null(strstr(reason, "app 'web': stale collateral refused (3600 s past nextUpdate)"));
    assert_string_equal(d.rule, "stale_collateral");
    c.collateral_stale = 0;
    c.collateral_stale_seconds = 0;
    assert_int_equal(decide_at(recovery_policy("\"refuse_stale_collateral\":true"), &c,
                               T_2025_05_14, &d, reason),
                     ASPS_OK);
    assert_null(strstr(reason, "stale"));
}

/* The rule of a denial is the first app's refused by one; an app that
 * matches after it makes it no rule's denial. */
static void test_rule_names_the_first_app_refused_by_one(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    c.tcb_info_evaluation_data_number = 16;
    c.tcb_date = T_2025_05_13;
    const char *two =
        "{\"version\":1,\"apps\":[{\"name\":\"strict\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A
        "\",\"min_tcb_date\":\"2025-05-14\"},\"secrets\":{\"tls_key\":\"a\"}},"
        "{\"name\":\"newer\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A
        "\",\"min_tcb_evaluation_data_number\":17},\"secrets\":{\"tls_key\":\"b\"}},"
        "{\"name\":\"loose\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A
        "\"},\"secrets\":{\"tls_key\":\"c\"}}]}";
    asps_decision d;
    char reason[512];
    assert_int_equal(decide_at(two, &c, T_2025_05_14, &d, reason), ASPS_OK);
    assert_null(d.rule);
    assert_non_null(strstr(reason, "app 'loose' matched"));
    /* without the last app: both refusals listed, the first one's rule */
    char *cut = strstr(two, ",{\"name\":\"loose\"");
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s]}", (int)(cut - two), two);
    assert_int_equal(decide_at(buf, &c, T_2025_05_14, &d, reason), ASPS_E_DENIED);
    assert_string_equal(d.rule, "tcb_date");
    assert_non_null(strstr(reason, "app 'strict': tcb_date 2025-05-13 < 2025-05-14; "
                                   "app 'newer': tcb_evaluation_data_number 16 < 17;"));
    /* a plain mismatch has no rule */
    sgx_claims(&c, ENC_B, SIG_A);
    assert_int_equal(decide_at(buf, &c, T_2025_05_14, &d, reason), ASPS_E_DENIED);
    assert_null(d.rule);
}

/* ---- the index: many apps, first match in file order -------------------- */

/* An app of one SGX match (JSON object text), secret "tls_key" -> REF. */
static void app_json(char *out, size_t n, const char *name, const char *match, const char *ref)
{
    snprintf(out, n, "{\"name\":\"%s\",\"match\":{\"tee\":\"sgx\",%s},"
             "\"secrets\":{\"tls_key\":\"%s\"}}", name, match, ref);
}

/* Decide for C on a policy of the apps in APPS (N objects); the matched
 * app's name into APP ("" when denied). */
static asps_err decide_apps(const char *const *apps, size_t n, const asps_claims *c,
                            char *app, size_t app_len, char *reason, size_t reason_len)
{
    size_t cap = 64;
    for (size_t i = 0; i < n; i++)
        cap += strlen(apps[i]) + 1;
    char *json = malloc(cap);
    assert_non_null(json);
    size_t at = (size_t)snprintf(json, cap, "{\"version\":1,\"apps\":[");
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(json + at, cap - at, "%s%s", i ? "," : "", apps[i]);
    snprintf(json + at, cap - at, "]}");
    asps_policy *p = must_parse(json);
    free(json);
    const char *names[] = {"tls_key"};
    asps_decision d;
    asps_errbuf eb;
    asps_err e = asps_policy_decide(p, c, names, 1, &d, &eb);
    snprintf(app, app_len, "%s", d.app ? d.app : "");
    if (reason)
        snprintf(reason, reason_len, "%s", d.reason);
    asps_decision_clear(&d);
    asps_policy_free(p);
    return e;
}

/* Apps found through different index keys (mrenclave; mrsigner +
 * isv_prod_id, an app that names no enclave) that both accept the claims:
 * the earlier in the file decides, whichever order they are in, also with
 * other apps around them and an earlier app of the same key refusing. */
static void test_first_match_in_file_order_across_index_keys(void **state)
{
    (void)state;
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    char by_enc[512], by_sig[512], enc_svn9[512], other[512], app[64];
    app_json(by_enc, sizeof by_enc, "by_enclave", "\"mrenclave\":\"" ENC_A "\"", "e");
    app_json(by_sig, sizeof by_sig, "by_signer",
             "\"mrsigner\":\"" SIG_A "\",\"isv_prod_id\":1", "s");
    app_json(enc_svn9, sizeof enc_svn9, "enclave_svn9",
             "\"mrenclave\":\"" ENC_A "\",\"min_isv_svn\":9", "e9");
    app_json(other, sizeof other, "other", "\"mrenclave\":\"" ENC_B "\"", "o");

    const char *enc_first[] = {other, by_enc, other, by_sig};
    const char *sig_first[] = {other, by_sig, other, by_enc};
    /* names must differ: rename the second "other" */
    char other2[512];
    app_json(other2, sizeof other2, "other2", "\"mrenclave\":\"" SIG_B "\"", "o2");
    enc_first[2] = other2;
    sig_first[2] = other2;
    assert_int_equal(decide_apps(enc_first, 4, &c, app, sizeof app, NULL, 0), ASPS_OK);
    assert_string_equal(app, "by_enclave");
    assert_int_equal(decide_apps(sig_first, 4, &c, app, sizeof app, NULL, 0), ASPS_OK);
    assert_string_equal(app, "by_signer");
    /* the mrenclave bucket's first app refuses (svn): the signer app, next
     * in the file, decides before the bucket's second app */
    const char *mixed[] = {enc_svn9, by_sig, by_enc};
    assert_int_equal(decide_apps(mixed, 3, &c, app, sizeof app, NULL, 0), ASPS_OK);
    assert_string_equal(app, "by_signer");
    const char *mixed2[] = {enc_svn9, by_enc, by_sig};
    assert_int_equal(decide_apps(mixed2, 3, &c, app, sizeof app, NULL, 0), ASPS_OK);
    assert_string_equal(app, "by_enclave");
    /* the signer key includes isv_prod_id: another product is not that app */
    c.sgx.isv_prod_id = 2;
    assert_int_equal(decide_apps(sig_first, 4, &c, app, sizeof app, NULL, 0), ASPS_OK);
    assert_string_equal(app, "by_enclave");
    const char *sig_only[] = {by_sig};
    char reason[512];
    assert_int_equal(decide_apps(sig_only, 1, &c, app, sizeof app, reason, sizeof reason),
                     ASPS_E_DENIED);
    assert_string_equal(reason, "no app matches: app 'by_signer': isv_prod_id 2 differs from 1;");
}

/* N generated apps "a<i>", each its own mrenclave (SHA-256-like hex from
 * i), secret tls_key; into a malloc'd JSON text. */
static char *many_apps(size_t n, const char *extra_app)
{
    size_t cap = n * 160 + 512;
    char *json = malloc(cap);
    assert_non_null(json);
    size_t at = (size_t)snprintf(json, cap, "{\"version\":1,\"apps\":[");
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(json + at, cap - at,
                               "%s{\"name\":\"a%zu\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":"
                               "\"%064zx\"},\"secrets\":{\"tls_key\":\"r%zu\"}}",
                               i ? "," : "", i, i + 1, i);
    if (extra_app)
        at += (size_t)snprintf(json + at, cap - at, ",%s", extra_app);
    snprintf(json + at, cap - at, "]}");
    return json;
}

static void test_duplicate_names_refused_among_many_apps(void **state)
{
    (void)state;
    /* the first app in file order whose name was taken is named, with the
     * earlier app that has it (as a scan of earlier apps would say) */
    char *json = many_apps(3000,
                           "{\"name\":\"a1234\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A
                           "\"},\"secrets\":{}},{\"name\":\"a7\",\"match\":{\"tee\":\"sgx\","
                           "\"mrenclave\":\"" ENC_B "\"},\"secrets\":{}}");
    asps_policy *p = NULL;
    asps_errbuf eb;
    assert_int_equal(parse(json, &p, &eb), ASPS_E_PARSE);
    assert_null(p);
    assert_string_equal(eb.msg, "test.json: apps[3000].name: \"a1234\" is already the name of "
                                "apps[1234]");
    free(json);
}

static void test_many_apps_index_and_limit(void **state)
{
    (void)state;
    char *json = many_apps(ASPS_POLICY_MAX_APPS, NULL);
    asps_policy *p = must_parse(json);
    free(json);
    assert_int_equal(asps_policy_app_count(p), ASPS_POLICY_MAX_APPS);
    const char *names[] = {"tls_key"};
    size_t probe[] = {0, 1, 4095, 4096, 54321, ASPS_POLICY_MAX_APPS - 1};
    for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
        asps_claims c;
        char enc[65], want[32], ref[32];
        snprintf(enc, sizeof enc, "%064zx", probe[k] + 1);
        sgx_claims(&c, enc, SIG_A);
        asps_decision d;
        asps_errbuf eb;
        assert_int_equal(asps_policy_decide(p, &c, names, 1, &d, &eb), ASPS_OK);
        snprintf(want, sizeof want, "a%zu", probe[k]);
        snprintf(ref, sizeof ref, "r%zu", probe[k]);
        assert_string_equal(d.app, want);
        assert_string_equal(d.grants[0].kms_ref, ref);
        asps_decision_clear(&d);
    }
    /* no app names it: the reason lists apps in file order as far as it
     * holds, as when every app was tried */
    asps_claims c;
    sgx_claims(&c, ENC_A, SIG_A);
    asps_decision d;
    asps_errbuf eb;
    assert_int_equal(asps_policy_decide(p, &c, names, 1, &d, &eb), ASPS_E_DENIED);
    assert_int_equal(strlen(d.reason), sizeof d.reason - 1);
    const char *head = "no app matches: app 'a0': mrenclave differs; app 'a1': mrenclave "
                       "differs; app 'a2': mrenclave differs;";
    assert_memory_equal(d.reason, head, strlen(head));
    asps_decision_clear(&d);
    asps_policy_free(p);
    /* one more is over the limit */
    json = many_apps(ASPS_POLICY_MAX_APPS,
                     "{\"name\":\"x\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A
                     "\"},\"secrets\":{}}");
    p = NULL;
    assert_int_equal(parse(json, &p, &eb), ASPS_E_LIMIT);
    assert_null(p);
    assert_non_null(strstr(eb.msg, "apps: more than 100000 apps"));
    free(json);
}

static void test_denial_reason_lists_every_app_in_file_order(void **state)
{
    (void)state;
    asps_claims c;
    /* batch (ENC_B) is found by the index; web is not: both still listed */
    sgx_claims(&c, ENC_B, SIG_A);
    c.debug = 1;
    const char *names[] = {"tls_key"};
    asps_decision d;
    assert_int_equal(decide(web_policy(NULL), &c, names, 1, &d), ASPS_E_DENIED);
    assert_string_equal(d.reason, "no app matches: app 'web': debug enclave not allowed; "
                                  "app 'batch': debug enclave not allowed;");
    asps_decision_clear(&d);
    c.debug = 0;
    c.tee = ASPS_TEE_TDX;
    assert_int_equal(decide(web_policy(NULL), &c, names, 1, &d), ASPS_E_DENIED);
    assert_string_equal(d.reason, "no app matches: app 'web': TEE type differs; "
                                  "app 'batch': TEE type differs;");
    asps_decision_clear(&d);
}

/* Random policies over a few measurements (so apps share index keys and
 * keys of both SGX kinds overlap) and random claims: the app that decides
 * is the first, in file order, that a plain reading of the rules accepts
 * (mrenclave, mrsigner, isv_prod_id, min_isv_svn, debug, TEE). */
typedef struct ref_app {
    int tdx, enc, sig, prod, svn, debug; /* enc/sig: index into the lists, -1 absent */
} ref_app;

static void test_index_agrees_with_first_match_in_file_order(void **state)
{
    (void)state;
    static const char *const encs[] = {ENC_A, ENC_B, SIG_B};
    static const char *const sigs[] = {SIG_A, SIG_B};
    srand(17);
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)(rand() % 12);
        ref_app ra[12];
        char *apps[12];
        for (size_t i = 0; i < n; i++) {
            ref_app *a = &ra[i];
            memset(a, 0, sizeof *a);
            a->tdx = rand() % 6 == 0;
            a->enc = rand() % 4 - 1;         /* -1: no mrenclave */
            a->sig = rand() % 3 - 1;
            if (a->enc < 0 && a->sig < 0)
                a->sig = rand() % 2;
            a->prod = (a->enc < 0 || rand() % 2) ? 1 + rand() % 2 : 0; /* 0: absent */
            a->svn = rand() % 3;
            a->debug = rand() % 4 == 0;
            char match[512] = "", name[16];
            snprintf(name, sizeof name, "app%zu", i);
            if (a->tdx) {
                snprintf(match, sizeof match, "\"tee\":\"tdx\",\"mrtd\":\"" TD_A "\"");
            } else {
                size_t at = (size_t)snprintf(match, sizeof match, "\"tee\":\"sgx\"");
                if (a->enc >= 0)
                    at += (size_t)snprintf(match + at, sizeof match - at, ",\"mrenclave\":\"%s\"",
                                           encs[a->enc]);
                if (a->sig >= 0)
                    at += (size_t)snprintf(match + at, sizeof match - at, ",\"mrsigner\":\"%s\"",
                                           sigs[a->sig]);
                if (a->prod)
                    at += (size_t)snprintf(match + at, sizeof match - at, ",\"isv_prod_id\":%d",
                                           a->prod);
                snprintf(match + at, sizeof match - at, ",\"min_isv_svn\":%d", a->svn);
            }
            apps[i] = malloc(1024);
            assert_non_null(apps[i]);
            snprintf(apps[i], 1024, "{\"name\":\"%s\",\"allow_debug\":%s,\"match\":{%s},"
                     "\"secrets\":{\"tls_key\":\"%s\"}}", name, a->debug ? "true" : "false",
                     match, name);
        }
        for (int k = 0; k < 8; k++) {
            asps_claims c;
            int ce = rand() % 3, cs = rand() % 2, cp = 1 + rand() % 2, csvn = rand() % 3;
            int cdebug = rand() % 3 == 0, ctdx = rand() % 6 == 0;
            if (ctdx) {
                tdx_claims(&c);
            } else {
                sgx_claims(&c, encs[ce], sigs[cs]);
                c.sgx.isv_prod_id = (uint16_t)cp;
                c.sgx.isv_svn = (uint16_t)csvn;
            }
            c.debug = cdebug;
            const char *want = "";
            char wbuf[16];
            for (size_t i = 0; i < n; i++) {
                const ref_app *a = &ra[i];
                int ok = a->tdx == ctdx && (!cdebug || a->debug);
                if (ok && !ctdx)
                    ok = (a->enc < 0 || a->enc == ce) && (a->sig < 0 || a->sig == cs) &&
                         (!a->prod || a->prod == cp) && csvn >= a->svn;
                if (ok) {
                    snprintf(wbuf, sizeof wbuf, "app%zu", i);
                    want = wbuf;
                    break;
                }
            }
            char app[64];
            asps_err e = decide_apps((const char *const *)apps, n, &c, app, sizeof app, NULL, 0);
            if (strcmp(app, want) != 0)
                fail_msg("round %d claim %d: decided by '%s', the first match is '%s'", round, k,
                         app, want);
            assert_int_equal(e, *want ? ASPS_OK : ASPS_E_DENIED);
        }
        for (size_t i = 0; i < n; i++)
            free(apps[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_policy_loads_and_lists_apps),
        cmocka_unit_test(test_example_policy_file_loads_with_kms_path_beside_it),
        cmocka_unit_test(test_each_malformed_field_is_named_in_the_error),
        cmocka_unit_test(test_every_bad_case_is_fine_once_fixed),
        cmocka_unit_test(test_right_mrenclave_is_granted_with_kms_ref),
        cmocka_unit_test(test_granted_reason_is_the_printf_text),
        cmocka_unit_test(test_wrong_mrenclave_is_denied),
        cmocka_unit_test(test_wrong_mrsigner_with_right_mrenclave_is_denied),
        cmocka_unit_test(test_debug_enclave_denied_unless_allowed),
        cmocka_unit_test(test_isv_svn_below_minimum_is_denied),
        cmocka_unit_test(test_isv_prod_id_and_config_svn_are_checked),
        cmocka_unit_test(test_tcb_status_not_allowed_is_denied),
        cmocka_unit_test(test_refused_advisory_is_denied),
        cmocka_unit_test(test_simulated_claims_need_allow_simulated),
        cmocka_unit_test(test_tdx_matches_mrtd_and_rtmrs),
        cmocka_unit_test(test_name_not_granted_denies_the_whole_call),
        cmocka_unit_test(test_unknown_name_gets_the_same_answer_as_denied_name),
        cmocka_unit_test(test_first_matching_app_decides),
        cmocka_unit_test(test_no_names_and_too_many_names_are_not_granted),
        cmocka_unit_test(test_to_json_round_trips),
        cmocka_unit_test(test_cczoo_vault_example_loads_with_app_tokens),
        cmocka_unit_test(test_cczoo_no_kms_moves_values_to_kms_file),
        cmocka_unit_test(test_cczoo_ehsm_is_refused),
        cmocka_unit_test(test_cczoo_empty_or_short_mr_enclave_is_refused_naming_the_entry),
        cmocka_unit_test(test_occlum_example_loads_and_svn_is_a_minimum),
        cmocka_unit_test(test_occlum_configs_that_accept_anything_are_refused),
        cmocka_unit_test(test_seed_tcb_statuses_default_and_option),
        cmocka_unit_test(test_seed_tcb_statuses_list_is_checked),
        cmocka_unit_test(test_recovery_keys_are_parsed_strictly),
        cmocka_unit_test(test_recovery_keys_round_trip_and_show),
        cmocka_unit_test(test_min_tcb_evaluation_data_number),
        cmocka_unit_test(test_min_tcb_date),
        cmocka_unit_test(test_grace_days_boundaries),
        cmocka_unit_test(test_grace_applies_only_to_a_known_demotion),
        cmocka_unit_test(test_stale_collateral),
        cmocka_unit_test(test_rule_names_the_first_app_refused_by_one),
        cmocka_unit_test(test_first_match_in_file_order_across_index_keys),
        cmocka_unit_test(test_duplicate_names_refused_among_many_apps),
        cmocka_unit_test(test_many_apps_index_and_limit),
        cmocka_unit_test(test_denial_reason_lists_every_app_in_file_order),
        cmocka_unit_test(test_index_agrees_with_first_match_in_file_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
