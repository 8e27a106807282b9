/* service.c: secret release, transport-independent (see asps/service.h).
 *
 * Owns: the trust object (roots, collateral source, verifier pool:
 * attest/trust.h), the claims cache (peer certificate -> verified claims,
 * found through the connection, bounded, allocated as used, expiring with
 * the collateral and the certificate), the current policy+KMS generation
 * (refcounted, swapped on reload; loaded by generation.c), the audit log
 * and the one decision path of a call (begin, decide, end: the call's one
 * audit line; its verdicts and refusals in verdict.c).
 * Trusts: nothing the peer sends; claims only after RA-TLS verification.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/ratls.h"
#include "asps/verify.h"
#include "audit.h"
#include "kms.h"
#include "metrics.h"
#include "policy.h"
#include "service.h"
#include "service_int.h"
#include "tally.h"
#include "trust.h"
#include "util.h"

#define MAX_PEM (64 * 1024)
#define REFUSAL_SUMMARY_MS 10000 /* at most one log line of refusals per this */

/* The claims cache (issue 17): verified claims per peer certificate, found
 * through the connection on every call without decoding or hashing.
 *
 * Two routes find an entry:
 *   - the index, by the SHA-256 of the certificate's PEM text (as the old
 *     cache keyed on the SHA-256 of its DER: no one can make two
 *     certificates' texts collide), taken once in the handshake and once at
 *     a connection's first call; chained buckets;
 *   - the connection's hint, by the connection's id the transport gives
 *     (asps_rpc_call_connection_id: never given to another connection, and
 *     a connection's certificate never changes), on every call but the
 *     first. Nothing is copied or compared but numbers: the id, the
 *     address of the call's PEM string (the transport hands every call of
 *     a connection the same string: a transport that gave a wrong id would
 *     also have to give the same string to be believed), and the entry's
 *     index key, so that a hint answers only while its entry still holds
 *     the claims of that certificate (entries are reused for other
 *     certificates when the cache is full). Calls without an id (0) take
 *     the index.
 * Entries are allocated as certificates are verified, up to claims_cache
 * (then the least recently used is reused in place) and freed only with
 * the service: a hint's entry pointer is always memory of the cache; what
 * the entry holds is checked by the key. Memory: sizeof(cache_entry) per
 * certificate (12.1 KB, nearly all asps_claims), the index 8 to 16 bytes
 * per entry (buckets, grown by doubling); the hints, allocated at the first
 * call, 64 bytes each for HINT_SETS x HINT_WAYS connections (64 KB).
 * Shutdown cleanses and frees the entries in use only. Expiry: the claims'
 * expires_at (the collateral's, and the certificate's notAfter, which the
 * trust layer folds in: asps_ratls_verify). */
/* A certificate's verified claims and their audit text, made once when
 * verified and never changed after: the cache entry and every call using
 * them share it by reference (a call used to copy its 12 KB). An entry
 * reused for another certificate drops its reference; the last one frees
 * it. */
typedef struct claims_rec {
    unsigned refs; /* atomic */
    asps_claims claims;
    char *audit_json; /* the claims as audit lines write them (asps_audit_claims_json);
                         NULL: rendered per line */
} claims_rec;

static claims_rec *rec_ref(claims_rec *r)
{
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
    return r;
}

static void rec_unref(claims_rec *r)
{
    if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(r->audit_json);
        asps_cleanse_free(r, sizeof *r);
    }
}

typedef struct cache_entry {
    struct cache_entry *newer, *older; /* LRU list, most recent at the head */
    struct cache_entry *hnext;         /* index bucket chain */
    uint8_t key[32];                   /* SHA-256 of the PEM text */
    int64_t expires;
    claims_rec *rec; /* one reference */
} cache_entry;

#define HINT_SETS 256
#define HINT_WAYS 4

typedef struct cache_hint {
    uint64_t conn;    /* the connection's id; 0: unused */
    const char *addr; /* its PEM string: compared as a number, never read */
    uint8_t key[32];  /* its SHA-256: the entry's key while the entry is its */
    cache_entry *e;
    uint64_t stamp;
} cache_hint;

struct asps_service {
    const asps_service_config *cfg;
    asps_trust *trust;
    asps_service_evidence_fn evidence; /* tests: instead of the trust object */
    void *evidence_ctx;
    asps_service_clock_fn cache_now;    /* the claims cache's clock; NULL: time() */
    void *cache_now_ctx;

