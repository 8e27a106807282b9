/* kms_file.c: the JSON file KMS backend (format in asps/kms.h).
 *
 * The file is read, parsed and cleansed on every get: no secret stays in
 * memory between calls, edits are seen at once, and a file that went missing
 * and came back just works again (a missing or broken file is UNAVAILABLE for
 * that call, never a crash). Secrets here are small and calls few, so the
 * cost of one small read per secret is not worth a cache.
 * The file is opened without blocking and must be a regular file: a FIFO in
 * its place is refused at once instead of holding the fetch (a hung network
 * file system can still block; kms.c bounds every fetch by its deadline).
 * The text is read without cJSON (json.h, asps_json_raw_*): cJSON keeps
 * strings NUL-terminated and would cut "pw\u0000tail" to "pw"; here every
 * value is decoded with its length, through the bounds-checked reader, and
 * keys are compared whole. The text is checked against RFC 8259 strictly
 * (a raw control character in a string is an error).
 * Trusts the file's owner (the tenant); still parses it strictly, and never
 * puts a value, or a piece of one, in an error message. Credentials are not
 * used: access to the file is access to the secrets.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "kms.h"
#include "kms_backend.h"
#include "json.h"
#include "util.h"

typedef struct kms_file {
    char *path;
    asps_kms_encoding plain;
} kms_file;

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict standard base64 (RFC 4648 section 4) of the N bytes at S: padding
 * optional but only at the end, no whitespace, no other characters (a 0x00
 * among them is malformed, not an end). 0 ok, -1 malformed. */
static int b64_decode(const uint8_t *s, size_t n, uint8_t **out, size_t *out_len)
{
    size_t pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    if (n % 4 == 1 || (pad && (n + pad) % 4 != 0))
        return -1;
    size_t cap = n / 4 * 3 + 3;
    uint8_t *b = malloc(cap);
    if (!b)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0) {
            asps_cleanse_free(b, cap);
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, so each value has one spelling. */
    if (bits && (acc & ((1u << bits) - 1))) {
        asps_cleanse_free(b, cap);
        return -1;
    }
    *out = b;
    *out_len = o;
    return 0;
}

static asps_err copy_bytes(const uint8_t *s, size_t n, uint8_t **out, size_t *len, asps_errbuf *eb)
{
    uint8_t *b = malloc(n + 1);
    if (!b)
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    if (n)
        memcpy(b, s, n);
    b[n] = 0;
    *out = b;
    *len = n;
    return ASPS_OK;
}

static asps_err decode_b64(const uint8_t *s, size_t n, const char *ref, uint8_t **out, size_t *len,
                           asps_errbuf *eb)
{
    if (b64_decode(s, n, out, len) != 0)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\": malformed base64", ref);
    return ASPS_OK;
}

static int has_prefix(const uint8_t *s, size_t n, const char *p)
{
    size_t pn = strlen(p);
    return n >= pn && memcmp(s, p, pn) == 0;
}

/* One string value, decoded whole: *s (cleansed and freed by the caller). */
static asps_err string_of(asps_reader v, const char *ref, uint8_t **s, size_t *n, asps_errbuf *eb)
{
    asps_errbuf jeb;
    asps_err e = asps_json_raw_string(v, s, n, &jeb);
    if (e == ASPS_E_NOMEM)
        return asps_fail(eb, e, "kms: out of memory");
    if (e != ASPS_OK)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\": malformed string", ref);
    return ASPS_OK;
}

