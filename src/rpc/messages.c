/* messages.c: encode and decode the protobuf messages asps speaks (asps.v1,
 * Occlum's ratls, CCZoo's secretmanager, grpc.health.v1) with protobuf-c, so
 * that callers get plain C types and never see protobuf-c.
 *
 * Trusts nothing it decodes: protobuf-c parses the wire format, and before
 * that a short walk over the same bytes refuses string fields that carry a NUL
 * byte (protobuf-c would silently cut such a string short, so a request for
 * "a\0b" would become a request for "a") or that are not well-formed UTF-8
 * (proto3 requires it of string fields; protobuf-c does not check, and such
 * bytes would travel on into policy lookups and audit lines). Decoded values
 * are copied out and protobuf-c's copies of secret values are cleansed
 * before they are freed.
 */
#include "rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "asps.pb-c.h"
#include "health.pb-c.h"
#include "ratls.pb-c.h"
#include "reader.h"
#include "rpc_internal.h"
#include "secretmanager.pb-c.h"
#include "utf8.h"
#include "util.h"

/* ---- wire-level checks ------------------------------------------------------ */

static int read_varint(asps_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        if (!asps_reader_u8(r, &b))
            return 0;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

/* The name of field NUMBER of message D ("?" if it has none). */
static const char *field_name(const ProtobufCMessageDescriptor *d, unsigned number)
{
    const ProtobufCFieldDescriptor *f = d ? protobuf_c_message_descriptor_get_field(d, number) : NULL;
    return f ? f->name : "?";
}

/* Walk the top-level fields of message D. Length-delimited fields whose
 * number has its bit set in string_mask are proto3 strings: they must be
 * well-formed UTF-8 (as proto3 requires; protobuf-c does not check) and
 * must not contain NUL; the field numbered nested (if nonzero) is itself a
 * message walked with nested_mask. Returns 1 if fine; 0 on malformed framing
 * or a bad string, with the reason in why. QUOTE: the reason may show the
 * first bytes of a bad string in hex (requests only: a reply's strings may
 * be secret values, which never go into error text). */
static int strings_ok(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                      uint32_t string_mask, unsigned nested, uint32_t nested_mask, int quote,
                      char *why, size_t whylen)
{
    unsigned seen[32] = {0}; /* occurrences of each string field, for the index */
    asps_reader r = asps_reader_init(buf, len);
    while (asps_reader_left(&r) > 0) {
        uint64_t key, n;
        if (!read_varint(&r, &key))
            return 0;
        uint64_t field = key >> 3;
        switch (key & 7) {
        case 0:
            if (!read_varint(&r, &n))
                return 0;
            break;
        case 1:
            if (!asps_reader_skip(&r, 8))
                return 0;
            break;
        case 5:
            if (!asps_reader_skip(&r, 4))
                return 0;
            break;
        case 2: {
            const uint8_t *p;
            if (!read_varint(&r, &n) || n > asps_reader_left(&r) ||
                !asps_reader_bytes(&r, &p, (size_t)n))
                return 0;
            if (field < 32 && (string_mask >> field) & 1) {
                unsigned idx = seen[field]++;
                const ProtobufCFieldDescriptor *f =
                    d ? protobuf_c_message_descriptor_get_field(d, (unsigned)field) : NULL;
                char where[96];
                if (f && f->label == PROTOBUF_C_LABEL_REPEATED)
                    snprintf(where, sizeof where, "%s.%s[%u]", d->short_name, f->name, idx);
                else
                    snprintf(where, sizeof where, "%s.%s", d ? d->short_name : "message",
                             field_name(d, (unsigned)field));
                size_t bad;
                if (memchr(p, 0, (size_t)n) != NULL) {
                    snprintf(why, whylen, "%s holds a NUL byte", where);
                    return 0;
                }
                if (!asps_utf8_valid(p, (size_t)n, &bad)) {
                    /* the peer's own bytes in hex, so the refusal and the
                     * audit line say exactly what was sent */
                    char hex[3 * 24 + 4] = "";
                    size_t show = !quote ? 0 : n < 24 ? (size_t)n : 24, o = 0;
                    asps_reader h = asps_reader_init(p, show);
                    uint8_t b;
                    while (asps_reader_u8(&h, &b))
                        o += (size_t)snprintf(hex + o, sizeof hex - o, "%s%02x", o ? " " : "", b);
                    if (quote)
                        snprintf(why, whylen,
                                 "%s is not valid UTF-8 (ill-formed at byte %zu of %zu; bytes %s%s)",
                                 where, bad, (size_t)n, hex, n > show ? " ..." : "");
                    else
                        snprintf(why, whylen, "%s is not valid UTF-8 (ill-formed at byte %zu of %zu)",
                                 where, bad, (size_t)n);
                    return 0;
                }
            }
            if (nested != 0 && field == nested) {
                const ProtobufCFieldDescriptor *f =
                    d ? protobuf_c_message_descriptor_get_field(d, nested) : NULL;
                if (!strings_ok(f ? f->descriptor : NULL, p, (size_t)n, nested_mask, 0, 0, quote,
                                why, whylen))
                    return 0;
            }
            break;
        }
        default: /* groups (3, 4) and reserved wire types: nothing of ours uses them */
            return 0;
        }
    }
    return 1;
}

#define FIELD(n) (1u << (n))

/* ---- helpers ------------------------------------------------------------------ */

static asps_err pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len, asps_errbuf *eb)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    if (b == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory encoding %s",
                         m->descriptor->short_name);
    size_t got = protobuf_c_message_pack(m, b);
    if (got != n) {
        free(b);
        return asps_fail(eb, ASPS_E_INTERNAL, "rpc: protobuf-c packed %zu of %zu bytes", got, n);
    }
    *out = b;
    *out_len = n;
    return ASPS_OK;
}

