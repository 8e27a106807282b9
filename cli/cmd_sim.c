/* cmd_sim.c: `asps sim init|quote`: the simulated platform. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim.h"
#include "cli.h"
#include "identity.h"
#include "opts.h"
#include "util.h"

static const cli_help init_help = {
    "sim init", "asps sim init DIR [--force]",
    "Create a simulated SGX/TDX platform in DIR: a test PKI shaped like Intel's\n"
    "(keys 0600), and collateral bundles DIR/collateral_sgx.json and\n"
    "DIR/collateral_tdx.json. Verifiers trust it only when told to (--root-ca\n"
    "DIR/root_ca.der or --sim DIR); results say \"simulated\". A DIR that already\n"
    "holds a platform is refused: replacing its PKI breaks everything issued from it.\n"
    "  --force  replace the platform in DIR\n"};

static const cli_help quote_help = {
    "sim quote",
    "asps sim quote DIR --out FILE [--tee sgx|tdx] [--report-data HEX] [IDENTITY] "
    "[--quote-version 3|4|5] [--td15]",
    "Issue a quote for the given identity: SGX v3 (default), v4 or v5; TDX v4\n"
    "(default) or v5 (--quote-version 5), with a TD report 1.5 (--td15, v5).\n"
    "  --out FILE  where the quote goes; - for stdout\n"
    "  --tcb LEVEL the TCB level the platform's SVNs land on (UpToDate,\n"
    "              SWHardeningNeeded, ConfigurationNeeded,\n"
    "              ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
    "              OutOfDateConfigurationNeeded, Revoked)\n"
    "IDENTITY: --mrenclave HEX --mrsigner HEX --isv-prod-id N --isv-svn N\n"
    "  --config-svn N --debug --mrtd HEX --rtmr N=HEX --tcb LEVEL\n"};

/* A platform is there when its root is: sim init writes root_ca.der */
static int platform_exists(const char *dir)
{
    size_t n = strlen(dir) + sizeof "/root_ca.der";
    char *p = malloc(n);
    if (!p)
        return 0;
    snprintf(p, n, "%s/root_ca.der", dir);
    struct stat st;
    int r = lstat(p, &st) == 0;
    free(p);
    return r;
}

static const struct option init_opts[] = {{"force", no_argument, NULL, 'f'}, {0}};

static int init_opt(void *ctx, int val, const char *name, const char *arg)
{
    (void)val, (void)name, (void)arg;
    *(int *)ctx = 1;
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    int force = 0, first;
    const struct option *tables[] = {init_opts, NULL};
    int rc = cli_parse(&init_help, tables, 0, argc, argv, init_opt, &force, &first);
    if (rc)
        return rc == CLI_HELP ? 0 : rc;
    if (first >= argc)
        return cli_usage_error(&init_help, "DIR is needed");
    if (first + 1 < argc)
        return cli_usage_error(&init_help, "unexpected argument '%s'", argv[first + 1]);
    const char *dir = argv[first];
    if (!force && platform_exists(dir)) {
        fprintf(stderr,
                "asps sim init: %s already holds a simulated platform; replacing its PKI "
                "breaks every quote and certificate issued from it (--force replaces it)\n",
                dir);
        return CLI_EXIT_USAGE;
    }
    asps_errbuf eb = {{0}};
    asps_err e = asps_sim_init(dir, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps sim init: %s\n", eb.msg);
        /* DIR cannot be made or written: an output that cannot be written (2) */
        return e == ASPS_E_IO || e == ASPS_E_ARG ? CLI_EXIT_USAGE : CLI_EXIT_DENIED;
    }
    printf("simulated platform in %s (trust it with --sim %s or --root-ca %s/root_ca.der)\n", dir,
           dir, dir);
    return 0;
}

enum { OPT_OUT = 1, OPT_QV, OPT_TD15 };
static const struct option quote_opts[] = {
    {"out", required_argument, NULL, OPT_OUT},
    {"quote-version", required_argument, NULL, OPT_QV},
    {"td15", no_argument, NULL, OPT_TD15},
    {0},
};

struct quote_args {
    asps_sim_identity id;
    const char *out;
};

static int quote_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct quote_args *q = ctx;
    switch (val) {
    case OPT_OUT:
        q->out = arg;
        return 0;
    case OPT_QV:
        if (strlen(arg) != 1 || arg[0] < '3' || arg[0] > '5')
            return cli_usage_error(&quote_help, "--quote-version: 3, 4 or 5");
        q->id.quote_version = (uint16_t)(arg[0] - '0');
        return 0;
    case OPT_TD15:
        q->id.td15 = 1;
        return 0;
    default:
        return cli_identity_set("sim quote", &q->id, name, arg);
    }
}

static int cmd_quote(int argc, char **argv)
{
    struct quote_args a;
    memset(&a, 0, sizeof a);
    int first;
    const struct option *tables[] = {quote_opts, cli_identity_opts, cli_report_data_opts, NULL};
    int rc = cli_parse(&quote_help, tables, 0, argc, argv, quote_opt, &a, &first);
    if (rc)
        return rc == CLI_HELP ? 0 : rc;
    if (first >= argc)
        return cli_usage_error(&quote_help, "DIR is needed");
    if (first + 1 < argc)
        return cli_usage_error(&quote_help, "unexpected argument '%s'", argv[first + 1]);
    if (!a.out)
        return cli_usage_error(&quote_help, "--out FILE is required (- for stdout)");
    asps_errbuf eb = {{0}};
    asps_sim *s;
    if (asps_sim_open(argv[first], &s, &eb) != ASPS_OK) {
        fprintf(stderr, "asps sim quote: %s\n", eb.msg);
        return CLI_EXIT_USAGE;
    }
    uint8_t *q;
    size_t n;
    asps_err e = asps_sim_quote(s, &a.id, &q, &n, &eb);
    asps_sim_free(s);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps sim quote: %s\n", eb.msg);
        return e == ASPS_E_ARG ? 2 : 1; /* e.g. --tcb naming a level the sim has not */
    }
    rc = cli_write_out("sim quote", a.out, q, n, 0644);
    free(q);
    return rc;
}

int asps_cmd_sim(int argc, char **argv)
{
    static const cli_leaf leaves[] = {{&init_help, cmd_init}, {&quote_help, cmd_quote}};
    return cli_group("sim", "The simulated SGX/TDX platform, for tests and demos.\n", leaves, 2,
                     argc, argv);
}
