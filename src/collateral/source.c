/* source.c: the one collateral source (source.h): bundle, simulated folder
 * or PCCS, picked per quote. Owns the bundles it read and the PCCS client. */
#include "source.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <dirent.h>
#include <errno.h>
#include <openssl/rand.h>

#include "asps/verify.h"
#include "cache.h"
#include "collateral_int.h"
#include "log.h"
#include "metrics.h"
#include "pccs.h"
#include "quote.h"
#include "util.h"

#define HELD_N 64
#define RETRY_S 30        /* after every URL failed for a platform: ask again no sooner */
#define REFRESH_MIN_S 60  /* between two background refreshes of one platform */

/* A platform not held (never served, or evicted): at most one fetch for it
 * at a time, the handshakes that ask meanwhile waiting for that fetch's
 * result, and none again within ASPS_COLLATERAL_UNHELD_WAIT_MS of a failed
 * one. A quote whose PCK chain is genuine and public (it passes the vet)
 * may name a platform no PCCS serves (an SGX PCK chain under a TDX header,
 * an FMSPC the PCCS answers 404 for): without this every such handshake
 * was a round of PCCS requests, at the client's rate. The window is short:
 * a PCCS that comes back (or learns the platform) serves the next call a
 * second later. The table is fixed (ASPS_COLLATERAL_UNHELD_N): a slot is
 * taken again once its fetch ended and its window passed (the oldest
 * first); while every slot is busy a new platform is not fetched for, so
 * the PCCS sees at most N request rounds per second for platforms not held
 * whatever clients send. */
typedef struct unheld {
    int used;
    int in_flight;     /* its one fetch is under way */
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    int64_t failed_ms; /* when its last fetch failed (the source's clock) */
    char why[256];     /* that fetch's error */
} unheld;

/* Collateral held for one platform: the last that a URL served (or that
 * the cache folder held and that verified). */
typedef struct held {
    int used;
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    int64_t next_update; /* earliest nextUpdate of its parts */
    int64_t refresh_at;  /* when the background refresh fetches it again */
    int64_t failed_at;   /* the last time every URL failed for it (0: not since) */
    asps_collateral *col;
} held;

struct asps_collateral_source {
    asps_collateral *bundle;
    asps_collateral *sim[2]; /* [0] SGX, [1] TDX */
    asps_pccs *pccs[ASPS_COLLATERAL_MAX_PCCS];
    size_t n_pccs;
    char *cache_dir;
    int64_t max_stale, refresh_before;
    asps_collateral_verify_fn verify;
    void *verify_ctx;
    asps_err (*vet)(void *ctx, const uint8_t *quote, size_t len, asps_errbuf *eb);
    void *vet_ctx;
    atomic_ulong fetches; /* fetch_any calls (asps_collateral_source__fetches) */
    pthread_mutex_t lock; /* held, stop */
    held held[HELD_N];
    unheld unheld[ASPS_COLLATERAL_UNHELD_N]; /* under lock */
    pthread_cond_t fetched; /* an unheld platform's fetch ended */
    int64_t (*now_ms)(void *ctx); /* unheld's clock (ms); NULL: CLOCK_MONOTONIC */
    void *now_ctx;
    pthread_cond_t wake;
    pthread_t refresher;
    int refresher_on, stop;
    /* the files' platforms and earliest nextUpdate (0: unreadable) */
    struct file_dates {
        asps_tee tee;
        uint8_t fmspc[6];
        int64_t next_update;
    } files[2];
    size_t n_files;
};

/* An FMSPC as Intel writes it in TCB info ("00906ED50000"). */
static void fmspc_hex(const uint8_t fmspc[6], char out[13]) { asps_hex_encode_upper(fmspc, 6, out); }

static asps_metric *m_next_update, *m_stale, *m_refresh, *m_failover;
static void metrics_init(void)
{
    m_next_update = asps_metrics_countdown(
        "asps_collateral_next_update_seconds",
        "Seconds until the earliest nextUpdate of the collateral held for a platform (TCB info, QE "
        "identity, PCK CRL, root CA CRL); negative once passed.",
        ASPS_LABELS("tee", "fmspc"));
    m_stale = asps_metrics_counter(
        "asps_collateral_stale_total",
        "Times collateral past its nextUpdate was handed to the verifier because every PCCS failed "
        "(within collateral.max_stale).",
        NULL);
    m_refresh = asps_metrics_counter(
        "asps_collateral_refresh_total",
        "Background collateral refreshes before nextUpdate, by result (ok, failed).",
        ASPS_LABELS("result"));
    m_failover = asps_metrics_counter(
        "asps_pccs_failover_total",
        "Collateral fetches that went on to the next PCCS URL after one failed.", NULL);
}
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

