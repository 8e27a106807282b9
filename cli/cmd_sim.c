/* cmd_sim.c: `asps sim init|quote|recover`: the simulated platform. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sim.h"
#include "cli.h"
#include "identity.h"
#include "opts.h"
#include "util.h"

static const cli_help init_help = {
    "sim init", "asps sim init DIR [--force] [--days N] [--issued DATE]",
    "Create a simulated SGX/TDX platform in DIR: a test PKI shaped like Intel's\n"
    "(keys 0600), and collateral bundles DIR/collateral_sgx.json and\n"
    "DIR/collateral_tdx.json. Verifiers trust it only when told to (--root-ca\n"
    "DIR/root_ca.der or --sim DIR); results say \"simulated\". A DIR that already\n"
    "holds a platform is refused: replacing its PKI breaks everything issued from it.\n"
    "  --force   replace the platform in DIR\n"
    "  --days N  the collateral's nextUpdate, N days from now (1..3650,\n"
    "            default 30); issued one day ago\n"
    "  --issued DATE  issue the PKI, the collateral and TCB evaluation data\n"
    "            number 1 on DATE instead (YYYY-MM-DD or RFC 3339, in the past,\n"
    "            within 3650 days), so that 'sim recover --date' can date a\n"
    "            TCB recovery in the past\n"};

static const cli_help quote_help = {
    "sim quote",
    "asps sim quote DIR --out FILE [--tee sgx|tdx] [--report-data HEX] [IDENTITY] "
    "[--quote-version 3|4|5] [--td15] [--evaluation-data-number N]",
    "Issue a quote for the given identity: SGX v3 (default), v4 or v5; TDX v4\n"
    "(default) or v5 (--quote-version 5), with a TD report 1.5 (--td15, v5).\n"
    "  --out FILE  where the quote goes; - for stdout\n"
    "  --tcb LEVEL the TCB level the platform's SVNs land on (UpToDate,\n"
    "              SWHardeningNeeded, ConfigurationNeeded,\n"
    "              ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
    "              OutOfDateConfigurationNeeded, Revoked): the highest level\n"
    "              with that status\n"
    "  --evaluation-data-number N  in the TCB info of TCB evaluation data\n"
    "              number N (default: the newest; after 'sim recover',\n"
    "              UpToDate at 1 is the level that is now OutOfDate)\n"
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

static const struct option init_opts[] = {
    {"force", no_argument, NULL, 'f'}, {"days", required_argument, NULL, 'd'},
    {"issued", required_argument, NULL, 'i'}, {0}};

struct init_args {
    int force;
    int64_t days;
    const char *issued;
};

static int parse_date(const char *s, int64_t *out);

static int init_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct init_args *a = ctx;
    (void)name;
    if (val == 'f') {
        a->force = 1;
        return 0;
    }
    if (val == 'i') {
        a->issued = arg;
        return 0;
    }
    size_t n = strlen(arg);
    if (n == 0 || n > 4 || strspn(arg, "0123456789") != n || (a->days = strtoll(arg, NULL, 10)) < 1 ||
        a->days > 3650)
        return cli_usage_error(&init_help, "--days: a number of days, 1..3650");
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    struct init_args ia = {0, 0, NULL};
    int first;
    const struct option *tables[] = {init_opts, NULL};
    int rc = cli_parse(&init_help, tables, 0, argc, argv, init_opt, &ia, &first);
    int force = ia.force;
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
    asps_sim_init_opts o = {.collateral_days = ia.days, .revoke_pck_level = -1};
    if (ia.issued) {
        /* the library issues one day before its "now"; nextUpdate stays
         * --days from the real now (rounded up to a whole day) */
        int64_t issued, real = (int64_t)time(NULL);
        if (parse_date(ia.issued, &issued) || issued > real || real - issued > 3650LL * 86400)
            return cli_usage_error(&init_help,
                                   "--issued: YYYY-MM-DD or RFC 3339, in the past, within 3650 days, "
                                   "not '%s'", ia.issued);
        o.now = issued + 86400;
        int64_t behind = real - o.now;
        o.collateral_days = (ia.days ? ia.days : 30) + (behind > 0 ? (behind + 86399) / 86400 : 0);
    }
    asps_errbuf eb = {{0}};
    asps_err e = asps_sim_init_ex(dir, &o, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps sim init: %s\n", eb.msg);
        /* DIR cannot be made or written: an output that cannot be written (2) */
        return e == ASPS_E_IO || e == ASPS_E_ARG ? CLI_EXIT_USAGE : CLI_EXIT_DENIED;
    }
    printf("simulated platform in %s (trust it with --sim %s or --root-ca %s/root_ca.der)\n", dir,
           dir, dir);
    return 0;
}

enum { OPT_OUT = 1, OPT_QV, OPT_TD15, OPT_EVAL };
static const struct option quote_opts[] = {
    {"out", required_argument, NULL, OPT_OUT},
    {"quote-version", required_argument, NULL, OPT_QV},
    {"td15", no_argument, NULL, OPT_TD15},
    {"evaluation-data-number", required_argument, NULL, OPT_EVAL},
    {0},
};

/* A TCB evaluation data number: 1..999999, digits only. */
static int parse_eval_number(const char *arg, uint32_t *out)
{
    size_t n = strlen(arg);
    if (n == 0 || n > 6 || strspn(arg, "0123456789") != n)
        return -1;
    *out = (uint32_t)strtoul(arg, NULL, 10);
    return *out >= 1 ? 0 : -1;
}

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
    case OPT_EVAL:
        if (parse_eval_number(arg, &q->id.evaluation_data_number))
            return cli_usage_error(&quote_help, "--evaluation-data-number: a number from 1");
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

