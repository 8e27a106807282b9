/* test_bytes.c: the bytes toolkit of src/base against what others wrote:
 * the DER getter on DER that OpenSSL encoded (octet strings of every length
 * form, a certificate made by the openssl command), the writer's bound and
 * its cleansing (seen by a wrapped free(): the link gives this test
 * -Wl,--wrap=free), SHA-256 against FIPS 180-2's "abc" vector, PEM->DER
 * against the openssl command's DER. */
#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"
#include "testutil.h"
#include "util.h"
#include "writer.h"

/* ---- free() watched: was the block cleansed before it was freed? ---------- */

void __real_free(void *p);
void __wrap_free(void *p);
static const void *watch;
static size_t watch_len;
static int watch_seen, watch_zero;

void __wrap_free(void *p)
{
    if (p && p == watch) {
        const unsigned char *b = p;
        watch_zero = 1;
        for (size_t i = 0; i < watch_len; i++)
            if (b[i])
                watch_zero = 0;
        watch_seen = 1;
        watch = NULL;
    }
    __real_free(p);
}

static void watch_block(const void *p, size_t len)
{
    watch = p;
    watch_len = len;
    watch_seen = watch_zero = 0;
}

/* ---- DER ---------------------------------------------------------------------- */

/* OpenSSL's own encoding of an OCTET STRING of N bytes. */
static uint8_t *openssl_octets(size_t n, size_t *len)
{
    ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
    uint8_t *v = malloc(n ? n : 1);
    assert_non_null(o);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(ASN1_OCTET_STRING_set(o, v, (int)n), 1);
    unsigned char *der = NULL;
    int dl = i2d_ASN1_OCTET_STRING(o, &der);
    assert_true(dl > 0);
    ASN1_OCTET_STRING_free(o);
    free(v);
    uint8_t *copy = malloc((size_t)dl);
    memcpy(copy, der, (size_t)dl);
    OPENSSL_free(der);
    *len = (size_t)dl;
    return copy;
}

static void test_der_reads_every_length_form_openssl_writes(void **state)
{
    (void)state;
    /* short form, 0x81, 0x82, 0x83 at and around each boundary */
    const size_t lens[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 70000};
    const size_t heads[] = {2, 2, 2, 3, 3, 4, 4, 5, 5};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t dl;
        uint8_t *der = openssl_octets(lens[k], &dl);
        assert_int_equal(dl, heads[k] + lens[k]);
        asps_reader r = asps_reader_init(der, dl), c;
        asps_reader other = r;
        assert_false(asps_reader_der(&other, 0x30, &c)); /* another tag */
        assert_int_equal(asps_reader_left(&other), dl);  /* nothing consumed */
        assert_true(asps_reader_der(&r, 0x04, &c));
        assert_int_equal(asps_reader_left(&r), 0);
        assert_int_equal(asps_reader_left(&c), lens[k]);
        for (size_t i = 0; i < lens[k]; i++)
            assert_int_equal(asps_reader_data(&c)[i], (uint8_t)(i * 7 + 1));
        /* one byte short: refused, nothing consumed */
        asps_reader t = asps_reader_init(der, dl - 1);
        if (lens[k]) {
            assert_false(asps_reader_der(&t, 0x04, &c));
            assert_int_equal(asps_reader_left(&t), dl - 1);
        }
        free(der);
    }
}

static void test_der_refuses_what_der_forbids(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        uint8_t b[8];
        size_t n;
    } bad[] = {
        {"indefinite length", {0x04, 0x80, 0x00, 0x00}, 4},
        {"0x81 for a short length", {0x04, 0x81, 0x05, 1, 2, 3, 4, 5}, 8},
        {"leading zero length byte", {0x04, 0x82, 0x00, 0x80}, 4},
        {"five length bytes", {0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00}, 7},
        {"length past the end", {0x04, 0x81, 0x80, 0x00}, 4},
        {"no length", {0x04}, 1},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        asps_reader r = asps_reader_init(bad[k].b, bad[k].n), c;
        if (asps_reader_der(&r, 0x04, &c))
            fail_msg("accepted: %s", bad[k].why);
        assert_int_equal(asps_reader_left(&r), bad[k].n);
    }
    /* four length bytes are DER (a value of 16 MiB or more) */
    uint8_t *big = calloc(1, 6 + 0x1000000);
    assert_non_null(big);
    memcpy(big, "\x04\x84\x01\x00\x00\x00", 6);
    asps_reader r = asps_reader_init(big, 6 + 0x1000000), c;
    assert_true(asps_reader_der(&r, 0x04, &c));
    assert_int_equal(asps_reader_left(&c), 0x1000000);
    free(big);
}

