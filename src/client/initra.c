/* initra.c: init-RA config loading and all-or-nothing secret file writing
 * (see asps/initra.h). Trusts: the config file (the tenant's), nothing else.
 * Values written here are secrets: they are never logged, and the caller
 * cleanses its buffers. */
#include "initra.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "json.h"
#include "util.h"

/* The fields of Occlum's init_ra_conf.json templates, both flavours (Occlum
 * docs, "Init RA Solutions": the AECS and GRPC-RATLS templates, and the
 * grpc_ratls demo's ra_config_template.json, which adds "other"). Every
 * other asps config refuses unknown keys; so does this one, naming the
 * nearest known key, so that a typo ("ua_env_pccs_ur1") cannot silently
 * leave a setting at its default. */
static const char *const top_keys[] = {"kms_server", "kms_keys", "ua_env_pccs_url", "ra_config",
                                       NULL};
static const char *const key_keys[] = {"key", "path", "service", NULL};
static const char *const grpc_ra_keys[] = {"verify_mr_enclave", "verify_mr_signer",
                                           "verify_isv_prod_id", "verify_isv_svn",
                                           "verify_config_svn", "verify_enclave_debuggable",
                                           "sgx_mrs", "other", NULL};
static const char *const aecs_ra_keys[] = {
    "ua_ias_url", "ua_ias_spid", "ua_ias_apk_key", "ua_dcap_lib_path", "ua_dcap_pccs_url",
    "ua_uas_url", "ua_uas_app_key", "ua_uas_app_secret", "ua_policy_str_tee_platform",
    "ua_policy_hex_platform_hw_version", "ua_policy_hex_platform_sw_version",
    "ua_policy_hex_secure_flags", "ua_policy_hex_platform_measurement",
    "ua_policy_hex_boot_measurement", "ua_policy_str_tee_identity",
    "ua_policy_hex_ta_measurement", "ua_policy_hex_ta_dyn_measurement", "ua_policy_hex_signer",
    "ua_policy_hex_prod_id", "ua_policy_str_min_isvsvn", "ua_policy_hex_user_data",
    "ua_policy_bool_debug_disabled", "ua_policy_hex_hash_or_pem_pubkey", "ua_policy_hex_nonce",
    "ua_policy_hex_spid", NULL};
static const char *const mr_keys[] = {"mr_enclave", "mr_signer", "isv_prod_id", "isv_svn",
                                      "config_svn", "debuggable", NULL};

/* ra_config's keys against both flavours' fields at once (a typo is named
 * whichever flavour it came from); the two flavours are not mixed. */
static asps_err check_ra_keys(const cJSON *ra, const char *path, int *aecs, asps_errbuf *eb)
{
    const char *both[sizeof grpc_ra_keys / sizeof *grpc_ra_keys +
                     sizeof aecs_ra_keys / sizeof *aecs_ra_keys];
    size_t n = 0;
    for (size_t i = 0; grpc_ra_keys[i]; i++)
        both[n++] = grpc_ra_keys[i];
    for (size_t i = 0; aecs_ra_keys[i]; i++)
        both[n++] = aecs_ra_keys[i];
    both[n] = NULL;
    ASPS_TRY(asps_json_check_keys(ra, path, both, eb));
    const char *g = NULL, *a = NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, ra)
    {
        if (!strncmp(it->string, "ua_", 3))
            a = a ? a : it->string;
        else
            g = g ? g : it->string;
    }
    if (g && a)
        return asps_fail(eb, ASPS_E_PARSE,
                         "%s: mixes the AECS flavour's fields (%s) with the GRPC-RATLS flavour's "
                         "(%s); keep one",
                         path, a, g);
    *aecs = a != NULL;
    return ASPS_OK;
}

void asps_initra_conf_free(asps_initra_conf *c)
{
    if (!c)
        return;
    free(c->kms_server);
    free(c->pccs_url);
    for (size_t i = 0; i < c->n_keys; i++) {
        free(c->keys[i]);
        free(c->paths[i]);
    }
    free(c->mrs);
    free(c);
}

int asps_initra_verifies_server(const asps_initra_conf *c)
{
    return c->verify_mr_enclave || c->verify_mr_signer || c->verify_isv_prod_id ||
           c->verify_isv_svn || c->verify_config_svn || c->verify_enclave_debuggable ||
           c->aecs_has_mr_enclave || c->aecs_has_mr_signer;
}

