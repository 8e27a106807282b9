/* dcap.c: DCAP quote verification, the checks of Intel's Quote Verification
 * Library (QVL) in its order, each a named step below:
 *   parse_quote: the quote's structure, a PCK chain, Intel's QE;
 *   collateral (asps_dcap_verified_collateral, dcap_chains.c; once per
 *   verifier, kept in its store):
 *     collateral_chains: TCB info, QE identity and PCK CRL issuer chains to
 *       one trusted root, QVL's required extensions, one TCB signing key;
 *     collateral_crls: root CA CRL and PCK CRL (issuer, CRL number and
 *       authority key identifier, signature), TCB signing certificate and
 *       PCK CA not revoked;
 *     collateral_bodies: TCB info and QE identity signatures over their
 *       exact bytes, then their models;
 *   PCK chain (asps_dcap_verified_pck_chain, dcap_chains.c; likewise):
 *     roles, signatures, trusted root, the SGX extension;
 *   check_pck_revocation: same anchor as the collateral, PCK CRL from the
 *     quote's PCK CA, PCK CA and PCK certificate not revoked;
 *   check_validity: every certificate, CRL, TCB info and QE identity at the
 *     given time;
 *   check_tcb_info_fits: TCB info for this TEE/FMSPC/PCE ID, TDX module;
 *   check_qe_report: QE report signature by the PCK key, report data
 *     binding the attestation key;
 *   check_qe_identity: MRSIGNER, ISVPRODID, masked MISCSELECT/ATTRIBUTES,
 *     the ISVSVN's TCB level;
 *   check_quote_signature: by the attestation key;
 *   tcb_level: TCB level and status convergence (dcap_tcb.c).
 * Trusts: the roots of the verifier's store (store.c: Intel's root by its
 * key, as QvE does, and the roots the caller installed as those exact
 * certificates). Every certificate of a chain under Intel's key must carry
 * QVL's five required extensions (CRL distribution points included). The
 * store caches collateral whose signatures verified (by digest) and PCK
 * chains whose signatures verified (by exact bytes); times, revocation and
 * everything per quote are checked on every call. General X.509 work
 * (decoding, names, signatures, CRLs, dates) is parse/x509.c's.
 */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "asps/verify.h"
#include "dcap_chains.h"
#include "dcap_tcb.h"
#include "quote.h"
#include "store.h"
#include "util.h"
#include "x509.h"

static const uint8_t INTEL_QE_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

static EVP_PKEY *raw_p256_key(const uint8_t xy[64])
{
    uint8_t pub[65];
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, xy, 64);
    return asps_x509_p256_key(pub, sizeof pub);
}

static asps_err check_windows(const asps_validity_window *w, int n, int64_t at, int64_t *expiry,
                              asps_errbuf *eb)
{
    for (int i = 0; i < n; i++) {
        if (at < w[i].not_before || at > w[i].not_after) {
            char a[32], b[32], c[32];
            asps_time_format(at, a);
            asps_time_format(w[i].not_before, b);
            asps_time_format(w[i].not_after, c);
            return asps_fail(eb, w[i].code, "%s is not valid at %s (valid %s to %s)", w[i].what, a,
                             b, c);
        }
        if (w[i].not_after < *expiry)
            *expiry = w[i].not_after;
    }
    return ASPS_OK;
}

/* ---- the steps, in QVL's order ------------------------------------------------ */

/* Parse: the quote's structure, a PCK certificate chain as its
 * certification data, Intel's QE. */
static asps_err parse_quote(const uint8_t *buf, size_t len, asps_quote *q, asps_errbuf *eb)
{
    ASPS_TRY(asps_quote_parse(buf, len, q, eb));
    ASPS_TRY(asps_quote_need_pck_chain(q, eb));
    if (CRYPTO_memcmp(q->qe_vendor_id, INTEL_QE_VENDOR_ID, 16) != 0)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "quote: QE vendor ID is not Intel's");
    return ASPS_OK;
}

/* PCK revocation: the PCK chain ends at the collateral's root, its CA is
 * the one that issued and signed the PCK CRL (QVL checks the CRL against the
 * quote's intermediate), and neither the CA (root CA CRL) nor the PCK
 * certificate (PCK CRL) is revoked. */
static asps_err check_pck_revocation(const asps_verified_collateral *c,
                                     const asps_verified_chain *ch, asps_errbuf *eb)
{
    if (ch->root != c->root)
        return asps_fail(eb, ASPS_E_CHAIN, "PCK chain and collateral end at different roots");
    if (X509_NAME_cmp(X509_CRL_get_issuer(c->pck_crl), X509_get_issuer_name(ch->leaf)) != 0)
        return asps_fail(eb, ASPS_E_CRL_ISSUER,
                         "PCK CRL is not issued by the PCK certificate's CA");
    if (EVP_PKEY_eq(asps_x509_key(ch->ca), asps_x509_key(c->pck_ca)) != 1)
        return asps_fail(eb, ASPS_E_CRL_SIGNATURE, "PCK CRL is not signed by the quote's PCK CA");
    if (asps_x509_revoked(c->root_crl, ch->ca))
        return asps_fail(eb, ASPS_E_CERT_REVOKED, "PCK CA certificate is revoked");
    if (asps_x509_revoked(c->pck_crl, ch->leaf))
        return asps_fail(eb, ASPS_E_CERT_REVOKED, "PCK certificate is revoked");
    return ASPS_OK;
}

