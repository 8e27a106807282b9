/* test_json.c: the JSON reader (src/base/json.c). What cJSON 1.7.15 does with
 * raw control bytes and "\u0000" is pinned first (the reason json.c checks
 * text itself before cJSON sees it); then the strict RFC 8259 checks, the
 * error positions, and strings decoded with their length (NUL bytes,
 * escapes, surrogate pairs, as RFC 8259 section 7 spells them). */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ---- cJSON as shipped (Debian 12: 1.7.15) ----------------------------------------- */

/* cJSON takes raw control bytes inside strings and cuts a string at "\u0000"
 * or a raw 0x00 (its strings are C strings). If this test fails, cJSON
 * changed: json.c's reasons (its comment) need a second look, its checks
 * stay. */
static void test_cjson_is_lenient_where_json_c_is_strict(void **state)
{
    (void)state;
    const char esc[] = "{\"k\":\"pw\\u0000tail\"}";
    cJSON *j = cJSON_ParseWithLength(esc, sizeof esc - 1);
    assert_non_null(j);
    assert_int_equal(strlen(cJSON_GetObjectItem(j, "k")->valuestring), 2); /* "pw": cut */
    cJSON_Delete(j);
    const char raw0[] = "{\"k\":\"pw\0tail\"}";
    j = cJSON_ParseWithLength(raw0, sizeof raw0 - 1);
    assert_non_null(j); /* invalid JSON, accepted */
    assert_int_equal(strlen(cJSON_GetObjectItem(j, "k")->valuestring), 2);
    cJSON_Delete(j);
    for (int b = 1; b < 0x20; b++) {
        char raw[32];
        int n = snprintf(raw, sizeof raw, "{\"k\":\"a%cb\"}", b);
        j = cJSON_ParseWithLength(raw, (size_t)n);
        assert_non_null(j); /* RFC 8259 says these must be escaped */
        assert_int_equal(strlen(cJSON_GetObjectItem(j, "k")->valuestring), 3);
        cJSON_Delete(j);
    }
    /* and a key holding \u0000 is cut too: "k\u0000x" reads as "k" */
    const char key[] = "{\"k\\u0000x\":\"v\"}";
    j = cJSON_ParseWithLength(key, sizeof key - 1);
    assert_non_null(j);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "k"));
    cJSON_Delete(j);
}

/* ---- asps_json_parse: strict before cJSON ---------------------------------------- */

static asps_err parse(const char *text, size_t len, asps_errbuf *eb)
{
    cJSON *j = NULL;
    memset(eb, 0, sizeof *eb);
    asps_err e = asps_json_parse(text, len, "t.json", &j, eb);
    if (e == ASPS_OK)
        assert_non_null(j);
    else
        assert_null(j);
    cJSON_Delete(j);
    return e;
}

static void test_raw_control_bytes_in_strings_are_refused(void **state)
{
    (void)state;
    asps_errbuf eb;
    for (int b = 0; b < 0x20; b++) {
        char t[64];
        /* in a value, in a key, at the end of a string */
        int n = snprintf(t, sizeof t, "{\"k\": \"ab%ccd\"}", b == 0 ? '@' : b);
        if (b == 0)
            t[9] = 0; /* a raw 0x00 byte */
        assert_int_equal(parse(t, (size_t)n, &eb), ASPS_E_PARSE);
        assert_non_null(strstr(eb.msg, "control character in a string"));
        assert_non_null(strstr(eb.msg, "t.json: invalid JSON near line 1, column 10"));
        n = snprintf(t, sizeof t, "{\"k%c\": 1}", b == 0 ? '@' : b);
        if (b == 0)
            t[3] = 0;
        assert_int_equal(parse(t, (size_t)n, &eb), ASPS_E_PARSE);
        assert_non_null(strstr(eb.msg, "control character"));
        /* escaped, the same characters are fine (except \u0000: below) */
        if (b) {
            n = snprintf(t, sizeof t, "{\"k\": \"ab\\u%04xcd\"}", b);
            assert_int_equal(parse(t, (size_t)n, &eb), ASPS_OK);
        }
    }
    /* outside strings, whitespace is whitespace and 0x00 is an error */
    const char ws[] = "\t{\r\n\"a\" : [ 1 ,2 ] }\n";
    assert_int_equal(parse(ws, sizeof ws - 1, &eb), ASPS_OK);
    assert_int_equal(parse("{\"a\": 1}\0", 9, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "unexpected data after the JSON value"));
    /* 0x7f is not a control character in RFC 8259's sense */
    const char del[] = "[\"a\x7f\"]";
    assert_int_equal(parse(del, sizeof del - 1, &eb), ASPS_OK);
}

