/* asps/policy.h: which workloads get which secrets.
 *
 * A policy is a list of apps. Each app has a match (what the verified claims
 * must say) and the secrets it may have (name -> KMS reference). Policy
 * decides on claims only (asps/claims.h): verification happened before.
 *
 * Native format (JSON; unknown or repeated fields are errors, so a misspelt
 * field can never leave a check out):
 *
 *   {
 *     "version": 1,
 *     "kms": {"type": "file", "path": "kms.json"},   (optional; a relative
 *             path is relative to the policy file; "vault" takes "addr";
 *             "default_encoding": "text" or "base64" for the file backend)
 *     "apps": [
 *       {
 *         "name": "web",
 *         "match": {
 *           "tee": "sgx",
 *           "mrenclave": "<64 hex>",        SGX: mrenclave and/or mrsigner
 *           "mrsigner": "<64 hex>",
 *           "isv_prod_id": 1,               required unless mrenclave given
 *           "min_isv_svn": 2,               default 0
 *           "min_config_svn": 0,            default 0
 *           "tcb_statuses": ["UpToDate"],   default ["UpToDate"]
 *           "refuse_advisories": ["INTEL-SA-00615"],
 *           "min_tcb_evaluation_data_number": 17,   optional (TCB recovery)
 *           "min_tcb_date": "2025-05-14",   optional; or RFC 3339 date-time
 *           "tcb_grace_days": 30,           optional, 0..3650
 *           "refuse_stale_collateral": false  default false
 *         },
 *         "allow_debug": false,             default false
 *         "allow_simulated": false,         default false
 *         "kms_credential": "...",          optional, passed to the KMS
 *         "secrets": {"image_key": "web/image_key"}
 *       },
 *       { "name": "td", "match": {"tee": "tdx", "mrtd": "<96 hex>",
 *                                 "rtmr0": "<96 hex>", ... "rtmr3": "<96 hex>"},
 *         "secrets": {...} }
 *     ]
 *   }
 *
 * Semantics:
 * - Measurements are compared whole and in constant time (CRYPTO_memcmp).
 *   An empty, short or non-hex measurement is a load error, never a wildcard.
 * - An app matches when every condition holds: TEE type, simulated (only if
 *   allow_simulated), debug (only if allow_debug), each measurement given,
 *   isv_prod_id equal, isv_svn >= min_isv_svn, config_svn >= min_config_svn,
 *   TCB status in tcb_statuses, no advisory in refuse_advisories (looked
 *   for in the platform's, the QE's and the TDX module's advisory IDs),
 *   and the TCB recovery rules below.
 * - TCB recovery (README.md "TCB recovery"; claims.h): the verdict's TCB
 *   info tcbEvaluationDataNumber >= min_tcb_evaluation_data_number; the
 *   matched TCB level's tcbDate >= min_tcb_date (a date alone is 00:00:00
 *   UTC; an unknown tcbDate, 0, is below any minimum); collateral used past
 *   its nextUpdate (claims.collateral_stale) refused when
 *   refuse_stale_collateral. tcb_grace_days N: a platform whose status is
 *   OutOfDate or OutOfDateConfigurationNeeded and not in tcb_statuses is
 *   still accepted when the claims say when it was demoted (demoted_at != 0)
 *   and the decision time is before demoted_at + N * 86400; the decision is
 *   then marked (grace, grace_until, grace_left_seconds). Only the status
 *   check is relaxed: every other condition still holds.
 * - The FIRST matching app (in file order) decides; later apps are not
 *   consulted, so one look at one app tells an auditor what a workload gets.
 *   Put narrower apps first. (Only apps whose primary measurement is the
 *   claims' are tried, in file order; a denial's reason still lists apps
 *   from the first, as far as it holds.)
 * - A request is all-or-nothing: every requested name must be in that app's
 *   secrets, else the whole request is denied (ASPS_E_DENIED). A name that
 *   exists nowhere and a name that belongs to another app get the same
 *   answer.
 */
#ifndef ASPS_POLICY_H
#define ASPS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size: loading is linear in the apps (duplicate names found through a hash
 * set) and a decision's cost does not grow with them (an index by primary
 * measurement: SGX mrenclave, else mrsigner + isv_prod_id; TDX mrtd). A
 * loaded app with two secrets keeps about 0.7 KB (bench/bench_policy.c:
 * 690-700 bytes, 70 MB at 100000 apps); loading takes, at its peak, about
 * 9x the file's size (the text, its parsed tree and the policy: 242 MB for
 * 28 MB, 100000 apps). 64 MiB holds 100000 apps of up to 671 bytes of JSON
 * each (an app with two secrets and two measurements: 290). */
