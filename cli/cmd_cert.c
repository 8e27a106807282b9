/* cmd_cert.c: `asps cert new|show|verify`: RA-TLS certificates. Exit codes
 * as `quote verify`: 0 ok/verified, 1 not verified, 2 usage. */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/evidence.h"
#include "asps/ratls.h"
#include "claims_json.h"
#include "cli.h"
#include "common.h"
#include "identity.h"
#include "opts.h"
#include "quote.h"
#include "util.h"

static const cli_help new_help = {
    "cert new",
    "asps cert new --out CERT --key KEY [--attester auto|sim|gramine|occlum|tdx] "
    "[--sim DIR IDENTITY] [--days N] [--not-before TIME] [--legacy-only]",
    "A fresh ECDSA P-256 key and a self-signed RA-TLS certificate (SHA-256,\n"
    "default validity 1 day) carrying a quote that binds the key, in Gramine's\n"
    "extension and the TCG DICE tagged-evidence extension (--legacy-only: Gramine's\n"
    "alone). KEY is written 0600; --out - writes the certificate to stdout.\n"
    "IDENTITY (simulated platform): --tee sgx|tdx --mrenclave HEX --mrsigner HEX\n"
    "  --isv-prod-id N --isv-svn N --config-svn N --debug --mrtd HEX --rtmr N=HEX\n"
    "  --tcb LEVEL\n"};

static const cli_help show_help = {
    "cert show", "asps cert show CERT [--json]",
    "The certificate's evidence format and quote fields, without verifying.\n"};

static const cli_help verify_help = {
    "cert verify",
    "asps cert verify CERT [--collateral FILE | --pccs URL [--pccs-ca FILE] | --sim DIR] "
    "[--root-ca FILE] [--at TIME] [--json]",
    "Verify the certificate's evidence (DCAP) and that it binds the certificate's\n"
    "key. Trust options as `asps quote verify`:\n"
    CLI_TRUST_HELP};

enum { OPT_OUT = 1, OPT_KEY, OPT_ATTESTER, OPT_SIM, OPT_DAYS, OPT_NB, OPT_LEGACY };
static const struct option new_opts[] = {
    {"out", required_argument, NULL, OPT_OUT},
    {"key", required_argument, NULL, OPT_KEY},
    {"attester", required_argument, NULL, OPT_ATTESTER},
    {"sim", required_argument, NULL, OPT_SIM},
    {"days", required_argument, NULL, OPT_DAYS},
    {"not-before", required_argument, NULL, OPT_NB},
    {"legacy-only", no_argument, NULL, OPT_LEGACY},
    {0},
};

struct new_args {
    const char *kind, *sim_dir, *out, *keyout;
    asps_sim_identity ident;
    long days;
    int64_t not_before;
    int legacy;
};

static int new_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct new_args *n = ctx;
    switch (val) {
    case OPT_OUT:
        n->out = arg;
        return 0;
    case OPT_KEY:
        n->keyout = arg;
        return 0;
    case OPT_ATTESTER:
        n->kind = arg;
        return 0;
    case OPT_SIM:
        n->sim_dir = arg;
        return 0;
    case OPT_DAYS:
        if (cli_long(arg, 1, 3650, &n->days) != 0)
            return cli_usage_error(&new_help, "--days: 1..3650");
        return 0;
    case OPT_NB:
        if (cli_time_parse(arg, &n->not_before) != 0)
            return cli_usage_error(&new_help,
                                   "--not-before: unix seconds, a date YYYY-MM-DD or RFC 3339");
        return 0;
    case OPT_LEGACY:
        n->legacy = 1;
        return 0;
    default:
        return cli_identity_set("cert new", &n->ident, name, arg);
    }
}

static int cmd_new(int argc, char **argv)
{
    struct new_args a;
    memset(&a, 0, sizeof a);
    a.kind = "auto";
    a.days = 1;
    int first;
    const struct option *tables[] = {new_opts, cli_identity_opts, NULL};
    int rc = cli_parse(&new_help, tables, 0, argc, argv, new_opt, &a, &first);
    if (rc)
        return rc == CLI_HELP ? 0 : rc;
    if (first < argc)
        return cli_usage_error(&new_help, "unexpected argument '%s'", argv[first]);
    const char *kind = a.kind, *sim_dir = a.sim_dir, *out = a.out, *keyout = a.keyout;
    asps_sim_identity ident = a.ident;
    long days = a.days;
    int64_t not_before = a.not_before;
    int legacy = a.legacy;
    if (!out || !keyout)
        return cli_usage_error(&new_help, "--out and --key are required");
    if (!strcmp(keyout, "-"))
        return cli_usage_error(&new_help, "--key: the private key goes to a file (0600), not stdout");
    asps_errbuf eb = {{0}};
    asps_attester *att = NULL;
    char *cert = NULL, *key = NULL;
    asps_err e = cli_attester_new(kind, sim_dir, &ident, 0, &att, &eb);
    if (e == ASPS_OK) {
        asps_ratls_create_opts o = {.quote = asps_attester_quote, .quote_ctx = att,
                                    .validity_secs = days * 86400, .legacy_only = legacy,
                                    .not_before = not_before};
        e = asps_ratls_create(&o, &cert, &key, &eb);
    }
    if (e == ASPS_OK)
        e = asps_write_file_atomic(keyout, key, strlen(key), 0600, &eb);
    asps_attester_free(att);
    if (e != ASPS_OK) {
        free(cert);
        asps_ratls_free_key(key);
        fprintf(stderr, "asps cert new: %s\n", eb.msg);
        /* no TEE here: unavailable (3), not a verdict */
        return e == ASPS_E_NO_DEVICE ? CLI_EXIT_UNAVAILABLE
               : e == ASPS_E_ARG || e == ASPS_E_IO ? CLI_EXIT_USAGE : CLI_EXIT_DENIED;
    }
    rc = cli_write_out("cert new", out, cert, strlen(cert), 0644);
    free(cert);
    asps_ratls_free_key(key);
    return rc;
}

