/* test_collateral_cache.c: the disk cache's file names (cache.h) and the
 * duration form of collateral.max_stale / refresh_before (source.h); the
 * cache's write and read back: same bytes left alone, mode 0600; a source
 * given only a cache folder serves what verifies and never what does not
 * (the verify callback decides, as asps_verify_collateral does in the
 * server), and a source with a cache folder but no verifier is refused. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "depstate.h"
#include "metrics.h"
#include "source.h"
#include "testutil.h"
#include "util.h"

static void test_duration(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(asps_collateral_duration_parse("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(asps_collateral_duration_parse("0s", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(asps_collateral_duration_parse("0d", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(asps_collateral_duration_parse("90s", &v), 0);
    assert_int_equal(v, 90);
    assert_int_equal(asps_collateral_duration_parse("30m", &v), 0);
    assert_int_equal(v, 1800);
    assert_int_equal(asps_collateral_duration_parse("36h", &v), 0);
    assert_int_equal(v, 129600);
    assert_int_equal(asps_collateral_duration_parse("7d", &v), 0);
    assert_int_equal(v, 604800);
    assert_int_equal(asps_collateral_duration_parse("365d", &v), 0);
    assert_int_equal(v, 365 * 86400);
    assert_int_equal(asps_collateral_duration_parse("31536000s", &v), 0);
    const char *bad[] = {"", "s", "366d", "31536001s", "8761h", "5", "5x", "-1h", "+1h", "1h30m",
                         "01h", "1.5h", "1 h", "1h ", " 1h", "1H", "99999999999999999999d", "00s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (asps_collateral_duration_parse(bad[i], &v) != -1)
            fail_msg("\"%s\" accepted", bad[i]);
    assert_int_equal(asps_collateral_duration_parse(NULL, &v), -1);
}

static void test_names(void **state)
{
    (void)state;
    const uint8_t fm[6] = {0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00};
    char name[64];
    asps_collateral_cache_name(ASPS_TEE_SGX, fm, "processor", name, sizeof name);
    assert_string_equal(name, "sgx-00906ED50000-processor.json");
    asps_collateral_cache_name(ASPS_TEE_TDX, fm, "platform", name, sizeof name);
    assert_string_equal(name, "tdx-00906ED50000-platform.json");
    asps_tee tee;
    uint8_t f2[6];
    char ca[16];
    assert_int_equal(asps_collateral_cache_name_parse(name, &tee, f2, ca), 1);
    assert_int_equal(tee, ASPS_TEE_TDX);
    assert_memory_equal(f2, fm, 6);
    assert_string_equal(ca, "platform");
    const char *bad[] = {"sgx-00906ed50000-processor.json", "sgx-00906ED5000-processor.json",
                         "sev-00906ED50000-processor.json", "sgx-00906ED50000-root.json",
                         "sgx-00906ED50000-processor.json.tmp", "sgx_00906ED50000-processor.json",
                         "sgx-00906ED50000_processor.json", "", "sgx-", ".sgx-00906ED50000-processor.json"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (asps_collateral_cache_name_parse(bad[i], &tee, f2, ca))
            fail_msg("\"%s\" taken for a cache file", bad[i]);
}

static int verify_calls, verify_ok;
static asps_err fake_verify(void *ctx, const asps_collateral *c, asps_errbuf *eb)
{
    (void)ctx;
    (void)c;
    verify_calls++;
    return verify_ok ? ASPS_OK : asps_fail(eb, ASPS_E_TCB_INFO_SIGNATURE, "does not verify");
}

static void test_write_read(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char sim[4200], cache[4200], cmd[9000];
    snprintf(sim, sizeof sim, "%s/sim", dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    /* a simulated platform's bundle: any well-formed collateral does here */
    snprintf(cmd, sizeof cmd, "'%s' sim init '%s' >/dev/null", getenv("ASPS_BIN") ? getenv("ASPS_BIN") : "asps",
             sim);
    if (!getenv("ASPS_BIN") || system(cmd) != 0)
        tu_skip("needs ASPS_BIN (asps sim init)");
    char path[4300];
    snprintf(path, sizeof path, "%s/collateral_sgx.json", sim);
    asps_collateral *c, *r;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_load_file(path, &c, &eb), ASPS_OK);
    asps_tee tee;
    uint8_t fm[6];
    int64_t nu;
    assert_int_equal(asps_collateral_expiry(c, &tee, fm, &nu, &eb), ASPS_OK);
    assert_int_equal(asps_collateral_cache_read(cache, tee, fm, "platform", &r, &eb), ASPS_OK);
    assert_null(r); /* none yet */
    int written = -1;
    assert_int_equal(asps_collateral_cache_write(cache, tee, fm, "platform", c, &written, &eb), ASPS_OK);
    assert_int_equal(written, 1);
    char name[64], file[4400];
    asps_collateral_cache_name(tee, fm, "platform", name, sizeof name);
    snprintf(file, sizeof file, "%s/%s", cache, name);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(asps_collateral_cache_write(cache, tee, fm, "platform", c, &written, &eb), ASPS_OK);
    assert_int_equal(written, 0); /* the same bytes: left alone */
    assert_int_equal(asps_collateral_cache_read(cache, tee, fm, "platform", &r, &eb), ASPS_OK);
    assert_non_null(r);
    uint8_t d1[32], d2[32];
    asps_collateral_digest(c, d1);
    asps_collateral_digest(r, d2);
    assert_memory_equal(d1, d2, 32);
    asps_collateral_free(r);

    /* a source with the folder alone: ready only when the file verifies */
    asps_collateral_source *s;
    asps_collateral_source_opts o = {.cache_dir = cache, .verify = fake_verify};
    char why[256];
    verify_ok = 0;
    verify_calls = 0;
    assert_int_equal(asps_collateral_source_new(&o, &s, &eb), ASPS_OK);
    assert_int_equal(verify_calls, 1);
    assert_false(asps_collateral_source_empty(s));
    assert_int_equal(asps_collateral_source_ready(s, nu - 10, why, sizeof why), 0);
    assert_non_null(strstr(why, "the cache folder holds no collateral fresh"));
    asps_collateral_source_free(s);
    verify_ok = 1;
    assert_int_equal(asps_collateral_source_new(&o, &s, &eb), ASPS_OK);
    assert_int_equal(asps_collateral_source_ready(s, nu - 10, why, sizeof why), 1);
    assert_int_equal(asps_collateral_source_ready(s, nu + 10, why, sizeof why), 0); /* past, no max_stale */
    asps_collateral_source_free(s);
    o.max_stale = 60;
    assert_int_equal(asps_collateral_source_new(&o, &s, &eb), ASPS_OK);
    assert_int_equal(asps_collateral_source_ready(s, nu + 10, why, sizeof why), 1); /* within max_stale */
    assert_int_equal(asps_collateral_source_ready(s, nu + 61, why, sizeof why), 0);
    asps_collateral_source_free(s);
    /* a file named for the processor CA that holds the platform CA's PCK
     * CRL (the simulated platform's): ignored, so the platform is fetched
     * rather than held fresh and refusing every processor-CA quote */
    {
        char cache2[4300];
        snprintf(cache2, sizeof cache2, "%s/cache2", dir);
        assert_int_equal(asps_collateral_cache_write(cache2, tee, fm, "processor", c, &written, &eb), ASPS_OK);
        asps_collateral_source_opts o2 = {.cache_dir = cache2, .verify = fake_verify};
        assert_int_equal(asps_collateral_source_new(&o2, &s, &eb), ASPS_OK);
        assert_int_equal(asps_collateral_source_ready(s, nu - 10, why, sizeof why), 0);
        asps_collateral_source_free(s);
    }
    /* a cache folder needs a verifier: nothing read from disk is trusted */
    o.verify = NULL;
    assert_int_equal(asps_collateral_source_new(&o, &s, &eb), ASPS_E_ARG);
    assert_non_null(strstr(eb.msg, "verifier"));
    /* a FIFO in a cache file's place (no writer): refused at once, never
     * waited on (the read used to block in open(), and a server reading the
     * folder at start never started) */
    assert_int_equal(unlink(file), 0);
    assert_int_equal(mkfifo(file, 0600), 0);
    alarm(10); /* a hang fails the test instead of holding it */
    assert_int_equal(asps_collateral_cache_read(cache, tee, fm, "platform", &r, &eb), ASPS_E_IO);
    assert_null(r);
    assert_non_null(strstr(eb.msg, "not a regular file (a FIFO)"));
    o.verify = fake_verify;
    verify_calls = 0;
    assert_int_equal(asps_collateral_source_new(&o, &s, &eb), ASPS_OK);
    assert_int_equal(verify_calls, 0);
    asps_collateral_source_free(s);
    alarm(0);
    /* a file where the folder should be: refused at creation (a config
     * error, exit 2 for asps serve), not a cache that never works */
    asps_collateral_source_opts of = {.cache_dir = file, .verify = fake_verify};
    assert_int_equal(asps_collateral_source_new(&of, &s, &eb), ASPS_E_ARG);
    assert_non_null(strstr(eb.msg, "is not a folder"));
    char dangling[4300];
    snprintf(dangling, sizeof dangling, "%s/dangling", dir);
    assert_int_equal(symlink("no-such-folder", dangling), 0);
    of.cache_dir = dangling;
    assert_int_equal(asps_collateral_source_new(&of, &s, &eb), ASPS_E_ARG);
    assert_non_null(strstr(eb.msg, "is a symbolic link to a missing folder"));
    asps_collateral_free(c);
    tu_rm_rf(dir);
    free(dir);
}

