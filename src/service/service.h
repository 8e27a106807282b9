/* asps/service.h: the secret-release service, independent of the transport.
 *
 * The RPC layer calls two things: asps_service_verify_peer() during the TLS
 * handshake (RA-TLS verification: quote, collateral, key binding; the claims
 * are cached under the SHA-256 of the certificate) and
 * asps_service_get_secrets() for each call (claims from the cache, policy
 * decision, KMS fetches, one audit line). Policy and KMS are swapped
 * atomically by asps_service_reload() (SIGHUP); a broken new policy is
 * refused and the old one kept.
 *
 * Server config file (JSON; relative paths are relative to the file):
 *   {
 *     "listen": "127.0.0.1:7788",
 *     "server_cert": "server.crt", "server_key": "server.key",
 *     "trust": {"sim": "simdir", "roots": ["other_root.der"]},
 *     "collateral": {"bundle": "collateral.json"} | {"sim": "simdir"}
 *                 | {"pccs": "https://pccs:8081", "pccs_ca": "pccs-ca.pem"},
 *     "policy": "policy.json",
 *     "policy_format": "native" | "cczoo" | "occlum",     (default native)
 *     "occlum_secrets": "secret_config.json",            (occlum format)
 *     "seed_allow_simulated": false,  (seed formats cannot say allow_simulated)
 *     "kms": {"type": "file", "path": "kms.json"},       (else the policy's)
 *          | {"type": "vault", "addr": "https://vault:8200", "kv_version": 1|2,
 *             "mount": "secret", "field": "key", "namespace": "ns1",
 *             "ca_file": "vault-ca.pem", "token_file": "server.token"
 *             | "role_id": "...", "secret_id": "..." | "secret_id_file": "sid",
 *             "approle_mount": "approle", "reuse_connections": true}
 *                                                        (or VAULT_TOKEN)
 *     "audit": "audit.log" | "-",
 *     "limits": {"max_message_bytes": 65536, "max_names": 64,
 *                "max_concurrent_calls": 64, "deadline_ms": 10000,
 *                "kms_deadline_ms": 5000, "drain_ms": 5000,
 *                "threads": 2, "claims_cache": 4096}
 *   }
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
    char *pccs_url, *pccs_ca;
    char *policy;
    char *policy_format;          /* "native", "cczoo", "occlum" */
    char *occlum_secrets;
    int seed_allow_simulated;     /* seed-format policies accept simulated evidence */
    int has_kms;
    char *kms_type, *kms_path, *kms_addr, *kms_token, *kms_ca, *kms_mount, *kms_encoding;
    char *kms_field, *kms_namespace, *kms_token_file, *kms_role_id, *kms_secret_id;
    char *kms_secret_id_file, *kms_approle_mount;
    int kms_kv_version;
    int kms_no_connection_reuse;  /* "reuse_connections": false */
    char *audit;
    size_t max_message_bytes, max_names, max_concurrent_calls, threads, claims_cache;
    long deadline_ms;
    long kms_deadline_ms;         /* 0: half of deadline_ms */
    long drain_ms;
} asps_service_config;

asps_err asps_service_config_load(const char *path, asps_service_config **out, asps_errbuf *eb);
/* Defaults for everything; the caller fills paths (for flag-only use). */
asps_err asps_service_config_new(asps_service_config **out, asps_errbuf *eb);
void asps_service_config_free(asps_service_config *c);

typedef struct asps_service asps_service;

asps_err asps_service_new(const asps_service_config *cfg, asps_service **out, asps_errbuf *eb);
void asps_service_free(asps_service *s);

/* Reload policy and KMS from the config's files; on error the old ones stay
 * and eb says why. */
asps_err asps_service_reload(asps_service *s, asps_errbuf *eb);

/* TLS handshake hook: 0 accept; else the gRPC status a refused client is
 * told: ASPS_STATUS_UNAUTHENTICATED when its evidence is wrong (err: "evidence
 * refused: REASON (detail)", REASON the short error name such as
 * tcb_revoked, root_untrusted, cert_expired, binding; "no client
 * certificate..." for CERT_PEM NULL), ASPS_STATUS_UNAVAILABLE when the
 * server's collateral could not be had or used (err: "evidence not checked:
 * REASON (retry later)", REASON collateral_unavailable or the collateral's
 * error such as tcb_info_expired). Each refusal is audited and counted in
 * the refusal summary on stderr. Thread-safe. */
int asps_service_verify_peer(asps_service *s, const char *cert_pem, char *err, size_t errlen);

/* A call the transport answered itself because its connection was refused
 * (or had no certificate): one audit line (peer, "METHOD: MSG"). */
void asps_service_refused_call(asps_service *s, const char *cert_pem, const char *peer,
                               const char *method, int status, const char *msg);

/* A TLS handshake that failed before any certificate check (REASON: the TLS
 * library's words): one audit line (no peer: TLS does not say) and a count
 * in the refusal summary. */
void asps_service_handshake_failed(asps_service *s, const char *reason);

/* gRPC status codes used by the service (grpc/status.h values). */
enum {
    ASPS_STATUS_OK = 0,
    ASPS_STATUS_INVALID_ARGUMENT = 3,
    ASPS_STATUS_PERMISSION_DENIED = 7,
    ASPS_STATUS_RESOURCE_EXHAUSTED = 8,
    ASPS_STATUS_INTERNAL = 13,
    ASPS_STATUS_UNAVAILABLE = 14,
    ASPS_STATUS_UNAUTHENTICATED = 16,
};

/* One call: the peer's certificate (as verified in the handshake), its
 * address, the requested names. Returns a status code; on OK *out holds
 * every requested secret in request order (n_names of them; free with
 * asps_secrets_free). MSG gets a short reason for the
 * peer (never a value, and the same text for unknown and denied names). */
int asps_service_get_secrets(asps_service *s, const char *cert_pem, const char *peer,
                             const char *const *names, size_t n_names, asps_secret **out,
                             char *msg, size_t msglen);

/* How a peer certificate (DER) becomes claims: RA-TLS verification with the
 * given verifier (one of the service's pool, locked for this call) at time
 * AT. The default is asps_ratls_verify with the config's collateral source;
 * tests may install another. */
#include "asps/verify.h"
typedef asps_err (*asps_service_evidence_fn)(void *ctx, asps_verifier *v, const uint8_t *cert_der,
                                             size_t len, int64_t at, asps_claims *claims,
                                             asps_errbuf *eb);
void asps_service_set_evidence(asps_service *s, asps_service_evidence_fn fn, void *ctx);

/* The collateral the config names for QUOTE (CTX is the service); *owned
 * says whether the caller must free it. */
asps_err asps_service_collateral_for(void *ctx, const uint8_t *quote, size_t len,
                                     const asps_collateral **col, int *owned, asps_errbuf *eb);

/* One audit line for a call refused before the service decided (malformed
 * request, too many names, a CCZoo ctx that is not this connection's
 * certificate, a value a legacy protocol cannot carry). */
void asps_service_audit_refused(asps_service *s, const char *cert_pem, const char *peer,
                                const char *const *names, size_t n, const char *verdict,
                                const char *reason);

/* Counters for tests and the health of the service. */
typedef struct asps_service_stats {
    uint64_t handshakes_ok, handshakes_refused, calls, granted, denied, unavailable;
    uint64_t calls_refused; /* answered by the transport: connection refused */
    uint64_t claims_cache_hits;
} asps_service_stats;
void asps_service_get_stats(asps_service *s, asps_service_stats *out);

#ifdef __cplusplus
}
#endif
#endif