    pthread_mutex_t cache_lock; /* the claims cache: everything below to clock */
    size_t cache_n;             /* at most this many entries */
    size_t cache_used;          /* entries allocated */
    cache_entry *lru_head, *lru_tail;
    cache_entry **buckets;      /* index by key; n_buckets a power of 2 */
    size_t n_buckets;
    cache_hint *hints;          /* HINT_SETS x HINT_WAYS, allocated at first use */
    uint64_t lookups;           /* by the index (a SHA-256 taken): tests */
    uint64_t clock;

    pthread_mutex_t gen_lock;
    generation *gen;
    uint64_t generation; /* 1 at start, +1 per reload (under gen_lock) */

    asps_audit *audit;
    asps_tally *refusals; /* the log's summary of refused connections */
    asps_tally *audit_lost; /* the log's summary of audit lines not written */

    asps_service_stats stats; /* each counter added to and read atomically */
};

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* ---- verification ---------------------------------------------------------------- */

/* CERT: the peer's PEM text as gRPC gave it, from a handshake that proved
 * its key (ASPS_RATLS_PEER: see service.h); the trust layer decodes
 * it, once (asps_ratls_verify_ex). */
static asps_err verify_cert(asps_service *s, const char *pem, size_t len, int nowait,
                            asps_claims *claims, asps_errbuf *eb)
{
    if (s->evidence) { /* tests' evidence may wait as it likes: never without waiting */
        if (nowait)
            return asps_fail(eb, ASPS_E_WOULD_BLOCK, "evidence checked by a test's function");
        return s->evidence(s->evidence_ctx, (const uint8_t *)pem, len, now_s(), claims, eb);
    }
    if (nowait)
        return asps_trust_verify_cert_now(s->trust, (const uint8_t *)pem, len, now_s(),
                                          ASPS_RATLS_PEER, claims, eb);
    return asps_trust_verify_cert(s->trust, (const uint8_t *)pem, len, now_s(), ASPS_RATLS_PEER,
                                  claims, eb);
}

static size_t bucket_of(const asps_service *s, const uint8_t key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return (size_t)h & (s->n_buckets - 1);
}

static cache_entry *index_find(asps_service *s, const uint8_t key[32])
{
    if (!s->buckets)
        return NULL;
    for (cache_entry *e = s->buckets[bucket_of(s, key)]; e; e = e->hnext)
        if (memcmp(e->key, key, 32) == 0)
            return e;
    return NULL;
}

static void index_unlink(asps_service *s, cache_entry *e)
{
    for (cache_entry **pp = &s->buckets[bucket_of(s, e->key)]; *pp; pp = &(*pp)->hnext)
        if (*pp == e) {
            *pp = e->hnext;
            break;
        }
    e->hnext = NULL;
}

static void index_link(asps_service *s, cache_entry *e)
{
    size_t b = bucket_of(s, e->key);
    e->hnext = s->buckets[b];
    s->buckets[b] = e;
}

/* Room for one more entry in the index: at least as many buckets as
 * entries, doubled as entries come. */
static int index_grow(asps_service *s)
{
    if (s->n_buckets > s->cache_used)
        return 1;
    size_t n = s->n_buckets ? s->n_buckets * 2 : 64;
    cache_entry **nb = calloc(n, sizeof *nb);
    if (!nb)
        return 0;
    cache_entry **old = s->buckets;
    size_t old_n = s->n_buckets;
    s->buckets = nb;
    s->n_buckets = n;
    for (size_t i = 0; i < old_n; i++)
        for (cache_entry *e = old[i], *next; e; e = next) {
            next = e->hnext;
            index_link(s, e);
        }
    free(old);
    return 1;
}

