/* test_kms_vault.c: the Vault backend against tests/vault_server.py (a
 * Vault-shaped test server): KV v1 (the seed system's default field "key")
 * and v2, per-app tokens, 403/404, sealed and recovered, retries past
 * transient 5xx, 429 and 412, a sealed Vault not retried, down, AppRole with
 * expiring leases, revoked tokens (server, AppRole, app), namespaces, TLS,
 * pooled connections, secret_id_file and approle_mount; no token or value
 * ever in an error message, and only Vault's own error strings quoted;
 * values with NUL bytes whole, replies with raw control bytes refused, a
 * Vault that hangs given up at the fetch's deadline. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kms.h"
#include "service.h"
#include "testutil.h"

size_t asps_vault_error_text(const char *reply, size_t n, const char *const *hide, size_t n_hide,
                             char *out, size_t cap);
asps_err asps_vault_parse_value(const char *reply, size_t n, int kv_version, const char *field,
                                const char *what, uint8_t **value, size_t *len, asps_errbuf *eb);

static char *dir;

typedef struct srv {
    pid_t pid;
    int port;
} srv;

static const char seed[] =
    "{\"kv1\": {\"occlum/1\": {\"image_key\": {\"key\": \"kv1-secret-value\"}, \"other\": {\"pass\": \"p1\"}}},"
    " \"kv2\": {\"secret\": {\"app1\": {\"key\": \"kv2-secret-value\", \"extra\": \"x2\"}},"
    "           \"ns1/secret\": {\"app9\": {\"key\": \"in-namespace\"}}},"
    " \"tokens\": {\"root-token-XYZ\": [\"*\"], \"app1-token\": [\"occlum/1/image_key\"],"
    "            \"limited-token\": [\"occlum/1/image_key\"], \"doomed-token\": [\"*\"],"
    "            \"app-doomed\": [\"occlum/1/\"]},"
    " \"approle\": {\"role_id\": \"role-1\", \"secret_id\": \"sec-1\", \"policies\": [\"secret/\"], \"ttl\": 1}}";

/* the same secrets; AppRole at another mount, with a long lease */
static const char seed_approle_x[] =
    "{\"kv1\": {\"occlum/1\": {\"image_key\": {\"key\": \"kv1-secret-value\"}}},"
    " \"kv2\": {\"secret\": {\"app1\": {\"key\": \"kv2-secret-value\"}}},"
    " \"tokens\": {},"
    " \"approle\": {\"role_id\": \"role-1\", \"secret_id\": \"sec-long-1\", \"policies\": [\"secret/data/app1\"],"
    "             \"ttl\": 600, \"mount\": \"approle-x\"}}";

/* AppRole tokens with a 3 s lease that renewals cannot take past 4 s */
static const char seed_approle_renew[] =
    "{\"kv2\": {\"secret\": {\"app1\": {\"key\": \"kv2-secret-value\"}}},"
    " \"tokens\": {},"
    " \"approle\": {\"role_id\": \"role-1\", \"secret_id\": \"sec-1\", \"policies\": [\"secret/\"],"
    "             \"ttl\": 3, \"max_ttl\": 4}}";

/* a lease no integer holds: bounded before use (UBSan would catch it) */
static const char seed_approle_huge[] =
    "{\"kv2\": {\"secret\": {\"app1\": {\"key\": \"kv2-secret-value\"}}},"
    " \"tokens\": {},"
    " \"approle\": {\"role_id\": \"role-1\", \"secret_id\": \"sec-1\", \"policies\": [\"secret/\"],"
    "             \"ttl\": 1e300}}";

static srv start_seed(int tls, const char *seed_json);
static srv start(int tls) { return start_seed(tls, seed); }

static pid_t running = -1; /* killed by the per-test teardown when a test fails */

