/* asps/service.h: the secret-release service, independent of the transport.
 *
 * The RPC layer calls two things: asps_service_verify_peer() during the TLS
 * handshake (RA-TLS verification: quote, collateral, key binding; the claims
 * are cached under the SHA-256 of the certificate) and
 * one asps_call for each call (claims from the cache, policy decision, KMS
 * fetches, one audit line; see "one call" below). Policy and KMS are swapped
 * atomically by asps_service_reload() (SIGHUP); a broken new policy is
 * refused and the old one kept.
 *
 * Server config file (JSON; relative paths are relative to the file):
 *   {
 *     "listen": "127.0.0.1:7788",
 *     "server_cert": "server.crt", "server_key": "server.key",
 *     "trust": {"sim": "simdir", "roots": ["other_root.der"]},
 *     "collateral": {"bundle": "collateral.json"} | {"sim": "simdir"}
 *                 | {"pccs": "https://pccs:8081" | ["https://a", "https://b"],
 *                    "pccs_ca": "pccs-ca.pem",
 *                    "cache_dir": "/var/cache/asps",   (disk cache, re-verified)
 *                    "max_stale": "36h",     (0 = off; s|m|h|d, at most 365d)
 *                    "tcb_update": "standard" | "early",
 *                    "refresh_before": "1h"},  (background refresh; default 1h)
 *     "policy": "policy.json",
 *     "policy_format": "native" | "cczoo" | "occlum",     (default native)
 *     "occlum_secrets": "secret_config.json",            (occlum format)
 *     "seed_allow_simulated": false,  (seed formats cannot say allow_simulated)
 *     "seed_tcb_statuses": ["UpToDate", ...],  (converted apps' TCB statuses;
 *                          default ASPS_POLICY_SEED_TCB_DEFAULT, the seed
 *                          verifiers' own: UpToDate and the non-terminal ones)
 *     "kms": {"type": "file", "path": "kms.json"},       (else the policy's)
 *          | {"type": "vault", "addr": "https://vault:8200", "kv_version": 1|2,
 *             "mount": "secret", "field": "key", "namespace": "ns1",
 *             "ca_file": "vault-ca.pem", "token_file": "server.token"
 *             | "role_id": "...", "secret_id": "..." | "secret_id_file": "sid",
 *             "approle_mount": "approle", "reuse_connections": true}
 *                                                        (or VAULT_TOKEN)
 *     "audit": "audit.log" | "-",     (a regular file, or stderr)
 *     "audit_required": true,       (a grant whose audit line cannot be written
 *                                    is refused UNAVAILABLE; false: released
 *                                    anyway; either way stderr says so, rate-
 *                                    limited, and audit_failures counts it)
 *     "ops": {"listen": "127.0.0.1:9788"},  (the operations listener, src/ops/ops.h:
 *                                    /healthz /readyz /metrics; off when absent)
 *     "limits": {"max_message_bytes": 65536, "max_names": 64,
 *                "max_concurrent_calls": 64, "max_waiting_calls": 256,
 *                "deadline_ms": 10000,
 *                "kms_deadline_ms": 5000, "drain_ms": 5000,
 *                "threads": 2, "io_threads": 2, "verify_threads": 2,
 *                "claims_cache": 4096, "grpc_memory_mb": 64}
 *   }
 * threads (workers running handlers), io_threads and verify_threads default
 * to asps_service_default_threads(): the CPUs this process may run on, at
 * least 2, at most 64 (keys: 1 to 64); verify_threads at most 16 (default
 * and key: the trust object's verifier pool has at most
 * ASPS_TRUST_MAX_VERIFIERS, each with its own caches).
 * deadline_ms bounds a call; kms_deadline_ms (default: half of deadline_ms,
 * and always less than it) bounds the KMS fetches of one call, all names
 * together, so a stuck KMS answers UNAVAILABLE before the call's deadline;
 * drain_ms is how long SIGTERM lets in-flight calls finish (asps serve).
 */
