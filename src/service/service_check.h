/* service_check.h: what a server config loads, as the server loads it, for
 * the code that must say it or check it without serving (the start-up
 * banner and `asps serve --check`) and for the service itself
 * (generation.c), so that the three never differ. */
#ifndef ASPS_SERVICE_CHECK_H
#define ASPS_SERVICE_CHECK_H

#include "kms.h"
#include "policy.h"
#include "service.h"

/* The config's policy in its format (policy_format: native, cczoo or
 * occlum; seed formats with occlum_secrets and seed_allow_simulated).
 * NOTE, when not NULL, gets the seed conversion's notes, one line each
 * (asps_policy_seed_options.note). *out is the caller's. */
asps_err asps_service_policy_load(const asps_service_config *cfg,
                                  void (*note)(void *ctx, const char *line), void *note_ctx,
                                  asps_policy **out, asps_errbuf *eb);

/* The KMS the server opens for CFG and POLICY: the config's "kms", else
 * the policy's own. Strings point into CFG and POLICY. *from_config says
 * which. ASPS_E_ARG when neither names one. */
asps_err asps_service_kms_config(const asps_service_config *cfg, const asps_policy *policy,
                                 asps_kms_config *out, int *from_config, asps_errbuf *eb);

#endif
