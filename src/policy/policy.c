/* policy.c: the native policy format, the model, and matching.
 *
 * Owns: parsing and validating native policy JSON (asps/policy.h documents
 * the format), the decision on verified claims, and serialising the model
 * back to native JSON (for `asps policy convert`).
 * Trusts: the claims it is given (the verifier produced them) and nothing in
 * the policy text until each field has been checked here. Secret values are
 * never in a policy; kms_credential strings are, and are cleansed on free
 * and never printed in messages.
 */
#include "policy_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "util.h"

#define DEFAULT_TCB_MASK (1u << ASPS_TCB_UP_TO_DATE)

char *asps_policy_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

asps_policy *asps_policy_new_empty(void)
{
    return calloc(1, sizeof(asps_policy));
}

asps_policy_app *asps_policy_add_app(asps_policy *p)
{
    if (p->n_apps >= ASPS_POLICY_MAX_APPS)
        return NULL;
    if (p->n_apps == p->cap_apps) {
        /* doubling: loading N apps copies O(N) app records, not O(N^2) */
        size_t cap = p->cap_apps ? 2 * p->cap_apps : 16;
        if (cap > ASPS_POLICY_MAX_APPS)
            cap = ASPS_POLICY_MAX_APPS;
        asps_policy_app *na = realloc(p->apps, cap * sizeof *na);
        if (!na)
            return NULL;
        p->apps = na;
        p->cap_apps = cap;
    }
    asps_policy_app *a = &p->apps[p->n_apps++];
    memset(a, 0, sizeof *a);
    a->tee = ASPS_TEE_SGX;
    a->tcb_mask = DEFAULT_TCB_MASK;
    return a;
}

asps_err asps_policy_app_add_secret(asps_policy_app *a, const char *name, const char *ref,
                                    const char *path, asps_errbuf *eb)
{
    size_t nl = strlen(name);
    if (nl == 0)
        return asps_fail(eb, ASPS_E_PARSE, "%s: secret name must not be empty", path);
    if (nl > ASPS_POLICY_MAX_NAME)
        return asps_fail(eb, ASPS_E_PARSE, "%s: secret name longer than %d characters", path,
                         ASPS_POLICY_MAX_NAME);
    if (ref == NULL || *ref == 0)
        return asps_fail(eb, ASPS_E_PARSE, "%s.%s: KMS reference must not be empty", path, name);
    for (size_t i = 0; i < a->n_secrets; i++)
        if (strcmp(a->secrets[i].name, name) == 0)
            return asps_fail(eb, ASPS_E_PARSE, "%s.%s: secret appears twice", path, name);
    if (a->n_secrets >= ASPS_POLICY_MAX_SECRETS)
        return asps_fail(eb, ASPS_E_LIMIT, "%s: more than %d secrets", path,
                         ASPS_POLICY_MAX_SECRETS);
    asps_policy_secret *ns = realloc(a->secrets, (a->n_secrets + 1) * sizeof *ns);
    if (!ns)
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    a->secrets = ns;
    asps_policy_secret *s = &a->secrets[a->n_secrets];
    s->name = asps_policy_strdup(name);
    s->ref = asps_policy_strdup(ref);
    if (!s->name || !s->ref) {
        free(s->name);
        free(s->ref);
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    }
    a->n_secrets++;
    return ASPS_OK;
}

void asps_policy_free(asps_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_apps; i++) {
        asps_policy_app *a = &p->apps[i];
        free(a->name);
        free(a->refuse);
        asps_cleanse_free_str(a->kms_credential);
        for (size_t j = 0; j < a->n_secrets; j++) {
            free(a->secrets[j].name);
            free(a->secrets[j].ref);
        }
        free(a->secrets);
    }
    free(p->apps);
    free(p->idx_slots);
    free(p->idx_members);
    free(p->scan);
    free(p->kms_type);
    free(p->kms_path);
    free(p->kms_addr);
    free(p->kms_encoding);
    free(p);
}

/* ---- hash tables for load and match ---------------------------------------
 * Open addressing, linear probing, at least twice as many slots as entries.
 * Keys are the policy's own names and measurements, which its author chose
 * (the peer's claims only choose which bucket to look in), so a plain hash
 * is enough: FNV-1a, then a 64-bit finaliser to spread it to the low bits. */

static uint64_t hash_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}

