/* client_lib.c: the asps client library (asps/client.h): attest, connect,
 * get named secrets in one call. Owns the RA-TLS key (cleansed on free) and
 * the secrets it returns (asps_secret, cleansed by asps_secrets_free). */
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/client.h"
#include "asps/evidence.h"
#include "asps/ratls.h"
#include "rpc.h"
#include "status.h"
#include "trust.h"
#include "util.h"

struct asps_client {
    asps_rpc_client *rpc;
    char *cert_pem;
    char *key_pem;
    /* server verification */
    uint8_t *pinned_der;
    size_t pinned_len;
    asps_client_server_check_fn check;
    void *check_ctx;
    asps_trust *trust;           /* the server's RA-TLS evidence */
};

/* The DER of a PEM certificate (util.h), compared byte for byte: 0 ok. */
static int pem_cert_der(const char *pem, uint8_t **der, size_t *len)
{
    return asps_pem_cert_der(pem, SIZE_MAX, der, len) ? 0 : -1;
}

/* pinned: the server's certificate must be exactly the pinned one */
static int verify_pinned(void *ctx, const char *peer_pem, char *err, size_t errlen)
{
    asps_client *c = ctx;
    uint8_t *der;
    size_t len;
    if (pem_cert_der(peer_pem, &der, &len) != 0) {
        snprintf(err, errlen, "server certificate unreadable");
        return -1;
    }
    int ok = len == c->pinned_len && CRYPTO_memcmp(der, c->pinned_der, len) == 0;
    OPENSSL_free(der);
    if (!ok)
        snprintf(err, errlen, "server certificate is not the pinned one");
    return ok ? 0 : -1;
}

/* RA-TLS: the server's certificate must carry evidence that verifies and
 * whose claims the caller's check accepts */
static int verify_server_evidence(void *ctx, const char *peer_pem, char *err, size_t errlen)
{
    asps_client *c = ctx;
    asps_claims claims;
    asps_errbuf eb = {{0}};
    asps_err e = asps_trust_verify_cert(c->trust, (const uint8_t *)peer_pem, strlen(peer_pem),
                                        (int64_t)time(NULL), &claims, &eb);
    if (e != ASPS_OK) {
        snprintf(err, errlen, "server evidence refused: %s", eb.msg);
        return -1;
    }
    return c->check(c->check_ctx, &claims, err, errlen) == 0 ? 0 : -1;
}

/* The server's trust: the simulated platform's root when named; its
 * collateral from the PCCS when one is named (the simulated folder then
 * gives only its root), else the bundle, else the simulated folder. */
static asps_err load_server_trust(asps_client *c, const asps_client_opts *o, asps_errbuf *eb)
{
    asps_trust_opts to = {.sim_root_dir = o->server_sim_dir};
    if (o->pccs_url) {
        to.collateral.pccs_url = o->pccs_url;
        to.collateral.pccs_ca = o->pccs_ca_file;
    } else {
        to.collateral.bundle = o->server_collateral;
        to.collateral.sim_dir = o->server_sim_dir;
    }
    ASPS_TRY(asps_trust_new(&to, &c->trust, eb));
    if (asps_trust_no_collateral(c->trust))
        return asps_fail(eb, ASPS_E_ARG,
                         "server RA-TLS check needs collateral (server_sim_dir, server_collateral or pccs_url)");
    return ASPS_OK;
}

