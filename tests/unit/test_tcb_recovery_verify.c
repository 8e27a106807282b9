/* test_tcb_recovery_verify.c: TCB recovery in the verifier (issue 16):
 * the update=early TCB info and the TCB evaluation data numbers list in
 * collateral bundles, the verdict set, the forecast under the other set,
 * demotion dates, stale collateral within max_stale, collateral-only
 * verification and collateral info.
 *
 * Intel's answers come from ../shared/vectors/real: the same quote judged
 * with eval-17 and with eval-19 TCB info (README there, "TCB recovery");
 * the expected statuses are read from each case's case.json (Intel's QVL),
 * never written here. The bundles are made at test time: the eval-17 case's
 * collateral.json plus the eval-19 case's tcb_info and signature as
 * tcb_info_early. No real TCB evaluation data numbers list (with its
 * signature and issuer chain) is in ../shared, so the numbers list is
 * exercised on the simulated platform, whose TCB signing key we hold; its
 * format is Intel's PCS v4 tcbevaluationdatanumbers object (the field names
 * and dates of the published SGX list: number 19, tcbRecoveryEventDate
 * 2025-05-13, tcbDate 2025-05-14). */
#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/collateral.h"
#include "asps/verify.h"
#include "dcap_parse.h"
#include "sim.h"
#include "source.h"
#include "testutil.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------------------ */

typedef tu_real_case rcase; /* testutil.h */

static const char *meta_str(const rcase *r, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(r->meta, a);
    if (b)
        o = cJSON_GetObjectItemCaseSensitive(o, b);
    if (!cJSON_IsString(o))
        fail_msg("case.json has no string %s.%s", a, b ? b : "");
    return o->valuestring;
}

/* Intel's QVL status for the case (case.json qvl.tcb_status: the oracle's output) */
static asps_tcb_status qvl_status(const rcase *r)
{
    asps_tcb_status s;
    assert_int_equal(asps_tcb_status_parse(meta_str(r, "qvl", "tcb_status"), &s), 0);
    return s;
}

static char *json_field(const char *json, const char *field)
{
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    assert_true(cJSON_IsString(v));
    char *s = strdup(v->valuestring);
    cJSON_Delete(o);
    return s;
}

/* JSON with FIELD set to VALUE (a string), added when absent */
static char *json_set(const char *json, const char *field, const char *value)
{
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    cJSON_DeleteItemFromObjectCaseSensitive(o, field);
    cJSON_AddStringToObject(o, field, value);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The bundle BASE with EARLY's tcb_info (and signature) as tcb_info_early. */
static char *with_early(const char *base, const char *early_bundle)
{
    char *t = json_field(early_bundle, "tcb_info"), *sig = json_field(early_bundle, "tcb_info_signature");
    char *a = json_set(base, "tcb_info_early", t);
    char *b = json_set(a, "tcb_info_early_signature", sig);
    free(t);
    free(sig);
    free(a);
    return b;
}

static asps_err verify(const uint8_t *q, size_t qlen, const char *bundle, int64_t at, int early,
                       int64_t max_stale, asps_claims *c, asps_errbuf *eb)
{
    asps_verifier *v;
    asps_collateral *col;
    assert_int_equal(asps_verifier_new(&v, eb), ASPS_OK);
    asps_verifier_set_tcb_update(v, early);
    asps_verifier_set_max_stale(v, max_stale);
    asps_err e = asps_collateral_parse_bundle((const uint8_t *)bundle, strlen(bundle), &col, eb);
    if (e == ASPS_OK) {
        e = asps_verify_quote(v, q, qlen, col, at, c, eb);
        asps_collateral_free(col);
    }
    asps_verifier_free(v);
    return e;
}

/* unix time of an RFC 3339 "YYYY-MM-DDTHH:MM:SSZ", by libc */
static int64_t utc(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
        fail_msg("not a date: %s", s);
    return (int64_t)timegm(&tm);
}

/* T + 12 months by libc's normalisation (independent of the verifier's) */
static int64_t plus_year(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    int mday = tm.tm_mday;
    tm.tm_year += 1;
    int64_t r = (int64_t)timegm(&tm);
    if (tm.tm_mday != mday) /* Feb 29 -> Mar 1: Intel's month ends on Feb 28 */
        r -= 86400;
    return r;
}

/* The tcbDate of the level listed just above the one QVL matched (found
 * in the TCB info JSON by the matched level's tcbDate and advisory list),
 * or 0 when the matched level is listed first. */
static int64_t level_above_date(const char *tcb_info, const asps_claims *c)
{
    cJSON *o = cJSON_Parse(tcb_info);
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "tcbLevels"), *l;
    int64_t prev = 0, found = -1;
    cJSON_ArrayForEach(l, lv)
    {
        int64_t d = utc(cJSON_GetObjectItem(l, "tcbDate")->valuestring);
        const cJSON *adv = cJSON_GetObjectItem(l, "advisoryIDs");
        size_t n = adv ? (size_t)cJSON_GetArraySize(adv) : 0;
        int same = d == c->tcb_date && n == c->n_advisories &&
                   !strcmp(cJSON_GetObjectItem(l, "tcbStatus")->valuestring,
                           asps_tcb_status_name(c->tcb_status));
        for (size_t i = 0; same && i < n; i++)
            same = !strcmp(cJSON_GetArrayItem(adv, (int)i)->valuestring, c->advisory_ids[i]);
        if (same) {
            found = prev;
            break;
        }
        prev = d;
    }
    cJSON_Delete(o);
    if (found < 0)
        fail_msg("matched level not found in the TCB info");
    return found;
}

/* ---- the real pairs: Intel's two answers, one per update set ----------------- */