/* Validity: every certificate of the PCK chain, then every certificate,
 * CRL, TCB info and QE identity of the collateral, at AT; *EXPIRES the
 * earliest end among them. */
static asps_err check_validity(const asps_verified_collateral *c, const asps_verified_chain *ch,
                               int64_t at, int64_t *expires, asps_errbuf *eb)
{
    *expires = INT64_MAX;
    ASPS_TRY(check_windows(ch->win, 3, at, expires, eb));
    asps_err e = check_windows(c->win, c->n_win, at, expires, eb);
    if (e != ASPS_OK)
        asps_err_prefix(eb, ASPS_COLLATERAL_ERR_PREFIX); /* out of date: the collateral's fault */
    return e;
}

/* TCB info for this quote: its TEE, the PCK certificate's FMSPC and PCE ID,
 * and (TDX) the module identity, in *MOD. */
static asps_err check_tcb_info_fits(const asps_tcb_info *t, const asps_quote *q,
                                    const asps_pck_ext *x, const asps_tdx_module_identity **mod,
                                    asps_errbuf *eb)
{
    if ((t->is_tdx && q->tee_type != ASPS_TEE_TDX) ||
        (t->version >= 3 && !t->is_tdx && q->tee_type != ASPS_TEE_SGX) ||
        (t->version < 3 && q->tee_type == ASPS_TEE_TDX))
        return asps_fail(eb, ASPS_E_TCB_INFO_MISMATCH, "TCB info is for %s, the quote is %s",
                         t->is_tdx ? "TDX" : "SGX", q->tee_type == ASPS_TEE_TDX ? "TDX" : "SGX");
    if (memcmp(t->fmspc, x->fmspc, 6) != 0)
        return asps_fail(eb, ASPS_E_TCB_INFO_MISMATCH,
                         "TCB info FMSPC differs from the PCK certificate's");
    if (memcmp(t->pce_id, x->pce_id, 2) != 0)
        return asps_fail(eb, ASPS_E_TCB_INFO_MISMATCH,
                         "TCB info PCE ID differs from the PCK certificate's");
    *mod = NULL;
    if (t->is_tdx)
        return asps_dcap_check_tdx_module(t, q, mod, eb);
    return ASPS_OK;
}

/* QE report: signed by the PCK key, and its report data binding the
 * attestation key: SHA-256(attestation key || QE authentication data). */
static asps_err check_qe_report(const asps_quote *q, EVP_PKEY *pck_key, asps_errbuf *eb)
{
    if (!asps_x509_ecdsa_verify_raw(pck_key, q->qe_report_sig, q->qe_report_raw,
                                    ASPS_SGX_REPORT_LEN))
        return asps_fail(eb, ASPS_E_QE_REPORT_SIGNATURE,
                         "QE report: signature does not verify with the PCK key");
    uint8_t h[32];
    if (!asps_sha256_2(q->att_key, 64, q->qe_auth, q->qe_auth_len, h))
        return asps_fail(eb, ASPS_E_INTERNAL, "SHA-256 failed");
    if (CRYPTO_memcmp(h, q->qe_report.report_data, 32) != 0)
        return asps_fail(eb, ASPS_E_QE_REPORT_DATA,
                         "QE report: report data is not SHA-256(attestation key || QE auth data)");
    return ASPS_OK;
}

/* QE identity: the QE kind for this TEE, masked MISCSELECT and ATTRIBUTES,
 * MRSIGNER, ISVPRODID, and the TCB level its ISVSVN meets, in *QEL. */
static asps_err check_qe_identity(const asps_qe_identity *qe, const asps_quote *q,
                                  const asps_isvsvn_level **qel, asps_errbuf *eb)
{
    const asps_claims_sgx *r = &q->qe_report;
    if (strcmp(qe->id, q->tee_type == ASPS_TEE_TDX ? "TD_QE" : "QE") != 0)
        return asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH, "QE identity %s does not fit a %s quote",
                         qe->id, q->tee_type == ASPS_TEE_TDX ? "TDX" : "SGX");
    if ((r->misc_select & qe->miscselect_mask) != qe->miscselect)
        return asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH, "QE identity: MISCSELECT does not match");
    for (int i = 0; i < 16; i++)
        if ((r->attributes[i] & qe->attributes_mask[i]) != qe->attributes[i])
            return asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH,
                             "QE identity: ATTRIBUTES do not match");
    if (CRYPTO_memcmp(r->mr_signer, qe->mrsigner, 32) != 0)
        return asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH, "QE identity: MRSIGNER does not match");
    if (r->isv_prod_id != qe->isvprodid)
        return asps_fail(eb, ASPS_E_QE_IDENTITY_MISMATCH, "QE identity: ISVPRODID does not match");
    if (!(*qel = asps_dcap_qe_level(qe, r->isv_svn)))
        return asps_fail(eb, ASPS_E_TCB_NOT_FOUND, "QE identity: QE ISVSVN %u matches no TCB level",
                         r->isv_svn);
    return ASPS_OK;
}