asps_err asps_client_new(const asps_client_opts *o, asps_client **out, asps_errbuf *eb)
{
    *out = NULL;
    if (!o || !o->server)
        return asps_fail(eb, ASPS_E_ARG, "client: no server address");
    int trusts = !!o->ca_file + !!o->pinned_cert + !!o->server_check;
    if (trusts != 1)
        return asps_fail(eb, ASPS_E_ARG,
                         "client: give exactly one way to trust the server (CA, pinned certificate, or RA-TLS check)");
    asps_client *c = calloc(1, sizeof *c);
    if (!c)
        return asps_fail(eb, ASPS_E_NOMEM, "client: out of memory");
    asps_err e;
    asps_attester *att = NULL;
    uint8_t *ca = NULL;
    size_t ca_len;
    asps_attester_opts ao = {.kind = o->attester ? o->attester : "auto"};
    if (!o->use_attester) {
        e = asps_attester_new(&ao, &att, eb);
        if (e != ASPS_OK)
            goto fail;
    }
    asps_ratls_create_opts ro = {.quote = asps_attester_quote,
                                 .quote_ctx = o->use_attester ? o->use_attester : att,
                                 .validity_secs = o->validity_secs};
    e = asps_ratls_create(&ro, &c->cert_pem, &c->key_pem, eb);
    if (e != ASPS_OK)
        goto fail;
    asps_rpc_client_opts rc = {.target = o->server, .cert_pem = c->cert_pem, .key_pem = c->key_pem,
                               .server_name = o->server_name,
                               .deadline_ms = o->deadline_ms > 0 ? o->deadline_ms : 10000};
    if (o->ca_file) {
        e = asps_read_file(o->ca_file, 1 << 20, &ca, &ca_len, eb);
        if (e != ASPS_OK)
            goto fail;
        rc.ca_pem = (const char *)ca;
    } else if (o->pinned_cert) {
        if (pem_cert_der(o->pinned_cert, &c->pinned_der, &c->pinned_len) != 0) {
            e = asps_fail(eb, ASPS_E_PARSE, "client: pinned server certificate unreadable");
            goto fail;
        }
        rc.verify = verify_pinned;
        rc.verify_ctx = c;
    } else {
        c->check = o->server_check;
        c->check_ctx = o->server_check_ctx;
        e = load_server_trust(c, o, eb);
        if (e != ASPS_OK)
            goto fail;
        rc.verify = verify_server_evidence;
        rc.verify_ctx = c;
    }
    e = asps_rpc_client_new(&rc, &c->rpc, eb);
    if (e != ASPS_OK)
        goto fail;
    free(ca);
    asps_attester_free(att);
    *out = c;
    return ASPS_OK;
fail:
    free(ca);
    asps_attester_free(att);
    asps_client_free(c);
    return e;
}

void asps_client_free(asps_client *c)
{
    if (!c)
        return;
    asps_rpc_client_free(c->rpc);
    free(c->cert_pem);
    asps_ratls_free_key(c->key_pem);
    OPENSSL_free(c->pinned_der);
    asps_trust_free(c->trust);
    free(c);
}

const char *asps_client_cert_pem(const asps_client *c) { return c->cert_pem; }

asps_err asps_client_get(asps_client *c, const char *const *names, size_t n,
                         asps_secret **out, int *status, asps_errbuf *eb)
{
    *out = NULL;
    *status = ASPS_RPC_INTERNAL;
    uint8_t *req = NULL, *reply = NULL;
    size_t req_len, reply_len = 0;
    char msg[512] = "";
    ASPS_TRY(asps_rpc_encode_get_secrets_request(names, n, &req, &req_len, eb));
    long pushback = -1;
    asps_err e = asps_rpc_client_call_pushback(c->rpc, ASPS_RPC_METHOD_GET_SECRETS, req, req_len,
                                               status, msg, sizeof msg, &reply, &reply_len,
                                               &pushback, eb);
    free(req);
    if (e != ASPS_OK)
        return e;
    if (*status != ASPS_RPC_OK) {
        free(reply);
        return asps_fail(eb, asps_rpc_err_of_reply(*status, pushback), "server: %s: %s",
                         asps_rpc_status_name(*status), msg);
    }
    asps_secret *rs = NULL;
    size_t rn = 0;
    e = asps_rpc_decode_get_secrets_reply(reply, reply_len, &rs, &rn, eb);
    if (reply) {
        asps_cleanse_free(reply, reply_len);
    }
    if (e != ASPS_OK)
        return e;
    /* the reply must be exactly the names asked, in order */
    int ok = rn == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = rs[i].name && !strcmp(rs[i].name, names[i]);
    if (!ok) {
        asps_secrets_free(rs, rn);
        return asps_fail(eb, ASPS_E_PARSE, "server: reply does not match the names asked");
    }
    /* the decoded array is the caller's: one secret type, no copy */
    *out = rs;
    return ASPS_OK;
}
