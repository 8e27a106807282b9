/* policy_seed.c: loaders for the policy formats of the systems asps
 * replaces, turning them into the native model (policy_int.h).
 *
 * CCZoo ASPS (intel/confidential-computing-zoo, attestation-secret-provision,
 * policy_vault.json / policy_no_kms.json):
 *   {"kms": "vault"|"none"|"ehsm", "addr": "http://...", "auth_method": "token",
 *    "root_key": "...", "unseal_key": "...",
 *    "app_list": [{"id": 1, "mr_enclave": "<hex>", "app_token": "hvs...",
 *                  "secrets": {"name": "vault/path" or inline value}}]}
 *   The seed system compared mr_enclave as a prefix of whatever was written
 *   (strncmp over the shorter length), so "" or "abc" matched every enclave
 *   or many: here it must be exactly 64 hex characters, and the error names
 *   the entry. "ehsm" was never implemented there and is refused here.
 *   root_key and unseal_key are not carried over: the service never needs
 *   Vault's root token or unseal key, each app uses its own app_token.
 *
 * Occlum grpc_ratls (ra_config_template.json / dynamic_config.json):
 *   {"verify_mr_enclave": "on"|"off", "verify_mr_signer", "verify_isv_prod_id",
 *    "verify_isv_svn", "verify_config_svn", "verify_enclave_debuggable",
 *    "sgx_mrs": [{"mr_enclave", "mr_signer", "isv_prod_id", "isv_svn",
 *                 "config_svn", "debuggable"}], "other": []}
 *   plus secret_config.json: {"name": "<base64>"}.
 *   How Occlum's verifier (tools/toolchains/grpc_ratls, sgx_ra_tls_backends
 *   verify_measurement) checks, and what asps makes of it:
 *   - each sgx_mrs entry is tried in turn, the first that passes wins: each
 *     becomes one app, in order, with the same secrets;
 *   - mr_enclave / mr_signer: whole 32-byte compare when "on", as here;
 *   - isv_prod_id: equality when "on", as here;
 *   - isv_svn: Occlum requires EQUALITY; asps converts it to a MINIMUM
 *     (min_isv_svn), so a rebuilt enclave with a higher security version is
 *     still accepted, as Intel recommends. A note says so.
 *   - config_svn: parsed into the template but never checked by that
 *     verifier; "on" here becomes min_config_svn (a note says so);
 *   - debuggable: with verify "on" Occlum requires debug == debuggable; asps
 *     has allow_debug only, so debuggable false -> allow_debug false, true ->
 *     allow_debug true (non-debug enclaves then pass too). With verify "off"
 *     Occlum accepts debug enclaves; so does the conversion, with a note.
 *   - both verify_mr_enclave and verify_mr_signer "off" accepts any enclave
 *     there; asps refuses to load it.
 *   Numbers may be JSON numbers or decimal strings ("0"), as CCZoo's
 *   dynamic_config.json writes them.
 * Neither format names TCB statuses or advisories; their verifiers (the
 * same grpc-ra-tls DCAP step in both) accept UpToDate and the non-terminal
 * statuses with a warning. Converted apps accept the statuses of
 * asps_policy_seed_options.tcb_mask (default: the same set, see
 * ASPS_POLICY_SEED_TCB_DEFAULT), refuse no advisory, and never allow
 * simulated evidence unless allow_simulated.
 */
#include <limits.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "policy_int.h"
#include "util.h"