static char *tmp;

static int make_cert(void **state)
{
    (void)state;
    tmp = tu_mkdtemp();
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout k.pem -out c.pem -days 1 -subj /CN=bytes 2>/dev/null && "
             "openssl x509 -in c.pem -outform DER -out c.der",
             tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static int drop_cert(void **state)
{
    (void)state;
    tu_rm_rf(tmp);
    free(tmp);
    return 0;
}

static uint8_t *read_tmp(const char *name, size_t *len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    uint8_t *b = tu_read_file(p, len);
    assert_non_null(b);
    return b;
}

static void test_der_walks_a_certificate_openssl_made(void **state)
{
    (void)state;
    size_t n;
    uint8_t *der = read_tmp("c.der", &n);
    asps_reader r = asps_reader_init(der, n), cert, tbs, version, serial;
    assert_true(asps_reader_der(&r, 0x30, &cert)); /* Certificate */
    assert_int_equal(asps_reader_left(&r), 0);
    assert_true(asps_reader_der(&cert, 0x30, &tbs)); /* tbsCertificate */
    assert_true(asps_reader_der(&tbs, 0xa0, &version));
    assert_true(asps_reader_der(&tbs, 0x02, &serial));
    /* OpenSSL's view of the same certificate: the serial number's bytes */
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)n);
    assert_non_null(x);
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    unsigned char *snd = NULL;
    int sl = i2d_ASN1_INTEGER((ASN1_INTEGER *)sn, &snd);
    assert_true(sl > 2);
    asps_reader s2 = asps_reader_init(snd, (size_t)sl), sc;
    assert_true(asps_reader_der(&s2, 0x02, &sc));
    assert_int_equal(asps_reader_left(&sc), asps_reader_left(&serial));
    assert_memory_equal(asps_reader_data(&sc), asps_reader_data(&serial), asps_reader_left(&sc));
    OPENSSL_free(snd);
    X509_free(x);
    free(der);
}

/* ---- PEM -> DER --------------------------------------------------------------- */

static void test_pem_to_der_is_the_openssl_commands_der(void **state)
{
    (void)state;
    size_t pl, dl, n;
    uint8_t *pem = read_tmp("c.pem", &pl), *der = read_tmp("c.der", &dl), *out = NULL;
    assert_true(asps_pem_cert_der((const char *)pem, pl, &out, &n));
    assert_int_equal(n, dl);
    assert_memory_equal(out, der, dl);
    OPENSSL_free(out);
    /* a key is not a certificate */
    uint8_t *key = read_tmp("k.pem", &pl);
    out = NULL;
    assert_false(asps_pem_cert_der((const char *)key, pl, &out, &n));
    assert_null(out);
    assert_false(asps_pem_cert_der("", 0, &out, &n));
    free(key);
    free(pem);
    free(der);
}

/* ---- SHA-256 ------------------------------------------------------------------ */