static asps_err on_off(const cJSON *o, const char *key, int *out, asps_errbuf *eb)
{
    const char *s;
    int present;
    ASPS_TRY(asps_json_get_string(o, "ra_config", key, 1, &s, &present, eb));
    if (!present || !strcmp(s, "off") || !s[0]) {
        *out = 0;
        return ASPS_OK;
    }
    if (!strcmp(s, "on")) {
        *out = 1;
        return ASPS_OK;
    }
    return asps_fail(eb, ASPS_E_PARSE, "ra_config.%s: expected \"on\" or \"off\"", key);
}

static asps_err opt_u16(const cJSON *o, const char *path, const char *key, uint16_t *out,
                        asps_errbuf *eb)
{
    int64_t v;
    int present;
    ASPS_TRY(asps_json_get_int(o, path, key, 0, 65535, &v, &present, eb));
    if (present)
        *out = (uint16_t)v;
    return ASPS_OK;
}

static asps_err parse_grpc_ratls(const cJSON *ra, asps_initra_conf *c, asps_errbuf *eb)
{
    ASPS_TRY(on_off(ra, "verify_mr_enclave", &c->verify_mr_enclave, eb));
    ASPS_TRY(on_off(ra, "verify_mr_signer", &c->verify_mr_signer, eb));
    ASPS_TRY(on_off(ra, "verify_isv_prod_id", &c->verify_isv_prod_id, eb));
    ASPS_TRY(on_off(ra, "verify_isv_svn", &c->verify_isv_svn, eb));
    ASPS_TRY(on_off(ra, "verify_config_svn", &c->verify_config_svn, eb));
    ASPS_TRY(on_off(ra, "verify_enclave_debuggable", &c->verify_enclave_debuggable, eb));
    const cJSON *arr;
    int present;
    ASPS_TRY(asps_json_get_array(ra, "ra_config", "sgx_mrs", &arr, &present, eb));
    size_t n = present ? (size_t)cJSON_GetArraySize(arr) : 0;
    if (asps_initra_verifies_server(c) && n == 0)
        return asps_fail(eb, ASPS_E_PARSE, "ra_config.sgx_mrs: verification is on but no identity is listed");
    if (n > 256)
        return asps_fail(eb, ASPS_E_LIMIT, "ra_config.sgx_mrs: more than 256 entries");
    c->mrs = calloc(n ? n : 1, sizeof *c->mrs);
    if (!c->mrs)
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const cJSON *m = cJSON_GetArrayItem(arr, (int)i);
        char path[64];
        asps_json_path_index(path, sizeof path, "ra_config.sgx_mrs", i);
        ASPS_TRY(asps_json_expect_object(m, path, eb));
        ASPS_TRY(asps_json_check_keys(m, path, mr_keys, eb));
        asps_initra_mr *mr = &c->mrs[i];
        /* A measurement that verification relies on must be whole: an empty
         * one is an error, never a wildcard. */
        if (c->verify_mr_enclave) {
            ASPS_TRY(asps_json_get_hex(m, path, "mr_enclave", mr->mr_enclave, 32, NULL, eb));
            mr->has_mr_enclave = 1;
        }
        if (c->verify_mr_signer) {
            ASPS_TRY(asps_json_get_hex(m, path, "mr_signer", mr->mr_signer, 32, NULL, eb));
            mr->has_mr_signer = 1;
        }
        ASPS_TRY(opt_u16(m, path, "isv_prod_id", &mr->isv_prod_id, eb));
        ASPS_TRY(opt_u16(m, path, "isv_svn", &mr->isv_svn, eb));
        ASPS_TRY(opt_u16(m, path, "config_svn", &mr->config_svn, eb));
        int dbg = 0;
        ASPS_TRY(asps_json_get_bool(m, path, "debuggable", &dbg, &present, eb));
        mr->debuggable = present ? dbg : 0;
    }
    c->n_mrs = n;
    return ASPS_OK;
}

static asps_err parse_aecs(const cJSON *ra, asps_initra_conf *c, asps_errbuf *eb)
{
    struct {
        const char *key;
        int *has;
        uint8_t *out;
    } f[] = {{"ua_policy_hex_ta_measurement", &c->aecs_has_mr_enclave, c->aecs_mr_enclave},
             {"ua_policy_hex_signer", &c->aecs_has_mr_signer, c->aecs_mr_signer}};
    for (size_t i = 0; i < 2; i++) {
        const char *s;
        int present;
        ASPS_TRY(asps_json_get_string(ra, "ra_config", f[i].key, 1, &s, &present, eb));
        if (!present || !s[0])
            continue;
        if (asps_hex_decode(s, strlen(s), f[i].out, 32) != 0)
            return asps_fail(eb, ASPS_E_PARSE, "ra_config.%s: expected 64 hex characters", f[i].key);
        *f[i].has = 1;
    }
    return ASPS_OK;
}

