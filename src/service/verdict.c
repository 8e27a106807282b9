/* verdict.c: what the service answers, transport-free: the verdicts' names
 * (the audit line's "verdict"), how evidence that did not verify is refused,
 * and a call's refusal (asps_call_refuse). Owns no state. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "service.h"
#include "service_int.h"

static const char *const verdict_names[ASPS_VERDICT__COUNT] = {
    [ASPS_VERDICT_GRANTED] = "granted",
    [ASPS_VERDICT_INVALID] = "invalid",
    [ASPS_VERDICT_UNAUTHENTICATED] = "unauthenticated",
    [ASPS_VERDICT_DENIED] = "denied",
    [ASPS_VERDICT_UNAVAILABLE] = "unavailable",
    [ASPS_VERDICT_REFUSED] = "refused",
    [ASPS_VERDICT_ERROR] = "error",
    [ASPS_VERDICT_CANCELLED] = "cancelled",
};

const char *asps_verdict_name(asps_verdict v)
{
    return (unsigned)v < ASPS_VERDICT__COUNT ? verdict_names[v] : "error";
}

/* How evidence that did not verify is refused: UNAVAILABLE (retry later)
 * when the trouble is the server's collateral, reason collateral_unavailable
 * (it could not be had; it does not verify or is out of date, which the
 * verifier marks with ASPS_COLLATERAL_ERR_PREFIX; or it does not fit the
 * platform the quote's valid PCK chain names: no fault of the peer's), or
 * the server itself (out of memory); UNAUTHENTICATED (fix the workload) with
 * the error's short name for everything about the evidence. */
asps_verdict asps_service__refusal_of(asps_err e, const char *msg, const char **reason)
{
    *reason = asps_err_name(e);
    switch (e) {
    case ASPS_E_NOMEM:
    case ASPS_E_INTERNAL:
        return ASPS_VERDICT_UNAVAILABLE;
    case ASPS_E_UNAVAILABLE:
    case ASPS_E_CRL_EXPIRED:
    case ASPS_E_TCB_INFO_EXPIRED:
    case ASPS_E_QE_IDENTITY_EXPIRED:
    case ASPS_E_CRL_SIGNATURE:
    case ASPS_E_CRL_ISSUER:
    case ASPS_E_TCB_INFO_SIGNATURE:
    case ASPS_E_QE_IDENTITY_SIGNATURE:
    case ASPS_E_TCB_INFO_MISMATCH:
        *reason = "collateral_unavailable";
        return ASPS_VERDICT_UNAVAILABLE;
    default:
        if (strncmp(msg, ASPS_COLLATERAL_ERR_PREFIX, strlen(ASPS_COLLATERAL_ERR_PREFIX)) == 0) {
            *reason = "collateral_unavailable";
            return ASPS_VERDICT_UNAVAILABLE;
        }
        return ASPS_VERDICT_UNAUTHENTICATED;
    }
}

/* The client's words for a refusal: the short reason first, so scripts can
 * match it; collateral details (PCCS addresses) stay in the audit log. */
void asps_service__refusal_msg(asps_verdict v, const char *reason, const char *detail, char *msg,
                        size_t msglen)
{
    if (v == ASPS_VERDICT_UNAUTHENTICATED)
        snprintf(msg, msglen, "evidence refused: %s (%s)", reason, detail);
    else
        snprintf(msg, msglen, "evidence not checked: %s (retry later)", reason);
}

/* Drop the values a call holds (cleansed). */
static void drop_secrets(asps_call *c)
{
    asps_secrets_free(c->secrets, c->n_secrets);
    c->secrets = NULL;
    c->n_secrets = 0;
}

static asps_err call_vrefuse(asps_call *c, asps_err err, asps_verdict verdict, const char *reason,
                             const char *fmt, va_list ap)
{
    /* the first refusal stands; a granted call may still be refused */
    if (c->done && c->err != ASPS_OK)
        return c->err;
    c->done = 1;
    c->why = NULL; /* the caller names it, if it knows better than the verdict */
    drop_secrets(c);
    c->err = err == ASPS_OK ? ASPS_E_INTERNAL : err;
    c->verdict = verdict;
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    snprintf(c->reason, sizeof c->reason, "%s", reason ? reason : c->msg);
    return c->err;
}

asps_err asps_call_refuse(asps_call *c, asps_err err, asps_verdict verdict, const char *reason,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    asps_err e = call_vrefuse(c, err, verdict, reason, fmt, ap);
    va_end(ap);
    return e;
}

