/* test_tcb_gap.c: which TCB component is behind (claims.gap, issue 16),
 * pinned to Intel's real TCB infos and QE identities in
 * ../shared/vectors/real (read at test time; every expectation is taken
 * from the JSON there, not from asps), and the JSON and text forms of the
 * TCB recovery claims (forecast, demotion, gap, stale) on claims filled by
 * hand. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claims_json.h"
#include "dcap_parse.h"
#include "dcap_tcb.h"
#include "quote.h"
#include "testutil.h"
#include "util.h"

/* ---- the real vectors ---------------------------------------------------- */

typedef struct rvec {
    cJSON *bundle; /* collateral.json */
    const char *tcb_info, *qe_identity;
    cJSON *ti;     /* the TCB info body, parsed here with cJSON */
    asps_tcb_info tcb; /* ... and by asps */
} rvec;

static void load(rvec *r, const char *name)
{
    const char *real = tu_vectors_subdir("real");
    if (!real)
        tu_skip_vectors("real quotes (vectors/real)");
    char p[4200];
    snprintf(p, sizeof p, "%s/%s/collateral.json", real, name);
    char *b = (char *)tu_read_file(p, NULL);
    if (!b)
        fail_msg("cannot read %s", p);
    r->bundle = cJSON_Parse(b);
    free(b);
    assert_non_null(r->bundle);
    r->tcb_info = cJSON_GetObjectItem(r->bundle, "tcb_info")->valuestring;
    r->qe_identity = cJSON_GetObjectItem(r->bundle, "qe_identity")->valuestring;
    r->ti = cJSON_Parse(r->tcb_info);
    assert_non_null(r->ti);
    asps_errbuf eb;
    assert_int_equal(asps_dcap_parse_tcb_info(r->tcb_info, strlen(r->tcb_info), &r->tcb, &eb), ASPS_OK);
}

static void unload(rvec *r)
{
    asps_dcap_tcb_info_clear(&r->tcb);
    cJSON_Delete(r->ti);
    cJSON_Delete(r->bundle);
}

static const cJSON *level_json(const rvec *r, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(r->ti, "tcbLevels"), i);
}

static int comp_svn(const cJSON *level, const char *list, int i)
{
    const cJSON *arr = cJSON_GetObjectItem(cJSON_GetObjectItem(level, "tcb"), list);
    return cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), "svn")->valueint;
}

/* The PCK SVNs of a platform sitting exactly on listed level I (v3). */
static void platform_at(const rvec *r, int i, asps_pck_ext *x)
{
    memset(x, 0, sizeof *x);
    const cJSON *l = level_json(r, i);
    for (int c = 0; c < 16; c++)
        x->cpusvn_comp[c] = (uint8_t)comp_svn(l, "sgxtcbcomponents", c);
    x->pcesvn = (uint16_t)cJSON_GetObjectItem(cJSON_GetObjectItem(l, "tcb"), "pcesvn")->valueint;
}

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItem(o, k)->valuestring;
}

static int listed(const cJSON *arr, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) if (!strcmp(it->valuestring, id)) return 1;
    return 0;
}

/* GAP's platform part against listed levels M (matched) and N (next up),
 * every fact from the JSON. */
static void assert_gap(const rvec *r, const asps_tcb_gap *g, const asps_pck_ext *x, int n, int m)
{
    const cJSON *next = level_json(r, n), *matched = level_json(r, m);
    assert_true(g->present);
    asps_tcb_status st;
    assert_int_equal(asps_tcb_status_parse(str(next, "tcbStatus"), &st), 0);
    assert_int_equal(g->next_status, st);
    int64_t d;
    assert_int_equal(asps_time_parse(str(next, "tcbDate"), &d), 0);
    assert_int_equal(g->next_tcb_date, d);
    size_t k = 0;
    for (int c = 0; c < 16; c++) {
        int need = comp_svn(next, "sgxtcbcomponents", c);
        if (x->cpusvn_comp[c] >= need)
            continue;
        char want[32];
        snprintf(want, sizeof want, "sgxtcbcomponent %d", c);
        assert_true(k < g->n_shortfalls);
        assert_string_equal(g->shortfalls[k].component, want);
        assert_int_equal(g->shortfalls[k].have, x->cpusvn_comp[c]);
        assert_int_equal(g->shortfalls[k].need, need);
        k++;
    }
    assert_int_equal(g->n_shortfalls, k);
    assert_true(k > 0);
    const cJSON *nadv = cJSON_GetObjectItem(next, "advisoryIDs"), *it;
    size_t c = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(matched, "advisoryIDs"))
    {
        if (listed(nadv, it->valuestring))
            continue;
        assert_true(c < g->n_cleared);
        assert_string_equal(g->cleared_advisory_ids[c++], it->valuestring);
    }
    assert_int_equal(g->n_cleared, c);
}