#ifndef ASPS_SERVICE_H
#define ASPS_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"
#include "asps/secret.h"
#include "asps/verify.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asps_service_config {
    char *listen;
    char *server_cert, *server_key;
    char *trust_sim;              /* trust DIR/root_ca.der */
    char *trust_roots[8];
    size_t n_trust_roots;
    char *collateral_bundle;
    char *collateral_sim;
    char *pccs_url, *pccs_ca;     /* pccs_url: the first of pccs_urls */
    char *pccs_urls[8];           /* collateral.pccs, in failover order */
    size_t n_pccs_urls;
    char *collateral_cache_dir;   /* collateral.cache_dir */
    int64_t collateral_max_stale; /* collateral.max_stale, seconds (0: off) */
    int collateral_tcb_update_early; /* collateral.tcb_update "early" */
    int64_t collateral_refresh_before; /* collateral.refresh_before, seconds (default 3600) */
    char *policy;
    char *policy_format;          /* "native", "cczoo", "occlum" */
    char *occlum_secrets;
    int seed_allow_simulated;     /* seed-format policies accept simulated evidence */
    uint32_t seed_tcb_mask;       /* seed_tcb_statuses; 0: the seed verifiers' set */
    int has_kms;
    char *kms_type, *kms_path, *kms_addr, *kms_token, *kms_ca, *kms_mount, *kms_encoding;
    char *kms_field, *kms_namespace, *kms_token_file, *kms_role_id, *kms_secret_id;
    char *kms_secret_id_file, *kms_approle_mount;
    int kms_kv_version;
    int kms_no_connection_reuse;  /* "reuse_connections": false */
    char *audit;
    int audit_required;           /* release a secret only once its audit line is
                                     written (default 1: fail closed) */
    size_t max_message_bytes, max_names, max_concurrent_calls, threads, claims_cache;
    size_t max_waiting_calls;     /* calls over max_concurrent_calls that wait for a
                                     slot (0: busy at once) */
    size_t io_threads;            /* gRPC's completion-queue threads (network, TLS) */
    size_t verify_threads;        /* certificate checks at once: the RPC layer's
                                     check threads and the trust object's verifiers */
    size_t grpc_memory_mb;        /* gRPC's memory quota (MiB); 0: the RPC default */
    long deadline_ms;
    long kms_deadline_ms;         /* 0: half of deadline_ms */
    long drain_ms;
    char *ops_listen;             /* "ops": {"listen": ...}; NULL: no ops listener */
} asps_service_config;

asps_err asps_service_config_load(const char *path, asps_service_config **out, asps_errbuf *eb);
/* The default of threads, io_threads and verify_threads: the number of CPUs
 * this process may run on (sched_getaffinity(2), as nproc(1) counts them;
 * else the online CPUs), at least 2 (a slow call or check must not stall
 * the only thread), at most 64. */
size_t asps_service_default_threads(void);
#define ASPS_SERVICE_MAX_VERIFY_THREADS 16 /* ASPS_TRUST_MAX_VERIFIERS (trust.h) */
/* Defaults for everything; the caller fills paths (for flag-only use). */
asps_err asps_service_config_new(asps_service_config **out, asps_errbuf *eb);
void asps_service_config_free(asps_service_config *c);

typedef struct asps_service asps_service;

asps_err asps_service_new(const asps_service_config *cfg, asps_service **out, asps_errbuf *eb);
void asps_service_free(asps_service *s);

/* Reload policy and KMS from the config's files; on error the old ones stay
 * and eb says why. */
asps_err asps_service_reload(asps_service *s, asps_errbuf *eb);

/* Reopen the audit file by its path (log rotation, SIGHUP); on error the
 * old file stays in use and eb says why (asps_audit_reopen). */
asps_err asps_service_reopen_audit(asps_service *s, asps_errbuf *eb);

/* What a call, or a refused handshake, came to: the audit line's "verdict"
 * (asps_verdict_name) and, through the RPC layer's one table
 * (src/rpc/status.c), the status the peer is told. The service knows no
 * transport: it returns an asps_err and a verdict, never a gRPC status. */
typedef enum asps_verdict {
    ASPS_VERDICT_GRANTED = 0,     /* "granted": every name asked released (or
                                     a handshake accepted) */
    ASPS_VERDICT_INVALID,         /* "invalid": a malformed request or one over a
                                     limit (err ASPS_E_LIMIT) */
    ASPS_VERDICT_UNAUTHENTICATED, /* "unauthenticated": no evidence, or evidence
                                     that does not verify */
    ASPS_VERDICT_DENIED,          /* "denied": a name not granted, unknown to the
                                     KMS or refused by it: all the same words */
    ASPS_VERDICT_UNAVAILABLE,     /* "unavailable": KMS or collateral trouble,
                                     retry later */
    ASPS_VERDICT_REFUSED,         /* "refused": granted, but the transport's
                                     protocol cannot carry the value */
    ASPS_VERDICT_ERROR,           /* "error": the server failed (out of memory,
                                     a reply it could not encode) */
    ASPS_VERDICT_CANCELLED,       /* "cancelled": the client went away before
                                     its call ran (it was waiting for a slot) */
    ASPS_VERDICT__COUNT
} asps_verdict;

/* "granted", "invalid", ...: the audit line's verdict. Never NULL. */
const char *asps_verdict_name(asps_verdict v);

