/* client_lib.c: the asps client library (asps/client.h): attest, connect,
 * get named secrets in one call. Owns the RA-TLS key (cleansed on free) and
 * the secrets it returns (cleansed by asps_client_secrets_free). */
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/client.h"
#include "asps/evidence.h"
#include "pccs.h"
#include "asps/ratls.h"
#include "rpc.h"
#include "asps/verify.h"
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
    asps_verifier *verifier;
    pthread_mutex_t verifier_lock;
    asps_collateral *server_col_sgx, *server_col_tdx;
    asps_pccs *pccs;             /* server collateral from a PCCS */
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

static asps_err server_collateral(void *ctx, const uint8_t *quote, size_t len,
                                  const asps_collateral **col, int *owned, asps_errbuf *eb)
{
    asps_client *c = ctx;
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    *owned = 0;
    ASPS_TRY(asps_quote_platform(quote, len, &tee, fmspc, ca, eb));
    if (c->pccs) {
        asps_collateral *got;
        ASPS_TRY(asps_pccs_get_collateral(c->pccs, tee, fmspc, ca, (int64_t)time(NULL), &got, eb));
        *col = got;
        *owned = 1;
        return ASPS_OK;
    }
    *col = tee == ASPS_TEE_TDX ? c->server_col_tdx : c->server_col_sgx;
    if (!*col)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "no collateral for the server's %s quote",
                         tee == ASPS_TEE_TDX ? "TDX" : "SGX");
    return ASPS_OK;
}

/* RA-TLS: the server's certificate must carry evidence that verifies and
 * whose claims the caller's check accepts */
static int verify_server_evidence(void *ctx, const char *peer_pem, char *err, size_t errlen)
{
    asps_client *c = ctx;
    asps_claims claims;
    asps_errbuf eb = {{0}};
    pthread_mutex_lock(&c->verifier_lock);
    asps_err e = asps_ratls_verify(c->verifier, (const uint8_t *)peer_pem, strlen(peer_pem),
                                   server_collateral, c, (int64_t)time(NULL), &claims, &eb);
    pthread_mutex_unlock(&c->verifier_lock);
    if (e != ASPS_OK) {
        snprintf(err, errlen, "server evidence refused: %s", eb.msg);
        return -1;
    }
    return c->check(c->check_ctx, &claims, err, errlen) == 0 ? 0 : -1;
}

static asps_err load_server_trust(asps_client *c, const asps_client_opts *o, asps_errbuf *eb)
{
    ASPS_TRY(asps_verifier_new(&c->verifier, eb));
    pthread_mutex_init(&c->verifier_lock, NULL);
    if (o->server_sim_dir) {
        char p[4096];
        snprintf(p, sizeof p, "%s/root_ca.der", o->server_sim_dir);
        ASPS_TRY(asps_verifier_add_root_file(c->verifier, p, eb));
        snprintf(p, sizeof p, "%s/collateral_sgx.json", o->server_sim_dir);
        ASPS_TRY(asps_collateral_load_file(p, &c->server_col_sgx, eb));
        snprintf(p, sizeof p, "%s/collateral_tdx.json", o->server_sim_dir);
        ASPS_TRY(asps_collateral_load_file(p, &c->server_col_tdx, eb));
    }
    if (o->server_collateral) {
        asps_collateral *col;
        ASPS_TRY(asps_collateral_load_file(o->server_collateral, &col, eb));
        asps_collateral_free(c->server_col_sgx);
        c->server_col_sgx = col;
    }
    if (o->pccs_url) {
        asps_pccs_opts po = {.ca_file = o->pccs_ca_file};
        ASPS_TRY(asps_pccs_new(o->pccs_url, &po, &c->pccs, eb));
    }
    if (!c->server_col_sgx && !c->server_col_tdx && !c->pccs)
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
    if (c->verifier) {
        asps_verifier_free(c->verifier);
        pthread_mutex_destroy(&c->verifier_lock);
    }
    asps_collateral_free(c->server_col_sgx);
    asps_collateral_free(c->server_col_tdx);
    asps_pccs_free(c->pccs);
    free(c);
}

const char *asps_client_cert_pem(const asps_client *c) { return c->cert_pem; }

void asps_client_secrets_free(asps_client_secret *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++) {
        if (s[i].value)
            asps_cleanse_free(s[i].value, s[i].len);
        free(s[i].name);
    }
    free(s);
}

asps_err asps_client_get(asps_client *c, const char *const *names, size_t n,
                         asps_client_secret **out, int *status, asps_errbuf *eb)
{
    *out = NULL;
    *status = ASPS_RPC_INTERNAL;
    uint8_t *req = NULL, *reply = NULL;
    size_t req_len, reply_len = 0;
    char msg[512] = "";
    ASPS_TRY(asps_rpc_encode_get_secrets_request(names, n, &req, &req_len, eb));
    asps_err e = asps_rpc_client_call(c->rpc, ASPS_RPC_METHOD_GET_SECRETS, req, req_len, status, msg,
                                      sizeof msg, &reply, &reply_len, eb);
    free(req);
    if (e != ASPS_OK)
        return e;
    if (*status != ASPS_RPC_OK) {
        free(reply);
        asps_err code = *status == ASPS_RPC_PERMISSION_DENIED || *status == ASPS_RPC_UNAUTHENTICATED
                            ? ASPS_E_DENIED
                        : *status == ASPS_RPC_UNAVAILABLE || *status == ASPS_RPC_DEADLINE_EXCEEDED
                            ? ASPS_E_UNAVAILABLE
                            : ASPS_E_ARG;
        return asps_fail(eb, code, "server: %s: %s", asps_rpc_status_name(*status), msg);
    }
    asps_rpc_secret *rs = NULL;
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
        asps_rpc_secrets_free(rs, rn);
        return asps_fail(eb, ASPS_E_PARSE, "server: reply does not match the names asked");
    }
    asps_client_secret *s = calloc(n ? n : 1, sizeof *s);
    for (size_t i = 0; s && i < n; i++) {
        s[i].name = strdup(rs[i].name);
        s[i].value = malloc(rs[i].value_len ? rs[i].value_len : 1);
        s[i].len = rs[i].value_len;
        if (!s[i].name || !s[i].value) {
            asps_client_secrets_free(s, n);
            s = NULL;
            break;
        }
        if (rs[i].value_len)
            memcpy(s[i].value, rs[i].value, rs[i].value_len);
    }
    asps_rpc_secrets_free(rs, rn);
    if (!s)
        return asps_fail(eb, ASPS_E_NOMEM, "client: out of memory");
    *out = s;
    return ASPS_OK;
}
