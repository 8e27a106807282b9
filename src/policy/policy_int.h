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

struct asps_policy {
    size_t n_apps;
    asps_policy_app *apps;
    char *kms_type, *kms_path, *kms_addr, *kms_encoding;
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
 * unique. LIST names the apps' list in errors ("apps" -> "apps[2]"). */
asps_err asps_policy_validate(const asps_policy *p, const char *list, asps_errbuf *eb);
char *asps_policy_strdup(const char *s);

#endif
