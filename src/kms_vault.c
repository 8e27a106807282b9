/* kms_vault.c: the HashiCorp Vault backend of the kms module.
 *
 * References: "PATH" or "PATH#FIELD".
 *   KV v1: GET {addr}/v1/{mount/}PATH      value under data.FIELD
 *   KV v2: GET {addr}/v1/{mount}/data/PATH value under data.data.FIELD
 * FIELD defaults to "key", as the seed system (CCZoo ASPS) reads it.
 * Token: the app's own (the call's credential, the seed policy's app_token),
 * else the server token (config, VAULT_TOKEN, or a token file), else an
 * AppRole login (role_id + secret_id), renewed by logging in again before
 * its lease ends. Headers: X-Vault-Token, X-Vault-Namespace.
 * Answers: 403 -> ASPS_E_DENIED, 404 -> ASPS_E_NOT_FOUND, 5xx (a sealed
 * Vault is 503), timeouts and refused connections -> ASPS_E_UNAVAILABLE after
 * bounded retries. Values are the string's bytes. Tokens and values never
 * reach an error message; buffers that held them are cleansed.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asps/kms.h"
#include "util.h"

#define MAX_BODY (1u << 20)

typedef struct vault {
    char *addr, *mount, *field, *ns, *ca_file;
    char *server_token;
    char *role_id, *secret_id;
    int kv_version;
    long timeout_ms;
    int max_retries;
    pthread_mutex_t lock;
    char *approle_token;
    int64_t approle_expires;
} vault;

typedef struct body {
    char *p;
    size_t n;
    int too_big;
} body;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static void cleanse_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    body *b = ud;
    size_t n = size * nmemb;
    if (b->n + n > MAX_BODY) {
        b->too_big = 1;
        return 0;
    }
    char *np = realloc(b->p, b->n + n + 1);
    if (!np)
        return 0;
    b->p = np;
    memcpy(b->p + b->n, ptr, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static void body_free(body *b)
{
    if (b->p) {
        OPENSSL_cleanse(b->p, b->n);
        free(b->p);
    }
    memset(b, 0, sizeof *b);
}

/* One HTTP exchange with retries for 5xx and transport errors. *status is
 * the HTTP status (0 when none arrived). */
static asps_err http(vault *v, const char *method, const char *path, const char *token,
                     const char *post, body *out, long *status, asps_errbuf *eb)
{
    char url[2048];
    if (snprintf(url, sizeof url, "%s%s", v->addr, path) >= (int)sizeof url)
        return asps_fail(eb, ASPS_E_ARG, "vault: path too long");
    asps_err e = ASPS_OK;
    for (int attempt = 0; attempt <= v->max_retries; attempt++) {
        body_free(out);
        *status = 0;
        CURL *c = curl_easy_init();
        if (!c)
            return asps_fail(eb, ASPS_E_INTERNAL, "vault: curl init failed");
        struct curl_slist *h = NULL;
        char *th = NULL;
        if (token) {
            size_t n = strlen(token) + 32;
            th = malloc(n);
            if (th) {
                snprintf(th, n, "X-Vault-Token: %s", token);
                h = curl_slist_append(h, th);
            }
        }
        if (v->ns) {
            char nh[512];
            snprintf(nh, sizeof nh, "X-Vault-Namespace: %s", v->ns);
            h = curl_slist_append(h, nh);
        }
        if (post)
            h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, v->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, v->timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
        if (v->ca_file)
            curl_easy_setopt(c, CURLOPT_CAINFO, v->ca_file);
        if (post)
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
        else if (strcmp(method, "GET") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        cleanse_free(th);
        if (out->too_big)
            return asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: reply larger than %u bytes", path, MAX_BODY);
        if (cc != CURLE_OK) {
            e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: %s%s", path, curl_easy_strerror(cc),
                          cc == CURLE_PEER_FAILED_VERIFICATION ? " (TLS: server certificate not trusted)" : "");
            if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
                return e;
        } else if (*status >= 500) {
            e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: HTTP %ld%s", path, *status,
                          *status == 503 ? " (sealed or in standby)" : "");
        } else {
            return ASPS_OK;
        }
        if (attempt < v->max_retries)
            usleep((useconds_t)(50000u << attempt));
    }
    return e;
}

