/* common.c: pieces shared by the rpc server and client: status names, the
 * external TLS certificate verifier that calls an asps_rpc_verify_fn (and,
 * for a server with refuse_in_calls, the table of its verdicts), gRPC's log
 * (rate-limited; failed TLS handshakes routed to a hook), PEM sanity checks,
 * byte-buffer flattening.
 *
 * Trusts: gRPC core to hand the verifier the certificate the peer proved
 * possession of in the TLS handshake, and to put that same certificate (the
 * same PEM text) in the auth context of the connection's calls; server.c
 * to give each connection's calls one id (conns.c). Decides nothing
 * itself: the verify function does.
 */
#include "rpc_internal.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <openssl/rand.h>
#include <grpc/grpc.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/string_util.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

const char *asps_rpc_status_name(int status)
{
    static const char *const names[] = {
        "OK",           "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND",     "ALREADY_EXISTS",    "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL",          "UNAVAILABLE",       "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (status < 0 || (size_t)status >= sizeof names / sizeof names[0])
        return "UNKNOWN_STATUS";
    return names[status];
}

/* gRPC's own lines go through the one logger (log.h, component "grpc";
 * gRPC's ERROR, INFO and DEBUG as error, info and debug). gRPC logs every
 * failed TLS handshake at ERROR: a remote peer could flood the log. Lines
 * are written at most 20 per 10 s (log.h: asps_log_limiter); the rest are
 * counted and reported once the window turns. A line the logger's level
 * drops is not counted. */
static asps_log_limiter grpc_limiter = ASPS_LOG_LIMITER_INIT("grpc", 20, 10000);

/* The failed-handshake hook (asps_rpc_set_handshake_failure_hook). hook_mu
 * is held while the hook runs, so that once it is removed no call into it is
 * still going on. print_min: the least severity printed (gRPC's verbosity
 * before the hook lowered it to DEBUG to see "Security handshake failed"). */
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
static asps_rpc_handshake_failure_fn hs_hook;
static void *hs_ctx;
static _Atomic int print_min = GPR_LOG_SEVERITY_ERROR;
static _Atomic int hook_set;

#define HS_FAILED "Security handshake failed: "
#define HS_SSL_ERROR "Handshake failed with fatal error"

/* gRPC's "Security handshake failed: UNKNOWN:Tls handshake failed: ... {tsi_code:..}"
 * as one short line: the status word and the trailing {...} details go. */
static void handshake_reason(const char *msg, char *out, size_t cap)
{
    const char *p = msg + sizeof HS_FAILED - 1;
    if (strncmp(p, "UNKNOWN:", 8) == 0)
        p += 8;
    size_t n = strcspn(p, "{");
    while (n > 0 && p[n - 1] == ' ')
        n--;
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
    out[n] = '\0';
}

static asps_log_level level_of(gpr_log_severity sev)
{
    return sev == GPR_LOG_SEVERITY_ERROR  ? ASPS_LOG_ERROR
           : sev == GPR_LOG_SEVERITY_INFO ? ASPS_LOG_INFO
                                          : ASPS_LOG_DEBUG;
}

static void rate_limited_log(gpr_log_func_args *a)
{
    if (atomic_load(&hook_set)) {
        if (strncmp(a->message, HS_FAILED, sizeof HS_FAILED - 1) == 0) {
            char reason[320];
            handshake_reason(a->message, reason, sizeof reason);
            pthread_mutex_lock(&hook_mu);
            if (hs_hook != NULL)
                hs_hook(hs_ctx, reason);
            pthread_mutex_unlock(&hook_mu);
            return;
        }
        /* the same failure, already reported through the hook */
        if (strncmp(a->message, HS_SSL_ERROR, sizeof HS_SSL_ERROR - 1) == 0)
            return;
        if ((int)a->severity < atomic_load(&print_min))
            return; /* only asked for to see the lines above */
    }
    asps_log_level level = level_of(a->severity);
    if (!asps_log_enabled(level))
        return;
    if (asps_log_limiter_admit(&grpc_limiter, asps_rpc__now_ms()))
        asps_log(level, "grpc", "%s", a->message);
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static void install_log(void) { gpr_set_log_function(rate_limited_log); }

void asps_rpc__init_logging(void) { pthread_once(&log_once, install_log); }

void asps_rpc_set_handshake_failure_hook(asps_rpc_handshake_failure_fn fn, void *ctx)
{
    asps_rpc__init_logging();
    pthread_mutex_lock(&hook_mu);
    if (fn != NULL && hs_hook == NULL) {
        /* gRPC says "Security handshake failed" at DEBUG only: lower its
         * verbosity, and keep printing only what it printed before */
        int min = GPR_LOG_SEVERITY_ERROR;
        if (gpr_should_log(GPR_LOG_SEVERITY_INFO))
            min = GPR_LOG_SEVERITY_INFO;
        if (gpr_should_log(GPR_LOG_SEVERITY_DEBUG))
            min = GPR_LOG_SEVERITY_DEBUG;
        atomic_store(&print_min, min);
        gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
    } else if (fn == NULL && hs_hook != NULL) {
        gpr_set_log_verbosity((gpr_log_severity)atomic_load(&print_min));
    }
    hs_hook = fn;
    hs_ctx = ctx;
    atomic_store(&hook_set, fn != NULL);
    pthread_mutex_unlock(&hook_mu);
}

int64_t asps_rpc__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *asps_rpc__dup(const char *s, int *fail)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *fail = 1;
    return d;
}

void asps_rpc__free_secret_str(char *s) { asps_cleanse_free_str(s); }

/* ---- verifier ------------------------------------------------------------------
 *
 * gRPC calls verify() at the end of every TLS handshake on whichever of its
 * polling threads drove the handshake. Without a pool the user's function runs
 * right there (fine for a client). With a pool (the server), verify() first
 * asks the server's verify_now there, which answers only what needs no wait;
 * anything else (ASPS_RPC_VERIFY_LATER) is queued and verify() returns at
 * once, so that a slow check (a DCAP verification that has to fetch
 * collateral from a PCCS that is down) holds up only other handshakes'
 * checks, never the server's network I/O or calls from clients already
 * verified. gRPC keeps the request alive until the callback is called
 * (cancel() is a hint), so every queued check is answered exactly once:
 * cancelled ones with CANCELLED, without running the user's function. */

struct vjob {
    struct vjob *next;
    struct verifier *v;
    grpc_tls_custom_verification_check_request *req;
    grpc_tls_on_custom_verification_check_done_cb cb;
    void *cb_arg;
    char *pem; /* copy of the peer certificate, NULL if none */
    int cancelled;
};

/* A refused certificate's verdict (refuse_in_calls), keyed by the SHA-256
 * of its PEM text as gRPC gives it (the same text in the verify request and
 * in the auth context of the connection's calls).
 *
 * Every call of such a server asks the table about its connection's
 * certificate; hashing the PEM each time was a third of a call's CPU
 * (ISSUE 17). The answer "not refused" is therefore remembered per
 * connection, by the connection's id (conns.c: ids are never reused, and a
 * connection's certificate never changes, so the id alone proves which
 * certificate it is; nothing is copied or compared), with the table's
 * refusal generation then. The hint answers only while no refusal was put
 * since: a certificate may be refused later by another connection's
 * handshake (collateral gone: UNAVAILABLE). Refusals themselves are always
 * looked up by hash, and so are calls without an id. An empty table
 * answers at once, and so does one where no refusal shares the text's
 * fingerprint (pem_fp, which also places it), so that one refused client
 * does not make every later handshake and first call hash. Hints: VERDICT_HINT_SETS x VERDICT_HINT_WAYS (set by
 * id, least recently used replaced: as many as server.c pins connections),
 * 24 bytes each (24 KB), allocated at first use. */
#define VERDICT_MSG 256
#define VERDICT_PROBE 8
#define VERDICT_FP_TAIL 128
#define VERDICT_HINT_SETS 256
#define VERDICT_HINT_WAYS 4

struct verdict {
    uint8_t key[32];
    uint64_t fp; /* pem_fp: its place in the table, and a filter */
    int used;
    int status;
    int64_t until_ms; /* 0: until pushed out */
    uint64_t stamp;   /* last use, for pushing out the least recent */
    char msg[VERDICT_MSG];
};

struct verdict_hint {
    uint64_t conn;  /* a connection's id (conns.c); 0: unused */
    uint64_t gen;   /* the table's refusal generation when it was not refused */
    uint64_t stamp;
};

struct asps_rpc__vpool {
    atomic_uint refs; /* the server's + one per verifier using it */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct vjob *head, *tail;
    int stopping;
    pthread_t *threads;
    unsigned n_threads;
    /* refused certificates (NULL unless refuse_in_calls), under vmu */
    pthread_mutex_t vmu;
    struct verdict *verdicts;
    size_t n_verdicts;
    size_t n_refused;  /* verdicts in use */
    uint64_t vgen;     /* +1 per refusal kept */
    struct verdict_hint *hints; /* "not refused" per connection id, NULL until used */
    uint64_t vclock;
    uint64_t fp_seed;  /* pem_fp's key, random per pool */
    atomic_ulong hashed; /* PEM texts hashed (asps_rpc__vpool_hashed) */
};

struct verifier {
    grpc_tls_certificate_verifier_external ext; /* ext.user_data points back here */
    asps_rpc_verify_fn fn;
    asps_rpc_verify_fn now; /* NULL: fn alone */
    void *ctx;
    asps_rpc__vpool *pool; /* NULL: answer synchronously */
};

static const char *nonempty(const char *pem)
{
    return pem != NULL && *pem != '\0' ? pem : NULL;
}

static int run_verify(struct verifier *v, asps_rpc_verify_fn fn, const char *pem, char *err,
                      size_t errlen)
{
    err[0] = '\0';
    int r = fn(v->ctx, pem, err, errlen);
    err[errlen - 1] = '\0';
    if (r != 0 && err[0] == '\0')
        snprintf(err, errlen, "peer certificate refused");
    return r;
}

static void pem_key(asps_rpc__vpool *p, const char *pem, size_t len, uint8_t key[32])
{
    atomic_fetch_add_explicit(&p->hashed, 1, memory_order_relaxed);
    asps_sha256(pem, len, key);
}

/* A PEM text's fingerprint: where its verdict is kept, and a filter that
 * spares hashing the whole text (7 us for a 13 KB RA-TLS certificate) when
 * no kept refusal has the same fingerprint: with one refusal kept, every
 * handshake (to forget a refusal) and every connection's first call (to
 * find one) used to hash (ISSUE 17). Over the length and the last
 * VERDICT_FP_TAIL bytes (the base64 of the certificate's signature and the
 * END line, which differ from certificate to certificate), keyed by the
 * pool's random seed so that no one can aim texts at one place of the
 * table. Only a filter: texts with the same fingerprint are told apart by
 * their SHA-256 (the key), so a fingerprint shared by two texts costs the
 * hashing, never a wrong answer. */
static uint64_t pem_fp(const asps_rpc__vpool *p, const char *pem, size_t len)
{
    size_t n = len < VERDICT_FP_TAIL ? len : VERDICT_FP_TAIL;
    const unsigned char *t = (const unsigned char *)pem + (len - n);
    uint64_t h = p->fp_seed ^ ((uint64_t)len * 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < n; i++) {
        h = (h ^ t[i]) * 0x100000001b3ull; /* FNV-1a's step, seeded */
        h ^= h >> 29;
    }
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
}

static size_t fp_start(const asps_rpc__vpool *p, uint64_t fp) { return (size_t)(fp % p->n_verdicts); }

/* Under vmu: whether a kept refusal has the fingerprint FP. */
static int fp_kept(const asps_rpc__vpool *p, uint64_t fp)
{
    size_t start = fp_start(p, fp);
    for (size_t i = 0; i < VERDICT_PROBE && i < p->n_verdicts; i++) {
        const struct verdict *e = &p->verdicts[(start + i) % p->n_verdicts];
        if (e->used && e->fp == fp)
            return 1;
    }
    return 0;
}

/* Under vmu: the kept refusal of the text with fingerprint FP and SHA-256
 * KEY; else, FOR_INSERT, the place for it (free, or the least recently
 * used of its probe window); else NULL. */
static struct verdict *verdict_slot(asps_rpc__vpool *p, uint64_t fp, const uint8_t key[32],
                                    int for_insert)
{
    size_t start = fp_start(p, fp);
    struct verdict *victim = NULL;
    for (size_t i = 0; i < VERDICT_PROBE && i < p->n_verdicts; i++) {
        struct verdict *e = &p->verdicts[(start + i) % p->n_verdicts];
        if (e->used && e->fp == fp && memcmp(e->key, key, 32) == 0)
            return e;
        if (!for_insert)
            continue;
        if (!e->used && (victim == NULL || victim->used))
            victim = e;
        else if (victim == NULL || (victim->used && e->stamp < victim->stamp))
            victim = e;
    }
    return victim;
}

/* Keep (status != 0) or forget (status 0: it verifies now) the verdict on PEM. */
static void verdict_put(asps_rpc__vpool *p, const char *pem, int status, const char *msg)
{
    size_t len = strlen(pem);
    uint64_t fp = pem_fp(p, pem, len);
    if (status == 0) { /* nothing to forget: no hashing */
        pthread_mutex_lock(&p->vmu);
        int maybe = p->n_refused != 0 && fp_kept(p, fp);
        pthread_mutex_unlock(&p->vmu);
        if (!maybe)
            return;
    }
    uint8_t key[32];
    pem_key(p, pem, len, key);
    pthread_mutex_lock(&p->vmu);
    struct verdict *e = verdict_slot(p, fp, key, status != 0);
    if (status == 0) {
        if (e != NULL && e->used) {
            e->used = 0;
            p->n_refused--;
        }
    } else if (e != NULL) {
        if (!e->used)
            p->n_refused++;
        memcpy(e->key, key, 32);
        e->fp = fp;
        e->used = 1;
        e->status = status;
        e->until_ms = status == GRPC_STATUS_UNAVAILABLE
                          ? asps_rpc__now_ms() + ASPS_RPC_REFUSAL_RETRY_MS
                          : 0;
        e->stamp = ++p->vclock;
        snprintf(e->msg, sizeof e->msg, "%s", msg);
        p->vgen++; /* every "not refused" hint is stale now */
    }
    pthread_mutex_unlock(&p->vmu);
}

unsigned long asps_rpc__vpool_hashed(asps_rpc__vpool *p)
{
    return p ? atomic_load(&p->hashed) : 0;
}

void asps_rpc__vpool_put_verdict(asps_rpc__vpool *p, const char *pem, int status, const char *msg)
{
    if (p != NULL && p->verdicts != NULL && pem != NULL)
        verdict_put(p, pem, status, msg ? msg : "");
}

static struct verdict_hint *hint_set(asps_rpc__vpool *p, uint64_t conn)
{
    uint64_t a = conn * 0x9e3779b97f4a7c15ull;
    return &p->hints[(a >> 40) % VERDICT_HINT_SETS * VERDICT_HINT_WAYS];
}

/* Under vmu: whether the connection CONN was found not refused since the
 * last refusal kept (see the table's comment). */
static int hint_not_refused(asps_rpc__vpool *p, uint64_t conn)
{
    if (p->hints == NULL || conn == 0)
        return 0;
    struct verdict_hint *set = hint_set(p, conn);
    for (int i = 0; i < VERDICT_HINT_WAYS; i++)
        if (set[i].conn == conn && set[i].gen == p->vgen) {
            set[i].stamp = ++p->vclock;
            return 1;
        }
    return 0;
}

/* Under vmu: remember that the connection CONN is not refused now. */
static void hint_put(asps_rpc__vpool *p, uint64_t conn)
{
    if (conn == 0)
        return;
    if (p->hints == NULL &&
        (p->hints = calloc(VERDICT_HINT_SETS * VERDICT_HINT_WAYS, sizeof *p->hints)) == NULL)
        return;
    struct verdict_hint *set = hint_set(p, conn), *h = &set[0];
    for (int i = 0; i < VERDICT_HINT_WAYS; i++) {
        if (set[i].conn == conn) {
            h = &set[i];
            break;
        }
        if (set[i].stamp < h->stamp)
            h = &set[i];
    }
    h->conn = conn;
    h->gen = p->vgen;
    h->stamp = ++p->vclock;
}

int asps_rpc__vpool_verdict(asps_rpc__vpool *p, const char *pem, uint64_t conn, char *msg,
                            size_t msglen)
{
    if (p == NULL || p->verdicts == NULL)
        return 0;
    pthread_mutex_lock(&p->vmu);
    int quick = p->n_refused == 0 || hint_not_refused(p, conn);
    pthread_mutex_unlock(&p->vmu);
    if (quick)
        return 0;
    size_t len = strlen(pem);
    uint64_t fp = pem_fp(p, pem, len);
    pthread_mutex_lock(&p->vmu);
    if (!fp_kept(p, fp)) { /* no refusal can be this text's */
        hint_put(p, conn); /* in the same hold of vmu as the look: vgen is its */
        pthread_mutex_unlock(&p->vmu);
        return 0;
    }
    pthread_mutex_unlock(&p->vmu);
    uint8_t key[32];
    pem_key(p, pem, len, key);
    int status = 0;
    pthread_mutex_lock(&p->vmu);
    struct verdict *e = verdict_slot(p, fp, key, 0);
    if (e != NULL && e->until_ms != 0 && asps_rpc__now_ms() >= e->until_ms) {
        e->used = 0; /* time to re-check */
        p->n_refused--;
        e = NULL;
    }
    if (e != NULL) {
        status = e->status;
        e->stamp = ++p->vclock;
        snprintf(msg, msglen, "%s", e->msg);
    } else {
        hint_put(p, conn); /* in the same hold of vmu as the lookup: vgen is its */
    }
    pthread_mutex_unlock(&p->vmu);
    return status;
}

/* The verify function FN's answer as the handshake's: with a verdict table,
 * the verdict is kept and the handshake goes on (OK); without, a refusal
 * fails it (UNAUTHENTICATED). *LATER (when given): set, and nothing else
 * done, when FN answers ASPS_RPC_VERIFY_LATER. */
static grpc_status_code judge(struct verifier *v, asps_rpc_verify_fn fn, const char *pem,
                              char *err, size_t errlen, int *later)
{
    int r = run_verify(v, fn, pem, err, errlen);
    if (later != NULL && (*later = r == ASPS_RPC_VERIFY_LATER))
        return GRPC_STATUS_OK;
    if (v->pool == NULL || v->pool->verdicts == NULL)
        return r == 0 ? GRPC_STATUS_OK : GRPC_STATUS_UNAUTHENTICATED;
    if (pem != NULL) /* without a certificate every call is refused anyway */
        verdict_put(v->pool, pem, r == 0 ? 0 : r > 0 && r <= GRPC_STATUS_UNAUTHENTICATED
                                                  ? r : GRPC_STATUS_UNAUTHENTICATED, err);
    return GRPC_STATUS_OK;
}

static void *vpool_main(void *arg)
{
    asps_rpc__vpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->head == NULL)
            break;
        struct vjob *j = p->head;
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        int skip = j->cancelled || p->stopping;
        pthread_mutex_unlock(&p->mu);

        char err[256];
        grpc_status_code st;
        if (skip) {
            st = GRPC_STATUS_CANCELLED;
            snprintf(err, sizeof err, "certificate check cancelled");
        } else {
            st = judge(j->v, j->v->fn, j->pem, err, sizeof err, NULL);
        }
        j->cb(j->req, j->cb_arg, st, st == GRPC_STATUS_OK ? NULL : err);
        free(j->pem);
        free(j);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

asps_rpc__vpool *asps_rpc__vpool_new(unsigned threads, size_t verdicts)
{
    asps_rpc__vpool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->threads = calloc(threads ? threads : 1, sizeof *p->threads);
    p->verdicts = verdicts ? calloc(verdicts, sizeof *p->verdicts) : NULL;
    if (p->threads == NULL || (verdicts && p->verdicts == NULL)) {
        free(p->threads);
        free(p->verdicts);
        free(p);
        return NULL;
    }
    p->n_verdicts = verdicts;
    /* no random seed, no pool: a known seed would let anyone aim texts at
     * one place of the table (and no TLS works without randomness anyway) */
    if (verdicts && RAND_bytes((unsigned char *)&p->fp_seed, sizeof p->fp_seed) != 1) {
        free(p->threads);
        free(p->verdicts);
        free(p);
        return NULL;
    }
    atomic_init(&p->hashed, 0);
    atomic_init(&p->refs, 1);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->vmu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, vpool_main, p) != 0)
            break;
        p->n_threads++;
    }
    if (p->n_threads == 0) {
        asps_rpc__vpool_unref(p);
        return NULL;
    }
    return p;
}