/* TLS handshake hook: ASPS_OK accepts (*verdict GRANTED). CERT_PEM is the
 * peer's certificate from a TLS handshake that has proven its key (the
 * handshake's CertificateVerify): it is verified as a TLS peer's
 * (ASPS_RATLS_PEER: its self-signature not checked again, one QE's second
 * quote checked for its binding); so are the CERT_PEM of every call (a call
 * comes over a connection whose handshake ended). Else *verdict is
 * UNAUTHENTICATED when the evidence is wrong (err: "evidence refused:
 * REASON (detail)", REASON the short error name such as tcb_revoked,
 * root_untrusted, cert_expired, binding; "no client certificate..." for
 * CERT_PEM NULL), UNAVAILABLE when the server's collateral could not be had
 * or used (err: "evidence not checked: REASON (retry later)", REASON
 * collateral_unavailable or the collateral's error such as
 * tcb_info_expired); the return value is the verification's error. Each
 * refusal is audited and counted in the refusal summary on stderr.
 * Thread-safe. */
asps_err asps_service_verify_peer(asps_service *s, const char *cert_pem, asps_verdict *verdict,
                                  char *err, size_t errlen);

/* asps_service_verify_peer on a thread that must not wait (gRPC's, which
 * drives the network): the same answer, audited and counted the same, when
 * the claims are cached or verifying needs no wait; else
 * ASPS_E_WOULD_BLOCK (every verifier busy, or the platform's collateral not
 * at hand: asps_trust_verify_cert_now), nothing audited, counted or fetched,
 * and the caller asks asps_service_verify_peer where waiting is fine.
 * Saves the hand-off to a verification thread and back. Thread-safe. */
asps_err asps_service_verify_peer_now(asps_service *s, const char *cert_pem,
                                      asps_verdict *verdict, char *err, size_t errlen);

/* A call the transport answered itself, with VERDICT and the message MSG it
 * sent: its connection refused (or without a certificate), the server busy,
 * a request message missing or over the size limit, an unknown method...
 * (asps_rpc_refused_fn). The call's one audit line (peer, "METHOD: MSG"). */
void asps_service_refused_call(asps_service *s, const char *cert_pem, const char *peer,
                               const char *method, asps_verdict verdict, const char *msg);

/* A TLS handshake that failed before any certificate check (REASON: the TLS
 * library's words): one audit line (no peer: TLS does not say) and a count
 * in the refusal summary. */
void asps_service_handshake_failed(asps_service *s, const char *reason);

/* ---- one call ------------------------------------------------------------------
 * One call is one asps_call, one decision path and one audit line:
 *
 *   asps_call c;
 *   asps_service_call_begin(s, &c, cert_pem, conn, peer, names, n);  (claims looked up)
 *   if (request malformed) asps_call_refuse(&c, ...);            (transport's refusals)
 *   asps_service_decide(s, &c);              (names, evidence, policy, KMS)
 *   ... c.err, c.verdict, c.msg, c.secrets: answer the peer ...
 *   asps_service_call_end(s, &c);            (THE audit line; cleanses, frees)
 *
 * The first refusal stands: refusing or deciding a call already refused
 * changes nothing, and refusing a granted call (its value cannot travel, the
 * reply cannot be encoded) drops its secrets. */
struct generation;
typedef struct asps_call {
    /* the outcome, for the transport */
    asps_err err;          /* ASPS_OK when granted, else the refusal's error:
                              ASPS_E_DENIED for every denial (a name unknown
                              to the KMS looks exactly like one not granted),
                              ASPS_E_UNAVAILABLE for KMS trouble, ASPS_E_ARG
                              or ASPS_E_LIMIT for the request, the evidence's
                              own error for an evidence refusal */
    asps_verdict verdict;
    char msg[512];         /* for the peer: never a value ("" when granted) */
    asps_secret *secrets;  /* granted: n_names entries in request order, the
                              call's (cleansed and freed by call_end) */
    size_t n_secrets;
    /* the service's own: read them only through the functions here */
    const char *peer;
    const char *const *names;   /* the caller's; alive until call_end */
    size_t n_names;
    int done;                   /* decided or refused */
    int transport_refused;      /* from asps_service_refused_call */
    const asps_claims *claims;  /* the verified claims when claims_err is ASPS_OK
                                   (else NULL): the claims cache's, shared
                                   read-only, with their audit text */
    void *claims_ref;           /* the reference that keeps them (call_end drops it) */
    asps_err claims_err;        /* ASPS_OK when claims holds the verified claims */
    char claims_msg[512];
    int have_decision;
    asps_decision decision;
    struct generation *gen;     /* the policy+KMS this call decided under */
    char reason[800];           /* for the audit line; "" = the decision's */
    const char *why;            /* the short reason in the metrics (static
                                   string; NULL: the verdict's default) */
    int64_t deadline_mono_ms;   /* the transport's: when the call must be
                                   answered (asps_now_mono_ms clock; 0: none).
                                   Set after call_begin; the KMS fetch ends
                                   ASPS_SERVICE_DEADLINE_MARGIN_MS before it */
} asps_call;

