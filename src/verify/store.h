/* store.h: the verifier's store: its trusted roots and the caches of what
 * it verified (collateral by digest, PCK chains and QE report signatures by
 * their bytes). Internal to
 * verify/; dcap.c checks, this module keeps. The verifier's lifecycle
 * (asps_verifier_new, _free, _add_root*, _drop_intel_root, _set_cache in
 * asps/verify.h) is here. Not thread-safe: one verifier per thread. */
#ifndef ASPS_STORE_H
#define ASPS_STORE_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "asps/verify.h"

/* ---- trusted roots ---------------------------------------------------------- */

/* The trust anchor (an index, stable until a root is added or dropped) a
 * chain's self-issued certificate stands for, or -1: a root byte-identical
 * to an installed one, or any issue of Intel's root by its key (see
 * store.c). Its validity at the verification time is the caller's check. */
int asps_store_find_root(const asps_verifier *v, X509 *cert);

/* Does CERT carry the Intel SGX Root CA key (whatever else it is)? */
int asps_store_intel_key(const asps_verifier *v, X509 *cert);

/* Anchor IDX is Intel's root (trusted by key), not one the caller named. */
int asps_store_root_is_intel(const asps_verifier *v, int idx);

/* An installed root byte-identical to DER (not a new reference), or NULL. */
X509 *asps_store_root_by_der(const asps_verifier *v, const uint8_t *der, size_t len);

/* ---- caches ----------------------------------------------------------------- */

/* One least-recently-used cache per kind, keyed by a 32-byte digest. Adding
 * or dropping a root, or turning caching off or on, empties them. */
typedef enum {
    ASPS_STORE_COLLATERAL, /* verified collateral, by asps_collateral's digest */
    ASPS_STORE_PCK_CHAIN,  /* verified PCK chains, by SHA-256 of the quote's PEM;
                              the value holds the PEM, compared whole on a hit */
    ASPS_STORE_QE_REPORT,  /* QE report signatures that verified, by SHA-256 of
                              PCK key || QE report || signature; the value
                              holds those bytes, compared whole on a hit */
    ASPS_STORE_KINDS
} asps_store_kind;

/* The value kept under KEY, now the most recently used; NULL when there is
 * none or caching is off. Valid until the next put of that kind, a root
 * change or asps_verifier_set_cache. */
void *asps_store_get(asps_verifier *v, asps_store_kind kind, const uint8_t key[32]);

/* Keep VALUE under KEY (a key not present), in a free slot or in place of
 * the least recently used one, freed with its own FREE_VALUE. Returns 1
 * when the store took VALUE, 0 when caching is off: the caller keeps it. */
int asps_store_put(asps_verifier *v, asps_store_kind kind, const uint8_t key[32], void *value,
                   void (*free_value)(void *));

/* The value under KEY, or one verified now: a zeroed SIZE-byte value that
 * VERIFY fills from ARG, then kept (asps_store_put). *FRESH is set when the
 * store did not take it (caching off): the caller frees it with FREE_VALUE.
 * NULL with *E set (and EB) when VERIFY fails; the half-filled value is
 * freed with FREE_VALUE. */
typedef asps_err (*asps_store_verify_fn)(asps_verifier *v, const void *arg, void *value,
                                         asps_errbuf *eb);
void *asps_store_verified(asps_verifier *v, asps_store_kind kind, const uint8_t key[32],
                          size_t size, asps_store_verify_fn verify, const void *arg,
                          void (*free_value)(void *), int *fresh, asps_errbuf *eb, asps_err *e);

/* The verifier's TCB recovery settings (asps/verify.h). */
int asps_store_tcb_update_early(const asps_verifier *v);
int64_t asps_store_max_stale(const asps_verifier *v);

#endif