void asps_collateral_metric_next_update(asps_tee tee, const uint8_t fmspc[6], int64_t next_update)
{
    pthread_once(&metrics_once, metrics_init);
    char fm[13];
    fmspc_hex(fmspc, fm);
    const char *const *lv = ASPS_LABELS(tee == ASPS_TEE_TDX ? "tdx" : "sgx", fm);
    if (next_update)
        asps_metric_set(m_next_update, lv, (double)next_update);
    else
        asps_metric_remove(m_next_update, lv);
}

/* Note what a collateral file holds, for the gauge and readiness. */
static void note_file(asps_collateral_source *s, const asps_collateral *c)
{
    asps_errbuf ign;
    if (s->n_files == 2)
        return;
    struct file_dates *f = &s->files[s->n_files++];
    if (asps_collateral_expiry(c, &f->tee, f->fmspc, &f->next_update, &ign) != ASPS_OK) {
        f->next_update = 0;
        return;
    }
    asps_collateral_metric_next_update(f->tee, f->fmspc, f->next_update);
}

void asps_collateral_source_free(asps_collateral_source *s)
{
    if (!s)
        return;
    asps_collateral_free(s->bundle);
    asps_collateral_free(s->sim[0]);
    asps_collateral_free(s->sim[1]);
    if (s->refresher_on) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->refresher, NULL);
    }
    for (size_t i = 0; i < s->n_pccs; i++)
        asps_pccs_free(s->pccs[i]);
    for (int i = 0; i < HELD_N; i++)
        asps_collateral_free(s->held[i].col);
    free(s->cache_dir);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->fetched);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static asps_err load_sim(asps_collateral_source *s, const char *dir, asps_errbuf *eb)
{
    static const char *const names[2] = {"collateral_sgx.json", "collateral_tdx.json"};
    for (int i = 0; i < 2; i++) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path)
            return asps_fail(eb, ASPS_E_ARG, "simulated folder path too long");
        ASPS_TRY(asps_collateral_load_file(path, &s->sim[i], eb));
    }
    return ASPS_OK;
}

int asps_collateral_duration_parse(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    if (!strcmp(s, "0")) {
        *out = 0;
        return 0;
    }
    int64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > 365LL * 86400)
            return -1;
    }
    /* no leading zero ("01h"), but a zero with a unit ("0s") is zero */
    if (p == s || (s[0] == '0' && p != s + 1) || !p[0] || p[1])
        return -1;
    int64_t unit = p[0] == 's' ? 1 : p[0] == 'm' ? 60 : p[0] == 'h' ? 3600 : p[0] == 'd' ? 86400 : 0;
    if (!unit || v * unit > 365LL * 86400)
        return -1;
    *out = v * unit;
    return 0;
}

static const char *tee_name(asps_tee tee) { return tee == ASPS_TEE_TDX ? "tdx" : "sgx"; }

static int same_platform(const held *h, asps_tee tee, const uint8_t fmspc[6], const char *ca)
{
    return h->used && h->tee == tee && memcmp(h->fmspc, fmspc, 6) == 0 && !strcmp(h->ca, ca);
}

/* A jitter in [0, refresh_before / 10]: replicas that fetched the same
 * collateral at the same time do not all refresh it at the same second. */
static int64_t jitter(int64_t refresh_before)
{
    uint32_t r = 0;
    if (refresh_before < 10 || RAND_bytes((unsigned char *)&r, sizeof r) != 1)
        return 0;
    return (int64_t)(r % (uint32_t)(refresh_before / 10 + 1));
}

/* Hold C (taken) for the platform, replacing what was held; under lock. */
static void hold_locked(asps_collateral_source *s, asps_tee tee, const uint8_t fmspc[6],
                        const char *ca, asps_collateral *c, int64_t next_update, int64_t now,
                        int64_t min_delay)
{
    held *slot = NULL;
    for (int i = 0; i < HELD_N && !slot; i++)
        if (same_platform(&s->held[i], tee, fmspc, ca))
            slot = &s->held[i];
    for (int i = 0; i < HELD_N && !slot; i++)
        if (!s->held[i].used)
            slot = &s->held[i];
    if (!slot) { /* full: the one that expires first goes */
        slot = &s->held[0];
        for (int i = 1; i < HELD_N; i++)
            if (s->held[i].next_update < slot->next_update)
                slot = &s->held[i];
        asps_collateral_metric_next_update(slot->tee, slot->fmspc, 0);
    }
    asps_collateral_free(slot->col);
    slot->used = 1;
    slot->tee = tee;
    memcpy(slot->fmspc, fmspc, 6);
    snprintf(slot->ca, sizeof slot->ca, "%s", ca);
    slot->col = c;
    slot->next_update = next_update;
    slot->failed_at = 0;
    int64_t at = next_update - s->refresh_before - jitter(s->refresh_before);
    slot->refresh_at = at > now + min_delay ? at : now + min_delay;
    asps_collateral_metric_next_update(tee, fmspc, next_update);
    pthread_cond_signal(&s->wake);
}

