/* kms_vault.c: the HashiCorp Vault backend of the kms module.
 *
 * References: "PATH" or "PATH#FIELD".
 *   KV v1: GET {addr}/v1/{mount/}PATH      value under data.FIELD
 *   KV v2: GET {addr}/v1/{mount}/data/PATH value under data.data.FIELD
 * FIELD defaults to "key", as the seed system (CCZoo ASPS) reads it.
 * Token: the app's own (the call's credential, the seed policy's app_token),
 * else the server token (config, VAULT_TOKEN, or a token file), else an
 * AppRole login (role_id + secret_id or secret_id_file, at approle_mount),
 * renewed (auth/token/renew-self) at 80% of its lease, logged in again
 * when renewal fails or the token's max TTL is near. Headers: X-Vault-Token,
 * X-Vault-Namespace.
 * Connections: through the one HTTP client (http.h), whose pool of idle
 * curl handles keeps keep-alive connections, and with them the TCP and TLS
 * handshakes, across fetches and threads.
 * Answers: 403 -> ASPS_E_DENIED, except that a 403 to the server's own token
 * (server or AppRole) is checked with auth/token/lookup-self: a token Vault
 * no longer knows is the server's fault (server token: ASPS_E_UNAVAILABLE;
 * AppRole token: one fresh login and one more try). 404 -> ASPS_E_NOT_FOUND.
 * 5xx, 429 (rate limited), 412 (Enterprise: not yet consistent), timeouts
 * and refused connections -> ASPS_E_UNAVAILABLE after bounded retries
 * (http.h: not sooner than a Retry-After asks; more than the 2 s backoff
 * cap: no retry, the message says when); a sealed Vault is not retried (it
 * stays sealed until an operator acts).
 * Deadline: a fetch gives up by its deadline (kms.h): each request's curl
 * timeout is the smaller of timeout_ms and the time left, a retry whose
 * backoff would end past it is not made, and the message then says the
 * deadline passed.
 * Replies are JSON read strictly (RFC 8259: a raw control character in a
 * string is an error). The value is read without cJSON (json.h,
 * asps_json_raw_*) and carries its length: "ab\u0000cd" is 5 bytes, never
 * cut at the NUL.
 * Values are the string's bytes. Tokens and values never reach an error
 * message: the only reply text quoted is Vault's "errors" strings, printable
 * ASCII, bounded, and dropped whole when they hold a token or credential.
 * Buffers that held secrets are cleansed.
 * (About 720 lines, over the house's 700: one backend's job, most of it the
 * AppRole token's life and the reading of Vault's answers; the transport is
 * in base/http.c.)
 */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "http.h"
#include "json.h"
#include "kms.h"
#include "kms_backend.h"
#include "util.h"

#define MAX_BODY (1u << 20)
#define ERRTEXT_MAX 200   /* Vault error text quoted in a message */
#define BACKOFF_MS 50     /* first wait between tries (http.h doubles it) */

typedef struct vault {
    char *addr, *mount, *field, *ns, *ca_file;
    char *server_token;
    char *role_id, *secret_id, *approle_mount;
    int kv_version;
    asps_http *http;
    pthread_mutex_t lock; /* approle_token, approle_expires, approle_renewable, approle_ttl */
    char *approle_token;
    int64_t approle_expires; /* when to renew or log in again: 80% of the lease */
    int approle_renewable;   /* renew-self first (a login spends a secret_id use) */
    double approle_ttl;      /* the lease the login gave */
} vault;

typedef asps_http_resp body;

#define body_free asps_http_resp_free
#define BODY(b) ((const char *)(b)->body.p)

/* One Vault request: URL and headers for the HTTP client. with_ns: send
 * X-Vault-Namespace (not for sys/ endpoints of the root namespace). The
 * token line is cleansed by vreq_clear. */
typedef struct vreq {
    asps_http_req q;
    const char *hs[3];
    char *th;
    char nsh[512];
    char url[ASPS_HTTP_MAX_URL];
    char what[ASPS_HTTP_MAX_URL + 8];
} vreq;

