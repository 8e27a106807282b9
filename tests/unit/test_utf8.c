/* test_utf8.c: the UTF-8 validator and sanitizer (src/utf8.c) pinned to
 * things asps did not write: the examples of RFC 3629 section 7, the rows
 * of the Unicode Standard's Table 3-7 (well-formed byte sequences) and
 * Table 3-8 (U+FFFD for maximal subparts), and Python's UTF-8 codec run on
 * some 130,000 byte strings (every 1- and 2-byte string, the 3- and 4-byte
 * strings around every boundary of Table 3-7, random strings). The audit
 * writer is checked the same way: lines holding every one of those names
 * are read back by Python's json module from strictly decoded UTF-8. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "utf8.h"

static int valid_hex(const char *hex)
{
    uint8_t b[64];
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++)
        sscanf(hex + 2 * i, "%2hhx", &b[i]);
    return asps_utf8_valid(b, n, NULL);
}

static void test_rfc3629_examples_are_valid(void **state)
{
    (void)state;
    /* RFC 3629 section 7 */
    assert_true(valid_hex("41e289a2ce912e"));          /* A<NOT IDENTICAL TO><ALPHA>. */
    assert_true(valid_hex("ed959ceab5adec96b4"));      /* Korean "hangugeo" */
    assert_true(valid_hex("e697a5e69cace8aa9e"));      /* Japanese "nihongo" */
    assert_true(valid_hex("efbbbff0a38eb4"));          /* BOM, U+233B4 */
    assert_true(asps_utf8_valid(NULL, 0, NULL));
}

static void test_table_3_7_boundaries(void **state)
{
    (void)state;
    /* every row of Table 3-7 at both ends of its ranges ... */
    const char *ok[] = {"00", "7f", "c280", "dfbf", "e0a080", "e0bfbf", "e18080", "ecbfbf",
                        "ed8080", "ed9fbf", "ee8080", "efbfbf", "f0908080", "f0bfbfbf",
                        "f1808080", "f3bfbfbf", "f4808080", "f48fbfbf"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (!valid_hex(ok[i]))
            fail_msg("%s should be well-formed", ok[i]);
    }
    /* ... and just outside them: overlongs, surrogates, above U+10FFFF,
     * stray continuation bytes, bad leads, cut-short sequences */
    const char *bad[] = {"80", "bf", "c0af", "c1bf", "c27f", "c2c0", "e080af", "e09fbf",
                         "eda080", "edbfbf", "f08080af", "f08fbfbf", "f4908080", "f5808080",
                         "ff", "fe", "c3", "e282", "f09f98", "e2", "c2e282ac"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (valid_hex(bad[i]))
            fail_msg("%s should be ill-formed", bad[i]);
    }
}

static void test_issue_cases_and_first_bad_offset(void **state)
{
    (void)state;
    size_t bad;
    const uint8_t ffimage[] = {0xff, 0xfe, 0x69, 0x6d, 0x61, 0x67, 0x65};
    assert_false(asps_utf8_valid(ffimage, sizeof ffimage, &bad));
    assert_int_equal(bad, 0);
    const uint8_t late[] = {'a', 'b', 0xc3}; /* a lone c3 at the end */
    assert_false(asps_utf8_valid(late, sizeof late, &bad));
    assert_int_equal(bad, 2);
    const uint8_t fine[] = {'a', 0xc3, 0xa9};
    assert_true(asps_utf8_valid(fine, sizeof fine, &bad));
    assert_int_equal(bad, 3);
}

static void test_table_3_8_maximal_subparts(void **state)
{
    (void)state;
    /* The Unicode Standard, section 3.9, Table 3-8 */
    const uint8_t in[] = {0x61, 0xf1, 0x80, 0x80, 0xe1, 0x80, 0xc2, 0x62, 0x80, 0x63, 0x80, 0xbf, 0x64};
    size_t n;
    char *s = asps_utf8_sanitize(in, sizeof in, &n);
    assert_non_null(s);
    const char want[] = "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd" "d";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(s, want, n);
    assert_true(asps_utf8_valid((const uint8_t *)s, n, NULL));
    free(s);
}

/* ---- Python's codec as the oracle ------------------------------------------------ */

typedef struct cases {
    uint8_t (*b)[16];
    uint8_t *len;
    size_t n, cap;
} cases;

static void add(cases *c, const uint8_t *b, size_t len)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 4096;
        c->b = realloc(c->b, c->cap * sizeof *c->b);
        c->len = realloc(c->len, c->cap);
        assert_non_null(c->b);
        assert_non_null(c->len);
    }
    memcpy(c->b[c->n], b, len);
    c->len[c->n++] = (uint8_t)len;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint8_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

