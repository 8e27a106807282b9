/* cache.c: the disk cache of collateral bundles (cache.h). */
#include "cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define MAX_FILE (16u << 20)

void asps_collateral_cache_name(asps_tee tee, const uint8_t fmspc[6], const char *ca, char *out,
                                size_t n)
{
    char fm[13];
    asps_hex_encode_upper(fmspc, 6, fm);
    snprintf(out, n, "%s-%s-%s.json", tee == ASPS_TEE_TDX ? "tdx" : "sgx", fm, ca);
}

int asps_collateral_cache_name_parse(const char *name, asps_tee *tee, uint8_t fmspc[6], char ca[16])
{
    /* "sgx-" 12 hex "-" processor|platform ".json" */
    size_t n = strlen(name);
    if (n < 4 + 12 + 1 + 5 || (strncmp(name, "sgx-", 4) && strncmp(name, "tdx-", 4)) || name[16] != '-')
        return 0;
    for (int i = 4; i < 16; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'A' && name[i] <= 'F')))
            return 0;
    const char *rest = name + 17;
    const char *c = !strcmp(rest, "processor.json") ? "processor"
                    : !strcmp(rest, "platform.json") ? "platform" : NULL;
    if (!c || asps_hex_decode(name + 4, 12, fmspc, 6) != 0)
        return 0;
    *tee = name[0] == 't' ? ASPS_TEE_TDX : ASPS_TEE_SGX;
    snprintf(ca, 16, "%s", c);
    return 1;
}

static asps_err path_of(const char *dir, asps_tee tee, const uint8_t fmspc[6], const char *ca,
                        char *path, size_t n, asps_errbuf *eb)
{
    char name[64];
    asps_collateral_cache_name(tee, fmspc, ca, name, sizeof name);
    if ((size_t)snprintf(path, n, "%s/%s", dir, name) >= n)
        return asps_fail(eb, ASPS_E_ARG, "collateral cache: folder path too long");
    return ASPS_OK;
}

asps_err asps_collateral_cache_write(const char *dir, asps_tee tee, const uint8_t fmspc[6],
                                     const char *ca, const asps_collateral *c, int *written,
                                     asps_errbuf *eb)
{
    if (written)
        *written = 0;
    char path[4096];
    ASPS_TRY(path_of(dir, tee, fmspc, ca, path, sizeof path, eb));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return asps_fail(eb, ASPS_E_IO, "collateral cache: cannot make %s: %s", dir, strerror(errno));
    char *json;
    ASPS_TRY(asps_collateral_to_bundle(c, &json, eb));
    size_t len = strlen(json);
    /* the same answer gives the same file: leave it (and its time) alone */
    uint8_t *old = NULL;
    size_t olen = 0;
    asps_errbuf ign;
    int same = asps_read_regular_file(path, MAX_FILE, &old, &olen, &ign) == ASPS_OK && olen == len &&
               memcmp(old, json, len) == 0;
    free(old);
    asps_err e = ASPS_OK;
    if (!same) {
        e = asps_write_file_atomic(path, json, len, 0600, eb);
        if (e != ASPS_OK)
            asps_err_prefix(eb, "collateral cache: ");
        else if (written)
            *written = 1;
    }
    free(json);
    return e;
}

asps_err asps_collateral_cache_read(const char *dir, asps_tee tee, const uint8_t fmspc[6],
                                    const char *ca, asps_collateral **out, asps_errbuf *eb)
{
    *out = NULL;
    char path[4096];
    ASPS_TRY(path_of(dir, tee, fmspc, ca, path, sizeof path, eb));
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return ASPS_OK;
    /* a regular file only: a FIFO in the folder must not hold the server
     * (at start, or a call that reads the folder) waiting for a writer */
    uint8_t *buf;
    size_t len;
    ASPS_TRY(asps_read_regular_file(path, MAX_FILE, &buf, &len, eb));
    asps_err e = asps_collateral_parse_bundle(buf, len, out, eb);
    free(buf);
    return e;
}
