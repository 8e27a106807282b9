/* kms.c: the backend-independent part of the KMS interface: the handle, the
 * dispatch with its deadline, and backend selection from configuration.
 * Backends live in kms_<name>.c and are reached only through asps_kms_ops.
 *
 * Why fetch threads. A backend can block where no timeout reaches it:
 * open() or read() on a hung network file system (or, before files were
 * opened without blocking, a FIFO put in place of the KMS file), a DNS
 * lookup. Run on the caller's thread (a server worker), two such fetches
 * took both workers for good and every later call timed out. So a fetch
 * runs on a fetch thread and its caller waits on a condition variable
 * until the deadline, no longer: a stuck fetch costs one fetch thread, not
 * a worker. The caller then owns nothing of the fetch; the job's last user
 * (the caller that got the result, or the fetch thread that finds its job
 * abandoned) frees it, and an abandoned result is cleansed. The job holds
 * a reference to the handle, so a reload that frees the handle cannot pull
 * the backend away from a stuck fetch.
 *
 * The pool: fetch threads are started on demand and kept (up to
 * IDLE_MAX idle) so that a fetch costs a hand-off, not a thread start
 * (about 14 us against 78 us measured here); at most ASPS_KMS_MAX_FETCHES
 * exist at once, stuck ones included, so a backend that hangs every fetch
 * cannot use up the process's threads: beyond that, fetches fail at once
 * with UNAVAILABLE until stuck ones return. One mutex guards the pool and
 * every job's state; it is never held while a backend runs. */
#include "kms.h"
#include "kms_backend.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "depstate.h"
#include "util.h"

#define IDLE_MAX 8

struct asps_kms {
    const asps_kms_ops *ops;
    void *impl;
    unsigned refs; /* the owner's, plus one per fetch (atomic) */
};

typedef struct fetch_job {
    asps_kms *k; /* a reference */
    char *ref, *credential;
    int64_t deadline;
    uint8_t *value;
    size_t len;
    asps_err e;
    asps_errbuf eb;
    int done, abandoned;
    pthread_cond_t cv; /* done (the caller waits under pool.mu) */
} fetch_job;

typedef struct fetcher {
    pthread_cond_t cv; /* a job was handed over */
    fetch_job *job;
    struct fetcher *next; /* idle list */
} fetcher;

static struct {
    pthread_mutex_t mu;
    fetcher *idle;
    unsigned n_idle, n_threads, n_stuck;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static unsigned long handed_off; /* fetches run on a fetch thread (atomic) */

unsigned long asps_kms__fetches_handed_off(void)
{
    return __atomic_load_n(&handed_off, __ATOMIC_RELAXED);
}

asps_err asps_kms_new(const asps_kms_ops *ops, void *impl, asps_kms **out, asps_errbuf *eb)
{
    if (!ops || !ops->get || !out)
        return asps_fail(eb, ASPS_E_ARG, "kms: invalid backend");
    asps_kms *k = calloc(1, sizeof *k);
    if (!k) {
        if (ops->free)
            ops->free(impl);
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    }
    k->ops = ops;
    k->impl = impl;
    k->refs = 1;
    *out = k;
    return ASPS_OK;
}

asps_err asps_kms_open_file(const char *path, asps_kms_encoding plain, asps_kms **out,
                            asps_errbuf *eb)
{
    const asps_kms_ops *ops;
    void *impl;
    *out = NULL;
    asps_err e = asps_kms_file_backend(path, plain, &ops, &impl, eb);
    return e != ASPS_OK ? e : asps_kms_new(ops, impl, out, eb);
}

asps_err asps_kms_open_vault(const asps_kms_config *cfg, asps_kms **out, asps_errbuf *eb)
{
    const asps_kms_ops *ops;
    void *impl;
    *out = NULL;
    asps_err e = asps_kms_vault_backend(cfg, &ops, &impl, eb);
    return e != ASPS_OK ? e : asps_kms_new(ops, impl, out, eb);
}

asps_err asps_kms_open(const asps_kms_config *cfg, asps_kms **out, asps_errbuf *eb)
{
    if (!cfg || !cfg->type || !out)
        return asps_fail(eb, ASPS_E_ARG, "kms: no backend type given");
    if (strcmp(cfg->type, "file") == 0) {
        if (!cfg->path || !*cfg->path)
            return asps_fail(eb, ASPS_E_ARG, "kms: file backend needs a path");
        asps_kms_encoding enc = ASPS_KMS_PLAIN_TEXT;
        if (cfg->default_encoding && strcmp(cfg->default_encoding, "base64") == 0)
            enc = ASPS_KMS_PLAIN_BASE64;
        else if (cfg->default_encoding && strcmp(cfg->default_encoding, "text") != 0)
            return asps_fail(eb, ASPS_E_ARG, "kms: default_encoding must be \"text\" or \"base64\"");
        return asps_kms_open_file(cfg->path, enc, out, eb);
    }
    if (strcmp(cfg->type, "vault") == 0)
        return asps_kms_open_vault(cfg, out, eb);
    if (strcmp(cfg->type, "ehsm") == 0)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "kms: the ehsm backend is not supported");
    return asps_fail(eb, ASPS_E_UNSUPPORTED, "kms: unknown backend type \"%s\"", cfg->type);
}