void asps_rpc__vpool_stop(asps_rpc__vpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    p->n_threads = 0;
}

/* gRPC may drop the verifier (and call cancel) a little after the server is
 * gone, so the pool's memory lives until its last user lets go. */
void asps_rpc__vpool_unref(asps_rpc__vpool *p)
{
    if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    asps_rpc__vpool_stop(p);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->vmu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p->verdicts);
    free(p->hints);
    free(p);
}

/* Queue a check; 0 if the pool is stopped (or out of memory): then the
 * caller answers synchronously. */
static int vpool_submit(asps_rpc__vpool *p, struct verifier *v,
                        grpc_tls_custom_verification_check_request *req,
                        grpc_tls_on_custom_verification_check_done_cb cb, void *cb_arg,
                        const char *pem)
{
    struct vjob *j = calloc(1, sizeof *j);
    if (j == NULL)
        return 0;
    if (pem != NULL && (j->pem = strdup(pem)) == NULL) {
        free(j);
        return 0;
    }
    j->v = v;
    j->req = req;
    j->cb = cb;
    j->cb_arg = cb_arg;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        free(j->pem);
        free(j);
        return 0;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 1;
}

static int verifier_verify(void *user_data, grpc_tls_custom_verification_check_request *req,
                           grpc_tls_on_custom_verification_check_done_cb cb, void *cb_arg,
                           grpc_status_code *sync_status, char **sync_error_details)
{
    struct verifier *v = user_data;
    const char *pem = nonempty(req->peer_info.peer_cert);
    char err[256];
    int later = 0;
    if (v->now != NULL) { /* here, when it needs no wait */
        *sync_status = judge(v, v->now, pem, err, sizeof err, &later);
        if (!later) {
            if (*sync_status != GRPC_STATUS_OK)
                *sync_error_details = gpr_strdup(err);
            return 1;
        }
    }
    if (v->pool != NULL && vpool_submit(v->pool, v, req, cb, cb_arg, pem))
        return 0; /* asynchronous: a pool thread calls cb */
    *sync_status = judge(v, v->fn, pem, err, sizeof err, NULL);
    if (*sync_status != GRPC_STATUS_OK)
        *sync_error_details = gpr_strdup(err);
    return 1;
}

