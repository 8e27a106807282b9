/* utf8.h: UTF-8 as RFC 3629 section 4 and the Unicode Standard (chapter 3,
 * Table 3-7 "Well-Formed UTF-8 Byte Sequences") define it: what proto3
 * requires of every string field, and what a JSON text must be (RFC 8259
 * section 8.1).
 *
 * Well-formed means: no overlong form (C0, C1, E0 80..9F, F0 80..8F), no
 * encoded surrogate (ED A0..BF: U+D800..U+DFFF), nothing above U+10FFFF
 * (F4 90.., F5..FF), no continuation byte without a lead byte, no sequence
 * cut short. The input is untrusted bytes; both functions read it through
 * the bounds-checked reader.
 */
#ifndef ASPS_UTF8_H
#define ASPS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if P[0..N) is well-formed UTF-8, else 0. BAD (may be NULL) gets the
 * offset of the first byte that does not begin a well-formed sequence (N
 * when the whole input is well-formed). P may be NULL when N is 0. */
int asps_utf8_valid(const uint8_t *p, size_t n, size_t *bad);

/* A NUL-terminated, malloc'd copy of P[0..N) that is well-formed UTF-8:
 * well-formed sequences are copied, and each maximal ill-formed subpart
 * (the longest prefix of a well-formed sequence that is not completed, or
 * one byte) becomes U+FFFD, as the Unicode Standard recommends in section
 * 3.9 ("U+FFFD Substitution of Maximal Subparts") and as Python's
 * bytes.decode("utf-8", "replace") and the WHATWG Encoding Standard do.
 * A NUL byte (well-formed U+0000) is copied like any other character, so
 * *OUT_LEN (may be NULL) gets the length without the terminator.
 * Returns NULL when out of memory. */
char *asps_utf8_sanitize(const uint8_t *p, size_t n, size_t *out_len);

#endif
