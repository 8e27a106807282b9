/* test_pccs.c: the PCCS client in-process against tests/pccs_server.py:
 * the fetched collateral is byte for byte the served one (the signed bodies
 * are never re-serialised), it is cached until its earliest nextUpdate, and
 * refetched after. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "metrics.h"
#include "pccs.h"
#include "asps/verify.h"
#include "testutil.h"
#include "util.h"

static pid_t server_pid;
static int server_port;
static char *tmpdir;

_Noreturn static void pccs_skip(void)
{
    if (!tu_vectors_dir())
        tu_skip_vectors("the test PCCS serves Intel's DCAP collateral");
    tu_skip("the test PCCS did not start");
}

static int start(void **state)
{
    (void)state;
    const char *vec = tu_vectors_dir();
    const char *src = getenv("ASPS_SRC");
    if (!vec || !src)
        return 0;
    tmpdir = tu_mkdtemp();
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout k.pem -out c.pem -days 1 -subj /CN=localhost "
             "-addext subjectAltName=IP:127.0.0.1 2>/dev/null && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout k2.pem -out other.pem -days 1 -subj /CN=localhost "
             "-addext subjectAltName=IP:127.0.0.1 2>/dev/null",
             tmpdir);
    if (system(cmd) != 0)
        return -1;
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    server_pid = fork();
    if (server_pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        char script[4096], bundle[4096], cert[4096], key[4096];
        snprintf(script, sizeof script, "%s/tests/pccs_server.py", src);
        snprintf(bundle, sizeof bundle, "%s/sgx_quote_collateral.json", vec);
        snprintf(cert, sizeof cert, "%s/c.pem", tmpdir);
        snprintf(key, sizeof key, "%s/k.pem", tmpdir);
        execlp("python3", "python3", script, "--bundle", bundle, "--cert", cert, "--key", key, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    if (!f || fscanf(f, "PORT %d", &server_port) != 1)
        return -1;
    fclose(f);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    if (tmpdir) {
        tu_rm_rf(tmpdir);
        free(tmpdir);
    }
    return 0;
}

typedef struct sbuf {
    char b[8192];
    size_t n;
} sbuf;

static size_t sbuf_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sbuf *s = ud;
    size_t n = size * nmemb;
    if (n > sizeof s->b - 1 - s->n)
        return 0;
    memcpy(s->b + s->n, ptr, n);
    s->n += n;
    s->b[s->n] = 0;
    return n;
}

/* Requests the server itself has counted (GET /__stats, summed over paths):
 * proves caching from the server's side, not from the client's counter. */
static long server_requests(void)
{
    char url[64], ca[4200];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/__stats", server_port);
    snprintf(ca, sizeof ca, "%s/c.pem", tmpdir);
    sbuf s = {.n = 0};
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sbuf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    assert_int_equal(rc, CURLE_OK);
    long total = 0;
    for (const char *q = strchr(s.b, ':'); q; q = strchr(q + 1, ':'))
        total += strtol(q + 1, NULL, 10);
    return total;
}

/* A fetch whose nextUpdate the test does not look at. */
static asps_err fetch(asps_pccs *p, asps_tee tee, const uint8_t fmspc[6], const char *ca,
                      asps_collateral **out, asps_errbuf *eb)
{
    int64_t nu;
    return asps_pccs_fetch(p, tee, fmspc, ca, out, &nu, eb);
}