static asps_err vreq_init(vault *v, vreq *r, const char *method, const char *path, const char *token,
                          const char *post, int with_ns, int64_t deadline, asps_errbuf *eb)
{
    size_t nh = 0;
    r->th = NULL;
    if (snprintf(r->url, sizeof r->url, "%s%s", v->addr, path) >= (int)sizeof r->url)
        return asps_fail(eb, ASPS_E_ARG, "vault: path too long");
    snprintf(r->what, sizeof r->what, "vault: %s", path);
    if (token) {
        size_t n = strlen(token) + 32;
        if ((r->th = malloc(n)) != NULL) {
            snprintf(r->th, n, "X-Vault-Token: %s", token);
            r->hs[nh++] = r->th;
        }
    }
    if (v->ns && with_ns) {
        snprintf(r->nsh, sizeof r->nsh, "X-Vault-Namespace: %s", v->ns);
        r->hs[nh++] = r->nsh;
    }
    if (post)
        r->hs[nh++] = "Content-Type: application/json";
    r->q = (asps_http_req){.method = method, .url = r->url, .headers = r->hs, .n_headers = nh,
                           .post = post, .deadline_ms = deadline, .what = r->what,
                           .deadline_name = "KMS"};
    return ASPS_OK;
}

static void vreq_clear(vreq *r)
{
    asps_cleanse_free_str(r->th);
    r->th = NULL;
}

/* A reply as a cJSON tree, through the strict reader (json.h); NULL when it
 * is not JSON (or holds "\u0000", which a cJSON string cannot carry). */
static cJSON *parse_reply(const char *p, size_t n)
{
    cJSON *o = NULL;
    asps_errbuf jeb;
    return p && n && asps_json_parse(p, n, "vault reply", &o, &jeb) == ASPS_OK ? o : NULL;
}

/* Time left before DEADLINE for one request: at most the client's
 * timeout; 0 when the deadline has passed. */
static long time_left(const vault *v, int64_t deadline)
{
    int64_t left = deadline - asps_now_mono_ms(), t = asps_http_timeout_ms(v->http);
    if (left <= 0)
        return 0;
    return left < t ? (long)left : (long)t;
}

static int contains_any(const char *s, const char *const *hide, size_t n_hide)
{
    for (size_t i = 0; i < n_hide; i++)
        /* (a 1-3 character "secret" is in every text: nothing to hide) */
        if (hide[i] && strlen(hide[i]) >= 4 && strstr(s, hide[i]))
            return 1;
    /* Vault token prefixes (service, batch, recovery): a token we were not
     * told about is still a token */
    return strstr(s, "hvs.") || strstr(s, "hvb.") || strstr(s, "hvr.");
}

/* The strings of a Vault error reply ({"errors": ["...", ...]}) made safe
 * to quote: printable ASCII (runs of anything else become one space),
 * joined with "; ", at most cap-1 bytes; a string holding any of hide[]
 * or a Vault token is left out whole (truncation could otherwise quote
 * part of it). Returns the length written (0: nothing to quote). Nothing
 * else from a reply ever reaches a message. (Not static: fuzzed.) */
size_t asps_vault_error_text(const char *reply, size_t n, const char *const *hide, size_t n_hide,
                             char *out, size_t cap);
size_t asps_vault_error_text(const char *reply, size_t n, const char *const *hide, size_t n_hide,
                             char *out, size_t cap)
{
    if (!out || cap == 0)
        return 0;
    out[0] = 0;
    cJSON *o = parse_reply(reply, n);
    const cJSON *errs = o ? cJSON_GetObjectItemCaseSensitive(o, "errors") : NULL;
    size_t w = 0;
    int full = 0;
    const cJSON *it;
#define PUT(ch) (w + 1 < cap ? (void)(out[w++] = (ch)) : (void)(full = 1))
    if (cJSON_IsArray(errs)) {
        cJSON_ArrayForEach(it, errs)
        {
            if (full)
                break;
            if (!cJSON_IsString(it) || contains_any(it->valuestring, hide, n_hide))
                continue;
            size_t mark = w;
            if (w > 0) {
                PUT(';');
                PUT(' ');
            }
            int any = 0, gap = 0;
            for (const unsigned char *p = (const unsigned char *)it->valuestring; *p && !full; p++) {
                if (*p > 0x20 && *p < 0x7f) {
                    if (gap && any)
                        PUT(' ');
                    PUT((char)*p);
                    any = 1;
                    gap = 0;
                } else {
                    gap = 1;
                }
            }
            out[w] = 0;
            /* also after the clean-up (a hidden string with a blank in it) */
            if (!any || contains_any(out + mark, hide, n_hide))
                w = mark;
        }
    }
#undef PUT
    while (w > 0 && (out[w - 1] == ' ' || out[w - 1] == ';'))
        w--;
    out[w] = 0;
    cJSON_Delete(o);
    return w;
}

