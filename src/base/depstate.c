/* depstate.c: see depstate.h. One mutex for every dependency's state; the
 * transition's log line is written under it, so that a "down" and the
 * "recovered" after it can never come out in the other order. */
#include "depstate.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static pthread_mutex_t dep_mu = PTHREAD_MUTEX_INITIALIZER;
static asps_dep_state deps[ASPS_DEP__COUNT];
static int64_t down_mono_ms[ASPS_DEP__COUNT]; /* when the current outage began */

static const char *const dep_names[ASPS_DEP__COUNT] = {"kms", "pccs"};
static const char *const dep_titles[ASPS_DEP__COUNT] = {"KMS", "PCCS"};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *asps_dep_name(asps_dep d)
{
    return (unsigned)d < ASPS_DEP__COUNT ? dep_names[d] : "?";
}

/* "KMS (vault)" or "KMS" into BUF. */
static void title(asps_dep d, const char *what, char *buf, size_t size)
{
    if (what && *what)
        snprintf(buf, size, "%s (%s)", dep_titles[d], what);
    else
        snprintf(buf, size, "%s", dep_titles[d]);
}

void asps_dep_ok(asps_dep d, const char *what)
{
    if ((unsigned)d >= ASPS_DEP__COUNT)
        return;
    pthread_mutex_lock(&dep_mu);
    asps_dep_state *s = &deps[d];
    s->ok_total++;
    if (s->status != ASPS_DEP_UP) {
        /* the title only for a transition's line: every KMS answer comes
         * here, and formatting it cost more than the rest */
        char t[160];
        title(d, what, t, sizeof t);
        if (s->status == ASPS_DEP_DOWN) {
            double secs = (double)(mono_ms() - down_mono_ms[d]) / 1000.0;
            asps_log(ASPS_LOG_WARN, dep_names[d], "the %s recovered after %.1f s down (%llu failed call%s)",
                     t, secs, (unsigned long long)s->failed_now, s->failed_now == 1 ? "" : "s");
        } else {
            asps_log(ASPS_LOG_DEBUG, dep_names[d], "the %s answers", t);
        }
        s->status = ASPS_DEP_UP;
        s->since = (int64_t)time(NULL);
        s->failed_now = 0;
    }
    pthread_mutex_unlock(&dep_mu);
}

void asps_dep_down(asps_dep d, const char *what, const char *why)
{
    if ((unsigned)d >= ASPS_DEP__COUNT)
        return;
    char t[160];
    title(d, what, t, sizeof t);
    pthread_mutex_lock(&dep_mu);
    asps_dep_state *s = &deps[d];
    s->failed_total++;
    s->failed_now++;
    snprintf(s->last_error, sizeof s->last_error, "%s", why ? why : "");
    if (s->status != ASPS_DEP_DOWN) {
        asps_log(ASPS_LOG_WARN, dep_names[d],
                 "the %s is down: %s; calls that need it fail with UNAVAILABLE until it answers", t,
                 s->last_error);
        s->status = ASPS_DEP_DOWN;
        s->since = (int64_t)time(NULL);
        s->outages++;
        down_mono_ms[d] = mono_ms();
    }
    pthread_mutex_unlock(&dep_mu);
}

void asps_dep_get(asps_dep d, asps_dep_state *out)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)d >= ASPS_DEP__COUNT)
        return;
    pthread_mutex_lock(&dep_mu);
    *out = deps[d];
    pthread_mutex_unlock(&dep_mu);
}

void asps_dep_reset(void)
{
    pthread_mutex_lock(&dep_mu);
    memset(deps, 0, sizeof deps);
    memset(down_mono_ms, 0, sizeof down_mono_ms);
    pthread_mutex_unlock(&dep_mu);
}
