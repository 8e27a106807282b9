/* json.c: strict cJSON getters with field-path errors; see json.h.
 * Trusts nothing in the parsed tree: every type, range and length is
 * checked here so callers can use the values directly. */
#include "json.h"

#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

asps_err asps_json_parse(const char *text, size_t len, const char *what, cJSON **out,
                         asps_errbuf *eb)
{
    if (text == NULL)
        return asps_fail(eb, ASPS_E_ARG, "%s: no input", what);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (j == NULL) {
        /* cJSON reports where it stopped; turn that into line:column. */
        size_t line = 1, col = 1;
        const char *stop = (end && end >= text && end <= text + len) ? end : text;
        for (const char *p = text; p < stop; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return asps_fail(eb, ASPS_E_PARSE, "%s: invalid JSON near line %zu, column %zu", what,
                         line, col);
    }
    for (const char *p = end; p != NULL && p < text + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(j);
            return asps_fail(eb, ASPS_E_PARSE, "%s: unexpected data after the JSON value", what);
        }
    }
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
        if (!ok)
            return asps_fail(eb, ASPS_E_PARSE, "%s: unknown field", fp);
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

asps_err asps_json_get_object(const cJSON *obj, const char *path, const char *key,
                              const cJSON **out, int *present, asps_errbuf *eb)
{
    char fp[256];
    asps_json_path_key(fp, sizeof fp, path, key);
    const cJSON *v = item(obj, key);
    if (v == NULL)
        return missing(fp, present, eb);
    if (!cJSON_IsObject(v))
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected an object, got %s", fp, type_name(v));
    *out = v;
    if (present)
        *present = 1;
    return ASPS_OK;
}

asps_err asps_json_get_array(const cJSON *obj, const char *path, const char *key,
                             const cJSON **out, int *present, asps_errbuf *eb)
{
    char fp[256];
    asps_json_path_key(fp, sizeof fp, path, key);
    const cJSON *v = item(obj, key);
    if (v == NULL)
        return missing(fp, present, eb);
    if (!cJSON_IsArray(v))
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected an array, got %s", fp, type_name(v));
    *out = v;
    if (present)
        *present = 1;
    return ASPS_OK;
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
    char fp[256];
    asps_json_path_key(fp, sizeof fp, path, key);
    const cJSON *v = item(obj, key);
    if (v == NULL)
        return missing(fp, present, eb);
    if (!cJSON_IsBool(v))
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected true or false, got %s", fp,
                         type_name(v));
    *out = cJSON_IsTrue(v) ? 1 : 0;
    if (present)
        *present = 1;
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