/* The earliest nextUpdate of everything C holds: NU (the TCB info's, QE
 * identity's and both CRLs') unless the early TCB info or the evaluation
 * data numbers list expires sooner (asps_collateral_info_get; when it does
 * not read, NU). Held collateral is refetched from then on. */
static int64_t earliest_next_update(const asps_collateral *c, int64_t nu)
{
    asps_collateral_info in;
    asps_errbuf ign;
    if (asps_collateral_info_get(c, &in, &ign) == ASPS_OK && in.next_update &&
        (nu == 0 || in.next_update < nu))
        return in.next_update;
    return nu;
}

/* A verification's reference to a held set: no copy (the set is immutable;
 * hold_locked's replacement only drops the source's own reference). */
static asps_err share_collateral(asps_collateral *c, asps_collateral **out)
{
    *out = asps_collateral__ref(c);
    return ASPS_OK;
}

/* Fetch from each URL in turn until one serves the whole set. */
static asps_err fetch_any(asps_collateral_source *s, asps_tee tee, const uint8_t fmspc[6],
                          const char *ca, asps_collateral **out, int64_t *next_update,
                          asps_errbuf *eb)
{
    pthread_once(&metrics_once, metrics_init);
    asps_err e = ASPS_E_UNAVAILABLE;
    char first[512] = "";
    size_t tried = 0;
    for (size_t i = 0; i < s->n_pccs; i++) {
        if (i > 0) {
            asps_metric_inc(m_failover, NULL);
            asps_log(ASPS_LOG_WARN, "pccs", "%s failed (%s); trying %s", asps_pccs_url(s->pccs[i - 1]),
                     eb->msg, asps_pccs_url(s->pccs[i]));
        }
        e = asps_pccs_fetch(s->pccs[i], tee, fmspc, ca, out, next_update, eb);
        tried = i + 1;
        if (e == ASPS_OK || e == ASPS_E_NOMEM || e == ASPS_E_ARG)
            break;
        if (i == 0)
            snprintf(first, sizeof first, "%s", eb->msg);
    }
    if (e != ASPS_OK && s->n_pccs > 1 && e != ASPS_E_NOMEM) {
        char last[512];
        snprintf(last, sizeof last, "%s", eb->msg);
        asps_fail(eb, e, "every PCCS failed: %s; last: %s", first, last);
    }
    if (s->n_pccs > 1 && tried > 0)
        asps_pccs_report_set(s->pccs[tried - 1], e, eb);
    return e;
}

/* Verify collateral read from or going to the cache folder. */
static asps_err check(asps_collateral_source *s, const asps_collateral *c, asps_errbuf *eb)
{
    if (!s->verify)
        return asps_fail(eb, ASPS_E_ARG, "no verifier for the collateral cache");
    return s->verify(s->verify_ctx, c, eb);
}

/* Write fetched collateral to the cache folder once it verifies; a
 * failure is logged (the collateral is still used: every quote's
 * verification checks it). */
static void cache_store(asps_collateral_source *s, asps_tee tee, const uint8_t fmspc[6],
                        const char *ca, const asps_collateral *c)
{
    if (!s->cache_dir)
        return;
    asps_errbuf eb = {{0}};
    char name[64];
    asps_collateral_cache_name(tee, fmspc, ca, name, sizeof name);
    int written = 0;
    if (check(s, c, &eb) != ASPS_OK)
        asps_log(ASPS_LOG_WARN, "collateral", "%s not written to the cache: it does not verify: %s",
                 name, eb.msg);
    else if (asps_collateral_cache_write(s->cache_dir, tee, fmspc, ca, c, &written, &eb) != ASPS_OK)
        asps_log(ASPS_LOG_WARN, "collateral", "%s not written to the cache: %s", name, eb.msg);
    else if (written)
        asps_log(ASPS_LOG_INFO, "collateral", "cache: wrote %s/%s", s->cache_dir, name);
}

/* Read one platform's cache file and hold it when it verifies and is newer
 * than what is held. 1 when something was taken. */
