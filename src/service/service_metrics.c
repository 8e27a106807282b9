/* service_metrics.c: the service's metrics (metrics.h), registered once;
 * the service calls one function per event (service_int.h). */
#include <pthread.h>
#include <string.h>

#include "metrics.h"
#include "service.h"
#include "service_int.h"
#include "util.h"

static asps_metric *m_decisions, *m_handshakes, *m_refusals, *m_verify, *m_kms_latency,
    *m_kms_errors, *m_kms_up, *m_generation, *m_reload_failures, *m_reloads, *m_forecast,
    *m_in_flight, *m_waiting, *m_waited, *m_busy;
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t load_waited, load_busy; /* the totals last added, under load_mu */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    const double *lb = asps_metrics_latency_buckets;
    size_t nlb = sizeof asps_metrics_latency_buckets / sizeof(double);
    m_decisions = asps_metrics_counter(
        "asps_decisions_total",
        "Calls decided, by verdict (as in the audit line) and short reason (policy; grace: "
        "granted under tcb_grace_days; tcb_evaluation_data_number, tcb_date, tcb_grace_over, "
        "stale_collateral: refused by that policy rule; ...).",
        ASPS_LABELS("verdict", "reason"));
    m_forecast = asps_metrics_counter(
        "asps_tcb_forecast_demotions_total",
        "Decided calls whose platform gets a worse TCB status under the other TCB info update "
        "set (a coming TCB recovery), by that status (none: no level matches) and the date it "
        "becomes the standard set's (unknown when no evaluation data numbers list is held).",
        ASPS_LABELS("status", "effective"));
    m_handshakes = asps_metrics_counter("asps_handshakes_total",
                                        "TLS handshakes whose client evidence was checked, by result "
                                        "(accepted, refused).",
                                        ASPS_LABELS("result"));
    m_refusals = asps_metrics_counter(
        "asps_handshake_refusals_total",
        "Refused handshakes by reason (the evidence error's short name, collateral_unavailable, "
        "no_certificate, tls_handshake).",
        ASPS_LABELS("reason"));
    m_verify = asps_metrics_histogram(
        "asps_verification_duration_seconds",
        "RA-TLS evidence verification latency (quote, collateral, key binding; claims cache misses "
        "only), by result (ok, error).",
        ASPS_LABELS("result"), lb, nlb);
    m_kms_latency = asps_metrics_histogram("asps_kms_request_duration_seconds",
                                           "KMS fetch latency (one secret), by backend.",
                                           ASPS_LABELS("backend"), lb, nlb);
    m_kms_errors = asps_metrics_counter(
        "asps_kms_errors_total",
        "KMS fetches that failed, by backend and error (unavailable, not_found, denied, ...).",
        ASPS_LABELS("backend", "error"));
    m_kms_up = asps_metrics_gauge("asps_kms_up",
                                  "1 when the last KMS fetch reached the KMS (a value, or a "
                                  "not-found or denied answer), 0 when it was unavailable.",
                                  NULL);
    m_generation = asps_metrics_gauge("asps_config_generation",
                                      "The policy and KMS generation in use: 1 at start, +1 per "
                                      "successful reload (SIGHUP).",
                                      NULL);
    m_reloads = asps_metrics_counter("asps_config_reloads_total",
                                     "Successful reloads of policy and KMS (SIGHUP).", NULL);
    m_reload_failures = asps_metrics_counter(
        "asps_config_reload_failures_total",
        "Reloads refused (the old policy and KMS kept): a broken file, an unreachable KMS...", NULL);
    m_in_flight = asps_metrics_gauge(
        "asps_calls_in_flight",
        "Calls holding one of the max_concurrent_calls slots, at the scrape.", NULL);
    m_waiting = asps_metrics_gauge(
        "asps_calls_waiting",
        "Calls queued for a slot (at most max_waiting_calls), at the scrape.", NULL);
    m_waited = asps_metrics_counter(
        "asps_calls_waited_total",
        "Calls that found every slot taken and queued for one (whatever became of them).", NULL);
    m_busy = asps_metrics_counter(
        "asps_calls_busy_total",
        "Calls turned away at once, every slot taken and the queue full (RESOURCE_EXHAUSTED).",
        NULL);
    /* Series whose labels are known in advance are shown from the start, at
     * 0 (Prometheus's instrumentation guide, "Avoid missing metrics"): a
     * series that first appears at 1 has no increase() or rate() to alert
     * on, so the first reload failure would go unseen. */
    asps_metric_add(m_reloads, NULL, 0);
    asps_metric_add(m_waited, NULL, 0);
    asps_metric_add(m_busy, NULL, 0);
    asps_metric_set(m_in_flight, NULL, 0);
    asps_metric_set(m_waiting, NULL, 0);
    asps_metric_add(m_reload_failures, NULL, 0);
    asps_metric_add(m_handshakes, ASPS_LABELS("accepted"), 0);
    asps_metric_add(m_handshakes, ASPS_LABELS("refused"), 0);
}

