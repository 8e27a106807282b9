/* common.h: helpers shared by the asps subcommands. */
#ifndef ASPS_CLI_COMMON_H
#define ASPS_CLI_COMMON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"
#include "trust.h"

/* Where collateral comes from and what is trusted, as the verify commands'
 * options give it. */
typedef struct cli_trust {
    const char *collateral;  /* --collateral FILE */
    const char *pccs;        /* --pccs URL */
    const char *pccs_ca;     /* --pccs-ca FILE */
    const char *root_ca;     /* --root-ca FILE */
    const char *sim;         /* --sim DIR: trust DIR/root_ca.der, DIR/collateral_*.json */
    int64_t at;              /* --at TIME, default now */
} cli_trust;

/* Parse one trust option at argv[*i]; returns 1 if consumed (advancing *i),
 * 0 if not a trust option, -1 on a usage error (message printed). */
int cli_trust_option(cli_trust *t, int argc, char **argv, int *i);

/* The trust these options name: the Intel root plus --root-ca and --sim's
 * root; collateral from --collateral, else --sim's folder, else --pccs.
 * ASPS_E_ARG when none of the three is given. */
asps_err cli_trust_new(const cli_trust *t, asps_trust **out, asps_errbuf *eb);

/* A subcommand table and its dispatch: "--help"/"-h" prints USAGE (exit 0);
 * no or an unknown subcommand prints USAGE to stderr (exit 2); else the
 * subcommand runs with its own arguments (argv[0] is its first). */
typedef struct cli_sub {
    const char *name;
    int (*run)(int argc, char **argv);
} cli_sub;
int cli_dispatch(const char *cmd, const char *usage, const cli_sub *subs, size_t n_subs, int argc,
                 char **argv);

/* The arguments of "asps CMD FILE [--json]" and, when t is not NULL, the
 * trust options: one FILE (*path), --json (*json). 0: ok; 2: a usage error,
 * its message and USAGE printed to stderr. */
int cli_file_args(const char *cmd, const char *usage, cli_trust *t, int argc, char **argv,
                  const char **path, int *json);

/* o as one line of JSON on stdout. */
void cli_print_json(const cJSON *o);

/* Read a file or print an error; returns 0 ok. */
int cli_read(const char *path, size_t max, uint8_t **buf, size_t *len);

#endif
