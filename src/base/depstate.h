/* depstate.h: whether the services asps depends on (the KMS, the PCCS) are
 * up or down, as the calls that use them find it.
 *
 * Each call that reaches a dependency reports how it went. The first
 * failure after a success (or before any) logs one "down" line, the first
 * success after a failure one "recovered" line (both at warn, component
 * "kms" or "pccs"), so an outage makes two log lines however many calls
 * fail during it:
 *
 *   warn  kms: the KMS (vault) is down: vault: kv/app: Couldn't connect ...; calls that need it fail with UNAVAILABLE until it answers
 *   warn  kms: the KMS (vault) recovered after 12.3 s down (7 failed calls)
 *
 * The first success ever logs at debug only. Only the dependency's own
 * trouble is a failure (not reachable, 5xx, sealed, unreadable, malformed,
 * past the deadline); an answer that says "no such thing" or "not allowed"
 * shows it up. Process-wide (a server has one KMS and one PCCS at a time:
 * a reloaded KMS goes on in the same state; several PCCS URLs in failover
 * are one PCCS, up while one of them serves), thread-safe. The same rule
 * sets the asps_kms_up and asps_pccs_up gauges (service_metrics.c, pccs.c);
 * asps_dep_get reads the state back (the tests use it).
 * WHY and WHAT are log text: never a secret or a token. */
#ifndef ASPS_DEPSTATE_H
#define ASPS_DEPSTATE_H

#include <stdint.h>

typedef enum {
    ASPS_DEP_KMS = 0,
    ASPS_DEP_PCCS = 1,
    ASPS_DEP__COUNT
} asps_dep;

typedef enum {
    ASPS_DEP_UNKNOWN = 0, /* not used yet */
    ASPS_DEP_UP = 1,
    ASPS_DEP_DOWN = 2,
} asps_dep_status;

#define ASPS_DEP_ERR_MAX 256

typedef struct asps_dep_state {
    asps_dep_status status;
    int64_t since;          /* unix seconds of the last change of status; 0 never */
    uint64_t ok_total;      /* calls that found it up */
    uint64_t failed_total;  /* calls that found it down */
    uint64_t outages;       /* changes to down (the first failure ever included) */
    uint64_t failed_now;    /* failures in the current outage; 0 when up */
    char last_error[ASPS_DEP_ERR_MAX]; /* the last failure's message, "" if none */
} asps_dep_state;

/* A call found D up. WHAT names the backend for the log ("vault", "file",
 * the PCCS's base URL); NULL for none. */
void asps_dep_ok(asps_dep d, const char *what);
/* A call found D down; WHY is its error message (cut at ASPS_DEP_ERR_MAX). */
void asps_dep_down(asps_dep d, const char *what, const char *why);
/* A copy of D's state now. */
void asps_dep_get(asps_dep d, asps_dep_state *out);
/* "kms", "pccs" (the log component and a metric label); "?" out of range. */
const char *asps_dep_name(asps_dep d);
/* Every dependency back to unknown, counts 0 (tests). */
void asps_dep_reset(void);

#endif
