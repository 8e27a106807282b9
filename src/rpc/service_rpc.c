/* service_rpc.c: the service's methods on the gRPC server: the native
 * asps.v1.SecretProvision/GetSecrets, Occlum's ratls.GrSecret/GetSecret
 * (value as base64) and CCZoo's secretmanager.SecretManger/GetSecret (value
 * as the string field; a ctx that is present must be the handshake's own
 * certificate). Decoding, the service call, encoding; buffers that held
 * values are cleansed. */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "service.h"
#include "service_rpc.h"
#include "utf8.h"
#include "util.h"

typedef struct glue {
    asps_service *svc;
    size_t max_names;
} glue;


static int get_secrets(void *ctx, const char *cert, const char *peer, const uint8_t *req,
                       size_t req_len, uint8_t **reply, size_t *reply_len, char *msg, size_t msglen)
{
    glue *g = ctx;
    char **names = NULL;
    size_t n = 0;
    asps_errbuf eb = {{0}};
    /* decode up to one more than the limit, so the service can say
     * RESOURCE_EXHAUSTED rather than a parse error */
    asps_err e = asps_rpc_decode_get_secrets_request(req, req_len, g->max_names + 1, &names, &n, &eb);
    if (e == ASPS_E_LIMIT) {
        snprintf(msg, msglen, "too many names in one call (limit %zu)", g->max_names);
        asps_service_audit_refused(g->svc, cert, peer, NULL, 0, "invalid", msg);
        return ASPS_RPC_RESOURCE_EXHAUSTED;
    }
    if (e != ASPS_OK) {
        snprintf(msg, msglen, "malformed request: %s", eb.msg);
        asps_service_audit_refused(g->svc, cert, peer, NULL, 0, "invalid", msg);
        return ASPS_RPC_INVALID_ARGUMENT;
    }
    asps_secret_list list = {0};
    int st = asps_service_get_secrets(g->svc, cert, peer, (const char *const *)names, n, &list, msg,
                                      msglen);
    if (st == ASPS_STATUS_OK) {
        asps_rpc_secret *rs = calloc(list.n ? list.n : 1, sizeof *rs);
        if (!rs) {
            st = ASPS_RPC_INTERNAL;
            snprintf(msg, msglen, "out of memory");
        } else {
            for (size_t i = 0; i < list.n; i++) {
                rs[i].name = list.items[i].name;
                rs[i].value = list.items[i].value;
                rs[i].value_len = list.items[i].len;
            }
            if (asps_rpc_encode_get_secrets_reply(rs, list.n, reply, reply_len, &eb) != ASPS_OK) {
                st = ASPS_RPC_INTERNAL;
                snprintf(msg, msglen, "cannot encode the reply");
            }
            free(rs); /* the pointers belong to list */
        }
    }
    asps_secret_list_clear(&list);
    asps_rpc_strings_free(names, n);
    return st;
}

/* One name through the service; *value is the caller's to cleanse. */
static int one_secret(glue *g, const char *cert, const char *peer, const char *name,
                      asps_secret_list *list, char *msg, size_t msglen)
{
    const char *names[1] = {name};
    return asps_service_get_secrets(g->svc, cert, peer, names, 1, list, msg, msglen);
}

static int occlum_get_secret(void *ctx, const char *cert, const char *peer, const uint8_t *req,
                             size_t req_len, uint8_t **reply, size_t *reply_len, char *msg,
                             size_t msglen)
{
    glue *g = ctx;
    char *name = NULL;
    asps_errbuf eb = {{0}};
    if (asps_rpc_decode_occlum_request(req, req_len, &name, &eb) != ASPS_OK) {
        snprintf(msg, msglen, "malformed request: %s", eb.msg);
        asps_service_audit_refused(g->svc, cert, peer, NULL, 0, "invalid", msg);
        return ASPS_RPC_INVALID_ARGUMENT;
    }
    asps_secret_list list = {0};
    int st = one_secret(g, cert, peer, name, &list, msg, msglen);
    free(name);
    if (st == ASPS_STATUS_OK) {
        size_t vlen = list.items[0].len;
        size_t cap = 4 * ((vlen + 2) / 3) + 1;
        char *b64 = malloc(cap);
        if (!b64 || vlen > INT32_MAX) {
            st = ASPS_RPC_INTERNAL;
            snprintf(msg, msglen, "out of memory");
        } else {
            EVP_EncodeBlock((unsigned char *)b64, list.items[0].value, (int)vlen);
            if (asps_rpc_encode_occlum_reply(b64, reply, reply_len, &eb) != ASPS_OK) {
                st = ASPS_RPC_INTERNAL;
                snprintf(msg, msglen, "cannot encode the reply");
            }
            OPENSSL_cleanse(b64, cap);
        }
        free(b64);
    }
    asps_secret_list_clear(&list);
    return st;
}