static const asps_isvsvn_level qe_top = {.isvsvn = 0, .status = ASPS_TCB_UP_TO_DATE};

static asps_err status_at(const rvec *r, const asps_pck_ext *x, asps_claims *c)
{
    asps_quote q;
    asps_errbuf eb;
    memset(&q, 0, sizeof q);
    memset(c, 0, sizeof *c);
    q.tee_type = ASPS_TEE_SGX;
    return asps_dcap_tcb_status(&r->tcb, x, &q, NULL, &qe_top, c, &eb);
}

/* 00606A eval 19 (Intel's levels in pairs per tcbDate: sgxtcbcomponent 6 at
 * 1, then at 0 with a Configuration* status). A platform on the third pair's
 * "1" level (listed 4: OutOfDate, 2024-03-13) moves up to the second pair's
 * "1" level (listed 2), not to the "0" level listed just before it (3),
 * which raising SVNs never reaches. */
static void test_real_sgx_gap_next_level_up(void **state)
{
    (void)state;
    rvec r;
    load(&r, "sgx3-00606a-platform-eval19");
    asps_pck_ext x;
    asps_claims c;
    /* the facts this test relies on, from Intel's JSON */
    assert_int_equal(comp_svn(level_json(&r, 4), "sgxtcbcomponents", 6), 1);
    assert_int_equal(comp_svn(level_json(&r, 3), "sgxtcbcomponents", 6), 0);
    assert_int_equal(comp_svn(level_json(&r, 2), "sgxtcbcomponents", 6), 1);
    assert_string_not_equal(str(level_json(&r, 3), "tcbStatus"), str(level_json(&r, 2), "tcbStatus"));

    platform_at(&r, 4, &x);
    assert_int_equal(status_at(&r, &x, &c), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_OUT_OF_DATE);
    assert_gap(&r, &c.gap, &x, 2, 4);

    /* the configuration variant of the top date: one component short */
    platform_at(&r, 1, &x);
    assert_int_equal(status_at(&r, &x, &c), ASPS_OK);
    assert_gap(&r, &c.gap, &x, 0, 1);
    assert_int_equal(c.gap.n_shortfalls, 1);
    assert_string_equal(c.gap.shortfalls[0].component, "sgxtcbcomponent 6");

    /* PCE SVN short of the level above */
    platform_at(&r, 0, &x);
    x.pcesvn--;
    assert_int_equal(status_at(&r, &x, &c), ASPS_OK);
    int found = 0;
    for (size_t i = 0; i < c.gap.n_shortfalls; i++)
        if (!strcmp(c.gap.shortfalls[i].component, "pcesvn")) {
            found = 1;
            assert_int_equal(c.gap.shortfalls[i].have, x.pcesvn);
            assert_int_equal(c.gap.shortfalls[i].need, x.pcesvn + 1);
        }
    assert_true(found);

    /* the top level: nothing to move up to */
    platform_at(&r, 0, &x);
    assert_int_equal(status_at(&r, &x, &c), ASPS_OK);
    assert_false(c.gap.present);
    assert_int_equal(c.gap.n_shortfalls, 0);
    unload(&r);
}

/* Intel's names of each component index (TCB info v3 "category"/"type", the
 * first listed level that names it), SGX and TDX. */