/* Does Vault say it is sealed? Its own reply says "Vault is sealed"; a
 * 503 without that text (a proxy's page, a trimmed reply) is checked once
 * with the unauthenticated sys/seal-status. */
static int is_sealed(vault *v, const body *b, int *asked, int64_t deadline)
{
    char et[ERRTEXT_MAX];
    if (asps_vault_error_text(BODY(b), b->body.len, NULL, 0, et, sizeof et) &&
        strstr(et, "Vault is sealed"))
        return 1;
    if (*asked)
        return 0;
    *asked = 1;
    body s = {0};
    vreq r;
    asps_errbuf seb;
    int sealed = 0;
    long left = time_left(v, deadline);
    if (left > 0 && vreq_init(v, &r, "GET", "/v1/sys/seal-status", NULL, NULL, 0, deadline, &seb) == ASPS_OK &&
        asps_http_once(v->http, &r.q, left, &s, &seb) == ASPS_OK && !s.failed && s.status == 200) {
        cJSON *o = parse_reply(BODY(&s), s.body.len);
        sealed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "sealed"));
        cJSON_Delete(o);
    }
    body_free(&s);
    return sealed;
}

/* How Vault's answers are judged between tries (http.h). */
typedef struct judge_ctx {
    vault *v;
    const char *path;
    const char *const *hide; /* credentials never quoted from Vault's error text */
    size_t n_hide;
    int64_t deadline;
    int asked_seal;
} judge_ctx;

static asps_http_verdict judge(void *ud, const asps_http_req *q, const asps_http_resp *r, int attempt,
                               asps_err *e, asps_errbuf *eb)
{
    judge_ctx *j = ud;
    (void)q;
    if (r->too_big) {
        *e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: reply larger than %u bytes", j->path, MAX_BODY);
        return ASPS_HTTP_STOP;
    }
    if (r->failed) {
        *e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: %s%s", j->path, r->error,
                       r->untrusted ? " (TLS: server certificate not trusted)" : "");
        return r->final ? ASPS_HTTP_STOP : ASPS_HTTP_RETRY;
    }
    if (r->status == 503 && is_sealed(j->v, r, &j->asked_seal, j->deadline)) {
        /* sealed until an operator unseals it: retrying only delays */
        *e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: Vault is sealed (HTTP 503; an operator must unseal it)",
                       j->path);
        return ASPS_HTTP_STOP;
    }
    if (!asps_http_transient(r->status))
        return ASPS_HTTP_DONE;
    char et[ERRTEXT_MAX], wait[64] = "";
    asps_vault_error_text(BODY(r), r->body.len, j->hide, j->n_hide, et, sizeof et);
    /* a wait beyond the backoff cap would hold the caller: the client gives
     * up now, and the message says when Vault will answer */
    if (asps_http_wait_too_long(r))
        snprintf(wait, sizeof wait, "; Vault asks to retry after %ld s", r->retry_after);
    *e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: HTTP %ld%s after %d %s%s%s%s", j->path, r->status,
                   r->status == 429   ? " (rate limited)"
                   : r->status == 412 ? " (not yet consistent)"
                   : r->status == 503 ? " (standby or unavailable)"
                                      : "",
                   attempt + 1, attempt ? "tries" : "try", et[0] ? ": " : "", et, wait);
    return ASPS_HTTP_RETRY;
}

/* One HTTP exchange with the client's bounded retries (http.h) for
 * transient statuses and transport errors. ASPS_OK: *status is a
 * non-transient status for the caller to judge. hide[]: credentials that
 * must not be quoted from Vault's error text. */
