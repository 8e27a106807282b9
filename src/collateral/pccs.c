/* pccs.c: PCCS v4 client (see asps/pccs.h).
 * Trusts: the PCCS's TLS certificate chain to the configured CAs for
 * transport only; what it serves is verified by dcap.c like any collateral.
 * Every response is bounded in size; the signed JSON bodies are cut out of
 * the response by a bounded scanner that respects strings and escapes. */
#include "pccs.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dcap_parse.h"
#include "depstate.h"
#include "addr.h"
#include "http.h"
#include "json.h"
#include "metrics.h"
#include "source.h"
#include "util.h"
#include "x509.h"

#define MAX_BODY (1u << 20)
/* Intel's PCS (api.trustedservices.intel.com) and its root CA CRL (the CRL
 * distribution point of the Intel SGX Root CA certificate) */
#define PCS_HOST "://api.trustedservices.intel.com"
#define PCS_ROOT_CA_CRL "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

struct asps_pccs {
    char *base;
    asps_http *http; /* the one HTTP client (http.h): retries, Retry-After, size */
    pthread_mutex_t lock;
    int last_failed; /* the last fetch failed (under lock) */
    int in_set;      /* one of several URLs: the set reports the state (asps_pccs_set_in_set) */
    int is_pcs;      /* Intel's PCS, not a PCCS */
};

static asps_metric *m_errors, *m_latency, *m_up;
static void metrics_init(void)
{
    m_latency = asps_metrics_histogram("asps_pccs_request_duration_seconds",
                                       "PCCS request latency (each HTTP request, retries included).",
                                       ASPS_LABELS("endpoint"), asps_metrics_latency_buckets,
                                       sizeof asps_metrics_latency_buckets / sizeof(double));
    m_errors = asps_metrics_counter("asps_pccs_errors_total",
                                    "PCCS requests that failed: unreachable, an HTTP error, a reply "
                                    "too large or malformed.",
                                    ASPS_LABELS("endpoint"));
    m_up = asps_metrics_gauge("asps_pccs_up",
                              "1 when the last collateral fetch from the PCCS succeeded, else 0.",
                              NULL);
}

typedef asps_http_resp resp; /* body, and the issuer chain header when asked */

asps_err asps_pccs_new(const char *base, const asps_pccs_opts *o, asps_pccs **out, asps_errbuf *eb)
{
    *out = NULL;
    ASPS_TRY(asps_addr_parse_url("pccs URL", base, NULL, eb));
    asps_pccs *p = calloc(1, sizeof *p);
    if (!p)
        return asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    p->base = strndup(base, n);
    if (p->base) { /* exactly that host (a port may follow) */
        const char *h = strstr(p->base, PCS_HOST);
        h = h ? h + strlen(PCS_HOST) : NULL;
        p->is_pcs = h && (!*h || *h == '/' || *h == ':');
    }
    pthread_mutex_init(&p->lock, NULL);
    /* max_retries: 0 means the default; a negative number means no retries */
    asps_http_opts ho = {.ca_file = o ? o->ca_file : NULL, .timeout_ms = o ? o->timeout_ms : 0,
                         .max_retries = o ? o->max_retries : 0, .backoff_ms = 100,
                         .max_body = MAX_BODY, .reuse = 1};
    asps_errbuf heb = {{0}};
    asps_err e = p->base ? asps_http_new(&ho, &p->http, &heb) : ASPS_E_NOMEM;
    if (e != ASPS_OK) {
        asps_pccs_free(p);
        return e == ASPS_E_NOMEM ? asps_fail(eb, e, "pccs: out of memory")
                                 : asps_fail(eb, e, "pccs: %s", heb.msg);
    }
    *out = p;
    return ASPS_OK;
}