static uint64_t hash_final(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

#define HASH_SEED UINT64_C(0xcbf29ce484222325)

/* slots - 1 for N entries: a power of 2, >= 2N, >= 16 */
static size_t table_mask(size_t n)
{
    size_t slots = 16;
    while (slots < 2 * n)
        slots <<= 1;
    return slots - 1;
}

static asps_err validate_apps(const asps_policy *p, const char *list, uint32_t *seen,
                              size_t mask, asps_errbuf *eb)
{
    char ap[128];
    for (size_t i = 0; i < p->n_apps; i++) {
        const asps_policy_app *a = &p->apps[i];
        snprintf(ap, sizeof ap, "%s[%zu]", list, i);
        if (a->name == NULL || a->name[0] == 0)
            return asps_fail(eb, ASPS_E_PARSE, "%s.name: required field is missing", ap);
        /* SEEN holds apps 0..i-1, whose names are distinct: the one with
         * this name, if any, is the earlier app a scan would find */
        size_t s = hash_final(hash_bytes(HASH_SEED, a->name, strlen(a->name))) & mask;
        for (; seen[s]; s = (s + 1) & mask) {
            size_t j = seen[s] - 1;
            if (strcmp(p->apps[j].name, a->name) == 0)
                return asps_fail(eb, ASPS_E_PARSE, "%s.name: \"%s\" is already the name of %s[%zu]",
                                 ap, a->name, list, j);
        }
        seen[s] = (uint32_t)i + 1;
        if (a->tee == ASPS_TEE_SGX) {
            if (!a->has_mrenclave && !a->has_mrsigner)
                return asps_fail(eb, ASPS_E_PARSE,
                                 "%s.match: needs mrenclave or mrsigner (an app must name the "
                                 "enclave it trusts)", ap);
            if (!a->has_mrenclave && !a->has_isv_prod_id)
                return asps_fail(eb, ASPS_E_PARSE,
                                 "%s.match.isv_prod_id: required when mrenclave is not given "
                                 "(one signer signs many products)", ap);
        } else if (a->tee == ASPS_TEE_TDX) {
            if (!a->has_mrtd)
                return asps_fail(eb, ASPS_E_PARSE, "%s.match.mrtd: required for tee \"tdx\"", ap);
        } else {
            return asps_fail(eb, ASPS_E_PARSE, "%s.match.tee: unknown TEE", ap);
        }
        if (a->tcb_mask == 0)
            return asps_fail(eb, ASPS_E_PARSE, "%s.match.tcb_statuses: must allow at least one status",
                             ap);
    }
    if (p->kms_type != NULL) {
        if (strcmp(p->kms_type, "file") == 0 && p->kms_path == NULL)
            return asps_fail(eb, ASPS_E_PARSE, "kms.path: required for type \"file\"");
        if (strcmp(p->kms_type, "vault") == 0 && p->kms_addr == NULL)
            return asps_fail(eb, ASPS_E_PARSE, "kms.addr: required for type \"vault\"");
    }
    return ASPS_OK;
}

/* An app's or a claim's primary measurement: what the index is keyed on. */
typedef enum { KEY_NONE, KEY_SGX_ENCLAVE, KEY_SGX_SIGNER, KEY_TDX_MRTD } key_kind;

typedef struct mkey {
    key_kind kind;
    const uint8_t *m;   /* the measurement (32 or 48 bytes) */
    size_t len;
    uint16_t prod;      /* KEY_SGX_SIGNER: isv_prod_id; else 0 */
} mkey;

/* A's key: mrenclave when given (an app that names it matches only that
 * enclave), else mrsigner + isv_prod_id, TDX mrtd; KEY_NONE otherwise (no
 * valid policy has such an app; it would be scanned). */
static mkey app_key(const asps_policy_app *a)
{
    mkey k = {KEY_NONE, NULL, 0, 0};
    if (a->tee == ASPS_TEE_SGX && a->has_mrenclave)
        k = (mkey){KEY_SGX_ENCLAVE, a->mrenclave, 32, 0};
    else if (a->tee == ASPS_TEE_SGX && a->has_mrsigner && a->has_isv_prod_id)
        k = (mkey){KEY_SGX_SIGNER, a->mrsigner, 32, a->isv_prod_id};
    else if (a->tee == ASPS_TEE_TDX && a->has_mrtd)
        k = (mkey){KEY_TDX_MRTD, a->mrtd, 48, 0};
    return k;
}

static size_t key_hash(const mkey *k)
{
    uint8_t head[3] = {(uint8_t)k->kind, (uint8_t)(k->prod >> 8), (uint8_t)k->prod};
    return (size_t)hash_final(hash_bytes(hash_bytes(HASH_SEED, head, 3), k->m, k->len));
}

/* Whole values, in constant time, like every measurement compare. */
static int key_equal(const mkey *x, const mkey *y)
{
    return x->kind == y->kind && x->prod == y->prod && x->len == y->len &&
           CRYPTO_memcmp(x->m, y->m, x->len) == 0;
}

/* The slot holding K, or NULL. */
static const asps_policy_slot *index_find(const asps_policy *p, const mkey *k)
{
    for (size_t s = key_hash(k) & p->idx_mask; p->idx_slots[s].rep; s = (s + 1) & p->idx_mask) {
        mkey r = app_key(&p->apps[p->idx_slots[s].rep - 1]);
        if (key_equal(&r, k))
            return &p->idx_slots[s];
    }
    return NULL;
}

/* The index over P's apps (replacing any earlier one): each key's apps in
 * file order. Two passes: count per key, then place. */
static asps_err index_build(asps_policy *p, asps_errbuf *eb)
{
    free(p->idx_slots);
    free(p->idx_members);
    free(p->scan);
    p->idx_slots = NULL;
    p->idx_members = p->scan = NULL;
    p->n_scan = 0;
    size_t n = p->n_apps, mask = table_mask(n);
    asps_policy_slot *slots = calloc(mask + 1, sizeof *slots);
    uint32_t *members = malloc((n ? n : 1) * sizeof *members);
    uint32_t *scan = malloc((n ? n : 1) * sizeof *scan);
    uint32_t *slot_of = malloc((n ? n : 1) * sizeof *slot_of);
    if (!slots || !members || !scan || !slot_of) {
        free(slots);
        free(members);
        free(scan);
        free(slot_of);
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    }
    size_t n_scan = 0;
    for (size_t i = 0; i < n; i++) {
        mkey k = app_key(&p->apps[i]);
        if (k.kind == KEY_NONE) {
            scan[n_scan++] = (uint32_t)i;
            slot_of[i] = UINT32_MAX;
            continue;
        }
        size_t s = key_hash(&k) & mask;
        for (; slots[s].rep; s = (s + 1) & mask) {
            mkey r = app_key(&p->apps[slots[s].rep - 1]);
            if (key_equal(&r, &k))
                break;
        }
        if (!slots[s].rep)
            slots[s].rep = (uint32_t)i + 1;
        slots[s].count++;
        slot_of[i] = (uint32_t)s;
    }
    uint32_t at = 0;
    for (size_t s = 0; s <= mask; s++) {
        slots[s].start = at;
        at += slots[s].count;
        slots[s].count = 0;
    }
    for (size_t i = 0; i < n; i++)
        if (slot_of[i] != UINT32_MAX) {
            asps_policy_slot *sl = &slots[slot_of[i]];
            members[sl->start + sl->count++] = (uint32_t)i;
        }
    free(slot_of);
    p->idx_mask = mask;
    p->idx_slots = slots;
    p->idx_members = members;
    p->scan = scan;
    p->n_scan = n_scan;
    /* the apps array grew by doubling: give back the slack */
    if (n && n < p->cap_apps) {
        asps_policy_app *fit = realloc(p->apps, n * sizeof *fit);
        if (fit) {
            p->apps = fit;
            p->cap_apps = n;
        }
    }
    return ASPS_OK;
}

asps_err asps_policy_validate(asps_policy *p, const char *list, asps_errbuf *eb)
{
    size_t mask = table_mask(p->n_apps);
    uint32_t *seen = calloc(mask + 1, sizeof *seen);
    if (!seen)
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    asps_err e = validate_apps(p, list, seen, mask, eb);
    free(seen);
    if (e != ASPS_OK)
        return e;
    return index_build(p, eb);
}

/* ---- native loader ------------------------------------------------------ */

static asps_err parse_kms(asps_policy *p, const cJSON *k, asps_errbuf *eb)
{
    static const char *const keys[] = {"type", "path", "addr", "default_encoding", NULL};
    ASPS_TRY(asps_json_check_keys(k, "kms", keys, eb));
    const char *type, *path = NULL, *addr = NULL, *enc = NULL;
    int has_path, has_addr, has_enc;
    ASPS_TRY(asps_json_get_string(k, "kms", "type", 0, &type, NULL, eb));
    if (strcmp(type, "file") != 0 && strcmp(type, "vault") != 0)
        return asps_fail(eb, ASPS_E_PARSE, "kms.type: expected \"file\" or \"vault\"");
    ASPS_TRY(asps_json_get_string(k, "kms", "path", 0, &path, &has_path, eb));
    ASPS_TRY(asps_json_get_string(k, "kms", "addr", 0, &addr, &has_addr, eb));
    ASPS_TRY(asps_json_get_string(k, "kms", "default_encoding", 0, &enc, &has_enc, eb));
    if (has_enc && strcmp(enc, "text") != 0 && strcmp(enc, "base64") != 0)
        return asps_fail(eb, ASPS_E_PARSE, "kms.default_encoding: expected \"text\" or \"base64\"");
    p->kms_type = asps_policy_strdup(type);
    p->kms_path = has_path ? asps_policy_strdup(path) : NULL;
    p->kms_addr = has_addr ? asps_policy_strdup(addr) : NULL;
    p->kms_encoding = has_enc ? asps_policy_strdup(enc) : NULL;
    if (!p->kms_type || (has_path && !p->kms_path) || (has_addr && !p->kms_addr) ||
        (has_enc && !p->kms_encoding))
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    return ASPS_OK;
}

asps_err asps_policy_tcb_mask_add(const char *name, const char *what, size_t index,
                                  uint32_t *mask, asps_errbuf *eb)
{
    asps_tcb_status st;
    if (!name)
        return asps_fail(eb, ASPS_E_PARSE, "%s[%zu]: expected a TCB status such as "
                         "\"UpToDate\" or \"SWHardeningNeeded\"", what, index);
    if (asps_tcb_status_parse(name, &st) != 0)
        return asps_fail(eb, ASPS_E_PARSE, "%s[%zu]: \"%.63s\" is not a TCB status such as "
                         "\"UpToDate\" or \"SWHardeningNeeded\"", what, index, name);
    if (st == ASPS_TCB_REVOKED)
        return asps_fail(eb, ASPS_E_PARSE, "%s[%zu]: \"Revoked\" can never be allowed", what,
                         index);
    *mask |= 1u << st;
    return ASPS_OK;
}

/* "2025-05-14" (00:00:00 UTC) or an RFC 3339 date-time, 1970 to 9999 UTC,
 * -> unix seconds; plain unix seconds are not a date here (the shape
 * check), and the day must exist in its month (asps_time_parse). 0 ok. */
static int parse_policy_date(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n < 10 || n > 40)
        return -1;
    for (int i = 0; i < 10; i++)
        if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return -1;
    char full[48];
    if (n == 10)
        snprintf(full, sizeof full, "%sT00:00:00Z", s);
    else
        snprintf(full, sizeof full, "%s", s);
    /* 1970..9999 in UTC: what a tcbDate can be, and what writes back as
     * RFC 3339 (to_json) */
    int64_t t;
    if (asps_time_parse(full, &t) != 0 || t < 0 || t > INT64_C(253402300799))
        return -1;
    *out = t;
    return 0;
}

