/* claims_json.h: claims as JSON (hex strings), for the CLI and audit log. */
#ifndef ASPS_CLAIMS_JSON_H
#define ASPS_CLAIMS_JSON_H

#include <cjson/cJSON.h>

#include "asps/claims.h"

/* Add the claims' fields to obj: tee, tcb_status, advisory_ids (Intel's:
 * the platform TCB level's), qe_advisory_ids, tdx_module_advisory_ids
 * (TDX), tcb_info_evaluation_data_number, qe_identity_evaluation_data_number,
 * tcb_date and qe_tcb_date (RFC 3339), simulated, debug, expires_at and the
 * measurements of the TEE; TCB recovery (README "TCB recovery"): tcb_update
 * ("standard"|"early"), tcb_recovery_event_date and demoted_at (RFC 3339,
 * when set), forecast {update, status (null: no level matched),
 * evaluation_data_number, effective_at (null: unknown), worse} whenever the
 * other set was held (the audit line: only when worse), behind
 * [{component, have, need}] (as the audit line) and gap {next_tcb_status,
 * next_tcb_date (null: only the TDX module or QE is behind),
 * cleared_advisory_ids} when a higher level exists, collateral_stale and
 * (when stale) collateral_stale_seconds.
 * 0 ok, -1 no memory. */
int asps_claims_to_json(const asps_claims *c, cJSON *obj);
/* Just the measurement fields (for policy/audit). */
int asps_claims_measurements_to_json(const asps_claims *c, cJSON *obj);
int asps_json_add_hex(cJSON *obj, const char *name, const uint8_t *b, size_t n);

/* The TCB recovery lines of `asps quote verify` (each ends in "\n"; none
 * when there is nothing to say) into BUF (SIZE bytes, NUL-terminated):
 *   tcb update: early (TCB evaluation data number N)        (early verdict)
 *   forecast: S under TCB evaluation data number N, which becomes standard on DATE
 *   demoted: DATE (TCB recovery of DATE, standard|early set)
 *   behind: COMPONENT HAVE < NEED; ...; moving up to S (tcbDate DATE) clears IDS
 *   collateral: stale, N s past nextUpdate
 * DATE is YYYY-MM-DD at UTC midnight, else RFC 3339. 0 ok, -1 truncated. */
int asps_claims_tcb_text(const asps_claims *c, char *buf, size_t size);

#endif
