/* dcap_parse.h: internal models of DCAP collateral (TCB info, QE identity)
 * and of the PCK certificate's SGX extensions, shared by the verifier
 * (verify/dcap.c), the PCCS client (dates only) and tests. */
#ifndef ASPS_DCAP_INT_H
#define ASPS_DCAP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/err.h"

typedef struct asps_advisories {
    size_t n;
    char id[ASPS_MAX_ADVISORIES][ASPS_ADVISORY_LEN];
} asps_advisories;

typedef struct asps_tcb_level {
    uint8_t sgx_comp[16];
    uint16_t pcesvn;
    uint8_t tdx_comp[16];
    asps_tcb_status status;
    int64_t tcb_date;          /* tcbDate, unix seconds (QVL requires it) */
    asps_advisories adv;
} asps_tcb_level;

typedef struct asps_isvsvn_level {
    uint16_t isvsvn;
    asps_tcb_status status;
    int64_t tcb_date;          /* tcbDate, unix seconds (QVL requires it) */
    asps_advisories adv;       /* QVL reads none of a QE identity level's */
} asps_isvsvn_level;

typedef struct asps_tdx_module_identity {
    char id[16];
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    asps_isvsvn_level *levels;
    size_t n_levels;
} asps_tdx_module_identity;

typedef struct asps_tcb_info {
    int version;
    int is_tdx;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    int64_t issue_date, next_update;
    uint32_t tcb_evaluation_data_number;
    asps_tcb_level *levels;    /* sorted as QVL sorts them: highest first */
    size_t n_levels;
    int has_tdx_module;
    uint8_t mod_mrsigner[48];
    uint8_t mod_attributes[8];
    uint8_t mod_attributes_mask[8];
    asps_tdx_module_identity *mod_ids;
    size_t n_mod_ids;
    /* Intel's name of each component index (v3 "category: type", e.g.
     * "OS/VMM: SGX Late Microcode Update", from the first listed level that
     * names it, cut to 47 bytes); "" when none does, and always for v2 */
    char sgx_names[16][48], tdx_names[16][48];
} asps_tcb_info;

typedef struct asps_qe_identity {
    char id[8];                /* "QE", "TD_QE", "QVE" */
    int version;
    int64_t issue_date, next_update;
    uint32_t tcb_evaluation_data_number;
    uint32_t miscselect, miscselect_mask;
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    asps_isvsvn_level *levels;
    size_t n_levels;
} asps_qe_identity;

asps_err asps_dcap_parse_tcb_info(const char *json, size_t len, asps_tcb_info *out,
                                  asps_errbuf *eb);
void asps_dcap_tcb_info_clear(asps_tcb_info *t);
asps_err asps_dcap_parse_qe_identity(const char *json, size_t len, asps_qe_identity *out,
                                     asps_errbuf *eb);
void asps_dcap_qe_identity_clear(asps_qe_identity *q);

/* Only the issueDate and nextUpdate (unix seconds) of a TCB info or QE
 * identity body (the signed JSON object), for a cache that needs to know how
 * long collateral lasts and nothing else: the body is read by the same
 * strict JSON reader, but its other fields are neither read nor checked
 * (the verifier parses them all). WHAT names the body in errors
 * ("tcb_info", "qe_identity"); ASPS_E_PARSE when either date is missing or
 * not an RFC 3339 date. */
asps_err asps_dcap_collateral_dates(const char *json, size_t len, const char *what,
                                    int64_t *issue_date, int64_t *next_update, asps_errbuf *eb);

/* Intel's TCB evaluation data numbers list (PCS v4 GET
 * .../sgx|tdx/certification/v4/tcbevaluationdatanumbers: the
 * "tcbEvaluationDataNumbers" object, signed over its exact bytes by the TCB
 * signing key as TCB info is): which TCB recoveries Intel currently
 * publishes collateral for, each with its tcbRecoveryEventDate (from when
 * the update=early set carries it) and tcbDate. */
#define ASPS_MAX_EVAL_NUMBERS 64
typedef struct asps_tcb_eval_number {
    uint32_t number;                 /* tcbEvaluationDataNumber */
    int64_t tcb_recovery_event_date; /* unix seconds */
    int64_t tcb_date;                /* unix seconds */
} asps_tcb_eval_number;

typedef struct asps_tcb_eval_numbers {
    int is_tdx;                      /* id "TDX" (else "SGX") */
    uint32_t version;                /* 1 is the only one Intel serves */
    int64_t issue_date, next_update;
    size_t n;                        /* as listed (Intel: newest first), 1..64 */
    asps_tcb_eval_number items[ASPS_MAX_EVAL_NUMBERS];
} asps_tcb_eval_numbers;

/* Parse the tcbEvaluationDataNumbers object (LEN bytes, strict JSON; the
 * object itself, not the {"tcbEvaluationDataNumbers":..,"signature":..}
 * response around it). Every field required and type-checked; id "SGX" or
 * "TDX"; version 1; 1..64 entries, numbers unique. ASPS_E_PARSE (message
 * names the field), ASPS_E_UNSUPPORTED for another version, ASPS_E_LIMIT
 * over 64 entries. */
asps_err asps_dcap_parse_eval_numbers(const char *json, size_t len, asps_tcb_eval_numbers *out,
                                      asps_errbuf *eb);

/* The entry for NUMBER, or NULL. */
const asps_tcb_eval_number *asps_dcap_eval_number_find(const asps_tcb_eval_numbers *l,
                                                      uint32_t number);

/* Unix time T plus MONTHS calendar months (day clamped to the month's
 * last day, time of day kept): Intel's "12 months" between the early and
 * the standard update sets. */
int64_t asps_dcap_add_months(int64_t t, int months);

/* The SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1). */
typedef struct asps_pck_ext {
    uint8_t ppid[16];
    uint8_t cpusvn_comp[16];
    uint16_t pcesvn;
    uint8_t cpusvn[16];
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    int sgx_type;
} asps_pck_ext;

/* Parse the DER value of the SGX extension. */
asps_err asps_dcap_parse_pck_ext(const uint8_t *der, size_t len, asps_pck_ext *out,
                                 asps_errbuf *eb);

#endif
