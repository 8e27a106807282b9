/* opts.h: the one argument parser of every asps subcommand (glibc's
 * getopt_long), their help and usage errors, and the one exit-code table.
 *
 * Every leaf command describes itself with a cli_help: its synopsis line(s)
 * exactly as README.md's command table shows them (a test compares them),
 * and its text. `--help`/`-h` anywhere prints usage, text and the exit-code
 * table on stdout (exit 0, nothing else done); a usage error prints
 * "asps CMD: WHAT" and the usage on stderr (exit 2). */
#ifndef ASPS_CLI_OPTS_H
#define ASPS_CLI_OPTS_H

#include <getopt.h>
#include <stdio.h>

/* The exit codes of the whole command (README.md "Exit codes"). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_DENIED = 1,      /* denied, not verified, invalid */
    CLI_EXIT_USAGE = 2,       /* bad arguments, unreadable input file, config error */
    CLI_EXIT_UNAVAILABLE = 3, /* unreachable, busy, backend trouble, no TEE: retry later */
    CLI_EXIT_NOT_WRITTEN = 4, /* run: the secret files could not be written */
    CLI_EXIT_REFUSED = 5,     /* the server refused this workload's evidence */
};
extern const char cli_exit_table[];

typedef struct cli_help {
    const char *cmd;      /* "sim init": messages begin "asps sim init: " */
    const char *synopsis; /* "asps sim init DIR [--force]"; alternatives one per line */
    const char *text;     /* what it does and its options; NULL: none */
} cli_help;

/* "usage: " and each synopsis line, wrapped at 80 columns (continuation
 * lines indented), to F. */
void cli_usage_print(FILE *f, const cli_help *h);
/* usage, text and the exit-code table on stdout. */
void cli_help_print(const cli_help *h);
/* "asps CMD: <printf>" and the usage on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_help *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Called for each option: VAL is the option's val, NAME its long name
 * ("--out"), ARG its value or NULL. Returns 0 ok, else an exit code (the
 * message printed, e.g. by cli_usage_error). */
typedef int (*cli_opt_fn)(void *ctx, int val, const char *name, const char *arg);

/* Parse ARGV[1..ARGC) (ARGV[0] is the command's name) with getopt_long
 * against the NULL-terminated list of option TABLES (each ending with a
 * zeroed entry), plus --help/-h. STOP_AT_ARG: stop at the first non-option
 * (POSIX "+"; for `run -- APP`), else options and arguments mix.
 * Returns 0 with *FIRST the index of the first non-option argument;
 * CLI_HELP after printing the help (the caller exits 0); or an exit code
 * (a usage error, printed). */
#define CLI_HELP (-1)
/* What an option handler returns for a bad value when it printed only
 * "asps CMD: what": cli_parse adds the usage and returns CLI_EXIT_USAGE. */
#define CLI_BAD_VALUE (-2)
int cli_parse(const cli_help *h, const struct option *const *tables, int stop_at_arg, int argc,
              char **argv, cli_opt_fn fn, void *ctx, int *first);

/* A group of leaf commands ("asps quote verify|show"): ARGV[1] names the
 * leaf. No leaf: the group's usage on stderr, exit 2; --help/-h: every
 * leaf's usage and text and the exit table; else the leaf runs with
 * ARGV+1 (its argv[0] is its name). */
typedef struct cli_leaf {
    const cli_help *help;
    int (*run)(int argc, char **argv);
} cli_leaf;
int cli_group(const char *group, const char *text, const cli_leaf *leaves, size_t n, int argc,
              char **argv);

/* "-" means stdout where a command has --out: write LEN bytes of BUF to
 * PATH (atomically, MODE) or to stdout. 0 ok, else message printed
 * ("asps CMD: ...") and 1. */
int cli_write_out(const char *cmd, const char *path, const void *buf, size_t len, unsigned mode);

/* Parse N in LO..HI from S; 0 ok. */
int cli_long(const char *s, long lo, long hi, long *out);

#endif