/* AppRole: a token, logged in again when (nearly) expired. */
static asps_err approle_token(vault *v, int force, char **out, asps_errbuf *eb)
{
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&v->lock);
    if (!force && v->approle_token && now < v->approle_expires) {
        *out = strdup(v->approle_token);
        pthread_mutex_unlock(&v->lock);
        return *out ? ASPS_OK : asps_fail(eb, ASPS_E_NOMEM, "vault: out of memory");
    }
    pthread_mutex_unlock(&v->lock);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "role_id", v->role_id);
    cJSON_AddStringToObject(req, "secret_id", v->secret_id);
    char *post = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    body b = {0};
    long st;
    asps_err e = post ? http(v, "POST", "/v1/auth/approle/login", NULL, post, &b, &st, eb)
                      : asps_fail(eb, ASPS_E_NOMEM, "vault: out of memory");
    cleanse_free(post);
    if (e == ASPS_OK && st != 200)
        e = asps_fail(eb, st == 400 || st == 403 ? ASPS_E_DENIED : ASPS_E_UNAVAILABLE,
                      "vault: AppRole login refused (HTTP %ld)", st);
    cJSON *o = e == ASPS_OK ? cJSON_ParseWithLength(b.p, b.n) : NULL;
    const cJSON *auth = o ? cJSON_GetObjectItemCaseSensitive(o, "auth") : NULL;
    const cJSON *tok = auth ? cJSON_GetObjectItemCaseSensitive(auth, "client_token") : NULL;
    const cJSON *lease = auth ? cJSON_GetObjectItemCaseSensitive(auth, "lease_duration") : NULL;
    if (e == ASPS_OK && (!cJSON_IsString(tok) || !tok->valuestring[0]))
        e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: AppRole login reply has no auth.client_token");
    if (e == ASPS_OK) {
        double secs = cJSON_IsNumber(lease) ? lease->valuedouble : 0;
        /* log in again after 80% of the lease (tokens without a lease: 1 h) */
        int64_t ttl = secs > 0 ? (int64_t)(secs * 0.8) : 3600;
        pthread_mutex_lock(&v->lock);
        cleanse_free(v->approle_token);
        v->approle_token = strdup(tok->valuestring);
        v->approle_expires = now + (ttl > 0 ? ttl : 1);
        *out = v->approle_token ? strdup(v->approle_token) : NULL;
        pthread_mutex_unlock(&v->lock);
        if (!*out)
            e = asps_fail(eb, ASPS_E_NOMEM, "vault: out of memory");
    }
    if (o) {
        /* the reply held a token */
        cJSON_Delete(o);
    }
    body_free(&b);
    return e;
}

/* The value of FIELD in a KV v1 ({"data": {FIELD: ...}}) or v2
 * ({"data": {"data": {FIELD: ...}}}) read reply. The reply held the secret:
 * the parsed copy is cleansed. (Not static: the fuzz target drives it.) */
asps_err asps_vault_parse_value(const char *reply, size_t n, int kv_version, const char *field,
                                const char *what, uint8_t **value, size_t *len, asps_errbuf *eb);
asps_err asps_vault_parse_value(const char *reply, size_t n, int kv_version, const char *field,
                                const char *what, uint8_t **value, size_t *len, asps_errbuf *eb)
{
    asps_err e = ASPS_OK;
    cJSON *o = reply ? cJSON_ParseWithLength(reply, n) : NULL;
    const cJSON *d = o ? cJSON_GetObjectItemCaseSensitive(o, "data") : NULL;
    if (kv_version == 2)
        d = cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, "data") : NULL;
    const cJSON *f = cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, field) : NULL;
    if (!o)
        e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: reply is not JSON", what);
    else if (!cJSON_IsString(f))
        e = asps_fail(eb, ASPS_E_NOT_FOUND, "vault: %s: no string field \"%s\"", what, field);
    else {
        size_t vn = strlen(f->valuestring);
        *value = malloc(vn ? vn : 1);
        if (!*value)
            e = asps_fail(eb, ASPS_E_NOMEM, "vault: out of memory");
        else {
            memcpy(*value, f->valuestring, vn);
            *len = vn;
        }
        OPENSSL_cleanse(f->valuestring, vn);
    }
    cJSON_Delete(o);
    return e;
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