static void make_cases(cases *c)
{
    /* bytes around every boundary of Table 3-7, and some plain ones */
    static const uint8_t edge[] = {0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xa1,
                                   0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4,
                                   0xf5, 0xff};
    uint8_t b[16];
    for (unsigned i = 0; i < 256; i++) {
        b[0] = (uint8_t)i;
        add(c, b, 1);
        for (unsigned j = 0; j < 256; j++) {
            b[1] = (uint8_t)j;
            add(c, b, 2);
        }
    }
    for (unsigned i = 0xc0; i < 256; i++)
        for (size_t j = 0; j < sizeof edge; j++)
            for (size_t k = 0; k < sizeof edge; k++) {
                b[0] = (uint8_t)i, b[1] = edge[j], b[2] = edge[k];
                add(c, b, 3);
            }
    static const uint8_t cont[] = {0x80, 0xbf, 0x41, 0xc0};
    for (unsigned i = 0xf0; i < 0xf8; i++)
        for (unsigned j = 0; j < 256; j++)
            for (size_t k = 0; k < 4; k++)
                for (size_t l = 0; l < 4; l++) {
                    b[0] = (uint8_t)i, b[1] = (uint8_t)j, b[2] = cont[k], b[3] = cont[l];
                    add(c, b, 4);
                }
    for (int r = 0; r < 20000; r++) {
        size_t len = 1 + rnd() % 15;
        for (size_t i = 0; i < len; i++) {
            uint8_t x = rnd();
            b[i] = x < 96 ? (uint8_t)(0x20 + x % 0x60) : x < 200 ? (uint8_t)(0x80 + x % 0x40)
                                                      : edge[x % sizeof edge];
        }
        add(c, b, len);
    }
}

static const char *python(void)
{
    return system("python3 -c 'import json, codecs' 2>/dev/null") == 0 ? "python3" : NULL;
}

static void write_cases(const cases *c, const char *path, int skip_nul)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < c->n; i++) {
        if (skip_nul && memchr(c->b[i], 0, c->len[i]))
            continue;
        for (size_t k = 0; k < c->len[i]; k++)
            fprintf(f, "%02x", c->b[i][k]);
        fputc('\n', f);
    }
    assert_int_equal(fclose(f), 0);
}

static void test_agrees_with_python_codec(void **state)
{
    (void)state;
    const char *py = python();
    if (!py)
        tu_skip("python3 not found");
    char *dir = tu_mkdtemp();
    char in[4200], out[4200], cmd[9000];
    snprintf(in, sizeof in, "%s/cases", dir);
    snprintf(out, sizeof out, "%s/oracle", dir);
    cases c = {0};
    make_cases(&c);
    write_cases(&c, in, 0);
    snprintf(cmd, sizeof cmd, "%s %s/tests/utf8_oracle.py %s %s", py, getenv("ASPS_SRC"), in, out);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char line[256];
    size_t i = 0, n_valid = 0, n_bad = 0;
    while (fgets(line, sizeof line, f)) {
        assert_true(i < c.n);
        int want_valid = line[0] == '1';
        const char *want_hex = line + 2;
        size_t got_len;
        char *got = asps_utf8_sanitize(c.b[i], c.len[i], &got_len);
        assert_non_null(got);
        char hex[256] = "";
        for (size_t k = 0; k < got_len; k++)
            snprintf(hex + 2 * k, 3, "%02x", (uint8_t)got[k]);
        int valid = asps_utf8_valid(c.b[i], c.len[i], NULL);
        if (valid != want_valid || strncmp(hex, want_hex, strlen(hex)) != 0 ||
            want_hex[strlen(hex)] != '\n') {
            char in_hex[40] = "";
            for (size_t k = 0; k < c.len[i]; k++)
                snprintf(in_hex + 2 * k, 3, "%02x", c.b[i][k]);
            fail_msg("case %s: asps says valid=%d replaced=%s; Python says %s", in_hex, valid, hex,
                     line);
        }
        /* sanitizing a well-formed string changes nothing */
        if (valid)
            assert_memory_equal(got, c.b[i], c.len[i]);
        free(got);
        valid ? n_valid++ : n_bad++;
        i++;
    }
    fclose(f);
    assert_int_equal(i, c.n);
    /* the corpus exercises both sides */
    assert_true(n_valid > 10000 && n_bad > 10000);
    free(c.b);
    free(c.len);
    tu_rm_rf(dir);
    free(dir);
}

static void test_audit_lines_are_strict_json_for_any_name(void **state)
{
    (void)state;
    const char *py = python();
    if (!py)
        tu_skip("python3 not found");
    char *dir = tu_mkdtemp();
    char in[4200], log[4200], cmd[9000];
    snprintf(in, sizeof in, "%s/cases", dir);
    snprintf(log, sizeof log, "%s/audit.log", dir);
    cases c = {0};
    make_cases(&c);
    write_cases(&c, in, 1); /* a C string cannot hold NUL */
    asps_audit *a;
    asps_errbuf eb;
    assert_int_equal(asps_audit_open(log, &a, &eb), ASPS_OK);
    for (size_t i = 0; i < c.n; i++) {
        if (memchr(c.b[i], 0, c.len[i]))
            continue;
        char name[17];
        memcpy(name, c.b[i], c.len[i]);
        name[c.len[i]] = 0;
        const char *names[1] = {name};
        /* the peer's bytes in every string field that can carry them */
        asps_audit_event ev = {.peer = name, .names_asked = names, .n_asked = 1, .app = name,
                               .verdict = "invalid", .reason = name};
        assert_int_equal(asps_audit_decision(a, &ev, &eb), ASPS_OK);
    }
    asps_audit_close(a);
    snprintf(cmd, sizeof cmd, "%s %s/tests/utf8_oracle.py --audit %s %s >/dev/null", py,
             getenv("ASPS_SRC"), log, in);
    assert_int_equal(system(cmd), 0);
    free(c.b);
    free(c.len);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3629_examples_are_valid),
        cmocka_unit_test(test_table_3_7_boundaries),
        cmocka_unit_test(test_issue_cases_and_first_bad_offset),
        cmocka_unit_test(test_table_3_8_maximal_subparts),
        cmocka_unit_test(test_agrees_with_python_codec),
        cmocka_unit_test(test_audit_lines_are_strict_json_for_any_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
