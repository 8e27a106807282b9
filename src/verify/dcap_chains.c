/* dcap_chains.c: the checks of a DCAP verification that depend only on the
 * collateral, only on the quote's PCK chain, or only on the platform's QE
 * report and PCK key (its signature), done once per verifier and kept in
 * its store (dcap_chains.h); dcap.c runs them in QVL's order with
 * the per-quote steps. Certificates from quotes and collateral are decoded
 * by parse/x509.c (P-256 keys only, the one key type of Intel's PKI: a
 * certificate with any other key has none, and no check here accepts it).
 * Trusts: the store's roots (store.c), nothing else. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "dcap_chains.h"
#include "store.h"
#include "util.h"
#include "x509.h"

#define MAX_CHAIN_CERTS 8

/* ---- small OpenSSL helpers ------------------------------------------------ */


/* Certificates from quotes and collateral are decoded by x509.c (structure
 * without OpenSSL 3.0's per-call key decoder; P-256 keys only, the one key
 * type of Intel's PKI: a certificate with any other key has none, and no
 * check here accepts it). */

/* The extensions Intel's QVL requires on every certificate it reads
 * (AttestationParsers X509Constants.h REQUIRED_X509_EXTENSIONS, checked by
 * x509::Certificate's constructor in Certificate.cpp, setExtensions; the
 * CRL distribution points once more in setCrlDistributionPoint). QvE reads
 * through that constructor every certificate of the quote's PCK chain and of
 * the TCB info, QE identity and PCK CRL issuer chains (CertificateChain::
 * parse, from sgx_qve_verify_quote and qve_get_collateral_dates), and refuses
 * the quote when one lacks any of them. Presence is all QVL checks: it keeps
 * the CRL distribution point's printed text and never reads the URI, so
 * neither does asps (no CRL is fetched from it; CRLs come with the
 * collateral).
 *
 * The rule is Intel's certificate profile, so asps holds to it the chains
 * whose root carries Intel's root key, the only ones QVL can judge (checked
 * before the root's signature, as QVL parses before it trusts). A chain under a
 * root the operator named (--root-ca, trust.roots, a simulated platform) is
 * that operator's PKI: its profile is theirs, and simulated folders made
 * before the simulated PKI carried these extensions keep verifying. The
 * simulated PKI writes them anyway, as Intel's certificates carry them
 * (test_sim compares the two). */
static const struct {
    int nid;
    const char *name;
} REQUIRED_EXTENSIONS[] = {
    {NID_authority_key_identifier, "Authority Key Identifier"},
    {NID_crl_distribution_points, "CRL Distribution Points"},
    {NID_subject_key_identifier, "Subject Key Identifier"},
    {NID_key_usage, "Key Usage"},
    {NID_basic_constraints, "Basic Constraints"},
};

static asps_err required_extensions(X509 *c, const char *what, asps_errbuf *eb)
{
    for (size_t i = 0; i < sizeof REQUIRED_EXTENSIONS / sizeof REQUIRED_EXTENSIONS[0]; i++)
        if (X509_get_ext_by_NID(c, REQUIRED_EXTENSIONS[i].nid, -1) < 0)
            return asps_fail(eb, ASPS_E_CHAIN,
                             "%s lacks the %s extension (Intel's QVL requires it on every "
                             "certificate of the PCK and collateral chains)",
                             what, REQUIRED_EXTENSIONS[i].name);
    return ASPS_OK;
}

/* Certificates this verification already holds, for asps_x509_pem_chain: a
 * certificate byte-identical to a trusted root or to KNOWN (already verified
 * in this run) is taken as that object instead of being decoded again, so
 * the checks below can tell "the same certificate" by pointer. */
typedef struct held {
    const asps_verifier *v;
    X509 *known;
} held;

