/* dcap_json.c: parse Intel's TCB info (v2, v3; SGX and TDX) and enclave
 * identity (v2) JSON into models. Input is untrusted even after its
 * signature verified: every field is type- and size-checked, unknown TCB
 * statuses are refused (QVL: "unrecognized status"). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcap_parse.h"
#include "json.h"
#include "util.h"

#define MAX_LEVELS 256

static const cJSON *field(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static asps_err get_hex(const cJSON *o, const char *what, const char *name, uint8_t *out,
                        size_t n, asps_errbuf *eb)
{
    const cJSON *v = field(o, name);
    if (!cJSON_IsString(v) || asps_hex_decode(v->valuestring, strlen(v->valuestring), out, n) != 0)
        return asps_fail(eb, ASPS_E_PARSE, "%s: \"%s\" must be %zu hex characters", what, name,
                         2 * n);
    return ASPS_OK;
}

static asps_err get_uint(const cJSON *o, const char *what, const char *name, double max,
                         uint32_t *out, asps_errbuf *eb)
{
    const cJSON *v = field(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max ||
        v->valuedouble != (double)(uint32_t)v->valuedouble)
        return asps_fail(eb, ASPS_E_PARSE, "%s: \"%s\" must be an integer 0..%.0f", what, name, max);
    *out = (uint32_t)v->valuedouble;
    return ASPS_OK;
}

/* 9999-12-31T23:59:59Z */
#define ASPS_DCAP_TIME_MAX INT64_C(253402300799)

static asps_err get_time(const cJSON *o, const char *what, const char *name, int64_t *out,
                         asps_errbuf *eb)
{
    const cJSON *v = field(o, name);
    /* RFC 3339 (not unix seconds), 1970..9999 UTC: a date asps can write
     * back as RFC 3339 and compare without wrapping */
    if (!cJSON_IsString(v) || v->valuestring[strspn(v->valuestring, "0123456789")] == 0 ||
        asps_time_parse(v->valuestring, out) != 0 || *out < 0 || *out > ASPS_DCAP_TIME_MAX)
        return asps_fail(eb, ASPS_E_PARSE, "%s: \"%s\" must be an RFC 3339 date, 1970 to 9999",
                         what, name);
    return ASPS_OK;
}

static asps_err get_status(const cJSON *o, const char *what, int module_only,
                           asps_tcb_status *out, asps_errbuf *eb)
{
    const cJSON *v = field(o, "tcbStatus");
    if (!cJSON_IsString(v) || asps_tcb_status_parse(v->valuestring, out) != 0)
        return asps_fail(eb, ASPS_E_PARSE, "%s: unrecognized tcbStatus", what);
    if (module_only && *out != ASPS_TCB_UP_TO_DATE && *out != ASPS_TCB_OUT_OF_DATE &&
        *out != ASPS_TCB_REVOKED)
        return asps_fail(eb, ASPS_E_PARSE, "%s: tcbStatus %s not valid here", what, v->valuestring);
    return ASPS_OK;
}

static asps_err get_advisories(const cJSON *o, const char *what, asps_advisories *a,
                               asps_errbuf *eb)
{
    memset(a, 0, sizeof *a);
    const cJSON *arr = field(o, "advisoryIDs");
    if (arr == NULL)
        return ASPS_OK; /* optional */
    if (!cJSON_IsArray(arr))
        return asps_fail(eb, ASPS_E_PARSE, "%s: advisoryIDs must be an array", what);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) == 0 ||
            strlen(it->valuestring) >= ASPS_ADVISORY_LEN)
            return asps_fail(eb, ASPS_E_PARSE, "%s: advisory ID malformed", what);
        if (a->n == ASPS_MAX_ADVISORIES)
            return asps_fail(eb, ASPS_E_LIMIT, "%s: more than %d advisory IDs", what,
                             ASPS_MAX_ADVISORIES);
        strcpy(a->id[a->n++], it->valuestring);
    }
    return ASPS_OK;
}

