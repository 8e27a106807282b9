/* opts.c: see opts.h. */
#include "opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char cli_exit_table[] =
    "Exit codes (every asps command):\n"
    "  0  ok: verified, valid, granted, done\n"
    "  1  denied, not verified, or invalid (the reason on stderr)\n"
    "  2  usage: bad arguments, an input file that cannot be read (missing, a folder,\n"
    "     too large), an output that cannot be written, a config error\n"
    "  3  unavailable: server unreachable or busy, KMS, collateral or audit log\n"
    "     trouble, no TEE device on this machine (retry later or elsewhere)\n"
    "  4  run: the secret files could not be written (none left behind)\n"
    "  5  the server refused this workload's attestation evidence (UNAUTHENTICATED:\n"
    "     retrying will not help)\n";

/* One synopsis line (N bytes) wrapped at 80 columns: breaks at spaces,
 * continuation lines indented by CONT (under the first argument). */
static void wrap_line(FILE *f, const char *lead, size_t cont, const char *s, size_t n)
{
    size_t col;
    fputs(lead, f);
    col = strlen(lead);
    const char *p = s, *end = s + n;
    int at_start = 1;
    while (p < end) {
        /* a unit: a word and what follows up to the next word that begins
         * an option or a group ("--pin CERT)" stays whole) */
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        while (sp && sp + 1 < end && !strchr("[(|-", sp[1]))
            sp = memchr(sp + 1, ' ', (size_t)(end - sp - 1));
        size_t wl = sp ? (size_t)(sp - p) : (size_t)(end - p);
        if (!at_start && col + 1 + wl > 79) {
            fprintf(f, "\n%*s", (int)cont, "");
            col = cont;
            at_start = 1;
        }
        if (!at_start) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, wl, f);
        col += wl;
        at_start = 0;
        p += wl + (sp ? 1 : 0);
    }
    fputc('\n', f);
}

static void usage_lines(FILE *f, const cli_help *h, int first)
{
    const char *s = h->synopsis;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        wrap_line(f, first ? "usage: " : "       ", strlen("usage: asps  ") + strlen(h->cmd), s, n);
        first = 0;
        s += n + (nl ? 1 : 0);
    }
}

void cli_usage_print(FILE *f, const cli_help *h) { usage_lines(f, h, 1); }

void cli_help_print(const cli_help *h)
{
    cli_usage_print(stdout, h);
    if (h->text)
        printf("\n%s", h->text);
    printf("\n%s", cli_exit_table);
}

int cli_usage_error(const cli_help *h, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "asps %s: ", h->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cli_usage_print(stderr, h);
    fprintf(stderr, "Run 'asps %s --help' for more.\n", h->cmd);
    return CLI_EXIT_USAGE;
}

int cli_parse(const cli_help *h, const struct option *const *tables, int stop_at_arg, int argc,
              char **argv, cli_opt_fn fn, void *ctx, int *first)
{
    size_t n = 0;
    for (size_t t = 0; tables && tables[t]; t++)
        for (const struct option *o = tables[t]; o->name; o++)
            n++;
    struct option *all = calloc(n + 2, sizeof *all);
    if (!all) {
        fprintf(stderr, "asps %s: out of memory\n", h->cmd);
        return CLI_EXIT_DENIED;
    }
    n = 0;
    for (size_t t = 0; tables && tables[t]; t++)
        for (const struct option *o = tables[t]; o->name; o++)
            all[n++] = *o;
    all[n++] = (struct option){"help", no_argument, NULL, 'h'};
    /* ':' first: a missing value is ':' (not '?'), and getopt prints nothing */
    const char *shortopts = stop_at_arg ? "+:h" : ":h";
    opterr = 0;
    optind = 0; /* glibc: start afresh (a group may have parsed before) */
    int rc = 0, c, li;
    /* --help anywhere wins over every other option and error: help never
     * does anything else */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli_help_print(h);
            free(all);
            return CLI_HELP;
        }
    }
    while (rc == 0 && (li = -1, c = getopt_long(argc, argv, shortopts, all, &li)) != -1) {
        if (c == 'h') {
            cli_help_print(h);
            rc = CLI_HELP;
        } else if (c == '?') {
            if (optopt && optopt != 'h')
                rc = cli_usage_error(h, "unknown option '-%c'", optopt);
            else
                rc = cli_usage_error(h, "unknown option '%s'", argv[optind - 1]);
        } else if (c == ':') {
            const char *a = argv[optind - 1];
            size_t al = strcspn(a, "=");
            rc = cli_usage_error(h, "%.*s needs a value", (int)al, a);
        } else {
            char name[64] = "";
            if (li >= 0)
                snprintf(name, sizeof name, "--%s", all[li].name);
            rc = fn(ctx, c, name, optarg);
            if (rc == CLI_BAD_VALUE) {
                cli_usage_print(stderr, h);
                fprintf(stderr, "Run 'asps %s --help' for more.\n", h->cmd);
                rc = CLI_EXIT_USAGE;
            }
        }
    }
    free(all);
    if (rc == 0)
        *first = optind;
    return rc;
}

int cli_group(const char *group, const char *text, const cli_leaf *leaves, size_t n, int argc,
              char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        for (size_t i = 0; i < n; i++)
            usage_lines(stdout, leaves[i].help, i == 0);
        printf("\n%s", text);
        for (size_t i = 0; i < n; i++)
            if (leaves[i].help->text)
                printf("\n%s:\n%s", leaves[i].help->cmd, leaves[i].help->text);
        printf("\n%s", cli_exit_table);
        return CLI_EXIT_OK;
    }
    if (argc >= 2)
        for (size_t i = 0; i < n; i++) {
            const char *leaf = strchr(leaves[i].help->cmd, ' ');
            if (leaf && !strcmp(argv[1], leaf + 1))
                return leaves[i].run(argc - 1, argv + 1);
        }
    if (argc >= 2)
        fprintf(stderr, "asps %s: unknown subcommand '%s'\n", group, argv[1]);
    else
        fprintf(stderr, "asps %s: a subcommand is needed\n", group);
    for (size_t i = 0; i < n; i++)
        usage_lines(stderr, leaves[i].help, i == 0);
    fprintf(stderr, "Run 'asps %s --help' for more.\n", group);
    return CLI_EXIT_USAGE;
}

int cli_write_out(const char *cmd, const char *path, const void *buf, size_t len, unsigned mode)
{
    if (!strcmp(path, "-")) {
        if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "asps %s: writing to stdout: %s\n", cmd, strerror(errno));
            return CLI_EXIT_USAGE;
        }
        return 0;
    }
    asps_errbuf eb = {{0}};
    if (asps_write_file_atomic(path, buf, len, mode, &eb) != ASPS_OK) {
        fprintf(stderr, "asps %s: %s\n", cmd, eb.msg);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cli_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}
