/* occlum_grpc_ratls.c: Occlum's grpc_ratls C API on asps, so an init built
 * against Occlum's libgrpc_ratls_client / libgrpc_ratls_server links
 * against asps unchanged:
 *
 *   int grpc_ratls_get_secret(server_addr, config_json, name, secret_file);
 *   int grpc_ratls_get_secret_to_buf(server_addr, config_json, name,
 *                                    secret_buf, buf_len);
 *   int grpc_ratls_start_server(server_addr, config_json, secret_json);
 *
 * Return 0 on success, -1 on failure (a message on stderr), as Occlum's do.
 * The client calls ratls.GrSecret/GetSecret (so it also talks to Occlum's
 * own server) and decodes the base64 answer completely (Occlum's decoder
 * dropped bytes). config_json is the ra_config (verify_* + sgx_mrs) the
 * peer's RA-TLS evidence must match. The attester is detected (Occlum's
 * /dev/sgx inside Occlum); ASPS_ATTESTER=sim with ASPS_SIM_DIR (and
 * ASPS_SIM_MRENCLAVE, ASPS_SIM_MRSIGNER, ASPS_SIM_ISV_PROD_ID,
 * ASPS_SIM_ISV_SVN, ASPS_SIM_CONFIG_SVN) selects the simulated platform,
 * whose root and collateral are then trusted for the peer as well.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/occlum_grpc_ratls.h"
#include "asps/client.h"
#include "asps/evidence.h"
#include "initra.h"
#include "log.h"
#include "asps/ratls.h"
#include "rpc.h"
#include "service.h"
#include "service_rpc.h"
#include "sim.h"
#include "trust.h"
#include "util.h"

/* The attester the environment names (asps/client.h). */
static asps_err env_attester(asps_attester **out, asps_errbuf *eb)
{
    return asps_client_attester_from_env(out, eb);
}

/* ---- client ------------------------------------------------------------------- */

typedef struct peer_check {
    asps_initra_conf *ra;
    asps_trust *trust;
} peer_check;

static int verify_server(void *ctx, const char *pem, char *err, size_t errlen)
{
    peer_check *p = ctx;
    asps_claims c;
    asps_errbuf eb = {{0}};
    asps_err e = asps_trust_verify_cert(p->trust, (const uint8_t *)pem, strlen(pem),
                                        (int64_t)time(NULL), ASPS_RATLS_PEER, &c, &eb);
    if (e != ASPS_OK) {
        snprintf(err, errlen, "server evidence refused: %s", eb.msg);
        return 1;
    }
    if (!asps_initra_verifies_server(p->ra))
        return 0; /* every verify_* off: Occlum accepts any evidence that verifies */
    return asps_initra_match_server(p->ra, &c, err, errlen) == 0 ? 0 : 1;
}

/* The peer is trusted as the environment says: the Intel root, and with
 * ASPS_SIM_DIR that simulated platform's root and collateral. */
static asps_err load_trust(peer_check *p, const char *config_json, asps_errbuf *eb)
{
    ASPS_TRY(asps_initra_ra_config_load(config_json, &p->ra, eb));
    const char *sim = getenv("ASPS_SIM_DIR");
    asps_trust_opts to = {.sim_root_dir = sim && sim[0] ? sim : NULL};
    to.collateral.sim_dir = to.sim_root_dir;
    return asps_trust_new(&to, &p->trust, eb);
}

static void free_trust(peer_check *p)
{
    asps_initra_conf_free(p->ra);
    asps_trust_free(p->trust);
}

/* Fetch NAME; *value malloc'd (caller cleanses). */
static int fetch(const char *server_addr, const char *config_json, const char *name, uint8_t **value,
                 size_t *len)
{
    asps_errbuf eb = {{0}};
    peer_check pc;
    memset(&pc, 0, sizeof pc);
    asps_attester *att = NULL;
    char *cert = NULL, *key = NULL, *b64 = NULL;
    uint8_t *req = NULL, *reply = NULL;
    size_t req_len, reply_len = 0;
    asps_rpc_client *c = NULL;
    int rc = -1, status = 0;
    char msg[512] = "";
    asps_err e = load_trust(&pc, config_json, &eb);
    if (e == ASPS_OK)
        e = env_attester(&att, &eb);
    asps_ratls_create_opts ro = {.quote = asps_attester_quote, .quote_ctx = att};
    if (e == ASPS_OK)
        e = asps_ratls_create(&ro, &cert, &key, &eb);
    asps_rpc_client_opts co = {.target = server_addr, .cert_pem = cert, .key_pem = key,
                               .verify = verify_server, .verify_ctx = &pc, .deadline_ms = 10000};
    if (e == ASPS_OK)
        e = asps_rpc_client_new(&co, &c, &eb);
    if (e == ASPS_OK)
        e = asps_rpc_encode_occlum_request(name, &req, &req_len, &eb);
    if (e == ASPS_OK)
        e = asps_rpc_client_call(c, ASPS_RPC_METHOD_OCCLUM_GET_SECRET, req, req_len, &status, msg,
                                 sizeof msg, &reply, &reply_len, &eb);
    if (e == ASPS_OK && status != ASPS_RPC_OK)
        e = asps_fail(&eb, ASPS_E_DENIED, "server: %s: %s", asps_rpc_status_name(status), msg);
    if (e == ASPS_OK)
        e = asps_rpc_decode_occlum_reply(reply, reply_len, &b64, &eb);
    if (e == ASPS_OK) {
        /* standard base64, padding honoured: every byte comes back */
        size_t n = strlen(b64);
        uint8_t *out = malloc(n / 4 * 3 + 3);
        int dl = out && n % 4 == 0 && n < INT32_MAX ? EVP_DecodeBlock(out, (unsigned char *)b64, (int)n) : -1;
        if (dl < 0) {
            free(out);
            e = asps_fail(&eb, ASPS_E_PARSE, "secret is not valid base64");
        } else {
            if (n >= 1 && b64[n - 1] == '=')
                dl--;
            if (n >= 2 && b64[n - 2] == '=')
                dl--;
            *value = out;
            *len = (size_t)dl;
            rc = 0;
        }
    }
    if (rc != 0)
        fprintf(stderr, "grpc_ratls: cannot get secret '%s' from %s: %s\n", name, server_addr, eb.msg);
    if (b64) {
        asps_cleanse_free_str(b64);
    }
    if (reply) {
        asps_cleanse_free(reply, reply_len);
    }
    free(req);
    asps_rpc_client_free(c);
    free(cert);
    asps_ratls_free_key(key);
    asps_attester_free(att);
    free_trust(&pc);
    return rc;
}