static void kms_unref(asps_kms *k)
{
    if (__atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (k->ops->free)
        k->ops->free(k->impl);
    free(k);
}

static void job_free(fetch_job *j)
{
    if (!j)
        return;
    asps_kms_value_free(j->value, j->len);
    free(j->ref);
    if (j->credential) {
        asps_cleanse_free_str(j->credential);
    }
    if (j->k)
        kms_unref(j->k);
    pthread_cond_destroy(&j->cv);
    free(j);
}

static void *fetcher_main(void *arg)
{
    fetcher *f = arg;
    /* signals belong to the threads that wait for them (asps serve's main);
     * faults stay deliverable, to this thread */
    sigset_t all;
    sigfillset(&all);
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(&all, faults[i]);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (!f->job)
            pthread_cond_wait(&f->cv, &pool.mu);
        fetch_job *j = f->job;
        f->job = NULL;
        pthread_mutex_unlock(&pool.mu);

        asps_err e = j->k->ops->get(j->k->impl, j->ref, j->credential, j->deadline, &j->value,
                                    &j->len, &j->eb);
        if (e != ASPS_OK && j->value) {
            /* a backend that failed must not hand out half a value */
            asps_kms_value_free(j->value, j->len);
            j->value = NULL;
            j->len = 0;
        }

        pthread_mutex_lock(&pool.mu);
        j->e = e;
        j->done = 1;
        fetch_job *drop = NULL;
        if (j->abandoned) {
            pool.n_stuck--;
            drop = j; /* its caller is gone: ours to free */
        } else {
            pthread_cond_signal(&j->cv);
        }
        int keep = pool.n_idle < IDLE_MAX;
        if (keep) {
            f->next = pool.idle;
            pool.idle = f;
            pool.n_idle++;
        } else {
            pool.n_threads--;
        }
        if (drop || !keep) {
            pthread_mutex_unlock(&pool.mu);
            job_free(drop); /* may free a backend: not under the lock */
            if (!keep) {
                pthread_cond_destroy(&f->cv);
                free(f);
                return NULL;
            }
            pthread_mutex_lock(&pool.mu);
        }
    }
}

/* Hand J to an idle fetch thread or a new one; under pool.mu. */
static asps_err dispatch(fetch_job *j, asps_errbuf *eb)
{
    if (pool.idle) {
        fetcher *f = pool.idle;
        pool.idle = f->next;
        pool.n_idle--;
        f->job = j;
        pthread_cond_signal(&f->cv);
        return ASPS_OK;
    }
    if (pool.n_threads >= ASPS_KMS_MAX_FETCHES)
        return asps_fail(eb, ASPS_E_UNAVAILABLE,
                         "kms: %u fetches are running or stuck in the KMS backend (%u stuck): "
                         "none more is started",
                         pool.n_threads, pool.n_stuck);
    fetcher *f = calloc(1, sizeof *f);
    if (!f)
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    pthread_cond_init(&f->cv, NULL);
    f->job = j;
    pthread_attr_t at;
    pthread_t th;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &at, fetcher_main, f);
    pthread_attr_destroy(&at);
    if (rc != 0) {
        pthread_cond_destroy(&f->cv);
        free(f);
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: cannot start a fetch thread: %s", strerror(rc));
    }
    pool.n_threads++;
    return ASPS_OK;
}

/* What a fetch's result says about the backend (depstate.h): down when it
 * could not answer (ASPS_E_UNAVAILABLE: down, unreadable, malformed, late,
 * the fetch threads used up); up when it answered, "no such entry" and
 * "not allowed" included; anything else (out of memory, a bad argument)
 * says nothing about it. */
