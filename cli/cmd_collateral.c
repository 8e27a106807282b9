/* cmd_collateral.c: `asps collateral fetch|show`: the disk cache of
 * collateral (src/collateral/cache.h) from the command line.
 *
 *   asps collateral fetch --pccs URL [--pccs URL2 ...] [--pccs-ca FILE]
 *                         --tee sgx|tdx --fmspc HEX [--ca processor|platform]
 *                         --out DIR
 *       fetches one platform's collateral (PCCS or Intel PCS, the URLs in
 *       order until one serves the whole set) into DIR under the cache's
 *       file name, as the server's collateral.cache_dir holds it.
 *   asps collateral show DIR|BUNDLE [--json]
 *       what each bundle holds (asps_collateral_info_get), nothing verified.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "asps/collateral.h"
#include "cache.h"
#include "cli.h"
#include "opts.h"
#include "pccs.h"
#include "source.h"
#include "util.h"

static const cli_help fetch_help = {
    "collateral fetch",
    "asps collateral fetch --pccs URL [--pccs URL]... [--pccs-ca FILE] --tee sgx|tdx --fmspc HEX "
    "[--ca processor|platform] --out DIR",
    "Fetch one platform's collateral from a PCCS or Intel's PCS (v4 API: PCK CRL,\n"
    "TCB info, QE identity, root CA CRL, and when offered the update=early TCB info\n"
    "and the TCB evaluation data numbers list) into DIR as the server's\n"
    "collateral.cache_dir holds it: DIR/<sgx|tdx>-<FMSPC>-<processor|platform>.json\n"
    "(the bundle format, mode 0600, written atomically). Nothing is verified here:\n"
    "the server verifies each file when it reads it.\n"
    "  --pccs URL      a PCCS or https://api.trustedservices.intel.com; repeat for\n"
    "                  failover (tried in order until one serves the whole set)\n"
    "  --pccs-ca FILE  CA certificate(s) for the PCCS's TLS certificate\n"
    "                  (default: the system's)\n"
    "  --tee sgx|tdx   the platform's TEE\n"
    "  --fmspc HEX     the platform's FMSPC (12 hex digits)\n"
    "  --ca processor|platform  the PCK CA (default processor)\n"
    "  --out DIR       the folder (made when missing)\n"
    "Exit 3 when no URL served the set (the reasons on stderr).\n",
};

static const cli_help show_help = {
    "collateral show",
    "asps collateral show DIR|BUNDLE [--json]",
    "What collateral bundles hold, without verifying them: for BUNDLE, or each\n"
    "*.json file in DIR (a collateral.cache_dir): the platform, the TCB info's\n"
    "evaluation data number, issue date and nextUpdate, the early TCB info's, the\n"
    "QE identity's, the CRLs' dates, and the TCB evaluation data numbers list with\n"
    "each number's tcbRecoveryEventDate and the date it becomes standard (12\n"
    "months later).\n"
    "  --json  one JSON array, an object per file\n"
    "Exit 1 when a file does not read as collateral (named on stderr).\n",
};

enum { OPT_PCCS = 0x300, OPT_PCCS_CA, OPT_TEE, OPT_FMSPC, OPT_CA, OPT_OUT, OPT_JSON };

struct fetch_args {
    const char *pccs[ASPS_COLLATERAL_MAX_PCCS];
    size_t n_pccs;
    const char *pccs_ca, *tee, *fmspc, *ca, *out;
};

static int fetch_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct fetch_args *a = ctx;
    (void)name;
    switch (val) {
    case OPT_PCCS:
        if (a->n_pccs == ASPS_COLLATERAL_MAX_PCCS)
            return cli_usage_error(&fetch_help, "--pccs: at most %d URLs",
                                   ASPS_COLLATERAL_MAX_PCCS);
        a->pccs[a->n_pccs++] = arg;
        return 0;
    case OPT_PCCS_CA: a->pccs_ca = arg; return 0;
    case OPT_TEE:
        if (strcmp(arg, "sgx") && strcmp(arg, "tdx"))
            return cli_usage_error(&fetch_help, "--tee: expected sgx or tdx");
        a->tee = arg;
        return 0;
    case OPT_FMSPC: a->fmspc = arg; return 0;
    case OPT_CA:
        if (strcmp(arg, "processor") && strcmp(arg, "platform"))
            return cli_usage_error(&fetch_help, "--ca: expected processor or platform");
        a->ca = arg;
        return 0;
    default: a->out = arg; return 0;
    }
}

static int cmd_fetch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pccs", required_argument, NULL, OPT_PCCS},
        {"pccs-ca", required_argument, NULL, OPT_PCCS_CA},
        {"tee", required_argument, NULL, OPT_TEE},
        {"fmspc", required_argument, NULL, OPT_FMSPC},
        {"ca", required_argument, NULL, OPT_CA},
        {"out", required_argument, NULL, OPT_OUT},
        {0},
    };
    const struct option *tables[] = {opts, NULL};
    struct fetch_args a = {.ca = "processor"};
    int first;
    int rc = cli_parse(&fetch_help, tables, 0, argc, argv, fetch_opt, &a, &first);
    if (rc)
        return rc == CLI_HELP ? 0 : rc;
    if (first < argc)
        return cli_usage_error(&fetch_help, "unexpected argument '%s'", argv[first]);
    if (!a.n_pccs)
        return cli_usage_error(&fetch_help, "--pccs URL is needed");
    if (!a.tee)
        return cli_usage_error(&fetch_help, "--tee sgx|tdx is needed");
    if (!a.fmspc)
        return cli_usage_error(&fetch_help, "--fmspc HEX is needed");
    if (!a.out)
        return cli_usage_error(&fetch_help, "--out DIR is needed");
    uint8_t fmspc[6];
    if (strlen(a.fmspc) != 12 || asps_hex_decode(a.fmspc, 12, fmspc, 6) != 0)
        return cli_usage_error(&fetch_help, "--fmspc: expected 12 hex digits");
    asps_tee tee = !strcmp(a.tee, "tdx") ? ASPS_TEE_TDX : ASPS_TEE_SGX;
    asps_errbuf eb = {{0}};
    asps_collateral *col = NULL;
    const char *from = NULL;
    int unavailable = 0;
    for (size_t i = 0; i < a.n_pccs && !col; i++) {
        asps_pccs *p = NULL;
        asps_pccs_opts po = {.ca_file = a.pccs_ca};
        asps_err e = asps_pccs_new(a.pccs[i], &po, &p, &eb);
        if (e != ASPS_OK) {
            fprintf(stderr, "asps collateral fetch: %s\n", eb.msg);
            return CLI_EXIT_USAGE; /* a bad URL or an unreadable --pccs-ca */
        }
        /* this command says what failed itself: not the server's
         * "the PCCS is down ...; calls that need it fail" lines */
        asps_pccs_set_in_set(p);
        int64_t nu;
        e = asps_pccs_fetch(p, tee, fmspc, a.ca, &col, &nu, &eb);
        asps_pccs_free(p);
        /* what was served must be what was asked: the file is named for it,
         * and the server ignores a file whose TCB info is for another
         * platform (an air-gapped cache "filled" with nothing usable) */
        asps_collateral_info in;
        if (e == ASPS_OK && asps_collateral_info_get(col, &in, &eb) == ASPS_OK &&
            (in.is_tdx != (tee == ASPS_TEE_TDX) || memcmp(in.fmspc, fmspc, 6) != 0 ||
             (in.pck_ca[0] && strcmp(in.pck_ca, a.ca) != 0))) {
            char got[13];
            asps_hex_encode_upper(in.fmspc, 6, got);
            asps_fail(&eb, ASPS_E_TCB_INFO_MISMATCH,
                      "%s served collateral for %s FMSPC %s (%s CA), not the %s FMSPC %s (%s CA) asked for",
                      a.pccs[i], in.is_tdx ? "tdx" : "sgx", got,
                      in.pck_ca[0] ? in.pck_ca : "unknown", a.tee, a.fmspc, a.ca);
            asps_collateral_free(col);
            col = NULL;
            e = ASPS_E_TCB_INFO_MISMATCH;
        }
        if (e == ASPS_OK) {
            from = a.pccs[i];
            break;
        }
        fprintf(stderr, "asps collateral fetch: %s%s\n", eb.msg,
                i + 1 < a.n_pccs ? "; trying the next URL" : "");
        if (e == ASPS_E_NOMEM)
            return CLI_EXIT_UNAVAILABLE;
        unavailable = 1;
    }
    if (!col) {
        (void)unavailable;
        fprintf(stderr, "asps collateral fetch: unavailable: no URL served the collateral\n");
        return CLI_EXIT_UNAVAILABLE;
    }
    int written = 0;
    asps_err e = asps_collateral_cache_write(a.out, tee, fmspc, a.ca, col, &written, &eb);
    asps_collateral_free(col);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps collateral fetch: %s\n", eb.msg);
        return CLI_EXIT_USAGE;
    }
    char name[64];
    asps_collateral_cache_name(tee, fmspc, a.ca, name, sizeof name);
    printf("%s/%s %s (from %s)\n", a.out, name, written ? "written" : "unchanged", from);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* "2026-05-13T00:00:00Z", or "-" for 0 */