static X509 *held_lookup(void *ctx, const uint8_t *der, size_t len)
{
    const held *h = ctx;
    X509 *found = asps_store_root_by_der(h->v, der, len);
    if (found)
        return found;
    if (h->known) {
        uint8_t *kd = NULL;
        int kl = i2d_X509(h->known, &kd);
        if (kl > 0 && (size_t)kl == len && !memcmp(der, kd, len))
            found = h->known;
        OPENSSL_free(kd);
    }
    return found;
}

static int parse_pem_chain(const asps_verifier *v, const char *pem, size_t len, X509 *known,
                           X509 **out, int *n)
{
    held h = {v, known};
    *n = asps_x509_pem_chain(pem, len, held_lookup, &h, out, MAX_CHAIN_CERTS);
    return *n > 0;
}

static int cert_window(X509 *c, asps_validity_window *w, asps_err code, const char *what)
{
    w->code = code;
    w->what = what;
    w->stale_ok = 0; /* certificates are never used past notAfter */
    return asps_x509_validity(c, &w->not_before, &w->not_after);
}

static int crl_window(X509_CRL *c, asps_validity_window *w, const char *what)
{
    w->code = ASPS_E_CRL_EXPIRED;
    w->what = what;
    w->stale_ok = 1;
    return asps_x509_crl_dates(c, &w->not_before, &w->not_after);
}

/* ---- what the store keeps ----------------------------------------------------- */

void asps_dcap_collateral_free(void *p)
{
    asps_verified_collateral *c = p;
    if (!c)
        return;
    X509_CRL_free(c->root_crl);
    X509_CRL_free(c->pck_crl);
    X509_free(c->pck_ca);
    X509_free(c->tcb_signer);
    X509_free(c->root_cert);
    X509_free(c->numbers_signer);
    asps_dcap_tcb_info_clear(&c->tcb);
    asps_dcap_tcb_info_clear(&c->early);
    asps_dcap_qe_identity_clear(&c->qe);
    free(c);
}

void asps_dcap_chain_free(void *p)
{
    asps_verified_chain *c = p;
    if (!c)
        return;
    X509_free(c->leaf);
    X509_free(c->ca);
    free(c->pem);
    free(c);
}

/* ---- collateral ------------------------------------------------------------- */

/* An issuer chain from the collateral: 2 certificates, the self-issued one
 * a trusted root, the other (named WHAT_LEAF in errors) signed by it; both
 * with QVL's required extensions and their validity windows recorded.
 * Returns the non-root certificate, the root (when ROOT_OUT is given) and
 * the root's anchor index. */
static asps_err collateral_chain(asps_verifier *v, const char *pem, const char *what,
                                 const char *what_leaf, const char *root_what,
                                 const char *leaf_phrase, X509 *known, X509 **leaf, X509 **root_out,
                                 int *root_idx, asps_validity_window *win, int *n_win,
                                 asps_errbuf *eb)
{
    X509 *c[MAX_CHAIN_CERTS];
    int n;
    if (!parse_pem_chain(v, pem, strlen(pem), known, c, &n))
        return asps_fail(eb, ASPS_E_PARSE, "%s: no PEM certificate", what);
    asps_err e = ASPS_OK;
    X509 *root = NULL, *other = NULL;
    if (n != 2) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: expected 2 certificates, got %d", what, n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (asps_x509_self_issued(c[i]) && !root)
            root = c[i];
        else if (!other)
            other = c[i];
    }
    if (!root || !other) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: no root CA in chain", what);
        goto out;
    }
    if (asps_store_intel_key(v, root) &&
        ((e = required_extensions(other, what_leaf, eb)) != ASPS_OK ||
         (e = required_extensions(root, root_what, eb)) != ASPS_OK))
        goto out;
    int idx = asps_store_find_root(v, root);
    if (idx < 0) {
        e = asps_fail(eb, ASPS_E_ROOT_UNTRUSTED, "%s: chain does not end at a trusted root CA", what);
        goto out;
    }
    if (!asps_x509_cn_contains(X509_get_subject_name(root), "SGX Root CA")) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: root CA name lacks \"SGX Root CA\"", what);
        goto out;
    }
    if (!asps_x509_cn_contains(X509_get_subject_name(other), leaf_phrase)) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: certificate is not an \"%s\"", what, leaf_phrase);
        goto out;
    }
    /* Byte-identical to a certificate this verification already checked?
     * (parse_pem_chain then hands back that very object.) */
    if (!(known && other == known) && !asps_x509_signed_by(other, root)) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: certificate not signed by the root CA", what);
        goto out;
    }
    if (*root_idx >= 0 && *root_idx != idx) {
        e = asps_fail(eb, ASPS_E_CHAIN, "%s: chains end at different roots", what);
        goto out;
    }
    *root_idx = idx;
    if (!cert_window(other, &win[(*n_win)++], ASPS_E_CERT_EXPIRED, what) ||
        !cert_window(root, &win[(*n_win)++], ASPS_E_CERT_EXPIRED, root_what)) {
        e = asps_fail(eb, ASPS_E_PARSE, "%s: unreadable validity", what);
        goto out;
    }
    X509_up_ref(other);
    *leaf = other;
    if (root_out) {
        X509_up_ref(root);
        *root_out = root;
    }
