/* asps/pccs.h: collateral from a PCCS (Intel's Provisioning Certificate
 * Caching Service, v4 API) or Intel's PCS over HTTPS with libcurl. It
 * fetches and holds nothing: the collateral source (source.h) holds what
 * was fetched per platform until its nextUpdate.
 *
 *   GET {base}/sgx/certification/v4/pckcrl?ca=processor|platform&encoding=der
 *       body: DER CRL (PEM or hex also accepted); header SGX-PCK-CRL-Issuer-Chain
 *       (URL-encoded PEM)
 *   GET {base}/sgx|tdx/certification/v4/tcb?fmspc=HEX
 *       body: {"tcbInfo": {...}, "signature": "hex"}; header TCB-Info-Issuer-Chain
 *       (or SGX-TCB-Info-Issuer-Chain)
 *   GET {base}/sgx|tdx/certification/v4/qe/identity
 *       body: {"enclaveIdentity": {...}, "signature": "hex"}; header
 *       SGX-Enclave-Identity-Issuer-Chain
 *   GET {base}/sgx|tdx/certification/v4/tcb?fmspc=HEX&update=early
 *       the same for Intel's early update set; 404: not offered (optional)
 *   GET {base}/sgx|tdx/certification/v4/tcbevaluationdatanumbers
 *       body: {"tcbEvaluationDataNumbers": {...}, "signature": "hex"};
 *       header TCB-Evaluation-Data-Numbers-Issuer-Chain; 404: not offered
 *   GET {base}/sgx/certification/v4/rootcacrl
 *       body: the root CA CRL, hex-encoded DER (PCCS) or DER; from Intel's
 *       PCS (base https://api.trustedservices.intel.com, which has no such
 *       endpoint) the root certificate's CRL distribution point instead,
 *       https://certificates.trustedservices.intel.com/IntelSGXRootCA.der
 * The signed bodies are taken from the responses byte for byte (never
 * re-serialised). TLS peer verification is always on. Thread-safe.
 */
#ifndef ASPS_PCCS_H
#define ASPS_PCCS_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/collateral.h"
#include "asps/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asps_pccs asps_pccs;

typedef struct asps_pccs_opts {
    const char *ca_file;   /* CAs for the PCCS's TLS certificate; NULL = system */
    long timeout_ms;       /* per request (default 5000) */
    int max_retries;       /* for 5xx and transport errors (0 = default 2, <0 none) */
} asps_pccs_opts;

asps_err asps_pccs_new(const char *base_url, const asps_pccs_opts *o, asps_pccs **out,
                       asps_errbuf *eb);
void asps_pccs_free(asps_pccs *p);

/* Fetch the collateral for (tee, fmspc, ca) now: the
 * four required parts and, when offered, the early TCB info and the
 * evaluation data numbers list (a 404 for those two: not held; any other
 * failure of theirs fails the set). *next_update is the earliest nextUpdate
 * of the TCB info, QE identity and both CRLs (0 when a date does not read).
 * Sets the PCCS's up/down state (depstate.h) unless P is in a set
 * (asps_pccs_set_in_set); *out is the caller's to free. Errors:
 * unreachable, refused or malformed answers are ASPS_E_UNAVAILABLE or
 * ASPS_E_PARSE with the endpoint named; ASPS_E_ARG for a CA other than
 * processor or platform. */
asps_err asps_pccs_fetch(asps_pccs *p, asps_tee tee, const uint8_t fmspc[6], const char *ca,
                         asps_collateral **out, int64_t *next_update, asps_errbuf *eb);

/* P is one of several URLs tried in order (collateral.pccs as a list):
 * its fetches no longer set the process's PCCS up/down state (depstate.h,
 * asps_pccs_up); the caller reports the set's outcome with
 * asps_pccs_report_set, so a first URL down and a second serving is not
 * logged as an outage and a recovery on every fetch. */
void asps_pccs_set_in_set(asps_pccs *p);
/* Report the outcome E (message EB) of a fetch through the set whose last
 * URL tried was P, on the thread that made that fetch: up when it served
 * (or answered a 4xx), down when every URL failed. */
void asps_pccs_report_set(const asps_pccs *p, asps_err e, const asps_errbuf *eb);

/* The base URL (no trailing slash). */
const char *asps_pccs_url(const asps_pccs *p);

/* 0 when the last fetch failed, else 1 (also before any fetch); whether
 * collateral held from an earlier fetch can still serve is the source's
 * question (asps_collateral_source_ready). */
int asps_pccs_ready(asps_pccs *p);

/* Requests sent so far (for tests and metrics). */
unsigned long asps_pccs_requests(const asps_pccs *p);

#ifdef __cplusplus
}
#endif
#endif
