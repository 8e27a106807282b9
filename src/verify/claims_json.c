/* claims_json.c: see claims_json.h. */
#include "claims_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int asps_json_add_hex(cJSON *obj, const char *name, const uint8_t *b, size_t n)
{
    char buf[2 * 128 + 1];
    if (n > 128)
        return -1;
    asps_hex_encode(b, n, buf);
    return cJSON_AddStringToObject(obj, name, buf) ? 0 : -1;
}

int asps_claims_measurements_to_json(const asps_claims *c, cJSON *o)
{
    int bad = 0;
    if (c->tee == ASPS_TEE_SGX) {
        const asps_claims_sgx *s = &c->sgx;
        bad |= asps_json_add_hex(o, "mrenclave", s->mr_enclave, 32);
        bad |= asps_json_add_hex(o, "mrsigner", s->mr_signer, 32);
        bad |= !cJSON_AddNumberToObject(o, "isv_prod_id", s->isv_prod_id);
        bad |= !cJSON_AddNumberToObject(o, "isv_svn", s->isv_svn);
        bad |= !cJSON_AddNumberToObject(o, "config_svn", s->config_svn);
        bad |= asps_json_add_hex(o, "attributes", s->attributes, 16);
        bad |= !cJSON_AddNumberToObject(o, "misc_select", s->misc_select);
        bad |= asps_json_add_hex(o, "config_id", s->config_id, 64);
        bad |= asps_json_add_hex(o, "isv_ext_prod_id", s->isv_ext_prod_id, 16);
        bad |= asps_json_add_hex(o, "isv_family_id", s->isv_family_id, 16);
        bad |= asps_json_add_hex(o, "cpu_svn", s->cpu_svn, 16);
        bad |= asps_json_add_hex(o, "report_data", s->report_data, 64);
    } else {
        const asps_claims_tdx *t = &c->tdx;
        bad |= asps_json_add_hex(o, "mrtd", t->mr_td, 48);
        char name[8];
        for (int i = 0; i < 4; i++) {
            snprintf(name, sizeof name, "rtmr%d", i);
            bad |= asps_json_add_hex(o, name, t->rtmr[i], 48);
        }
        bad |= asps_json_add_hex(o, "mrconfigid", t->mr_config_id, 48);
        bad |= asps_json_add_hex(o, "mrowner", t->mr_owner, 48);
        bad |= asps_json_add_hex(o, "mrownerconfig", t->mr_owner_config, 48);
        bad |= asps_json_add_hex(o, "td_attributes", t->td_attributes, 8);
        bad |= asps_json_add_hex(o, "xfam", t->xfam, 8);
        bad |= asps_json_add_hex(o, "mrseam", t->mr_seam, 48);
        bad |= asps_json_add_hex(o, "mrsignerseam", t->mr_signer_seam, 48);
        bad |= asps_json_add_hex(o, "seam_attributes", t->seam_attributes, 8);
        bad |= asps_json_add_hex(o, "tee_tcb_svn", t->tee_tcb_svn, 16);
        bad |= asps_json_add_hex(o, "report_data", t->report_data, 64);
        if (t->has_v15) { /* TD report 1.5 */
            bad |= asps_json_add_hex(o, "tee_tcb_svn2", t->tee_tcb_svn2, 16);
            bad |= asps_json_add_hex(o, "mrservicetd", t->mr_servicetd, 48);
        }
    }
    return bad ? -1 : 0;
}

static int add_ids(cJSON *o, const char *name, const char (*ids)[ASPS_ADVISORY_LEN], size_t n)
{
    cJSON *arr = cJSON_AddArrayToObject(o, name);
    if (!arr)
        return -1;
    for (size_t i = 0; i < n && i < ASPS_MAX_ADVISORIES; i++) {
        char id[ASPS_ADVISORY_LEN];
        snprintf(id, sizeof id, "%.*s", ASPS_ADVISORY_LEN - 1, ids[i]);
        cJSON *s = cJSON_CreateString(id);
        if (!s)
            return -1;
        cJSON_AddItemToArray(arr, s);
    }
    return 0;
}

/* An RFC 3339 time; nothing when unset (0). */
static int add_time(cJSON *o, const char *name, int64_t t)
{
    if (t == 0)
        return 0;
    char buf[32];
    asps_time_format(t, buf);
    return cJSON_AddStringToObject(o, name, buf) ? 0 : -1;
}