static asps_err http(vault *v, const char *method, const char *path, const char *token,
                     const char *post, int64_t deadline, body *out, long *status,
                     const char *const *hide, size_t n_hide, asps_errbuf *eb)
{
    vreq r;
    *status = 0;
    ASPS_TRY(vreq_init(v, &r, method, path, token, post, 1, deadline, eb));
    judge_ctx j = {v, path, hide, n_hide, deadline, 0};
    asps_err e = asps_http_do(v->http, &r.q, judge, &j, out, eb);
    vreq_clear(&r);
    if (e == ASPS_OK)
        *status = out->status;
    return e;
}

/* The "auth" part of a login or renewal reply. The reply holds a token:
 * auth_free cleanses it. */
typedef struct auth_reply {
    cJSON *o;
    const cJSON *tok, *lease, *renewable;
} auth_reply;

static void auth_parse(const body *b, auth_reply *a)
{
    a->o = parse_reply(BODY(b), b->body.len);
    const cJSON *auth = a->o ? cJSON_GetObjectItemCaseSensitive(a->o, "auth") : NULL;
    a->tok = auth ? cJSON_GetObjectItemCaseSensitive(auth, "client_token") : NULL;
    a->lease = auth ? cJSON_GetObjectItemCaseSensitive(auth, "lease_duration") : NULL;
    a->renewable = auth ? cJSON_GetObjectItemCaseSensitive(auth, "renewable") : NULL;
    if (!cJSON_IsString(a->tok) || !a->tok->valuestring[0])
        a->tok = NULL;
}

static void auth_free(auth_reply *a)
{
    if (a->tok)
        OPENSSL_cleanse(a->tok->valuestring, strlen(a->tok->valuestring));
    cJSON_Delete(a->o);
    memset(a, 0, sizeof *a);
}

/* When to act on a token again: after 80% of its lease (none: 1 h). The
 * lease comes from a reply: bounded (a year) before it becomes an integer. */
static int64_t renew_at(int64_t now, double lease)
{
    if (lease > 31536000.0)
        lease = 31536000.0;
    int64_t ttl = lease > 0 ? (int64_t)(lease * 0.8) : 3600;
    return now + (ttl > 0 ? ttl : 1);
}

/* Tokens are compared whole and in constant time. */
static int same_token(const char *a, const char *b)
{
    size_t n = strlen(a);
    return strlen(b) == n && asps_ct_equal(a, b, n);
}

/* AppRole token renewal (auth/token/renew-self), so that a secret_id with
 * limited uses is not spent on every lease. 1: renewed, *out is a copy of
 * the token (NULL when out of memory). A renewal whose lease came back
 * shorter than half the login's has met the token's max TTL: the next time
 * is a login. 0: not renewed (expired, revoked, Vault down); the caller
 * logs in. The reply repeats the token and is cleansed. */
static int approle_renew(vault *v, const char *token, int64_t now, int64_t deadline, char **out)
{
    body b = {0};
    long st = 0;
    asps_errbuf reb;
    const char *hide[] = {token};
    asps_err e = http(v, "POST", "/v1/auth/token/renew-self", token, "{}", deadline, &b, &st, hide, 1, &reb);
    auth_reply a = {0};
    if (e == ASPS_OK && st == 200)
        auth_parse(&b, &a);
    int ok = a.tok && same_token(a.tok->valuestring, token) && cJSON_IsNumber(a.lease) &&
             a.lease->valuedouble > 0;
    if (ok) {
        pthread_mutex_lock(&v->lock);
        if (v->approle_token && same_token(v->approle_token, token)) {
            v->approle_expires = renew_at(now, a.lease->valuedouble);
            v->approle_renewable = cJSON_IsTrue(a.renewable) && a.lease->valuedouble >= v->approle_ttl / 2;
        }
        pthread_mutex_unlock(&v->lock);
        *out = strdup(token);
    }
    auth_free(&a);
    body_free(&b);
    return ok;
}

/* AppRole: a token, renewed or logged in again when (nearly) expired, or
 * logged in again when FAILED (a token Vault no longer knows) is still the
 * cached one; when another thread has already replaced it, its new token
 * is used without a login. */