static void lru_unlink(asps_service *s, cache_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        s->lru_head = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        s->lru_tail = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(asps_service *s, cache_entry *e)
{
    e->newer = NULL;
    e->older = s->lru_head;
    if (s->lru_head)
        s->lru_head->newer = e;
    s->lru_head = e;
    if (!s->lru_tail)
        s->lru_tail = e;
}

static void lru_touch(asps_service *s, cache_entry *e)
{
    if (s->lru_head != e) {
        lru_unlink(s, e);
        lru_push(s, e);
    }
}

/* The hint set of a connection id (its bits mixed). */
static cache_hint *hint_set(asps_service *s, uint64_t conn)
{
    uint64_t a = conn * 0x9e3779b97f4a7c15ull;
    return &s->hints[(a >> 40) % HINT_SETS * HINT_WAYS];
}

/* The entry holding the claims of the certificate of connection CONN,
 * whose PEM string is at PEM (see the cache's comment). */
static cache_entry *hint_find(asps_service *s, uint64_t conn, const char *pem)
{
    if (!s->hints)
        return NULL;
    cache_hint *set = hint_set(s, conn);
    for (int i = 0; i < HINT_WAYS; i++) {
        cache_hint *h = &set[i];
        if (h->conn == conn && h->addr == pem && h->e && memcmp(h->e->key, h->key, 32) == 0) {
            h->stamp = ++s->clock;
            return h->e;
        }
    }
    return NULL;
}

/* Remember that connection CONN (its PEM string at PEM) has the
 * certificate of entry E. */
static void hint_put(asps_service *s, uint64_t conn, const char *pem, cache_entry *e)
{
    if (!s->hints && !(s->hints = calloc(HINT_SETS * HINT_WAYS, sizeof *s->hints)))
        return; /* no hints: the index still answers */
    cache_hint *set = hint_set(s, conn), *h = &set[0];
    for (int i = 0; i < HINT_WAYS; i++) {
        if (set[i].conn == conn) {
            h = &set[i];
            break;
        }
        if (set[i].stamp < h->stamp)
            h = &set[i];
    }
    h->conn = conn;
    h->addr = pem;
    memcpy(h->key, e->key, 32);
    h->e = e;
    h->stamp = ++s->clock;
}

/* Keep REC (a reference of its own) for the certificate of KEY until
 * EXPIRES: in its entry, else a new one while fewer than claims_cache, else
 * the least recently used one, reused. NULL when out of memory (nothing
 * cached). */
static cache_entry *cache_put(asps_service *s, const uint8_t key[32], claims_rec *rec,
                              int64_t expires)
{
    cache_entry *e = index_find(s, key);
    if (!e) {
        if (s->cache_used < s->cache_n && index_grow(s) && (e = malloc(sizeof *e))) {
            s->cache_used++;
            e->rec = NULL;
        } else if (s->lru_tail) {
            e = s->lru_tail; /* the least recently used, reused in place */
            lru_unlink(s, e);
            index_unlink(s, e);
        } else {
            return NULL;
        }
        memcpy(e->key, key, 32);
        index_link(s, e);
        lru_push(s, e);
    } else {
        lru_touch(s, e);
    }
    rec_unref(e->rec); /* calls still using the old claims keep them */
    e->rec = rec_ref(rec);
    e->expires = expires;
    return e;
}

/* Claims for a certificate (PEM text as gRPC gave it): from the cache while
 * valid, else verified now. CONN: the id of the call's connection, whose
 * certificate PEM is (0: none, as in the handshake, or unknown): worth a
 * hint. NOWAIT: ASPS_E_WOULD_BLOCK, nothing counted, when verifying would
 * wait (asps_trust_verify_cert_now). */
static asps_err claims_for(asps_service *s, const char *pem, uint64_t conn, int nowait,
                           claims_rec **out, int *hit, asps_errbuf *eb)
{
    *hit = 0;
    *out = NULL;
    if (!pem)
        return asps_fail(eb, ASPS_E_NO_EVIDENCE, "no peer certificate");
    int64_t now = s->cache_now ? s->cache_now(s->cache_now_ctx) : now_s();
    if (conn) { /* a connection already seen: no decoding, no hashing */
        pthread_mutex_lock(&s->cache_lock);
        cache_entry *e = hint_find(s, conn, pem);
        if (e && e->expires > now) {
            *out = rec_ref(e->rec);
            lru_touch(s, e);
            *hit = 1;
        }
        pthread_mutex_unlock(&s->cache_lock);
        if (*hit)
            return ASPS_OK;
    }
    size_t len = strnlen(pem, MAX_PEM + 1);
    if (len > MAX_PEM)
        return asps_fail(eb, ASPS_E_LIMIT, "peer certificate larger than %d bytes (PEM)", MAX_PEM);
    if (len == 0)
        return asps_fail(eb, ASPS_E_NO_EVIDENCE, "no peer certificate");
    uint8_t key[32];
    asps_sha256(pem, len, key);
    pthread_mutex_lock(&s->cache_lock);
    s->lookups++;
    cache_entry *e = index_find(s, key);
    if (e && e->expires > now) {
        *out = rec_ref(e->rec);
        lru_touch(s, e);
        if (conn)
            hint_put(s, conn, pem, e);
        *hit = 1;
    }
    pthread_mutex_unlock(&s->cache_lock);
    if (*hit)
        return ASPS_OK;
    claims_rec *rec = malloc(sizeof *rec);
    if (!rec)
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    rec->refs = 1;
    rec->audit_json = NULL;
    double t0 = asps_metrics_clock();
    asps_err err = verify_cert(s, pem, len, nowait, &rec->claims, eb);
    if (err != ASPS_E_WOULD_BLOCK) /* not a verification: it is asked again, waiting */
        asps_service__m_verification(asps_metrics_clock() - t0, err == ASPS_OK);
    if (err != ASPS_OK) {
        rec_unref(rec);
        return err;
    }
    /* the claims' part of every audit line of this certificate's calls,
     * rendered once, outside the cache's lock */
    asps_errbuf jeb;
    if (asps_audit_claims_json(&rec->claims, &rec->audit_json, &jeb) != ASPS_OK)
        rec->audit_json = NULL;
    pthread_mutex_lock(&s->cache_lock);
    e = cache_put(s, key, rec, rec->claims.expires_at);
    if (e && conn)
        hint_put(s, conn, pem, e);
    pthread_mutex_unlock(&s->cache_lock);
    *out = rec;
    return ASPS_OK;
}

uint64_t asps_service__claims_cache_lookups(asps_service *s)
{
    pthread_mutex_lock(&s->cache_lock);
    uint64_t n = s->lookups;
    pthread_mutex_unlock(&s->cache_lock);
    return n;
}

size_t asps_service__claims_cache_entries(asps_service *s)
{
    pthread_mutex_lock(&s->cache_lock);
    size_t n = s->cache_used;
    pthread_mutex_unlock(&s->cache_lock);
    return n;
}

/* One more of FIELD (of s->stats): an atomic add, no lock on the call's
 * path; asps_service_get_stats reads each counter whole. */
static void count(asps_service *s, uint64_t *field)
{
    (void)s;
    __atomic_fetch_add(field, 1, __ATOMIC_RELAXED);
}

/* Write one audit line; a line that cannot be written is counted and
 * summed up on stderr (rate-limited: a full disk must not flood stderr
 * too), by the error's words ("No space left on device"). Returns the
 * write's result. */
static asps_err audit(asps_service *s, const asps_audit_event *ev)
{
    asps_errbuf eb = {{0}};
    asps_err e = asps_audit_decision(s->audit, ev, &eb);
    if (e != ASPS_OK) {
        count(s, &s->stats.audit_failures);
        const char *why = strrchr(eb.msg, ':'); /* "audit: write failed: WHY" */
        why = why && why[1] ? why + 2 : eb.msg;
        asps_tally_add(s->audit_lost, why);
    }
    return e;
}

static asps_err verify_peer(asps_service *s, const char *cert_pem, int nowait,
                            asps_verdict *verdict, char *err, size_t errlen)
{
    claims_rec *rec;
    asps_errbuf eb = {{0}};
    int hit;
    const char *reason = "no_certificate";
    asps_err e = ASPS_E_NO_EVIDENCE;
    *verdict = ASPS_VERDICT_UNAUTHENTICATED;
    char line[800];
    if (cert_pem == NULL) {
        snprintf(err, errlen, "no client certificate: this server needs an RA-TLS client certificate");
        snprintf(line, sizeof line, "handshake: no client certificate");
    } else {
        e = claims_for(s, cert_pem, 0, nowait, &rec, &hit, &eb);
        rec_unref(rec);
        if (e == ASPS_E_WOULD_BLOCK) { /* no verdict yet: nothing counted or logged */
            snprintf(err, errlen, "%s", eb.msg);
            return e;
        }
        if (e == ASPS_OK) {
            *verdict = ASPS_VERDICT_GRANTED;
            count(s, &s->stats.handshakes_ok);
            asps_service__m_handshake(1, NULL);
            return ASPS_OK;
        }
        *verdict = asps_service__refusal_of(e, eb.msg, &reason);
        asps_service__refusal_msg(*verdict, reason, eb.msg, err, errlen);
        snprintf(line, sizeof line, "handshake: %s: %s [%s]", reason, eb.msg, asps_err_name(e));
    }
    count(s, &s->stats.handshakes_refused);
    asps_service__m_handshake(0, reason);
    asps_tally_add(s->refusals, reason);
    /* A refused handshake is a decision too: log it. */
    asps_audit_event ev = {.claims = NULL, .verdict = asps_verdict_name(*verdict), .reason = line};
    audit(s, &ev);
    return e;
}

asps_err asps_service_verify_peer(asps_service *s, const char *cert_pem, asps_verdict *verdict,
                                  char *err, size_t errlen)
{
    return verify_peer(s, cert_pem, 0, verdict, err, errlen);
}

asps_err asps_service_verify_peer_now(asps_service *s, const char *cert_pem, asps_verdict *verdict,
                                      char *err, size_t errlen)
{
    return verify_peer(s, cert_pem, 1, verdict, err, errlen);
}

void asps_service_handshake_failed(asps_service *s, const char *reason)
{
    char line[800];
    snprintf(line, sizeof line, "TLS handshake failed before any certificate check: %s",
             reason ? reason : "");
    asps_audit_event ev = {.verdict = "unauthenticated", .reason = line};
    audit(s, &ev);
    count(s, &s->stats.handshakes_refused);
    asps_service__m_handshake(0, "tls_handshake");
    asps_tally_add(s->refusals, "tls_handshake");
}

/* ---- policy and KMS generations ---------------------------------------------- */

static void gen_release(asps_service *s, generation *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&s->gen_lock);
    int last = --g->refs == 0;
    pthread_mutex_unlock(&s->gen_lock);
    if (last)
        asps_generation_free(g);
}

