/* asps/initra.h: "init-RA" — fetch the secrets an application needs before
 * it starts, write them to files, then exec the application.
 *
 * Reads Occlum's init_ra_conf.json in both flavours:
 *   GRPC-RATLS: {"kms_server": "host:port", "kms_keys": [{"key", "path"}],
 *                "ra_config": {"verify_mr_enclave": "on"|"off", ...,
 *                              "sgx_mrs": [{"mr_enclave", "mr_signer",
 *                                           "isv_prod_id", "isv_svn",
 *                                           "config_svn", "debuggable"}]}}
 *   AECS:       the same kms_server/kms_keys (each key may carry "service"),
 *               "ua_env_pccs_url", and "ra_config" with ua_policy_* fields
 *               naming the server's identity.
 * OCCLUM_INIT_RA_KMS_SERVER overrides kms_server; UA_ENV_PCCS_URL overrides
 * the PCCS URL.
 *
 * Files are written all-or-nothing: every value goes to a temp file in the
 * destination's folder (created 0700 where missing, never through a
 * symbolic link), fsync'd, then renamed into place with mode 0600; if any
 * step fails, every file written so far is removed.
 */
#ifndef ASPS_INITRA_H
#define ASPS_INITRA_H

#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASPS_INITRA_MAX_KEYS 256

typedef enum asps_initra_flavor {
    ASPS_INITRA_GRPC_RATLS = 0,
    ASPS_INITRA_AECS,
} asps_initra_flavor;

/* Occlum's sgx_mrs entry: one acceptable server identity. */
typedef struct asps_initra_mr {
    int has_mr_enclave, has_mr_signer;
    uint8_t mr_enclave[32], mr_signer[32];
    uint16_t isv_prod_id, isv_svn, config_svn;
    int debuggable;
} asps_initra_mr;

typedef struct asps_initra_conf {
    asps_initra_flavor flavor;
    char *kms_server;
    size_t n_keys;
    char *keys[ASPS_INITRA_MAX_KEYS];
    char *paths[ASPS_INITRA_MAX_KEYS];
    char *pccs_url;
    /* server verification (GRPC-RATLS ra_config) */
    int verify_mr_enclave, verify_mr_signer, verify_isv_prod_id, verify_isv_svn,
        verify_config_svn, verify_enclave_debuggable;
    size_t n_mrs;
    asps_initra_mr *mrs;
    /* AECS: the ua_policy_* fields that name the server, hex decoded */
    int aecs_has_mr_enclave, aecs_has_mr_signer;
    uint8_t aecs_mr_enclave[32], aecs_mr_signer[32];
} asps_initra_conf;

/* Load PATH, then apply the environment overrides. */
asps_err asps_initra_conf_load(const char *path, asps_initra_conf **out, asps_errbuf *eb);
void asps_initra_conf_free(asps_initra_conf *c);
/* 1 if the config verifies the server's evidence at all (any verify_* on,
 * or an AECS server identity given). */
int asps_initra_verifies_server(const asps_initra_conf *c);

/* Load an ra_config for matching a peer, as a conf without keys: a
 * standalone Occlum ra_config file (dynamic_config.json shape: verify_* and
 * sgx_mrs), or an init_ra_conf.json whose "ra_config" is taken (either
 * flavour; its other fields are checked as asps_initra_conf_load does but
 * not kept). */
asps_err asps_initra_ra_config_load(const char *path, asps_initra_conf **out, asps_errbuf *eb);

/* Does the server's verified identity match ra_config? 0 yes, -1 no (reason
 * in err). Occlum semantics, except isv_svn and config_svn are minimums (as
 * asps policy converts them). Measurements compared whole, constant time. */
#include "asps/claims.h"
int asps_initra_match_server(const asps_initra_conf *c, const asps_claims *claims, char *err,
                             size_t errlen);
/* The identity the server showed, in ra_config's terms, for the person who
 * must fix ra_config or the server: "mr_enclave HEX, mr_signer HEX,
 * isv_prod_id N, isv_svn N, config_svn N, debuggable true|false, TCB status
 * S" (SGX), or which TEE it was. OUT holds at least 320 bytes to fit. */
void asps_initra_describe_server(const asps_claims *claims, char *out, size_t outlen);

/* The one server check of `asps run` and `asps get --ra-config`, an
 * asps_client_server_check_fn: CTX is an asps_initra_check whose conf
 * decides (asps_initra_match_server); a refused server's identity is kept
 * in shown, whole, for the caller to print after the failed call (the
 * handshake's error text is short). Written during the handshake, read
 * after the call returned. */
typedef struct asps_initra_check {
    const asps_initra_conf *conf;
    int refused;
    char shown[400];
} asps_initra_check;
int asps_initra_server_check(void *ctx, const asps_claims *claims, char *err, size_t errlen);

/* Before fetching: could asps_initra_write_all write PATHS (each absolute,
 * no "..", no symbolic link among its folders, its folder or the first
 * missing one's parent writable, the name not a folder)? Creates nothing.
 * ASPS_E_ARG for a bad path, ASPS_E_IO for what the file system refuses;
 * the message names the path. */
asps_err asps_initra_check_writable(const char *const *paths, size_t n, asps_errbuf *eb);

/* Write VALUES[i] (LENS[i] bytes) to PATHS[i] for i < n, all or nothing. */
asps_err asps_initra_write_all(const char *const *paths, const uint8_t *const *values,
                               const size_t *lens, size_t n, asps_errbuf *eb);

#ifdef __cplusplus
}
#endif
#endif
