/* source.h: the one collateral source: the collateral for a quote, from
 * wherever the configuration says, picked per quote.
 *
 * Three kinds, each optional; when several are given the first of this
 * order serves every quote (the others are never asked):
 *   bundle      one collateral bundle file (README.md, "Collateral
 *               bundle"), the same for every quote;
 *   sim folder  a simulated platform's files, DIR/collateral_sgx.json and
 *               DIR/collateral_tdx.json (both read at creation), the one of
 *               the quote header's TEE type; only files: nothing of sim/ is
 *               linked, and its root is trusted only where the trust object
 *               is told to (trust.h);
 *   PCCS        fetched per (TEE, FMSPC, PCK CA) read from the quote's PCK
 *               certificate (pccs.h), from one or several PCCS / Intel PCS
 *               URLs tried in order for each fetch (failover), held in
 *               memory per platform; with a cache folder (cache.h) also
 *               written to disk once verified, and read back (verified
 *               again) at creation and whenever every URL fails. Held
 *               collateral is refreshed in the background REFRESH_BEFORE
 *               its earliest nextUpdate (minus a jitter of up to a tenth of
 *               it, so replicas do not all ask at once); past nextUpdate
 *               with every URL failing, the last verified collateral is
 *               handed out for up to MAX_STALE more (the verifier, told the
 *               same max_stale, marks the result collateral_stale).
 * Owns what it read and its PCCS client. Thread-safe after creation (files
 * are read once; the held collateral is under the source's lock). Trusts
 * nothing it reads: every signature is checked by the verifier.
 */
#ifndef ASPS_COLLATERAL_SOURCE_H
#define ASPS_COLLATERAL_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/collateral.h"
#include "asps/err.h"

typedef struct asps_collateral_source asps_collateral_source;

/* Verify collateral alone (asps_verify_collateral with the relying party's
 * roots): what is written to or read from the cache folder goes through it. */
typedef asps_err (*asps_collateral_verify_fn)(void *ctx, const asps_collateral *c,
                                              asps_errbuf *eb);

#define ASPS_COLLATERAL_MAX_PCCS 8

typedef struct asps_collateral_source_opts {
    const char *bundle;   /* bundle file */
    const char *sim_dir;  /* simulated platform folder */
    const char *pccs_url; /* PCCS base URL (https://host:port) */
    const char *pccs_ca;  /* CAs for the PCCS's TLS certificate; NULL = system */
    /* PCCS / PCS base URLs in failover order (at most 8); when given,
     * pccs_url is not used */
    const char *const *pccs_urls;
    size_t n_pccs_urls;
    const char *cache_dir;    /* disk cache folder; NULL: none */
    int64_t max_stale;        /* seconds past nextUpdate held collateral is still handed out */
    int64_t refresh_before;   /* seconds before nextUpdate to refresh; 0: no background refresh */
    asps_collateral_verify_fn verify; /* required with cache_dir */
    void *verify_ctx;
    /* PCCS and cache folder: asked about a quote before collateral is
     * looked for (fetched, or read from the folder) for a platform not
     * held, so that only a quote whose PCK chain a trusted root vouches
     * for (asps_verify_pck_chain) makes the source ask anyone: a client
     * could otherwise make it fetch for any FMSPC it writes in a made-up
     * PCK certificate, at every handshake. Its error is the quote's and
     * is returned as it is. NULL: not asked. */
    asps_err (*vet)(void *ctx, const uint8_t *quote, size_t len, asps_errbuf *eb);
    void *vet_ctx;
} asps_collateral_source_opts;

/* "0", or a whole number without leading zeros and one unit s, m, h or d
 * ("0s", "90s", "30m", "36h", "7d") -> seconds; at most 365d. 0 ok, -1
 * anything else. */
int asps_collateral_duration_parse(const char *s, int64_t *out);

/* Read the files O names or set up the PCCS client (no request is sent).
 * Every error's message begins "collateral: " (ASPS_E_IO, ASPS_E_PARSE,
 * ASPS_E_LIMIT for files, ASPS_E_ARG for a PCCS URL). O may name nothing:
 * the source then answers every quote ASPS_E_UNAVAILABLE. *out is the
 * caller's, freed with asps_collateral_source_free. */
asps_err asps_collateral_source_new(const asps_collateral_source_opts *o,
                                    asps_collateral_source **out, asps_errbuf *eb);