static int cache_load(asps_collateral_source *s, asps_tee tee, const uint8_t fmspc[6], const char *ca,
                      int64_t now)
{
    asps_errbuf eb = {{0}};
    asps_collateral *c = NULL;
    char name[64];
    asps_collateral_cache_name(tee, fmspc, ca, name, sizeof name);
    asps_tee t2;
    uint8_t f2[6];
    int64_t nu = 0;
    asps_err e = asps_collateral_cache_read(s->cache_dir, tee, fmspc, ca, &c, &eb);
    if (e == ASPS_OK && !c)
        return 0;
    asps_collateral_info in;
    if (e == ASPS_OK && (e = check(s, c, &eb)) == ASPS_OK &&
        (e = asps_collateral_expiry(c, &t2, f2, &nu, &eb)) == ASPS_OK &&
        (t2 != tee || memcmp(f2, fmspc, 6) != 0))
        e = asps_fail(&eb, ASPS_E_TCB_INFO_MISMATCH, "its TCB info is for another platform");
    /* a file named for one PCK CA holding the other's CRL: held, it would
     * be fresh and never refetched, and refuse every quote of that CA */
    if (e == ASPS_OK && asps_collateral_info_get(c, &in, &eb) == ASPS_OK && in.pck_ca[0] &&
        strcmp(in.pck_ca, ca) != 0)
        e = asps_fail(&eb, ASPS_E_TCB_INFO_MISMATCH,
                      "its PCK CRL is the %s CA's, the file is named for the %s CA", in.pck_ca, ca);
    if (e != ASPS_OK) {
        asps_log(ASPS_LOG_WARN, "collateral", "cache: %s/%s ignored: %s", s->cache_dir, name, eb.msg);
        asps_collateral_free(c);
        return 0;
    }
    nu = earliest_next_update(c, nu);
    int taken = 0;
    pthread_mutex_lock(&s->lock);
    held *h = NULL;
    for (int i = 0; i < HELD_N && !h; i++)
        if (same_platform(&s->held[i], tee, fmspc, ca))
            h = &s->held[i];
    if (!h || h->next_update < nu) {
        hold_locked(s, tee, fmspc, ca, c, nu, now, 0); /* read back: refresh now if due */
        taken = 1;
        c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    asps_collateral_free(c);
    if (taken)
        asps_log(ASPS_LOG_INFO, "collateral", "cache: %s/%s verified and held", s->cache_dir, name);
    return taken;
}

/* Every cache file of the folder, at creation. */
static void cache_load_all(asps_collateral_source *s, int64_t now)
{
    DIR *d = opendir(s->cache_dir);
    if (!d) {
        if (errno != ENOENT)
            asps_log(ASPS_LOG_WARN, "collateral", "cache: cannot read %s: %s", s->cache_dir,
                     strerror(errno));
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        asps_tee tee;
        uint8_t fmspc[6];
        char ca[16];
        if (asps_collateral_cache_name_parse(de->d_name, &tee, fmspc, ca))
            cache_load(s, tee, fmspc, ca, now);
    }
    closedir(d);
}

/* The background refresh: each held platform REFRESH_BEFORE its nextUpdate. */
static void *refresher(void *arg)
{
    asps_collateral_source *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        int64_t now = (int64_t)time(NULL), soonest = now + 3600;
        held *due = NULL;
        for (int i = 0; i < HELD_N; i++) {
            held *h = &s->held[i];
            if (!h->used)
                continue;
            if (h->refresh_at <= now && !due)
                due = h;
            else if (h->refresh_at < soonest)
                soonest = h->refresh_at;
        }
        if (!due) {
            struct timespec ts = {.tv_sec = (time_t)soonest};
            pthread_cond_timedwait(&s->wake, &s->lock, &ts);
            continue;
        }
        asps_tee tee = due->tee;
        uint8_t fmspc[6];
        char ca[16];
        memcpy(fmspc, due->fmspc, 6);
        memcpy(ca, due->ca, sizeof ca);
        due->refresh_at = now + REFRESH_MIN_S; /* on failure: again after a while */
        pthread_mutex_unlock(&s->lock);
        asps_collateral *c = NULL;
        int64_t nu = 0;
        asps_errbuf eb = {{0}};
        char fm[13];
        fmspc_hex(fmspc, fm);
        asps_err e = fetch_any(s, tee, fmspc, ca, &c, &nu, &eb);
        asps_metric_inc(m_refresh, ASPS_LABELS(e == ASPS_OK ? "ok" : "failed"));
        if (e == ASPS_OK) {
            cache_store(s, tee, fmspc, ca, c);
            asps_log(ASPS_LOG_INFO, "collateral", "refreshed %s FMSPC %s (%s)", tee_name(tee), fm, ca);
        } else {
            asps_log(ASPS_LOG_WARN, "collateral", "refresh of %s FMSPC %s (%s) failed: %s",
                     tee_name(tee), fm, ca, eb.msg);
        }
        if (e == ASPS_OK)
            nu = earliest_next_update(c, nu);
        pthread_mutex_lock(&s->lock);
        if (e == ASPS_OK)
            hold_locked(s, tee, fmspc, ca, c, nu, (int64_t)time(NULL), REFRESH_MIN_S);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static asps_err setup_pccs(asps_collateral_source *s, const asps_collateral_source_opts *o,
                           asps_errbuf *eb)
{
    const char *one[1] = {o->pccs_url};
    const char *const *urls = o->n_pccs_urls ? o->pccs_urls : o->pccs_url ? one : NULL;
    size_t n = o->n_pccs_urls ? o->n_pccs_urls : o->pccs_url ? 1 : 0;
    if (n > ASPS_COLLATERAL_MAX_PCCS)
        return asps_fail(eb, ASPS_E_LIMIT, "at most %d PCCS URLs", ASPS_COLLATERAL_MAX_PCCS);
    asps_pccs_opts po = {.ca_file = o->pccs_ca};
    for (size_t i = 0; i < n; i++) {
        ASPS_TRY(asps_pccs_new(urls[i], &po, &s->pccs[i], eb));
        s->n_pccs = i + 1;
        if (n > 1) /* the set reports up/down (fetch_any), not each URL */
            asps_pccs_set_in_set(s->pccs[i]);
    }
    if (o->cache_dir) {
        if (!o->verify)
            return asps_fail(eb, ASPS_E_ARG, "a cache folder needs a verifier");
        /* a file in the folder's place: a config error now, not a cache
         * that silently never reads nor writes (a missing folder is made
         * at the first write) */
        struct stat st;
        if (stat(o->cache_dir, &st) == 0 && !S_ISDIR(st.st_mode))
            return asps_fail(eb, ASPS_E_ARG, "cache_dir %s is not a folder", o->cache_dir);
        /* a symbolic link to nothing: mkdir() cannot make it (EEXIST) and
         * every write would fail */
        if (stat(o->cache_dir, &st) != 0 && lstat(o->cache_dir, &st) == 0 && S_ISLNK(st.st_mode))
            return asps_fail(eb, ASPS_E_ARG, "cache_dir %s is a symbolic link to a missing folder",
                             o->cache_dir);
        if (!(s->cache_dir = strdup(o->cache_dir)))
            return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
        cache_load_all(s, (int64_t)time(NULL));
    }
    if (s->n_pccs && o->refresh_before > 0) {
        if (pthread_create(&s->refresher, NULL, refresher, s) != 0)
            return asps_fail(eb, ASPS_E_INTERNAL, "cannot start the collateral refresh thread");
        s->refresher_on = 1;
    }
    return ASPS_OK;
}

asps_err asps_collateral_source_new(const asps_collateral_source_opts *o,
                                    asps_collateral_source **out, asps_errbuf *eb)
{
    *out = NULL;
    asps_collateral_source *s = calloc(1, sizeof *s);
    if (!s)
        return asps_fail(eb, ASPS_E_NOMEM, "collateral: out of memory");
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->fetched, NULL);
    s->max_stale = o->max_stale;
    s->refresh_before = o->refresh_before;
    s->verify = o->verify;
    s->verify_ctx = o->verify_ctx;
    s->vet = o->vet;
    s->vet_ctx = o->vet_ctx;
    atomic_init(&s->fetches, 0);
    /* only the kind that serves is read: the others would never be asked */
    asps_err e = ASPS_OK;
    if (o->bundle) {
        e = asps_collateral_load_file(o->bundle, &s->bundle, eb);
        if (e == ASPS_OK)
            note_file(s, s->bundle);
    } else if (o->sim_dir) {
        e = load_sim(s, o->sim_dir, eb);
        for (int i = 0; i < 2 && e == ASPS_OK; i++)
            note_file(s, s->sim[i]);
    } else if (o->pccs_url || o->n_pccs_urls || o->cache_dir) {
        e = setup_pccs(s, o, eb);
    }
    if (e != ASPS_OK) {
        asps_err_prefix(eb, "collateral: ");
        asps_collateral_source_free(s);
        return e;
    }
    *out = s;
    return ASPS_OK;
}

int asps_collateral_source_ready(asps_collateral_source *s, int64_t now, char *why, size_t n)
{
    for (size_t i = 0; i < s->n_files; i++) {
        char fm[13];
        fmspc_hex(s->files[i].fmspc, fm);
        if (s->files[i].next_update == 0) {
            snprintf(why, n, "collateral: a date in the collateral file does not read");
            return 0;
        }
        if (s->files[i].next_update <= now) {
            snprintf(why, n, "collateral expired: %s FMSPC %s, nextUpdate %lld s ago",
                     s->files[i].tee == ASPS_TEE_TDX ? "tdx" : "sgx", fm,
                     (long long)(now - s->files[i].next_update));
            return 0;
        }
    }
    if (!s->n_pccs && !s->cache_dir)
        return 1;
    /* a PCCS is up when its last fetch got an answer (pccs.c: a 4xx for a
     * platform it does not know is an answer: a peer's made-up FMSPC must
     * not make the server unready) */
    int ready = 0;
    for (size_t i = 0; i < s->n_pccs && !ready; i++)
        ready = asps_pccs_ready(s->pccs[i]);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < HELD_N && !ready; i++) {
        const held *h = &s->held[i];
        if (h->used && now < h->next_update)
            ready = 1;
        else if (h->used && now <= h->next_update + s->max_stale)
            ready = 1; /* the verifier still accepts it (marked stale) */
    }
    pthread_mutex_unlock(&s->lock);
    if (!ready && s->n_pccs)
        snprintf(why, n, "collateral: %s last fetch failed and no cached collateral is fresh%s",
                 s->n_pccs == 1 ? "the PCCS's" : "every PCCS's", s->max_stale ? " or within max_stale" : "");
    else if (!ready)
        snprintf(why, n, "collateral: the cache folder holds no collateral fresh%s",
                 s->max_stale ? " or within max_stale" : "");
    return ready;
}