#define ASPS_POLICY_MAX_BYTES (64u << 20) /* policy file size limit */
#define ASPS_POLICY_MAX_APPS 100000
#define ASPS_POLICY_MAX_SECRETS 4096      /* per app */
#define ASPS_POLICY_MAX_NAME 256          /* secret and app name length */
#define ASPS_POLICY_MAX_REQUEST 1024      /* names in one decision */

typedef struct asps_policy asps_policy;

/* Parse native JSON (LEN bytes). WHAT names the input in errors. */
asps_err asps_policy_parse(const char *json, size_t len, const char *what,
                           asps_policy **out, asps_errbuf *eb);
asps_err asps_policy_load_file(const char *path, asps_policy **out, asps_errbuf *eb);
void asps_policy_free(asps_policy *p);

/* Seed formats, turned into the same model (see src/policy/policy_seed.c). */
typedef enum asps_policy_format {
    ASPS_POLICY_NATIVE = 0,
    ASPS_POLICY_CCZOO,   /* CCZoo ASPS policy_vault.json / policy_no_kms.json */
    ASPS_POLICY_OCCLUM,  /* Occlum grpc_ratls ra_config / dynamic_config.json */
} asps_policy_format;

/* The TCB statuses the seed systems' verifiers accept: Occlum's grpc_ratls
 * and CCZoo's grpc-ra-tls (sgx_ra_tls_backends, the DCAP verify step) take
 * SGX_QL_QV_RESULT_OK and the five non-terminal results (CONFIG_NEEDED,
 * OUT_OF_DATE, OUT_OF_DATE_CONFIG_NEEDED, SW_HARDENING_NEEDED,
 * CONFIG_AND_SW_HARDENING_NEEDED) with only a warning, and refuse the rest.
 * Converted apps accept the same by default, so that a migrated deployment
 * keeps serving the platforms it served; a conversion note says so, and
 * seed_tcb_statuses (server config) or --seed-tcb-statuses narrows it. */
#define ASPS_POLICY_SEED_TCB_DEFAULT                                                          \
    ((1u << ASPS_TCB_UP_TO_DATE) | (1u << ASPS_TCB_SW_HARDENING_NEEDED) |                    \
     (1u << ASPS_TCB_CONFIGURATION_NEEDED) |                                                  \
     (1u << ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED) | (1u << ASPS_TCB_OUT_OF_DATE) | \
     (1u << ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED))

/* The one place TCB status names are read (policy "tcb_statuses", the
 * server config's "seed_tcb_statuses", --seed-tcb-statuses): NAME (Intel's
 * spelling, e.g. "UpToDate"; NULL for an entry that is not a string) ORed
 * into *MASK as (1 << asps_tcb_status). WHAT[INDEX] names the entry in
 * errors. An unknown name, NULL and "Revoked" (never allowed) are
 * ASPS_E_PARSE, *MASK unchanged. Callers check the finished mask is not 0. */
asps_err asps_policy_tcb_mask_add(const char *name, const char *what, size_t index,
                                  uint32_t *mask, asps_errbuf *eb);
/* A comma-separated LIST ("UpToDate,SWHardeningNeeded") -> *MASK, each name
 * through asps_policy_tcb_mask_add; WHAT names it in errors. Those errors,
 * an empty name, a trailing comma and an empty list are ASPS_E_PARSE. */
asps_err asps_policy_tcb_mask_parse(const char *list, const char *what, uint32_t *mask,
                                    asps_errbuf *eb);
/* MASK's names, comma-separated, into OUT (truncated to LEN). */
void asps_policy_tcb_mask_names(uint32_t mask, char *out, size_t len);

typedef struct asps_policy_seed_options {
    /* Occlum: secret_config.json (name -> base64). Its names become the
     * app's secrets and the file becomes the policy's KMS (file backend,
     * plain strings read as base64). Values are never read into the policy. */
    const char *occlum_secrets_path;
    /* CCZoo "kms": "none" keeps secret values inline in the policy. asps
     * keeps values out of policies: they are written to this KMS file
     * (0600) and the policy refers to them. Required for such input. */
    const char *kms_out_path;
    /* Check only: write nothing, and accept "kms": "none" without
     * kms_out_path (the policy then refers to a KMS file "(not written)"). */
    int validate_only;
    /* Let every converted app accept simulated evidence (the seed formats
     * have no such field; a server config that trusts the simulated
     * platform for tests or demos sets it). */
    int allow_simulated;
    /* The TCB statuses converted apps accept (mask of 1 << asps_tcb_status);
     * 0: ASPS_POLICY_SEED_TCB_DEFAULT, the seed verifiers' own. */
    uint32_t tcb_mask;
    /* Notes for the person converting (semantics that changed), one per
     * line; may be NULL. Called with a NUL-terminated line. */
    void (*note)(void *ctx, const char *line);
    void *note_ctx;
} asps_policy_seed_options;