out:
    asps_x509_chain_free(c, n);
    return e;
}

/* QVL's PckCrlVerifier::verify: issuer is the CA, the CRL carries CRL number
 * and authority key identifier, and the CA signed it. */
static asps_err check_crl(X509_CRL *crl, X509 *ca, const char *what, asps_errbuf *eb)
{
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0)
        return asps_fail(eb, ASPS_E_CRL_ISSUER, "%s: issuer is not the expected CA", what);
    if (X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1) < 0 ||
        X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier, -1) < 0)
        return asps_fail(eb, ASPS_E_CRL_ISSUER,
                         "%s: missing CRL number or authority key identifier", what);
    if (!asps_x509_crl_signed_by(crl, ca))
        return asps_fail(eb, ASPS_E_CRL_SIGNATURE, "%s: signature does not verify", what);
    return ASPS_OK;
}

/* Collateral chains: the TCB info, QE identity and PCK CRL issuer chains
 * to one trusted root, one TCB signing key for both signed bodies. */
static asps_err collateral_chains(asps_verifier *v, const asps_collateral *col,
                                  asps_verified_collateral *c, asps_errbuf *eb)
{
    int root = -1;
    ASPS_TRY(collateral_chain(v, col->tcb_info_issuer_chain, "TCB info issuer chain",
                              "TCB info issuer chain: TCB signing certificate",
                              "TCB info issuer chain root CA", "SGX TCB Signing", NULL,
                              &c->tcb_signer, &c->root_cert, &root, c->win, &c->n_win, eb));
    X509 *qe_signer = NULL;
    if (strcmp(col->qe_identity_issuer_chain, col->tcb_info_issuer_chain) == 0) {
        /* The same text (as PCS and PCCS send it) checks out the same: the
         * chain just verified. */
        X509_up_ref(c->tcb_signer);
        qe_signer = c->tcb_signer;
    } else {
        asps_err e = collateral_chain(v, col->qe_identity_issuer_chain, "QE identity issuer chain",
                                      "QE identity issuer chain: TCB signing certificate",
                                      "QE identity issuer chain root CA", "SGX TCB Signing",
                                      c->tcb_signer, &qe_signer, NULL, &root, c->win, &c->n_win,
                                      eb);
        if (e != ASPS_OK)
            return e;
    }
    /* Intel signs both with the same TCB signing key; require it, so one
     * revocation check and one key serve both. */
    int same = EVP_PKEY_eq(asps_x509_key(qe_signer), asps_x509_key(c->tcb_signer)) == 1;
    X509_free(qe_signer);
    if (!same)
        return asps_fail(eb, ASPS_E_CHAIN,
                         "QE identity issuer chain: signer differs from the TCB info signer");
    ASPS_TRY(collateral_chain(v, col->pck_crl_issuer_chain, "PCK CRL issuer chain",
                              "PCK CRL issuer chain: PCK CA certificate",
                              "PCK CRL issuer chain root CA", "CA",
                              NULL, &c->pck_ca, NULL, &root, c->win, &c->n_win, eb));
    /* The numbers list: its own issuer chain (the TCB-Evaluation-Data-
     * Numbers-Issuer-Chain header), a TCB signing certificate under the same
     * root; the same text as the TCB info's is the chain just verified. */
    if (col->tcb_eval_numbers) {
        if (strcmp(col->tcb_eval_numbers_issuer_chain, col->tcb_info_issuer_chain) == 0) {
            X509_up_ref(c->tcb_signer);
            c->numbers_signer = c->tcb_signer;
        } else {
            ASPS_TRY(collateral_chain(
                v, col->tcb_eval_numbers_issuer_chain,
                "TCB evaluation data numbers issuer chain",
                "TCB evaluation data numbers issuer chain: TCB signing certificate",
                "TCB evaluation data numbers issuer chain root CA", "SGX TCB Signing",
                c->tcb_signer, &c->numbers_signer, NULL, &root, c->win, &c->n_win, eb));
        }
    }
    c->root = root;
    return ASPS_OK;
}

