/* utf8.c: well-formed UTF-8 (see utf8.h). Owns no state.
 *
 * One routine, next_seq(), classifies the sequence at the front of the
 * input by Table 3-7 of the Unicode Standard: the lead byte fixes how many
 * continuation bytes follow and the range of the first of them (that range
 * is what excludes overlongs, surrogates and code points above U+10FFFF);
 * later continuation bytes are 80..BF. Validation and sanitizing both use
 * it, so they cannot disagree about what is well-formed.
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#include "reader.h"

/* Looks at the front of R without consuming it. Returns the length of the
 * well-formed sequence there (1..4) with *complete = 1, or the length of
 * the maximal ill-formed subpart (1..3) with *complete = 0. R is not empty. */
static size_t next_seq(asps_reader r, int *complete)
{
    uint8_t b;
    *complete = 0;
    if (!asps_reader_u8(&r, &b))
        return 1;
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf; /* range of the first continuation byte */
    if (b < 0x80) {
        *complete = 1;
        return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
        need = 1;
    } else if (b == 0xe0) {
        need = 2, lo = 0xa0; /* below: overlong */
    } else if (b == 0xed) {
        need = 2, hi = 0x9f; /* above: U+D800..U+DFFF, surrogates */
    } else if (b >= 0xe1 && b <= 0xef) {
        need = 2;
    } else if (b == 0xf0) {
        need = 3, lo = 0x90; /* below: overlong */
    } else if (b >= 0xf1 && b <= 0xf3) {
        need = 3;
    } else if (b == 0xf4) {
        need = 3, hi = 0x8f; /* above: beyond U+10FFFF */
    } else {
        return 1; /* 80..C1 (continuation, overlong lead), F5..FF */
    }
    for (size_t i = 0; i < need; i++) {
        uint8_t c;
        if (!asps_reader_u8(&r, &c))
            return 1 + i; /* cut short by the end of the input */
        if (i == 0 ? (c < lo || c > hi) : (c < 0x80 || c > 0xbf))
            return 1 + i;
    }
    *complete = 1;
    return 1 + need;
}

int asps_utf8_valid(const uint8_t *p, size_t n, size_t *bad)
{
    asps_reader r = asps_reader_init(p, n);
    while (asps_reader_left(&r) > 0) {
        int complete;
        size_t k = next_seq(r, &complete);
        if (!complete) {
            if (bad)
                *bad = n - asps_reader_left(&r);
            return 0;
        }
        asps_reader_skip(&r, k);
    }
    if (bad)
        *bad = n;
    return 1;
}

char *asps_utf8_sanitize(const uint8_t *p, size_t n, size_t *out_len)
{
    /* each input byte becomes at most 3 output bytes (one U+FFFD) */
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(3 * n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    asps_reader r = asps_reader_init(p, n);
    while (asps_reader_left(&r) > 0) {
        int complete;
        size_t k = next_seq(r, &complete);
        if (complete) {
            asps_reader_copy(&r, out + o, k);
            o += k;
        } else {
            asps_reader_skip(&r, k);
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
        }
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}
