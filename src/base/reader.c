/* reader.c: bounds-checked reads; see reader.h. Trusts nothing it reads. */
#include "reader.h"

#include <string.h>

int asps_reader_copy(asps_reader *r, void *out, size_t n)
{
    const uint8_t *b;
    if (!asps_reader_bytes(r, &b, n))
        return 0;
    if (n)
        memcpy(out, b, n);
    return 1;
}

int asps_reader_sub(asps_reader *r, asps_reader *sub, size_t n)
{
    const uint8_t *b;
    if (!asps_reader_bytes(r, &b, n))
        return 0;
    sub->p = b;
    sub->len = n;
    return 1;
}

int asps_reader_find(const asps_reader *r, uint8_t byte, size_t max, size_t *at)
{
    size_t n = r->len < max ? r->len : max;
    const uint8_t *hit = n ? memchr(r->p, byte, n) : NULL;
    if (!hit)
        return 0;
    *at = (size_t)(hit - r->p);
    return 1;
}

static int get_le(asps_reader *r, uint64_t *out, size_t n)
{
    const uint8_t *b;
    if (!asps_reader_bytes(r, &b, n))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    *out = v;
    return 1;
}

static int get_be(asps_reader *r, uint64_t *out, size_t n)
{
    const uint8_t *b;
    if (!asps_reader_bytes(r, &b, n))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | b[i];
    *out = v;
    return 1;
}

int asps_reader_u16le(asps_reader *r, uint16_t *out)
{
    uint64_t v;
    if (!get_le(r, &v, 2))
        return 0;
    *out = (uint16_t)v;
    return 1;
}

int asps_reader_u32le(asps_reader *r, uint32_t *out)
{
    uint64_t v;
    if (!get_le(r, &v, 4))
        return 0;
    *out = (uint32_t)v;
    return 1;
}

int asps_reader_u64le(asps_reader *r, uint64_t *out) { return get_le(r, out, 8); }

int asps_reader_u16be(asps_reader *r, uint16_t *out)
{
    uint64_t v;
    if (!get_be(r, &v, 2))
        return 0;
    *out = (uint16_t)v;
    return 1;
}

int asps_reader_u32be(asps_reader *r, uint32_t *out)
{
    uint64_t v;
    if (!get_be(r, &v, 4))
        return 0;
    *out = (uint32_t)v;
    return 1;
}

int asps_reader_sub_u16le(asps_reader *r, asps_reader *sub)
{
    asps_reader save = *r;
    uint16_t n;
    if (!asps_reader_u16le(r, &n) || !asps_reader_sub(r, sub, n)) {
        *r = save;
        return 0;
    }
    return 1;
}

int asps_reader_sub_u32le(asps_reader *r, asps_reader *sub)
{
    asps_reader save = *r;
    uint32_t n;
    if (!asps_reader_u32le(r, &n) || !asps_reader_sub(r, sub, n)) {
        *r = save;
        return 0;
    }
    return 1;
}

int asps_reader_der(asps_reader *r, uint8_t tag, asps_reader *content)
{
    asps_reader save = *r;
    uint8_t t, l0;
    size_t len;
    if (!asps_reader_u8(r, &t) || t != tag || !asps_reader_u8(r, &l0))
        goto bad;
    if (l0 < 0x80) {
        len = l0;
    } else {
        size_t nb = l0 & 0x7f;
        if (nb == 0 || nb > 4)
            goto bad;
        len = 0;
        for (size_t i = 0; i < nb; i++) {
            uint8_t b;
            if (!asps_reader_u8(r, &b) || (i == 0 && b == 0))
                goto bad;
            len = len << 8 | b;
        }
        if (len < 0x80)
            goto bad;
    }
    if (!asps_reader_sub(r, content, len))
        goto bad;
    return 1;
bad:
    *r = save;
    return 0;
}