static void check_names(const rvec *r, const char *list, const char *prefix, int tdx)
{
    asps_tcb_gap g;
    memset(&g, 0, sizeof g);
    g.present = 1;
    for (int i = 0; i < 16; i++) /* as asps_dcap_tcb_status names them */
        if (tdx)
            snprintf(g.shortfalls[g.n_shortfalls++].component, 64, "%s %d (TEE_TCB_SVN byte %d)",
                     prefix, i, i);
        else
            snprintf(g.shortfalls[g.n_shortfalls++].component, 64, "%s %d", prefix, i);
    asps_dcap_gap_names(&g, &r->tcb);
    int named = 0;
    for (int i = 0; i < 16; i++) {
        char want[128] = "";
        const cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItem(r->ti, "tcbLevels"))
        {
            const cJSON *comp = cJSON_GetArrayItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(l, "tcb"), list), i);
            const cJSON *cat = cJSON_GetObjectItem(comp, "category");
            const cJSON *type = cJSON_GetObjectItem(comp, "type");
            if (!cat && !type)
                continue;
            snprintf(want, sizeof want, "%s %d (%s%s%s)", prefix, i, cat ? cat->valuestring : "",
                     cat && type ? ": " : "", type ? type->valuestring : "");
            break;
        }
        if (!want[0] && tdx)
            snprintf(want, sizeof want, "%s %d (TEE_TCB_SVN byte %d)", prefix, i, i);
        if (!want[0])
            snprintf(want, sizeof want, "%s %d", prefix, i);
        else
            named++;
        assert_string_equal(g.shortfalls[i].component, want);
    }
    assert_true(named >= 3); /* these TCB infos name at least three */
}

static void test_real_component_names(void **state)
{
    (void)state;
    rvec r;
    load(&r, "sgx3-00606a-platform-eval19");
    check_names(&r, "sgxtcbcomponents", "sgxtcbcomponent", 0);
    unload(&r);
    load(&r, "tdx4-50806f-outofdate");
    check_names(&r, "sgxtcbcomponents", "sgxtcbcomponent", 0);
    check_names(&r, "tdxtcbcomponents", "tdxtcbcomponent", 1);
    unload(&r);
}

/* TCB info v2 names nothing: the components stay by index. */
static void test_v2_names_nothing(void **state)
{
    (void)state;
    rvec r;
    load(&r, "sgx3-00606a-platform-tcbinfo-v2-qe-outofdate");
    assert_int_equal(cJSON_GetObjectItem(r.ti, "version")->valueint, 2);
    asps_tcb_gap g;
    memset(&g, 0, sizeof g);
    g.n_shortfalls = 2;
    strcpy(g.shortfalls[0].component, "sgxtcbcomponent 1");
    strcpy(g.shortfalls[1].component, "pcesvn");
    asps_dcap_gap_names(&g, &r.tcb);
    assert_string_equal(g.shortfalls[0].component, "sgxtcbcomponent 1");
    assert_string_equal(g.shortfalls[1].component, "pcesvn");
    unload(&r);
}

/* The QE: its ISVSVN against the QE identity level above the one it meets
 * (Intel's QE identity, levels highest first); added once. */
static void test_real_qe_gap(void **state)
{
    (void)state;
    rvec r;
    load(&r, "sgx3-00606a-platform-tcbinfo-v2-qe-outofdate");
    asps_qe_identity qe;
    asps_errbuf eb;
    assert_int_equal(asps_dcap_parse_qe_identity(r.qe_identity, strlen(r.qe_identity), &qe, &eb), ASPS_OK);
    cJSON *qj = cJSON_Parse(r.qe_identity);
    const cJSON *levels = cJSON_GetObjectItem(qj, "tcbLevels");
    int top = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(levels, 0), "tcb"), "isvsvn")->valueint;
    const cJSON *second = cJSON_GetArrayItem(levels, 1);
    int below = cJSON_GetObjectItem(cJSON_GetObjectItem(second, "tcb"), "isvsvn")->valueint;
    assert_true(below < top);

    asps_tcb_gap g;
    memset(&g, 0, sizeof g);
    asps_dcap_qe_gap(&qe, (uint16_t)below, &g); /* the platform at its top: only the QE */
    assert_true(g.present);
    assert_int_equal(g.n_shortfalls, 1);
    assert_string_equal(g.shortfalls[0].component, "qe isvsvn");
    assert_int_equal(g.shortfalls[0].have, below);
    assert_int_equal(g.shortfalls[0].need, top);
    asps_tcb_status st;
    assert_int_equal(asps_tcb_status_parse(str(cJSON_GetArrayItem(levels, 0), "tcbStatus"), &st), 0);
    assert_int_equal(g.next_status, st);
    assert_int_equal(g.next_tcb_date, 0);
    asps_dcap_qe_gap(&qe, (uint16_t)below, &g); /* once */
    assert_int_equal(g.n_shortfalls, 1);
    /* between two levels: against the one above the level it meets */
    memset(&g, 0, sizeof g);
    asps_dcap_qe_gap(&qe, (uint16_t)(top - 1), &g);
    assert_int_equal(g.n_shortfalls, 1);
    assert_int_equal(g.shortfalls[0].need, top);
    /* at the top: nothing */
    memset(&g, 0, sizeof g);
    asps_dcap_qe_gap(&qe, (uint16_t)top, &g);
    assert_false(g.present);
    assert_int_equal(g.n_shortfalls, 0);
    cJSON_Delete(qj);
    asps_dcap_qe_identity_clear(&qe);
    unload(&r);
}

