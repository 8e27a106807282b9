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
 *   check_qe_report: QE report signature by the PCK key (kept in the
 *     store by its exact bytes: the same in every quote of a platform until
 *     its attestation key changes), report data binding the attestation
 *     key (every call);
 *   check_qe_identity: MRSIGNER, ISVPRODID, masked MISCSELECT/ATTRIBUTES,
 *     the ISVSVN's TCB level;
 *   check_quote_signature: by the attestation key;
 *   tcb_level: TCB level and status convergence (dcap_tcb.c), under the
 *     verdict's TCB info (verdict_set: the configured update set, the
 *     standard one replaced by the early one once that has become standard);
 *   TCB recovery (not QVL's; README "Collateral bundle"): the forecast under
 *     the other update set, the demotion dates of the matched level, and
 *     collateral used past nextUpdate within max_stale (check_validity).
 * Trusts: the roots of the verifier's store (store.c: Intel's root by its
 * key, as QvE does, and the roots the caller installed as those exact
 * certificates). Every certificate of a chain under Intel's key must carry
 * QVL's five required extensions (CRL distribution points included). The
 * store caches collateral whose signatures verified (by digest), PCK
 * chains whose signatures verified (by exact bytes) and QE report
 * signatures that verified (by exact bytes); times, revocation and
 * everything per quote (quote signature, report data binding, QE identity,
 * TCB level) are checked on every call. General X.509 work
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

/* Every window contains AT; a signed body or CRL (stale_ok) may be up to
 * MAX_STALE seconds past its nextUpdate, *STALE then the most seconds any
 * is past. *EXPIRY the earliest end. */