static generation *gen_acquire(asps_service *s)
{
    pthread_mutex_lock(&s->gen_lock);
    generation *g = s->gen;
    if (g)
        g->refs++;
    pthread_mutex_unlock(&s->gen_lock);
    return g;
}

asps_err asps_service_reload(asps_service *s, asps_errbuf *eb)
{
    generation *g;
    asps_err e = asps_generation_load(s->cfg, &g, eb);
    if (e != ASPS_OK) {
        asps_service__m_config(0, 1);
        return e;
    }
    pthread_mutex_lock(&s->gen_lock);
    generation *old = s->gen;
    s->gen = g;
    uint64_t n = ++s->generation;
    pthread_mutex_unlock(&s->gen_lock);
    asps_service__m_config(n, 0);
    gen_release(s, old);
    return ASPS_OK;
}

asps_err asps_service_reopen_audit(asps_service *s, asps_errbuf *eb)
{
    return asps_audit_reopen(s->audit, eb);
}

/* ---- lifecycle ------------------------------------------------------------------- */


asps_err asps_service_new(const asps_service_config *cfg, asps_service **out, asps_errbuf *eb)
{
    *out = NULL;
    asps_service *s = calloc(1, sizeof *s);
    if (!s)
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    s->cfg = cfg;
    pthread_mutex_init(&s->cache_lock, NULL);
    pthread_mutex_init(&s->gen_lock, NULL);
    asps_err e = ASPS_OK;
    s->cache_n = cfg->claims_cache ? cfg->claims_cache : 4096;
    asps_trust_opts to = {
        .sim_root_dir = cfg->trust_sim,
        .root_files = (const char *const *)cfg->trust_roots,
        .n_root_files = cfg->n_trust_roots,
        .collateral = {.bundle = cfg->collateral_bundle, .sim_dir = cfg->collateral_sim,
                       .pccs_url = cfg->pccs_url, .pccs_ca = cfg->pccs_ca,
                       .pccs_urls = (const char *const *)cfg->pccs_urls, .n_pccs_urls = cfg->n_pccs_urls,
                       .cache_dir = cfg->collateral_cache_dir, .max_stale = cfg->collateral_max_stale,
                       .refresh_before = cfg->collateral_refresh_before},
        .verifiers = cfg->verify_threads ? cfg->verify_threads : 2,
        .tcb_update_early = cfg->collateral_tcb_update_early,
        .max_stale = cfg->collateral_max_stale,
    };
    e = asps_trust_new(&to, &s->trust, eb);
    if (e == ASPS_OK && asps_trust_no_collateral(s->trust))
        e = asps_fail(eb, ASPS_E_ARG, "collateral: config: no collateral source (bundle, sim, pccs or cache_dir)");
    if (e != ASPS_OK)
        goto fail;
    e = asps_generation_load(cfg, &s->gen, eb);
    if (e != ASPS_OK)
        goto fail;
    s->generation = 1;
    asps_service__m_config(1, 0);
    e = asps_audit_open(cfg->audit ? cfg->audit : "-", &s->audit, eb);
    if (e != ASPS_OK)
        goto fail;
    s->refusals = asps_tally_new("refusals", REFUSAL_SUMMARY_MS, "service");
    /* "service: audit lines not written in the last 10.0 s: 3 (No space left
     * on device 3)"; with audit_required no grant among them was released */
    s->audit_lost = asps_tally_new("audit lines not written", REFUSAL_SUMMARY_MS, "service");
    if (!s->refusals || !s->audit_lost) {
        e = asps_fail(eb, ASPS_E_NOMEM, "out of memory");
        goto fail;
    }
    *out = s;
    return ASPS_OK;
fail:
    asps_service_free(s);
    return e;
}

