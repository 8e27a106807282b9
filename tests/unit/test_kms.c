/* test_kms.c: the KMS interface and its JSON file backend: values whole
 * with their length (NUL bytes), strict JSON, a FIFO in place of the file,
 * and fetches bounded by their deadline (a backend that blocks is
 * abandoned; the pool stays usable; a freed handle outlives its stuck
 * fetch). */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "kms.h"
#include "kms_backend.h"
#include "service.h"

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

static const asps_kms_ops fake_ops = {"fake", fake_get, fake_free, NULL};

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


static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Values come out whole, with their length: "\u0000" is a 0x00 byte,
 * never the end of the value (cJSON cut "text:pw\u0000tail" to "pw"). */
static void test_values_with_nul_bytes_arrive_whole(void **state)
{
    (void)state;
    write_kms("{\"db_password\": \"text:pw\\u0000tail\", \"plain\": \"x\\u0000y\","
              " \"obj\": {\"text\": \"\\u0000\"}, \"b\": \"base64:AAFhYgD/AA==\","
              " \"ob\": {\"base64\": \"AA==\"}, \"k\\u0000x\": \"text:other\","
              " \"b64nul\": \"base64:AA\\u0000==\", \"esc\": \"text:\\uD834\\uDD1E\\t\"}");
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    char v[64];
    size_t n;
    assert_int_equal(get(k, "db_password", v, sizeof v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 7);
    assert_memory_equal(v, "pw\0tail", 7);
    assert_int_equal(get(k, "plain", v, sizeof v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "x\0y", 3);
    assert_int_equal(get(k, "obj", v, sizeof v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0], 0);
    assert_int_equal(get(k, "b", v, sizeof v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 7);
    assert_memory_equal(v, "\0\1ab\0\xff\0", 7);
    assert_int_equal(get(k, "ob", v, sizeof v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(get(k, "esc", v, sizeof v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(v, "\xf0\x9d\x84\x9e\t", 5);
    /* keys are compared whole: "k\u0000x" is neither "k" nor "k\0x" cut */
    assert_int_equal(get(k, "k", v, sizeof v, &n, &eb), ASPS_E_NOT_FOUND);
    /* a 0x00 inside base64 text is not base64 */
    assert_int_equal(get(k, "b64nul", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "malformed base64"));
    asps_kms_free(k);
}

/* RFC 8259: control characters in strings must be escaped. A raw one is a
 * broken file (UNAVAILABLE), never a value cut at it. */
static void test_raw_control_bytes_in_the_file_are_refused(void **state)
{
    (void)state;
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    for (int b = 0; b < 0x20; b++) {
        char text[64];
        int len = snprintf(text, sizeof text, "{\"a\": \"text:pw@tail\", \"b\": \"text:ok\"}");
        text[12] = (char)b; /* the '@' */
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        char v[64];
        size_t n;
        /* every entry: the file as a whole is not JSON */
        assert_int_equal(get(k, "b", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
        assert_non_null(strstr(eb.msg, "control character in a string"));
        assert_non_null(strstr(eb.msg, "line 1, column 13"));
        assert_null(strstr(eb.msg, "tail"));
    }
    asps_kms_free(k);
}

/* A FIFO (or a folder) in place of the KMS file is refused at once: opened
 * without blocking, then fstat. Without O_NONBLOCK the open() would wait
 * for a writer (and here the fetch would be abandoned only at its
 * deadline, with another message). */
static void test_fifo_or_folder_in_place_of_the_file_is_refused_at_once(void **state)
{
    (void)state;
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    char v[64];
    size_t n;
    int64_t t0 = mono_ms();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(k, "a", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
        assert_non_null(strstr(eb.msg, "is not a regular file (a FIFO)"));
    }
    assert_true(mono_ms() - t0 < 5000); /* the deadline is 10 s: not abandoned */
    assert_int_equal(asps_kms_fetches_stuck(), 0);
    unlink(path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(get(k, "a", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "(a folder)"));
    rmdir(path);
    write_kms("{\"a\": \"text:back\"}");
    assert_int_equal(get(k, "a", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "back");
    asps_kms_free(k);
}

/* A backend that blocks until released (a hung file system). */
struct blocker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int release, entered, freed;
};
static struct blocker blk = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static asps_err block_get(void *impl, const char *ref, const char *cred, int64_t deadline_ms,
                          uint8_t **value, size_t *len, asps_errbuf *eb)
{
    (void)impl;
    (void)cred;
    (void)deadline_ms; /* ignores it, as open() on a hung NFS would */
    (void)eb;
    if (strcmp(ref, "fast") != 0) {
        pthread_mutex_lock(&blk.mu);
        blk.entered++;
        pthread_cond_broadcast(&blk.cv);
        while (!blk.release)
            pthread_cond_wait(&blk.cv, &blk.mu);
        pthread_mutex_unlock(&blk.mu);
    }
    *value = malloc(6);
    memcpy(*value, "secret", 6); /* a late value: cleansed and freed by kms.c */
    *len = 6;
    return ASPS_OK;
}

static void block_free(void *impl)
{
    (void)impl;
    pthread_mutex_lock(&blk.mu);
    blk.freed++;
    pthread_mutex_unlock(&blk.mu);
}

static const asps_kms_ops block_ops = {"blocker", block_get, block_free, NULL};

static void release_blocked(void)
{
    pthread_mutex_lock(&blk.mu);
    blk.release = 1;
    pthread_cond_broadcast(&blk.cv);
    pthread_mutex_unlock(&blk.mu);
    for (int i = 0; i < 500 && asps_kms_fetches_stuck() > 0; i++)
        usleep(10000);
    assert_int_equal(asps_kms_fetches_stuck(), 0);
}

/* The caller gets UNAVAILABLE at the deadline, whatever the backend does;
 * other fetches go on meanwhile; a handle freed while a fetch is stuck is
 * freed only when that fetch returns. */
static void test_blocking_backend_is_abandoned_at_the_deadline(void **state)
{
    (void)state;
    blk.release = blk.entered = blk.freed = 0;
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_new(&block_ops, NULL, &k, &eb), ASPS_OK);
    uint8_t *v = (uint8_t *)"sentinel";
    size_t n = 9;
    for (int i = 0; i < 3; i++) {
        int64_t t0 = mono_ms();
        assert_int_equal(asps_kms_get_until(k, "slow", NULL, t0 + 300, &v, &n, &eb), ASPS_E_UNAVAILABLE);
        int64_t took = mono_ms() - t0;
        assert_true(took >= 290 && took < 3000);
        assert_null(v);
        assert_int_equal(n, 0);
        assert_non_null(strstr(eb.msg, "kms: slow: no answer from the blocker backend within 300 ms"));
    }
    assert_int_equal(asps_kms_fetches_stuck(), 3);
    /* the pool stays usable: a fetch that does not block is answered */
    assert_int_equal(asps_kms_get(k, "fast", NULL, &v, &n, &eb), ASPS_OK);
    assert_int_equal(n, 6);
    asps_kms_value_free(v, n);
    /* a deadline already past: refused without starting a fetch */
    assert_int_equal(asps_kms_get_until(k, "fast", NULL, mono_ms() - 1, &v, &n, &eb), ASPS_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "deadline passed"));
    /* freed (a reload) while three fetches are stuck: not yet */
    asps_kms_free(k);
    assert_int_equal(blk.freed, 0);
    release_blocked();
    assert_int_equal(blk.freed, 1);
}

/* At most ASPS_KMS_MAX_FETCHES fetch threads, stuck ones included: beyond,
 * a fetch fails at once; once they return, fetches work again. */
static void test_stuck_fetches_are_bounded(void **state)
{
    (void)state;
    blk.release = blk.entered = blk.freed = 0;
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_new(&block_ops, NULL, &k, &eb), ASPS_OK);
    uint8_t *v;
    size_t n;
    for (int i = 0; i < ASPS_KMS_MAX_FETCHES; i++)
        assert_int_equal(asps_kms_get_until(k, "slow", NULL, mono_ms() + 20, &v, &n, &eb), ASPS_E_UNAVAILABLE);
    assert_int_equal(asps_kms_fetches_stuck(), ASPS_KMS_MAX_FETCHES);
    int64_t t0 = mono_ms();
    assert_int_equal(asps_kms_get_until(k, "fast", NULL, t0 + 5000, &v, &n, &eb), ASPS_E_UNAVAILABLE);
    assert_true(mono_ms() - t0 < 1000);
    assert_non_null(strstr(eb.msg, "stuck"));
    release_blocked();
    assert_int_equal(asps_kms_get(k, "fast", NULL, &v, &n, &eb), ASPS_OK);
    asps_kms_value_free(v, n);
    asps_kms_free(k);
    assert_int_equal(blk.freed, 1);
}

/* Many threads fetching at once from the file: every value right. */
static void *fetch_many(void *arg)
{
    asps_kms *k = arg;
    for (int i = 0; i < 50; i++) {
        uint8_t *v;
        size_t n;
        asps_errbuf eb;
        if (asps_kms_get(k, "db_password", NULL, &v, &n, &eb) != ASPS_OK || n != 7 ||
            memcmp(v, "pw\0tail", 7) != 0)
            return (void *)1;
        asps_kms_value_free(v, n);
    }
    return NULL;
}

static void test_concurrent_fetches(void **state)
{
    (void)state;
    write_kms("{\"db_password\": \"text:pw\\u0000tail\"}");
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, fetch_many, k);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_null(r);
    }
    asps_kms_free(k);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One "call" the way the service makes it: a get per name, k00..k(N-1). */
static void get_names(asps_kms *k, int n, const char *want_prefix)
{
    for (int i = 0; i < n; i++) {
        char ref[8], v[64], want[64];
        size_t len;
        asps_errbuf eb;
        snprintf(ref, sizeof ref, "k%02d", i);
        snprintf(want, sizeof want, "%s%02d", want_prefix, i);
        assert_int_equal(get(k, ref, v, sizeof v, &len, &eb), ASPS_OK);
        assert_string_equal(v, want);
    }
}

static void write_names(const char *prefix)
{
    char text[4096];
    size_t o = (size_t)snprintf(text, sizeof text, "{");
    for (int i = 0; i < 64; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s\"k%02d\": \"text:%s%02d\"",
                              i ? ", " : "", i, prefix, i);
    snprintf(text + o, sizeof text - o, "}");
    write_kms(text);
}

/* Issue 17: a call of 64 names reads the file once, not 64 times; a file
 * that has not changed is not read again; a file changed within the settle
 * window (its ctime too recent to tell two writes apart) is read on every
 * get. */
static void test_file_read_once_for_many_names(void **state)
{
    (void)state;
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    /* the default window (2 s): a file written just now is read per get */
    write_names("a");
    unsigned long r0 = asps_kms_file__reads();
    get_names(k, 8, "a");
    assert_int_equal(asps_kms_file__reads() - r0, 8);

    asps_kms_file__set_settle_ms(100);
    sleep_ms(250);
    r0 = asps_kms_file__reads();
    unsigned long h0 = asps_kms__fetches_handed_off();
    get_names(k, 64, "a");
    assert_int_equal(asps_kms_file__reads() - r0, 1);
    /* the one read ran on a fetch thread; the file kept, on a local file
     * system, the other 63 gets are answered on the caller's thread */
    int local = asps_kms_file__path_is_local(path);
    assert_int_equal(asps_kms__fetches_handed_off() - h0, local ? 1 : 64);
    get_names(k, 64, "a");
    assert_int_equal(asps_kms_file__reads() - r0, 1);
    assert_int_equal(asps_kms__fetches_handed_off() - h0, local ? 1 : 128);
    /* names it lacks and names twice in the file: still from the one read */
    write_kms("{\"k00\": \"text:x\", \"dup\": \"text:1\", \"dup\": \"text:2\"}");
    sleep_ms(250);
    r0 = asps_kms_file__reads();
    char v[64];
    size_t n;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(k, "k00", v, sizeof v, &n, &eb), ASPS_OK);
        assert_int_equal(get(k, "nope", v, sizeof v, &n, &eb), ASPS_E_NOT_FOUND);
        assert_int_equal(get(k, "dup", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
        assert_non_null(strstr(eb.msg, "more than once"));
    }
    assert_int_equal(asps_kms_file__reads() - r0, 1);
    asps_kms_free(k);
    asps_kms_file__set_settle_ms(2000);
}

/* The kept text is never served for a file that changed or came back:
 * edited in place to the same size with its mtime put back (only ctime
 * tells), replaced by rename, removed, and back again. */
static void test_changed_or_replaced_file_is_served_at_once(void **state)
{
    (void)state;
    asps_kms_file__set_settle_ms(100);
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    write_names("a");
    sleep_ms(250);
    get_names(k, 64, "a");
    unsigned long r0 = asps_kms_file__reads();
    get_names(k, 64, "a");
    assert_int_equal(asps_kms_file__reads() - r0, 0); /* kept */
    unsigned long h0 = asps_kms__fetches_handed_off();

    /* in place, same size, same inode, mtime set back */
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    sleep_ms(30); /* past a timestamp tick */
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    char text[4096];
    size_t tn = fread(text, 1, sizeof text, f);
    for (size_t i = 0; i + 5 < tn; i++)
        if (memcmp(text + i, "text:a", 6) == 0)
            text[i + 5] = 'b';
    rewind(f);
    assert_int_equal(fwrite(text, 1, tn, f), tn);
    fclose(f);
    struct timespec ts[2] = {before.st_atim, before.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_size, before.st_size);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    get_names(k, 64, "b");
    /* the change was seen on the caller's thread, which handed the read to
     * a fetch thread: at least one fetch went there (all 64 do while the
     * file is within its settle window) */
    assert_true(asps_kms__fetches_handed_off() - h0 >= 1);

    /* replaced by rename */
    sleep_ms(250);
    get_names(k, 1, "b");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/kms.json.new", dir);
    f = fopen(tmp, "w");
    assert_non_null(f);
    fputs("{\"k00\": \"text:c00\"}", f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
    get_names(k, 1, "c");

    /* removed and a file of the same size and mtime put in its place,
     * with no get in between (the inode number may well be reused) */
    sleep_ms(250);
    get_names(k, 1, "c");
    assert_int_equal(stat(path, &before), 0);
    unlink(path);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"k00\": \"text:e00\"}", f);
    fclose(f);
    struct timespec ts2[2] = {before.st_atim, before.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, ts2, 0), 0);
    get_names(k, 1, "e");
    /* removed: unavailable; back: served */
    sleep_ms(250);
    get_names(k, 1, "e");
    unlink(path);
    char v[64];
    size_t n;
    assert_int_equal(get(k, "k00", v, sizeof v, &n, &eb), ASPS_E_UNAVAILABLE);
    write_names("d");
    get_names(k, 64, "d");
    asps_kms_free(k);
    asps_kms_file__set_settle_ms(2000);
}

/* The path swapped between the get's stat and its read (a symlink
 * re-pointed from A to B): the text kept is B's, under B's identity (the
 * fstat of what was read), so when the path names A again A is read, never
 * B's values served for A. Found by a reviewer racing symlink swaps
 * against a live server (3 rounds in 120 served the other file's value). */
static char swap_link[4200], swap_a[4200], swap_b[4200];
static void swap_to_b(void *ctx)
{
    (void)ctx;
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.new", swap_link);
    unlink(tmp);
    assert_int_equal(symlink(swap_b, tmp), 0);
    assert_int_equal(rename(tmp, swap_link), 0);
    asps_kms_file__set_between_hook(NULL, NULL); /* once */
}

static void test_path_swapped_between_stat_and_read(void **state)
{
    (void)state;
    asps_kms_file__set_settle_ms(100);
    snprintf(swap_a, sizeof swap_a, "%s/a.json", dir);
    snprintf(swap_b, sizeof swap_b, "%s/b.json", dir);
    snprintf(swap_link, sizeof swap_link, "%s/link.json", dir);
    FILE *f = fopen(swap_a, "w");
    assert_non_null(f);
    fputs("{\"k\": \"text:AAAA\"}", f); /* the same size as B: only the identity tells */
    fclose(f);
    f = fopen(swap_b, "w");
    assert_non_null(f);
    fputs("{\"k\": \"text:BBBB\"}", f);
    fclose(f);
    unlink(swap_link);
    assert_int_equal(symlink(swap_a, swap_link), 0);
    sleep_ms(250); /* both settled: kept once read */
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(swap_link, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    char v[64];
    size_t n;
    asps_kms_file__set_between_hook(swap_to_b, NULL);
    assert_int_equal(get(k, "k", v, sizeof v, &n, &eb), ASPS_OK);
    assert_string_equal(v, "BBBB"); /* what the read found */
    /* back to A, by rename: every get now must serve A */
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.new", swap_link);
    unlink(tmp);
    assert_int_equal(symlink(swap_a, tmp), 0);
    assert_int_equal(rename(tmp, swap_link), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(k, "k", v, sizeof v, &n, &eb), ASPS_OK);
        assert_string_equal(v, "AAAA");
    }
    asps_kms_free(k);
    asps_kms_file__set_settle_ms(2000);
}

/* asps_kms_file__path_is_local of a symlink NAME (in dir) to TARGET, made anew */
static int symlink_is_local(const char *name, const char *target)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
    assert_int_equal(symlink(target, p), 0);
    return asps_kms_file__path_is_local(p);
}

/* Whether the calling thread may stat the path: every folder its walk
 * looks in (the path as written, and each symlink's text met on the way)
 * on a local file system. /proc is not one (its magic is not on the list),
 * so a path through it, a symlink into it or one whose text passes through
 * it goes to a fetch thread; so do a path that does not resolve and a
 * symlink loop. */
static void test_path_is_local(void **state)
{
    (void)state;
    struct statfs fs;
    assert_int_equal(statfs(dir, &fs), 0);
    int here = asps_kms_file__fs_is_local((unsigned long)fs.f_type);
    write_kms("{}");
    assert_int_equal(asps_kms_file__path_is_local(path), here);
    char p[4300];
    /* as written through /proc, resolving to the local file */
    snprintf(p, sizeof p, "/proc/self/root%s", path);
    assert_false(asps_kms_file__path_is_local(p));
    /* a local symlink to a file in /proc */
    assert_false(symlink_is_local("into-proc", "/proc/self/status"));
    /* a local symlink through a folder in /proc back to the local file:
     * its text walks /proc though it resolves to the local file */
    char target[4300];
    snprintf(target, sizeof target, "/proc/self/root%s", path);
    assert_false(symlink_is_local("via-proc", target));
    /* a symlink, even a local one to the local file: never looked at
     * from the caller's thread (its target could be re-pointed through a
     * network file system to this very file) */
    assert_false(symlink_is_local("rel", "kms.json"));
    /* more than 64 components: not walked (a walk per component) */
    char deep[4300];
    size_t o = (size_t)snprintf(deep, sizeof deep, "%s", dir);
    for (int i = 0; i < 70; i++)
        o += (size_t)snprintf(deep + o, sizeof deep - o, "/.");
    snprintf(deep + o, sizeof deep - o, "/kms.json");
    assert_false(asps_kms_file__path_is_local(deep));
    /* ".." walks the folder it leaves: /proc/.. is / but /proc is looked in */
    snprintf(p, sizeof p, "/proc/..%s", path);
    assert_false(asps_kms_file__path_is_local(p));
    /* a symlink loop */
    assert_false(symlink_is_local("loop", "loop"));
    /* missing */
    snprintf(p, sizeof p, "%s/no-such.json", dir);
    assert_false(asps_kms_file__path_is_local(p));
    /* a file served from a /proc path never gets an answer on the caller's
     * thread: each get is handed to a fetch thread */
    if (here) {
        asps_kms *k;
        asps_errbuf eb;
        asps_kms_file__set_settle_ms(100);
        write_kms("{\"k\": \"text:v\"}");
        sleep_ms(250);
        snprintf(p, sizeof p, "/proc/self/root%s", path);
        assert_int_equal(asps_kms_open_file(p, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
        char v[64];
        size_t n;
        unsigned long h0 = asps_kms__fetches_handed_off();
        for (int i = 0; i < 4; i++)
            assert_int_equal(get(k, "k", v, sizeof v, &n, &eb), ASPS_OK);
        assert_int_equal(asps_kms__fetches_handed_off() - h0, 4);
        asps_kms_free(k);
        asps_kms_file__set_settle_ms(2000);
    }
}

/* The folder dir/sub (SUB, 4200 bytes) holding kms.json (FILE, 4300) with
 * one name, and REAL (4200) set to dir/sub.real, where tests move it. */
static void make_sub_kms(char *sub, char *real, char *file)
{
    snprintf(sub, 4200, "%s/sub", dir);
    snprintf(real, 4200, "%s/sub.real", dir);
    snprintf(file, 4300, "%s/kms.json", sub);
    assert_int_equal(mkdir(sub, 0700), 0);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("{\"k\": \"text:v\"}", f);
    fclose(f);
}

/* A folder on the path replaced by a symlink to the same folder (the
 * same file reached another way, which a reviewer routed through /proc):
 * the kept text is still the file's, but no get is answered on the
 * caller's thread any more (its look refuses symlinks), each goes to a
 * fetch thread, and the values stay right. */
static void test_folder_turned_symlink_is_handed_off(void **state)
{
    (void)state;
    char sub[4200], real[4200], file[4300];
    make_sub_kms(sub, real, file);
    if (!asps_kms_file__path_is_local(file)) {
        skip(); /* this machine's temporary folder is not local: nothing to show */
        return;
    }
    asps_kms_file__set_settle_ms(100);
    sleep_ms(250);
    asps_kms *k;
    asps_errbuf eb;
    assert_int_equal(asps_kms_open_file(file, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    char v[64];
    size_t n;
    unsigned long h0 = asps_kms__fetches_handed_off();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(k, "k", v, sizeof v, &n, &eb), ASPS_OK);
        assert_string_equal(v, "v");
    }
    assert_int_equal(asps_kms__fetches_handed_off() - h0, 1); /* the read */
    assert_int_equal(rename(sub, real), 0);
    assert_int_equal(symlink("sub.real", sub), 0);
    h0 = asps_kms__fetches_handed_off();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(k, "k", v, sizeof v, &n, &eb), ASPS_OK);
        assert_string_equal(v, "v");
    }
    assert_int_equal(asps_kms__fetches_handed_off() - h0, 3);
    asps_kms_free(k);
    unlink(sub);
    unlink(file);
    asps_kms_file__set_settle_ms(2000);
}

/* The path is looked at on both sides of the read, and the text is kept
 * as answerable on the caller's thread only if it was local and free of
 * symlinks both times: a folder turned into a symlink just before the
 * read (and back after it), or just after the read (and back), leaves
 * every later get of that text to a fetch thread. */
static char walk_sub[4200], walk_real[4200];
static void to_symlink(void *ctx)
{
    (void)ctx;
    assert_int_equal(rename(walk_sub, walk_real), 0);
    assert_int_equal(symlink("sub.real", walk_sub), 0);
}
static void to_folder(void *ctx)
{
    (void)ctx;
    assert_int_equal(unlink(walk_sub), 0);
    assert_int_equal(rename(walk_real, walk_sub), 0);
}

static void test_path_looked_at_on_both_sides_of_the_read(void **state)
{
    (void)state;
    char file[4300];
    make_sub_kms(walk_sub, walk_real, file);
    if (!asps_kms_file__path_is_local(file)) {
        skip();
        return;
    }
    asps_kms_file__set_settle_ms(100);
    sleep_ms(250);
    char v[64];
    size_t n;
    asps_errbuf eb;
    for (int side = 0; side < 3; side++) {
        asps_kms *k;
        assert_int_equal(asps_kms_open_file(file, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
        if (side == 0) { /* a symlink for the first look only (and the read) */
            asps_kms_file__set_between_hook(to_symlink, NULL);
            asps_kms_file__set_after_read_hook(to_folder, NULL);
        } else if (side == 1) { /* a symlink for the second look only */
            asps_kms_file__set_after_read_hook(to_symlink, NULL);
        }
        assert_int_equal(get(k, "k", v, sizeof v, &n, &eb), ASPS_OK);
        assert_string_equal(v, "v");
        asps_kms_file__set_between_hook(NULL, NULL);
        asps_kms_file__set_after_read_hook(NULL, NULL);
        if (side == 1)
            to_folder(NULL);
        /* the path is local again, the file the same: only a text kept as
         * local (side 2, no symlink at either look) is answered here */
        unsigned long h0 = asps_kms__fetches_handed_off();
        for (int i = 0; i < 3; i++) {
            assert_int_equal(get(k, "k", v, sizeof v, &n, &eb), ASPS_OK);
            assert_string_equal(v, "v");
        }
        assert_int_equal(asps_kms__fetches_handed_off() - h0, side == 2 ? 0 : 3);
        asps_kms_free(k);
    }
    unlink(file);
    asps_kms_file__set_settle_ms(2000);
}

/* Which file systems the file backend answers from on its caller's thread:
 * the local ones by their statfs magic (linux/magic.h, the kernel's ABI),
 * never a network or FUSE file system, where a stat may wait on a server. */
static void test_file_fs_local(void **state)
{
    (void)state;
    assert_true(asps_kms_file__fs_is_local(EXT4_SUPER_MAGIC));
    assert_true(asps_kms_file__fs_is_local(XFS_SUPER_MAGIC));
    assert_true(asps_kms_file__fs_is_local(BTRFS_SUPER_MAGIC));
    assert_true(asps_kms_file__fs_is_local(TMPFS_MAGIC));
    assert_true(asps_kms_file__fs_is_local(OVERLAYFS_SUPER_MAGIC));
    assert_false(asps_kms_file__fs_is_local(NFS_SUPER_MAGIC));
    assert_false(asps_kms_file__fs_is_local(SMB_SUPER_MAGIC));
    assert_false(asps_kms_file__fs_is_local(SMB2_SUPER_MAGIC));
    assert_false(asps_kms_file__fs_is_local(CIFS_SUPER_MAGIC));
    assert_false(asps_kms_file__fs_is_local(FUSE_SUPER_MAGIC));
    assert_false(asps_kms_file__fs_is_local(PROC_SUPER_MAGIC));
    assert_false(asps_kms_file__fs_is_local(0));
    /* and what this machine's kernel says of a real mount */
    struct statfs fs;
    if (statfs("/proc/self", &fs) == 0)
        assert_false(asps_kms_file__fs_is_local((unsigned long)fs.f_type));
}

/* The config keys: limits.kms_deadline_ms (less than deadline_ms) and
 * limits.drain_ms; a misspelt key is an error. */
static void test_config_kms_deadline_and_drain(void **state)
{
    (void)state;
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/server.json", dir);
    struct {
        const char *limits;
        asps_err want;
        long kms, drain;
        const char *msg;
    } cases[] = {
        {"{}", ASPS_OK, 0, 5000, NULL},
        {"{\"kms_deadline_ms\": 2000, \"drain_ms\": 700}", ASPS_OK, 2000, 700, NULL},
        {"{\"deadline_ms\": 30000, \"kms_deadline_ms\": 20000, \"drain_ms\": 0}", ASPS_OK, 20000, 0, NULL},
        {"{\"deadline_ms\": 1000, \"kms_deadline_ms\": 1000}", ASPS_E_PARSE, 0, 0, "less than deadline_ms (1000)"},
        {"{\"kms_deadline_ms\": 10000}", ASPS_E_PARSE, 0, 0, "less than deadline_ms (10000)"},
        {"{\"kms_deadline_ms\": 5}", ASPS_E_PARSE, 0, 0, "kms_deadline_ms"},
        {"{\"drain_ms\": -1}", ASPS_E_PARSE, 0, 0, "drain_ms"},
        {"{\"kms_timeout_ms\": 100}", ASPS_E_PARSE, 0, 0, "config.limits.kms_timeout_ms: unknown field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(cfg, "w");
        assert_non_null(f);
        fprintf(f, "{\"listen\": \"127.0.0.1:0\", \"limits\": %s}", cases[i].limits);
        fclose(f);
        asps_service_config *c = NULL;
        asps_errbuf eb = {{0}};
        asps_err e = asps_service_config_load(cfg, &c, &eb);
        if (e != cases[i].want)
            fail_msg("%s: %s (%s)", cases[i].limits, asps_err_name(e), eb.msg);
        if (e == ASPS_OK) {
            assert_int_equal(c->kms_deadline_ms, cases[i].kms);
            assert_int_equal(c->drain_ms, cases[i].drain);
            asps_service_config_free(c);
        } else if (!strstr(eb.msg, cases[i].msg)) {
            fail_msg("%s: message \"%s\"", cases[i].limits, eb.msg);
        }
    }
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
        cmocka_unit_test_setup_teardown(test_values_with_nul_bytes_arrive_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_control_bytes_in_the_file_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_or_folder_in_place_of_the_file_is_refused_at_once, setup, teardown),
        cmocka_unit_test(test_blocking_backend_is_abandoned_at_the_deadline),
        cmocka_unit_test(test_stuck_fetches_are_bounded),
        cmocka_unit_test_setup_teardown(test_concurrent_fetches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_read_once_for_many_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_or_replaced_file_is_served_at_once, setup, teardown),
        cmocka_unit_test(test_file_fs_local),
        cmocka_unit_test_setup_teardown(test_path_swapped_between_stat_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_is_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_turned_symlink_is_handed_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_looked_at_on_both_sides_of_the_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_kms_deadline_and_drain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
