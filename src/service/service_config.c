/* service_config.c: the server config file (format in asps/service.h).
 * Strict: unknown keys are errors, so a misspelt option never silently
 * falls back to a default. Relative paths resolve against the file's folder. */
#include <libgen.h>
#include <sched.h> /* sched_getaffinity, CPU_COUNT (_GNU_SOURCE: CMakeLists) */
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "addr.h"
#include "json.h"
#include "policy.h"
#include "source.h"
#include "trust.h"
#include "util.h"

_Static_assert(ASPS_SERVICE_MAX_VERIFY_THREADS == ASPS_TRUST_MAX_VERIFIERS,
               "verify_threads: one verifier of the trust pool per check thread");

size_t asps_service_default_threads(void)
{
    long n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n < 1)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 2 ? 2 : n > 64 ? 64 : (size_t)n;
}

asps_err asps_service_config_new(asps_service_config **out, asps_errbuf *eb)
{
    asps_service_config *c = calloc(1, sizeof *c);
    if (!c)
        return asps_fail(eb, ASPS_E_NOMEM, "config: out of memory");
    c->max_message_bytes = 64 * 1024;
    c->max_names = 64;
    c->max_concurrent_calls = 64;
    c->max_waiting_calls = 256;
    c->deadline_ms = 10000;
    c->drain_ms = 5000;
    c->threads = c->io_threads = asps_service_default_threads();
    c->verify_threads = c->threads < ASPS_SERVICE_MAX_VERIFY_THREADS ? c->threads
                                                                     : ASPS_SERVICE_MAX_VERIFY_THREADS;
    c->claims_cache = 4096;
    c->audit_required = 1;
    c->collateral_refresh_before = 3600;
    *out = c;
    return ASPS_OK;
}

void asps_service_config_free(asps_service_config *c)
{
    if (!c)
        return;
    char **strs[] = {&c->listen, &c->server_cert, &c->server_key, &c->trust_sim,
                     &c->collateral_bundle, &c->collateral_sim, &c->pccs_url, &c->pccs_ca,
                     &c->policy, &c->policy_format, &c->occlum_secrets, &c->kms_type,
                     &c->kms_path, &c->kms_addr, &c->kms_ca, &c->kms_mount, &c->kms_encoding,
                     &c->kms_field, &c->kms_namespace, &c->kms_token_file,
                     &c->kms_secret_id_file, &c->kms_approle_mount, &c->audit, &c->ops_listen};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(*strs[i]);
    char **secret_strs[] = {&c->kms_token, &c->kms_role_id, &c->kms_secret_id};
    for (size_t i = 0; i < 3; i++)
        asps_cleanse_free_str(*secret_strs[i]);
    for (size_t i = 0; i < c->n_trust_roots; i++)
        free(c->trust_roots[i]);
    for (size_t i = 0; i < c->n_pccs_urls; i++)
        free(c->pccs_urls[i]);
    free(c->collateral_cache_dir);
    free(c);
}

/* dir + "/" + p unless p is absolute (or a URL) */
static char *resolve(const char *dir, const char *p)
{
    if (p[0] == '/' || !dir || strstr(p, "://") || !strcmp(p, "-"))
        return strdup(p);
    size_t n = strlen(dir) + strlen(p) + 2;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%s/%s", dir, p);
    return r;
}

static asps_err opt_path(const cJSON *o, const char *path, const char *key, const char *dir,
                         char **out, asps_errbuf *eb)
{
    const char *s;
    int present;
    ASPS_TRY(asps_json_get_string(o, path, key, 0, &s, &present, eb));
    if (!present)
        return ASPS_OK;
    free(*out);
    *out = resolve(dir, s);
    return *out ? ASPS_OK : asps_fail(eb, ASPS_E_NOMEM, "config: out of memory");
}

