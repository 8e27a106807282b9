/* metrics.h: the process's one metrics registry, shown in the Prometheus
 * text exposition format 0.0.4 (prometheus.io/docs/instrumenting/
 * exposition_formats: "# HELP", "# TYPE", one sample per line, label values
 * escaped \\ \" \n; histograms as NAME_bucket{le=...} cumulative with
 * le="+Inf", NAME_sum, NAME_count).
 *
 * Every module registers what it counts once (asps_metrics_counter, ...)
 * and updates it by label values; the operations listener (src/ops) renders
 * the whole registry on GET /metrics. Names follow Prometheus conventions
 * (asps_ prefix, base units: seconds; counters end in _total) and are
 * checked at registration ([a-zA-Z_:][a-zA-Z0-9_:]*, labels
 * [a-zA-Z_][a-zA-Z0-9_]*, no "__" label prefix, no "le" on histograms).
 * Registering the same name again with the same type and labels returns the
 * same metric; anything else returns NULL. Every update accepts a NULL
 * metric and does nothing, so instrumentation never fails its caller.
 *
 * Label values are the program's own short words (verdicts, reason names,
 * endpoints, FMSPCs), never a secret or anything a peer chose freely. A
 * metric keeps at most ASPS_METRICS_MAX_SERIES label sets; updates to
 * further ones are dropped (and counted in asps_metrics_dropped_total).
 * Thread-safe. Memory lives until the process ends.
 */
#ifndef ASPS_METRICS_H
#define ASPS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define ASPS_METRICS_MAX_SERIES 256
#define ASPS_METRICS_MAX_LABELS 4
#define ASPS_METRICS_MAX_BUCKETS 20

typedef struct asps_metric asps_metric;

/* Label names/values: a NULL-terminated array, e.g. ASPS_LABELS("verdict",
 * "reason"); NULL for none. Values are given in the order of the names. */
#define ASPS_LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A counter (only goes up; NAME should end in _total). */
asps_metric *asps_metrics_counter(const char *name, const char *help,
                                  const char *const *label_names);
/* A gauge (set, or added to). */
asps_metric *asps_metrics_gauge(const char *name, const char *help,
                                const char *const *label_names);
/* A countdown gauge: set to a unix time (seconds), shown as that time minus
 * the time of the scrape (seconds left; negative once passed), so that a
 * "seconds until" value is exact at every scrape. */
asps_metric *asps_metrics_countdown(const char *name, const char *help,
                                    const char *const *label_names);
/* A histogram with N_BUCKETS upper bounds (strictly increasing, finite; at
 * most ASPS_METRICS_MAX_BUCKETS); +Inf is added. */
asps_metric *asps_metrics_histogram(const char *name, const char *help,
                                    const char *const *label_names, const double *buckets,
                                    size_t n_buckets);
/* Latency buckets in seconds, 1 ms to 10 s (a cached verification takes
 * milliseconds, a PCCS or Vault request up to its timeout). */
extern const double asps_metrics_latency_buckets[13];

/* Counter: add V (>= 0; a negative V is ignored). Gauge: add V. */
void asps_metric_add(asps_metric *m, const char *const *label_values, double v);
void asps_metric_inc(asps_metric *m, const char *const *label_values);
/* Gauge: set; countdown: set the unix time. */
void asps_metric_set(asps_metric *m, const char *const *label_values, double v);
/* Histogram: one observation. */
void asps_metric_observe(asps_metric *m, const char *const *label_values, double v);
/* Forget one label set (a cache entry evicted). */
void asps_metric_remove(asps_metric *m, const char *const *label_values);
/* The value of one label set (a histogram: its count), 0 when it has none;
 * for tests and readiness checks. */
double asps_metric_value(asps_metric *m, const char *const *label_values);

/* The whole registry in the text format 0.0.4, countdowns taken at NOW
 * (unix seconds). *OUT is malloc'd and NUL-terminated, *LEN its length; the
 * caller frees it. 0 on success, -1 when out of memory. */
int asps_metrics_render(double now, char **out, size_t *len);

/* Seconds, monotonic, for latencies: t0 = asps_metrics_clock(); ...
 * asps_metric_observe(h, lv, asps_metrics_clock() - t0). */
double asps_metrics_clock(void);

#endif