static void report_state(const asps_kms *k, asps_err e, const asps_errbuf *eb)
{
    if (e == ASPS_OK || e == ASPS_E_NOT_FOUND || e == ASPS_E_DENIED)
        asps_dep_ok(ASPS_DEP_KMS, asps_kms_backend_name(k));
    else if (e == ASPS_E_UNAVAILABLE)
        asps_dep_down(ASPS_DEP_KMS, asps_kms_backend_name(k), eb ? eb->msg : "");
}

static void to_timespec(int64_t mono_ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(mono_ms / 1000);
    ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

asps_err asps_kms_get_until(asps_kms *k, const char *ref, const char *credential,
                            int64_t deadline_ms, uint8_t **value, size_t *len, asps_errbuf *eb)
{
    if (!k || !ref || !value || !len)
        return asps_fail(eb, ASPS_E_ARG, "kms: invalid arguments");
    *value = NULL;
    *len = 0;
    int64_t start = asps_now_mono_ms();
    if (deadline_ms <= start)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: %s: the deadline passed before the fetch", ref);
    asps_err now;
    if (k->ops->get_now && k->ops->get_now(k->impl, ref, credential, value, len, &now, eb)) {
        if (now != ASPS_OK && *value) { /* as a fetch thread's result: no half value */
            asps_kms_value_free(*value, *len);
            *value = NULL;
            *len = 0;
        }
        report_state(k, now, eb);
        return now;
    }
    __atomic_add_fetch(&handed_off, 1, __ATOMIC_RELAXED);
    fetch_job *j = calloc(1, sizeof *j);
    if (!j)
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->ref = strdup(ref);
    j->credential = credential ? strdup(credential) : NULL;
    j->deadline = deadline_ms;
    if (!j->ref || (credential && !j->credential)) {
        job_free(j);
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    }
    __atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
    j->k = k;

    pthread_mutex_lock(&pool.mu);
    asps_err e = dispatch(j, eb);
    if (e != ASPS_OK) {
        pthread_mutex_unlock(&pool.mu);
        job_free(j);
        report_state(k, e, eb);
        return e;
    }
    struct timespec ts;
    to_timespec(deadline_ms, &ts);
    while (!j->done) {
        if (pthread_cond_timedwait(&j->cv, &pool.mu, &ts) == ETIMEDOUT && !j->done) {
            /* give up: the fetch thread frees the job when it returns */
            j->abandoned = 1;
            pool.n_stuck++;
            pthread_mutex_unlock(&pool.mu);
            asps_errbuf late = {{0}};
            asps_fail(&late, ASPS_E_UNAVAILABLE,
                      "kms: %s: no answer from the %s backend within %lld ms (fetch abandoned)", ref,
                      asps_kms_backend_name(k), (long long)(deadline_ms - start));
            report_state(k, ASPS_E_UNAVAILABLE, &late);
            if (eb)
                *eb = late;
            return ASPS_E_UNAVAILABLE;
        }
    }
    pthread_mutex_unlock(&pool.mu);
    e = j->e;
    if (e == ASPS_OK) {
        *value = j->value;
        *len = j->len;
        j->value = NULL;
        j->len = 0;
    } else if (eb) {
        *eb = j->eb;
    }
    report_state(k, e, &j->eb);
    OPENSSL_cleanse(&j->eb, sizeof j->eb);
    job_free(j);
    return e;
}

asps_err asps_kms_get(asps_kms *k, const char *ref, const char *credential, uint8_t **value,
                      size_t *len, asps_errbuf *eb)
{
    return asps_kms_get_until(k, ref, credential, asps_now_mono_ms() + ASPS_KMS_DEFAULT_DEADLINE_MS,
                              value, len, eb);
}

unsigned asps_kms_fetches_stuck(void)
{
    pthread_mutex_lock(&pool.mu);
    unsigned n = pool.n_stuck;
    pthread_mutex_unlock(&pool.mu);
    return n;
}

void asps_kms_value_free(uint8_t *value, size_t len)
{
    if (value) {
        asps_cleanse_free(value, len);
    }
}

const char *asps_kms_backend_name(const asps_kms *k)
{
    return k && k->ops->name ? k->ops->name : "none";
}

void asps_kms_free(asps_kms *k)
{
    if (k)
        kms_unref(k);
}
