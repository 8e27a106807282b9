/* service.c: secret release, transport-independent (see asps/service.h).
 *
 * Owns: the verifier pool, the claims cache (SHA-256 of the peer
 * certificate -> verified claims, bounded, expiring with the collateral and
 * the certificate), the collateral source, the current policy+KMS generation
 * (refcounted, swapped on reload) and the audit log.
 * Trusts: nothing the peer sends; claims only after RA-TLS verification.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "kms.h"
#include "pccs.h"
#include "policy.h"
#include "asps/ratls.h"
#include "service.h"
#include "asps/verify.h"
#include "quote.h"
#include "tally.h"
#include "util.h"
#include "x509.h"

#define MAX_VERIFIERS 16
#define MAX_PEM (64 * 1024)
#define REFUSAL_SUMMARY_MS 10000 /* at most one stderr line of refusals per this */

typedef struct generation {
    asps_policy *policy;
    asps_kms *kms;
    int refs;
} generation;

typedef struct cache_entry {
    uint8_t key[32];
    int used;
    int64_t expires;
    uint64_t stamp;
    asps_claims claims;
} cache_entry;

typedef struct verifier_slot {
    pthread_mutex_t lock;
    asps_verifier *v;
} verifier_slot;

struct asps_service {
    const asps_service_config *cfg;
    verifier_slot verifiers[MAX_VERIFIERS];
    size_t n_verifiers;
    unsigned next_verifier;

    /* collateral */
    asps_collateral *bundle;             /* config bundle */
    asps_collateral *sim_sgx, *sim_tdx;  /* sim folder bundles */
    asps_pccs *pccs;
    asps_service_evidence_fn evidence;  /* RA-TLS verification */
    void *evidence_ctx;

    pthread_mutex_t cache_lock;
    cache_entry *cache;
    size_t cache_n;
    uint64_t clock;

    pthread_mutex_t gen_lock;
    generation *gen;

    asps_audit *audit;
    asps_tally *refusals; /* the stderr summary of refused connections */

    pthread_mutex_t stats_lock;
    asps_service_stats stats;
};

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* ---- collateral and verification ---------------------------------------------- */

/* The collateral for a quote; *owned says whether the caller frees it. */
asps_err asps_service_collateral_for(void *ctx, const uint8_t *quote, size_t len,
                               const asps_collateral **col, int *owned, asps_errbuf *eb)
{
    asps_service *s = ctx;
    *owned = 0;
    if (s->bundle) {
        *col = s->bundle;
        return ASPS_OK;
    }
    if (s->sim_sgx || s->sim_tdx) {
        /* the simulated platform has one bundle per TEE: the header says which */
        asps_quote q;
        ASPS_TRY(asps_quote_parse(quote, len, &q, eb));
        *col = q.tee_type == ASPS_TEE_TDX ? s->sim_tdx : s->sim_sgx;
        return ASPS_OK;
    }
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    ASPS_TRY(asps_quote_platform(quote, len, &tee, fmspc, ca, eb));
    if (s->pccs) {
        asps_collateral *c;
        asps_err e = asps_pccs_get_collateral(s->pccs, tee, fmspc, ca, now_s(), &c, eb);
        if (e != ASPS_OK) {
            /* whatever went wrong (down, an error, a reply too large or
             * malformed) is the PCCS's, not the peer's: retry later */
            asps_err_prefix(eb, ASPS_COLLATERAL_ERR_PREFIX);
            return e == ASPS_E_NOMEM ? e : ASPS_E_UNAVAILABLE;
        }
        *col = c;
        *owned = 1;
        return ASPS_OK;
    }
    return asps_fail(eb, ASPS_E_UNAVAILABLE, "no collateral source configured");
}

/* The default: RA-TLS verification with the config's collateral source. */
static asps_err ratls_evidence(void *ctx, asps_verifier *v, const uint8_t *der, size_t len,
                               int64_t at, asps_claims *claims, asps_errbuf *eb)
{
    return asps_ratls_verify(v, der, len, asps_service_collateral_for, ctx, at, claims, eb);
}