/* T as "2025-05-14" when it is midnight UTC, else RFC 3339. */
static void format_day(int64_t t, char out[32])
{
    asps_time_format(t, out);
    if (t % 86400 == 0 && strlen(out) >= 10)
        out[10] = 0;
}

static asps_err parse_recovery(asps_policy_app *a, const cJSON *m, const char *mp,
                               asps_errbuf *eb)
{
    int64_t v;
    int has;
    char fp[256];
    ASPS_TRY(asps_json_get_int(m, mp, "min_tcb_evaluation_data_number", 0, UINT32_MAX, &v,
                               &a->has_min_eval, eb));
    if (a->has_min_eval)
        a->min_eval = (uint32_t)v;
    const char *ds;
    ASPS_TRY(asps_json_get_string(m, mp, "min_tcb_date", 0, &ds, &a->has_min_tcb_date, eb));
    if (a->has_min_tcb_date && parse_policy_date(ds, &a->min_tcb_date) != 0) {
        asps_json_path_key(fp, sizeof fp, mp, "min_tcb_date");
        return asps_fail(eb, ASPS_E_PARSE,
                         "%s: expected a date such as \"2025-05-14\" or an RFC 3339 date-time "
                         "such as \"2025-05-14T00:00:00Z\", 1970 to 9999", fp);
    }
    ASPS_TRY(asps_json_get_int(m, mp, "tcb_grace_days", 0, 3650, &v, &a->has_grace, eb));
    if (a->has_grace)
        a->grace_days = (uint32_t)v;
    ASPS_TRY(asps_json_get_bool(m, mp, "refuse_stale_collateral", &a->refuse_stale, &has, eb));
    return ASPS_OK;
}

