/* test_metrics.c: the metrics registry and its text exposition (metrics.h).
 * The expected texts follow the Prometheus text format 0.0.4 as written by
 * Prometheus's own Go client (client_golang's expfmt: label escaping \\ \"
 * \n, HELP escaping \\ \n, histogram _bucket/_sum/_count with cumulative
 * le buckets and le="+Inf", floats as Go's strconv.FormatFloat(v, 'g', -1,
 * 64)); the integration test test_ops.sh also has promtool and a real
 * Prometheus read what a running server renders. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* The rendered block of one metric: from its "# HELP" line to the next
 * "# HELP" (malloc'd). */
static char *block(const char *name, double now)
{
    char *all;
    size_t len;
    assert_int_equal(asps_metrics_render(now, &all, &len), 0);
    assert_int_equal(strlen(all), len);
    char head[200];
    snprintf(head, sizeof head, "# HELP %s ", name);
    char *b = strstr(all, head);
    assert_non_null(b);
    char *end = strstr(b + 1, "# HELP ");
    char *out = strndup(b, end ? (size_t)(end - b) : strlen(b));
    free(all);
    return out;
}

static void test_counter_labels_and_escaping(void **state)
{
    (void)state;
    asps_metric *m = asps_metrics_counter("t_requests_total", "Requests \\ by\ncode.",
                                          ASPS_LABELS("code", "path"));
    assert_non_null(m);
    asps_metric_inc(m, ASPS_LABELS("200", "/a"));
    asps_metric_add(m, ASPS_LABELS("200", "/a"), 2);
    asps_metric_inc(m, ASPS_LABELS("503", "q\"u\\o\nte"));
    asps_metric_add(m, ASPS_LABELS("503", "q\"u\\o\nte"), -5); /* a counter never goes down */
    asps_metric_set(m, ASPS_LABELS("200", "/a"), 0);           /* nor is it set */
    asps_metric_inc(m, ASPS_LABELS("200"));                     /* wrong label count: ignored */
    char *b = block("t_requests_total", 0);
    assert_string_equal(b, "# HELP t_requests_total Requests \\\\ by\\ncode.\n"
                           "# TYPE t_requests_total counter\n"
                           "t_requests_total{code=\"200\",path=\"/a\"} 3\n"
                           "t_requests_total{code=\"503\",path=\"q\\\"u\\\\o\\nte\"} 1\n");
    free(b);
    assert_true(asps_metric_value(m, ASPS_LABELS("200", "/a")) == 3);
    /* the same name and shape: the same metric; another shape: none */
    assert_ptr_equal(asps_metrics_counter("t_requests_total", "x", ASPS_LABELS("code", "path")), m);
    assert_null(asps_metrics_counter("t_requests_total", "x", ASPS_LABELS("code")));
    assert_null(asps_metrics_gauge("t_requests_total", "x", ASPS_LABELS("code", "path")));
    /* NULL metrics take updates and do nothing */
    asps_metric_inc(NULL, NULL);
    asps_metric_observe(NULL, NULL, 1);
}

static void test_names_checked(void **state)
{
    (void)state;
    assert_null(asps_metrics_counter("1bad", "h", NULL));
    assert_null(asps_metrics_counter("bad-name", "h", NULL));
    assert_null(asps_metrics_counter("", "h", NULL));
    assert_null(asps_metrics_counter("t_ok_total", "h", ASPS_LABELS("__reserved")));
    assert_null(asps_metrics_counter("t_ok_total", "h", ASPS_LABELS("a:b")));
    assert_null(asps_metrics_counter("t_ok_total", "h", ASPS_LABELS("a", "a")));
    double b[] = {1, 1};
    assert_null(asps_metrics_histogram("t_h_seconds", "h", NULL, b, 2));
    double ok[] = {1};
    assert_null(asps_metrics_histogram("t_h_seconds", "h", ASPS_LABELS("le"), ok, 1));
    assert_non_null(asps_metrics_counter("t_ns:ok_total", "h", ASPS_LABELS("_a1")));
}

static void test_gauge_and_go_floats(void **state)
{
    (void)state;
    asps_metric *g = asps_metrics_gauge("t_value", "v", ASPS_LABELS("k"));
    /* Go: FormatFloat(x, 'g', -1, 64) */
    static const struct {
        double v;
        const char *s;
    } cases[] = {{10, "10"},          {0.0025, "0.0025"}, {1e6, "1e+06"},
                 {123456, "123456"},  {1e-5, "1e-05"},    {0.1, "0.1"},
                 {-2.5, "-2.5"},      {0, "0"},           {2591999, "2.591999e+06"},
                 {0.0001, "0.0001"},  {1.0 / 3, "0.3333333333333333"}};
    char want[2048] = "# HELP t_value v\n# TYPE t_value gauge\n";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char k[8];
        snprintf(k, sizeof k, "%zu", i);
        asps_metric_set(g, ASPS_LABELS(k), cases[i].v);
        snprintf(want + strlen(want), sizeof want - strlen(want), "t_value{k=\"%s\"} %s\n", k,
                 cases[i].s);
    }
    asps_metric_add(g, ASPS_LABELS("inf"), 1.0 / 0.0);
    strcat(want, "t_value{k=\"inf\"} +Inf\n");
    char *b = block("t_value", 0);
    assert_string_equal(b, want);
    free(b);
    asps_metric_remove(g, ASPS_LABELS("inf"));
    b = block("t_value", 0);
    assert_null(strstr(b, "inf"));
    free(b);
}

