/* cmd_policy.c: `asps policy check|convert`.
 *
 *   asps policy check [--from native|cczoo|occlum] [--secrets F] FILE
 *       exit 0: valid (prints a summary), 1: invalid (the error names the
 *       field), 2: usage or unreadable file.
 *   asps policy convert --from cczoo|occlum FILE [--secrets secret_config.json]
 *                       [--kms-out kms.json] > native.json
 *       Notes about changed semantics go to stderr. The output may hold the
 *       apps' kms_credential tokens: keep it as private as the input.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "cli.h"
#include "common.h"
#include "opts.h"
#include "util.h"

#define SEED_TCB_HELP                                                                      \
    "  --seed-tcb-statuses  the TCB statuses converted apps accept, comma-separated\n"      \
    "             (default: the seed verifiers' own: UpToDate, SWHardeningNeeded,\n"       \
    "             ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate,\n"    \
    "             OutOfDateConfigurationNeeded)\n"                                         \
    "Conversion notes (semantics that changed) go to stderr.\n"

static const cli_help check_help = {
    "policy check",
    "asps policy check [--from native|cczoo|occlum] [--secrets FILE] [--seed-tcb-statuses LIST] POLICY",
    "Validate a policy and print a summary (exit 0 valid, 1 invalid: the error\n"
    "names the field). --from: the policy's format (default native); a CCZoo or\n"
    "Occlum file checked as native is named as what it looks like.\n"
    "  --secrets  Occlum secret_config.json (name -> base64)\n" SEED_TCB_HELP};

static const cli_help convert_help = {
    "policy convert",
    "asps policy convert --from cczoo|occlum [--secrets FILE] [--kms-out FILE] [--seed-tcb-statuses LIST] POLICY",
    "Turn a CCZoo or Occlum policy into native asps JSON on stdout (notes about\n"
    "changed semantics on stderr). The output may hold the apps' kms_credential\n"
    "tokens: keep it as private as the input.\n"
    "  --secrets  Occlum secret_config.json (name -> base64): its names become\n"
    "             the apps' secrets and it becomes the KMS file\n"
    "  --kms-out  CCZoo \"kms\": \"none\": write the inline values to this KMS file\n" SEED_TCB_HELP};

static void print_note(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "note: %s\n", line);
}

static int parse_format(const char *s, asps_policy_format *out)
{
    if (!strcmp(s, "native"))
        *out = ASPS_POLICY_NATIVE;
    else if (!strcmp(s, "cczoo"))
        *out = ASPS_POLICY_CCZOO;
    else if (!strcmp(s, "occlum"))
        *out = ASPS_POLICY_OCCLUM;
    else
        return -1;
    return 0;
}

/* NOTES: convert (writes the KMS file); check validates only. Both print
 * the conversion notes, as serve and serve --check do. */
static int load(asps_policy_format fmt, const char *file, const char *secrets,
                const char *kms_out, uint32_t tcb_mask, asps_policy **p, int notes)
{
    asps_policy_seed_options opt = {0};
    opt.validate_only = !notes; /* check writes nothing */
    opt.occlum_secrets_path = secrets;
    opt.kms_out_path = kms_out;
    opt.tcb_mask = tcb_mask;
    opt.note = print_note;
    asps_errbuf eb = {{0}};
    asps_err e = asps_policy_load_seed(fmt, file, &opt, p, &eb);
    if (e == ASPS_OK)
        return 0;
    fprintf(stderr, "asps %s: %s\n", notes ? "policy convert" : "policy check", eb.msg);
    const char *g = notes ? cli_policy_guess(file) : NULL;
    if (g && !strcmp(g, "native")) /* convert has no --from native */
        fprintf(stderr, "asps policy convert: hint: %s is already a native asps policy (it has "
                        "\"apps\"): nothing to convert; check it with asps policy check %s\n",
                file, file);
    else
        cli_policy_format_hint(notes ? "policy convert" : "policy check", file, "--from",
                               fmt == ASPS_POLICY_CCZOO    ? "cczoo"
                               : fmt == ASPS_POLICY_OCCLUM ? "occlum"
                                                           : "native");
    return (e == ASPS_E_IO || e == ASPS_E_ARG) ? 2 : 1;
}

/* --seed-tcb-statuses LIST: the TCB statuses converted apps accept; a bad
 * list is a usage error. */