/* Collateral CRLs: the root CA CRL (issued and signed by the root) and the
 * PCK CRL (by the PCK CA), their dates, and neither the TCB signing
 * certificate nor the PCK CA revoked. */
static asps_err collateral_crls(const asps_collateral *col, asps_verified_collateral *c,
                                asps_errbuf *eb)
{
    /* The root CA CRL is checked against the TCB info chain's root (QVL
     * TCBSigningChain::verify); every issue of a root has the same name and
     * key, so this is the same check for the others. */
    X509 *rootc = c->root_cert;

    c->root_crl = asps_x509_crl_decode(col->root_ca_crl, col->root_ca_crl_len);
    if (!c->root_crl)
        return asps_fail(eb, ASPS_E_PARSE, "root CA CRL: not a DER CRL");
    ASPS_TRY(check_crl(c->root_crl, rootc, "root CA CRL", eb));
    if (!crl_window(c->root_crl, &c->win[c->n_win++], "root CA CRL"))
        return asps_fail(eb, ASPS_E_PARSE, "root CA CRL: unreadable dates");
    c->pck_crl = asps_x509_crl_decode(col->pck_crl, col->pck_crl_len);
    if (!c->pck_crl)
        return asps_fail(eb, ASPS_E_PARSE, "PCK CRL: not a DER CRL");
    if (!asps_x509_cn_contains(X509_CRL_get_issuer(c->pck_crl), "CA"))
        return asps_fail(eb, ASPS_E_CRL_ISSUER, "PCK CRL: issuer is not a CA");
    ASPS_TRY(check_crl(c->pck_crl, c->pck_ca, "PCK CRL", eb));
    if (!crl_window(c->pck_crl, &c->win[c->n_win++], "PCK CRL"))
        return asps_fail(eb, ASPS_E_PARSE, "PCK CRL: unreadable dates");
    if (asps_x509_revoked(c->root_crl, c->tcb_signer))
        return asps_fail(eb, ASPS_E_CERT_REVOKED, "TCB signing certificate is revoked");
    if (asps_x509_revoked(c->root_crl, c->pck_ca))
        return asps_fail(eb, ASPS_E_CERT_REVOKED, "PCK CA certificate is revoked");
    if (c->numbers_signer && asps_x509_revoked(c->root_crl, c->numbers_signer))
        return asps_fail(eb, ASPS_E_CERT_REVOKED,
                         "TCB evaluation data numbers signing certificate is revoked");
    return ASPS_OK;
}

/* The update=early TCB info: signed by the TCB signing key like the
 * standard one (same issuer chain), for the same TEE, FMSPC and PCE ID, at
 * an evaluation data number not below the standard one's (Intel's early set
 * runs ahead of the standard set, never behind it). */
