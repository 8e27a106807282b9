/* pccs.c: PCCS v4 client and collateral cache (see asps/pccs.h).
 * Trusts: the PCCS's TLS certificate chain to the configured CAs for
 * transport only; what it serves is verified by dcap.c like any collateral.
 * Every response is bounded in size; the signed JSON bodies are cut out of
 * the response by a bounded scanner that respects strings and escapes. */
#include "pccs.h"

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dcap_parse.h"
#include "json.h"
#include "util.h"
#include "x509.h"

#define MAX_BODY (1u << 20)
#define MAX_HEADER (64u * 1024)
#define CACHE_N 32

typedef struct entry {
    int used;
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    int64_t expires;
    asps_collateral *col;
} entry;

struct asps_pccs {
    char *base;
    char *ca_file;
    long timeout_ms;
    int max_retries;
    pthread_mutex_t lock;
    entry cache[CACHE_N];
    unsigned long requests;
};

typedef struct resp {
    uint8_t *body;
    size_t len;
    int too_big;
    const char *want_header; /* the issuer chain header to capture */
    char *header;
} resp;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

asps_err asps_pccs_new(const char *base, const asps_pccs_opts *o, asps_pccs **out, asps_errbuf *eb)
{
    *out = NULL;
    if (!base || (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0))
        return asps_fail(eb, ASPS_E_ARG, "pccs: URL must start with https:// (or http://)");
    pthread_once(&curl_once, curl_init);
    asps_pccs *p = calloc(1, sizeof *p);
    if (!p)
        return asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    p->base = strndup(base, n);
    p->ca_file = o && o->ca_file ? strdup(o->ca_file) : NULL;
    p->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 5000;
    /* 0 means the default; a negative number means no retries */
    p->max_retries = !o || o->max_retries == 0 ? 2 : o->max_retries < 0 ? 0 : o->max_retries;
    pthread_mutex_init(&p->lock, NULL);
    if (!p->base) {
        asps_pccs_free(p);
        return asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
    }
    *out = p;
    return ASPS_OK;
}

void asps_pccs_free(asps_pccs *p)
{
    if (!p)
        return;
    for (int i = 0; i < CACHE_N; i++)
        asps_collateral_free(p->cache[i].col);
    free(p->base);
    free(p->ca_file);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

unsigned long asps_pccs_requests(const asps_pccs *p) { return p->requests; }

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    resp *r = ud;
    size_t n = size * nmemb;
    if (r->len + n > MAX_BODY) {
        r->too_big = 1;
        return 0; /* abort the transfer */
    }
    uint8_t *nb = realloc(r->body, r->len + n + 1);
    if (!nb)
        return 0;
    r->body = nb;
    memcpy(r->body + r->len, ptr, n);
    r->len += n;
    r->body[r->len] = 0;
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    resp *r = ud;
    size_t n = size * nitems;
    size_t hl = strlen(r->want_header);
    if (r->want_header[0] && n > hl + 1 && strncasecmp(buf, r->want_header, hl) == 0 && buf[hl] == ':' &&
        n < MAX_HEADER) {
        size_t s = hl + 1;
        while (s < n && (buf[s] == ' ' || buf[s] == '\t'))
            s++;
        size_t e = n;
        while (e > s && (buf[e - 1] == '\r' || buf[e - 1] == '\n' || buf[e - 1] == ' '))
            e--;
        free(r->header);
        r->header = strndup(buf + s, e - s);
    }
    return n;
}

/* GET url; 200 -> ASPS_OK with body (and the header if asked). */
static asps_err get(asps_pccs *p, const char *url, const char *header, resp *r, asps_errbuf *eb)
{
    memset(r, 0, sizeof *r);
    asps_err e = ASPS_OK;
    for (int attempt = 0; attempt <= p->max_retries; attempt++) {
        free(r->body);
        free(r->header);
        memset(r, 0, sizeof *r);
        r->want_header = header ? header : "";
        CURL *c = curl_easy_init();
        if (!c)
            return asps_fail(eb, ASPS_E_INTERNAL, "pccs: curl init failed");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, p->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        if (p->ca_file)
            curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
        __atomic_fetch_add(&p->requests, 1, __ATOMIC_RELAXED);
        CURLcode cc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (r->too_big)
            return asps_fail(eb, ASPS_E_LIMIT, "pccs: %s: response larger than %u bytes", url, MAX_BODY);
        if (cc != CURLE_OK) {
            e = asps_fail(eb, ASPS_E_UNAVAILABLE, "pccs: %s: %s", url, curl_easy_strerror(cc));
            /* a TLS refusal will not get better by retrying */
            if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
                break;
        } else if (status == 200) {
            if (header && !r->header)
                return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: no %s header", url, header);
            return ASPS_OK;
        } else if (status >= 500) {
            e = asps_fail(eb, ASPS_E_UNAVAILABLE, "pccs: %s: HTTP %ld", url, status);
        } else {
            return asps_fail(eb, ASPS_E_UNAVAILABLE, "pccs: %s: HTTP %ld", url, status);
        }
        if (attempt < p->max_retries)
            usleep((useconds_t)(100000u << attempt));
    }
    return e;
}