void asps_service_free(asps_service *s)
{
    if (!s)
        return;
    asps_trust_free(s->trust);
    /* only the entries in use: the cost of shutdown is what was used */
    for (cache_entry *c = s->lru_head, *next; c; c = next) {
        next = c->older;
        rec_unref(c->rec);
        asps_cleanse_free(c, sizeof *c);
    }
    free(s->buckets);
    free(s->hints);
    gen_release(s, s->gen);
    asps_tally_free(s->refusals);
    asps_tally_free(s->audit_lost);
    asps_audit_close(s->audit);
    pthread_mutex_destroy(&s->cache_lock);
    pthread_mutex_destroy(&s->gen_lock);
    free(s);
}

void asps_service_set_evidence(asps_service *s, asps_service_evidence_fn fn, void *ctx)
{
    s->evidence = fn;
    s->evidence_ctx = ctx;
}

void asps_service_set_clock(asps_service *s, asps_service_clock_fn now, void *ctx)
{
    s->cache_now = now;
    s->cache_now_ctx = ctx;
}

int asps_service_ready(asps_service *s, char *why, size_t n)
{
    generation *g = gen_acquire(s);
    int ok = g && g->policy && g->kms;
    gen_release(s, g);
    if (!ok) {
        snprintf(why, n, "no policy and KMS loaded");
        return 0;
    }
    return asps_trust_ready(s->trust, now_s(), why, n);
}

