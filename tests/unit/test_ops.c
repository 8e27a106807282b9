/* test_ops.c: the operations listener (ops.h) over real HTTP/1.1 on
 * 127.0.0.1 (and [::1] when the host has IPv6): the three paths, their
 * status codes and bodies, readiness from the callback and draining, other
 * methods and paths, and the addresses it refuses. The whole server is
 * tested by tests/integration/test_ops.sh (promtool, a real Prometheus). */
#include "testutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "ops.h"

/* One request; the status code, and the body into BODY. */
static int http(int family, int port, const char *method, const char *path, char *body, size_t n,
                char *headers, size_t hn)
{
    int fd = socket(family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    }
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
    char req[512];
    int rl = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                      method, path);
    assert_int_equal(write(fd, req, (size_t)rl), rl);
    static char buf[1 << 16];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    buf[len] = 0;
    int code = 0;
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &code), 1);
    char *sep = strstr(buf, "\r\n\r\n");
    assert_non_null(sep);
    if (headers)
        snprintf(headers, hn, "%.*s", (int)(sep - buf), buf);
    snprintf(body, n, "%s", sep + 4);
    return code;
}

typedef struct {
    int ready;
    int calls;
} fake;

static int fake_ready(void *ctx, char *why, size_t n)
{
    fake *f = ctx;
    f->calls++;
    if (!f->ready)
        snprintf(why, n, "collateral expired: sgx FMSPC 00906ED50000");
    return f->ready;
}

static void test_paths_and_readiness(void **state)
{
    (void)state;
    fake f = {.ready = 1};
    asps_ops_opts o = {.listen = "127.0.0.1:0", .ready = fake_ready, .ready_ctx = &f};
    asps_ops *ops = NULL;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_ops_start(&o, &ops, &eb), ASPS_OK);
    int port = asps_ops_port(ops);
    assert_true(port > 0);
    char body[1 << 16], hdr[2048];

    assert_int_equal(http(AF_INET, port, "GET", "/healthz", body, sizeof body, NULL, 0), 200);
    assert_string_equal(body, "ok\n");
    assert_int_equal(http(AF_INET, port, "GET", "/readyz", body, sizeof body, NULL, 0), 200);
    assert_string_equal(body, "ready\n");
    assert_int_equal(f.calls, 1);
    f.ready = 0;
    assert_int_equal(http(AF_INET, port, "GET", "/readyz", body, sizeof body, NULL, 0), 503);
    assert_string_equal(body, "not ready: collateral expired: sgx FMSPC 00906ED50000\n");
    f.ready = 1;
    assert_int_equal(http(AF_INET, port, "GET", "/readyz?verbose", body, sizeof body, NULL, 0), 200);

    asps_metric *m = asps_metrics_counter("t_ops_total", "Test.", NULL);
    asps_metric_add(m, NULL, 7);
    assert_int_equal(http(AF_INET, port, "GET", "/metrics", body, sizeof body, hdr, sizeof hdr), 200);
    assert_non_null(strstr(hdr, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    assert_non_null(strstr(body, "# TYPE t_ops_total counter\nt_ops_total 7\n"));
    /* ops_start registered the build information */
    assert_non_null(strstr(body, "# TYPE asps_build_info gauge\nasps_build_info{version=\""));

    assert_int_equal(http(AF_INET, port, "HEAD", "/healthz", body, sizeof body, NULL, 0), 200);
    assert_string_equal(body, "");
    assert_int_equal(http(AF_INET, port, "POST", "/metrics", body, sizeof body, hdr, sizeof hdr), 405);
    assert_non_null(strstr(hdr, "Allow: GET, HEAD"));
    assert_int_equal(http(AF_INET, port, "DELETE", "/healthz", body, sizeof body, NULL, 0), 405);
    assert_int_equal(http(AF_INET, port, "GET", "/", body, sizeof body, NULL, 0), 404);
    assert_int_equal(http(AF_INET, port, "GET", "/healthz/x", body, sizeof body, NULL, 0), 404);

    /* draining wins over a ready service; the callback is not asked */
    int before = f.calls;
    asps_ops_set_draining(ops);
    assert_int_equal(http(AF_INET, port, "GET", "/readyz", body, sizeof body, NULL, 0), 503);
    assert_string_equal(body, "not ready: draining\n");
    assert_int_equal(f.calls, before);
    /* liveness is not readiness */
    assert_int_equal(http(AF_INET, port, "GET", "/healthz", body, sizeof body, NULL, 0), 200);
    asps_ops_stop(ops);
    asps_ops_stop(NULL);
}

/* The sample hook runs before every /metrics answer: a value read at the
 * scrape (cmd_serve: the calls in flight and waiting) is the scrape's. */
static void sample_count(void *ctx)
{
    int *n = ctx;
    (*n)++;
    asps_metric_set(asps_metrics_gauge("t_ops_sampled", "Test.", NULL), NULL, *n);
}

static void test_sample_before_each_scrape(void **state)
{
    (void)state;
    int n = 0;
    asps_ops_opts o = {.listen = "127.0.0.1:0", .sample = sample_count, .sample_ctx = &n};
    asps_ops *ops = NULL;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_ops_start(&o, &ops, &eb), ASPS_OK);
    int port = asps_ops_port(ops);
    char body[1 << 16];
    assert_int_equal(http(AF_INET, port, "GET", "/metrics", body, sizeof body, NULL, 0), 200);
    assert_non_null(strstr(body, "\nt_ops_sampled 1\n"));
    assert_int_equal(http(AF_INET, port, "GET", "/metrics", body, sizeof body, NULL, 0), 200);
    assert_non_null(strstr(body, "\nt_ops_sampled 2\n"));
    assert_int_equal(http(AF_INET, port, "GET", "/healthz", body, sizeof body, NULL, 0), 200);
    assert_int_equal(n, 2); /* only for /metrics */
    asps_ops_stop(ops);
}