static asps_err opt_str(const cJSON *o, const char *path, const char *key, char **out,
                        asps_errbuf *eb)
{
    const char *s;
    int present;
    ASPS_TRY(asps_json_get_string(o, path, key, 0, &s, &present, eb));
    if (!present)
        return ASPS_OK;
    free(*out);
    *out = strdup(s);
    return *out ? ASPS_OK : asps_fail(eb, ASPS_E_NOMEM, "config: out of memory");
}

static asps_err opt_size(const cJSON *o, const char *path, const char *key, int64_t min,
                         int64_t max, size_t *out, asps_errbuf *eb)
{
    int64_t v;
    int present;
    ASPS_TRY(asps_json_get_int(o, path, key, min, max, &v, &present, eb));
    if (present)
        *out = (size_t)v;
    return ASPS_OK;
}

/* "collateral": {"pccs": URL | [URL, ...]}: at most 8, each a URL; the
 * first is also pccs_url (the banner, serve --check). */
static asps_err collateral_pccs(const cJSON *o, asps_service_config *c, asps_errbuf *eb)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "pccs");
    if (!v)
        return ASPS_OK;
    const cJSON *one = cJSON_IsString(v) ? v : NULL;
    if (!one && !cJSON_IsArray(v))
        return asps_fail(eb, ASPS_E_PARSE, "config.collateral.pccs: expected a URL or a list of URLs");
    if (cJSON_IsArray(v) && !v->child)
        return asps_fail(eb, ASPS_E_PARSE, "config.collateral.pccs: the list is empty");
    size_t i = 0;
    for (const cJSON *it = one ? one : v->child; it; it = one ? NULL : it->next, i++) {
        char where[64];
        snprintf(where, sizeof where, one ? "config.collateral.pccs" : "config.collateral.pccs[%zu]", i);
        if (!cJSON_IsString(it) || !it->valuestring[0])
            return asps_fail(eb, ASPS_E_PARSE, "%s: expected a URL", where);
        if (c->n_pccs_urls == sizeof c->pccs_urls / sizeof c->pccs_urls[0])
            return asps_fail(eb, ASPS_E_LIMIT, "config.collateral.pccs: at most 8 URLs");
        ASPS_TRY(asps_addr_parse_url(where, it->valuestring, NULL, eb));
        for (size_t j = 0; j < c->n_pccs_urls; j++)
            if (!strcmp(c->pccs_urls[j], it->valuestring))
                return asps_fail(eb, ASPS_E_PARSE, "%s: listed twice", where);
        if (!(c->pccs_urls[c->n_pccs_urls] = strdup(it->valuestring)))
            return asps_fail(eb, ASPS_E_NOMEM, "config: out of memory");
        c->n_pccs_urls++;
    }
    free(c->pccs_url);
    c->pccs_url = strdup(c->pccs_urls[0]);
    return c->pccs_url ? ASPS_OK : asps_fail(eb, ASPS_E_NOMEM, "config: out of memory");
}

/* "collateral": {"max_stale": "36h"}: a duration (source.h's form). */
static asps_err opt_duration(const cJSON *o, const char *key, int64_t *out, asps_errbuf *eb)
{
    const char *s;
    int present;
    char where[64];
    snprintf(where, sizeof where, "config.collateral.%s", key);
    ASPS_TRY(asps_json_get_string(o, "config.collateral", key, 0, &s, &present, eb));
    if (present && asps_collateral_duration_parse(s, out) != 0)
        return asps_fail(eb, ASPS_E_PARSE,
                         "%s: expected a duration: 0, or a whole number with s, m, h or d "
                         "(\"90s\", \"30m\", \"36h\", \"7d\"), at most 365d", where);
    return ASPS_OK;
}

/* "seed_tcb_statuses": ["UpToDate", ...] -> the converted apps' TCB mask,
 * each name through the policy's own rules (one spelling, one set of rules). */