int asps_collateral_source_empty(const asps_collateral_source *s)
{
    return !s->bundle && !s->sim[0] && !s->n_pccs && !s->cache_dir;
}

/* The clock of the unheld table: monotonic (a wall clock set back must not
 * stop fetches), milliseconds. */
static int64_t unheld_now(asps_collateral_source *s)
{
    return s->now_ms ? s->now_ms(s->now_ctx) : asps_now_mono_ms();
}

/* Whether slot U still says something: its fetch is under way, or failed
 * within the window. */
static int unheld_busy(const unheld *u, int64_t now)
{
    return u->used && (u->in_flight || (now >= u->failed_ms &&
                                        now < u->failed_ms + ASPS_COLLATERAL_UNHELD_WAIT_MS));
}

/* Under lock: may the caller fetch for a platform not held? 1: yes, and
 * *slot is its fetch's (in flight, ended by unheld_end_locked); -1: a fetch
 * for it is under way (wait for s->fetched, then look again); 0: no, EB
 * says why (its last fetch failed within the window, or every slot is
 * busy). */
static int unheld_turn_locked(asps_collateral_source *s, asps_tee tee, const uint8_t fmspc[6],
                              const char *ca, unheld **slot, asps_errbuf *eb)
{
    int64_t now = unheld_now(s);
    const char *who = s->n_pccs == 1 ? "the PCCS" : "every PCCS";
    char fm[13];
    fmspc_hex(fmspc, fm);
    unheld *u = NULL, *free_u = NULL;
    for (int i = 0; i < ASPS_COLLATERAL_UNHELD_N; i++) {
        unheld *x = &s->unheld[i];
        if (x->used && x->tee == tee && !memcmp(x->fmspc, fmspc, 6) && !strcmp(x->ca, ca))
            u = x;
        else if (!unheld_busy(x, now) && (!free_u || (free_u->used && (!x->used ||
                                                      x->failed_ms < free_u->failed_ms))))
            free_u = x; /* a free slot, else the one whose fetch failed longest ago */
    }
    if (u && u->in_flight)
        return -1;
    if (u && unheld_busy(u, now)) {
        asps_fail(eb, ASPS_E_UNAVAILABLE, "%s was asked for %s FMSPC %s (%s CA) less than %d s "
                  "ago and is not asked again yet: %s", who, tee_name(tee), fm, ca,
                  ASPS_COLLATERAL_UNHELD_WAIT_MS / 1000, u->why);
        return 0;
    }
    if (!u && !free_u) {
        asps_fail(eb, ASPS_E_UNAVAILABLE, "%s is being asked, or was less than %d s ago, for %d "
                  "other platforms not held; not asked for %s FMSPC %s (%s CA) yet", who,
                  ASPS_COLLATERAL_UNHELD_WAIT_MS / 1000, ASPS_COLLATERAL_UNHELD_N, tee_name(tee),
                  fm, ca);
        return 0;
    }
    if (!u) {
        u = free_u;
        memset(u, 0, sizeof *u);
        u->used = 1;
        u->tee = tee;
        memcpy(u->fmspc, fmspc, 6);
        snprintf(u->ca, sizeof u->ca, "%s", ca);
    }
    u->in_flight = 1;
    *slot = u;
    return 1;
}