/* CCZoo's client sends its own certificate (PEM) in ctx; the seed server
 * trusted ctx alone. Here the handshake authenticates, and a ctx that is
 * present must be that same certificate. */
static int ctx_matches_peer(const char *ctx, const char *peer_pem)
{
    /* equal DER is the same certificate: no decoding */
    uint8_t *d1 = NULL, *d2 = NULL;
    size_t l1 = 0, l2 = 0;
    int ok = asps_pem_cert_der(ctx, SIZE_MAX, &d1, &l1) && asps_pem_cert_der(peer_pem, SIZE_MAX, &d2, &l2) &&
             l1 == l2 && CRYPTO_memcmp(d1, d2, l1) == 0;
    OPENSSL_free(d1);
    OPENSSL_free(d2);
    return ok;
}

static int cczoo_get_secret(void *ctx, const char *cert, const char *peer, const uint8_t *req,
                            size_t req_len, uint8_t **reply, size_t *reply_len, char *msg,
                            size_t msglen)
{
    glue *g = ctx;
    char *key = NULL, *rctx = NULL;
    asps_errbuf eb = {{0}};
    if (asps_rpc_decode_cczoo_request(req, req_len, &key, &rctx, &eb) != ASPS_OK) {
        snprintf(msg, msglen, "malformed request: %s", eb.msg);
        asps_service_audit_refused(g->svc, cert, peer, NULL, 0, "invalid", msg);
        return ASPS_RPC_INVALID_ARGUMENT;
    }
    int st;
    asps_secret_list list = {0};
    const char *const names[1] = {key};
    if (rctx && rctx[0] && !ctx_matches_peer(rctx, cert)) {
        snprintf(msg, msglen, "ctx is not the certificate of this connection");
        asps_service_audit_refused(g->svc, cert, peer, names, 1, "denied", msg);
        st = ASPS_RPC_PERMISSION_DENIED;
    } else {
        st = one_secret(g, cert, peer, key, &list, msg, msglen);
        /* CCZoo's reply field is a proto3 string: its C++ client refuses
         * invalid UTF-8, so a binary secret gets a clear refusal instead;
         * so does one holding a 0x00 byte, which protobuf-c's string (a C
         * string) cannot carry whole */
        if (st == ASPS_STATUS_OK && (!asps_utf8_valid(list.items[0].value, list.items[0].len, NULL) ||
                                     memchr(list.items[0].value, 0, list.items[0].len))) {
            snprintf(msg, msglen, "binary secret: fetch it with asps.v1.SecretProvision/GetSecrets");
            asps_service_audit_refused(g->svc, cert, peer, names, 1, "refused",
                                       "binary value cannot travel in CCZoo's string field");
            st = ASPS_RPC_FAILED_PRECONDITION;
        } else if (st == ASPS_STATUS_OK &&
                   asps_rpc_encode_cczoo_reply(list.items[0].value, list.items[0].len, reply, reply_len, &eb) != ASPS_OK) {
            st = ASPS_RPC_INTERNAL;
            snprintf(msg, msglen, "cannot encode the reply");
        }
    }
    asps_secret_list_clear(&list);
    free(key);
    free(rctx);
    return st;
}

struct asps_service_rpc {
    glue g;
};

void asps_service_rpc_free(asps_service_rpc *r) { free(r); }

asps_err asps_service_rpc_register(asps_rpc_server *srv, asps_service *svc, size_t max_names,
                                   asps_service_rpc **out, asps_errbuf *eb)
{
    asps_service_rpc *r = calloc(1, sizeof *r);
    if (!r)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    *out = r;
    glue *g = &r->g;
    g->svc = svc;
    g->max_names = max_names ? max_names : 64;
    ASPS_TRY(asps_rpc_server_add_method(srv, ASPS_RPC_METHOD_GET_SECRETS, get_secrets, g, eb));
    ASPS_TRY(asps_rpc_server_add_method(srv, ASPS_RPC_METHOD_OCCLUM_GET_SECRET, occlum_get_secret, g, eb));
    return asps_rpc_server_add_method(srv, ASPS_RPC_METHOD_CCZOO_GET_SECRET, cczoo_get_secret, g, eb);
}

int asps_service_rpc_verify(void *ctx, const char *peer_cert_pem, char *err, size_t errlen)
{
    return asps_service_verify_peer(ctx, peer_cert_pem, err, errlen);
}

void asps_service_rpc_refused(void *ctx, const char *peer_cert_pem, const char *peer_addr,
                              const char *method, int status, const char *msg)
{
    asps_service_refused_call(ctx, peer_cert_pem, peer_addr, method, status, msg);
}

void asps_service_rpc_handshake_failed(void *ctx, const char *reason)
{
    asps_service_handshake_failed(ctx, reason);
}