static void note(const asps_policy_seed_options *opt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(const asps_policy_seed_options *opt, const char *fmt, ...)
{
    if (!opt || !opt->note)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    opt->note(opt->note_ctx, line);
}

/* The policy may be used from another folder: store files' absolute
 * paths. The file may not exist yet (--kms-out): resolve its folder. */
static asps_err abs_path(char **dst, const char *path, asps_errbuf *eb)
{
    char dir[PATH_MAX], rdir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    if (slash == path)
        snprintf(dir, sizeof dir, "/");
    if (*base == 0 || realpath(dir, rdir) == NULL)
        return asps_fail(eb, ASPS_E_ARG, "%s: cannot resolve its folder", path);
    size_t n = strlen(rdir) + 1 + strlen(base) + 1;
    if (!(*dst = malloc(n)))
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    snprintf(*dst, n, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base);
    return ASPS_OK;
}

static asps_err dup_into(char **dst, const char *s, asps_errbuf *eb)
{
    if (!(*dst = asps_policy_strdup(s)))
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    return ASPS_OK;
}

/* A small unsigned number written as a JSON number or a decimal string. */
static asps_err get_num(const cJSON *o, const char *path, const char *key, uint16_t *out,
                        int *present, asps_errbuf *eb)
{
    char fp[256];
    asps_json_path_key(fp, sizeof fp, path, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        size_t n = strlen(s);
        unsigned long x = 0;
        if (n == 0 || n > 5)
            return asps_fail(eb, ASPS_E_PARSE, "%s: expected a number from 0 to 65535", fp);
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return asps_fail(eb, ASPS_E_PARSE, "%s: expected a number from 0 to 65535", fp);
            x = x * 10 + (unsigned long)(s[i] - '0');
        }
        if (x > 65535)
            return asps_fail(eb, ASPS_E_PARSE, "%s: expected a number from 0 to 65535", fp);
        *out = (uint16_t)x;
        if (present)
            *present = 1;
        return ASPS_OK;
    }
    int64_t x;
    ASPS_TRY(asps_json_get_int(o, path, key, 0, 65535, &x, present, eb));
    if (!present || *present)
        *out = (uint16_t)x;
    return ASPS_OK;
}

/* ---- CCZoo -------------------------------------------------------------- */