static void test_ipv6(void **state)
{
    (void)state;
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    int have = s6 >= 0 && bind(s6, (struct sockaddr *)&a, sizeof a) == 0;
    if (s6 >= 0)
        close(s6);
    if (!have) {
        printf("NOTICE: no IPv6 loopback here: [::1] not tried\n");
        return;
    }
    asps_ops_opts o = {.listen = "[::1]:0"};
    asps_ops *ops = NULL;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_ops_start(&o, &ops, &eb), ASPS_OK);
    char body[256];
    assert_int_equal(http(AF_INET6, asps_ops_port(ops), "GET", "/readyz", body, sizeof body, NULL, 0),
                     200);
    assert_string_equal(body, "ready\n");
    asps_ops_stop(ops);
}

static void test_bad_addresses(void **state)
{
    (void)state;
    const char *bad[] = {"",           "127.0.0.1",       "127.0.0.1:",    ":9788",
                         "127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:80x", "localhost",
                         "::1:9788",   "[::1]",           "[::1]9788",     "127.0.0.1:123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        asps_ops_opts o = {.listen = bad[i]};
        asps_ops *ops = (asps_ops *)1;
        asps_errbuf eb = {{0}};
        asps_err e = asps_ops_start(&o, &ops, &eb);
        if (e == ASPS_OK)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_int_equal(e, ASPS_E_ARG);
        assert_null(ops);
        assert_non_null(strstr(eb.msg, "config.ops.listen"));
    }
    /* a port in use: an I/O error naming the address */
    asps_ops_opts o = {.listen = "127.0.0.1:0"};
    asps_ops *a = NULL, *b = NULL;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_ops_start(&o, &a, &eb), ASPS_OK);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", asps_ops_port(a));
    o.listen = addr;
    assert_int_equal(asps_ops_start(&o, &b, &eb), ASPS_E_IO);
    assert_non_null(strstr(eb.msg, addr));
    asps_ops_stop(a);
}

/* RAW on a new connection to PORT, read until the server closes it. */
static void raw_request(int port, const char *raw)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    /* the server may close before it has read all (431): no SIGPIPE */
    assert_true(send(fd, raw, strlen(raw), MSG_NOSIGNAL) > 0);
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
}

/* libmicrohttpd writes a line or two for each malformed request; 300 of
 * them from a peer make at most 20 lines in the server's log (the rest are
 * counted), and the listener goes on answering. */
