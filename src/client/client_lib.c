/* client_lib.c: the asps client library (asps/client.h): attest, connect,
 * get named secrets in one call. Owns the RA-TLS key (cleansed on free) and
 * the secrets it returns (asps_secret, cleansed by asps_secrets_free).
 * Renewal: a new key, certificate and channel replace the old ones under
 * the write side of a lock whose read side every call holds, so a call
 * never sees its channel freed. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <pthread.h>
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
    pthread_rwlock_t lock;       /* read: a call in flight; write: renewal */
    asps_rpc_client *rpc;
    char *cert_pem;
    char *key_pem;
    int64_t not_after, renew_at; /* of cert_pem, unix seconds */
    long lifetime;               /* seconds from creation to notAfter */
    asps_attester *attester;     /* quotes for each renewal */
    asps_attester *own_attester; /* the one we made (freed with us), or NULL */
    /* what each new channel is made with (copied from the options) */
    char *target, *server_name, *ca_pem;
    unsigned deadline_ms;
    /* server verification */
    uint8_t *pinned_der;
    size_t pinned_len;
    asps_client_server_check_fn check;
    void *check_ctx;
    asps_trust *trust;           /* the server's RA-TLS evidence */
    /* handshakes whose server we checked, and the number of the last one
     * that failed our own check (pin, server_check); atomic. A call is
     * "server not verified" when a refusal came after it began: counted,
     * not a flag reset per call, so concurrent calls cannot clear each
     * other's refusal. */
    uint64_t handshakes, refused_at;
};

/* The DER of a PEM certificate (util.h), compared byte for byte: 0 ok. */
static int pem_cert_der(const char *pem, uint8_t **der, size_t *len)
{
    return asps_pem_cert_der(pem, SIZE_MAX, der, len) ? 0 : -1;
}

static void note_handshake(asps_client *c, int ok)
{
    uint64_t n = __atomic_add_fetch(&c->handshakes, 1, __ATOMIC_SEQ_CST);
    if (!ok)
        __atomic_store_n(&c->refused_at, n, __ATOMIC_SEQ_CST);
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
    note_handshake(c, ok);
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
                                        (int64_t)time(NULL), ASPS_RATLS_PEER, &claims, &eb);
    if (e != ASPS_OK) { /* collateral trouble among these: not counted as a refusal */
        snprintf(err, errlen, "server evidence refused: %s", eb.msg);
        return -1;
    }
    int ok = c->check(c->check_ctx, &claims, err, errlen) == 0;
    note_handshake(c, ok);
    return ok ? 0 : -1;
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
    /* every file read here is the caller's (server_sim_dir, server_collateral,
     * pccs_ca_file; the PCCS is only set up, not asked): one that is not what
     * it should be is an argument error, like ca_file and pinned_cert_file */
    asps_err e = asps_trust_new(&to, &c->trust, eb);
    if (e != ASPS_OK)
        return e == ASPS_E_PARSE ? ASPS_E_ARG : e;
    if (asps_trust_no_collateral(c->trust))
        return asps_fail(eb, ASPS_E_ARG,
                         "server RA-TLS check needs collateral (server_sim_dir, server_collateral or pccs_url)");
    return ASPS_OK;
}

/* The RA-TLS certificate is backdated this much for servers whose clocks
 * run behind; its lifetime counts from now. */
#define CLIENT_BACKDATE_SECS 60

static char *dup_or_null(const char *s, int *ok)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *ok = 0;
    return d;
}

/* A new key and certificate from the current attester and a channel
 * presenting them; the caller holds the write lock (or is asps_client_new).
 * On an error nothing of the client changes. */
static asps_err renew_locked(asps_client *c, asps_errbuf *eb)
{
    int64_t now = (int64_t)time(NULL);
    asps_ratls_create_opts ro = {.quote = asps_attester_quote,
                                 .quote_ctx = c->attester,
                                 .not_before = now - CLIENT_BACKDATE_SECS,
                                 .validity_secs = c->lifetime + CLIENT_BACKDATE_SECS};
    char *cert = NULL, *key = NULL;
    ASPS_TRY(asps_ratls_create(&ro, &cert, &key, eb));
    asps_rpc_client_opts rc = {.target = c->target, .cert_pem = cert, .key_pem = key,
                               .server_name = c->server_name, .ca_pem = c->ca_pem,
                               .deadline_ms = c->deadline_ms};
    if (!c->ca_pem) {
        rc.verify = c->pinned_der ? verify_pinned : verify_server_evidence;
        rc.verify_ctx = c;
    }
    asps_rpc_client *rpc = NULL;
    asps_err e = asps_rpc_client_new(&rc, &rpc, eb);
    if (e != ASPS_OK) {
        free(cert);
        asps_ratls_free_key(key);
        return e;
    }
    asps_rpc_client_free(c->rpc);
    free(c->cert_pem);
    asps_ratls_free_key(c->key_pem);
    c->rpc = rpc;
    c->cert_pem = cert;
    c->key_pem = key;
    c->not_after = now + c->lifetime;
    /* renew once less than a quarter of the lifetime is left */
    long margin = c->lifetime / 4 > 0 ? c->lifetime / 4 : 1;
    c->renew_at = c->not_after - margin;
    return ASPS_OK;
}