static int seed_tcb_option(const cli_help *h, const char *list, uint32_t *mask)
{
    asps_errbuf eb = {{0}};
    if (asps_policy_tcb_mask_parse(list, "--seed-tcb-statuses", mask, &eb) == ASPS_OK)
        return 0;
    return cli_usage_error(h, "%s", eb.msg);
}

static void summary(const char *file, const asps_policy *p)
{
    size_t n = asps_policy_app_count(p);
    printf("%s: valid, %zu app%s (first matching app decides)\n", file, n, n == 1 ? "" : "s");
    asps_policy_kms k;
    asps_policy_kms_info(p, &k);
    if (k.type)
        printf("kms: %s %s%s%s\n", k.type, k.path ? k.path : (k.addr ? k.addr : ""),
               k.default_encoding ? " encoding " : "",
               k.default_encoding ? k.default_encoding : "");
    for (size_t i = 0; i < n; i++) {
        size_t ns = asps_policy_app_secret_count(p, i);
        printf("  %zu. %s (%s)%s: %zu secret%s", i + 1, asps_policy_app_name(p, i),
               asps_policy_app_tee(p, i) == ASPS_TEE_TDX ? "tdx" : "sgx",
               asps_policy_app_has_credential(p, i) ? " [own KMS credential]" : "", ns,
               ns == 1 ? "" : "s");
        for (size_t j = 0; j < ns; j++)
            printf("%s%s", j ? ", " : ": ", asps_policy_app_secret_name(p, i, j));
        printf("\n");
        char rules[256];
        asps_policy_app_tcb_rules(p, i, rules, sizeof rules);
        if (rules[0])
            printf("     TCB recovery: %s\n", rules);
    }
}

const char *cli_policy_guess(const char *path)
{
    uint8_t *buf;
    size_t len;
    asps_errbuf eb;
    if (asps_read_file(path, 16 << 20, &buf, &len, &eb) != ASPS_OK)
        return NULL;
    cJSON *root = cJSON_ParseWithLength((const char *)buf, len);
    asps_cleanse_free(buf, len); /* a policy may hold app tokens */
    const char *guess = NULL;
    if (cJSON_IsObject(root)) {
        /* native: "apps"; CCZoo's secret manager config: "app_list" (and
         * "kms"); Occlum's grpc_ratls dynamic_config.json: "sgx_mrs" and
         * the verify_* switches */
        if (cJSON_GetObjectItemCaseSensitive(root, "apps"))
            guess = "native";
        else if (cJSON_GetObjectItemCaseSensitive(root, "app_list"))
            guess = "cczoo";
        else if (cJSON_GetObjectItemCaseSensitive(root, "sgx_mrs") ||
                 cJSON_GetObjectItemCaseSensitive(root, "verify_mr_enclave"))
            guess = "occlum";
    }
    cJSON_Delete(root);
    return guess;
}

/* What a format's file is called, and the key that gives it away. */
static const char *format_what(const char *fmt, const char **key)
{
    if (!strcmp(fmt, "cczoo")) {
        *key = "\"app_list\"";
        return "a CCZoo secret manager config";
    }
    if (!strcmp(fmt, "occlum")) {
        *key = "\"sgx_mrs\"";
        return "an Occlum grpc_ratls dynamic_config.json";
    }
    *key = "\"apps\"";
    return "a native asps policy";
}

int cli_policy_hint_text(const char *path, const char *option, const char *read_as, char *buf,
                         size_t size)
{
    const char *g = cli_policy_guess(path), *key, *rkey;
    if (!g || !strcmp(g, read_as))
        return 0;
    int from = !strcmp(option, "--from");
    const char *what = format_what(g, &key), *was = format_what(read_as, &rkey);
    snprintf(buf, size,
             "hint: %s looks like %s (it has %s), but it was read as %s: pass %s %s%s%s%s", path,
             what, key, was, option, g, from ? "" : " (or \"policy_format\": \"", from ? "" : g,
             from ? "" : "\" in the config)");
    if (from && !strcmp(g, "occlum"))
        snprintf(buf + strlen(buf), size - strlen(buf), " (with --secrets secret_config.json)");
    return 1;
}

