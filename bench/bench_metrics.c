/* bench_metrics.c: what instrumentation costs a call, and what a scrape
 * costs the server.
 *
 *   bench_metrics [N] [THREADS]
 *
 * N updates of a labelled counter and N histogram observations, in one
 * thread and then in THREADS threads at once (each metric has one lock, so
 * this is the contended case: every thread on the same series); then the
 * render of a registry shaped like a busy server's (the server's metrics
 * with 40 decision label sets, 16 platforms' collateral gauges). Prints ns
 * per update and us per render, and last one JSON line.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "metrics.h"

static asps_metric *ctr, *hist;
static long n_per;

static void *work(void *arg)
{
    (void)arg;
    for (long i = 0; i < n_per; i++) {
        asps_metric_inc(ctr, ASPS_LABELS("granted", "policy"));
        asps_metric_observe(hist, ASPS_LABELS("ok"), 0.003);
    }
    return NULL;
}

static double run(int threads)
{
    pthread_t t[64];
    double t0 = bench_now_us();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    /* ns per (inc + observe) pair, over all threads' work */
    return (bench_now_us() - t0) * 1e3 / ((double)n_per * threads);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int threads = argc > 2 ? atoi(argv[2]) : 4;
    if (n <= 0 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: bench_metrics [N] [THREADS (1-64)]\n");
        return 2;
    }
    ctr = asps_metrics_counter("b_decisions_total", "b", ASPS_LABELS("verdict", "reason"));
    hist = asps_metrics_histogram("b_verification_duration_seconds", "b", ASPS_LABELS("result"),
                                  asps_metrics_latency_buckets, 13);
    n_per = n;
    double one = run(1);
    n_per = n / threads;
    double many = run(threads);
    /* a busy server's registry */
    for (int i = 0; i < 40; i++) {
        char r[16];
        snprintf(r, sizeof r, "reason%d", i);
        asps_metric_inc(ctr, ASPS_LABELS(i % 2 ? "denied" : "granted", r));
    }
    asps_metric *g = asps_metrics_countdown("b_collateral_next_update_seconds", "b",
                                            ASPS_LABELS("tee", "fmspc"));
    for (int i = 0; i < 16; i++) {
        char f[16];
        snprintf(f, sizeof f, "00906ED5%04X", i);
        asps_metric_set(g, ASPS_LABELS("sgx", f), 2e9);
    }
    asps_metric_observe(hist, ASPS_LABELS("error"), 0.2);
    int renders = 2000;
    size_t bytes = 0;
    double t0 = bench_now_us();
    for (int i = 0; i < renders; i++) {
        char *out;
        if (asps_metrics_render(1.7e9, &out, &bytes) != 0)
            return 1;
        free(out);
    }
    double render_us = (bench_now_us() - t0) / renders;
    printf("update (counter inc + histogram observe), 1 thread: %.0f ns\n", one);
    printf("update, %d threads on the same series: %.0f ns per update pair (wall / total)\n", threads,
           many);
    printf("render of %zu bytes: %.1f us\n", bytes, render_us);
    printf("{\"update_ns_1\": %.0f, \"update_ns_%d\": %.0f, \"render_us\": %.1f, \"render_bytes\": %zu}\n",
           one, threads, many, render_us, bytes);
    return 0;
}