static void fmt_time(int64_t t, char out[32])
{
    if (!t)
        snprintf(out, 32, "-");
    else
        asps_time_format(t, out);
}

/* T + 12 calendar months: when an evaluation data number whose
 * tcbRecoveryEventDate is T becomes standard (Intel's PCS policy). */
static int64_t plus_12_months(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return 0;
    tm.tm_year += 1;
    return (int64_t)timegm(&tm);
}

static cJSON *json_dates(const char *k1, int64_t t1, const char *k2, int64_t t2)
{
    cJSON *o = cJSON_CreateObject();
    char a[32], b[32];
    fmt_time(t1, a);
    fmt_time(t2, b);
    cJSON_AddStringToObject(o, k1, a);
    cJSON_AddStringToObject(o, k2, b);
    return o;
}

static cJSON *info_json(const char *file, const asps_collateral_info *in)
{
    cJSON *o = cJSON_CreateObject();
    char fm[13], t[32];
    asps_hex_encode_upper(in->fmspc, 6, fm);
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddStringToObject(o, "tee", in->is_tdx ? "tdx" : "sgx");
    cJSON_AddStringToObject(o, "fmspc", fm);
    cJSON_AddStringToObject(o, "pck_ca", in->pck_ca);
    cJSON *ti = json_dates("issue_date", in->tcb_info_issue_date, "next_update", in->tcb_info_next_update);
    cJSON_AddNumberToObject(ti, "version", in->tcb_info_version);
    cJSON_AddNumberToObject(ti, "tcb_evaluation_data_number", in->tcb_info_evaluation_data_number);
    cJSON_AddItemToObject(o, "tcb_info", ti);
    if (in->has_early) {
        cJSON *e = json_dates("issue_date", in->early_issue_date, "next_update", in->early_next_update);
        cJSON_AddNumberToObject(e, "tcb_evaluation_data_number", in->early_evaluation_data_number);
        cJSON_AddItemToObject(o, "tcb_info_early", e);
    } else {
        cJSON_AddNullToObject(o, "tcb_info_early");
    }
    cJSON *q = json_dates("issue_date", in->qe_identity_issue_date, "next_update", in->qe_identity_next_update);
    cJSON_AddNumberToObject(q, "tcb_evaluation_data_number", in->qe_identity_evaluation_data_number);
    cJSON_AddItemToObject(o, "qe_identity", q);
    cJSON_AddItemToObject(o, "pck_crl",
                          json_dates("this_update", in->pck_crl_this_update, "next_update", in->pck_crl_next_update));
    cJSON_AddItemToObject(o, "root_ca_crl", json_dates("this_update", in->root_ca_crl_this_update,
                                                       "next_update", in->root_ca_crl_next_update));
    if (in->has_eval_numbers) {
        cJSON *l = json_dates("issue_date", in->eval_numbers_issue_date, "next_update", in->eval_numbers_next_update);
        cJSON *arr = cJSON_AddArrayToObject(l, "numbers");
        for (size_t i = 0; i < in->n_eval_numbers && i < ASPS_COLLATERAL_MAX_EVAL_NUMBERS; i++) {
            cJSON *n = cJSON_CreateObject();
            cJSON_AddNumberToObject(n, "tcb_evaluation_data_number", in->eval_numbers[i].number);
            fmt_time(in->eval_numbers[i].tcb_recovery_event_date, t);
            cJSON_AddStringToObject(n, "tcb_recovery_event_date", t);
            fmt_time(in->eval_numbers[i].tcb_date, t);
            cJSON_AddStringToObject(n, "tcb_date", t);
            fmt_time(in->eval_numbers[i].tcb_recovery_event_date
                         ? plus_12_months(in->eval_numbers[i].tcb_recovery_event_date) : 0, t);
            cJSON_AddStringToObject(n, "standard_from", t);
            cJSON_AddItemToArray(arr, n);
        }
        cJSON_AddItemToObject(o, "tcb_evaluation_data_numbers", l);
    } else {
        cJSON_AddNullToObject(o, "tcb_evaluation_data_numbers");
    }
    fmt_time(in->next_update, t);
    cJSON_AddStringToObject(o, "next_update", t);
    return o;
}

