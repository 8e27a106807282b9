/* asps/service_rpc.h: the service's methods on an asps_rpc_server. */
#ifndef ASPS_SERVICE_RPC_H
#define ASPS_SERVICE_RPC_H

#include "rpc.h"
#include "service.h"

typedef struct asps_service_rpc asps_service_rpc;

/* Register GetSecrets (native), Occlum's and CCZoo's GetSecret on SRV for
 * SVC. *out lives until the server is freed; then asps_service_rpc_free. */
asps_err asps_service_rpc_register(asps_rpc_server *srv, asps_service *svc, size_t max_names,
                                   asps_service_rpc **out, asps_errbuf *eb);
void asps_service_rpc_free(asps_service_rpc *r);

/* asps_rpc_verify_fn for the server: CTX is the asps_service. Returns 0 or
 * the gRPC status of the refusal (see asps_service_verify_peer), which a
 * server with refuse_in_calls answers every call of the connection with. */
int asps_service_rpc_verify(void *ctx, const char *peer_cert_pem, char *err, size_t errlen);
/* Its verify_now: the same, or ASPS_RPC_VERIFY_LATER when the answer
 * would wait (asps_service_verify_peer_now). */
int asps_service_rpc_verify_now(void *ctx, const char *peer_cert_pem, char *err, size_t errlen);
/* asps_rpc_refused_fn and asps_rpc_handshake_failure_fn: CTX is the
 * asps_service (an audit line each). */
void asps_service_rpc_refused(void *ctx, const char *peer_cert_pem, const char *peer_addr,
                              const char *method, int status, const char *msg, int retry);
void asps_service_rpc_handshake_failed(void *ctx, const char *reason);

#endif
