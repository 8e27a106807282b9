/* kms.c: the backend-independent part of the KMS interface: the handle, the
 * dispatch, and backend selection from configuration. Backends live in
 * kms_<name>.c and are reached only through asps_kms_ops. */
#include "asps/kms.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct asps_kms {
    const asps_kms_ops *ops;
    void *impl;
};

asps_err asps_kms_new(const asps_kms_ops *ops, void *impl, asps_kms **out, asps_errbuf *eb)
{
    if (!ops || !ops->get || !out)
        return asps_fail(eb, ASPS_E_ARG, "kms: invalid backend");
    asps_kms *k = calloc(1, sizeof *k);
    if (!k) {
        if (ops->free)
            ops->free(impl);
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    }
    k->ops = ops;
    k->impl = impl;
    *out = k;
    return ASPS_OK;
}

asps_err asps_kms_open(const asps_kms_config *cfg, asps_kms **out, asps_errbuf *eb)
{
    if (!cfg || !cfg->type || !out)
        return asps_fail(eb, ASPS_E_ARG, "kms: no backend type given");
    if (strcmp(cfg->type, "file") == 0) {
        if (!cfg->path || !*cfg->path)
            return asps_fail(eb, ASPS_E_ARG, "kms: file backend needs a path");
        asps_kms_encoding enc = ASPS_KMS_PLAIN_TEXT;
        if (cfg->default_encoding && strcmp(cfg->default_encoding, "base64") == 0)
            enc = ASPS_KMS_PLAIN_BASE64;
        else if (cfg->default_encoding && strcmp(cfg->default_encoding, "text") != 0)
            return asps_fail(eb, ASPS_E_ARG, "kms: default_encoding must be \"text\" or \"base64\"");
        return asps_kms_open_file(cfg->path, enc, out, eb);
    }
    if (strcmp(cfg->type, "vault") == 0)
        return asps_kms_open_vault(cfg, out, eb);
    if (strcmp(cfg->type, "ehsm") == 0)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "kms: the ehsm backend is not supported");
    return asps_fail(eb, ASPS_E_UNSUPPORTED, "kms: unknown backend type \"%s\"", cfg->type);
}

asps_err asps_kms_get(asps_kms *k, const char *ref, const char *credential, uint8_t **value,
                      size_t *len, asps_errbuf *eb)
{
    if (!k || !ref || !value || !len)
        return asps_fail(eb, ASPS_E_ARG, "kms: invalid arguments");
    *value = NULL;
    *len = 0;
    asps_err e = k->ops->get(k->impl, ref, credential, value, len, eb);
    if (e != ASPS_OK && *value) {
        /* A backend that failed must not hand out half a value. */
        asps_kms_value_free(*value, *len);
        *value = NULL;
        *len = 0;
    }
    return e;
}

void asps_kms_value_free(uint8_t *value, size_t len)
{
    if (value) {
        OPENSSL_cleanse(value, len);
        free(value);
    }
}

const char *asps_kms_backend_name(const asps_kms *k)
{
    return k && k->ops->name ? k->ops->name : "none";
}

void asps_kms_free(asps_kms *k)
{
    if (!k)
        return;
    if (k->ops->free)
        k->ops->free(k->impl);
    free(k);
}
