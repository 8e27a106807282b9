/* cbor.c: see cbor.h. */
#include "cbor.h"

#include <stdlib.h>
#include <string.h>

int cbor_head(asps_reader *r, int *major, uint64_t *arg)
{
    asps_reader save = *r;
    uint8_t b;
    if (!asps_reader_u8(r, &b))
        return 0;
    *major = b >> 5;
    uint8_t ai = b & 31;
    if (ai < 24) {
        *arg = ai;
        return 1;
    }
    int n = ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : 0;
    if (n == 0) { /* indefinite lengths and reserved values are refused */
        *r = save;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (!asps_reader_u8(r, &b)) {
            *r = save;
            return 0;
        }
        v = v << 8 | b;
    }
    *arg = v;
    return 1;
}

int cbor_string(asps_reader *r, int major, asps_reader *content)
{
    asps_reader save = *r;
    int m;
    uint64_t n;
    if (!cbor_head(r, &m, &n) || m != major || n > asps_reader_left(r) ||
        !asps_reader_sub(r, content, (size_t)n)) {
        *r = save;
        return 0;
    }
    return 1;
}

int cbor_skip(asps_reader *r, int depth)
{
    int m;
    uint64_t n;
    if (depth > CBOR_MAX_DEPTH || !cbor_head(r, &m, &n))
        return 0;
    switch (m) {
    case CBOR_UINT:
    case CBOR_NINT:
    case CBOR_SIMPLE:
        return 1;
    case CBOR_BYTES:
    case CBOR_TEXT:
        return n <= asps_reader_left(r) && asps_reader_skip(r, (size_t)n);
    case CBOR_ARRAY:
    case CBOR_MAP: {
        uint64_t items = m == CBOR_MAP ? n * 2 : n;
        if (n > asps_reader_left(r) || items > asps_reader_left(r))
            return 0; /* every item takes at least one byte */
        for (uint64_t i = 0; i < items; i++)
            if (!cbor_skip(r, depth + 1))
                return 0;
        return 1;
    }
    case CBOR_TAG:
        return cbor_skip(r, depth + 1);
    }
    return 0;
}

void cbor_put_head(asps_writer *o, int major, uint64_t arg)
{
    uint8_t b[9];
    size_t n;
    uint8_t m = (uint8_t)(major << 5);
    if (arg < 24) {
        b[0] = m | (uint8_t)arg;
        n = 1;
    } else if (arg <= 0xff) {
        b[0] = m | 24;
        b[1] = (uint8_t)arg;
        n = 2;
    } else if (arg <= 0xffff) {
        b[0] = m | 25;
        b[1] = (uint8_t)(arg >> 8);
        b[2] = (uint8_t)arg;
        n = 3;
    } else if (arg <= 0xffffffffu) {
        b[0] = m | 26;
        for (int i = 0; i < 4; i++)
            b[1 + i] = (uint8_t)(arg >> (24 - 8 * i));
        n = 5;
    } else {
        b[0] = m | 27;
        for (int i = 0; i < 8; i++)
            b[1 + i] = (uint8_t)(arg >> (56 - 8 * i));
        n = 9;
    }
    asps_writer_put(o, b, n);
}

void cbor_put_bytes(asps_writer *o, int major, const void *p, size_t n)
{
    cbor_put_head(o, major, n);
    asps_writer_put(o, p, n);
}
