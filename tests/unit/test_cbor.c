/* test_cbor.c: the CBOR subset used by the TCG DICE RA-TLS extension.
 * Encodings checked against RFC 8949 Appendix A; the decoder refuses what
 * it does not handle (indefinite lengths, reserved values), never reads past
 * its input, and bounds nesting and item counts. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "cbor.h"

static void expect_out(asps_writer *o, const char *hex)
{
    size_t n = strlen(hex) / 2;
    assert_false(o->failed);
    assert_int_equal(o->len, n);
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        sscanf(hex + 2 * i, "%2x", &b);
        assert_int_equal(o->p[i], b);
    }
    asps_writer_free(o);
}

static void test_cbor_writer_uses_shortest_heads_rfc8949(void **state)
{
    (void)state;
    static const struct { uint64_t v; const char *hex; } uints[] = {
        {0, "00"}, {23, "17"}, {24, "1818"}, {100, "1864"}, {1000, "1903e8"},
        {1000000, "1a000f4240"}, {1000000000000ull, "1b000000e8d4a51000"},
        {18446744073709551615ull, "1bffffffffffffffff"},
    };
    for (size_t i = 0; i < sizeof uints / sizeof uints[0]; i++) {
        asps_writer o = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
        cbor_put_head(&o, CBOR_UINT, uints[i].v);
        expect_out(&o, uints[i].hex);
    }
    asps_writer o = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
    cbor_put_bytes(&o, CBOR_BYTES, "\x01\x02\x03\x04", 4);
    expect_out(&o, "4401020304");
    cbor_put_bytes(&o, CBOR_TEXT, "IETF", 4);
    expect_out(&o, "6449455446");
    /* {"a": 1, "b": [2, 3]} */
    cbor_put_head(&o, CBOR_MAP, 2);
    cbor_put_bytes(&o, CBOR_TEXT, "a", 1);
    cbor_put_head(&o, CBOR_UINT, 1);
    cbor_put_bytes(&o, CBOR_TEXT, "b", 1);
    cbor_put_head(&o, CBOR_ARRAY, 2);
    cbor_put_head(&o, CBOR_UINT, 2);
    cbor_put_head(&o, CBOR_UINT, 3);
    expect_out(&o, "a26161016162820203");
    /* the DICE tagged-evidence tag, 60000 */
    cbor_put_head(&o, CBOR_TAG, 60000);
    expect_out(&o, "d9ea60");
}

static void test_cbor_gramine_pubkey_hash_claims_layout(void **state)
{
    (void)state;
    /* {"pubkey-hash": bstr(CBOR [1, bstr(32)])}, as Gramine serialises it */
    uint8_t h[32];
    memset(h, 0x5a, sizeof h);
    asps_writer inner = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN), o = asps_writer_init(CBOR_OUT_MAX, ASPS_WRITER_PLAIN);
    cbor_put_head(&inner, CBOR_ARRAY, 2);
    cbor_put_head(&inner, CBOR_UINT, 1);
    cbor_put_bytes(&inner, CBOR_BYTES, h, 32);
    cbor_put_head(&o, CBOR_MAP, 1);
    cbor_put_bytes(&o, CBOR_TEXT, "pubkey-hash", 11);
    cbor_put_bytes(&o, CBOR_BYTES, inner.p, inner.len);
    assert_int_equal(inner.len, 36);
    static const uint8_t head[] = {0xa1, 0x6b, 'p', 'u', 'b', 'k', 'e', 'y', '-', 'h', 'a', 's',
                                   'h', 0x58, 0x24, 0x82, 0x01, 0x58, 0x20};
    assert_int_equal(o.len, sizeof head + 32);
    assert_memory_equal(o.p, head, sizeof head);
    assert_memory_equal(o.p + sizeof head, h, 32);

    /* and reads back through the decoder */
    asps_reader r = asps_reader_init(o.p, o.len), k, v;
    int m;
    uint64_t a;
    assert_true(cbor_head(&r, &m, &a));
    assert_int_equal(m, CBOR_MAP);
    assert_int_equal(a, 1);
    assert_true(cbor_string(&r, CBOR_TEXT, &k));
    assert_int_equal(asps_reader_left(&k), 11);
    assert_true(cbor_string(&r, CBOR_BYTES, &v));
    assert_int_equal(asps_reader_left(&v), 36);
    assert_int_equal(asps_reader_left(&r), 0);
    r = asps_reader_init(o.p, o.len);
    assert_true(cbor_skip(&r, 0));
    assert_int_equal(asps_reader_left(&r), 0);
    asps_writer_free(&inner);
    asps_writer_free(&o);
}

static void test_cbor_head_reads_every_width(void **state)
{
    (void)state;
    static const uint8_t b[] = {0x17, 0x18, 0x18, 0x19, 0x03, 0xe8, 0x1a, 0x00, 0x0f, 0x42, 0x40,
                                0x1b, 0, 0, 0, 0xe8, 0xd4, 0xa5, 0x10, 0x00, 0x39, 0x01, 0xf3};
    static const uint64_t want[] = {23, 24, 1000, 1000000, 1000000000000ull};
    asps_reader r = asps_reader_init(b, sizeof b);
    int m;
    uint64_t a;
    for (size_t i = 0; i < 5; i++) {
        assert_true(cbor_head(&r, &m, &a));
        assert_int_equal(m, CBOR_UINT);
        assert_true(a == want[i]);
    }
    assert_true(cbor_head(&r, &m, &a)); /* -500 */
    assert_int_equal(m, CBOR_NINT);
    assert_int_equal(a, 499);
    assert_int_equal(asps_reader_left(&r), 0);
}