asps_err asps_client_new(const asps_client_opts *o, asps_client **out, asps_errbuf *eb)
{
    *out = NULL;
    if (!o || !o->server)
        return asps_fail(eb, ASPS_E_ARG, "client: no server address");
    int trusts = !!o->ca_file + !!o->pinned_cert_file + !!o->server_check;
    if (trusts != 1)
        return asps_fail(eb, ASPS_E_ARG,
                         "client: give exactly one way to trust the server (CA file, pinned "
                         "certificate file, or RA-TLS check)");
    if (o->validity_secs < 0 ||
        (o->validity_secs > 0 && o->validity_secs < ASPS_CLIENT_MIN_VALIDITY_SECS) ||
        o->validity_secs > ASPS_CLIENT_MAX_VALIDITY_SECS)
        return asps_fail(eb, ASPS_E_ARG,
                         "client: validity_secs %ld would make a certificate that is expired or "
                         "about to expire when it reaches the server (0 for 24 h, or %ld..%ld)",
                         o->validity_secs, ASPS_CLIENT_MIN_VALIDITY_SECS,
                         ASPS_CLIENT_MAX_VALIDITY_SECS);
    asps_client *c = calloc(1, sizeof *c);
    if (!c)
        return asps_fail(eb, ASPS_E_NOMEM, "client: out of memory");
    if (pthread_rwlock_init(&c->lock, NULL) != 0) {
        free(c);
        return asps_fail(eb, ASPS_E_NOMEM, "client: cannot make a lock");
    }
    asps_err e;
    uint8_t *pem = NULL;
    size_t pem_len;
    int ok = 1;
    c->target = dup_or_null(o->server, &ok);
    c->server_name = dup_or_null(o->server_name, &ok);
    if (!ok) {
        e = asps_fail(eb, ASPS_E_NOMEM, "client: out of memory");
        goto fail;
    }
    c->lifetime = o->validity_secs > 0 ? o->validity_secs : 24 * 3600;
    c->deadline_ms = o->deadline_ms > 0 ? (unsigned)o->deadline_ms : 10000;
    if (o->use_attester) {
        c->attester = o->use_attester;
    } else {
        asps_attester_opts ao = {.kind = o->attester ? o->attester : "auto"};
        e = asps_attester_new(&ao, &c->own_attester, eb);
        if (e != ASPS_OK)
            goto fail;
        c->attester = c->own_attester;
    }
    if (o->ca_file) {
        e = asps_read_file(o->ca_file, 1 << 20, &pem, &pem_len, eb);
        if (e != ASPS_OK)
            goto fail;
        c->ca_pem = (char *)pem; /* NUL-terminated by asps_read_file */
        pem = NULL;
        /* the caller's file: not a certificate is an argument error, said
         * here (the channel's own PEM check, the same test, says ASPS_E_PARSE) */
        BIO *b = BIO_new_mem_buf(c->ca_pem, -1);
        X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        int is_cert = x != NULL;
        BIO_free(b);
        X509_free(x);
        ERR_clear_error();
        if (!is_cert) {
            e = b ? asps_fail(eb, ASPS_E_ARG, "client: CA file %s is not a PEM certificate",
                              o->ca_file)
                  : asps_fail(eb, ASPS_E_NOMEM, "client: out of memory");
            goto fail;
        }
    } else if (o->pinned_cert_file) {
        e = asps_read_file(o->pinned_cert_file, 1 << 20, &pem, &pem_len, eb);
        if (e != ASPS_OK)
            goto fail;
        if (pem_cert_der((const char *)pem, &c->pinned_der, &c->pinned_len) != 0) {
            e = asps_fail(eb, ASPS_E_ARG, "client: pinned server certificate %s unreadable",
                          o->pinned_cert_file);
            goto fail;
        }
    } else {
        c->check = o->server_check;
        c->check_ctx = o->server_check_ctx;
        e = load_server_trust(c, o, eb);
        if (e != ASPS_OK)
            goto fail;
    }
    e = renew_locked(c, eb);
    if (e != ASPS_OK)
        goto fail;
    free(pem);
    *out = c;
    return ASPS_OK;
fail:
    free(pem);
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
    asps_attester_free(c->own_attester);
    free(c->target);
    free(c->server_name);
    free(c->ca_pem);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

asps_err asps_client_renew(asps_client *c, asps_errbuf *eb)
{
    if (!c)
        return asps_fail(eb, ASPS_E_ARG, "client: NULL");
    pthread_rwlock_wrlock(&c->lock);
    asps_err e = renew_locked(c, eb);
    pthread_rwlock_unlock(&c->lock);
    return e;
}

asps_err asps_client_set_attester(asps_client *c, asps_attester *attester, asps_errbuf *eb)
{
    if (!c || !attester)
        return asps_fail(eb, ASPS_E_ARG, "client: no attester");
    pthread_rwlock_wrlock(&c->lock);
    asps_attester *old = c->attester;
    c->attester = attester;
    asps_err e = renew_locked(c, eb);
    if (e != ASPS_OK) {
        c->attester = old;
    } else if (c->own_attester && old == c->own_attester) {
        asps_attester_free(c->own_attester);
        c->own_attester = NULL;
    }
    pthread_rwlock_unlock(&c->lock);
    return e;
}

const char *asps_client_cert_pem(const asps_client *c) { return c->cert_pem; }
int64_t asps_client_cert_not_after(const asps_client *c) { return c->not_after; }
int64_t asps_client_renew_at(const asps_client *c) { return c->renew_at; }

/* Renew when due, then hold the read lock for the call (released by the
 * caller). A failed renewal is returned only once the certificate has
 * expired; before that the call goes ahead with the current one. */
static asps_err lock_for_call(asps_client *c, asps_errbuf *eb)
{
    pthread_rwlock_rdlock(&c->lock);
    if ((int64_t)time(NULL) < c->renew_at)
        return ASPS_OK;
    pthread_rwlock_unlock(&c->lock);
    pthread_rwlock_wrlock(&c->lock);
    asps_err e = ASPS_OK;
    int64_t now = (int64_t)time(NULL);
    if (now >= c->renew_at) { /* another thread may have renewed meanwhile */
        asps_errbuf reb = {{0}};
        e = renew_locked(c, &reb);
        if (e != ASPS_OK && now < c->not_after)
            e = ASPS_OK; /* keep the current one; the next call tries again */
        else if (e != ASPS_OK)
            asps_fail(eb, e, "client: RA-TLS certificate expired and its renewal failed: %s", reb.msg);
    }
    pthread_rwlock_unlock(&c->lock);
    if (e != ASPS_OK)
        return e;
    pthread_rwlock_rdlock(&c->lock);
    return ASPS_OK;
}

asps_err asps_client_get(asps_client *c, const char *const *names, size_t n,
                         asps_secret **out, int *status, asps_errbuf *eb)
{
    *out = NULL;
    *status = ASPS_RPC_INTERNAL;
    uint8_t *req = NULL, *reply = NULL;
    size_t req_len, reply_len = 0;
    char msg[512] = "";
    ASPS_TRY(asps_rpc_encode_get_secrets_request(names, n, &req, &req_len, eb));
    asps_err e = lock_for_call(c, eb);
    if (e != ASPS_OK) {
        free(req);
        return e;
    }
    long pushback = -1;
    uint64_t began = __atomic_load_n(&c->handshakes, __ATOMIC_SEQ_CST);
    e = asps_rpc_client_call_pushback(c->rpc, ASPS_RPC_METHOD_GET_SECRETS, req, req_len, status,
                                      msg, sizeof msg, &reply, &reply_len, &pushback, eb);
    pthread_rwlock_unlock(&c->lock);
    free(req);
    if (e != ASPS_OK)
        return e;
    if (*status == ASPS_RPC_UNAVAILABLE && __atomic_load_n(&c->refused_at, __ATOMIC_SEQ_CST) > began) {
        /* the server was reached but is not the one we trust (not the
         * pinned certificate, or its claims refused by server_check): not
         * verified, and retrying will not help */
        free(reply);
        return asps_fail(eb, ASPS_E_DENIED, "server not verified: %s", msg);
    }
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