static void test_pccs_collateral_is_byte_identical(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    char url[64], ca[4200];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", server_port);
    snprintf(ca, sizeof ca, "%s/c.pem", tmpdir);
    asps_pccs_opts o = {.ca_file = ca};
    asps_pccs *p;
    asps_errbuf eb;
    assert_int_equal(asps_pccs_new(url, &o, &p, &eb), ASPS_OK);
    const uint8_t fmspc[6] = {0x00, 0xa0, 0x67, 0x11, 0x00, 0x00};
    asps_collateral *a, *b, *orig;
    if (fetch(p, ASPS_TEE_SGX, fmspc, "processor", &a, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    /* pckcrl, tcb, qe/identity, tcb&update=early, tcbevaluationdatanumbers
     * (404 from this PCCS: not offered, the set goes on), rootcacrl */
    assert_int_equal(asps_pccs_requests(p), 6);
    {
        char sp[64], cap[4200];
        snprintf(sp, sizeof sp, "https://127.0.0.1:%d/__stats", server_port);
        snprintf(cap, sizeof cap, "%s/c.pem", tmpdir);
        sbuf st = {.n = 0};
        CURL *cu = curl_easy_init();
        curl_easy_setopt(cu, CURLOPT_URL, sp);
        curl_easy_setopt(cu, CURLOPT_CAINFO, cap);
        curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, sbuf_write);
        curl_easy_setopt(cu, CURLOPT_WRITEDATA, &st);
        assert_int_equal(curl_easy_perform(cu), CURLE_OK);
        curl_easy_cleanup(cu);
        assert_non_null(strstr(st.b, "\"/sgx/certification/v4/tcb\": 2"));
        assert_non_null(strstr(st.b, "\"/sgx/certification/v4/tcbevaluationdatanumbers\": 1"));
    }
    size_t n;
    uint8_t *bundle = tu_read_vector("sgx_quote_collateral.json", &n);
    assert_int_equal(asps_collateral_parse_bundle(bundle, n, &orig, &eb), ASPS_OK);
    uint8_t d1[32], d2[32];
    asps_collateral_digest(a, d1);
    asps_collateral_digest(orig, d2);
    assert_memory_equal(d1, d2, 32);
    /* the bundle serialisations agree byte for byte (tcb_info body included) */
    char *sa, *so;
    assert_int_equal(asps_collateral_to_bundle(a, &sa, &eb), ASPS_OK);
    assert_int_equal(asps_collateral_to_bundle(orig, &so, &eb), ASPS_OK);
    assert_string_equal(sa, so);
    free(sa);
    free(so);
    /* the client holds nothing (the source does): each fetch reaches the
     * server, as it counts requests, and says the earliest nextUpdate
     * (QE identity, 2025-07-19T10:01:18Z) the source holds it until */
    long served = server_requests();
    assert_true(served >= 6); /* the first fetch reached the server */
    int64_t nu = 0;
    assert_int_equal(asps_pccs_fetch(p, ASPS_TEE_SGX, fmspc, "processor", &b, &nu, &eb), ASPS_OK);
    assert_int_equal(nu, 1752919278);
    assert_int_equal(asps_pccs_requests(p), 12);
    assert_int_equal(server_requests(), served + 6);
    /* and it verifies the real quote */
    size_t ql;
    uint8_t *q = tu_read_vector("sgx_quote", &ql);
    asps_verifier *v;
    asps_claims c;
    assert_int_equal(asps_verifier_new(&v, &eb), ASPS_OK);
    assert_int_equal(asps_verify_quote(v, q, ql, a, 1751328000, &c, &eb), ASPS_OK);
    assert_int_equal(c.tcb_status, ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    asps_verifier_free(v);
    free(q);
    free(bundle);
    asps_collateral_free(a);
    asps_collateral_free(b);
    asps_collateral_free(orig);
    asps_pccs_free(p);
}

/* Tell the test server how to misbehave (POST /__control). */
static void control(const char *json)
{
    char url[64], ca[4200];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/__control", server_port);
    snprintf(ca, sizeof ca, "%s/c.pem", tmpdir);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    fclose(devnull);
    assert_int_equal(rc, CURLE_OK);
}

static const uint8_t sgx_fmspc[6] = {0x00, 0xa0, 0x67, 0x11, 0x00, 0x00};

static asps_pccs *client(const char *ca_name)
{
    char url[64], ca[4200];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", server_port);
    snprintf(ca, sizeof ca, "%s/%s", tmpdir, ca_name);
    asps_pccs_opts o = {.ca_file = ca, .timeout_ms = 5000};
    asps_pccs *p;
    asps_errbuf eb;
    if (asps_pccs_new(url, &o, &p, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    return p;
}

static void test_pccs_404_is_unavailable_naming_the_endpoint(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    asps_pccs *p = client("c.pem");
    control("{\"fail\": 1, \"status\": 404}");
    asps_collateral *c = NULL;
    asps_errbuf eb;
    assert_int_equal(fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb),
                     ASPS_E_UNAVAILABLE);
    assert_null(c);
    assert_non_null(strstr(eb.msg, "pckcrl"));
    assert_non_null(strstr(eb.msg, "404"));
    /* a 404 is an answer, not a hiccup: not retried */
    assert_int_equal(asps_pccs_requests(p), 1);
    asps_pccs_free(p);
}

static void test_pccs_retries_500_twice_then_succeeds(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    asps_pccs *p = client("c.pem");
    control("{\"fail\": 2, \"status\": 500}");
    asps_collateral *c = NULL;
    asps_errbuf eb;
    if (fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_non_null(c);
    /* two failed attempts on the first endpoint, then six requests (four
     * parts, the early TCB info, the numbers list's 404) */
    assert_int_equal(asps_pccs_requests(p), 8);
    asps_collateral_free(c);
    asps_pccs_free(p);
}

static void test_pccs_500_beyond_retries_is_unavailable(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    asps_pccs *p = client("c.pem");
    control("{\"fail\": 3, \"status\": 503}");
    asps_collateral *c = NULL;
    asps_errbuf eb;
    assert_int_equal(fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb),
                     ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "503"));
    assert_int_equal(asps_pccs_requests(p), 3); /* 1 + default 2 retries */
    asps_pccs_free(p);
}

/* The same retry rules as the Vault backend (base/http.h): a 429 (rate
 * limited, as Intel's PCS answers) is retried, not sooner than its
 * Retry-After asks... */
static void test_pccs_waits_as_retry_after_asks(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    asps_pccs *p = client("c.pem");
    control("{\"fail\": 1, \"status\": 429, \"retry_after\": 1}");
    asps_collateral *c = NULL;
    asps_errbuf eb;
    int64_t t0 = asps_now_mono_ms();
    if (fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    int64_t waited = asps_now_mono_ms() - t0;
    assert_non_null(c);
    assert_true(waited >= 1000); /* the default backoff alone is 100 ms */
    assert_int_equal(asps_pccs_requests(p), 7);
    asps_collateral_free(c);
    asps_pccs_free(p);
}

/* ... and a Retry-After beyond the backoff cap (2 s) ends the tries at once,
 * the message saying when the PCCS will answer. */
static void test_pccs_long_retry_after_is_not_waited_for(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    asps_pccs *p = client("c.pem");
    control("{\"fail\": 1, \"status\": 503, \"retry_after\": 30}");
    asps_collateral *c = NULL;
    asps_errbuf eb;
    assert_int_equal(fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb),
                     ASPS_E_UNAVAILABLE);
    assert_null(c);
    assert_non_null(strstr(eb.msg, "HTTP 503"));
    assert_non_null(strstr(eb.msg, "retry after 30 s"));
    assert_int_equal(asps_pccs_requests(p), 1);
    control("{}");
    asps_pccs_free(p);
}

static void test_pccs_refuses_server_cert_not_in_ca_file(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    asps_pccs *p = client("other.pem");
    asps_collateral *c = NULL;
    asps_errbuf eb;
    assert_int_equal(fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb),
                     ASPS_E_UNAVAILABLE);
    assert_null(c);
    assert_non_null(strstr(eb.msg, "pckcrl"));
    /* a TLS refusal is not retried */
    assert_int_equal(asps_pccs_requests(p), 1);
    asps_pccs_free(p);
}

static void test_pccs_refuses_oversized_body(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    asps_pccs *p = client("c.pem");
    control("{\"mangle\": \"oversize\"}");
    asps_collateral *c = NULL;
    asps_errbuf eb;
    asps_err e = fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb);
    control("{}");
    assert_int_equal(e, ASPS_E_LIMIT);
    assert_null(c);
    assert_non_null(strstr(eb.msg, "/tcb"));
    asps_pccs_free(p);
}