/* The handshake was abandoned (timeout, shutdown): skip the check if it has
 * not started. The callback is still made, by the pool thread. */
static void verifier_cancel(void *user_data, grpc_tls_custom_verification_check_request *req)
{
    struct verifier *v = user_data;
    if (v->pool == NULL)
        return;
    pthread_mutex_lock(&v->pool->mu);
    for (struct vjob *j = v->pool->head; j != NULL; j = j->next)
        if (j->req == req)
            j->cancelled = 1;
    pthread_mutex_unlock(&v->pool->mu);
}

static void verifier_destruct(void *user_data)
{
    struct verifier *v = user_data;
    asps_rpc__vpool_unref(v->pool);
    free(v);
}

grpc_tls_certificate_verifier *asps_rpc__verifier_new(asps_rpc_verify_fn fn, asps_rpc_verify_fn now,
                                                      void *ctx, asps_rpc__vpool *pool)
{
    struct verifier *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    v->fn = fn;
    v->now = now;
    v->ctx = ctx;
    v->pool = pool;
    if (pool != NULL)
        atomic_fetch_add(&pool->refs, 1);
    v->ext.user_data = v;
    v->ext.verify = verifier_verify;
    v->ext.cancel = verifier_cancel;
    v->ext.destruct = verifier_destruct;
    grpc_tls_certificate_verifier *gv = grpc_tls_certificate_verifier_external_create(&v->ext);
    if (gv == NULL)
        verifier_destruct(v);
    return gv;
}