static void info_text(const char *file, const asps_collateral_info *in, int64_t now)
{
    char fm[13], a[32], b[32];
    asps_hex_encode_upper(in->fmspc, 6, fm);
    printf("%s\n", file);
    printf("  platform: %s FMSPC %s%s%s%s\n", in->is_tdx ? "tdx" : "sgx", fm,
           in->pck_ca[0] ? " (" : "", in->pck_ca, in->pck_ca[0] ? " CA)" : "");
    fmt_time(in->tcb_info_issue_date, a);
    fmt_time(in->tcb_info_next_update, b);
    printf("  tcb info: v%u, evaluation data number %u, issued %s, nextUpdate %s\n",
           in->tcb_info_version, in->tcb_info_evaluation_data_number, a, b);
    if (in->has_early) {
        fmt_time(in->early_issue_date, a);
        fmt_time(in->early_next_update, b);
        printf("  early tcb info: evaluation data number %u, issued %s, nextUpdate %s\n",
               in->early_evaluation_data_number, a, b);
    } else {
        printf("  early tcb info: not held\n");
    }
    fmt_time(in->qe_identity_issue_date, a);
    fmt_time(in->qe_identity_next_update, b);
    printf("  qe identity: evaluation data number %u, issued %s, nextUpdate %s\n",
           in->qe_identity_evaluation_data_number, a, b);
    fmt_time(in->pck_crl_this_update, a);
    fmt_time(in->pck_crl_next_update, b);
    printf("  pck crl: thisUpdate %s, nextUpdate %s\n", a, b);
    fmt_time(in->root_ca_crl_this_update, a);
    fmt_time(in->root_ca_crl_next_update, b);
    printf("  root ca crl: thisUpdate %s, nextUpdate %s\n", a, b);
    if (in->has_eval_numbers) {
        fmt_time(in->eval_numbers_issue_date, a);
        fmt_time(in->eval_numbers_next_update, b);
        printf("  tcb evaluation data numbers: issued %s, nextUpdate %s\n", a, b);
        for (size_t i = 0; i < in->n_eval_numbers && i < ASPS_COLLATERAL_MAX_EVAL_NUMBERS; i++) {
            char r[32], d[32], s[32];
            int64_t rec = in->eval_numbers[i].tcb_recovery_event_date;
            fmt_time(rec, r);
            fmt_time(in->eval_numbers[i].tcb_date, d);
            fmt_time(rec ? plus_12_months(rec) : 0, s);
            printf("    %u: tcbRecoveryEventDate %s, tcbDate %s, standard from %s\n",
                   in->eval_numbers[i].number, r, d, s);
        }
    } else {
        printf("  tcb evaluation data numbers: not held\n");
    }
    fmt_time(in->next_update, a);
    if (in->next_update && in->next_update <= now)
        printf("  earliest nextUpdate: %s (%lld s ago)\n", a, (long long)(now - in->next_update));
    else
        printf("  earliest nextUpdate: %s (in %lld s)\n", a, (long long)(in->next_update - now));
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int show_opt(void *ctx, int val, const char *name, const char *arg)
{
    (void)val;
    (void)name;
    (void)arg;
    *(int *)ctx = 1; /* --json */
    return 0;
}

/* Show one file: 0 ok, 1 it does not read as collateral, 2 it cannot be
 * read at all (missing, not a regular file, too large: README's usage
 * exit). */
static int show_one(const char *path, cJSON *arr, int64_t now)
{
    asps_errbuf eb = {{0}};
    asps_collateral *c = NULL;
    asps_collateral_info in;
    uint8_t *buf = NULL;
    size_t len = 0;
    /* a regular file only (a FIFO named *.json must not hang the listing) */
    asps_err e = asps_read_regular_file(path, 16u << 20, &buf, &len, &eb);
    int unreadable = e != ASPS_OK;
    if (e == ASPS_OK)
        e = asps_collateral_parse_bundle(buf, len, &c, &eb);
    free(buf);
    if (e == ASPS_OK)
        e = asps_collateral_info_get(c, &in, &eb);
    asps_collateral_free(c);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps collateral show: %s: %s\n", path, eb.msg);
        return unreadable ? 2 : 1;
    }
    if (arr)
        cJSON_AddItemToArray(arr, info_json(path, &in));
    else
        info_text(path, &in, now);
    return 0;
}

