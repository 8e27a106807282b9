/* cache.h: the disk cache of collateral: one bundle file per platform,
 *   DIR/<sgx|tdx>-<FMSPC, 12 hex digits, upper case>-<processor|platform>.json
 * in the bundle format (README.md "Collateral bundle": the exact signed
 * bodies, so a file read back verifies as the PCCS's answer did). Files
 * are written atomically (temporary file, fsync, rename) with mode 0600;
 * writing what the file already holds leaves it alone (replicas sharing a
 * folder write the same bytes for the same answers). Nothing read back is
 * trusted: the caller verifies it (asps_verify_collateral) before use. */
#ifndef ASPS_COLLATERAL_CACHE_H
#define ASPS_COLLATERAL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/collateral.h"
#include "asps/err.h"

/* The file name (no folder) for a platform into OUT (at least 40 bytes). */
void asps_collateral_cache_name(asps_tee tee, const uint8_t fmspc[6], const char *ca, char *out,
                                size_t n);
/* NAME (no folder) -> platform; 1 when it is a cache file's name, else 0. */
int asps_collateral_cache_name_parse(const char *name, asps_tee *tee, uint8_t fmspc[6],
                                     char ca[16]);
/* Write C for the platform into DIR (made 0700 when missing). *written (may
 * be NULL) says whether the file changed. Errors: ASPS_E_IO naming the
 * path, ASPS_E_NOMEM. */
asps_err asps_collateral_cache_write(const char *dir, asps_tee tee, const uint8_t fmspc[6],
                                     const char *ca, const asps_collateral *c, int *written,
                                     asps_errbuf *eb);
/* Read the platform's file from DIR (parsed, not verified): ASPS_OK with
 * *out NULL when there is none; else asps_collateral_load_file's errors. */
asps_err asps_collateral_cache_read(const char *dir, asps_tee tee, const uint8_t fmspc[6],
                                    const char *ca, asps_collateral **out, asps_errbuf *eb);

#endif
