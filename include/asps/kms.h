/* asps/kms.h: where secret values come from.
 *
 * One interface, several backends, behind an opaque asps_kms handle:
 *   - "file": a JSON file (format below), read afresh on every get, so an
 *     edited file, or a file that was missing and came back, is seen at once.
 *     It ignores credentials: access to the file is access to its secrets.
 *   - "vault": HashiCorp Vault KV v1/v2 over libcurl (src/kms_vault.c); the
 *     per-call credential is the app's own Vault token (CCZoo's app_token),
 *     else the server token or an AppRole login (renewed with renew-self,
 *     a new login when renewal fails or the max TTL is near);
 *     keep-alive connections are pooled; 5xx/429/412 retried (a sealed Vault
 *     not); a 403 to the server's own token is checked with lookup-self
 *     (dead server token: UNAVAILABLE; dead AppRole token: one new login).
 *
 * Errors from get (the service maps them):
 *   ASPS_E_UNAVAILABLE  backend down, unreadable or malformed (the call fails
 *                       with UNAVAILABLE, the server keeps running)
 *   ASPS_E_NOT_FOUND    the reference does not exist
 *   ASPS_E_DENIED       the backend refused the credential
 * Messages name the reference, never a value.
 *
 * File backend format: one JSON object, name -> value. A value is
 *   "base64:<standard base64>"   bytes
 *   "text:<anything>"            the UTF-8 bytes after "text:"
 *   "<anything else>"            plain text (or base64 when the backend's
 *                                default encoding is "base64", which reads
 *                                Occlum's secret_config.json unchanged)
 *   {"base64": "<...>"}          bytes
 *   {"text": "<...>"}            text, whatever its prefix
 * See examples/kms.json.
 */
#ifndef ASPS_KMS_H
#define ASPS_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASPS_KMS_MAX_VALUE (1u << 20)   /* largest secret value */
#define ASPS_KMS_FILE_MAX (16u << 20)  /* largest KMS file */

typedef struct asps_kms asps_kms;

/* A backend: get fills *value (malloc'd; the caller frees it with
 * asps_kms_value_free) and *len. credential may be NULL. Must be safe to
 * call from several threads at once. */
typedef struct asps_kms_ops {
    const char *name;
    asps_err (*get)(void *impl, const char *ref, const char *credential,
                    uint8_t **value, size_t *len, asps_errbuf *eb);
    void (*free)(void *impl);
} asps_kms_ops;

/* Wrap a backend (takes ownership of impl; ops must outlive the handle). */
asps_err asps_kms_new(const asps_kms_ops *ops, void *impl, asps_kms **out, asps_errbuf *eb);

/* Backend selection as a config file or a policy's "kms" block says. */
typedef struct asps_kms_config {
    const char *type;             /* "file" | "vault" */
    const char *path;             /* file */
    const char *default_encoding; /* file: "text" (default) or "base64" */
    const char *addr;             /* vault: "http://127.0.0.1:8200" */
    const char *token;            /* vault: default token when an app has none */
    const char *ca_file;          /* vault: CA bundle for https */
    int kv_version;               /* vault: 1 or 2 (0 = 1, the seed system's GET /v1/PATH) */
    const char *mount;            /* vault: KV mount prefix, may be NULL */
    const char *field;            /* vault: field of the secret (default "key") */
    const char *vault_namespace;  /* vault: X-Vault-Namespace, may be NULL */
    const char *token_file;       /* vault: read the server token from this file */
    const char *role_id;          /* vault: AppRole login (with secret_id) */
    const char *secret_id;
    const char *secret_id_file;   /* vault: read secret_id from this file (not
                                     readable or writable by others) */
    const char *approle_mount;    /* vault: AppRole auth mount (default "approle") */
    long timeout_ms;              /* vault: per request (0 = 5000) */
    int max_retries;              /* vault: for 5xx/429/412/transport errors (0 = 2, <0 none) */
    int no_connection_reuse;      /* vault: 1 = a new connection per request
                                     (default 0: pooled keep-alive connections) */
} asps_kms_config;

/* Vault backend (KV v1/v2 over libcurl); see src/kms_vault.c. */
asps_err asps_kms_open_vault(const asps_kms_config *cfg, asps_kms **out, asps_errbuf *eb);

asps_err asps_kms_open(const asps_kms_config *cfg, asps_kms **out, asps_errbuf *eb);

typedef enum asps_kms_encoding {
    ASPS_KMS_PLAIN_TEXT = 0,  /* unprefixed strings are text */
    ASPS_KMS_PLAIN_BASE64,    /* unprefixed strings are base64 */
} asps_kms_encoding;

/* The JSON file backend. The file need not exist yet. */
asps_err asps_kms_open_file(const char *path, asps_kms_encoding plain, asps_kms **out,
                            asps_errbuf *eb);

/* Fetch REF's value. */
asps_err asps_kms_get(asps_kms *k, const char *ref, const char *credential,
                      uint8_t **value, size_t *len, asps_errbuf *eb);
/* Cleanse and free a value from asps_kms_get. */
void asps_kms_value_free(uint8_t *value, size_t len);

const char *asps_kms_backend_name(const asps_kms *k);
void asps_kms_free(asps_kms *k);

#ifdef __cplusplus
}
#endif
#endif