static void test_u0000_refused_where_cjson_would_cut_it(void **state)
{
    (void)state;
    asps_errbuf eb;
    const char v[] = "{\"policy\": 1,\n \"name\": \"image_key\\u0000junk\"}";
    assert_int_equal(parse(v, sizeof v - 1, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "t.json: invalid JSON near line 2, column 20: \\u0000 in a string"));
    assert_null(strstr(eb.msg, "junk")); /* never the text itself */
    const char k[] = "{\"k\\u0000x\": 1}";
    assert_int_equal(parse(k, sizeof k - 1, &eb), ASPS_E_PARSE);
    /* a pair of surrogates that is not U+0000 is fine */
    const char ok[] = "[\"\\u0001\\u00e9\\uD834\\uDD1E\"]";
    assert_int_equal(parse(ok, sizeof ok - 1, &eb), ASPS_OK);
}

static void test_rfc8259_grammar(void **state)
{
    (void)state;
    static const char *const good[] = {
        "0", "-0", "1.5e+10", "1E-2", "-12.25", "true", "false", "null", "\"\"", "[]", "{}",
        "[[],{}]", "{\"a\":{\"b\":[1,\"x\",null]}}", " [ 1 ] ", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "{\"a\":1,\"a\":2}", /* duplicates are the caller's concern (json_check_keys) */
    };
    static const char *const bad[] = {
        "", " ", "01", "1.", ".5", "+1", "-", "1e", "1e+", "--1", "0x10", "1 2", "[1,]", "{\"a\":1,}",
        "[", "]", "{", "{\"a\"}", "{\"a\":}", "{a:1}", "{'a':1}", "tru", "nul", "True", "\"abc",
        "\"\\x41\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\uD834\"", "\"\\uDD1E\"", "\"\\uD834\\u0041\"",
        "\"\\", "[1] x", "\xef\xbb\xbf{}", "/* c */ {}", "NaN", "Infinity",
    };
    asps_errbuf eb;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (parse(good[i], strlen(good[i]), &eb) != ASPS_OK)
            fail_msg("refused %s: %s", good[i], eb.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], strlen(bad[i]), &eb) != ASPS_E_PARSE)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(eb.msg, "t.json: "));
    }
    /* nesting: ASPS_JSON_MAX_DEPTH levels are fine, one more is not */
    char deep[2 * ASPS_JSON_MAX_DEPTH + 4];
    memset(deep, '[', ASPS_JSON_MAX_DEPTH);
    memset(deep + ASPS_JSON_MAX_DEPTH, ']', ASPS_JSON_MAX_DEPTH);
    assert_int_equal(parse(deep, 2 * ASPS_JSON_MAX_DEPTH, &eb), ASPS_OK);
    memset(deep, '[', ASPS_JSON_MAX_DEPTH + 1);
    memset(deep + ASPS_JSON_MAX_DEPTH + 1, ']', ASPS_JSON_MAX_DEPTH + 1);
    assert_int_equal(parse(deep, 2 * ASPS_JSON_MAX_DEPTH + 2, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "nested too deeply"));
    assert_int_equal(asps_json_parse(NULL, 0, "t", &(cJSON *){NULL}, &eb), ASPS_E_ARG);
}

/* ---- strings with their length -------------------------------------------------- */

static asps_reader top_of(const char *text, size_t len)
{
    asps_reader top;
    asps_errbuf eb;
    if (asps_json_raw_parse(text, len, "t", &top, &eb) != ASPS_OK)
        fail_msg("%s", eb.msg);
    return top;
}

static void want_string(asps_reader s, const void *want, size_t n)
{
    uint8_t *d;
    size_t dn;
    asps_errbuf eb;
    assert_int_equal(asps_json_raw_string(s, &d, &dn, &eb), ASPS_OK);
    assert_int_equal(dn, n);
    assert_memory_equal(d, want, n);
    assert_int_equal(d[dn], 0);
    free(d);
}