/* TDX (50806F, eval 17): with a module version, TEE_TCB_SVN bytes 0-1 are
 * the module's, judged against its identity (TDX_01), never as
 * tdxtcbcomponents; bytes from 2 against the next platform level. */
static void test_real_tdx_module_and_components(void **state)
{
    (void)state;
    rvec r;
    load(&r, "tdx4-50806f-outofdate");
    const asps_tdx_module_identity *mod = NULL;
    for (size_t i = 0; i < r.tcb.n_mod_ids; i++)
        if (!strcmp(r.tcb.mod_ids[i].id, "TDX_01"))
            mod = &r.tcb.mod_ids[i];
    assert_non_null(mod);
    assert_true(mod->n_levels >= 2);
    uint16_t mtop = mod->levels[0].isvsvn, mlow = mod->levels[1].isvsvn;
    assert_true(mlow < mtop);

    asps_quote q;
    asps_pck_ext x;
    asps_claims c;
    asps_errbuf eb;
    memset(&q, 0, sizeof q);
    q.tee_type = ASPS_TEE_TDX;
    platform_at(&r, 0, &x);
    const cJSON *l0 = level_json(&r, 0);
    for (int i = 0; i < 16; i++)
        q.tdx.tee_tcb_svn[i] = (uint8_t)comp_svn(l0, "tdxtcbcomponents", i);
    q.tdx.tee_tcb_svn[1] = 1;                 /* module version 1: TDX_01 */
    q.tdx.tee_tcb_svn[0] = (uint8_t)(mtop - 1); /* between its two levels */
    memset(&c, 0, sizeof c);
    assert_int_equal(asps_dcap_tcb_status(&r.tcb, &x, &q, mod, &qe_top, &c, &eb), ASPS_OK);
    assert_true(c.gap.present);
    assert_int_equal(c.gap.n_shortfalls, 1);
    assert_string_equal(c.gap.shortfalls[0].component, "tdx module isvsvn");
    assert_int_equal(c.gap.shortfalls[0].have, mtop - 1);
    assert_int_equal(c.gap.shortfalls[0].need, mtop);
    assert_int_equal(c.gap.next_tcb_date, 0); /* the platform level is the top */

    /* the module at its top, TEE_TCB_SVN byte 2 one short of level 0 */
    q.tdx.tee_tcb_svn[0] = (uint8_t)mtop;
    int need2 = comp_svn(l0, "tdxtcbcomponents", 2);
    assert_true(need2 > 0);
    q.tdx.tee_tcb_svn[2] = (uint8_t)(need2 - 1);
    memset(&c, 0, sizeof c);
    asps_err e = asps_dcap_tcb_status(&r.tcb, &x, &q, mod, &qe_top, &c, &eb);
    assert_int_equal(e, ASPS_OK);
    assert_true(c.gap.present);
    int saw = 0;
    for (size_t i = 0; i < c.gap.n_shortfalls; i++) {
        assert_null(strstr(c.gap.shortfalls[i].component, "tdxtcbcomponent 0"));
        assert_null(strstr(c.gap.shortfalls[i].component, "tdxtcbcomponent 1"));
        if (!strcmp(c.gap.shortfalls[i].component, "tdxtcbcomponent 2 (TEE_TCB_SVN byte 2)")) {
            saw = 1;
            assert_int_equal(c.gap.shortfalls[i].have, need2 - 1);
            assert_true(c.gap.shortfalls[i].need >= need2);
        }
    }
    assert_true(saw);
    asps_dcap_gap_names(&c.gap, &r.tcb);
    saw = 0;
    for (size_t i = 0; i < c.gap.n_shortfalls; i++)
        saw |= !strcmp(c.gap.shortfalls[i].component, "tdxtcbcomponent 2 (OS/VMM: TDX Late Microcode Update)");
    assert_true(saw); /* Intel's words for byte 2 in this TCB info */
    unload(&r);
}