/* In-process, against tests/pccs_server.py serving a simulated platform's
 * collateral: the first URL down, the second serves (failover counted); the
 * fetched set goes through the verifier and into the cache folder; a
 * second source on that folder holds it from the start and refreshes it in
 * the background before its nextUpdate (refresh_before larger than what is
 * left), with no quote asked; freeing the source joins its thread. */
static void test_failover_cache_refresh(void **state)
{
    (void)state;
    const char *bin = getenv("ASPS_BIN"), *src = getenv("ASPS_SRC");
    if (!bin || !src)
        tu_skip("needs ASPS_BIN and ASPS_SRC");
    char *dir = tu_mkdtemp();
    char cmd[12000];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' sim init sim >/dev/null && '%s' sim quote sim --out q >/dev/null && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem "
             "-out c.pem -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null",
             dir, bin, bin);
    assert_int_equal(system(cmd), 0);
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        char script[4200], bundle[4200], cert[4200], key[4200];
        snprintf(script, sizeof script, "%s/tests/pccs_server.py", src);
        snprintf(bundle, sizeof bundle, "%s/sim/collateral_sgx.json", dir);
        snprintf(cert, sizeof cert, "%s/c.pem", dir);
        snprintf(key, sizeof key, "%s/k.pem", dir);
        execlp("python3", "python3", script, "--bundle", bundle, "--cert", cert, "--key", key, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    int port = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "PORT %d", &port), 1);
    fclose(f);
    char url[64], ca[4200], cache[4200], qpath[4200];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
    snprintf(ca, sizeof ca, "%s/c.pem", dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(qpath, sizeof qpath, "%s/q", dir);
    const char *urls[] = {"https://127.0.0.1:1", url};
    asps_collateral_source_opts o = {.pccs_urls = urls, .n_pccs_urls = 2, .pccs_ca = ca,
                                     .cache_dir = cache, .verify = fake_verify,
                                     .refresh_before = 365LL * 86400};
    asps_metric *fo = asps_metrics_counter("asps_pccs_failover_total", "", NULL);
    asps_metric *rf = asps_metrics_counter("asps_collateral_refresh_total", "", ASPS_LABELS("result"));
    double fo0 = asps_metric_value(fo, NULL), rf0 = asps_metric_value(rf, ASPS_LABELS("ok"));
    verify_ok = 1;
    verify_calls = 0;
    asps_dep_reset();
    asps_collateral_source *s;
    asps_errbuf eb;
    assert_int_equal(asps_collateral_source_new(&o, &s, &eb), ASPS_OK);
    uint8_t *q;
    size_t ql;
    assert_int_equal(asps_read_file(qpath, 1 << 20, &q, &ql, &eb), ASPS_OK);
    const asps_collateral *c;
    int owned;
    if (asps_collateral_source_get(s, q, ql, &c, &owned, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_true(owned);
    assert_true(asps_metric_value(fo, NULL) >= fo0 + 1);
    /* the first URL down, the second serving: the PCCS (the set) is up, no
     * outage (each URL used to report alone: "the PCCS (URL1) is down ...;
     * calls that need it fail", then "the PCCS (URL2) recovered") */
    asps_dep_state ds;
    asps_dep_get(ASPS_DEP_PCCS, &ds);
    assert_int_equal(ds.status, ASPS_DEP_UP);
    assert_int_equal(ds.outages, 0);
    assert_int_equal(ds.failed_total, 0);
    assert_int_equal(verify_calls, 1); /* verified before it was written */
    asps_tee tee;
    uint8_t fm[6];
    int64_t nu;
    assert_int_equal(asps_collateral_expiry(c, &tee, fm, &nu, &eb), ASPS_OK);
    asps_collateral *r;
    assert_int_equal(asps_collateral_cache_read(cache, tee, fm, "platform", &r, &eb), ASPS_OK);
    assert_non_null(r);
    uint8_t d1[32], d2[32];
    asps_collateral_digest(c, d1);
    asps_collateral_digest(r, d2);
    assert_memory_equal(d1, d2, 32);
    asps_collateral_free(r);
    /* what is held is handed out by reference, not copied per quote */
    const asps_collateral *c2;
    if (asps_collateral_source_get(s, q, ql, &c2, &owned, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    assert_true(owned);
    assert_ptr_equal(c2, c);
    asps_collateral_free((asps_collateral *)c2);
    asps_collateral_free((asps_collateral *)c);
    /* fetched just now: not refreshed again within the minute */
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_true(asps_metric_value(rf, ASPS_LABELS("ok")) == rf0);
    asps_collateral_source_free(s);
    /* a new source on the folder: held from the start, refreshed at once */
    assert_int_equal(asps_collateral_source_new(&o, &s, &eb), ASPS_OK);
    for (int i = 0; i < 100 && asps_metric_value(rf, ASPS_LABELS("ok")) == rf0; i++)
        nanosleep(&ts, NULL);
    assert_true(asps_metric_value(rf, ASPS_LABELS("ok")) == rf0 + 1);
    /* and it serves the quote from what it holds, the PCCS gone */
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    if (asps_collateral_source_get(s, q, ql, &c, &owned, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    /* a verification's reference outlives the source's own (a refresh or
     * shutdown drops that one): still whole (ASan would see a free) */
    asps_collateral_source_free(s);
    asps_collateral_digest(c, d2);
    assert_memory_equal(d1, d2, 32);
    asps_collateral_free((asps_collateral *)c);
    free(q);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_failover_cache_refresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
