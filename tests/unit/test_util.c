/* test_util.c: the file readers' size limits. A limit of MAX bytes takes a
 * file of exactly MAX bytes whole and refuses one byte more (quote files:
 * the parser takes ASPS_QUOTE_MAX_LEN bytes, so `asps quote show` must read
 * that many; token files: 4096). */
#include "testutil.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asps/err.h"
#include "quote.h"
#include "util.h"

static void write_n(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fputc((int)('a' + i % 26), f), (int)('a' + i % 26));
    assert_int_equal(fclose(f), 0);
}

static void test_read_limits_take_exactly_max_and_refuse_one_more(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char p[4200];
    snprintf(p, sizeof p, "%s/f", dir);
    /* below, at and above the reader's first buffer (4096), and the quote
     * limit, where the buffer grows to exactly the limit */
    const size_t maxes[] = {64, 4095, 4096, 4097, 8192, 10000, ASPS_QUOTE_MAX_LEN};
    for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
        size_t max = maxes[i];
        for (size_t n = max - 1; n <= max + 1; n++) {
            write_n(p, n);
            for (int regular = 0; regular < 2; regular++) {
                uint8_t *b = NULL;
                size_t len = 0;
                asps_errbuf eb = {{0}};
                asps_err e = regular ? asps_read_regular_file(p, max, &b, &len, &eb)
                                     : asps_read_file(p, max, &b, &len, &eb);
                if (n <= max) {
                    if (e != ASPS_OK)
                        fail_msg("%s, max %zu, file of %zu bytes: %s",
                                 regular ? "asps_read_regular_file" : "asps_read_file", max, n, eb.msg);
                    assert_int_equal(len, n);
                    assert_int_equal(b[n - 1], 'a' + (n - 1) % 26);
                    assert_int_equal(b[n], 0);
                    free(b);
                } else {
                    assert_int_equal(e, ASPS_E_LIMIT);
                    assert_non_null(strstr(eb.msg, "is larger than"));
                }
            }
        }
    }
    tu_rm_rf(dir);
    free(dir);
}

/* a day its month does not have is an error, never the next month's day
 * ("2026-02-30" was read as 2026-03-02: an --at, a --date, a tcbDate) */
static void test_time_parse_refuses_days_not_on_the_calendar(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(asps_time_parse("2024-02-29T00:00:00Z", &t), 0);
    assert_int_equal(t, 1709164800);
    assert_int_equal(asps_time_parse("2000-02-29T00:00:00Z", &t), 0);
    assert_int_equal(asps_time_parse("2026-12-31T23:59:59Z", &t), 0);
    assert_int_equal(t, 1798761599);
    const char *bad[] = {"2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-02-30T00:00:00Z",
                         "2026-04-31T00:00:00Z", "2026-06-31T12:00:00+02:00", "2026-09-31T00:00:00Z",
                         "2026-11-31T00:00:00Z", "2026-01-32T00:00:00Z", "2026-00-10T00:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (asps_time_parse(bad[i], &t) != -1)
            fail_msg("%s accepted", bad[i]);
}

static void test_nearest_word_suggests_only_what_is_near(void **state)
{
    (void)state;
    static const char *const w[] = {"kms_server", "kms_keys", "ua_env_pccs_url", "ra_config",
                                    "mrenclave", "mrsigner", "id", "ip", NULL};
    assert_string_equal(asps_nearest_word("ua_env_pccs_ur1", w), "ua_env_pccs_url");
    assert_string_equal(asps_nearest_word("mrenclve", w), "mrenclave");       /* deletion */
    assert_string_equal(asps_nearest_word("kms_srever", w), "kms_server");    /* swap */
    assert_string_equal(asps_nearest_word("KMS_Keys", w), "kms_keys");        /* case */
    assert_string_equal(asps_nearest_word("ra_configs", w), "ra_config");     /* insertion */
    assert_null(asps_nearest_word("colour", w));                              /* nothing near */
    assert_null(asps_nearest_word("ix", w));                                  /* tie: id, ip */
    assert_null(asps_nearest_word("mrxxxxxxx", w));                           /* too far */
    char longw[300];
    memset(longw, 'a', sizeof longw - 1);
    longw[sizeof longw - 1] = 0;
    assert_null(asps_nearest_word(longw, w));
    assert_null(asps_nearest_word("x", NULL));
}

/* OpenSSL's PEM reader on TEXT: the first block's DER if it is a
 * certificate, as asps read PEM before the strict fast path. */
static int reference_der(const char *text, size_t n, uint8_t **der, long *dl)
{
    BIO *b = BIO_new_mem_buf(text, (int)n);
    char *name = NULL, *header = NULL;
    unsigned char *d = NULL;
    int ok = b && PEM_read_bio(b, &name, &header, &d, dl) == 1 && !strcmp(name, "CERTIFICATE") &&
             *dl > 0;
    OPENSSL_free(name);
    OPENSSL_free(header);
    BIO_free(b);
    ERR_clear_error();
    if (!ok) {
        OPENSSL_free(d);
        d = NULL;
    }
    *der = d;
    return ok;
}

static char *pem_of(const uint8_t *data, size_t n, size_t *tl)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio(b, "CERTIFICATE", "", data, (long)n) > 0);
    char *p;
    long l = BIO_get_mem_data(b, &p);
    char *t = malloc((size_t)l + 1);
    memcpy(t, p, (size_t)l);
    t[l] = 0;
    BIO_free(b);
    *tl = (size_t)l;
    return t;
}

