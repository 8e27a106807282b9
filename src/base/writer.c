/* writer.c: the bounded byte writer; see writer.h. */
#include "writer.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

asps_writer asps_writer_init(size_t max, int secret)
{
    asps_writer w = {NULL, 0, 0, max, secret == ASPS_WRITER_SECRET, ASPS_WRITER_OK};
    return w;
}

static int grow(asps_writer *w, size_t need)
{
    size_t cap = w->cap ? w->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 4 ? need : cap * 2;
    if (cap > w->max)
        cap = w->max;
    uint8_t *np;
    if (w->secret) {
        np = malloc(cap + 1);
        if (np && w->p) {
            memcpy(np, w->p, w->len);
            asps_cleanse_free(w->p, w->cap + 1);
        }
    } else {
        np = realloc(w->p, cap + 1);
    }
    if (!np)
        return 0;
    w->p = np;
    w->cap = cap;
    return 1;
}

int asps_writer_put(asps_writer *w, const void *p, size_t n)
{
    if (w->failed)
        return 0;
    if (n > w->max - w->len) {
        w->failed = ASPS_WRITER_FULL;
        return 0;
    }
    if ((w->len + n > w->cap || !w->p) && !grow(w, w->len + n)) {
        w->failed = ASPS_WRITER_NOMEM;
        return 0;
    }
    if (n)
        memcpy(w->p + w->len, p, n);
    w->len += n;
    w->p[w->len] = 0;
    return 1;
}

uint8_t *asps_writer_room(asps_writer *w, size_t n)
{
    if (w->failed)
        return NULL;
    if (n > w->max - w->len) {
        w->failed = ASPS_WRITER_FULL;
        return NULL;
    }
    if ((w->len + n > w->cap || !w->p) && !grow(w, w->len + n)) {
        w->failed = ASPS_WRITER_NOMEM;
        return NULL;
    }
    w->p[w->len] = 0;
    return w->p + w->len;
}

int asps_writer_advance(asps_writer *w, size_t k)
{
    if (w->failed)
        return 0;
    if (!w->p || k > w->cap - w->len) {
        w->failed = ASPS_WRITER_FULL;
        return 0;
    }
    w->len += k;
    w->p[w->len] = 0;
    return 1;
}

int asps_writer_u8(asps_writer *w, uint8_t v) { return asps_writer_put(w, &v, 1); }

int asps_writer_u16le(asps_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return asps_writer_put(w, b, 2);
}

int asps_writer_u32le(asps_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return asps_writer_put(w, b, 4);
}

int asps_writer_zeros(asps_writer *w, size_t n)
{
    static const uint8_t z[64];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        if (!asps_writer_put(w, z, k))
            return 0;
        n -= k;
    }
    return 1;
}

uint8_t *asps_writer_take(asps_writer *w, size_t *len)
{
    uint8_t *p = NULL;
    *len = 0;
    if (!w->failed && w->p) {
        p = w->p;
        *len = w->len;
        w->p = NULL;
    }
    asps_writer_free(w);
    return p;
}

void asps_writer_free(asps_writer *w)
{
    if (w->p) {
        if (w->secret)
            OPENSSL_cleanse(w->p, w->cap + 1);
        free(w->p);
    }
    *w = asps_writer_init(w->max, w->secret);
}
