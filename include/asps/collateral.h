/* asps/collateral.h: DCAP verification collateral.
 *
 * A collateral set is what Intel's PCS/PCCS serves for one platform: the root
 * CA CRL, the PCK CRL with its issuer chain, TCB info and QE identity with
 * their signatures and issuer chains. asps reads it from a bundle file (the
 * bundle format of README.md, "Collateral bundle") or fetches it from a PCCS.
 * Parsing checks shape only; asps_verify_quote() checks every signature.
 */
#ifndef ASPS_COLLATERAL_H
#define ASPS_COLLATERAL_H

#include <stdint.h>
#include <stddef.h>

#include "asps/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asps_collateral asps_collateral;

/* Parse a bundle (JSON object, all values strings; README "Collateral
 * bundle" gives the fields) of LEN bytes, read through the strict JSON
 * reader. On ASPS_OK *out is the caller's (asps_collateral_free). Errors:
 * ASPS_E_PARSE (not JSON, a field missing, not a string, bad hex or PEM;
 * the message names the field, never its content), ASPS_E_NOMEM. Nothing
 * is verified here: asps_verify_quote does that. */
asps_err asps_collateral_parse_bundle(const uint8_t *json, size_t len,
                                      asps_collateral **out, asps_errbuf *eb);
/* Serialise back to the bundle format (malloc'd, NUL-terminated; the
 * caller frees it). Errors: ASPS_E_NOMEM. */
asps_err asps_collateral_to_bundle(const asps_collateral *c, char **out, asps_errbuf *eb);
/* Read the bundle file at PATH (at most 16 MiB) and
 * parse it as asps_collateral_parse_bundle does. Errors: those of reading
 * the file (ASPS_E_IO, ASPS_E_LIMIT over the size) and of parsing. */
asps_err asps_collateral_load_file(const char *path, asps_collateral **out,
                                   asps_errbuf *eb);
/* Build from parts as a PCCS serves them. DER CRLs; chains in PEM; the
 * tcb_info / qe_identity bodies exactly as signed; signatures raw r||s. */
typedef struct asps_collateral_parts {
    const char *pck_crl_issuer_chain;
    const uint8_t *root_ca_crl; size_t root_ca_crl_len;
    const uint8_t *pck_crl; size_t pck_crl_len;
    const char *tcb_info_issuer_chain;
    const char *tcb_info; size_t tcb_info_len;
    const uint8_t *tcb_info_signature; size_t tcb_info_signature_len;
    const char *qe_identity_issuer_chain;
    const char *qe_identity; size_t qe_identity_len;
    const uint8_t *qe_identity_signature; size_t qe_identity_signature_len;
    /* Optional (NULL: absent), for TCB recovery: the update=early TCB info
     * (same issuer chain as tcb_info), and the TCB evaluation data numbers
     * list (PCS v4 .../tcbevaluationdatanumbers: the "tcbEvaluationDataNumbers"
     * object's exact bytes, its signature r||s, its issuer chain from the
     * TCB-Evaluation-Data-Numbers-Issuer-Chain header). */
    const char *tcb_info_early; size_t tcb_info_early_len;
    const uint8_t *tcb_info_early_signature; size_t tcb_info_early_signature_len;
    const char *tcb_eval_numbers_issuer_chain;
    const char *tcb_eval_numbers; size_t tcb_eval_numbers_len;
    const uint8_t *tcb_eval_numbers_signature; size_t tcb_eval_numbers_signature_len;
} asps_collateral_parts;
asps_err asps_collateral_from_parts(const asps_collateral_parts *p,
                                    asps_collateral **out, asps_errbuf *eb);
void asps_collateral_free(asps_collateral *c);

/* What a collateral set holds, read without verifying anything (for
 * `asps collateral show`, logs and caches). Times are unix seconds. */
#define ASPS_COLLATERAL_MAX_EVAL_NUMBERS 64
typedef struct asps_collateral_info {
    int is_tdx;                   /* TCB info id "TDX" */
    uint8_t fmspc[6];
    char pck_ca[16];              /* "processor" or "platform", from the PCK CRL issuer; "" unknown */
    uint32_t tcb_info_version;
    uint32_t tcb_info_evaluation_data_number;
    int64_t tcb_info_issue_date, tcb_info_next_update;
    int has_early;                /* an update=early TCB info is held */
    uint32_t early_evaluation_data_number;
    int64_t early_issue_date, early_next_update;
    uint32_t qe_identity_evaluation_data_number;
    int64_t qe_identity_issue_date, qe_identity_next_update;
    int64_t pck_crl_this_update, pck_crl_next_update;
    int64_t root_ca_crl_this_update, root_ca_crl_next_update;
    int has_eval_numbers;         /* the evaluation data numbers list is held */
    int64_t eval_numbers_issue_date, eval_numbers_next_update;
    size_t n_eval_numbers;        /* as listed (Intel: newest first) */
    struct {
        uint32_t number;
        int64_t tcb_recovery_event_date;
        int64_t tcb_date;
    } eval_numbers[ASPS_COLLATERAL_MAX_EVAL_NUMBERS];
    int64_t next_update;          /* the earliest nextUpdate of everything held */
} asps_collateral_info;
/* Errors: ASPS_E_PARSE naming the part that does not read. */
asps_err asps_collateral_info_get(const asps_collateral *c, asps_collateral_info *out,
                                  asps_errbuf *eb);

/* SHA-256 over all fields; identifies a collateral set in caches. */
void asps_collateral_digest(const asps_collateral *c, uint8_t out[32]);

#ifdef __cplusplus
}
#endif
#endif