#define INIT() pthread_once(&once, init)

void asps_service__m_decision(asps_verdict v, const char *why)
{
    INIT();
    if (!why) {
        switch (v) {
        case ASPS_VERDICT_GRANTED:
        case ASPS_VERDICT_DENIED:
            why = "policy";
            break;
        case ASPS_VERDICT_INVALID:
            why = "request";
            break;
        case ASPS_VERDICT_REFUSED:
            why = "transport";
            break;
        case ASPS_VERDICT_ERROR:
            why = "internal";
            break;
        case ASPS_VERDICT_CANCELLED:
            why = "client";
            break;
        default:
            why = "other";
        }
    }
    asps_metric_inc(m_decisions, ASPS_LABELS(asps_verdict_name(v), why));
}

void asps_service__m_forecast(const asps_claims *c)
{
    INIT();
    const asps_tcb_forecast *f = &c->forecast;
    if (!f->present || !f->worse)
        return;
    char day[32] = "unknown";
    if (f->effective_at) {
        asps_time_format(f->effective_at, day);
        day[10] = 0; /* a day: the label set stays small */
    }
    asps_metric_inc(m_forecast, ASPS_LABELS(f->matched ? asps_tcb_status_name(f->tcb_status)
                                                       : "none",
                                            day));
}

void asps_service__m_handshake(int accepted, const char *reason)
{
    INIT();
    asps_metric_inc(m_handshakes, ASPS_LABELS(accepted ? "accepted" : "refused"));
    if (!accepted)
        asps_metric_inc(m_refusals, ASPS_LABELS(reason ? reason : "other"));
}

void asps_service__m_verification(double seconds, int ok)
{
    INIT();
    asps_metric_observe(m_verify, ASPS_LABELS(ok ? "ok" : "error"), seconds);
}

void asps_service__m_kms(const char *backend, double seconds, asps_err e)
{
    INIT();
    backend = backend ? backend : "unknown";
    asps_metric_observe(m_kms_latency, ASPS_LABELS(backend), seconds);
    if (e != ASPS_OK) {
        /* asps_err_name: "unavailable", "not_found", "denied" */
        asps_metric_inc(m_kms_errors, ASPS_LABELS(backend, asps_err_name(e)));
    }
    asps_metric_set(m_kms_up, NULL, e != ASPS_E_UNAVAILABLE);
}

void asps_service__m_config(uint64_t generation, int reload_failed)
{
    INIT();
    if (reload_failed) {
        asps_metric_inc(m_reload_failures, NULL);
        return;
    }
    asps_metric_set(m_generation, NULL, (double)generation);
    if (generation > 1)
        asps_metric_inc(m_reloads, NULL);
}

void asps_service_note_call_load(unsigned in_flight, unsigned waiting, uint64_t waited_total,
                                 uint64_t busy_total)
{
    INIT();
    /* two scrapes at once: each adds only what the other has not */
    pthread_mutex_lock(&load_mu);
    asps_metric_set(m_in_flight, NULL, in_flight);
    asps_metric_set(m_waiting, NULL, waiting);
    if (waited_total > load_waited) {
        asps_metric_add(m_waited, NULL, (double)(waited_total - load_waited));
        load_waited = waited_total;
    }
    if (busy_total > load_busy) {
        asps_metric_add(m_busy, NULL, (double)(busy_total - load_busy));
        load_busy = busy_total;
    }
    pthread_mutex_unlock(&load_mu);
}