static asps_err get_components(const cJSON *tcb, const char *name, uint8_t out[16],
                               asps_errbuf *eb)
{
    const cJSON *arr = field(tcb, name);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 16)
        return asps_fail(eb, ASPS_E_PARSE, "tcb_info: \"%s\" must be an array of 16", name);
    for (int i = 0; i < 16; i++) {
        uint32_t v = 0;
        ASPS_TRY(get_uint(cJSON_GetArrayItem(arr, i), "tcb_info", "svn", 255, &v, eb));
        out[i] = (uint8_t)v;
    }
    return ASPS_OK;
}

/* The names of the components of list NAME (already checked to be an
 * array of 16) that OUT does not name yet: "category: type", either alone
 * when the other is missing. Names are for display: anything but a string
 * is no name. */
static void note_component_names(const cJSON *tcb, const char *name, char out[16][48])
{
    const cJSON *arr = field(tcb, name);
    for (int i = 0; i < 16; i++) {
        const cJSON *c = cJSON_GetArrayItem(arr, i);
        const cJSON *cat = field(c, "category"), *type = field(c, "type");
        const char *cs = cJSON_IsString(cat) ? cat->valuestring : "";
        const char *ts = cJSON_IsString(type) ? type->valuestring : "";
        if (!out[i][0] && (cs[0] || ts[0]))
            snprintf(out[i], sizeof out[i], "%s%s%s", cs, cs[0] && ts[0] ? ": " : "", ts);
    }
}

static asps_err parse_isvsvn_levels(const cJSON *arr, const char *what, int module_only,
                                    asps_isvsvn_level **out, size_t *n, asps_errbuf *eb)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > MAX_LEVELS)
        return asps_fail(eb, ASPS_E_PARSE, "%s: tcbLevels must be a non-empty array", what);
    size_t cnt = (size_t)cJSON_GetArraySize(arr);
    asps_isvsvn_level *lv = calloc(cnt, sizeof *lv);
    if (!lv)
        return asps_fail(eb, ASPS_E_NOMEM, "%s: out of memory", what);
    *out = lv;
    *n = cnt;
    for (size_t i = 0; i < cnt; i++) {
        const cJSON *l = cJSON_GetArrayItem(arr, (int)i);
        uint32_t svn = 0;
        if (!cJSON_IsObject(l) || !cJSON_IsObject(field(l, "tcb")))
            return asps_fail(eb, ASPS_E_PARSE, "%s: tcbLevels[%zu].tcb missing", what, i);
        ASPS_TRY(get_uint(field(l, "tcb"), what, "isvsvn", 65535, &svn, eb));
        lv[i].isvsvn = (uint16_t)svn;
        /* required as QVL requires it (EnclaveIdentityV2::parseTcbLevels,
         * TdxModuleTcbLevel's constructor) */
        ASPS_TRY(get_time(l, what, "tcbDate", &lv[i].tcb_date, eb));
        ASPS_TRY(get_status(l, what, module_only, &lv[i].status, eb));
        ASPS_TRY(get_advisories(l, what, &lv[i].adv, eb));
    }
    return ASPS_OK;
}

void asps_dcap_tcb_info_clear(asps_tcb_info *t)
{
    if (!t)
        return;
    free(t->levels);
    for (size_t i = 0; i < t->n_mod_ids; i++)
        free(t->mod_ids[i].levels);
    free(t->mod_ids);
    memset(t, 0, sizeof *t);
}

/* QVL keeps TCB levels in a std::set ordered by TcbLevel::operator>: CPU SVN
 * components compared as a vector, then PCE SVN, then (TDX v3) the TDX
 * components; matching walks that order. Levels equal under it collapse to
 * the first in a set; we keep them, and the first listed wins on ties. */
static int level_cmp_desc(const void *pa, const void *pb)
{
    const asps_tcb_level *a = pa, *b = pb;
    int c = memcmp(b->sgx_comp, a->sgx_comp, 16);
    if (c)
        return c;
    if (a->pcesvn != b->pcesvn)
        return a->pcesvn > b->pcesvn ? -1 : 1;
    return memcmp(b->tdx_comp, a->tdx_comp, 16);
}