static asps_err parse_conf(const cJSON *root, asps_initra_conf *c, asps_errbuf *eb)
{
    ASPS_TRY(asps_json_expect_object(root, "init_ra_conf", eb));
    ASPS_TRY(asps_json_check_keys(root, "init_ra_conf", top_keys, eb));
    const char *s;
    int present;
    ASPS_TRY(asps_json_get_string(root, "init_ra_conf", "kms_server", 1, &s, &present, eb));
    if (present && s[0])
        ASPS_TRY(asps_addr_parse("init_ra_conf.kms_server", s, 0, NULL, eb));
    c->kms_server = strdup(present ? s : "");
    const cJSON *keys;
    ASPS_TRY(asps_json_get_array(root, "init_ra_conf", "kms_keys", &keys, NULL, eb));
    size_t n = (size_t)cJSON_GetArraySize(keys);
    if (n == 0)
        return asps_fail(eb, ASPS_E_PARSE, "init_ra_conf.kms_keys: no keys to fetch");
    if (n > ASPS_INITRA_MAX_KEYS)
        return asps_fail(eb, ASPS_E_LIMIT, "init_ra_conf.kms_keys: more than %d keys",
                         ASPS_INITRA_MAX_KEYS);
    for (size_t i = 0; i < n; i++) {
        char path[64];
        asps_json_path_index(path, sizeof path, "init_ra_conf.kms_keys", i);
        const cJSON *k = cJSON_GetArrayItem(keys, (int)i);
        const char *key, *file;
        ASPS_TRY(asps_json_expect_object(k, path, eb));
        ASPS_TRY(asps_json_check_keys(k, path, key_keys, eb));
        ASPS_TRY(asps_json_get_string(k, path, "key", 0, &key, NULL, eb));
        ASPS_TRY(asps_json_get_string(k, path, "path", 0, &file, NULL, eb));
        if (file[0] != '/')
            return asps_fail(eb, ASPS_E_PARSE, "%s.path: must be absolute", path);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->paths[j], file))
                return asps_fail(eb, ASPS_E_PARSE, "%s.path: %s is named twice", path, file);
        c->keys[i] = strdup(key);
        c->paths[i] = strdup(file);
        c->n_keys = i + 1;
        if (!c->keys[i] || !c->paths[i])
            return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    }
    ASPS_TRY(asps_json_get_string(root, "init_ra_conf", "ua_env_pccs_url", 1, &s, &present, eb));
    if (present) {
        c->flavor = ASPS_INITRA_AECS;
        if (s[0])
            ASPS_TRY(asps_addr_parse_url("init_ra_conf.ua_env_pccs_url", s, NULL, eb));
        c->pccs_url = s[0] ? strdup(s) : NULL;
    }
    const cJSON *ra;
    ASPS_TRY(asps_json_get_object(root, "init_ra_conf", "ra_config", &ra, &present, eb));
    if (present) {
        /* AECS's ra_config is all ua_* fields; GRPC-RATLS's has verify_* */
        int aecs = 0;
        ASPS_TRY(check_ra_keys(ra, "ra_config", &aecs, eb));
        if (aecs)
            c->flavor = ASPS_INITRA_AECS;
        ASPS_TRY(aecs ? parse_aecs(ra, c, eb) : parse_grpc_ratls(ra, c, eb));
    }
    return ASPS_OK;
}