void asps_pccs_free(asps_pccs *p)
{
    if (!p)
        return;
    free(p->base);
    asps_http_free(p->http);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int asps_pccs_ready(asps_pccs *p)
{
    pthread_mutex_lock(&p->lock);
    int ready = !p->last_failed;
    pthread_mutex_unlock(&p->lock);
    return ready;
}

unsigned long asps_pccs_requests(const asps_pccs *p) { return asps_http_requests(p->http); }

/* The HTTP status of this thread's last PCCS answer (-1: none, the
 * transport failed), for the dependency state: a 4xx is the PCCS saying
 * "no such platform", not the PCCS being down. */
static _Thread_local long last_status;

/* How a PCCS's answers are judged between tries (http.h). */
static asps_http_verdict judge(void *ud, const asps_http_req *q, const asps_http_resp *r, int attempt,
                               asps_err *e, asps_errbuf *eb)
{
    (void)ud;
    (void)attempt;
    last_status = r->failed ? -1 : r->status;
    if (r->too_big) {
        *e = asps_fail(eb, ASPS_E_LIMIT, "pccs: %s: response larger than %u bytes", q->url, MAX_BODY);
        return ASPS_HTTP_STOP;
    }
    if (r->failed) {
        *e = asps_fail(eb, ASPS_E_UNAVAILABLE, "pccs: %s: %s", q->url, r->error);
        /* a TLS refusal will not get better by retrying */
        return r->final ? ASPS_HTTP_STOP : ASPS_HTTP_RETRY;
    }
    if (r->status == 200) {
        if (q->want_header && !r->header) {
            *e = asps_fail(eb, ASPS_E_PARSE, "pccs: %s: no %s header", q->url, q->want_header);
            return ASPS_HTTP_STOP;
        }
        return ASPS_HTTP_DONE;
    }
    char wait[64] = "";
    if (asps_http_wait_too_long(r))
        snprintf(wait, sizeof wait, "; the PCCS asks to retry after %ld s", r->retry_after);
    *e = asps_fail(eb, ASPS_E_UNAVAILABLE, "pccs: %s: HTTP %ld%s", q->url, r->status, wait);
    return asps_http_transient(r->status) ? ASPS_HTTP_RETRY : ASPS_HTTP_STOP;
}

/* GET url; 200 -> ASPS_OK with body (and the header if asked). ENDPOINT
 * names it in the metrics (pckcrl, tcb, qe_identity, rootcacrl, tcb_early,
 * tcbevaluationdatanumbers); a missing header is not counted as an error
 * when the caller has another name for it to try (GET_HEADER_FALLBACK),
 * nor a 404 of an endpoint a PCCS may not offer (GET_OPTIONAL: the caller
 * reads last_status). */
#define GET_HEADER_FALLBACK 1
#define GET_OPTIONAL 2
static asps_err get(asps_pccs *p, const char *endpoint, const char *url, const char *header,
                    int flags, resp *r, asps_errbuf *eb)
{
    int header_fallback = flags & GET_HEADER_FALLBACK;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, metrics_init);
    memset(r, 0, sizeof *r);
    asps_http_req q = {.url = url, .want_header = header, .what = url};
    double t0 = asps_metrics_clock();
    asps_err e = asps_http_do(p->http, &q, judge, NULL, r, eb);
    asps_metric_observe(m_latency, ASPS_LABELS(endpoint), asps_metrics_clock() - t0);
    if (e != ASPS_OK && !(header_fallback && e == ASPS_E_PARSE) && /* judge: PARSE = no header */
        !((flags & GET_OPTIONAL) && last_status == 404))
        asps_metric_inc(m_errors, ASPS_LABELS(endpoint));
    return e;
}

static void resp_free(resp *r) { asps_http_resp_free(r); }

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

/* The exact bytes of the value of top-level KEY, an object, in JSON read
 * strictly (json.h: RFC 8259; KEY present once). 1 found, else 0. (Not
 * static: the fuzz target drives it.) */
int asps_pccs_raw_object_value(const char *json, size_t len, const char *key, const char **start,
                               size_t *vlen);
int asps_pccs_raw_object_value(const char *json, size_t len, const char *key, const char **start,
                               size_t *vlen)
{
    asps_reader top, v;
    asps_errbuf jeb;
    if (asps_json_raw_parse(json, len, "pccs", &top, &jeb) != ASPS_OK ||
        asps_json_raw_member(top, key, &v) != 1 || asps_json_raw_kind_of(v) != ASPS_JSON_RAW_OBJECT)
        return 0;
    *start = (const char *)asps_reader_data(&v);
    *vlen = asps_reader_left(&v);
    return 1;
}

/* {"<key>": {...}, "signature": "hex"} -> body bytes and signature, through
 * the strict JSON reader (json.h), the signed body byte for byte. */