static void resp_free(resp *r)
{
    free(r->body);
    free(r->header);
    memset(r, 0, sizeof *r);
}

/* Header values are URL-encoded PEM. */
static char *url_decode(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        uint8_t b;
        if (s[i] == '%' && i + 2 < n && asps_hex_decode(s + i + 1, 2, &b, 1) == 0) {
            *w++ = (char)b;
            i += 2;
        } else {
            *w++ = s[i] == '+' ? ' ' : s[i];
        }
    }
    *w = 0;
    return o;
}

/* The exact bytes of the value of top-level KEY (an object) in JSON.
 * (Not static: the fuzz target drives it.) */
int asps_pccs_raw_object_value(const char *json, size_t len, const char *key, const char **start,
                               size_t *vlen);
int asps_pccs_raw_object_value(const char *json, size_t len, const char *key, const char **start,
                            size_t *vlen)
{
    size_t klen = strlen(key);
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = json[i];
        if (ch == '"') {
            size_t s = i + 1, j = s;
            while (j < len && json[j] != '"')
                j += json[j] == '\\' ? 2 : 1;
            if (j >= len)
                return 0;
            int is_key = depth == 1 && j - s == klen && memcmp(json + s, key, klen) == 0;
            i = j;
            if (!is_key)
                continue;
            size_t k = j + 1;
            while (k < len && (json[k] == ' ' || json[k] == '\t' || json[k] == '\r' || json[k] == '\n'))
                k++;
            if (k >= len || json[k] != ':')
                continue;
            k++;
            while (k < len && (json[k] == ' ' || json[k] == '\t' || json[k] == '\r' || json[k] == '\n'))
                k++;
            if (k >= len || json[k] != '{')
                return 0;
            int d = 0;
            for (size_t m = k; m < len; m++) {
                if (json[m] == '"') {
                    m++;
                    while (m < len && json[m] != '"')
                        m += json[m] == '\\' ? 2 : 1;
                    if (m >= len)
                        return 0;
                } else if (json[m] == '{' || json[m] == '[') {
                    if (++d > 64)
                        return 0;
                } else if (json[m] == '}' || json[m] == ']') {
                    if (--d == 0) {
                        *start = json + k;
                        *vlen = m - k + 1;
                        return 1;
                    }
                }
            }
            return 0;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return 0;
}

/* {"<key>": {...}, "signature": "hex"} -> body bytes and signature */
static asps_err signed_json(const resp *r, const char *key, const char *what, char **body,
                            size_t *blen, uint8_t sig[64], asps_errbuf *eb)
{
    const char *s;
    size_t n;
    cJSON *o = NULL;
    if (!r->body || !asps_pccs_raw_object_value((const char *)r->body, r->len, key, &s, &n))
        return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: no \"%s\" object in the response", what, key);
    asps_err e = asps_json_parse((const char *)r->body, r->len, what, &o, eb);
    if (e != ASPS_OK)
        return e;
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(o, "signature");
    if (!cJSON_IsString(sv) || asps_hex_decode(sv->valuestring, strlen(sv->valuestring), sig, 64) != 0)
        e = asps_fail(eb, ASPS_E_PARSE, "pccs: %s: signature is not 128 hex characters", what);
    cJSON_Delete(o);
    if (e != ASPS_OK)
        return e;
    *body = strndup(s, n);
    *blen = n;
    return *body ? ASPS_OK : asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
}

static int64_t crl_next_update(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);
    int64_t t = c ? asps_x509_time_unix(X509_CRL_get0_nextUpdate(c)) : INT64_MIN;
    X509_CRL_free(c);
    return t == INT64_MIN ? 0 : t;
}

