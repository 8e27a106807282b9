/* test_kms.c: the KMS interface and its JSON file backend. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asps/kms.h"

static char *dir;
static char path[4096];

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    snprintf(path, sizeof path, "%s/kms.json", dir);
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(dir);
    free(dir);
    return 0;
}

static void write_kms(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static asps_err get(asps_kms *k, const char *ref, char *out, size_t outlen, size_t *len,
                    asps_errbuf *eb)
{
    uint8_t *v = NULL;
    size_t n = 0;
    memset(eb, 0, sizeof *eb);
    asps_err e = asps_kms_get(k, ref, NULL, &v, &n, eb);
    if (e == ASPS_OK) {
        assert_true(n < outlen);
        memcpy(out, v, n);
        out[n] = 0;
        *len = n;
        asps_kms_value_free(v, n);
    } else {
        assert_null(v);
    }
    return e;
}

static void test_file_backend_reads_text_and_base64_forms(void **state)
{
    (void)state;
    write_kms("{\"t\": \"text:hello\", \"plain\": \"just words\", \"b\": \"base64:AAFiYw==\","
              " \"ob\": {\"base64\": \"aGk=\"}, \"ot\": {\"text\": \"base64:literal\"},"
              " \"empty\": \"text:\", \"nopad\": \"base64:aGk\"}");
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    assert_string_equal(asps_kms_backend_name(k), "file");
    char v[256];
    size_t n;
    assert_int_equal(get(k, "t", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "hello");
    assert_int_equal(get(k, "plain", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "just words");
    assert_int_equal(get(k, "b", v, sizeof v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(v, "\0\1bc", 4);
    assert_int_equal(get(k, "ob", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "hi");
    assert_int_equal(get(k, "ot", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "base64:literal");
    assert_int_equal(get(k, "empty", v, sizeof v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(get(k, "nopad", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "hi");
    asps_kms_free(k);
}

static void test_plain_base64_mode_reads_occlum_secret_config(void **state)
{
    (void)state;
    write_kms("{\"key\": \"dGVzdCBzYW1wbGUga2V5Cg==\", \"t\": \"text:x\"}");
    asps_kms *k;
    asps_errbuf eb;
    asps_kms_config cfg = {.type = "file", .path = path, .default_encoding = "base64"};
    assert_int_equal(asps_kms_open(&cfg, &k, &eb), ASPS_OK);
    char v[256];
    size_t n;
    assert_int_equal(get(k, "key", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "test sample key\n");
    assert_int_equal(get(k, "t", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "x");
    asps_kms_free(k);
}

static void test_missing_name_is_not_found(void **state)
{
    (void)state;
    write_kms("{\"a\": \"text:1\"}");
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    char v[16];
    size_t n;
    assert_int_equal(get(k, "b", v, sizeof v, &n, &eb), ASPS_E_NOT_FOUND);
    assert_non_null(strstr(eb.msg, "\"b\""));
    asps_kms_free(k);
}

static void test_missing_file_is_unavailable_then_works_when_restored(void **state)
{
    (void)state;
    unlink(path);
    asps_kms *k;
    asps_errbuf eb;
    /* Opening does not need the file: the service starts, calls fail. */
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    char v[64];
    size_t n;
    assert_int_equal(get(k, "a", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "kms: "));
    write_kms("{\"a\": \"text:back\"}");
    assert_int_equal(get(k, "a", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "back");
    /* Gone again, then edited: each call sees the file as it is now. */
    unlink(path);
    assert_int_equal(get(k, "a", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
    write_kms("{\"a\": \"text:edited\"}");
    assert_int_equal(get(k, "a", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "edited");
    asps_kms_free(k);
}

static void test_malformed_values_fail_without_the_value_in_the_message(void **state)
{
    (void)state;
    /* Each value carries a marker that must never reach a message. */
    write_kms("{\"bad1\": \"base64:SECRETMARK*==\", \"bad2\": {\"base64\": \"SECRETMARK=\"},"
              " \"bad3\": \"base64:SECRETMARKR=\", \"bad4\": 42, \"bad5\": {\"hex\": \"SECRETMARK\"},"
              " \"bad6\": \"base64:SECRETMARKAAA\", \"bad7\": \"base64:QR==\","
              " \"dup\": \"text:SECRETMARK\", \"dup\": \"text:SECRETMARK2\"}");
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    const char *refs[] = {"bad1", "bad2", "bad3", "bad4", "bad5", "bad6", "bad7", "dup"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        char v[64];
        size_t n;
        asps_err e = get(k, refs[i], v, sizeof v, &n, &eb);
        if (e != ASPS_E_UNAVAILABLE)
            fail_msg("%s: got %s", refs[i], asps_err_name(e));
        assert_null(strstr(eb.msg, "SECRETMARK"));
        assert_null(strstr(eb.msg, "QR=="));
        assert_non_null(strstr(eb.msg, refs[i]));
    }
    asps_kms_free(k);
}

static void test_malformed_file_is_unavailable_and_not_echoed(void **state)
{
    (void)state;
    write_kms("{\"a\": \"text:SECRETMARK\", oops}");
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    char v[64];
    size_t n;
    assert_int_equal(get(k, "a", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
    assert_null(strstr(eb.msg, "SECRETMARK"));
    write_kms("[\"text:SECRETMARK\"]");
    assert_int_equal(get(k, "a", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
    assert_null(strstr(eb.msg, "SECRETMARK"));
    asps_kms_free(k);
}

static void test_open_selects_backends_and_refuses_unknown(void **state)
{
    (void)state;
    asps_kms *k = NULL;
    asps_errbuf eb;
    asps_kms_config vault = {.type = "vault", .addr = "http://127.0.0.1:8200"};
    /* the vault backend opens without contacting Vault (test_kms_vault.c
     * talks to one); a bad address is refused at once */
    assert_int_equal(asps_kms_open(&vault, &k, &eb), ASPS_OK);
    assert_string_equal(asps_kms_backend_name(k), "vault");
    asps_kms_free(k);
    vault.addr = "ftp://x";
    assert_int_equal(asps_kms_open(&vault, &k, &eb), ASPS_E_ARG);
    asps_kms_config ehsm = {.type = "ehsm"};
    assert_int_equal(asps_kms_open(&ehsm, &k, &eb), ASPS_E_UNSUPPORTED);
    asps_kms_config nopath = {.type = "file"};
    assert_int_equal(asps_kms_open(&nopath, &k, &eb), ASPS_E_ARG);
    asps_kms_config badenc = {.type = "file", .path = path, .default_encoding = "hex"};
    assert_int_equal(asps_kms_open(&badenc, &k, &eb), ASPS_E_ARG);
    assert_null(k);
}

/* A custom backend through the vtable: the credential reaches it, and a
 * backend that fails after allocating does not leak its half value. */
struct fake {
    char last_cred[64];
};

static asps_err fake_get(void *impl, const char *ref, const char *cred, int64_t deadline_ms,
                         uint8_t **value, size_t *len, asps_errbuf *eb)
{
    (void)deadline_ms;
    struct fake *f = impl;
    snprintf(f->last_cred, sizeof f->last_cred, "%s", cred ? cred : "(none)");
    if (cred == NULL || strcmp(cred, "good") != 0) {
        *value = malloc(4);
        memcpy(*value, "half", 4);
        *len = 4;
        return asps_fail(eb, ASPS_E_DENIED, "fake: credential refused for %s", ref);
    }
    *value = malloc(2);
    memcpy(*value, "ok", 2);
    *len = 2;
    return ASPS_OK;
}

static void fake_free(void *impl)
{
    free(impl);
}

static const asps_kms_ops fake_ops = {"fake", fake_get, fake_free};

static void test_vtable_passes_credentials_and_drops_values_on_error(void **state)
{
    (void)state;
    struct fake *f = calloc(1, sizeof *f);
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_new(&fake_ops, f, &k, &eb), ASPS_OK);
    assert_string_equal(asps_kms_backend_name(k), "fake");
    uint8_t *v = (uint8_t *)"sentinel";
    size_t n = 99;
    assert_int_equal(asps_kms_get(k, "x", "bad", &v, &n, &eb), ASPS_E_DENIED);
    assert_null(v);
    assert_int_equal(n, 0);
    assert_string_equal(f->last_cred, "bad");
    assert_int_equal(asps_kms_get(k, "x", "good", &v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 2);
    asps_kms_value_free(v, n);
    asps_kms_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_backend_reads_text_and_base64_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_base64_mode_reads_occlum_secret_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_name_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_unavailable_then_works_when_restored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_values_fail_without_the_value_in_the_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_file_is_unavailable_and_not_echoed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_selects_backends_and_refuses_unknown, setup, teardown),
        cmocka_unit_test(test_vtable_passes_credentials_and_drops_values_on_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