static asps_err parse_match(asps_policy_app *a, const cJSON *m, const char *mp, asps_errbuf *eb)
{
    static const char *const keys[] = {"tee", "mrenclave", "mrsigner", "isv_prod_id",
                                       "min_isv_svn", "min_config_svn", "mrtd", "rtmr0",
                                       "rtmr1", "rtmr2", "rtmr3", "tcb_statuses",
                                       "refuse_advisories", "min_tcb_evaluation_data_number",
                                       "min_tcb_date", "tcb_grace_days",
                                       "refuse_stale_collateral", NULL};
    static const char *const sgx_only[] = {"mrenclave", "mrsigner", "isv_prod_id",
                                           "min_isv_svn", "min_config_svn", NULL};
    static const char *const tdx_only[] = {"mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", NULL};
    char fp[256];
    ASPS_TRY(asps_json_check_keys(m, mp, keys, eb));
    const char *tee;
    ASPS_TRY(asps_json_get_string(m, mp, "tee", 0, &tee, NULL, eb));
    const char *const *other;
    if (strcmp(tee, "sgx") == 0) {
        a->tee = ASPS_TEE_SGX;
        other = tdx_only;
    } else if (strcmp(tee, "tdx") == 0) {
        a->tee = ASPS_TEE_TDX;
        other = sgx_only;
    } else {
        return asps_fail(eb, ASPS_E_PARSE, "%s.tee: expected \"sgx\" or \"tdx\"", mp);
    }
    for (size_t i = 0; other[i]; i++)
        if (cJSON_GetObjectItemCaseSensitive(m, other[i]) != NULL) {
            asps_json_path_key(fp, sizeof fp, mp, other[i]);
            return asps_fail(eb, ASPS_E_PARSE, "%s: not a field for tee \"%s\"", fp, tee);
        }
    int64_t v;
    int has;
    if (a->tee == ASPS_TEE_SGX) {
        ASPS_TRY(asps_json_get_hex(m, mp, "mrenclave", a->mrenclave, 32, &a->has_mrenclave, eb));
        ASPS_TRY(asps_json_get_hex(m, mp, "mrsigner", a->mrsigner, 32, &a->has_mrsigner, eb));
        ASPS_TRY(asps_json_get_int(m, mp, "isv_prod_id", 0, 65535, &v, &a->has_isv_prod_id, eb));
        if (a->has_isv_prod_id)
            a->isv_prod_id = (uint16_t)v;
        ASPS_TRY(asps_json_get_int(m, mp, "min_isv_svn", 0, 65535, &v, &has, eb));
        if (has)
            a->min_isv_svn = (uint16_t)v;
        ASPS_TRY(asps_json_get_int(m, mp, "min_config_svn", 0, 65535, &v, &has, eb));
        if (has)
            a->min_config_svn = (uint16_t)v;
    } else {
        ASPS_TRY(asps_json_get_hex(m, mp, "mrtd", a->mrtd, 48, &a->has_mrtd, eb));
        for (int i = 0; i < 4; i++) {
            char k[8];
            snprintf(k, sizeof k, "rtmr%d", i);
            ASPS_TRY(asps_json_get_hex(m, mp, k, a->rtmr[i], 48, &a->has_rtmr[i], eb));
        }
    }
    const cJSON *arr;
    ASPS_TRY(asps_json_get_array(m, mp, "tcb_statuses", &arr, &has, eb));
    if (has) {
        asps_json_path_key(fp, sizeof fp, mp, "tcb_statuses");
        a->tcb_mask = 0;
        size_t i = 0;
        for (const cJSON *e = arr->child; e; e = e->next, i++)
            ASPS_TRY(asps_policy_tcb_mask_add(cJSON_IsString(e) ? e->valuestring : NULL, fp, i,
                                              &a->tcb_mask, eb));
        if (a->tcb_mask == 0)
            return asps_fail(eb, ASPS_E_PARSE, "%s: must list at least one status", fp);
    }
    ASPS_TRY(asps_json_get_array(m, mp, "refuse_advisories", &arr, &has, eb));
    if (has) {
        asps_json_path_key(fp, sizeof fp, mp, "refuse_advisories");
        size_t n = (size_t)cJSON_GetArraySize(arr);
        if (n > ASPS_MAX_ADVISORIES * 16)
            return asps_fail(eb, ASPS_E_LIMIT, "%s: too many entries", fp);
        a->refuse = calloc(n ? n : 1, sizeof *a->refuse);
        if (!a->refuse)
            return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
        size_t i = 0;
        for (const cJSON *e = arr->child; e; e = e->next, i++) {
            if (!cJSON_IsString(e) || e->valuestring[0] == 0 ||
                strlen(e->valuestring) >= ASPS_ADVISORY_LEN)
                return asps_fail(eb, ASPS_E_PARSE,
                                 "%s[%zu]: expected an advisory ID such as \"INTEL-SA-00615\"",
                                 fp, i);
            snprintf(a->refuse[i], ASPS_ADVISORY_LEN, "%s", e->valuestring);
        }
        a->n_refuse = i;
    }
    return parse_recovery(a, m, mp, eb);
}

static asps_err parse_app(asps_policy *p, const cJSON *o, size_t idx, asps_errbuf *eb)
{
    static const char *const keys[] = {"name", "match", "allow_debug", "allow_simulated",
                                       "kms_credential", "secrets", NULL};
    char ap[64], mp[96], sp[96];
    snprintf(ap, sizeof ap, "apps[%zu]", idx);
    ASPS_TRY(asps_json_expect_object(o, ap, eb));
    ASPS_TRY(asps_json_check_keys(o, ap, keys, eb));
    asps_policy_app *a = asps_policy_add_app(p);
    if (!a)
        return asps_fail(eb, ASPS_E_LIMIT, "apps: more than %d apps", ASPS_POLICY_MAX_APPS);
    const char *name;
    ASPS_TRY(asps_json_get_string(o, ap, "name", 0, &name, NULL, eb));
    if (strlen(name) > ASPS_POLICY_MAX_NAME)
        return asps_fail(eb, ASPS_E_PARSE, "%s.name: longer than %d characters", ap,
                         ASPS_POLICY_MAX_NAME);
    if (!(a->name = asps_policy_strdup(name)))
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    const cJSON *m, *s;
    ASPS_TRY(asps_json_get_object(o, ap, "match", &m, NULL, eb));
    snprintf(mp, sizeof mp, "%s.match", ap);
    ASPS_TRY(parse_match(a, m, mp, eb));
    int has;
    ASPS_TRY(asps_json_get_bool(o, ap, "allow_debug", &a->allow_debug, &has, eb));
    ASPS_TRY(asps_json_get_bool(o, ap, "allow_simulated", &a->allow_simulated, &has, eb));
    const char *cred;
    ASPS_TRY(asps_json_get_string(o, ap, "kms_credential", 0, &cred, &has, eb));
    if (has && !(a->kms_credential = asps_policy_strdup(cred)))
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    ASPS_TRY(asps_json_get_object(o, ap, "secrets", &s, NULL, eb));
    snprintf(sp, sizeof sp, "%s.secrets", ap);
    for (const cJSON *e = s->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return asps_fail(eb, ASPS_E_PARSE, "%s.%s: expected a KMS reference (string)", sp,
                             e->string ? e->string : "");
        ASPS_TRY(asps_policy_app_add_secret(a, e->string ? e->string : "", e->valuestring, sp, eb));
    }
    return ASPS_OK;
}

static asps_err parse_native(const cJSON *root, asps_policy *p, asps_errbuf *eb)
{
    static const char *const keys[] = {"version", "kms", "apps", NULL};
    ASPS_TRY(asps_json_expect_object(root, "", eb));
    ASPS_TRY(asps_json_check_keys(root, "", keys, eb));
    int64_t ver;
    ASPS_TRY(asps_json_get_int(root, "", "version", 0, 1000, &ver, NULL, eb));
    if (ver != 1)
        return asps_fail(eb, ASPS_E_PARSE, "version: expected 1");
    const cJSON *k, *apps;
    int has;
    ASPS_TRY(asps_json_get_object(root, "", "kms", &k, &has, eb));
    if (has)
        ASPS_TRY(parse_kms(p, k, eb));
    ASPS_TRY(asps_json_get_array(root, "", "apps", &apps, NULL, eb));
    if (apps->child == NULL)
        return asps_fail(eb, ASPS_E_PARSE, "apps: must list at least one app");
    size_t i = 0;
    for (const cJSON *o = apps->child; o; o = o->next, i++)
        ASPS_TRY(parse_app(p, o, i, eb));
    return asps_policy_validate(p, "apps", eb);
}

