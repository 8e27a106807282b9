/* serve_info.c: the start-up banner and `asps serve --check` (see
 * serve_info.h). The banner only says what the server has already loaded;
 * the check loads it all itself (as the server would: service_check.h) and
 * reaches the KMS and the PCCS once each. */
#include <cjson/cJSON.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "http.h"
#include "kms.h"
#include "log.h"
#include "policy.h"
#ifdef ASPS_HAVE_RPC
#include "rpc.h"
#endif
#include "serve_info.h"
#include "source.h"

#include "common.h"
#include "service_check.h"
#include "trust.h"
#include "util.h"

#define PROBE_MS 5000 /* each reachability probe of --check */

typedef enum { SAY_OK, SAY_NOTE, SAY_WARN, SAY_FAIL } say_level;

typedef struct report {
    int check;          /* stdout summary (else log lines) */
    unsigned warns, fails;
} report;

static void say(report *r, say_level lvl, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(report *r, say_level lvl, const char *topic, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (lvl == SAY_WARN)
        r->warns++;
    if (lvl == SAY_FAIL)
        r->fails++;
    if (r->check) {
        static const char *const tag[] = {"ok", "note", "WARN", "FAIL"};
        printf("%-4s  %s: %s\n", tag[lvl], topic, msg);
    } else {
        asps_log(lvl >= SAY_WARN ? ASPS_LOG_WARN : ASPS_LOG_INFO, "serve", "%s: %s", topic, msg);
    }
}

asps_err cli_server_cert_load(const asps_service_config *cfg, int64_t now, uint8_t **cert,
                              size_t *cert_len, uint8_t **key, size_t *key_len,
                              asps_server_cert_info *info, asps_errbuf *eb)
{
    *cert = *key = NULL;
    *cert_len = *key_len = 0;
    memset(info, 0, sizeof *info);
    asps_err e = asps_read_file(cfg->server_cert, 1 << 20, cert, cert_len, eb);
    if (e == ASPS_OK)
        e = asps_read_file(cfg->server_key, 1 << 20, key, key_len, eb);
    if (e == ASPS_OK)
        e = asps_server_cert_check((const char *)*cert, *cert_len, (const char *)*key, *key_len,
                                   now, info, eb);
    if (e != ASPS_OK) {
        free(*cert);
        asps_cleanse_free(*key, *key_len);
        *cert = *key = NULL;
        *cert_len = *key_len = 0;
    }
    return e;
}

static void say_cert(report *r, const asps_server_cert_info *c)
{
    char until[32];
    asps_server_cert_time(c->not_after, until, sizeof until);
    int64_t left = c->not_after - (int64_t)time(NULL);
    say(r, SAY_OK, "server certificate", "%s, %s, %d certificate%s in the file, valid until %s (%lld days left)",
        c->subject[0] ? c->subject : "(no subject)", c->key_type, c->chain_len,
        c->chain_len == 1 ? "" : "s", until, (long long)(left / 86400));
    if (c->warn)
        say(r, SAY_WARN, "server certificate",
            "WARNING: expires on %s, in less than %d days: renew it (the server refuses to start "
            "with an expired certificate)",
            until, ASPS_SERVER_CERT_WARN_DAYS);
}

static void policy_note(void *ctx, const char *line)
{
    say(ctx, SAY_NOTE, "policy", "conversion note: %s", line);
}

static void say_policy(report *r, const asps_service_config *cfg, asps_policy **keep)
{
    asps_errbuf eb = {{0}};
    asps_policy *p = NULL;
    const char *fmt = cfg->policy_format ? cfg->policy_format : "native";
    if (asps_service_policy_load(cfg, policy_note, r, &p, &eb) != ASPS_OK) {
        say(r, SAY_FAIL, "policy", "%s", eb.msg);
        char hint[1024];
        if (cfg->policy &&
            cli_policy_hint_text(cfg->policy, "--policy-format", fmt, hint, sizeof hint))
            say(r, SAY_NOTE, "policy", "%s", hint);
        return;
    }
    size_t n = asps_policy_app_count(p);
    say(r, SAY_OK, "policy", "%s format, %zu app%s, from %s%s%s", fmt, n, n == 1 ? "" : "s",
        cfg->policy, cfg->occlum_secrets ? " with secrets " : "",
        cfg->occlum_secrets ? cfg->occlum_secrets : "");
    if (strcmp(fmt, "native") && cfg->seed_allow_simulated)
        say(r, SAY_WARN, "policy",
            "WARNING: seed_allow_simulated: every converted app accepts simulated evidence");
    if (!strcmp(fmt, "native") && cfg->seed_tcb_mask)
        say(r, SAY_WARN, "policy",
            "WARNING: seed_tcb_statuses is ignored: the policy is native (each app says its "
            "tcb_statuses)");
    else if (strcmp(fmt, "native") && !cfg->seed_allow_simulated &&
             (cfg->trust_sim || cfg->n_trust_roots))
        say(r, SAY_WARN, "policy", /* a warning: --log-level warn must not hide it */
            "WARNING: converted apps refuse simulated evidence (the seed formats cannot allow it): every "
            "request from the simulated platform%s will be denied (\"simulated evidence not "
            "allowed\" in the audit log) unless the server config sets \"seed_allow_simulated\": true",
            cfg->n_trust_roots && !cfg->trust_sim ? " or an extra root" : "");
    if (keep)
        *keep = p;
    else
        asps_policy_free(p);
}

static void say_trust(report *r, const asps_service_config *cfg)
{
    say(r, SAY_OK, "trust", "Intel SGX Root CA (built in)");
    if (cfg->trust_sim)
        say(r, SAY_WARN, "trust",
            "WARNING: the SIMULATED platform's root %s/root_ca.der is trusted: evidence from the "
            "simulated platform (no SGX or TDX hardware, no protection at all) is accepted where "
            "a policy allows simulated evidence; for tests and demos only, never in production",
            cfg->trust_sim);
    for (size_t i = 0; i < cfg->n_trust_roots; i++)
        say(r, SAY_WARN, "trust",
            "WARNING: an extra root %s is trusted: evidence under it is not Intel's and counts "
            "as simulated (accepted where a policy allows simulated evidence)",
            cfg->trust_roots[i]);
}

/* The PCCS answers GET /sgx/certification/v4/rootcacrl (Intel's PCCS API
 * v4): it is reachable, its certificate trusted, and it serves. 1 when it
 * does (MSG says so), else 0 (MSG says what failed). */
static int probe_pccs(const asps_service_config *cfg, const char *pccs_url, char *msg, size_t msz)
{
    asps_errbuf eb = {{0}};
    asps_http *h = NULL;
    asps_http_opts ho = {.ca_file = cfg->pccs_ca, .timeout_ms = PROBE_MS, .max_retries = -1};
    char url[ASPS_HTTP_MAX_URL];
    size_t n = strlen(pccs_url);
    while (n > 0 && pccs_url[n - 1] == '/')
        n--;
    if ((size_t)snprintf(url, sizeof url, "%.*s/sgx/certification/v4/rootcacrl", (int)n,
                         pccs_url) >= sizeof url) {
        snprintf(msg, msz, "pccs URL too long");
        return 0;
    }
    int ok = 0;
    asps_http_resp resp = {0};
    asps_http_req q = {.url = url, .what = url};
    if (asps_http_new(&ho, &h, &eb) != ASPS_OK || asps_http_once(h, &q, PROBE_MS, &resp, &eb) != ASPS_OK)
        snprintf(msg, msz, "PCCS %s: %s", pccs_url, eb.msg);
    else if (resp.failed)
        snprintf(msg, msz, "PCCS %s unreachable: %s", pccs_url,
                 resp.error && resp.error[0] ? resp.error : "no answer");
    else if (resp.status != 200)
        snprintf(msg, msz, "PCCS %s: GET %s answered HTTP %ld", pccs_url, url, resp.status);
    else
        ok = snprintf(msg, msz, "PCCS %s reachable (root CA CRL served)", pccs_url) > 0;
    asps_http_resp_free(&resp);
    asps_http_free(h);
    return ok;
}

/* Every PCCS URL probed. One that fails is a problem when none serves; with
 * another serving it is a warning (failover covers it, as it would in the
 * server), so one replica of several down does not fail a deployment. */
static void probe_pccs_all(report *r, const asps_service_config *cfg)
{
    size_t n = cfg->n_pccs_urls, serving = 0;
    if (n == 0)
        return;
    int ok[ASPS_COLLATERAL_MAX_PCCS] = {0};
    static char msg[ASPS_COLLATERAL_MAX_PCCS][2 * ASPS_HTTP_MAX_URL + 600]; /* --check runs once, one thread */
    if (n > ASPS_COLLATERAL_MAX_PCCS)
        n = ASPS_COLLATERAL_MAX_PCCS;
    for (size_t i = 0; i < n; i++)
        serving += (size_t)(ok[i] = probe_pccs(cfg, cfg->pccs_urls[i], msg[i], sizeof msg[i]));
    for (size_t i = 0; i < n; i++) {
        if (ok[i])
            say(r, SAY_OK, "collateral", "%s", msg[i]);
        else if (serving)
            say(r, SAY_WARN, "collateral", "WARNING: %s (failover: %zu of %zu PCCS URLs serve)",
                msg[i], serving, n);
        else
            say(r, SAY_FAIL, "collateral", "%s", msg[i]);
    }
}

static void say_collateral(report *r, const asps_service_config *cfg)
{
    if (cfg->collateral_bundle)
        say(r, SAY_OK, "collateral", "bundle file %s", cfg->collateral_bundle);
    if (cfg->collateral_sim)
        say(r, SAY_OK, "collateral", "simulated platform's collateral in %s", cfg->collateral_sim);
    for (size_t i = 0; i < cfg->n_pccs_urls; i++)
        say(r, SAY_OK, "collateral", "PCCS %s%s (its certificate checked against %s)",
            cfg->pccs_urls[i], cfg->n_pccs_urls > 1 ? (i ? ", failover" : ", first") : "",
            cfg->pccs_ca ? cfg->pccs_ca : "the system's CAs");
    if (cfg->collateral_cache_dir)
        say(r, SAY_OK, "collateral", "cache folder %s (each file verified when read)",
            cfg->collateral_cache_dir);
    if (cfg->n_pccs_urls || cfg->collateral_cache_dir) {
        if (cfg->collateral_max_stale)
            say(r, SAY_WARN, "collateral",
                "max_stale %lld s: when every PCCS fails, collateral up to that long past its "
                "nextUpdate still verifies (results marked collateral_stale)",
                (long long)cfg->collateral_max_stale);
        else
            say(r, SAY_OK, "collateral", "max_stale 0: no collateral past its nextUpdate is used");
        if (!cfg->n_pccs_urls)
            ; /* a cache folder alone: nothing to refresh from */
        else if (cfg->collateral_refresh_before)
            say(r, SAY_OK, "collateral", "background refresh %lld s before nextUpdate",
                (long long)cfg->collateral_refresh_before);
        else
            say(r, SAY_WARN, "collateral", "refresh_before 0: no background refresh");
    }
    if (cfg->n_pccs_urls || cfg->collateral_cache_dir || cfg->collateral_tcb_update_early)
        say(r, SAY_OK, "collateral", "TCB update set for the verdict: %s",
            cfg->collateral_tcb_update_early ? "early" : "standard");
    if (!cfg->collateral_bundle && !cfg->collateral_sim && !cfg->pccs_url && !cfg->collateral_cache_dir)
        say(r, SAY_FAIL, "collateral", "no collateral source (bundle, sim, pccs or cache_dir)");
}

/* GET {addr}/v1/sys/seal-status, which Vault answers without a token
 * (Vault HTTP API, sys/seal-status): reachable, TLS trusted, not sealed.
 * For a server with no credential of its own (the apps bring theirs). */
static void probe_vault_unsealed(report *r, const asps_kms_config *kc)
{
    asps_errbuf eb = {{0}};
    asps_http *h = NULL;
    asps_http_opts ho = {.ca_file = kc->ca_file, .timeout_ms = PROBE_MS, .max_retries = -1};
    char url[ASPS_HTTP_MAX_URL];
    size_t n = strlen(kc->addr);
    while (n > 0 && kc->addr[n - 1] == '/')
        n--;
    snprintf(url, sizeof url, "%.*s/v1/sys/seal-status", (int)(n < 1900 ? n : 1900), kc->addr);
    asps_http_resp resp = {0};
    asps_http_req q = {.url = url, .what = url};
    cJSON *o = NULL;
    if (asps_http_new(&ho, &h, &eb) != ASPS_OK || asps_http_once(h, &q, PROBE_MS, &resp, &eb) != ASPS_OK)
        say(r, SAY_FAIL, "kms", "vault %s: %s", kc->addr, eb.msg);
    else if (resp.failed)
        say(r, SAY_FAIL, "kms", "vault %s unreachable: %s", kc->addr,
            resp.error && resp.error[0] ? resp.error : "no answer");
    else if (resp.status != 200 || !(o = cJSON_ParseWithLength((const char *)resp.body.p, resp.body.len)) ||
             !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, "sealed")))
        say(r, SAY_FAIL, "kms", "vault %s: GET /v1/sys/seal-status answered HTTP %ld without a seal status",
            kc->addr, resp.status);
    else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "sealed")))
        say(r, SAY_FAIL, "kms", "vault %s is sealed", kc->addr);
    else
        say(r, SAY_OK, "kms",
            "reachable and unsealed (no server credential to try: the apps' own tokens are "
            "checked on their calls)");
    cJSON_Delete(o);
    asps_http_resp_free(&resp);
    asps_http_free(h);
}

