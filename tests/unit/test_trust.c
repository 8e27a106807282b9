/* test_trust.c: the one collateral source (collateral/source.h) and the one
 * trust object (attest/trust.h). The source: a bundle serves every quote
 * unread; a simulated folder serves each quote its TEE's file; a PCCS
 * (tests/pccs_server.py on 127.0.0.1) serves what it was given, and its
 * trouble is the collateral's (ASPS_E_UNAVAILABLE, ASPS_COLLATERAL_ERR_PREFIX),
 * while a malformed quote stays the quote's fault; the first kind named
 * serves. The trust object: RA-TLS certificates of a simulated platform
 * verify only with its root, a real quote with Intel's collateral from a
 * PCCS gets QVL's verdict, and a pool of verifiers answers concurrent
 * callers alike. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "asps/evidence.h"
#include "asps/ratls.h"
#include "asps/verify.h"
#include "sim.h"
#include "source.h"
#include "testutil.h"
#include "trust.h"

#define PREFIX ASPS_COLLATERAL_ERR_PREFIX

static struct {
    char *dir;        /* a simulated platform in dir/sim, another in dir/other */
    char sim[4200], other[4200];
    uint8_t *quote[2]; /* SGX, TDX (sim) */
    size_t quote_len[2];
    char *cert[2];     /* RA-TLS certificates (PEM), SGX and TDX (sim) */
    char *other_cert;  /* one of the other platform */
    uint8_t digest[2][32]; /* of sim/collateral_{sgx,tdx}.json */
    pid_t pccs_pid;
    int pccs_port;     /* serving sim/collateral_sgx.json */
} g;

static void file_digest(const char *dir, const char *name, uint8_t out[32])
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    asps_collateral *c;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_load_file(p, &c, &eb), ASPS_OK);
    asps_collateral_digest(c, out);
    asps_collateral_free(c);
}

static char *make_cert(const char *dir, asps_tee tee)
{
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    id.tee = tee;
    memset(id.mr_enclave, 0xa1, 32);
    asps_attester *a;
    asps_errbuf eb;
    if (asps_sim_attester_new(dir, &id, &a, &eb) != ASPS_OK)
        return NULL;
    char *cert = NULL, *key = NULL;
    asps_ratls_create_opts o = {.quote = asps_attester_quote, .quote_ctx = a};
    asps_err e = asps_ratls_create(&o, &cert, &key, &eb);
    asps_attester_free(a);
    asps_ratls_free_key(key);
    return e == ASPS_OK ? cert : NULL;
}

/* tests/pccs_server.py serving BUNDLE over TLS (DIR/c.pem, DIR/k.pem);
 * its port, or 0. */