void cli_policy_format_hint(const char *cmd, const char *path, const char *option,
                            const char *read_as)
{
    char hint[1024];
    if (cli_policy_hint_text(path, option, read_as, hint, sizeof hint))
        fprintf(stderr, "asps %s: %s\n", cmd, hint);
}

enum { OPT_FROM = 1, OPT_SECRETS, OPT_KMS_OUT, OPT_SEED_TCB };
static const struct option policy_opts[] = {
    {"from", required_argument, NULL, OPT_FROM},
    {"secrets", required_argument, NULL, OPT_SECRETS},
    {"seed-tcb-statuses", required_argument, NULL, OPT_SEED_TCB},
    {0},
};
static const struct option convert_opts[] = {
    {"kms-out", required_argument, NULL, OPT_KMS_OUT},
    {0},
};

struct policy_args {
    const cli_help *h;
    const char *secrets, *kms_out;
    asps_policy_format fmt;
    int have_from;
    uint32_t tcb_mask; /* --seed-tcb-statuses; 0: the seed verifiers' set */
};

static int policy_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct policy_args *a = ctx;
    (void)name;
    if (val == OPT_FROM) {
        if (parse_format(arg, &a->fmt) != 0)
            return cli_usage_error(a->h, "--from: expected native, cczoo or occlum");
        a->have_from = 1;
    } else if (val == OPT_SECRETS) {
        a->secrets = arg;
    } else if (val == OPT_SEED_TCB) {
        return seed_tcb_option(a->h, arg, &a->tcb_mask);
    } else {
        a->kms_out = arg;
    }
    return 0;
}

static int policy_args_parse(const cli_help *h, int convert, int argc, char **argv,
                             struct policy_args *a, const char **file)
{
    memset(a, 0, sizeof *a);
    a->h = h;
    a->fmt = ASPS_POLICY_NATIVE;
    int first;
    const struct option *tables[] = {policy_opts, convert ? convert_opts : NULL, NULL};
    int rc = cli_parse(h, tables, 0, argc, argv, policy_opt, a, &first);
    if (rc)
        return rc;
    if (first >= argc)
        return cli_usage_error(h, "POLICY (a file) is needed");
    if (first + 1 < argc)
        return cli_usage_error(h, "unexpected argument '%s'", argv[first + 1]);
    *file = argv[first];
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    struct policy_args a;
    const char *file = NULL;
    int rc = policy_args_parse(&check_help, 0, argc, argv, &a, &file);
    if (rc)
        return rc == CLI_HELP ? 0 : rc;
    asps_policy *p;
    rc = load(a.fmt, file, a.secrets, NULL, a.tcb_mask, &p, 0);
    if (rc)
        return rc;
    if (a.tcb_mask && a.fmt == ASPS_POLICY_NATIVE) /* as serve warns for seed_tcb_statuses */
        fprintf(stderr, "asps policy check: WARNING: --seed-tcb-statuses is ignored: the policy "
                        "is native (each app says its own tcb_statuses)\n");
    summary(file, p);
    asps_policy_free(p);
    return 0;
}

static int cmd_convert(int argc, char **argv)
{
    struct policy_args a;
    const char *file = NULL;
    int rc = policy_args_parse(&convert_help, 1, argc, argv, &a, &file);
    if (rc)
        return rc == CLI_HELP ? 0 : rc;
    if (!a.have_from || a.fmt == ASPS_POLICY_NATIVE)
        return cli_usage_error(&convert_help, "--from cczoo or --from occlum is needed");
    asps_policy *p;
    rc = load(a.fmt, file, a.secrets, a.kms_out, a.tcb_mask, &p, 1);
    if (rc)
        return rc;
    char *json;
    asps_errbuf eb = {{0}};
    if (asps_policy_to_json(p, &json, &eb) != ASPS_OK) {
        fprintf(stderr, "asps policy convert: %s\n", eb.msg);
        asps_policy_free(p);
        return 1;
    }
    printf("%s\n", json);
    asps_cleanse_free_str(json);
    asps_policy_free(p);
    return fflush(stdout) == 0 ? 0 : 2;
}

int asps_cmd_policy(int argc, char **argv)
{
    static const cli_leaf leaves[] = {{&check_help, cmd_check}, {&convert_help, cmd_convert}};
    return cli_group("policy", "Check or convert policy files.\n", leaves, 2, argc, argv);
}