static asps_err verify_cert(asps_service *s, const uint8_t *der, size_t len, asps_claims *claims,
                            asps_errbuf *eb)
{
    /* a free verifier if one is idle, else wait on one (round robin) */
    verifier_slot *slot = NULL;
    for (size_t i = 0; i < s->n_verifiers && !slot; i++)
        if (pthread_mutex_trylock(&s->verifiers[i].lock) == 0)
            slot = &s->verifiers[i];
    if (!slot) {
        unsigned k = __atomic_fetch_add(&s->next_verifier, 1, __ATOMIC_RELAXED);
        slot = &s->verifiers[k % s->n_verifiers];
        pthread_mutex_lock(&slot->lock);
    }
    asps_err e = s->evidence
                     ? s->evidence(s->evidence_ctx, slot->v, der, len, now_s(), claims, eb)
                     : asps_fail(eb, ASPS_E_UNSUPPORTED, "no RA-TLS verifier installed");
    pthread_mutex_unlock(&slot->lock);
    return e;
}

static int64_t cert_not_after(const uint8_t *der, size_t len)
{
    X509 *x = asps_x509_decode(der, len, ASPS_X509_NO_KEY);
    struct tm tm;
    int64_t t = x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) ? (int64_t)timegm(&tm) : 0;
    X509_free(x);
    return t;
}

static cache_entry *cache_find(asps_service *s, const uint8_t key[32])
{
    size_t start = ((size_t)key[0] << 16 | (size_t)key[1] << 8 | key[2]) % s->cache_n;
    for (size_t i = 0; i < 8 && i < s->cache_n; i++) {
        cache_entry *e = &s->cache[(start + i) % s->cache_n];
        if (e->used && memcmp(e->key, key, 32) == 0)
            return e;
    }
    return NULL;
}

static void cache_put(asps_service *s, const uint8_t key[32], const asps_claims *c,
                      int64_t expires)
{
    size_t start = ((size_t)key[0] << 16 | (size_t)key[1] << 8 | key[2]) % s->cache_n;
    cache_entry *victim = NULL;
    for (size_t i = 0; i < 8 && i < s->cache_n; i++) {
        cache_entry *e = &s->cache[(start + i) % s->cache_n];
        if (!e->used || memcmp(e->key, key, 32) == 0) {
            victim = e;
            break;
        }
        if (!victim || e->stamp < victim->stamp)
            victim = e;
    }
    memcpy(victim->key, key, 32);
    victim->claims = *c;
    victim->expires = expires;
    victim->used = 1;
    victim->stamp = ++s->clock;
}

/* Claims for a certificate: from the cache while valid, else verified now. */
static asps_err claims_for(asps_service *s, const char *pem, asps_claims *out, int *hit,
                           asps_errbuf *eb)
{
    uint8_t *der;
    size_t len;
    *hit = 0;
    if (!pem)
        return asps_fail(eb, ASPS_E_NO_EVIDENCE, "no peer certificate");
    if (strnlen(pem, MAX_PEM + 1) > MAX_PEM)
        return asps_fail(eb, ASPS_E_LIMIT, "peer certificate larger than %d bytes (PEM)", MAX_PEM);
    /* the DER without decoding it (decoding the key is the costly part of
     * X.509 parsing in OpenSSL 3, and a cache hit needs only its hash) */
    if (!asps_pem_cert_der(pem, MAX_PEM, &der, &len))
        return asps_fail(eb, ASPS_E_PARSE, "peer certificate is not one PEM X.509 certificate");
    uint8_t key[32];
    asps_sha256(der, len, key);
    int64_t now = now_s();
    pthread_mutex_lock(&s->cache_lock);
    cache_entry *ce = cache_find(s, key);
    if (ce && ce->expires > now) {
        *out = ce->claims;
        ce->stamp = ++s->clock;
        *hit = 1;
    }
    pthread_mutex_unlock(&s->cache_lock);
    if (*hit) {
        OPENSSL_free(der);
        return ASPS_OK;
    }
    asps_err e = verify_cert(s, der, len, out, eb);
    int64_t not_after = e == ASPS_OK ? cert_not_after(der, len) : 0;
    OPENSSL_free(der);
    if (e != ASPS_OK)
        return e;
    int64_t exp = out->expires_at < not_after ? out->expires_at : not_after;
    pthread_mutex_lock(&s->cache_lock);
    cache_put(s, key, out, exp);
    pthread_mutex_unlock(&s->cache_lock);
    return ASPS_OK;
}

