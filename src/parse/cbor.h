/* cbor.h: the small part of CBOR (RFC 8949) that RA-TLS evidence uses:
 * unsigned ints, byte and text strings, arrays, maps, tags. Definite
 * lengths only. The decoder reads through the bounded reader and never
 * recurses more than CBOR_MAX_DEPTH levels. */
#ifndef ASPS_CBOR_H
#define ASPS_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include "reader.h"
#include "writer.h"

#define CBOR_MAX_DEPTH 16

enum { CBOR_UINT = 0, CBOR_NINT = 1, CBOR_BYTES = 2, CBOR_TEXT = 3, CBOR_ARRAY = 4,
       CBOR_MAP = 5, CBOR_TAG = 6, CBOR_SIMPLE = 7 };

/* Read an item head: major type and its argument. 1 ok, 0 malformed. */
int cbor_head(asps_reader *r, int *major, uint64_t *arg);
/* A byte or text string: its content as a sub-reader. */
int cbor_string(asps_reader *r, int major, asps_reader *content);
/* Skip one whole item (with its children). */
int cbor_skip(asps_reader *r, int depth);

/* Encoding writes into the bounded writer (writer.h): on allocation
 * failure or past its bound `failed` is set and further writes do nothing.
 * CBOR_OUT_MAX bounds the evidence asps itself encodes. */
#define CBOR_OUT_MAX (1u << 20)
void cbor_put_head(asps_writer *o, int major, uint64_t arg);
void cbor_put_bytes(asps_writer *o, int major, const void *p, size_t n);

#endif
