/* rpc_internal.h: what server.c and client.c share inside the rpc module
 * (gRPC types may appear here; this header never leaves src/rpc). */
#ifndef ASPS_RPC_INTERNAL_H
#define ASPS_RPC_INTERNAL_H

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "rpc.h"

/* Default limits (documented in asps/rpc.h). */
#define ASPS_RPC_DEFAULT_MAX_MESSAGE (4u * 1024 * 1024)

/* A pool of threads that run certificate checks off gRPC's polling threads
 * (see common.c). Stop it (queued checks answered CANCELLED, threads joined)
 * once no new handshakes can start; after stop, checks run synchronously.
 * Refcounted: verifiers using it hold a reference; new returns one for the
 * caller, unref drops it (and stops the pool when it was the last). */
typedef struct asps_rpc__vpool asps_rpc__vpool;
/* VERDICTS: 0, or the size of a table of refused certificates (a server
 * with refuse_in_calls): verifiers using the pool then keep each refusal
 * there and let the handshake complete. */
asps_rpc__vpool *asps_rpc__vpool_new(unsigned threads, size_t verdicts);
void asps_rpc__vpool_stop(asps_rpc__vpool *p);
void asps_rpc__vpool_unref(asps_rpc__vpool *p);
/* The kept refusal of the certificate PEM (its status, message in msg), or 0
 * when there is none (never refused, verified since, pushed out of the
 * table, or an UNAVAILABLE one past ASPS_RPC_REFUSAL_RETRY_MS).
 * CONN: the id of the call's connection (asps_rpc__conns), whose
 * certificate PEM is; a call on a connection already answered "not
 * refused" since the last refusal kept costs no hashing (common.c). 0: no
 * id, looked up by hash. */
int asps_rpc__vpool_verdict(asps_rpc__vpool *p, const char *pem, uint64_t conn, char *msg,
                            size_t msglen);
/* Keep the refusal STATUS (0: forget it) with MSG for the certificate PEM,
 * as a refused handshake does (tests). */
void asps_rpc__vpool_put_verdict(asps_rpc__vpool *p, const char *pem, int status, const char *msg);
/* Tests: how many PEM texts the table has hashed (SHA-256) so far. */
unsigned long asps_rpc__vpool_hashed(asps_rpc__vpool *p);

/* The server's open connections as ids (conns.c): a bounded table that
 * holds one reference to each connection's auth context it has seen (an
 * OBJ, dropped with RELEASE), so that the object cannot be freed and its
 * address reused while it is in the table: the pointer is the connection.
 * Each entry gets an id unique in the process (from 1, never reused); when
 * the table is full the least recently used entry is released, and that
 * connection gets a new id when it is added again. Thread-safe.
 * new: CAP entries at most (NULL when CAP is 0 or out of memory).
 * find: OBJ's id (made the most recently used), 0 when not in the table.
 * add: takes the caller's reference OBJ and returns OBJ's id: a new entry,
 * or the one another thread added meanwhile (the extra reference is then
 * released); 0 only for a NULL table or OBJ.
 * clear: releases every reference (the table stays usable, empty);
 * returns how many. free: clear, then free. */
typedef struct asps_rpc__conns asps_rpc__conns;
asps_rpc__conns *asps_rpc__conns_new(size_t cap, void (*release)(void *obj));
uint64_t asps_rpc__conns_find(asps_rpc__conns *t, const void *obj);
uint64_t asps_rpc__conns_add(asps_rpc__conns *t, void *obj);
size_t asps_rpc__conns_clear(asps_rpc__conns *t);
size_t asps_rpc__conns_used(asps_rpc__conns *t); /* entries now */
void asps_rpc__conns_free(asps_rpc__conns *t);

/* An external certificate verifier that hands the peer's leaf certificate to
 * an asps_rpc_verify_fn, on a pool thread if pool is non-NULL; NOW (optional,
 * same CTX) is asked first on gRPC's thread, and FN only when it returns
 * ASPS_RPC_VERIFY_LATER. gRPC owns it once created (it is freed when gRPC
 * drops its last reference); the caller releases its own reference after
 * putting it into credentials options. NULL on allocation failure. */
grpc_tls_certificate_verifier *asps_rpc__verifier_new(asps_rpc_verify_fn fn, asps_rpc_verify_fn now,
                                                      void *ctx, asps_rpc__vpool *pool);

/* Check that cert_pem parses as at least one certificate and, if key_pem is
 * given, that the key parses and matches the first certificate. `what` names
 * the pair in the error ("server", "client"). */
asps_err asps_rpc__check_pem_pair(const char *cert_pem, const char *key_pem, const char *what,
                                  asps_errbuf *eb);

/* The server's TLS identity, replaceable while it runs (identity.c):
 * a certificate chain and key (and optional client CA bundle) that gRPC's
 * file-watcher certificate provider reads. new copies the PEMs (checked by
 * the caller); provider makes a provider reading them (NULL on failure);
 * set swaps in a new pair atomically (checked by the caller), which new
 * handshakes use after the provider's next refresh; free only once gRPC has
 * dropped every provider made. */
typedef struct asps_rpc__identity asps_rpc__identity;
asps_err asps_rpc__identity_new(const char *cert_pem, const char *key_pem, const char *root_pem,
                                asps_rpc__identity **out, asps_errbuf *eb);
grpc_tls_certificate_provider *asps_rpc__identity_provider(asps_rpc__identity *id);
asps_err asps_rpc__identity_set(asps_rpc__identity *id, const char *cert_pem, const char *key_pem,
                                asps_errbuf *eb);
void asps_rpc__identity_free(asps_rpc__identity *id);

/* The first certificate in cert_pem is valid now (notBefore <= now <
 * notAfter); else ASPS_E_ARG "... has expired" / "... is not valid yet". */
asps_err asps_rpc__check_validity(const char *cert_pem, const char *what, asps_errbuf *eb);

/* strdup of a PEM, NULL stays NULL; *fail set when allocation fails. */
char *asps_rpc__dup(const char *s, int *fail);
/* cleanse and free a string that may hold a private key. */
void asps_rpc__free_secret_str(char *s);

/* Copy a grpc byte buffer into one malloc'd buffer (NULL buffer: empty). */
asps_err asps_rpc__bb_to_bytes(grpc_byte_buffer *bb, uint8_t **out, size_t *len, asps_errbuf *eb);

/* Health service (messages.c): decode a HealthCheckRequest's service name
 * (malloc'd) and encode a HealthCheckResponse. */
asps_err asps_rpc__decode_health_request(const uint8_t *buf, size_t len, char **service,
                                         asps_errbuf *eb);
asps_err asps_rpc__encode_health_reply(int serving_status, uint8_t **out, size_t *out_len,
                                       asps_errbuf *eb);

/* Milliseconds on the monotonic clock. */
int64_t asps_rpc__now_ms(void);
/* Route gRPC's own log lines through a rate limit (once per process). */
void asps_rpc__init_logging(void);

#endif
