/* fuzz_utf8.c: the UTF-8 validator and sanitizer (src/utf8.c), and the two
 * places that lean on them with peer bytes: the request decoders (proto3
 * string fields) and the audit writer.
 *
 * Properties, any input:
 *  - the table-driven validator agrees with a plain code-point decoder
 *    written here from RFC 3629's definition (decode, then refuse
 *    overlongs, surrogates and values above U+10FFFF);
 *  - the first bad offset is exact: the bytes before it are well-formed;
 *  - sanitizing gives well-formed UTF-8, and changes nothing when the input
 *    was well-formed;
 *  - a GetSecretsRequest and an Occlum SecretRequest whose name is the
 *    input decode iff the input is well-formed and has no NUL, and then to
 *    exactly the input;
 *  - an audit line naming the input is one line, well-formed UTF-8, and
 *    parses as JSON with the sanitized input as its reason, and as its name
 *    (cut after ASPS_POLICY_MAX_NAME bytes with its length, when longer).
 * (The external oracle, Python's codec, is in tests/unit/test_utf8.c.) */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "rpc.h"
#include "utf8.h"

/* RFC 3629 section 3, decoded the long way round. */
static int reference_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static uint8_t *field1(const uint8_t *data, size_t size, size_t *len)
{
    /* tag 1, wire type 2, varint length, bytes */
    uint8_t *m = malloc(size + 16);
    if (!m)
        abort();
    size_t o = 0, v = size;
    m[o++] = 0x0a;
    do {
        m[o++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    memcpy(m + o, data, size);
    *len = o + size;
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t bad;
    int valid = asps_utf8_valid(data, size, &bad);
    if (valid != reference_valid(data, size))
        abort();
    if (valid ? bad != size : bad >= size || !asps_utf8_valid(data, bad, NULL))
        abort();

    size_t slen;
    char *s = asps_utf8_sanitize(data, size, &slen);
    if (!s || !asps_utf8_valid((const uint8_t *)s, slen, NULL) || s[slen] != '\0')
        abort();
    if (valid && (slen != size || memcmp(s, data, size) != 0))
        abort();

    int has_nul = memchr(data, 0, size) != NULL;
    size_t mlen;
    uint8_t *msg = field1(data, size, &mlen);
    asps_errbuf eb;
    char **names = NULL;
    size_t n = 0;
    asps_err e = asps_rpc_decode_get_secrets_request(msg, mlen, 4, &names, &n, &eb);
    if ((e == ASPS_OK) != (valid && !has_nul))
        abort();
    if (e == ASPS_OK) {
        if (n != 1 || strlen(names[0]) != size || memcmp(names[0], data, size) != 0)
            abort();
        asps_rpc_strings_free(names, n);
    }
    char *name = NULL;
    e = asps_rpc_decode_occlum_request(msg, mlen, &name, &eb);
    if ((e == ASPS_OK) != (valid && !has_nul))
        abort();
    free(name);
    free(msg);

    /* the audit writer takes C strings: the bytes up to the first NUL */
    char *cstr = malloc(size + 1);
    if (!cstr)
        abort();
    memcpy(cstr, data, size);
    cstr[size] = '\0';
    const char *asked[1] = {cstr};
    asps_audit_event ev = {.time_ms = 1, .peer = cstr, .names_asked = asked, .n_asked = 1,
                           .verdict = "invalid", .reason = cstr};
    char *line = NULL;
    if (asps_audit_format(&ev, &line, &eb) != ASPS_OK)
        abort();
    size_t ll = strlen(line);
    if (ll == 0 || line[ll - 1] != '\n' || memchr(line, '\n', ll - 1) ||
        !asps_utf8_valid((const uint8_t *)line, ll, NULL))
        abort();
    cJSON *j = cJSON_ParseWithLength(line, ll);
    const cJSON *arr = j ? cJSON_GetObjectItemCaseSensitive(j, "names_asked") : NULL;
    const cJSON *first = arr ? cJSON_GetArrayItem(arr, 0) : NULL;
    const cJSON *reason = j ? cJSON_GetObjectItemCaseSensitive(j, "reason") : NULL;
    char *want = asps_utf8_sanitize((const uint8_t *)cstr, strlen(cstr), NULL);
    /* a name is written whole up to ASPS_POLICY_MAX_NAME bytes, else cut
     * there with its length: "...(N bytes)" */
    size_t cl = strlen(cstr);
    char *cut = malloc(ASPS_POLICY_MAX_NAME + 48);
    if (!cut)
        abort();
    if (cl > ASPS_POLICY_MAX_NAME)
        snprintf(cut, ASPS_POLICY_MAX_NAME + 48, "%.*s...(%zu bytes)", ASPS_POLICY_MAX_NAME, cstr, cl);
    char *want_name = cl > ASPS_POLICY_MAX_NAME
                          ? asps_utf8_sanitize((const uint8_t *)cut, strlen(cut), NULL)
                          : asps_utf8_sanitize((const uint8_t *)cstr, cl, NULL);
    if (!cJSON_IsString(first) || !want_name || strcmp(first->valuestring, want_name) != 0 ||
        !cJSON_IsString(reason) || !want || strcmp(reason->valuestring, want) != 0)
        abort();
    free(cut);
    free(want_name);
    free(want);
    cJSON_Delete(j);
    free(line);
    free(cstr);
    free(s);
    return 0;
}