static asps_err approle_token(vault *v, const char *failed, int64_t deadline, char **out,
                              asps_errbuf *eb)
{
    int64_t now = (int64_t)time(NULL);
    char *stale = NULL;
    pthread_mutex_lock(&v->lock);
    int dead = failed && v->approle_token && same_token(v->approle_token, failed);
    if (v->approle_token && now < v->approle_expires && !dead) {
        *out = strdup(v->approle_token);
        pthread_mutex_unlock(&v->lock);
        return *out ? ASPS_OK : asps_fail(eb, ASPS_E_NOMEM, "vault: out of memory");
    }
    if (v->approle_token && v->approle_renewable && !dead)
        stale = strdup(v->approle_token);
    pthread_mutex_unlock(&v->lock);
    if (stale) {
        int renewed = approle_renew(v, stale, now, deadline, out);
        asps_cleanse_free_str(stale);
        if (renewed)
            return *out ? ASPS_OK : asps_fail(eb, ASPS_E_NOMEM, "vault: out of memory");
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "role_id", v->role_id);
    cJSON_AddStringToObject(req, "secret_id", v->secret_id);
    char *post = cJSON_PrintUnformatted(req);
    if (req) {
        /* the request object held the secret_id */
        cJSON *sid = cJSON_GetObjectItemCaseSensitive(req, "secret_id");
        if (cJSON_IsString(sid))
            OPENSSL_cleanse(sid->valuestring, strlen(sid->valuestring));
    }
    cJSON_Delete(req);
    char path[300];
    snprintf(path, sizeof path, "/v1/auth/%s/login", v->approle_mount);
    const char *hide[] = {v->role_id, v->secret_id};
    body b = {0};
    long st;
    asps_err e = post ? http(v, "POST", path, NULL, post, deadline, &b, &st, hide, 2, eb)
                      : asps_fail(eb, ASPS_E_NOMEM, "vault: out of memory");
    asps_cleanse_free_str(post);
    if (e == ASPS_OK && st != 200) {
        char et[ERRTEXT_MAX];
        asps_vault_error_text(BODY(&b), b.body.len, hide, 2, et, sizeof et);
        e = asps_fail(eb, st == 400 || st == 403 ? ASPS_E_DENIED : ASPS_E_UNAVAILABLE,
                      "vault: AppRole login at %s refused (HTTP %ld%s%s)", path, st, et[0] ? ": " : "", et);
    }
    auth_reply a = {0};
    if (e == ASPS_OK)
        auth_parse(&b, &a);
    if (e == ASPS_OK && !a.tok)
        e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: AppRole login reply has no auth.client_token");
    if (e == ASPS_OK) {
        double secs = cJSON_IsNumber(a.lease) ? a.lease->valuedouble : 0;
        pthread_mutex_lock(&v->lock);
        asps_cleanse_free_str(v->approle_token);
        v->approle_token = strdup(a.tok->valuestring);
        v->approle_expires = renew_at(now, secs);
        v->approle_renewable = secs > 0 && cJSON_IsTrue(a.renewable);
        v->approle_ttl = secs;
        *out = v->approle_token ? strdup(v->approle_token) : NULL;
        pthread_mutex_unlock(&v->lock);
        if (!*out)
            e = asps_fail(eb, ASPS_E_NOMEM, "vault: out of memory");
    }
    auth_free(&a);
    body_free(&b);
    return e;
}

/* Is TOKEN one Vault no longer knows (revoked, expired, never issued)?
 * A 403 on a read says only "not allowed"; lookup-self, which Vault's
 * "default" policy allows every token, tells a dead token (403 again) from
 * a policy that does not cover the path (200). Anything else (Vault down,
 * 5xx) cannot tell: the read's denial stands. The reply repeats the token
 * and is cleansed. */
static int token_dead(vault *v, const char *token, int64_t deadline)
{
    body b = {0};
    long st = 0;
    asps_errbuf leb;
    asps_err e = http(v, "GET", "/v1/auth/token/lookup-self", token, NULL, deadline, &b, &st, NULL, 0, &leb);
    body_free(&b);
    return e == ASPS_OK && (st == 403 || st == 401);
}

/* The value of FIELD in a KV v1 ({"data": {FIELD: ...}}) or v2
 * ({"data": {"data": {FIELD: ...}}}) read reply, whole: read without cJSON
 * (json.h), so a value holding "\u0000" keeps every byte and its length.
 * A name that appears twice on the way is a malformed reply. (Not static:
 * the fuzz target drives it.) */
asps_err asps_vault_parse_value(const char *reply, size_t n, int kv_version, const char *field,
                                const char *what, uint8_t **value, size_t *len, asps_errbuf *eb);