static asps_err cczoo_load(const cJSON *root, const asps_policy_seed_options *opt,
                           asps_policy *p, asps_errbuf *eb)
{
    static const char *const keys[] = {"kms", "addr", "auth_method", "root_key", "unseal_key",
                                       "app_list", NULL};
    static const char *const app_keys[] = {"id", "mr_enclave", "app_token", "secrets", NULL};
    ASPS_TRY(asps_json_expect_object(root, "", eb));
    ASPS_TRY(asps_json_check_keys(root, "", keys, eb));
    const char *kms;
    ASPS_TRY(asps_json_get_string(root, "", "kms", 0, &kms, NULL, eb));
    int vault = 0;
    if (strcmp(kms, "vault") == 0)
        vault = 1;
    else if (strcmp(kms, "ehsm") == 0)
        return asps_fail(eb, ASPS_E_UNSUPPORTED,
                         "kms: \"ehsm\" is not supported (the seed system never implemented it); "
                         "use \"vault\" or \"none\"");
    else if (strcmp(kms, "none") != 0)
        return asps_fail(eb, ASPS_E_PARSE, "kms: expected \"vault\", \"none\" or \"ehsm\"");

    cJSON *kms_out = NULL;
    if (vault) {
        const char *addr, *auth;
        int has;
        ASPS_TRY(asps_json_get_string(root, "", "addr", 0, &addr, NULL, eb));
        ASPS_TRY(asps_json_get_string(root, "", "auth_method", 0, &auth, &has, eb));
        if (has && strcmp(auth, "token") != 0)
            return asps_fail(eb, ASPS_E_UNSUPPORTED, "auth_method: only \"token\" is supported");
        ASPS_TRY(dup_into(&p->kms_type, "vault", eb));
        ASPS_TRY(dup_into(&p->kms_addr, addr, eb));
        if (cJSON_GetObjectItemCaseSensitive(root, "root_key") ||
            cJSON_GetObjectItemCaseSensitive(root, "unseal_key"))
            note(opt, "root_key/unseal_key dropped: asps uses each app's app_token only");
    } else {
        if (!opt || (!opt->kms_out_path && !opt->validate_only))
            return asps_fail(eb, ASPS_E_ARG,
                             "kms: \"none\" keeps secret values in the policy; asps keeps them in "
                             "a KMS file: give one to write them to (--kms-out FILE)");
        ASPS_TRY(dup_into(&p->kms_type, "file", eb));
        if (opt->kms_out_path)
            ASPS_TRY(abs_path(&p->kms_path, opt->kms_out_path, eb));
        else
            ASPS_TRY(dup_into(&p->kms_path, "(not written)", eb));
        if (!(kms_out = cJSON_CreateObject()))
            return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    }

    const cJSON *list = NULL;
    asps_err e = asps_json_get_array(root, "", "app_list", &list, NULL, eb);
    if (e == ASPS_OK && list->child == NULL)
        e = asps_fail(eb, ASPS_E_PARSE, "app_list: must list at least one app");
    size_t i = 0;
    for (const cJSON *o = list ? list->child : NULL; e == ASPS_OK && o; o = o->next, i++) {
        char ap[64], sp[96], name[64];
        snprintf(ap, sizeof ap, "app_list[%zu]", i);
        if ((e = asps_json_expect_object(o, ap, eb)) || (e = asps_json_check_keys(o, ap, app_keys, eb)))
            break;
        asps_policy_app *a = asps_policy_add_app(p);
        if (!a) {
            e = asps_fail(eb, ASPS_E_LIMIT, "app_list: too many apps");
            break;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 1e9 &&
            id->valuedouble == (double)(long)id->valuedouble)
            snprintf(name, sizeof name, "app%ld", (long)id->valuedouble);
        else if (cJSON_IsString(id) && id->valuestring[0] && strlen(id->valuestring) < 48)
            snprintf(name, sizeof name, "app%s", id->valuestring);
        else if (id == NULL)
            snprintf(name, sizeof name, "app_list%zu", i);
        else {
            e = asps_fail(eb, ASPS_E_PARSE, "%s.id: expected a number or a short string", ap);
            break;
        }
        for (size_t j = 0; j + 1 < p->n_apps; j++)
            if (strcmp(p->apps[j].name, name) == 0) {
                e = asps_fail(eb, ASPS_E_PARSE, "%s.id: same id as app_list[%zu]", ap, j);
                break;
            }
        if (e || (e = dup_into(&a->name, name, eb)))
            break;
        /* The point of this loader: never a prefix, never a wildcard. */
        if ((e = asps_json_get_hex(o, ap, "mr_enclave", a->mrenclave, 32, NULL, eb)))
            break;
        a->has_mrenclave = 1;
        const char *tok;
        int has_tok;
        if ((e = asps_json_get_string(o, ap, "app_token", 0, &tok, &has_tok, eb)))
            break;
        if (vault && !has_tok) {
            e = asps_fail(eb, ASPS_E_PARSE, "%s.app_token: required for kms \"vault\"", ap);
            break;
        }
        if (vault && (e = dup_into(&a->kms_credential, tok, eb)))
            break;
        const cJSON *s;
        if ((e = asps_json_get_object(o, ap, "secrets", &s, NULL, eb)))
            break;
        snprintf(sp, sizeof sp, "%s.secrets", ap);
        for (const cJSON *c = s->child; e == ASPS_OK && c; c = c->next) {
            const char *sname = c->string ? c->string : "";
            if (!cJSON_IsString(c)) {
                e = asps_fail(eb, ASPS_E_PARSE, "%s.%s: expected a string", sp, sname);
                break;
            }
            if (vault) {
                e = asps_policy_app_add_secret(a, sname, c->valuestring, sp, eb);
            } else {
                /* Inline value: move it to the KMS file under app/name. */
                char ref[ASPS_POLICY_MAX_NAME + 80];
                snprintf(ref, sizeof ref, "%s/%s", name, sname);
                e = asps_policy_app_add_secret(a, sname, ref, sp, eb);
                cJSON *v = e ? NULL : cJSON_CreateObject();
                if (!e && (!v || !cJSON_AddStringToObject(v, "text", c->valuestring))) {
                    asps_json_delete_cleanse(v);
                    e = asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
                }
                if (!e)
                    cJSON_AddItemToObject(kms_out, ref, v);
            }
        }
    }
    if (e == ASPS_OK)
        e = asps_policy_validate(p, "app_list", eb);
    if (e == ASPS_OK && kms_out && !opt->validate_only) {
        char *text = cJSON_Print(kms_out);
        if (!text)
            e = asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
        else {
            e = asps_write_file_atomic(opt->kms_out_path, text, strlen(text), 0600, eb);
            asps_cleanse_free_str(text);
        }
        if (e == ASPS_OK)
            note(opt, "inline secret values written to %s (0600); the policy refers to them",
                 opt->kms_out_path);
    }
    asps_json_delete_cleanse(kms_out);
    if (e == ASPS_OK)
        note(opt, "CCZoo policies check mr_enclave only: converted apps refuse debug enclaves "
                  "(edit allow_debug to widen)");
    return e;
}

