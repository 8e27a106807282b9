/* asps/pccs.h: collateral from a PCCS (Intel's Provisioning Certificate
 * Caching Service, v4 API) over HTTPS with libcurl, cached per (TEE, FMSPC,
 * PCK CA) until the earliest nextUpdate of what was fetched.
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
 *   GET {base}/sgx/certification/v4/rootcacrl
 *       body: the root CA CRL, hex-encoded DER (PCCS) or DER
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

/* The collateral for (tee, fmspc, ca) valid at NOW, from the cache or
 * fetched; *out is the caller's to free. Unreachable, refused or malformed
 * answers are ASPS_E_UNAVAILABLE or ASPS_E_PARSE with the endpoint named. */
asps_err asps_pccs_get_collateral(asps_pccs *p, asps_tee tee, const uint8_t fmspc[6],
                                  const char *ca, int64_t now, asps_collateral **out,
                                  asps_errbuf *eb);

/* 0 when the last fetch failed and no cached collateral is fresh at NOW
 * (nothing can be verified until the PCCS answers again), else 1. */
int asps_pccs_ready(asps_pccs *p, int64_t now);

/* Requests sent so far (for tests and metrics). */
unsigned long asps_pccs_requests(const asps_pccs *p);

#ifdef __cplusplus
}
#endif
#endif
