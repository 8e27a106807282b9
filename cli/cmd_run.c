/* cmd_run.c: `asps run`: init-RA. Fetch the secrets an application needs
 * (Occlum's init_ra_conf.json), write them all or none, then exec the
 * application with nothing of asps left in the process.
 * Exit codes before exec: 1 denied, 2 usage/config, 3 unreachable/
 * unavailable, 4 files could not be written, 5 evidence refused. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

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

/* An executable regular file, as execvp would find it (PATH when no '/'). */
static int app_runnable(const char *app, char *why, size_t whylen)
{
    char buf[4096];
    struct stat st;
    if (!app[0]) {
        snprintf(why, whylen, "empty application name");
        return 0;
    }
    if (strchr(app, '/')) {
        if (stat(app, &st) != 0) {
            snprintf(why, whylen, "%s: %s", app, strerror(errno));
            return 0;
        }
        if (!S_ISREG(st.st_mode) || access(app, X_OK) != 0) {
            snprintf(why, whylen, "%s: not an executable file", app);
            return 0;
        }
        return 1;
    }
    const char *path = getenv("PATH");
    if (!path || !path[0])
        path = "/bin:/usr/bin";
    for (const char *p = path; p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        /* an empty PATH entry (a trailing ':' too) is the current folder,
         * as for execvp */
        snprintf(buf, sizeof buf, "%.*s/%s", n ? (int)n : 1, n ? p : ".", app);
        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    snprintf(why, whylen, "%s: not found in PATH", app);
    return 0;
}

/* Everything that can be known before the secrets are fetched, so that a
 * typo costs no fetch (and no audited release): --root, the application,
 * and that every file can be written. 0, else the exit code. */
static int run_check_before_fetch(const asps_initra_conf *conf, const char *root, const char *app)
{
    if (root[0] && root[0] != '/') {
        fprintf(stderr, "asps run: --root %s: must be an absolute path; nothing fetched, no file "
                        "written\n", root);
        return 2;
    }
    char why[4200];
    if (app && !app_runnable(app, why, sizeof why)) {
        fprintf(stderr, "asps run: cannot start %s; nothing fetched, no file written\n", why);
        return 2;
    }
    char *paths[ASPS_INITRA_MAX_KEYS];
    size_t k, n = strlen(root);
    asps_errbuf eb = {{0}};
    asps_err e = ASPS_OK;
    while (n > 1 && root[n - 1] == '/')
        n--; /* "--root /tmp/r/" joins as /tmp/r/etc/key */
    for (k = 0; k < conf->n_keys && e == ASPS_OK; k++) {
        size_t len = n + strlen(conf->paths[k]) + 1;
        if (!(paths[k] = malloc(len)))
            e = asps_fail(&eb, ASPS_E_NOMEM, "out of memory");
        else
            snprintf(paths[k], len, "%.*s%s", (int)(n == 1 ? 0 : n), root, conf->paths[k]);
    }
    if (e == ASPS_OK)
        e = asps_initra_check_writable((const char *const *)paths, conf->n_keys, &eb);
    while (k > 0)
        free(paths[--k]);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps run: %s; nothing fetched, no file written\n", eb.msg);
        return e == ASPS_E_ARG ? 2 : 4;
    }
    return 0;
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
    int pre = run_check_before_fetch(conf, root, i < argc ? argv[i] : NULL);
    if (pre != 0) {
        asps_initra_conf_free(conf);
        return pre;
    }
    asps_initra_check check = {.conf = conf};
    o.server = conf->kms_server;
    o.pccs_url = conf->pccs_url; /* ua_env_pccs_url / UA_ENV_PCCS_URL: the server's collateral */
    if (asps_initra_verifies_server(conf)) {
        o.server_check = asps_initra_server_check;
        o.server_check_ctx = &check;
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
    asps_attester_free(att);
    if (e == ASPS_OK)
        e = asps_client_get(c, (const char *const *)conf->keys, conf->n_keys, &s, &status, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps run: could not get key(s)");
        for (size_t k = 0; k < conf->n_keys; k++)
            fprintf(stderr, "%s%s", k ? ", " : " ", conf->keys[k]);
        fprintf(stderr, " from %s: %s; no file written, application not started\n",
                conf->kms_server, eb.msg);
        if (check.refused)
            fprintf(stderr, "asps run: the server showed %s; %s\n", check.shown,
                    conf->flavor == ASPS_INITRA_AECS ? "ra_config's ua_policy_* fields do not allow it"
                                                     : "no ra_config.sgx_mrs entry allows it");
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
