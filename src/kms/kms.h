/* asps/kms.h: where secret values come from.
 *
 * One interface, several backends, behind an opaque asps_kms handle:
 *   - "file": a JSON file (format below), looked at (stat) on every get, so
 *     an edited or replaced file, or a file that was missing and came back,
 *     is seen at once; its text and a name index are kept between gets
 *     while its device, inode, size, mtime and ctime stay the same (a get
 *     costs a lookup and its own value, not the file's size; see
 *     kms_file.c). Such a get is answered on the caller's thread
 *     (get_now) when the file and every folder on its path were on local
 *     file systems, and none a symlink, around its last read; reading the
 *     file, and every get of a file reached through a symlink, NFS, SMB,
 *     FUSE or anything else, runs on a fetch thread. It ignores
 *     credentials: access to the file is access to its secrets.
 *   - "vault": HashiCorp Vault KV v1/v2 over libcurl (src/kms_vault.c); the
 *     per-call credential is the app's own Vault token (CCZoo's app_token),
 *     else the server token or an AppRole login (renewed with renew-self,
 *     a new login when renewal fails or the max TTL is near);
 *     keep-alive connections are pooled; 5xx/429/412 retried (a sealed Vault
 *     not); a 403 to the server's own token is checked with lookup-self
 *     (dead server token: UNAVAILABLE; dead AppRole token: one new login).
 *
 * Every fetch has a deadline and never holds its caller past it. The
 * backend runs on a fetch thread (a small pool shared by the process),
 * unless it can answer at once without waiting on anything that may hang
 * (get_now below: the file backend's kept text of an unchanged file whose
 * path is all on local file systems, without symlinks; kms_file.c says the
 * one case where its look at the path could still wait);
 * the caller waits for it until the deadline and then gives up with
 * ASPS_E_UNAVAILABLE, abandoning the fetch: a backend stuck where no
 * timeout reaches (open() or read() on a hung network file system, a DNS
 * lookup) keeps only its fetch thread, which finishes the fetch, cleanses
 * and drops its result whenever it returns, and serves again. The pool
 * starts threads as needed, up to ASPS_KMS_MAX_FETCHES running or stuck at
 * once (beyond: UNAVAILABLE at once), and keeps a few idle ones. Backends
 * get the deadline too and keep to it where they can (Vault: curl
 * timeouts and retries end by it). A handle stays alive, through a
 * reference, until its last fetch has returned, even after asps_kms_free.
 *
 * Values are bytes with a length, from the KMS reply to the caller: a value
 * may hold 0x00 bytes ("text:pw\u0000tail" is 7 bytes) and is never cut.
 *
 * Errors from get (the service maps them):
 *   ASPS_E_UNAVAILABLE  backend down, unreadable, malformed or past the
 *                       deadline (the call fails with UNAVAILABLE, the
 *                       server keeps running)
 *   ASPS_E_NOT_FOUND    the reference does not exist
 *   ASPS_E_DENIED       the backend refused the credential
 * Messages name the reference, never a value.
 *
 * File backend format: one JSON object, name -> value (RFC 8259, strictly:
 * a raw control character in a string is an error; escapes such as
 * "\u0000" are decoded whole, with the value's length). The file must be a
 * regular file: it is opened without blocking and anything else (a FIFO, a
 * device, a folder) is refused. A value is
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
#define ASPS_KMS_DEFAULT_DEADLINE_MS 10000 /* asps_kms_get */
#define ASPS_KMS_MAX_FETCHES 64 /* fetch threads running or stuck at once */

typedef struct asps_kms asps_kms;

/* A backend: get fills *value (malloc'd; the caller frees it with
 * asps_kms_value_free) and *len. credential may be NULL. deadline_ms
 * (CLOCK_MONOTONIC in ms: tv_sec * 1000 + tv_nsec / 1000000) is when the
 * caller stops waiting: a backend should give up by then (a result that
 * comes later is dropped). Runs on a fetch thread; must be safe to call
 * from several threads at once.
 * get_now (may be NULL) answers on the caller's own thread, without the
 * hand-off to a fetch thread and back (two context switches and a wake-up:
 * 20-40 us of a server's CPU per name under load, bench_load), when the
 * backend can answer without waiting on anything that may hang (a network,
 * a network file system): it returns 1 with *result set as get would
 * (and *value, *len, eb as get fills them), or 0 having touched nothing,
 * and the fetch goes to a fetch thread as before. */
typedef struct asps_kms_ops {
    const char *name;
    asps_err (*get)(void *impl, const char *ref, const char *credential, int64_t deadline_ms,
                    uint8_t **value, size_t *len, asps_errbuf *eb);
    void (*free)(void *impl);
    int (*get_now)(void *impl, const char *ref, const char *credential, uint8_t **value,
                   size_t *len, asps_err *result, asps_errbuf *eb);
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
    long timeout_ms;              /* vault: per request (0 = 5000), within the
                                     fetch's deadline */
    int max_retries;              /* vault: for 5xx/429/412/transport errors (0 = 2, <0 none) */
    int no_connection_reuse;      /* vault: 1 = a new connection per request
                                     (default 0: pooled keep-alive connections) */
} asps_kms_config;

/* Vault backend (KV v1/v2 over libcurl); see src/kms/kms_vault.c. */
asps_err asps_kms_open_vault(const asps_kms_config *cfg, asps_kms **out, asps_errbuf *eb);

asps_err asps_kms_open(const asps_kms_config *cfg, asps_kms **out, asps_errbuf *eb);

typedef enum asps_kms_encoding {
    ASPS_KMS_PLAIN_TEXT = 0,  /* unprefixed strings are text */
    ASPS_KMS_PLAIN_BASE64,    /* unprefixed strings are base64 */
} asps_kms_encoding;

/* The JSON file backend. The file need not exist yet. */
asps_err asps_kms_open_file(const char *path, asps_kms_encoding plain, asps_kms **out,
                            asps_errbuf *eb);

/* Fetch REF's value, giving up at deadline_ms (CLOCK_MONOTONIC ms): then
 * ASPS_E_UNAVAILABLE ("no answer from the KMS within N ms") and the fetch
 * is abandoned (see above). */
asps_err asps_kms_get_until(asps_kms *k, const char *ref, const char *credential,
                            int64_t deadline_ms, uint8_t **value, size_t *len, asps_errbuf *eb);
/* The same with a deadline ASPS_KMS_DEFAULT_DEADLINE_MS from now. */
asps_err asps_kms_get(asps_kms *k, const char *ref, const char *credential,
                      uint8_t **value, size_t *len, asps_errbuf *eb);
/* Fetches abandoned at their deadline whose backend has not returned yet
 * (process-wide). */
unsigned asps_kms_fetches_stuck(void);
/* Cleanse and free a value from asps_kms_get. */
void asps_kms_value_free(uint8_t *value, size_t len);

const char *asps_kms_backend_name(const asps_kms *k);
/* Drop the caller's reference; the backend is freed when no fetch uses it
 * any more. */
void asps_kms_free(asps_kms *k);

#ifdef __cplusplus
}
#endif
#endif
