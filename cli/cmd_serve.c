/* cmd_serve.c: `asps serve`: the secret provision server. Signals are
 * handled in the main thread with sigwait (never in a handler): SIGHUP
 * reloads policy and KMS (a broken file is refused and the old kept),
 * SIGTERM/SIGINT drain in-flight calls (limits.drain_ms) and stop. The
 * stop is bounded: when a handler has not returned by then (the RPC layer
 * says which calls it abandoned), the process exits at once without
 * freeing what those handlers still use. */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "kms.h"
#include "log.h"
#include "ops.h"
#include "rpc.h"
#include "rpc_version.h"
#include "service.h"
#include "service_rpc.h"
#include "cli.h"
#include "common.h"
#include "opts.h"
#include "serve_sys.h"
#include "serve_info.h"
#include "util.h"

static const cli_help serve_help = {
    "serve",
    "asps serve --config FILE [--check] [--listen HOST:PORT] [--audit FILE] "
    "[--policy FILE [--policy-format native|cczoo|occlum]] [--ra-config FILE --secrets FILE] "
    "[--log-level error|warn|info|debug] [--log-format text|json]",
    "Serve asps.v1.SecretProvision/GetSecrets, Occlum's ratls.GrSecret/GetSecret,\n"
    "CCZoo's secretmanager.SecretManger/GetSecret and grpc.health.v1.Health/Check\n"
    "on one port. Clients must present an RA-TLS certificate whose evidence\n"
    "verifies; every call of one that does not is answered UNAUTHENTICATED\n"
    "\"evidence refused: REASON (...)\" (UNAVAILABLE \"evidence not checked:\n"
    "collateral_unavailable (retry later)\" when the collateral could not be had).\n"
    "Each refusal is audited; stderr sums them up at most once per 10 s.\n"
    "Prints 'asps: listening on HOST:PORT' once bound (port 0 picks one).\n"
    "At start, a banner on stderr says what the server runs with (a WARNING for a\n"
    "trusted simulated root or a certificate expiring within 14 days); a server\n"
    "certificate that has expired, is not valid yet or does not match its key is\n"
    "refused (exit 2). HOST:PORT: a port is required (0: any free one);\n"
    "IPv6 as [::1]:7788.\n"
    "--check: load and check everything (config, addresses, certificate and key,\n"
    "policy with its conversion notes, roots and collateral, KMS and PCCS reached\n"
    "once each, audit destination), print the summary on stdout, and exit 0 (usable)\n"
    "or 1 (a problem) without listening or writing anything.\n"
    "SIGHUP reloads policy and KMS, reopens the audit file and reloads the TLS\n"
    "certificate and key (a bad pair keeps the old one); SIGTERM drains\n"
    "(limits.drain_ms, then in-flight calls are cancelled) and stops within\n"
    "drain_ms + 1 s, abandoning a handler that is still running then (stderr says\n"
    "which calls). Exit 0 after SIGTERM. Under systemd (Type=notify) it reports\n"
    "READY=1, RELOADING=1, STOPPING=1 and a STATUS= line through NOTIFY_SOCKET.\n"
    "Log lines go to stderr, each with an RFC 3339 time and a level, as text or\n"
    "one JSON object per line (default: info, text); gRPC's own lines among them.\n"};

enum { OPT_CHECK = 1, OPT_CONFIG, OPT_LISTEN, OPT_AUDIT, OPT_POLICY, OPT_FMT, OPT_RA, OPT_SECRETS,
       OPT_LEVEL, OPT_LFORMAT };
static const struct option serve_opts[] = {
    {"check", no_argument, NULL, OPT_CHECK},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"audit", required_argument, NULL, OPT_AUDIT},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"policy-format", required_argument, NULL, OPT_FMT},
    {"ra-config", required_argument, NULL, OPT_RA},
    {"secrets", required_argument, NULL, OPT_SECRETS},
    {"log-level", required_argument, NULL, OPT_LEVEL},
    {"log-format", required_argument, NULL, OPT_LFORMAT},
    {0},
};

struct serve_args {
    const char *config, *listen, *audit, *policy, *fmt, *ra, *secrets, *log_level, *log_format;
    int check;
};

