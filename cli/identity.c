/* identity.c: see identity.h. */
#include "identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int hexarg(const char *flag, const char *v, uint8_t *out, size_t n)
{
    if (asps_hex_decode(v, strlen(v), out, n) != 0) {
        fprintf(stderr, "asps: %s: expected %zu hex characters\n", flag, 2 * n);
        return -1;
    }
    return 1;
}

static int numarg(const char *flag, const char *v, uint16_t *out)
{
    char *end;
    long x = strtol(v, &end, 0);
    if (*v == 0 || *end || x < 0 || x > 65535) {
        fprintf(stderr, "asps: %s: expected a number 0..65535\n", flag);
        return -1;
    }
    *out = (uint16_t)x;
    return 1;
}

int cli_identity_option(asps_sim_identity *id, int argc, char **argv, int *i, int allow_rd)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--debug")) {
        id->debug = 1;
        return 1;
    }
    static const char *const with_value[] = {"--tee", "--mrenclave", "--mrsigner", "--isv-prod-id",
                                             "--isv-svn", "--config-svn", "--mrtd", "--rtmr",
                                             "--tcb", "--report-data", NULL};
    int known = 0;
    for (int k = 0; with_value[k]; k++)
        if (!strcmp(a, with_value[k]))
            known = 1;
    if (!known || (!allow_rd && !strcmp(a, "--report-data")))
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "asps: %s needs a value\n", a);
        return -1;
    }
    const char *v = argv[++*i];
    if (!strcmp(a, "--tee")) {
        if (!strcmp(v, "sgx"))
            id->tee = ASPS_TEE_SGX;
        else if (!strcmp(v, "tdx"))
            id->tee = ASPS_TEE_TDX;
        else {
            fprintf(stderr, "asps: --tee: sgx or tdx\n");
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--mrenclave"))
        return hexarg(a, v, id->mr_enclave, 32);
    if (!strcmp(a, "--mrsigner"))
        return hexarg(a, v, id->mr_signer, 32);
    if (!strcmp(a, "--mrtd"))
        return hexarg(a, v, id->mr_td, 48);
    if (!strcmp(a, "--report-data")) {
        size_t n = strlen(v);
        if (n % 2 || n > 128 || asps_hex_decode(v, n, id->report_data, n / 2) != 0) {
            fprintf(stderr, "asps: --report-data: up to 128 hex characters\n");
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--isv-prod-id"))
        return numarg(a, v, &id->isv_prod_id);
    if (!strcmp(a, "--isv-svn"))
        return numarg(a, v, &id->isv_svn);
    if (!strcmp(a, "--config-svn"))
        return numarg(a, v, &id->config_svn);
    if (!strcmp(a, "--rtmr")) {
        if (v[0] < '0' || v[0] > '3' || v[1] != '=') {
            fprintf(stderr, "asps: --rtmr: N=HEX with N 0..3\n");
            return -1;
        }
        return hexarg(a, v + 2, id->rtmr[v[0] - '0'], 48);
    }
    /* --tcb */
    asps_tcb_status st;
    if (asps_tcb_status_parse(v, &st) != 0) {
        fprintf(stderr, "asps: --tcb: a TCB status such as UpToDate, SWHardeningNeeded, "
                        "ConfigurationNeeded, OutOfDate, Revoked\n");
        return -1;
    }
    id->tcb = st;
    return 1;
}

asps_err cli_attester_new(const char *kind, const char *sim_dir, const asps_sim_identity *id,
                          int only_sim, asps_attester **out, asps_errbuf *eb)
{
    *out = NULL;
    if (!kind || !strcmp(kind, "auto"))
        kind = sim_dir ? "sim" : "auto";
    if (!strcmp(kind, "sim"))
        return asps_sim_attester_new(sim_dir, id, out, eb);
    if (only_sim)
        return ASPS_OK;
    asps_attester_opts ao = {.kind = kind};
    return asps_attester_new(&ao, out, eb);
}