static void check_pair(const char *name17, const char *name19)
{
    rcase a, b;
    tu_real_case_load(&a, name17);
    tu_real_case_load(&b, name19);
    assert_int_equal(a.at, b.at); /* one instant, one QE identity, one pair of CRLs */
    asps_tcb_status s17 = qvl_status(&a), s19 = qvl_status(&b);
    assert_int_not_equal(s17, s19);
    char *bundle = with_early(a.col, b.col);
    asps_claims c;
    asps_errbuf eb = {{0}};

    /* standard (default): eval 17 decides; eval 19 is the forecast */
    asps_err e = verify(a.quote, a.quote_len, bundle, a.at, 0, 0, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s: %s", name17, eb.msg);
    assert_int_equal(c.tcb_status, s17);
    assert_int_equal(c.tcb_info_evaluation_data_number, 17);
    assert_false(c.tcb_update_early);
    assert_true(c.forecast.present);
    assert_true(c.forecast.early);
    assert_int_equal(c.forecast.evaluation_data_number, 19);
    assert_true(c.forecast.matched);
    assert_int_equal(c.forecast.tcb_status, s19);
    assert_true(c.forecast.worse);
    assert_int_equal(c.forecast.effective_at, 0); /* no numbers list held: date unknown */
    assert_false(c.collateral_stale);
    /* demotion: the level above the matched one, its tcbDate (no list), +12 months */
    char *t17 = json_field(a.col, "tcb_info");
    int64_t above = level_above_date(t17, &c);
    assert_int_equal(c.tcb_recovery_event_date, above);
    assert_int_equal(c.demoted_at, above ? plus_year(above) : 0);
    free(t17);

    /* early: eval 19 decides (Intel's answer with it); eval 17 is the forecast */
    e = verify(a.quote, a.quote_len, bundle, a.at, 1, 0, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s early: %s", name17, eb.msg);
    assert_int_equal(c.tcb_status, s19);
    assert_int_equal(c.tcb_info_evaluation_data_number, 19);
    assert_true(c.tcb_update_early);
    assert_true(c.forecast.present);
    assert_false(c.forecast.early);
    assert_int_equal(c.forecast.evaluation_data_number, 17);
    assert_int_equal(c.forecast.tcb_status, s17);
    assert_false(c.forecast.worse);
    assert_int_equal(c.forecast.effective_at, 0);
    /* QVL's advisory list under eval 19 */
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(b.meta, "qvl"), "advisory_ids");
    assert_int_equal(c.n_advisories, (size_t)cJSON_GetArraySize(want));
    for (size_t i = 0; i < c.n_advisories; i++)
        assert_string_equal(c.advisory_ids[i], cJSON_GetArrayItem(want, (int)i)->valuestring);
    char *t19 = json_field(b.col, "tcb_info");
    above = level_above_date(t19, &c);
    assert_int_equal(c.tcb_recovery_event_date, above);
    assert_int_equal(c.demoted_at, above); /* early set: from the event date */
    free(t19);

    /* without the early part: exactly as before (no forecast) */
    e = verify(a.quote, a.quote_len, a.col, a.at, 1, 0, &c, &eb);
    assert_int_equal(e, ASPS_OK);
    assert_int_equal(c.tcb_status, s17);
    assert_false(c.forecast.present);
    assert_false(c.tcb_update_early);
    free(bundle);
    tu_real_case_free(&a);
    tu_real_case_free(&b);
}

static void test_real_platform_pair_standard_and_early(void **state)
{
    (void)state;
    check_pair("sgx3-00606a-platform-eval17", "sgx3-00606a-platform-eval19");
}

static void test_real_processor_pair_standard_and_early(void **state)
{
    (void)state;
    check_pair("sgx3-00906ed5-processor-eval17", "sgx3-00906ed5-processor-eval19");
}

/* A tampered, foreign or older early TCB info is refused, never ignored. */
static void test_real_bad_early_tcb_info_refused(void **state)
{
    (void)state;
    rcase a, b, p;
    tu_real_case_load(&a, "sgx3-00606a-platform-eval17");
    tu_real_case_load(&b, "sgx3-00606a-platform-eval19");
    tu_real_case_load(&p, "sgx3-00906ed5-processor-eval19");
    asps_claims c;
    asps_errbuf eb = {{0}};
    char *bundle = with_early(a.col, b.col);
    /* one byte of the signed body changed */
    char *t = json_field(bundle, "tcb_info_early");
    char *pos = strstr(t, "\"tcbEvaluationDataNumber\":19");
    assert_non_null(pos);
    pos[strlen("\"tcbEvaluationDataNumber\":1")] = '8';
    char *bad = json_set(bundle, "tcb_info_early", t);
    for (int early = 0; early <= 1; early++) {
        asps_err e = verify(a.quote, a.quote_len, bad, a.at, early, 0, &c, &eb);
        assert_int_equal(e, ASPS_E_TCB_INFO_SIGNATURE);
        assert_non_null(strstr(eb.msg, "collateral: TCB info (update=early): signature"));
    }
    free(bad);
    free(t);
    /* its signature changed */
    char *sig = json_field(bundle, "tcb_info_early_signature");
    sig[10] = sig[10] == '0' ? '1' : '0';
    bad = json_set(bundle, "tcb_info_early_signature", sig);
    assert_int_equal(verify(a.quote, a.quote_len, bad, a.at, 0, 0, &c, &eb),
                     ASPS_E_TCB_INFO_SIGNATURE);
    free(bad);
    free(sig);
    /* another FMSPC's (validly signed) */
    bad = with_early(a.col, p.col);
    assert_int_equal(verify(a.quote, a.quote_len, bad, a.at, 0, 0, &c, &eb),
                     ASPS_E_TCB_INFO_MISMATCH);
    assert_non_null(strstr(eb.msg, "FMSPC"));
    free(bad);
    /* the early set behind the standard one: eval 19 standard, eval 17 early */
    bad = with_early(b.col, a.col);
    assert_int_equal(verify(a.quote, a.quote_len, bad, a.at, 0, 0, &c, &eb),
                     ASPS_E_TCB_INFO_MISMATCH);
    assert_non_null(strstr(eb.msg, "below"));
    free(bad);
    /* half a part: the body without its signature */
    char *body = json_field(bundle, "tcb_info_early");
    bad = json_set(a.col, "tcb_info_early", body);
    assert_int_equal(verify(a.quote, a.quote_len, bad, a.at, 0, 0, &c, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "tcb_info_early_signature"));
    free(bad);
    free(body);
    free(bundle);
    tu_real_case_free(&a);
    tu_real_case_free(&b);
    tu_real_case_free(&p);
}

/* Stale: at = the earliest nextUpdate (case.json window end) + 1 h is
 * refused with max_stale 0, accepted and marked with 2 h, refused at + 3 h. */
static void test_real_stale_within_max_stale(void **state)
{
    (void)state;
    rcase a, b;
    tu_real_case_load(&a, "sgx3-00606a-platform-eval17");
    tu_real_case_load(&b, "sgx3-00606a-platform-eval19");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(a.meta, "window");
    /* the window ends at the earliest nextUpdate: the PCK CRL's here */
    int64_t next = utc(cJSON_GetArrayItem(w, 1)->valuestring);
    assert_int_equal(next, utc(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a.meta,
                                                                                           "collateral"),
                                                                       "pck_crl"),
                                                   "next_update")
                                   ->valuestring));
    char *bundle = with_early(a.col, b.col);
    asps_claims c;
    asps_errbuf eb = {{0}};
    const char *bundles[2] = {a.col, bundle};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(verify(a.quote, a.quote_len, bundles[i], next, 0, 0, &c, &eb), ASPS_OK);
        assert_false(c.collateral_stale);
        assert_int_equal(verify(a.quote, a.quote_len, bundles[i], next + 3600, 0, 0, &c, &eb),
                         ASPS_E_CRL_EXPIRED);
        assert_non_null(strstr(eb.msg, "collateral: PCK CRL is not valid"));
        asps_err e = verify(a.quote, a.quote_len, bundles[i], next + 3600, 0, 7200, &c, &eb);
        if (e != ASPS_OK)
            fail_msg("%s", eb.msg);
        assert_true(c.collateral_stale);
        assert_int_equal(c.collateral_stale_seconds, 3600);
        assert_int_equal(c.tcb_status, qvl_status(&a));
        assert_int_equal(verify(a.quote, a.quote_len, bundles[i], next + 3 * 3600, 0, 7200, &c, &eb),
                         ASPS_E_CRL_EXPIRED);
        assert_non_null(strstr(eb.msg, "max_stale 7200 s"));
    }
    /* certificates never: the PCK certificate is valid for years, so take
     * the TCB info and QE identity past their nextUpdate with a big
     * max_stale, then a time past the TCB signing certificate's notAfter */
    int64_t tnext = utc(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a.meta, "collateral"),
                                                                "tcb_info"),
                                            "next_update")->valuestring);
    assert_int_equal(verify(a.quote, a.quote_len, a.col, tnext + 86400, 0, 40 * 86400, &c, &eb),
                     ASPS_OK);
    assert_true(c.collateral_stale);
    assert_int_equal(c.collateral_stale_seconds, tnext + 86400 - next); /* the PCK CRL: furthest past */
    free(bundle);
    tu_real_case_free(&a);
    tu_real_case_free(&b);
    /* a collateral certificate: the TCB signing certificate of 2018-2025
     * (notAfter 2025-05-21), a day later, with max_stale far beyond the
     * bodies' and CRLs' ages; the PCK certificate is still valid then */
    tu_real_case_load(&a, "sgx3-00906ed5-processor-2025-02");
    asps_err e = verify(a.quote, a.quote_len, a.col, utc("2025-05-22T00:00:00Z"), 0,
                        (int64_t)365 * 86400, &c, &eb);
    if (e != ASPS_E_CERT_EXPIRED || !strstr(eb.msg, "TCB info issuer chain"))
        fail_msg("past a certificate's notAfter: %s %s", asps_err_name(e), eb.msg);
    assert_int_equal(verify(a.quote, a.quote_len, a.col, utc("2025-05-20T00:00:00Z"), 0,
                            (int64_t)365 * 86400, &c, &eb), ASPS_OK);
    assert_true(c.collateral_stale);
    tu_real_case_free(&a);
}

