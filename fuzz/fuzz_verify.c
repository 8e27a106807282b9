/* fuzz_verify.c: whole quote verification on arbitrary quote bytes: the
 * parser, then the PCK chain the quote carries (PEM, certificate decoding,
 * the P-256 key import, roles, signatures, the SGX extension), the QE
 * report, binding, QE identity and TCB matching. Collateral: Intel's real
 * SGX and TDX bundles from the DCAP vectors (ASPS_VECTORS or
 * ASPS_VECTORS_DEFAULT; the smoke run seeds the corpus with the real
 * quotes, so mutations start from quotes that verify). Without the vectors
 * only the parser and early checks are reached. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "asps/verify.h"
#include "util.h"

static asps_verifier *verifier;
static asps_collateral *col[2];

static void load(const char *dir, const char *name, asps_collateral **out)
{
    char path[4096];
    asps_errbuf eb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (asps_collateral_load_file(path, out, &eb) != ASPS_OK)
        *out = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    asps_errbuf eb;
    if (asps_verifier_new(&verifier, &eb) != ASPS_OK)
        return 0;
    /* the smoke run (fuzz/smoke.sh) sets ASPS_VECTORS to the DCAP folder
     * it found, or records the target as not run */
    const char *dir = getenv("ASPS_VECTORS");
    if (!dir || !*dir)
        dir = getenv("ASPS_VECTORS_DEFAULT");
    if (dir && *dir) {
        load(dir, "sgx_quote_collateral.json", &col[0]);
        load(dir, "tdx_quote_collateral.json", &col[1]);
    }
    if (!col[0] || !col[1]) {
        /* without Intel's collateral nothing past parsing is reached: a run
         * that would only look like fuzzing is refused */
        fprintf(stderr, "fuzz_verify: no collateral (set ASPS_VECTORS to the DCAP vectors folder, ../shared/vectors/dcap)\n");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asps_errbuf eb;
    asps_claims c;
    if (!verifier)
        return 0;
    for (int i = 0; i < 2; i++)
        if (col[i])
            (void)asps_verify_quote(verifier, data, size, col[i], 1751328000, &c, &eb);
    return 0;
}
