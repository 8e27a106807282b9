/* ops.h: the operations listener: plain HTTP (libmicrohttpd) on its own
 * address, for probes and scrapers, never for secrets:
 *
 *   GET /healthz   200 "ok": the process is alive and answering
 *   GET /readyz    200 "ready", or 503 "not ready: REASON" (draining, or
 *                  what the READY callback says: no policy/KMS loaded,
 *                  collateral too old to verify)
 *   GET /metrics   200, the metrics registry (base/metrics.h) in the
 *                  Prometheus text format 0.0.4
 *                  (Content-Type: text/plain; version=0.0.4; charset=utf-8)
 *
 * HEAD works like GET; other methods get 405, other paths 404 (a query
 * string is ignored). Bodies are short plain text ending in a newline.
 * Off unless the server config has "ops": {"listen": "HOST:PORT"}; it has no
 * TLS and no authentication, so it belongs on a loopback or management
 * address. One thread of its own (libmicrohttpd's internal polling thread),
 * at most 512 connections and 16 from one address (so idle connections from
 * one peer cannot keep a probe from another waiting), 10 s idle timeout.
 * libmicrohttpd's own log lines
 * (a malformed request, a connection closed half-way) go to the logger at
 * warn, at most 20 per 10 s, the rest counted.
 */
#ifndef ASPS_OPS_H
#define ASPS_OPS_H

#include <stddef.h>

#include "asps/err.h"

typedef struct asps_ops asps_ops;

/* 1 when ready, else 0 and a short reason in WHY (N bytes). Called on the
 * listener's thread for each /readyz; must be thread-safe. */
typedef int (*asps_ops_ready_fn)(void *ctx, char *why, size_t n);

typedef struct asps_ops_opts {
    const char *listen;      /* "HOST:PORT", "[IPv6]:PORT"; port 0 picks a free one */
    asps_ops_ready_fn ready; /* NULL: always ready (unless draining) */
    void *ready_ctx;
    const char *grpc_version; /* for asps_build_info{grpc=...}; NULL: "none" */
    /* Called before each /metrics answer is rendered, on the listener's
     * thread, to set metrics that are read rather than counted (the calls
     * in flight and waiting); must be thread-safe. NULL: none. */
    void (*sample)(void *ctx);
    void *sample_ctx;
} asps_ops_opts;

/* Bind and start answering. Errors: ASPS_E_ARG for an address that does
 * not parse (the message names it), ASPS_E_IO when it cannot be bound.
 * *out is the caller's (asps_ops_stop). Also registers asps_build_info. */
asps_err asps_ops_start(const asps_ops_opts *o, asps_ops **out, asps_errbuf *eb);
/* The port bound (useful after port 0). */
int asps_ops_port(const asps_ops *o);
/* From now on /readyz answers 503 "not ready: draining" (SIGTERM). */
void asps_ops_set_draining(asps_ops *o);
/* Stop answering and free (waits for the listener's thread). NULL is fine. */
void asps_ops_stop(asps_ops *o);

/* The gauge asps_server_certificate_expires_in_seconds from the server's
 * certificate (PEM, the first certificate of CERT_PEM, LEN bytes): a
 * countdown to its notAfter. Call again after the certificate is
 * replaced. Errors: ASPS_E_PARSE when no certificate reads. */
asps_err asps_ops_note_server_certificate(const char *cert_pem, size_t len, asps_errbuf *eb);

#endif
