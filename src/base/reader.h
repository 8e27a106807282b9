/* reader.h: the one bounds-checked reader for untrusted bytes.
 *
 * Modelled on BoringSSL's CBS: a reader is a pointer and a length, passed by
 * value; every getter returns 1 on success and 0 (consuming nothing) when the
 * input is too short. A sub-reader carved with asps_reader_sub() can never
 * read past the structure it was carved for. No other code in asps does
 * pointer arithmetic on input it did not produce itself.
 */
#ifndef ASPS_READER_H
#define ASPS_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct asps_reader {
    const uint8_t *p;
    size_t len;
} asps_reader;

static inline asps_reader asps_reader_init(const uint8_t *p, size_t len)
{
    asps_reader r = {p, p ? len : 0};
    return r;
}

static inline size_t asps_reader_left(const asps_reader *r) { return r->len; }
static inline const uint8_t *asps_reader_data(const asps_reader *r) { return r->p; }

/* The byte-at-a-time steps are inline: the JSON and DER scanners call them
 * per input byte, and a call per byte was a tenth of a cold verification. */
static inline int asps_reader_skip(asps_reader *r, size_t n)
{
    if (r->len < n)
        return 0;
    r->p += n;
    r->len -= n;
    return 1;
}

static inline int asps_reader_u8(asps_reader *r, uint8_t *out)
{
    if (r->len < 1)
        return 0;
    *out = r->p[0];
    r->p++;
    r->len--;
    return 1;
}
int asps_reader_u16le(asps_reader *r, uint16_t *out);
int asps_reader_u32le(asps_reader *r, uint32_t *out);
int asps_reader_u64le(asps_reader *r, uint64_t *out);
int asps_reader_u16be(asps_reader *r, uint16_t *out);
int asps_reader_u32be(asps_reader *r, uint32_t *out);
/* Copy exactly n bytes out. */
int asps_reader_copy(asps_reader *r, void *out, size_t n);
/* Carve the next n bytes as a sub-reader (no copy); the parent advances. */
int asps_reader_sub(asps_reader *r, asps_reader *sub, size_t n);
/* Point *out at the next n bytes (no copy); the parent advances. */
static inline int asps_reader_bytes(asps_reader *r, const uint8_t **out, size_t n)
{
    if (r->len < n)
        return 0;
    *out = r->p;
    r->p += n;
    r->len -= n;
    return 1;
}
/* Where BYTE first occurs among the next MAX bytes (or all that are left):
 * 1 with *at its offset from the reader's position, 0 when it does not
 * (nothing is consumed either way). */
int asps_reader_find(const asps_reader *r, uint8_t byte, size_t max, size_t *at);
/* Carve a sub-reader whose length is a little-endian u16/u32 prefix. */
int asps_reader_sub_u16le(asps_reader *r, asps_reader *sub);
int asps_reader_sub_u32le(asps_reader *r, asps_reader *sub);

/* One DER TLV (ITU-T X.690, 8.1 and 10.1): a one-byte tag equal to TAG
 * (low tag numbers, as X.509 and Intel's PCK extensions use), then a
 * definite length in its shortest form: one byte below 0x80, else
 * 0x81..0x84 and 1 to 4 big-endian bytes with no leading zero byte (0x81
 * only for 0x80..0xff). *content: the value, carved as a sub-reader. 0
 * (consuming nothing) for another tag, an indefinite (0x80), non-minimal or
 * over-long length, or a value longer than what is left. The one DER length
 * decoder of asps. */
int asps_reader_der(asps_reader *r, uint8_t tag, asps_reader *content);

#endif