/* Under lock: the fetch of slot U ended with E (EB): served, the platform
 * is held and the slot free; failed, the window starts now. Wakes the
 * handshakes that waited for it. */
static void unheld_end_locked(asps_collateral_source *s, unheld *u, asps_err e, const asps_errbuf *eb)
{
    if (!u)
        return;
    u->in_flight = 0;
    if (e == ASPS_OK) {
        u->used = 0;
    } else {
        u->failed_ms = unheld_now(s);
        size_t n = strnlen(eb->msg, sizeof u->why - 1); /* cut: a message of every URL's */
        memcpy(u->why, eb->msg, n);
        u->why[n] = 0;
    }
    pthread_cond_broadcast(&s->fetched);
}

void asps_collateral_source__set_clock(asps_collateral_source *s, int64_t (*now_ms)(void *ctx),
                                       void *ctx)
{
    pthread_mutex_lock(&s->lock);
    s->now_ms = now_ms;
    s->now_ctx = ctx;
    pthread_mutex_unlock(&s->lock);
}

size_t asps_collateral_source__unheld(asps_collateral_source *s)
{
    size_t n = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < ASPS_COLLATERAL_UNHELD_N; i++)
        n += s->unheld[i].used;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* The PCCS path: what is held when fresh; else a fetch (failover; for a
 * platform not held, unheld's turn); else the cache folder; else what is
 * held within max_stale past its nextUpdate. */
static asps_err get_pccs(asps_collateral_source *s, asps_tee tee, const uint8_t fmspc[6],
                         const char *ca, int64_t now, asps_collateral **out, asps_errbuf *eb)
{
    *out = NULL;
    if (strcmp(ca, "processor") && strcmp(ca, "platform"))
        return asps_fail(eb, ASPS_E_ARG, "pccs: ca must be processor or platform");
    int fetch = 1, is_held = 0, turn = 1;
    unheld *u = NULL;
    pthread_mutex_lock(&s->lock);
look: /* again once another handshake's fetch for the platform ended */
    for (int i = 0; i < HELD_N; i++) {
        held *h = &s->held[i];
        if (!same_platform(h, tee, fmspc, ca))
            continue;
        if (now < h->next_update) {
            asps_err e = share_collateral(h->col, out);
            pthread_mutex_unlock(&s->lock);
            return e;
        }
        /* past nextUpdate and every URL failed a moment ago: do not make
         * every request wait for the same failures */
        fetch = !h->failed_at || now >= h->failed_at + RETRY_S || now < h->failed_at;
        is_held = 1;
    }
    if (!is_held && s->n_pccs && (turn = unheld_turn_locked(s, tee, fmspc, ca, &u, eb)) < 0) {
        pthread_cond_wait(&s->fetched, &s->lock); /* its result is this call's too */
        goto look;
    }
    pthread_mutex_unlock(&s->lock);
    asps_err e = ASPS_E_UNAVAILABLE;
    if (!turn) { /* eb says why */
        fetch = 0;
    } else if (fetch && s->n_pccs) {
        asps_collateral *c;
        int64_t nu = 0;
        atomic_fetch_add(&s->fetches, 1);
        e = fetch_any(s, tee, fmspc, ca, &c, &nu, eb);
        if (e == ASPS_OK) {
            e = share_collateral(c, out);
            cache_store(s, tee, fmspc, ca, c);
            nu = earliest_next_update(c, nu);
            pthread_mutex_lock(&s->lock);
            hold_locked(s, tee, fmspc, ca, c, nu, now, REFRESH_MIN_S);
            unheld_end_locked(s, u, ASPS_OK, eb);
            pthread_mutex_unlock(&s->lock);
            return e;
        }
        pthread_mutex_lock(&s->lock);
        unheld_end_locked(s, u, e, eb);
        pthread_mutex_unlock(&s->lock);
        if (e == ASPS_E_NOMEM || e == ASPS_E_ARG)
            return e;
    } else if (!s->n_pccs) {
        char fm[13];
        fmspc_hex(fmspc, fm);
        asps_fail(eb, ASPS_E_UNAVAILABLE, "no PCCS configured, and the cache folder holds nothing "
                  "usable for %s FMSPC %s (%s CA)", tee_name(tee), fm, ca);
    } else {
        asps_fail(eb, ASPS_E_UNAVAILABLE, "%s failed less than %d s ago",
                  s->n_pccs == 1 ? "the PCCS" : "every PCCS", RETRY_S);
    }
    /* every URL failed: perhaps the cache folder holds newer (a replica
     * sharing it refreshed), else what is held may still serve */
    if (s->cache_dir && fetch)
        cache_load(s, tee, fmspc, ca, now);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < HELD_N; i++) {
        held *h = &s->held[i];
        if (!same_platform(h, tee, fmspc, ca))
            continue;
        if (fetch)
            h->failed_at = now;
        if (now < h->next_update || now <= h->next_update + s->max_stale) {
            int stale = now >= h->next_update;
            long long age = (long long)(now - h->next_update);
            asps_err ce = share_collateral(h->col, out);
            pthread_mutex_unlock(&s->lock);
            if (ce == ASPS_OK && stale) {
                pthread_once(&metrics_once, metrics_init);
                asps_metric_inc(m_stale, NULL);
            }
            if (ce == ASPS_OK && stale && fetch) { /* logged at most once per RETRY_S */
                char fm[13];
                fmspc_hex(fmspc, fm);
                asps_log(ASPS_LOG_WARN, "collateral",
                         "every source failed: %s FMSPC %s verified with collateral %lld s past "
                         "its nextUpdate (max_stale %lld s)",
                         tee_name(tee), fm, age, (long long)s->max_stale);
            }
            return ce;
        }
        char msg[sizeof eb->msg];
        snprintf(msg, sizeof msg, "%s", eb->msg);
        asps_fail(eb, ASPS_E_UNAVAILABLE, "%s; the collateral held went past its nextUpdate %lld s ago "
                  "(max_stale %lld s)", msg, (long long)(now - h->next_update), (long long)s->max_stale);
        break;
    }
    pthread_mutex_unlock(&s->lock);
    return e == ASPS_OK ? ASPS_E_UNAVAILABLE : e;
}