/* forecast, gap (TCB recovery, README "TCB recovery"): the keys and
 * shapes of the audit line's (audit.c), plus what only quote verify says */
static int add_date_or_null(cJSON *o, const char *name, int64_t t)
{
    if (t == 0)
        return cJSON_AddNullToObject(o, name) ? 0 : -1;
    return add_time(o, name, t);
}

static int add_forecast(cJSON *o, const asps_tcb_forecast *f)
{
    cJSON *x = cJSON_AddObjectToObject(o, "forecast");
    int bad = !x;
    if (bad)
        return -1;
    bad |= !cJSON_AddStringToObject(x, "update", f->early ? "early" : "standard");
    /* null: no TCB level of that set matches the platform at all */
    bad |= f->matched ? !cJSON_AddStringToObject(x, "status", asps_tcb_status_name(f->tcb_status))
                      : !cJSON_AddNullToObject(x, "status");
    bad |= !cJSON_AddNumberToObject(x, "evaluation_data_number", f->evaluation_data_number);
    bad |= add_date_or_null(x, "effective_at", f->effective_at);
    bad |= !cJSON_AddBoolToObject(x, "worse", f->worse);
    return bad ? -1 : 0;
}

static int add_gap(cJSON *o, const asps_tcb_gap *g)
{
    int bad = 0;
    if (g->n_shortfalls) {
        cJSON *arr = cJSON_AddArrayToObject(o, "behind");
        bad |= !arr;
        for (size_t i = 0; arr && i < g->n_shortfalls && i < ASPS_MAX_SHORTFALLS; i++) {
            const asps_tcb_shortfall *s = &g->shortfalls[i];
            cJSON *e = cJSON_CreateObject();
            if (!e)
                return -1;
            cJSON_AddItemToArray(arr, e);
            char name[sizeof s->component];
            snprintf(name, sizeof name, "%.*s", (int)sizeof name - 1, s->component);
            bad |= !cJSON_AddStringToObject(e, "component", name);
            bad |= !cJSON_AddNumberToObject(e, "have", s->have);
            bad |= !cJSON_AddNumberToObject(e, "need", s->need);
        }
    }
    cJSON *x = cJSON_AddObjectToObject(o, "gap");
    if (!x)
        return -1;
    bad |= !cJSON_AddStringToObject(x, "next_tcb_status", asps_tcb_status_name(g->next_status));
    bad |= add_date_or_null(x, "next_tcb_date", g->next_tcb_date);
    bad |= add_ids(x, "cleared_advisory_ids", g->cleared_advisory_ids, g->n_cleared);
    return bad ? -1 : 0;
}

int asps_claims_to_json(const asps_claims *c, cJSON *o)
{
    int bad = 0;
    bad |= !cJSON_AddStringToObject(o, "tee", c->tee == ASPS_TEE_TDX ? "tdx" : "sgx");
    bad |= !cJSON_AddNumberToObject(o, "quote_version", c->quote_version);
    bad |= !cJSON_AddStringToObject(o, "tcb_status", asps_tcb_status_name(c->tcb_status));
    bad |= add_ids(o, "advisory_ids", c->advisory_ids, c->n_advisories);
    bad |= add_ids(o, "qe_advisory_ids", c->qe_advisory_ids, c->n_qe_advisories);
    if (c->tee == ASPS_TEE_TDX)
        bad |= add_ids(o, "tdx_module_advisory_ids", c->tdx_module_advisory_ids,
                       c->n_tdx_module_advisories);
    bad |= !cJSON_AddNumberToObject(o, "tcb_info_evaluation_data_number",
                                    c->tcb_info_evaluation_data_number);
    bad |= !cJSON_AddNumberToObject(o, "qe_identity_evaluation_data_number",
                                    c->qe_identity_evaluation_data_number);
    bad |= add_time(o, "tcb_date", c->tcb_date);
    bad |= add_time(o, "qe_tcb_date", c->qe_tcb_date);
    bad |= !cJSON_AddBoolToObject(o, "simulated", c->simulated);
    bad |= !cJSON_AddBoolToObject(o, "debug", c->debug);
    bad |= asps_json_add_hex(o, "fmspc", c->fmspc, 6);
    if (c->expires_at > 0 && c->expires_at < INT64_MAX) {
        char t[32];
        asps_time_format(c->expires_at, t);
        bad |= !cJSON_AddStringToObject(o, "expires_at", t);
    }
    bad |= !cJSON_AddStringToObject(o, "tcb_update", c->tcb_update_early ? "early" : "standard");
    bad |= add_time(o, "tcb_recovery_event_date", c->tcb_recovery_event_date);
    bad |= add_time(o, "demoted_at", c->demoted_at);
    if (c->forecast.present)
        bad |= add_forecast(o, &c->forecast);
    if (c->gap.present)
        bad |= add_gap(o, &c->gap);
    bad |= !cJSON_AddBoolToObject(o, "collateral_stale", c->collateral_stale);
    if (c->collateral_stale)
        bad |= !cJSON_AddNumberToObject(o, "collateral_stale_seconds",
                                        (double)c->collateral_stale_seconds);
    if (c->ratls_format[0])
        bad |= !cJSON_AddStringToObject(o, "ratls_format", c->ratls_format);
    bad |= asps_claims_measurements_to_json(c, o);
    return bad ? -1 : 0;
}