/* Collateral alone: the real sets verify; any flip is refused with the
 * collateral prefix; the early part is checked too. */
static void test_real_verify_collateral_and_info(void **state)
{
    (void)state;
    rcase a, b;
    tu_real_case_load(&a, "sgx3-00606a-platform-eval17");
    tu_real_case_load(&b, "sgx3-00606a-platform-eval19");
    char *bundle = with_early(a.col, b.col);
    asps_verifier *v;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    asps_collateral *col;
    assert_int_equal(asps_collateral_parse_bundle((const uint8_t *)bundle, strlen(bundle), &col, &eb),
                     ASPS_OK);
    assert_int_equal(asps_verify_collateral(v, col, &eb), ASPS_OK);
    asps_verifier_set_cache(v, 0);
    assert_int_equal(asps_verify_collateral(v, col, &eb), ASPS_OK);

    /* info, against case.json's summary of each bundle */
    asps_collateral_info info;
    assert_int_equal(asps_collateral_info_get(col, &info, &eb), ASPS_OK);
    assert_false(info.is_tdx);
    assert_memory_equal(info.fmspc, "\x00\x60\x6a\x00\x00\x00", 6);
    assert_string_equal(info.pck_ca, "platform");
    assert_int_equal(info.tcb_info_version, 3);
    assert_int_equal(info.tcb_info_evaluation_data_number, 17);
    const cJSON *ca = cJSON_GetObjectItem(a.meta, "collateral"), *cb = cJSON_GetObjectItem(b.meta, "collateral");
#define D(o, part, key) utc(cJSON_GetObjectItem(cJSON_GetObjectItem(o, part), key)->valuestring)
    assert_int_equal(info.tcb_info_issue_date, D(ca, "tcb_info", "issue_date"));
    assert_int_equal(info.tcb_info_next_update, D(ca, "tcb_info", "next_update"));
    assert_true(info.has_early);
    assert_int_equal(info.early_evaluation_data_number, 19);
    assert_int_equal(info.early_issue_date, D(cb, "tcb_info", "issue_date"));
    assert_int_equal(info.early_next_update, D(cb, "tcb_info", "next_update"));
    assert_int_equal(info.qe_identity_evaluation_data_number, 17);
    assert_int_equal(info.qe_identity_next_update, D(ca, "qe_identity", "next_update"));
    assert_int_equal(info.pck_crl_this_update, D(ca, "pck_crl", "this_update"));
    assert_int_equal(info.pck_crl_next_update, D(ca, "pck_crl", "next_update"));
    assert_int_equal(info.root_ca_crl_next_update, D(ca, "root_ca_crl", "next_update"));
    assert_false(info.has_eval_numbers);
    assert_int_equal(info.next_update, D(ca, "pck_crl", "next_update"));
#undef D
    /* the bundle written back reads the same (digest covers the early part) */
    char *out;
    assert_int_equal(asps_collateral_to_bundle(col, &out, &eb), ASPS_OK);
    asps_collateral *col2;
    assert_int_equal(asps_collateral_parse_bundle((const uint8_t *)out, strlen(out), &col2, &eb),
                     ASPS_OK);
    uint8_t d1[32], d2[32], d0[32];
    asps_collateral_digest(col, d1);
    asps_collateral_digest(col2, d2);
    assert_memory_equal(d1, d2, 32);
    asps_collateral *plain;
    assert_int_equal(asps_collateral_parse_bundle((const uint8_t *)a.col, strlen(a.col), &plain, &eb),
                     ASPS_OK);
    asps_collateral_digest(plain, d0);
    assert_memory_not_equal(d0, d1, 32);
    asps_collateral_free(plain);
    asps_collateral_free(col2);
    free(out);
    asps_collateral_free(col);

    /* flips refused, as the quote path refuses them */
    const char *fields[] = {"tcb_info_early", "tcb_info", "qe_identity_signature"};
    for (size_t i = 0; i < 3; i++) {
        char *f = json_field(bundle, fields[i]);
        f[40] = f[40] == '0' ? '1' : '0';
        char *bad = json_set(bundle, fields[i], f);
        assert_int_equal(asps_collateral_parse_bundle((const uint8_t *)bad, strlen(bad), &col, &eb),
                         ASPS_OK);
        asps_err e = asps_verify_collateral(v, col, &eb);
        if (e == ASPS_OK)
            fail_msg("flipped %s verified", fields[i]);
        assert_int_equal(strncmp(eb.msg, ASPS_COLLATERAL_ERR_PREFIX, strlen(ASPS_COLLATERAL_ERR_PREFIX)), 0);
        asps_collateral_free(col);
        free(bad);
        free(f);
    }
    asps_verifier_free(v);
    free(bundle);
    tu_real_case_free(&a);
    tu_real_case_free(&b);
}