static void count(asps_service *s, uint64_t *field)
{
    pthread_mutex_lock(&s->stats_lock);
    (*field)++;
    pthread_mutex_unlock(&s->stats_lock);
}

/* How evidence that did not verify is refused: UNAVAILABLE (retry later)
 * when the trouble is the server's collateral, reason collateral_unavailable
 * (it could not be had; it does not verify or is out of date, which the
 * verifier marks with ASPS_COLLATERAL_ERR_PREFIX; or it does not fit the
 * platform the quote's valid PCK chain names: no fault of the peer's), or
 * the server itself (out of memory); UNAUTHENTICATED (fix the workload) with
 * the error's short name for everything about the evidence. */
static int refusal_of(asps_err e, const char *msg, const char **reason)
{
    *reason = asps_err_name(e);
    switch (e) {
    case ASPS_E_NOMEM:
    case ASPS_E_INTERNAL:
        return ASPS_STATUS_UNAVAILABLE;
    case ASPS_E_UNAVAILABLE:
    case ASPS_E_CRL_EXPIRED:
    case ASPS_E_TCB_INFO_EXPIRED:
    case ASPS_E_QE_IDENTITY_EXPIRED:
    case ASPS_E_CRL_SIGNATURE:
    case ASPS_E_CRL_ISSUER:
    case ASPS_E_TCB_INFO_SIGNATURE:
    case ASPS_E_QE_IDENTITY_SIGNATURE:
    case ASPS_E_TCB_INFO_MISMATCH:
        *reason = "collateral_unavailable";
        return ASPS_STATUS_UNAVAILABLE;
    default:
        if (strncmp(msg, ASPS_COLLATERAL_ERR_PREFIX, strlen(ASPS_COLLATERAL_ERR_PREFIX)) == 0) {
            *reason = "collateral_unavailable";
            return ASPS_STATUS_UNAVAILABLE;
        }
        return ASPS_STATUS_UNAUTHENTICATED;
    }
}

/* The client's words for a refusal: the short reason first, so scripts can
 * match it; collateral details (PCCS addresses) stay in the audit log. */
static void refusal_msg(int status, const char *reason, const char *detail, char *msg,
                        size_t msglen)
{
    if (status == ASPS_STATUS_UNAUTHENTICATED)
        snprintf(msg, msglen, "evidence refused: %s (%s)", reason, detail);
    else
        snprintf(msg, msglen, "evidence not checked: %s (retry later)", reason);
}

static const char *verdict_of(int status)
{
    return status == ASPS_STATUS_UNAVAILABLE ? "unavailable" : "unauthenticated";
}

int asps_service_verify_peer(asps_service *s, const char *cert_pem, char *err, size_t errlen)
{
    asps_claims c;
    asps_errbuf eb = {{0}};
    int hit;
    const char *reason = "no_certificate";
    int status = ASPS_STATUS_UNAUTHENTICATED;
    char line[800];
    if (cert_pem == NULL) {
        snprintf(err, errlen, "no client certificate: this server needs an RA-TLS client certificate");
        snprintf(line, sizeof line, "handshake: no client certificate");
    } else {
        asps_err e = claims_for(s, cert_pem, &c, &hit, &eb);
        if (e == ASPS_OK) {
            count(s, &s->stats.handshakes_ok);
            return 0;
        }
        status = refusal_of(e, eb.msg, &reason);
        refusal_msg(status, reason, eb.msg, err, errlen);
        snprintf(line, sizeof line, "handshake: %s: %s [%s]", reason, eb.msg, asps_err_name(e));
    }
    count(s, &s->stats.handshakes_refused);
    asps_tally_add(s->refusals, reason);
    /* A refused handshake is a decision too: log it. */
    asps_audit_event ev = {.claims = NULL, .verdict = verdict_of(status), .reason = line};
    asps_audit_decision(s->audit, &ev, NULL);
    return status;
}

