/* status.c: the one table between service results and gRPC statuses (see
 * status.h). Owns no state. The rows are the wire protocol of DESIGN.md
 * ("Errors are gRPC statuses") plus the legacy protocols' FAILED_PRECONDITION
 * for a value they cannot carry. */
#include "status.h"

#include "rpc.h"

#define ANY_ERR ((asps_err)-1)
#define NO_VERDICT ASPS_VERDICT__COUNT /* a status only the transport sends */

static const struct row {
    int status;
    asps_verdict verdict; /* server: the service's verdict ... */
    asps_err err;         /* ... and error (ANY_ERR: any) that get STATUS */
    asps_err client;      /* client: what STATUS means as an asps_err */
} table[] = {
    {ASPS_RPC_OK, ASPS_VERDICT_GRANTED, ANY_ERR, ASPS_OK},
    {ASPS_RPC_RESOURCE_EXHAUSTED, ASPS_VERDICT_INVALID, ASPS_E_LIMIT, ASPS_E_ARG},
    {ASPS_RPC_INVALID_ARGUMENT, ASPS_VERDICT_INVALID, ANY_ERR, ASPS_E_ARG},
    {ASPS_RPC_UNAUTHENTICATED, ASPS_VERDICT_UNAUTHENTICATED, ANY_ERR, ASPS_E_DENIED},
    {ASPS_RPC_PERMISSION_DENIED, ASPS_VERDICT_DENIED, ANY_ERR, ASPS_E_DENIED},
    {ASPS_RPC_UNAVAILABLE, ASPS_VERDICT_UNAVAILABLE, ANY_ERR, ASPS_E_UNAVAILABLE},
    {ASPS_RPC_FAILED_PRECONDITION, ASPS_VERDICT_REFUSED, ANY_ERR, ASPS_E_ARG},
    {ASPS_RPC_INTERNAL, ASPS_VERDICT_ERROR, ANY_ERR, ASPS_E_ARG},
    {ASPS_RPC_DEADLINE_EXCEEDED, NO_VERDICT, ANY_ERR, ASPS_E_UNAVAILABLE},
};
#define N_ROWS (sizeof table / sizeof table[0])

int asps_rpc_status_of(asps_err err, asps_verdict verdict)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (table[i].verdict == verdict && (table[i].err == ANY_ERR || table[i].err == err))
            return table[i].status;
    return ASPS_RPC_INTERNAL;
}

asps_verdict asps_rpc_verdict_of_status(int status, int retry)
{
    /* the server's passing state (busy, shutting down, collateral trouble):
     * retry later; a connection whose evidence was refused; else the call
     * itself was wrong (missing or unreadable message, unknown method) */
    if (retry || status == ASPS_RPC_UNAVAILABLE || status == ASPS_RPC_DEADLINE_EXCEEDED)
        return ASPS_VERDICT_UNAVAILABLE;
    if (status == ASPS_RPC_UNAUTHENTICATED)
        return ASPS_VERDICT_UNAUTHENTICATED;
    if (status == ASPS_RPC_CANCELLED) /* the client went away first */
        return ASPS_VERDICT_CANCELLED;
    return ASPS_VERDICT_INVALID;
}

asps_err asps_rpc_err_of_status(int status)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (table[i].status == status)
            return table[i].client;
    return ASPS_E_ARG;
}

asps_err asps_rpc_err_of_reply(int status, long pushback_ms)
{
    /* RESOURCE_EXHAUSTED with gRPC's retry pushback is the server busy, not
     * a request over a limit */
    if (status == ASPS_RPC_RESOURCE_EXHAUSTED && pushback_ms >= 0)
        return ASPS_E_UNAVAILABLE;
    return asps_rpc_err_of_status(status);
}