/* ---- the numbers list ---------------------------------------------------------- */

/* Intel's published SGX list (PCS v4, June 2025): its shape and dates. */
static const char *INTEL_SHAPE =
    "{\"id\":\"SGX\",\"version\":1,\"issueDate\":\"2025-06-02T02:43:30Z\",\"nextUpdate\":"
    "\"2025-07-02T02:43:30Z\",\"tcbEvalNumbers\":[{\"tcbEvaluationDataNumber\":19,"
    "\"tcbRecoveryEventDate\":\"2025-05-13T00:00:00Z\",\"tcbDate\":\"2025-05-14T00:00:00Z\"},"
    "{\"tcbEvaluationDataNumber\":18,\"tcbRecoveryEventDate\":\"2024-11-12T00:00:00Z\",\"tcbDate\":"
    "\"2024-11-13T00:00:00Z\"},{\"tcbEvaluationDataNumber\":17,\"tcbRecoveryEventDate\":"
    "\"2024-03-12T00:00:00Z\",\"tcbDate\":\"2024-03-13T00:00:00Z\"}]}";

static void test_eval_numbers_parse(void **state)
{
    (void)state;
    asps_tcb_eval_numbers l;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_dcap_parse_eval_numbers(INTEL_SHAPE, strlen(INTEL_SHAPE), &l, &eb), ASPS_OK);
    assert_false(l.is_tdx);
    assert_int_equal(l.version, 1);
    assert_int_equal(l.issue_date, 1748832210);
    assert_int_equal(l.next_update, 1751424210);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].number, 19);
    assert_int_equal(l.items[0].tcb_recovery_event_date, 1747094400);
    assert_int_equal(l.items[0].tcb_date, 1747180800);
    assert_int_equal(l.items[2].number, 17);
    assert_int_equal(l.items[2].tcb_recovery_event_date, 1710201600);
    assert_non_null(asps_dcap_eval_number_find(&l, 18));
    assert_null(asps_dcap_eval_number_find(&l, 16));
    /* 19 becomes standard 12 months after 2025-05-13 */
    assert_int_equal(asps_dcap_add_months(l.items[0].tcb_recovery_event_date, 12),
                     utc("2026-05-13T00:00:00Z"));
    assert_int_equal(asps_dcap_add_months(utc("2024-02-29T12:00:00Z"), 12), utc("2025-02-28T12:00:00Z"));
    assert_int_equal(asps_dcap_add_months(utc("2025-01-31T00:00:00Z"), 1), utc("2025-02-28T00:00:00Z"));
    assert_int_equal(asps_dcap_add_months(utc("2023-12-31T23:59:59Z"), 2), utc("2024-02-29T23:59:59Z"));
    for (int64_t t = utc("2019-01-01T00:00:00Z"); t < utc("2031-01-01T00:00:00Z"); t += 86400 * 7 + 3601)
        assert_int_equal(asps_dcap_add_months(t, 12), plus_year(t));

    /* each malformation refused with the field named */
    struct {
        const char *find, *repl, *want;
        asps_err code;
    } bad[] = {
        {"\"id\":\"SGX\"", "\"id\":\"SGY\"", "id", ASPS_E_PARSE},
        {"\"version\":1", "\"version\":2", "version", ASPS_E_UNSUPPORTED},
        {"\"issueDate\":\"2025-06-02T02:43:30Z\"", "\"issueDate\":\"yesterday\"", "issueDate", ASPS_E_PARSE},
        {"\"tcbEvaluationDataNumber\":18", "\"tcbEvaluationDataNumber\":19", "twice", ASPS_E_PARSE},
        {"\"tcbEvaluationDataNumber\":18", "\"tcbEvaluationDataNumber\":-1", "tcbEvaluationDataNumber", ASPS_E_PARSE},
        {"\"tcbEvaluationDataNumber\":18", "\"tcbEvaluationDataNumber\":\"18\"", "tcbEvaluationDataNumber", ASPS_E_PARSE},
        {"\"tcbRecoveryEventDate\":\"2024-11-12T00:00:00Z\",", "", "tcbRecoveryEventDate", ASPS_E_PARSE},
        {"\"tcbDate\":\"2025-05-14T00:00:00Z\"", "\"tcbDate\":null", "tcbDate", ASPS_E_PARSE},
        {"\"tcbEvalNumbers\":[", "\"tcbEvalNumbers\":[1,", "not an object", ASPS_E_PARSE},
        {"}]}", "}],}", "tcb_evaluation_data_numbers", ASPS_E_PARSE},
        /* dates out of range: none may wrap or print as a 5-digit or
         * negative year ("becomes standard on 10000-12-31T..." before) */
        {"\"tcbRecoveryEventDate\":\"2024-11-12T00:00:00Z\"", "\"tcbRecoveryEventDate\":\"9999-12-31T00:00:00Z\"",
         "before 9999-01-01", ASPS_E_PARSE},
        {"\"tcbRecoveryEventDate\":\"2024-11-12T00:00:00Z\"", "\"tcbRecoveryEventDate\":\"0000-01-01T00:00:00Z\"",
         "tcbRecoveryEventDate\" must be an RFC 3339 date, 1970 to 9999", ASPS_E_PARSE},
        {"\"tcbRecoveryEventDate\":\"2024-11-12T00:00:00Z\"", "\"tcbRecoveryEventDate\":\"1969-12-31T23:59:59Z\"",
         "tcbRecoveryEventDate", ASPS_E_PARSE},
        {"\"tcbRecoveryEventDate\":\"2024-11-12T00:00:00Z\"", "\"tcbRecoveryEventDate\":\"2025-02-29T00:00:00Z\"",
         "tcbRecoveryEventDate", ASPS_E_PARSE},
        {"\"tcbRecoveryEventDate\":\"2024-11-12T00:00:00Z\"", "\"tcbRecoveryEventDate\":\"1731369600\"",
         "tcbRecoveryEventDate", ASPS_E_PARSE},
        {"\"tcbDate\":\"2025-05-14T00:00:00Z\"", "\"tcbDate\":\"10000-01-01T00:00:00Z\"", "tcbDate", ASPS_E_PARSE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *at = strstr(INTEL_SHAPE, bad[i].find);
        assert_non_null(at);
        char buf[2048];
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - INTEL_SHAPE), INTEL_SHAPE, bad[i].repl,
                 at + strlen(bad[i].find));
        asps_err e = asps_dcap_parse_eval_numbers(buf, strlen(buf), &l, &eb);
        if (e != bad[i].code || !strstr(eb.msg, bad[i].want))
            fail_msg("case %zu: got %s \"%s\"", i, asps_err_name(e), eb.msg);
    }
    {
        const char *at = strstr(INTEL_SHAPE, "2024-11-12T00:00:00Z");
        char buf[2048];
        snprintf(buf, sizeof buf, "%.*s9998-12-31T23:59:59Z%s", (int)(at - INTEL_SHAPE), INTEL_SHAPE,
                 at + 20);
        assert_int_equal(asps_dcap_parse_eval_numbers(buf, strlen(buf), &l, &eb), ASPS_OK);
    }
    const char *empty = "{\"id\":\"TDX\",\"version\":1,\"issueDate\":\"2025-06-02T02:43:30Z\","
                        "\"nextUpdate\":\"2025-07-02T02:43:30Z\",\"tcbEvalNumbers\":[]}";
    assert_int_equal(asps_dcap_parse_eval_numbers(empty, strlen(empty), &l, &eb), ASPS_E_PARSE);
    /* 65 entries: over the bound */
    char *big = malloc(65 * 120 + 256);
    int n = sprintf(big, "{\"id\":\"SGX\",\"version\":1,\"issueDate\":\"2025-06-02T02:43:30Z\","
                         "\"nextUpdate\":\"2025-07-02T02:43:30Z\",\"tcbEvalNumbers\":[");
    for (int i = 0; i < 65; i++)
        n += sprintf(big + n, "%s{\"tcbEvaluationDataNumber\":%d,\"tcbRecoveryEventDate\":"
                              "\"2024-03-12T00:00:00Z\",\"tcbDate\":\"2024-03-13T00:00:00Z\"}",
                     i ? "," : "", i);
    sprintf(big + n, "]}");
    assert_int_equal(asps_dcap_parse_eval_numbers(big, strlen(big), &l, &eb), ASPS_E_LIMIT);
    free(big);
}