asps_err asps_policy_parse(const char *json, size_t len, const char *what, asps_policy **out,
                           asps_errbuf *eb)
{
    if (!json || !out)
        return asps_fail(eb, ASPS_E_ARG, "policy: no input");
    if (!what)
        what = "policy";
    if (len > ASPS_POLICY_MAX_BYTES)
        return asps_fail(eb, ASPS_E_LIMIT, "%s: larger than %u bytes", what,
                         ASPS_POLICY_MAX_BYTES);
    cJSON *root;
    ASPS_TRY(asps_json_parse(json, len, what, &root, eb));
    asps_policy *p = asps_policy_new_empty();
    if (!p) {
        asps_json_delete_cleanse(root);
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    }
    asps_err e = parse_native(root, p, eb);
    /* The tree may hold kms_credential strings: cleanse before freeing. */
    asps_json_delete_cleanse(root);
    if (e != ASPS_OK) {
        asps_err_prefix(eb, ": ");
        asps_err_prefix(eb, what);
        asps_policy_free(p);
        return e;
    }
    *out = p;
    return ASPS_OK;
}

asps_err asps_policy_load_file(const char *path, asps_policy **out, asps_errbuf *eb)
{
    uint8_t *buf;
    size_t len;
    /* asps serve reads it again on SIGHUP, in the thread that takes its
     * signals: a FIFO in its place must not hold that thread (and with it
     * SIGTERM) waiting for a writer; a regular file only */
    ASPS_TRY(asps_read_regular_file(path, ASPS_POLICY_MAX_BYTES, &buf, &len, eb));
    asps_err e = asps_policy_parse((const char *)buf, len, path, out, eb);
    asps_cleanse_free(buf, len);
    if (e != ASPS_OK)
        return e;
    /* A relative kms.path is relative to the policy file, not to wherever
     * the server happens to be started. */
    asps_policy *p = *out;
    const char *slash = strrchr(path, '/');
    if (p->kms_path && p->kms_path[0] != '/' && slash) {
        size_t dl = (size_t)(slash - path), kl = strlen(p->kms_path);
        char *full = malloc(dl + 1 + kl + 1);
        if (!full) {
            asps_policy_free(p);
            *out = NULL;
            return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
        }
        memcpy(full, path, dl);
        full[dl] = '/';
        memcpy(full + dl + 1, p->kms_path, kl + 1);
        free(p->kms_path);
        p->kms_path = full;
    }
    return ASPS_OK;
}

/* ---- introspection ---------------------------------------------------- */

size_t asps_policy_app_count(const asps_policy *p)
{
    return p ? p->n_apps : 0;
}

const char *asps_policy_app_name(const asps_policy *p, size_t i)
{
    return (p && i < p->n_apps) ? p->apps[i].name : NULL;
}

asps_tee asps_policy_app_tee(const asps_policy *p, size_t i)
{
    return (p && i < p->n_apps) ? p->apps[i].tee : ASPS_TEE_SGX;
}

size_t asps_policy_app_secret_count(const asps_policy *p, size_t i)
{
    return (p && i < p->n_apps) ? p->apps[i].n_secrets : 0;
}

const char *asps_policy_app_secret_name(const asps_policy *p, size_t i, size_t j)
{
    if (!p || i >= p->n_apps || j >= p->apps[i].n_secrets)
        return NULL;
    return p->apps[i].secrets[j].name;
}

int asps_policy_app_has_credential(const asps_policy *p, size_t i)
{
    return (p && i < p->n_apps && p->apps[i].kms_credential != NULL);
}

/* Append ", " (unless first) and TEXT to OUT (LEN bytes), truncating. */
static void rules_add(char *out, size_t len, const char *text)
{
    size_t used = strlen(out);
    if (used + 1 < len)
        snprintf(out + used, len - used, "%s%s", used ? ", " : "", text);
}

void asps_policy_app_tcb_rules(const asps_policy *p, size_t i, char *out, size_t len)
{
    if (!out || len == 0)
        return;
    out[0] = 0;
    if (!p || i >= p->n_apps)
        return;
    const asps_policy_app *a = &p->apps[i];
    char item[80], d[32];
    if (a->has_min_eval) {
        snprintf(item, sizeof item, "min_tcb_evaluation_data_number %u", a->min_eval);
        rules_add(out, len, item);
    }
    if (a->has_min_tcb_date) {
        format_day(a->min_tcb_date, d);
        snprintf(item, sizeof item, "min_tcb_date %s", d);
        rules_add(out, len, item);
    }
    if (a->has_grace) {
        snprintf(item, sizeof item, "tcb_grace_days %u", a->grace_days);
        rules_add(out, len, item);
    }
    if (a->refuse_stale)
        rules_add(out, len, "refuse_stale_collateral");
}

void asps_policy_kms_info(const asps_policy *p, asps_policy_kms *out)
{
    memset(out, 0, sizeof *out);
    if (!p)
        return;
    out->type = p->kms_type;
    out->path = p->kms_path;
    out->addr = p->kms_addr;
    out->default_encoding = p->kms_encoding;
}

/* ---- matching ------------------------------------------------------------ */

static int advisory_equal(const char *a, const char *b)
{
    return strncmp(a, b, ASPS_ADVISORY_LEN) == 0;
}

/* Why status ST is not allowed by A, at AT, with grace considered: NULL
 * when it is allowed outright or under tcb_grace_days (*grace_until set),
 * else the reason (in OUT) and, for a grace that is over, *rule. */