static asps_err signed_json(const resp *r, const char *key, const char *what, char **body,
                            size_t *blen, uint8_t sig[64], asps_errbuf *eb)
{
    const char *text = (const char *)r->body.p;
    asps_reader top, v, sv;
    if (text && asps_json_raw_parse(text, r->body.len, what, &top, eb) != ASPS_OK) {
        asps_err_prefix(eb, "pccs: ");
        return ASPS_E_PARSE;
    }
    if (!text || asps_json_raw_member(top, key, &v) != 1 || asps_json_raw_kind_of(v) != ASPS_JSON_RAW_OBJECT)
        return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: no \"%s\" object in the response", what, key);
    uint8_t *hex = NULL;
    size_t hl = 0;
    if (asps_json_raw_member(top, "signature", &sv) != 1 || asps_json_raw_kind_of(sv) != ASPS_JSON_RAW_STRING ||
        asps_json_raw_string(sv, &hex, &hl, eb) != ASPS_OK || asps_hex_decode((const char *)hex, hl, sig, 64) != 0) {
        free(hex);
        return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: signature is not 128 hex characters", what);
    }
    free(hex);
    *body = strndup((const char *)asps_reader_data(&v), asps_reader_left(&v));
    *blen = asps_reader_left(&v);
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
    const uint8_t *body = r->body.p;
    size_t blen = r->body.len;
    *der = NULL;
    *len = 0;
    if (!body || blen == 0)
        return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: empty body", what);
    if (body[0] == 0x30) {
        if (!(*der = malloc(blen)))
            return asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
        memcpy(*der, body, blen);
        *len = blen;
        return ASPS_OK;
    }
    if (blen > 10 && memcmp(body, "-----BEGIN", 10) == 0) {
        BIO *b = BIO_new_mem_buf(body, (int)blen);
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
    size_t n = blen;
    while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == '\r' || body[n - 1] == ' '))
        n--;
    if (n == 0 || n % 2 != 0)
        return asps_fail(eb, ASPS_E_PARSE, "pccs: %s: body is neither DER, PEM nor hex", what);
    if (!(*der = malloc(n / 2)))
        return asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
    if (asps_hex_decode((const char *)body, n, *der, n / 2) != 0 || (*der)[0] != 0x30) {
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
    resp crl = {0}, root = {0}, tcb = {0}, qe = {0}, early = {0}, nums = {0};
    char *crl_chain = NULL, *tcb_chain = NULL, *qe_chain = NULL, *tcb_body = NULL, *qe_body = NULL;
    char *early_body = NULL, *nums_body = NULL, *nums_chain = NULL;
    uint8_t *root_der = NULL, *crl_der = NULL, tsig[64], qsig[64], esig[64], nsig[64];
    size_t root_len = 0, crl_len = 0, tlen = 0, qlen = 0, elen = 0, nlen = 0;
    asps_err e;
    snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", p->base, ca);
    if ((e = get(p, "pckcrl", url, "SGX-PCK-CRL-Issuer-Chain", 0, &crl, eb)) != ASPS_OK)
        goto out;
    snprintf(url, sizeof url, "%s/%s/certification/v4/tcb?fmspc=%s", p->base, t, fm);
    if ((e = get(p, "tcb", url, "TCB-Info-Issuer-Chain", GET_HEADER_FALLBACK, &tcb, eb)) != ASPS_OK) {
        if (e != ASPS_E_PARSE || (e = get(p, "tcb", url, "SGX-TCB-Info-Issuer-Chain", 0, &tcb, eb)) != ASPS_OK)
            goto out;
    }
    snprintf(url, sizeof url, "%s/%s/certification/v4/qe/identity", p->base, t);
    if ((e = get(p, "qe_identity", url, "SGX-Enclave-Identity-Issuer-Chain", 0, &qe, eb)) != ASPS_OK)
        goto out;
    /* the update=early TCB info (its issuer chain is the standard one's)
     * and the TCB evaluation data numbers list: a 404 is a PCCS that does
     * not offer them (older PCCS versions), and the set goes on without */
    snprintf(url, sizeof url, "%s/%s/certification/v4/tcb?fmspc=%s&update=early", p->base, t, fm);
    if ((e = get(p, "tcb_early", url, NULL, GET_OPTIONAL, &early, eb)) != ASPS_OK) {
        if (last_status != 404)
            goto out;
        resp_free(&early);
    }
    snprintf(url, sizeof url, "%s/%s/certification/v4/tcbevaluationdatanumbers", p->base, t);
    if ((e = get(p, "tcbevaluationdatanumbers", url, "TCB-Evaluation-Data-Numbers-Issuer-Chain",
                 GET_OPTIONAL, &nums, eb)) != ASPS_OK) {
        if (last_status != 404)
            goto out;
        resp_free(&nums);
    }
    /* Intel's PCS has no rootcacrl endpoint: the root CA CRL is at the root
     * certificate's CRL distribution point */
    if (p->is_pcs)
        snprintf(url, sizeof url, "%s", PCS_ROOT_CA_CRL);
    else
        snprintf(url, sizeof url, "%s/sgx/certification/v4/rootcacrl", p->base);
    if ((e = get(p, "rootcacrl", url, NULL, 0, &root, eb)) != ASPS_OK)
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
    if (early.body.p &&
        (e = signed_json(&early, "tcbInfo", "tcb (update=early)", &early_body, &elen, esig, eb)) != ASPS_OK)
        goto out;
    /* outside a TCB recovery the early set is the standard one, byte for
     * byte: not held twice, so that the set is the one a bundle of it is */
    if (early_body && elen == tlen && memcmp(early_body, tcb_body, tlen) == 0 &&
        memcmp(esig, tsig, 64) == 0) {
        free(early_body);
        early_body = NULL;
        elen = 0;
    }
    if (nums.body.p) {
        if ((e = signed_json(&nums, "tcbEvaluationDataNumbers", "tcbevaluationdatanumbers", &nums_body,
                             &nlen, nsig, eb)) != ASPS_OK)
            goto out;
        if (!(nums_chain = url_decode(nums.header))) {
            e = asps_fail(eb, ASPS_E_NOMEM, "pccs: out of memory");
            goto out;
        }
    }
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
        .tcb_info_early = early_body, .tcb_info_early_len = elen,
        .tcb_info_early_signature = early_body ? esig : NULL,
        .tcb_info_early_signature_len = early_body ? 64 : 0,
        .tcb_eval_numbers_issuer_chain = nums_chain,
        .tcb_eval_numbers = nums_body, .tcb_eval_numbers_len = nlen,
        .tcb_eval_numbers_signature = nums_body ? nsig : NULL,
        .tcb_eval_numbers_signature_len = nums_body ? 64 : 0,
    };
    if ((e = asps_collateral_from_parts(&parts, out, eb)) != ASPS_OK)
        goto out;
    /* the earliest nextUpdate of what was fetched (0 when a date does not
     * read: never fresh) */
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
    resp_free(&early);
    resp_free(&nums);
    free(early_body);
    free(nums_body);
    free(nums_chain);
    free(crl_chain);
    free(tcb_chain);
    free(qe_chain);
    free(tcb_body);
    free(qe_body);
    free(root_der);
    free(crl_der);
    return e;
}