/* ---- the numbers list signed, on the simulated platform ------------------------ */

#define SIM_NOW 1780272000 /* 2026-06-01T00:00:00Z */

typedef struct simfix {
    char *dir;
    char sim[4200], other[4200];
    uint8_t *quote[3]; /* SGX UpToDate, SGX SWHardeningNeeded, TDX UpToDate */
    size_t quote_len[3];
    char *col;         /* collateral_sgx.json */
    char *col_tdx;     /* collateral_tdx.json */
    EVP_PKEY *tcb_key;
    char root[4200];
} simfix;

static EVP_PKEY *read_key(const char *dir, const char *name)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

static int sim_setup(void **state)
{
    simfix *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    snprintf(f->sim, sizeof f->sim, "%s/sim", f->dir);
    snprintf(f->other, sizeof f->other, "%s/other", f->dir);
    asps_errbuf eb;
    asps_sim_init_opts o = {.now = SIM_NOW, .collateral_days = 30, .revoke_pck_level = -1};
    if (asps_sim_init_ex(f->sim, &o, &eb) != ASPS_OK || asps_sim_init_ex(f->other, &o, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    asps_sim *s;
    assert_int_equal(asps_sim_open(f->sim, &s, &eb), ASPS_OK);
    asps_tcb_status lv[2] = {ASPS_TCB_UP_TO_DATE, ASPS_TCB_SW_HARDENING_NEEDED};
    for (int i = 0; i < 2; i++) {
        asps_sim_identity id;
        memset(&id, 0, sizeof id);
        id.tcb = lv[i];
        if (asps_sim_quote(s, &id, &f->quote[i], &f->quote_len[i], &eb) != ASPS_OK)
            fail_msg("%s", eb.msg);
    }
    asps_sim_identity td;
    memset(&td, 0, sizeof td);
    td.tee = ASPS_TEE_TDX;
    if (asps_sim_quote(s, &td, &f->quote[2], &f->quote_len[2], &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    char p[4300];
    asps_sim_collateral_path(s, ASPS_TEE_SGX, p, sizeof p);
    f->col = (char *)tu_read_file(p, NULL);
    asps_sim_collateral_path(s, ASPS_TEE_TDX, p, sizeof p);
    f->col_tdx = (char *)tu_read_file(p, NULL);
    /* the simulated platform's bundles carry its own numbers list; these
     * tests start from none and add the lists they sign */
    for (int k = 0; k < 2; k++) {
        char **b = k ? &f->col_tdx : &f->col;
        cJSON *o = cJSON_Parse(*b);
        assert_non_null(o);
        cJSON_DeleteItemFromObjectCaseSensitive(o, "tcb_evaluation_data_numbers");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "tcb_evaluation_data_numbers_signature");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "tcb_evaluation_data_numbers_issuer_chain");
        free(*b);
        *b = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    asps_sim_root_path(s, f->root, sizeof f->root);
    asps_sim_free(s);
    f->tcb_key = read_key(f->sim, "tcb_signing.key");
    *state = f;
    return 0;
}

static int sim_teardown(void **state)
{
    simfix *f = *state;
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f->quote[0]);
    free(f->quote[1]);
    free(f->quote[2]);
    free(f->col);
    free(f->col_tdx);
    EVP_PKEY_free(f->tcb_key);
    free(f);
    return 0;
}

/* ECDSA P-256 / SHA-256 over the exact bytes, as r||s hex (Intel's form) */
static void sign_hex(EVP_PKEY *k, const char *body, char out[129])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = 0;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(md, NULL, &n, (const uint8_t *)body, strlen(body)), 1);
    uint8_t *der = malloc(n);
    assert_int_equal(EVP_DigestSign(md, der, &n, (const uint8_t *)body, strlen(body)), 1);
    EVP_MD_CTX_free(md);
    const uint8_t *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    assert_non_null(sig);
    uint8_t rs[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32);
    ECDSA_SIG_free(sig);
    free(der);
    asps_hex_encode(rs, 64, out);
}

