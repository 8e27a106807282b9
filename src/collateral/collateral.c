/* collateral.c: collateral bundles: parse their shape, serialise, digest.
 * Checks only shape (fields present, hex well-formed, sizes bounded); every
 * signature and date is checked by dcap.c. */
#include "collateral_int.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "dcap_parse.h"
#include "json.h"
#include "source.h"
#include "util.h"
#include "x509.h"

void asps_collateral_free(asps_collateral *c)
{
    if (!c)
        return;
    free(c->pck_crl_issuer_chain);
    free(c->root_ca_crl);
    free(c->pck_crl);
    free(c->tcb_info_issuer_chain);
    free(c->tcb_info);
    free(c->qe_identity_issuer_chain);
    free(c->qe_identity);
    free(c);
}

static void add_field(EVP_MD_CTX *md, const void *p, size_t n)
{
    /* length-prefixed so that moving bytes between fields changes the digest */
    uint8_t l[8];
    for (int i = 0; i < 8; i++)
        l[i] = (uint8_t)((uint64_t)n >> (8 * i));
    EVP_DigestUpdate(md, l, 8);
    EVP_DigestUpdate(md, p, n);
}

static asps_err finish(asps_collateral *c, asps_errbuf *eb)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        return asps_fail(eb, ASPS_E_INTERNAL, "collateral: cannot hash");
    }
    add_field(md, c->pck_crl_issuer_chain, strlen(c->pck_crl_issuer_chain));
    add_field(md, c->root_ca_crl, c->root_ca_crl_len);
    add_field(md, c->pck_crl, c->pck_crl_len);
    add_field(md, c->tcb_info_issuer_chain, strlen(c->tcb_info_issuer_chain));
    add_field(md, c->tcb_info, c->tcb_info_len);
    add_field(md, c->tcb_info_sig, 64);
    add_field(md, c->qe_identity_issuer_chain, strlen(c->qe_identity_issuer_chain));
    add_field(md, c->qe_identity, c->qe_identity_len);
    add_field(md, c->qe_identity_sig, 64);
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, c->digest, &n);
    EVP_MD_CTX_free(md);
    return ASPS_OK;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static uint8_t *dup_b(const uint8_t *s, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

asps_err asps_collateral_from_parts(const asps_collateral_parts *p, asps_collateral **out,
                                    asps_errbuf *eb)
{
    *out = NULL;
    struct {
        const char *name;
        const void *v;
        size_t len;
    } f[] = {
        {"pck_crl_issuer_chain", p->pck_crl_issuer_chain,
         p->pck_crl_issuer_chain ? strlen(p->pck_crl_issuer_chain) : 0},
        {"root_ca_crl", p->root_ca_crl, p->root_ca_crl_len},
        {"pck_crl", p->pck_crl, p->pck_crl_len},
        {"tcb_info_issuer_chain", p->tcb_info_issuer_chain,
         p->tcb_info_issuer_chain ? strlen(p->tcb_info_issuer_chain) : 0},
        {"tcb_info", p->tcb_info, p->tcb_info_len},
        {"qe_identity_issuer_chain", p->qe_identity_issuer_chain,
         p->qe_identity_issuer_chain ? strlen(p->qe_identity_issuer_chain) : 0},
        {"qe_identity", p->qe_identity, p->qe_identity_len},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].v == NULL || f[i].len == 0)
            return asps_fail(eb, ASPS_E_PARSE, "collateral: %s is missing or empty", f[i].name);
        if (f[i].len > ASPS_COLLATERAL_FIELD_MAX)
            return asps_fail(eb, ASPS_E_LIMIT, "collateral: %s is too large (%zu bytes)",
                             f[i].name, f[i].len);
    }
    if (p->tcb_info_signature_len != 64 || !p->tcb_info_signature)
        return asps_fail(eb, ASPS_E_PARSE, "collateral: tcb_info_signature must be 64 bytes (r||s), got %zu",
                         p->tcb_info_signature_len);
    if (p->qe_identity_signature_len != 64 || !p->qe_identity_signature)
        return asps_fail(eb, ASPS_E_PARSE,
                         "collateral: qe_identity_signature must be 64 bytes (r||s), got %zu",
                         p->qe_identity_signature_len);
    asps_collateral *c = calloc(1, sizeof *c);
    if (!c)
        return asps_fail(eb, ASPS_E_NOMEM, "collateral: out of memory");
    c->pck_crl_issuer_chain = dup_n(p->pck_crl_issuer_chain, strlen(p->pck_crl_issuer_chain));
    c->root_ca_crl = dup_b(p->root_ca_crl, p->root_ca_crl_len);
    c->root_ca_crl_len = p->root_ca_crl_len;
    c->pck_crl = dup_b(p->pck_crl, p->pck_crl_len);
    c->pck_crl_len = p->pck_crl_len;
    c->tcb_info_issuer_chain = dup_n(p->tcb_info_issuer_chain, strlen(p->tcb_info_issuer_chain));
    c->tcb_info = dup_n(p->tcb_info, p->tcb_info_len);
    c->tcb_info_len = p->tcb_info_len;
    memcpy(c->tcb_info_sig, p->tcb_info_signature, 64);
    c->qe_identity_issuer_chain =
        dup_n(p->qe_identity_issuer_chain, strlen(p->qe_identity_issuer_chain));
    c->qe_identity = dup_n(p->qe_identity, p->qe_identity_len);
    c->qe_identity_len = p->qe_identity_len;
    memcpy(c->qe_identity_sig, p->qe_identity_signature, 64);
    if (!c->pck_crl_issuer_chain || !c->root_ca_crl || !c->pck_crl || !c->tcb_info_issuer_chain ||
        !c->tcb_info || !c->qe_identity_issuer_chain || !c->qe_identity) {
        asps_collateral_free(c);
        return asps_fail(eb, ASPS_E_NOMEM, "collateral: out of memory");
    }
    asps_err e = finish(c, eb);
    if (e != ASPS_OK) {
        asps_collateral_free(c);
        return e;
    }
    *out = c;
    return ASPS_OK;
}

