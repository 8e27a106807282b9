/* test_collateral_cache.c: the disk cache's file names (cache.h) and the
 * duration form of collateral.max_stale / refresh_before (source.h); the
 * cache's write and read back: same bytes left alone, mode 0600; a source
 * given only a cache folder serves what verifies and never what does not
 * (the verify callback decides, as asps_verify_collateral does in the
 * server), and a source with a cache folder but no verifier is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "source.h"
#include "testutil.h"
#include "util.h"

static void test_duration(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(asps_collateral_duration_parse("0", &v), 0);
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
                         "01h", "1.5h", "1 h", "1h ", " 1h", "1H", "99999999999999999999d", "0s"};
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
    /* a cache folder needs a verifier: nothing read from disk is trusted */
    o.verify = NULL;
    assert_int_equal(asps_collateral_source_new(&o, &s, &eb), ASPS_E_ARG);
    assert_non_null(strstr(eb.msg, "verifier"));
    asps_collateral_free(c);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_write_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
