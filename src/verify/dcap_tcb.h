/* dcap_tcb.h: QVL's TCB rules (dcap_tcb.c), for dcap.c. Internal to
 * verify/. */
#ifndef ASPS_DCAP_TCB_H
#define ASPS_DCAP_TCB_H

#include "asps/claims.h"
#include "asps/err.h"
#include "dcap_parse.h"
#include "quote.h"

/* QVL 4.1.2.4.11: a TDX quote's module (MRSIGNERSEAM, SEAMATTRIBUTES)
 * against the TCB info; *MOD is the TDX module identity its version names
 * (NULL for version 0). ASPS_E_TDX_MODULE when it does not match. */
asps_err asps_dcap_check_tdx_module(const asps_tcb_info *t, const asps_quote *q,
                                   const asps_tdx_module_identity **mod, asps_errbuf *eb);

/* The QE identity's TCB level for the QE's ISVSVN (QVL: the first listed
 * level it meets), or NULL. */
const asps_isvsvn_level *asps_dcap_qe_level(const asps_qe_identity *qe, uint16_t isvsvn);

/* The platform's TCB level and the final status, converged with the TDX
 * module's and the QE's levels, into OUT (tcb_status, dates, advisory IDs).
 * ASPS_E_TCB_NOT_FOUND when no level matches, ASPS_E_TCB_REVOKED when the
 * status is Revoked (OUT filled all the same). */
asps_err asps_dcap_tcb_status(const asps_tcb_info *t, const asps_pck_ext *x, const asps_quote *q,
                              const asps_tdx_module_identity *mod, const asps_isvsvn_level *qel,
                              asps_claims *out, asps_errbuf *eb);

#endif