static asps_err check_windows(const asps_validity_window *w, int n, int64_t at, int64_t max_stale,
                              int64_t *expiry, int64_t *stale, asps_errbuf *eb)
{
    for (int i = 0; i < n; i++) {
        int64_t past = at > w[i].not_after ? at - w[i].not_after : 0;
        if (at < w[i].not_before || (past > 0 && !(w[i].stale_ok && past <= max_stale))) {
            char a[32], b[32], c[32];
            asps_time_format(at, a);
            asps_time_format(w[i].not_before, b);
            asps_time_format(w[i].not_after, c);
            if (past > 0 && w[i].stale_ok && max_stale > 0)
                return asps_fail(eb, w[i].code,
                                 "%s is not valid at %s (valid %s to %s; %lld s past its "
                                 "nextUpdate, max_stale %lld s)",
                                 w[i].what, a, b, c, (long long)past, (long long)max_stale);
            return asps_fail(eb, w[i].code, "%s is not valid at %s (valid %s to %s)", w[i].what, a,
                             b, c);
        }
        if (past > *stale)
            *stale = past;
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
 * CRL, TCB info, QE identity (and, when held, early TCB info and numbers
 * list) of the collateral, at AT; *EXPIRES the earliest end among them.
 * Signed bodies and CRLs up to MAX_STALE past their nextUpdate pass, with
 * *STALE how far past (0: none). */
static asps_err check_validity(const asps_verified_collateral *c, const asps_verified_chain *ch,
                               int64_t at, int64_t max_stale, int64_t *expires, int64_t *stale,
                               asps_errbuf *eb)
{
    *expires = INT64_MAX;
    *stale = 0;
    ASPS_TRY(check_windows(ch->win, 3, at, 0, expires, stale, eb));
    asps_err e = check_windows(c->win, c->n_win, at, max_stale, expires, stale, eb);
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

/* QE report: signed by the PCK key (asps_dcap_qe_report_signed: kept in
 * the store by its exact bytes), and its report data
 * binding the attestation key: SHA-256(attestation key || QE authentication
 * data), computed on every call (one hash; the attestation key and QE
 * authentication data are not part of what is kept). */
static asps_err check_qe_report(asps_verifier *v, const asps_quote *q,
                                const asps_verified_chain *ch, asps_errbuf *eb)
{
    if (!asps_dcap_qe_report_signed(v, q, ch))
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
                          const asps_tcb_info *ti, const asps_verified_chain *ch,
                          const asps_quote *q,
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
    out->tcb_info_evaluation_data_number = ti->tcb_evaluation_data_number;
    out->qe_identity_evaluation_data_number = c->qe.tcb_evaluation_data_number;
    return asps_dcap_tcb_status(ti, &ch->ext, q, mod, qel, out, eb);
}

/* ---- TCB recovery: which update set, what the other says, when demoted ---------- */

/* When the numbers list says evaluation data number N becomes standard:
 * its tcbRecoveryEventDate + 12 months (Intel's PCS policy: the early set
 * carries N from that date, the standard set 12 months later); 0 when the
 * list is not held or does not name N. */
static int64_t standard_from(const asps_verified_collateral *c, uint32_t number)
{
    const asps_tcb_eval_number *n =
        c->has_numbers ? asps_dcap_eval_number_find(&c->numbers, number) : NULL;
    return n ? asps_dcap_add_months(n->tcb_recovery_event_date, 12) : 0;
}

/* The TCB info the verdict is made under and whether it follows the
 * update=early set: the configured set; a standard set whose early
 * successor has become standard at AT (numbers list) is that successor,
 * still under standard semantics. *OTHER the set to forecast with (NULL:
 * none: not held, or the two are one by AT). */
static const asps_tcb_info *verdict_set(const asps_verifier *v, const asps_verified_collateral *c,
                                        int64_t at, int *early, const asps_tcb_info **other)
{
    *early = 0;
    *other = NULL;
    if (!c->has_early)
        return &c->tcb;
    int64_t promoted = standard_from(c, c->early.tcb_evaluation_data_number);
    if (promoted != 0 && at >= promoted) { /* Intel serves it as standard by now */
        *early = asps_store_tcb_update_early(v);
        return &c->early;
    }
    if (asps_store_tcb_update_early(v)) {
        *early = 1;
        *other = &c->tcb;
        return &c->early;
    }
    *other = &c->early;
    return &c->tcb;
}

/* The status the quote gets under the other update set (scratch claims;
 * the verdict's are untouched): matched 0 when no level (or TDX module)
 * fits. effective_at only for an early set not yet standard at AT. */
static void forecast(const asps_verified_collateral *c, const asps_tcb_info *other,
                     int other_early, const asps_verified_chain *ch, const asps_quote *q,
                     const asps_isvsvn_level *qel, int64_t at, asps_claims *out)
{
    asps_tcb_forecast *f = &out->forecast;
    asps_claims *scratch = calloc(1, sizeof *scratch);
    asps_errbuf eb2;
    memset(f, 0, sizeof *f);
    if (!scratch)
        return; /* out of memory: no forecast, rather than a false "worse" */
    f->present = 1;
    f->early = other_early;
    f->evaluation_data_number = other->tcb_evaluation_data_number;
    const asps_tdx_module_identity *mod = NULL;
    asps_err e = ASPS_E_TDX_MODULE;
    if (!other->is_tdx || asps_dcap_check_tdx_module(other, q, &mod, &eb2) == ASPS_OK)
        e = asps_dcap_tcb_status(other, &ch->ext, q, mod, qel, scratch, &eb2);
    if (e == ASPS_OK || e == ASPS_E_TCB_REVOKED) {
        f->matched = 1;
        f->tcb_status = scratch->tcb_status;
    }
    free(scratch);
    f->worse = !f->matched ||
               asps_tcb_status_rank(f->tcb_status) > asps_tcb_status_rank(out->tcb_status);
    int64_t eff = other_early ? standard_from(c, other->tcb_evaluation_data_number) : 0;
    f->effective_at = eff > at ? eff : 0;
}

/* The TCB recovery that put the matched level below the top: the oldest
 * one newer than it, i.e. the nearest level above it with a later tcbDate
 * (levels of one date differ in configuration or hardening, not by a
 * recovery: a level with no later one above it was never demoted); that
 * tcbDate found in the numbers list (the entry with that tcbDate, else the
 * oldest entry with a later one) gives the tcbRecoveryEventDate; without
 * one, that tcbDate itself. demoted_at: the event date under the early
 * set, 12 months later under the standard. */
static void demotion(const asps_verified_collateral *c, const asps_tcb_info *ti,
                     const asps_verified_chain *ch, const asps_quote *q, asps_claims *out)
{
    long i = asps_dcap_matched_level(ti, &ch->ext, q);
    if (i <= 0)
        return; /* the top level (or none): not demoted */
    long above = i - 1;
    while (above >= 0 && ti->levels[above].tcb_date <= ti->levels[i].tcb_date)
        above--;
    if (above < 0)
        return; /* nothing newer above it: not demoted by a TCB recovery */
    int64_t d = ti->levels[above].tcb_date, event = d;
    const asps_tcb_eval_number *best = NULL;
    for (size_t k = 0; c->has_numbers && k < c->numbers.n; k++) {
        const asps_tcb_eval_number *n = &c->numbers.items[k];
        if (n->tcb_date == d) {
            best = n;
            break;
        }
        if (n->tcb_date > d && (!best || n->tcb_date < best->tcb_date))
            best = n;
    }
    if (best)
        event = best->tcb_recovery_event_date;
    out->tcb_recovery_event_date = event;
    out->demoted_at = out->tcb_update_early ? event : asps_dcap_add_months(event, 12);
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
    int64_t stale = 0;
    int early = 0;
    const asps_tcb_info *other = NULL, *ti = verdict_set(v, c, at, &early, &other);
    asps_verified_chain *ch = asps_dcap_verified_pck_chain(v, &q, c->pck_ca, &chain_fresh, eb, &e);
    if (!ch || (e = check_pck_revocation(c, ch, eb)) != ASPS_OK ||
        (e = check_validity(c, ch, at, asps_store_max_stale(v), &out.expires_at, &stale, eb)) !=
            ASPS_OK ||
        (e = check_tcb_info_fits(ti, &q, &ch->ext, &mod, eb)) != ASPS_OK ||
        (e = check_qe_report(v, &q, ch, eb)) != ASPS_OK ||
        (e = check_qe_identity(&c->qe, &q, &qel, eb)) != ASPS_OK ||
        (e = check_quote_signature(&q, eb)) != ASPS_OK)
        goto done;
    e = tcb_level(v, c, ti, ch, &q, mod, qel, &out, eb);
    /* A revoked status still reports what was found, for the caller's log. */
    if (e == ASPS_OK || e == ASPS_E_TCB_REVOKED) {
        out.tcb_update_early = early;
        out.collateral_stale = stale > 0;
        out.collateral_stale_seconds = stale;
        if (other)
            forecast(c, other, !early, ch, &q, qel, at, &out);
        demotion(c, ti, ch, &q, &out);
        /* what is behind: the QE too, and the components by Intel's names
         * (taken from the signed TCB info when it was parsed) */
        asps_dcap_qe_gap(&c->qe, q.qe_report.isv_svn, &out.gap);
        asps_dcap_gap_names(&out.gap, ti);
        *claims = out;
    }
done:
    if (col_fresh)
        asps_dcap_collateral_free(c);
    if (chain_fresh)
        asps_dcap_chain_free(ch);
    return e;
}

asps_err asps_verify_pck_chain(asps_verifier *v, const uint8_t *quote, size_t len,
                               asps_errbuf *eb)
{
    if (!v || !quote)
        return asps_fail(eb, ASPS_E_ARG, "verify: no verifier or quote");
    asps_quote q;
    ASPS_TRY(parse_quote(quote, len, &q, eb));
    int fresh = 0;
    asps_err e = ASPS_OK;
    asps_verified_chain *ch = asps_dcap_verified_pck_chain(v, &q, NULL, &fresh, eb, &e);
    if (ch && fresh)
        asps_dcap_chain_free(ch);
    return ch ? ASPS_OK : e;
}

/* Collateral alone: what asps_dcap_verified_collateral checks (chains,
 * CRLs, signatures, the optional parts' consistency), no dates: a set read
 * back from a disk cache proves it is Intel's (or the installed roots')
 * before anything trusts it. Kept in the store like any verified set. */
asps_err asps_verify_collateral(asps_verifier *v, const asps_collateral *col, asps_errbuf *eb)
{
    if (!v || !col)
        return asps_fail(eb, ASPS_E_ARG, "verify: no verifier or collateral");
    asps_err e = ASPS_OK;
    int fresh = 0;
    asps_verified_collateral *c = asps_dcap_verified_collateral(v, col, &fresh, eb, &e);
    if (!c) {
        asps_err_prefix(eb, ASPS_COLLATERAL_ERR_PREFIX);
        return e;
    }
    if (fresh)
        asps_dcap_collateral_free(c);
    return ASPS_OK;
}
