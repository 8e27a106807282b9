/* json.c: strict cJSON getters with field-path errors; see json.h.
 * Trusts nothing in the parsed tree: every type, range and length is
 * checked here so callers can use the values directly. */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* ---- the strict reader (RFC 8259) -------------------------------------------------- */

/* Where a scan stopped and why (no text from the input: it may be a secret). */
typedef struct scan {
    asps_reader r;
    int allow_nul; /* "\u0000" allowed in strings */
    const char *why;
} scan;

static int peek(const asps_reader *r, uint8_t *c)
{
    asps_reader t = *r;
    return asps_reader_u8(&t, c);
}

static int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void skip_ws(asps_reader *r)
{
    uint8_t c;
    while (peek(r, &c) && is_ws(c))
        asps_reader_skip(r, 1);
}

static int hex4(asps_reader *r, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c;
        if (!asps_reader_u8(r, &c))
            return 0;
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 1;
}

/* Append byte B to the decoded string (when decoding). */
#define PUT(b)                                                                                     \
    do {                                                                                           \
        if (dst) {                                                                                 \
            if (*n >= cap)                                                                         \
                return fail_scan(s, "string longer than its text");                                \
            dst[(*n)++] = (uint8_t)(b);                                                            \
        }                                                                                          \
    } while (0)

static int fail_scan(scan *s, const char *why)
{
    if (!s->why)
        s->why = why;
    return 0;
}

static int fail_at(scan *s, asps_reader at, const char *why)
{
    if (!s->why)
        s->r = at;
    return fail_scan(s, why);
}

/* A string, at its opening quote. Decoded into dst (cap bytes; may be NULL:
 * check only), *n bytes written. Decoding never grows: every escape is at
 * least as long as the bytes it stands for. */
