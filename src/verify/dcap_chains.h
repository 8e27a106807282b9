/* dcap_chains.h: what a DCAP verification checks once per verifier and the
 * store keeps (dcap_chains.c): the collateral (issuer chains, CRLs, signed
 * TCB info and QE identity) and the quote's PCK chain, each with the
 * validity windows that dcap.c checks on every call, and the QE report's
 * signature by the PCK key. Internal to verify/. */
#ifndef ASPS_DCAP_CHAINS_H
#define ASPS_DCAP_CHAINS_H

#include <openssl/x509.h>

#include "asps/verify.h"
#include "collateral_int.h"
#include "dcap_parse.h"
#include "quote.h"

/* A time window that must contain the verification time. STALE_OK: a
 * signed body or CRL (nextUpdate), which the verifier's max_stale may
 * stretch; certificates never. */
typedef struct asps_validity_window {
    int64_t not_before, not_after;
    asps_err code;
    const char *what;
    int stale_ok;
} asps_validity_window;

typedef struct asps_verified_collateral {
    int root;                  /* the anchor: index into the store's roots */
    X509_CRL *root_crl, *pck_crl;
    X509 *pck_ca;              /* issuer of the PCK CRL */
    X509 *tcb_signer;
    X509 *root_cert;           /* the TCB info issuer chain's root */
    asps_tcb_info tcb;
    asps_qe_identity qe;
    /* optional parts, each verified like the required ones when held */
    int has_early;             /* the update=early TCB info (same FMSPC, PCE ID, TEE) */
    asps_tcb_info early;
    int has_numbers;           /* the TCB evaluation data numbers list */
    asps_tcb_eval_numbers numbers;
    X509 *numbers_signer;      /* its issuer chain's TCB signing certificate */
    asps_validity_window win[20];
    int n_win;
} asps_verified_collateral;

typedef struct asps_verified_chain {
    uint8_t *pem;              /* the quote's PCK chain, the exact bytes verified */
    size_t pem_len;
    int root;                  /* the anchor, as above */
    X509 *leaf, *ca;
    EVP_PKEY *leaf_key;        /* owned via leaf; not freed separately */
    asps_pck_ext ext;
    asps_validity_window win[3];
} asps_verified_chain;

/* The collateral verified: from the verifier's store by its digest, or
 * verified now (collateral_chains, collateral_crls, collateral_bodies) and
 * kept when caching is on; otherwise *FRESH is set and the caller frees it
 * with asps_dcap_collateral_free. NULL with *E set (and EB) when it does not
 * verify. */
asps_verified_collateral *asps_dcap_verified_collateral(asps_verifier *v,
                                                        const asps_collateral *col, int *fresh,
                                                        asps_errbuf *eb, asps_err *e);

/* The quote's PCK chain verified (roles, signatures, a trusted root, QVL's
 * extensions, the SGX extension), as above: from the store (found by
 * SHA-256 of its PEM bytes, taken only when those bytes compare equal
 * whole), or verified now. KNOWN_CA, the PCK CA the collateral proved,
 * needs no second signature check when the chain carries it. */
asps_verified_chain *asps_dcap_verified_pck_chain(asps_verifier *v, const asps_quote *q,
                                                  X509 *known_ca, int *fresh, asps_errbuf *eb,
                                                  asps_err *e);

/* The QE report's signature verifies with the PCK certificate's key (CH's
 * leaf): a verdict kept in the verifier's store (ASPS_STORE_QE_REPORT) for
 * exactly these bytes, or one ECDSA verify, kept when it succeeds (a
 * refusal is checked again next time). 1 verifies, 0 does not. The report
 * data binding is not part of it: the caller checks it on every call. */
int asps_dcap_qe_report_signed(asps_verifier *v, const asps_quote *q,
                               const asps_verified_chain *ch);

/* What the store keeps for a QE report signature: the bytes it was
 * checked over (asps_dcap_qe_sig_bytes), under their SHA-256; a hit is a
 * slot whose bytes compare equal whole, not one whose digest does. */
#define ASPS_QE_SIG_KEY_MAX 255
#define ASPS_QE_SIG_MAX (1 + ASPS_QE_SIG_KEY_MAX + ASPS_SGX_REPORT_LEN + 64)
typedef struct asps_qe_sig_kept {
    size_t len;
    uint8_t bytes[];
} asps_qe_sig_kept;

/* PCK key length (1 byte) || PCK key (PCK_LEAF's subject public key bit
 * string) || Q's QE report || its signature into OUT; the length, or 0
 * when the key is empty or longer than ASPS_QE_SIG_KEY_MAX (not kept). */
size_t asps_dcap_qe_sig_bytes(const asps_quote *q, X509 *pck_leaf,
                              uint8_t out[ASPS_QE_SIG_MAX]);

void asps_dcap_collateral_free(void *c);
void asps_dcap_chain_free(void *c);

#endif