/* A CRL as served -> DER. PCS/PCCS serve DER (encoding=der), PEM, or the
 * DER as hex (PCCS's rootcacrl); accept the three, nothing else. */
static asps_err crl_to_der(const resp *r, const char *what, uint8_t **der, size_t *len,
                           asps_errbuf *eb)
{
    *der = NULL;
    *len = 0;
    if (!r->body || r->len == 0)
        return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: empty body", what);
    if (r->body[0] == 0x30) {
        if (!(*der = malloc(r->len)))
            return asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
        memcpy(*der, r->body, r->len);
        *len = r->len;
        return ASPS_OK;
    }
    if (r->len > 10 && memcmp(r->body, "-----BEGIN", 10) == 0) {
        BIO *b = BIO_new_mem_buf(r->body, (int)r->len);
        X509_CRL *c = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        unsigned char *d = NULL;
        int n = c ? i2d_X509_CRL(c, &d) : -1;
        X509_CRL_free(c);
        if (n <= 0)
            return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: PEM body is not a CRL", what);
        *der = malloc((size_t)n);
        if (*der) {
            memcpy(*der, d, (size_t)n);
            *len = (size_t)n;
        }
        OPENSSL_free(d);
        return *der ? ASPS_OK : asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
    }
    /* hex, perhaps with a trailing newline */
    size_t n = r->len;
    while (n > 0 && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r' || r->body[n - 1] == ' '))
        n--;
    if (n == 0 || n % 2 != 0)
        return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: body is neither DER, PEM nor hex", what);
    if (!(*der = malloc(n / 2)))
        return asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
    if (asps_hex_decode((const char *)r->body, n, *der, n / 2) != 0 || (*der)[0] != 0x30) {
        free(*der);
        *der = NULL;
        return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: body is neither DER, PEM nor hex", what);
    }
    *len = n / 2;
    return ASPS_OK;
}

static asps_err fetch(asps_pccs *p, asps_tee tee, const uint8_t fmspc[6], const char *ca,
                      asps_collateral **out, int64_t *expires, asps_errbuf *eb)
{
    const char *t = tee == ASPS_TEE_TDX ? "tdx" : "sgx";
    char url[2048], fm[13];
    asps_hex_encode(fmspc, 6, fm);
    resp crl = {0}, root = {0}, tcb = {0}, qe = {0};
    char *crl_chain = NULL, *tcb_chain = NULL, *qe_chain = NULL, *tcb_body = NULL, *qe_body = NULL;
    uint8_t *root_der = NULL, *crl_der = NULL, tsig[64], qsig[64];
    size_t root_len = 0, crl_len = 0, tlen = 0, qlen = 0;
    asps_err e;
    snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", p->base, ca);
    if ((e = get(p, url, "SGX-PCK-CRL-Issuer-Chain", &crl, eb)) != ASPS_OK)
        goto out;
    snprintf(url, sizeof url, "%s/%s/certification/v4/tcb?fmspc=%s", p->base, t, fm);
    if ((e = get(p, url, "TCB-Info-Issuer-Chain", &tcb, eb)) != ASPS_OK) {
        if (e != ASPS_E_PARSE || (e = get(p, url, "SGX-TCB-Info-Issuer-Chain", &tcb, eb)) != ASPS_OK)
            goto out;
    }
    snprintf(url, sizeof url, "%s/%s/certification/v4/qe/identity", p->base, t);
    if ((e = get(p, url, "SGX-Enclave-Identity-Issuer-Chain", &qe, eb)) != ASPS_OK)
        goto out;
    snprintf(url, sizeof url, "%s/sgx/certification/v4/rootcacrl", p->base);
    if ((e = get(p, url, NULL, &root, eb)) != ASPS_OK)
        goto out;
    if ((e = crl_to_der(&crl, "pckcrl", &crl_der, &crl_len, eb)) != ASPS_OK ||
        (e = crl_to_der(&root, "rootcacrl", &root_der, &root_len, eb)) != ASPS_OK)
        goto out;
    crl_chain = url_decode(crl.header);
    tcb_chain = url_decode(tcb.header);
    qe_chain = url_decode(qe.header);
    if (!crl_chain || !tcb_chain || !qe_chain) {
        e = asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
        goto out;
    }
    if ((e = signed_json(&tcb, "tcbInfo", "tcb", &tcb_body, &tlen, tsig, eb)) != ASPS_OK ||
        (e = signed_json(&qe, "enclaveIdentity", "qe/identity", &qe_body, &qlen, qsig, eb)) != ASPS_OK)
        goto out;
    asps_collateral_parts parts = {
        .pck_crl_issuer_chain = crl_chain,
        .root_ca_crl = root_der, .root_ca_crl_len = root_len,
        .pck_crl = crl_der, .pck_crl_len = crl_len,
        .tcb_info_issuer_chain = tcb_chain,
        .tcb_info = tcb_body, .tcb_info_len = tlen,
        .tcb_info_signature = tsig, .tcb_info_signature_len = 64,
        .qe_identity_issuer_chain = qe_chain,
        .qe_identity = qe_body, .qe_identity_len = qlen,
        .qe_identity_signature = qsig, .qe_identity_signature_len = 64,
    };
    if ((e = asps_collateral_from_parts(&parts, out, eb)) != ASPS_OK)
        goto out;
    /* cache until the earliest nextUpdate of what was fetched (0, not
     * cached, when a date does not read) */
    int64_t issued, tnext, qnext, exp;
    asps_errbuf ign;
    if (asps_dcap_collateral_dates(tcb_body, tlen, "tcb_info", &issued, &tnext, &ign) != ASPS_OK ||
        asps_dcap_collateral_dates(qe_body, qlen, "qe_identity", &issued, &qnext, &ign) != ASPS_OK)
        exp = 0;
    else
        exp = tnext < qnext ? tnext : qnext;
    int64_t c1 = crl_next_update(crl_der, crl_len), c2 = crl_next_update(root_der, root_len);
    if (c1 < exp)
        exp = c1;
    if (c2 < exp)
        exp = c2;
    *expires = exp;
out:
    resp_free(&crl);
    resp_free(&root);
    resp_free(&tcb);
    resp_free(&qe);
    free(crl_chain);
    free(tcb_chain);
    free(qe_chain);
    free(tcb_body);
    free(qe_body);
    free(root_der);
    free(crl_der);
    return e;
}

static int same_key(const entry *en, asps_tee tee, const uint8_t fmspc[6], const char *ca)
{
    return en->used && en->tee == tee && memcmp(en->fmspc, fmspc, 6) == 0 && strcmp(en->ca, ca) == 0;
}

static asps_err copy_collateral(const asps_collateral *c, asps_collateral **out, asps_errbuf *eb)
{
    char *json;
    ASPS_TRY(asps_collateral_to_bundle(c, &json, eb));
    asps_err e = asps_collateral_parse_bundle((const uint8_t *)json, strlen(json), out, eb);
    free(json);
    return e;
}

asps_err asps_pccs_get_collateral(asps_pccs *p, asps_tee tee, const uint8_t fmspc[6], const char *ca,
                                  int64_t now, asps_collateral **out, asps_errbuf *eb)
{
    *out = NULL;
    if (!ca || (strcmp(ca, "processor") && strcmp(ca, "platform")))
        return asps_fail(eb, ASPS_E_ARG, "pccs: ca must be processor or platform");
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < CACHE_N; i++) {
        entry *en = &p->cache[i];
        if (same_key(en, tee, fmspc, ca) && now < en->expires) {
            asps_err e = copy_collateral(en->col, out, eb);
            pthread_mutex_unlock(&p->lock);
            return e;
        }
    }
    pthread_mutex_unlock(&p->lock);
    asps_collateral *col;
    int64_t exp = 0;
    ASPS_TRY(fetch(p, tee, fmspc, ca, &col, &exp, eb));
    asps_err e = copy_collateral(col, out, eb);
    pthread_mutex_lock(&p->lock);
    entry *slot = NULL;
    for (int i = 0; i < CACHE_N && !slot; i++)
        if (same_key(&p->cache[i], tee, fmspc, ca) || !p->cache[i].used)
            slot = &p->cache[i];
    if (!slot) {
        slot = &p->cache[0];
        for (int i = 1; i < CACHE_N; i++)
            if (p->cache[i].expires < slot->expires)
                slot = &p->cache[i];
    }
    asps_collateral_free(slot->col);
    slot->used = 1;
    slot->tee = tee;
    memcpy(slot->fmspc, fmspc, 6);
    snprintf(slot->ca, sizeof slot->ca, "%s", ca);
    slot->expires = exp;
    slot->col = col;
    pthread_mutex_unlock(&p->lock);
    return e;
}