static int start_pccs(const char *bundle, pid_t *pid)
{
    const char *src = getenv("ASPS_SRC");
    if (!src)
        return 0;
    int fd[2];
    if (pipe(fd) != 0)
        return 0;
    *pid = fork();
    if (*pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        char script[4096], cert[4300], key[4300];
        snprintf(script, sizeof script, "%s/tests/pccs_server.py", src);
        snprintf(cert, sizeof cert, "%s/c.pem", g.dir);
        snprintf(key, sizeof key, "%s/k.pem", g.dir);
        execlp("python3", "python3", script, "--bundle", bundle, "--cert", cert, "--key", key,
               (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    int port = 0;
    FILE *f = fdopen(fd[0], "r");
    if (!f || fscanf(f, "PORT %d", &port) != 1)
        port = 0;
    if (f)
        fclose(f);
    return port;
}

static void stop_pccs(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

static int setup(void **state)
{
    (void)state;
    asps_errbuf eb;
    g.dir = tu_mkdtemp();
    snprintf(g.sim, sizeof g.sim, "%s/sim", g.dir);
    snprintf(g.other, sizeof g.other, "%s/other", g.dir);
    if (asps_sim_init(g.sim, &eb) != ASPS_OK || asps_sim_init(g.other, &eb) != ASPS_OK)
        return -1;
    asps_sim *s;
    if (asps_sim_open(g.sim, &s, &eb) != ASPS_OK)
        return -1;
    for (int t = 0; t < 2; t++) {
        asps_sim_identity id;
        memset(&id, 0, sizeof id);
        id.tee = t ? ASPS_TEE_TDX : ASPS_TEE_SGX;
        if (asps_sim_quote(s, &id, &g.quote[t], &g.quote_len[t], &eb) != ASPS_OK)
            return -1;
        g.cert[t] = make_cert(g.sim, id.tee);
        if (!g.cert[t])
            return -1;
    }
    asps_sim_free(s);
    g.other_cert = make_cert(g.other, ASPS_TEE_SGX);
    if (!g.other_cert)
        return -1;
    file_digest(g.sim, "collateral_sgx.json", g.digest[0]);
    file_digest(g.sim, "collateral_tdx.json", g.digest[1]);
    char cmd[8800];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout k.pem -out c.pem -days 1 -subj /CN=localhost "
             "-addext subjectAltName=IP:127.0.0.1 2>/dev/null",
             g.dir);
    if (system(cmd) != 0)
        return -1;
    char bundle[4300];
    snprintf(bundle, sizeof bundle, "%s/collateral_sgx.json", g.sim);
    g.pccs_port = start_pccs(bundle, &g.pccs_pid);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_pccs(g.pccs_pid);
    for (int t = 0; t < 2; t++) {
        free(g.quote[t]);
        free(g.cert[t]);
    }
    free(g.other_cert);
    tu_rm_rf(g.dir);
    free(g.dir);
    return 0;
}

static asps_collateral_source *source(const asps_collateral_source_opts *o)
{
    asps_collateral_source *s;
    asps_errbuf eb;
    if (asps_collateral_source_new(o, &s, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    return s;
}

static void assert_serves(asps_collateral_source *s, const uint8_t *q, size_t len,
                          const uint8_t want[32], int want_owned)
{
    const asps_collateral *c;
    int owned = -1;
    asps_errbuf eb;
    if (asps_collateral_source_get(s, q, len, &c, &owned, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    uint8_t d[32];
    asps_collateral_digest(c, d);
    assert_memory_equal(d, want, 32);
    assert_int_equal(owned, want_owned);
    if (owned)
        asps_collateral_free((asps_collateral *)c);
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static void pccs_url(char *url, size_t n, int port) { snprintf(url, n, "https://127.0.0.1:%d", port); }

static void pccs_ca(char *ca, size_t n) { snprintf(ca, n, "%s/c.pem", g.dir); }

/* O names the test PCCS serving the simulated SGX collateral (URL and CA
 * are the caller's buffers); skips when it did not start. */
static void sim_pccs(asps_collateral_source_opts *o, char url[64], char ca[4300])
{
    if (!g.pccs_port)
        tu_skip("the test PCCS did not start");
    pccs_url(url, 64, g.pccs_port);
    pccs_ca(ca, 4300);
    o->pccs_url = url;
    o->pccs_ca = ca;
}

/* ---- the collateral source -------------------------------------------------------- */

static void test_source_bundle_serves_every_quote_unread(void **state)
{
    (void)state;
    char b[4300];
    snprintf(b, sizeof b, "%s/collateral_tdx.json", g.sim);
    asps_collateral_source_opts o = {.bundle = b};
    asps_collateral_source *s = source(&o);
    assert_false(asps_collateral_source_empty(s));
    assert_serves(s, g.quote[0], g.quote_len[0], g.digest[1], 0);
    assert_serves(s, g.quote[1], g.quote_len[1], g.digest[1], 0);
    const uint8_t junk[4] = {1, 2, 3, 4};
    assert_serves(s, junk, sizeof junk, g.digest[1], 0);
    asps_collateral_source_free(s);
}

static void test_source_sim_folder_picks_the_quotes_tee(void **state)
{
    (void)state;
    asps_collateral_source_opts o = {.sim_dir = g.sim};
    asps_collateral_source *s = source(&o);
    assert_serves(s, g.quote[0], g.quote_len[0], g.digest[0], 0);
    assert_serves(s, g.quote[1], g.quote_len[1], g.digest[1], 0);
    /* a malformed quote is the peer's fault, not the source's */
    const asps_collateral *c;
    int owned;
    asps_errbuf eb;
    asps_err e = asps_collateral_source_get(s, g.quote[0], 10, &c, &owned, &eb);
    assert_int_not_equal(e, ASPS_OK);
    assert_int_not_equal(e, ASPS_E_UNAVAILABLE);
    assert_false(has_prefix(eb.msg, PREFIX));
    asps_collateral_source_free(s);
}

static void test_source_sim_folder_needs_both_files(void **state)
{
    (void)state;
    asps_collateral_source_opts o = {.sim_dir = g.dir}; /* no collateral_*.json there */
    asps_collateral_source *s = NULL;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_source_new(&o, &s, &eb), ASPS_E_IO);
    assert_null(s);
    assert_true(has_prefix(eb.msg, "collateral: "));
    assert_non_null(strstr(eb.msg, "collateral_sgx.json"));
}

static void test_source_empty_answers_unavailable(void **state)
{
    (void)state;
    asps_collateral_source_opts o = {0};
    asps_collateral_source *s = source(&o);
    assert_true(asps_collateral_source_empty(s));
    const asps_collateral *c;
    int owned;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_source_get(s, g.quote[0], g.quote_len[0], &c, &owned, &eb),
                     ASPS_E_UNAVAILABLE);
    assert_true(has_prefix(eb.msg, PREFIX));
    asps_collateral_source_free(s);
}

static void test_source_first_kind_named_serves(void **state)
{
    (void)state;
    char b[4300], url[64], ca[4300];
    snprintf(b, sizeof b, "%s/collateral_tdx.json", g.sim);
    pccs_url(url, sizeof url, 1); /* nothing listens: never asked */
    pccs_ca(ca, sizeof ca);
    asps_collateral_source_opts o = {.bundle = b, .sim_dir = g.sim, .pccs_url = url, .pccs_ca = ca};
    asps_collateral_source *s = source(&o);
    assert_serves(s, g.quote[0], g.quote_len[0], g.digest[1], 0);
    asps_collateral_source_free(s);
    o.bundle = NULL;
    s = source(&o);
    assert_serves(s, g.quote[0], g.quote_len[0], g.digest[0], 0);
    asps_collateral_source_free(s);
}

static void test_source_pccs_serves_what_it_was_given(void **state)
{
    (void)state;
    char url[64], ca[4300];
    asps_collateral_source_opts o = {0};
    sim_pccs(&o, url, ca);
    asps_collateral_source *s = source(&o);
    /* fetched by the PCK certificate's FMSPC, byte for byte the served set */
    assert_serves(s, g.quote[0], g.quote_len[0], g.digest[0], 1);
    assert_serves(s, g.quote[0], g.quote_len[0], g.digest[0], 1);
    asps_collateral_source_free(s);
}

static void test_source_pccs_trouble_is_the_collaterals(void **state)
{
    (void)state;
    char url[64], ca[4300];
    pccs_ca(ca, sizeof ca);
    struct {
        int port;
        const char *ca;
    } cases[] = {
        {1, ca},                  /* nothing listens */
        {g.pccs_port, NULL},      /* its TLS certificate is not trusted (system CAs) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!cases[i].port)
            tu_skip("the test PCCS did not start");
        pccs_url(url, sizeof url, cases[i].port);
        asps_collateral_source_opts o = {.pccs_url = url, .pccs_ca = cases[i].ca};
        asps_collateral_source *s = source(&o);
        const asps_collateral *c;
        int owned;
        asps_errbuf eb;
        assert_int_equal(asps_collateral_source_get(s, g.quote[0], g.quote_len[0], &c, &owned, &eb),
                         ASPS_E_UNAVAILABLE);
        if (!has_prefix(eb.msg, PREFIX "pccs: "))
            fail_msg("case %zu: %s", i, eb.msg);
        asps_collateral_source_free(s);
    }
}

/* ---- the trust object -------------------------------------------------------------- */

static asps_trust *trust(const asps_trust_opts *o)
{
    asps_trust *t;
    asps_errbuf eb;
    if (asps_trust_new(o, &t, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    return t;
}

static void test_trust_sim_certificates_verify_with_their_root(void **state)
{
    (void)state;
    asps_trust_opts o = {.sim_root_dir = g.sim, .collateral = {.sim_dir = g.sim}};
    asps_trust *t = trust(&o);
    assert_false(asps_trust_no_collateral(t));
    for (int i = 0; i < 2; i++) {
        asps_claims c;
        asps_errbuf eb;
        if (asps_trust_verify_cert(t, (const uint8_t *)g.cert[i], strlen(g.cert[i]), time(NULL), 0, &c,
                                   &eb) != ASPS_OK)
            fail_msg("%s", eb.msg);
        assert_int_equal(c.tee, i ? ASPS_TEE_TDX : ASPS_TEE_SGX);
        assert_true(c.simulated);
        if (asps_trust_verify_quote(t, g.quote[i], g.quote_len[i], time(NULL), &c, &eb) != ASPS_OK)
            fail_msg("%s", eb.msg);
        assert_int_equal(c.tee, i ? ASPS_TEE_TDX : ASPS_TEE_SGX);
    }
    /* another simulated platform's certificate: its root is not trusted */
    asps_claims c;
    asps_errbuf eb;
    assert_int_not_equal(asps_trust_verify_cert(t, (const uint8_t *)g.other_cert,
                                                strlen(g.other_cert), time(NULL), 0, &c, &eb),
                         ASPS_OK);
    asps_trust_free(t);
}

static void test_trust_without_the_sim_root_refuses(void **state)
{
    (void)state;
    asps_trust_opts o = {.collateral = {.sim_dir = g.sim}}; /* its collateral, not its root */
    asps_trust *t = trust(&o);
    asps_claims c;
    asps_errbuf eb;
    assert_int_not_equal(asps_trust_verify_cert(t, (const uint8_t *)g.cert[0], strlen(g.cert[0]),
                                                time(NULL), 0, &c, &eb),
                         ASPS_OK);
    asps_trust_free(t);
    /* a root named as a file is as good as the folder's */
    char root[4300];
    snprintf(root, sizeof root, "%s/root_ca.pem", g.sim);
    const char *roots[] = {root};
    o.root_files = roots;
    o.n_root_files = 1;
    t = trust(&o);
    if (asps_trust_verify_cert(t, (const uint8_t *)g.cert[0], strlen(g.cert[0]), time(NULL), 0, &c,
                               &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    asps_trust_free(t);
}

static void test_trust_bad_root_or_collateral_named(void **state)
{
    (void)state;
    asps_trust *t = NULL;
    asps_errbuf eb;
    asps_trust_opts o = {.sim_root_dir = g.dir, .collateral = {.sim_dir = g.sim}};
    assert_int_equal(asps_trust_new(&o, &t, &eb), ASPS_E_IO);
    assert_null(t);
    assert_true(has_prefix(eb.msg, "trust: "));
    asps_trust_opts o2 = {.sim_root_dir = g.sim, .collateral = {.bundle = g.dir}};
    assert_int_not_equal(asps_trust_new(&o2, &t, &eb), ASPS_OK);
    assert_null(t);
    assert_true(has_prefix(eb.msg, "collateral: "));
}

static void test_trust_without_collateral_says_so(void **state)
{
    (void)state;
    asps_trust_opts o = {.sim_root_dir = g.sim};
    asps_trust *t = trust(&o);
    assert_true(asps_trust_no_collateral(t));
    asps_claims c;
    asps_errbuf eb;
    assert_int_equal(asps_trust_verify_cert(t, (const uint8_t *)g.cert[0], strlen(g.cert[0]),
                                            time(NULL), 0, &c, &eb),
                     ASPS_E_UNAVAILABLE);
    assert_true(has_prefix(eb.msg, PREFIX));
    asps_trust_free(t);
}

static void test_trust_sim_certificate_with_collateral_from_a_pccs(void **state)
{
    (void)state;
    char url[64], ca[4300];
    asps_trust_opts o = {.sim_root_dir = g.sim};
    sim_pccs(&o.collateral, url, ca);
    asps_trust *t = trust(&o);
    asps_claims c;
    asps_errbuf eb;
    if (asps_trust_verify_cert(t, (const uint8_t *)g.cert[0], strlen(g.cert[0]), time(NULL), 0, &c,
                               &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_true(c.simulated);
    asps_trust_free(t);
}

/* A PCCS is asked only for a platform whose PCK chain a trusted root
 * vouches for: a certificate from a platform whose root is not trusted is
 * refused for its chain (the peer's fault, ROOT_UNTRUSTED), and the PCCS
 * is never asked for the FMSPC it names; the trusted platform's quote is
 * fetched for once and then held. */
static void test_trust_pccs_asked_only_for_a_vetted_platform(void **state)
{
    (void)state;
    char url[64], ca[4300];
    asps_trust_opts o = {.sim_root_dir = g.sim};
    sim_pccs(&o.collateral, url, ca);
    asps_trust *t = trust(&o);
    asps_collateral_source *s = asps_trust__collateral_source(t);
    char *other = make_cert(g.other, ASPS_TEE_SGX);
    asps_claims c;
    asps_errbuf eb;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(asps_trust_verify_cert(t, (const uint8_t *)other, strlen(other),
                                                time(NULL), 0, &c, &eb),
                         ASPS_E_ROOT_UNTRUSTED);
        assert_false(has_prefix(eb.msg, PREFIX)); /* not the collateral's trouble */
    }
    assert_int_equal(asps_collateral_source__fetches(s), 0);
    for (int i = 0; i < 2; i++)
        if (asps_trust_verify_cert(t, (const uint8_t *)g.cert[0], strlen(g.cert[0]), time(NULL), 0,
                                   &c, &eb) != ASPS_OK)
            fail_msg("%s", eb.msg);
    assert_int_equal(asps_collateral_source__fetches(s), 1);
    free(other);
    asps_trust_free(t);
}

/* The source's clock for the window after a failed fetch (source.h), set
 * by the test: time passes only when the test says. */
static int64_t test_clock(void *ctx) { return atomic_load((_Atomic int64_t *)ctx); }

/* A PCK chain that passes the vet but names a platform the PCCS cannot
 * serve (here the trusted platform's chain in a TDX quote, the PCCS holding
 * SGX collateral only: as a public, genuine SGX PCK chain under a TDX header
 * is at Intel's PCS) is asked for once, then not again within a second
 * however many handshakes name it (each told when the PCCS was asked and
 * what it answered); after the second, once more. */
static void test_trust_unservable_vetted_platform_not_fetched_every_handshake(void **state)
{
    (void)state;
    char url[64], ca[4300];
    asps_trust_opts o = {.sim_root_dir = g.sim};
    sim_pccs(&o.collateral, url, ca);
    asps_trust *t = trust(&o);
    asps_collateral_source *s = asps_trust__collateral_source(t);
    _Atomic int64_t now = 5000000;
    asps_collateral_source__set_clock(s, test_clock, &now);
    asps_claims c;
    asps_errbuf eb;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(asps_trust_verify_cert(t, (const uint8_t *)g.cert[1], strlen(g.cert[1]),
                                                time(NULL), 0, &c, &eb),
                         ASPS_E_UNAVAILABLE);
        if (!strstr(eb.msg, PREFIX) || !strstr(eb.msg, "/tdx/certification/v4/tcb?fmspc=") ||
            !strstr(eb.msg, "HTTP 404") ||
            (i > 0 && !strstr(eb.msg, "less than 1 s ago and is not asked again yet")))
            fail_msg("handshake %d: %s", i, eb.msg);
    }
    unsigned long n = asps_collateral_source__fetches(s);
    if (n != 1)
        fail_msg("the PCCS was asked %lu times for one unservable platform in 5 handshakes", n);
    atomic_fetch_add(&now, ASPS_COLLATERAL_UNHELD_WAIT_MS - 1);
    assert_int_equal(asps_trust_verify_cert(t, (const uint8_t *)g.cert[1], strlen(g.cert[1]),
                                            time(NULL), 0, &c, &eb),
                     ASPS_E_UNAVAILABLE);
    assert_int_equal(asps_collateral_source__fetches(s), 1);
    atomic_fetch_add(&now, 1); /* the window passed: asked again, once */
    for (int i = 0; i < 5; i++)
        assert_int_equal(asps_trust_verify_cert(t, (const uint8_t *)g.cert[1], strlen(g.cert[1]),
                                                time(NULL), 0, &c, &eb),
                         ASPS_E_UNAVAILABLE);
    assert_int_equal(asps_collateral_source__fetches(s), 2);
    /* the trusted platform's SGX quote, served, is not held back by it */
    if (asps_trust_verify_cert(t, (const uint8_t *)g.cert[0], strlen(g.cert[0]), time(NULL), 0,
                               &c, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(asps_collateral_source__fetches(s), 3);
    asps_trust_free(t);
}

/* A TCP server on 127.0.0.1 that takes every connection and holds it
 * HOLD_MS before closing it unanswered: a PCCS slow to fail. */
#define HOLD_MS 300
typedef struct slow_pccs {
    int fd, port;
    atomic_int stop;
    pthread_t th;
} slow_pccs;

static void *slow_pccs_run(void *arg)
{
    slow_pccs *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {.fd = p->fd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int c = accept(p->fd, NULL, NULL);
        if (c < 0)
            continue;
        usleep(HOLD_MS * 1000);
        close(c);
    }
    return NULL;
}

/* A socket listening on 127.0.0.1 (a port of the kernel's choosing, in
 * *port) that nobody answers unless the test does. */
static int listen_loopback(int backlog, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void slow_pccs_start(slow_pccs *p)
{
    memset(p, 0, sizeof *p);
    p->fd = listen_loopback(64, &p->port);
    assert_int_equal(pthread_create(&p->th, NULL, slow_pccs_run, p), 0);
}

static void slow_pccs_stop(slow_pccs *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->th, NULL);
    close(p->fd);
}

#define CALLERS 8
typedef struct caller {
    asps_collateral_source *s;
    pthread_barrier_t *go;
    asps_err e;
    asps_errbuf eb;
} caller;

static void *ask_once(void *arg)
{
    caller *k = arg;
    const asps_collateral *c = NULL;
    int owned = 0;
    pthread_barrier_wait(k->go);
    k->e = asps_collateral_source_get(k->s, g.quote[0], g.quote_len[0], &c, &owned, &k->eb);
    if (c && owned)
        asps_collateral_free((asps_collateral *)c);
    return NULL;
}

/* Handshakes that ask at once for one platform not held make one fetch:
 * while it is under way (a PCCS slow to fail) the others wait for it, and
 * all get its result. */
static void test_source_one_fetch_at_a_time_per_platform(void **state)
{
    (void)state;
    slow_pccs p;
    slow_pccs_start(&p);
    char url[64], ca[4300];
    pccs_url(url, sizeof url, p.port);
    pccs_ca(ca, sizeof ca);
    asps_collateral_source_opts o = {.pccs_url = url, .pccs_ca = ca};
    asps_collateral_source *s = source(&o);
    _Atomic int64_t now = 5000000;
    asps_collateral_source__set_clock(s, test_clock, &now);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, CALLERS);
    pthread_t th[CALLERS];
    caller k[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        k[i] = (caller){.s = s, .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, ask_once, &k[i]), 0);
    }
    for (int i = 0; i < CALLERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    unsigned long n = asps_collateral_source__fetches(s);
    asps_collateral_source_free(s);
    slow_pccs_stop(&p);
    char want[128];
    snprintf(want, sizeof want, "pccs: %s/sgx/certification/v4/pckcrl", url);
    for (int i = 0; i < CALLERS; i++) {
        assert_int_equal(k[i].e, ASPS_E_UNAVAILABLE);
        if (!has_prefix(k[i].eb.msg, PREFIX) || !strstr(k[i].eb.msg, want))
            fail_msg("caller %d: %s", i, k[i].eb.msg);
    }
    if (n != 1)
        fail_msg("%d handshakes at once for one platform made %lu fetches", CALLERS, n);
}

/* QUOTE (the simulated TDX quote) with its PCK certificate's FMSPC set to
 * 0xA5 0 0 0 K>>8 K: another platform, as a PCK chain of another
 * processor would name (the PEM leaf decoded, the FMSPC extension's value
 * replaced, encoded back in place). */
static uint8_t *quote_with_fmspc(const uint8_t *q, size_t len, unsigned k)
{
    static const uint8_t oid[] = {0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d,
                                  0x01, 0x0d, 0x01, 0x04, 0x04, 0x06};
    uint8_t *out = malloc(len);
    assert_non_null(out);
    memcpy(out, q, len);
    const char *begin = "-----BEGIN CERTIFICATE-----", *end = "-----END CERTIFICATE-----";
    uint8_t *b = memmem(out, len, begin, strlen(begin));
    assert_non_null(b);
    b += strlen(begin);
    uint8_t *e = memmem(b, len - (size_t)(b - out), end, strlen(end));
    assert_non_null(e);
    size_t n = 0, *pos = malloc(sizeof *pos * (size_t)(e - b));
    unsigned char *text = malloc((size_t)(e - b) + 1), *der = malloc((size_t)(e - b));
    assert_true(pos && text && der);
    for (uint8_t *x = b; x < e; x++)
        if (*x != '\n' && *x != '\r') {
            pos[n] = (size_t)(x - out);
            text[n++] = *x;
        }
    int dl = EVP_DecodeBlock(der, text, (int)n);
    assert_true(dl > 0 && n % 4 == 0);
    uint8_t *f = memmem(der, (size_t)dl, oid, sizeof oid);
    assert_non_null(f);
    f += sizeof oid;
    const uint8_t fm[6] = {0xa5, 0, 0, 0, (uint8_t)(k >> 8), (uint8_t)k};
    memcpy(f, fm, 6);
    /* the padding decoded as zeros: encode only the DER's own bytes */
    int pad = (n >= 1 && text[n - 1] == '=') + (n >= 2 && text[n - 2] == '=');
    assert_int_equal(EVP_EncodeBlock(text, der, dl - pad), (int)n);
    for (size_t i = 0; i < n; i++)
        out[pos[i]] = text[i];
    free(pos);
    free(text);
    free(der);
    return out;
}

/* One call for platform K; its error. */
static asps_err ask_platform(asps_collateral_source *s, unsigned k, asps_errbuf *eb)
{
    uint8_t *q = quote_with_fmspc(g.quote[1], g.quote_len[1], k);
    const asps_collateral *c = NULL;
    int owned = 0;
    asps_err e = asps_collateral_source_get(s, q, g.quote_len[1], &c, &owned, eb);
    free(q);
    if (c && owned)
        asps_collateral_free((asps_collateral *)c);
    return e;
}

/* The platforms not held that the source remembers are a fixed table: more
 * of them than it holds do not grow it; while every slot has failed within
 * the window a new platform is not fetched for (the PCCS sees at most that
 * many request rounds a second), and once the window passed the oldest
 * slots are taken again (their platforms forgotten). */
static void test_source_unheld_platforms_table_is_bounded(void **state)
{
    (void)state;
    char url[64], ca[4300];
    asps_collateral_source_opts o = {0};
    sim_pccs(&o, url, ca); /* SGX only: every TDX platform is a 404 */
    asps_collateral_source *s = source(&o);
    _Atomic int64_t now = 5000000;
    asps_collateral_source__set_clock(s, test_clock, &now);
    const unsigned N = ASPS_COLLATERAL_UNHELD_N;
    asps_errbuf eb;
    /* the patched quote names its platform, and a 404 is what it gets */
    assert_int_equal(ask_platform(s, 0, &eb), ASPS_E_UNAVAILABLE);
    if (!strcasestr(eb.msg, "fmspc=A50000000000") || !strstr(eb.msg, "HTTP 404"))
        fail_msg("%s", eb.msg);
    for (unsigned k = 1; k < N; k++)
        assert_int_equal(ask_platform(s, k, &eb), ASPS_E_UNAVAILABLE);
    assert_int_equal(asps_collateral_source__fetches(s), N);
    assert_int_equal(asps_collateral_source__unheld(s), N);
    /* one more platform: every slot failed within the window */
    assert_int_equal(ask_platform(s, N, &eb), ASPS_E_UNAVAILABLE);
    if (!has_prefix(eb.msg, PREFIX) || !strstr(eb.msg, "other platforms not held"))
        fail_msg("%s", eb.msg);
    assert_int_equal(ask_platform(s, 0, &eb), ASPS_E_UNAVAILABLE);
    if (!strstr(eb.msg, "less than 1 s ago"))
        fail_msg("%s", eb.msg);
    assert_int_equal(asps_collateral_source__fetches(s), N);
    assert_int_equal(asps_collateral_source__unheld(s), N);
    /* the window passed: N new platforms take the slots */
    atomic_fetch_add(&now, ASPS_COLLATERAL_UNHELD_WAIT_MS);
    for (unsigned k = N; k < 2 * N; k++)
        assert_int_equal(ask_platform(s, k, &eb), ASPS_E_UNAVAILABLE);
    assert_int_equal(asps_collateral_source__fetches(s), 2 * N);
    assert_int_equal(asps_collateral_source__unheld(s), N);
    /* the first platform was forgotten: not "asked less than 1 s ago" */
    assert_int_equal(ask_platform(s, 0, &eb), ASPS_E_UNAVAILABLE);
    if (!strstr(eb.msg, "other platforms not held"))
        fail_msg("%s", eb.msg);
    assert_int_equal(asps_collateral_source__fetches(s), 2 * N);
    asps_collateral_source_free(s);
}

/* Intel's real quote and collateral, served by a PCCS: QVL's verdict
 * (ConfigurationAndSWHardeningNeeded, two advisories) at 2025-07-01. */
static void test_trust_real_quote_with_collateral_from_a_pccs(void **state)
{
    (void)state;
    const char *vec = tu_vectors_dir();
    if (!vec)
        tu_skip_vectors("Intel's DCAP quote and collateral");
    char bundle[4200], qpath[4200];
    snprintf(bundle, sizeof bundle, "%s/sgx_quote_collateral.json", vec);
    snprintf(qpath, sizeof qpath, "%s/sgx_quote", vec);
    size_t qlen;
    uint8_t *q = tu_read_file(qpath, &qlen);
    if (!q)
        tu_skip_vectors("Intel's SGX quote");
    pid_t pid = 0;
    int port = start_pccs(bundle, &pid);
    if (!port) {
        stop_pccs(pid);
        free(q);
        tu_skip("the test PCCS did not start");
    }
    char url[64], ca[4300];
    pccs_url(url, sizeof url, port);
    pccs_ca(ca, sizeof ca);
    asps_trust_opts o = {.collateral = {.pccs_url = url, .pccs_ca = ca}};
    asps_trust *t = trust(&o);
    asps_claims c;
    asps_errbuf eb;
    asps_err e = asps_trust_verify_quote(t, q, qlen, 1751328000, &c, &eb);
    asps_trust_free(t);
    stop_pccs(pid);
    free(q);
    if (e != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(c.tcb_status, ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(c.n_advisories, 2);
    assert_false(c.simulated);
}

typedef struct worker {
    asps_trust *t;
    int ok;
} worker;

static void *verify_many(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 20; i++) {
        asps_claims c;
        asps_errbuf eb;
        int k = i & 1;
        if (asps_trust_verify_cert(w->t, (const uint8_t *)g.cert[k], strlen(g.cert[k]), time(NULL),
                                   0, &c, &eb) == ASPS_OK &&
            c.tee == (k ? ASPS_TEE_TDX : ASPS_TEE_SGX))
            w->ok++;
    }
    return NULL;
}

static void test_trust_pool_serves_concurrent_callers(void **state)
{
    (void)state;
    /* fewer verifiers than callers: some wait their turn */
    asps_trust_opts o = {.sim_root_dir = g.sim, .collateral = {.sim_dir = g.sim}, .verifiers = 2};
    asps_trust *t = trust(&o);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.t = t};
        assert_int_equal(pthread_create(&th[i], NULL, verify_many, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 20);
    }
    asps_trust_free(t);
}

/* ---- without waiting (asps_trust_verify_cert_now) --------------------------------- */

static void expect_now(asps_trust *t, const char *cert, asps_err want, const char *words)
{
    asps_claims c;
    asps_errbuf eb = {{0}};
    asps_err e = asps_trust_verify_cert_now(t, (const uint8_t *)cert, strlen(cert), time(NULL),
                                            ASPS_RATLS_PEER, &c, &eb);
    if (e != want || (words && !strstr(eb.msg, words)))
        fail_msg("want %s (%s), got %s: %s", asps_err_name(want), words ? words : "",
                 asps_err_name(e), eb.msg);
}

/* Collateral at hand (the simulated folder; a platform held fresh) is
 * verified at once; a platform not held yet is ASPS_E_WOULD_BLOCK with no
 * PCCS asked, until a waiting verification has fetched it; a certificate
 * wrong in itself is refused at once all the same. */
static void test_trust_now_verifies_only_what_needs_no_wait(void **state)
{
    (void)state;
    asps_trust_opts so = {.sim_root_dir = g.sim, .collateral = {.sim_dir = g.sim}};
    asps_trust *t = trust(&so);
    expect_now(t, g.cert[0], ASPS_OK, NULL);
    expect_now(t, g.cert[1], ASPS_OK, NULL);
    asps_trust_free(t);

    char url[64], ca[4300];
    asps_trust_opts o = {.sim_root_dir = g.sim};
    sim_pccs(&o.collateral, url, ca);
    t = trust(&o);
    asps_collateral_source *s = asps_trust__collateral_source(t);
    for (int i = 0; i < 3; i++)
        expect_now(t, g.cert[0], ASPS_E_WOULD_BLOCK, PREFIX "platform's collateral not held");
    assert_int_equal(asps_collateral_source__fetches(s), 0);
    /* wrong in itself: refused, not put off */
    char *cut = strdup(g.cert[0]);
    cut[strlen(cut) / 2] = 0;
    asps_claims c;
    asps_errbuf eb;
    assert_int_equal(asps_trust_verify_cert_now(t, (const uint8_t *)cut, strlen(cut), time(NULL),
                                                ASPS_RATLS_PEER, &c, &eb),
                     ASPS_E_PARSE);
    free(cut);
    if (asps_trust_verify_cert(t, (const uint8_t *)g.cert[0], strlen(g.cert[0]), time(NULL),
                               ASPS_RATLS_PEER, &c, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(asps_collateral_source__fetches(s), 1);
    expect_now(t, g.cert[0], ASPS_OK, NULL); /* held now */
    assert_int_equal(asps_collateral_source__fetches(s), 1);
    asps_trust_free(t);
}

typedef struct {
    asps_trust *t;
    asps_err e;
} stuck_arg;

static void *verify_stuck(void *arg)
{
    stuck_arg *a = arg;
    asps_claims c;
    asps_errbuf eb;
    a->e = asps_trust_verify_cert(a->t, (const uint8_t *)g.cert[0], strlen(g.cert[0]), time(NULL),
                                  ASPS_RATLS_PEER, &c, &eb);
    return NULL;
}

/* A verifier held by a verification waiting for a PCCS that does not
 * answer: a check that must not wait is put off, not queued behind it. */
static void test_trust_now_never_waits_for_a_busy_verifier(void **state)
{
    (void)state;
    int port;
    int ls = listen_loopback(8, &port); /* never answers */
    char url[64], ca[4300];
    pccs_url(url, sizeof url, port);
    pccs_ca(ca, sizeof ca);
    asps_trust_opts o = {.sim_root_dir = g.sim, .verifiers = 1,
                         .collateral = {.pccs_url = url, .pccs_ca = ca}};
    asps_trust *t = trust(&o);
    stuck_arg sa = {.t = t};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, verify_stuck, &sa), 0);
    /* until the stuck one holds the verifier, the answer is the collateral's */
    asps_errbuf eb = {{0}};
    asps_err e = ASPS_OK;
    for (int i = 0; i < 500; i++) {
        asps_claims c;
        e = asps_trust_verify_cert_now(t, (const uint8_t *)g.cert[0], strlen(g.cert[0]), time(NULL),
                                       ASPS_RATLS_PEER, &c, &eb);
        if (e == ASPS_E_WOULD_BLOCK && strstr(eb.msg, "every verifier busy"))
            break;
        assert_int_equal(e, ASPS_E_WOULD_BLOCK);
        usleep(10000);
    }
    assert_int_equal(e, ASPS_E_WOULD_BLOCK);
    assert_non_null(strstr(eb.msg, "every verifier busy"));
    close(ls); /* the stuck fetch fails now */
    pthread_join(th, NULL);
    assert_int_equal(sa.e, ASPS_E_UNAVAILABLE);
    asps_trust_free(t);
}

/* ---- the same verdict without waiting as waiting --------------------------------- */

/* A certificate whose two quotes (Gramine's, then the DICE one) come from
 * A1 and A2: two platforms, or two identities of one. */
typedef struct {
    asps_attester *a[2];
    int n;
} two_attesters;

static asps_err quote_in_turn(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *n,
                              asps_errbuf *eb)
{
    two_attesters *t = ctx;
    return asps_attester_quote(t->a[t->n++ % 2], rd, q, n, eb);
}

static char *make_cert_two(const asps_sim_identity *id1, const asps_sim_identity *id2,
                           int64_t not_before, int64_t validity)
{
    two_attesters t = {.n = 0};
    asps_errbuf eb;
    if (asps_sim_attester_new(g.sim, id1, &t.a[0], &eb) != ASPS_OK ||
        asps_sim_attester_new(g.sim, id2, &t.a[1], &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    char *cert = NULL, *key = NULL;
    asps_ratls_create_opts o = {.quote = quote_in_turn, .quote_ctx = &t,
                                .not_before = not_before, .validity_secs = validity};
    if (asps_ratls_create(&o, &cert, &key, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_int_equal(t.n, 2); /* both extensions written */
    asps_attester_free(t.a[0]);
    asps_attester_free(t.a[1]);
    asps_ratls_free_key(key);
    return cert;
}

typedef struct {
    asps_err e;
    char msg[sizeof ((asps_errbuf *)0)->msg];
} answer;

static answer ask(asps_trust *t, const char *cert, int now)
{
    answer a;
    asps_claims c;
    asps_errbuf eb = {{0}};
    a.e = now ? asps_trust_verify_cert_now(t, (const uint8_t *)cert, strlen(cert), time(NULL),
                                           ASPS_RATLS_PEER, &c, &eb)
              : asps_trust_verify_cert(t, (const uint8_t *)cert, strlen(cert), time(NULL),
                                       ASPS_RATLS_PEER, &c, &eb);
    snprintf(a.msg, sizeof a.msg, "%s", eb.msg);
    return a;
}

/* CERT: without waiting, put off (WANT_LATER) or exactly the waiting
 * answer (its error and its words). */
static void same_answer(asps_trust *t, const char *cert, int want_later, asps_err want)
{
    answer now = ask(t, cert, 1), wait = ask(t, cert, 0);
    if (wait.e != want)
        fail_msg("waiting: want %s, got %s: %s", asps_err_name(want), asps_err_name(wait.e),
                 wait.msg);
    if (want_later) {
        if (now.e != ASPS_E_WOULD_BLOCK)
            fail_msg("now: want would_block, got %s: %s", asps_err_name(now.e), now.msg);
        return;
    }
    if (now.e != wait.e || strcmp(now.msg, wait.msg) != 0)
        fail_msg("now %s (%s) but waiting %s (%s)", asps_err_name(now.e), now.msg,
                 asps_err_name(wait.e), wait.msg);
}

/* Gramine's quote on a platform held, the DICE quote on another (a TDX
 * one, never fetched: the test PCCS serves SGX only) or of another
 * identity; an expired certificate; each without waiting is the waiting
 * answer, or put off when a part of it would wait. */
static void test_trust_now_gives_the_waiting_verdict(void **state)
{
    (void)state;
    asps_sim_identity sgx, tdx, sgx2;
    memset(&sgx, 0, sizeof sgx);
    memset(&tdx, 0, sizeof tdx);
    sgx.tee = ASPS_TEE_SGX;
    memset(sgx.mr_enclave, 0xa1, 32);
    tdx.tee = ASPS_TEE_TDX;
    sgx2 = sgx;
    memset(sgx2.mr_enclave, 0xb2, 32);
    char *mixed = make_cert_two(&sgx, &tdx, 0, 0);
    char *two_ids = make_cert_two(&sgx, &sgx2, 0, 0);
    char *expired = make_cert_two(&sgx, &sgx, time(NULL) - 7200, 3600);

    /* the simulated folder: everything at hand */
    asps_trust_opts so = {.sim_root_dir = g.sim, .collateral = {.sim_dir = g.sim}};
    asps_trust *t = trust(&so);
    same_answer(t, mixed, 0, ASPS_E_BINDING);
    same_answer(t, two_ids, 0, ASPS_E_BINDING);
    same_answer(t, expired, 0, ASPS_E_CERT_EXPIRED);
    asps_trust_free(t);

    /* a PCCS serving SGX: the SGX platform held after one waiting check */
    char url[64], ca[4300];
    asps_trust_opts o = {.sim_root_dir = g.sim};
    sim_pccs(&o.collateral, url, ca);
    t = trust(&o);
    asps_collateral_source *s = asps_trust__collateral_source(t);
    same_answer(t, expired, 0, ASPS_E_CERT_EXPIRED); /* refused before any collateral */
    assert_int_equal(asps_collateral_source__fetches(s), 0);
    same_answer(t, g.cert[0], 1, ASPS_OK); /* SGX held from here on */
    unsigned long f = asps_collateral_source__fetches(s);
    same_answer(t, two_ids, 0, ASPS_E_BINDING);
    assert_int_equal(asps_collateral_source__fetches(s), f);
    /* the TDX quote's collateral is not held: put off, never refused or
     * accepted on the SGX quote's alone */
    same_answer(t, mixed, 1, ASPS_E_UNAVAILABLE);
    same_answer(t, mixed, 1, ASPS_E_UNAVAILABLE);
    asps_trust_free(t);
    free(mixed);
    free(two_ids);
    free(expired);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_bundle_serves_every_quote_unread),
        cmocka_unit_test(test_source_sim_folder_picks_the_quotes_tee),
        cmocka_unit_test(test_source_sim_folder_needs_both_files),
        cmocka_unit_test(test_source_empty_answers_unavailable),
        cmocka_unit_test(test_source_first_kind_named_serves),
        cmocka_unit_test(test_source_pccs_serves_what_it_was_given),
        cmocka_unit_test(test_trust_pccs_asked_only_for_a_vetted_platform),
        cmocka_unit_test(test_trust_unservable_vetted_platform_not_fetched_every_handshake),
        cmocka_unit_test(test_source_one_fetch_at_a_time_per_platform),
        cmocka_unit_test(test_source_unheld_platforms_table_is_bounded),
        cmocka_unit_test(test_source_pccs_trouble_is_the_collaterals),
        cmocka_unit_test(test_trust_sim_certificates_verify_with_their_root),
        cmocka_unit_test(test_trust_without_the_sim_root_refuses),
        cmocka_unit_test(test_trust_bad_root_or_collateral_named),
        cmocka_unit_test(test_trust_without_collateral_says_so),
        cmocka_unit_test(test_trust_sim_certificate_with_collateral_from_a_pccs),
        cmocka_unit_test(test_trust_real_quote_with_collateral_from_a_pccs),
        cmocka_unit_test(test_trust_pool_serves_concurrent_callers),
        cmocka_unit_test(test_trust_now_verifies_only_what_needs_no_wait),
        cmocka_unit_test(test_trust_now_never_waits_for_a_busy_verifier),
        cmocka_unit_test(test_trust_now_gives_the_waiting_verdict),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