static srv start_seed(int tls, const char *seed_json)
{
    srv s = {0};
    const char *src = getenv("ASPS_SRC");
    if (!src)
        return s;
    char p[4200];
    snprintf(p, sizeof p, "%s/seed.json", dir);
    FILE *f = fopen(p, "w");
    fputs(seed_json, f);
    fclose(f);
    int fd[2];
    if (pipe(fd) != 0)
        return s;
    s.pid = fork();
    if (s.pid == 0) {
        dup2(fd[1], 1);
        /* not the test's stderr: a server left behind must not hold ctest's pipe */
        char errp[4200];
        snprintf(errp, sizeof errp, "%s/vault_server.err", dir);
        if (!freopen(errp, "a", stderr))
            _exit(127);
        close(fd[0]);
        char script[4200], cert[4200], key[4200];
        snprintf(script, sizeof script, "%s/tests/vault_server.py", src);
        snprintf(cert, sizeof cert, "%s/c.pem", dir);
        snprintf(key, sizeof key, "%s/k.pem", dir);
        if (tls)
            execlp("python3", "python3", script, "--seed", p, "--cert", cert, "--key", key, (char *)NULL);
        else
            execlp("python3", "python3", script, "--seed", p, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    running = s.pid;
    FILE *r = fdopen(fd[0], "r");
    if (!r || fscanf(r, "PORT %d", &s.port) != 1)
        s.port = 0;
    if (r)
        fclose(r);

    return s;
}

static void stop(srv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    if (running == s->pid)
        running = -1;
}

static int stop_left_over(void **state)
{
    (void)state;
    if (running > 0) {
        kill(running, SIGTERM);
        waitpid(running, NULL, 0);
        running = -1;
    }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    char cmd[8400];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem "
             "-out c.pem -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k2.pem "
             "-out other.pem -days 1 -subj /CN=other 2>/dev/null",
             dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(dir);
    free(dir);
    return 0;
}

static void control(int port, const char *json)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -s -X POST -d '%s' http://127.0.0.1:%d/__control >/dev/null", json, port);
    assert_int_equal(system(cmd), 0);
}

/* A number from the test server's GET /__stats: "connections", or the
 * request count of a path ("/v1/auth/token/lookup-self"). */
static long stat_of(int port, const char *key)
{
    char cmd[256], buf[8192] = {0}, pat[300];
    snprintf(cmd, sizeof cmd, "curl -s http://127.0.0.1:%d/__stats", port);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    pclose(p);
    buf[n] = 0;
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *at = strstr(buf, pat);
    return at ? strtol(at + strlen(pat), NULL, 10) : 0;
}

static void assert_printable(const char *m)
{
    for (const char *p = m; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            fail_msg("non-printable byte 0x%02x in \"%s\"", (unsigned char)*p, m);
}

static asps_kms *open_vault(int port, int kv, const char *token, const char *mount)
{
    char addr[64];
    snprintf(addr, sizeof addr, "http://127.0.0.1:%d", port);
    asps_kms_config c = {.type = "vault", .addr = addr, .kv_version = kv, .token = token, .mount = mount,
                         .timeout_ms = 2000};
    asps_kms *k;
    asps_errbuf eb;
    if (asps_kms_open(&c, &k, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    return k;
}

/* KV v2 at "secret" through an AppRole login (role-1 / sec-1), no server token */
static asps_kms *open_approle(int port)
{
    char addr[64];
    snprintf(addr, sizeof addr, "http://127.0.0.1:%d", port);
    asps_kms_config c = {.type = "vault", .addr = addr, .kv_version = 2, .mount = "secret",
                         .role_id = "role-1", .secret_id = "sec-1"};
    asps_kms *k;
    asps_errbuf eb;
    unsetenv("VAULT_TOKEN");
    if (asps_kms_open(&c, &k, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    return k;
}

static void want_value(asps_kms *k, const char *ref, const char *cred, const char *want)
{
    uint8_t *v;
    size_t n;
    asps_errbuf eb = {{0}};
    asps_err e = asps_kms_get(k, ref, cred, &v, &n, &eb);
    if (e != ASPS_OK)
        fail_msg("%s: %s", ref, eb.msg);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
    asps_kms_value_free(v, n);
}

static asps_err get_err(asps_kms *k, const char *ref, const char *cred, asps_errbuf *eb)
{
    uint8_t *v = NULL;
    size_t n = 0;
    asps_err e = asps_kms_get(k, ref, cred, &v, &n, eb);
    if (e == ASPS_OK)
        asps_kms_value_free(v, n);
    assert_null(strstr(eb->msg, "root-token-XYZ"));
    assert_null(strstr(eb->msg, "app1-token"));
    assert_null(strstr(eb->msg, "secret-value"));
    return e;
}

static void test_vault_kv1_kv2_tokens_and_errors(void **state)
{
    (void)state;
    srv s = start(0);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    asps_kms *k1 = open_vault(s.port, 1, "root-token-XYZ", NULL);
    want_value(k1, "occlum/1/image_key", NULL, "kv1-secret-value"); /* default field "key" */
    want_value(k1, "occlum/1/other#pass", NULL, "p1");
    /* the app's own token: allowed on its path only */
    want_value(k1, "occlum/1/image_key", "app1-token", "kv1-secret-value");
    asps_errbuf eb = {{0}};
    assert_int_equal(get_err(k1, "occlum/1/other#pass", "app1-token", &eb), ASPS_E_DENIED);
    assert_int_equal(get_err(k1, "occlum/1/image_key", "wrong-token", &eb), ASPS_E_DENIED);
    /* a token that would add an HTTP header never reaches the wire */
    assert_int_equal(get_err(k1, "occlum/1/image_key", "app1-token\r\nX-Vault-Token: root-token-XYZ", &eb),
                     ASPS_E_DENIED);
    assert_non_null(strstr(eb.msg, "printable"));
    assert_int_equal(get_err(k1, "occlum/1/missing", NULL, &eb), ASPS_E_NOT_FOUND);
    assert_int_equal(get_err(k1, "occlum/1/image_key#nofield", NULL, &eb), ASPS_E_NOT_FOUND);
    assert_int_equal(get_err(k1, "../sys/x", NULL, &eb), ASPS_E_ARG);
    asps_kms *k2 = open_vault(s.port, 2, "root-token-XYZ", "secret");
    want_value(k2, "app1", NULL, "kv2-secret-value");
    want_value(k2, "app1#extra", NULL, "x2");
    /* sealed: unavailable; unsealed: served again, same handle */
    control(s.port, "{\"sealed\": true}");
    assert_int_equal(get_err(k2, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "503"));
    control(s.port, "{\"sealed\": false}");
    want_value(k2, "app1", NULL, "kv2-secret-value");
    /* two 500s, then success: retried */
    control(s.port, "{\"fail\": 2, \"status\": 500}");
    want_value(k2, "app1", NULL, "kv2-secret-value");
    /* 500 for ever: unavailable after bounded retries, in bounded time */
    control(s.port, "{\"fail\": 100, \"status\": 502}");
    time_t t0 = time(NULL);
    assert_int_equal(get_err(k2, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_true(time(NULL) - t0 < 5);
    control(s.port, "{\"fail\": 0}");
    asps_kms_free(k1);
    asps_kms_free(k2);
    stop(&s);
    /* server down: unavailable quickly */
    asps_kms *down = open_vault(s.port, 2, "root-token-XYZ", "secret");
    t0 = time(NULL);
    assert_int_equal(get_err(down, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_true(time(NULL) - t0 < 5);
    asps_kms_free(down);
}

static void test_vault_approle_relogin_and_namespace(void **state)
{
    (void)state;
    srv s = start(0);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    char addr[64];
    snprintf(addr, sizeof addr, "http://127.0.0.1:%d", s.port);
    asps_kms_config c = {.type = "vault", .addr = addr, .kv_version = 2, .mount = "secret",
                         .role_id = "role-1", .secret_id = "sec-1"};
    asps_kms *k;
    asps_errbuf eb;
    unsetenv("VAULT_TOKEN");
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_OK);
    want_value(k, "app1", NULL, "kv2-secret-value");
    sleep(2); /* the 1 s lease has ended: the backend logs in again */
    want_value(k, "app1", NULL, "kv2-secret-value");
    asps_kms_free(k);
    /* wrong AppRole credentials: denied */
    c.secret_id = "nope";
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_OK);
    assert_int_equal(get_err(k, "app1", NULL, &eb), ASPS_E_DENIED);
    asps_kms_free(k);
    /* namespace header */
    asps_kms_config n = {.type = "vault", .addr = addr, .kv_version = 2, .mount = "secret",
                         .token = "root-token-XYZ", .vault_namespace = "ns1"};
    assert_int_equal(asps_kms_open(&n, &k, &eb), ASPS_OK);
    want_value(k, "app9", NULL, "in-namespace");
    asps_kms_free(k);
    stop(&s);
}

/* An AppRole token is renewed (renew-self) at 80% of its lease rather than
 * replaced by a login, which would spend a use of a limited secret_id;
 * once a renewal comes back short (the token's max TTL is near), the next
 * time is a login. */
static void test_vault_approle_token_renewed_then_login_at_max_ttl(void **state)
{
    (void)state;
    srv s = start_seed(0, seed_approle_renew);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    asps_kms *k = open_approle(s.port);
    const char *login = "/v1/auth/approle/login", *renew = "/v1/auth/token/renew-self";
    want_value(k, "app1", NULL, "kv2-secret-value");
    assert_int_equal(stat_of(s.port, login), 1);
    assert_int_equal(stat_of(s.port, renew), 0);
    /* 2.2 s on: past 80% of the 3 s lease (whole seconds: 2), still alive */
    usleep(2200000);
    want_value(k, "app1", NULL, "kv2-secret-value");
    assert_int_equal(stat_of(s.port, renew), 1);
    assert_int_equal(stat_of(s.port, login), 1);
    /* that renewal got 1 s (max TTL 4 s): the next time is a login */
    usleep(1200000);
    want_value(k, "app1", NULL, "kv2-secret-value");
    assert_int_equal(stat_of(s.port, renew), 1);
    assert_int_equal(stat_of(s.port, login), 2);
    asps_kms_free(k);
    stop(&s);
}

static void test_vault_approle_huge_lease_is_bounded(void **state)
{
    (void)state;
    srv s = start_seed(0, seed_approle_huge);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    asps_kms *k = open_approle(s.port);
    want_value(k, "app1", NULL, "kv2-secret-value");
    want_value(k, "app1", NULL, "kv2-secret-value");
    assert_int_equal(stat_of(s.port, "/v1/auth/approle/login"), 1);
    asps_kms_free(k);
    stop(&s);
}

static void test_vault_tls_with_and_without_the_ca(void **state)
{
    (void)state;
    srv s = start(1);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    char addr[64], ca[4200], other[4200];
    snprintf(addr, sizeof addr, "https://127.0.0.1:%d", s.port);
    snprintf(ca, sizeof ca, "%s/c.pem", dir);
    snprintf(other, sizeof other, "%s/other.pem", dir);
    asps_kms_config c = {.type = "vault", .addr = addr, .kv_version = 1, .token = "root-token-XYZ", .ca_file = ca};
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_OK);
    want_value(k, "occlum/1/image_key", NULL, "kv1-secret-value");
    asps_kms_free(k);
    c.ca_file = other;
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_OK);
    assert_int_equal(get_err(k, "occlum/1/image_key", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "TLS"));
    asps_kms_free(k);
    stop(&s);
}


/* Keep-alive connections are reused across fetches and threads (one per
 * pooled handle), and "reuse off" opens one per request. */
typedef struct fetcher {
    asps_kms *k;
    int n, bad;
} fetcher;

static void *fetch_many(void *arg)
{
    fetcher *f = arg;
    for (int i = 0; i < f->n; i++) {
        uint8_t *v;
        size_t n;
        asps_errbuf eb;
        if (asps_kms_get(f->k, "app1", NULL, &v, &n, &eb) != ASPS_OK || n != 16 ||
            memcmp(v, "kv2-secret-value", 16) != 0)
            f->bad++;
        else
            asps_kms_value_free(v, n);
    }
    return NULL;
}

static void test_vault_connections_are_reused_unless_turned_off(void **state)
{
    (void)state;
    srv s = start(0);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    asps_kms *k = open_vault(s.port, 2, "root-token-XYZ", "secret");
    long c0 = stat_of(s.port, "connections");
    for (int i = 0; i < 8; i++)
        want_value(k, "app1", NULL, "kv2-secret-value");
    /* one connection for the 8 fetches (+1: the previous stats call) */
    assert_int_equal(stat_of(s.port, "connections") - c0, 1 + 1);
    /* threads share the pool: at most one connection per thread */
    fetcher f[4];
    pthread_t t[4];
    c0 = stat_of(s.port, "connections");
    for (int i = 0; i < 4; i++) {
        f[i] = (fetcher){k, 25, 0};
        assert_int_equal(pthread_create(&t[i], NULL, fetch_many, &f[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(f[i].bad, 0);
    }
    long used = stat_of(s.port, "connections") - c0 - 1;
    assert_true(used >= 0 && used <= 4);
    asps_kms_free(k);

    char addr[64];
    snprintf(addr, sizeof addr, "http://127.0.0.1:%d", s.port);
    asps_kms_config c = {.type = "vault", .addr = addr, .kv_version = 2, .token = "root-token-XYZ",
                         .mount = "secret", .no_connection_reuse = 1};
    asps_errbuf eb;
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_OK);
    c0 = stat_of(s.port, "connections");
    for (int i = 0; i < 8; i++)
        want_value(k, "app1", NULL, "kv2-secret-value");
    assert_int_equal(stat_of(s.port, "connections") - c0, 8 + 1);
    asps_kms_free(k);
    stop(&s);
}

/* 429 and 412 pass by themselves: retried like 5xx, not sooner than a
 * Retry-After asks, and not at all when it asks more than 2 s. A sealed Vault stays
 * sealed: one request, UNAVAILABLE, "Vault is sealed" (also when the 503
 * does not say so and sys/seal-status does). */
static void test_vault_429_412_retried_sealed_not_retried(void **state)
{
    (void)state;
    srv s = start(0);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    asps_kms *k = open_vault(s.port, 2, "root-token-XYZ", "secret");
    const char *path = "/v1/secret/data/app1";
    asps_errbuf eb = {{0}};
    control(s.port, "{\"fail\": 2, \"status\": 429}");
    want_value(k, "app1", NULL, "kv2-secret-value");
    control(s.port, "{\"fail\": 2, \"status\": 412}");
    want_value(k, "app1", NULL, "kv2-secret-value");
    long n0 = stat_of(s.port, path);
    control(s.port, "{\"fail\": 100, \"status\": 429, \"error_text\": \"request path: rate limit quota exceeded\"}");
    assert_int_equal(get_err(k, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "rate limited"));
    assert_non_null(strstr(eb.msg, "rate limit quota exceeded"));
    assert_int_equal(stat_of(s.port, path) - n0, 3); /* 1 + max_retries (2) */
    control(s.port, "{\"fail\": 0, \"error_text\": \"injected failure\"}");

    /* Retry-After is honoured: one second asked, at least that long waited
     * (the backoff alone would be 50 ms) */
    control(s.port, "{\"fail\": 1, \"status\": 429, \"retry_after\": 1}");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    want_value(k, "app1", NULL, "kv2-secret-value");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 950);
    /* a wait beyond the backoff cap (2 s): no retry, and the message says when */
    control(s.port, "{\"fail\": 100, \"status\": 429, \"retry_after\": 30}");
    n0 = stat_of(s.port, path);
    assert_int_equal(get_err(k, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "rate limited"));
    assert_non_null(strstr(eb.msg, "Vault asks to retry after 30 s"));
    assert_int_equal(stat_of(s.port, path) - n0, 1);
    control(s.port, "{\"fail\": 0, \"retry_after\": null}");

    control(s.port, "{\"sealed\": true}");
    n0 = stat_of(s.port, path);
    assert_int_equal(get_err(k, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "Vault is sealed"));
    assert_int_equal(stat_of(s.port, path) - n0, 1);
    /* a 503 that does not say why: sys/seal-status does */
    control(s.port, "{\"sealed_text\": false}");
    n0 = stat_of(s.port, path);
    long ss0 = stat_of(s.port, "/v1/sys/seal-status");
    assert_int_equal(get_err(k, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "Vault is sealed"));
    assert_int_equal(stat_of(s.port, path) - n0, 1);
    assert_int_equal(stat_of(s.port, "/v1/sys/seal-status") - ss0, 1);
    /* an unsealed Vault's 503 (standby) is retried and not called sealed */
    control(s.port, "{\"sealed\": false, \"sealed_text\": true, \"fail\": 100, \"status\": 503}");
    n0 = stat_of(s.port, path);
    assert_int_equal(get_err(k, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_null(strstr(eb.msg, "sealed"));
    assert_int_equal(stat_of(s.port, path) - n0, 3);
    control(s.port, "{\"fail\": 0}");
    want_value(k, "app1", NULL, "kv2-secret-value");
    asps_kms_free(k);
    stop(&s);
}

/* A 403 to the server token: lookup-self tells a policy denial (DENIED)
 * from a dead token (UNAVAILABLE, the operator's problem). An app's own
 * dead token stays a denial, without a lookup. */
static void test_vault_dead_server_token_is_unavailable_denied_path_is_denied(void **state)
{
    (void)state;
    srv s = start(0);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    const char *lk = "/v1/auth/token/lookup-self";
    asps_errbuf eb = {{0}};
    asps_kms *lim = open_vault(s.port, 1, "limited-token", NULL);
    want_value(lim, "occlum/1/image_key", NULL, "kv1-secret-value");
    long l0 = stat_of(s.port, lk);
    assert_int_equal(get_err(lim, "occlum/1/other#pass", NULL, &eb), ASPS_E_DENIED);
    assert_non_null(strstr(eb.msg, "permission denied"));
    assert_int_equal(stat_of(s.port, lk) - l0, 1);
    asps_kms_free(lim);

    asps_kms *k = open_vault(s.port, 1, "doomed-token", NULL);
    want_value(k, "occlum/1/image_key", NULL, "kv1-secret-value");
    control(s.port, "{\"revoke\": \"doomed-token\"}");
    assert_int_equal(get_err(k, "occlum/1/image_key", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "Vault server token is invalid or expired"));
    assert_null(strstr(eb.msg, "doomed-token"));

    /* the app's own token, revoked: a denial; no lookup */
    want_value(k, "occlum/1/image_key", "app-doomed", "kv1-secret-value");
    control(s.port, "{\"revoke\": \"app-doomed\"}");
    l0 = stat_of(s.port, lk);
    assert_int_equal(get_err(k, "occlum/1/image_key", "app-doomed", &eb), ASPS_E_DENIED);
    assert_int_equal(stat_of(s.port, lk) - l0, 0);
    asps_kms_free(k);
    stop(&s);
}

/* AppRole at approle_mount: a revoked token is replaced by one fresh login;
 * a path its policy does not cover is a denial without a new login. */
static void test_vault_approle_revoked_token_logs_in_again_once(void **state)
{
    (void)state;
    srv s = start_seed(0, seed_approle_x);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    char addr[64];
    snprintf(addr, sizeof addr, "http://127.0.0.1:%d", s.port);
    unsetenv("VAULT_TOKEN");
    const char *login = "/v1/auth/approle-x/login", *lk = "/v1/auth/token/lookup-self";
    asps_kms_config c = {.type = "vault", .addr = addr, .kv_version = 2, .mount = "secret",
                         .role_id = "role-1", .secret_id = "sec-long-1"};
    asps_kms *k;
    asps_errbuf eb = {{0}};
    /* the default mount ("approle") is not where this Vault has it */
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_OK);
    assert_int_not_equal(get_err(k, "app1", NULL, &eb), ASPS_OK);
    assert_non_null(strstr(eb.msg, "/v1/auth/approle/login"));
    asps_kms_free(k);
    c.approle_mount = "approle-x";
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_OK);
    want_value(k, "app1", NULL, "kv2-secret-value");
    want_value(k, "app1", NULL, "kv2-secret-value");
    assert_int_equal(stat_of(s.port, login), 1);
    /* denied path: lookup-self says the token is alive: no new login */
    assert_int_equal(get_err(k, "app2", NULL, &eb), ASPS_E_DENIED);
    assert_int_equal(stat_of(s.port, login), 1);
    assert_int_equal(stat_of(s.port, lk), 1);
    /* revoked: one lookup, one login, served */
    control(s.port, "{\"revoke_issued\": true}");
    want_value(k, "app1", NULL, "kv2-secret-value");
    assert_int_equal(stat_of(s.port, login), 2);
    assert_int_equal(stat_of(s.port, lk), 2);
    want_value(k, "app1", NULL, "kv2-secret-value");
    assert_int_equal(stat_of(s.port, login), 2);
    asps_kms_free(k);
    stop(&s);
}

/* secret_id_file (and token_file): refused when others may read it;
 * with secret_id it is an error; the server config takes the new keys and
 * still refuses unknown ones. */
static void test_vault_secret_id_file_and_config_keys(void **state)
{
    (void)state;
    srv s = start_seed(0, seed_approle_x);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    char addr[64], sid[4200], cfgp[4200];
    snprintf(addr, sizeof addr, "http://127.0.0.1:%d", s.port);
    snprintf(sid, sizeof sid, "%s/secret_id", dir);
    FILE *f = fopen(sid, "w");
    fputs("sec-long-1\n", f);
    fclose(f);
    unsetenv("VAULT_TOKEN");
    asps_kms_config c = {.type = "vault", .addr = addr, .kv_version = 2, .mount = "secret",
                         .role_id = "role-1", .secret_id_file = sid, .approle_mount = "approle-x"};
    asps_kms *k;
    asps_errbuf eb = {{0}};
    assert_int_equal(chmod(sid, 0644), 0);
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_E_ARG);
    assert_non_null(strstr(eb.msg, "others"));
    assert_null(strstr(eb.msg, "sec-long-1"));
    assert_int_equal(chmod(sid, 0640), 0);
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_OK);
    want_value(k, "app1", NULL, "kv2-secret-value");
    asps_kms_free(k);
    c.secret_id = "sec-long-1";
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_E_ARG);
    c.secret_id = NULL;
    c.approle_mount = "../sys";
    assert_int_equal(asps_kms_open(&c, &k, &eb), ASPS_E_ARG);
    /* a server token file follows the same rule */
    asps_kms_config t = {.type = "vault", .addr = addr, .kv_version = 2, .mount = "secret", .token_file = sid};
    assert_int_equal(chmod(sid, 0604), 0);
    assert_int_equal(asps_kms_open(&t, &k, &eb), ASPS_E_ARG);
    assert_non_null(strstr(eb.msg, "token_file"));
    assert_int_equal(chmod(sid, 0600), 0);
    assert_int_equal(asps_kms_open(&t, &k, &eb), ASPS_OK);
    asps_kms_free(k);

    snprintf(cfgp, sizeof cfgp, "%s/server.json", dir);
    f = fopen(cfgp, "w");
    fprintf(f, "{\"kms\": {\"type\": \"vault\", \"addr\": \"%s\", \"role_id\": \"role-1\","
               " \"secret_id_file\": \"secret_id\", \"approle_mount\": \"approle-x\","
               " \"reuse_connections\": false}}", addr);
    fclose(f);
    asps_service_config *sc;
    assert_int_equal(asps_service_config_load(cfgp, &sc, &eb), ASPS_OK);
    assert_non_null(strstr(sc->kms_secret_id_file, "/secret_id"));
    assert_string_equal(sc->kms_approle_mount, "approle-x");
    assert_int_equal(sc->kms_no_connection_reuse, 1);
    asps_service_config_free(sc);
    f = fopen(cfgp, "w");
    fprintf(f, "{\"kms\": {\"type\": \"vault\", \"addr\": \"%s\", \"approle_path\": \"x\"}}", addr);
    fclose(f);
    assert_int_not_equal(asps_service_config_load(cfgp, &sc, &eb), ASPS_OK);
    assert_non_null(strstr(eb.msg, "approle_path"));
    stop(&s);
}

/* Only Vault's "errors" strings are quoted: printable, bounded, and never
 * one holding a token or credential; other reply bodies are not quoted. */
static void test_vault_error_text_is_vault_errors_only_and_safe(void **state)
{
    (void)state;
    char out[200];
    const char *hide[] = {"root-token-XYZ"};
    const char r1[] = "{\"errors\": [\"line one\\n\\tline\\u0001two \", \"bad token root-token-XYZ\", \"hvs.ABCDEFG seen\", 7, \"third\"]}";
    assert_int_equal(asps_vault_error_text(r1, strlen(r1), hide, 1, out, sizeof out), strlen("line one line two; third"));
    assert_string_equal(out, "line one line two; third");
    const char r2[] = "{\"data\": {\"key\": \"v\"}, \"warnings\": [\"w\"]}";
    assert_int_equal(asps_vault_error_text(r2, strlen(r2), NULL, 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    char big[3000];
    snprintf(big, sizeof big, "{\"errors\": [\"%0*d\"]}", 2000, 7);
    assert_int_equal(asps_vault_error_text(big, strlen(big), NULL, 0, out, 50), 49);

    srv s = start(0);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    asps_kms *k = open_vault(s.port, 2, "root-token-XYZ", "secret");
    asps_errbuf eb = {{0}};
    control(s.port, "{\"fail\": 1, \"status\": 400, \"error_text\": \"bad request\\n\\u0007from Vault\"}");
    assert_int_equal(get_err(k, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "HTTP 400: bad request from Vault"));
    assert_printable(eb.msg);
    control(s.port, "{\"fail\": 1, \"status\": 400, \"error_text\": \"token root-token-XYZ has no access\"}");
    assert_int_equal(get_err(k, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_null(strstr(eb.msg, "has no access"));
    control(s.port, "{\"fail\": 1, \"status\": 400, \"error_body\": \"<html>proxy says kv2-secret-value</html>\"}");
    assert_int_equal(get_err(k, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_null(strstr(eb.msg, "proxy says"));
    assert_non_null(strstr(eb.msg, "HTTP 400"));
    control(s.port, "{\"error_body\": null}");
    asps_kms_free(k);
    stop(&s);
}


/* A value holding "\u0000" (as Vault's JSON API spells U+0000, and as
 * Python's json module writes it) arrives whole; a reply with a raw 0x00 in
 * a string is not JSON; a Vault that hangs is given up at the deadline. */
static const char seed_nul[] =
    "{\"kv1\": {\"occlum/1\": {\"image_key\": {\"key\": \"ab\\u0000cd\"}}},"
    " \"kv2\": {\"secret\": {\"app1\": {\"key\": \"ab\\u0000cd\", \"z\": \"\\u0000\"}}},"
    " \"tokens\": {\"root-token-XYZ\": [\"*\"]}}";

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_vault_values_whole_raw_controls_refused_hang_bounded(void **state)
{
    (void)state;
    srv s = start_seed(0, seed_nul);
    if (!s.port)
        tu_skip("the test Vault server did not start");
    asps_kms *k1 = open_vault(s.port, 1, "root-token-XYZ", NULL);
    asps_kms *k2 = open_vault(s.port, 2, "root-token-XYZ", "secret");
    uint8_t *v;
    size_t n;
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_kms_get(k1, "occlum/1/image_key", NULL, &v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(v, "ab\0cd", 5);
    asps_kms_value_free(v, n);
    assert_int_equal(asps_kms_get(k2, "app1", NULL, &v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(v, "ab\0cd", 5);
    asps_kms_value_free(v, n);
    assert_int_equal(asps_kms_get(k2, "app1#z", NULL, &v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 1);
    asps_kms_value_free(v, n);
    /* a raw 0x00 (and 0x01) inside a string of a 200 reply: not JSON */
    control(s.port, "{\"fail\": 1, \"status\": 200, \"error_body\": \"{\\\"data\\\": {\\\"data\\\": {\\\"key\\\": \\\"ab\\u0000cd\\\"}}}\"}");
    assert_int_equal(get_err(k2, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "control character in a string"));
    control(s.port, "{\"fail\": 1, \"status\": 200, \"error_body\": \"{\\\"data\\\": {\\\"data\\\": {\\\"key\\\": \\\"ab\\u0001cd\\\"}}}\"}");
    assert_int_equal(get_err(k2, "app1", NULL, &eb), ASPS_E_UNAVAILABLE);
    control(s.port, "{\"error_body\": null}");
    /* a Vault that hangs: the fetch ends at its deadline, with curl's own
     * timeout cut to the time left; then served again */
    control(s.port, "{\"delay\": 5}");
    int64_t t0 = mono_ms();
    assert_int_equal(asps_kms_get_until(k2, "app1", NULL, t0 + 700, &v, &n, &eb), ASPS_E_UNAVAILABLE);
    int64_t took = mono_ms() - t0;
    assert_true(took >= 690 && took < 2500);
    assert_non_null(strstr(eb.msg, "app1"));
    control(s.port, "{\"delay\": 0}");
    assert_int_equal(asps_kms_get(k2, "app1", NULL, &v, &n, &eb), ASPS_OK);
    asps_kms_value_free(v, n);
    asps_kms_free(k1);
    asps_kms_free(k2);
    stop(&s);
    /* the reply parser itself: duplicates on the path are malformed */
    const char dup[] = "{\"data\": {\"data\": {\"key\": \"a\", \"key\": \"b\"}}}";
    assert_int_equal(asps_vault_parse_value(dup, sizeof dup - 1, 2, "key", "p", &v, &n, &eb), ASPS_E_UNAVAILABLE);
    const char kv1[] = "{\"data\": {\"key\": \"x\\u0000\"}}";
    assert_int_equal(asps_vault_parse_value(kv1, sizeof kv1 - 1, 1, "key", "p", &v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 2);
    asps_kms_value_free(v, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_vault_kv1_kv2_tokens_and_errors, stop_left_over),
        cmocka_unit_test_teardown(test_vault_approle_relogin_and_namespace, stop_left_over),
        cmocka_unit_test_teardown(test_vault_approle_token_renewed_then_login_at_max_ttl, stop_left_over),
        cmocka_unit_test_teardown(test_vault_approle_huge_lease_is_bounded, stop_left_over),
        cmocka_unit_test_teardown(test_vault_tls_with_and_without_the_ca, stop_left_over),
        cmocka_unit_test_teardown(test_vault_connections_are_reused_unless_turned_off, stop_left_over),
        cmocka_unit_test_teardown(test_vault_429_412_retried_sealed_not_retried, stop_left_over),
        cmocka_unit_test_teardown(test_vault_dead_server_token_is_unavailable_denied_path_is_denied, stop_left_over),
        cmocka_unit_test_teardown(test_vault_approle_revoked_token_logs_in_again_once, stop_left_over),
        cmocka_unit_test_teardown(test_vault_secret_id_file_and_config_keys, stop_left_over),
        cmocka_unit_test_teardown(test_vault_error_text_is_vault_errors_only_and_safe, stop_left_over),
        cmocka_unit_test_teardown(test_vault_values_whole_raw_controls_refused_hang_bounded, stop_left_over),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