/* ---- JSON and text, claims filled by hand ------------------------------- */

static void hand_claims(asps_claims *c)
{
    memset(c, 0, sizeof *c);
    c->tee = ASPS_TEE_SGX;
    c->tcb_status = ASPS_TCB_SW_HARDENING_NEEDED;
    c->tcb_info_evaluation_data_number = 17;
    c->forecast.present = 1;
    c->forecast.early = 1;
    c->forecast.evaluation_data_number = 19;
    c->forecast.matched = 1;
    c->forecast.tcb_status = ASPS_TCB_OUT_OF_DATE;
    c->forecast.worse = 1;
    c->forecast.effective_at = 1778630400; /* 2026-05-13T00:00:00Z */
    c->tcb_recovery_event_date = 1715558400; /* 2024-05-13T00:00:00Z */
    c->demoted_at = 1747094400;              /* 2025-05-13T00:00:00Z */
    c->gap.present = 1;
    c->gap.next_status = ASPS_TCB_UP_TO_DATE;
    c->gap.next_tcb_date = 1747180800; /* 2025-05-14 */
    c->gap.n_shortfalls = 2;
    strcpy(c->gap.shortfalls[0].component, "sgxtcbcomponent 2 (OS/VMM: TXT SINIT)");
    c->gap.shortfalls[0].have = 5;
    c->gap.shortfalls[0].need = 7;
    strcpy(c->gap.shortfalls[1].component, "pcesvn");
    c->gap.shortfalls[1].have = 11;
    c->gap.shortfalls[1].need = 13;
    c->gap.n_cleared = 1;
    strcpy(c->gap.cleared_advisory_ids[0], "INTEL-SA-01153");
    c->collateral_stale = 1;
    c->collateral_stale_seconds = 3600;
}

static void test_text_lines(void **state)
{
    (void)state;
    asps_claims c;
    char buf[2048];
    hand_claims(&c);
    assert_int_equal(asps_claims_tcb_text(&c, buf, sizeof buf), 0);
    assert_string_equal(
        buf, "forecast: OutOfDate under TCB evaluation data number 19, which becomes standard on "
             "2026-05-13\n"
             "demoted: 2025-05-13 (TCB recovery of 2024-05-13, standard set)\n"
             "behind: sgxtcbcomponent 2 (OS/VMM: TXT SINIT) 5 < 7; pcesvn 11 < 13; moving up to "
             "UpToDate (tcbDate 2025-05-14) clears INTEL-SA-01153\n"
             "collateral: stale, 3600 s past nextUpdate\n");

    /* early verdict, the standard set as forecast, not worse; a time of day kept */
    c.tcb_update_early = 1;
    c.forecast.early = 0;
    c.forecast.evaluation_data_number = 17;
    c.forecast.tcb_status = ASPS_TCB_SW_HARDENING_NEEDED;
    c.forecast.worse = 0;
    c.forecast.effective_at = 0;
    c.demoted_at = c.tcb_recovery_event_date + 3600;
    c.gap.present = 0;
    c.collateral_stale = 0;
    assert_int_equal(asps_claims_tcb_text(&c, buf, sizeof buf), 0);
    assert_string_equal(buf, "tcb update: early (TCB evaluation data number 17)\n"
                             "forecast: SWHardeningNeeded under TCB evaluation data number 17 (the "
                             "standard set), not worse\n"
                             "demoted: 2024-05-13T01:00:00Z (TCB recovery of 2024-05-13, early set)\n");

    /* no level matches under the other set; its date unknown (no list) */
    hand_claims(&c);
    c.forecast.matched = 0;
    c.forecast.effective_at = 0;
    c.demoted_at = c.tcb_recovery_event_date = 0;
    c.gap.present = 0;
    c.collateral_stale = 0;
    assert_int_equal(asps_claims_tcb_text(&c, buf, sizeof buf), 0);
    assert_string_equal(buf, "forecast: no TCB level matches under TCB evaluation data number 19 "
                             "(the early set; when it becomes standard is not known: no TCB "
                             "evaluation data numbers list held)\n");

    /* nothing to say */
    memset(&c, 0, sizeof c);
    assert_int_equal(asps_claims_tcb_text(&c, buf, sizeof buf), 0);
    assert_string_equal(buf, "");

    /* cut short: said, and still a string */
    hand_claims(&c);
    assert_int_equal(asps_claims_tcb_text(&c, buf, 40), -1);
    assert_int_equal(strlen(buf), 39);
}

