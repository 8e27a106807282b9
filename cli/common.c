/* common.c: trust and collateral options shared by `quote verify` and
 * `cert verify`; subcommand dispatch. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util.h"

const struct option cli_trust_opts[] = {
    {"collateral", required_argument, NULL, CLI_OPT_TRUST},
    {"pccs", required_argument, NULL, CLI_OPT_TRUST},
    {"pccs-ca", required_argument, NULL, CLI_OPT_TRUST},
    {"root-ca", required_argument, NULL, CLI_OPT_TRUST},
    {"sim", required_argument, NULL, CLI_OPT_TRUST},
    {"at", required_argument, NULL, CLI_OPT_TRUST},
    {0},
};

int cli_trust_set(const char *cmd, cli_trust *t, const char *a, const char *val)
{
    const char **slot = !strcmp(a, "--collateral") ? &t->collateral
                        : !strcmp(a, "--pccs")     ? &t->pccs
                        : !strcmp(a, "--pccs-ca")  ? &t->pccs_ca
                        : !strcmp(a, "--root-ca")  ? &t->root_ca
                        : !strcmp(a, "--sim")      ? &t->sim
                                                   : NULL;
    if (slot) {
        *slot = val;
        return 0;
    }
    if (cli_time_parse(val, &t->at) != 0) {
        fprintf(stderr, "asps %s: --at: '%s' is not unix seconds, a date YYYY-MM-DD or RFC 3339\n",
                cmd, val);
        return CLI_BAD_VALUE;
    }
    return 0;
}

static const struct option json_opts[] = {{"json", no_argument, NULL, 'j'}, {0}};

struct file_args {
    const cli_help *h;
    cli_trust *t;
    int *json;
    cli_opt_fn fn;
    void *ctx;
};

static int file_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct file_args *fa = ctx;
    if (val == 'j') {
        *fa->json = 1;
        return 0;
    }
    if (val == CLI_OPT_TRUST)
        return cli_trust_set(fa->h->cmd, fa->t, name, arg);
    return fa->fn(fa->ctx, val, name, arg); /* the command's own */
}

int cli_file_args(const cli_help *h, cli_trust *t, int argc, char **argv, const char **path,
                  int *json)
{
    return cli_file_args_ex(h, t, NULL, NULL, NULL, argc, argv, path, json);
}

int cli_file_args_ex(const cli_help *h, cli_trust *t, const struct option *extra, cli_opt_fn fn,
                     void *ctx, int argc, char **argv, const char **path, int *json)
{
    *path = NULL;
    *json = 0;
    const struct option *tables[] = {json_opts, t ? cli_trust_opts : NULL, extra, NULL};
    if (!t) { /* no trust table: the command's own, if any, comes second */
        tables[1] = extra;
        tables[2] = NULL;
    }
    struct file_args fa = {h, t, json, fn, ctx};
    int first, rc = cli_parse(h, tables, 0, argc, argv, file_opt, &fa, &first);
    if (rc)
        return rc;
    if (first >= argc)
        return cli_usage_error(h, "a file is needed");
    if (first + 1 < argc)
        return cli_usage_error(h, "unexpected argument '%s'", argv[first + 1]);
    *path = argv[first];
    return 0;
}

void cli_print_json(const cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        puts(s);
    free(s);
}

int cli_read(const char *cmd, const char *path, size_t max, uint8_t **buf, size_t *len)
{
    asps_errbuf eb;
    if (asps_read_file(path, max, buf, len, &eb) != ASPS_OK) {
        fprintf(stderr, "asps %s: %s\n", cmd, eb.msg);
        return -1;
    }
    return 0;
}


asps_err cli_trust_new(const cli_trust *t, asps_trust **out, asps_errbuf *eb)
{
    *out = NULL;
    if (!t->collateral && !t->sim && !t->pccs)
        return asps_fail(eb, ASPS_E_ARG, "no collateral: give --collateral FILE, --pccs URL or --sim DIR");
    asps_trust_opts o = {
        .sim_root_dir = t->sim,
        .root_files = &t->root_ca,
        .n_root_files = t->root_ca ? 1 : 0,
        .collateral = {.bundle = t->collateral, .sim_dir = t->sim, .pccs_url = t->pccs,
                       .pccs_ca = t->pccs_ca},
        .tcb_update_early = t->tcb_update_early,
        .max_stale = t->max_stale,
    };
    return asps_trust_new(&o, out, eb);
}

int cli_exit_code(asps_err e, int status)
{
    if (status == 16) /* UNAUTHENTICATED: the server refused our evidence */
        return CLI_EXIT_EVIDENCE_REFUSED;
    switch (e) {
    case ASPS_E_DENIED:
        return CLI_EXIT_DENIED;
    case ASPS_E_UNAVAILABLE:
    case ASPS_E_NO_DEVICE: /* no TEE here: not a verdict, try where there is one */
        return CLI_EXIT_UNAVAILABLE;
    case ASPS_E_ARG:
    case ASPS_E_IO:    /* --ca, --pin, --sim files that cannot be read */
    case ASPS_E_LIMIT: /* ... or are over their size limit */
        return CLI_EXIT_USAGE;
    default:
        return CLI_EXIT_DENIED;
    }
}

int cli_time_parse(const char *s, int64_t *out)
{
    /* a plain date is 00:00:00 UTC, as policy dates and sim recover --date
     * read it (README's TCB recovery timeline is in dates) */
    char day[32];
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
        snprintf(day, sizeof day, "%sT00:00:00Z", s);
        s = day;
    }
    return asps_time_parse(s, out) == 0 ? 0 : -1;
}
