/* cmd_get.c: `asps get`: attest, fetch named secrets, print or write them.
 * Exit 0 all granted, 1 denied, 2 usage, 3 unreachable/unavailable, 5 this
 * workload's evidence refused (UNAUTHENTICATED). */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asps/client.h"
#include "cli.h"
#include "identity.h"
#include "initra.h"
#include "addr.h"
#include "opts.h"
#include "utf8.h"
#include "util.h"

static const cli_help get_help = {
    "get",
    "asps get --server HOST:PORT (--ca FILE [--server-name NAME] | --pin CERT | --ra-config FILE "
    "[--server-sim DIR | --pccs URL [--pccs-ca FILE] | --collateral FILE]) "
    "[--attester auto|sim|gramine|occlum|tdx] [--sim DIR IDENTITY] [--out FILE | --json] NAME...",
    "Attest, connect to the asps server and fetch the named secrets in one call.\n"
    "Prints each as 'Secret received: 42-cd-...' (hex bytes joined by dashes),\n"
    "or writes the one secret to --out FILE (mode 0600; - for stdout, the bytes\n"
    "as they are), or prints --json: {\"secrets\": [{\"name\", \"value\" (the text,\n"
    "when the bytes are valid UTF-8), \"value_hex\", \"value_base64\"}]}.\n"
    "--ra-config FILE trusts the server by its RA-TLS evidence, matched against an\n"
    "  Occlum ra_config (or init_ra_conf.json's) as `asps run` does; its collateral\n"
    "  from the simulated platform --server-sim DIR, a PCCS, or a bundle file.\n"
    "IDENTITY (simulated platform): --tee sgx|tdx --mrenclave HEX --mrsigner HEX\n"
    "  --isv-prod-id N --isv-svn N --config-svn N --debug --mrtd HEX --rtmr N=HEX\n"
    "  --tcb LEVEL\n"
    "A request the server refuses as malformed or over its limits exits 2; the\n"
    "server refusing this workload's evidence (tcb_revoked, root_untrusted,\n"
    "cert_expired...) exits 5; a --ca or --pin file that cannot be read exits 2;\n"
    "no TEE device here exits 3.\n"};

enum {
    OPT_SERVER = 1, OPT_CA, OPT_SNAME, OPT_PIN, OPT_ATTESTER, OPT_SIM, OPT_OUT, OPT_JSON,
    OPT_RA, OPT_SSIM, OPT_PCCS, OPT_PCCS_CA, OPT_COLL
};
static const struct option get_opts[] = {
    {"server", required_argument, NULL, OPT_SERVER},
    {"ca", required_argument, NULL, OPT_CA},
    {"server-name", required_argument, NULL, OPT_SNAME},
    {"pin", required_argument, NULL, OPT_PIN},
    {"attester", required_argument, NULL, OPT_ATTESTER},
    {"sim", required_argument, NULL, OPT_SIM},
    {"out", required_argument, NULL, OPT_OUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"ra-config", required_argument, NULL, OPT_RA},
    {"server-sim", required_argument, NULL, OPT_SSIM},
    {"pccs", required_argument, NULL, OPT_PCCS},
    {"pccs-ca", required_argument, NULL, OPT_PCCS_CA},
    {"collateral", required_argument, NULL, OPT_COLL},
    {0},
};

struct get_args {
    asps_client_opts *o;
    asps_sim_identity *ident;
    const char *sim_dir, *out, *pin, *ra_path;
    int json;
};

static int get_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct get_args *g = ctx;
    switch (val) {
    case OPT_SERVER: g->o->server = arg; return 0;
    case OPT_CA: g->o->ca_file = arg; return 0;
    case OPT_SNAME: g->o->server_name = arg; return 0;
    case OPT_PIN: g->pin = arg; return 0;
    case OPT_ATTESTER: g->o->attester = arg; return 0;
    case OPT_SIM: g->sim_dir = arg; return 0;
    case OPT_OUT: g->out = arg; return 0;
    case OPT_JSON: g->json = 1; return 0;
    case OPT_RA: g->ra_path = arg; return 0;
    case OPT_SSIM: g->o->server_sim_dir = arg; return 0;
    case OPT_PCCS: g->o->pccs_url = arg; return 0;
    case OPT_PCCS_CA: g->o->pccs_ca_file = arg; return 0;
    case OPT_COLL: g->o->server_collateral = arg; return 0;
    default: return cli_identity_set("get", g->ident, name, arg);
    }
}