/* How long before a call's deadline its KMS fetch gives up, so that the
 * call's own answer (UNAVAILABLE) and audit line come before the transport
 * answers DEADLINE_EXCEEDED on its own (asps serve checks every 100 ms). */
#define ASPS_SERVICE_DEADLINE_MARGIN_MS 150

/* Start a call: the peer's certificate (as verified in the handshake; NULL
 * when none), the id of the connection it came on (CONN: see below), its
 * address (logging only), the names asked (NULL, 0 when the request could
 * not be decoded; the array is the caller's and must live until call_end).
 * The claims are looked up here, once (from the cache, or verified now),
 * so the audit line always has them. CONN is the transport's number for
 * the call's connection (asps_rpc_call_connection_id): it must never be
 * given to another connection, whose certificate could differ; a transport
 * that passes it, and the same CERT_PEM string on every call of the
 * connection (gRPC: the connection's auth context), has the claims found
 * through the connection without decoding, hashing or comparing the
 * certificate. 0: no such number (tests, other transports): the claims are
 * found by the certificate's hash. */
void asps_service_call_begin(asps_service *s, asps_call *c, const char *cert_pem, uint64_t conn,
                             const char *peer, const char *const *names, size_t n_names);

/* Refuse the call with ERR and VERDICT, MSG (printf) for the peer; REASON
 * for the audit line (NULL: the same as MSG). Returns c->err. */
asps_err asps_call_refuse(asps_call *c, asps_err err, asps_verdict verdict, const char *reason,
                          const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* The decision: names within limits, the evidence (from begin), the policy,
 * every granted name's value from the KMS (all or nothing, under one KMS
 * deadline). Returns c->err. */
asps_err asps_service_decide(asps_service *s, asps_call *c);

/* End the call: its one audit line, its counts; cleanses and frees what it
 * holds. Answer the peer only after it, from c->err, c->verdict and c->msg:
 * a granted call whose audit line cannot be written is refused here
 * (audit_required: UNAVAILABLE "audit log unavailable: nothing released
 * (retry later)"; a second line says so if the log takes it). */
void asps_service_call_end(asps_service *s, asps_call *c);

/* How a peer certificate (its PEM text as gRPC gave it, LEN bytes) becomes
 * claims at time AT, for tests: FN instead of the service's trust object
 * (attest/trust.h: RA-TLS verification with the config's roots and
 * collateral source). As the trust object does, FN sets claims->expires_at
 * no later than the certificate's notAfter: the claims cache keeps them
 * until then. FN must be thread-safe; NULL restores the trust object. */
#include "asps/claims.h"
typedef asps_err (*asps_service_evidence_fn)(void *ctx, const uint8_t *cert_pem, size_t len,
                                             int64_t at, asps_claims *claims, asps_errbuf *eb);
void asps_service_set_evidence(asps_service *s, asps_service_evidence_fn fn, void *ctx);

/* The claims cache's clock (unix seconds): an entry is used while its
 * expiry (the claims' expires_at, at most the certificate's notAfter) is
 * later than NOW(CTX). NULL: time(). For tests. */
typedef int64_t (*asps_service_clock_fn)(void *ctx);
void asps_service_set_clock(asps_service *s, asps_service_clock_fn now, void *ctx);


/* Whether the service can serve now (/readyz): a policy and KMS loaded and
 * collateral fresh enough to verify (asps_trust_ready). 1, or 0 with a
 * short reason in WHY. Thread-safe. */
int asps_service_ready(asps_service *s, char *why, size_t n);

/* The transport's call load as metrics, before a scrape: the gauges
 * asps_calls_in_flight and asps_calls_waiting set to IN_FLIGHT and WAITING,
 * the counters asps_calls_waited_total and asps_calls_busy_total raised to
 * WAITED_TOTAL and BUSY_TOTAL (totals since the server started; never
 * lowered). Thread-safe. */
void asps_service_note_call_load(unsigned in_flight, unsigned waiting, uint64_t waited_total,
                                 uint64_t busy_total);

/* Counters for tests and the health of the service (each read whole; a
 * field added here is read by asps_service_get_stats too). */
typedef struct asps_service_stats {
    uint64_t handshakes_ok, handshakes_refused, calls, granted, denied, unavailable;
    uint64_t calls_refused; /* answered by the transport: connection refused */
    uint64_t claims_cache_hits;
    uint64_t audit_failures; /* audit lines that could not be written */
    uint64_t audit_withheld; /* granted calls refused because their line could not be */
} asps_service_stats;
void asps_service_get_stats(asps_service *s, asps_service_stats *out);

#ifdef __cplusplus
}
#endif
#endif