int grpc_ratls_get_secret(const char *server_addr, const char *config_json, const char *name,
                          const char *secret_file)
{
    if (!server_addr || !config_json || !name || !secret_file)
        return -1;
    uint8_t *v;
    size_t n;
    if (fetch(server_addr, config_json, name, &v, &n) != 0)
        return -1;
    asps_errbuf eb;
    asps_err e = asps_write_file_atomic(secret_file, v, n, 0600, &eb);
    asps_cleanse_free(v, n);
    if (e != ASPS_OK) {
        fprintf(stderr, "grpc_ratls: %s\n", eb.msg);
        return -1;
    }
    return 0;
}

int grpc_ratls_get_secret_to_buf(const char *server_addr, const char *config_json, const char *name,
                                 char *secret_buf, unsigned int *buf_len)
{
    if (!server_addr || !config_json || !name || !secret_buf || !buf_len)
        return -1;
    uint8_t *v;
    size_t n;
    if (fetch(server_addr, config_json, name, &v, &n) != 0)
        return -1;
    int rc = 0;
    if (n > *buf_len) {
        fprintf(stderr, "grpc_ratls: secret '%s' is %zu bytes, the buffer %u\n", name, n, *buf_len);
        rc = -1;
    } else {
        memcpy(secret_buf, v, n);
    }
    *buf_len = (unsigned int)n;
    asps_cleanse_free(v, n);
    return rc;
}

/* ---- server --------------------------------------------------------------------- */

int grpc_ratls_start_server(const char *server_addr, const char *config_json, const char *secret_json)
{
    if (!server_addr || !config_json || !secret_json)
        return -1;
    asps_errbuf eb = {{0}};
    asps_service_config *cfg = NULL;
    asps_attester *att = NULL;
    asps_service *svc = NULL;
    asps_rpc_server *srv = NULL;
    asps_service_rpc *glue = NULL;
    char *cert = NULL, *key = NULL;
    int rc = -1;
    const char *sim = getenv("ASPS_SIM_DIR");
    asps_err e = asps_service_config_new(&cfg, &eb);
    if (e == ASPS_OK) {
        cfg->listen = strdup(server_addr);
        cfg->policy = strdup(config_json);
        cfg->policy_format = strdup("occlum");
        cfg->occlum_secrets = strdup(secret_json);
        if (sim && sim[0]) {
            cfg->trust_sim = strdup(sim);
            cfg->collateral_sim = strdup(sim);
            cfg->seed_allow_simulated = 1;
        }
        e = asps_service_new(cfg, &svc, &eb);
    }
    if (e == ASPS_OK)
        e = env_attester(&att, &eb);
    asps_ratls_create_opts ro = {.quote = asps_attester_quote, .quote_ctx = att};
    if (e == ASPS_OK)
        e = asps_ratls_create(&ro, &cert, &key, &eb);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    asps_rpc_server_opts so = {.listen_addr = server_addr, .cert_chain_pem = cert, .key_pem = key,
                               .verify = asps_service_rpc_verify,
                               .verify_now = asps_service_rpc_verify_now, .verify_ctx = svc};
    int port = 0;
    if (e == ASPS_OK)
        e = asps_rpc_server_new(&so, &srv, &eb);
    if (e == ASPS_OK)
        e = asps_service_rpc_register(srv, svc, cfg->max_names, &glue, &eb);
    if (e == ASPS_OK)
        e = asps_rpc_server_start(srv, &port, &eb);
    if (e != ASPS_OK) {
        asps_log(ASPS_LOG_ERROR, "grpc_ratls", "cannot start the server: %s", eb.msg);
    } else {
        asps_log(ASPS_LOG_INFO, "grpc_ratls", "serving on port %d", port);
        int sig;
        sigwait(&set, &sig); /* like Occlum's, it serves until stopped */
        asps_rpc_server_shutdown(srv, 2000);
        rc = 0;
    }
    asps_rpc_server_free(srv);
    asps_service_rpc_free(glue);
    asps_service_free(svc);
    asps_service_config_free(cfg);
    free(cert);
    asps_ratls_free_key(key);
    asps_attester_free(att);
    return rc;
}