asps_err asps_initra_conf_load(const char *path, asps_initra_conf **out, asps_errbuf *eb)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    ASPS_TRY(asps_read_file(path, 1 << 20, &buf, &len, eb));
    cJSON *root;
    asps_err e = asps_json_parse((const char *)buf, len, path, &root, eb);
    free(buf);
    if (e != ASPS_OK)
        return e;
    asps_initra_conf *c = calloc(1, sizeof *c);
    e = c ? parse_conf(root, c, eb) : asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    cJSON_Delete(root);
    if (e == ASPS_OK) {
        const char *env = getenv("OCCLUM_INIT_RA_KMS_SERVER");
        if (env && env[0]) {
            free(c->kms_server);
            c->kms_server = strdup(env);
        }
        env = getenv("UA_ENV_PCCS_URL");
        if (env && env[0]) {
            free(c->pccs_url);
            c->pccs_url = strdup(env);
        }
        if (!c->kms_server || !c->kms_server[0])
            e = asps_fail(eb, ASPS_E_PARSE,
                          "init_ra_conf.kms_server: empty (and OCCLUM_INIT_RA_KMS_SERVER unset)");
    }
    if (e != ASPS_OK) {
        asps_initra_conf_free(c);
        return e;
    }
    *out = c;
    return ASPS_OK;
}

void asps_initra_describe_server(const asps_claims *claims, char *out, size_t outlen)
{
    if (claims->tee != ASPS_TEE_SGX) {
        snprintf(out, outlen, "tee %s (not an SGX enclave)",
                 claims->tee == ASPS_TEE_TDX ? "tdx" : "unknown");
        return;
    }
    char enc[65], sig[65];
    asps_hex_encode(claims->sgx.mr_enclave, 32, enc);
    asps_hex_encode(claims->sgx.mr_signer, 32, sig);
    snprintf(out, outlen,
             "mr_enclave %s, mr_signer %s, isv_prod_id %u, isv_svn %u, config_svn %u, "
             "debuggable %s, TCB status %s%s",
             enc, sig, (unsigned)claims->sgx.isv_prod_id, (unsigned)claims->sgx.isv_svn,
             (unsigned)claims->sgx.config_svn, claims->debug ? "true" : "false",
             asps_tcb_status_name(claims->tcb_status), claims->simulated ? " (simulated)" : "");
}

int asps_initra_server_check(void *ctx, const asps_claims *claims, char *err, size_t errlen)
{
    asps_initra_check *chk = ctx;
    int r = asps_initra_match_server(chk->conf, claims, err, errlen);
    if (r != 0) {
        chk->refused = 1;
        asps_initra_describe_server(claims, chk->shown, sizeof chk->shown);
    }
    return r;
}

int asps_initra_match_server(const asps_initra_conf *c, const asps_claims *claims, char *err,
                             size_t errlen)
{
    if (c->flavor == ASPS_INITRA_AECS) {
        if (claims->tee != ASPS_TEE_SGX ||
            (c->aecs_has_mr_enclave && CRYPTO_memcmp(claims->sgx.mr_enclave, c->aecs_mr_enclave, 32)) ||
            (c->aecs_has_mr_signer && CRYPTO_memcmp(claims->sgx.mr_signer, c->aecs_mr_signer, 32))) {
            snprintf(err, errlen, "server identity does not match ra_config's ua_policy_* fields");
            return -1;
        }
        return 0;
    }
    if (claims->tee != ASPS_TEE_SGX) {
        snprintf(err, errlen, "server is not an SGX enclave");
        return -1;
    }
    const asps_claims_sgx *x = &claims->sgx;
    /* why the first entry refused it (the server's whole identity is the
     * caller's to print: asps_initra_describe_server) */
    const char *why = NULL;
    size_t why_entry = 0;
    for (size_t i = 0; i < c->n_mrs; i++) {
        const asps_initra_mr *m = &c->mrs[i];
        const char *f = NULL;
        if (c->verify_mr_enclave && CRYPTO_memcmp(x->mr_enclave, m->mr_enclave, 32) != 0)
            f = "mr_enclave differs";
        else if (c->verify_mr_signer && CRYPTO_memcmp(x->mr_signer, m->mr_signer, 32) != 0)
            f = "mr_signer differs";
        else if (c->verify_isv_prod_id && x->isv_prod_id != m->isv_prod_id)
            f = "isv_prod_id differs";
        else if (c->verify_isv_svn && x->isv_svn < m->isv_svn)
            f = "isv_svn below the entry's";
        else if (c->verify_config_svn && x->config_svn < m->config_svn)
            f = "config_svn below the entry's";
        else if (c->verify_enclave_debuggable && claims->debug && !m->debuggable)
            f = "a debug enclave, the entry says debuggable false";
        if (!f)
            return 0;
        if (!why) {
            why = f;
            why_entry = i;
        }
    }
    if (why)
        snprintf(err, errlen, "server identity matches no ra_config.sgx_mrs entry (sgx_mrs[%zu]: %s)",
                 why_entry, why);
    else
        snprintf(err, errlen, "server identity matches no ra_config.sgx_mrs entry");
    return -1;
}

