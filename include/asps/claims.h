/* asps/claims.h: what a verified quote says, as plain data.
 *
 * Claims are a value, not a handle: the verifier fills one, policy reads it,
 * the audit log prints it. Every field comes from a quote whose signature
 * chain was verified; nothing here is trusted before asps_verify_quote()
 * returned ASPS_OK.
 */
#ifndef ASPS_CLAIMS_H
#define ASPS_CLAIMS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum asps_tee {
    ASPS_TEE_SGX = 0x00000000,
    ASPS_TEE_TDX = 0x00000081,
} asps_tee;

/* TCB statuses as Intel's TCB info names them. */
typedef enum asps_tcb_status {
    ASPS_TCB_UP_TO_DATE = 0,
    ASPS_TCB_SW_HARDENING_NEEDED,
    ASPS_TCB_CONFIGURATION_NEEDED,
    ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    ASPS_TCB_OUT_OF_DATE,
    ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    ASPS_TCB_REVOKED,
    ASPS_TCB_TD_RELAUNCH_ADVISED,
    ASPS_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
    ASPS_TCB__COUNT
} asps_tcb_status;

/* Intel's spelling ("UpToDate", ...); "Unknown" for out-of-range values. */
const char *asps_tcb_status_name(asps_tcb_status s);
/* Parse Intel's spelling; returns 0 on success, -1 if unknown. */
int asps_tcb_status_parse(const char *s, asps_tcb_status *out);

#define ASPS_MAX_ADVISORIES 64
#define ASPS_ADVISORY_LEN 32

typedef struct asps_claims_sgx {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t isv_ext_prod_id[16];
    uint8_t attributes[16];
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint8_t config_id[64];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint16_t config_svn;
    uint8_t isv_family_id[16];
    uint8_t report_data[64];
} asps_claims_sgx;