/* The JSON string literal (RFC 8259 section 7, quotes included) of the
 * valid UTF-8 bytes P[0..N): '"', '\\' and controls escaped, NUL as
 * \u0000 (which cJSON, holding C strings, cannot make itself). NULL: no
 * memory. The caller cleanses it. */
static char *json_string_literal(const uint8_t *p, size_t n, size_t *cap)
{
    *cap = 6 * n + 3;
    char *out = malloc(*cap), *o = out;
    if (!out)
        return NULL;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            o += snprintf(o, 7, "\\u%04x", c);
        } else {
            *o++ = (char)c; /* UTF-8 as it is: checked valid before */
        }
    }
    *o++ = '"';
    *o = 0;
    return out;
}

/* One secret as JSON: "value" (a string) only when the bytes are valid
 * UTF-8, "value_hex" and "value_base64" always. 0 ok, -1 no memory. */
static int add_secret_json(cJSON *arr, const asps_secret *s)
{
    size_t b64len = 4 * ((s->len + 2) / 3) + 1, tcap = 0;
    char *hex = malloc(2 * s->len + 1), *b64 = malloc(b64len), *text = NULL;
    cJSON *it = cJSON_CreateObject();
    int ok = hex && b64 && it && cJSON_AddStringToObject(it, "name", s->name);
    if (ok && asps_utf8_valid(s->value, s->len, NULL)) {
        text = json_string_literal(s->value, s->len, &tcap);
        ok = text && cJSON_AddRawToObject(it, "value", text) != NULL;
    }
    if (ok) {
        asps_hex_encode(s->value, s->len, hex);
        EVP_EncodeBlock((unsigned char *)b64, s->value, (int)s->len);
        ok = cJSON_AddStringToObject(it, "value_hex", hex) && cJSON_AddStringToObject(it, "value_base64", b64);
    }
    if (ok)
        cJSON_AddItemToArray(arr, it);
    else
        cJSON_Delete(it);
    if (text)
        asps_cleanse_free(text, tcap);
    if (hex)
        asps_cleanse_free(hex, 2 * s->len + 1);
    if (b64)
        asps_cleanse_free(b64, b64len);
    return ok ? 0 : -1;
}

/* --ra-config FILE: trust the server by its RA-TLS evidence, matched
 * against an Occlum ra_config (or an init_ra_conf.json's) by the same check
 * as `asps run`. 0, else the exit code (2: config error). */
static int get_ra_config(asps_client_opts *o, const char *path, asps_initra_conf **conf,
                         asps_initra_check *check)
{
    asps_errbuf eb = {{0}};
    if (asps_initra_ra_config_load(path, conf, &eb) != ASPS_OK) {
        fprintf(stderr, "asps get: %s\n", eb.msg);
        return 2;
    }
    if (!asps_initra_verifies_server(*conf)) {
        fprintf(stderr, "asps get: %s: ra_config verifies nothing about the server (every "
                        "verify_* off); use --ca or --pin instead\n", path);
        return 2;
    }
    check->conf = *conf;
    o->server_check = asps_initra_server_check;
    o->server_check_ctx = check;
    return 0;
}

