/* test_kms_vault.c: the Vault backend against tests/vault_server.py (a
 * Vault-shaped test server): KV v1 (the seed system's default field "key")
 * and v2, per-app tokens, 403/404, sealed and recovered, retries past
 * transient 5xx, down, AppRole with expiring leases, namespaces, TLS; no
 * token or value ever in an error message. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asps/kms.h"
#include "testutil.h"

static char *dir;

typedef struct srv {
    pid_t pid;
    int port;
} srv;

static const char seed[] =
    "{\"kv1\": {\"occlum/1\": {\"image_key\": {\"key\": \"kv1-secret-value\"}, \"other\": {\"pass\": \"p1\"}}},"
    " \"kv2\": {\"secret\": {\"app1\": {\"key\": \"kv2-secret-value\", \"extra\": \"x2\"}},"
    "           \"ns1/secret\": {\"app9\": {\"key\": \"in-namespace\"}}},"
    " \"tokens\": {\"root-token-XYZ\": [\"*\"], \"app1-token\": [\"occlum/1/image_key\"]},"
    " \"approle\": {\"role_id\": \"role-1\", \"secret_id\": \"sec-1\", \"policies\": [\"secret/\"], \"ttl\": 1}}";

static srv start(int tls)
{
    srv s = {0};
    const char *src = getenv("ASPS_SRC");
    if (!src)
        return s;
    char p[4200];
    snprintf(p, sizeof p, "%s/seed.json", dir);
    FILE *f = fopen(p, "w");
    fputs(seed, f);
    fclose(f);
    int fd[2];
    if (pipe(fd) != 0)
        return s;
    s.pid = fork();
    if (s.pid == 0) {
        dup2(fd[1], 1);
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
        skip();
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
        skip();
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

static void test_vault_tls_with_and_without_the_ca(void **state)
{
    (void)state;
    srv s = start(1);
    if (!s.port)
        skip();
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vault_kv1_kv2_tokens_and_errors),
        cmocka_unit_test(test_vault_approle_relogin_and_namespace),
        cmocka_unit_test(test_vault_tls_with_and_without_the_ca),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
