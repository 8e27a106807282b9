/* asps/rpc.h: the RPC transport of asps (gRPC over mutual TLS), with no
 * policy in it.
 *
 * The server and client here move raw protobuf bytes for unary methods over
 * gRPC with TLS; who may connect is decided by a verify callback that sees the
 * peer's leaf certificate during the handshake, and what a call may do is
 * decided by the method handler. Nothing outside this module includes a gRPC
 * or protobuf-c header: status codes are gRPC's numeric codes (below) and the
 * asps.v1 / Occlum / CCZoo messages are encoded and decoded by the helpers at
 * the end of this file.
 *
 * Threads: verify callbacks run on gRPC's threads during TLS handshakes, many
 * at once; handlers run on the server's worker threads, many at once. Both
 * must be thread-safe.
 */
#ifndef ASPS_RPC_H
#define ASPS_RPC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"
#include "asps/secret.h"

#ifdef __cplusplus
extern "C" {
#endif

/* gRPC status codes (the numbers are gRPC's wire values). */
enum {
    ASPS_RPC_OK = 0,
    ASPS_RPC_CANCELLED = 1,
    ASPS_RPC_UNKNOWN = 2,
    ASPS_RPC_INVALID_ARGUMENT = 3,
    ASPS_RPC_DEADLINE_EXCEEDED = 4,
    ASPS_RPC_NOT_FOUND = 5,
    ASPS_RPC_ALREADY_EXISTS = 6,
    ASPS_RPC_PERMISSION_DENIED = 7,
    ASPS_RPC_RESOURCE_EXHAUSTED = 8,
    ASPS_RPC_FAILED_PRECONDITION = 9,
    ASPS_RPC_ABORTED = 10,
    ASPS_RPC_OUT_OF_RANGE = 11,
    ASPS_RPC_UNIMPLEMENTED = 12,
    ASPS_RPC_INTERNAL = 13,
    ASPS_RPC_UNAVAILABLE = 14,
    ASPS_RPC_DATA_LOSS = 15,
    ASPS_RPC_UNAUTHENTICATED = 16,
};

/* Stable name of a status code ("PERMISSION_DENIED"); never NULL. */
const char *asps_rpc_status_name(int status);

/* Method paths of the services asps serves. */
#define ASPS_RPC_METHOD_GET_SECRETS "/asps.v1.SecretProvision/GetSecrets"
#define ASPS_RPC_METHOD_OCCLUM_GET_SECRET "/ratls.GrSecret/GetSecret"
#define ASPS_RPC_METHOD_CCZOO_GET_SECRET "/secretmanager.SecretManger/GetSecret"
#define ASPS_RPC_METHOD_HEALTH_CHECK "/grpc.health.v1.Health/Check"

/* Called at the end of each TLS handshake with the peer's leaf certificate in PEM;
 * return 0 to accept, nonzero to refuse (write a reason into err; it ends up
 * in gRPC's logs and, on the client, in the call's status message; on a
 * server with refuse_in_calls, a nonzero gRPC status code is the status its
 * calls get). Runs on gRPC's threads: must be thread-safe. peer_cert_pem is
 * NULL when the peer sent no certificate. */
typedef int (*asps_rpc_verify_fn)(void *ctx, const char *peer_cert_pem, char *err, size_t errlen);

/* What a server's verify_now returns when its answer would wait: the
 * server's verify then answers, on a verification thread. */
#define ASPS_RPC_VERIFY_LATER INT_MIN

/* ---- server ---------------------------------------------------------------- */

typedef struct asps_rpc_server asps_rpc_server;

/* Told of every call the server refused itself, without a handler: its
 * connection's client certificate refused (or absent, see refuse_in_calls),
 * an unknown method, a malformed health check, a request message missing
 * or unreadable, the server busy (max_concurrent_calls and
 * max_waiting_calls), the call's deadline passed while it was queued or
 * waiting for a slot, the server shutting down. Given: the
 * certificate (NULL when none), the transport address, the method path, the
 * status and message sent, and RETRY: 1 when the refusal is the server's
 * passing state (busy, shutting down, deadline passed in the queue or while
 * waiting for a slot, or a
 * verify status of UNAVAILABLE), 0 when the call itself is refused. A
 * health check the server answers (SERVING, NOT_FOUND) is not a refusal.
 * Runs on the server's io and worker threads: must be quick and
 * thread-safe. */
typedef void (*asps_rpc_refused_fn)(void *ctx, const char *peer_cert_pem, const char *peer_addr,
                                    const char *method, int status, const char *msg, int retry);

/* Trailing metadata sent with a refusal that may be retried soon (the server
 * busy: RESOURCE_EXHAUSTED): gRPC's own retry pushback (gRFC A6, "Pushback":
 * a non-negative integer, milliseconds to wait before retrying). A client
 * that sees it on RESOURCE_EXHAUSTED is told "retry later", not "fix your
 * request" (too many names, a request over max_message_bytes: no pushback). */
#define ASPS_RPC_RETRY_PUSHBACK_KEY "grpc-retry-pushback-ms"
#define ASPS_RPC_BUSY_PUSHBACK_MS 1000

/* One unary method: raw request bytes in; on status 0 (OK) raw reply bytes out
 * in *reply (malloc'd by the handler; the server cleanses and frees it once
 * sent; NULL with *reply_len 0 is an empty reply), otherwise a gRPC status
 * code and a message for the caller in status_msg (never secret values).
 * peer_cert_pem is the leaf certificate the verify callback accepted for this
 * connection (from the call's auth context); peer_addr is the transport
 * address ("ipv4:127.0.0.1:41234"), never authenticated: logging only. */
typedef int (*asps_rpc_handler_fn)(void *ctx, const char *peer_cert_pem, const char *peer_addr,
                                   const uint8_t *req, size_t req_len, uint8_t **reply,
                                   size_t *reply_len, char *status_msg, size_t msglen);

/* Inside a handler (on the thread running it): when the call must be
 * answered by, as CLOCK_MONOTONIC milliseconds (asps_now_mono_ms's clock):
 * the earlier of the client's deadline and the server's call deadline,
 * both counted from the call's arrival, so a call that waited for a slot
 * has only what is left. A handler that waits on something (a KMS) keeps
 * its waits before it: past it the server has already answered the client
 * DEADLINE_EXCEEDED. 0 outside a handler. */
int64_t asps_rpc_call_deadline_mono_ms(void);

/* Inside a handler (on the thread running it): the id of the connection
 * the call came on, a number from 1 up, unique in the process: the
 * server's calls on one connection get the same id, and an id is never
 * given to another connection (of this server or any other in the
 * process), so a handler may keep what it learnt of a connection (its
 * certificate's verified claims) by this id and trust it without comparing
 * the certificate again. The server keeps ids for its ASPS_RPC_CONNECTION_IDS
 * most recently active connections (holding on to each one's auth context, the peer's
 * certificate in it, until the entry goes or the server is freed); a
 * connection whose entry went gets a new id at its next call. 0 outside a
 * handler, or when the call has no auth context: treat 0 as "unknown". */
uint64_t asps_rpc_call_connection_id(void);
#define ASPS_RPC_CONNECTION_IDS 1024
/* Only connections whose calls reach a handler are kept (a connection the
 * server refuses is not), and only those whose auth context holds at most
 * 32 KB of properties (the certificate's PEM, its names) in at most 64:
 * a bigger one's calls get id 0. So the table holds at most 1024 x 32 KB of
 * them, however big the certificates clients send. */

/* How many connections S keeps an id (and an auth context) for now: tests
 * and metrics. */
size_t asps_rpc_server_connections_kept(asps_rpc_server *s);

typedef struct asps_rpc_server_opts {
    const char *listen_addr;    /* "host:port"; "127.0.0.1:0" picks a free port */
    const char *cert_chain_pem; /* server leaf certificate (+ intermediates) */
    const char *key_pem;        /* its private key */
    asps_rpc_verify_fn verify;  /* decides which client certificates connect */
    void *verify_ctx;
    asps_rpc_verify_fn verify_now; /* optional, with verify (same ctx): the same
                                      decision, called first on the thread that
                                      finished the handshake, when it can be
                                      taken without waiting; else it returns
                                      ASPS_RPC_VERIFY_LATER and verify runs on
                                      a verification thread (verify_threads).
                                      Spares a handshake two thread hand-offs */
    const char *client_ca_pem;  /* optional: client certificates must also chain
                                   to this CA bundle (checked by TLS, before
                                   verify). With it, verify may be NULL: plain
                                   mutual TLS. One of the two is required. */
    size_t max_message_size;       /* largest request accepted; 0 = 4 MiB */
    unsigned max_concurrent_calls; /* calls queued for a worker or running at
                                      once; 0 = 256. Beyond it a call waits
                                      (max_waiting_calls), else is answered
                                      RESOURCE_EXHAUSTED "server busy" with
                                      retry pushback */
    unsigned max_waiting_calls;    /* calls over max_concurrent_calls that wait
                                      for a slot, oldest first, each until the
                                      earlier of its own deadline and
                                      call_deadline_ms (counted from its
                                      arrival, the wait included): then
                                      DEADLINE_EXCEEDED, told to on_refused;
                                      when the server shuts down: UNAVAILABLE
                                      "server shutting down" at once. Each
                                      holds its request message. 0: none
                                      wait (busy at once) */
    unsigned call_deadline_ms;     /* a call still running after this fails with
                                      DEADLINE_EXCEEDED; 0 = 30000 */
    unsigned worker_threads;       /* threads running handlers; 0 = 4 */
    unsigned io_threads;           /* threads driving gRPC (and handshakes); 0 = 2 */
    unsigned verify_threads;       /* threads running the verify callback, so a
                                      slow check never stalls network I/O; 0 = 4 */
    size_t memory_quota_bytes;     /* gRPC's memory quota (its resource quota:
                                      transport and read buffers, not TLS
                                      state); under pressure gRPC closes
                                      connections that have no call in
                                      flight; 0 = 64 MiB */
    unsigned handshake_timeout_ms; /* a connection that has not finished TLS by
                                      then is dropped; 0 = 10000 */
    /* How a client whose certificate verify refuses learns it (needs verify).
     * 0: the TLS handshake fails; the client sees the connection closed
     *    (UNAVAILABLE), as from a server that is down.
     * 1: the handshake completes for any client certificate TLS accepts (the
     *    client proved it holds the key) and without one; verify's verdict
     *    is kept for that certificate (refusals answered UNAVAILABLE are
     *    kept for REFUSAL_RETRY_MS only, so that a later call re-checks), and
     *    every call on the connection is answered by the server itself, no
     *    handler run: with verify's return value as the status when it is a
     *    gRPC status code (else UNAUTHENTICATED) and verify's err as the
     *    message; without a certificate, UNAUTHENTICATED "no client
     *    certificate". Each such call is told to on_refused. A verdict that
     *    has left the bounded table no longer answers calls: handlers must
     *    still check the certificate themselves (asps's do, per call). A
     *    connection with no call for 10 s is closed (GOAWAY, within twice
     *    that; gRPC clients reconnect by themselves), so refused ones do not
     *    pile up. */
    int refuse_in_calls;
    asps_rpc_refused_fn on_refused; /* may be NULL */
    void *on_refused_ctx;
} asps_rpc_server_opts;

#define ASPS_RPC_DEFAULT_MEMORY_QUOTA ((size_t)64 << 20)

/* How long a refusal with status UNAVAILABLE answers calls (refuse_in_calls). */
#define ASPS_RPC_REFUSAL_RETRY_MS 5000

/* gRPC reports a TLS handshake that fails before any certificate check (not
 * TLS at all, a client certificate TLS will not take, a bad signature, a
 * handshake timeout) only in its log, without the peer's address. With a
 * hook set, each such report goes to FN (REASON: gRPC's text on one line)
 * instead of stderr, and gRPC's own "Handshake failed" lines are no longer
 * printed. Process-wide: every server and client in the process reports to
 * the one hook. NULL removes it. FN runs on gRPC's threads. Set it after
 * asps_rpc_server_new (which initialises gRPC). */
typedef void (*asps_rpc_handshake_failure_fn)(void *ctx, const char *reason);
void asps_rpc_set_handshake_failure_hook(asps_rpc_handshake_failure_fn fn, void *ctx);


/* TLS 1.3 session tickets off for every TLS server in the process: OpenSSL's
 * "NumTickets = 0" added to the system's ssl_conf "system_default" settings,
 * which keep everything else they set (identity.c says how, and why: no
 * asps client resumes sessions, and each ticket re-encodes the client's
 * certificate). Once per process, thread-safe; asps_rpc_server_new calls
 * it, and a program should call it earlier, before other threads use
 * OpenSSL. Returns 1 when servers made from now on send no tickets; 0 when
 * tickets stay on (the system's settings unchanged), with the reason in
 * WHY. */
int asps_rpc_tls_tickets_off(char *why, size_t whylen);

/* Create a server (does not listen yet). The PEM strings are copied. */
asps_err asps_rpc_server_new(const asps_rpc_server_opts *o, asps_rpc_server **out, asps_errbuf *eb);

/* Register a unary method before start. full_method is the gRPC path
 * ("/asps.v1.SecretProvision/GetSecrets"). Unregistered methods answer
 * UNIMPLEMENTED; "/grpc.health.v1.Health/Check" is always served (SERVING for
 * "" and for each service that has a registered method, NOT_FOUND otherwise). */
asps_err asps_rpc_server_add_method(asps_rpc_server *s, const char *full_method,
                                    asps_rpc_handler_fn fn, void *ctx, asps_errbuf *eb);

/* Bind, listen and start the threads. *bound_port (if non-NULL) receives the
 * port actually bound. */
asps_err asps_rpc_server_start(asps_rpc_server *s, int *bound_port, asps_errbuf *eb);

/* Replace the server's certificate chain and key (SIGHUP): new TLS
 * handshakes use the new pair; connections already open keep theirs. The
 * pair is checked first (PEM, key matches the first certificate, that
 * certificate valid now): on any error the old pair stays and eb says why.
 * gRPC picks a new pair up on its next refresh (every
 * ASPS_RPC_IDENTITY_REFRESH_S): a handshake begun ASPS_RPC_IDENTITY_SETTLE_MS
 * after this returns gets the new certificate (it returns at once; the
 * caller waits if it must). *changed (if non-NULL): 1 when the pair was
 * swapped, 0 when it is the same as now (nothing done) or on error. Not
 * thread-safe against itself; only after start succeeded. */
#define ASPS_RPC_IDENTITY_REFRESH_S 1
#define ASPS_RPC_IDENTITY_SETTLE_MS 1500
asps_err asps_rpc_server_set_identity(asps_rpc_server *s, const char *cert_chain_pem,
                                      const char *key_pem, int *changed, asps_errbuf *eb);

/* Stop accepting connections and calls, let in-flight calls finish for up to
 * drain_ms, cancel what is left (clients get UNAVAILABLE), give running
 * handlers 1 s more to return, and stop the threads. Bounded: returns by
 * drain_ms + 1 s. A handler still running then is abandoned: a line on
 * stderr says how many calls of which methods, asps_rpc_server_abandoned()
 * counts them, and threads and gRPC objects are left as they are (in use);
 * the caller should then exit the process. Idempotent. asps_rpc_server_free
 * shuts down too (drain 0) but waits for running handlers without a bound,
 * as it must before freeing what they use. Not from a handler or verify
 * callback. */
void asps_rpc_server_shutdown(asps_rpc_server *s, int drain_ms);

/* Calls whose handlers were still running when shutdown gave up (0: it
 * stopped cleanly). */
unsigned asps_rpc_server_abandoned(const asps_rpc_server *s);

/* The server's calls now: IN_FLIGHT count against max_concurrent_calls
 * (admitted, from the moment a slot is given until the answer is decided),
 * WAITING are queued for a slot (at most max_waiting_calls); since start,
 * WAITED_TOTAL calls had to queue (whatever became of them) and
 * BUSY_TOTAL were turned away at once, the queue full (RESOURCE_EXHAUSTED).
 * Read under the server's lock, so the four are one moment's; thread-safe,
 * from start until asps_rpc_server_free (metrics scraped at any time). */
typedef struct asps_rpc_load {
    unsigned in_flight, waiting;
    uint64_t waited_total, busy_total;
} asps_rpc_load;
void asps_rpc_server_load(asps_rpc_server *s, asps_rpc_load *out);

void asps_rpc_server_free(asps_rpc_server *s);

/* ---- client ---------------------------------------------------------------- */

typedef struct asps_rpc_client asps_rpc_client;

typedef struct asps_rpc_client_opts {
    const char *target;   /* "host:port" */
    const char *cert_pem; /* our certificate (the RA-TLS cert); optional */
    const char *key_pem;  /* its key; set iff cert_pem is */
    /* How the server is trusted: exactly one of these two. */
    const char *ca_pem;          /* CA bundle; the server name is checked too */
    const char *server_name;     /* name checked instead of target's host (with ca_pem) */
    asps_rpc_verify_fn verify;   /* or: this callback alone decides (pinned or
                                    RA-TLS server certificates) */
    void *verify_ctx;
    unsigned deadline_ms;        /* per call, connection included; 0 = 10000 */
    size_t max_message_size;     /* largest reply accepted; 0 = 4 MiB */
} asps_rpc_client_opts;

/* Create a client. Does not connect: the first call does (and a failure to
 * connect is that call's UNAVAILABLE status). The PEM strings are copied. */
asps_err asps_rpc_client_new(const asps_rpc_client_opts *o, asps_rpc_client **out, asps_errbuf *eb);

/* One unary call. Returns ASPS_OK when the call ran to a gRPC status (which
 * includes transport failures: connection refused or handshake refused are
 * UNAVAILABLE, a call past its deadline DEADLINE_EXCEEDED), then *status is
 * the gRPC status code, status_msg its message, and on OK *reply the reply
 * bytes (malloc'd, caller frees; cleanse if secret). Other return codes mean
 * the call could not be made at all (bad arguments, out of memory).
 * Thread-safe: one client may serve calls from several threads. */
asps_err asps_rpc_client_call(asps_rpc_client *c, const char *full_method, const uint8_t *req,
                              size_t req_len, int *status, char *status_msg, size_t msglen,
                              uint8_t **reply, size_t *reply_len, asps_errbuf *eb);

/* The same, also giving the reply's gRPC retry pushback in *pushback_ms
 * (ASPS_RPC_RETRY_PUSHBACK_KEY: milliseconds; -1 when the server sent none
 * or not a non-negative integer). */
asps_err asps_rpc_client_call_pushback(asps_rpc_client *c, const char *full_method,
                                       const uint8_t *req, size_t req_len, int *status,
                                       char *status_msg, size_t msglen, uint8_t **reply,
                                       size_t *reply_len, long *pushback_ms, asps_errbuf *eb);

void asps_rpc_client_free(asps_rpc_client *c);

/* ---- messages ------------------------------------------------------------------
 * Encoders return malloc'd bytes in *out (free with free(), or cleanse first
 * when they hold secrets). Decoders reject malformed protobuf and strings with
 * embedded NUL bytes (ASPS_E_PARSE). */

/* asps.v1.GetSecretsRequest */
asps_err asps_rpc_encode_get_secrets_request(const char *const *names, size_t n, uint8_t **out,
                                             size_t *out_len, asps_errbuf *eb);
/* *names is a malloc'd array of n malloc'd strings: free with
 * asps_rpc_strings_free. More than max_names names is ASPS_E_LIMIT. */
asps_err asps_rpc_decode_get_secrets_request(const uint8_t *buf, size_t len, size_t max_names,
                                             char ***names, size_t *n, asps_errbuf *eb);
void asps_rpc_strings_free(char **strs, size_t n);

/* asps.v1.Secret / GetSecretsReply: the one secret type (asps/secret.h)
 * on the wire, name -> Secret.name, value/len -> Secret.value. */
asps_err asps_rpc_encode_get_secrets_reply(const asps_secret *secrets, size_t n, uint8_t **out,
                                           size_t *out_len, asps_errbuf *eb);
/* *secrets is a malloc'd array of *n; free with asps_secrets_free (which
 * cleanses the values). */
asps_err asps_rpc_decode_get_secrets_reply(const uint8_t *buf, size_t len, asps_secret **secrets,
                                           size_t *n, asps_errbuf *eb);

/* Occlum ratls.SecretRequest { name } / SecretReply { secret (base64 text) } */
asps_err asps_rpc_encode_occlum_request(const char *name, uint8_t **out, size_t *out_len,
                                        asps_errbuf *eb);
asps_err asps_rpc_decode_occlum_request(const uint8_t *buf, size_t len, char **name, asps_errbuf *eb);
asps_err asps_rpc_encode_occlum_reply(const char *secret_b64, uint8_t **out, size_t *out_len,
                                      asps_errbuf *eb);
/* *secret_b64 is malloc'd; cleanse and free. */
asps_err asps_rpc_decode_occlum_reply(const uint8_t *buf, size_t len, char **secret_b64,
                                      asps_errbuf *eb);

/* CCZoo secretmanager.SecretRequest { key, ctx } / SecretReply { value } */
asps_err asps_rpc_encode_cczoo_request(const char *key, const char *ctx, uint8_t **out,
                                       size_t *out_len, asps_errbuf *eb);
/* *key and *ctx are malloc'd ("" when absent). */
asps_err asps_rpc_decode_cczoo_request(const uint8_t *buf, size_t len, char **key, char **ctx,
                                       asps_errbuf *eb);
/* value is a string on the wire: a value with a NUL byte is ASPS_E_UNSUPPORTED. */
asps_err asps_rpc_encode_cczoo_reply(const uint8_t *value, size_t value_len, uint8_t **out,
                                     size_t *out_len, asps_errbuf *eb);
/* *value is malloc'd (NUL-terminated too); cleanse and free. */
asps_err asps_rpc_decode_cczoo_reply(const uint8_t *buf, size_t len, uint8_t **value,
                                     size_t *value_len, asps_errbuf *eb);

/* grpc.health.v1: request for a service name ("" = the whole server);
 * decoding a reply gives its ServingStatus (1 = SERVING). */
asps_err asps_rpc_encode_health_request(const char *service, uint8_t **out, size_t *out_len,
                                        asps_errbuf *eb);
asps_err asps_rpc_decode_health_reply(const uint8_t *buf, size_t len, int *serving_status,
                                      asps_errbuf *eb);
#define ASPS_RPC_HEALTH_SERVING 1
#define ASPS_RPC_HEALTH_NOT_SERVING 2

#ifdef __cplusplus
}
#endif
#endif