static int serve_opt(void *ctx, int val, const char *name, const char *arg)
{
    struct serve_args *a = ctx;
    (void)name;
    const char **slot[] = {[OPT_CONFIG] = &a->config, [OPT_LISTEN] = &a->listen,
                           [OPT_AUDIT] = &a->audit, [OPT_POLICY] = &a->policy,
                           [OPT_FMT] = &a->fmt, [OPT_RA] = &a->ra, [OPT_SECRETS] = &a->secrets,
                           [OPT_LEVEL] = &a->log_level, [OPT_LFORMAT] = &a->log_format};
    if (val == OPT_CHECK)
        a->check = 1;
    else
        *slot[val] = arg;
    return 0;
}

/* --log-level and --log-format (NULL: info, text); the logger writes to
 * stderr. Everything the server says from here on is a log line. */
static int configure_log(const char *level, const char *format)
{
    asps_log_level l = ASPS_LOG_INFO;
    asps_log_format f = ASPS_LOG_TEXT;
    if (level && asps_log_level_parse(level, &l) != 0) {
        fprintf(stderr, "asps serve: --log-level: '%s' is not error, warn, info or debug\n", level);
        return -1;
    }
    if (format && asps_log_format_parse(format, &f) != 0) {
        fprintf(stderr, "asps serve: --log-format: '%s' is not text or json\n", format);
        return -1;
    }
    asps_log_configure(l, f, 2);
    return 0;
}

/* /readyz: the service's answer (ops.h adds "draining") */
static int service_ready(void *svc, char *why, size_t n) { return asps_service_ready(svc, why, n); }

/* /metrics: the server's call load, read at the scrape (rpc.h) */
static void sample_load(void *srv)
{
    asps_rpc_load l;
    asps_rpc_server_load(srv, &l);
    asps_service_note_call_load(l.in_flight, l.waiting, l.waited_total, l.busy_total);
}

/* LISTEN (checked by asps_addr_parse when the config was read) with PORT,
 * the port bound, as "HOST:PORT" in OUT, an IPv6 host in brackets
 * ("[::1]:7788"): what the listening lines and systemd's STATUS say. */
static void bound_addr(const char *listen, int port, char *out, size_t n)
{
    asps_hostport hp;
    asps_errbuf eb = {{0}};
    if (asps_addr_parse("listen", listen, ASPS_ADDR_PORT_ZERO, &hp, &eb) != ASPS_OK) {
        snprintf(out, n, "%s", listen); /* not reached: checked at load */
        return;
    }
    snprintf(out, n, "%s%s%s:%d", hp.ipv6 ? "[" : "", hp.host, hp.ipv6 ? "]" : "", port);
}

/* The operations listener, when the config asks for one: "ops: listening
 * on HOST:PORT" on the log (not stdout: that line is the RPC port's). */
static asps_err start_ops(const asps_service_config *cfg, asps_service *svc, asps_rpc_server *srv,
                          const uint8_t *cert, size_t cl, asps_ops **ops, asps_errbuf *eb)
{
    asps_errbuf ceb = {{0}};
    if (asps_ops_note_server_certificate((const char *)cert, cl, &ceb) != ASPS_OK)
        asps_log(ASPS_LOG_WARN, "ops", "%s", ceb.msg);
    if (!cfg->ops_listen)
        return ASPS_OK;
    asps_ops_opts oo = {.listen = cfg->ops_listen, .ready = service_ready, .ready_ctx = svc,
                        .grpc_version = asps_rpc_grpc_version(), .sample = sample_load,
                        .sample_ctx = srv};
    ASPS_TRY(asps_ops_start(&oo, ops, eb));
    char where[300];
    bound_addr(cfg->ops_listen, asps_ops_port(*ops), where, sizeof where);
    asps_log(ASPS_LOG_INFO, "ops", "listening on %s (/healthz /readyz /metrics)", where);
    return ASPS_OK;
}

static int set(char **slot, const char *v)
{
    free(*slot);
    *slot = strdup(v);
    return *slot != NULL;
}