/* Wherever the strict PEM path answers, it answers exactly what OpenSSL's
 * PEM reader does: every DER length from 1 to 400 bytes (every padding,
 * last lines of 1 to 64 characters) as OpenSSL writes it, then 20,000
 * random mutations of such texts (a character changed to one of the
 * characters that matter, removed, or added), each compared with
 * PEM_read_bio. */
static void test_strict_pem_agrees_with_openssls_reader(void **state)
{
    (void)state;
    srand(7);
    uint8_t data[400];
    for (size_t n = 1; n <= sizeof data; n++) {
        for (size_t i = 0; i < n; i++)
            data[i] = (uint8_t)rand();
        size_t tl;
        char *t = pem_of(data, n, &tl);
        uint8_t *der = NULL;
        size_t dl = 0;
        if (!asps_pem_cert_der_strict(t, tl, &der, &dl))
            fail_msg("%zu bytes as OpenSSL writes them: not taken", n);
        assert_int_equal(dl, n);
        assert_memory_equal(der, data, n);
        OPENSSL_free(der);
        free(t);
    }
    static const char alphabet[] = "AZaz09+/=\n\r- \t.B";
    int taken = 0, refused = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n = 1 + (size_t)rand() % 200;
        for (size_t i = 0; i < n; i++)
            data[i] = (uint8_t)rand();
        size_t tl;
        char *t = pem_of(data, n, &tl);
        char *m = malloc(tl + 2);
        size_t ml = tl, at = (size_t)rand() % tl;
        char ch = alphabet[(size_t)rand() % (sizeof alphabet - 1)];
        switch (rand() % 3) {
        case 0: /* changed */
            memcpy(m, t, tl);
            m[at] = ch;
            break;
        case 1: /* removed */
            memcpy(m, t, at);
            memcpy(m + at, t + at + 1, tl - at - 1);
            ml = tl - 1;
            break;
        default: /* added */
            memcpy(m, t, at);
            m[at] = ch;
            memcpy(m + at + 1, t + at, tl - at);
            ml = tl + 1;
        }
        m[ml] = 0;
        uint8_t *der = NULL, *ref = NULL;
        size_t dl = 0;
        long rl = 0;
        int s = asps_pem_cert_der_strict(m, ml, &der, &dl), r = reference_der(m, ml, &ref, &rl);
        if (s) {
            taken++;
            if (!r || (size_t)rl != dl || memcmp(der, ref, dl) != 0)
                fail_msg("round %d: the strict path read %zu bytes, OpenSSL %s (%ld)\n%s", round, dl,
                         r ? "others" : "nothing", rl, m);
        } else {
            refused++;
        }
        OPENSSL_free(der);
        OPENSSL_free(ref);
        free(m);
        free(t);
    }
    /* both ways were taken (the comparison ran) */
    assert_true(taken > 1000);
    assert_true(refused > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_limits_take_exactly_max_and_refuse_one_more),
        cmocka_unit_test(test_nearest_word_suggests_only_what_is_near),
        cmocka_unit_test(test_time_parse_refuses_days_not_on_the_calendar),
        cmocka_unit_test(test_strict_pem_agrees_with_openssls_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
