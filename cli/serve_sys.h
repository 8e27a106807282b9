/* serve_sys.h: `asps serve` and the system around it: systemd's readiness
 * notifications (sd_notify; nothing happens without NOTIFY_SOCKET) and the
 * SIGHUP reload of the audit file and the TLS certificate and key. Main
 * thread only. */
#ifndef ASPS_SERVE_SYS_H
#define ASPS_SERVE_SYS_H

#include "rpc.h"
#include "service.h"

/* READY=1, STATUS=serving on WHERE ("HOST:PORT", kept for later STATUS
 * lines). Once listening. */
void asps_serve_notify_ready(const char *where_bound);
/* RELOADING=1 (with MONOTONIC_USEC). When a SIGHUP reload begins. */
void asps_serve_notify_reloading(void);
/* STOPPING=1 and a STATUS. When the drain begins. */
void asps_serve_notify_stopping(long drain_ms);

/* The rest of a SIGHUP reload, after policy and KMS (POLICY_OK: whether
 * they were reloaded): reopen the audit file; read the TLS certificate and
 * key from the config's files and, when they are a valid pair different
 * from the one in use, hand them to the server (a bad pair keeps the old;
 * each outcome logged) and wait until gRPC uses them
 * (ASPS_RPC_IDENTITY_SETTLE_MS; cut short by a pending SIGTERM or SIGINT);
 * then READY=1 with a STATUS that sums it up. */
void asps_serve_reload_files(asps_service *svc, asps_rpc_server *srv,
                             const asps_service_config *cfg, int policy_ok);

#endif