asps_err asps_collateral_source_get(void *ctx, const uint8_t *quote, size_t len,
                                    const asps_collateral **col, int *owned, asps_errbuf *eb)
{
    asps_collateral_source *s = ctx;
    *col = NULL;
    *owned = 0;
    if (s->bundle) {
        *col = s->bundle;
        return ASPS_OK;
    }
    if (s->sim[0]) {
        /* one bundle per TEE: the quote header says which (no PCK
         * certificate needs decoding for that) */
        asps_quote q;
        ASPS_TRY(asps_quote_parse(quote, len, &q, eb));
        *col = s->sim[q.tee_type == ASPS_TEE_TDX];
        return ASPS_OK;
    }
    if (!s->n_pccs && !s->cache_dir)
        return asps_fail(eb, ASPS_E_UNAVAILABLE,
                         ASPS_COLLATERAL_ERR_PREFIX "no collateral source configured");
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    ASPS_TRY(asps_quote_platform(quote, len, &tee, fmspc, ca, eb));
    if (s->vet) { /* a platform held was vetted when it was first looked for */
        int held_now = 0;
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < HELD_N && !held_now; i++)
            held_now = same_platform(&s->held[i], tee, fmspc, ca);
        pthread_mutex_unlock(&s->lock);
        if (!held_now)
            ASPS_TRY(s->vet(s->vet_ctx, quote, len, eb));
    }
    asps_collateral *c;
    asps_err e = get_pccs(s, tee, fmspc, ca, (int64_t)time(NULL), &c, eb);
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

