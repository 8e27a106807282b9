/* kms_file.c: the JSON file KMS backend (format in asps/kms.h).
 *
 * The file is read, parsed and cleansed on every get: no secret stays in
 * memory between calls, edits are seen at once, and a file that went missing
 * and came back just works again (a missing or broken file is UNAVAILABLE for
 * that call, never a crash). Secrets here are small and calls few, so the
 * cost of one small read per secret is not worth a cache.
 * Trusts the file's owner (the tenant); still parses it strictly, and never
 * puts a value, or a piece of one, in an error message. Credentials are not
 * used: access to the file is access to the secrets.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "asps/kms.h"
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

/* Strict standard base64 (RFC 4648 section 4): padding optional but only at
 * the end, no whitespace, no other characters. 0 ok, -1 malformed. */
static int b64_decode(const char *s, uint8_t **out, size_t *out_len)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '=' && (strlen(s) - n) < 2)
        n--;
    size_t pad = strlen(s) - n;
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
        int v = b64val((unsigned char)s[i]);
        if (v < 0) {
            OPENSSL_cleanse(b, cap);
            free(b);
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
        OPENSSL_cleanse(b, cap);
        free(b);
        return -1;
    }
    *out = b;
    *out_len = o;
    return 0;
}

static asps_err copy_text(const char *s, uint8_t **out, size_t *len, asps_errbuf *eb)
{
    size_t n = strlen(s);
    uint8_t *b = malloc(n + 1);
    if (!b)
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    memcpy(b, s, n);
    b[n] = 0;
    *out = b;
    *len = n;
    return ASPS_OK;
}

static asps_err decode_b64(const char *s, const char *ref, uint8_t **out, size_t *len,
                           asps_errbuf *eb)
{
    if (b64_decode(s, out, len) != 0)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\": malformed base64", ref);
    return ASPS_OK;
}

static asps_err decode_entry(const kms_file *f, const cJSON *v, const char *ref, uint8_t **out,
                             size_t *len, asps_errbuf *eb)
{
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        if (strncmp(s, "base64:", 7) == 0)
            return decode_b64(s + 7, ref, out, len, eb);
        if (strncmp(s, "text:", 5) == 0)
            return copy_text(s + 5, out, len, eb);
        if (f->plain == ASPS_KMS_PLAIN_BASE64)
            return decode_b64(s, ref, out, len, eb);
        return copy_text(s, out, len, eb);
    }
    if (cJSON_IsObject(v) && v->child && !v->child->next && cJSON_IsString(v->child)) {
        if (strcmp(v->child->string, "base64") == 0)
            return decode_b64(v->child->valuestring, ref, out, len, eb);
        if (strcmp(v->child->string, "text") == 0)
            return copy_text(v->child->valuestring, out, len, eb);
    }
    return asps_fail(eb, ASPS_E_UNAVAILABLE,
                     "kms: entry \"%s\": expected a string or {\"base64\": ...} or {\"text\": ...}",
                     ref);
}

static asps_err file_get(void *impl, const char *ref, const char *credential, uint8_t **value,
                         size_t *len, asps_errbuf *eb)
{
    (void)credential;
    const kms_file *f = impl;
    uint8_t *buf;
    size_t blen;
    asps_err e = asps_read_file(f->path, ASPS_KMS_FILE_MAX, &buf, &blen, eb);
    if (e != ASPS_OK) {
        asps_err_prefix(eb, "kms: ");
        return e == ASPS_E_NOMEM ? e : ASPS_E_UNAVAILABLE;
    }
    cJSON *root = NULL;
    e = asps_json_parse((const char *)buf, blen, f->path, &root, eb);
    OPENSSL_cleanse(buf, blen);
    free(buf);
    if (e != ASPS_OK) {
        asps_err_prefix(eb, "kms: ");
        return ASPS_E_UNAVAILABLE;
    }
    if (!cJSON_IsObject(root)) {
        asps_json_delete_cleanse(root);
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: %s: expected a JSON object", f->path);
    }
    const cJSON *hit = NULL;
    int dup = 0;
    for (const cJSON *c = root->child; c; c = c->next)
        if (c->string && strcmp(c->string, ref) == 0) {
            dup += hit != NULL;
            if (!hit)
                hit = c;
        }
    if (!hit)
        e = asps_fail(eb, ASPS_E_NOT_FOUND, "kms: no entry \"%s\"", ref);
    else if (dup)
        e = asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\" appears more than once", ref);
    else
        e = decode_entry(f, hit, ref, value, len, eb);
    if (e == ASPS_OK && *len > ASPS_KMS_MAX_VALUE) {
        OPENSSL_cleanse(*value, *len);
        free(*value);
        *value = NULL;
        *len = 0;
        e = asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\" is larger than %u bytes", ref,
                      ASPS_KMS_MAX_VALUE);
    }
    asps_json_delete_cleanse(root);
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

asps_err asps_kms_open_file(const char *path, asps_kms_encoding plain, asps_kms **out,
                            asps_errbuf *eb)
{
    if (!path || !*path || !out)
        return asps_fail(eb, ASPS_E_ARG, "kms: file backend needs a path");
    kms_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    }
    f->plain = plain;
    return asps_kms_new(&file_ops, f, out, eb);
}