static void say_kms(report *r, const asps_service_config *cfg, const asps_policy *p, int probe)
{
    asps_errbuf eb = {{0}};
    asps_kms_config kc;
    int from_config;
    if (asps_service_kms_config(cfg, p, &kc, &from_config, &eb) != ASPS_OK) {
        say(r, SAY_FAIL, "kms", "%s", eb.msg);
        return;
    }
    const char *from = from_config ? "the config" : "the policy";
    if (!strcmp(kc.type, "vault")) {
        char auth[512];
        if (kc.role_id)
            snprintf(auth, sizeof auth, "AppRole login at auth/%s",
                     kc.approle_mount ? kc.approle_mount : "approle");
        else if (kc.token_file)
            snprintf(auth, sizeof auth, "server token from %s", kc.token_file);
        else if (kc.token)
            snprintf(auth, sizeof auth, "server token in the config");
        else if (getenv("VAULT_TOKEN"))
            snprintf(auth, sizeof auth, "server token from VAULT_TOKEN");
        else
            snprintf(auth, sizeof auth, "the apps' own tokens only");
        say(r, SAY_OK, "kms", "vault %s (KV v%d%s%s, %s; from %s)", kc.addr ? kc.addr : "?",
            kc.kv_version ? kc.kv_version : 1, kc.mount ? ", mount " : "",
            kc.mount ? kc.mount : "", auth, from);
    } else {
        say(r, SAY_OK, "kms", "%s %s (from %s)", kc.type, kc.path ? kc.path : "", from);
    }
    if (!probe)
        return;
    if (!strcmp(kc.type, "vault") && !kc.role_id && !kc.token_file && !kc.token &&
        !getenv("VAULT_TOKEN")) {
        probe_vault_unsealed(r, &kc);
        return;
    }
    asps_kms *k = NULL;
    if (asps_kms_open(&kc, &k, &eb) != ASPS_OK) {
        say(r, SAY_FAIL, "kms", "%s", eb.msg);
        return;
    }
    /* a name no policy grants: "not found" proves the store answers (file
     * read and parsed; Vault reached, TLS trusted, the server's token taken) */
    uint8_t *v = NULL;
    size_t vl = 0;
    asps_err e = asps_kms_get_until(k, "asps-serve-check/probe", NULL,
                                    asps_now_mono_ms() + PROBE_MS, &v, &vl, &eb);
    if (e == ASPS_OK)
        asps_kms_value_free(v, vl);
    if (e == ASPS_OK || e == ASPS_E_NOT_FOUND)
        say(r, SAY_OK, "kms", "reachable (a probe name was looked up)");
    else if (e == ASPS_E_DENIED)
        say(r, SAY_WARN, "kms",
            "reachable, but it refused the server's own credential (%s); the apps' own tokens "
            "are checked on their calls",
            eb.msg);
    else
        say(r, SAY_FAIL, "kms", "unreachable or unusable: %s", eb.msg);
    asps_kms_free(k);
}