/* ---- Occlum ------------------------------------------------------------- */

static asps_err on_off(const cJSON *root, const char *key, int *out,
                       const asps_policy_seed_options *opt, asps_errbuf *eb)
{
    const char *v;
    int has;
    ASPS_TRY(asps_json_get_string(root, "", key, 0, &v, &has, eb));
    if (!has) {
        note(opt, "%s missing: taken as \"off\"", key);
        *out = 0;
        return ASPS_OK;
    }
    if (strcmp(v, "on") == 0)
        *out = 1;
    else if (strcmp(v, "off") == 0)
        *out = 0;
    else
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected \"on\" or \"off\"", key);
    return ASPS_OK;
}

static asps_err occlum_secret_names(const char *path, cJSON **names, asps_errbuf *eb)
{
    uint8_t *buf;
    size_t len;
    /* regular files only: read again on SIGHUP (see policy.c) */
    ASPS_TRY(asps_read_regular_file(path, ASPS_POLICY_MAX_BYTES, &buf, &len, eb));
    cJSON *root;
    asps_err e = asps_json_parse((const char *)buf, len, path, &root, eb);
    asps_cleanse_free(buf, len);
    if (e)
        return e;
    if (!cJSON_IsObject(root)) {
        asps_json_delete_cleanse(root);
        return asps_fail(eb, ASPS_E_PARSE, "%s: expected an object of name -> base64", path);
    }
    /* Keep names only; values are cleansed with the tree. */
    cJSON *arr = cJSON_CreateArray();
    for (const cJSON *c = root->child; arr && c; c = c->next) {
        if (!cJSON_IsString(c)) {
            cJSON_Delete(arr);
            asps_json_delete_cleanse(root);
            return asps_fail(eb, ASPS_E_PARSE, "%s: %s: expected a base64 string", path,
                             c->string ? c->string : "");
        }
        cJSON_AddItemToArray(arr, cJSON_CreateString(c->string ? c->string : ""));
    }
    asps_json_delete_cleanse(root);
    if (!arr)
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    *names = arr;
    return ASPS_OK;
}

