/* tally.c: see tally.h. Owns its counts, its mutex and one thread. */
#include "tally.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct asps_tally {
    char what[32];
    char component[16];
    int64_t interval_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int stop;
    /* under mu */
    char reason[TALLY_REASONS + 1][32]; /* the last slot is "other" */
    uint64_t count[TALLY_REASONS + 1];
    size_t n_reasons;
    uint64_t total;
    int64_t first_ms;      /* first event not yet printed */
    int64_t last_print_ms; /* 0: never */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under mu. */
static void print_line(asps_tally *t, int64_t now)
{
    int64_t since = t->last_print_ms ? t->last_print_ms : t->first_ms;
    /* 17 reasons of at most 31 bytes and their counts fit */
    char line[1024] = "";
    size_t n = 0;
    for (size_t i = 0; i <= TALLY_REASONS && n < sizeof line; i++)
        if (t->count[i])
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s %llu", n ? ", " : "",
                                  t->reason[i], (unsigned long long)t->count[i]);
    asps_log(ASPS_LOG_WARN, t->component, "%s in the last %.1f s: %llu (%s)", t->what,
             (double)(now - since) / 1000.0, (unsigned long long)t->total, line);
    memset(t->count, 0, sizeof t->count);
    t->n_reasons = 0;
    t->total = 0;
    t->last_print_ms = now;
}

static void wait_until(asps_tally *t, int64_t mono_deadline)
{
    /* the condition variable runs on CLOCK_MONOTONIC (see asps_tally_new) */
    struct timespec ts = {.tv_sec = mono_deadline / 1000,
                          .tv_nsec = (long)(mono_deadline % 1000) * 1000000};
    pthread_cond_timedwait(&t->cv, &t->mu, &ts);
}

static void *tally_main(void *arg)
{
    asps_tally *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        if (t->total == 0) {
            pthread_cond_wait(&t->cv, &t->mu);
            continue;
        }
        int64_t now = mono_ms();
        if (t->last_print_ms != 0 && now - t->last_print_ms < t->interval_ms) {
            wait_until(t, t->last_print_ms + t->interval_ms);
            continue;
        }
        print_line(t, now);
    }
    if (t->total)
        print_line(t, mono_ms());
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

asps_tally *asps_tally_new(const char *what, int64_t interval_ms, const char *component)
{
    asps_tally *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    snprintf(t->what, sizeof t->what, "%s", what);
    t->interval_ms = interval_ms > 0 ? interval_ms : 1;
    snprintf(t->component, sizeof t->component, "%s", component ? component : "asps");
    snprintf(t->reason[TALLY_REASONS], sizeof t->reason[0], "other");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&t->mu, NULL);
    /* The thread takes no asynchronous signals. asps serve waits for
     * SIGHUP and SIGTERM with sigwait() in its main thread, but this thread
     * is started before it blocks them; a signal sent to the process goes
     * to any thread that does not block it, where its default action ends
     * the process (a SIGHUP during a drain or a reload did). Started with
     * them blocked (a new thread inherits the mask), so there is no moment
     * it could take one; faults stay deliverable. */
    sigset_t all, old;
    sigfillset(&all);
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(&all, faults[i]);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&t->thread, NULL, tally_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        free(t);
        return NULL;
    }
    return t;
}

void asps_tally_add(asps_tally *t, const char *reason)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    size_t i = 0;
    while (i < t->n_reasons && strncmp(t->reason[i], reason, sizeof t->reason[0] - 1) != 0)
        i++;
    if (i == t->n_reasons) {
        if (t->n_reasons < TALLY_REASONS)
            snprintf(t->reason[t->n_reasons++], sizeof t->reason[0], "%s", reason);
        else
            i = TALLY_REASONS;
    }
    t->count[i]++;
    if (t->total++ == 0)
        t->first_ms = mono_ms();
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void asps_tally_free(asps_tally *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}