asps_err asps_vault_parse_value(const char *reply, size_t n, int kv_version, const char *field,
                                const char *what, uint8_t **value, size_t *len, asps_errbuf *eb)
{
    asps_reader top, d, f;
    if (!reply)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: no reply", what);
    if (asps_json_raw_parse(reply, n, what, &top, eb) != ASPS_OK) {
        asps_err_prefix(eb, "vault: reply is not JSON: ");
        return ASPS_E_UNAVAILABLE;
    }
    size_t c = asps_json_raw_member(top, "data", &d);
    if (c == 1 && kv_version == 2)
        c = asps_json_raw_member(d, "data", &d);
    if (c == 1)
        c = asps_json_raw_member(d, field, &f);
    if (c > 1)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: a name appears twice in the reply", what);
    if (c == 0 || asps_json_raw_kind_of(f) != ASPS_JSON_RAW_STRING)
        return asps_fail(eb, ASPS_E_NOT_FOUND, "vault: %s: no string field \"%s\"", what, field);
    asps_err e = asps_json_raw_string(f, value, len, eb);
    if (e != ASPS_OK)
        return asps_fail(eb, e == ASPS_E_NOMEM ? e : ASPS_E_UNAVAILABLE, "vault: %s: malformed value", what);
    if (*len > ASPS_KMS_MAX_VALUE) {
        asps_kms_value_free(*value, *len);
        *value = NULL;
        *len = 0;
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: value larger than %u bytes", what, ASPS_KMS_MAX_VALUE);
    }
    return ASPS_OK;
}

/* A token goes into an HTTP header: printable ASCII only, so that no token
 * can add or break headers. */