static asps_err occlum_load(const cJSON *root, const asps_policy_seed_options *opt,
                            asps_policy *p, asps_errbuf *eb)
{
    static const char *const keys[] = {"verify_mr_enclave", "verify_mr_signer",
                                       "verify_isv_prod_id", "verify_isv_svn",
                                       "verify_config_svn", "verify_enclave_debuggable",
                                       "sgx_mrs", "other", NULL};
    static const char *const mr_keys[] = {"mr_enclave", "mr_signer", "isv_prod_id", "isv_svn",
                                          "config_svn", "debuggable", NULL};
    ASPS_TRY(asps_json_expect_object(root, "", eb));
    ASPS_TRY(asps_json_check_keys(root, "", keys, eb));
    int v_enc, v_sig, v_pid, v_svn, v_csvn, v_dbg;
    ASPS_TRY(on_off(root, "verify_mr_enclave", &v_enc, opt, eb));
    ASPS_TRY(on_off(root, "verify_mr_signer", &v_sig, opt, eb));
    ASPS_TRY(on_off(root, "verify_isv_prod_id", &v_pid, opt, eb));
    ASPS_TRY(on_off(root, "verify_isv_svn", &v_svn, opt, eb));
    ASPS_TRY(on_off(root, "verify_config_svn", &v_csvn, opt, eb));
    ASPS_TRY(on_off(root, "verify_enclave_debuggable", &v_dbg, opt, eb));
    if (!v_enc && !v_sig)
        return asps_fail(eb, ASPS_E_PARSE,
                         "verify_mr_enclave, verify_mr_signer: both \"off\" would accept any "
                         "enclave; turn one on");
    if (!v_enc && !v_pid)
        return asps_fail(eb, ASPS_E_PARSE,
                         "verify_isv_prod_id: must be \"on\" when mr_enclave is not verified "
                         "(one signer signs many products)");
    const cJSON *other = cJSON_GetObjectItemCaseSensitive(root, "other");
    if (other && !(cJSON_IsArray(other) && other->child == NULL))
        note(opt, "\"other\" ignored");

    cJSON *names = NULL;
    if (opt && opt->occlum_secrets_path) {
        ASPS_TRY(occlum_secret_names(opt->occlum_secrets_path, &names, eb));
        asps_err e = dup_into(&p->kms_type, "file", eb);
        if (!e)
            e = abs_path(&p->kms_path, opt->occlum_secrets_path, eb);
        if (!e)
            e = dup_into(&p->kms_encoding, "base64", eb);
        if (e) {
            cJSON_Delete(names);
            return e;
        }
    } else {
        note(opt, "no secrets file given (--secrets secret_config.json): apps grant nothing");
    }

    const cJSON *list = NULL;
    asps_err e = asps_json_get_array(root, "", "sgx_mrs", &list, NULL, eb);
    if (e == ASPS_OK && list->child == NULL)
        e = asps_fail(eb, ASPS_E_PARSE, "sgx_mrs: must list at least one entry");
    size_t i = 0;
    for (const cJSON *o = list ? list->child : NULL; e == ASPS_OK && o; o = o->next, i++) {
        char ap[64], name[64];
        snprintf(ap, sizeof ap, "sgx_mrs[%zu]", i);
        if ((e = asps_json_expect_object(o, ap, eb)) || (e = asps_json_check_keys(o, ap, mr_keys, eb)))
            break;
        asps_policy_app *a = asps_policy_add_app(p);
        if (!a) {
            e = asps_fail(eb, ASPS_E_LIMIT, "sgx_mrs: too many entries");
            break;
        }
        snprintf(name, sizeof name, "occlum%zu", i);
        if ((e = dup_into(&a->name, name, eb)))
            break;
        if (v_enc) {
            if ((e = asps_json_get_hex(o, ap, "mr_enclave", a->mrenclave, 32, NULL, eb)))
                break;
            a->has_mrenclave = 1;
        }
        if (v_sig) {
            if ((e = asps_json_get_hex(o, ap, "mr_signer", a->mrsigner, 32, NULL, eb)))
                break;
            a->has_mrsigner = 1;
        }
        if (v_pid) {
            if ((e = get_num(o, ap, "isv_prod_id", &a->isv_prod_id, NULL, eb)))
                break;
            a->has_isv_prod_id = 1;
        }
        if (v_svn && (e = get_num(o, ap, "isv_svn", &a->min_isv_svn, NULL, eb)))
            break;
        if (v_csvn && (e = get_num(o, ap, "config_svn", &a->min_config_svn, NULL, eb)))
            break;
        if (v_dbg) {
            if ((e = asps_json_get_bool(o, ap, "debuggable", &a->allow_debug, NULL, eb)))
                break;
        } else {
            a->allow_debug = 1;
        }
        for (const cJSON *n = names ? names->child : NULL; e == ASPS_OK && n; n = n->next) {
            char sp[96];
            snprintf(sp, sizeof sp, "%s (secrets)", ap);
            e = asps_policy_app_add_secret(a, n->valuestring, n->valuestring, sp, eb);
        }
    }
    cJSON_Delete(names);
    if (e == ASPS_OK)
        e = asps_policy_validate(p, "sgx_mrs", eb);
    if (e == ASPS_OK) {
        if (v_svn)
            note(opt, "isv_svn: Occlum requires equality; asps treats it as a minimum "
                      "(min_isv_svn), so newer security versions are accepted");
        if (v_csvn)
            note(opt, "config_svn: Occlum's verifier ignores it; asps enforces it as a minimum");
        if (!v_dbg)
            note(opt, "verify_enclave_debuggable \"off\": debug enclaves are accepted "
                      "(allow_debug true), as in the input");
        else
            note(opt, "debuggable: asps allow_debug true accepts both debug and non-debug "
                      "enclaves; false refuses debug ones");
    }
    return e;
}

