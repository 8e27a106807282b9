/* service_int.h: what the service's files share inside src/service (never
 * included from elsewhere). */
#ifndef ASPS_SERVICE_INT_H
#define ASPS_SERVICE_INT_H

#include "kms.h"
#include "policy.h"
#include "service.h"

/* One generation of policy + KMS (generation.c); refcounted by the service. */
typedef struct generation {
    asps_policy *policy;
    asps_kms *kms;
    int refs;
} generation;

/* Load a generation from CFG's files (policy in its format, the KMS of the
 * config or else the policy's). */
asps_err asps_generation_load(const asps_service_config *cfg, generation **out, asps_errbuf *eb);
void asps_generation_free(generation *g);

/* Evidence that did not verify (error E, message MSG): the verdict (UNAVAILABLE
 * for the server's own trouble: collateral, memory; else UNAUTHENTICATED),
 * *reason its short name for scripts and the refusal summary. */
asps_verdict asps_service__refusal_of(asps_err e, const char *msg, const char **reason);
/* The peer's words for such a refusal (DETAIL: the verifier's message). */
void asps_service__refusal_msg(asps_verdict v, const char *reason, const char *detail, char *msg,
                               size_t msglen);

/* Metrics (service_metrics.c; names and labels in README "Health probes
 * and metrics"). */
void asps_service__m_decision(asps_verdict v, const char *why);
/* A decided call's claims: counted when the other TCB info update set
 * gives a worse status (the coming demotion), by that status and the date
 * it takes effect. */
void asps_service__m_forecast(const asps_claims *c);
void asps_service__m_handshake(int accepted, const char *reason);
void asps_service__m_verification(double seconds, int ok);
/* One KMS fetch by BACKEND: its latency and result E (ASPS_OK, or the
 * error: unavailable, not_found, denied...). */
void asps_service__m_kms(const char *backend, double seconds, asps_err e);
/* The config generation now (1 at start, +1 per reload), or a failed reload. */
void asps_service__m_config(uint64_t generation, int reload_failed);

/* Tests: the claims cache's entries allocated now (it grows with the
 * certificates verified, up to claims_cache). */
size_t asps_service__claims_cache_entries(asps_service *s);
/* Tests: lookups of the claims cache by its index, each hashing the
 * certificate's text (in a handshake, and at a connection's first call;
 * other calls find their claims through the connection). */
uint64_t asps_service__claims_cache_lookups(asps_service *s);

#endif