static int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON}, {0}};
    const struct option *tables[] = {opts, NULL};
    int json = 0, first;
    int rc = cli_parse(&show_help, tables, 0, argc, argv, show_opt, &json, &first);
    if (rc)
        return rc == CLI_HELP ? 0 : rc;
    if (first >= argc)
        return cli_usage_error(&show_help, "DIR or BUNDLE is needed");
    if (first + 1 < argc)
        return cli_usage_error(&show_help, "unexpected argument '%s'", argv[first + 1]);
    const char *arg = argv[first];
    struct stat st;
    if (stat(arg, &st) != 0) {
        fprintf(stderr, "asps collateral show: cannot open %s: %s\n", arg, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(arg);
        if (!d) {
            fprintf(stderr, "asps collateral show: cannot read %s\n", arg);
            return CLI_EXIT_USAGE;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t l = strlen(de->d_name);
            if (l <= 5 || strcmp(de->d_name + l - 5, ".json") || de->d_name[0] == '.')
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                char **nn = realloc(names, cap * sizeof *names);
                if (!nn)
                    break;
                names = nn;
            }
            size_t pl = strlen(arg) + l + 2;
            if (!(names[n] = malloc(pl)))
                break;
            snprintf(names[n++], pl, "%s/%s", arg, de->d_name);
        }
        closedir(d);
        if (n) /* qsort's array may not be NULL, even for 0 items */
            qsort(names, n, sizeof *names, by_name);
    } else {
        names = malloc(sizeof *names);
        if (names && (names[0] = strdup(arg)))
            n = 1;
    }
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    int64_t now = (int64_t)time(NULL);
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!json && i)
            printf("\n");
        int r = show_one(names[i], arr, now);
        rc = r > rc ? r : rc;
        free(names[i]);
    }
    free(names);
    if (!n && !json)
        printf("%s: no collateral files\n", arg);
    if (arr) {
        char *out = cJSON_PrintUnformatted(arr);
        if (out)
            printf("%s\n", out);
        free(out);
        cJSON_Delete(arr);
    }
    if (fflush(stdout) != 0)
        return CLI_EXIT_USAGE;
    return rc == 2 ? CLI_EXIT_USAGE : rc ? CLI_EXIT_DENIED : CLI_EXIT_OK;
}

int asps_cmd_collateral(int argc, char **argv)
{
    static const cli_leaf leaves[] = {{&fetch_help, cmd_fetch}, {&show_help, cmd_show}};
    return cli_group("collateral", "Fetch collateral into a cache folder, or show what bundles hold.\n",
                     leaves, 2, argc, argv);
}