void asps_collateral_source_free(asps_collateral_source *s);

/* Whether the source names any collateral at all. */
int asps_collateral_source_empty(const asps_collateral_source *s);

/* The collateral for QUOTE (LEN bytes). On ASPS_OK *col is set and *owned
 * says whether the caller frees it (PCCS: a reference to the held set,
 * dropped with asps_collateral_free; files: the source's own, valid until
 * the source is freed). Errors: the quote's own (malformed, no
 * PCK certificate to look the platform up by) as the quote parser says
 * them, and the vet hook's (opts) as it says them; the source's trouble (PCCS down, refusing, answering garbage; no
 * source) as ASPS_E_UNAVAILABLE (ASPS_E_NOMEM stays) with the message
 * beginning ASPS_COLLATERAL_ERR_PREFIX, so that callers tell it from the
 * peer's fault. The signature is asps_ratls_collateral_fn's with CTX the
 * source. */
asps_err asps_collateral_source_get(void *ctx, const uint8_t *quote, size_t len,
                                    const asps_collateral **col, int *owned, asps_errbuf *eb);

/* asps_collateral_source_get without waiting: the same answer when it is
 * at hand (a bundle, the simulated folder's files, a platform held and
 * before its nextUpdate), else ASPS_E_WOULD_BLOCK at once, having asked no
 * one and read no file (the caller then asks asps_collateral_source_get on
 * a thread that may wait). The quote's own errors as there. Same
 * signature. */
asps_err asps_collateral_source_get_now(void *ctx, const uint8_t *quote, size_t len,
                                        const asps_collateral **col, int *owned,
                                        asps_errbuf *eb);

/* Tests: how many times the source has asked its PCCS URLs for a
 * platform's collateral. */
unsigned long asps_collateral_source__fetches(asps_collateral_source *s);

/* A platform not held is fetched for by one handshake at a time (the
 * others wait for that fetch's result), and not again within
 * ASPS_COLLATERAL_UNHELD_WAIT_MS (milliseconds) of a failed fetch: those
 * calls get ASPS_E_UNAVAILABLE saying when the PCCS was asked and what it
 * answered. At most ASPS_COLLATERAL_UNHELD_N such platforms are
 * remembered (a fixed table); while every one of them has a fetch in
 * flight or failed within the window, another platform not held is not
 * fetched for (ASPS_E_UNAVAILABLE). */
#define ASPS_COLLATERAL_UNHELD_WAIT_MS 1000
#define ASPS_COLLATERAL_UNHELD_N 64

/* Tests: the clock of that window (milliseconds, only its differences
 * count; NULL: CLOCK_MONOTONIC). */
void asps_collateral_source__set_clock(asps_collateral_source *s, int64_t (*now_ms)(void *ctx),
                                       void *ctx);
/* Tests: how many platforms not held the source remembers. */
size_t asps_collateral_source__unheld(asps_collateral_source *s);

/* Whether the source can verify now (unix seconds NOW): 1, or 0 with WHY
 * (for /readyz): a bundle or simulated collateral past its earliest
 * nextUpdate ("collateral expired: sgx FMSPC 00906ED50000 ..."); PCCSs
 * whose last fetches all failed while no held collateral is fresh or
 * within max_stale past its nextUpdate (nothing can be verified until one
 * answers again); a cache folder alone that holds nothing usable. A PCCS
 * that has served nothing yet is ready (collateral is fetched per
 * platform, on demand). Thread-safe. */
int asps_collateral_source_ready(asps_collateral_source *s, int64_t now, char *why, size_t n);

/* The platform a collateral set is for (its TCB info's TEE and FMSPC) and
 * when it stops being usable: the earliest nextUpdate of its TCB info, QE
 * identity, PCK CRL and root CA CRL (unix seconds). ASPS_E_PARSE when a
 * date does not read. */
asps_err asps_collateral_expiry(const asps_collateral *c, asps_tee *tee, uint8_t fmspc[6],
                                int64_t *next_update, asps_errbuf *eb);

/* The gauge asps_collateral_next_update_seconds{tee,fmspc} (metrics.h): a
 * countdown to NEXT_UPDATE; NEXT_UPDATE 0 forgets the label set. */
void asps_collateral_metric_next_update(asps_tee tee, const uint8_t fmspc[6], int64_t next_update);

#endif