static asps_err collateral_early(const asps_collateral *col, asps_verified_collateral *c,
                                 EVP_PKEY *tk, asps_errbuf *eb)
{
    if (!asps_x509_ecdsa_verify_raw(tk, col->tcb_info_early_sig,
                                    (const uint8_t *)col->tcb_info_early, col->tcb_info_early_len))
        return asps_fail(eb, ASPS_E_TCB_INFO_SIGNATURE,
                         "TCB info (update=early): signature does not verify with the TCB "
                         "signing key");
    asps_err e = asps_dcap_parse_tcb_info(col->tcb_info_early, col->tcb_info_early_len, &c->early,
                                          eb);
    if (e != ASPS_OK) {
        asps_err_prefix(eb, "update=early ");
        return e;
    }
    c->has_early = 1;
    if (c->early.is_tdx != c->tcb.is_tdx || memcmp(c->early.fmspc, c->tcb.fmspc, 6) != 0 ||
        memcmp(c->early.pce_id, c->tcb.pce_id, 2) != 0)
        return asps_fail(eb, ASPS_E_TCB_INFO_MISMATCH,
                         "TCB info (update=early): not for the standard TCB info's TEE, FMSPC "
                         "and PCE ID");
    if (c->early.tcb_evaluation_data_number < c->tcb.tcb_evaluation_data_number)
        return asps_fail(eb, ASPS_E_TCB_INFO_MISMATCH,
                         "TCB info (update=early): evaluation data number %u is below the "
                         "standard set's %u",
                         c->early.tcb_evaluation_data_number, c->tcb.tcb_evaluation_data_number);
    c->win[c->n_win++] = (asps_validity_window){c->early.issue_date, c->early.next_update,
                                                ASPS_E_TCB_INFO_EXPIRED,
                                                "TCB info (update=early)", 1};
    return ASPS_OK;
}

/* The TCB evaluation data numbers list: signed by its chain's TCB signing
 * key over its exact bytes, for the TCB info's TEE. */
static asps_err collateral_numbers(const asps_collateral *col, asps_verified_collateral *c,
                                   asps_errbuf *eb)
{
    if (!asps_x509_ecdsa_verify_raw(asps_x509_key(c->numbers_signer), col->tcb_eval_numbers_sig,
                                    (const uint8_t *)col->tcb_eval_numbers,
                                    col->tcb_eval_numbers_len))
        return asps_fail(eb, ASPS_E_TCB_INFO_SIGNATURE,
                         "TCB evaluation data numbers: signature does not verify with the TCB "
                         "signing key");
    ASPS_TRY(asps_dcap_parse_eval_numbers(col->tcb_eval_numbers, col->tcb_eval_numbers_len,
                                          &c->numbers, eb));
    c->has_numbers = 1;
    if (c->numbers.is_tdx != c->tcb.is_tdx)
        return asps_fail(eb, ASPS_E_TCB_INFO_MISMATCH,
                         "TCB evaluation data numbers are for %s, the TCB info for %s",
                         c->numbers.is_tdx ? "TDX" : "SGX", c->tcb.is_tdx ? "TDX" : "SGX");
    c->win[c->n_win++] = (asps_validity_window){c->numbers.issue_date, c->numbers.next_update,
                                                ASPS_E_TCB_INFO_EXPIRED,
                                                "TCB evaluation data numbers", 1};
    return ASPS_OK;
}

/* TCB info and QE identity: signatures by the TCB signing key over their
 * exact bytes, then parsed (the signature first: QVL parses nothing
 * unsigned) and their dates recorded. */
