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

/* Each level of init_ra_conf.json refuses an unknown key and names the
 * nearest known one; the two flavours are not mixed. */
static void test_initra_unknown_key_names_the_nearest_known_one(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    static const char keys[] = "\"kms_keys\": [{\"key\": \"k\", \"path\": \"/x/k\"}]";
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"kms_server\": \"a:1\", %s, \"ua_env_pccs_ur1\": \"\"}",
         "init_ra_conf.ua_env_pccs_ur1: unknown field; did you mean ua_env_pccs_url?"},
        {"{\"kms_sever\": \"a:1\", %s}", "init_ra_conf.kms_sever: unknown field; did you mean kms_server?"},
        {"{\"kms_server\": \"a:1\", \"kms_keys\": [{\"key\": \"k\", \"pth\": \"/x/k\"}]}",
         "init_ra_conf.kms_keys[0].pth: unknown field; did you mean path?"},
        {"{\"kms_server\": \"a:1\", %s, \"ra_config\": {\"verfy_mr_enclave\": \"on\"}}",
         "ra_config.verfy_mr_enclave: unknown field; did you mean verify_mr_enclave?"},
        {"{\"kms_server\": \"a:1\", %s, \"ra_config\": {\"verify_mr_enclave\": \"on\", \"sgx_mrs\": "
         "[{\"mr_enclve\": \"00\"}]}}",
         "ra_config.sgx_mrs[0].mr_enclve: unknown field; did you mean mr_enclave?"},
        {"{\"kms_server\": \"a:1\", %s, \"ra_config\": {\"ua_policy_hex_signr\": \"\"}}",
         "ra_config.ua_policy_hex_signr: unknown field; did you mean ua_policy_hex_signer?"},
        {"{\"kms_server\": \"a:1\", %s, \"ra_config\": {\"colour\": \"\"}}",
         "ra_config.colour: unknown field"},
        {"{\"kms_server\": \"a:1\", %s, \"ra_config\": {\"ua_policy_hex_signer\": \"\", "
         "\"verify_mr_signer\": \"on\"}}",
         "ra_config: mixes the AECS flavour's fields (ua_policy_hex_signer) with the GRPC-RATLS"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[1024];
        snprintf(json, sizeof json, cases[i].json, keys);
        asps_initra_conf *c = NULL;
        asps_errbuf eb = {{0}};
        assert_int_equal(asps_initra_conf_load(write_tmp(d, "c.json", json), &c, &eb), ASPS_E_PARSE);
        assert_null(c);
        if (!strstr(eb.msg, cases[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, eb.msg, cases[i].msg);
    }
    /* no suggestion when nothing is near */
    asps_initra_conf *c = NULL;
    asps_errbuf eb = {{0}};
    char json[512];
    snprintf(json, sizeof json, "{\"kms_server\": \"a:1\", %s, \"colour\": 1}", keys);
    assert_int_equal(asps_initra_conf_load(write_tmp(d, "c.json", json), &c, &eb), ASPS_E_PARSE);
    assert_null(strstr(eb.msg, "did you mean"));
    /* a standalone ra_config file (dynamic_config.json shape) too */
    assert_int_equal(asps_initra_ra_config_load(
                         write_tmp(d, "r.json", "{\"verify_mr_enclave\": \"on\", \"sgx_mr\": []}"), &c, &eb),
                     ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "ra_config.sgx_mr: unknown field; did you mean sgx_mrs?"));
    tu_rm_rf(d);
    free(d);
}

static void fill_claims(asps_claims *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->tee = ASPS_TEE_SGX;
    memset(cl->sgx.mr_enclave, 0xab, 32);
    memset(cl->sgx.mr_signer, 0xcd, 32);
    cl->sgx.isv_prod_id = 7;
    cl->sgx.isv_svn = 3;
    cl->sgx.config_svn = 1234;
    cl->debug = 1;
    cl->tcb_status = ASPS_TCB_OUT_OF_DATE;
}

/* A refused server: which entry refused it and why, and its identity in
 * ra_config's terms for the person who must fix one or the other. */
static void test_initra_refused_server_identity_is_described(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    asps_initra_conf *c;
    asps_errbuf eb;
    assert_int_equal(asps_initra_conf_load(write_tmp(d, "c.json", grpc_conf), &c, &eb), ASPS_OK);
    asps_claims cl;
    fill_claims(&cl);
    char err[256], shown[400];
    assert_int_equal(asps_initra_match_server(c, &cl, err, sizeof err), -1);
    assert_string_equal(err, "server identity matches no ra_config.sgx_mrs entry (sgx_mrs[0]: "
                             "mr_enclave differs)");
    asps_initra_describe_server(&cl, shown, sizeof shown);
    assert_string_equal(shown, "mr_enclave abababababababababababababababababababababababababababababababab, "
                               "mr_signer cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd, "
                               "isv_prod_id 7, isv_svn 3, config_svn 1234, debuggable true, "
                               "TCB status OutOfDate");
    /* the listed identity passes */
    memcpy(cl.sgx.mr_enclave, c->mrs[0].mr_enclave, 32);
    assert_int_equal(asps_initra_match_server(c, &cl, err, sizeof err), 0);
    cl.tee = ASPS_TEE_TDX;
    asps_initra_describe_server(&cl, shown, sizeof shown);
    assert_string_equal(shown, "tee tdx (not an SGX enclave)");
    asps_initra_conf_free(c);
    tu_rm_rf(d);
    free(d);
}

/* Before any fetch: what the write would refuse is refused, and nothing is
 * created by asking. */
static void test_initra_check_writable_before_fetch(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    char ok1[4096], ok2[4096], notdir[4096], link[4096], viasym[4096], folder[4096], dots[4096];
    snprintf(ok1, sizeof ok1, "%s/new/deeper/key", d);
    snprintf(ok2, sizeof ok2, "%s/key", d);
    write_tmp(d, "file", "x");
    snprintf(notdir, sizeof notdir, "%s/file/key", d);
    snprintf(link, sizeof link, "%s/link", d);
    assert_int_equal(symlink(d, link), 0);
    snprintf(viasym, sizeof viasym, "%s/link/key", d);
    snprintf(folder, sizeof folder, "%s/sub", d);
    mkdir(folder, 0700);
    snprintf(dots, sizeof dots, "%s/sub/../key", d);
    asps_errbuf eb;
    const char *good[] = {ok1, ok2};
    assert_int_equal(asps_initra_check_writable(good, 2, &eb), ASPS_OK);
    char nd[4200];
    snprintf(nd, sizeof nd, "%s/new", d);
    assert_int_not_equal(access(nd, F_OK), 0); /* nothing created */
    static const char *const want[] = {"Not a directory", "symbolic links are not followed",
                                       "is a folder", "'..' is not allowed", "not an absolute path"};
    const char *bad[] = {notdir, viasym, folder, dots, "etc/key"};
    for (size_t i = 0; i < 5; i++) {
        const char *one[] = {ok2, bad[i]};
        assert_int_not_equal(asps_initra_check_writable(one, 2, &eb), ASPS_OK);
        if (!strstr(eb.msg, want[i]) || !strstr(eb.msg, bad[i]))
            fail_msg("case %zu: \"%s\" lacks \"%s\" or the path", i, eb.msg, want[i]);
    }
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
        cmocka_unit_test(test_initra_unknown_key_names_the_nearest_known_one),
        cmocka_unit_test(test_initra_refused_server_identity_is_described),
        cmocka_unit_test(test_initra_check_writable_before_fetch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
