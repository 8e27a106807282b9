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
#include "opts.h"

static const cli_help run_help = {
    "run",
    "asps run --conf FILE [--ca FILE] [--server-sim DIR] [--pccs-ca FILE] "
    "[--attester auto|sim|gramine|occlum|tdx] [--sim DIR IDENTITY] [--root DIR] [-- APP ARGS...]",
    "init-RA: attest, fetch every kms_keys entry of the config (FILE: Occlum's\n"
    "init_ra_conf.json) in one call, write each to its path (0600, atomically,\n"
    "parent folders 0700, no symlink following; all or none), then exec APP.\n"
    "OCCLUM_INIT_RA_KMS_SERVER overrides kms_server. The server is verified by\n"
    "ra_config (its RA-TLS evidence; the simulated platform's with --server-sim\n"
    "DIR); its collateral comes from the PCCS at ua_env_pccs_url (UA_ENV_PCCS_URL)\n"
    "when set, whose TLS certificate is checked against --pccs-ca FILE (default:\n"
    "the system's CAs). With every verify_* off the server is authenticated by\n"
    "--ca only. --root DIR puts every path under DIR. The exit codes are those\n"
    "before APP starts; then APP's own.\n"};

enum { OPT_CONF = 1, OPT_CA, OPT_SSIM, OPT_PCCS_CA, OPT_ATTESTER, OPT_SIM, OPT_ROOT };
static const struct option run_opts[] = {
    {"conf", required_argument, NULL, OPT_CONF},
    {"ca", required_argument, NULL, OPT_CA},
    {"server-sim", required_argument, NULL, OPT_SSIM},
    {"pccs-ca", required_argument, NULL, OPT_PCCS_CA},
    {"attester", required_argument, NULL, OPT_ATTESTER},
    {"sim", required_argument, NULL, OPT_SIM},
    {"root", required_argument, NULL, OPT_ROOT},
    {0},
};

struct run_args {
    asps_client_opts *o;
    asps_sim_identity *ident;
    const char *conf, *sim_dir, *root;
};

static int run_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct run_args *r = ctx;
    switch (val) {
    case OPT_CONF: r->conf = arg; return 0;
    case OPT_CA: r->o->ca_file = arg; return 0;
    case OPT_SSIM: r->o->server_sim_dir = arg; return 0;
    case OPT_PCCS_CA: r->o->pccs_ca_file = arg; return 0;
    case OPT_ATTESTER: r->o->attester = arg; return 0;
    case OPT_SIM: r->sim_dir = arg; return 0;
    case OPT_ROOT: r->root = arg; return 0;
    default: return cli_identity_set("run", r->ident, name, arg);
    }
}

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

/* The files' paths: --root ROOT joined to each conf path ("--root /tmp/r/"
 * joins as /tmp/r/etc/key, "--root /" as /etc/key), into PATHS (n_keys
 * entries, NULL on entry, malloc'd; the caller frees them with
 * run_paths_free, on an error too). The one place the paths are made: the
 * files checked before the fetch are the files written after it. */
static asps_err run_paths(const asps_initra_conf *conf, const char *root, char **paths,
                          asps_errbuf *eb)
{
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/')
        n--;
    for (size_t k = 0; k < conf->n_keys; k++) {
        size_t len = n + strlen(conf->paths[k]) + 1;
        if (!(paths[k] = malloc(len)))
            return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
        snprintf(paths[k], len, "%.*s%s", (int)n, root, conf->paths[k]);
    }
    return ASPS_OK;
}

static void run_paths_free(char **paths, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(paths[k]);
}

/* Everything that can be known before the secrets are fetched, so that a
 * typo costs no fetch (and no audited release): --root, the application,
 * and that every file can be written. PATHS gets the files' paths
 * (run_paths; the caller frees them, whatever is returned). 0, else the
 * exit code. */
static int run_check_before_fetch(const asps_initra_conf *conf, const char *root, const char *app,
                                  char **paths)
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
    asps_errbuf eb = {{0}};
    asps_err e = run_paths(conf, root, paths, &eb);
    if (e == ASPS_OK)
        e = asps_initra_check_writable((const char *const *)paths, conf->n_keys, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps run: %s; nothing fetched, no file written\n", eb.msg);
        return e == ASPS_E_ARG ? 2 : 4;
    }
    return 0;
}

int asps_cmd_run(int argc, char **argv)
{
    asps_client_opts o = {.attester = "auto"};
    asps_sim_identity ident;
    memset(&ident, 0, sizeof ident);
    struct run_args ra = {.o = &o, .ident = &ident, .root = ""};
    int i;
    /* "+": options stop at the first argument; APP comes after "--" */
    const struct option *tables[] = {run_opts, cli_identity_opts, NULL};
    int prc = cli_parse(&run_help, tables, 1, argc, argv, run_opt, &ra, &i);
    if (prc)
        return prc == CLI_HELP ? 0 : prc;
    if (i < argc && strcmp(argv[i - 1], "--") != 0)
        return cli_usage_error(&run_help, "unexpected argument '%s' (the application goes after --)",
                               argv[i]);
    const char *conf_path = ra.conf, *root = ra.root, *sim_dir = ra.sim_dir;
    if (!conf_path)
        return cli_usage_error(&run_help, "--conf FILE is required");
    asps_errbuf eb = {{0}};
    asps_initra_conf *conf;
    if (asps_initra_conf_load(conf_path, &conf, &eb) != ASPS_OK) {
        fprintf(stderr, "asps run: %s\n", eb.msg);
        return 2;
    }
    char *paths[ASPS_INITRA_MAX_KEYS] = {0};
    int pre = run_check_before_fetch(conf, root, i < argc ? argv[i] : NULL, paths);
    if (pre != 0) {
        run_paths_free(paths, conf->n_keys);
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
            run_paths_free(paths, conf->n_keys);
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
        /* a --ca file that is not one is ASPS_E_ARG (2); a server refused by
         * ra_config's check is ASPS_E_DENIED (1) */
        rc = cli_exit_code(e, status);
        if (check.refused) /* the server is not the one asked for */
            fprintf(stderr, "asps run: the server showed %s; %s\n", check.shown,
                    conf->flavor == ASPS_INITRA_AECS ? "ra_config's ua_policy_* fields do not allow it"
                                                     : "no ra_config.sgx_mrs entry allows it");
    } else {
        const uint8_t **vals = calloc(conf->n_keys, sizeof *vals);
        size_t *lens = calloc(conf->n_keys, sizeof *lens);
        int okp = vals && lens;
        for (size_t k = 0; okp && k < conf->n_keys; k++) {
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
        free(vals);
        free(lens);
        asps_secrets_free(s, conf->n_keys);
    }
    asps_client_free(c);
    asps_attester_free(att); /* after the client: it renews with it */
    run_paths_free(paths, conf->n_keys);
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
