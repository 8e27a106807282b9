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

/* Parse TEXT (LEN bytes, need not be NUL-terminated). WHAT names the input in
 * errors ("policy.json: invalid JSON near line 3, column 7"). Only one
 * top-level value; trailing garbage is an error. */
asps_err asps_json_parse(const char *text, size_t len, const char *what, cJSON **out,
                         asps_errbuf *eb);

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