static void test_pccs_malformed_tcb_body_is_parse_error(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    asps_pccs *p = client("c.pem");
    control("{\"mangle\": \"malformed\"}");
    asps_collateral *c = NULL;
    asps_errbuf eb;
    asps_err e = fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb);
    control("{}");
    assert_int_equal(e, ASPS_E_PARSE);
    assert_null(c);
    assert_non_null(strstr(eb.msg, "tcb"));
    asps_pccs_free(p);
}

/* PCCS answers the PCK CRL as DER, hex or PEM depending on version and
 * query; each must become the same DER. */
static void test_pccs_accepts_pck_crl_as_hex_and_pem(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    size_t n;
    uint8_t *bundle = tu_read_vector("sgx_quote_collateral.json", &n);
    asps_collateral *orig;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_parse_bundle(bundle, n, &orig, &eb), ASPS_OK);
    char *want;
    assert_int_equal(asps_collateral_to_bundle(orig, &want, &eb), ASPS_OK);
    const char *modes[2] = {"{\"crl\": \"hex\"}", "{\"crl\": \"pem\"}"};
    for (int i = 0; i < 2; i++) {
        asps_pccs *p = client("c.pem");
        control(modes[i]);
        asps_collateral *c = NULL;
        asps_err e = fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb);
        control("{}");
        if (e != ASPS_OK)
            fail_msg("%s: %s", modes[i], eb.msg);
        char *got;
        assert_int_equal(asps_collateral_to_bundle(c, &got, &eb), ASPS_OK);
        assert_string_equal(got, want);
        free(got);
        asps_collateral_free(c);
        asps_pccs_free(p);
    }
    free(want);
    free(bundle);
    asps_collateral_free(orig);
}