static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                size_t len, uint32_t string_mask, unsigned nested,
                                uint32_t nested_mask, asps_errbuf *eb, asps_err *rc)
{
    if (buf == NULL && len != 0) {
        *rc = asps_fail(eb, ASPS_E_ARG, "rpc: NULL buffer");
        return NULL;
    }
    char why[256] = "";
    int is_request = d == &asps__v1__get_secrets_request__descriptor ||
                     d == &ratls__secret_request__descriptor ||
                     d == &secretmanager__secret_request__descriptor ||
                     d == &grpc__health__v1__health_check_request__descriptor;
    if (!strings_ok(d, buf, len, string_mask, nested, nested_mask, is_request, why, sizeof why)) {
        if (why[0])
            *rc = asps_fail(eb, ASPS_E_PARSE, "rpc: %s", why);
        else
            *rc = asps_fail(eb, ASPS_E_PARSE, "rpc: malformed %s (framing)", d->short_name);
        return NULL;
    }
    static const uint8_t empty[1];
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, buf ? buf : empty);
    if (m == NULL)
        *rc = asps_fail(eb, ASPS_E_PARSE, "rpc: malformed %s", d->short_name);
    return m;
}

static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

static void cleanse_str(char *s)
{
    if (s != NULL)
        OPENSSL_cleanse(s, strlen(s));
}

