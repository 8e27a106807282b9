/* json.h: small cJSON helpers for loading configuration and policy files.
 *
 * Every getter takes the path of the object it reads from ("apps[0].match")
 * and names the full field ("apps[0].match.mrenclave: expected 64 hex
 * characters") in its error, so a person can find the mistake. Getters are
 * strict: a wrong type is an error, never a default; integers must be whole
 * and in range; hex must have exactly the expected length.
 *
 * Optional fields: pass `present` non-NULL; a missing field then sets
 * *present = 0 and leaves *out alone. With present == NULL the field is
 * required. A JSON null counts as missing.
 */
#ifndef ASPS_JSON_H
#define ASPS_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"
#include "reader.h"

/* Parse TEXT (LEN bytes, need not be NUL-terminated). WHAT names the input in
 * errors ("policy.json: invalid JSON near line 3, column 7: ..."). The text
 * is first checked strictly against RFC 8259 (asps_json_raw_parse below),
 * because cJSON 1.7.15 is lenient where it matters: it accepts raw control
 * bytes (0x00-0x1f) inside strings, and cuts a string at a raw 0x00 or at
 * "\u0000" (its strings are NUL-terminated). So: one top-level value,
 * nothing after it; no raw control character in a string; and no "\u0000"
 * in any string (refused: it cannot be carried in a cJSON string). Text
 * whose strings must come out whole, with NUL bytes (secret values: KMS
 * files, Vault replies), is read with the asps_json_raw_* functions. */
asps_err asps_json_parse(const char *text, size_t len, const char *what, cJSON **out,
                         asps_errbuf *eb);

/* ---- JSON text without cJSON: every string with its length --------------------
 *
 * Strings are decoded here, through the bounds-checked reader, to bytes and
 * a length: "\u0000" is a 0x00 byte like any other, surrogate pairs become
 * one 4-byte UTF-8 sequence. A value is a reader over its exact text
 * (asps_reader), carved from the caller's buffer (no copy): it lives as
 * long as that buffer.
 */

#define ASPS_JSON_MAX_DEPTH 256 /* nesting of objects and arrays */

/* Check TEXT (LEN bytes) against RFC 8259, strictly: whitespace, one value,
 * whitespace, end; strings without raw control characters (< 0x20), with
 * valid escapes and paired surrogates; numbers as the grammar says (no
 * leading zeros, "+", "." without digits); at most ASPS_JSON_MAX_DEPTH
 * levels. "\u0000" is allowed. *top: the top-level value. Errors
 * (ASPS_E_PARSE) name WHAT, the line and column and the fault, never any
 * of the text (it may be a secret). Not checked: that the bytes are UTF-8. */
asps_err asps_json_raw_parse(const char *text, size_t len, const char *what, asps_reader *top,
                             asps_errbuf *eb);

typedef enum asps_json_raw_kind {
    ASPS_JSON_RAW_INVALID = 0,
    ASPS_JSON_RAW_OBJECT,
    ASPS_JSON_RAW_ARRAY,
    ASPS_JSON_RAW_STRING,
    ASPS_JSON_RAW_NUMBER,
    ASPS_JSON_RAW_BOOL,
    ASPS_JSON_RAW_NULL,
} asps_json_raw_kind;

/* The kind of value V (from its first byte). */
asps_json_raw_kind asps_json_raw_kind_of(asps_reader v);

/* Members of an object or elements of an array, in document order. */
typedef struct asps_json_iter {
    asps_reader rest;
    int object;
    int started;
} asps_json_iter;

/* 1 if V is an object or array (then *it iterates it), else 0. */
int asps_json_raw_iter(asps_reader v, asps_json_iter *it);
/* The next member: *key its key's string value (NULL allowed; arrays give
 * an empty reader), *value its value. 1: one more; 0: the end (or text
 * that does not parse: use values from asps_json_raw_parse). */
int asps_json_raw_next(asps_json_iter *it, asps_reader *key, asps_reader *value);

/* Does string value S decode to exactly the LEN bytes at BYTES? */
int asps_json_raw_string_equals(asps_reader s, const void *bytes, size_t len);

/* How many members of object OBJ have key KEY (compared whole, byte for
 * byte, after decoding); *value gets the first one's value. 0 when OBJ is
 * not an object. */
size_t asps_json_raw_member(asps_reader obj, const char *key, asps_reader *value);

/* Decode string value S: *out malloc'd, *len bytes (NUL bytes included),
 * followed by one 0 byte that *len does not count. A caller whose string
 * held a secret cleanses it (OPENSSL_cleanse(*out, *len)). ASPS_E_PARSE if S
 * is not a valid string, ASPS_E_NOMEM. */
asps_err asps_json_raw_string(asps_reader s, uint8_t **out, size_t *len, asps_errbuf *eb);

/* Refuse keys of OBJ not in ALLOWED (NULL-terminated) and duplicate keys:
 * a misspelt "mrenclve" must not silently leave a field unchecked. */
asps_err asps_json_check_keys(const cJSON *obj, const char *path,
                              const char *const *allowed, asps_errbuf *eb);

/* OBJ must be a JSON object (error names PATH). */
asps_err asps_json_expect_object(const cJSON *obj, const char *path, asps_errbuf *eb);

asps_err asps_json_get_object(const cJSON *obj, const char *path, const char *key,
                              const cJSON **out, int *present, asps_errbuf *eb);
asps_err asps_json_get_array(const cJSON *obj, const char *path, const char *key,
                             const cJSON **out, int *present, asps_errbuf *eb);
/* A string; non-empty unless allow_empty. */
asps_err asps_json_get_string(const cJSON *obj, const char *path, const char *key,
                              int allow_empty, const char **out, int *present,
                              asps_errbuf *eb);
/* A whole number in [min, max]. */
asps_err asps_json_get_int(const cJSON *obj, const char *path, const char *key,
                           int64_t min, int64_t max, int64_t *out, int *present,
                           asps_errbuf *eb);
asps_err asps_json_get_bool(const cJSON *obj, const char *path, const char *key,
                            int *out, int *present, asps_errbuf *eb);
/* Exactly 2*n hex characters -> n bytes. Empty is an error, never a
 * wildcard. */
asps_err asps_json_get_hex(const cJSON *obj, const char *path, const char *key,
                           uint8_t *out, size_t n, int *present, asps_errbuf *eb);
/* Same check on a bare value (array element). */
asps_err asps_json_hex_value(const cJSON *v, const char *path, uint8_t *out, size_t n,
                             asps_errbuf *eb);

/* "parent.key" / "parent[i]" into buf (truncated safely). */
void asps_json_path_key(char *buf, size_t n, const char *parent, const char *key);
void asps_json_path_index(char *buf, size_t n, const char *parent, size_t i);

/* Overwrite every string (keys and values) with zeros, then cJSON_Delete:
 * for trees that held secret values. */
void asps_json_delete_cleanse(cJSON *j);

#endif