static void test_cbor_refuses_indefinite_reserved_and_truncated(void **state)
{
    (void)state;
    static const struct { const char *name; uint8_t b[4]; size_t n; } bad[] = {
        {"indefinite array", {0x9f, 0x01, 0xff}, 3},
        {"indefinite bytes", {0x5f, 0x41, 0x00, 0xff}, 4},
        {"indefinite map", {0xbf, 0xff}, 2},
        {"reserved ai 28", {0x1c}, 1},
        {"reserved ai 30", {0x1e}, 1},
        {"u16 head cut", {0x19, 0x03}, 2},
        {"u64 head cut", {0x1b, 0, 0, 0}, 4},
        {"empty", {0}, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        asps_reader r = asps_reader_init(bad[i].b, bad[i].n);
        int m;
        uint64_t a;
        /* a failed head consumes nothing */
        if (bad[i].b[0] != 0x5f && bad[i].b[0] != 0x9f && bad[i].b[0] != 0xbf) {
            assert_false(cbor_head(&r, &m, &a));
            assert_int_equal(asps_reader_left(&r), bad[i].n);
        }
        r = asps_reader_init(bad[i].b, bad[i].n);
        if (cbor_skip(&r, 0))
            fail_msg("accepted: %s", bad[i].name);
    }
}

static void test_cbor_string_never_reads_past_its_input(void **state)
{
    (void)state;
    /* h'010203' claims 4 bytes, only 3 follow */
    static const uint8_t b[] = {0x44, 0x01, 0x02, 0x03};
    asps_reader r = asps_reader_init(b, sizeof b), c;
    assert_false(cbor_string(&r, CBOR_BYTES, &c));
    assert_int_equal(asps_reader_left(&r), sizeof b); /* nothing consumed */
    /* a length of 2^64-1 */
    static const uint8_t huge[] = {0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    r = asps_reader_init(huge, sizeof huge);
    assert_false(cbor_string(&r, CBOR_BYTES, &c));
    assert_false(cbor_skip(&r, 0));
    /* the wrong major type is refused */
    static const uint8_t text[] = {0x61, 'a'};
    r = asps_reader_init(text, sizeof text);
    assert_false(cbor_string(&r, CBOR_BYTES, &c));
    assert_true(cbor_string(&r, CBOR_TEXT, &c));
    assert_int_equal(asps_reader_left(&c), 1);
}

static void test_cbor_skip_bounds_depth_and_counts(void **state)
{
    (void)state;
    uint8_t b[64];
    /* CBOR_MAX_DEPTH nested one-element arrays around 0: accepted */
    memset(b, 0x81, CBOR_MAX_DEPTH);
    b[CBOR_MAX_DEPTH] = 0x00;
    asps_reader r = asps_reader_init(b, CBOR_MAX_DEPTH + 1);
    assert_true(cbor_skip(&r, 0));
    assert_int_equal(asps_reader_left(&r), 0);
    /* one level more: refused */
    memset(b, 0x81, CBOR_MAX_DEPTH + 1);
    b[CBOR_MAX_DEPTH + 1] = 0x00;
    r = asps_reader_init(b, CBOR_MAX_DEPTH + 2);
    assert_false(cbor_skip(&r, 0));
    /* nested tags count as depth too */
    for (size_t i = 0; i < 40; i++)
        b[i] = 0xc1;
    b[40] = 0x00;
    r = asps_reader_init(b, 41);
    assert_false(cbor_skip(&r, 0));
    /* an array or map claiming more items than bytes left is refused at
     * once, without looping over the claimed count */
    static const uint8_t big_array[] = {0x9b, 0, 0, 0, 1, 0, 0, 0, 0, 0x00};
    r = asps_reader_init(big_array, sizeof big_array);
    assert_false(cbor_skip(&r, 0));
    static const uint8_t big_map[] = {0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x00};
    r = asps_reader_init(big_map, sizeof big_map); /* 2*n overflows to 0 */
    assert_false(cbor_skip(&r, 0));
    static const uint8_t half_map[] = {0xa1, 0x00}; /* key without value */
    r = asps_reader_init(half_map, sizeof half_map);
    assert_false(cbor_skip(&r, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cbor_writer_uses_shortest_heads_rfc8949),
        cmocka_unit_test(test_cbor_gramine_pubkey_hash_claims_layout),
        cmocka_unit_test(test_cbor_head_reads_every_width),
        cmocka_unit_test(test_cbor_refuses_indefinite_reserved_and_truncated),
        cmocka_unit_test(test_cbor_string_never_reads_past_its_input),
        cmocka_unit_test(test_cbor_skip_bounds_depth_and_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