asps_err asps_policy_tcb_mask_parse(const char *list, const char *what, uint32_t *mask,
                                    asps_errbuf *eb)
{
    uint32_t m = 0;
    char name[64];
    size_t i = 0;
    for (const char *p = list ? list : ""; *p;) {
        size_t n = strcspn(p, ",");
        /* a longer name is cut to one no status has, so it is refused */
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name - 1 ? n : sizeof name - 1), p);
        ASPS_TRY(asps_policy_tcb_mask_add(name, what, i, &m, eb));
        p += n;
        if (*p == ',' && *++p == 0)
            return asps_fail(eb, ASPS_E_PARSE, "%s: ends with a comma", what);
        i++;
    }
    if (m == 0)
        return asps_fail(eb, ASPS_E_PARSE, "%s: must list at least one status", what);
    *mask = m;
    return ASPS_OK;
}

void asps_policy_tcb_mask_names(uint32_t mask, char *out, size_t len)
{
    size_t used = 0;
    if (len)
        out[0] = 0;
    for (unsigned i = 0; i < ASPS_TCB__COUNT && used < len; i++)
        if (mask & (1u << i)) {
            int w = snprintf(out + used, len - used, "%s%s", used ? ", " : "",
                             asps_tcb_status_name((asps_tcb_status)i));
            used += w > 0 ? (size_t)w : 0;
        }
}

/* The statuses converted apps accept, said once per conversion: the
 * default is the seed's own verifier's, which a reader may not expect. */
static void note_tcb(const asps_policy_seed_options *opt, uint32_t mask)
{
    char names[400];
    asps_policy_tcb_mask_names(mask, names, sizeof names);
    if (mask == ASPS_POLICY_SEED_TCB_DEFAULT)
        note(opt, "TCB statuses: converted apps accept %s, as the seed system's verifier did "
                  "(it warned on all but UpToDate); to narrow, set seed_tcb_statuses (server "
                  "config) or --seed-tcb-statuses, e.g. UpToDate", names);
    else
        note(opt, "TCB statuses: converted apps accept %s (seed_tcb_statuses); the seed "
                  "system's verifier accepted UpToDate and every non-terminal status", names);
}

asps_err asps_policy_load_seed(asps_policy_format fmt, const char *path,
                               const asps_policy_seed_options *opt, asps_policy **out,
                               asps_errbuf *eb)
{
    if (!path || !out)
        return asps_fail(eb, ASPS_E_ARG, "policy: no input");
    if (fmt == ASPS_POLICY_NATIVE)
        return asps_policy_load_file(path, out, eb);
    if (fmt != ASPS_POLICY_CCZOO && fmt != ASPS_POLICY_OCCLUM)
        return asps_fail(eb, ASPS_E_ARG, "policy: unknown format");
    uint8_t *buf;
    size_t len;
    /* regular files only: read again on SIGHUP (see policy.c) */
    ASPS_TRY(asps_read_regular_file(path, ASPS_POLICY_MAX_BYTES, &buf, &len, eb));
    cJSON *root;
    asps_err e = asps_json_parse((const char *)buf, len, path, &root, eb);
    asps_cleanse_free(buf, len);
    if (e)
        return e;
    asps_policy *p = asps_policy_new_empty();
    if (!p) {
        asps_json_delete_cleanse(root);
        return asps_fail(eb, ASPS_E_NOMEM, "policy: out of memory");
    }
    e = fmt == ASPS_POLICY_CCZOO ? cczoo_load(root, opt, p, eb) : occlum_load(root, opt, p, eb);
    asps_json_delete_cleanse(root);
    if (e) {
        asps_err_prefix(eb, ": ");
        asps_err_prefix(eb, path);
        asps_policy_free(p);
        return e;
    }
    /* The seed formats cannot say it; the server config can, for a
     * deployment that trusts a simulated platform on purpose. */
    for (size_t i = 0; opt && opt->allow_simulated && i < p->n_apps; i++)
        p->apps[i].allow_simulated = 1;
    uint32_t tcb = opt && opt->tcb_mask ? opt->tcb_mask : ASPS_POLICY_SEED_TCB_DEFAULT;
    for (size_t i = 0; i < p->n_apps; i++)
        p->apps[i].tcb_mask = tcb;
    note_tcb(opt, tcb);
    *out = p;
    return ASPS_OK;
}