static int scan_string(scan *s, uint8_t *dst, size_t cap, size_t *n)
{
    uint8_t c;
    if (dst)
        *n = 0;
    if (!asps_reader_u8(&s->r, &c) || c != '"')
        return fail_scan(s, "expected a string");
    for (;;) {
        /* errors point at the offending character or escape */
        asps_reader at = s->r;
        if (!peek(&s->r, &c))
            return fail_scan(s, "unterminated string");
        if (c < 0x20)
            return fail_scan(s, "control character in a string (RFC 8259: it must be escaped)");
        asps_reader_skip(&s->r, 1);
        if (c == '"')
            return 1;
        if (c != '\\') {
            PUT(c);
            continue;
        }
        if (!asps_reader_u8(&s->r, &c))
            return fail_scan(s, "unterminated string");
        switch (c) {
        case '"':
        case '\\':
        case '/':
            PUT(c);
            continue;
        case 'b':
            PUT('\b');
            continue;
        case 'f':
            PUT('\f');
            continue;
        case 'n':
            PUT('\n');
            continue;
        case 'r':
            PUT('\r');
            continue;
        case 't':
            PUT('\t');
            continue;
        case 'u':
            break;
        default:
            return fail_at(s, at, "invalid escape in a string");
        }
        uint32_t cp;
        if (!hex4(&s->r, &cp))
            return fail_at(s, at, "invalid \\u escape in a string");
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return fail_at(s, at, "unpaired surrogate (\\u) in a string");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint8_t b1, b2;
            uint32_t lo;
            if (!asps_reader_u8(&s->r, &b1) || !asps_reader_u8(&s->r, &b2) || b1 != '\\' ||
                b2 != 'u' || !hex4(&s->r, &lo) || lo < 0xdc00 || lo > 0xdfff)
                return fail_at(s, at, "unpaired surrogate (\\u) in a string");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (cp == 0 && !s->allow_nul)
            return fail_at(s, at, "\\u0000 in a string (a NUL character cannot be carried here)");
        if (cp < 0x80) {
            PUT(cp);
        } else if (cp < 0x800) {
            PUT(0xc0 | cp >> 6);
            PUT(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            PUT(0xe0 | cp >> 12);
            PUT(0x80 | (cp >> 6 & 0x3f));
            PUT(0x80 | (cp & 0x3f));
        } else {
            PUT(0xf0 | cp >> 18);
            PUT(0x80 | (cp >> 12 & 0x3f));
            PUT(0x80 | (cp >> 6 & 0x3f));
            PUT(0x80 | (cp & 0x3f));
        }
    }
}
#undef PUT

static int digits(asps_reader *r)
{
    uint8_t c;
    int any = 0;
    while (peek(r, &c) && c >= '0' && c <= '9') {
        asps_reader_skip(r, 1);
        any = 1;
    }
    return any;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(scan *s)
{
    uint8_t c;
    if (peek(&s->r, &c) && c == '-')
        asps_reader_skip(&s->r, 1);
    if (!peek(&s->r, &c) || c < '0' || c > '9')
        return fail_scan(s, "invalid number");
    if (c == '0')
        asps_reader_skip(&s->r, 1);
    else
        digits(&s->r);
    if (peek(&s->r, &c) && c == '.') {
        asps_reader_skip(&s->r, 1);
        if (!digits(&s->r))
            return fail_scan(s, "invalid number");
    }
    if (peek(&s->r, &c) && (c == 'e' || c == 'E')) {
        asps_reader_skip(&s->r, 1);
        if (peek(&s->r, &c) && (c == '+' || c == '-'))
            asps_reader_skip(&s->r, 1);
        if (!digits(&s->r))
            return fail_scan(s, "invalid number");
    }
    if (peek(&s->r, &c) && ((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
        return fail_scan(s, "invalid number");
    return 1;
}

static int scan_literal(scan *s, const char *word)
{
    for (const char *w = word; *w; w++) {
        uint8_t c;
        if (!asps_reader_u8(&s->r, &c) || c != (uint8_t)*w)
            return fail_scan(s, "invalid literal (true, false or null expected)");
    }
    return 1;
}

static int scan_value(scan *s, unsigned depth)
{
    uint8_t c;
    skip_ws(&s->r);
    if (!peek(&s->r, &c))
        return fail_scan(s, "a value is missing");
    if (c == '{' || c == '[') {
        uint8_t close = c == '{' ? '}' : ']';
        if (depth >= ASPS_JSON_MAX_DEPTH)
            return fail_scan(s, "nested too deeply");
        asps_reader_skip(&s->r, 1);
        skip_ws(&s->r);
        if (peek(&s->r, &c) && c == close) {
            asps_reader_skip(&s->r, 1);
            return 1;
        }
        for (;;) {
            if (close == '}') {
                skip_ws(&s->r);
                if (!scan_string(s, NULL, 0, NULL))
                    return fail_scan(s, "expected a member name (a string)");
                skip_ws(&s->r);
                if (!asps_reader_u8(&s->r, &c) || c != ':')
                    return fail_scan(s, "expected ':' after a member name");
            }
            if (!scan_value(s, depth + 1))
                return 0;
            skip_ws(&s->r);
            if (!asps_reader_u8(&s->r, &c))
                return fail_scan(s, close == '}' ? "unterminated object" : "unterminated array");
            if (c == close)
                return 1;
            if (c != ',')
                return fail_scan(s, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (c == '"')
        return scan_string(s, NULL, 0, NULL);
    if (c == '-' || (c >= '0' && c <= '9'))
        return scan_number(s);
    if (c == 't')
        return scan_literal(s, "true");
    if (c == 'f')
        return scan_literal(s, "false");
    if (c == 'n')
        return scan_literal(s, "null");
    return fail_scan(s, "unexpected character");
}

/* The value at the start of *r (after whitespace), consumed; *v its text. */
static int take_value(scan *s, asps_reader *v)
{
    skip_ws(&s->r);
    asps_reader before = s->r;
    if (!scan_value(s, 0))
        return 0;
    return asps_reader_sub(&before, v, asps_reader_left(&before) - asps_reader_left(&s->r));
}

static asps_err check_text(const char *text, size_t len, const char *what, int allow_nul,
                           asps_reader *top, asps_errbuf *eb)
{
    if (text == NULL)
        return asps_fail(eb, ASPS_E_ARG, "%s: no input", what);
    asps_reader all = asps_reader_init((const uint8_t *)text, len);
    scan s = {.r = all, .allow_nul = allow_nul};
    asps_reader v;
    int ok = take_value(&s, &v);
    if (ok) {
        skip_ws(&s.r);
        if (asps_reader_left(&s.r) != 0)
            return asps_fail(eb, ASPS_E_PARSE, "%s: unexpected data after the JSON value", what);
        if (top)
            *top = v;
        return ASPS_OK;
    }
    /* where it stopped, as line:column (counted through the reader) */
    size_t stop = len - asps_reader_left(&s.r), line = 1, col = 1;
    uint8_t c;
    for (size_t i = 0; i < stop && asps_reader_u8(&all, &c); i++) {
        if (c == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return asps_fail(eb, ASPS_E_PARSE, "%s: invalid JSON near line %zu, column %zu: %s", what, line,
                     col, s.why ? s.why : "malformed");
}

asps_err asps_json_raw_parse(const char *text, size_t len, const char *what, asps_reader *top,
                             asps_errbuf *eb)
{
    return check_text(text, len, what, 1, top, eb);
}

asps_json_raw_kind asps_json_raw_kind_of(asps_reader v)
{
    uint8_t c;
    if (!peek(&v, &c))
        return ASPS_JSON_RAW_INVALID;
    switch (c) {
    case '{':
        return ASPS_JSON_RAW_OBJECT;
    case '[':
        return ASPS_JSON_RAW_ARRAY;
    case '"':
        return ASPS_JSON_RAW_STRING;
    case 't':
    case 'f':
        return ASPS_JSON_RAW_BOOL;
    case 'n':
        return ASPS_JSON_RAW_NULL;
    default:
        return c == '-' || (c >= '0' && c <= '9') ? ASPS_JSON_RAW_NUMBER : ASPS_JSON_RAW_INVALID;
    }
}

int asps_json_raw_iter(asps_reader v, asps_json_iter *it)
{
    asps_json_raw_kind k = asps_json_raw_kind_of(v);
    if (k != ASPS_JSON_RAW_OBJECT && k != ASPS_JSON_RAW_ARRAY)
        return 0;
    asps_reader_skip(&v, 1);
    it->rest = v;
    it->object = k == ASPS_JSON_RAW_OBJECT;
    it->started = 0;
    return 1;
}

int asps_json_raw_next(asps_json_iter *it, asps_reader *key, asps_reader *value)
{
    scan s = {.r = it->rest, .allow_nul = 1};
    uint8_t c;
    skip_ws(&s.r);
    if (!peek(&s.r, &c) || c == '}' || c == ']')
        return 0;
    if (it->started) {
        if (c != ',')
            return 0;
        asps_reader_skip(&s.r, 1);
    }
    asps_reader k = asps_reader_init(NULL, 0);
    if (it->object) {
        skip_ws(&s.r);
        asps_reader before = s.r;
        if (!scan_string(&s, NULL, 0, NULL) ||
            !asps_reader_sub(&before, &k, asps_reader_left(&before) - asps_reader_left(&s.r)))
            return 0;
        skip_ws(&s.r);
        if (!asps_reader_u8(&s.r, &c) || c != ':')
            return 0;
    }
    asps_reader v;
    if (!take_value(&s, &v))
        return 0;
    it->rest = s.r;
    it->started = 1;
    if (key)
        *key = k;
    if (value)
        *value = v;
    return 1;
}

asps_err asps_json_raw_string(asps_reader str, uint8_t **out, size_t *len, asps_errbuf *eb)
{
    size_t cap = asps_reader_left(&str);
    uint8_t *b = malloc(cap + 1);
    if (!b)
        return asps_fail(eb, ASPS_E_NOMEM, "json: out of memory");
    scan s = {.r = str, .allow_nul = 1};
    size_t n = 0;
    if (!scan_string(&s, b, cap, &n)) {
        asps_cleanse_free(b, cap);
        return asps_fail(eb, ASPS_E_PARSE, "json: not a valid string: %s", s.why ? s.why : "malformed");
    }
    b[n] = 0;
    *out = b;
    *len = n;
    return ASPS_OK;
}

int asps_json_raw_string_equals(asps_reader str, const void *bytes, size_t len)
{
    uint8_t *d;
    size_t n;
    if (asps_json_raw_string(str, &d, &n, NULL) != ASPS_OK)
        return 0;
    int eq = n == len && (len == 0 || memcmp(d, bytes, len) == 0);
    free(d);
    return eq;
}

size_t asps_json_raw_member(asps_reader obj, const char *key, asps_reader *value)
{
    asps_json_iter it;
    asps_reader k, v;
    size_t count = 0, klen = strlen(key);
    if (asps_json_raw_kind_of(obj) != ASPS_JSON_RAW_OBJECT || !asps_json_raw_iter(obj, &it))
        return 0;
    while (asps_json_raw_next(&it, &k, &v))
        if (asps_json_raw_string_equals(k, key, klen) && count++ == 0 && value)
            *value = v;
    return count;
}

/* ---- cJSON trees ------------------------------------------------------------------ */

asps_err asps_json_parse(const char *text, size_t len, const char *what, cJSON **out,
                         asps_errbuf *eb)
{
    /* strict first: what cJSON would take but cut or should refuse */
    ASPS_TRY(check_text(text, len, what, 0, NULL, eb));
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (j == NULL)
        return asps_fail(eb, ASPS_E_PARSE, "%s: invalid JSON (cJSON refused text that RFC 8259 allows)",
                         what);
    *out = j;
    return ASPS_OK;
}

void asps_json_path_key(char *buf, size_t n, const char *parent, const char *key)
{
    if (parent == NULL || *parent == 0)
        snprintf(buf, n, "%s", key);
    else
        snprintf(buf, n, "%s.%s", parent, key);
}

void asps_json_path_index(char *buf, size_t n, const char *parent, size_t i)
{
    snprintf(buf, n, "%s[%zu]", parent ? parent : "", i);
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsNull(v))
        return "null";
    return "an invalid value";
}

asps_err asps_json_expect_object(const cJSON *obj, const char *path, asps_errbuf *eb)
{
    if (!cJSON_IsObject(obj))
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected an object, got %s",
                         path && *path ? path : "(top level)", type_name(obj));
    return ASPS_OK;
}

asps_err asps_json_check_keys(const cJSON *obj, const char *path,
                              const char *const *allowed, asps_errbuf *eb)
{
    char fp[256];
    for (const cJSON *c = obj ? obj->child : NULL; c != NULL; c = c->next) {
        const char *k = c->string ? c->string : "";
        asps_json_path_key(fp, sizeof fp, path, k);
        int ok = 0;
        for (size_t i = 0; allowed && allowed[i]; i++)
            if (strcmp(allowed[i], k) == 0)
                ok = 1;
        if (!ok) {
            /* a typo names what was meant (every config's keys come here) */
            const char *near = asps_nearest_word(k, allowed);
            if (near)
                return asps_fail(eb, ASPS_E_PARSE, "%s: unknown field; did you mean %s?", fp,
                                 near);
            return asps_fail(eb, ASPS_E_PARSE, "%s: unknown field", fp);
        }
        for (const cJSON *d = c->next; d != NULL; d = d->next)
            if (d->string && strcmp(d->string, k) == 0)
                return asps_fail(eb, ASPS_E_PARSE, "%s: field appears twice", fp);
    }
    return ASPS_OK;
}

/* The item for KEY (exact case), or NULL when missing or null. */
static const cJSON *item(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return (v == NULL || cJSON_IsNull(v)) ? NULL : v;
}

static asps_err missing(const char *fp, int *present, asps_errbuf *eb)
{
    if (present != NULL) {
        *present = 0;
        return ASPS_OK;
    }
    return asps_fail(eb, ASPS_E_PARSE, "%s: required field is missing", fp);
}

/* One member of OBJ that must pass IS (cJSON's type test), else a clear
 * error naming the JSON path and the type WANT; absent: see missing(). */
static asps_err get_kind(const cJSON *obj, const char *path, const char *key,
                         cJSON_bool (*is)(const cJSON *), const char *want, const cJSON **out,
                         int *present, asps_errbuf *eb)
{
    char fp[256];
    asps_json_path_key(fp, sizeof fp, path, key);
    const cJSON *v = item(obj, key);
    if (v == NULL)
        return missing(fp, present, eb);
    if (!is(v))
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected %s, got %s", fp, want, type_name(v));
    *out = v;
    if (present)
        *present = 1;
    return ASPS_OK;
}

asps_err asps_json_get_object(const cJSON *obj, const char *path, const char *key,
                              const cJSON **out, int *present, asps_errbuf *eb)
{
    return get_kind(obj, path, key, cJSON_IsObject, "an object", out, present, eb);
}

asps_err asps_json_get_array(const cJSON *obj, const char *path, const char *key,
                             const cJSON **out, int *present, asps_errbuf *eb)
{
    return get_kind(obj, path, key, cJSON_IsArray, "an array", out, present, eb);
}

asps_err asps_json_get_string(const cJSON *obj, const char *path, const char *key,
                              int allow_empty, const char **out, int *present,
                              asps_errbuf *eb)
{
    char fp[256];
    asps_json_path_key(fp, sizeof fp, path, key);
    const cJSON *v = item(obj, key);
    if (v == NULL)
        return missing(fp, present, eb);
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected a string, got %s", fp, type_name(v));
    if (!allow_empty && v->valuestring[0] == 0)
        return asps_fail(eb, ASPS_E_PARSE, "%s: must not be empty", fp);
    *out = v->valuestring;
    if (present)
        *present = 1;
    return ASPS_OK;
}

asps_err asps_json_get_int(const cJSON *obj, const char *path, const char *key,
                           int64_t min, int64_t max, int64_t *out, int *present,
                           asps_errbuf *eb)
{
    char fp[256];
    asps_json_path_key(fp, sizeof fp, path, key);
    const cJSON *v = item(obj, key);
    if (v == NULL)
        return missing(fp, present, eb);
    if (!cJSON_IsNumber(v))
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected a whole number, got %s", fp,
                         type_name(v));
    double d = v->valuedouble;
    /* Range first, so the cast below is defined; no libm needed.
     * ((double)INT64_MAX rounds up to 2^63, which no int64_t holds.) */
    if (!isfinite(d) || d < (double)min || d > (double)max || d >= 9223372036854775808.0 ||
        d != (double)(int64_t)d)
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected a whole number from %lld to %lld", fp,
                         (long long)min, (long long)max);
    *out = (int64_t)d;
    if (present)
        *present = 1;
    return ASPS_OK;
}

asps_err asps_json_get_bool(const cJSON *obj, const char *path, const char *key, int *out,
                            int *present, asps_errbuf *eb)
{
    const cJSON *v = NULL;
    ASPS_TRY(get_kind(obj, path, key, cJSON_IsBool, "true or false", &v, present, eb));
    if (v != NULL) /* absent and optional: *out as it was */
        *out = cJSON_IsTrue(v) ? 1 : 0;
    return ASPS_OK;
}

asps_err asps_json_hex_value(const cJSON *v, const char *path, uint8_t *out, size_t n,
                             asps_errbuf *eb)
{
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected a string of %zu hex characters, got %s",
                         path, 2 * n, type_name(v));
    const char *s = v->valuestring;
    size_t len = strlen(s);
    if (len != 2 * n || asps_hex_decode(s, len, out, n) != 0)
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected %zu hex characters", path, 2 * n);
    return ASPS_OK;
}

asps_err asps_json_get_hex(const cJSON *obj, const char *path, const char *key, uint8_t *out,
                           size_t n, int *present, asps_errbuf *eb)
{
    char fp[256];
    asps_json_path_key(fp, sizeof fp, path, key);
    const cJSON *v = item(obj, key);
    if (v == NULL)
        return missing(fp, present, eb);
    ASPS_TRY(asps_json_hex_value(v, fp, out, n, eb));
    if (present)
        *present = 1;
    return ASPS_OK;
}

static void cleanse_tree(cJSON *j)
{
    for (; j != NULL; j = j->next) {
        if (j->string)
            OPENSSL_cleanse(j->string, strlen(j->string));
        if (j->valuestring)
            OPENSSL_cleanse(j->valuestring, strlen(j->valuestring));
        cleanse_tree(j->child);
    }
}

void asps_json_delete_cleanse(cJSON *j)
{
    if (j == NULL)
        return;
    cleanse_tree(j->child);
    if (j->string)
        OPENSSL_cleanse(j->string, strlen(j->string));
    if (j->valuestring)
        OPENSSL_cleanse(j->valuestring, strlen(j->valuestring));
    cJSON_Delete(j);
}