static asps_err collateral_bodies(const asps_collateral *col, asps_verified_collateral *c,
                                  asps_errbuf *eb)
{
    EVP_PKEY *tk = asps_x509_key(c->tcb_signer);
    if (!asps_x509_ecdsa_verify_raw(tk, col->tcb_info_sig, (const uint8_t *)col->tcb_info,
                                    col->tcb_info_len))
        return asps_fail(eb, ASPS_E_TCB_INFO_SIGNATURE,
                         "TCB info: signature does not verify with the TCB signing key");
    if (!asps_x509_ecdsa_verify_raw(tk, col->qe_identity_sig, (const uint8_t *)col->qe_identity,
                                    col->qe_identity_len))
        return asps_fail(eb, ASPS_E_QE_IDENTITY_SIGNATURE,
                         "QE identity: signature does not verify with the TCB signing key");
    ASPS_TRY(asps_dcap_parse_tcb_info(col->tcb_info, col->tcb_info_len, &c->tcb, eb));
    ASPS_TRY(asps_dcap_parse_qe_identity(col->qe_identity, col->qe_identity_len, &c->qe, eb));
    c->win[c->n_win++] = (asps_validity_window){c->tcb.issue_date, c->tcb.next_update,
                                                ASPS_E_TCB_INFO_EXPIRED, "TCB info", 1};
    c->win[c->n_win++] = (asps_validity_window){c->qe.issue_date, c->qe.next_update,
                                                ASPS_E_QE_IDENTITY_EXPIRED, "QE identity", 1};
    if (col->tcb_info_early)
        ASPS_TRY(collateral_early(col, c, tk, eb));
    if (col->tcb_eval_numbers)
        ASPS_TRY(collateral_numbers(col, c, eb));
    return ASPS_OK;
}

static asps_err verify_collateral(asps_verifier *v, const void *arg, void *value,
                                  asps_errbuf *eb)
{
    const asps_collateral *col = arg;
    ASPS_TRY(collateral_chains(v, col, value, eb));
    ASPS_TRY(collateral_crls(col, value, eb));
    return collateral_bodies(col, value, eb);
}

asps_verified_collateral *asps_dcap_verified_collateral(asps_verifier *v,
                                                        const asps_collateral *col, int *fresh,
                                                        asps_errbuf *eb, asps_err *e)
{
    return asps_store_verified(v, ASPS_STORE_COLLATERAL, col->digest,
                               sizeof(asps_verified_collateral), verify_collateral, col,
                               asps_dcap_collateral_free, fresh, eb, e);
}

/* ---- PCK chain from the quote ---------------------------------------------- */

