/* common.c: trust and collateral options shared by `quote verify` and
 * `cert verify`; subcommand dispatch. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util.h"

int cli_trust_option(cli_trust *t, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char **slot = !strcmp(a, "--collateral") ? &t->collateral
                        : !strcmp(a, "--pccs")     ? &t->pccs
                        : !strcmp(a, "--pccs-ca")  ? &t->pccs_ca
                        : !strcmp(a, "--root-ca")  ? &t->root_ca
                        : !strcmp(a, "--sim")      ? &t->sim
                                                   : NULL;
    if (!slot && strcmp(a, "--at") != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "asps: %s needs a value\n", a);
        return -1;
    }
    const char *val = argv[++*i];
    if (slot) {
        *slot = val;
        return 1;
    }
    if (asps_time_parse(val, &t->at) != 0) {
        fprintf(stderr, "asps: --at: '%s' is neither unix seconds nor RFC 3339\n", val);
        return -1;
    }
    return 1;
}

int cli_file_args(const char *cmd, const char *usage, cli_trust *t, int argc, char **argv,
                  const char **path, int *json)
{
    *path = NULL;
    *json = 0;
    for (int i = 0; i < argc; i++) {
        int r = t ? cli_trust_option(t, argc, argv, &i) : 0;
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (!strcmp(argv[i], "--json")) {
            *json = 1;
        } else if (argv[i][0] == '-' || *path) {
            fprintf(stderr, "asps %s: unexpected argument '%s'\n%s", cmd, argv[i], usage);
            return 2;
        } else {
            *path = argv[i];
        }
    }
    if (!*path) {
        fprintf(stderr, "asps %s: a file is needed\n%s", cmd, usage);
        return 2;
    }
    return 0;
}

void cli_print_json(const cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        puts(s);
    free(s);
}

int cli_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    asps_errbuf eb;
    if (asps_read_file(path, max, buf, len, &eb) != ASPS_OK) {
        fprintf(stderr, "asps: %s\n", eb.msg);
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
    };
    return asps_trust_new(&o, out, eb);
}

int cli_dispatch(const char *cmd, const char *usage, const cli_sub *subs, size_t n_subs, int argc,
                 char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("%s", usage);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    for (size_t i = 0; i < n_subs; i++)
        if (!strcmp(argv[1], subs[i].name))
            return subs[i].run(argc - 2, argv + 2);
    fprintf(stderr, "asps %s: unknown subcommand '%s'\n%s", cmd, argv[1], usage);
    return 2;
}

int cli_exit_code(asps_err e, int status)
{
    if (status == 16) /* UNAUTHENTICATED: the server refused our evidence */
        return CLI_EXIT_EVIDENCE_REFUSED;
    return e == ASPS_E_DENIED ? 1 : e == ASPS_E_UNAVAILABLE ? 3 : e == ASPS_E_ARG ? 2 : 1;
}