asps_err asps_collateral_source_get_now(void *ctx, const uint8_t *quote, size_t len,
                                        const asps_collateral **col, int *owned,
                                        asps_errbuf *eb)
{
    asps_collateral_source *s = ctx;
    *col = NULL;
    *owned = 0;
    if (s->bundle || s->sim[0] || (!s->n_pccs && !s->cache_dir))
        return asps_collateral_source_get(ctx, quote, len, col, owned, eb); /* read at creation */
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    ASPS_TRY(asps_quote_platform(quote, len, &tee, fmspc, ca, eb));
    int64_t now = (int64_t)time(NULL);
    asps_collateral *c = NULL;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < HELD_N && !c; i++) {
        held *h = &s->held[i];
        /* held: vetted when it was first looked for (asps_collateral_source_get) */
        if (same_platform(h, tee, fmspc, ca) && now < h->next_update)
            share_collateral(h->col, &c);
    }
    pthread_mutex_unlock(&s->lock);
    if (!c) /* not held, or past nextUpdate: a fetch, or the cache folder */
        return asps_fail(eb, ASPS_E_WOULD_BLOCK,
                         ASPS_COLLATERAL_ERR_PREFIX "platform's collateral not held fresh");
    *col = c;
    *owned = 1;
    return ASPS_OK;
}

unsigned long asps_collateral_source__fetches(asps_collateral_source *s)
{
    return s ? atomic_load(&s->fetches) : 0;
}
