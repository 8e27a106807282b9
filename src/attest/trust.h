/* trust.h: one trust object: an RA-TLS certificate (or a bare quote) ->
 * verified claims. It holds what a relying party trusts and where its
 * collateral comes from, once, for the server, the client, the Occlum
 * compat library and the command:
 *   roots       the Intel SGX Root CA (built in), plus a simulated
 *               platform's DIR/root_ca.der and root files the caller names
 *               (results through them say simulated);
 *   collateral  one collateral source (collateral/source.h);
 *   verifiers   a pool of asps_verifier, each with its warm caches; a
 *               verification takes an idle one, else waits for one in turn.
 * Owns all three. Thread-safe. Trusts nothing in the certificate until the
 * quote verifies and binds its key (asps_ratls_verify).
 */
#ifndef ASPS_TRUST_H
#define ASPS_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/err.h"
#include "source.h"

#define ASPS_TRUST_MAX_VERIFIERS 16

typedef struct asps_trust asps_trust;

typedef struct asps_trust_opts {
    const char *sim_root_dir;                 /* trust DIR/root_ca.der */
    const char *const *root_files;            /* and these roots (DER or PEM files) */
    size_t n_root_files;
    asps_collateral_source_opts collateral;   /* where collateral comes from (its
                                                 verify/verify_ctx are set here: a
                                                 verifier of these roots, for its
                                                 cache folder) */
    size_t verifiers;                         /* pool size: 0 = 1, at most 16 */
    int tcb_update_early;                     /* asps_verifier_set_tcb_update */
    int64_t max_stale;                        /* asps_verifier_set_max_stale (seconds) */
} asps_trust_opts;

/* Roots read, collateral files read (or the PCCS client set up), verifiers
 * made. Errors: a root that cannot be read or used says "trust: ..."
 * (ASPS_E_IO, ASPS_E_PARSE, ASPS_E_ARG); the collateral source's begin
 * "collateral: " (source.h). *out is the caller's (asps_trust_free). */
asps_err asps_trust_new(const asps_trust_opts *o, asps_trust **out, asps_errbuf *eb);
void asps_trust_free(asps_trust *t);

/* Whether the collateral source names nothing (see source.h). */
int asps_trust_no_collateral(const asps_trust *t);

/* Whether the collateral is fresh enough to verify at NOW: 1, or 0 and WHY
 * (asps_collateral_source_ready). */
int asps_trust_ready(asps_trust *t, int64_t now, char *why, size_t n);

/* CERT (DER or PEM, LEN bytes) -> CLAIMS at unix time AT: evidence
 * extracted, each quote verified with its collateral, the key binding
 * checked (asps_ratls_verify: its errors; collateral trouble marked with
 * ASPS_COLLATERAL_ERR_PREFIX). The certificate is decoded once, here;
 * claims->expires_at is the earliest of the collateral's expiry and the
 * certificate's notAfter, so a caller keeping the claims (the service's
 * claims cache) needs nothing else from the certificate. FLAGS: 0 for a
 * certificate from a file (everything checked), ASPS_RATLS_PEER for the
 * peer of a TLS handshake (asps_ratls_verify_ex: its self-signature not
 * checked again, one QE's second quote checked for its binding). */
asps_err asps_trust_verify_cert(asps_trust *t, const uint8_t *cert, size_t len, int64_t at,
                                unsigned flags, asps_claims *claims, asps_errbuf *eb);

/* asps_trust_verify_cert without waiting: ASPS_E_WOULD_BLOCK at once,
 * having asked no one, when every verifier is busy or the collateral is not
 * at hand (asps_collateral_source_get_now); else the same answer. For a
 * thread that must not wait (gRPC's, at the end of a handshake): the
 * caller asks asps_trust_verify_cert elsewhere on ASPS_E_WOULD_BLOCK. */
asps_err asps_trust_verify_cert_now(asps_trust *t, const uint8_t *cert, size_t len, int64_t at,
                                    unsigned flags, asps_claims *claims, asps_errbuf *eb);

/* A bare DCAP QUOTE -> CLAIMS at AT (asps_verify_quote: *claims is also
 * filled on ASPS_E_TCB_REVOKED). */
asps_err asps_trust_verify_quote(asps_trust *t, const uint8_t *quote, size_t len, int64_t at,
                                 asps_claims *claims, asps_errbuf *eb);

/* Tests: the trust object's collateral source. */
asps_collateral_source *asps_trust__collateral_source(asps_trust *t);

#endif
