/* test_rpc.c: the rpc transport end to end over loopback with throwaway
 * certificates: who may connect, what handlers see, limits, robustness,
 * shutdown, and the message helpers. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rpc.h"

/* ---- throwaway PKI ---------------------------------------------------------------- */

typedef struct {
    char *cert; /* PEM */
    char *key;  /* PEM */
    EVP_PKEY *pkey;
    X509 *x509;
} tcert;

static char *bio_string(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, data, (size_t)n);
    s[n] = 0;
    return s;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* issuer NULL: self-signed. san: subjectAltName value or NULL. crit_oids:
 * NULL-terminated list of extension OIDs to add, marked critical, or NULL. */
static tcert make_cert_ex(const char *cn, const tcert *issuer, int is_ca, const char *san,
                          const char *const *crit_oids)
{
    tcert t = {0};
    t.pkey = EVP_EC_gen("P-256");
    assert_non_null(t.pkey);
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    static long serial = 1;
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->x509) : name);
    X509_set_pubkey(x, t.pkey);
    X509 *iss = issuer ? issuer->x509 : x;
    add_ext(x, iss, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, iss, NID_key_usage, is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    if (!is_ca)
        add_ext(x, iss, NID_ext_key_usage, "serverAuth,clientAuth");
    add_ext(x, iss, NID_subject_key_identifier, "hash");
    if (san)
        add_ext(x, iss, NID_subject_alt_name, san);
    for (size_t i = 0; crit_oids && crit_oids[i]; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(crit_oids[i], 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        assert_true(o && os && ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2));
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 1, os);
        assert_non_null(e);
        assert_int_equal(X509_add_ext(x, e, -1), 1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
    }
    assert_true(X509_sign(x, issuer ? issuer->pkey : t.pkey, EVP_sha256()) > 0);
    t.x509 = x;
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    t.cert = bio_string(b);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, t.pkey, NULL, NULL, 0, NULL, NULL);
    t.key = bio_string(b);
    BIO_free(b);
    return t;
}

static tcert make_cert(const char *cn, const tcert *issuer, int is_ca, const char *san)
{
    return make_cert_ex(cn, issuer, is_ca, san, NULL);
}

static void free_cert(tcert *t)
{
    free(t->cert);
    free(t->key);
    EVP_PKEY_free(t->pkey);
    X509_free(t->x509);
}

static tcert ca, server_cert, good, bad, other_server, ca_client;

/* ---- server side test doubles ------------------------------------------------------ */

/* What the verify callback and handlers saw; guarded by mu. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char *verifier_last_pem;
static int verifier_calls;
static char *handler_last_pem;
static char handler_last_peer[128];
static uint64_t handler_last_conn; /* asps_rpc_call_connection_id in the handler */
static int handler_calls;
static int slow_started;
static int slow_ms = 500;
static int block_release; /* Block handlers wait for it */


/* The subject CN of the PEM certificate (or "" when there is none). */
static void cn_of(const char *pem, char *cn, size_t n)
{
    cn[0] = 0;
    if (pem == NULL)
        return;
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (x)
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)n);
    X509_free(x);
}

/* Accept only the good client's certificate, by subject CN. */
static int verify_good_only(void *ctx, const char *pem, char *err, size_t errlen)
{
    (void)ctx;
    char cn[128];
    cn_of(pem, cn, sizeof cn);
    pthread_mutex_lock(&mu);
    verifier_calls++;
    free(verifier_last_pem);
    verifier_last_pem = pem ? strdup(pem) : NULL;
    pthread_mutex_unlock(&mu);
    if (strcmp(cn, "good-client") != 0) {
        snprintf(err, errlen, "certificate '%s' not accepted", cn);
        return 1;
    }
    return 0;
}

static void note_handler(const char *pem, const char *peer)
{
    pthread_mutex_lock(&mu);
    handler_calls++;
    free(handler_last_pem);
    handler_last_pem = pem ? strdup(pem) : NULL;
    snprintf(handler_last_peer, sizeof handler_last_peer, "%s", peer);
    handler_last_conn = asps_rpc_call_connection_id();
    pthread_mutex_unlock(&mu);
}

static int echo_handler(void *ctx, const char *pem, const char *peer, const uint8_t *req,
                        size_t len, uint8_t **reply, size_t *reply_len, char *msg, size_t msglen)
{
    (void)ctx;
    (void)msg;
    (void)msglen;
    note_handler(pem, peer);
    *reply = malloc(len + 5);
    memcpy(*reply, "echo:", 5);
    memcpy(*reply + 5, req, len);
    *reply_len = len + 5;
    return ASPS_RPC_OK;
}

static int deny_handler(void *ctx, const char *pem, const char *peer, const uint8_t *req,
                        size_t len, uint8_t **reply, size_t *reply_len, char *msg, size_t msglen)
{
    (void)ctx;
    (void)req;
    (void)len;
    (void)reply;
    (void)reply_len;
    note_handler(pem, peer);
    snprintf(msg, msglen, "not for you");
    return ASPS_RPC_PERMISSION_DENIED;
}

static int slow_handler(void *ctx, const char *pem, const char *peer, const uint8_t *req,
                        size_t len, uint8_t **reply, size_t *reply_len, char *msg, size_t msglen)
{
    pthread_mutex_lock(&mu);
    slow_started++;
    pthread_cond_broadcast(&cv);
    int ms = slow_ms;
    pthread_mutex_unlock(&mu);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return echo_handler(ctx, pem, peer, req, len, reply, reply_len, msg, msglen);
}

/* A handler blocked where nothing reaches it (a hung file system) until
 * the test releases it. */
static int block_handler(void *ctx, const char *pem, const char *peer, const uint8_t *req,
                         size_t len, uint8_t **reply, size_t *reply_len, char *msg, size_t msglen)
{
    pthread_mutex_lock(&mu);
    slow_started++;
    pthread_cond_broadcast(&cv);
    while (!block_release)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return echo_handler(ctx, pem, peer, req, len, reply, reply_len, msg, msglen);
}

static void reset_observations(void)
{
    pthread_mutex_lock(&mu);
    free(verifier_last_pem);
    free(handler_last_pem);
    verifier_last_pem = handler_last_pem = NULL;
    verifier_calls = handler_calls = slow_started = 0;
    handler_last_peer[0] = 0;
    handler_last_conn = 0;
    pthread_mutex_unlock(&mu);
}

