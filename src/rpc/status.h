/* status.h: the one table between asps's outcomes and gRPC statuses.
 *
 * The service (src/service) answers every call and every handshake with an
 * asps_err and a verdict and knows nothing of gRPC; this table, in the only
 * gRPC-aware layer, says which status the peer is told, which verdict a
 * status the transport sent by itself stands for, and, for the client, what
 * a status received means as an asps_err. The codes are gRPC's (rpc.h).
 */
#ifndef ASPS_RPC_STATUS_H
#define ASPS_RPC_STATUS_H

#include "asps/err.h"
#include "service.h"

/* Server: the status for a service result (ERR, VERDICT); ASPS_RPC_OK for
 * GRANTED. Never fails: an unknown pair is INTERNAL. */
int asps_rpc_status_of(asps_err err, asps_verdict verdict);

/* Server: the verdict a status stands for, for a call the transport answered
 * itself (asps_rpc_refused_fn): RETRY (the server busy or shutting down, a
 * deadline passed in the queue) or UNAVAILABLE or DEADLINE_EXCEEDED is
 * "unavailable", UNAUTHENTICATED (a refused connection) "unauthenticated",
 * anything else (a message missing or unreadable, an unknown method)
 * "invalid". */
asps_verdict asps_rpc_verdict_of_status(int status, int retry);

/* Client: a status received as an asps_err: ASPS_OK for OK, ASPS_E_DENIED
 * when the server refused (PERMISSION_DENIED, UNAUTHENTICATED),
 * ASPS_E_UNAVAILABLE when it could not answer (UNAVAILABLE,
 * DEADLINE_EXCEEDED), ASPS_E_ARG for every other status. */
asps_err asps_rpc_err_of_status(int status);

/* Client: the same with the reply's gRPC retry pushback (milliseconds from
 * the ASPS_RPC_RETRY_PUSHBACK_KEY trailer; -1 when absent or not a
 * non-negative integer): RESOURCE_EXHAUSTED with a pushback is the server
 * busy, ASPS_E_UNAVAILABLE (retry later); without one, a request over a
 * limit, ASPS_E_ARG. */
asps_err asps_rpc_err_of_reply(int status, long pushback_ms);

#endif
