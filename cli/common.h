/* common.h: helpers shared by the asps subcommands. */
#ifndef ASPS_CLI_COMMON_H
#define ASPS_CLI_COMMON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"
#include "opts.h"
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
    int tcb_update_early;    /* quote verify --tcb-update early */
    int64_t max_stale;       /* quote verify --max-stale DURATION (seconds) */
} cli_trust;

/* The help lines of the trust options (and --json), for the verify
 * commands' help text (`asps quote verify`, `asps cert verify`); README.md
 * repeats them (test_cli_help compares). */
#define CLI_TRUST_HELP                                                                             \
    "  --collateral FILE  collateral bundle (JSON: see README.md)\n"                               \
    "  --pccs URL         fetch collateral from a PCCS (v4 API)\n"                                 \
    "  --pccs-ca FILE     CA certificate(s) for the PCCS's TLS certificate\n"                      \
    "  --sim DIR          trust the simulated platform in DIR and use its collateral\n"            \
    "  --root-ca FILE     also trust this root CA (DER or PEM); results say simulated\n"           \
    "  --at TIME          verification time: unix seconds, YYYY-MM-DD or RFC 3339 (default now)\n"             \
    "  --json             print one JSON object with the verdict and claims\n"

/* getopt_long table of the trust options (val CLI_OPT_TRUST) and applying
 * one: NAME "--pccs" etc., V its value. 0 ok; CLI_BAD_VALUE (printed). */
#define CLI_OPT_TRUST 0x200
extern const struct option cli_trust_opts[];
int cli_trust_set(const char *cmd, cli_trust *t, const char *name, const char *v);

/* The trust these options name: the Intel root plus --root-ca and --sim's
 * root; collateral from --collateral, else --sim's folder, else --pccs.
 * ASPS_E_ARG when none of the three is given. */
asps_err cli_trust_new(const cli_trust *t, asps_trust **out, asps_errbuf *eb);

/* The arguments of "asps CMD FILE [--json]" and, when t is not NULL, the
 * trust options: one FILE (*path), --json (*json). 0: ok; CLI_HELP: help
 * printed; else a usage error (printed): its exit code. */
int cli_file_args(const cli_help *h, cli_trust *t, int argc, char **argv, const char **path,
                  int *json);
/* The same with the command's own options: EXTRA (a getopt_long table
 * ending with a zeroed entry; vals other than 'j' and CLI_OPT_TRUST) handed
 * to FN with CTX, through the one parser (opts.h). */
int cli_file_args_ex(const cli_help *h, cli_trust *t, const struct option *extra, cli_opt_fn fn,
                     void *ctx, int argc, char **argv, const char **path, int *json);

/* PATH's bytes B are an X.509 certificate, not the quote CMD wants: prints
 * what it is and the `asps cert` command to run, returns 1; else 0. */
int cli_quote_is_cert_hint(const char *cmd, const char *path, const uint8_t *b, size_t n);

/* What the policy file at PATH looks like: "native" (top-level "apps"),
 * "cczoo" ("app_list"), "occlum" ("sgx_mrs"), else NULL. */
const char *cli_policy_guess(const char *path);
/* When PATH looks like another format than READ_AS ("native", "cczoo",
 * "occlum"), the format it was read as: "asps CMD: hint: ... pass OPTION
 * FMT" on stderr (OPTION: "--from" or "--policy-format"). */
void cli_policy_format_hint(const char *cmd, const char *path, const char *option,
                            const char *read_as);
/* The same hint as one line in BUF; 1 when there is one. */
int cli_policy_hint_text(const char *path, const char *option, const char *read_as, char *buf,
                         size_t size);

/* o as one line of JSON on stdout. */
void cli_print_json(const cJSON *o);

/* README's TIME: unix seconds, a date YYYY-MM-DD (00:00:00 UTC) or RFC
 * 3339 -> unix seconds in *out. 0, or -1 when S is none of them. */
int cli_time_parse(const char *s, int64_t *out);

/* Read a file or print "asps CMD: why"; returns 0 ok. */
int cli_read(const char *cmd, const char *path, size_t max, uint8_t **buf, size_t *len);

#endif
