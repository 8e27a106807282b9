/* serve_sys.c: what `asps serve` does for the system around it: systemd's
 * readiness protocol (sd_notify(3), Type=notify; a no-op without
 * NOTIFY_SOCKET) and the SIGHUP reload of what it reads from files besides
 * the policy and KMS: the audit file (reopened, for log rotation) and the
 * TLS certificate and key (a bad pair keeps the old one).
 *
 * The protocol (sd_notify(3), systemd 252): READY=1 once listening;
 * RELOADING=1 (with MONOTONIC_USEC=, which systemd 253's Type=notify-reload
 * wants) when SIGHUP starts a reload, READY=1 when it is done; STOPPING=1
 * when SIGTERM starts the drain; STATUS= a one-line summary with each. */
#include "serve_sys.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "ops.h"
#include "server_cert.h"
#include "util.h"

static char where[300]; /* "HOST:PORT" once listening */

static unsigned long long monotonic_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull;
}

/* sd_notify's result only says whether systemd was told (or asked at all):
 * nothing to do about a failure but say so */
static void notify(const char *state)
{
    int r = sd_notify(0, state);
    if (r < 0)
        asps_log(ASPS_LOG_WARN, "serve", "sd_notify: cannot tell systemd (%s)", strerror(-r));
}

void asps_serve_notify_ready(const char *where_bound)
{
    snprintf(where, sizeof where, "%s", where_bound);
    char msg[400];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=serving on %s", where);
    notify(msg);
}

void asps_serve_notify_reloading(void)
{
    char msg[200];
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading (SIGHUP)",
             monotonic_usec());
    notify(msg);
}

void asps_serve_notify_stopping(long drain_ms)
{
    char msg[200];
    snprintf(msg, sizeof msg, "STOPPING=1\nSTATUS=stopping: draining in-flight calls for up to %ld ms",
             drain_ms);
    notify(msg);
}

/* Wait until gRPC has taken a new TLS pair (ASPS_RPC_IDENTITY_SETTLE_MS),
 * so that READY=1 and the log line mean new handshakes get it; but not past
 * a SIGTERM or SIGINT (blocked in every thread, so it stays pending for the
 * main loop's sigwait): the drain's bound must hold during a reload too. */
static void settle(void)
{
    int64_t end = asps_now_mono_ms() + ASPS_RPC_IDENTITY_SETTLE_MS;
    for (;;) {
        sigset_t pending;
        if (sigpending(&pending) == 0 &&
            (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1))
            return;
        int64_t left = end - asps_now_mono_ms();
        if (left <= 0)
            return;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (left < 50 ? left : 50) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The TLS pair from the config's files; "reloaded", "unchanged" or
 * "refused" into *what. */
static void reload_tls(asps_rpc_server *srv, const asps_service_config *cfg, const char **what)
{
    asps_errbuf eb = {{0}};
    uint8_t *cert = NULL, *key = NULL;
    size_t cl = 0, kl = 0;
    int changed = 0;
    *what = "refused";
    asps_server_cert_info info;
    /* the start's checks (dates, key match), so a reload cannot serve what
     * a start would refuse */
    if (asps_read_file(cfg->server_cert, 1 << 20, &cert, &cl, &eb) == ASPS_OK &&
        asps_read_file(cfg->server_key, 1 << 20, &key, &kl, &eb) == ASPS_OK &&
        asps_server_cert_check((const char *)cert, cl, (const char *)key, kl, (int64_t)time(NULL),
                               &info, &eb) == ASPS_OK &&
        asps_rpc_server_set_identity(srv, (const char *)cert, (const char *)key, &changed, &eb) ==
            ASPS_OK) {
        *what = changed ? "reloaded" : "unchanged";
        if (changed) {
            asps_server_cert_set_current(&info);
            if (info.warn) {
                char until[32];
                asps_server_cert_time(info.not_after, until, sizeof until);
                asps_log(ASPS_LOG_WARN, "serve",
                         "WARNING: the reloaded server certificate expires on %s, within %d days",
                         until, ASPS_SERVER_CERT_WARN_DAYS);
            }
            asps_errbuf ceb = {{0}}; /* the expiry gauge follows the new certificate */
            if (asps_ops_note_server_certificate((const char *)cert, cl, &ceb) != ASPS_OK)
                asps_log(ASPS_LOG_WARN, "ops", "%s", ceb.msg);
            settle();
            asps_log(ASPS_LOG_INFO, "serve", "reloaded the TLS certificate and key (%s, %s)",
                     cfg->server_cert, cfg->server_key);
        }
    } else {
        asps_log(ASPS_LOG_WARN, "serve",
                 "TLS certificate reload refused, keeping the old certificate and key: %s", eb.msg);
    }
    asps_cleanse_free(key, kl);
    free(cert);
}

void asps_serve_reload_files(asps_service *svc, asps_rpc_server *srv,
                             const asps_service_config *cfg, int policy_ok)
{
    asps_errbuf eb = {{0}};
    const char *audit = "reopened";
    if (!cfg->audit || !strcmp(cfg->audit, "-")) {
        audit = "on stderr";
    } else if (asps_service_reopen_audit(svc, &eb) != ASPS_OK) {
        audit = "reopen failed";
        asps_log(ASPS_LOG_WARN, "serve", "audit file reopen failed, still writing to the old one: %s",
                 eb.msg);
    } else {
        asps_log(ASPS_LOG_INFO, "serve", "reopened the audit file %s", cfg->audit);
    }
    const char *tls;
    reload_tls(srv, cfg, &tls);
    char when[32];
    asps_time_format((int64_t)time(NULL), when);
    char msg[600];
    snprintf(msg, sizeof msg,
             "READY=1\nSTATUS=serving on %s; reload at %s: policy and KMS %s, audit file %s, "
             "TLS certificate %s",
             where, when, policy_ok ? "reloaded" : "refused (old kept)", audit, tls);
    notify(msg);
}