static const char *get_str(const cJSON *o, const char *name, asps_errbuf *eb, asps_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        *e = asps_fail(eb, ASPS_E_PARSE, "collateral: field \"%s\" missing or not a string", name);
        return NULL;
    }
    return v->valuestring;
}

asps_err asps_collateral_parse_bundle(const uint8_t *json, size_t len, asps_collateral **out,
                                      asps_errbuf *eb)
{
    *out = NULL;
    if (!json)
        return asps_fail(eb, ASPS_E_ARG, "collateral: no input");
    if (len > ASPS_COLLATERAL_FILE_MAX)
        return asps_fail(eb, ASPS_E_LIMIT, "collateral: bundle too large (%zu bytes)", len);
    cJSON *root = NULL;
    if (asps_json_parse((const char *)json, len, "collateral bundle", &root, eb) != ASPS_OK) {
        asps_err_prefix(eb, "collateral: ");
        return ASPS_E_PARSE;
    }
    asps_err e = ASPS_OK;
    uint8_t *rcrl = NULL, *pcrl = NULL, *tsig = NULL, *qsig = NULL;
    size_t rcrl_len = 0, pcrl_len = 0, tsig_len = 0, qsig_len = 0;
    if (!cJSON_IsObject(root)) {
        e = asps_fail(eb, ASPS_E_PARSE, "collateral: bundle is not a JSON object");
        goto done;
    }
    const char *pck_chain = get_str(root, "pck_crl_issuer_chain", eb, &e);
    const char *rcrl_hex = pck_chain ? get_str(root, "root_ca_crl", eb, &e) : NULL;
    const char *pcrl_hex = rcrl_hex ? get_str(root, "pck_crl", eb, &e) : NULL;
    const char *tcb_chain = pcrl_hex ? get_str(root, "tcb_info_issuer_chain", eb, &e) : NULL;
    const char *tcb = tcb_chain ? get_str(root, "tcb_info", eb, &e) : NULL;
    const char *tsig_hex = tcb ? get_str(root, "tcb_info_signature", eb, &e) : NULL;
    const char *qe_chain = tsig_hex ? get_str(root, "qe_identity_issuer_chain", eb, &e) : NULL;
    const char *qe = qe_chain ? get_str(root, "qe_identity", eb, &e) : NULL;
    const char *qsig_hex = qe ? get_str(root, "qe_identity_signature", eb, &e) : NULL;
    if (!qsig_hex)
        goto done;
    struct {
        const char *name, *hex;
        uint8_t **out;
        size_t *len;
    } hx[] = {
        {"root_ca_crl", rcrl_hex, &rcrl, &rcrl_len},
        {"pck_crl", pcrl_hex, &pcrl, &pcrl_len},
        {"tcb_info_signature", tsig_hex, &tsig, &tsig_len},
        {"qe_identity_signature", qsig_hex, &qsig, &qsig_len},
    };
    for (size_t i = 0; i < 4; i++)
        if (asps_hex_decode_alloc(hx[i].hex, hx[i].out, hx[i].len) != 0) {
            e = asps_fail(eb, ASPS_E_PARSE, "collateral: field \"%s\" is not valid hex", hx[i].name);
            goto done;
        }
    asps_collateral_parts p = {
        .pck_crl_issuer_chain = pck_chain,
        .root_ca_crl = rcrl, .root_ca_crl_len = rcrl_len,
        .pck_crl = pcrl, .pck_crl_len = pcrl_len,
        .tcb_info_issuer_chain = tcb_chain,
        .tcb_info = tcb, .tcb_info_len = strlen(tcb),
        .tcb_info_signature = tsig, .tcb_info_signature_len = tsig_len,
        .qe_identity_issuer_chain = qe_chain,
        .qe_identity = qe, .qe_identity_len = strlen(qe),
        .qe_identity_signature = qsig, .qe_identity_signature_len = qsig_len,
    };
    e = asps_collateral_from_parts(&p, out, eb);
done:
    free(rcrl);
    free(pcrl);
    free(tsig);
    free(qsig);
    cJSON_Delete(root);
    return e;
}