static asps_err vault_get(void *impl, const char *ref, const char *credential, uint8_t **value,
                          size_t *len, asps_errbuf *eb)
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

    char *token = NULL;
    int approle = 0;
    asps_err e = ASPS_OK;
    if (credential && credential[0])
        token = strdup(credential);
    else if (v->server_token)
        token = strdup(v->server_token);
    else if (v->role_id) {
        approle = 1;
        e = approle_token(v, 0, &token, eb);
    } else
        e = asps_fail(eb, ASPS_E_DENIED, "vault: no token for %s (no app token, server token or AppRole)", path);
    if (e != ASPS_OK)
        return e;
    if (!token_ok(token)) {
        cleanse_free(token);
        return asps_fail(eb, ASPS_E_DENIED, "vault: %s: the token is not a printable string", path);
    }
    body b = {0};
    long st = 0;
    e = http(v, "GET", path, token, NULL, &b, &st, eb);
    if (e == ASPS_OK && st == 403 && approle) {
        /* the AppRole token may have been revoked or expired early */
        cleanse_free(token);
        token = NULL;
        e = approle_token(v, 1, &token, eb);
        if (e == ASPS_OK)
            e = http(v, "GET", path, token, NULL, &b, &st, eb);
    }
    cleanse_free(token);
    if (e == ASPS_OK) {
        if (st == 403)
            e = asps_fail(eb, ASPS_E_DENIED, "vault: %s: permission denied", path);
        else if (st == 404)
            e = asps_fail(eb, ASPS_E_NOT_FOUND, "vault: %s: not found", path);
        else if (st != 200)
            e = asps_fail(eb, ASPS_E_UNAVAILABLE, "vault: %s: HTTP %ld", path, st);
    }
    if (e == ASPS_OK)
        e = asps_vault_parse_value(b.p, b.n, v->kv_version, field, path, value, len, eb);
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
    cleanse_free(v->server_token);
    cleanse_free(v->role_id);
    cleanse_free(v->secret_id);
    cleanse_free(v->approle_token);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

static const asps_kms_ops vault_ops = {"vault", vault_get, vault_free};

static char *dup_or_null(const char *s) { return s && s[0] ? strdup(s) : NULL; }

asps_err asps_kms_open_vault(const asps_kms_config *cfg, asps_kms **out, asps_errbuf *eb)
{
    *out = NULL;
    if (!cfg->addr || (strncmp(cfg->addr, "http://", 7) && strncmp(cfg->addr, "https://", 8)))
        return asps_fail(eb, ASPS_E_ARG, "kms: vault needs addr (http:// or https://)");
    if (cfg->kv_version != 0 && cfg->kv_version != 1 && cfg->kv_version != 2)
        return asps_fail(eb, ASPS_E_ARG, "kms: vault kv_version must be 1 or 2");
    if ((cfg->role_id != NULL) != (cfg->secret_id != NULL))
        return asps_fail(eb, ASPS_E_ARG, "kms: vault AppRole needs both role_id and secret_id");
    pthread_once(&curl_once, curl_init);
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
    v->kv_version = cfg->kv_version == 2 ? 2 : cfg->kv_version == 1 ? 1 : 1;
    v->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
    v->max_retries = cfg->max_retries == 0 ? 2 : cfg->max_retries < 0 ? 0 : cfg->max_retries;
    v->role_id = dup_or_null(cfg->role_id);
    v->secret_id = dup_or_null(cfg->secret_id);
    asps_err e = ASPS_OK;
    if (cfg->token && cfg->token[0]) {
        v->server_token = strdup(cfg->token);
    } else if (cfg->token_file) {
        uint8_t *t;
        size_t tl;
        e = asps_read_file(cfg->token_file, 4096, &t, &tl, eb);
        if (e == ASPS_OK) {
            while (tl > 0 && (t[tl - 1] == '\n' || t[tl - 1] == '\r' || t[tl - 1] == ' '))
                t[--tl] = 0;
            v->server_token = (char *)t;
        }
    } else if (getenv("VAULT_TOKEN") && getenv("VAULT_TOKEN")[0]) {
        v->server_token = strdup(getenv("VAULT_TOKEN"));
    }
    if (e == ASPS_OK && (!v->addr || !v->field))
        e = asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    if (e == ASPS_OK)
        e = asps_kms_new(&vault_ops, v, out, eb);
    else
        vault_free(v);
    return e;
}