static int cmd_show(int argc, char **argv)
{
    const char *path;
    int json;
    int arc = cli_file_args(&show_help, NULL, argc, argv, &path, &json);
    if (arc)
        return arc == CLI_HELP ? 0 : arc;
    uint8_t *buf;
    size_t len;
    if (cli_read("cert show", path, 1 << 20, &buf, &len) != 0)
        return 2;
    asps_ratls_evidence *ev;
    asps_errbuf eb = {{0}};
    if (asps_ratls_extract(buf, len, &ev, &eb) != ASPS_OK) {
        fprintf(stderr, "asps cert show: %s\n", eb.msg);
        free(buf);
        return 1;
    }
    asps_quote q;
    asps_claims c;
    memset(&c, 0, sizeof c);
    int parsed = asps_quote_parse(ev->quote, ev->quote_len, &q, &eb) == ASPS_OK;
    if (parsed) {
        c.tee = q.tee_type == ASPS_TEE_TDX ? ASPS_TEE_TDX : ASPS_TEE_SGX;
        c.sgx = q.sgx;
        c.tdx = q.tdx;
    }
    char nb[32], na[32], spki[65];
    asps_time_format(ev->not_before, nb);
    asps_time_format(ev->not_after, na);
    asps_hex_encode(ev->spki_hash, 32, spki);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "format", ev->format);
        cJSON_AddStringToObject(o, "not_before", nb);
        cJSON_AddStringToObject(o, "not_after", na);
        cJSON_AddStringToObject(o, "pubkey_sha256", spki);
        cJSON_AddNumberToObject(o, "quote_bytes", (double)ev->quote_len);
        cJSON_AddBoolToObject(o, "quote_parses", parsed);
        if (parsed) {
            cJSON_AddStringToObject(o, "tee", c.tee == ASPS_TEE_TDX ? "tdx" : "sgx");
            asps_claims_measurements_to_json(&c, o);
        }
        cli_print_json(o);
        cJSON_Delete(o);
    } else {
        printf("format         %s\nvalid          %s .. %s\npubkey sha256  %s\nquote          %zu bytes%s\n",
               ev->format, nb, na, spki, ev->quote_len, parsed ? "" : " (does not parse)");
        if (parsed && c.tee == ASPS_TEE_SGX) {
            char h[65];
            asps_hex_encode(c.sgx.mr_enclave, 32, h);
            printf("mrenclave      %s\n", h);
            asps_hex_encode(c.sgx.mr_signer, 32, h);
            printf("mrsigner       %s\n", h);
        } else if (parsed) {
            char h[97];
            asps_hex_encode(c.tdx.mr_td, 48, h);
            printf("mrtd           %s\n", h);
        }
    }
    asps_ratls_evidence_free(ev);
    free(buf);
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    cli_trust t = {.at = (int64_t)time(NULL)};
    const char *path;
    int json;
    int arc = cli_file_args(&verify_help, &t, argc, argv, &path, &json);
    if (arc)
        return arc == CLI_HELP ? 0 : arc;
    uint8_t *buf;
    size_t len;
    if (cli_read("cert verify", path, 1 << 20, &buf, &len) != 0)
        return 2;
    asps_errbuf eb = {{0}};
    asps_trust *trust = NULL;
    asps_claims c;
    memset(&c, 0, sizeof c);
    asps_err e = cli_trust_new(&t, &trust, &eb);
    if (e == ASPS_OK)
        e = asps_trust_verify_cert(trust, buf, len, t.at, 0, &c, &eb);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "verified", e == ASPS_OK);
        if (e != ASPS_OK) {
            cJSON_AddStringToObject(o, "error", asps_err_name(e));
            cJSON_AddStringToObject(o, "reason", eb.msg);
        } else
            asps_claims_to_json(&c, o);
        cli_print_json(o);
        cJSON_Delete(o);
    } else if (e == ASPS_OK) {
        printf("verified: %s certificate, %s quote, TCB status %s%s\n", c.ratls_format,
               c.tee == ASPS_TEE_TDX ? "TDX" : "SGX", asps_tcb_status_name(c.tcb_status),
               c.simulated ? " (simulated platform)" : "");
    }
    if (e != ASPS_OK)
        fprintf(stderr, "asps cert verify: not verified: %s [%s]\n", eb.msg, asps_err_name(e));
    asps_trust_free(trust);
    free(buf);
    if (e == ASPS_OK)
        return 0;
    if (e == ASPS_E_UNAVAILABLE) /* the PCCS unreachable or failing: retry later */
        return CLI_EXIT_UNAVAILABLE;
    return e == ASPS_E_ARG || e == ASPS_E_IO ? 2 : 1;
}

int asps_cmd_cert(int argc, char **argv)
{
    static const cli_leaf leaves[] = {
        {&new_help, cmd_new}, {&show_help, cmd_show}, {&verify_help, cmd_verify}};
    return cli_group("cert", "Create, show and verify RA-TLS certificates.\n", leaves, 3, argc,
                     argv);
}