static asps_rpc_server *start_server(unsigned max_calls, unsigned deadline_ms, size_t max_msg,
                                     int *port)
{
    asps_rpc_server_opts o = {
        .listen_addr = "127.0.0.1:0",
        .cert_chain_pem = server_cert.cert,
        .key_pem = server_cert.key,
        .verify = verify_good_only,
        .max_message_size = max_msg,
        .max_concurrent_calls = max_calls,
        .call_deadline_ms = deadline_ms,
        .worker_threads = 4,
        .io_threads = 2,
    };
    asps_rpc_server *s = NULL;
    asps_errbuf eb;
    asps_err rc = asps_rpc_server_new(&o, &s, &eb);
    if (rc != ASPS_OK)
        fail_msg("server_new: %s", eb.msg);
    assert_int_equal(asps_rpc_server_add_method(s, "/asps.test.Echo/Echo", echo_handler, NULL, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_server_add_method(s, "/asps.test.Echo/Slow", slow_handler, NULL, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_server_add_method(s, "/asps.test.Echo/Block", block_handler, NULL, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_server_add_method(s, ASPS_RPC_METHOD_GET_SECRETS, deny_handler, NULL, &eb), ASPS_OK);
    rc = asps_rpc_server_start(s, port, &eb);
    if (rc != ASPS_OK)
        fail_msg("server_start: %s", eb.msg);
    assert_true(*port > 0);
    return s;
}

/* ---- client side helpers ------------------------------------------------------------ */

static asps_rpc_client *client_ca(int port, const tcert *id, const char *server_name)
{
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    asps_rpc_client_opts o = {
        .target = target,
        .cert_pem = id ? id->cert : NULL,
        .key_pem = id ? id->key : NULL,
        .ca_pem = ca.cert,
        .server_name = server_name,
        .deadline_ms = 5000,
    };
    asps_rpc_client *c = NULL;
    asps_errbuf eb;
    if (asps_rpc_client_new(&o, &c, &eb) != ASPS_OK)
        fail_msg("client_new: %s", eb.msg);
    return c;
}

/* Pin: accept the server only if its leaf certificate is exactly ctx. */
static int verify_pinned(void *ctx, const char *pem, char *err, size_t errlen)
{
    if (pem == NULL || strcmp(pem, (const char *)ctx) != 0) {
        snprintf(err, errlen, "server certificate is not the pinned one");
        return 1;
    }
    return 0;
}

static asps_rpc_client *client_pinned(int port, const tcert *id, const char *pin)
{
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    asps_rpc_client_opts o = {
        .target = target,
        .cert_pem = id ? id->cert : NULL,
        .key_pem = id ? id->key : NULL,
        .verify = verify_pinned,
        .verify_ctx = (void *)pin,
        .deadline_ms = 5000,
    };
    asps_rpc_client *c = NULL;
    asps_errbuf eb;
    if (asps_rpc_client_new(&o, &c, &eb) != ASPS_OK)
        fail_msg("client_new: %s", eb.msg);
    return c;
}

typedef struct {
    int status;
    char msg[512];
    uint8_t *reply;
    size_t reply_len;
} result;

static result call(asps_rpc_client *c, const char *method, const void *req, size_t len)
{
    result r = {0};
    asps_errbuf eb;
    asps_err rc = asps_rpc_client_call(c, method, req, len, &r.status, r.msg, sizeof r.msg,
                                       &r.reply, &r.reply_len, &eb);
    if (rc != ASPS_OK)
        fail_msg("client_call: %s", eb.msg);
    return r;
}

static void expect_echo(asps_rpc_client *c, const char *text)
{
    result r = call(c, "/asps.test.Echo/Echo", text, strlen(text));
    if (r.status != ASPS_RPC_OK)
        fail_msg("echo failed: %s: %s", asps_rpc_status_name(r.status), r.msg);
    assert_int_equal(r.reply_len, strlen(text) + 5);
    assert_memory_equal(r.reply, "echo:", 5);
    assert_memory_equal(r.reply + 5, text, strlen(text));
    free(r.reply);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- fixtures ----------------------------------------------------------------------- */

static asps_rpc_server *srv;
static int srv_port;

static int group_setup(void **state)
{
    (void)state;
    ca = make_cert("asps test CA", NULL, 1, NULL);
    server_cert = make_cert("asps test server", &ca, 0, "IP:127.0.0.1,DNS:asps.test");
    other_server = make_cert("someone else", &ca, 0, "IP:127.0.0.1");
    good = make_cert("good-client", NULL, 0, NULL);
    bad = make_cert("bad-client", NULL, 0, NULL);
    ca_client = make_cert("ca-client", &ca, 0, NULL);
    srv = start_server(0, 0, 64 * 1024, &srv_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    asps_rpc_server_free(srv);
    free_cert(&ca);
    free_cert(&server_cert);
    free_cert(&other_server);
    free_cert(&good);
    free_cert(&bad);
    free_cert(&ca_client);
    reset_observations();
    return 0;
}

static int each_setup(void **state)
{
    (void)state;
    reset_observations();
    return 0;
}

/* ---- tests: who may connect ------------------------------------------------------------ */

static void test_good_client_gets_reply_and_handler_sees_verified_cert(void **state)
{
    (void)state;
    asps_rpc_client *c = client_ca(srv_port, &good, NULL);
    expect_echo(c, "hello");
    pthread_mutex_lock(&mu);
    assert_int_equal(handler_calls, 1);
    assert_true(verifier_calls >= 1);
    assert_non_null(verifier_last_pem);
    assert_non_null(handler_last_pem);
    assert_string_equal(handler_last_pem, verifier_last_pem);
    assert_string_equal(handler_last_pem, good.cert);
    assert_non_null(strstr(handler_last_peer, "127.0.0.1"));
    uint64_t conn = handler_last_conn;
    pthread_mutex_unlock(&mu);
    assert_true(conn != 0);
    /* a second call reuses the connection: no new handshake, and the
     * handler sees the same connection id (one auth context per
     * connection in gRPC core: conns.c) */
    expect_echo(c, "again");
    pthread_mutex_lock(&mu);
    assert_int_equal(verifier_calls, 1);
    assert_int_equal(handler_calls, 2);
    uint64_t again = handler_last_conn;
    pthread_mutex_unlock(&mu);
    assert_int_equal(again, conn);
    /* another connection (the same certificate) gets its own id, and
     * the first keeps its own; outside a handler there is none */
    asps_rpc_client *c2 = client_ca(srv_port, &good, NULL);
    expect_echo(c2, "second connection");
    pthread_mutex_lock(&mu);
    uint64_t conn2 = handler_last_conn;
    pthread_mutex_unlock(&mu);
    assert_true(conn2 != 0 && conn2 != conn);
    expect_echo(c, "first again");
    pthread_mutex_lock(&mu);
    again = handler_last_conn;
    pthread_mutex_unlock(&mu);
    assert_int_equal(again, conn);
    expect_echo(c2, "second again");
    pthread_mutex_lock(&mu);
    again = handler_last_conn;
    pthread_mutex_unlock(&mu);
    assert_int_equal(again, conn2);
    assert_int_equal(asps_rpc_call_connection_id(), 0);
    asps_rpc_client_free(c2);
    asps_rpc_client_free(c);
}

static void test_bad_client_cert_fails_handshake_and_handler_never_runs(void **state)
{
    (void)state;
    asps_rpc_client *c = client_ca(srv_port, &bad, NULL);
    int64_t t0 = now_ms();
    result r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
    assert_true(now_ms() - t0 < 4000); /* refused, not timed out */
    assert_true(r.msg[0] != 0);
    assert_null(r.reply);
    pthread_mutex_lock(&mu);
    assert_true(verifier_calls >= 1);
    assert_string_equal(verifier_last_pem, bad.cert); /* the verifier did refuse it */
    assert_int_equal(handler_calls, 0);
    pthread_mutex_unlock(&mu);
    asps_rpc_client_free(c);
}

static void test_client_without_cert_fails_handshake(void **state)
{
    (void)state;
    asps_rpc_client *c = client_ca(srv_port, NULL, NULL);
    result r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
    pthread_mutex_lock(&mu);
    assert_int_equal(handler_calls, 0);
    pthread_mutex_unlock(&mu);
    asps_rpc_client_free(c);
}

static void test_client_checks_server_name_against_ca_cert(void **state)
{
    (void)state;
    asps_rpc_client *c = client_ca(srv_port, &good, "asps.test"); /* in the SAN */
    expect_echo(c, "named");
    asps_rpc_client_free(c);
    c = client_ca(srv_port, &good, "not-the-server.test");
    result r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
    asps_rpc_client_free(c);
}

static void test_client_verify_callback_pins_server_cert(void **state)
{
    (void)state;
    asps_rpc_client *c = client_pinned(srv_port, &good, server_cert.cert);
    expect_echo(c, "pinned");
    asps_rpc_client_free(c);
    c = client_pinned(srv_port, &good, other_server.cert);
    result r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
    assert_non_null(strstr(r.msg, "not the pinned one")); /* our verifier's reason */
    asps_rpc_client_free(c);
    c = client_pinned(srv_port, NULL, server_cert.cert); /* pinned, but no client cert */
    r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
    asps_rpc_client_free(c);
    pthread_mutex_lock(&mu);
    assert_int_equal(handler_calls, 1);
    pthread_mutex_unlock(&mu);
}

static void test_connection_refused_is_unavailable_not_a_hang(void **state)
{
    (void)state;
    /* a port that was free a moment ago */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    asps_rpc_client *c = client_ca(ntohs(a.sin_port), &good, NULL);
    int64_t t0 = now_ms();
    result r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
    assert_true(now_ms() - t0 < 4000);
    asps_rpc_client_free(c);
}

/* ---- tests: methods and statuses ------------------------------------------------------- */

static void test_health_check_reports_serving(void **state)
{
    (void)state;
    asps_rpc_client *c = client_ca(srv_port, &good, NULL);
    const char *svcs[] = {"", "asps.v1.SecretProvision", "asps.test.Echo"};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *req;
        size_t len;
        asps_errbuf eb;
        assert_int_equal(asps_rpc_encode_health_request(svcs[i], &req, &len, &eb), ASPS_OK);
        result r = call(c, ASPS_RPC_METHOD_HEALTH_CHECK, req, len);
        free(req);
        assert_int_equal(r.status, ASPS_RPC_OK);
        int st = -1;
        assert_int_equal(asps_rpc_decode_health_reply(r.reply, r.reply_len, &st, &eb), ASPS_OK);
        assert_int_equal(st, ASPS_RPC_HEALTH_SERVING);
        free(r.reply);
    }
    uint8_t *req;
    size_t len;
    asps_errbuf eb;
    assert_int_equal(asps_rpc_encode_health_request("no.such.Service", &req, &len, &eb), ASPS_OK);
    result r = call(c, ASPS_RPC_METHOD_HEALTH_CHECK, req, len);
    free(req);
    assert_int_equal(r.status, ASPS_RPC_NOT_FOUND);
    asps_rpc_client_free(c);
}

static void test_unknown_method_is_unimplemented(void **state)
{
    (void)state;
    asps_rpc_client *c = client_ca(srv_port, &good, NULL);
    result r = call(c, "/asps.test.Echo/NoSuchMethod", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNIMPLEMENTED);
    r = call(c, "/no.Such/Thing", "", 0);
    assert_int_equal(r.status, ASPS_RPC_UNIMPLEMENTED);
    /* the server still serves */
    expect_echo(c, "still here");
    asps_rpc_client_free(c);
}

static void test_handler_status_and_message_reach_client(void **state)
{
    (void)state;
    asps_rpc_client *c = client_ca(srv_port, &good, NULL);
    result r = call(c, ASPS_RPC_METHOD_GET_SECRETS, "", 0);
    assert_int_equal(r.status, ASPS_RPC_PERMISSION_DENIED);
    assert_string_equal(r.msg, "not for you");
    assert_null(r.reply);
    asps_rpc_client_free(c);
}

static void test_empty_request_and_reply_work(void **state)
{
    (void)state;
    asps_rpc_client *c = client_ca(srv_port, &good, NULL);
    result r = call(c, "/asps.test.Echo/Echo", NULL, 0);
    assert_int_equal(r.status, ASPS_RPC_OK);
    assert_int_equal(r.reply_len, 5);
    free(r.reply);
    asps_rpc_client_free(c);
}

static void test_oversized_request_is_resource_exhausted(void **state)
{
    (void)state;
    asps_rpc_client *c = client_ca(srv_port, &good, NULL);
    size_t big = 64 * 1024 + 1;
    uint8_t *buf = calloc(1, big);
    result r = call(c, "/asps.test.Echo/Echo", buf, big);
    free(buf);
    assert_int_equal(r.status, ASPS_RPC_RESOURCE_EXHAUSTED);
    pthread_mutex_lock(&mu);
    assert_int_equal(handler_calls, 0);
    pthread_mutex_unlock(&mu);
    /* just under the limit passes (minus the reply prefix the client would
     * have to accept: the client's own limit is 4 MiB) */
    buf = calloc(1, 64 * 1024);
    r = call(c, "/asps.test.Echo/Echo", buf, 64 * 1024);
    free(buf);
    assert_int_equal(r.status, ASPS_RPC_OK);
    free(r.reply);
    asps_rpc_client_free(c);
}

/* ---- tests: robustness ---------------------------------------------------------------- */

static void test_garbage_tcp_client_does_not_stop_server(void **state)
{
    (void)state;
    static const char *junk[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "\x16\x03\x01\x00\x05hello",                       /* truncated TLS record */
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04", /* cleartext HTTP/2 */
    };
    for (size_t i = 0; i < 3; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv_port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        assert_true(write(fd, junk[i], strlen(junk[i])) > 0);
        close(fd);
    }
    /* and one that connects and says nothing, held open during the call */
    int idle = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(idle, (struct sockaddr *)&a, sizeof a), 0);
    asps_rpc_client *c = client_ca(srv_port, &good, NULL);
    expect_echo(c, "after garbage");
    asps_rpc_client_free(c);
    close(idle);
}

struct bg_call {
    int port;
    const char *method;

    result r;
    int64_t done_ms; /* when the call returned */
    pthread_t th;
};

static void *bg_call_main(void *arg)
{
    struct bg_call *b = arg;
    asps_rpc_client *c = client_ca(b->port, &good, NULL);
    b->r = call(c, b->method, "slow", 4);
    b->done_ms = now_ms();
    asps_rpc_client_free(c);
    return NULL;
}

static void wait_slow_started(int n)
{
    pthread_mutex_lock(&mu);
    while (slow_started < n)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static void test_calls_beyond_limit_are_resource_exhausted(void **state)
{
    (void)state;
    int port;
    asps_rpc_server *s = start_server(1, 0, 0, &port);
    slow_ms = 800;
    struct bg_call b = {.port = port, .method = "/asps.test.Echo/Slow"};
    pthread_create(&b.th, NULL, bg_call_main, &b);
    wait_slow_started(1);
    asps_rpc_client *c = client_ca(port, &good, NULL);
    result r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_RESOURCE_EXHAUSTED);
    pthread_join(b.th, NULL);
    assert_int_equal(b.r.status, ASPS_RPC_OK);
    free(b.r.reply);
    expect_echo(c, "room again"); /* the slot is free once the slow call ends */
    asps_rpc_client_free(c);
    asps_rpc_server_free(s);
}

static void test_call_past_server_deadline_is_deadline_exceeded(void **state)
{
    (void)state;
    int port;
    asps_rpc_server *s = start_server(0, 200, 0, &port);
    slow_ms = 1500;
    asps_rpc_client *c = client_ca(port, &good, NULL);
    expect_echo(c, "connect first"); /* so the timing below is the call's */
    int64_t t0 = now_ms();
    result r = call(c, "/asps.test.Echo/Slow", "x", 1);
    int64_t took = now_ms() - t0;
    assert_int_equal(r.status, ASPS_RPC_DEADLINE_EXCEEDED);
    assert_true(took < 1200);
    assert_null(r.reply);
    asps_rpc_client_free(c);
    asps_rpc_server_free(s); /* waits for the sleeping handler */
}

static void test_shutdown_drains_in_flight_call(void **state)
{
    (void)state;
    int port;
    asps_rpc_server *s = start_server(0, 0, 0, &port);
    slow_ms = 500;
    struct bg_call b = {.port = port, .method = "/asps.test.Echo/Slow"};
    pthread_create(&b.th, NULL, bg_call_main, &b);
    wait_slow_started(1);
    int64_t t0 = now_ms();
    asps_rpc_server_shutdown(s, 5000);
    int64_t took = now_ms() - t0;
    pthread_join(b.th, NULL);
    assert_int_equal(b.r.status, ASPS_RPC_OK);
    assert_int_equal(b.r.reply_len, 9);
    assert_memory_equal(b.r.reply, "echo:slow", 9);
    free(b.r.reply);
    assert_true(took < 4000); /* returned when the call finished, not at drain_ms */
    /* after shutdown nothing listens */
    asps_rpc_client *c = client_ca(port, &good, NULL);
    result r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
    asps_rpc_client_free(c);
    asps_rpc_server_free(s);
}

static void test_shutdown_cancels_calls_after_drain_time(void **state)
{
    (void)state;
    int port;
    asps_rpc_server *s = start_server(0, 0, 0, &port);
    slow_ms = 800;
    struct bg_call b = {.port = port, .method = "/asps.test.Echo/Slow"};
    pthread_create(&b.th, NULL, bg_call_main, &b);
    wait_slow_started(1);
    int64_t t0 = now_ms();
    asps_rpc_server_shutdown(s, 100);
    int64_t shutdown_took = now_ms() - t0;
    pthread_join(b.th, NULL);
    assert_int_equal(b.r.status, ASPS_RPC_UNAVAILABLE);
    assert_true(b.done_ms - t0 < 600);  /* the client learnt before the handler ended */
    assert_true(shutdown_took >= 600);  /* ...and shutdown waited for the handler, */
    assert_int_equal(asps_rpc_server_abandoned(s), 0); /* which returned in time */
    asps_rpc_server_free(s);
}

/* A handler that never returns by itself: shutdown gives up 1 s after the
 * cancel, says so, and returns; free then waits for the handler. (Before:
 * shutdown waited for it without a bound, and so did asps serve.) */
static void test_shutdown_abandons_a_handler_that_does_not_return(void **state)
{
    (void)state;
    int port;
    asps_rpc_server *s = start_server(0, 0, 0, &port);
    pthread_mutex_lock(&mu);
    block_release = 0;
    pthread_mutex_unlock(&mu);
    struct bg_call b = {.port = port, .method = "/asps.test.Echo/Block"};
    pthread_create(&b.th, NULL, bg_call_main, &b);
    wait_slow_started(1);
    int64_t t0 = now_ms();
    asps_rpc_server_shutdown(s, 200);
    int64_t took = now_ms() - t0;
    assert_true(took >= 1100 && took < 5000);
    assert_int_equal(asps_rpc_server_abandoned(s), 1);
    pthread_join(b.th, NULL);
    assert_int_equal(b.r.status, ASPS_RPC_UNAVAILABLE);
    assert_true(b.done_ms - t0 < 1000);
    free(b.r.reply);
    pthread_mutex_lock(&mu);
    block_release = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    asps_rpc_server_free(s);
}

static asps_rpc_server *start_ca_server(asps_rpc_verify_fn verify, int *port)
{
    asps_rpc_server_opts o = {
        .listen_addr = "127.0.0.1:0",
        .cert_chain_pem = server_cert.cert,
        .key_pem = server_cert.key,
        .client_ca_pem = ca.cert,
        .verify = verify,
    };
    asps_rpc_server *s = NULL;
    asps_errbuf eb;
    if (asps_rpc_server_new(&o, &s, &eb) != ASPS_OK ||
        asps_rpc_server_add_method(s, "/asps.test.Echo/Echo", echo_handler, NULL, &eb) != ASPS_OK ||
        asps_rpc_server_start(s, port, &eb) != ASPS_OK)
        fail_msg("CA server: %s", eb.msg);
    return s;
}

static void test_plain_mutual_tls_with_client_ca(void **state)
{
    (void)state;
    int port;
    asps_rpc_server *s = start_ca_server(NULL, &port); /* the CA alone decides */
    asps_rpc_client *c = client_ca(port, &ca_client, NULL);
    expect_echo(c, "signed by the CA");
    asps_rpc_client_free(c);
    c = client_ca(port, &good, NULL); /* self-signed: not by the CA */
    result r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
    asps_rpc_client_free(c);
    pthread_mutex_lock(&mu);
    assert_int_equal(verifier_calls, 0);
    assert_int_equal(handler_calls, 1);
    assert_string_equal(handler_last_pem, ca_client.cert);
    pthread_mutex_unlock(&mu);
    asps_rpc_server_free(s);

    /* CA and verify together: both must accept */
    s = start_ca_server(verify_good_only, &port);
    c = client_ca(port, &ca_client, NULL); /* CA yes, verify no (CN) */
    r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
    asps_rpc_client_free(c);
    pthread_mutex_lock(&mu);
    assert_int_equal(verifier_calls, 1);
    pthread_mutex_unlock(&mu);
    asps_rpc_server_free(s);
}

/* OpenSSL's own verdict on a self-signed certificate with a critical
 * extension it does not know (X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION) must
 * not end the handshake before the verify callback sees the certificate: the
 * RA-TLS verifier decides criticality by asps's own list (ratls.c), and the
 * TCG DICE evidence extension is critical where the DICE profile is followed.
 * Both directions: the server checking a client, a client a server. */
static void test_tls_leaves_critical_extensions_to_the_verify_callback(void **state)
{
    (void)state;
    static const char *const oids[] = {"2.23.133.5.4.9", "1.3.6.1.4.1.99999.1", NULL};
    tcert cc = make_cert_ex("good-client", NULL, 0, NULL, oids);
    tcert sc = make_cert_ex("critical server", NULL, 0, "IP:127.0.0.1", oids);
    /* the premise: OpenSSL by itself refuses them */
    for (int i = 0; i < 2; i++) {
        X509 *x = i ? sc.x509 : cc.x509;
        X509_STORE *st = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        assert_int_equal(X509_STORE_add_cert(st, x), 1);
        assert_int_equal(X509_STORE_CTX_init(ctx, st, x, NULL), 1);
        assert_int_not_equal(X509_verify_cert(ctx), 1);
        assert_int_equal(X509_STORE_CTX_get_error(ctx), X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION);
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(st);
    }
    /* server side: the callback sees the client certificate and accepts it */
    asps_rpc_client *c = client_ca(srv_port, &cc, NULL);
    expect_echo(c, "critical client");
    asps_rpc_client_free(c);
    pthread_mutex_lock(&mu);
    assert_int_equal(verifier_calls, 1);
    assert_string_equal(verifier_last_pem, cc.cert);
    assert_string_equal(handler_last_pem, cc.cert);
    pthread_mutex_unlock(&mu);
    /* client side: a server presenting such a certificate, pinned */
    asps_rpc_server_opts o = {.listen_addr = "127.0.0.1:0", .cert_chain_pem = sc.cert,
                              .key_pem = sc.key, .verify = verify_good_only};
    asps_rpc_server *s = NULL;
    asps_errbuf eb;
    int port = 0;
    if (asps_rpc_server_new(&o, &s, &eb) != ASPS_OK ||
        asps_rpc_server_add_method(s, "/asps.test.Echo/Echo", echo_handler, NULL, &eb) != ASPS_OK ||
        asps_rpc_server_start(s, &port, &eb) != ASPS_OK)
        fail_msg("critical server: %s", eb.msg);
    c = client_pinned(port, &good, sc.cert);
    expect_echo(c, "critical server");
    asps_rpc_client_free(c);
    asps_rpc_server_free(s);
    free_cert(&cc);
    free_cert(&sc);
}

/* ---- tests: setup errors -------------------------------------------------------------- */

static void test_server_rejects_mismatched_key_and_bad_args(void **state)
{
    (void)state;
    asps_rpc_server_opts o = {
        .listen_addr = "127.0.0.1:0",
        .cert_chain_pem = server_cert.cert,
        .key_pem = good.key,
        .verify = verify_good_only,
    };
    asps_rpc_server *s = NULL;
    asps_errbuf eb;
    assert_int_equal(asps_rpc_server_new(&o, &s, &eb), ASPS_E_ARG);
    assert_null(s);
    o.key_pem = server_cert.key;
    o.verify = NULL;
    assert_int_equal(asps_rpc_server_new(&o, &s, &eb), ASPS_E_ARG);
    o.verify = verify_good_only;
    o.cert_chain_pem = "not a pem";
    assert_int_equal(asps_rpc_server_new(&o, &s, &eb), ASPS_E_PARSE);
    o.cert_chain_pem = server_cert.cert;
    assert_int_equal(asps_rpc_server_new(&o, &s, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_server_add_method(s, "nopath", echo_handler, NULL, &eb), ASPS_E_ARG);
    assert_int_equal(asps_rpc_server_add_method(s, ASPS_RPC_METHOD_HEALTH_CHECK, echo_handler, NULL, &eb),
                     ASPS_E_ARG);
    assert_int_equal(asps_rpc_server_add_method(s, "/a.B/C", echo_handler, NULL, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_server_add_method(s, "/a.B/C", echo_handler, NULL, &eb), ASPS_E_ARG);
    asps_rpc_server_free(s); /* never started */

    asps_rpc_client_opts co = {.target = "127.0.0.1:1", .cert_pem = good.cert, .key_pem = good.key};
    asps_rpc_client *c = NULL;
    assert_int_equal(asps_rpc_client_new(&co, &c, &eb), ASPS_E_ARG); /* no trust anchor */
    co.ca_pem = ca.cert;
    co.verify = verify_pinned;
    assert_int_equal(asps_rpc_client_new(&co, &c, &eb), ASPS_E_ARG); /* both */
    co.verify = NULL;
    co.key_pem = bad.key;
    assert_int_equal(asps_rpc_client_new(&co, &c, &eb), ASPS_E_ARG); /* key mismatch */
    assert_null(c);
}

static void test_server_port_in_use_fails_start(void **state)
{
    (void)state;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", srv_port);
    asps_rpc_server_opts o = {
        .listen_addr = addr,
        .cert_chain_pem = server_cert.cert,
        .key_pem = server_cert.key,
        .verify = verify_good_only,
    };
    asps_rpc_server *s = NULL;
    asps_errbuf eb;
    assert_int_equal(asps_rpc_server_new(&o, &s, &eb), ASPS_OK);
    int port = 0;
    assert_int_equal(asps_rpc_server_start(s, &port, &eb), ASPS_E_IO);
    assert_int_equal(asps_rpc_server_start(s, &port, &eb), ASPS_E_ARG);
    asps_rpc_server_free(s);
}

/* ---- tests: messages -------------------------------------------------------------------- */

static void test_get_secrets_messages_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"db-password", "tls-key", ""};
    uint8_t *buf;
    size_t len;
    asps_errbuf eb;
    assert_int_equal(asps_rpc_encode_get_secrets_request(names, 3, &buf, &len, &eb), ASPS_OK);
    char **got;
    size_t n;
    assert_int_equal(asps_rpc_decode_get_secrets_request(buf, len, 8, &got, &n, &eb), ASPS_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(got[i], names[i]);
    asps_rpc_strings_free(got, n);
    assert_int_equal(asps_rpc_decode_get_secrets_request(buf, len, 2, &got, &n, &eb), ASPS_E_LIMIT);
    free(buf);

    uint8_t v0[] = {0, 1, 2, 0, 255};
    asps_secret in[2] = {{"a", v0, sizeof v0}, {"b", NULL, 0}};
    assert_int_equal(asps_rpc_encode_get_secrets_reply(in, 2, &buf, &len, &eb), ASPS_OK);
    asps_secret *out;
    assert_int_equal(asps_rpc_decode_get_secrets_reply(buf, len, &out, &n, &eb), ASPS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].name, "a");
    assert_int_equal(out[0].len, sizeof v0);
    assert_memory_equal(out[0].value, v0, sizeof v0);
    assert_string_equal(out[1].name, "b");
    assert_int_equal(out[1].len, 0);
    asps_secrets_free(out, n);
    free(buf);
}

static void test_decoders_reject_nul_in_strings_and_bad_framing(void **state)
{
    (void)state;
    asps_errbuf eb;
    char **names;
    size_t n;
    /* names = "a\0b": protobuf-c would quietly return "a" */
    const uint8_t nul[] = {0x0a, 0x03, 'a', 0x00, 'b'};
    assert_int_equal(asps_rpc_decode_get_secrets_request(nul, sizeof nul, 8, &names, &n, &eb),
                     ASPS_E_PARSE);
    const uint8_t trunc[] = {0x0a, 0x05, 'a', 'b'};
    assert_int_equal(asps_rpc_decode_get_secrets_request(trunc, sizeof trunc, 8, &names, &n, &eb),
                     ASPS_E_PARSE);
    const uint8_t group[] = {0x0b, 0x0c};
    assert_int_equal(asps_rpc_decode_get_secrets_request(group, sizeof group, 8, &names, &n, &eb),
                     ASPS_E_PARSE);
    /* an unknown varint field is skipped, as protobuf says */
    const uint8_t unknown[] = {0x10, 0x01, 0x0a, 0x01, 'x'};
    assert_int_equal(asps_rpc_decode_get_secrets_request(unknown, sizeof unknown, 8, &names, &n, &eb),
                     ASPS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "x");
    asps_rpc_strings_free(names, n);
    /* nested: Secret.name with NUL inside a reply */
    const uint8_t nested[] = {0x0a, 0x05, 0x0a, 0x03, 'a', 0x00, 'b'};
    asps_secret *s;
    assert_int_equal(asps_rpc_decode_get_secrets_reply(nested, sizeof nested, &s, &n, &eb), ASPS_E_PARSE);
    /* ...but bytes values may hold NUL */
    const uint8_t val[] = {0x0a, 0x07, 0x0a, 0x01, 'a', 0x12, 0x02, 0x00, 0x00};
    assert_int_equal(asps_rpc_decode_get_secrets_reply(val, sizeof val, &s, &n, &eb), ASPS_OK);
    assert_int_equal(s[0].len, 2);
    asps_secrets_free(s, n);
}

static void test_occlum_and_cczoo_messages_round_trip(void **state)
{
    (void)state;
    asps_errbuf eb;
    uint8_t *buf;
    size_t len;
    char *s, *s2;
    assert_int_equal(asps_rpc_encode_occlum_request("image_key", &buf, &len, &eb), ASPS_OK);
    /* field 1, length 9: the bytes Occlum's C++ client sends */
    assert_int_equal(len, 11);
    assert_int_equal(buf[0], 0x0a);
    assert_int_equal(asps_rpc_decode_occlum_request(buf, len, &s, &eb), ASPS_OK);
    assert_string_equal(s, "image_key");
    free(s);
    free(buf);
    assert_int_equal(asps_rpc_encode_occlum_reply("c2VjcmV0", &buf, &len, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_decode_occlum_reply(buf, len, &s, &eb), ASPS_OK);
    assert_string_equal(s, "c2VjcmV0");
    free(s);
    free(buf);

    assert_int_equal(asps_rpc_encode_cczoo_request("k", "ctx1", &buf, &len, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_decode_cczoo_request(buf, len, &s, &s2, &eb), ASPS_OK);
    assert_string_equal(s, "k");
    assert_string_equal(s2, "ctx1");
    free(s);
    free(s2);
    free(buf);
    uint8_t *v;
    size_t vl;
    assert_int_equal(asps_rpc_encode_cczoo_reply((const uint8_t *)"val", 3, &buf, &len, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_decode_cczoo_reply(buf, len, &v, &vl, &eb), ASPS_OK);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "val", 3);
    free(v);
    free(buf);
    assert_int_equal(asps_rpc_encode_cczoo_reply((const uint8_t *)"a\0b", 3, &buf, &len, &eb),
                     ASPS_E_UNSUPPORTED);
}

/* ---- refuse_in_calls: a refused client is told why ---------------------------------- */

static int refused_calls, refused_last_status;
static char refused_last_method[128], refused_last_msg[300];
static int refused_last_had_cert, refused_peer_ok = 1;

static void on_refused(void *ctx, const char *pem, const char *peer, const char *method, int status,
                       const char *msg, int retry)
{
    (void)ctx;
    (void)retry;
    pthread_mutex_lock(&mu);
    refused_calls++;
    refused_last_status = status;
    refused_last_had_cert = pem != NULL;
    snprintf(refused_last_method, sizeof refused_last_method, "%s", method);
    snprintf(refused_last_msg, sizeof refused_last_msg, "%s", msg);
    refused_peer_ok &= strstr(peer, "127.0.0.1") != NULL; /* checked on the test's thread */
    pthread_mutex_unlock(&mu);
}

/* good-client: accepted; bad-client: UNAVAILABLE (a gRPC status); anything
 * else: -1, not a status (UNAUTHENTICATED). */
static int verify_judging(void *ctx, const char *pem, char *err, size_t errlen)
{
    if (verify_good_only(ctx, pem, err, errlen) == 0)
        return 0;
    if (pem != NULL && strcmp(pem, bad.cert) == 0) {
        snprintf(err, errlen, "evidence not checked: try later");
        return ASPS_RPC_UNAVAILABLE;
    }
    return -1;
}

static void test_refuse_in_calls_answers_every_call_and_runs_no_handler(void **state)
{
    (void)state;
    asps_rpc_server_opts o = {.listen_addr = "127.0.0.1:0", .cert_chain_pem = server_cert.cert,
                              .key_pem = server_cert.key, .verify = verify_judging,
                              .refuse_in_calls = 1, .on_refused = on_refused};
    asps_rpc_server *s = NULL;
    asps_errbuf eb;
    int port = 0;
    assert_int_equal(asps_rpc_server_new(&o, &s, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_server_add_method(s, "/asps.test.Echo/Echo", echo_handler, NULL, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_server_start(s, &port, &eb), ASPS_OK);
    pthread_mutex_lock(&mu);
    refused_calls = 0;
    pthread_mutex_unlock(&mu);

    /* accepted: served as ever */
    asps_rpc_client *c = client_ca(port, &good, NULL);
    expect_echo(c, "ok");
    asps_rpc_client_free(c);

    /* a status from verify: every call answers it, health and unknown
     * methods too; the handler never runs */
    c = client_ca(port, &bad, NULL);
    const char *methods[] = {"/asps.test.Echo/Echo", ASPS_RPC_METHOD_HEALTH_CHECK, "/no.Such/Method"};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < 3; i++) {
            result r = call(c, methods[i], "", 0);
            assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE);
            assert_string_equal(r.msg, "evidence not checked: try later");
            assert_null(r.reply);
            pthread_mutex_lock(&mu);
            assert_string_equal(refused_last_method, methods[i]);
            assert_int_equal(refused_last_status, ASPS_RPC_UNAVAILABLE);
            assert_true(refused_last_had_cert);
            pthread_mutex_unlock(&mu);
        }
    asps_rpc_client_free(c);

    /* not a status: UNAUTHENTICATED with verify's words */
    tcert stranger = make_cert("stranger", NULL, 0, NULL);
    c = client_ca(port, &stranger, NULL);
    result r = call(c, "/asps.test.Echo/Echo", "x", 1);
    assert_int_equal(r.status, ASPS_RPC_UNAUTHENTICATED);
    assert_string_equal(r.msg, "certificate 'stranger' not accepted");
    asps_rpc_client_free(c);
    free_cert(&stranger);

    /* no client certificate at all: the handshake completes, calls are told */
    c = client_ca(port, NULL, NULL);
    r = call(c, ASPS_RPC_METHOD_HEALTH_CHECK, "", 0);
    assert_int_equal(r.status, ASPS_RPC_UNAUTHENTICATED);
    assert_non_null(strstr(r.msg, "no client certificate"));
    pthread_mutex_lock(&mu);
    assert_false(refused_last_had_cert);
    assert_int_equal(refused_calls, 6 + 1 + 1);
    assert_true(refused_peer_ok);
    assert_int_equal(handler_calls, 1); /* the accepted client's call only */
    pthread_mutex_unlock(&mu);
    asps_rpc_client_free(c);
    /* only the accepted connection is kept: the refused ones (6 calls on
     * one, 1 on another, 1 without a certificate) hold nothing here */
    assert_int_equal(asps_rpc_server_connections_kept(s), 1);

    /* an accepted client whose certificate makes its auth context bigger
     * than a kept one may be (3,000 subjectAltNames, ~60 KB): served, under
     * id 0, and not kept */
    size_t cap = 3000 * 24 + 16, at = 0;
    char *san = malloc(cap);
    assert_non_null(san);
    for (int i = 0; i < 3000; i++)
        at += (size_t)snprintf(san + at, cap - at, "%sDNS:h%05d.example.org", i ? "," : "", i);
    tcert big = make_cert("good-client", &ca, 0, san);
    free(san);
    c = client_ca(port, &big, NULL);
    expect_echo(c, "big");
    pthread_mutex_lock(&mu);
    assert_int_equal(handler_last_conn, 0);
    pthread_mutex_unlock(&mu);
    asps_rpc_client_free(c);
    free_cert(&big);
    assert_int_equal(asps_rpc_server_connections_kept(s), 1);
    asps_rpc_server_free(s);

    /* refuse_in_calls needs a verify function, and no client CA */
    o.verify = NULL;
    assert_int_equal(asps_rpc_server_new(&o, &s, &eb), ASPS_E_ARG);
}

/* ---- verify_now: the handshake's thread first ------------------------------------- */

static int now_calls;
static pthread_t now_thread, late_thread;

/* verify_now: good-client accepted at once, later-client left to verify,
 * anyone else refused at once (with a status: refuse_in_calls passes it on) */
static int verify_now_by_cn(void *ctx, const char *pem, char *err, size_t errlen)
{
    (void)ctx;
    char cn[128];
    cn_of(pem, cn, sizeof cn);
    pthread_mutex_lock(&mu);
    now_calls++;
    now_thread = pthread_self();
    pthread_mutex_unlock(&mu);
    if (strcmp(cn, "good-client") == 0)
        return 0;
    if (strcmp(cn, "later-client") == 0)
        return ASPS_RPC_VERIFY_LATER;
    snprintf(err, errlen, "refused at once: '%s'", cn);
    return ASPS_RPC_PERMISSION_DENIED;
}

/* verify: later-client alone */
static int verify_later_only(void *ctx, const char *pem, char *err, size_t errlen)
{
    (void)ctx;
    char cn[128];
    cn_of(pem, cn, sizeof cn);
    pthread_mutex_lock(&mu);
    verifier_calls++;
    late_thread = pthread_self();
    pthread_mutex_unlock(&mu);
    if (strcmp(cn, "later-client") == 0)
        return 0;
    snprintf(err, errlen, "verify refuses '%s'", cn);
    return 1;
}

static void test_verify_now_answers_first_and_verify_only_when_later(void **state)
{
    (void)state;
    tcert later = make_cert("later-client", NULL, 0, NULL);
    for (int in_calls = 0; in_calls < 2; in_calls++) {
        reset_observations();
        pthread_mutex_lock(&mu);
        now_calls = 0;
        refused_calls = 0;
        pthread_mutex_unlock(&mu);
        asps_rpc_server_opts o = {.listen_addr = "127.0.0.1:0", .cert_chain_pem = server_cert.cert,
                                  .key_pem = server_cert.key, .verify = verify_later_only,
                                  .verify_now = verify_now_by_cn, .refuse_in_calls = in_calls,
                                  .on_refused = in_calls ? on_refused : NULL};
        asps_rpc_server *s = NULL;
        asps_errbuf eb;
        int port = 0;
        assert_int_equal(asps_rpc_server_new(&o, &s, &eb), ASPS_OK);
        assert_int_equal(asps_rpc_server_add_method(s, "/asps.test.Echo/Echo", echo_handler, NULL, &eb), ASPS_OK);
        assert_int_equal(asps_rpc_server_start(s, &port, &eb), ASPS_OK);

        /* answered by verify_now: verify never runs (it would refuse) */
        asps_rpc_client *c = client_ca(port, &good, NULL);
        expect_echo(c, "now");
        asps_rpc_client_free(c);
        pthread_mutex_lock(&mu);
        assert_int_equal(now_calls, 1);
        assert_int_equal(verifier_calls, 0);
        pthread_mutex_unlock(&mu);

        /* refused by verify_now: verify never runs; the handler neither */
        c = client_ca(port, &bad, NULL);
        result r = call(c, "/asps.test.Echo/Echo", "x", 1);
        if (in_calls) { /* its status and words, on the call */
            assert_int_equal(r.status, ASPS_RPC_PERMISSION_DENIED);
            assert_string_equal(r.msg, "refused at once: 'bad-client'");
        } else {
            assert_int_equal(r.status, ASPS_RPC_UNAVAILABLE); /* handshake failed */
        }
        assert_null(r.reply);
        asps_rpc_client_free(c);
        pthread_mutex_lock(&mu);
        assert_true(now_calls >= 2);
        assert_int_equal(verifier_calls, 0);
        assert_int_equal(handler_calls, 1);
        assert_int_equal(refused_calls, in_calls ? 1 : 0);
        pthread_mutex_unlock(&mu);

        /* LATER: verify decides, on a verification thread */
        c = client_ca(port, &later, NULL);
        expect_echo(c, "later");
        asps_rpc_client_free(c);
        pthread_mutex_lock(&mu);
        assert_int_equal(verifier_calls, 1);
        assert_false(pthread_equal(now_thread, late_thread));
        assert_int_equal(handler_calls, 2);
        pthread_mutex_unlock(&mu);
        asps_rpc_server_free(s);
    }
    free_cert(&later);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_good_client_gets_reply_and_handler_sees_verified_cert, each_setup),
        cmocka_unit_test_setup(test_bad_client_cert_fails_handshake_and_handler_never_runs, each_setup),
        cmocka_unit_test_setup(test_client_without_cert_fails_handshake, each_setup),
        cmocka_unit_test_setup(test_client_checks_server_name_against_ca_cert, each_setup),
        cmocka_unit_test_setup(test_client_verify_callback_pins_server_cert, each_setup),
        cmocka_unit_test_setup(test_connection_refused_is_unavailable_not_a_hang, each_setup),
        cmocka_unit_test_setup(test_health_check_reports_serving, each_setup),
        cmocka_unit_test_setup(test_unknown_method_is_unimplemented, each_setup),
        cmocka_unit_test_setup(test_handler_status_and_message_reach_client, each_setup),
        cmocka_unit_test_setup(test_empty_request_and_reply_work, each_setup),
        cmocka_unit_test_setup(test_oversized_request_is_resource_exhausted, each_setup),
        cmocka_unit_test_setup(test_garbage_tcp_client_does_not_stop_server, each_setup),
        cmocka_unit_test_setup(test_calls_beyond_limit_are_resource_exhausted, each_setup),
        cmocka_unit_test_setup(test_call_past_server_deadline_is_deadline_exceeded, each_setup),
        cmocka_unit_test_setup(test_shutdown_drains_in_flight_call, each_setup),
        cmocka_unit_test_setup(test_shutdown_cancels_calls_after_drain_time, each_setup),
        cmocka_unit_test_setup(test_shutdown_abandons_a_handler_that_does_not_return, each_setup),
        cmocka_unit_test_setup(test_plain_mutual_tls_with_client_ca, each_setup),
        cmocka_unit_test_setup(test_tls_leaves_critical_extensions_to_the_verify_callback, each_setup),
        cmocka_unit_test_setup(test_server_rejects_mismatched_key_and_bad_args, each_setup),
        cmocka_unit_test_setup(test_server_port_in_use_fails_start, each_setup),
        cmocka_unit_test(test_get_secrets_messages_round_trip),
        cmocka_unit_test(test_decoders_reject_nul_in_strings_and_bad_framing),
        cmocka_unit_test(test_occlum_and_cczoo_messages_round_trip),
        cmocka_unit_test_setup(test_refuse_in_calls_answers_every_call_and_runs_no_handler, each_setup),
        cmocka_unit_test_setup(test_verify_now_answers_first_and_verify_only_when_later, each_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