static asps_err parse_tcb_info(const cJSON *o, asps_tcb_info *t, asps_errbuf *eb)
{
    uint32_t v = 0;
    ASPS_TRY(get_uint(o, "tcb_info", "version", 100, &v, eb));
    t->version = (int)v;
    if (t->version != 2 && t->version != 3)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "tcb_info: version %d not supported (2, 3)",
                         t->version);
    if (t->version == 3) {
        const cJSON *id = field(o, "id");
        if (!cJSON_IsString(id))
            return asps_fail(eb, ASPS_E_PARSE, "tcb_info: \"id\" missing");
        if (!strcmp(id->valuestring, "TDX"))
            t->is_tdx = 1;
        else if (strcmp(id->valuestring, "SGX") != 0)
            return asps_fail(eb, ASPS_E_PARSE, "tcb_info: id \"%s\" is neither SGX nor TDX",
                             id->valuestring);
    }
    ASPS_TRY(get_time(o, "tcb_info", "issueDate", &t->issue_date, eb));
    ASPS_TRY(get_time(o, "tcb_info", "nextUpdate", &t->next_update, eb));
    ASPS_TRY(get_hex(o, "tcb_info", "fmspc", t->fmspc, 6, eb));
    ASPS_TRY(get_hex(o, "tcb_info", "pceId", t->pce_id, 2, eb));
    ASPS_TRY(get_uint(o, "tcb_info", "tcbType", 65535, &v, eb));
    if (v != 0)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "tcb_info: tcbType %u not supported", v);
    ASPS_TRY(get_uint(o, "tcb_info", "tcbEvaluationDataNumber", 4294967295.0, &v, eb));
    t->tcb_evaluation_data_number = v;

    if (t->is_tdx) {
        const cJSON *m = field(o, "tdxModule");
        if (!cJSON_IsObject(m))
            return asps_fail(eb, ASPS_E_PARSE, "tcb_info: TDX tcb info without tdxModule");
        t->has_tdx_module = 1;
        ASPS_TRY(get_hex(m, "tcb_info.tdxModule", "mrsigner", t->mod_mrsigner, 48, eb));
        ASPS_TRY(get_hex(m, "tcb_info.tdxModule", "attributes", t->mod_attributes, 8, eb));
        ASPS_TRY(get_hex(m, "tcb_info.tdxModule", "attributesMask", t->mod_attributes_mask, 8, eb));
        const cJSON *ids = field(o, "tdxModuleIdentities");
        if (ids) {
            if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) > MAX_LEVELS)
                return asps_fail(eb, ASPS_E_PARSE, "tcb_info: tdxModuleIdentities must be an array");
            size_t n = (size_t)cJSON_GetArraySize(ids);
            t->mod_ids = calloc(n ? n : 1, sizeof *t->mod_ids);
            if (!t->mod_ids)
                return asps_fail(eb, ASPS_E_NOMEM, "tcb_info: out of memory");
            t->n_mod_ids = n;
            for (size_t i = 0; i < n; i++) {
                const cJSON *mi = cJSON_GetArrayItem(ids, (int)i);
                asps_tdx_module_identity *d = &t->mod_ids[i];
                const cJSON *id = field(mi, "id");
                if (!cJSON_IsString(id) || strlen(id->valuestring) >= sizeof d->id)
                    return asps_fail(eb, ASPS_E_PARSE, "tcb_info: tdxModuleIdentities[%zu].id bad", i);
                strcpy(d->id, id->valuestring);
                ASPS_TRY(get_hex(mi, "tcb_info.tdxModuleIdentities", "mrsigner", d->mrsigner, 48, eb));
                ASPS_TRY(get_hex(mi, "tcb_info.tdxModuleIdentities", "attributes", d->attributes, 8, eb));
                ASPS_TRY(get_hex(mi, "tcb_info.tdxModuleIdentities", "attributesMask",
                                 d->attributes_mask, 8, eb));
                ASPS_TRY(parse_isvsvn_levels(field(mi, "tcbLevels"), "tcb_info.tdxModuleIdentities",
                                             1, &d->levels, &d->n_levels, eb));
            }
        }
    }

    const cJSON *arr = field(o, "tcbLevels");
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > MAX_LEVELS)
        return asps_fail(eb, ASPS_E_PARSE, "tcb_info: tcbLevels must be a non-empty array");
    size_t n = (size_t)cJSON_GetArraySize(arr);
    t->levels = calloc(n, sizeof *t->levels);
    if (!t->levels)
        return asps_fail(eb, ASPS_E_NOMEM, "tcb_info: out of memory");
    t->n_levels = n;
    for (size_t i = 0; i < n; i++) {
        const cJSON *l = cJSON_GetArrayItem(arr, (int)i);
        const cJSON *tcb = field(l, "tcb");
        asps_tcb_level *lv = &t->levels[i];
        if (!cJSON_IsObject(tcb))
            return asps_fail(eb, ASPS_E_PARSE, "tcb_info: tcbLevels[%zu].tcb missing", i);
        if (t->version == 3) {
            ASPS_TRY(get_components(tcb, "sgxtcbcomponents", lv->sgx_comp, eb));
            note_component_names(tcb, "sgxtcbcomponents", t->sgx_names);
            if (t->is_tdx) {
                ASPS_TRY(get_components(tcb, "tdxtcbcomponents", lv->tdx_comp, eb));
                note_component_names(tcb, "tdxtcbcomponents", t->tdx_names);
            }
        } else {
            for (int c = 0; c < 16; c++) {
                char name[24];
                snprintf(name, sizeof name, "sgxtcbcomp%02dsvn", c + 1);
                ASPS_TRY(get_uint(tcb, "tcb_info", name, 255, &v, eb));
                lv->sgx_comp[c] = (uint8_t)v;
            }
        }
        ASPS_TRY(get_uint(tcb, "tcb_info", "pcesvn", 65535, &v, eb));
        lv->pcesvn = (uint16_t)v;
        /* required, v2 and v3 (QVL TcbLevel::parseTcbLevelCommon) */
        ASPS_TRY(get_time(l, "tcb_info", "tcbDate", &lv->tcb_date, eb));
        ASPS_TRY(get_status(l, "tcb_info", 0, &lv->status, eb));
        ASPS_TRY(get_advisories(l, "tcb_info", &lv->adv, eb));
    }
    /* stable sort: insertion sort keeps listed order among equals */
    for (size_t i = 1; i < n; i++) {
        asps_tcb_level tmp = t->levels[i];
        size_t j = i;
        while (j > 0 && level_cmp_desc(&t->levels[j - 1], &tmp) > 0) {
            t->levels[j] = t->levels[j - 1];
            j--;
        }
        t->levels[j] = tmp;
    }
    return ASPS_OK;
}

