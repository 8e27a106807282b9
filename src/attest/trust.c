/* trust.c: the one trust object (trust.h): roots + collateral source +
 * verifier pool, certificate -> verified claims. */
#include "trust.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "asps/ratls.h"
#include "asps/verify.h"

typedef struct verifier_slot {
    pthread_mutex_t lock;
    asps_verifier *v;
} verifier_slot;

struct asps_trust {
    asps_collateral_source *collateral;
    /* collateral-only checks for the source's disk cache, and the PCK
     * chain check before the source looks for a platform's collateral
     * (its own verifier: the source may ask while a pool verifier, waiting
     * for collateral, is held by the same thread) */
    verifier_slot check;
    int has_check;
    verifier_slot slots[ASPS_TRUST_MAX_VERIFIERS];
    size_t n_slots; /* slots set up so far: a failure part-way frees only those */
    unsigned next;
};

void asps_trust_free(asps_trust *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_slots; i++) {
        asps_verifier_free(t->slots[i].v);
        pthread_mutex_destroy(&t->slots[i].lock);
    }
    /* the source first: its refresh thread may be in check_collateral */
    asps_collateral_source_free(t->collateral);
    if (t->has_check) {
        asps_verifier_free(t->check.v);
        pthread_mutex_destroy(&t->check.lock);
    }
    free(t);
}

static asps_err new_verifier(const asps_trust_opts *o, asps_verifier **v, asps_errbuf *eb)
{
    ASPS_TRY(asps_verifier_new(v, eb));
    asps_verifier_set_tcb_update(*v, o->tcb_update_early);
    asps_verifier_set_max_stale(*v, o->max_stale);
    if (o->sim_root_dir) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/root_ca.der", o->sim_root_dir) >= sizeof path)
            return asps_fail(eb, ASPS_E_ARG, "simulated folder path too long");
        ASPS_TRY(asps_verifier_add_root_file(*v, path, eb));
    }
    for (size_t r = 0; r < o->n_root_files; r++)
        ASPS_TRY(asps_verifier_add_root_file(*v, o->root_files[r], eb));
    return ASPS_OK;
}

/* asps_collateral_verify_fn: the source's cache reads and writes. */
static asps_err check_collateral(void *ctx, const asps_collateral *c, asps_errbuf *eb)
{
    asps_trust *t = ctx;
    pthread_mutex_lock(&t->check.lock);
    asps_err e = asps_verify_collateral(t->check.v, c, eb);
    pthread_mutex_unlock(&t->check.lock);
    return e;
}

/* The source's vet hook: a quote's PCK chain must verify to a trusted root
 * before collateral is looked for on its platform's behalf. */
static asps_err vet_pck_chain(void *ctx, const uint8_t *quote, size_t len, asps_errbuf *eb)
{
    asps_trust *t = ctx;
    pthread_mutex_lock(&t->check.lock);
    asps_err e = asps_verify_pck_chain(t->check.v, quote, len, eb);
    pthread_mutex_unlock(&t->check.lock);
    return e;
}

asps_err asps_trust_new(const asps_trust_opts *o, asps_trust **out, asps_errbuf *eb)
{
    *out = NULL;
    asps_trust *t = calloc(1, sizeof *t);
    if (!t)
        return asps_fail(eb, ASPS_E_NOMEM, "trust: out of memory");
    size_t want = o->verifiers ? o->verifiers : 1;
    if (want > ASPS_TRUST_MAX_VERIFIERS)
        want = ASPS_TRUST_MAX_VERIFIERS;
    asps_err e = ASPS_OK;
    for (size_t i = 0; i < want && e == ASPS_OK; i++) {
        pthread_mutex_init(&t->slots[i].lock, NULL);
        t->n_slots = i + 1;
        e = new_verifier(o, &t->slots[i].v, eb);
        if (e != ASPS_OK)
            asps_err_prefix(eb, "trust: ");
    }
    asps_collateral_source_opts co = o->collateral;
    /* collateral looked for per platform (PCCS, cache folder), not a file */
    int per_platform = !co.bundle && !co.sim_dir &&
                       (co.cache_dir || co.pccs_url || co.n_pccs_urls);
    if (e == ASPS_OK && (co.cache_dir || per_platform)) {
        pthread_mutex_init(&t->check.lock, NULL);
        t->has_check = 1;
        e = new_verifier(o, &t->check.v, eb);
        if (e != ASPS_OK)
            asps_err_prefix(eb, "trust: ");
        if (co.cache_dir) {
            co.verify = check_collateral;
            co.verify_ctx = t;
        }
        if (per_platform) {
            co.vet = vet_pck_chain;
            co.vet_ctx = t;
        }
    }
    if (e == ASPS_OK)
        e = asps_collateral_source_new(&co, &t->collateral, eb);
    if (e != ASPS_OK) {
        asps_trust_free(t);
        return e;
    }
    *out = t;
    return ASPS_OK;
}

int asps_trust_ready(asps_trust *t, int64_t now, char *why, size_t n)
{
    return asps_collateral_source_ready(t->collateral, now, why, n);
}

int asps_trust_no_collateral(const asps_trust *t)
{
    return asps_collateral_source_empty(t->collateral);
}

/* An idle verifier if there is one, else wait for one in turn (round
 * robin); returned locked. */
static verifier_slot *take(asps_trust *t)
{
    for (size_t i = 0; i < t->n_slots; i++)
        if (pthread_mutex_trylock(&t->slots[i].lock) == 0)
            return &t->slots[i];
    unsigned k = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED);
    verifier_slot *s = &t->slots[k % t->n_slots];
    pthread_mutex_lock(&s->lock);
    return s;
}

asps_err asps_trust_verify_cert(asps_trust *t, const uint8_t *cert, size_t len, int64_t at,
                                unsigned flags, asps_claims *claims, asps_errbuf *eb)
{
    verifier_slot *s = take(t);
    asps_err e = asps_ratls_verify_ex(s->v, cert, len, asps_collateral_source_get, t->collateral,
                                      at, flags, claims, eb);
    pthread_mutex_unlock(&s->lock);
    return e;
}

asps_err asps_trust_verify_cert_now(asps_trust *t, const uint8_t *cert, size_t len, int64_t at,
                                    unsigned flags, asps_claims *claims, asps_errbuf *eb)
{
    verifier_slot *s = NULL;
    for (size_t i = 0; i < t->n_slots && !s; i++)
        if (pthread_mutex_trylock(&t->slots[i].lock) == 0)
            s = &t->slots[i];
    if (!s) /* each held by a check that may be waiting for a PCCS */
        return asps_fail(eb, ASPS_E_WOULD_BLOCK, "trust: every verifier busy");
    asps_err e = asps_ratls_verify_ex(s->v, cert, len, asps_collateral_source_get_now,
                                      t->collateral, at, flags, claims, eb);
    pthread_mutex_unlock(&s->lock);
    return e;
}

asps_err asps_trust_verify_quote(asps_trust *t, const uint8_t *quote, size_t len, int64_t at,
                                 asps_claims *claims, asps_errbuf *eb)
{
    const asps_collateral *col;
    int owned;
    ASPS_TRY(asps_collateral_source_get(t->collateral, quote, len, &col, &owned, eb));
    verifier_slot *s = take(t);
    asps_err e = asps_verify_quote(s->v, quote, len, col, at, claims, eb);
    pthread_mutex_unlock(&s->lock);
    if (owned)
        asps_collateral_free((asps_collateral *)col);
    return e;
}

asps_collateral_source *asps_trust__collateral_source(asps_trust *t) { return t->collateral; }
