/* collateral_int.h: the collateral struct, shared by collateral.c (which
 * parses its shape) and dcap.c (which verifies it). */
#ifndef ASPS_COLLATERAL_INT_H
#define ASPS_COLLATERAL_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "asps/collateral.h"

/* Bounds on each field; Intel's largest (a platform PCK CRL) is tens of KiB. */
#define ASPS_COLLATERAL_FIELD_MAX (4u << 20)
#define ASPS_COLLATERAL_FILE_MAX (16u << 20)

struct asps_collateral {
    char *pck_crl_issuer_chain;
    uint8_t *root_ca_crl;
    size_t root_ca_crl_len;
    uint8_t *pck_crl;
    size_t pck_crl_len;
    char *tcb_info_issuer_chain;
    char *tcb_info;            /* exact signed bytes, NUL-terminated */
    size_t tcb_info_len;
    uint8_t tcb_info_sig[64];
    char *qe_identity_issuer_chain;
    char *qe_identity;
    size_t qe_identity_len;
    uint8_t qe_identity_sig[64];
    /* Optional (NULL: not held), for TCB recovery: the update=early TCB info
     * (signed like tcb_info, same issuer chain) and the TCB evaluation data
     * numbers list with its own issuer chain. */
    char *tcb_info_early;      /* exact signed bytes, NUL-terminated */
    size_t tcb_info_early_len;
    uint8_t tcb_info_early_sig[64];
    char *tcb_eval_numbers_issuer_chain;
    char *tcb_eval_numbers;    /* exact signed bytes, NUL-terminated */
    size_t tcb_eval_numbers_len;
    uint8_t tcb_eval_numbers_sig[64];
    uint8_t digest[32];
    /* References beyond the first (asps_collateral__ref): the collateral
     * source hands its held set to each verification without copying it;
     * asps_collateral_free drops one reference and frees on the last. The
     * set is never changed after it is made, so sharing needs no lock. */
    _Atomic unsigned extra_refs;
};

/* Another reference to C (collateral.c): returns C; each reference is
 * dropped with asps_collateral_free. */
asps_collateral *asps_collateral__ref(asps_collateral *c);

#endif