static void test_malformed_requests_do_not_flood_the_log(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[600];
    snprintf(path, sizeof path, "%s/log", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    assert_true(fd >= 0);
    asps_log_configure(ASPS_LOG_DEBUG, ASPS_LOG_TEXT, fd);
    asps_ops_opts o = {.listen = "127.0.0.1:0"};
    asps_ops *ops = NULL;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_ops_start(&o, &ops, &eb), ASPS_OK);
    int port = asps_ops_port(ops);
    /* a header larger than libmicrohttpd's memory pool: 431 */
    static char big[40 * 1024];
    int off = snprintf(big, sizeof big, "GET /healthz HTTP/1.1\r\nHost: t\r\nX: ");
    memset(big + off, 'a', sizeof big - (size_t)off - 5);
    memcpy(big + sizeof big - 5, "\r\n\r\n", 5);
    for (int i = 0; i < 150; i++) {
        raw_request(port, "GET /healthz HTTP/1.1\r\nHost: t\r\n"
                          "Content-Length: 99999999999999999999\r\n\r\n");
        raw_request(port, big);
    }
    char body[256];
    assert_int_equal(http(AF_INET, port, "GET", "/healthz", body, sizeof body, NULL, 0), 200);
    asps_ops_stop(ops);
    asps_log_configure(ASPS_LOG_INFO, ASPS_LOG_TEXT, 2);
    close(fd);
    size_t n;
    char *log = (char *)tu_read_file(path, &n);
    assert_non_null(log);
    size_t lines = 0;
    for (char *p = log; (p = strstr(p, " ops: ")) != NULL; p++)
        lines++;
    if (lines == 0 || lines > 20)
        fail_msg("%zu ops lines for 300 malformed requests", lines);
    free(log);
    tu_rm_rf(dir);
    free(dir);
}

/* Connections held open from one address (127.0.0.2: all of 127/8 is
 * loopback on Linux) without a byte sent do not keep a probe from another
 * address (127.0.0.1) waiting: before, 64 of them made /healthz wait for
 * the idle timeout (10 s then). */
static void test_idle_connections_do_not_starve_probes(void **state)
{
    (void)state;
    asps_ops_opts o = {.listen = "127.0.0.1:0"};
    asps_ops *ops = NULL;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_ops_start(&o, &ops, &eb), ASPS_OK);
    int port = asps_ops_port(ops);
    int held[100], n = 0;
    for (; n < 100; n++) {
        held[n] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(held[n] >= 0);
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
        struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(held[n], (struct sockaddr *)&src, sizeof src), 0);
        assert_int_equal(connect(held[n], (struct sockaddr *)&dst, sizeof dst), 0);
    }
    usleep(200 * 1000); /* the listener has accepted (or refused) them */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char body[256];
    assert_int_equal(http(AF_INET, port, "GET", "/healthz", body, sizeof body, NULL, 0), 200);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (took > 2)
        fail_msg("/healthz took %.1f s with %d idle connections from another address", took, n);
    for (int i = 0; i < n; i++)
        close(held[i]);
    asps_ops_stop(ops);
}

static void test_certificate_gauge(void **state)
{
    (void)state;
    /* a certificate made by the openssl command, not by asps */
    char *dir = tu_mkdtemp();
    char cmd[1024], path[600];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s/k "
             "-out %s/c.pem -subj /CN=t -days 3 2>/dev/null",
             dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/c.pem", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char pem[8192];
    size_t n = fread(pem, 1, sizeof pem, f);
    fclose(f);
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_ops_note_server_certificate(pem, n, &eb), ASPS_OK);
    char *all;
    size_t len;
    assert_int_equal(asps_metrics_render((double)time(NULL), &all, &len), 0);
    char *line = strstr(all, "\nasps_server_certificate_expires_in_seconds ");
    assert_non_null(line);
    double left = strtod(line + strlen("\nasps_server_certificate_expires_in_seconds "), NULL);
    assert_true(left > 3 * 86400 - 120 && left <= 3 * 86400); /* -days 3 from now */
    free(all);
    assert_int_equal(asps_ops_note_server_certificate("not a certificate", 17, &eb), ASPS_E_PARSE);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_and_readiness),
        cmocka_unit_test(test_sample_before_each_scrape),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_malformed_requests_do_not_flood_the_log),
        cmocka_unit_test(test_idle_connections_do_not_starve_probes),
        cmocka_unit_test(test_certificate_gauge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