/* ---- text lines ---------------------------------------------------------- */

typedef struct text_out {
    char *buf;
    size_t size, len;
    int truncated;
} text_out;

static void put(text_out *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->len < t->size ? t->size - t->len : 0;
    int n = vsnprintf(room ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        t->truncated = 1;
        t->len = t->size ? t->size - 1 : 0;
    } else {
        t->len += (size_t)n;
    }
}

/* A date: "2026-05-13" at UTC midnight, else RFC 3339. */
static void day(int64_t t, char out[32])
{
    asps_time_format(t, out);
    if (!strcmp(out + 10, "T00:00:00Z"))
        out[10] = 0;
}

int asps_claims_tcb_text(const asps_claims *c, char *buf, size_t size)
{
    text_out t = {buf, size, 0, 0};
    char d1[32], d2[32];
    if (size)
        buf[0] = 0;
    if (c->tcb_update_early)
        put(&t, "tcb update: early (TCB evaluation data number %u)\n",
            c->tcb_info_evaluation_data_number);
    const asps_tcb_forecast *f = &c->forecast;
    if (f->present) {
        const char *set = f->early ? "early" : "standard";
        if (f->matched)
            put(&t, "forecast: %s under TCB evaluation data number %u",
                asps_tcb_status_name(f->tcb_status), f->evaluation_data_number);
        else
            put(&t, "forecast: no TCB level matches under TCB evaluation data number %u",
                f->evaluation_data_number);
        if (!f->worse) {
            put(&t, " (the %s set), not worse\n", set);
        } else if (f->effective_at) {
            day(f->effective_at, d1);
            put(&t, ", which becomes standard on %s\n", d1);
        } else if (f->early) {
            put(&t, " (the early set; when it becomes standard is not known: no TCB "
                    "evaluation data numbers list held)\n");
        } else {
            put(&t, " (the standard set)\n");
        }
    }
    if (c->demoted_at) {
        day(c->demoted_at, d1);
        day(c->tcb_recovery_event_date, d2);
        put(&t, "demoted: %s (TCB recovery of %s, %s set)\n", d1, d2,
            c->tcb_update_early ? "early" : "standard");
    }
    const asps_tcb_gap *g = &c->gap;
    if (g->present) {
        put(&t, "behind:");
        for (size_t i = 0; i < g->n_shortfalls && i < ASPS_MAX_SHORTFALLS; i++)
            put(&t, "%s %.*s %u < %u", i ? ";" : "", (int)sizeof g->shortfalls[i].component,
                g->shortfalls[i].component, g->shortfalls[i].have, g->shortfalls[i].need);
        put(&t, "%s moving up to %s", g->n_shortfalls ? ";" : "",
            asps_tcb_status_name(g->next_status));
        if (g->next_tcb_date) {
            day(g->next_tcb_date, d1);
            put(&t, " (tcbDate %s)", d1);
        }
        for (size_t i = 0; i < g->n_cleared && i < ASPS_MAX_ADVISORIES; i++)
            put(&t, "%s%.*s", i ? ", " : " clears ", ASPS_ADVISORY_LEN,
                g->cleared_advisory_ids[i]);
        put(&t, "\n");
    }
    if (c->collateral_stale)
        put(&t, "collateral: stale, %lld s past nextUpdate\n",
            (long long)c->collateral_stale_seconds);
    return t.truncated ? -1 : 0;
}
