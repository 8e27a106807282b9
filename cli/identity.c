/* identity.c: see identity.h. */
#include "identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "util.h"

const struct option cli_identity_opts[] = {
    {"tee", required_argument, NULL, CLI_OPT_IDENTITY},
    {"mrenclave", required_argument, NULL, CLI_OPT_IDENTITY},
    {"mrsigner", required_argument, NULL, CLI_OPT_IDENTITY},
    {"isv-prod-id", required_argument, NULL, CLI_OPT_IDENTITY},
    {"isv-svn", required_argument, NULL, CLI_OPT_IDENTITY},
    {"config-svn", required_argument, NULL, CLI_OPT_IDENTITY},
    {"debug", no_argument, NULL, CLI_OPT_IDENTITY},
    {"mrtd", required_argument, NULL, CLI_OPT_IDENTITY},
    {"rtmr", required_argument, NULL, CLI_OPT_IDENTITY},
    {"tcb", required_argument, NULL, CLI_OPT_IDENTITY},
    {0},
};
const struct option cli_report_data_opts[] = {
    {"report-data", required_argument, NULL, CLI_OPT_IDENTITY},
    {0},
};

static int hexarg(const char *cmd, const char *flag, const char *v, uint8_t *out, size_t n)
{
    if (asps_hex_decode(v, strlen(v), out, n) != 0) {
        fprintf(stderr, "asps %s: %s: expected %zu hex characters\n", cmd, flag, 2 * n);
        return CLI_BAD_VALUE;
    }
    return 0;
}

static int numarg(const char *cmd, const char *flag, const char *v, uint16_t *out)
{
    /* decimal only, as every other number asps takes: "010" is 10, not 8 */
    char *end;
    long x = strtol(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || x < 0 || x > 65535) {
        fprintf(stderr, "asps %s: %s: expected a number 0..65535\n", cmd, flag);
        return CLI_BAD_VALUE;
    }
    *out = (uint16_t)x;
    return 0;
}

int cli_identity_set(const char *cmd, asps_sim_identity *id, const char *a, const char *v)
{
    if (!strcmp(a, "--debug")) {
        id->debug = 1;
        return 0;
    }
    if (!strcmp(a, "--tee")) {
        if (!strcmp(v, "sgx"))
            id->tee = ASPS_TEE_SGX;
        else if (!strcmp(v, "tdx"))
            id->tee = ASPS_TEE_TDX;
        else {
            fprintf(stderr, "asps %s: --tee: sgx or tdx\n", cmd);
            return CLI_BAD_VALUE;
        }
        return 0;
    }
    if (!strcmp(a, "--mrenclave"))
        return hexarg(cmd, a, v, id->mr_enclave, 32);
    if (!strcmp(a, "--mrsigner"))
        return hexarg(cmd, a, v, id->mr_signer, 32);
    if (!strcmp(a, "--mrtd"))
        return hexarg(cmd, a, v, id->mr_td, 48);
    if (!strcmp(a, "--report-data")) {
        size_t n = strlen(v);
        if (n % 2 || n > 128 || asps_hex_decode(v, n, id->report_data, n / 2) != 0) {
            fprintf(stderr, "asps %s: --report-data: up to 128 hex characters\n", cmd);
            return CLI_BAD_VALUE;
        }
        return 0;
    }
    if (!strcmp(a, "--isv-prod-id"))
        return numarg(cmd, a, v, &id->isv_prod_id);
    if (!strcmp(a, "--isv-svn"))
        return numarg(cmd, a, v, &id->isv_svn);
    if (!strcmp(a, "--config-svn"))
        return numarg(cmd, a, v, &id->config_svn);
    if (!strcmp(a, "--rtmr")) {
        if (v[0] < '0' || v[0] > '3' || v[1] != '=') {
            fprintf(stderr, "asps %s: --rtmr: N=HEX with N 0..3\n", cmd);
            return CLI_BAD_VALUE;
        }
        return hexarg(cmd, a, v + 2, id->rtmr[v[0] - '0'], 48);
    }
    /* --tcb */
    asps_tcb_status st;
    if (asps_tcb_status_parse(v, &st) != 0) {
        fprintf(stderr, "asps %s: --tcb: a TCB status such as UpToDate, SWHardeningNeeded, "
                        "ConfigurationNeeded, OutOfDate, Revoked\n", cmd);
        return CLI_BAD_VALUE;
    }
    id->tcb = st;
    return 0;
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
