/* test_server_queue.c: calls over max_concurrent_calls wait for a slot
 * (issue 17), through the rpc server over loopback with a real gRPC client:
 *  - with one slot and a slow handler, a second call waits and succeeds;
 *  - a waiting call whose own deadline passes gets DEADLINE_EXCEEDED, its
 *    handler never runs, and the server tells on_refused (the audit line in
 *    asps) with RETRY set;
 *  - the same when the server's call deadline passes first: the client gets
 *    the server's own DEADLINE_EXCEEDED message;
 *  - beyond max_waiting_calls: RESOURCE_EXHAUSTED with gRPC's retry
 *    pushback, at once, while the waiting call still succeeds; the load
 *    (asps_rpc_server_load: in flight, waiting, totals) says so meanwhile;
 *  - max_waiting_calls 0: busy at once, as before;
 *  - shutdown with calls waiting returns within its drain bound: the running
 *    call finishes, the waiting ones get UNAVAILABLE "server shutting down". */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rpc.h"
#include "util.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- a self-signed P-256 certificate (both ends: verify callbacks decide) ---- */

static char *srv_cert, *srv_key, *cli_cert, *cli_key;

static char *bio_text(BIO *b)
{
    char *d;
    long n = BIO_get_mem_data(b, &d);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, d, (size_t)n);
    s[n] = 0;
    return s;
}

static void self_signed(const char *cn, char **cert, char **key)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_true(k && x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, k);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
    assert_non_null(san);
    X509_add_ext(x, san, -1);
    X509_EXTENSION_free(san);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    *cert = bio_text(b);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    *key = bio_text(b);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
}

static int accept_any(void *ctx, const char *pem, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    return pem == NULL; /* a certificate, any */
}

/* ---- server side ---------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int slow_ms, slow_started, echo_calls;
static int64_t echo_left_ms; /* what the last Echo handler had left of its call's deadline */
static int refused_n, refused_status, refused_retry;
static int64_t refused_at;
static char refused_msg[256];

static int reply_echo(const uint8_t *req, size_t len, uint8_t **reply, size_t *reply_len)
{
    *reply = malloc(len + 1);
    assert_non_null(*reply);
    memcpy(*reply, req, len);
    *reply_len = len;
    return ASPS_RPC_OK;
}

static int slow_handler(void *ctx, const char *pem, const char *peer, const uint8_t *req,
                        size_t len, uint8_t **reply, size_t *reply_len, char *msg, size_t msglen)
{
    (void)ctx, (void)pem, (void)peer, (void)msg, (void)msglen;
    pthread_mutex_lock(&mu);
    slow_started++;
    int ms = slow_ms;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    sleep_ms(ms);
    return reply_echo(req, len, reply, reply_len);
}

static int echo_handler(void *ctx, const char *pem, const char *peer, const uint8_t *req,
                        size_t len, uint8_t **reply, size_t *reply_len, char *msg, size_t msglen)
{
    (void)ctx, (void)pem, (void)peer, (void)msg, (void)msglen;
    int64_t d = asps_rpc_call_deadline_mono_ms();
    pthread_mutex_lock(&mu);
    echo_calls++;
    echo_left_ms = d ? d - asps_now_mono_ms() : -1;
    pthread_mutex_unlock(&mu);
    return reply_echo(req, len, reply, reply_len);
}

