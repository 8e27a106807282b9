/* asps/verify.h: DCAP quote verification.
 *
 * A verifier holds the trust anchors (the Intel SGX Root CA built in, and
 * trusted by its key as Intel's QvE trusts it: any issue of that certificate
 * with Intel's root key, self-signed and valid at the verification time;
 * other roots only when the caller adds them, as those exact certificates)
 * and caches: collateral that already
 * verified (keyed by the SHA-256 of its exact bytes, valid until its earliest
 * expiry), PCK chains that already verified (keyed by their exact bytes) and
 * QE report signatures that verified (the PCK key, QE report and signature
 * compared whole: a platform's QE puts the same signed QE report in every
 * quote until its attestation key changes; at most 64, least recently used
 * dropped first). Per-quote work (quote signature, report-data binding, QE
 * identity, validity, revocation, TCB matching) is done on every call. A
 * verifier is not thread-safe; use one per thread or lock around it.
 */
#ifndef ASPS_VERIFY_H
#define ASPS_VERIFY_H

#include <stdint.h>
#include <stddef.h>

#include "asps/claims.h"
#include "asps/collateral.h"
#include "asps/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asps_verifier asps_verifier;

/* New verifier trusting the Intel SGX Root CA (by its key) only. */
asps_err asps_verifier_new(asps_verifier **out, asps_errbuf *eb);
void asps_verifier_free(asps_verifier *v);

/* Trust another root (DER or PEM). Results through it say simulated=1. */
asps_err asps_verifier_add_root(asps_verifier *v, const uint8_t *cert, size_t len,
                                asps_errbuf *eb);
/* The same from a file (DER or PEM, at most 64 KiB). */
asps_err asps_verifier_add_root_file(asps_verifier *v, const char *path, asps_errbuf *eb);
/* Stop trusting the built-in Intel root (tests, closed deployments). */
void asps_verifier_drop_intel_root(asps_verifier *v);
/* Turn the collateral, PCK chain and QE report signature caches on
 * (default) or off; either way they are emptied. Verdicts are the same. */
void asps_verifier_set_cache(asps_verifier *v, int on);

/* Which TCB info makes the verdict when the collateral holds both update
 * sets: 0 standard (default), 1 early. Whichever it is, a standard set whose
 * successor (the early set's evaluation data number) has reached its
 * standard date (its tcbRecoveryEventDate + 12 months, from the
 * evaluation data numbers list) is replaced by that successor: Intel serves
 * it as standard by then. The other set is evaluated as claims->forecast. */
void asps_verifier_set_tcb_update(asps_verifier *v, int early);
/* Accept TCB info, QE identity and CRLs up to SECONDS past their nextUpdate
 * (0, the default: not at all). Such results say collateral_stale with the
 * age. Certificates are never accepted past their notAfter. */
void asps_verifier_set_max_stale(asps_verifier *v, int64_t seconds);

/* Verify the collateral alone, without a quote: issuer chains to a trusted
 * root, CRLs, and the signatures of the TCB info(s), QE identity and
 * evaluation data numbers list over their exact bytes; no dates. For a disk
 * cache read back (nothing read from disk is trusted). Errors as
 * asps_verify_quote's collateral errors. */
asps_err asps_verify_collateral(asps_verifier *v, const asps_collateral *col, asps_errbuf *eb);

/* The quote's PCK certificate chain alone, before any collateral: parsed
 * from the quote (certification data type 5, as asps_verify_quote reads
 * it), then its roles, signatures, trusted root and the PCK certificate's
 * SGX extension, as asps_verify_quote checks them (and kept in V's store
 * by the chain's exact bytes, so a later asps_verify_quote on V does not
 * repeat it; the trust object vets with a verifier of its own, so a new
 * chain's two signatures are checked there and again by the verifier that
 * verifies the quote); not revocation (the CRLs are collateral's) and
 * nothing else of the quote. For a relying party that fetches collateral
 * per platform: the FMSPC it would fetch for is then one a trusted root
 * vouched for, not any a client wrote. Errors: those of asps_quote_parse,
 * ASPS_E_UNSUPPORTED (not Intel's QE), ASPS_E_ROOT_UNTRUSTED, ASPS_E_CHAIN,
 * ASPS_E_PCK_EXTENSION, ASPS_E_PARSE. */
asps_err asps_verify_pck_chain(asps_verifier *v, const uint8_t *quote, size_t len,
                               asps_errbuf *eb);

/* Verify QUOTE with COL at unix time AT. On ASPS_OK *claims is filled
 * (also on ASPS_E_TCB_REVOKED, for the caller's log).
 * When the collateral itself is at fault (it does not verify: its chains,
 * signatures, CRLs; or it is out of date), the message begins with
 * ASPS_COLLATERAL_ERR_PREFIX: the error is the collateral source's, not the
 * quote's (the code says which check failed, as for the quote). */
#define ASPS_COLLATERAL_ERR_PREFIX "collateral: "
asps_err asps_verify_quote(asps_verifier *v, const uint8_t *quote, size_t quote_len,
                           const asps_collateral *col, int64_t at,
                           asps_claims *claims, asps_errbuf *eb);

/* What a quote's collateral depends on, read from its PCK certificate
 * without verifying anything: TEE type, FMSPC and the PCK CA ("processor"
 * or "platform", the `ca` parameter of the PCCS pckcrl endpoint).
 * ASPS_E_UNSUPPORTED for a quote with no PCK chain (certification data
 * types 1-4). */
asps_err asps_quote_platform(const uint8_t *quote, size_t quote_len, asps_tee *tee,
                             uint8_t fmspc[6], char ca[16], asps_errbuf *eb);

/* The DER of the built-in Intel SGX Root CA. */
const uint8_t *asps_intel_root_ca_der(size_t *len);

#ifdef __cplusplus
}
#endif
#endif
