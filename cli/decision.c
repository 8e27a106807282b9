/* decision.c: `asps quote verify --policy FILE`: what the policy decides
 * for the verified claims at the verification time (--at), through the
 * server's own decision path (asps_policy_decide_at). */
#include "decision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

/* Decide for the app the claims match (asked once with no names to find
 * it), asking for all of its secrets. */
static asps_err decide(const asps_policy *p, const asps_claims *c, int64_t at, asps_decision *d,
                       asps_errbuf *eb)
{
    asps_err e = asps_policy_decide_at(p, c, NULL, 0, at, d, eb);
    if (!d->app)
        return e;
    size_t app = 0, n = asps_policy_app_count(p);
    while (app < n && strcmp(asps_policy_app_name(p, app), d->app) != 0)
        app++;
    size_t ns = asps_policy_app_secret_count(p, app);
    if (app == n || ns == 0)
        return e; /* an app without secrets: "no names requested" */
    const char **names = calloc(ns, sizeof *names);
    if (!names)
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    for (size_t j = 0; j < ns; j++)
        names[j] = asps_policy_app_secret_name(p, app, j);
    asps_decision_clear(d);
    e = asps_policy_decide_at(p, c, names, ns, at, d, eb);
    free(names);
    return e;
}

int cli_decision_load(const cli_help *h, const char *policy, asps_policy **out)
{
    asps_errbuf eb = {{0}};
    *out = NULL;
    if (asps_policy_load_file(policy, out, &eb) != ASPS_OK) {
        fprintf(stderr, "asps %s: %s\n", h->cmd, eb.msg);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cli_decision_show(const cli_help *h, const asps_policy *p, const char *policy,
                      const asps_claims *claims, int64_t at, cJSON *json, int rc)
{
    asps_errbuf eb = {{0}};
    asps_decision d;
    asps_err e = decide(p, claims, at, &d, &eb);
    if (e != ASPS_OK && e != ASPS_E_DENIED) {
        fprintf(stderr, "asps %s: policy %s: %s\n", h->cmd, policy, eb.msg);
        asps_decision_clear(&d);
        return CLI_EXIT_DENIED;
    }
    if (json) {
        cJSON *o = cJSON_AddObjectToObject(json, "decision");
        if (o) {
            if (d.app)
                cJSON_AddStringToObject(o, "app", d.app);
            else
                cJSON_AddNullToObject(o, "app");
            cJSON_AddBoolToObject(o, "allowed", d.allowed);
            cJSON_AddStringToObject(o, "reason", d.reason);
            if (d.rule)
                cJSON_AddStringToObject(o, "rule", d.rule);
            if (d.grace) {
                cJSON *g = cJSON_AddObjectToObject(o, "grace");
                char until[32];
                asps_time_format(d.grace_until, until);
                if (g) {
                    cJSON_AddStringToObject(g, "until", until);
                    cJSON_AddNumberToObject(g, "left_seconds", (double)d.grace_left_seconds);
                }
            }
        }
    } else {
        printf("decision: %s: %s\n", d.allowed ? "allowed" : "denied", d.reason);
    }
    if (!d.allowed) {
        fprintf(stderr, "asps %s: denied by policy %s: %s\n", h->cmd, policy, d.reason);
        rc = CLI_EXIT_DENIED;
    }
    asps_decision_clear(&d);
    return rc;
}
