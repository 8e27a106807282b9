/* decision.h: a policy decision for verified claims on the command line
 * (`asps quote verify QUOTE ... --policy FILE [--at TIME]`). */
#ifndef ASPS_CLI_DECISION_H
#define ASPS_CLI_DECISION_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "asps/claims.h"
#include "policy.h"
#include "opts.h"

/* Load the policy at POLICY (once: the policy decided with is the one
 * checked, whatever happens to the file meanwhile): 0 and *OUT (the
 * caller's, asps_policy_free), or its error printed for H and
 * CLI_EXIT_USAGE, so that a policy that cannot be used is refused before
 * any verification is printed. */
int cli_decision_load(const cli_help *h, const char *policy, asps_policy **out);

/* The decision of the native policy P (loaded from POLICY, named in
 * messages) for CLAIMS (verified) at AT: the app that matches asking for
 * all its secrets, as the server would decide it. JSON non-NULL: added to
 * it as "decision": {"app", "allowed", "reason", "rule" (a TCB recovery
 * rule that refused), "grace": {"until", "left_seconds"}}; else printed as
 * "decision: allowed|denied: REASON". Returns RC when allowed,
 * CLI_EXIT_DENIED when denied or undecidable (the reason on stderr too). */
int cli_decision_show(const cli_help *h, const asps_policy *p, const char *policy,
                      const asps_claims *claims, int64_t at, cJSON *json, int rc);

#endif
