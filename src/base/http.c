/* http.c: the one libcurl client; see http.h. */
#include "http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

struct asps_http {
    char *ca_file;
    long timeout_ms;
    int max_retries;
    unsigned backoff_ms;
    size_t max_body;
    int reuse, secret;
    unsigned long requests;
    pthread_mutex_t pool_lock;
    CURL *pool[ASPS_HTTP_POOL_MAX];
    size_t n_pool;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

asps_err asps_http_new(const asps_http_opts *o, asps_http **out, asps_errbuf *eb)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    asps_http *h = calloc(1, sizeof *h);
    if (!h)
        return asps_fail(eb, ASPS_E_NOMEM, "http: out of memory");
    h->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 5000;
    h->max_retries = !o || o->max_retries == 0 ? 2 : o->max_retries < 0 ? 0 : o->max_retries;
    h->backoff_ms = o && o->backoff_ms ? o->backoff_ms : 100;
    h->max_body = o && o->max_body ? o->max_body : 1u << 20;
    h->reuse = o && o->reuse;
    h->secret = o && o->secret;
    pthread_mutex_init(&h->pool_lock, NULL);
    if (o && o->ca_file && !(h->ca_file = strdup(o->ca_file))) {
        asps_http_free(h);
        return asps_fail(eb, ASPS_E_NOMEM, "http: out of memory");
    }
    if (h->ca_file) {
        /* a CA file that cannot be read is the caller's mistake, said now:
         * curl would find it only at the first request, as an unreachable
         * server ("Problem with the SSL CA cert"), and retry it */
        uint8_t *b;
        size_t n;
        asps_errbuf reb = {{0}};
        asps_err e = asps_read_regular_file(h->ca_file, 1u << 20, &b, &n, &reb);
        if (e != ASPS_OK) {
            asps_http_free(h);
            return asps_fail(eb, e, "CA file: %s", reb.msg);
        }
        free(b);
    }
    *out = h;
    return ASPS_OK;
}

void asps_http_free(asps_http *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_pool; i++)
        curl_easy_cleanup(h->pool[i]);
    pthread_mutex_destroy(&h->pool_lock);
    free(h->ca_file);
    free(h);
}

unsigned long asps_http_requests(const asps_http *h)
{
    return __atomic_load_n(&h->requests, __ATOMIC_RELAXED);
}

long asps_http_timeout_ms(const asps_http *h) { return h->timeout_ms; }

void asps_http_resp_free(asps_http_resp *r)
{
    asps_writer_free(&r->body);
    free(r->header);
    asps_writer body = r->body;
    memset(r, 0, sizeof *r);
    r->body = body;
    r->error = "";
}

/* A handle from the pool, or a new one. */
static CURL *handle_get(asps_http *h)
{
    CURL *c = NULL;
    if (h->reuse) {
        pthread_mutex_lock(&h->pool_lock);
        if (h->n_pool > 0)
            c = h->pool[--h->n_pool];
        pthread_mutex_unlock(&h->pool_lock);
    }
    return c ? c : curl_easy_init();
}

/* Back to the pool with every option reset (the header list that held a
 * token and the body pointer are forgotten; the connection cache is kept),
 * or cleaned up when reuse is off, the exchange failed or the pool is
 * full. */
static void handle_put(asps_http *h, CURL *c, int ok)
{
    if (h->reuse && ok) {
        curl_easy_reset(c);
        pthread_mutex_lock(&h->pool_lock);
        if (h->n_pool < ASPS_HTTP_POOL_MAX) {
            h->pool[h->n_pool++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&h->pool_lock);
    }
    if (c)
        curl_easy_cleanup(c);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    asps_http_resp *r = ud;
    size_t n = size * nmemb;
    if (!asps_writer_put(&r->body, ptr, n)) {
        r->too_big = r->body.failed == ASPS_WRITER_FULL;
        return 0; /* abort the transfer */
    }
    return n;
}

typedef struct hdr_ctx {
    asps_http_resp *r;
    const char *want;
} hdr_ctx;

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    hdr_ctx *x = ud;
    size_t n = size * nitems, hl = strlen(x->want);
    if (hl && n > hl + 1 && n < ASPS_HTTP_MAX_HEADER && strncasecmp(buf, x->want, hl) == 0 &&
        buf[hl] == ':') {
        size_t s = hl + 1;
        while (s < n && (buf[s] == ' ' || buf[s] == '\t'))
            s++;
        size_t e = n;
        while (e > s && (buf[e - 1] == '\r' || buf[e - 1] == '\n' || buf[e - 1] == ' '))
            e--;
        free(x->r->header);
        x->r->header = strndup(buf + s, e - s);
    }
    return n;
}