int asps_cmd_get(int argc, char **argv)
{
    asps_client_opts o = {.attester = "auto"};
    asps_sim_identity ident;
    memset(&ident, 0, sizeof ident);
    struct get_args ga = {.o = &o, .ident = &ident};
    int first;
    const struct option *tables[] = {get_opts, cli_identity_opts, NULL};
    int prc = cli_parse(&get_help, tables, 0, argc, argv, get_opt, &ga, &first);
    if (prc)
        return prc == CLI_HELP ? 0 : prc;
    const char *sim_dir = ga.sim_dir, *out = ga.out, *pin = ga.pin;
    int json = ga.json;
    const char **names = (const char **)(argv + first);
    size_t n = (size_t)(argc - first);
    if (!o.server)
        return cli_usage_error(&get_help, "--server HOST:PORT is needed");
    if (n == 0)
        return cli_usage_error(&get_help, "at least one NAME is needed");
    if (out && json)
        return cli_usage_error(&get_help, "--out and --json go separately");
    if (out && n != 1)
        return cli_usage_error(&get_help, "--out takes exactly one NAME");
    /* the server's collateral is for --ra-config's check only: silently
     * ignored beside --ca or --pin, it would look like a check made */
    if (!ga.ra_path && (o.server_sim_dir || o.pccs_url || o.pccs_ca_file || o.server_collateral))
        return cli_usage_error(&get_help, "%s goes with --ra-config FILE (the server's evidence "
                               "is checked only then)",
                               o.server_sim_dir ? "--server-sim" : o.pccs_url ? "--pccs"
                               : o.pccs_ca_file ? "--pccs-ca" : "--collateral");
    asps_errbuf eb = {{0}};
    if (asps_addr_parse("--server", o.server, 0, NULL, &eb) != ASPS_OK) {
        fprintf(stderr, "asps get: %s\n", eb.msg);
        return 2;
    }
    o.pinned_cert_file = pin;
    asps_initra_conf *ra_conf = NULL;
    asps_initra_check check = {0};
    if (ga.ra_path) {
        int r = get_ra_config(&o, ga.ra_path, &ra_conf, &check);
        if (r != 0) {
            asps_initra_conf_free(ra_conf);
            return r;
        }
    }
    asps_client *c = NULL;
    asps_secret *s = NULL;
    int status = 0, rc;
    asps_attester *att = NULL;
    asps_err e = cli_attester_new(o.attester, sim_dir, &ident, 1, &att, &eb);
    o.use_attester = att;
    if (e == ASPS_OK)
        e = asps_client_new(&o, &c, &eb);
    if (e == ASPS_OK)
        e = asps_client_get(c, names, n, &s, &status, &eb);
    if (e == ASPS_OK) {
        rc = 0;
        if (out) {
            rc = cli_write_out("get", out, s[0].value, s[0].len, 0600);
        } else if (json) {
            /* built with cJSON so that any name is escaped */
            cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "secrets");
            for (size_t i = 0; arr && i < n; i++)
                if (add_secret_json(arr, &s[i]) != 0)
                    arr = NULL;
            /* printed into one buffer of the bound's size: cJSON_PrintUnformatted
             * grows its own with realloc, leaving copies of the values freed
             * but not cleansed. Per secret: "value" (at most 6 bytes a byte,
             * quoted), hex (2), base64 (4 per 3), the name escaped (6), keys. */
            size_t cap = 64;
            for (size_t i = 0; arr && i < n; i++)
                cap += 8 * s[i].len + 4 * ((s[i].len + 2) / 3) + 6 * strlen(s[i].name) + 96;
            char *text = arr ? malloc(cap) : NULL;
            if (text && cJSON_PrintPreallocated(o, text, (int)cap, 0)) {
                puts(text);
                asps_cleanse_free(text, cap);
            } else {
                if (text)
                    asps_cleanse_free(text, cap);
                fprintf(stderr, "asps get: out of memory\n");
                rc = 1;
            }
            /* the tree held the values: cleanse before freeing */
            cJSON *it, *arr2 = cJSON_GetObjectItem(o, "secrets");
            cJSON_ArrayForEach(it, arr2)
            {
                static const char *const keys[] = {"value", "value_hex", "value_base64"};
                for (size_t k = 0; k < 3; k++) {
                    cJSON *v = cJSON_GetObjectItem(it, keys[k]);
                    if (v && v->valuestring)
                        OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
                }
            }
            cJSON_Delete(o);
        } else {
            for (size_t i = 0; i < n; i++) {
                printf("Secret received: ");
                for (size_t k = 0; k < s[i].len; k++)
                    printf("%s%02x", k ? "-" : "", s[i].value[k]);
                printf("\n");
            }
        }
        asps_secrets_free(s, n);
    } else {
        fprintf(stderr, "asps get: %s [%s]\n", eb.msg, asps_err_name(e));
        /* a --ca, --pin or trust file that is not one is ASPS_E_ARG (2); a
         * server refused by --ra-config's check is ASPS_E_DENIED (1) */
        rc = cli_exit_code(e, status);
        if (check.refused) /* the server is not the one asked for */
            fprintf(stderr, "asps get: the server showed %s; --ra-config %s does not allow it\n",
                    check.shown, ga.ra_path);
    }
    asps_client_free(c);
    asps_initra_conf_free(ra_conf);
    asps_attester_free(att); /* after the client: it renews with it */
    return rc;
}