asps_err asps_dcap_parse_tcb_info(const char *json, size_t len, asps_tcb_info *t,
                                  asps_errbuf *eb)
{
    memset(t, 0, sizeof *t);
    cJSON *o = NULL;
    ASPS_TRY(asps_json_parse(json, len, "tcb_info", &o, eb)); /* strict: RFC 8259 */
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return asps_fail(eb, ASPS_E_PARSE, "tcb_info: not a JSON object");
    }
    asps_err e = parse_tcb_info(o, t, eb);
    cJSON_Delete(o);
    if (e != ASPS_OK)
        asps_dcap_tcb_info_clear(t);
    return e;
}

void asps_dcap_qe_identity_clear(asps_qe_identity *q)
{
    if (!q)
        return;
    free(q->levels);
    memset(q, 0, sizeof *q);
}

static asps_err parse_qe_identity(const cJSON *o, asps_qe_identity *q, asps_errbuf *eb)
{
    uint32_t v = 0;
    const cJSON *id = field(o, "id");
    if (!cJSON_IsString(id) || strlen(id->valuestring) >= sizeof q->id)
        return asps_fail(eb, ASPS_E_PARSE, "qe_identity: \"id\" missing or malformed");
    strcpy(q->id, id->valuestring);
    if (strcmp(q->id, "QE") && strcmp(q->id, "TD_QE") && strcmp(q->id, "QVE"))
        return asps_fail(eb, ASPS_E_PARSE, "qe_identity: id \"%s\" unknown", q->id);
    ASPS_TRY(get_uint(o, "qe_identity", "version", 100, &v, eb));
    q->version = (int)v;
    if (q->version != 2)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "qe_identity: version %d not supported (2)",
                         q->version);
    ASPS_TRY(get_time(o, "qe_identity", "issueDate", &q->issue_date, eb));
    ASPS_TRY(get_time(o, "qe_identity", "nextUpdate", &q->next_update, eb));
    ASPS_TRY(get_uint(o, "qe_identity", "tcbEvaluationDataNumber", 4294967295.0, &v, eb));
    q->tcb_evaluation_data_number = v;
    uint8_t b4[4];
    ASPS_TRY(get_hex(o, "qe_identity", "miscselect", b4, 4, eb));
    /* The hex string holds the bytes in report order (little-endian), as
     * QVL's EnclaveReportVerifier reads it (swapBytes(toUint32(...))). */
    q->miscselect = (uint32_t)b4[0] | (uint32_t)b4[1] << 8 | (uint32_t)b4[2] << 16 | (uint32_t)b4[3] << 24;
    ASPS_TRY(get_hex(o, "qe_identity", "miscselectMask", b4, 4, eb));
    q->miscselect_mask = (uint32_t)b4[0] | (uint32_t)b4[1] << 8 | (uint32_t)b4[2] << 16 | (uint32_t)b4[3] << 24;
    ASPS_TRY(get_hex(o, "qe_identity", "attributes", q->attributes, 16, eb));
    ASPS_TRY(get_hex(o, "qe_identity", "attributesMask", q->attributes_mask, 16, eb));
    ASPS_TRY(get_hex(o, "qe_identity", "mrsigner", q->mrsigner, 32, eb));
    ASPS_TRY(get_uint(o, "qe_identity", "isvprodid", 65535, &v, eb));
    q->isvprodid = (uint16_t)v;
    return parse_isvsvn_levels(field(o, "tcbLevels"), "qe_identity", 0, &q->levels, &q->n_levels, eb);
}