static asps_err seed_tcb(const cJSON *root, asps_service_config *c, asps_errbuf *eb)
{
    const cJSON *arr;
    int present;
    ASPS_TRY(asps_json_get_array(root, "config", "seed_tcb_statuses", &arr, &present, eb));
    if (!present)
        return ASPS_OK;
    uint32_t mask = 0;
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++)
        ASPS_TRY(asps_policy_tcb_mask_add(cJSON_IsString(e) ? e->valuestring : NULL,
                                          "config.seed_tcb_statuses", i, &mask, eb));
    if (mask == 0)
        return asps_fail(eb, ASPS_E_PARSE, "config.seed_tcb_statuses: must list at least one status");
    c->seed_tcb_mask = mask;
    return ASPS_OK;
}

static asps_err parse(const cJSON *root, const char *dir, asps_service_config *c, asps_errbuf *eb)
{
    static const char *const top[] = {"listen", "server_cert", "server_key", "trust",
                                      "collateral", "policy", "policy_format", "occlum_secrets", "seed_allow_simulated", "seed_tcb_statuses",
                                      "kms", "audit", "audit_required", "limits", "ops", NULL};
    ASPS_TRY(asps_json_expect_object(root, "config", eb));
    ASPS_TRY(asps_json_check_keys(root, "config", top, eb));
    ASPS_TRY(opt_str(root, "config", "listen", &c->listen, eb));
    if (c->listen)
        ASPS_TRY(asps_addr_parse("config.listen", c->listen, ASPS_ADDR_PORT_ZERO, NULL, eb));
    ASPS_TRY(opt_path(root, "config", "server_cert", dir, &c->server_cert, eb));
    ASPS_TRY(opt_path(root, "config", "server_key", dir, &c->server_key, eb));
    ASPS_TRY(opt_path(root, "config", "policy", dir, &c->policy, eb));
    ASPS_TRY(opt_str(root, "config", "policy_format", &c->policy_format, eb));
    ASPS_TRY(opt_path(root, "config", "occlum_secrets", dir, &c->occlum_secrets, eb));
    ASPS_TRY(opt_path(root, "config", "audit", dir, &c->audit, eb));
    int present_b;
    ASPS_TRY(asps_json_get_bool(root, "config", "seed_allow_simulated", &c->seed_allow_simulated,
                                &present_b, eb));
    ASPS_TRY(asps_json_get_bool(root, "config", "audit_required", &c->audit_required, &present_b,
                                eb));
    ASPS_TRY(seed_tcb(root, c, eb));
    const cJSON *o;
    int present;
    ASPS_TRY(asps_json_get_object(root, "config", "trust", &o, &present, eb));
    if (present) {
        static const char *const k[] = {"sim", "roots", NULL};
        ASPS_TRY(asps_json_check_keys(o, "config.trust", k, eb));
        ASPS_TRY(opt_path(o, "config.trust", "sim", dir, &c->trust_sim, eb));
        const cJSON *arr;
        ASPS_TRY(asps_json_get_array(o, "config.trust", "roots", &arr, &present, eb));
        if (present) {
            const cJSON *it;
            cJSON_ArrayForEach(it, arr)
            {
                if (!cJSON_IsString(it) || !it->valuestring[0])
                    return asps_fail(eb, ASPS_E_PARSE, "config.trust.roots: expected file names");
                if (c->n_trust_roots == sizeof c->trust_roots / sizeof c->trust_roots[0])
                    return asps_fail(eb, ASPS_E_LIMIT, "config.trust.roots: at most 8");
                c->trust_roots[c->n_trust_roots++] = resolve(dir, it->valuestring);
            }
        }
    }
    ASPS_TRY(asps_json_get_object(root, "config", "collateral", &o, &present, eb));
    if (present) {
        static const char *const k[] = {"bundle", "sim", "pccs", "pccs_ca", "cache_dir",
                                        "max_stale", "tcb_update", "refresh_before", NULL};
        ASPS_TRY(asps_json_check_keys(o, "config.collateral", k, eb));
        ASPS_TRY(opt_path(o, "config.collateral", "bundle", dir, &c->collateral_bundle, eb));
        ASPS_TRY(opt_path(o, "config.collateral", "sim", dir, &c->collateral_sim, eb));
        ASPS_TRY(collateral_pccs(o, c, eb));
        ASPS_TRY(opt_path(o, "config.collateral", "pccs_ca", dir, &c->pccs_ca, eb));
        ASPS_TRY(opt_path(o, "config.collateral", "cache_dir", dir, &c->collateral_cache_dir, eb));
        ASPS_TRY(opt_duration(o, "max_stale", &c->collateral_max_stale, eb));
        ASPS_TRY(opt_duration(o, "refresh_before", &c->collateral_refresh_before, eb));
        char *upd = NULL;
        ASPS_TRY(opt_str(o, "config.collateral", "tcb_update", &upd, eb));
        if (upd && strcmp(upd, "standard") && strcmp(upd, "early")) {
            free(upd);
            return asps_fail(eb, ASPS_E_PARSE,
                             "config.collateral.tcb_update: expected \"standard\" or \"early\"");
        }
        c->collateral_tcb_update_early = upd && !strcmp(upd, "early");
        free(upd);
    }
    ASPS_TRY(asps_json_get_object(root, "config", "kms", &o, &present, eb));
    if (present) {
        static const char *const k[] = {"type", "path", "addr", "token", "ca_file", "mount",
                                        "kv_version", "default_encoding", "field", "namespace",
                                        "token_file", "role_id", "secret_id", "secret_id_file",
                                        "approle_mount", "reuse_connections", NULL};
        ASPS_TRY(asps_json_check_keys(o, "config.kms", k, eb));
        c->has_kms = 1;
        ASPS_TRY(opt_str(o, "config.kms", "type", &c->kms_type, eb));
        ASPS_TRY(opt_path(o, "config.kms", "path", dir, &c->kms_path, eb));
        ASPS_TRY(opt_str(o, "config.kms", "addr", &c->kms_addr, eb));
        if (c->kms_addr)
            ASPS_TRY(asps_addr_parse_url("config.kms.addr", c->kms_addr, NULL, eb));
        ASPS_TRY(opt_str(o, "config.kms", "token", &c->kms_token, eb));
        ASPS_TRY(opt_path(o, "config.kms", "ca_file", dir, &c->kms_ca, eb));
        ASPS_TRY(opt_str(o, "config.kms", "mount", &c->kms_mount, eb));
        ASPS_TRY(opt_str(o, "config.kms", "default_encoding", &c->kms_encoding, eb));
        ASPS_TRY(opt_str(o, "config.kms", "field", &c->kms_field, eb));
        ASPS_TRY(opt_str(o, "config.kms", "namespace", &c->kms_namespace, eb));
        ASPS_TRY(opt_path(o, "config.kms", "token_file", dir, &c->kms_token_file, eb));
        ASPS_TRY(opt_str(o, "config.kms", "role_id", &c->kms_role_id, eb));
        ASPS_TRY(opt_str(o, "config.kms", "secret_id", &c->kms_secret_id, eb));
        ASPS_TRY(opt_path(o, "config.kms", "secret_id_file", dir, &c->kms_secret_id_file, eb));
        ASPS_TRY(opt_str(o, "config.kms", "approle_mount", &c->kms_approle_mount, eb));
        int reuse = 1, has_reuse;
        ASPS_TRY(asps_json_get_bool(o, "config.kms", "reuse_connections", &reuse, &has_reuse, eb));
        c->kms_no_connection_reuse = has_reuse && !reuse;
        size_t kv = 0;
        ASPS_TRY(opt_size(o, "config.kms", "kv_version", 1, 2, &kv, eb));
        c->kms_kv_version = (int)kv;
        if (!c->kms_type)
            return asps_fail(eb, ASPS_E_PARSE, "config.kms.type: required (\"file\" or \"vault\")");
    }
    ASPS_TRY(asps_json_get_object(root, "config", "ops", &o, &present, eb));
    if (present) {
        static const char *const k[] = {"listen", NULL};
        ASPS_TRY(asps_json_check_keys(o, "config.ops", k, eb));
        ASPS_TRY(opt_str(o, "config.ops", "listen", &c->ops_listen, eb));
        if (!c->ops_listen)
            return asps_fail(eb, ASPS_E_PARSE, "config.ops.listen: required (\"HOST:PORT\")");
        /* here, not only when the listener starts: `serve --check` loads
         * the config too, and must refuse what `serve` refuses */
        ASPS_TRY(asps_addr_parse("config.ops.listen", c->ops_listen, ASPS_ADDR_PORT_ZERO, NULL,
                                 eb));
    }
    ASPS_TRY(asps_json_get_object(root, "config", "limits", &o, &present, eb));
    if (present) {
        static const char *const k[] = {"max_message_bytes", "max_names", "max_concurrent_calls",
                                        "max_waiting_calls",
                                        "deadline_ms", "kms_deadline_ms", "drain_ms", "threads",
                                        "io_threads", "verify_threads", "claims_cache",
                                        "grpc_memory_mb", NULL};
        ASPS_TRY(asps_json_check_keys(o, "config.limits", k, eb));
        ASPS_TRY(opt_size(o, "config.limits", "max_message_bytes", 256, 64 << 20,
                          &c->max_message_bytes, eb));
        ASPS_TRY(opt_size(o, "config.limits", "max_names", 1, 1024, &c->max_names, eb));
        ASPS_TRY(opt_size(o, "config.limits", "max_concurrent_calls", 1, 100000,
                          &c->max_concurrent_calls, eb));
        ASPS_TRY(opt_size(o, "config.limits", "max_waiting_calls", 0, 100000,
                          &c->max_waiting_calls, eb));
        size_t dl = 0;
        ASPS_TRY(opt_size(o, "config.limits", "deadline_ms", 0, 3600000, &dl, eb));
        if (dl)
            c->deadline_ms = (long)dl;
        size_t kd = 0, drain = (size_t)c->drain_ms;
        ASPS_TRY(opt_size(o, "config.limits", "kms_deadline_ms", 10, 3600000, &kd, eb));
        if (kd && (long)kd >= c->deadline_ms)
            return asps_fail(eb, ASPS_E_PARSE,
                             "config.limits.kms_deadline_ms: must be less than deadline_ms (%ld), so "
                             "that a stuck KMS is answered before the call's deadline",
                             c->deadline_ms);
        c->kms_deadline_ms = (long)kd;
        ASPS_TRY(opt_size(o, "config.limits", "drain_ms", 0, 3600000, &drain, eb));
        c->drain_ms = (long)drain;
        ASPS_TRY(opt_size(o, "config.limits", "threads", 1, 64, &c->threads, eb));
        ASPS_TRY(opt_size(o, "config.limits", "io_threads", 1, 64, &c->io_threads, eb));
        ASPS_TRY(opt_size(o, "config.limits", "verify_threads", 1, ASPS_SERVICE_MAX_VERIFY_THREADS,
                          &c->verify_threads, eb));
        ASPS_TRY(opt_size(o, "config.limits", "claims_cache", 16, 1 << 20, &c->claims_cache, eb));
        ASPS_TRY(opt_size(o, "config.limits", "grpc_memory_mb", 4, 1 << 16, &c->grpc_memory_mb, eb));
    }
    return ASPS_OK;
}

asps_err asps_service_config_load(const char *path, asps_service_config **out, asps_errbuf *eb)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    ASPS_TRY(asps_read_file(path, 1 << 20, &buf, &len, eb));
    cJSON *root = NULL;
    asps_err e = asps_json_parse((const char *)buf, len, path, &root, eb);
    free(buf);
    if (e != ASPS_OK)
        return e;
    asps_service_config *c = NULL;
    e = asps_service_config_new(&c, eb);
    if (e == ASPS_OK) {
        char *copy = strdup(path);
        e = copy ? parse(root, dirname(copy), c, eb) : asps_fail(eb, ASPS_E_NOMEM, "config: oom");
        free(copy);
        if (e != ASPS_OK)
            asps_service_config_free(c);
        else
            *out = c;
    }
    asps_json_delete_cleanse(root);
    return e;
}
