/* http.h: the one HTTP client of asps (libcurl), for the PCCS client and
 * the Vault backend: the same transport, retry, Retry-After and size rules
 * for both.
 *
 * Transport: TLS peer and host verification always on (CA file or the
 * system's), http and https only, no redirects, no signals; each request's
 * timeout (connect and whole) is the smaller of the client's timeout_ms and
 * the time left before the request's deadline.
 * Connections: with reuse on, idle curl handles are kept in a small pool
 * (at most ASPS_HTTP_POOL_MAX, under a mutex), so that keep-alive
 * connections, and with them TCP and TLS handshakes, are reused across
 * requests and threads; every option is reset when a handle returns, and a
 * handle whose exchange failed is closed (its connection may be broken).
 * Size: a body longer than max_body aborts the transfer (resp.too_big); a
 * captured header longer than ASPS_HTTP_MAX_HEADER is ignored.
 * Retries (asps_http_do): the caller's judge says, after each exchange,
 * whether it is done, worth another try (transient) or final. Between tries
 * the wait doubles from backoff_ms (capped at ASPS_HTTP_BACKOFF_MAX_MS); a
 * Retry-After (seconds or an HTTP date, RFC 9110 10.2.3) raises it; a
 * Retry-After beyond the cap ends the tries at once (waiting would hold the
 * caller); a wait that would end past the deadline is not made.
 * Secrets: request headers (tokens) are cleansed after the exchange; with
 * secret set, the body is a secret writer (cleansed as it grows and when
 * freed). Thread-safe: one client serves any number of threads.
 */
#ifndef ASPS_HTTP_H
#define ASPS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"
#include "writer.h"

#define ASPS_HTTP_POOL_MAX 8
#define ASPS_HTTP_MAX_HEADER (64u * 1024)
#define ASPS_HTTP_BACKOFF_MAX_MS 2000
#define ASPS_HTTP_MAX_URL 2048

typedef struct asps_http asps_http;

typedef struct asps_http_opts {
    const char *ca_file; /* CAs for the server's certificate; NULL: the system's */
    long timeout_ms;     /* per request; <= 0: 5000 */
    int max_retries;     /* tries after the first (0: 2; < 0: none) */
    unsigned backoff_ms; /* first wait between tries (0: 100) */
    size_t max_body;     /* bytes (0: 1 MiB) */
    int reuse;           /* keep idle connections (a pool of handles) */
    int secret;          /* bodies may hold secrets */
} asps_http_opts;

asps_err asps_http_new(const asps_http_opts *o, asps_http **out, asps_errbuf *eb);
void asps_http_free(asps_http *h);
/* Exchanges made so far (each try counts), for tests and metrics. */
unsigned long asps_http_requests(const asps_http *h);
long asps_http_timeout_ms(const asps_http *h);

typedef struct asps_http_req {
    const char *method;              /* NULL or "GET"; "POST" with post */
    const char *url;                 /* at most ASPS_HTTP_MAX_URL - 1 bytes */
    const char *const *headers;      /* "Name: value" lines; cleansed after use */
    size_t n_headers;
    const char *post;                /* request body (NUL-terminated) or NULL */
    const char *want_header;         /* a response header to capture, or NULL */
    int64_t deadline_ms;             /* asps_now_mono_ms() clock; 0: none */
    const char *what;                /* names the request in messages ("vault: /v1/x") */
    const char *deadline_name;       /* "KMS": "the KMS deadline passed ..." */
} asps_http_req;

typedef struct asps_http_resp {
    long status;         /* HTTP status; 0 when none arrived */
    int failed;          /* the transfer failed (no complete answer) */
    int final;           /* ... in a way retrying cannot mend (TLS trust, CA file, memory) */
    int untrusted;       /* ... because the server's certificate is not trusted */
    const char *error;   /* libcurl's text for the failure (static), or "" */
    int too_big;         /* the body passed max_body: transfer aborted */
    long retry_after;    /* seconds the server asked to wait (0: none; at most a day) */
    asps_writer body;    /* the body, NUL-terminated */
    char *header;        /* the captured header's value (trimmed), or NULL */
} asps_http_resp;

void asps_http_resp_free(asps_http_resp *r);

/* One exchange, no retries. Fills *r (freed first). ASPS_E_ARG when the
 * URL is too long, ASPS_E_NOMEM, else ASPS_OK whatever the answer (judge
 * *r). */
asps_err asps_http_once(asps_http *h, const asps_http_req *q, long timeout_ms, asps_http_resp *r,
                        asps_errbuf *eb);

typedef enum { ASPS_HTTP_DONE, ASPS_HTTP_RETRY, ASPS_HTTP_STOP } asps_http_verdict;

/* After each exchange: DONE (asps_http_do returns ASPS_OK, *r kept), or
 * RETRY / STOP with the error written (*e, and its text in eb). Called for
 * every try, with its number (0 first). */
typedef asps_http_verdict (*asps_http_judge)(void *ud, const asps_http_req *q,
                                             const asps_http_resp *r, int attempt, asps_err *e,
                                             asps_errbuf *eb);

/* The request with retries as the header comment says. On failure *r is
 * freed and the judge's (or the deadline's) error is returned. */
asps_err asps_http_do(asps_http *h, const asps_http_req *q, asps_http_judge judge, void *ud,
                      asps_http_resp *r, asps_errbuf *eb);

/* Statuses that can pass by themselves: 5xx, 429 (rate limited), 412 (not
 * yet consistent, as Vault Enterprise says). */
int asps_http_transient(long status);
/* Will the server's Retry-After end the tries (beyond the backoff cap)? */
int asps_http_wait_too_long(const asps_http_resp *r);

#endif
