/* test_reader.c: the bounds-checked reader never reads past its end. */
#include "testutil.h"

#include "reader.h"

static void test_reader_reads_le_and_be(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7, 8};
    asps_reader r = asps_reader_init(b, sizeof b);
    uint16_t v16;
    uint32_t v32;
    assert_true(asps_reader_u16le(&r, &v16));
    assert_int_equal(v16, 0x0201);
    assert_true(asps_reader_u16be(&r, &v16));
    assert_int_equal(v16, 0x0304);
    assert_true(asps_reader_u32le(&r, &v32));
    assert_int_equal(v32, 0x08070605);
    assert_int_equal(asps_reader_left(&r), 0);
    assert_false(asps_reader_u8(&r, (uint8_t *)&v16));
}

static void test_reader_rejects_overlong_prefix_and_consumes_nothing(void **state)
{
    (void)state;
    const uint8_t b[] = {5, 0, 'a', 'b'};
    asps_reader r = asps_reader_init(b, sizeof b), sub;
    assert_false(asps_reader_sub_u16le(&r, &sub));
    assert_int_equal(asps_reader_left(&r), 4);
    const uint8_t c[] = {2, 0, 'a', 'b', 'z'};
    r = asps_reader_init(c, sizeof c);
    assert_true(asps_reader_sub_u16le(&r, &sub));
    assert_int_equal(asps_reader_left(&sub), 2);
    assert_int_equal(asps_reader_left(&r), 1);
}

static void test_reader_sub_cannot_escape_parent(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 2, 3, 4};
    asps_reader r = asps_reader_init(b, sizeof b), sub;
    assert_true(asps_reader_sub(&r, &sub, 2));
    assert_false(asps_reader_skip(&sub, 3));
    uint32_t v;
    assert_false(asps_reader_u32le(&sub, &v));
    assert_false(asps_reader_sub(&r, &sub, 3));
}

/* find looks only at the next MAX bytes of what is left, never past the
 * reader's end (a sub-reader's end included), and consumes nothing. */
static void test_reader_find_stays_in_bounds(void **state)
{
    (void)state;
    const uint8_t buf[] = "abc\ndef\n";
    asps_reader r = asps_reader_init(buf, 8), sub;
    size_t at = 99;
    assert_int_equal(asps_reader_find(&r, '\n', 100, &at), 1);
    assert_int_equal(at, 3);
    assert_int_equal(asps_reader_left(&r), 8);
    assert_int_equal(asps_reader_find(&r, '\n', 3, &at), 0); /* only "abc" looked at */
    assert_int_equal(asps_reader_find(&r, '\n', 4, &at), 1);
    assert_int_equal(asps_reader_find(&r, 'z', 100, &at), 0);
    assert_int_equal(asps_reader_skip(&r, 4), 1);
    assert_int_equal(asps_reader_find(&r, '\n', 100, &at), 1);
    assert_int_equal(at, 3);
    r = asps_reader_init(buf, 9);
    assert_int_equal(asps_reader_sub(&r, &sub, 2), 1); /* "ab": the newline is past it */
    assert_int_equal(asps_reader_find(&sub, '\n', 100, &at), 0);
    asps_reader empty = asps_reader_init(NULL, 5);
    assert_int_equal(asps_reader_find(&empty, 0, 100, &at), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_reads_le_and_be),
        cmocka_unit_test(test_reader_rejects_overlong_prefix_and_consumes_nothing),
        cmocka_unit_test(test_reader_sub_cannot_escape_parent),
        cmocka_unit_test(test_reader_find_stays_in_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