static void test_histogram_cumulative(void **state)
{
    (void)state;
    double bounds[] = {0.01, 0.1, 1};
    asps_metric *h = asps_metrics_histogram("t_latency_seconds", "Latency.", ASPS_LABELS("op"),
                                            bounds, 3);
    assert_non_null(h);
    double obs[] = {0.005, 0.01, 0.05, 0.5, 2, 0.1};
    for (size_t i = 0; i < 6; i++)
        asps_metric_observe(h, ASPS_LABELS("get"), obs[i]);
    char *b = block("t_latency_seconds", 0);
    /* le is inclusive: 0.01 falls in le="0.01", 0.1 in le="0.1" */
    assert_string_equal(b, "# HELP t_latency_seconds Latency.\n"
                           "# TYPE t_latency_seconds histogram\n"
                           "t_latency_seconds_bucket{op=\"get\",le=\"0.01\"} 2\n"
                           "t_latency_seconds_bucket{op=\"get\",le=\"0.1\"} 4\n"
                           "t_latency_seconds_bucket{op=\"get\",le=\"1\"} 5\n"
                           "t_latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 6\n"
                           "t_latency_seconds_sum{op=\"get\"} 2.665\n"
                           "t_latency_seconds_count{op=\"get\"} 6\n");
    free(b);
    asps_metric *nl = asps_metrics_histogram("t_nolabel_seconds", "n", NULL, bounds, 1);
    asps_metric_observe(nl, NULL, 3);
    b = block("t_nolabel_seconds", 0);
    assert_non_null(strstr(b, "\nt_nolabel_seconds_bucket{le=\"0.01\"} 0\n"
                              "t_nolabel_seconds_bucket{le=\"+Inf\"} 1\n"
                              "t_nolabel_seconds_sum 3\nt_nolabel_seconds_count 1\n"));
    free(b);
}

static void test_countdown_from_now(void **state)
{
    (void)state;
    asps_metric *c = asps_metrics_countdown("t_expires_in_seconds", "Left.", NULL);
    asps_metric_set(c, NULL, 1000000);
    char *b = block("t_expires_in_seconds", 999900);
    assert_string_equal(b, "# HELP t_expires_in_seconds Left.\n"
                           "# TYPE t_expires_in_seconds gauge\n"
                           "t_expires_in_seconds 100\n");
    free(b);
    b = block("t_expires_in_seconds", 1000030);
    assert_non_null(strstr(b, "t_expires_in_seconds -30\n"));
    free(b);
}

static void test_series_bounded(void **state)
{
    (void)state;
    asps_metric *m = asps_metrics_counter("t_many_total", "m", ASPS_LABELS("k"));
    for (int i = 0; i < ASPS_METRICS_MAX_SERIES + 10; i++) {
        char k[16];
        snprintf(k, sizeof k, "%d", i);
        asps_metric_inc(m, ASPS_LABELS(k));
    }
    assert_true(asps_metric_value(m, ASPS_LABELS("0")) == 1);
    assert_true(asps_metric_value(m, ASPS_LABELS("265")) == 0);
    char *b = block("asps_metrics_dropped_total", 0);
    assert_non_null(strstr(b, "asps_metrics_dropped_total{metric=\"t_many_total\"} 10\n"));
    free(b);
}

#define THREADS 4
#define PER_THREAD 20000
static asps_metric *race_c, *race_h;
static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        asps_metric_inc(race_c, ASPS_LABELS(i % 2 ? "odd" : "even"));
        asps_metric_observe(race_h, NULL, 0.5);
    }
    return NULL;
}

static void test_threads_lose_nothing(void **state)
{
    (void)state;
    race_c = asps_metrics_counter("t_race_total", "r", ASPS_LABELS("k"));
    double b[] = {1};
    race_h = asps_metrics_histogram("t_race_seconds", "r", NULL, b, 1);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < 50; i++) { /* render while they write */
        char *all;
        size_t len;
        assert_int_equal(asps_metrics_render(0, &all, &len), 0);
        free(all);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_true(asps_metric_value(race_c, ASPS_LABELS("odd")) == THREADS * PER_THREAD / 2);
    assert_true(asps_metric_value(race_c, ASPS_LABELS("even")) == THREADS * PER_THREAD / 2);
    assert_true(asps_metric_value(race_h, NULL) == THREADS * PER_THREAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_labels_and_escaping),
        cmocka_unit_test(test_names_checked),
        cmocka_unit_test(test_gauge_and_go_floats),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_countdown_from_now),
        cmocka_unit_test(test_series_bounded),
        cmocka_unit_test(test_threads_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