void asps_service_refused_call(asps_service *s, const char *cert_pem, const char *peer,
                               const char *method, int status, const char *msg)
{
    (void)cert_pem; /* refused: it has no claims to log */
    char line[800];
    snprintf(line, sizeof line, "%s: %s", method ? method : "?", msg ? msg : "");
    asps_audit_event ev = {.peer = peer, .verdict = verdict_of(status), .reason = line};
    asps_audit_decision(s->audit, &ev, NULL);
    count(s, &s->stats.calls_refused);
}

void asps_service_handshake_failed(asps_service *s, const char *reason)
{
    char line[800];
    snprintf(line, sizeof line, "TLS handshake failed before any certificate check: %s",
             reason ? reason : "");
    asps_audit_event ev = {.verdict = "unauthenticated", .reason = line};
    asps_audit_decision(s->audit, &ev, NULL);
    count(s, &s->stats.handshakes_refused);
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
    if (last) {
        asps_policy_free(g->policy);
        asps_kms_free(g->kms);
        free(g);
    }
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

static asps_err load_generation(const asps_service_config *cfg, generation **out, asps_errbuf *eb)
{
    generation *g = calloc(1, sizeof *g);
    if (!g)
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    g->refs = 1;
    asps_err e;
    const char *fmt = cfg->policy_format ? cfg->policy_format : "native";
    if (!cfg->policy) {
        e = asps_fail(eb, ASPS_E_ARG, "config: no policy file");
    } else if (!strcmp(fmt, "native")) {
        e = asps_policy_load_file(cfg->policy, &g->policy, eb);
    } else if (!strcmp(fmt, "cczoo") || !strcmp(fmt, "occlum")) {
        asps_policy_seed_options o = {.occlum_secrets_path = cfg->occlum_secrets,
                                      .allow_simulated = cfg->seed_allow_simulated};
        e = asps_policy_load_seed(!strcmp(fmt, "cczoo") ? ASPS_POLICY_CCZOO : ASPS_POLICY_OCCLUM,
                                  cfg->policy, &o, &g->policy, eb);
    } else {
        e = asps_fail(eb, ASPS_E_ARG, "config.policy_format: \"%s\" is not native, cczoo or occlum",
                      fmt);
    }
    if (e == ASPS_OK) {
        asps_kms_config kc = {0};
        asps_policy_kms pk;
        asps_policy_kms_info(g->policy, &pk);
        if (cfg->has_kms) {
            kc.type = cfg->kms_type;
            kc.path = cfg->kms_path;
            kc.addr = cfg->kms_addr;
            kc.token = cfg->kms_token;
            kc.ca_file = cfg->kms_ca;
            kc.mount = cfg->kms_mount;
            kc.kv_version = cfg->kms_kv_version;
            kc.default_encoding = cfg->kms_encoding;
            kc.field = cfg->kms_field;
            kc.vault_namespace = cfg->kms_namespace;
            kc.token_file = cfg->kms_token_file;
            kc.role_id = cfg->kms_role_id;
            kc.secret_id = cfg->kms_secret_id;
            kc.secret_id_file = cfg->kms_secret_id_file;
            kc.approle_mount = cfg->kms_approle_mount;
            kc.no_connection_reuse = cfg->kms_no_connection_reuse;
        } else if (pk.type) {
            kc.type = pk.type;
            kc.path = pk.path;
            kc.addr = pk.addr;
            kc.default_encoding = pk.default_encoding;
        }
        if (!kc.type)
            e = asps_fail(eb, ASPS_E_ARG, "no KMS: give \"kms\" in the config or in the policy");
        else
            e = asps_kms_open(&kc, &g->kms, eb);
    }
    if (e != ASPS_OK) {
        asps_policy_free(g->policy);
        free(g);
        return e;
    }
    *out = g;
    return ASPS_OK;
}

asps_err asps_service_reload(asps_service *s, asps_errbuf *eb)
{
    generation *g;
    ASPS_TRY(load_generation(s->cfg, &g, eb));
    pthread_mutex_lock(&s->gen_lock);
    generation *old = s->gen;
    s->gen = g;
    pthread_mutex_unlock(&s->gen_lock);
    gen_release(s, old);
    return ASPS_OK;
}

/* ---- lifecycle ------------------------------------------------------------------- */


asps_err asps_service_new(const asps_service_config *cfg, asps_service **out, asps_errbuf *eb)
{
    *out = NULL;
    asps_service *s = calloc(1, sizeof *s);
    if (!s)
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    s->cfg = cfg;
    s->evidence = ratls_evidence;
    s->evidence_ctx = s;
    pthread_mutex_init(&s->cache_lock, NULL);
    pthread_mutex_init(&s->gen_lock, NULL);
    pthread_mutex_init(&s->stats_lock, NULL);
    asps_err e = ASPS_OK;
    s->cache_n = cfg->claims_cache ? cfg->claims_cache : 4096;
    s->cache = calloc(s->cache_n, sizeof *s->cache);
    if (!s->cache) {
        e = asps_fail(eb, ASPS_E_NOMEM, "out of memory");
        goto fail;
    }
    size_t want = cfg->threads ? cfg->threads : 2;
    if (want > MAX_VERIFIERS)
        want = MAX_VERIFIERS;
    /* n_verifiers counts slots set up so far, so a failure part-way frees
     * only what exists */
    for (size_t i = 0; i < want; i++) {
        pthread_mutex_init(&s->verifiers[i].lock, NULL);
        s->n_verifiers = i + 1;
        e = asps_verifier_new(&s->verifiers[i].v, eb);
        char path[4096];
        if (e == ASPS_OK && cfg->trust_sim) {
            snprintf(path, sizeof path, "%s/root_ca.der", cfg->trust_sim);
            e = asps_verifier_add_root_file(s->verifiers[i].v, path, eb);
        }
        for (size_t r = 0; e == ASPS_OK && r < cfg->n_trust_roots; r++)
            e = asps_verifier_add_root_file(s->verifiers[i].v, cfg->trust_roots[r], eb);
        if (e != ASPS_OK) {
            asps_err_prefix(eb, "trust: ");
            goto fail;
        }
    }
    if (cfg->collateral_bundle) {
        e = asps_collateral_load_file(cfg->collateral_bundle, &s->bundle, eb);
    } else if (cfg->collateral_sim) {
        char path[4096];
        snprintf(path, sizeof path, "%s/collateral_sgx.json", cfg->collateral_sim);
        e = asps_collateral_load_file(path, &s->sim_sgx, eb);
        snprintf(path, sizeof path, "%s/collateral_tdx.json", cfg->collateral_sim);
        if (e == ASPS_OK)
            e = asps_collateral_load_file(path, &s->sim_tdx, eb);
    } else if (cfg->pccs_url) {
        asps_pccs_opts po = {.ca_file = cfg->pccs_ca};
        e = asps_pccs_new(cfg->pccs_url, &po, &s->pccs, eb);
    } else {
        e = asps_fail(eb, ASPS_E_ARG, "config: no collateral source (bundle, sim or pccs)");
    }
    if (e != ASPS_OK) {
        asps_err_prefix(eb, "collateral: ");
        goto fail;
    }
    e = load_generation(cfg, &s->gen, eb);
    if (e != ASPS_OK)
        goto fail;
    e = asps_audit_open(cfg->audit ? cfg->audit : "-", &s->audit, eb);
    if (e != ASPS_OK)
        goto fail;
    s->refusals = asps_tally_new("refusals", REFUSAL_SUMMARY_MS, stderr);
    if (!s->refusals) {
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
    for (size_t i = 0; i < s->n_verifiers; i++) {
        asps_verifier_free(s->verifiers[i].v);
        pthread_mutex_destroy(&s->verifiers[i].lock);
    }
    asps_collateral_free(s->bundle);
    asps_collateral_free(s->sim_sgx);
    asps_collateral_free(s->sim_tdx);
    asps_pccs_free(s->pccs);
    if (s->cache)
        asps_cleanse_free(s->cache, s->cache_n * sizeof *s->cache);
    gen_release(s, s->gen);
    asps_tally_free(s->refusals);
    asps_audit_close(s->audit);
    pthread_mutex_destroy(&s->cache_lock);
    pthread_mutex_destroy(&s->gen_lock);
    pthread_mutex_destroy(&s->stats_lock);
    free(s);
}

void asps_service_set_evidence(asps_service *s, asps_service_evidence_fn fn, void *ctx)
{
    s->evidence = fn;
    s->evidence_ctx = ctx;
}

void asps_service_audit_refused(asps_service *s, const char *cert_pem, const char *peer,
                                const char *const *names, size_t n, const char *verdict,
                                const char *reason)
{
    asps_claims claims;
    int hit = 0;
    asps_errbuf eb;
    /* the claims are in the cache: the handshake verified this certificate */
    int have = cert_pem && claims_for(s, cert_pem, &claims, &hit, &eb) == ASPS_OK;
    asps_audit_event ev = {.peer = peer, .claims = have ? &claims : NULL, .names_asked = names,
                           .n_asked = n, .verdict = verdict, .reason = reason};
    asps_audit_decision(s->audit, &ev, NULL);
    count(s, &s->stats.denied);
}

void asps_service_get_stats(asps_service *s, asps_service_stats *out)
{
    pthread_mutex_lock(&s->stats_lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->stats_lock);
}

void asps_secret_list_clear(asps_secret_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].value)
            asps_cleanse_free(l->items[i].value, l->items[i].len);
        free(l->items[i].name);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* ---- one call ------------------------------------------------------------------------ */

int asps_service_get_secrets(asps_service *s, const char *cert_pem, const char *peer,
                             const char *const *names, size_t n_names, asps_secret_list *out,
                             char *msg, size_t msglen)
{
    out->items = NULL;
    out->n = 0;
    count(s, &s->stats.calls);
    asps_errbuf eb = {{0}};
    asps_audit_event ev = {.peer = peer, .names_asked = names, .n_asked = n_names};
    int status;
    if (n_names == 0) {
        snprintf(msg, msglen, "no secret names in the request");
        ev.verdict = "invalid";
        ev.reason = msg;
        asps_audit_decision(s->audit, &ev, NULL);
        return ASPS_STATUS_INVALID_ARGUMENT;
    }
    if (n_names > s->cfg->max_names) {
        snprintf(msg, msglen, "%zu names in one call; the limit is %zu", n_names, s->cfg->max_names);
        ev.verdict = "invalid";
        ev.reason = msg;
        asps_audit_decision(s->audit, &ev, NULL);
        return ASPS_STATUS_RESOURCE_EXHAUSTED;
    }
    for (size_t i = 0; i < n_names; i++)
        if (!names[i] || !names[i][0] || strlen(names[i]) > ASPS_POLICY_MAX_NAME) {
            snprintf(msg, msglen, "secret name %zu is empty or longer than %d bytes", i,
                     ASPS_POLICY_MAX_NAME);
            ev.verdict = "invalid";
            ev.reason = msg;
            asps_audit_decision(s->audit, &ev, NULL);
            return ASPS_STATUS_INVALID_ARGUMENT;
        }

    asps_claims claims;
    int hit;
    asps_err e = claims_for(s, cert_pem, &claims, &hit, &eb);
    if (hit)
        count(s, &s->stats.claims_cache_hits);
    if (e != ASPS_OK) {
        /* the handshake's check said yes (or its verdict is gone), but the
         * evidence does not verify now: refused the same way */
        const char *reason;
        int st = refusal_of(e, eb.msg, &reason);
        refusal_msg(st, reason, eb.msg, msg, msglen);
        char line[800];
        snprintf(line, sizeof line, "%s: %s [%s]", reason, eb.msg, asps_err_name(e));
        ev.verdict = verdict_of(st);
        ev.reason = line;
        asps_audit_decision(s->audit, &ev, NULL);
        count(s, st == ASPS_STATUS_UNAVAILABLE ? &s->stats.unavailable : &s->stats.denied);
        return st;
    }
    ev.claims = &claims;

    generation *g = gen_acquire(s);
    asps_decision d;
    memset(&d, 0, sizeof d);
    e = asps_policy_decide(g->policy, &claims, names, n_names, &d, &eb);
    if (e != ASPS_OK) {
        count(s, &s->stats.denied);
        /* unknown and denied names get the same words */
        snprintf(msg, msglen, "permission denied");
        ev.decision = &d;
        ev.verdict = "denied";
        ev.reason = e == ASPS_E_DENIED ? NULL : eb.msg;
        asps_audit_decision(s->audit, &ev, NULL);
        asps_decision_clear(&d);
        gen_release(s, g);
        return ASPS_STATUS_PERMISSION_DENIED;
    }

    out->items = calloc(n_names, sizeof *out->items);
    status = out->items ? ASPS_STATUS_OK : ASPS_STATUS_INTERNAL;
    /* one deadline for all of this call's fetches, before the call's own */
    long kms_ms = s->cfg->kms_deadline_ms > 0 ? s->cfg->kms_deadline_ms
                  : s->cfg->deadline_ms > 1  ? s->cfg->deadline_ms / 2
                                             : ASPS_KMS_DEFAULT_DEADLINE_MS;
    int64_t kms_deadline = asps_now_mono_ms() + kms_ms;
    const char *verdict = "granted";
    char reason[600] = "";
    for (size_t i = 0; status == ASPS_STATUS_OK && i < n_names; i++) {
        asps_secret *it = &out->items[i];
        it->name = strdup(names[i]);
        out->n = i + 1;
        if (!it->name) {
            status = ASPS_STATUS_INTERNAL;
            break;
        }
        e = asps_kms_get_until(g->kms, d.grants[i].kms_ref, d.kms_credential, kms_deadline,
                               &it->value, &it->len, &eb);
        if (e == ASPS_OK)
            continue;
        if (e == ASPS_E_NOT_FOUND || e == ASPS_E_DENIED) {
            /* the KMS has no such secret or refused the app's credential:
             * to the peer this is the same answer as a name not granted */
            status = ASPS_STATUS_PERMISSION_DENIED;
            snprintf(msg, msglen, "permission denied");
            verdict = "denied";
        } else {
            status = ASPS_STATUS_UNAVAILABLE;
            snprintf(msg, msglen, "secret store unavailable");
            verdict = "unavailable";
        }
        snprintf(reason, sizeof reason, "KMS: %s [%s]", eb.msg, asps_err_name(e));
    }
    if (status == ASPS_STATUS_INTERNAL && !reason[0]) {
        snprintf(msg, msglen, "internal error");
        snprintf(reason, sizeof reason, "out of memory");
        verdict = "error";
    }
    if (status != ASPS_STATUS_OK) {
        /* all or nothing: never a partial reply */
        asps_secret_list_clear(out);
        count(s, status == ASPS_STATUS_UNAVAILABLE ? &s->stats.unavailable : &s->stats.denied);
    } else {
        count(s, &s->stats.granted);
        msg[0] = 0;
    }
    ev.decision = &d;
    ev.verdict = verdict;
    ev.reason = reason[0] ? reason : NULL;
    if (status != ASPS_STATUS_OK)
        d.allowed = 0; /* nothing was released: the line must not list names as granted */
    asps_audit_decision(s->audit, &ev, NULL);
    asps_decision_clear(&d);
    gen_release(s, g);
    return status;
}