static const char *status_mismatch(const asps_policy_app *a, const asps_claims *c, int64_t at,
                                   char *out, size_t outlen, int64_t *grace_until,
                                   const char **rule)
{
    asps_tcb_status st = c->tcb_status;
    if ((unsigned)st < ASPS_TCB__COUNT && (a->tcb_mask & (1u << st)))
        return NULL;
    const char *name = asps_tcb_status_name(st);
    int demoted = st == ASPS_TCB_OUT_OF_DATE || st == ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    if (!a->has_grace || !demoted) {
        snprintf(out, outlen, "TCB status %s not allowed", name);
        return out;
    }
    if (c->demoted_at == 0) {
        snprintf(out, outlen, "TCB status %s not allowed (tcb_grace_days: no TCB recovery date "
                 "for its level)", name);
        return out;
    }
    int64_t until = c->demoted_at + (int64_t)a->grace_days * 86400;
    if (at >= until) {
        char d[32];
        format_day(c->demoted_at, d);
        snprintf(out, outlen, "TCB status %s not allowed, grace over: demoted %s, %u days", name,
                 d, a->grace_days);
        *rule = "tcb_grace_over";
        return out;
    }
    *grace_until = until;
    return NULL;
}

/* NULL if app A accepts claims C at AT, else why not (static text or OUT;
 * *rule names a TCB recovery rule that refused). *grace_until: when A
 * accepts C only under its tcb_grace_days, until when; else 0. All
 * measurement compares run in constant time over the whole value. */
static const char *app_mismatch(const asps_policy_app *a, const asps_claims *c, int64_t at,
                                char *out, size_t outlen, int64_t *grace_until,
                                const char **rule)
{
    *grace_until = 0;
    *rule = NULL;
    if (c->tee != a->tee)
        return "TEE type differs";
    if (c->simulated && !a->allow_simulated)
        return "simulated evidence not allowed";
    if (c->debug && !a->allow_debug)
        return "debug enclave not allowed";
    if (a->tee == ASPS_TEE_SGX) {
        const asps_claims_sgx *s = &c->sgx;
        if (a->has_mrenclave && CRYPTO_memcmp(a->mrenclave, s->mr_enclave, 32) != 0)
            return "mrenclave differs";
        if (a->has_mrsigner && CRYPTO_memcmp(a->mrsigner, s->mr_signer, 32) != 0)
            return "mrsigner differs";
        if (a->has_isv_prod_id && s->isv_prod_id != a->isv_prod_id) {
            snprintf(out, outlen, "isv_prod_id %u differs from %u", s->isv_prod_id,
                     a->isv_prod_id);
            return out;
        }
        if (s->isv_svn < a->min_isv_svn) {
            snprintf(out, outlen, "isv_svn %u below minimum %u", s->isv_svn, a->min_isv_svn);
            return out;
        }
        if (s->config_svn < a->min_config_svn) {
            snprintf(out, outlen, "config_svn %u below minimum %u", s->config_svn,
                     a->min_config_svn);
            return out;
        }
    } else {
        const asps_claims_tdx *t = &c->tdx;
        if (a->has_mrtd && CRYPTO_memcmp(a->mrtd, t->mr_td, 48) != 0)
            return "mrtd differs";
        for (int i = 0; i < 4; i++)
            if (a->has_rtmr[i] && CRYPTO_memcmp(a->rtmr[i], t->rtmr[i], 48) != 0) {
                snprintf(out, outlen, "rtmr%d differs", i);
                return out;
            }
    }
    int64_t until = 0;
    const char *why = status_mismatch(a, c, at, out, outlen, &until, rule);
    if (why)
        return why;
    /* TCB recovery baselines: the verdict's TCB info and the matched
     * level must be at least this recent, whatever the status says */
    if (a->has_min_eval && c->tcb_info_evaluation_data_number < a->min_eval) {
        snprintf(out, outlen, "tcb_evaluation_data_number %u < %u",
                 c->tcb_info_evaluation_data_number, a->min_eval);
        *rule = "tcb_evaluation_data_number";
        return out;
    }
    if (a->has_min_tcb_date && c->tcb_date < a->min_tcb_date) {
        char have[32] = "unknown", need[32];
        if (c->tcb_date)
            format_day(c->tcb_date, have);
        format_day(a->min_tcb_date, need);
        snprintf(out, outlen, "tcb_date %s < %s", have, need);
        *rule = "tcb_date";
        return out;
    }
    if (a->refuse_stale && c->collateral_stale) {
        snprintf(out, outlen, "stale collateral refused (%lld s past nextUpdate)",
                 (long long)c->collateral_stale_seconds);
        *rule = "stale_collateral";
        return out;
    }
    /* A refused advisory counts wherever it applies: the platform TCB
     * level's (Intel's list), the QE identity level's or the TDX module
     * level's; each affects the evidence. */
    const struct {
        size_t n;
        const char (*ids)[ASPS_ADVISORY_LEN];
        const char *where;
    } lists[] = {
        {c->n_advisories, c->advisory_ids, ""},
        {c->n_qe_advisories, c->qe_advisory_ids, " (QE identity)"},
        {c->n_tdx_module_advisories, c->tdx_module_advisory_ids, " (TDX module)"},
    };
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        size_t na = lists[l].n < ASPS_MAX_ADVISORIES ? lists[l].n : ASPS_MAX_ADVISORIES;
        for (size_t i = 0; i < na; i++)
            for (size_t j = 0; j < a->n_refuse; j++)
                if (advisory_equal(lists[l].ids[i], a->refuse[j])) {
                    snprintf(out, outlen, "advisory %.*s refused%s", ASPS_ADVISORY_LEN - 1,
                             a->refuse[j], lists[l].where);
                    return out;
                }
    }
    *grace_until = until;
    return NULL;
}

/* The apps that may match claims, ascending (file order): the index
 * buckets of the claims' keys (SGX: mrenclave, and mrsigner +
 * isv_prod_id; TDX: mrtd) merged with the scan list. Without an index,
 * every app. */
typedef struct candidates {
    const uint32_t *list[3];
    size_t len[3], pos[3];
    int n;
    size_t all, n_all; /* no index: 0..n_all-1 */
} candidates;

static void candidates_add(candidates *c, const asps_policy *p, const mkey *k)
{
    const asps_policy_slot *s = index_find(p, k);
    if (s) {
        c->list[c->n] = p->idx_members + s->start;
        c->len[c->n++] = s->count;
    }
}

static void candidates_init(candidates *c, const asps_policy *p, const asps_claims *cl)
{
    memset(c, 0, sizeof *c);
    if (!p->idx_slots) {
        c->n_all = p->n_apps;
        return;
    }
    if (cl->tee == ASPS_TEE_SGX) {
        mkey e = {KEY_SGX_ENCLAVE, cl->sgx.mr_enclave, 32, 0};
        mkey g = {KEY_SGX_SIGNER, cl->sgx.mr_signer, 32, cl->sgx.isv_prod_id};
        candidates_add(c, p, &e);
        candidates_add(c, p, &g);
    } else if (cl->tee == ASPS_TEE_TDX) {
        mkey t = {KEY_TDX_MRTD, cl->tdx.mr_td, 48, 0};
        candidates_add(c, p, &t);
    }
    if (p->n_scan) {
        c->list[c->n] = p->scan;
        c->len[c->n++] = p->n_scan;
    }
}