asps_err asps_initra_ra_config_load(const char *path, asps_initra_conf **out, asps_errbuf *eb)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    ASPS_TRY(asps_read_file(path, 1 << 20, &buf, &len, eb));
    cJSON *root;
    asps_err e = asps_json_parse((const char *)buf, len, path, &root, eb);
    free(buf);
    if (e != ASPS_OK)
        return e;
    asps_initra_conf *c = calloc(1, sizeof *c);
    e = c ? asps_json_expect_object(root, "ra_config", eb) : asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    if (e == ASPS_OK && cJSON_GetObjectItemCaseSensitive(root, "ra_config")) {
        e = parse_conf(root, c, eb); /* a whole init_ra_conf.json */
        if (e == ASPS_OK) {
            for (size_t i = 0; i < c->n_keys; i++) {
                free(c->keys[i]);
                free(c->paths[i]);
            }
            c->n_keys = 0;
        }
    } else if (e == ASPS_OK) {
        e = asps_json_check_keys(root, "ra_config", grpc_ra_keys, eb);
        if (e == ASPS_OK)
            e = parse_grpc_ratls(root, c, eb);
    }

    cJSON_Delete(root);
    if (e != ASPS_OK) {
        asps_initra_conf_free(c);
        return e;
    }
    *out = c;
    return ASPS_OK;
}

/* ---- writing ------------------------------------------------------------------ */

/* Open (creating 0700 where missing) the folder that will hold PATH, walking
 * from / with O_NOFOLLOW so that no component may be a symbolic link. */
static int open_parent(const char *path, char *base, size_t baselen, asps_errbuf *eb)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf || path[0] != '/') {
        asps_fail(eb, ASPS_E_ARG, "%s: not an absolute path", path);
        return -1;
    }
    strcpy(buf, path);
    char *slash = strrchr(buf, '/');
    if (!slash[1]) {
        asps_fail(eb, ASPS_E_ARG, "%s: names a folder", path);
        return -1;
    }
    if (strlen(slash + 1) >= baselen) {
        asps_fail(eb, ASPS_E_ARG, "%s: file name too long", path);
        return -1;
    }
    strcpy(base, slash + 1);
    *slash = 0;
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *save = NULL;
    for (char *comp = strtok_r(buf, "/", &save); comp && fd >= 0;
         comp = strtok_r(NULL, "/", &save)) {
        if (!strcmp(comp, "..")) {
            close(fd);
            asps_fail(eb, ASPS_E_ARG, "%s: '..' is not allowed", path);
            return -1;
        }
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(fd, comp, 0700) != 0 && errno != EEXIST) {
                asps_fail(eb, ASPS_E_IO, "%s: cannot create folder %s: %s", path, comp,
                          strerror(errno));
                close(fd);
                return -1;
            }
            next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            asps_fail(eb, ASPS_E_IO, "%s: folder %s: %s%s", path, comp, strerror(errno),
                      errno == ELOOP || errno == ENOTDIR ? " (symbolic links are not followed)" : "");
            close(fd);
            return -1;
        }
        close(fd);
        fd = next;
    }
    return fd;
}

/* Would open_parent and the write succeed? The same walk from /, with
 * O_NOFOLLOW, creating nothing: the first missing folder's parent (or the
 * file's folder when all exist) must let us create entries in it, and the
 * name must not be a folder. Before any secret is fetched. */
