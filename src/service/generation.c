/* generation.c: one generation of the service's policy and KMS, loaded
 * together from the config's files (at start and on each reload); the
 * service swaps whole generations, refcounted (service.c). */
#include <stdlib.h>
#include <string.h>

#include "kms.h"
#include "policy.h"
#include "service.h"
#include "service_check.h"
#include "service_int.h"

asps_err asps_service_policy_load(const asps_service_config *cfg,
                                  void (*note)(void *ctx, const char *line), void *note_ctx,
                                  asps_policy **out, asps_errbuf *eb)
{
    *out = NULL;
    const char *fmt = cfg->policy_format ? cfg->policy_format : "native";
    if (!cfg->policy)
        return asps_fail(eb, ASPS_E_ARG, "config: no policy file");
    if (!strcmp(fmt, "native"))
        return asps_policy_load_file(cfg->policy, out, eb);
    if (!strcmp(fmt, "cczoo") || !strcmp(fmt, "occlum")) {
        asps_policy_seed_options o = {.occlum_secrets_path = cfg->occlum_secrets,
                                      .allow_simulated = cfg->seed_allow_simulated,
                                      .tcb_mask = cfg->seed_tcb_mask,
                                      .note = note,
                                      .note_ctx = note_ctx};
        return asps_policy_load_seed(!strcmp(fmt, "cczoo") ? ASPS_POLICY_CCZOO : ASPS_POLICY_OCCLUM,
                                     cfg->policy, &o, out, eb);
    }
    return asps_fail(eb, ASPS_E_ARG, "config.policy_format: \"%s\" is not native, cczoo or occlum",
                     fmt);
}

asps_err asps_service_kms_config(const asps_service_config *cfg, const asps_policy *policy,
                                 asps_kms_config *out, int *from_config, asps_errbuf *eb)
{
    asps_kms_config kc = {0};
    asps_policy_kms pk;
    asps_policy_kms_info(policy, &pk);
    *from_config = cfg->has_kms;
    if (cfg->has_kms) {
        kc.type = cfg->kms_type;
        kc.path = cfg->kms_path;
        kc.addr = cfg->kms_addr;
        kc.token = cfg->kms_token;
        kc.ca_file = cfg->kms_ca;
        kc.mount = cfg->kms_mount;
        kc.kv_version = cfg->kms_kv_version;
        kc.default_encoding = cfg->kms_encoding;
        kc.field = cfg->kms_field;
        kc.vault_namespace = cfg->kms_namespace;
        kc.token_file = cfg->kms_token_file;
        kc.role_id = cfg->kms_role_id;
        kc.secret_id = cfg->kms_secret_id;
        kc.secret_id_file = cfg->kms_secret_id_file;
        kc.approle_mount = cfg->kms_approle_mount;
        kc.no_connection_reuse = cfg->kms_no_connection_reuse;
    } else if (pk.type) {
        kc.type = pk.type;
        kc.path = pk.path;
        kc.addr = pk.addr;
        kc.default_encoding = pk.default_encoding;
    }
    *out = kc;
    if (!kc.type)
        return asps_fail(eb, ASPS_E_ARG, "no KMS: give \"kms\" in the config or in the policy");
    return ASPS_OK;
}

asps_err asps_generation_load(const asps_service_config *cfg, generation **out, asps_errbuf *eb)
{
    generation *g = calloc(1, sizeof *g);
    if (!g)
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    g->refs = 1;
    asps_err e = asps_service_policy_load(cfg, NULL, NULL, &g->policy, eb);
    if (e == ASPS_OK) {
        asps_kms_config kc;
        int from_config;
        e = asps_service_kms_config(cfg, g->policy, &kc, &from_config, eb);
        if (e == ASPS_OK)
            e = asps_kms_open(&kc, &g->kms, eb);
    }
    if (e != ASPS_OK) {
        asps_policy_free(g->policy);
        free(g);
        return e;
    }
    *out = g;
    return ASPS_OK;
}

void asps_generation_free(generation *g)
{
    if (!g)
        return;
    asps_policy_free(g->policy);
    asps_kms_free(g->kms);
    free(g);
}
