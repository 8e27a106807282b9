/* cmd_sim.c: `asps sim init|quote`: the simulated platform. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "cli.h"
#include "identity.h"
#include "util.h"

static const char usage_text[] =
    "usage: asps sim init DIR\n"
    "       asps sim quote DIR --out FILE [--tee sgx|tdx] [--report-data HEX]\n"
    "                      [--mrenclave HEX] [--mrsigner HEX] [--isv-prod-id N] [--isv-svn N]\n"
    "                      [--config-svn N] [--debug] [--mrtd HEX] [--rtmr N=HEX] [--tcb LEVEL]\n"
    "                      [--quote-version 3|4|5] [--td15]\n"
    "\n"
    "init   create a simulated SGX/TDX platform in DIR: a test PKI shaped like Intel's\n"
    "       (keys 0600), and collateral bundles DIR/collateral_sgx.json and\n"
    "       DIR/collateral_tdx.json. Verifiers trust it only when told to\n"
    "       (--root-ca DIR/root_ca.der or --sim DIR); results say \"simulated\".\n"
    "quote  issue a quote for the given identity: SGX v3 (default), v4 or v5; TDX v4\n"
    "       (default) or v5 (--quote-version 5), with a TD report 1.5 (--td15, v5);\n"
    "       --tcb picks the TCB level the platform's SVNs land on (UpToDate, SWHardeningNeeded,\n"
    "       ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
    "       OutOfDateConfigurationNeeded, Revoked).\n";

int asps_cmd_sim(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("%s", usage_text);
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "%s", usage_text);
        return 2;
    }
    asps_errbuf eb = {{0}};
    if (!strcmp(argv[1], "init")) {
        if (argc != 3) {
            fprintf(stderr, "%s", usage_text);
            return 2;
        }
        if (asps_sim_init(argv[2], &eb) != ASPS_OK) {
            fprintf(stderr, "asps sim init: %s\n", eb.msg);
            return 1;
        }
        printf("simulated platform in %s (trust it with --sim %s or --root-ca %s/root_ca.der)\n",
               argv[2], argv[2], argv[2]);
        return 0;
    }
    if (strcmp(argv[1], "quote") != 0) {
        fprintf(stderr, "asps sim: unknown subcommand '%s'\n%s", argv[1], usage_text);
        return 2;
    }
    const char *dir = argv[2], *out = NULL;
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    for (int i = 3; i < argc; i++) {
        int r = cli_identity_option(&id, argc, argv, &i, 1);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--quote-version") && i + 1 < argc) {
            const char *v = argv[++i];
            if (strlen(v) != 1 || v[0] < '3' || v[0] > '5') {
                fprintf(stderr, "asps sim quote: --quote-version: 3, 4 or 5\n");
                return 2;
            }
            id.quote_version = (uint16_t)(v[0] - '0');
            continue;
        }
        if (!strcmp(argv[i], "--td15")) {
            id.td15 = 1;
            continue;
        }
        fprintf(stderr, "asps sim quote: unexpected argument '%s'\n%s", argv[i], usage_text);
        return 2;
    }
    if (!out) {
        fprintf(stderr, "asps sim quote: --out FILE is required\n");
        return 2;
    }
    asps_sim *s;
    if (asps_sim_open(dir, &s, &eb) != ASPS_OK) {
        fprintf(stderr, "asps sim quote: %s\n", eb.msg);
        return 2;
    }
    uint8_t *q;
    size_t n;
    asps_err e = asps_sim_quote(s, &id, &q, &n, &eb);
    if (e == ASPS_OK) {
        e = asps_write_file_atomic(out, q, n, 0644, &eb);
        free(q);
    }
    asps_sim_free(s);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps sim quote: %s\n", eb.msg);
        return e == ASPS_E_ARG ? 2 : 1; /* e.g. --tcb naming a level the sim has not */
    }
    return 0;
}