/* The next candidate (lowest index left), or SIZE_MAX. */
static size_t candidates_next(candidates *c)
{
    if (c->n_all)
        return c->all < c->n_all ? c->all++ : SIZE_MAX;
    int best = -1;
    for (int l = 0; l < c->n; l++)
        if (c->pos[l] < c->len[l] &&
            (best < 0 || c->list[l][c->pos[l]] < c->list[best][c->pos[best]]))
            best = l;
    return best < 0 ? SIZE_MAX : c->list[best][c->pos[best]++];
}

static void reason_append(char *r, size_t n, const char *fmt, const char *a, const char *b)
{
    size_t used = strlen(r);
    if (used + 1 < n)
        snprintf(r + used, n - used, fmt, a, b);
}

/* "app 'NAME' matched; all N names granted" into R (cut to fit, as
 * snprintf would): every granted call's reason, built by hand because
 * snprintf's format pass cost a third of a decision. */
static void reason_granted(char *r, size_t cap, const char *app, size_t n)
{
    char num[24];
    size_t k = sizeof num;
    do {
        num[--k] = (char)('0' + n % 10);
        n /= 10;
    } while (n && k);
    const char *parts[] = {"app '", app, "' matched; all ", NULL, " names granted"};
    size_t used = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0] && used + 1 < cap; i++) {
        const char *p = parts[i] ? parts[i] : num + k;
        size_t len = parts[i] ? strlen(p) : sizeof num - k;
        if (len > cap - 1 - used)
            len = cap - 1 - used;
        memcpy(r + used, p, len);
        used += len;
    }
    r[used] = 0;
}

/* What an accepted match carries beyond the names: grace, stale use. */
static void reason_marks(asps_decision *d, const asps_claims *c)
{
    size_t used = strlen(d->reason);
    if (d->grace && used + 1 < sizeof d->reason) {
        char until[32];
        format_day(d->grace_until, until);
        int64_t left = d->grace_left_seconds;
        used += (size_t)snprintf(d->reason + used, sizeof d->reason - used,
                                 "; grace: TCB status %s accepted until %s (%lld d %lld h left)",
                                 asps_tcb_status_name(c->tcb_status), until,
                                 (long long)(left / 86400), (long long)(left % 86400 / 3600));
    }
    if (c->collateral_stale && used + 1 < sizeof d->reason)
        snprintf(d->reason + used, sizeof d->reason - used,
                 "; collateral stale, %lld s past nextUpdate",
                 (long long)c->collateral_stale_seconds);
}

asps_err asps_policy_decide(const asps_policy *p, const asps_claims *claims,
                            const char *const *names, size_t n_names, asps_decision *d,
                            asps_errbuf *eb)
{
    return asps_policy_decide_at(p, claims, names, n_names, (int64_t)time(NULL), d, eb);
}

asps_err asps_policy_decide_at(const asps_policy *p, const asps_claims *claims,
                               const char *const *names, size_t n_names, int64_t at,
                               asps_decision *d, asps_errbuf *eb)
{
    if (!d)
        return asps_fail(eb, ASPS_E_ARG, "policy: no decision to fill");
    memset(d, 0, sizeof *d);
    if (!p || !claims || (n_names && !names)) {
        snprintf(d->reason, sizeof d->reason, "invalid request");
        return asps_fail(eb, ASPS_E_ARG, "policy: missing policy, claims or names");
    }
    if (n_names > ASPS_POLICY_MAX_REQUEST) {
        snprintf(d->reason, sizeof d->reason, "too many names (%zu)", n_names);
        return asps_fail(eb, ASPS_E_LIMIT, "policy: more than %d names requested",
                         ASPS_POLICY_MAX_REQUEST);
    }
    for (size_t i = 0; i < n_names; i++)
        if (names[i] == NULL) {
            snprintf(d->reason, sizeof d->reason, "invalid request");
            return asps_fail(eb, ASPS_E_ARG, "policy: NULL name");
        }
    d->n = n_names;
    d->grants = calloc(n_names ? n_names : 1, sizeof *d->grants);
    if (!d->grants) {
        d->n = 0;
        snprintf(d->reason, sizeof d->reason, "out of memory");
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    }
    for (size_t i = 0; i < n_names; i++)
        d->grants[i].name = names[i];

    const asps_policy_app *app = NULL;
    char why[160];
    int64_t grace_until = 0;
    /* Only the apps whose primary measurement is the claims' can match
     * (and only they can be refused by a TCB recovery rule, checked after
     * the measurements): try those in file order, so the first matching
     * app still decides. */
    candidates cand;
    candidates_init(&cand, p, claims);
    for (size_t i; (i = candidates_next(&cand)) != SIZE_MAX;) {
        const char *rule;
        const char *m = app_mismatch(&p->apps[i], claims, at, why, sizeof why, &grace_until,
                                     &rule);
        if (m == NULL) {
            app = &p->apps[i];
            break;
        }
        if (rule && !d->rule)
            d->rule = rule;
    }
    if (app == NULL) {
        /* Why, app by app in file order, as far as the reason holds: the
         * same text as trying every app, at a bounded cost (each entry
         * takes 23 characters or more of the 511) */
        snprintf(d->reason, sizeof d->reason, "no app matches:");
        for (size_t i = 0; i < p->n_apps && strlen(d->reason) + 1 < sizeof d->reason; i++) {
            const char *rule;
            int64_t until;
            const char *m = app_mismatch(&p->apps[i], claims, at, why, sizeof why, &until,
                                         &rule);
            reason_append(d->reason, sizeof d->reason, " app '%s': %s;", p->apps[i].name,
                          m ? m : "?");
        }
        if (p->n_apps == 0)
            snprintf(d->reason, sizeof d->reason, "no app matches: policy has no apps");
        return asps_fail(eb, ASPS_E_DENIED, "policy: denied");
    }
    d->app = app->name;
    d->kms_credential = app->kms_credential;
    d->rule = NULL; /* an app matched: earlier apps' refusals are not this decision's */
    if (grace_until) {
        d->grace = 1;
        d->grace_until = grace_until;
        d->grace_left_seconds = grace_until - at;
    }

    size_t denied = 0;
    for (size_t i = 0; i < n_names; i++) {
        for (size_t j = 0; j < app->n_secrets; j++)
            if (strcmp(app->secrets[j].name, names[i]) == 0) {
                d->grants[i].granted = 1;
                d->grants[i].kms_ref = app->secrets[j].ref;
                break;
            }
        denied += !d->grants[i].granted;
    }
    if (n_names == 0) {
        snprintf(d->reason, sizeof d->reason, "app '%s' matched; no names requested", app->name);
        reason_marks(d, claims);
        return asps_fail(eb, ASPS_E_DENIED, "policy: denied");
    }
    if (denied) {
        /* Same text whether the name exists elsewhere or nowhere. */
        snprintf(d->reason, sizeof d->reason, "app '%s' matched; not granted:", app->name);
        for (size_t i = 0; i < n_names; i++)
            if (!d->grants[i].granted)
                reason_append(d->reason, sizeof d->reason, " %s%s", names[i], "");
        reason_marks(d, claims);
        return asps_fail(eb, ASPS_E_DENIED, "policy: denied");
    }
    d->allowed = 1;
    reason_granted(d->reason, sizeof d->reason, app->name, n_names);
    reason_marks(d, claims);
    return ASPS_OK;
}