static asps_err verify_pck_chain(asps_verifier *v, const asps_quote *q, X509 *known_ca,
                                 asps_verified_chain *ch, asps_errbuf *eb)
{
    X509 *c[MAX_CHAIN_CERTS];
    int n;
    if (!parse_pem_chain(v, (const char *)q->pck_chain, q->pck_chain_len, known_ca, c, &n))
        return asps_fail(eb, ASPS_E_PARSE, "PCK chain: no PEM certificate in the quote");
    asps_err e = ASPS_OK;
    X509 *root = NULL, *ca = NULL, *leaf = NULL;
    if (n != 3) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain: expected 3 certificates, got %d", n);
        goto out;
    }
    /* roles as QVL's CertificateChain finds them */
    for (int i = 0; i < n; i++) {
        X509_NAME *s = X509_get_subject_name(c[i]);
        if (asps_x509_self_issued(c[i]) && asps_x509_cn_contains(s, "SGX Root CA") && !root)
            root = c[i];
        else if (asps_x509_cn_contains(s, "SGX PCK Certificate") && !leaf)
            leaf = c[i];
        else if (!asps_x509_self_issued(c[i]) && asps_x509_cn_contains(s, "CA") && !ca)
            ca = c[i];
    }
    if (!root || !ca || !leaf) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain: needs a root CA, a PCK CA and a PCK certificate");
        goto out;
    }
    /* The root must be a trusted one (asps_store_find_root: an installed certificate,
     * or any issue of Intel's root by its key); a PCK CA identical to the
     * one the collateral's chain proved was signed by that root needs no
     * second check. */
    if (asps_store_intel_key(v, root) &&
        ((e = required_extensions(leaf, "PCK chain: PCK certificate", eb)) != ASPS_OK ||
         (e = required_extensions(ca, "PCK chain: PCK CA certificate", eb)) != ASPS_OK ||
         (e = required_extensions(root, "PCK chain: root CA certificate", eb)) != ASPS_OK))
        goto out;
    ch->root = asps_store_find_root(v, root);
    if (ch->root < 0) {
        e = asps_fail(eb, ASPS_E_ROOT_UNTRUSTED, "PCK chain: does not end at a trusted root CA");
        goto out;
    }

    if (!(known_ca && ca == known_ca) && !asps_x509_signed_by(ca, root)) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain: PCK CA not signed by the root CA");
        goto out;
    }
    if (!asps_x509_signed_by(leaf, ca)) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain: PCK certificate not signed by the PCK CA");
        goto out;
    }
    int idx;
    ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    idx = oid ? X509_get_ext_by_OBJ(leaf, oid, -1) : -1;
    int idx2 = idx >= 0 ? X509_get_ext_by_OBJ(leaf, oid, idx) : -1;
    ASN1_OBJECT_free(oid);
    if (idx < 0 || idx2 >= 0) {
        e = asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK certificate: needs exactly one SGX extension");
        goto out;
    }
    ASN1_OCTET_STRING *val = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
    e = asps_dcap_parse_pck_ext(ASN1_STRING_get0_data(val), (size_t)ASN1_STRING_length(val),
                                &ch->ext, eb);
    if (e != ASPS_OK)
        goto out;
    if (!cert_window(root, &ch->win[0], ASPS_E_CERT_EXPIRED, "PCK chain root CA") ||
        !cert_window(ca, &ch->win[1], ASPS_E_CERT_EXPIRED, "PCK CA certificate") ||
        !cert_window(leaf, &ch->win[2], ASPS_E_CERT_EXPIRED, "PCK certificate")) {
        e = asps_fail(eb, ASPS_E_PARSE, "PCK chain: unreadable validity");
        goto out;
    }
    if (!(ch->pem = malloc(q->pck_chain_len))) {
        e = asps_fail(eb, ASPS_E_NOMEM, "verify: out of memory");
        goto out;
    }
    memcpy(ch->pem, q->pck_chain, q->pck_chain_len);
    ch->pem_len = q->pck_chain_len;
    X509_up_ref(leaf);
    X509_up_ref(ca);
    ch->leaf = leaf;
    ch->ca = ca;
    ch->leaf_key = asps_x509_key(leaf);
    if (!ch->leaf_key || EVP_PKEY_get_base_id(ch->leaf_key) != EVP_PKEY_EC) {
        e = asps_fail(eb, ASPS_E_CHAIN, "PCK certificate: key is not ECDSA");
        goto out;
    }
out:
    ERR_clear_error();
    asps_x509_chain_free(c, n);
    return e;
}

typedef struct pck_chain_arg {
    const asps_quote *q;
    X509 *known_ca;
} pck_chain_arg;

static asps_err verify_pck_chain_arg(asps_verifier *v, const void *arg, void *value,
                                     asps_errbuf *eb)
{
    const pck_chain_arg *a = arg;
    return verify_pck_chain(v, a->q, a->known_ca, value, eb);
}

