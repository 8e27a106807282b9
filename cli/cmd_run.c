/* cmd_run.c: `asps run`: init-RA. Fetch the secrets an application needs
 * (Occlum's init_ra_conf.json), write them all or none, then exec the
 * application with nothing of asps left in the process.
 * Exit codes before exec: 1 denied, 2 usage/config, 3 unreachable/
 * unavailable, 4 files could not be written, 5 evidence refused. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asps/client.h"
#include "initra.h"
#include "cli.h"
#include "identity.h"

static const char usage_text[] =
    "usage: asps run --conf init_ra_conf.json [--ca FILE] [--server-sim DIR] [--pccs-ca FILE]\n"
    "                [--attester auto|sim|gramine|occlum|tdx] [--sim DIR IDENTITY...]\n"
    "                [--root DIR] [-- APP ARGS...]\n"
    "\n"
    "init-RA: attest, fetch every kms_keys entry of the config in one call, write\n"
    "each to its path (0600, atomically, parent folders 0700, no symlink\n"
    "following; all or none), then exec APP. OCCLUM_INIT_RA_KMS_SERVER overrides\n"
    "kms_server. The server is verified by ra_config (its RA-TLS evidence; the\n"
    "simulated platform's with --server-sim DIR); its collateral comes from the\n"
    "PCCS at ua_env_pccs_url (UA_ENV_PCCS_URL) when set, whose TLS certificate is\n"
    "checked against --pccs-ca FILE (default: the system's CAs). With every\n"
    "verify_* off the server is authenticated by --ca only. --root DIR puts every\n"
    "path under DIR.\n"
    "Exit (before APP starts) 1 denied, 2 usage or config error, 3 server busy, down, or\n"
    "secret store, collateral or audit log unavailable (retry later), 4 files could not\n"
    "be written, 5 the server refused this workload's attestation evidence\n"
    "(UNAUTHENTICATED: retrying will not help).\n";

static int server_check(void *ctx, const asps_claims *claims, char *err, size_t errlen)
{
    return asps_initra_match_server(ctx, claims, err, errlen);
}

int asps_cmd_run(int argc, char **argv)
{
    const char *conf_path = NULL, *root = "";
    asps_client_opts o = {.attester = "auto"};
    const char *sim_dir = NULL;
    asps_sim_identity ident;
    memset(&ident, 0, sizeof ident);
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("%s", usage_text);
            return 0;
        }
        int r = cli_identity_option(&ident, argc, argv, &i, 0);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        const char **slot = !strcmp(a, "--conf")         ? &conf_path
                            : !strcmp(a, "--ca")         ? &o.ca_file
                            : !strcmp(a, "--server-sim") ? &o.server_sim_dir
                            : !strcmp(a, "--pccs-ca")    ? &o.pccs_ca_file
                            : !strcmp(a, "--attester")   ? &o.attester
                            : !strcmp(a, "--sim")        ? &sim_dir
                            : !strcmp(a, "--root")       ? &root
                                                         : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "asps run: bad argument '%s'\n%s", a, usage_text);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!conf_path) {
        fprintf(stderr, "asps run: --conf is required\n%s", usage_text);
        return 2;
    }
    asps_errbuf eb = {{0}};
    asps_initra_conf *conf;
    if (asps_initra_conf_load(conf_path, &conf, &eb) != ASPS_OK) {
        fprintf(stderr, "asps run: %s\n", eb.msg);
        return 2;
    }
    o.server = conf->kms_server;
    o.pccs_url = conf->pccs_url; /* ua_env_pccs_url / UA_ENV_PCCS_URL: the server's collateral */
    if (asps_initra_verifies_server(conf)) {
        o.server_check = server_check;
        o.server_check_ctx = conf;
        o.ca_file = NULL; /* the evidence decides, not a CA */
    } else {
        if (!o.ca_file) {
            fprintf(stderr, "asps run: ra_config verifies nothing about the server, so a CA is "
                            "needed to authenticate it (--ca FILE)\n");
            asps_initra_conf_free(conf);
            return 2;
        }
        fprintf(stderr, "asps run: ra_config has every verify_* off: the server is authenticated "
                        "by its CA certificate only, not by attestation\n");
    }
    asps_client *c = NULL;
    asps_secret *s = NULL;
    int status = 0, rc = 0;
    asps_attester *att = NULL;
    asps_err e = cli_attester_new(o.attester, sim_dir, &ident, 1, &att, &eb);
    o.use_attester = att;
    if (e == ASPS_OK)
        e = asps_client_new(&o, &c, &eb);
    if (e == ASPS_OK)
        e = asps_client_get(c, (const char *const *)conf->keys, conf->n_keys, &s, &status, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps run: could not get key(s)");
        for (size_t k = 0; k < conf->n_keys; k++)
            fprintf(stderr, "%s%s", k ? ", " : " ", conf->keys[k]);
        fprintf(stderr, " from %s: %s; no file written, application not started\n",
                conf->kms_server, eb.msg);
        rc = cli_exit_code(e, status);
    } else {
        char **paths = calloc(conf->n_keys, sizeof *paths);
        const uint8_t **vals = calloc(conf->n_keys, sizeof *vals);
        size_t *lens = calloc(conf->n_keys, sizeof *lens);
        int okp = paths && vals && lens;
        for (size_t k = 0; okp && k < conf->n_keys; k++) {
            size_t n = strlen(root) + strlen(conf->paths[k]) + 1;
            paths[k] = malloc(n);
            okp = paths[k] != NULL;
            if (okp)
                snprintf(paths[k], n, "%s%s", root, conf->paths[k]);
            vals[k] = s[k].value;
            lens[k] = s[k].len;
        }
        e = okp ? asps_initra_write_all((const char *const *)paths, vals, lens, conf->n_keys, &eb)
                : asps_fail(&eb, ASPS_E_NOMEM, "out of memory");
        if (e != ASPS_OK) {
            fprintf(stderr, "asps run: %s; no file left behind, application not started\n", eb.msg);
            rc = 4;
        } else {
            for (size_t k = 0; k < conf->n_keys; k++)
                fprintf(stderr, "asps run: wrote %s (%zu bytes)\n", paths[k], lens[k]);
        }
        for (size_t k = 0; paths && k < conf->n_keys; k++)
            free(paths[k]);
        free(paths);
        free(vals);
        free(lens);
        asps_secrets_free(s, conf->n_keys);
    }
    asps_client_free(c);
    asps_attester_free(att); /* after the client: it renews with it */
    asps_initra_conf_free(conf);
    if (rc != 0)
        return rc;
    if (i >= argc)
        return 0; /* nothing to start */
    fflush(NULL);
    execvp(argv[i], argv + i);
    fprintf(stderr, "asps run: cannot start %s: %m\n", argv[i]);
    return 127;
}
