/* claims_json.c: see claims_json.h. */
#include "claims_json.h"

#include <stdio.h>
#include <stdlib.h>

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
    if (c->ratls_format[0])
        bad |= !cJSON_AddStringToObject(o, "ratls_format", c->ratls_format);
    bad |= asps_claims_measurements_to_json(c, o);
    return bad ? -1 : 0;
}