asps_err asps_policy_load_seed(asps_policy_format fmt, const char *path,
                               const asps_policy_seed_options *opt,
                               asps_policy **out, asps_errbuf *eb);

/* Native JSON for P (malloc'd, NUL-terminated, pretty). It contains the
 * apps' kms_credential strings when present: treat it like the input. */
asps_err asps_policy_to_json(const asps_policy *p, char **out, asps_errbuf *eb);

/* Introspection (for `asps policy check` and the server). */
size_t asps_policy_app_count(const asps_policy *p);
const char *asps_policy_app_name(const asps_policy *p, size_t i);
asps_tee asps_policy_app_tee(const asps_policy *p, size_t i);
size_t asps_policy_app_secret_count(const asps_policy *p, size_t i);
const char *asps_policy_app_secret_name(const asps_policy *p, size_t i, size_t j);
int asps_policy_app_has_credential(const asps_policy *p, size_t i);
/* App I's TCB recovery rules as one line into OUT (truncated to LEN), e.g.
 * "min_tcb_evaluation_data_number 17, min_tcb_date 2025-05-14, tcb_grace_days
 * 30, refuse_stale_collateral"; empty when it has none. */
void asps_policy_app_tcb_rules(const asps_policy *p, size_t i, char *out, size_t len);
/* The policy's own "kms" block, or NULL type when absent. Strings point into
 * the policy. */
typedef struct asps_policy_kms {
    const char *type;  /* "file", "vault", ... (NULL: none given) */
    const char *path;  /* file backend */
    const char *addr;  /* vault */
    const char *default_encoding; /* file backend: "text" or "base64" */
} asps_policy_kms;
void asps_policy_kms_info(const asps_policy *p, asps_policy_kms *out);

/* One requested name and what policy says about it. */
typedef struct asps_grant {
    const char *name;     /* the requested name (caller's string) */
    int granted;          /* 1 if the matched app has it */
    const char *kms_ref;  /* its KMS reference (into the policy) or NULL */
} asps_grant;

typedef struct asps_decision {
    int allowed;                /* every requested name granted */
    const char *app;            /* name of the matched app, or NULL */
    const char *kms_credential; /* matched app's credential or NULL */
    size_t n;                   /* == number of requested names */
    asps_grant *grants;         /* n entries (malloc'd) */
    char reason[512];           /* for the audit log, never a secret value;
                                   not meant for the peer */
    /* Accepted under the matched app's tcb_grace_days (its TCB status is
     * not in tcb_statuses): until when (unix seconds) and how long is left
     * at the decision time. 0 when not. */
    int grace;
    int64_t grace_until;
    int64_t grace_left_seconds;
    /* The TCB recovery rule that refused (static text, for metrics labels):
     * "tcb_evaluation_data_number", "tcb_date", "tcb_grace_over",
     * "stale_collateral"; on a denial the first app in file order refused
     * by one of them, else NULL. */
    const char *rule;
} asps_decision;

/* Decide for CLAIMS asking for NAMES. Fills *d in every case (also on
 * denial) and returns ASPS_OK when allowed, ASPS_E_DENIED when not, or
 * ASPS_E_ARG/NOMEM/LIMIT. Pointers in *d point into P and NAMES: keep both
 * alive while using it, then call asps_decision_clear(). Thread-safe for
 * concurrent callers on one policy (read-only). */
asps_err asps_policy_decide(const asps_policy *p, const asps_claims *claims,
                            const char *const *names, size_t n_names,
                            asps_decision *d, asps_errbuf *eb);
/* The same, deciding at AT (unix seconds; the time tcb_grace_days is
 * counted against). asps_policy_decide decides at the current time. */
asps_err asps_policy_decide_at(const asps_policy *p, const asps_claims *claims,
                               const char *const *names, size_t n_names, int64_t at,
                               asps_decision *d, asps_errbuf *eb);
void asps_decision_clear(asps_decision *d);

#ifdef __cplusplus
}
#endif
#endif
