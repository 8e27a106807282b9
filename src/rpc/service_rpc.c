/* service_rpc.c: the service's methods on the gRPC server: the native
 * asps.v1.SecretProvision/GetSecrets, Occlum's ratls.GrSecret/GetSecret
 * (value as base64) and CCZoo's secretmanager.SecretManger/GetSecret (value
 * as the string field; a ctx that is present must be the handshake's own
 * certificate). Each handler is one asps_call: decoding (a request that
 * does not decode is refused in the call), the service's decision, encoding
 * (a value the protocol cannot carry is refused in the call), then the
 * status from the one table (status.c) and the call's one audit line.
 * Buffers that held values are cleansed. */
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
#include "status.h"
#include "utf8.h"
#include "util.h"

typedef struct glue {
    asps_service *svc;
    size_t max_names;
} glue;

/* The call's one audit line, then the status of the ended call and its
 * message for the peer: in that order, since a grant whose line cannot be
 * written is refused there (audit_required). */
static int finish(glue *g, asps_call *c, char *msg, size_t msglen)
{
    asps_service_call_end(g->svc, c);
    int st = asps_rpc_status_of(c->err, c->verdict);
    if (st == ASPS_RPC_OK)
        msg[0] = 0;
    else
        snprintf(msg, msglen, "%s", c->msg);
    return st;
}

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
    asps_call c;
    asps_service_call_begin(g->svc, &c, cert, asps_rpc_call_connection_id(), peer,
                            (const char *const *)names, n);
    c.deadline_mono_ms = asps_rpc_call_deadline_mono_ms();
    if (e == ASPS_E_LIMIT)
        asps_call_refuse(&c, ASPS_E_LIMIT, ASPS_VERDICT_INVALID, NULL,
                         "too many names in one call (limit %zu)", g->max_names);
    else if (e != ASPS_OK)
        asps_call_refuse(&c, ASPS_E_PARSE, ASPS_VERDICT_INVALID, NULL, "malformed request: %s",
                         eb.msg);
    if (asps_service_decide(g->svc, &c) == ASPS_OK &&
        asps_rpc_encode_get_secrets_reply(c.secrets, c.n_secrets, reply, reply_len, &eb) != ASPS_OK)
        asps_call_refuse(&c, ASPS_E_INTERNAL, ASPS_VERDICT_ERROR, eb.msg, "cannot encode the reply");
    int st = finish(g, &c, msg, msglen);
    asps_rpc_strings_free(names, n);
    return st;
}

static int occlum_get_secret(void *ctx, const char *cert, const char *peer, const uint8_t *req,
                             size_t req_len, uint8_t **reply, size_t *reply_len, char *msg,
                             size_t msglen)
{
    glue *g = ctx;
    char *name = NULL;
    asps_errbuf eb = {{0}};
    asps_err e = asps_rpc_decode_occlum_request(req, req_len, &name, &eb);
    const char *names[1] = {name};
    asps_call c;
    asps_service_call_begin(g->svc, &c, cert, asps_rpc_call_connection_id(), peer, names,
                            e == ASPS_OK ? 1 : 0);
    c.deadline_mono_ms = asps_rpc_call_deadline_mono_ms();
    if (e != ASPS_OK)
        asps_call_refuse(&c, ASPS_E_PARSE, ASPS_VERDICT_INVALID, NULL, "malformed request: %s",
                         eb.msg);
    if (asps_service_decide(g->svc, &c) == ASPS_OK) {
        size_t vlen = c.secrets[0].len;
        size_t cap = 4 * ((vlen + 2) / 3) + 1;
        char *b64 = vlen > INT32_MAX ? NULL : malloc(cap);
        if (!b64) {
            asps_call_refuse(&c, ASPS_E_NOMEM, ASPS_VERDICT_ERROR, NULL, "out of memory");
        } else {
            EVP_EncodeBlock((unsigned char *)b64, c.secrets[0].value, (int)vlen);
            if (asps_rpc_encode_occlum_reply(b64, reply, reply_len, &eb) != ASPS_OK)
                asps_call_refuse(&c, ASPS_E_INTERNAL, ASPS_VERDICT_ERROR, eb.msg,
                                 "cannot encode the reply");
            OPENSSL_cleanse(b64, cap);
        }
        free(b64);
    }
    int st = finish(g, &c, msg, msglen);
    free(name);
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
    asps_err e = asps_rpc_decode_cczoo_request(req, req_len, &key, &rctx, &eb);
    const char *const names[1] = {key};
    asps_call c;
    asps_service_call_begin(g->svc, &c, cert, asps_rpc_call_connection_id(), peer, names,
                            e == ASPS_OK ? 1 : 0);
    c.deadline_mono_ms = asps_rpc_call_deadline_mono_ms();
    if (e != ASPS_OK)
        asps_call_refuse(&c, ASPS_E_PARSE, ASPS_VERDICT_INVALID, NULL, "malformed request: %s",
                         eb.msg);
    else if (rctx && rctx[0] && !ctx_matches_peer(rctx, cert))
        asps_call_refuse(&c, ASPS_E_DENIED, ASPS_VERDICT_DENIED, NULL,
                         "ctx is not the certificate of this connection");
    if (asps_service_decide(g->svc, &c) == ASPS_OK) {
        const asps_secret *v = &c.secrets[0];
        /* CCZoo's reply field is a proto3 string: its C++ client refuses
         * invalid UTF-8, so a binary secret gets a clear refusal instead;
         * so does one holding a 0x00 byte, which protobuf-c's string (a C
         * string) cannot carry whole */
        if (!asps_utf8_valid(v->value, v->len, NULL) || memchr(v->value, 0, v->len))
            asps_call_refuse(&c, ASPS_E_UNSUPPORTED, ASPS_VERDICT_REFUSED,
                             "binary value cannot travel in CCZoo's string field",
                             "binary secret: fetch it with asps.v1.SecretProvision/GetSecrets");
        else if (asps_rpc_encode_cczoo_reply(v->value, v->len, reply, reply_len, &eb) != ASPS_OK)
            asps_call_refuse(&c, ASPS_E_INTERNAL, ASPS_VERDICT_ERROR, eb.msg,
                             "cannot encode the reply");
    }
    int st = finish(g, &c, msg, msglen);
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
    asps_verdict v;
    asps_err e = asps_service_verify_peer(ctx, peer_cert_pem, &v, err, errlen);
    return e == ASPS_OK ? 0 : asps_rpc_status_of(e, v);
}

int asps_service_rpc_verify_now(void *ctx, const char *peer_cert_pem, char *err, size_t errlen)
{
    asps_verdict v;
    asps_err e = asps_service_verify_peer_now(ctx, peer_cert_pem, &v, err, errlen);
    if (e == ASPS_E_WOULD_BLOCK)
        return ASPS_RPC_VERIFY_LATER;
    return e == ASPS_OK ? 0 : asps_rpc_status_of(e, v);
}

void asps_service_rpc_refused(void *ctx, const char *peer_cert_pem, const char *peer_addr,
                              const char *method, int status, const char *msg, int retry)
{
    asps_service_refused_call(ctx, peer_cert_pem, peer_addr, method,
                              asps_rpc_verdict_of_status(status, retry), msg);
}

void asps_service_rpc_handshake_failed(void *ctx, const char *reason)
{
    asps_service_handshake_failed(ctx, reason);
}
