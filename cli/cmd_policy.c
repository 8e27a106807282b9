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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "cli.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: asps policy check [--from native|cczoo|occlum] [--secrets FILE]\n"
            "                         [--seed-tcb-statuses LIST] POLICY\n"
            "       asps policy convert --from cczoo|occlum [--secrets secret_config.json]\n"
            "                           [--kms-out kms.json] [--seed-tcb-statuses LIST]\n"
            "                           POLICY > native.json\n"
            "\n"
            "check    validate a policy and print a summary (exit 0 valid, 1 invalid)\n"
            "convert  turn a CCZoo or Occlum policy into native asps JSON\n"
            "  --secrets  Occlum secret_config.json (name -> base64): its names become\n"
            "             the apps' secrets and it becomes the KMS file\n"
            "  --kms-out  CCZoo \"kms\": \"none\": write the inline values to this KMS file\n"
            "  --seed-tcb-statuses  the TCB statuses converted apps accept, comma-separated\n"
            "             (default: the seed verifiers' own: UpToDate, SWHardeningNeeded,\n"
            "             ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
            "             OutOfDateConfigurationNeeded)\n"
            "Conversion notes (semantics that changed) go to stderr for both.\n");
}

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
    fprintf(stderr, "asps: %s\n", eb.msg);
    return (e == ASPS_E_IO || e == ASPS_E_ARG) ? 2 : 1;
}

/* --seed-tcb-statuses LIST: the TCB statuses converted apps accept. */
static int seed_tcb_option(const char *list, uint32_t *mask)
{
    asps_errbuf eb = {{0}};
    if (asps_policy_tcb_mask_parse(list, "--seed-tcb-statuses", mask, &eb) == ASPS_OK)
        return 0;
    fprintf(stderr, "asps policy: %s\n", eb.msg);
    return -1;
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
    }
}

int asps_cmd_policy(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1], *file = NULL, *secrets = NULL, *kms_out = NULL;
    asps_policy_format fmt = ASPS_POLICY_NATIVE;
    uint32_t tcb_mask = 0; /* the seed verifiers' set */
    int have_from = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--from") && i + 1 < argc) {
            if (parse_format(argv[++i], &fmt) != 0) {
                fprintf(stderr, "asps: --from: expected native, cczoo or occlum\n");
                return 2;
            }
            have_from = 1;
        } else if (!strcmp(argv[i], "--secrets") && i + 1 < argc) {
            secrets = argv[++i];
        } else if (!strcmp(argv[i], "--kms-out") && i + 1 < argc) {
            kms_out = argv[++i];
        } else if (!strcmp(argv[i], "--seed-tcb-statuses") && i + 1 < argc) {
            if (seed_tcb_option(argv[++i], &tcb_mask) != 0)
                return 2;
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            fprintf(stderr, "asps: unknown or incomplete option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!file) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(sub, "check")) {
        asps_policy *p;
        int rc = load(fmt, file, secrets, kms_out, tcb_mask, &p, 0);
        if (rc)
            return rc;
        summary(file, p);
        asps_policy_free(p);
        return 0;
    }
    if (!strcmp(sub, "convert")) {
        if (!have_from || fmt == ASPS_POLICY_NATIVE) {
            fprintf(stderr, "asps: convert needs --from cczoo or --from occlum\n");
            return 2;
        }
        asps_policy *p;
        int rc = load(fmt, file, secrets, kms_out, tcb_mask, &p, 1);
        if (rc)
            return rc;
        char *json;
        asps_errbuf eb = {{0}};
        if (asps_policy_to_json(p, &json, &eb) != ASPS_OK) {
            fprintf(stderr, "asps: %s\n", eb.msg);
            asps_policy_free(p);
            return 1;
        }
        printf("%s\n", json);
        asps_cleanse_free_str(json);
        asps_policy_free(p);
        return fflush(stdout) == 0 ? 0 : 2;
    }
    fprintf(stderr, "asps: policy: unknown subcommand '%s'\n", sub);
    usage(stderr);
    return 2;
}