static void slist_free_cleanse(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        if (p->data)
            OPENSSL_cleanse(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

asps_err asps_http_once(asps_http *h, const asps_http_req *q, long timeout_ms, asps_http_resp *r,
                        asps_errbuf *eb)
{
    asps_http_resp_free(r);
    r->body = asps_writer_init(h->max_body, h->secret ? ASPS_WRITER_SECRET : ASPS_WRITER_PLAIN);
    if (strlen(q->url) >= ASPS_HTTP_MAX_URL)
        return asps_fail(eb, ASPS_E_ARG, "%s: URL too long", q->what ? q->what : "http");
    CURL *c = handle_get(h);
    if (!c)
        return asps_fail(eb, ASPS_E_NOMEM, "%s: out of memory", q->what ? q->what : "http");
    struct curl_slist *hl = NULL;
    for (size_t i = 0; i < q->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(hl, q->headers[i]);
        if (!n) {
            slist_free_cleanse(hl);
            handle_put(h, c, 0);
            return asps_fail(eb, ASPS_E_NOMEM, "%s: out of memory", q->what ? q->what : "http");
        }
        hl = n;
    }
    hdr_ctx hx = {r, q->want_header ? q->want_header : ""};
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hx);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    if (h->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    if (!h->reuse)
        curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    if (q->post)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->post);
    else if (q->method && strcmp(q->method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    __atomic_fetch_add(&h->requests, 1, __ATOMIC_RELAXED);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_off_t ra = 0; /* curl reads both forms: seconds and an HTTP date */
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        r->retry_after = ra < 86400 ? (long)ra : 86400;
    handle_put(h, c, cc == CURLE_OK);
    slist_free_cleanse(hl);
    if (cc != CURLE_OK) {
        r->failed = 1;
        r->error = curl_easy_strerror(cc);
        r->untrusted = cc == CURLE_PEER_FAILED_VERIFICATION;
        r->final = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
                   cc == CURLE_OUT_OF_MEMORY;
    }
    return ASPS_OK;
}

int asps_http_transient(long st) { return st >= 500 || st == 429 || st == 412; }

int asps_http_wait_too_long(const asps_http_resp *r)
{
    return r->retry_after > ASPS_HTTP_BACKOFF_MAX_MS / 1000;
}

/* Time left before DEADLINE for one request: at most the client's timeout;
 * 0 when the deadline has passed. */
static long time_left(const asps_http *h, int64_t deadline)
{
    if (!deadline)
        return h->timeout_ms;
    int64_t left = deadline - asps_now_mono_ms();
    if (left <= 0)
        return 0;
    return left < h->timeout_ms ? (long)left : h->timeout_ms;
}

static void prefix(asps_errbuf *eb, const char *when, const char *deadline_name)
{
    char p[96];
    snprintf(p, sizeof p, "the %s deadline %s: ", deadline_name, when);
    asps_err_prefix(eb, p);
}

asps_err asps_http_do(asps_http *h, const asps_http_req *q, asps_http_judge judge, void *ud,
                      asps_http_resp *r, asps_errbuf *eb)
{
    asps_err e = ASPS_OK;
    const char *dn = q->deadline_name ? q->deadline_name : "request";
    for (int attempt = 0; attempt <= h->max_retries; attempt++) {
        long left = time_left(h, q->deadline_ms);
        if (left == 0) {
            if (attempt == 0)
                e = asps_fail(eb, ASPS_E_UNAVAILABLE, "%s: the %s deadline passed before the request",
                              q->what ? q->what : q->url, dn);
            else
                prefix(eb, "passed before the next try", dn);
            break;
        }
        if ((e = asps_http_once(h, q, left, r, eb)) != ASPS_OK)
            break;
        asps_http_verdict v = judge(ud, q, r, attempt, &e, eb);
        if (v == ASPS_HTTP_DONE)
            return ASPS_OK;
        if (v == ASPS_HTTP_STOP || asps_http_wait_too_long(r))
            break;
        if (attempt < h->max_retries) {
            unsigned ms = h->backoff_ms << (attempt < 6 ? attempt : 6);
            /* a server that says when to come back (Retry-After: rate
             * limits) is not asked sooner */
            if (r->retry_after > 0 && (unsigned)r->retry_after * 1000u > ms)
                ms = (unsigned)r->retry_after * 1000u;
            if (ms > ASPS_HTTP_BACKOFF_MAX_MS)
                ms = ASPS_HTTP_BACKOFF_MAX_MS;
            /* a wait that ends past the deadline: no more tries */
            if (q->deadline_ms && (int64_t)ms >= q->deadline_ms - asps_now_mono_ms()) {
                prefix(eb, "comes before the next try", dn);
                break;
            }
            usleep((useconds_t)ms * 1000u);
        }
    }
    asps_http_resp_free(r);
    return e;
}