/* Quote signature: by the attestation key the QE report vouched for. */
static asps_err check_quote_signature(const asps_quote *q, asps_errbuf *eb)
{
    EVP_PKEY *ak = raw_p256_key(q->att_key);
    if (!ak)
        return asps_fail(eb, ASPS_E_QUOTE_SIGNATURE, "quote: attestation key is not a P-256 point");
    int ok = asps_x509_ecdsa_verify_raw(ak, q->signature, q->signed_data, q->signed_len);
    EVP_PKEY_free(ak);
    if (!ok)
        return asps_fail(eb, ASPS_E_QUOTE_SIGNATURE,
                         "quote: signature does not verify with the attestation key");
    return ASPS_OK;
}

/* TCB level and status (dcap_tcb.c), with the claims the quote, the PCK
 * certificate and the collateral give. */
static asps_err tcb_level(const asps_verifier *v, const asps_verified_collateral *c,
                          const asps_verified_chain *ch, const asps_quote *q,
                          const asps_tdx_module_identity *mod, const asps_isvsvn_level *qel,
                          asps_claims *out, asps_errbuf *eb)
{
    out->tee = q->tee_type == ASPS_TEE_TDX ? ASPS_TEE_TDX : ASPS_TEE_SGX;
    out->quote_version = q->version;
    if (out->tee == ASPS_TEE_SGX) {
        out->sgx = q->sgx;
        out->debug = (q->sgx.attributes[0] & 0x02) != 0;
    } else {
        out->tdx = q->tdx;
        out->debug = (q->tdx.td_attributes[0] & 0x01) != 0;
    }
    out->simulated = !asps_store_root_is_intel(v, c->root);
    memcpy(out->fmspc, ch->ext.fmspc, 6);
    memcpy(out->pce_id, ch->ext.pce_id, 2);
    out->pce_svn = ch->ext.pcesvn;
    out->tcb_info_evaluation_data_number = c->tcb.tcb_evaluation_data_number;
    out->qe_identity_evaluation_data_number = c->qe.tcb_evaluation_data_number;
    return asps_dcap_tcb_status(&c->tcb, &ch->ext, q, mod, qel, out, eb);
}

asps_err asps_verify_quote(asps_verifier *v, const uint8_t *buf, size_t len,
                           const asps_collateral *col, int64_t at, asps_claims *claims,
                           asps_errbuf *eb)
{
    asps_quote q;
    asps_claims out;
    memset(&out, 0, sizeof out);
    memset(claims, 0, sizeof *claims);
    if (!v || !col)
        return asps_fail(eb, ASPS_E_ARG, "verify: no verifier or collateral");
    ASPS_TRY(parse_quote(buf, len, &q, eb));

    asps_err e = ASPS_OK;
    int col_fresh, chain_fresh = 0;
    asps_verified_collateral *c = asps_dcap_verified_collateral(v, col, &col_fresh, eb, &e);
    if (!c) {
        asps_err_prefix(eb, ASPS_COLLATERAL_ERR_PREFIX); /* the collateral's fault */
        return e;
    }
    const asps_tdx_module_identity *mod = NULL;
    const asps_isvsvn_level *qel = NULL;
    asps_verified_chain *ch = asps_dcap_verified_pck_chain(v, &q, c->pck_ca, &chain_fresh, eb, &e);
    if (!ch || (e = check_pck_revocation(c, ch, eb)) != ASPS_OK ||
        (e = check_validity(c, ch, at, &out.expires_at, eb)) != ASPS_OK ||
        (e = check_tcb_info_fits(&c->tcb, &q, &ch->ext, &mod, eb)) != ASPS_OK ||
        (e = check_qe_report(&q, ch->leaf_key, eb)) != ASPS_OK ||
        (e = check_qe_identity(&c->qe, &q, &qel, eb)) != ASPS_OK ||
        (e = check_quote_signature(&q, eb)) != ASPS_OK)
        goto done;
    e = tcb_level(v, c, ch, &q, mod, qel, &out, eb);
    /* A revoked status still reports what was found, for the caller's log. */
    if (e == ASPS_OK || e == ASPS_E_TCB_REVOKED)
        *claims = out;
done:
    if (col_fresh)
        asps_dcap_collateral_free(c);
    if (chain_fresh)
        asps_dcap_chain_free(ch);
    return e;
}

/* TEMPORARY (issue 16, part A1 replaces it): collateral-only verification. */
asps_err asps_verify_collateral(asps_verifier *v, const asps_collateral *col, asps_errbuf *eb)
{
    (void)v;
    (void)col;
    return asps_fail(eb, ASPS_E_UNSUPPORTED, "verify: collateral-only verification not built yet");
}