int asps_cmd_serve(int argc, char **argv)
{
    struct serve_args sa = {0};
    int first;
    const struct option *tables[] = {serve_opts, NULL};
    int prc = cli_parse(&serve_help, tables, 0, argc, argv, serve_opt, &sa, &first);
    if (prc)
        return prc == CLI_HELP ? 0 : prc;
    if (first < argc)
        return cli_usage_error(&serve_help, "unexpected argument '%s'", argv[first]);
    const char *config = sa.config, *listen = sa.listen, *audit = sa.audit, *policy = sa.policy,
               *fmt = sa.fmt, *ra = sa.ra, *secrets = sa.secrets, *log_level = sa.log_level,
               *log_format = sa.log_format;
    int check = sa.check;
    if (!config)
        return cli_usage_error(&serve_help, "--config FILE is required");
    if (ra && !secrets)
        return cli_usage_error(&serve_help, "--ra-config goes with --secrets");
    if (ra && policy)
        return cli_usage_error(&serve_help, "--ra-config replaces --policy: give one");
    if (configure_log(log_level, log_format) != 0)
        return 2;
    asps_errbuf eb = {{0}};
    asps_service_config *cfg = NULL;
    if (asps_service_config_load(config, &cfg, &eb) != ASPS_OK) {
        if (check) {
            printf("FAIL  config: %s\nasps serve --check: FAILED\n", eb.msg);
            return 1;
        }
        asps_log(ASPS_LOG_ERROR, "serve", "%s", eb.msg);
        return 2;
    }
    int ok = (!listen || set(&cfg->listen, listen)) && (!audit || set(&cfg->audit, audit)) &&
             (!policy || set(&cfg->policy, policy)) && (!fmt || set(&cfg->policy_format, fmt)) &&
             (!ra || (set(&cfg->policy, ra) && set(&cfg->policy_format, "occlum") &&
                      set(&cfg->occlum_secrets, secrets)));
    if (ok && listen && asps_addr_parse("--listen", listen, ASPS_ADDR_PORT_ZERO, NULL, &eb) != ASPS_OK) {
        if (check)
            printf("FAIL  %s\nasps serve --check: FAILED\n", eb.msg);
        else
            asps_log(ASPS_LOG_ERROR, "serve", "%s", eb.msg);
        asps_service_config_free(cfg);
        return check ? 1 : 2;
    }
    if (ok && check) {
        int crc = cli_serve_check(config, cfg);
        asps_service_config_free(cfg);
        return crc;
    }
    /* signals go to this thread only, and wait in sigwait below: blocked
     * before any thread starts and before the (maybe slow) start, so a
     * SIGHUP from a too-eager reload does not kill a starting server and a
     * SIGTERM then stops it once it is up */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* a file size limit (ulimit -f, systemd's LimitFSIZE=) reached by the
     * audit file must fail that write (EFBIG: the grant withheld, the loss
     * counted), not kill the server */
    signal(SIGXFSZ, SIG_IGN);
    if (!ok || !cfg->listen || !cfg->server_cert || !cfg->server_key) {
        asps_log(ASPS_LOG_ERROR, "serve", "the config needs listen, server_cert and server_key");
        asps_service_config_free(cfg);
        return 2;
    }
    uint8_t *cert = NULL, *key = NULL;
    size_t cl, kl = 0;
    asps_service *svc = NULL;
    asps_rpc_server *srv = NULL;
    asps_service_rpc *glue = NULL;
    asps_ops *ops = NULL;
    int rc = 1;
    asps_server_cert_info cert_info;
    /* TLS session tickets off (process-wide OpenSSL settings): before the
     * service starts threads that may use OpenSSL (collateral refresh) */
    char why[600] = "";
    if (!asps_rpc_tls_tickets_off(why, sizeof why))
        asps_log(ASPS_LOG_WARN, "serve", "TLS session tickets stay on: %s", why);
    if (cli_server_cert_load(cfg, (int64_t)time(NULL), &cert, &cl, &key, &kl, &cert_info, &eb) !=
            ASPS_OK ||
        asps_service_new(cfg, &svc, &eb) != ASPS_OK) {
        asps_log(ASPS_LOG_ERROR, "serve", "%s", eb.msg);
        char hint[1024];
        if (cfg->policy &&
            cli_policy_hint_text(cfg->policy, "--policy-format",
                                 cfg->policy_format ? cfg->policy_format : "native", hint,
                                 sizeof hint))
            asps_log(ASPS_LOG_ERROR, "serve", "%s", hint);
        rc = 2;
        goto out;
    }
    asps_server_cert_set_current(&cert_info);
    cli_serve_banner(cfg, &cert_info);
    /* gRPC 1.51's listener stops accepting for good once the process runs
     * out of file descriptors, and it has no connection cap: take the whole
     * hard limit (Debian's default soft limit is 1024 of a far higher hard
     * one), as servers commonly do; README says to raise the hard one too */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }
    asps_rpc_server_opts so = {
        .listen_addr = cfg->listen,
        .cert_chain_pem = (const char *)cert,
        .key_pem = (const char *)key,
        .verify = asps_service_rpc_verify,
        .verify_now = asps_service_rpc_verify_now,
        .verify_ctx = svc,
        /* a refused client is told why on every call, not a closed socket */
        .refuse_in_calls = 1,
        .on_refused = asps_service_rpc_refused,
        .on_refused_ctx = svc,
        .max_message_size = cfg->max_message_bytes,
        .max_concurrent_calls = cfg->max_concurrent_calls,
        .max_waiting_calls = cfg->max_waiting_calls,
        .call_deadline_ms = cfg->deadline_ms,
        .worker_threads = cfg->threads,
        .io_threads = cfg->io_threads,
        .verify_threads = cfg->verify_threads,
        .memory_quota_bytes = cfg->grpc_memory_mb << 20,
    };
    int port = 0;
    if (asps_rpc_server_new(&so, &srv, &eb) != ASPS_OK ||
        asps_service_rpc_register(srv, svc, cfg->max_names, &glue, &eb) != ASPS_OK) {
        asps_log(ASPS_LOG_ERROR, "serve", "%s", eb.msg);
        goto out;
    }
    /* TLS failures that gRPC only logs: an audit line and a count each */
    asps_rpc_set_handshake_failure_hook(asps_service_rpc_handshake_failed, svc);
    if (asps_rpc_server_start(srv, &port, &eb) != ASPS_OK) {
        asps_log(ASPS_LOG_ERROR, "serve", "%s", eb.msg);
        goto out;
    }
    /* before the port is announced: a listener that cannot bind stops the start */
    if (start_ops(cfg, svc, srv, cert, cl, &ops, &eb) != ASPS_OK) {
        asps_log(ASPS_LOG_ERROR, "serve", "%s", eb.msg);
        goto out;
    }
    char where[300];
    bound_addr(cfg->listen, port, where, sizeof where);
    printf("asps: listening on %s\n", where);
    fflush(stdout);
    asps_serve_notify_ready(where);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            asps_serve_notify_reloading();
            asps_errbuf r = {{0}};
            int policy_ok = asps_service_reload(svc, &r) == ASPS_OK;
            if (policy_ok)
                asps_log(ASPS_LOG_INFO, "serve", "reloaded policy and KMS");
            else
                asps_log(ASPS_LOG_ERROR, "serve", "reload refused, keeping the old policy: %s", r.msg);
            asps_serve_reload_files(svc, srv, cfg, policy_ok);
            continue;
        }
        asps_serve_notify_stopping(cfg->drain_ms);
        asps_ops_set_draining(ops);
        asps_log(ASPS_LOG_INFO, "serve", "stopping (draining in-flight calls for up to %ld ms)",
                 cfg->drain_ms);
        asps_rpc_server_shutdown(srv, (int)cfg->drain_ms);
        rc = 0;
        unsigned left = asps_rpc_server_abandoned(srv), stuck = asps_kms_fetches_stuck();
        if (stuck)
            asps_log(ASPS_LOG_WARN, "serve", "%u KMS fetch%s still stuck in the backend, abandoned",
                     stuck, stuck == 1 ? "" : "es");
        if (left) {
            /* handlers still run and use the server, the service and the
             * KMS: exit without freeing them (the audit log is written
             * line by line, unbuffered) */
            asps_log(ASPS_LOG_WARN, "serve", "stopped, abandoning %u call%s", left, left == 1 ? "" : "s");
            fflush(stdout);
            _exit(0);
        }
        break;
    }
out:
    asps_ops_stop(ops); /* before svc goes: /readyz asks it */
    asps_rpc_set_handshake_failure_hook(NULL, NULL); /* before svc goes */
    asps_rpc_server_free(srv);
    asps_service_rpc_free(glue);
    asps_service_free(svc);
    asps_cleanse_free(key, kl);
    free(cert);
    asps_service_config_free(cfg);
    return rc;
}
