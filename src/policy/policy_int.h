/* policy_int.h: the policy model shared by the native loader (policy.c) and
 * the seed-format loaders (policy_seed.c). Not a public header. */
#ifndef ASPS_POLICY_INT_H
#define ASPS_POLICY_INT_H

#include <cjson/cJSON.h>

#include "policy.h"

typedef struct asps_policy_secret {
    char *name;
    char *ref;
} asps_policy_secret;

typedef struct asps_policy_app {
    char *name;
    asps_tee tee;
    /* SGX */
    int has_mrenclave, has_mrsigner, has_isv_prod_id;
    uint8_t mrenclave[32], mrsigner[32];
    uint16_t isv_prod_id, min_isv_svn, min_config_svn;
    /* TDX */
    int has_mrtd, has_rtmr[4];
    uint8_t mrtd[48], rtmr[4][48];
    /* both */
    uint32_t tcb_mask;                   /* bit (1 << asps_tcb_status) allowed */
    size_t n_refuse;
    char (*refuse)[ASPS_ADVISORY_LEN];
    /* TCB recovery (policy.h) */
    int has_min_eval;
    uint32_t min_eval;                   /* min_tcb_evaluation_data_number */
    int has_min_tcb_date;
    int64_t min_tcb_date;                /* unix seconds */
    int has_grace;
    uint32_t grace_days;                 /* tcb_grace_days */
    int refuse_stale;                    /* refuse_stale_collateral */
    int allow_debug, allow_simulated;
    char *kms_credential;                /* cleansed on free */
    size_t n_secrets;
    asps_policy_secret *secrets;
} asps_policy_app;

/* One key of the measurement index: the keys of its apps, grouped, are
 * members[start .. start + count) (app indexes, ascending = file order). */
typedef struct asps_policy_slot {
    uint32_t rep;   /* 1 + the first app with this key; 0: empty slot */
    uint32_t start, count;
} asps_policy_slot;

struct asps_policy {
    size_t n_apps, cap_apps;
    asps_policy_app *apps;
    char *kms_type, *kms_path, *kms_addr, *kms_encoding;
    /* Matching's index, built by asps_policy_validate: apps by primary
     * measurement (SGX mrenclave, else mrsigner + isv_prod_id; TDX mrtd),
     * open addressing over idx_mask + 1 slots (a power of 2, at least twice
     * the apps); apps without one are in scan[], ascending. No index
     * (idx_slots NULL): matching scans every app. */
    size_t idx_mask;
    asps_policy_slot *idx_slots;
    uint32_t *idx_members;
    size_t n_scan;
    uint32_t *scan;
};

/* An empty policy (calloc'd) to fill in. */
asps_policy *asps_policy_new_empty(void);
/* Append a zeroed app (defaults: SGX, UpToDate only); NULL on ENOMEM/limit. */
asps_policy_app *asps_policy_add_app(asps_policy *p);
/* Append a secret; copies both strings. */
asps_err asps_policy_app_add_secret(asps_policy_app *a, const char *name, const char *ref,
                                    const char *path, asps_errbuf *eb);
/* Whole-policy checks every loader runs last: each app identifies its
 * workload (SGX: mrenclave or mrsigner + isv_prod_id; TDX: mrtd), names
 * unique. LIST names the apps' list in errors ("apps" -> "apps[2]"). A
 * valid policy then gets the measurement index matching uses (time and
 * memory linear in the apps); change no app's match after this. */
asps_err asps_policy_validate(asps_policy *p, const char *list, asps_errbuf *eb);
char *asps_policy_strdup(const char *s);

#endif