/* The PCCS metrics: every request timed per endpoint; a failed one counted
 * once (retries inside it are not separate errors); the older TCB info
 * issuer chain header (SGX-TCB-Info-Issuer-Chain, tried after the new
 * name) is not an error. */
static void test_pccs_metrics_count_errors_not_header_fallbacks(void **state)
{
    (void)state;
    if (!server_port)
        pccs_skip();
    asps_metric *err = asps_metrics_counter("asps_pccs_errors_total", "", ASPS_LABELS("endpoint"));
    asps_metric *lat = asps_metrics_histogram("asps_pccs_request_duration_seconds", "",
                                              ASPS_LABELS("endpoint"), asps_metrics_latency_buckets,
                                              13);
    asps_errbuf eb;
    asps_pccs *p = client("c.pem");
    asps_collateral *c = NULL;
    control("{\"tcb_header\": \"SGX-TCB-Info-Issuer-Chain\"}");
    double e0 = asps_metric_value(err, ASPS_LABELS("tcb")), l0 = asps_metric_value(lat, ASPS_LABELS("tcb"));
    asps_err e = fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb);
    control("{}");
    if (e != ASPS_OK)
        fail_msg("older header: %s", eb.msg);
    asps_collateral_free(c);
    assert_non_null(err);
    assert_non_null(lat);
    assert_true(asps_metric_value(err, ASPS_LABELS("tcb")) == e0);
    assert_true(asps_metric_value(lat, ASPS_LABELS("tcb")) == l0 + 2); /* both names tried */
    asps_pccs_free(p);
    /* 500 past the retries: one error for the endpoint that failed */
    p = client("c.pem");
    double p0 = asps_metric_value(err, ASPS_LABELS("pckcrl"));
    control("{\"fail\": 100, \"status\": 500}");
    assert_int_equal(fetch(p, ASPS_TEE_SGX, sgx_fmspc, "platform", &c, &eb),
                     ASPS_E_UNAVAILABLE);
    control("{}");
    assert_true(asps_metric_value(err, ASPS_LABELS("pckcrl")) == p0 + 1);
    assert_true(asps_pccs_ready(p) == 0); /* the last fetch failed */
    assert_int_equal(fetch(p, ASPS_TEE_SGX, sgx_fmspc, "processor", &c, &eb),
                     ASPS_OK);
    asps_collateral_free(c);
    assert_true(asps_pccs_ready(p) == 1);
    control("{\"fail\": 100, \"status\": 500}");
    assert_int_equal(fetch(p, ASPS_TEE_SGX, sgx_fmspc, "platform", &c, &eb),
                     ASPS_E_UNAVAILABLE);
    control("{}");
    /* failed again: whether held collateral still serves is the source's
     * question (test_collateral_cache, test_trust) */
    assert_true(asps_pccs_ready(p) == 0);
    asps_pccs_free(p);
}

static void test_pccs_refuses_bad_arguments(void **state)
{
    (void)state;
    asps_pccs *p;
    asps_errbuf eb;
    assert_int_equal(asps_pccs_new("ftp://x", NULL, &p, &eb), ASPS_E_ARG);
    assert_int_equal(asps_pccs_new("https://127.0.0.1:1", NULL, &p, &eb), ASPS_OK);
    asps_collateral *c;
    const uint8_t fmspc[6] = {0};
    assert_int_equal(fetch(p, ASPS_TEE_SGX, fmspc, "bogus", &c, &eb), ASPS_E_ARG);
    asps_pccs_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pccs_collateral_is_byte_identical),
        cmocka_unit_test(test_pccs_404_is_unavailable_naming_the_endpoint),
        cmocka_unit_test(test_pccs_retries_500_twice_then_succeeds),
        cmocka_unit_test(test_pccs_500_beyond_retries_is_unavailable),
        cmocka_unit_test(test_pccs_waits_as_retry_after_asks),
        cmocka_unit_test(test_pccs_long_retry_after_is_not_waited_for),
        cmocka_unit_test(test_pccs_refuses_server_cert_not_in_ca_file),
        cmocka_unit_test(test_pccs_refuses_oversized_body),
        cmocka_unit_test(test_pccs_malformed_tcb_body_is_parse_error),
        cmocka_unit_test(test_pccs_accepts_pck_crl_as_hex_and_pem),
        cmocka_unit_test(test_pccs_metrics_count_errors_not_header_fallbacks),
        cmocka_unit_test(test_pccs_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