asps_verified_chain *asps_dcap_verified_pck_chain(asps_verifier *v, const asps_quote *q,
                                                  X509 *known_ca, int *fresh, asps_errbuf *eb,
                                                  asps_err *e)
{
    uint8_t d[32];
    pck_chain_arg a = {q, known_ca};
    *fresh = 0;
    if (!asps_sha256(q->pck_chain, q->pck_chain_len, d)) {
        *e = asps_fail(eb, ASPS_E_INTERNAL, "SHA-256 failed");
        return NULL;
    }
    /* public certificates, no secret or measurement: memcmp, not the
     * byte-at-a-time constant-time compare (2 us over a 4 KB chain) */
    const asps_verified_chain *kept = asps_store_get(v, ASPS_STORE_PCK_CHAIN, d);
    if (kept && (kept->pem_len != q->pck_chain_len ||
                 memcmp(kept->pem, q->pck_chain, kept->pem_len) != 0)) {
        /* a slot under this digest with other bytes (SHA-256 collision):
         * not this chain; verified now and not kept, the slot stays */
        asps_verified_chain *ch = calloc(1, sizeof *ch);
        if (!ch) {
            *e = asps_fail(eb, ASPS_E_NOMEM, "verify: out of memory");
            return NULL;
        }
        if ((*e = verify_pck_chain(v, q, known_ca, ch, eb)) != ASPS_OK) {
            asps_dcap_chain_free(ch);
            return NULL;
        }
        *fresh = 1;
        return ch;
    }
    return asps_store_verified(v, ASPS_STORE_PCK_CHAIN, d, sizeof(asps_verified_chain),
                               verify_pck_chain_arg, &a, asps_dcap_chain_free, fresh, eb, e);
}

/* ---- QE report signature ------------------------------------------------------ */

/* A QE report signature that verified, kept in the store
 * (ASPS_STORE_QE_REPORT): the exact bytes it was checked over, PCK key
 * length (1 byte) || PCK key (the PCK certificate's subject public key bit
 * string, the bytes the key was built from) || QE report || signature. A
 * platform's QE signs one QE report per attestation key and its PCK key
 * signs it once, so every quote until the attestation key changes carries
 * these same bytes: the check is a pure function of them, and a hit is one
 * whose bytes compare equal whole (the digest only finds the slot). */

size_t asps_dcap_qe_sig_bytes(const asps_quote *q, X509 *pck_leaf,
                              uint8_t out[ASPS_QE_SIG_MAX])
{
    const ASN1_BIT_STRING *k = X509_get0_pubkey_bitstr(pck_leaf);
    if (!k || k->length <= 0 || k->length > ASPS_QE_SIG_KEY_MAX)
        return 0;
    size_t n = 0;
    out[n++] = (uint8_t)k->length;
    memcpy(out + n, k->data, (size_t)k->length);
    n += (size_t)k->length;
    memcpy(out + n, q->qe_report_raw, ASPS_SGX_REPORT_LEN);
    n += ASPS_SGX_REPORT_LEN;
    memcpy(out + n, q->qe_report_sig, 64);
    return n + 64;
}

int asps_dcap_qe_report_signed(asps_verifier *v, const asps_quote *q,
                               const asps_verified_chain *ch)
{
    uint8_t m[ASPS_QE_SIG_MAX], d[32];
    size_t n = asps_dcap_qe_sig_bytes(q, ch->leaf, m);
    if (n == 0 || !asps_sha256(m, n, d)) /* a key no P-256 point: not kept */
        return asps_x509_ecdsa_verify_raw(ch->leaf_key, q->qe_report_sig, q->qe_report_raw,
                                          ASPS_SGX_REPORT_LEN);
    const asps_qe_sig_kept *hit = asps_store_get(v, ASPS_STORE_QE_REPORT, d);
    if (hit && hit->len == n && CRYPTO_memcmp(hit->bytes, m, n) == 0)
        return 1;
    if (!asps_x509_ecdsa_verify_raw(ch->leaf_key, q->qe_report_sig, q->qe_report_raw,
                                    ASPS_SGX_REPORT_LEN))
        return 0;
    /* a slot under this digest with other bytes (SHA-256 collision) stays
     * as it is: the verdict just computed is not kept */
    asps_qe_sig_kept *keep = hit ? NULL : malloc(sizeof *keep + n);
    if (keep) {
        keep->len = n;
        memcpy(keep->bytes, m, n);
        if (!asps_store_put(v, ASPS_STORE_QE_REPORT, d, keep, free))
            free(keep); /* caching off */
    }
    return 1;
}