static void test_strings_decoded_whole_with_their_length(void **state)
{
    (void)state;
    const char t[] = "{\"db_password\": \"text:pw\\u0000tail\", \"esc\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
                     " \"u\": \"\\u00e9\\u20AC\\uD834\\uDD1E\", \"k\\u0000x\": 1, \"k\": [2, {\"k\": 3}],"
                     " \"nul\": \"\\u0000\", \"raw\": \"caf\xc3\xa9\"}";
    asps_reader top = top_of(t, sizeof t - 1), v;
    assert_int_equal(asps_json_raw_kind_of(top), ASPS_JSON_RAW_OBJECT);
    assert_int_equal(asps_json_raw_member(top, "db_password", &v), 1);
    assert_int_equal(asps_json_raw_kind_of(v), ASPS_JSON_RAW_STRING);
    want_string(v, "text:pw\0tail", 12);
    assert_int_equal(asps_json_raw_member(top, "esc", &v), 1);
    want_string(v, "\"\\/\b\f\n\r\t", 8);
    /* U+00E9, U+20AC, and RFC 8259 section 7's G clef U+1D11E (written
     * there as "\uD834\uDD1E") in UTF-8 */
    assert_int_equal(asps_json_raw_member(top, "u", &v), 1);
    want_string(v, "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e", 9);
    assert_int_equal(asps_json_raw_member(top, "nul", &v), 1);
    want_string(v, "\0", 1);
    assert_int_equal(asps_json_raw_member(top, "raw", &v), 1);
    want_string(v, "caf\xc3\xa9", 5);
    /* keys compared whole: "k\u0000x" is not "k"; only top-level members count */
    assert_int_equal(asps_json_raw_member(top, "k", &v), 1);
    assert_int_equal(asps_json_raw_kind_of(v), ASPS_JSON_RAW_ARRAY);
    assert_int_equal(asps_json_raw_member(top, "missing", &v), 0);
    assert_int_equal(asps_json_raw_member(v, "k", NULL), 0); /* not an object */
    /* iteration, in order; an array's elements have no key */
    asps_json_iter it;
    asps_reader key, val;
    assert_true(asps_json_raw_iter(v, &it));
    assert_true(asps_json_raw_next(&it, &key, &val));
    assert_int_equal(asps_json_raw_kind_of(val), ASPS_JSON_RAW_NUMBER);
    assert_int_equal(asps_reader_left(&key), 0);
    assert_true(asps_json_raw_next(&it, &key, &val));
    assert_int_equal(asps_json_raw_kind_of(val), ASPS_JSON_RAW_OBJECT);
    assert_int_equal(asps_json_raw_member(val, "k", NULL), 1);
    assert_false(asps_json_raw_next(&it, &key, &val));
    /* duplicates counted */
    const char d[] = "{\"a\": \"1\", \"b\": 2, \"a\": \"3\"}";
    top = top_of(d, sizeof d - 1);
    assert_int_equal(asps_json_raw_member(top, "a", &v), 2);
    want_string(v, "1", 1); /* the first */
    /* the raw reader refuses what the tree parser refuses, \u0000 aside */
    asps_errbuf eb;
    assert_int_equal(asps_json_raw_parse("[\"a\x01\"]", 5, "t", &top, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "control character"));
    assert_int_equal(asps_json_raw_parse("{\"a\": 1", 7, "t", &top, &eb), ASPS_E_PARSE);
    /* a reader over text that is not a string */
    uint8_t *out;
    size_t n;
    assert_int_equal(asps_json_raw_string(asps_reader_init((const uint8_t *)"12", 2), &out, &n, &eb), ASPS_E_PARSE);
    assert_int_equal(asps_json_raw_string(asps_reader_init((const uint8_t *)"\"ab", 3), &out, &n, &eb), ASPS_E_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cjson_is_lenient_where_json_c_is_strict),
        cmocka_unit_test(test_raw_control_bytes_in_strings_are_refused),
        cmocka_unit_test(test_u0000_refused_where_cjson_would_cut_it),
        cmocka_unit_test(test_rfc8259_grammar),
        cmocka_unit_test(test_strings_decoded_whole_with_their_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
