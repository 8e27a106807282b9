/* claims_json.h: claims as JSON (hex strings), for the CLI and audit log. */
#ifndef ASPS_CLAIMS_JSON_H
#define ASPS_CLAIMS_JSON_H

#include <cjson/cJSON.h>

#include "asps/claims.h"

/* Add the claims' fields to obj: tee, tcb_status, advisory_ids (Intel's:
 * the platform TCB level's), qe_advisory_ids, tdx_module_advisory_ids
 * (TDX), tcb_info_evaluation_data_number, qe_identity_evaluation_data_number,
 * tcb_date and qe_tcb_date (RFC 3339), simulated, debug, expires_at and the
 * measurements of the TEE. 0 ok, -1 no memory. */
int asps_claims_to_json(const asps_claims *c, cJSON *obj);
/* Just the measurement fields (for policy/audit). */
int asps_claims_measurements_to_json(const asps_claims *c, cJSON *obj);
int asps_json_add_hex(cJSON *obj, const char *name, const uint8_t *b, size_t n);

#endif