void asps_decision_clear(asps_decision *d)
{
    if (!d)
        return;
    free(d->grants);
    memset(d, 0, sizeof *d);
}

/* ---- serialising ---------------------------------------------------------- */

static int add_hex(cJSON *o, const char *key, const uint8_t *b, size_t n)
{
    char hex[2 * 48 + 1];
    asps_hex_encode(b, n, hex);
    return cJSON_AddStringToObject(o, key, hex) != NULL;
}

static int app_to_json(const asps_policy_app *a, cJSON *arr)
{
    cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateObject(), *s = cJSON_CreateObject();
    if (!o || !m || !s) {
        cJSON_Delete(o);
        cJSON_Delete(m);
        cJSON_Delete(s);
        return 0;
    }
    cJSON_AddItemToArray(arr, o);
    int ok = cJSON_AddStringToObject(o, "name", a->name) != NULL;
    cJSON_AddItemToObject(o, "match", m);
    ok &= cJSON_AddStringToObject(m, "tee", a->tee == ASPS_TEE_TDX ? "tdx" : "sgx") != NULL;
    if (a->tee == ASPS_TEE_SGX) {
        if (a->has_mrenclave)
            ok &= add_hex(m, "mrenclave", a->mrenclave, 32);
        if (a->has_mrsigner)
            ok &= add_hex(m, "mrsigner", a->mrsigner, 32);
        if (a->has_isv_prod_id)
            ok &= cJSON_AddNumberToObject(m, "isv_prod_id", a->isv_prod_id) != NULL;
        ok &= cJSON_AddNumberToObject(m, "min_isv_svn", a->min_isv_svn) != NULL;
        ok &= cJSON_AddNumberToObject(m, "min_config_svn", a->min_config_svn) != NULL;
    } else {
        if (a->has_mrtd)
            ok &= add_hex(m, "mrtd", a->mrtd, 48);
        for (int i = 0; i < 4; i++)
            if (a->has_rtmr[i]) {
                char k[8];
                snprintf(k, sizeof k, "rtmr%d", i);
                ok &= add_hex(m, k, a->rtmr[i], 48);
            }
    }
    cJSON *st = cJSON_AddArrayToObject(m, "tcb_statuses");
    ok &= st != NULL;
    for (int i = 0; st && i < ASPS_TCB__COUNT; i++)
        if (a->tcb_mask & (1u << i))
            cJSON_AddItemToArray(st, cJSON_CreateString(asps_tcb_status_name((asps_tcb_status)i)));
    if (a->n_refuse) {
        cJSON *ra = cJSON_AddArrayToObject(m, "refuse_advisories");
        ok &= ra != NULL;
        for (size_t i = 0; ra && i < a->n_refuse; i++)
            cJSON_AddItemToArray(ra, cJSON_CreateString(a->refuse[i]));
    }
    if (a->has_min_eval)
        ok &= cJSON_AddNumberToObject(m, "min_tcb_evaluation_data_number", a->min_eval) != NULL;
    if (a->has_min_tcb_date) {
        char d[32];
        format_day(a->min_tcb_date, d);
        ok &= cJSON_AddStringToObject(m, "min_tcb_date", d) != NULL;
    }
    if (a->has_grace)
        ok &= cJSON_AddNumberToObject(m, "tcb_grace_days", a->grace_days) != NULL;
    if (a->refuse_stale)
        ok &= cJSON_AddBoolToObject(m, "refuse_stale_collateral", 1) != NULL;
    ok &= cJSON_AddBoolToObject(o, "allow_debug", a->allow_debug) != NULL;
    ok &= cJSON_AddBoolToObject(o, "allow_simulated", a->allow_simulated) != NULL;
    if (a->kms_credential)
        ok &= cJSON_AddStringToObject(o, "kms_credential", a->kms_credential) != NULL;
    cJSON_AddItemToObject(o, "secrets", s);
    for (size_t i = 0; i < a->n_secrets; i++)
        ok &= cJSON_AddStringToObject(s, a->secrets[i].name, a->secrets[i].ref) != NULL;
    return ok;
}

asps_err asps_policy_to_json(const asps_policy *p, char **out, asps_errbuf *eb)
{
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL && cJSON_AddNumberToObject(root, "version", 1) != NULL;
    if (ok && p->kms_type) {
        cJSON *k = cJSON_AddObjectToObject(root, "kms");
        ok = k && cJSON_AddStringToObject(k, "type", p->kms_type);
        if (ok && p->kms_path)
            ok = cJSON_AddStringToObject(k, "path", p->kms_path) != NULL;
        if (ok && p->kms_addr)
            ok = cJSON_AddStringToObject(k, "addr", p->kms_addr) != NULL;
        if (ok && p->kms_encoding)
            ok = cJSON_AddStringToObject(k, "default_encoding", p->kms_encoding) != NULL;
    }
    cJSON *apps = ok ? cJSON_AddArrayToObject(root, "apps") : NULL;
    ok = ok && apps;
    for (size_t i = 0; ok && i < p->n_apps; i++)
        ok = app_to_json(&p->apps[i], apps);
    char *s = ok ? cJSON_Print(root) : NULL;
    asps_json_delete_cleanse(root);
    if (!s)
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    *out = s;
    return ASPS_OK;
}