asps_err asps_collateral_load_file(const char *path, asps_collateral **out, asps_errbuf *eb)
{
    uint8_t *buf;
    size_t len;
    *out = NULL;
    asps_err e = asps_read_file(path, ASPS_COLLATERAL_FILE_MAX, &buf, &len, eb);
    if (e != ASPS_OK)
        return e;
    e = asps_collateral_parse_bundle(buf, len, out, eb);
    free(buf);
    return e;
}

static int add_hex(cJSON *o, const char *name, const uint8_t *b, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (!h)
        return 0;
    asps_hex_encode(b, n, h);
    cJSON *s = cJSON_AddStringToObject(o, name, h);
    free(h);
    return s != NULL;
}

asps_err asps_collateral_to_bundle(const asps_collateral *c, char **out, asps_errbuf *eb)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "pck_crl_issuer_chain", c->pck_crl_issuer_chain) &&
             add_hex(o, "root_ca_crl", c->root_ca_crl, c->root_ca_crl_len) &&
             add_hex(o, "pck_crl", c->pck_crl, c->pck_crl_len) &&
             cJSON_AddStringToObject(o, "tcb_info_issuer_chain", c->tcb_info_issuer_chain) &&
             cJSON_AddStringToObject(o, "tcb_info", c->tcb_info) &&
             add_hex(o, "tcb_info_signature", c->tcb_info_sig, 64) &&
             cJSON_AddStringToObject(o, "qe_identity_issuer_chain", c->qe_identity_issuer_chain) &&
             cJSON_AddStringToObject(o, "qe_identity", c->qe_identity) &&
             add_hex(o, "qe_identity_signature", c->qe_identity_sig, 64);
    char *s = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        return asps_fail(eb, ASPS_E_NOMEM, "collateral: out of memory");
    *out = s;
    return ASPS_OK;
}

void asps_collateral_digest(const asps_collateral *c, uint8_t out[32])
{
    memcpy(out, c->digest, 32);
}

/* ---- how long a collateral set lasts (metrics and readiness) ---------------------- */

static int64_t crl_next(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);
    int64_t t = c && X509_CRL_get0_nextUpdate(c) ? asps_x509_time_unix(X509_CRL_get0_nextUpdate(c))
                                                 : INT64_MIN;
    X509_CRL_free(c);
    return t;
}

asps_err asps_collateral_expiry(const asps_collateral *c, asps_tee *tee, uint8_t fmspc[6],
                                int64_t *next_update, asps_errbuf *eb)
{
    asps_tcb_info ti;
    memset(&ti, 0, sizeof ti);
    ASPS_TRY(asps_dcap_parse_tcb_info(c->tcb_info, c->tcb_info_len, &ti, eb));
    *tee = ti.is_tdx ? ASPS_TEE_TDX : ASPS_TEE_SGX;
    memcpy(fmspc, ti.fmspc, 6);
    int64_t next = ti.next_update, issued, qnext;
    asps_dcap_tcb_info_clear(&ti);
    ASPS_TRY(asps_dcap_collateral_dates(c->qe_identity, c->qe_identity_len, "qe_identity", &issued,
                                        &qnext, eb));
    int64_t c1 = crl_next(c->pck_crl, c->pck_crl_len), c2 = crl_next(c->root_ca_crl, c->root_ca_crl_len);
    if (c1 == INT64_MIN || c2 == INT64_MIN)
        return asps_fail(eb, ASPS_E_PARSE, "collateral: a CRL without a readable nextUpdate");
    next = qnext < next ? qnext : next;
    next = c1 < next ? c1 : next;
    *next_update = c2 < next ? c2 : next;
    return ASPS_OK;
}

/* TEMPORARY (issue 16, part A1 replaces it). */
asps_err asps_collateral_info_get(const asps_collateral *c, asps_collateral_info *out,
                                  asps_errbuf *eb)
{
    (void)c;
    memset(out, 0, sizeof *out);
    return asps_fail(eb, ASPS_E_UNSUPPORTED, "collateral: info not built yet");
}