void asps_service_get_stats(asps_service *s, asps_service_stats *out)
{
    _Static_assert(sizeof *out == 10 * sizeof(uint64_t), "a counter added: read it below");
#define LOAD(f) out->f = __atomic_load_n(&s->stats.f, __ATOMIC_RELAXED)
    LOAD(handshakes_ok);
    LOAD(handshakes_refused);
    LOAD(calls);
    LOAD(granted);
    LOAD(denied);
    LOAD(unavailable);
    LOAD(calls_refused);
    LOAD(claims_cache_hits);
    LOAD(audit_failures);
    LOAD(audit_withheld);
#undef LOAD
}

/* ---- one call ------------------------------------------------------------------------
 * One decision path: begin (claims, once), the transport's own refusals,
 * decide (names, evidence, policy, KMS), end (the one audit line). Every
 * refusal goes through asps_call_refuse; only call_end writes. */

static void call_init(asps_call *c, const char *peer, const char *const *names, size_t n_names)
{
    memset(c, 0, sizeof *c);
    c->peer = peer;
    c->names = names;
    c->n_names = n_names;
    c->claims_err = ASPS_E_NO_EVIDENCE;
}

void asps_service_call_begin(asps_service *s, asps_call *c, const char *cert_pem, uint64_t conn,
                             const char *peer, const char *const *names, size_t n_names)
{
    call_init(c, peer, names, n_names);
    count(s, &s->stats.calls);
    asps_errbuf eb = {{0}};
    int hit = 0;
    claims_rec *rec = NULL;
    c->claims_err = claims_for(s, cert_pem, conn, 0, &rec, &hit, &eb);
    if (rec) { /* shared with the cache, read-only: no copy per call */
        c->claims = &rec->claims;
        c->claims_ref = rec;
    }
    if (c->claims_err != ASPS_OK) /* read only then (check_evidence) */
        snprintf(c->claims_msg, sizeof c->claims_msg, "%s", eb.msg);
    if (hit)
        count(s, &s->stats.claims_cache_hits);
}

/* The request itself: at least one name, within the limits. */
static asps_err check_names(asps_service *s, asps_call *c)
{
    if (c->n_names == 0)
        return asps_call_refuse(c, ASPS_E_ARG, ASPS_VERDICT_INVALID, NULL,
                                "no secret names in the request");
    if (c->n_names > s->cfg->max_names)
        return asps_call_refuse(c, ASPS_E_LIMIT, ASPS_VERDICT_INVALID, NULL,
                                "%zu names in one call; the limit is %zu", c->n_names,
                                s->cfg->max_names);
    for (size_t i = 0; i < c->n_names; i++)
        if (!c->names[i] || !c->names[i][0] || strlen(c->names[i]) > ASPS_POLICY_MAX_NAME)
            return asps_call_refuse(c, ASPS_E_ARG, ASPS_VERDICT_INVALID, NULL,
                                    "secret name %zu is empty or longer than %d bytes", i,
                                    ASPS_POLICY_MAX_NAME);
    return ASPS_OK;
}