static char *iso(int64_t t)
{
    static char b[4][32];
    static int i;
    char *s = b[i++ % 4];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(s, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return s;
}

/* A numbers list in Intel's shape: ENTRIES of (number, event, tcbDate). */
static char *numbers_list(const char *id, int64_t issue, int64_t next, int n, const int64_t (*e)[3])
{
    char *s = malloc(4096);
    int k = sprintf(s, "{\"id\":\"%s\",\"version\":1,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
                       "\"tcbEvalNumbers\":[",
                    id, iso(issue), iso(next));
    for (int i = 0; i < n; i++) {
        k += sprintf(s + k, "%s{\"tcbEvaluationDataNumber\":%lld,\"tcbRecoveryEventDate\":\"%s\"",
                     i ? "," : "", (long long)e[i][0], iso(e[i][1]));
        k += sprintf(s + k, ",\"tcbDate\":\"%s\"}", iso(e[i][2]));
    }
    sprintf(s + k, "]}");
    return s;
}

/* The sim bundle with the numbers list LIST (signed by KEY, chain CHAIN or
 * the TCB info's) and, when EARLY_NUMBER, an update=early TCB info: the
 * sim's with that number and its top level OutOfDate, re-signed. */
static char *sim_bundle_on(const simfix *f, const char *base, const char *list, EVP_PKEY *key,
                           const char *chain, int early_number)
{
    char *b = strdup(base), *t;
    char sig[129];
    if (early_number) {
        char *ti = json_field(base, "tcb_info");
        char *n = strstr(ti, "\"tcbEvaluationDataNumber\":1,");
        assert_non_null(n);
        /* the first platform level (after a TDX TCB info's module identities) */
        char *u = strstr(strstr(ti, "\"sgxtcbcomponents\""), "\"tcbStatus\":\"UpToDate\"");
        assert_non_null(u);
        char *e = malloc(strlen(ti) + 32);
        sprintf(e, "%.*s\"tcbEvaluationDataNumber\":%d,%.*s\"tcbStatus\":\"OutOfDate\"%s",
                (int)(n - ti), ti, early_number,
                (int)(u - (n + strlen("\"tcbEvaluationDataNumber\":1,"))),
                n + strlen("\"tcbEvaluationDataNumber\":1,"), u + strlen("\"tcbStatus\":\"UpToDate\""));
        sign_hex(f->tcb_key, e, sig);
        t = json_set(b, "tcb_info_early", e);
        free(b);
        b = json_set(t, "tcb_info_early_signature", sig);
        free(t);
        free(e);
        free(ti);
    }
    if (list) {
        char *ch = chain ? strdup(chain) : json_field(f->col, "tcb_info_issuer_chain");
        sign_hex(key ? key : f->tcb_key, list, sig);
        t = json_set(b, "tcb_evaluation_data_numbers", list);
        free(b);
        b = json_set(t, "tcb_evaluation_data_numbers_signature", sig);
        free(t);
        t = json_set(b, "tcb_evaluation_data_numbers_issuer_chain", ch);
        free(b);
        b = t;
        free(ch);
    }
    return b;
}

static char *sim_bundle(const simfix *f, const char *list, EVP_PKEY *key, const char *chain,
                        int early_number)
{
    return sim_bundle_on(f, f->col, list, key, chain, early_number);
}

static asps_err sim_verify(const simfix *f, int level, const char *bundle, int64_t at, int early,
                           asps_claims *c, asps_errbuf *eb)
{
    asps_verifier *v;
    asps_collateral *col;
    assert_int_equal(asps_verifier_new(&v, eb), ASPS_OK);
    assert_int_equal(asps_verifier_add_root_file(v, f->root, eb), ASPS_OK);
    asps_verifier_set_tcb_update(v, early);
    asps_err e = asps_collateral_parse_bundle((const uint8_t *)bundle, strlen(bundle), &col, eb);
    if (e == ASPS_OK) {
        e = asps_verify_quote(v, f->quote[level], f->quote_len[level], col, at, c, eb);
        asps_collateral_free(col);
    }
    asps_verifier_free(v);
    return e;
}

static int64_t sim_tcb_date(const simfix *f, int level)
{
    char *ti = json_field(f->col, "tcb_info");
    cJSON *o = cJSON_Parse(ti);
    const cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "tcbLevels"), level);
    int64_t d = utc(cJSON_GetObjectItem(l, "tcbDate")->valuestring);
    cJSON_Delete(o);
    free(ti);
    return d;
}

/* Forecast date and the switch of the standard set: number 2's recovery
 * event a month ago (it becomes standard in 11 months), then 13 months ago
 * (standard by now: the standard verdict is made under it). */