typedef struct asps_claims_tdx {
    uint8_t tee_tcb_svn[16];
    uint8_t mr_seam[48];
    uint8_t mr_signer_seam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mr_td[48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    uint8_t mr_owner_config[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    int has_v15;              /* TD report 1.5 fields below are present */
    uint8_t tee_tcb_svn2[16];
    uint8_t mr_servicetd[48];
} asps_claims_tdx;

/* TCB recovery (README.md, "TCB recovery"). Intel's PCS serves two sets of
 * TCB info per platform: update=standard, and update=early, which carries a
 * new TCB evaluation data number from its tcbRecoveryEventDate, 12 months
 * before the standard set does (Intel's published PCS policy). */

/* How a status under the other update set compares with the verdict's. */
typedef struct asps_tcb_forecast {
    int present;                     /* 1: the other set was held, verified and evaluated */
    int early;                       /* 1: the other set is update=early, 0: standard */
    uint32_t evaluation_data_number; /* its tcbEvaluationDataNumber */
    int matched;                     /* 0: no TCB level matched under it (tcb_status unset) */
    asps_tcb_status tcb_status;      /* the status it gives this quote */
    int worse;                       /* 1: tcb_status ranks below the verdict's
                                        (asps_tcb_status_rank) or no level matched */
    int64_t effective_at;            /* unix seconds when that set becomes the standard
                                        one (its number's tcbRecoveryEventDate + 12
                                        months); 0 unknown or not later than now */
} asps_tcb_forecast;

/* One SVN the platform is short of, against the next TCB level up. */
#define ASPS_MAX_SHORTFALLS 40
typedef struct asps_tcb_shortfall {
    /* "sgxtcbcomponent 2 (SGX Late Microcode Update)", "pcesvn",
     * "tdxtcbcomponent 0 (TEE_TCB_SVN byte 0)", "tdx module isvsvn",
     * "qe isvsvn": Intel's TCB info / QE identity terms, 0-based index */
    char component[64];
    uint16_t have;
    uint16_t need;
} asps_tcb_shortfall;

/* What moving up one TCB level would take, when the matched level is not
 * the highest of the verdict's TCB info (or the QE's level not its QE
 * identity's highest). */
typedef struct asps_tcb_gap {
    int present;                     /* 1: a higher level exists */
    asps_tcb_status next_status;     /* the status of the next level up */
    int64_t next_tcb_date;           /* its tcbDate (unix seconds) */
    size_t n_shortfalls;
    asps_tcb_shortfall shortfalls[ASPS_MAX_SHORTFALLS];
    /* advisory IDs of the matched level that the next level up does not
     * list: what moving up would clear */
    size_t n_cleared;
    char cleared_advisory_ids[ASPS_MAX_ADVISORIES][ASPS_ADVISORY_LEN];
} asps_tcb_gap;

/* Ordering of statuses for "worse than": UpToDate 0, SWHardeningNeeded 1,
 * ConfigurationNeeded 2, ConfigurationAndSWHardeningNeeded 3,
 * TDRelaunchAdvised 4, TDRelaunchAdvisedConfigurationNeeded 5, OutOfDate 6,
 * OutOfDateConfigurationNeeded 7, Revoked 8. */
int asps_tcb_status_rank(asps_tcb_status s);

typedef struct asps_claims {
    asps_tee tee;
    uint16_t quote_version;
    int simulated;            /* verified through a non-Intel root */
    int debug;                /* SGX ATTRIBUTES.DEBUG or TD ATTRIBUTES.DEBUG */
    asps_tcb_status tcb_status;
    /* The advisory IDs of the matched platform TCB level of the TCB info
     * (for TDX the level matched by both the SGX and TDX components), in
     * Intel's order: exactly what Intel's QvE reports (sa_list of the
     * supplemental data, qve.cpp qve_set_quote_supplemental_data). */
    size_t n_advisories;
    char advisory_ids[ASPS_MAX_ADVISORIES][ASPS_ADVISORY_LEN];
    /* The advisory IDs of the matched QE identity level, and (TDX, module
     * version > 0) of the matched TDX module identity level: not in Intel's
     * list (QvE does not report them), kept apart so that list stays Intel's. */
    size_t n_qe_advisories;
    char qe_advisory_ids[ASPS_MAX_ADVISORIES][ASPS_ADVISORY_LEN];
    size_t n_tdx_module_advisories;
    char tdx_module_advisory_ids[ASPS_MAX_ADVISORIES][ASPS_ADVISORY_LEN];
    /* The TCB recovery the verdict was made under: tcbEvaluationDataNumber
     * of the TCB info and of the QE identity used, and the tcbDate of the
     * matched TCB level and QE identity level (unix seconds). */
    uint32_t tcb_info_evaluation_data_number;
    uint32_t qe_identity_evaluation_data_number;
    int64_t tcb_date;
    int64_t qe_tcb_date;
    int64_t expires_at;       /* earliest nextUpdate/notAfter of collateral used */
    /* TCB recovery: which update set made the verdict, what the other one
     * says, when the matched level was demoted, what is short. */
    int tcb_update_early;           /* 1: the verdict's TCB info is the update=early one */
    int64_t tcb_recovery_event_date; /* the tcbRecoveryEventDate of the TCB recovery that
                                       put the matched platform level below the top: the
                                       oldest one newer than it, i.e. the nearest level
                                       above with a later tcbDate (from the evaluation
                                       data numbers list; else that tcbDate); 0 when no
                                       level above has a later tcbDate */
    int64_t demoted_at;             /* when that recovery took effect for the verdict's
                                       update set: early, the event date; standard, 12
                                       months later; 0 as above */
    asps_tcb_forecast forecast;
    asps_tcb_gap gap;
    /* Collateral used past its nextUpdate within the verifier's max_stale
     * (every source failed): marked, with how far past (seconds). */
    int collateral_stale;
    int64_t collateral_stale_seconds;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint16_t pce_svn;
    char ratls_format[32];    /* set by the ratls module: "gramine", "occlum" ... */
    asps_claims_sgx sgx;      /* valid when tee == ASPS_TEE_SGX */
    asps_claims_tdx tdx;      /* valid when tee == ASPS_TEE_TDX */
} asps_claims;

/* The 64 report-data bytes of whichever TEE the claims are for. */
const uint8_t *asps_claims_report_data(const asps_claims *c);

#ifdef __cplusplus
}
#endif
#endif