static int token_ok(const char *t)
{
    if (!t || !t[0] || strlen(t) > 4096)
        return 0;
    for (const char *p = t; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 0;
    return 1;
}

static asps_err vault_get(void *impl, const char *ref, const char *credential, int64_t deadline,
                          uint8_t **value, size_t *len, asps_errbuf *eb)
{
    vault *v = impl;
    char path[1024], field[128];
    const char *hash = strchr(ref, '#');
    size_t plen = hash ? (size_t)(hash - ref) : strlen(ref);
    snprintf(field, sizeof field, "%s", hash ? hash + 1 : v->field);
    if (plen == 0 || plen > 512 || !field[0] || strstr(ref, "..") || ref[0] == '/')
        return asps_fail(eb, ASPS_E_ARG, "vault: bad reference \"%.*s\"", (int)(plen > 64 ? 64 : plen), ref);
    for (size_t i = 0; i < plen; i++)
        if (ref[i] <= ' ' || ref[i] == '?' || ref[i] == '%')
            return asps_fail(eb, ASPS_E_ARG, "vault: bad character in reference");
    if (v->kv_version == 2)
        snprintf(path, sizeof path, "/v1/%s/data/%.*s", v->mount ? v->mount : "secret", (int)plen, ref);
    else if (v->mount)
        snprintf(path, sizeof path, "/v1/%s/%.*s", v->mount, (int)plen, ref);
    else
        snprintf(path, sizeof path, "/v1/%.*s", (int)plen, ref);

    enum { APP_TOKEN, SERVER_TOKEN, APPROLE_TOKEN } kind = APP_TOKEN;
    char *token = NULL;
    asps_err e = ASPS_OK;
    if (credential && credential[0]) {
        token = strdup(credential);
    } else if (v->server_token) {
        kind = SERVER_TOKEN;
        token = strdup(v->server_token);
    } else if (v->role_id) {
        kind = APPROLE_TOKEN;
        e = approle_token(v, NULL, deadline, &token, eb);
    } else {
        return asps_fail(eb, ASPS_E_DENIED, "vault: no token for %s (no app token, server token or AppRole)", path);
    }
    if (e != ASPS_OK)
        return e;
    if (!token)
        return asps_fail(eb, ASPS_E_NOMEM, "vault: out of memory");
    if (!token_ok(token)) {
        asps_cleanse_free_str(token);
        return asps_fail(eb, ASPS_E_DENIED, "vault: %s: the token is not a printable string", path);
    }
    body b = {0};
    long st = 0;
    const char *hide[] = {token, v->server_token, v->role_id, v->secret_id};
    e = http(v, "GET", path, token, NULL, deadline, &b, &st, hide, 4, eb);
    /* A 403 to the server's own token: a dead token is the server's fault,
     * not a denial of this app. An app's own token (APP_TOKEN) that Vault
     * refuses is the app's bad credential: a denial, without a lookup. */
    int relogged = 0;
    while (e == ASPS_OK && st == 403 && kind != APP_TOKEN && token_dead(v, token, deadline)) {
        if (kind == SERVER_TOKEN) {
            e = asps_fail(eb, ASPS_E_UNAVAILABLE,
                          "vault: %s: Vault server token is invalid or expired (Vault refuses it for "
                          "auth/token/lookup-self too): give the server a valid token",
                          path);
            break;
        }
        if (relogged) {
            e = asps_fail(eb, ASPS_E_UNAVAILABLE,
                          "vault: %s: Vault refuses the AppRole token right after a fresh login", path);
            break;
        }
        /* the AppRole token was revoked or expired early: log in once more */
        char *old = token;
        token = NULL;
        e = approle_token(v, old, deadline, &token, eb);
        asps_cleanse_free_str(old);
        relogged = 1;
        hide[0] = token;
        if (e == ASPS_OK)
            e = http(v, "GET", path, token, NULL, deadline, &b, &st, hide, 4, eb);
    }
    if (e == ASPS_OK) {
        if (st == 403)
            e = asps_fail(eb, ASPS_E_DENIED, "vault: %s: permission denied", path);
        else if (st == 404)
            e = asps_fail(eb, ASPS_E_NOT_FOUND, "vault: %s: not found", path);
        else if (st != 200) {
            char et[ERRTEXT_MAX];
            asps_vault_error_text(BODY(&b), b.body.len, hide, 4, et, sizeof et);
            e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: HTTP %ld%s%s", path, st, et[0] ? ": " : "", et);
        }
    }
    asps_cleanse_free_str(token);
    if (e == ASPS_OK)
        e = asps_vault_parse_value(BODY(&b), b.body.len, v->kv_version, field, path, value, len, eb);
    body_free(&b);
    return e;
}

static void vault_free(void *impl)
{
    vault *v = impl;
    if (!v)
        return;
    free(v->addr);
    free(v->mount);
    free(v->field);
    free(v->ns);
    free(v->ca_file);
    asps_cleanse_free_str(v->server_token);
    asps_cleanse_free_str(v->role_id);
    asps_cleanse_free_str(v->secret_id);
    asps_cleanse_free_str(v->approle_token);
    free(v->approle_mount);
    asps_http_free(v->http);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

static const asps_kms_ops vault_ops = {"vault", vault_get, vault_free, NULL}; /* every get may wait on Vault */

static char *dup_or_null(const char *s) { return s && s[0] ? strdup(s) : NULL; }

/* A token or secret_id from a file: trailing newlines and blanks cut. The
 * file (strict) must not be readable or writable by others: both are
 * login credentials (group access is allowed, as Vault Agent sinks and
 * secret mounts give it to a service group). */
static asps_err read_secret_file(const char *path, const char *what, int strict, char **out,
                                 asps_errbuf *eb)
{
    struct stat st;
    if (strict && stat(path, &st) == 0 && (st.st_mode & 0007))
        return asps_fail(eb, ASPS_E_ARG, "kms: vault %s %s is accessible by others (chmod o-rwx, e.g. 600 or 640)",
                         what, path);
    uint8_t *t;
    size_t tl;
    /* read again on every reload (SIGHUP): a regular file only, never
     * waiting on a FIFO (see policy.c) */
    ASPS_TRY(asps_read_regular_file(path, 4096, &t, &tl, eb));
    while (tl > 0 && (t[tl - 1] == '\n' || t[tl - 1] == '\r' || t[tl - 1] == ' ' || t[tl - 1] == '\t'))
        t[--tl] = 0;
    if (strict && (tl == 0 || strlen((char *)t) != tl)) {
        asps_cleanse_free(t, tl);
        return asps_fail(eb, ASPS_E_ARG, "kms: vault %s %s is empty or not text", what, path);
    }
    *out = (char *)t;
    return ASPS_OK;
}

/* An auth mount path: letters, digits, '-', '_', '.', inner '/'; no "..". */
static int mount_ok(const char *m)
{
    if (!m[0] || strlen(m) > 200 || strstr(m, "..") || m[0] == '/' || m[strlen(m) - 1] == '/')
        return 0;
    for (const char *p = m; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.' || *p == '/'))
            return 0;
    return 1;
}

asps_err asps_kms_vault_backend(const asps_kms_config *cfg, const asps_kms_ops **ops, void **impl,
                                asps_errbuf *eb)
{
    if (!cfg->addr)
        return asps_fail(eb, ASPS_E_ARG, "kms: vault needs addr (http:// or https://)");
    ASPS_TRY(asps_addr_parse_url("kms: vault addr", cfg->addr, NULL, eb));
    if (cfg->kv_version != 0 && cfg->kv_version != 1 && cfg->kv_version != 2)
        return asps_fail(eb, ASPS_E_ARG, "kms: vault kv_version must be 1 or 2");
    int has_sid = (cfg->secret_id && cfg->secret_id[0]) || (cfg->secret_id_file && cfg->secret_id_file[0]);
    if ((cfg->secret_id && cfg->secret_id[0]) && (cfg->secret_id_file && cfg->secret_id_file[0]))
        return asps_fail(eb, ASPS_E_ARG, "kms: vault: give secret_id or secret_id_file, not both");
    if ((cfg->role_id && cfg->role_id[0]) != has_sid)
        return asps_fail(eb, ASPS_E_ARG, "kms: vault AppRole needs both role_id and secret_id (or secret_id_file)");
    const char *am = cfg->approle_mount && cfg->approle_mount[0] ? cfg->approle_mount : "approle";
    if (!mount_ok(am))
        return asps_fail(eb, ASPS_E_ARG, "kms: vault approle_mount \"%.64s\" is not a mount path", am);
    vault *v = calloc(1, sizeof *v);
    if (!v)
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    pthread_mutex_init(&v->lock, NULL);
    size_t n = strlen(cfg->addr);
    while (n > 0 && cfg->addr[n - 1] == '/')
        n--;
    v->addr = strndup(cfg->addr, n);
    v->mount = dup_or_null(cfg->mount);
    if (v->mount)
        for (size_t k = strlen(v->mount); k > 0 && v->mount[k - 1] == '/'; k--)
            v->mount[k - 1] = 0;
    v->field = strdup(cfg->field && cfg->field[0] ? cfg->field : "key");
    v->ns = dup_or_null(cfg->vault_namespace);
    v->ca_file = dup_or_null(cfg->ca_file);
    v->approle_mount = strdup(am);
    v->kv_version = cfg->kv_version == 2 ? 2 : 1;
    asps_http_opts ho = {.ca_file = v->ca_file, .timeout_ms = cfg->timeout_ms, .max_retries = cfg->max_retries,
                         .backoff_ms = BACKOFF_MS, .max_body = MAX_BODY, .reuse = !cfg->no_connection_reuse,
                         .secret = 1};
    v->role_id = dup_or_null(cfg->role_id);
    asps_err e = asps_http_new(&ho, &v->http, eb);
    if (e != ASPS_OK) {
    } else if (cfg->secret_id_file && cfg->secret_id_file[0])
        e = read_secret_file(cfg->secret_id_file, "secret_id_file", 1, &v->secret_id, eb);
    else
        v->secret_id = dup_or_null(cfg->secret_id);
    if (e != ASPS_OK) {
    } else if (cfg->token && cfg->token[0]) {
        v->server_token = strdup(cfg->token);
    } else if (cfg->token_file) {
        e = read_secret_file(cfg->token_file, "token_file", 1, &v->server_token, eb);
    } else if (getenv("VAULT_TOKEN") && getenv("VAULT_TOKEN")[0]) {
        v->server_token = strdup(getenv("VAULT_TOKEN"));
    }
    if (e == ASPS_OK && (!v->addr || !v->field || !v->approle_mount || (cfg->role_id && !v->role_id) ||
                         (has_sid && !v->secret_id)))
        e = asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    if (e != ASPS_OK) {
        vault_free(v);
        return e;
    }
    *ops = &vault_ops;
    *impl = v;
    return ASPS_OK;
}