static asps_err probe_one(const char *path, asps_errbuf *eb)
{
    char buf[PATH_MAX], base[NAME_MAX + 1];
    if (strlen(path) >= sizeof buf || path[0] != '/')
        return asps_fail(eb, ASPS_E_ARG, "%s: not an absolute path", path);
    strcpy(buf, path);
    char *slash = strrchr(buf, '/');
    if (!slash[1])
        return asps_fail(eb, ASPS_E_ARG, "%s: names a folder", path);
    if (strlen(slash + 1) >= sizeof base)
        return asps_fail(eb, ASPS_E_ARG, "%s: file name too long", path);
    strcpy(base, slash + 1);
    *slash = 0;
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), missing = 0;
    char *save = NULL;
    for (char *comp = strtok_r(buf, "/", &save); comp && fd >= 0 && !missing;
         comp = strtok_r(NULL, "/", &save)) {
        if (!strcmp(comp, "..")) {
            close(fd);
            return asps_fail(eb, ASPS_E_ARG, "%s: '..' is not allowed", path);
        }
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            missing = 1; /* created 0700 by the write, here in FD */
            break;
        }
        if (next < 0) {
            int err = errno;
            struct stat lst;
            int link = fstatat(fd, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode);
            close(fd);
            return asps_fail(eb, ASPS_E_IO, "%s: folder %s: %s%s", path, comp,
                             link ? "a symbolic link" : strerror(err),
                             link ? " (symbolic links are not followed)" : "");
        }
        close(fd);
        fd = next;
    }
    if (fd < 0)
        return asps_fail(eb, ASPS_E_IO, "%s: %s", path, strerror(errno));
    asps_err e = ASPS_OK;
    struct stat st;
    if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0)
        e = asps_fail(eb, ASPS_E_IO, "%s: cannot %s there: %s", path,
                      missing ? "create folders" : "create files", strerror(errno));
    else if (!missing && fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        e = asps_fail(eb, ASPS_E_IO, "%s: is a folder", path);
    close(fd);
    return e;
}

asps_err asps_initra_check_writable(const char *const *paths, size_t n, asps_errbuf *eb)
{
    for (size_t i = 0; i < n; i++)
        ASPS_TRY(probe_one(paths[i], eb));
    return ASPS_OK;
}

typedef struct staged {
    int dirfd;
    char base[NAME_MAX + 1];
    char tmp[NAME_MAX + 1];
    int renamed;
} staged;

static void unstage(staged *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].dirfd < 0)
            continue;
        unlinkat(s[i].dirfd, s[i].renamed ? s[i].base : s[i].tmp, 0);
        close(s[i].dirfd);
        s[i].dirfd = -1;
    }
}

asps_err asps_initra_write_all(const char *const *paths, const uint8_t *const *values,
                               const size_t *lens, size_t n, asps_errbuf *eb)
{
    staged *st = calloc(n ? n : 1, sizeof *st);
    if (!st)
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        st[i].dirfd = -1;
    asps_err e = ASPS_OK;
    size_t i;
    for (i = 0; i < n && e == ASPS_OK; i++) {
        st[i].dirfd = open_parent(paths[i], st[i].base, sizeof st[i].base, eb);
        if (st[i].dirfd < 0) {
            e = ASPS_E_IO;
            break;
        }
        int fd = -1;
        for (int tries = 0; tries < 16 && fd < 0; tries++) {
            unsigned r = 0;
            if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
                r = (unsigned)getpid() ^ (unsigned)(i * 7919 + (size_t)tries);
            snprintf(st[i].tmp, sizeof st[i].tmp, ".%.200s.asps-%08x", st[i].base, r);
            fd = openat(st[i].dirfd, st[i].tmp,
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0 && errno != EEXIST)
                break;
        }
        if (fd < 0) {
            e = asps_fail(eb, ASPS_E_IO, "%s: cannot create a temporary file: %s", paths[i],
                          strerror(errno));
            break;
        }
        const uint8_t *p = values[i];
        size_t left = lens[i];
        while (left && e == ASPS_OK) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                e = asps_fail(eb, ASPS_E_IO, "%s: write failed: %s", paths[i], strerror(errno));
            else {
                p += w;
                left -= (size_t)w;
            }
        }
        if (e == ASPS_OK && (fchmod(fd, 0600) != 0 || fsync(fd) != 0))
            e = asps_fail(eb, ASPS_E_IO, "%s: %s", paths[i], strerror(errno));
        if (close(fd) != 0 && e == ASPS_OK)
            e = asps_fail(eb, ASPS_E_IO, "%s: close failed: %s", paths[i], strerror(errno));
    }
    /* every value is on disk in a temp file: now rename them into place */
    for (size_t k = 0; k < n && e == ASPS_OK; k++) {
        if (renameat(st[k].dirfd, st[k].tmp, st[k].dirfd, st[k].base) != 0)
            e = asps_fail(eb, ASPS_E_IO, "%s: cannot rename into place: %s", paths[k],
                          strerror(errno));
        else {
            st[k].renamed = 1;
            fsync(st[k].dirfd);
        }
    }
    if (e != ASPS_OK) {
        unstage(st, n);
    } else {
        for (size_t k = 0; k < n; k++)
            close(st[k].dirfd);
    }
    free(st);
    return e;
}
