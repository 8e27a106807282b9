/* asps/sim.h: the simulated SGX/TDX platform.
 *
 * A software test PKI shaped like Intel's (root CA, PCK platform CA, TCB
 * signing certificate, each with Intel's standard extensions in Intel's
 * order, CRL distribution points included, which Intel's QVL and asps
 * require; CRLs, TCB info, QE identity) that issues quotes and
 * collateral in exactly Intel's formats, so that the one real verifier checks
 * them. Every subject says "asps simulated". Nothing it signs verifies unless
 * the verifier is told to trust DIR/root_ca.der explicitly.
 *
 * DIR holds: root_ca.der (+ root_ca.pem), the keys (0600), and two collateral
 * bundles in the format of README.md ("Collateral bundle"):
 * collateral_sgx.json and collateral_tdx.json, each with the TCB evaluation
 * data numbers list (asps_sim_recover adds numbers), and the files the
 * PCK certificates need (pck_chain_*.pem, sgx_platform_ids).
 */
#ifndef ASPS_SIM_H
#define ASPS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/err.h"
#include "asps/evidence.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asps_sim asps_sim;

/* Create a new simulated platform in DIR (created 0700 if missing). */
asps_err asps_sim_init(const char *dir, asps_errbuf *eb);

/* The same with knobs for tests. */
typedef struct asps_sim_init_opts {
    int64_t now;              /* 0 = time(NULL); collateral is issued now - 1 day */
    int64_t collateral_days;  /* nextUpdate = now + this many days (0 = 30) */
    int revoke_pck_level;     /* index of a TCB level whose PCK certificate the
                                 PCK CRL revokes (level order: UpToDate,
                                 SWHardeningNeeded, ConfigurationAndSWHardening
                                 Needed, ConfigurationNeeded, OutOfDate,
                                 OutOfDateConfigurationNeeded, Revoked); -1 none */
} asps_sim_init_opts;
asps_err asps_sim_init_ex(const char *dir, const asps_sim_init_opts *o, asps_errbuf *eb);
/* Load an existing one. */
asps_err asps_sim_open(const char *dir, asps_sim **out, asps_errbuf *eb);
void asps_sim_free(asps_sim *s);

/* What the simulated enclave or TD claims to be. Zeroed = defaults. */
typedef struct asps_sim_identity {
    asps_tee tee;                 /* ASPS_TEE_SGX (default) or ASPS_TEE_TDX */
    uint8_t report_data[64];
    /* SGX */
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint16_t config_svn;
    int debug;                    /* SGX ATTRIBUTES.DEBUG / TD attributes DEBUG */
    /* TDX */
    uint8_t mr_td[48];
    uint8_t rtmr[4][48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    /* TDX: a TD report 1.5 body (in a v5 quote), and its TEE_TCB_SVN2 */
    int td15;
    uint8_t tee_tcb_svn2[16];
    /* the quote format version: 0 = SGX 3, TDX 4 (5 with td15); SGX takes
     * 3, 4 or 5, TDX 4 or 5. v5 quotes name their body type as Intel
     * numbers it (1 SGX enclave report, 2 TD report 1.0, 3 TD report 1.5). */
    uint16_t quote_version;
    /* which TCB level the platform's SVNs land on (default UpToDate): the
     * first (highest) level with this status in the TCB info of TCB
     * evaluation data number evaluation_data_number (0 = the newest the
     * platform has; so UpToDate at 1 after a recovery is the old top level,
     * OutOfDate under the newest) */
    asps_tcb_status tcb;
    uint32_t evaluation_data_number;
} asps_sim_identity;

/* TCB recovery: issue TCB evaluation data number N+1 for TEE (SGX or TDX)
 * in DIR, N being the platform's newest: a new top level (SVNs one above
 * the old top: SGX CPU SVN components 0-1, with its PCK certificate; TDX
 * TEE_TCB_SVN byte 2) with tcbDate DATE + 1 day, every older level demoted
 * as Intel demotes (UpToDate, SWHardeningNeeded -> OutOfDate;
 * Configuration*Needed -> OutOfDateConfigurationNeeded; OutOfDate*,
 * Revoked stay) and given the advisory "INTEL-SA-SIM-<N+1>". DATE is the
 * tcbRecoveryEventDate (unix seconds), later than number N's. The bundle
 * then holds tcb_info = number N (the standard set, until DATE + 12
 * months), tcb_info_early = number N+1, and the TCB evaluation data
 * numbers list 1..N+1 (tcb_evaluation_data_numbers, +_signature,
 * +_issuer_chain), every part signed by the TCB signing key; CRLs and QE
 * identity unchanged. *number = N+1. Errors: ASPS_E_ARG (DATE not after
 * number N's, more than 32 numbers), ASPS_E_IO / ASPS_E_PARSE (DIR is not
 * a simulated platform, or its bundle is not the sim's). */
asps_err asps_sim_recover(const char *dir, asps_tee tee, int64_t date, uint32_t *number,
                          asps_errbuf *eb);

/* Issue a quote for ID (SGX v3/v4/v5, TDX v4/v5 as ID asks); *quote is
 * malloc'd. ASPS_E_ARG for a version the TEE has not. */
asps_err asps_sim_quote(asps_sim *s, const asps_sim_identity *id, uint8_t **quote,
                        size_t *quote_len, asps_errbuf *eb);

/* Paths inside the sim folder. */
const char *asps_sim_dir(const asps_sim *s);
/* DIR/collateral_sgx.json or DIR/collateral_tdx.json into out. */
/* The simulated platform in DIR as an attester (asps/evidence.h, kind
 * "sim"): each quote is asps_sim_quote's for ID with the report data asked
 * for. Free with asps_attester_free. */
asps_err asps_sim_attester_new(const char *dir, const asps_sim_identity *id, asps_attester **out,
                               asps_errbuf *eb);

void asps_sim_collateral_path(const asps_sim *s, asps_tee tee, char *out, size_t outlen);
/* DIR/root_ca.der into out. */
void asps_sim_root_path(const asps_sim *s, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
