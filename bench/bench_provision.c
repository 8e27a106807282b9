/* bench_provision.c: connections per second for the whole product path.
 *
 *   bench_provision [N] [CALLS]
 *
 * In one process, on 127.0.0.1, the same gRPC library and the same server
 * code, three runs of N fresh connections (TLS handshake + one GetSecrets):
 *   plain     mutual TLS, the client certificate issued by a CA (no evidence)
 *   attested  RA-TLS, a fresh certificate per connection: every handshake
 *             runs full DCAP verification (collateral cached), policy, KMS
 *   reconnect RA-TLS, one certificate reused: claims come from the cache
 * Certificates are made before the clock starts (the attester's cost is the
 * workload's, once per certificate). Then CALLS GetSecrets on one attested
 * connection and CALLS on one plain one, interleaved in rounds. Prints connections/s, p50/p99 latency, the ratios attested /
 * plain, and, last, one JSON line.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asps/evidence.h"
#include "kms.h"
#include "asps/ratls.h"
#include "rpc.h"
#include "service.h"
#include "service_rpc.h"
#include "sim.h"
#include "util.h"
#include "bench_plain.h"
#include "bench_util.h"

typedef struct run {
    double conn_per_s, p50, p99;
    int failures;
} run;

static run connect_many(int port, const char *ca, char **certs, char **keys, int n, int distinct)
{
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    double *lat = calloc((size_t)n, sizeof *lat);
    const char *names[1] = {"image_key"};
    uint8_t *req;
    size_t rl;
    asps_errbuf eb;
    asps_rpc_encode_get_secrets_request(names, 1, &req, &rl, &eb);
    run r = {0};
    double t0 = bench_now_ms();
    for (int i = 0; i < n; i++) {
        int k = distinct ? i : 0;
        double s = bench_now_ms();
        asps_rpc_client_opts o = {.target = target, .cert_pem = certs[k], .key_pem = keys[k],
                                  .ca_pem = ca, .server_name = "localhost", .deadline_ms = 10000};
        asps_rpc_client *c;
        int status = -1;
        char msg[256];
        uint8_t *reply = NULL;
        size_t len = 0;
        if (asps_rpc_client_new(&o, &c, &eb) == ASPS_OK) {
            asps_rpc_client_call(c, ASPS_RPC_METHOD_GET_SECRETS, req, rl, &status, msg, sizeof msg, &reply, &len, &eb);
            asps_rpc_client_free(c);
        }
        if (status != ASPS_RPC_OK)
            r.failures++;
        if (reply) {
            OPENSSL_cleanse(reply, len);
            free(reply);
        }
        lat[i] = bench_now_ms() - s;
    }
    double total = bench_now_ms() - t0;
    qsort(lat, (size_t)n, sizeof *lat, bench_cmp_double);
    r.conn_per_s = n / (total / 1e3);
    r.p50 = lat[n / 2];
    r.p99 = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
    free(lat);
    free(req);
    return r;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    int calls = argc > 2 ? atoi(argv[2]) : 2000;
    if (n < 2 || calls < 1)
        return 2;
    char dir[] = "/tmp/asps-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    /* the asps command: ASPS_BIN, else the one built next to this program
     * (the set-up runs in the temporary folder: the path must be whole) */
    char bin[4096] = "";
    const char *env_bin = getenv("ASPS_BIN");
    if (env_bin) {
        snprintf(bin, sizeof bin, "%s", env_bin);
    } else {
        ssize_t bl = readlink("/proc/self/exe", bin, sizeof bin - 8);
        char *slash = bl > 0 ? memrchr(bin, '/', (size_t)bl) : NULL;
        if (slash)
            strcpy(slash + 1, "asps");
        else
            strcpy(bin, "asps");
    }
    if (bench_setup_files(dir, bin) != 0) {
        fprintf(stderr, "setup failed (set ASPS_BIN to the asps binary)\n");
        return 1;
    }
    char *ca = bench_slurp(dir, "ca.pem"), *scert = bench_slurp(dir, "server.pem"), *skey = bench_slurp(dir, "server.key");
    char *ccert = bench_slurp(dir, "client.pem"), *ckey = bench_slurp(dir, "client.key");
    asps_errbuf eb;
    /* RA-TLS certificates, made before the clock starts */
    char simdir[4200];
    snprintf(simdir, sizeof simdir, "%s/sim", dir);
    asps_sim_identity ident;
    memset(&ident, 0, sizeof ident);
    memset(ident.mr_enclave, 0xa1, 32);
    asps_attester *att;
    if (asps_sim_attester_new(simdir, &ident, &att, &eb) != ASPS_OK) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    char **certs = calloc((size_t)n, sizeof *certs), **keys = calloc((size_t)n, sizeof *keys);
    double tc = bench_now_ms();
    for (int i = 0; i < n; i++) {
        asps_ratls_create_opts o = {.quote = asps_attester_quote, .quote_ctx = att};
        if (asps_ratls_create(&o, &certs[i], &keys[i], &eb) != ASPS_OK) {
            fprintf(stderr, "%s\n", eb.msg);
            return 1;
        }
    }
    double create_ms = (bench_now_ms() - tc) / n;
    asps_attester_free(att);

    /* attested server */
    asps_service_config *cfg;
    asps_service_config_new(&cfg, &eb);
    char p1[4200], p2[4200], p3[4200];
    snprintf(p1, sizeof p1, "%s/policy.json", dir);
    snprintf(p2, sizeof p2, "%s/sim", dir);
    snprintf(p3, sizeof p3, "%s/audit.log", dir);
    cfg->policy = strdup(p1);
    cfg->trust_sim = strdup(p2);
    cfg->collateral_sim = strdup(p2);
    cfg->audit = strdup(p3);
    asps_service *svc;
    if (asps_service_new(cfg, &svc, &eb) != ASPS_OK) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    /* configured as `asps serve` is: refusals answered in calls, gRPC's
     * failed-handshake reports routed to the audit log */
    asps_rpc_server_opts so = {.listen_addr = "127.0.0.1:0", .cert_chain_pem = scert, .key_pem = skey,
                               .verify = asps_service_rpc_verify, .verify_ctx = svc,
                               .refuse_in_calls = 1, .on_refused = asps_service_rpc_refused,
                               .on_refused_ctx = svc};
    asps_rpc_server *as;
    asps_service_rpc *glue;
    int aport = 0, pport = 0;
    int started = asps_rpc_server_new(&so, &as, &eb) == ASPS_OK &&
                  asps_service_rpc_register(as, svc, 64, &glue, &eb) == ASPS_OK;
    if (started)
        asps_rpc_set_handshake_failure_hook(asps_service_rpc_handshake_failed, svc);
    if (!started || asps_rpc_server_start(as, &aport, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    /* plain mutual-TLS server: same library, same decode/KMS/encode work */
    bench_plain_ctx pc = {.max_names = 64};
    char kp[4200];
    snprintf(kp, sizeof kp, "%s/kms.json", dir);
    asps_kms_open_file(kp, ASPS_KMS_PLAIN_TEXT, &pc.kms, &eb);
    asps_rpc_server_opts po = {.listen_addr = "127.0.0.1:0", .cert_chain_pem = scert, .key_pem = skey,
                               .client_ca_pem = ca};
    asps_rpc_server *ps;
    if (asps_rpc_server_new(&po, &ps, &eb) ||
        asps_rpc_server_add_method(ps, ASPS_RPC_METHOD_GET_SECRETS, bench_plain_get, &pc, &eb) ||
        asps_rpc_server_start(ps, &pport, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    /* warm both (collateral verified once, like a running server) */
    connect_many(pport, ca, &ccert, &ckey, 2, 0);
    connect_many(aport, ca, certs, keys, 2, 0);

    run plain = connect_many(pport, ca, &ccert, &ckey, n, 0);
    run att_fresh = connect_many(aport, ca, certs, keys, n, 1);
    run att_re = connect_many(aport, ca, certs, keys, n, 0);

    /* sustained calls on one connection, attested and plain interleaved:
     * ROUNDS rounds of CALLS/ROUNDS on each, so a noisy moment weighs on
     * both alike */
    enum { ROUNDS = 10 };
    char target[64], ptarget[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", aport);
    snprintf(ptarget, sizeof ptarget, "127.0.0.1:%d", pport);
    asps_rpc_client_opts co = {.target = target, .cert_pem = certs[0], .key_pem = keys[0], .ca_pem = ca,
                               .server_name = "localhost", .deadline_ms = 10000};
    asps_rpc_client_opts pco = {.target = ptarget, .cert_pem = ccert, .key_pem = ckey, .ca_pem = ca,
                                .server_name = "localhost", .deadline_ms = 10000};
    asps_rpc_client *c, *pcl;
    const char *names[1] = {"image_key"};
    uint8_t *req;
    size_t rl;
    asps_rpc_encode_get_secrets_request(names, 1, &req, &rl, &eb);
    asps_rpc_client_new(&co, &c, &eb);
    asps_rpc_client_new(&pco, &pcl, &eb);
    int bad = 0, per_round = calls / ROUNDS > 0 ? calls / ROUNDS : 1;
    double att_ms = 0, plain_ms = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int side = 0; side < 2; side++) {
            asps_rpc_client *cl = side == 0 ? c : pcl;
            double t0 = bench_now_ms();
            for (int i = 0; i < per_round; i++) {
                int status;
                char msg[128];
                uint8_t *reply = NULL;
                size_t len;
                asps_rpc_client_call(cl, ASPS_RPC_METHOD_GET_SECRETS, req, rl, &status, msg, sizeof msg,
                                     &reply, &len, &eb);
                bad += status != ASPS_RPC_OK;
                free(reply);
            }
            *(side == 0 ? &att_ms : &plain_ms) += bench_now_ms() - t0;
        }
    }
    double calls_per_s = per_round * ROUNDS / (att_ms / 1e3);
    double plain_calls_per_s = per_round * ROUNDS / (plain_ms / 1e3);
    asps_rpc_client_free(c);
    asps_rpc_client_free(pcl);
    free(req);

    printf("RA-TLS certificate creation (sim attester): %.2f ms each\n", create_ms);
    printf("%-34s %8.1f conn/s  p50 %6.2f ms  p99 %6.2f ms  failures %d\n", "plain mutual TLS:", plain.conn_per_s,
           plain.p50, plain.p99, plain.failures);
    printf("%-34s %8.1f conn/s  p50 %6.2f ms  p99 %6.2f ms  failures %d\n", "attested, fresh cert each:",
           att_fresh.conn_per_s, att_fresh.p50, att_fresh.p99, att_fresh.failures);
    printf("%-34s %8.1f conn/s  p50 %6.2f ms  p99 %6.2f ms  failures %d\n", "attested, cert reused (cached):",
           att_re.conn_per_s, att_re.p50, att_re.p99, att_re.failures);
    printf("ratio attested/plain: fresh %.2f, reused %.2f\n", att_fresh.conn_per_s / plain.conn_per_s,
           att_re.conn_per_s / plain.conn_per_s);
    printf("sustained GetSecrets on one connection: %.0f calls/s (failures %d); plain mutual TLS %.0f "
           "calls/s; ratio attested/plain %.2f\n",
           calls_per_s, bad, plain_calls_per_s, calls_per_s / plain_calls_per_s);
    printf("{\"connections\": %d, \"plain_conn_per_s\": %.1f, \"attested_conn_per_s\": %.1f, "
           "\"attested_reused_conn_per_s\": %.1f, \"ratio_fresh\": %.2f, \"ratio_reused\": %.2f, "
           "\"plain_p50_ms\": %.2f, \"plain_p99_ms\": %.2f, \"attested_p50_ms\": %.2f, \"attested_p99_ms\": %.2f, "
           "\"calls_per_s\": %.0f, \"plain_calls_per_s\": %.0f, \"calls_ratio\": %.2f, \"failures\": %d}\n",
           n, plain.conn_per_s, att_fresh.conn_per_s, att_re.conn_per_s, att_fresh.conn_per_s / plain.conn_per_s,
           att_re.conn_per_s / plain.conn_per_s, plain.p50, plain.p99, att_fresh.p50, att_fresh.p99, calls_per_s,
           plain_calls_per_s, calls_per_s / plain_calls_per_s, plain.failures + att_fresh.failures + att_re.failures + bad);

    asps_rpc_server_shutdown(as, 1000);
    asps_rpc_server_shutdown(ps, 1000);
    asps_rpc_set_handshake_failure_hook(NULL, NULL);
    asps_rpc_server_free(as);
    asps_rpc_server_free(ps);
    asps_service_rpc_free(glue);
    asps_service_free(svc);
    asps_service_config_free(cfg);
    asps_kms_free(pc.kms);
    for (int i = 0; i < n; i++) {
        free(certs[i]);
        asps_ratls_free_key(keys[i]);
    }
    free(certs);
    free(keys);
    free(ca);
    free(scert);
    free(skey);
    free(ccert);
    free(ckey);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