/* A value: "base64:..." | "text:..." | "..." | {"base64": "..."} | {"text": "..."}. */
static asps_err decode_entry(const kms_file *f, asps_reader v, const char *ref, uint8_t **out,
                             size_t *len, asps_errbuf *eb)
{
    uint8_t *s = NULL;
    size_t n = 0;
    asps_err e;
    asps_json_raw_kind kind = asps_json_raw_kind_of(v);
    if (kind == ASPS_JSON_RAW_STRING) {
        ASPS_TRY(string_of(v, ref, &s, &n, eb));
        if (has_prefix(s, n, "base64:"))
            e = decode_b64(s + 7, n - 7, ref, out, len, eb);
        else if (has_prefix(s, n, "text:"))
            e = copy_bytes(s + 5, n - 5, out, len, eb);
        else if (f->plain == ASPS_KMS_PLAIN_BASE64)
            e = decode_b64(s, n, ref, out, len, eb);
        else
            e = copy_bytes(s, n, out, len, eb);
        asps_cleanse_free(s, n);
        return e;
    }
    asps_json_iter it;
    asps_reader key, val;
    if (kind == ASPS_JSON_RAW_OBJECT && asps_json_raw_iter(v, &it) &&
        asps_json_raw_next(&it, &key, &val) && !asps_json_raw_next(&it, NULL, NULL) &&
        asps_json_raw_kind_of(val) == ASPS_JSON_RAW_STRING) {
        int b64 = asps_json_raw_string_equals(key, "base64", 6);
        if (b64 || asps_json_raw_string_equals(key, "text", 4)) {
            ASPS_TRY(string_of(val, ref, &s, &n, eb));
            e = b64 ? decode_b64(s, n, ref, out, len, eb) : copy_bytes(s, n, out, len, eb);
            asps_cleanse_free(s, n);
            return e;
        }
    }
    return asps_fail(eb, ASPS_E_UNAVAILABLE,
                     "kms: entry \"%s\": expected a string or {\"base64\": ...} or {\"text\": ...}",
                     ref);
}

/* The value of REF in the KMS file TEXT (LEN bytes; WHAT names it in
 * errors). Not static: the fuzz target drives it. */
asps_err asps_kms_file_lookup(const char *text, size_t len, const char *what, int plain_base64,
                              const char *ref, uint8_t **value, size_t *vlen, asps_errbuf *eb);
asps_err asps_kms_file_lookup(const char *text, size_t len, const char *what, int plain_base64,
                              const char *ref, uint8_t **value, size_t *vlen, asps_errbuf *eb)
{
    kms_file f = {.plain = plain_base64 ? ASPS_KMS_PLAIN_BASE64 : ASPS_KMS_PLAIN_TEXT};
    asps_reader top, hit;
    if (asps_json_raw_parse(text, len, what, &top, eb) != ASPS_OK) {
        asps_err_prefix(eb, "kms: ");
        return ASPS_E_UNAVAILABLE;
    }
    if (asps_json_raw_kind_of(top) != ASPS_JSON_RAW_OBJECT)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: %s: expected a JSON object", what);
    size_t count = asps_json_raw_member(top, ref, &hit);
    if (count == 0)
        return asps_fail(eb, ASPS_E_NOT_FOUND, "kms: no entry \"%s\"", ref);
    if (count > 1)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\" appears more than once", ref);
    ASPS_TRY(decode_entry(&f, hit, ref, value, vlen, eb));
    if (*vlen > ASPS_KMS_MAX_VALUE) {
        asps_kms_value_free(*value, *vlen);
        *value = NULL;
        *vlen = 0;
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\" is larger than %u bytes", ref,
                         ASPS_KMS_MAX_VALUE);
    }
    return ASPS_OK;
}

static asps_err file_get(void *impl, const char *ref, const char *credential, int64_t deadline_ms,
                         uint8_t **value, size_t *len, asps_errbuf *eb)
{
    (void)credential;
    (void)deadline_ms; /* open() and read() take no timeout: kms.c bounds the wait */
    const kms_file *f = impl;
    uint8_t *buf;
    size_t blen;
    asps_err e = asps_read_regular_file(f->path, ASPS_KMS_FILE_MAX, &buf, &blen, eb);
    if (e != ASPS_OK) {
        asps_err_prefix(eb, "kms: ");
        return e == ASPS_E_NOMEM ? e : ASPS_E_UNAVAILABLE;
    }
    e = asps_kms_file_lookup((const char *)buf, blen, f->path, f->plain == ASPS_KMS_PLAIN_BASE64,
                             ref, value, len, eb);
    asps_cleanse_free(buf, blen);
    return e;
}

static void file_free(void *impl)
{
    kms_file *f = impl;
    if (f) {
        free(f->path);
        free(f);
    }
}

static const asps_kms_ops file_ops = {"file", file_get, file_free};

asps_err asps_kms_file_backend(const char *path, asps_kms_encoding plain, const asps_kms_ops **ops,
                               void **impl, asps_errbuf *eb)
{
    if (!path || !*path)
        return asps_fail(eb, ASPS_E_ARG, "kms: file backend needs a path");
    kms_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    }
    f->plain = plain;
    *ops = &file_ops;
    *impl = f;
    return ASPS_OK;
}