/* The claims begin looked up: the handshake's check said yes (or its
 * verdict is gone), but evidence that does not verify now is refused the
 * same way. */
static asps_err check_evidence(asps_call *c)
{
    if (c->claims_err == ASPS_OK)
        return ASPS_OK;
    const char *reason;
    asps_verdict v = asps_service__refusal_of(c->claims_err, c->claims_msg, &reason);
    /* room for the whole detail; the call keeps what fits in its msg */
    char msg[sizeof c->msg + sizeof c->claims_msg], line[sizeof c->reason];
    asps_service__refusal_msg(v, reason, c->claims_msg, msg, sizeof msg);
    snprintf(line, sizeof line, "%s: %s [%s]", reason, c->claims_msg, asps_err_name(c->claims_err));
    asps_call_refuse(c, c->claims_err, v, line, "%s", msg);
    c->why = reason; /* a static short name (asps_err_name, collateral_unavailable) */
    return c->err;
}

/* Every granted name's value, all or nothing, under one KMS deadline (before
 * the call's own). A name the KMS does not have, or refuses the app's
 * credential for, is the same answer to the peer as a name not granted. */
static asps_err fetch_values(asps_service *s, asps_call *c)
{
    asps_secret *items = calloc(c->n_names, sizeof *items);
    if (!items)
        return asps_call_refuse(c, ASPS_E_NOMEM, ASPS_VERDICT_ERROR, "out of memory",
                                "internal error");
    long kms_ms = s->cfg->kms_deadline_ms > 0 ? s->cfg->kms_deadline_ms
                  : s->cfg->deadline_ms > 1  ? s->cfg->deadline_ms / 2
                                             : ASPS_KMS_DEFAULT_DEADLINE_MS;
    int64_t kms_deadline = asps_now_mono_ms() + kms_ms;
    /* a call that waited for a slot has less than deadline_ms left: the
     * fetch must give up before the call's own deadline, or the client is
     * told DEADLINE_EXCEEDED while this call's audit line says otherwise */
    if (c->deadline_mono_ms > 0 && kms_deadline > c->deadline_mono_ms - ASPS_SERVICE_DEADLINE_MARGIN_MS)
        kms_deadline = c->deadline_mono_ms - ASPS_SERVICE_DEADLINE_MARGIN_MS;
    asps_errbuf eb = {{0}};
    for (size_t i = 0; i < c->n_names; i++) {
        asps_secret *it = &items[i];
        it->name = strdup(c->names[i]);
        if (!it->name) {
            asps_secrets_free(items, c->n_names);
            return asps_call_refuse(c, ASPS_E_NOMEM, ASPS_VERDICT_ERROR, "out of memory",
                                    "internal error");
        }
        double t0 = asps_metrics_clock();
        asps_err e = asps_kms_get_until(c->gen->kms, c->decision.grants[i].kms_ref,
                                        c->decision.kms_credential, kms_deadline, &it->value,
                                        &it->len, &eb);
        asps_service__m_kms(asps_kms_backend_name(c->gen->kms), asps_metrics_clock() - t0, e);
        if (e == ASPS_OK)
            continue;
        asps_secrets_free(items, c->n_names); /* never a partial reply */
        char line[sizeof c->reason];
        snprintf(line, sizeof line, "KMS: %s [%s]", eb.msg, asps_err_name(e));
        if (e == ASPS_E_NOT_FOUND || e == ASPS_E_DENIED) {
            asps_call_refuse(c, ASPS_E_DENIED, ASPS_VERDICT_DENIED, line, "permission denied");
            c->why = e == ASPS_E_NOT_FOUND ? "kms_not_found" : "kms_denied";
            return c->err;
        }
        asps_call_refuse(c, ASPS_E_UNAVAILABLE, ASPS_VERDICT_UNAVAILABLE, line,
                         "secret store unavailable");
        c->why = "kms";
        return c->err;
    }
    c->secrets = items;
    c->n_secrets = c->n_names;
    return ASPS_OK;
}

