/* fuzz_json.c: the strict JSON reader (src/base/json.c) and the file KMS's
 * lookup on arbitrary bytes, checked against cJSON as an independent
 * reader: text the strict reader accepts, cJSON accepts too; every string
 * decodes to exactly cJSON's bytes, except that cJSON's stop at a NUL the
 * strict reader keeps (there cJSON's is a prefix); asps_json_parse accepts
 * only text without "\u0000". The first byte picks the KMS options. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

asps_err asps_kms_file_lookup(const char *text, size_t len, const char *what, int plain_base64,
                              const char *ref, uint8_t **value, size_t *vlen, asps_errbuf *eb);

static int any_nul; /* some string decoded to bytes holding a 0x00 */

static void same_string(asps_reader raw, const char *cj)
{
    uint8_t *d;
    size_t n;
    asps_errbuf eb;
    if (asps_json_raw_string(raw, &d, &n, &eb) != ASPS_OK)
        abort(); /* a string of accepted text decodes */
    if (cj == NULL)
        abort();
    size_t cn = strlen(cj);
    if (memchr(d, 0, n)) {
        any_nul = 1;
        if (cn >= n || memcmp(d, cj, cn) != 0) /* cJSON's: cut at the first NUL */
            abort();
    } else if (cn != n || memcmp(d, cj, n) != 0) {
        abort();
    }
    free(d);
}

/* Walk the strict reader's value and cJSON's item side by side. */
static void walk(asps_reader v, const cJSON *c, int depth)
{
    asps_json_raw_kind k = asps_json_raw_kind_of(v);
    switch (k) {
    case ASPS_JSON_RAW_STRING:
        if (!cJSON_IsString(c))
            abort();
        same_string(v, c->valuestring);
        return;
    case ASPS_JSON_RAW_NUMBER:
        if (!cJSON_IsNumber(c))
            abort();
        return;
    case ASPS_JSON_RAW_BOOL:
        if (!cJSON_IsBool(c))
            abort();
        return;
    case ASPS_JSON_RAW_NULL:
        if (!cJSON_IsNull(c))
            abort();
        return;
    case ASPS_JSON_RAW_OBJECT:
    case ASPS_JSON_RAW_ARRAY: {
        if (k == ASPS_JSON_RAW_OBJECT ? !cJSON_IsObject(c) : !cJSON_IsArray(c))
            abort();
        asps_json_iter it;
        asps_reader key, val;
        if (!asps_json_raw_iter(v, &it))
            abort();
        const cJSON *ch = c->child;
        while (asps_json_raw_next(&it, &key, &val)) {
            if (!ch)
                abort();
            if (k == ASPS_JSON_RAW_OBJECT)
                same_string(key, ch->string);
            walk(val, ch, depth + 1);
            ch = ch->next;
        }
        if (ch)
            abort();
        return;
    }
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    asps_errbuf eb;
    asps_reader top;
    any_nul = 0;
    int strict_ok = asps_json_raw_parse(text, len, "fuzz", &top, &eb) == ASPS_OK;
    if (strict_ok) {
        cJSON *c = cJSON_ParseWithLength(text, len);
        if (!c)
            abort(); /* RFC 8259 text that cJSON refuses */
        walk(top, c, 0);
        cJSON_Delete(c);
    }
    cJSON *t = NULL;
    asps_err e = asps_json_parse(text, len, "fuzz", &t, &eb);
    if (e == ASPS_OK && (!strict_ok || any_nul))
        abort(); /* the tree parser is the strict one minus \u0000 */
    if (e != ASPS_OK && strict_ok && !any_nul)
        abort();
    cJSON_Delete(t);

    /* the file KMS: a value, whole, never larger than the text */
    const char *refs[] = {"a", "db_password", "", "k"};
    uint8_t *v = NULL;
    size_t vn = 0;
    if (asps_kms_file_lookup(text, len, "fuzz", sel & 1, refs[(sel >> 1) % 4], &v, &vn, &eb) == ASPS_OK) {
        if (!strict_ok || vn > len)
            abort();
        free(v);
    }
    return 0;
}