static void test_sha256_fips_vector(void **state)
{
    (void)state;
    /* FIPS 180-2, appendix B.1: SHA-256("abc") */
    static const char want[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    uint8_t h[32], h2[32];
    char hex[65];
    assert_true(asps_sha256("abc", 3, h));
    asps_hex_encode(h, 32, hex);
    assert_string_equal(hex, want);
    assert_true(asps_sha256_2("a", 1, "bc", 2, h2));
    assert_memory_equal(h, h2, 32);
}

/* ---- the writer --------------------------------------------------------------- */

static void test_writer_stops_at_its_bound(void **state)
{
    (void)state;
    asps_writer w = asps_writer_init(10, ASPS_WRITER_PLAIN);
    assert_true(asps_writer_put(&w, "0123456789", 10));
    assert_int_equal(w.len, 10);
    assert_int_equal(w.p[10], 0); /* always NUL-terminated */
    assert_false(asps_writer_u8(&w, 'x'));
    assert_int_equal(w.failed, ASPS_WRITER_FULL);
    assert_int_equal(w.len, 10);
    /* sticky: a later small write does nothing either */
    assert_false(asps_writer_put(&w, "", 0));
    size_t n = 99;
    assert_null(asps_writer_take(&w, &n)); /* never half a structure */
    assert_int_equal(n, 0);
    assert_null(w.p);
    assert_int_equal(w.failed, ASPS_WRITER_OK);

    /* under the bound: little-endian helpers, zeros, take */
    assert_true(asps_writer_u16le(&w, 0x0201));
    assert_true(asps_writer_u32le(&w, 0x06050403));
    assert_true(asps_writer_zeros(&w, 4));
    assert_false(asps_writer_zeros(&w, 1));
    asps_writer_free(&w);
    assert_true(asps_writer_u32le(&w, 0x04030201));
    uint8_t *p = asps_writer_take(&w, &n);
    assert_non_null(p);
    assert_int_equal(n, 4);
    assert_memory_equal(p, "\x01\x02\x03\x04", 5);
    free(p);

    /* growth far past the first allocation, bytes kept in order */
    asps_writer g = asps_writer_init(1u << 20, ASPS_WRITER_PLAIN);
    for (unsigned i = 0; i < 100000; i++)
        assert_true(asps_writer_u8(&g, (uint8_t)i));
    assert_int_equal(g.len, 100000);
    for (unsigned i = 0; i < 100000; i++)
        assert_int_equal(g.p[i], (uint8_t)i);
    asps_writer_free(&g);
}

static void test_secret_writer_cleanses_on_growth_and_free(void **state)
{
    (void)state;
    uint8_t s[48];
    memset(s, 'S', sizeof s);
    asps_writer w = asps_writer_init(1u << 20, ASPS_WRITER_SECRET);
    assert_true(asps_writer_put(&w, s, sizeof s));
    /* the next write outgrows the buffer: the old one goes, cleansed */
    watch_block(w.p, w.cap + 1);
    const void *old = w.p;
    assert_true(asps_writer_put(&w, s, sizeof s));
    assert_ptr_not_equal(w.p, old);
    assert_true(watch_seen);
    assert_true(watch_zero);
    watch_block(w.p, w.cap + 1);
    asps_writer_free(&w);
    assert_true(watch_seen);
    assert_true(watch_zero);

    /* the control: a plain writer's buffer is freed as it was, so the
     * watch above does see secrets left behind */
    asps_writer pw = asps_writer_init(1u << 20, ASPS_WRITER_PLAIN);
    assert_true(asps_writer_put(&pw, s, sizeof s));
    watch_block(pw.p, pw.len);
    asps_writer_free(&pw);
    assert_true(watch_seen);
    assert_false(watch_zero);
}

/* Room and advance: bytes printed in place count once advanced, with the
 * trailing 0 kept; room past the bound, or an advance past the room, fails
 * the writer (sticky) and nothing is handed over. */
static void test_writer_room_and_advance(void **state)
{
    (void)state;
    asps_writer w = asps_writer_init(16, ASPS_WRITER_PLAIN);
    assert_true(asps_writer_put(&w, "ab", 2));
    uint8_t *r = asps_writer_room(&w, 8);
    assert_non_null(r);
    memcpy(r, "cdef", 4);
    assert_true(asps_writer_advance(&w, 4));
    assert_int_equal(w.len, 6);
    assert_string_equal((const char *)w.p, "abcdef");
    assert_null(asps_writer_room(&w, 11)); /* 6 + 11 > 16 */
    assert_int_equal(w.failed, ASPS_WRITER_FULL);
    size_t n;
    assert_null(asps_writer_take(&w, &n));
    asps_writer_free(&w);
    w = asps_writer_init(64, ASPS_WRITER_PLAIN);
    assert_non_null(asps_writer_room(&w, 4));
    assert_false(asps_writer_advance(&w, w.cap + 1)); /* more than the room */
    assert_int_equal(w.failed, ASPS_WRITER_FULL);
    asps_writer_free(&w);
}

static void test_cleanse_free_cleanses(void **state)
{
    (void)state;
    char *s = strdup("hvs.secret-token");
    watch_block(s, strlen(s));
    asps_cleanse_free_str(s);
    assert_true(watch_seen);
    assert_true(watch_zero);
    asps_cleanse_free(NULL, 5);
    asps_cleanse_free_str(NULL);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_der_reads_every_length_form_openssl_writes),
        cmocka_unit_test(test_der_refuses_what_der_forbids),
        cmocka_unit_test(test_der_walks_a_certificate_openssl_made),
        cmocka_unit_test(test_pem_to_der_is_the_openssl_commands_der),
        cmocka_unit_test(test_sha256_fips_vector),
        cmocka_unit_test(test_writer_stops_at_its_bound),
        cmocka_unit_test(test_secret_writer_cleanses_on_growth_and_free),
        cmocka_unit_test(test_writer_room_and_advance),
        cmocka_unit_test(test_cleanse_free_cleanses),
    };
    return cmocka_run_group_tests(t, make_cert, drop_cert);
}