asps_err asps_service_decide(asps_service *s, asps_call *c)
{
    if (c->done)
        return c->err;
    ASPS_TRY(check_names(s, c));
    ASPS_TRY(check_evidence(c));
    c->gen = gen_acquire(s);
    c->have_decision = 1;
    asps_errbuf eb = {{0}};
    /* decided at the service's clock (the claims cache's: tests set it),
     * the time a policy's tcb_grace_days is counted against */
    int64_t at = s->cache_now ? s->cache_now(s->cache_now_ctx) : now_s();
    asps_err e = asps_policy_decide_at(c->gen->policy, c->claims, c->names, c->n_names, at,
                                       &c->decision, &eb);
    if (e != ASPS_OK) {
        /* unknown and denied names get the same words; the audit line
         * gives the policy's own reason */
        asps_call_refuse(c, ASPS_E_DENIED, ASPS_VERDICT_DENIED,
                         e == ASPS_E_DENIED ? c->decision.reason : eb.msg, "permission denied");
        c->why = c->decision.rule; /* a TCB recovery rule's name, else "policy" */
        return c->err;
    }
    ASPS_TRY(fetch_values(s, c));
    c->done = 1;
    c->err = ASPS_OK;
    c->verdict = ASPS_VERDICT_GRANTED;
    c->msg[0] = 0;
    c->reason[0] = 0; /* the decision's reason */
    return ASPS_OK;
}

void asps_service_call_end(asps_service *s, asps_call *c)
{
    if (!c->done) /* ended undecided: a transport bug, never a release */
        asps_call_refuse(c, ASPS_E_INTERNAL, ASPS_VERDICT_ERROR, NULL, "internal error");
    asps_audit_event ev = {.peer = c->peer,
                           .claims = c->claims_err == ASPS_OK ? c->claims : NULL,
                           .claims_json = c->claims_err == ASPS_OK && c->claims_ref
                                              ? ((claims_rec *)c->claims_ref)->audit_json
                                              : NULL,
                           .names_asked = c->names,
                           .n_asked = c->n_names,
                           .decision = c->have_decision ? &c->decision : NULL,
                           .verdict = asps_verdict_name(c->verdict),
                           .reason = c->reason[0] ? c->reason : NULL};
    if (c->verdict != ASPS_VERDICT_GRANTED)
        c->decision.allowed = 0; /* nothing was released: no names listed as granted */
    if (audit(s, &ev) != ASPS_OK && c->verdict == ASPS_VERDICT_GRANTED && s->cfg->audit_required) {
        /* Fail closed: a release nobody can audit does not happen. The
         * values have not left yet (the transport answers after call_end). */
        count(s, &s->stats.audit_withheld);
        asps_call_refuse(c, ASPS_E_UNAVAILABLE, ASPS_VERDICT_UNAVAILABLE,
                         "granted, but its audit line could not be written: nothing released",
                         "audit log unavailable: nothing released (retry later)");
        c->why = "audit";
        c->decision.allowed = 0;
        ev.verdict = asps_verdict_name(c->verdict);
        ev.reason = c->reason;
        audit(s, &ev); /* the log, if it came back, says what happened */
    }
    if (c->verdict == ASPS_VERDICT_GRANTED && c->have_decision && c->decision.grace)
        c->why = "grace"; /* granted only under the app's tcb_grace_days */
    asps_service__m_decision(c->verdict, c->transport_refused ? "transport" : c->why);
    if (c->claims_err == ASPS_OK && !c->transport_refused)
        asps_service__m_forecast(c->claims);
    count(s, c->transport_refused                        ? &s->stats.calls_refused
             : c->verdict == ASPS_VERDICT_GRANTED     ? &s->stats.granted
             : c->verdict == ASPS_VERDICT_UNAVAILABLE ? &s->stats.unavailable
                                                      : &s->stats.denied);
    asps_secrets_free(c->secrets, c->n_secrets);
    c->secrets = NULL;
    c->n_secrets = 0;
    rec_unref(c->claims_ref);
    c->claims_ref = NULL;
    c->claims = NULL;
    if (c->have_decision)
        asps_decision_clear(&c->decision);
    gen_release(s, c->gen);
    c->gen = NULL;
    c->have_decision = 0;
}

void asps_service_refused_call(asps_service *s, const char *cert_pem, const char *peer,
                               const char *method, asps_verdict verdict, const char *msg)
{
    (void)cert_pem; /* refused: it has no claims to log */
    asps_call c;
    call_init(&c, peer, NULL, 0);
    c.transport_refused = 1;
    char line[800];
    snprintf(line, sizeof line, "%s: %s", method ? method : "?", msg ? msg : "");
    asps_call_refuse(&c, ASPS_E_NO_EVIDENCE, verdict, line, "%s", msg ? msg : "");
    asps_service_call_end(s, &c);
}
