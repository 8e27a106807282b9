/* collateral.c: collateral bundles: parse their shape, serialise, digest.
 * Checks only shape (fields present, hex well-formed, sizes bounded); every
 * signature and date is checked by dcap.c. */
#include "collateral_int.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcap_parse.h"
#include "json.h"
#include "source.h"
#include "util.h"
#include "x509.h"

asps_collateral *asps_collateral__ref(asps_collateral *c)
{
    if (c)
        atomic_fetch_add(&c->extra_refs, 1);
    return c;
}

void asps_collateral_free(asps_collateral *c)
{
    if (!c)
        return;
    /* one of several references: drop it (a reference is only taken by a
     * holder of one, so the count cannot rise from 0 under our feet) */
    unsigned r = atomic_load(&c->extra_refs);
    while (r > 0)
        if (atomic_compare_exchange_weak(&c->extra_refs, &r, r - 1))
            return;
    free(c->pck_crl_issuer_chain);
    free(c->root_ca_crl);
    free(c->pck_crl);
    free(c->tcb_info_issuer_chain);
    free(c->tcb_info);
    free(c->qe_identity_issuer_chain);
    free(c->qe_identity);
    free(c->tcb_info_early);
    free(c->tcb_eval_numbers_issuer_chain);
    free(c->tcb_eval_numbers);
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
    /* The optional parts only when held, each after its name: a bundle
     * without them keeps the digest it always had. */
    if (c->tcb_info_early) {
        add_field(md, "tcb_info_early", strlen("tcb_info_early"));
        add_field(md, c->tcb_info_early, c->tcb_info_early_len);
        add_field(md, c->tcb_info_early_sig, 64);
    }
    if (c->tcb_eval_numbers) {
        add_field(md, "tcb_evaluation_data_numbers", strlen("tcb_evaluation_data_numbers"));
        add_field(md, c->tcb_eval_numbers_issuer_chain, strlen(c->tcb_eval_numbers_issuer_chain));
        add_field(md, c->tcb_eval_numbers, c->tcb_eval_numbers_len);
        add_field(md, c->tcb_eval_numbers_sig, 64);
    }
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

/* The optional parts come whole or not at all: the early TCB info with its
 * signature; the numbers list with its signature and issuer chain. A part
 * given half is refused (never taken as absent). */
static asps_err check_optional_parts(const asps_collateral_parts *p, asps_errbuf *eb)
{
    if (p->tcb_info_early || p->tcb_info_early_signature) {
        if (!p->tcb_info_early || p->tcb_info_early_len == 0)
            return asps_fail(eb, ASPS_E_PARSE,
                             "collateral: tcb_info_early_signature without tcb_info_early");
        if (p->tcb_info_early_len > ASPS_COLLATERAL_FIELD_MAX)
            return asps_fail(eb, ASPS_E_LIMIT, "collateral: tcb_info_early is too large (%zu bytes)",
                             p->tcb_info_early_len);
        if (!p->tcb_info_early_signature || p->tcb_info_early_signature_len != 64)
            return asps_fail(eb, ASPS_E_PARSE,
                             "collateral: tcb_info_early_signature must be 64 bytes (r||s), got %zu",
                             p->tcb_info_early_signature ? p->tcb_info_early_signature_len : 0);
    }
    if (p->tcb_eval_numbers || p->tcb_eval_numbers_signature || p->tcb_eval_numbers_issuer_chain) {
        if (!p->tcb_eval_numbers || p->tcb_eval_numbers_len == 0)
            return asps_fail(eb, ASPS_E_PARSE,
                             "collateral: tcb_evaluation_data_numbers is missing or empty");
        if (p->tcb_eval_numbers_len > ASPS_COLLATERAL_FIELD_MAX)
            return asps_fail(eb, ASPS_E_LIMIT,
                             "collateral: tcb_evaluation_data_numbers is too large (%zu bytes)",
                             p->tcb_eval_numbers_len);
        if (!p->tcb_eval_numbers_issuer_chain || !*p->tcb_eval_numbers_issuer_chain)
            return asps_fail(eb, ASPS_E_PARSE,
                             "collateral: tcb_evaluation_data_numbers_issuer_chain is missing or empty");
        if (strlen(p->tcb_eval_numbers_issuer_chain) > ASPS_COLLATERAL_FIELD_MAX)
            return asps_fail(eb, ASPS_E_LIMIT,
                             "collateral: tcb_evaluation_data_numbers_issuer_chain is too large");
        if (!p->tcb_eval_numbers_signature || p->tcb_eval_numbers_signature_len != 64)
            return asps_fail(eb, ASPS_E_PARSE,
                             "collateral: tcb_evaluation_data_numbers_signature must be 64 bytes "
                             "(r||s), got %zu",
                             p->tcb_eval_numbers_signature ? p->tcb_eval_numbers_signature_len : 0);
    }
    return ASPS_OK;
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
    ASPS_TRY(check_optional_parts(p, eb));
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
    if (p->tcb_info_early) {
        c->tcb_info_early = dup_n(p->tcb_info_early, p->tcb_info_early_len);
        c->tcb_info_early_len = p->tcb_info_early_len;
        memcpy(c->tcb_info_early_sig, p->tcb_info_early_signature, 64);
    }
    if (p->tcb_eval_numbers) {
        c->tcb_eval_numbers = dup_n(p->tcb_eval_numbers, p->tcb_eval_numbers_len);
        c->tcb_eval_numbers_len = p->tcb_eval_numbers_len;
        c->tcb_eval_numbers_issuer_chain =
            dup_n(p->tcb_eval_numbers_issuer_chain, strlen(p->tcb_eval_numbers_issuer_chain));
        memcpy(c->tcb_eval_numbers_sig, p->tcb_eval_numbers_signature, 64);
    }
    if ((p->tcb_info_early && !c->tcb_info_early) ||
        (p->tcb_eval_numbers && (!c->tcb_eval_numbers || !c->tcb_eval_numbers_issuer_chain))) {
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

/* An optional string field: NULL when absent; present and not a string
 * is an error (never read as absent). */
static const char *get_opt_str(const cJSON *o, const char *name, asps_errbuf *eb, asps_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v)
        return NULL;
    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        *e = asps_fail(eb, ASPS_E_PARSE, "collateral: field \"%s\" is not a string", name);
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
    uint8_t *rcrl = NULL, *pcrl = NULL, *tsig = NULL, *qsig = NULL, *esig = NULL, *nsig = NULL;
    size_t rcrl_len = 0, pcrl_len = 0, tsig_len = 0, qsig_len = 0, esig_len = 0, nsig_len = 0;
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
    const char *early = get_opt_str(root, "tcb_info_early", eb, &e);
    const char *esig_hex = e == ASPS_OK ? get_opt_str(root, "tcb_info_early_signature", eb, &e) : NULL;
    const char *nums = e == ASPS_OK ? get_opt_str(root, "tcb_evaluation_data_numbers", eb, &e) : NULL;
    const char *nsig_hex =
        e == ASPS_OK ? get_opt_str(root, "tcb_evaluation_data_numbers_signature", eb, &e) : NULL;
    const char *nchain =
        e == ASPS_OK ? get_opt_str(root, "tcb_evaluation_data_numbers_issuer_chain", eb, &e) : NULL;
    if (e != ASPS_OK)
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
        {"tcb_info_early_signature", esig_hex, &esig, &esig_len},
        {"tcb_evaluation_data_numbers_signature", nsig_hex, &nsig, &nsig_len},
    };
    for (size_t i = 0; i < sizeof hx / sizeof hx[0]; i++)
        if (hx[i].hex && asps_hex_decode_alloc(hx[i].hex, hx[i].out, hx[i].len) != 0) {
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
        .tcb_info_early = early, .tcb_info_early_len = early ? strlen(early) : 0,
        .tcb_info_early_signature = esig, .tcb_info_early_signature_len = esig_len,
        .tcb_eval_numbers_issuer_chain = nchain,
        .tcb_eval_numbers = nums, .tcb_eval_numbers_len = nums ? strlen(nums) : 0,
        .tcb_eval_numbers_signature = nsig, .tcb_eval_numbers_signature_len = nsig_len,
    };
    e = asps_collateral_from_parts(&p, out, eb);
done:
    free(esig);
    free(nsig);
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
    if (ok && c->tcb_info_early)
        ok = cJSON_AddStringToObject(o, "tcb_info_early", c->tcb_info_early) &&
             add_hex(o, "tcb_info_early_signature", c->tcb_info_early_sig, 64);
    if (ok && c->tcb_eval_numbers)
        ok = cJSON_AddStringToObject(o, "tcb_evaluation_data_numbers", c->tcb_eval_numbers) &&
             add_hex(o, "tcb_evaluation_data_numbers_signature", c->tcb_eval_numbers_sig, 64) &&
             cJSON_AddStringToObject(o, "tcb_evaluation_data_numbers_issuer_chain",
                                     c->tcb_eval_numbers_issuer_chain);
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
    next = c2 < next ? c2 : next;
    /* the optional parts, when held, are verified like the others: their
     * nextUpdate counts too */
    if (c->tcb_info_early) {
        ASPS_TRY(asps_dcap_collateral_dates(c->tcb_info_early, c->tcb_info_early_len,
                                            "tcb_info_early", &issued, &qnext, eb));
        next = qnext < next ? qnext : next;
    }
    if (c->tcb_eval_numbers) {
        ASPS_TRY(asps_dcap_collateral_dates(c->tcb_eval_numbers, c->tcb_eval_numbers_len,
                                            "tcb_evaluation_data_numbers", &issued, &qnext, eb));
        next = qnext < next ? qnext : next;
    }
    *next_update = next;
    return ASPS_OK;
}

/* ---- what a collateral set holds (asps collateral show, caches, logs) ------------ */

static asps_err crl_info(const uint8_t *der, size_t len, const char *what, int64_t *this_update,
                         int64_t *next_update, X509_CRL **keep, asps_errbuf *eb)
{
    X509_CRL *c = asps_x509_crl_decode(der, len);
    int ok = c && asps_x509_crl_dates(c, this_update, next_update);
    if (ok && keep)
        *keep = c;
    else
        X509_CRL_free(c);
    return ok ? ASPS_OK
              : asps_fail(eb, ASPS_E_PARSE, "collateral: %s is not a DER CRL with dates", what);
}

asps_err asps_collateral_info_get(const asps_collateral *c, asps_collateral_info *out,
                                  asps_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return asps_fail(eb, ASPS_E_ARG, "collateral: none given");
    asps_tcb_info ti;
    ASPS_TRY(asps_dcap_parse_tcb_info(c->tcb_info, c->tcb_info_len, &ti, eb));
    out->is_tdx = ti.is_tdx;
    memcpy(out->fmspc, ti.fmspc, 6);
    out->tcb_info_version = (uint32_t)ti.version;
    out->tcb_info_evaluation_data_number = ti.tcb_evaluation_data_number;
    out->tcb_info_issue_date = ti.issue_date;
    out->tcb_info_next_update = ti.next_update;
    asps_dcap_tcb_info_clear(&ti);
    int64_t next = out->tcb_info_next_update;
    if (c->tcb_info_early) {
        asps_err e = asps_dcap_parse_tcb_info(c->tcb_info_early, c->tcb_info_early_len, &ti, eb);
        if (e != ASPS_OK) {
            asps_err_prefix(eb, "tcb_info_early: ");
            return e;
        }
        out->has_early = 1;
        out->early_evaluation_data_number = ti.tcb_evaluation_data_number;
        out->early_issue_date = ti.issue_date;
        out->early_next_update = ti.next_update;
        asps_dcap_tcb_info_clear(&ti);
        next = out->early_next_update < next ? out->early_next_update : next;
    }
    asps_qe_identity qe;
    ASPS_TRY(asps_dcap_parse_qe_identity(c->qe_identity, c->qe_identity_len, &qe, eb));
    out->qe_identity_evaluation_data_number = qe.tcb_evaluation_data_number;
    out->qe_identity_issue_date = qe.issue_date;
    out->qe_identity_next_update = qe.next_update;
    asps_dcap_qe_identity_clear(&qe);
    next = out->qe_identity_next_update < next ? out->qe_identity_next_update : next;
    X509_CRL *pck = NULL;
    ASPS_TRY(crl_info(c->pck_crl, c->pck_crl_len, "pck_crl", &out->pck_crl_this_update,
                      &out->pck_crl_next_update, &pck, eb));
    /* Intel's PCK CA names: "Intel SGX PCK Processor CA", "... Platform CA" */
    const X509_NAME *iss = X509_CRL_get_issuer(pck);
    snprintf(out->pck_ca, sizeof out->pck_ca, "%s",
             asps_x509_cn_contains(iss, "Processor") ? "processor"
             : asps_x509_cn_contains(iss, "Platform") ? "platform"
                                                        : "");
    X509_CRL_free(pck);
    ASPS_TRY(crl_info(c->root_ca_crl, c->root_ca_crl_len, "root_ca_crl",
                      &out->root_ca_crl_this_update, &out->root_ca_crl_next_update, NULL, eb));
    next = out->pck_crl_next_update < next ? out->pck_crl_next_update : next;
    next = out->root_ca_crl_next_update < next ? out->root_ca_crl_next_update : next;
    if (c->tcb_eval_numbers) {
        asps_tcb_eval_numbers l;
        ASPS_TRY(asps_dcap_parse_eval_numbers(c->tcb_eval_numbers, c->tcb_eval_numbers_len, &l, eb));
        out->has_eval_numbers = 1;
        out->eval_numbers_issue_date = l.issue_date;
        out->eval_numbers_next_update = l.next_update;
        out->n_eval_numbers = l.n;
        for (size_t i = 0; i < l.n && i < ASPS_COLLATERAL_MAX_EVAL_NUMBERS; i++) {
            out->eval_numbers[i].number = l.items[i].number;
            out->eval_numbers[i].tcb_recovery_event_date = l.items[i].tcb_recovery_event_date;
            out->eval_numbers[i].tcb_date = l.items[i].tcb_date;
        }
        next = l.next_update < next ? l.next_update : next;
    }
    out->next_update = next;
    return ASPS_OK;
}