asps_err asps_dcap_parse_qe_identity(const char *json, size_t len, asps_qe_identity *q,
                                     asps_errbuf *eb)
{
    memset(q, 0, sizeof *q);
    cJSON *o = NULL;
    ASPS_TRY(asps_json_parse(json, len, "qe_identity", &o, eb)); /* strict: RFC 8259 */
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return asps_fail(eb, ASPS_E_PARSE, "qe_identity: not a JSON object");
    }
    asps_err e = parse_qe_identity(o, q, eb);
    cJSON_Delete(o);
    if (e != ASPS_OK)
        asps_dcap_qe_identity_clear(q);
    return e;
}

asps_err asps_dcap_collateral_dates(const char *json, size_t len, const char *what,
                                    int64_t *issue_date, int64_t *next_update, asps_errbuf *eb)
{
    cJSON *o = NULL;
    ASPS_TRY(asps_json_parse(json, len, what, &o, eb)); /* strict: RFC 8259 */
    asps_err e = ASPS_OK;
    if (!cJSON_IsObject(o))
        e = asps_fail(eb, ASPS_E_PARSE, "%s: not a JSON object", what);
    if (e == ASPS_OK)
        e = get_time(o, what, "issueDate", issue_date, eb);
    if (e == ASPS_OK)
        e = get_time(o, what, "nextUpdate", next_update, eb);
    cJSON_Delete(o);
    return e;
}

/* ---- TCB evaluation data numbers ------------------------------------------- */

