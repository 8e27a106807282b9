/* test_initra.c: init_ra_conf.json in both Occlum flavours, the environment
 * overrides, and all-or-nothing secret files (0600, no symlink following). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "initra.h"
#include "testutil.h"

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char grpc_conf[] =
    "{\"kms_server\": \"localhost:50051\",\n"
    " \"kms_keys\": [{\"key\": \"demo_key\", \"path\": \"/etc/demo_key\"},\n"
    "              {\"key\": \"image_key\", \"path\": \"/etc/image_key\"}],\n"
    " \"ra_config\": {\"verify_mr_enclave\": \"on\", \"verify_mr_signer\": \"off\",\n"
    "   \"verify_isv_prod_id\": \"off\", \"verify_isv_svn\": \"off\", \"verify_config_svn\": \"off\",\n"
    "   \"verify_enclave_debuggable\": \"off\",\n"
    "   \"sgx_mrs\": [{\"mr_enclave\": \"" "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    "\", \"mr_signer\": \"\", \"isv_prod_id\": 0, \"isv_svn\": 0, \"config_svn\": 0, \"debuggable\": true}]}}";

static void test_initra_reads_grpc_ratls_conf_and_env_override(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    asps_initra_conf *c;
    asps_errbuf eb;
    unsetenv("OCCLUM_INIT_RA_KMS_SERVER");
    assert_int_equal(asps_initra_conf_load(write_tmp(d, "c.json", grpc_conf), &c, &eb), ASPS_OK);
    assert_int_equal(c->flavor, ASPS_INITRA_GRPC_RATLS);
    assert_string_equal(c->kms_server, "localhost:50051");
    assert_int_equal(c->n_keys, 2);
    assert_string_equal(c->keys[1], "image_key");
    assert_string_equal(c->paths[1], "/etc/image_key");
    assert_true(asps_initra_verifies_server(c));
    assert_int_equal(c->n_mrs, 1);
    assert_true(c->mrs[0].has_mr_enclave);
    assert_false(c->mrs[0].has_mr_signer); /* verify off: the empty one is not read */
    assert_int_equal(c->mrs[0].mr_enclave[1], 0x11);
    asps_initra_conf_free(c);
    setenv("OCCLUM_INIT_RA_KMS_SERVER", "127.0.0.1:9999", 1);
    assert_int_equal(asps_initra_conf_load(write_tmp(d, "c.json", grpc_conf), &c, &eb), ASPS_OK);
    assert_string_equal(c->kms_server, "127.0.0.1:9999");
    unsetenv("OCCLUM_INIT_RA_KMS_SERVER");
    asps_initra_conf_free(c);
    tu_rm_rf(d);
    free(d);
}

static void test_initra_verify_on_with_empty_measurement_is_an_error(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    asps_initra_conf *c;
    asps_errbuf eb;
    const char *bad = "{\"kms_server\": \"a:1\", \"kms_keys\": [{\"key\": \"k\", \"path\": \"/x/k\"}],"
                      "\"ra_config\": {\"verify_mr_enclave\": \"on\", \"sgx_mrs\": [{\"mr_enclave\": \"\"}]}}";
    assert_int_equal(asps_initra_conf_load(write_tmp(d, "c.json", bad), &c, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "mr_enclave"));
    tu_rm_rf(d);
    free(d);
}

static void test_initra_reads_aecs_conf_and_pccs_override(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    const char *aecs =
        "{\"kms_server\": \"localhost:19527\", \"kms_keys\": [{\"key\": \"demo_key\", "
        "\"path\": \"/etc/demo_key\", \"service\": \"service\"}], \"ua_env_pccs_url\": \"\","
        "\"ra_config\": {\"ua_ias_url\": \"\", \"ua_policy_hex_ta_measurement\": \"\", "
        "\"ua_policy_hex_signer\": \"\", \"ua_policy_str_tee_platform\": \"\"}}";
    asps_initra_conf *c;
    asps_errbuf eb;
    setenv("UA_ENV_PCCS_URL", "https://127.0.0.1:8081", 1);
    assert_int_equal(asps_initra_conf_load(write_tmp(d, "a.json", aecs), &c, &eb), ASPS_OK);
    unsetenv("UA_ENV_PCCS_URL");
    assert_int_equal(c->flavor, ASPS_INITRA_AECS);
    assert_string_equal(c->pccs_url, "https://127.0.0.1:8081");
    assert_false(asps_initra_verifies_server(c));
    asps_initra_conf_free(c);
    tu_rm_rf(d);
    free(d);
}