void asps_rpc_strings_free(char **strs, size_t n)
{
    if (strs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(strs[i]);
    free(strs);
}

/* ---- asps.v1 -------------------------------------------------------------------- */

asps_err asps_rpc_encode_get_secrets_request(const char *const *names, size_t n, uint8_t **out,
                                             size_t *out_len, asps_errbuf *eb)
{
    if ((names == NULL && n != 0) || out == NULL || out_len == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to encode GetSecretsRequest");
    for (size_t i = 0; i < n; i++)
        if (names[i] == NULL)
            return asps_fail(eb, ASPS_E_ARG, "rpc: NULL secret name");
    Asps__V1__GetSecretsRequest m = ASPS__V1__GET_SECRETS_REQUEST__INIT;
    m.n_names = n;
    m.names = (char **)names; /* protobuf-c only reads them while packing */
    return pack(&m.base, out, out_len, eb);
}

asps_err asps_rpc_decode_get_secrets_request(const uint8_t *buf, size_t len, size_t max_names,
                                             char ***names, size_t *n, asps_errbuf *eb)
{
    if (names == NULL || n == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to decode GetSecretsRequest");
    asps_err rc = ASPS_OK;
    Asps__V1__GetSecretsRequest *m = (Asps__V1__GetSecretsRequest *)unpack(
        &asps__v1__get_secrets_request__descriptor, buf, len, FIELD(1), 0, 0, eb, &rc);
    if (m == NULL)
        return rc;
    if (m->n_names > max_names) {
        rc = asps_fail(eb, ASPS_E_LIMIT, "rpc: request names %zu secrets, at most %zu allowed",
                       m->n_names, max_names);
        goto out;
    }
    char **v = calloc(m->n_names ? m->n_names : 1, sizeof *v);
    if (v == NULL) {
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->n_names; i++) {
        if ((v[i] = dup_str(m->names[i])) == NULL) {
            asps_rpc_strings_free(v, i);
            rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
            goto out;
        }
    }
    *names = v;
    *n = m->n_names;
out:
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

asps_err asps_rpc_encode_get_secrets_reply(const asps_secret *secrets, size_t n, uint8_t **out,
                                           size_t *out_len, asps_errbuf *eb)
{
    if ((secrets == NULL && n != 0) || out == NULL || out_len == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to encode GetSecretsReply");
    Asps__V1__Secret *items = calloc(n ? n : 1, sizeof *items);
    Asps__V1__Secret **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    asps_err rc = ASPS_OK;
    if (items == NULL || ptrs == NULL) {
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (secrets[i].name == NULL || (secrets[i].value == NULL && secrets[i].len != 0)) {
            rc = asps_fail(eb, ASPS_E_ARG, "rpc: secret %zu has no name or no value", i);
            goto out;
        }
        asps__v1__secret__init(&items[i]);
        items[i].name = secrets[i].name;
        items[i].value.data = secrets[i].value;
        items[i].value.len = secrets[i].len;
        ptrs[i] = &items[i];
    }
    Asps__V1__GetSecretsReply m = ASPS__V1__GET_SECRETS_REPLY__INIT;
    m.n_secrets = n;
    m.secrets = ptrs;
    rc = pack(&m.base, out, out_len, eb);
out:
    free(items);
    free(ptrs);
    return rc;
}

asps_err asps_rpc_decode_get_secrets_reply(const uint8_t *buf, size_t len, asps_secret **secrets,
                                           size_t *n, asps_errbuf *eb)
{
    if (secrets == NULL || n == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to decode GetSecretsReply");
    asps_err rc = ASPS_OK;
    Asps__V1__GetSecretsReply *m = (Asps__V1__GetSecretsReply *)unpack(
        &asps__v1__get_secrets_reply__descriptor, buf, len, 0, 1, FIELD(1), eb, &rc);
    if (m == NULL)
        return rc;
    asps_secret *v = calloc(m->n_secrets ? m->n_secrets : 1, sizeof *v);
    if (v == NULL) {
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->n_secrets; i++) {
        const Asps__V1__Secret *s = m->secrets[i];
        v[i].name = dup_str(s->name);
        v[i].value = malloc(s->value.len + 1);
        if (v[i].name == NULL || v[i].value == NULL) {
            asps_secrets_free(v, i + 1);
            rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
            goto out;
        }
        if (s->value.len)
            memcpy(v[i].value, s->value.data, s->value.len);
        v[i].value[s->value.len] = 0;
        v[i].len = s->value.len;
    }
    *secrets = v;
    *n = m->n_secrets;
out:
    for (size_t i = 0; i < m->n_secrets; i++)
        if (m->secrets[i]->value.data != NULL)
            OPENSSL_cleanse(m->secrets[i]->value.data, m->secrets[i]->value.len);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

/* ---- Occlum ratls ------------------------------------------------------------------ */

asps_err asps_rpc_encode_occlum_request(const char *name, uint8_t **out, size_t *out_len,
                                        asps_errbuf *eb)
{
    if (name == NULL || out == NULL || out_len == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to encode ratls.SecretRequest");
    Ratls__SecretRequest m = RATLS__SECRET_REQUEST__INIT;
    m.name = (char *)name;
    return pack(&m.base, out, out_len, eb);
}

asps_err asps_rpc_decode_occlum_request(const uint8_t *buf, size_t len, char **name, asps_errbuf *eb)
{
    if (name == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to decode ratls.SecretRequest");
    asps_err rc = ASPS_OK;
    Ratls__SecretRequest *m = (Ratls__SecretRequest *)unpack(
        &ratls__secret_request__descriptor, buf, len, FIELD(1), 0, 0, eb, &rc);
    if (m == NULL)
        return rc;
    if ((*name = dup_str(m->name)) == NULL)
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

asps_err asps_rpc_encode_occlum_reply(const char *secret_b64, uint8_t **out, size_t *out_len,
                                      asps_errbuf *eb)
{
    if (secret_b64 == NULL || out == NULL || out_len == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to encode ratls.SecretReply");
    Ratls__SecretReply m = RATLS__SECRET_REPLY__INIT;
    m.secret = (char *)secret_b64;
    return pack(&m.base, out, out_len, eb);
}

asps_err asps_rpc_decode_occlum_reply(const uint8_t *buf, size_t len, char **secret_b64,
                                      asps_errbuf *eb)
{
    if (secret_b64 == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to decode ratls.SecretReply");
    asps_err rc = ASPS_OK;
    Ratls__SecretReply *m = (Ratls__SecretReply *)unpack(&ratls__secret_reply__descriptor, buf, len,
                                                         FIELD(1), 0, 0, eb, &rc);
    if (m == NULL)
        return rc;
    if ((*secret_b64 = dup_str(m->secret)) == NULL)
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    if (m->secret != protobuf_c_empty_string)
        cleanse_str(m->secret);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

/* ---- CCZoo secretmanager ------------------------------------------------------------ */

asps_err asps_rpc_encode_cczoo_request(const char *key, const char *ctx, uint8_t **out,
                                       size_t *out_len, asps_errbuf *eb)
{
    if (key == NULL || out == NULL || out_len == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to encode secretmanager.SecretRequest");
    Secretmanager__SecretRequest m = SECRETMANAGER__SECRET_REQUEST__INIT;
    m.key = (char *)key;
    m.ctx = (char *)(ctx ? ctx : "");
    return pack(&m.base, out, out_len, eb);
}

asps_err asps_rpc_decode_cczoo_request(const uint8_t *buf, size_t len, char **key, char **ctx,
                                       asps_errbuf *eb)
{
    if (key == NULL || ctx == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to decode secretmanager.SecretRequest");
    asps_err rc = ASPS_OK;
    Secretmanager__SecretRequest *m = (Secretmanager__SecretRequest *)unpack(
        &secretmanager__secret_request__descriptor, buf, len, FIELD(1) | FIELD(2), 0, 0, eb, &rc);
    if (m == NULL)
        return rc;
    *key = dup_str(m->key);
    *ctx = dup_str(m->ctx);
    if (*key == NULL || *ctx == NULL) {
        free(*key);
        free(*ctx);
        *key = *ctx = NULL;
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    }
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

asps_err asps_rpc_encode_cczoo_reply(const uint8_t *value, size_t value_len, uint8_t **out,
                                     size_t *out_len, asps_errbuf *eb)
{
    if ((value == NULL && value_len != 0) || out == NULL || out_len == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to encode secretmanager.SecretReply");
    if (value_len != 0 && memchr(value, 0, value_len) != NULL)
        return asps_fail(eb, ASPS_E_UNSUPPORTED,
                         "rpc: secretmanager.SecretReply.value is a string: value has a NUL byte");
    char *s = malloc(value_len + 1);
    if (s == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    if (value_len)
        memcpy(s, value, value_len);
    s[value_len] = 0;
    Secretmanager__SecretReply m = SECRETMANAGER__SECRET_REPLY__INIT;
    m.value = s;
    asps_err rc = pack(&m.base, out, out_len, eb);
    asps_cleanse_free(s, value_len);
    return rc;
}

asps_err asps_rpc_decode_cczoo_reply(const uint8_t *buf, size_t len, uint8_t **value,
                                     size_t *value_len, asps_errbuf *eb)
{
    if (value == NULL || value_len == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to decode secretmanager.SecretReply");
    asps_err rc = ASPS_OK;
    Secretmanager__SecretReply *m = (Secretmanager__SecretReply *)unpack(
        &secretmanager__secret_reply__descriptor, buf, len, FIELD(1), 0, 0, eb, &rc);
    if (m == NULL)
        return rc;
    char *v = dup_str(m->value);
    if (v == NULL) {
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    } else {
        *value = (uint8_t *)v;
        *value_len = strlen(v);
    }
    if (m->value != protobuf_c_empty_string)
        cleanse_str(m->value);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

/* ---- grpc.health.v1 ------------------------------------------------------------------ */

asps_err asps_rpc_encode_health_request(const char *service, uint8_t **out, size_t *out_len,
                                        asps_errbuf *eb)
{
    if (out == NULL || out_len == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to encode HealthCheckRequest");
    Grpc__Health__V1__HealthCheckRequest m = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    m.service = (char *)(service ? service : "");
    return pack(&m.base, out, out_len, eb);
}

asps_err asps_rpc_decode_health_reply(const uint8_t *buf, size_t len, int *serving_status,
                                      asps_errbuf *eb)
{
    if (serving_status == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to decode HealthCheckResponse");
    asps_err rc = ASPS_OK;
    Grpc__Health__V1__HealthCheckResponse *m = (Grpc__Health__V1__HealthCheckResponse *)unpack(
        &grpc__health__v1__health_check_response__descriptor, buf, len, 0, 0, 0, eb, &rc);
    if (m == NULL)
        return rc;
    *serving_status = (int)m->status;
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

asps_err asps_rpc__decode_health_request(const uint8_t *buf, size_t len, char **service,
                                         asps_errbuf *eb)
{
    asps_err rc = ASPS_OK;
    Grpc__Health__V1__HealthCheckRequest *m = (Grpc__Health__V1__HealthCheckRequest *)unpack(
        &grpc__health__v1__health_check_request__descriptor, buf, len, FIELD(1), 0, 0, eb, &rc);
    if (m == NULL)
        return rc;
    if ((*service = dup_str(m->service)) == NULL)
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}

asps_err asps_rpc__encode_health_reply(int serving_status, uint8_t **out, size_t *out_len,
                                       asps_errbuf *eb)
{
    Grpc__Health__V1__HealthCheckResponse m = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    m.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)serving_status;
    return pack(&m.base, out, out_len, eb);
}