static void on_refused(void *ctx, const char *pem, const char *addr, const char *method,
                       int status, const char *msg, int retry)
{
    (void)ctx, (void)pem, (void)addr, (void)method;
    pthread_mutex_lock(&mu);
    refused_n++;
    refused_status = status;
    refused_retry = retry;
    refused_at = now_ms();
    snprintf(refused_msg, sizeof refused_msg, "%s", msg);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* the observations, copied under the lock (asserting while holding it would
 * leave it locked for the next test when an assertion fails) */
typedef struct {
    int slow_started, echo_calls, refused_n, refused_status, refused_retry;
    int64_t refused_at;
    char refused_msg[256];
} obs;

static obs snap(void)
{
    obs o;
    pthread_mutex_lock(&mu);
    o.slow_started = slow_started;
    o.echo_calls = echo_calls;
    o.refused_n = refused_n;
    o.refused_status = refused_status;
    o.refused_retry = refused_retry;
    o.refused_at = refused_at;
    memcpy(o.refused_msg, refused_msg, sizeof o.refused_msg);
    pthread_mutex_unlock(&mu);
    return o;
}

static asps_rpc_server *start(unsigned max_waiting, unsigned deadline_ms, int *port)
{
    pthread_mutex_lock(&mu);
    slow_started = echo_calls = refused_n = refused_status = refused_retry = 0;
    refused_msg[0] = 0;
    pthread_mutex_unlock(&mu);
    asps_rpc_server_opts o = {
        .listen_addr = "127.0.0.1:0",
        .cert_chain_pem = srv_cert,
        .key_pem = srv_key,
        .verify = accept_any,
        .max_concurrent_calls = 1,
        .max_waiting_calls = max_waiting,
        .call_deadline_ms = deadline_ms,
        .worker_threads = 4,
        .io_threads = 2,
        .on_refused = on_refused,
    };
    asps_rpc_server *s = NULL;
    asps_errbuf eb;
    if (asps_rpc_server_new(&o, &s, &eb) != ASPS_OK)
        fail_msg("server_new: %s", eb.msg);
    assert_int_equal(asps_rpc_server_add_method(s, "/t.Q/Slow", slow_handler, NULL, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_server_add_method(s, "/t.Q/Echo", echo_handler, NULL, &eb), ASPS_OK);
    if (asps_rpc_server_start(s, port, &eb) != ASPS_OK)
        fail_msg("server_start: %s", eb.msg);
    return s;
}

/* ---- client side ---------------------------------------------------------- */

typedef struct {
    int port;
    const char *method;
    unsigned deadline_ms;
    int status;
    long pushback;
    char msg[256];
    int64_t t0, t1;
    pthread_t th;
} bg;

static void do_call(bg *b)
{
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", b->port);
    asps_rpc_client_opts o = {.target = target, .cert_pem = cli_cert, .key_pem = cli_key,
                              .verify = accept_any, .deadline_ms = b->deadline_ms ? b->deadline_ms : 10000};
    asps_rpc_client *c = NULL;
    asps_errbuf eb;
    if (asps_rpc_client_new(&o, &c, &eb) != ASPS_OK)
        fail_msg("client_new: %s", eb.msg);
    uint8_t *reply = NULL;
    size_t rl = 0;
    b->t0 = now_ms();
    if (asps_rpc_client_call_pushback(c, b->method, (const uint8_t *)"hi", 2, &b->status, b->msg,
                                      sizeof b->msg, &reply, &rl, &b->pushback, &eb) != ASPS_OK)
        fail_msg("call: %s", eb.msg);
    b->t1 = now_ms();
    if (b->status == ASPS_RPC_OK)
        assert_true(rl == 2 && memcmp(reply, "hi", 2) == 0);
    free(reply);
    asps_rpc_client_free(c);
}

static void *bg_main(void *arg)
{
    do_call(arg);
    return NULL;
}

static void start_bg(bg *b) { assert_int_equal(pthread_create(&b->th, NULL, bg_main, b), 0); }

static void wait_slow_started(int n)
{
    pthread_mutex_lock(&mu);
    while (slow_started < n)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

/* a slow call holding the one slot, its handler running */
static void occupy(bg *slow, int port, int ms)
{
    pthread_mutex_lock(&mu);
    slow_ms = ms;
    pthread_mutex_unlock(&mu);
    *slow = (bg){.port = port, .method = "/t.Q/Slow"};
    start_bg(slow);
    wait_slow_started(1);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_waiting_call_succeeds(void **state)
{
    (void)state;
    obs o;
    int port;
    asps_rpc_server *s = start(4, 10000, &port);
    bg slow;
    occupy(&slow, port, 600);
    bg b = {.port = port, .method = "/t.Q/Echo", .deadline_ms = 3000};
    do_call(&b);
    pthread_join(slow.th, NULL);
    assert_int_equal(slow.status, ASPS_RPC_OK);
    assert_int_equal(b.status, ASPS_RPC_OK); /* not RESOURCE_EXHAUSTED */
    /* its handler is told what is left of the call's own deadline (the
     * client's 3 s, not the server's 10 s), the wait taken off: a KMS
     * fetch is kept before it (service.c fetch_values) */
    pthread_mutex_lock(&mu);
    int64_t left = echo_left_ms;
    pthread_mutex_unlock(&mu);
    assert_true(left > 0 && left <= 3000 - 500);
    /* it ran once the slow call had its answer, not before */
    assert_true(b.t1 >= slow.t1 - 50);
    o = snap();
    assert_int_equal(o.refused_n, 0);
    assert_int_equal(o.echo_calls, 1);
    asps_rpc_server_free(s);
}

static void test_busy_at_once_without_waiting(void **state)
{
    (void)state;
    int port;
    asps_rpc_server *s = start(0, 10000, &port);
    bg slow;
    occupy(&slow, port, 600);
    bg b = {.port = port, .method = "/t.Q/Echo"};
    do_call(&b);
    assert_int_equal(b.status, ASPS_RPC_RESOURCE_EXHAUSTED);
    assert_int_equal(b.pushback, ASPS_RPC_BUSY_PUSHBACK_MS);
    pthread_join(slow.th, NULL);
    assert_true(b.t1 < slow.t1); /* answered while the slot was taken */
    asps_rpc_server_free(s);
}

static void wait_refused(int n)
{
    int64_t until = now_ms() + 3000;
    pthread_mutex_lock(&mu);
    while (refused_n < n && now_ms() < until) {
        pthread_mutex_unlock(&mu);
        sleep_ms(20);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
}

static void test_waiting_past_own_deadline(void **state)
{
    (void)state;
    obs o;
    int port;
    asps_rpc_server *s = start(4, 10000, &port);
    bg slow;
    occupy(&slow, port, 1500);
    bg b = {.port = port, .method = "/t.Q/Echo", .deadline_ms = 400};
    do_call(&b);
    assert_int_equal(b.status, ASPS_RPC_DEADLINE_EXCEEDED);
    wait_refused(1); /* the server's reaper sees it within its interval */
    o = snap();
    assert_int_equal(o.refused_n, 1);
    assert_int_equal(o.refused_status, ASPS_RPC_DEADLINE_EXCEEDED);
    assert_int_equal(o.refused_retry, 1);
    assert_non_null(strstr(o.refused_msg, "while waiting"));
    assert_int_equal(o.echo_calls, 0); /* its handler never ran */
    pthread_join(slow.th, NULL);
    assert_int_equal(slow.status, ASPS_RPC_OK);
    o = snap();
    assert_int_equal(o.echo_calls, 0); /* not even after the slot came free */
    /* told while it waited (the reaper), not when the slot came free at 1.5 s */
    assert_true(o.refused_at - b.t0 < 1200);
    asps_rpc_server_free(s);
}

static void test_waiting_past_server_deadline(void **state)
{
    (void)state;
    obs o;
    int port;
    asps_rpc_server *s = start(4, 300, &port);
    bg slow;
    occupy(&slow, port, 1500); /* cancelled at 300 ms, but its handler holds the slot */
    bg b = {.port = port, .method = "/t.Q/Echo"};
    do_call(&b);
    assert_int_equal(b.status, ASPS_RPC_DEADLINE_EXCEEDED);
    assert_non_null(strstr(b.msg, "while waiting"));  /* the server's answer, not gRPC's */
    assert_true(b.t1 - b.t0 < 1200);                   /* before the slot came free */
    o = snap();
    assert_int_equal(o.echo_calls, 0);
    pthread_join(slow.th, NULL);
    asps_rpc_server_free(s);
}

static void test_backlog_bound_is_busy(void **state)
{
    (void)state;
    obs o;
    int port;
    asps_rpc_server *s = start(1, 10000, &port);
    asps_rpc_load l;
    asps_rpc_server_load(s, &l);
    assert_true(l.in_flight == 0 && l.waiting == 0 && l.waited_total == 0 && l.busy_total == 0);
    bg slow;
    occupy(&slow, port, 1000);
    bg w = {.port = port, .method = "/t.Q/Echo"};
    start_bg(&w);
    sleep_ms(300); /* w is waiting: the one place */
    /* the load as metrics read it (asps_calls_in_flight, _waiting, ...) */
    asps_rpc_server_load(s, &l);
    assert_int_equal(l.in_flight, 1);
    assert_int_equal(l.waiting, 1);
    assert_int_equal(l.waited_total, 1);
    assert_int_equal(l.busy_total, 0);
    bg b = {.port = port, .method = "/t.Q/Echo"};
    do_call(&b);
    assert_int_equal(b.status, ASPS_RPC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(b.msg, "server busy"));
    assert_int_equal(b.pushback, ASPS_RPC_BUSY_PUSHBACK_MS);
    asps_rpc_server_load(s, &l);
    assert_int_equal(l.busy_total, 1);
    pthread_join(w.th, NULL);
    pthread_join(slow.th, NULL);
    assert_int_equal(w.status, ASPS_RPC_OK);
    assert_true(b.t1 < w.t1); /* refused at once, not after waiting */
    o = snap();
    assert_int_equal(o.refused_n, 1);
    assert_int_equal(o.refused_status, ASPS_RPC_RESOURCE_EXHAUSTED);
    asps_rpc_server_load(s, &l); /* all answered: the totals stay */
    assert_true(l.in_flight == 0 && l.waiting == 0 && l.waited_total == 1 && l.busy_total == 1);
    asps_rpc_server_free(s);
}

static void test_shutdown_with_waiting_calls(void **state)
{
    (void)state;
    obs o;
    int port;
    asps_rpc_server *s = start(8, 10000, &port);
    bg slow;
    occupy(&slow, port, 800);
    bg w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (bg){.port = port, .method = "/t.Q/Echo"};
        start_bg(&w[i]);
    }
    sleep_ms(300);
    int64_t t0 = now_ms();
    asps_rpc_server_shutdown(s, 5000);
    int64_t took = now_ms() - t0;
    pthread_join(slow.th, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_join(w[i].th, NULL);
        assert_int_equal(w[i].status, ASPS_RPC_UNAVAILABLE);
    }
    assert_int_equal(slow.status, ASPS_RPC_OK); /* drained */
    assert_true(took < 5000 + 1000);             /* the drain bound */
    assert_int_equal(asps_rpc_server_abandoned(s), 0);
    o = snap();
    assert_int_equal(o.echo_calls, 0);
    assert_int_equal(o.refused_n, 3); /* each told to on_refused */
    assert_int_equal(o.refused_status, ASPS_RPC_UNAVAILABLE);
    asps_rpc_server_free(s);
}

static int setup(void **state)
{
    (void)state;
    self_signed("queue-server", &srv_cert, &srv_key);
    self_signed("queue-client", &cli_cert, &cli_key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(srv_cert);
    free(srv_key);
    free(cli_cert);
    free(cli_key);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waiting_call_succeeds),
        cmocka_unit_test(test_busy_at_once_without_waiting),
        cmocka_unit_test(test_waiting_past_own_deadline),
        cmocka_unit_test(test_waiting_past_server_deadline),
        cmocka_unit_test(test_backlog_bound_is_busy),
        cmocka_unit_test(test_shutdown_with_waiting_calls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