static const cli_help recover_help = {
    "sim recover", "asps sim recover DIR --date DATE [--tee sgx|tdx|both]",
    "Simulate a TCB recovery: issue the next TCB evaluation data number N+1,\n"
    "with a new top level (higher SVNs) dated DATE + 1 day; every older level\n"
    "is demoted as Intel demotes (UpToDate and SWHardeningNeeded become\n"
    "OutOfDate, Configuration*Needed become OutOfDateConfigurationNeeded) and\n"
    "gains the advisory INTEL-SA-SIM-<N+1>. The bundles then hold the standard\n"
    "TCB info (number N, standard until DATE + 12 months), the early one\n"
    "(tcb_info_early, number N+1) and the TCB evaluation data numbers list\n"
    "(tcb_evaluation_data_numbers), all signed by the simulated TCB signing key.\n"
    "  --date DATE  the tcbRecoveryEventDate: YYYY-MM-DD or RFC 3339, later\n"
    "               than number N's\n"
    "  --tee T      sgx, tdx or both (default both)\n"};

enum { OPT_DATE = 1, OPT_TEE };
static const struct option recover_opts[] = {
    {"date", required_argument, NULL, OPT_DATE},
    {"tee", required_argument, NULL, OPT_TEE},
    {0},
};

struct recover_args {
    const char *date;
    int sgx, tdx;
};

static int recover_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct recover_args *r = ctx;
    (void)name;
    if (val == OPT_DATE) {
        r->date = arg;
        return 0;
    }
    if (strcmp(arg, "sgx") && strcmp(arg, "tdx") && strcmp(arg, "both"))
        return cli_usage_error(&recover_help, "--tee: sgx, tdx or both");
    r->sgx = strcmp(arg, "tdx") != 0;
    r->tdx = strcmp(arg, "sgx") != 0;
    return 0;
}

/* YYYY-MM-DD (midnight UTC, as Intel's dates are) or RFC 3339. */
static int parse_date(const char *s, int64_t *out)
{
    char buf[32];
    if (strlen(s) == 10) {
        snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
        s = buf;
    }
    if (strspn(s, "0123456789") == strlen(s)) /* not unix seconds here */
        return -1;
    /* before 9999-01-01: the standard set takes the number 12 months later,
     * and every date written must stay a 4-digit-year RFC 3339 date (a later
     * one made bundles nothing could read) */
    return asps_time_parse(s, out) == 0 && *out > 0 && *out < INT64_C(253370764800) ? 0 : -1;
}

static int cmd_recover(int argc, char **argv)
{
    struct recover_args a = {NULL, 1, 1};
    int first;
    const struct option *tables[] = {recover_opts, NULL};
    int rc = cli_parse(&recover_help, tables, 0, argc, argv, recover_opt, &a, &first);
    if (rc)
        return rc == CLI_HELP ? 0 : rc;
    if (first >= argc)
        return cli_usage_error(&recover_help, "DIR is needed");
    if (first + 1 < argc)
        return cli_usage_error(&recover_help, "unexpected argument '%s'", argv[first + 1]);
    int64_t date;
    if (!a.date)
        return cli_usage_error(&recover_help, "--date DATE is required");
    if (parse_date(a.date, &date))
        return cli_usage_error(&recover_help,
                               "--date: YYYY-MM-DD or RFC 3339, after 1970-01-01 and before "
                               "9999-01-01, not '%s'", a.date);
    const char *dir = argv[first];
    if (!platform_exists(dir)) {
        fprintf(stderr, "asps sim recover: %s holds no simulated platform (asps sim init %s)\n", dir,
                dir);
        return CLI_EXIT_USAGE;
    }
    for (int t = 0; t < 2; t++) {
        if (!(t ? a.tdx : a.sgx))
            continue;
        asps_errbuf eb = {{0}};
        uint32_t n = 0;
        asps_err e = asps_sim_recover(dir, t ? ASPS_TEE_TDX : ASPS_TEE_SGX, date, &n, &eb);
        if (e != ASPS_OK) {
            fprintf(stderr, "asps sim recover: %s: %s\n", t ? "TDX" : "SGX", eb.msg);
            return e == ASPS_E_ARG || e == ASPS_E_IO || e == ASPS_E_PARSE ? CLI_EXIT_USAGE
                                                                         : CLI_EXIT_DENIED;
        }
        char d1[32], d2[32];
        asps_time_format(date, d1);
        asps_time_format(date + 86400, d2);
        /* "stays" was wrong after a second recovery: tcb_info moves to N */
        printf("%s: TCB evaluation data number %u (tcbRecoveryEventDate %s, tcbDate %s) in "
               "tcb_info_early; tcb_info holds %u, the standard set until 12 months after %s\n",
               t ? "TDX" : "SGX", n, d1, d2, n - 1, d1);
    }
    return 0;
}

int asps_cmd_sim(int argc, char **argv)
{
    static const cli_leaf leaves[] = {
        {&init_help, cmd_init}, {&quote_help, cmd_quote}, {&recover_help, cmd_recover}};
    return cli_group("sim", "The simulated SGX/TDX platform, for tests and demos.\n", leaves, 3,
                     argc, argv);
}