static void say_audit(report *r, const asps_service_config *cfg, int probe)
{
    const char *a = cfg->audit ? cfg->audit : "-";
    const char *req = cfg->audit_required ? "a grant whose line cannot be written is refused"
                                          : "audit_required false: grants go out even when their "
                                            "line cannot be written";
    if (!strcmp(a, "-")) {
        say(r, SAY_OK, "audit", "standard error (%s)", req);
        return;
    }
    say(r, SAY_OK, "audit", "%s (%s)", a, req);
    if (!probe)
        return;
    struct stat st;
    if (stat(a, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            say(r, SAY_FAIL, "audit", "%s is not a regular file", a);
        else if (access(a, W_OK) != 0)
            say(r, SAY_FAIL, "audit", "%s is not writable by this user", a);
        return;
    }
    char *copy = strdup(a);
    const char *dir = copy ? dirname(copy) : ".";
    if (access(dir, W_OK | X_OK) != 0)
        say(r, SAY_FAIL, "audit", "%s does not exist and its folder %s is not writable", a, dir);
    free(copy);
}

static void say_limits(report *r, const asps_service_config *cfg)
{
    long kms_ms = cfg->kms_deadline_ms > 0 ? cfg->kms_deadline_ms : cfg->deadline_ms / 2;
#ifdef ASPS_HAVE_RPC
    size_t mem_mb = cfg->grpc_memory_mb ? cfg->grpc_memory_mb : ASPS_RPC_DEFAULT_MEMORY_QUOTA >> 20;
#else
    size_t mem_mb = cfg->grpc_memory_mb;
#endif
    say(r, SAY_OK, "limits",
        "max_message_bytes=%zu max_names=%zu max_concurrent_calls=%zu max_waiting_calls=%zu "
        "deadline_ms=%ld "
        "kms_deadline_ms=%ld drain_ms=%ld threads=%zu io_threads=%zu verify_threads=%zu "
        "claims_cache=%zu grpc_memory_mb=%zu",
        cfg->max_message_bytes, cfg->max_names, cfg->max_concurrent_calls,
        cfg->max_waiting_calls, cfg->deadline_ms,
        kms_ms, cfg->drain_ms, cfg->threads, cfg->io_threads, cfg->verify_threads,
        cfg->claims_cache, mem_mb);
}

void cli_serve_banner(const asps_service_config *cfg, const asps_server_cert_info *cert)
{
    report r = {0};
    char v[256];
    cli_version_line(v, sizeof v);
    asps_log(ASPS_LOG_INFO, "serve", "%s starting", v);
    say(&r, SAY_OK, "listen", "%s", cfg->listen);
    say_cert(&r, cert);
    asps_policy *p = NULL;
    say_policy(&r, cfg, &p);
    say_trust(&r, cfg);
    say_collateral(&r, cfg);
    if (p)
        say_kms(&r, cfg, p, 0);
    asps_policy_free(p);
    say_audit(&r, cfg, 0);
    say_limits(&r, cfg);
}

int cli_serve_check(const char *config_path, const asps_service_config *cfg)
{
    report r = {.check = 1};
    char v[256];
    cli_version_line(v, sizeof v);
    printf("%s: checking %s\n", v, config_path);
    asps_errbuf eb = {{0}};
    say(&r, SAY_OK, "config", "%s", config_path);
    if (!cfg->listen)
        say(&r, SAY_FAIL, "listen", "no listen address (config \"listen\" or --listen)");
    else if (asps_addr_parse("listen", cfg->listen, ASPS_ADDR_PORT_ZERO, NULL, &eb) != ASPS_OK)
        say(&r, SAY_FAIL, "listen", "%s", eb.msg);
    else
        say(&r, SAY_OK, "listen", "%s", cfg->listen);
    if (cfg->ops_listen) /* its address is checked with the config */
        say(&r, SAY_OK, "ops", "%s (/healthz /readyz /metrics)", cfg->ops_listen);
    uint8_t *cert = NULL, *key = NULL;
    size_t cl = 0, kl = 0;
    asps_server_cert_info ci;
    if (!cfg->server_cert || !cfg->server_key)
        say(&r, SAY_FAIL, "server certificate", "the config needs server_cert and server_key");
    else if (cli_server_cert_load(cfg, (int64_t)time(NULL), &cert, &cl, &key, &kl, &ci, &eb) !=
             ASPS_OK)
        say(&r, SAY_FAIL, "server certificate", "%s", eb.msg);
    else
        say_cert(&r, &ci);
    free(cert);
    asps_cleanse_free(key, kl);
    asps_policy *p = NULL;
    say_policy(&r, cfg, &p);
    say_trust(&r, cfg);
    say_collateral(&r, cfg);
    /* roots and collateral files loaded as the server loads them */
    asps_trust_opts to = {
        .sim_root_dir = cfg->trust_sim,
        .root_files = (const char *const *)cfg->trust_roots,
        .n_root_files = cfg->n_trust_roots,
        .collateral = {.bundle = cfg->collateral_bundle, .sim_dir = cfg->collateral_sim,
                       .pccs_url = cfg->pccs_url, .pccs_ca = cfg->pccs_ca,
                       .pccs_urls = (const char *const *)cfg->pccs_urls, .n_pccs_urls = cfg->n_pccs_urls,
                       .cache_dir = cfg->collateral_cache_dir, .max_stale = cfg->collateral_max_stale},
        .verifiers = 1,
        .tcb_update_early = cfg->collateral_tcb_update_early,
        .max_stale = cfg->collateral_max_stale,
    };
    asps_trust *t = NULL;
    if (asps_trust_new(&to, &t, &eb) != ASPS_OK)
        say(&r, SAY_FAIL, "trust", "%s", eb.msg);
    else
        say(&r, SAY_OK, "trust", "roots and collateral files loaded");
    asps_trust_free(t);
    probe_pccs_all(&r, cfg);
    if (p)
        say_kms(&r, cfg, p, 1);
    else
        say(&r, SAY_FAIL, "kms", "not checked: the policy did not load");
    asps_policy_free(p);
    say_audit(&r, cfg, 1);
    say_limits(&r, cfg);
    if (r.fails)
        printf("asps serve --check: FAILED: %u problem%s, %u warning%s\n", r.fails,
               r.fails == 1 ? "" : "s", r.warns, r.warns == 1 ? "" : "s");
    else
        printf("asps serve --check: OK (%u warning%s)\n", r.warns, r.warns == 1 ? "" : "s");
    fflush(stdout);
    return r.fails ? 1 : 0;
}