static void test_json_fields(void **state)
{
    (void)state;
    asps_claims c;
    hand_claims(&c);
    cJSON *o = cJSON_CreateObject();
    assert_int_equal(asps_claims_to_json(&c, o), 0);
    assert_string_equal(str(o, "tcb_update"), "standard");
    assert_string_equal(str(o, "tcb_recovery_event_date"), "2024-05-13T00:00:00Z");
    assert_string_equal(str(o, "demoted_at"), "2025-05-13T00:00:00Z");
    const cJSON *f = cJSON_GetObjectItem(o, "forecast");
    assert_string_equal(str(f, "update"), "early");
    assert_int_equal(cJSON_GetObjectItem(f, "evaluation_data_number")->valueint, 19);
    assert_string_equal(str(f, "status"), "OutOfDate");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f, "worse")));
    assert_string_equal(str(f, "effective_at"), "2026-05-13T00:00:00Z");
    const cJSON *g = cJSON_GetObjectItem(o, "gap");
    assert_string_equal(str(g, "next_tcb_status"), "UpToDate");
    assert_string_equal(str(g, "next_tcb_date"), "2025-05-14T00:00:00Z");
    const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "behind"), 1);
    assert_string_equal(str(s, "component"), "pcesvn");
    assert_int_equal(cJSON_GetObjectItem(s, "have")->valueint, 11);
    assert_int_equal(cJSON_GetObjectItem(s, "need")->valueint, 13);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "behind")), 2);
    assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "behind"), 0), "component"),
                        "sgxtcbcomponent 2 (OS/VMM: TXT SINIT)");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(g, "cleared_advisory_ids"), 0)->valuestring,
                        "INTEL-SA-01153");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "collateral_stale")));
    assert_int_equal(cJSON_GetObjectItem(o, "collateral_stale_seconds")->valueint, 3600);
    cJSON_Delete(o);

    /* none of it: no forecast, gap or dates; not stale; the update set said */
    memset(&c, 0, sizeof c);
    c.tcb_update_early = 1;
    o = cJSON_CreateObject();
    assert_int_equal(asps_claims_to_json(&c, o), 0);
    assert_string_equal(str(o, "tcb_update"), "early");
    assert_null(cJSON_GetObjectItem(o, "forecast"));
    assert_null(cJSON_GetObjectItem(o, "gap"));
    assert_null(cJSON_GetObjectItem(o, "behind"));
    assert_null(cJSON_GetObjectItem(o, "demoted_at"));
    assert_null(cJSON_GetObjectItem(o, "tcb_recovery_event_date"));
    assert_null(cJSON_GetObjectItem(o, "collateral_stale_seconds"));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "collateral_stale")));
    cJSON_Delete(o);

    /* a forecast with no level matched names no status */
    hand_claims(&c);
    c.forecast.matched = 0;
    c.forecast.effective_at = 0;
    o = cJSON_CreateObject();
    assert_int_equal(asps_claims_to_json(&c, o), 0);
    f = cJSON_GetObjectItem(o, "forecast");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f, "status")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f, "effective_at")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f, "worse")));
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_sgx_gap_next_level_up),
        cmocka_unit_test(test_real_component_names),
        cmocka_unit_test(test_v2_names_nothing),
        cmocka_unit_test(test_real_qe_gap),
        cmocka_unit_test(test_real_tdx_module_and_components),
        cmocka_unit_test(test_text_lines),
        cmocka_unit_test(test_json_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