/* What a fetch says about the PCCS (depstate.h): up when everything came,
 * or when it answered a 4xx other than 429 (it knows nothing of this
 * platform: a peer's made-up FMSPC must not make the PCCS look down and
 * flap the log); down when it could not be reached, failed (5xx, 429) or
 * answered what does not read; out of memory says nothing. */
/* 1 when the PCCS is down, 0 when up, -1 when this failure says nothing
 * of it (out of memory, a bad argument). */
static int state_of(asps_err e)
{
    if (e == ASPS_E_NOMEM || e == ASPS_E_ARG)
        return -1;
    return e == ASPS_OK || (last_status >= 400 && last_status < 500 && last_status != 429) ? 0 : 1;
}

static int report_state(const asps_pccs *p, asps_err e, const asps_errbuf *eb)
{
    int down = state_of(e);
    if (down == 0)
        asps_dep_ok(ASPS_DEP_PCCS, p->base);
    else if (down == 1)
        asps_dep_down(ASPS_DEP_PCCS, p->base, eb ? eb->msg : "");
    if (down >= 0)
        asps_metric_set(m_up, NULL, !down);
    return down;
}

void asps_pccs_set_in_set(asps_pccs *p) { p->in_set = 1; }

void asps_pccs_report_set(const asps_pccs *p, asps_err e, const asps_errbuf *eb)
{
    report_state(p, e, eb);
}

asps_err asps_pccs_fetch(asps_pccs *p, asps_tee tee, const uint8_t fmspc[6], const char *ca,
                         asps_collateral **out, int64_t *next_update, asps_errbuf *eb)
{
    *out = NULL;
    *next_update = 0;
    if (!ca || (strcmp(ca, "processor") && strcmp(ca, "platform")))
        return asps_fail(eb, ASPS_E_ARG, "pccs: ca must be processor or platform");
    last_status = -1;
    asps_err fe = fetch(p, tee, fmspc, ca, out, next_update, eb);
    /* one judgement of "down" (depstate's) for the log, the readiness and the gauge */
    int down = p->in_set ? state_of(fe) : report_state(p, fe, eb);
    if (down >= 0) {
        pthread_mutex_lock(&p->lock);
        p->last_failed = down;
        pthread_mutex_unlock(&p->lock);
    }
    return fe;
}

const char *asps_pccs_url(const asps_pccs *p) { return p->base; }