static asps_err parse_eval_numbers(const cJSON *o, asps_tcb_eval_numbers *l, asps_errbuf *eb)
{
    const char *what = "tcb_evaluation_data_numbers";
    const cJSON *id = field(o, "id");
    if (!cJSON_IsString(id))
        return asps_fail(eb, ASPS_E_PARSE, "%s: \"id\" missing", what);
    if (!strcmp(id->valuestring, "TDX"))
        l->is_tdx = 1;
    else if (strcmp(id->valuestring, "SGX") != 0)
        return asps_fail(eb, ASPS_E_PARSE, "%s: id is neither SGX nor TDX", what);
    ASPS_TRY(get_uint(o, what, "version", 100, &l->version, eb));
    if (l->version != 1)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "%s: version %u not supported (1)", what,
                         l->version);
    ASPS_TRY(get_time(o, what, "issueDate", &l->issue_date, eb));
    ASPS_TRY(get_time(o, what, "nextUpdate", &l->next_update, eb));
    const cJSON *arr = field(o, "tcbEvalNumbers");
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1)
        return asps_fail(eb, ASPS_E_PARSE, "%s: tcbEvalNumbers must be a non-empty array", what);
    if (cJSON_GetArraySize(arr) > ASPS_MAX_EVAL_NUMBERS)
        return asps_fail(eb, ASPS_E_LIMIT, "%s: more than %d tcbEvalNumbers", what,
                         ASPS_MAX_EVAL_NUMBERS);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        asps_tcb_eval_number *n = &l->items[l->n];
        if (!cJSON_IsObject(it))
            return asps_fail(eb, ASPS_E_PARSE, "%s: tcbEvalNumbers[%zu] is not an object", what,
                             l->n);
        ASPS_TRY(get_uint(it, what, "tcbEvaluationDataNumber", 4294967295.0, &n->number, eb));
        ASPS_TRY(get_time(it, what, "tcbRecoveryEventDate", &n->tcb_recovery_event_date, eb));
        /* the standard set takes it 12 months later: that date too must be
         * one asps can write (README: "standard from", demoted_at) */
        if (asps_dcap_add_months(n->tcb_recovery_event_date, 12) > ASPS_DCAP_TIME_MAX)
            return asps_fail(eb, ASPS_E_PARSE, "%s: \"tcbRecoveryEventDate\" must be before "
                             "9999-01-01 (the standard set takes it 12 months later)", what);
        ASPS_TRY(get_time(it, what, "tcbDate", &n->tcb_date, eb));
        /* one date per number: a list naming one twice cannot say which */
        if (asps_dcap_eval_number_find(l, n->number))
            return asps_fail(eb, ASPS_E_PARSE, "%s: tcbEvaluationDataNumber %u listed twice",
                             what, n->number);
        l->n++;
    }
    return ASPS_OK;
}

asps_err asps_dcap_parse_eval_numbers(const char *json, size_t len, asps_tcb_eval_numbers *l,
                                      asps_errbuf *eb)
{
    memset(l, 0, sizeof *l);
    cJSON *o = NULL;
    ASPS_TRY(asps_json_parse(json, len, "tcb_evaluation_data_numbers", &o, eb)); /* strict */
    asps_err e = cJSON_IsObject(o) ? parse_eval_numbers(o, l, eb)
                                   : asps_fail(eb, ASPS_E_PARSE,
                                               "tcb_evaluation_data_numbers: not a JSON object");
    cJSON_Delete(o);
    if (e != ASPS_OK)
        memset(l, 0, sizeof *l);
    return e;
}

const asps_tcb_eval_number *asps_dcap_eval_number_find(const asps_tcb_eval_numbers *l,
                                                      uint32_t number)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (l->items[i].number == number)
            return &l->items[i];
    return NULL;
}

static int days_in_month(int64_t y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

/* civil-from-days (H. Hinnant's algorithm); days-from-civil is util's */
int64_t asps_dcap_add_months(int64_t t, int months)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    y += m <= 2;
    int64_t mi = (int64_t)(m - 1) + months;
    y += mi >= 0 ? mi / 12 : -((-mi + 11) / 12);
    m = (int)(((mi % 12) + 12) % 12) + 1;
    if (d > days_in_month(y, m))
        d = days_in_month(y, m);
    return asps_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + secs;
}