static void test_initra_writes_all_files_0600_in_new_0700_folders(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    char p1[4096], p2[4096];
    snprintf(p1, sizeof p1, "%s/etc/new/flask.key", d);
    snprintf(p2, sizeof p2, "%s/etc/image_key", d);
    const char *paths[] = {p1, p2};
    const uint8_t *vals[] = {(const uint8_t *)"KEY1", (const uint8_t *)"\x00\x01\x02"};
    size_t lens[] = {4, 3};
    asps_errbuf eb;
    assert_int_equal(asps_initra_write_all(paths, vals, lens, 2, &eb), ASPS_OK);
    struct stat st;
    assert_int_equal(stat(p1, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 4);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/etc/new", d);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    size_t n;
    uint8_t *b = tu_read_file(p2, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "\x00\x01\x02", 3);
    free(b);
    tu_rm_rf(d);
    free(d);
}

static void test_initra_failure_leaves_no_file(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    char p1[4096], p2[4096], blocker[4096];
    snprintf(p1, sizeof p1, "%s/out/a", d);
    snprintf(blocker, sizeof blocker, "%s/file", d);
    write_tmp(d, "file", "x");
    snprintf(p2, sizeof p2, "%s/file/b", d); /* parent is a regular file */
    const char *paths[] = {p1, p2};
    const uint8_t *vals[] = {(const uint8_t *)"A", (const uint8_t *)"B"};
    size_t lens[] = {1, 1};
    asps_errbuf eb;
    assert_int_equal(asps_initra_write_all(paths, vals, lens, 2, &eb), ASPS_E_IO);
    assert_int_not_equal(access(p1, F_OK), 0);
    /* and no temp file either */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/out')\"", d);
    assert_int_equal(system(cmd), 0);
    tu_rm_rf(d);
    free(d);
}

static void test_initra_does_not_follow_symlinks(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    char target[4096], link[4096], p[4096], victim[4096], vlink[4096];
    /* a symlinked folder in the path is refused */
    snprintf(target, sizeof target, "%s/real", d);
    mkdir(target, 0700);
    snprintf(link, sizeof link, "%s/link", d);
    assert_int_equal(symlink(target, link), 0);
    snprintf(p, sizeof p, "%s/link/secret", d);
    const char *paths[] = {p};
    const uint8_t *vals[] = {(const uint8_t *)"S"};
    size_t lens[] = {1};
    asps_errbuf eb;
    assert_int_equal(asps_initra_write_all(paths, vals, lens, 1, &eb), ASPS_E_IO);
    assert_non_null(strstr(eb.msg, "symbolic"));
    char inside[4200];
    snprintf(inside, sizeof inside, "%s/secret", target);
    assert_int_not_equal(access(inside, F_OK), 0);
    /* a symlink at the destination is replaced, its target untouched */
    snprintf(victim, sizeof victim, "%s/victim", d);
    write_tmp(d, "victim", "keep");
    snprintf(vlink, sizeof vlink, "%s/real/out", d);
    assert_int_equal(symlink(victim, vlink), 0);
    const char *paths2[] = {vlink};
    assert_int_equal(asps_initra_write_all(paths2, vals, lens, 1, &eb), ASPS_OK);
    size_t n;
    uint8_t *b = tu_read_file(victim, &n);
    assert_memory_equal(b, "keep", 4);
    free(b);
    struct stat st;
    assert_int_equal(lstat(vlink, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    tu_rm_rf(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initra_reads_grpc_ratls_conf_and_env_override),
        cmocka_unit_test(test_initra_verify_on_with_empty_measurement_is_an_error),
        cmocka_unit_test(test_initra_reads_aecs_conf_and_pccs_override),
        cmocka_unit_test(test_initra_writes_all_files_0600_in_new_0700_folders),
        cmocka_unit_test(test_initra_failure_leaves_no_file),
        cmocka_unit_test(test_initra_does_not_follow_symlinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