static void test_sim_numbers_list_forecast_date_and_promotion(void **state)
{
    simfix *f = *state;
    asps_claims c;
    asps_errbuf eb = {{0}};
    int64_t issue = SIM_NOW - 86400, next = SIM_NOW + 20 * 86400;
    int64_t ev = asps_dcap_add_months(SIM_NOW, -1);
    int64_t e1[2][3] = {{2, ev, ev + 86400}, {1, SIM_NOW - 400 * 86400, SIM_NOW - 399 * 86400}};
    char *list = numbers_list("SGX", issue, next, 2, e1);
    char *b = sim_bundle(f, list, NULL, NULL, 2);
    asps_err e = sim_verify(f, 0, b, SIM_NOW, 0, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(c.tcb_status, ASPS_TCB_UP_TO_DATE);
    assert_int_equal(c.tcb_info_evaluation_data_number, 1);
    assert_true(c.forecast.present && c.forecast.early && c.forecast.matched && c.forecast.worse);
    assert_int_equal(c.forecast.tcb_status, ASPS_TCB_OUT_OF_DATE);
    assert_int_equal(c.forecast.evaluation_data_number, 2);
    assert_int_equal(c.forecast.effective_at, plus_year(ev));
    assert_int_equal(c.tcb_recovery_event_date, 0); /* top level: not demoted */
    assert_int_equal(c.demoted_at, 0);
    /* early verdict: OutOfDate now; the standard set's forecast has no date */
    assert_int_equal(sim_verify(f, 0, b, SIM_NOW, 1, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_OUT_OF_DATE);
    assert_true(c.tcb_update_early);
    assert_int_equal(c.forecast.effective_at, 0);
    assert_false(c.forecast.worse);
    free(b);
    free(list);

    /* the event a year and half a day ago: number 2 is standard by now */
    ev = asps_dcap_add_months(SIM_NOW - 43200, -12);
    int64_t e2[2][3] = {{2, ev, ev + 86400}, {1, SIM_NOW - 900 * 86400, SIM_NOW - 899 * 86400}};
    list = numbers_list("SGX", issue, next, 2, e2);
    b = sim_bundle(f, list, NULL, NULL, 2);
    assert_int_equal(sim_verify(f, 0, b, SIM_NOW, 0, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_OUT_OF_DATE);
    assert_int_equal(c.tcb_info_evaluation_data_number, 2);
    assert_false(c.tcb_update_early);
    assert_false(c.forecast.present);
    /* one second before its standard date the old set still decides */
    assert_int_equal(sim_verify(f, 0, b, plus_year(ev) - 1, 0, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_info_evaluation_data_number, 1);
    assert_int_equal(c.forecast.effective_at, plus_year(ev));
    free(b);
    free(list);
}

/* TDX: the forecast judges the quote's TDX module against the other set's
 * module identities, and its TEE TCB SVN against the other set's levels. */
static void test_sim_tdx_forecast(void **state)
{
    simfix *f = *state;
    asps_claims c;
    asps_errbuf eb = {{0}};
    int64_t ev = asps_dcap_add_months(SIM_NOW, -2);
    int64_t e1[1][3] = {{2, ev, ev + 86400}};
    char *list = numbers_list("TDX", SIM_NOW - 86400, SIM_NOW + 20 * 86400, 1, e1);
    char *b = sim_bundle_on(f, f->col_tdx, list, NULL, NULL, 2);
    asps_err e = sim_verify(f, 2, b, SIM_NOW, 0, &c, &eb);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(c.tee, ASPS_TEE_TDX);
    assert_int_equal(c.tcb_status, ASPS_TCB_UP_TO_DATE);
    assert_true(c.forecast.present && c.forecast.matched && c.forecast.worse);
    assert_int_equal(c.forecast.tcb_status, ASPS_TCB_OUT_OF_DATE);
    assert_int_equal(c.forecast.effective_at, plus_year(ev));
    assert_int_equal(sim_verify(f, 2, b, SIM_NOW, 1, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_OUT_OF_DATE);
    assert_int_equal(c.tcb_info_evaluation_data_number, 2);
    assert_int_equal(c.forecast.tcb_status, ASPS_TCB_UP_TO_DATE);
    free(b);
    /* an SGX list with a TDX TCB info is refused */
    free(list);
    list = numbers_list("SGX", SIM_NOW - 86400, SIM_NOW + 20 * 86400, 1, e1);
    b = sim_bundle_on(f, f->col_tdx, list, NULL, NULL, 0);
    assert_int_equal(sim_verify(f, 2, b, SIM_NOW, 0, &c, &eb), ASPS_E_TCB_INFO_MISMATCH);
    free(b);
    free(list);
}

/* The simulated SGX bundle with its top level's tcbDate moved DAYS later
 * and the TCB info signed again: the top level then comes from a later TCB
 * recovery than the levels below it. */
static char *sim_bundle_top_later(const simfix *f, int days, int64_t *top_date)
{
    char *ti = json_field(f->col, "tcb_info");
    char *p = strstr(strstr(ti, "\"tcbLevels\""), "\"tcbDate\":\"");
    assert_non_null(p);
    p += strlen("\"tcbDate\":\"");
    char old[32];
    snprintf(old, sizeof old, "%.20s", p);
    *top_date = utc(old) + (int64_t)days * 86400;
    time_t t = (time_t)*top_date;
    struct tm tm;
    gmtime_r(&t, &tm);
    char nd[32];
    strftime(nd, sizeof nd, "%Y-%m-%dT%H:%M:%SZ", &tm);
    assert_int_equal(strlen(nd), 20);
    memcpy(p, nd, 20);
    char sig[129];
    sign_hex(f->tcb_key, ti, sig);
    char *a = json_set(f->col, "tcb_info", ti);
    char *b = json_set(a, "tcb_info_signature", sig);
    free(a);
    free(ti);
    return b;
}

/* Demotion: the nearest level above the matched one with a later tcbDate
 * (none: not demoted by a TCB recovery), its tcbDate looked up in the list
 * (the entry with that tcbDate, else the oldest later one), else the
 * tcbDate itself. */
static void test_sim_demotion_dates(void **state)
{
    simfix *f = *state;
    asps_claims c;
    asps_errbuf eb = {{0}};
    int64_t issue = SIM_NOW - 86400, next = SIM_NOW + 20 * 86400;
    /* every simulated level has one tcbDate: SWHardeningNeeded below
     * UpToDate of the same date was not demoted by a recovery */
    assert_int_equal(sim_tcb_date(f, 0), sim_tcb_date(f, 1));
    assert_int_equal(sim_verify(f, 1, f->col, SIM_NOW, 0, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_SW_HARDENING_NEEDED);
    assert_int_equal(c.tcb_recovery_event_date, 0);
    assert_int_equal(c.demoted_at, 0);
    /* the top level from a recovery 30 days later: no list */
    int64_t d;
    char *base = sim_bundle_top_later(f, 30, &d);
    assert_int_equal(d, sim_tcb_date(f, 1) + 30 * 86400);
    assert_int_equal(sim_verify(f, 1, base, SIM_NOW, 0, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_SW_HARDENING_NEEDED);
    assert_int_equal(c.tcb_recovery_event_date, d);
    assert_int_equal(c.demoted_at, plus_year(d));
    /* the entry with that tcbDate */
    int64_t e1[3][3] = {{3, d + 50 * 86400, d + 51 * 86400}, {2, d - 3 * 86400, d}, {1, d - 90 * 86400, d - 89 * 86400}};
    char *list = numbers_list("SGX", issue, next, 3, e1);
    char *b = sim_bundle_on(f, base, list, NULL, NULL, 0);
    assert_int_equal(sim_verify(f, 1, b, SIM_NOW, 0, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_recovery_event_date, d - 3 * 86400);
    assert_int_equal(c.demoted_at, plus_year(d - 3 * 86400));
    assert_false(c.forecast.present); /* no early set held */
    free(b);
    free(list);
    /* none with it: the oldest later one */
    int64_t e2[3][3] = {{3, d + 50 * 86400, d + 51 * 86400}, {2, d + 5 * 86400, d + 6 * 86400}, {1, d - 90 * 86400, d - 89 * 86400}};
    list = numbers_list("SGX", issue, next, 3, e2);
    b = sim_bundle_on(f, base, list, NULL, NULL, 0);
    assert_int_equal(sim_verify(f, 1, b, SIM_NOW, 0, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_recovery_event_date, d + 5 * 86400);
    free(b);
    free(list);
    free(base);
}

/* A numbers list that is not Intel's (the TCB signing key's) is refused:
 * other key, other chain, tampered, another TEE; stale like the others. */
static void test_sim_numbers_list_refusals(void **state)
{
    simfix *f = *state;
    asps_claims c;
    asps_errbuf eb = {{0}};
    int64_t issue = SIM_NOW - 86400, next = SIM_NOW + 20 * 86400;
    int64_t e1[1][3] = {{1, SIM_NOW - 100 * 86400, SIM_NOW - 99 * 86400}};
    char *list = numbers_list("SGX", issue, next, 1, e1);
    /* good: the same chain text, and the chain given apart (another text) */
    char *b = sim_bundle(f, list, NULL, NULL, 0);
    assert_int_equal(sim_verify(f, 0, b, SIM_NOW, 0, &c, &eb), ASPS_OK);
    free(b);
    char *chain = json_field(f->col, "tcb_info_issuer_chain");
    char *chain2 = malloc(strlen(chain) + 2);
    sprintf(chain2, "\n%s", chain);
    b = sim_bundle(f, list, NULL, chain2, 0);
    if (sim_verify(f, 0, b, SIM_NOW, 0, &c, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    free(b);
    free(chain2);
    /* signed by another key (the PCK CA's), same chain */
    EVP_PKEY *k = read_key(f->sim, "pck_ca.key");
    b = sim_bundle(f, list, k, NULL, 0);
    assert_int_equal(sim_verify(f, 0, b, SIM_NOW, 0, &c, &eb), ASPS_E_TCB_INFO_SIGNATURE);
    assert_non_null(strstr(eb.msg, "collateral: TCB evaluation data numbers: signature"));
    free(b);
    EVP_PKEY_free(k);
    /* another platform's TCB signing chain and key: another root */
    k = read_key(f->other, "tcb_signing.key");
    char p[4300];
    snprintf(p, sizeof p, "%s/collateral_sgx.json", f->other);
    char *ocol = (char *)tu_read_file(p, NULL);
    char *ochain = json_field(ocol, "tcb_info_issuer_chain");
    b = sim_bundle(f, list, k, ochain, 0);
    asps_err e = sim_verify(f, 0, b, SIM_NOW, 0, &c, &eb);
    assert_int_equal(e, ASPS_E_ROOT_UNTRUSTED);
    assert_non_null(strstr(eb.msg, "TCB evaluation data numbers issuer chain"));
    free(b);
    free(ochain);
    free(ocol);
    EVP_PKEY_free(k);
    /* tampered after signing */
    b = sim_bundle(f, list, NULL, NULL, 0);
    char *body = json_field(b, "tcb_evaluation_data_numbers");
    char *v = strstr(body, "\"version\":1");
    v[strlen("\"version\":")] = '2';
    char *bad = json_set(b, "tcb_evaluation_data_numbers", body);
    assert_int_equal(sim_verify(f, 0, bad, SIM_NOW, 0, &c, &eb), ASPS_E_TCB_INFO_SIGNATURE);
    free(bad);
    free(body);
    /* half a part */
    cJSON *o = cJSON_Parse(b);
    cJSON_DeleteItemFromObject(o, "tcb_evaluation_data_numbers_issuer_chain");
    bad = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    assert_int_equal(sim_verify(f, 0, bad, SIM_NOW, 0, &c, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "tcb_evaluation_data_numbers_issuer_chain"));
    free(bad);
    free(b);
    /* validly signed, for TDX */
    char *tdx = numbers_list("TDX", issue, next, 1, e1);
    b = sim_bundle(f, tdx, NULL, NULL, 0);
    assert_int_equal(sim_verify(f, 0, b, SIM_NOW, 0, &c, &eb), ASPS_E_TCB_INFO_MISMATCH);
    free(b);
    free(tdx);
    /* validly signed, past its nextUpdate */
    char *old = numbers_list("SGX", SIM_NOW - 40 * 86400, SIM_NOW - 10 * 86400, 1, e1);
    b = sim_bundle(f, old, NULL, NULL, 0);
    assert_int_equal(sim_verify(f, 0, b, SIM_NOW, 0, &c, &eb), ASPS_E_TCB_INFO_EXPIRED);
    assert_non_null(strstr(eb.msg, "collateral: TCB evaluation data numbers is not valid"));
    free(b);
    free(old);
    /* info lists it */
    b = sim_bundle(f, list, NULL, NULL, 2);
    asps_collateral *col;
    assert_int_equal(asps_collateral_parse_bundle((const uint8_t *)b, strlen(b), &col, &eb), ASPS_OK);
    asps_collateral_info info;
    assert_int_equal(asps_collateral_info_get(col, &info, &eb), ASPS_OK);
    assert_true(info.has_eval_numbers && info.has_early);
    assert_int_equal(info.early_evaluation_data_number, 2);
    assert_int_equal(info.n_eval_numbers, 1);
    assert_int_equal(info.eval_numbers[0].number, 1);
    assert_int_equal(info.eval_numbers[0].tcb_recovery_event_date, e1[0][1]);
    assert_int_equal(info.eval_numbers_next_update, next);
    /* the list's nextUpdate (20 days) is before the others' (30 days): it
     * bounds the set, for info and for the source's expiry */
    assert_int_equal(info.next_update, next);
    asps_tee tee;
    uint8_t fmspc[6];
    int64_t expiry = 0;
    assert_int_equal(asps_collateral_expiry(col, &tee, fmspc, &expiry, &eb), ASPS_OK);
    assert_int_equal(expiry, next);
    asps_verifier *ver;
    assert_int_equal(asps_verifier_new(&ver, &eb), ASPS_OK);
    assert_int_equal(asps_verify_collateral(ver, col, &eb), ASPS_E_ROOT_UNTRUSTED); /* sim root not added */
    assert_int_equal(asps_verifier_add_root_file(ver, f->root, &eb), ASPS_OK);
    assert_int_equal(asps_verify_collateral(ver, col, &eb), ASPS_OK);
    asps_verifier_free(ver);
    asps_collateral_free(col);
    free(b);
    free(chain);
    free(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_platform_pair_standard_and_early),
        cmocka_unit_test(test_real_processor_pair_standard_and_early),
        cmocka_unit_test(test_real_bad_early_tcb_info_refused),
        cmocka_unit_test(test_real_stale_within_max_stale),
        cmocka_unit_test(test_real_verify_collateral_and_info),
        cmocka_unit_test(test_eval_numbers_parse),
        cmocka_unit_test_setup_teardown(test_sim_numbers_list_forecast_date_and_promotion, sim_setup,
                                        sim_teardown),
        cmocka_unit_test_setup_teardown(test_sim_demotion_dates, sim_setup, sim_teardown),
        cmocka_unit_test_setup_teardown(test_sim_tdx_forecast, sim_setup, sim_teardown),
        cmocka_unit_test_setup_teardown(test_sim_numbers_list_refusals, sim_setup, sim_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
