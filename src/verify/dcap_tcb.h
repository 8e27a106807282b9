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

/* The platform's TCB level and the final status ... also fill OUT->gap:
 * (asps_dcap_tcb_status does) the next level up from the matched one: the
 * nearest level listed before it (highest first) at or above it in every
 * SVN, else the one listed just before it: every sgxtcbcomponent, pcesvn and (TDX)
 * tdxtcbcomponent below it, named "sgxtcbcomponent N" and "tdxtcbcomponent
 * N (TEE_TCB_SVN byte N)" by 0-based index (asps_dcap_gap_names puts
 * Intel's names); the TDX module's ISVSVN against
 * the level above its own in its identity ("tdx module isvsvn"); the
 * matched level's advisory IDs the next one does not list (cleared).
 * next_status/next_tcb_date are the next platform level's; when only the
 * TDX module or QE is behind, next_status is that identity's next level's
 * and next_tcb_date 0. */

/* Add the QE's shortfall to GAP: ISVSVN against the QE identity level just
 * above the one it meets (levels listed highest first, as QVL reads them);
 * nothing when it meets the top one, or when GAP already names "qe isvsvn".
 * Call after asps_dcap_tcb_status. */
void asps_dcap_qe_gap(const asps_qe_identity *qe, uint16_t isvsvn, asps_tcb_gap *gap);

/* Name GAP's "sgxtcbcomponent N" / "tdxtcbcomponent N" shortfalls with the
 * "category" and "type" TCB info v3 gives that index (the first listed
 * level naming it, read once when T was parsed: sgx_names, tdx_names):
 * "sgxtcbcomponent 1 (OS/VMM: SGX Late Microcode Update)", in place of
 * "(TEE_TCB_SVN byte N)" for TDX; an index Intel does not name stays as it
 * is. T: the TCB info the verdict used. Names already given are kept. */
void asps_dcap_gap_names(asps_tcb_gap *gap, const asps_tcb_info *t);

/* The index in T's levels (highest first) of the platform level QvE's
 * getMatchingTcbLevel picks: SGX, the first level the PCK certificate's
 * CPU SVN components and PCE SVN reach; TDX, the first one the TEE TCB SVN
 * reaches too. -1 when none does. */
long asps_dcap_matched_level(const asps_tcb_info *t, const asps_pck_ext *x, const asps_quote *q);

#endif