/* ---- PEM checks ----------------------------------------------------------------- */

asps_err asps_rpc__check_pem_pair(const char *cert_pem, const char *key_pem, const char *what,
                                  asps_errbuf *eb)
{
    asps_err rc = ASPS_OK;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    if (b == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (x == NULL) {
        rc = asps_fail(eb, ASPS_E_PARSE, "rpc: %s certificate is not a PEM certificate", what);
        goto out;
    }
    if (key_pem != NULL) {
        b = BIO_new_mem_buf(key_pem, -1);
        if (b == NULL) {
            rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
            goto out;
        }
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        BIO_free(b);
        if (k == NULL) {
            rc = asps_fail(eb, ASPS_E_PARSE, "rpc: %s key is not a PEM private key", what);
            goto out;
        }
        if (X509_check_private_key(x, k) != 1) {
            rc = asps_fail(eb, ASPS_E_ARG, "rpc: %s key does not match its certificate", what);
            goto out;
        }
    }
out:
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

/* ---- byte buffers --------------------------------------------------------------- */

asps_err asps_rpc__bb_to_bytes(grpc_byte_buffer *bb, uint8_t **out, size_t *len, asps_errbuf *eb)
{
    *out = NULL;
    *len = 0;
    if (bb == NULL)
        return ASPS_OK;
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return asps_fail(eb, ASPS_E_PARSE, "rpc: cannot read message (bad compression?)");
    size_t n = grpc_byte_buffer_length(r.buffer_out);
    uint8_t *p = malloc(n ? n : 1);
    if (p == NULL) {
        grpc_byte_buffer_reader_destroy(&r);
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory for a %zu-byte message", n);
    }
    size_t off = 0;
    grpc_slice s;
    while (grpc_byte_buffer_reader_next(&r, &s)) {
        size_t sl = GRPC_SLICE_LENGTH(s);
        if (sl > n - off) { /* cannot happen: length was summed from these slices */
            grpc_slice_unref(s);
            break;
        }
        memcpy(p + off, GRPC_SLICE_START_PTR(s), sl);
        off += sl;
        grpc_slice_unref(s);
    }
    grpc_byte_buffer_reader_destroy(&r);
    *out = p;
    *len = off;
    return ASPS_OK;
}

