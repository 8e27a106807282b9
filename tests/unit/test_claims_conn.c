/* test_claims_conn.c: a connection's calls find their claims through the
 * connection, against the real gRPC core (issue 17).
 *
 * The service keeps each connection's claims by the connection's id, which
 * the rpc server gives by the connection's auth context (src/rpc/conns.c):
 * that only pays if gRPC hands every call of a connection that same auth
 * context and PEM string: this is what the test pins, on 127.0.0.1 with
 * the server configured as `asps serve` is (refusals answered in calls). Twenty calls on one connection hash the
 * certificate twice (its handshake, its first call), not once per call;
 * a second connection with the same certificate is verified no more but
 * finds its claims by hash once for its own first call; a connection with
 * another certificate gets that certificate's claims (denied here).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asps/evidence.h"
#include "asps/ratls.h"
#include "rpc.h"
#include "service.h"
#include "service_int.h"
#include "service_rpc.h"
#include "sim.h"

#define MRE "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *ratls_cert(const char *simdir, uint8_t mre_byte, char **key)
{
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    memset(id.mr_enclave, mre_byte, 32);
    asps_attester *att;
    asps_errbuf eb;
    assert_int_equal(asps_sim_attester_new(simdir, &id, &att, &eb), ASPS_OK);
    asps_ratls_create_opts o = {.quote = asps_attester_quote, .quote_ctx = att};
    char *cert;
    assert_int_equal(asps_ratls_create(&o, &cert, key, &eb), ASPS_OK);
    asps_attester_free(att);
    return cert;
}

/* the client trusts exactly the server's own certificate */
static int pinned(void *ctx, const char *pem, char *err, size_t errlen)
{
    if (pem && strcmp(pem, ctx) == 0)
        return 0;
    snprintf(err, errlen, "not the pinned server certificate");
    return 1;
}

/* N GetSecrets("a") on CLIENT, each answered STATUS. */
static void calls(asps_rpc_client *client, int n, int want)
{
    const char *names[1] = {"a"};
    uint8_t *req;
    size_t rl;
    asps_errbuf eb;
    assert_int_equal(asps_rpc_encode_get_secrets_request(names, 1, &req, &rl, &eb), ASPS_OK);
    for (int i = 0; i < n; i++) {
        int status;
        char msg[256];
        uint8_t *reply = NULL;
        size_t len = 0;
        assert_int_equal(asps_rpc_client_call(client, ASPS_RPC_METHOD_GET_SECRETS, req, rl, &status,
                                              msg, sizeof msg, &reply, &len, &eb),
                         ASPS_OK);
        if (status != want)
            fail_msg("call %d: status %d (%s), %d expected", i, status, msg, want);
        free(reply);
    }
    free(req);
}

static asps_rpc_client *client_new(int port, const char *cert, const char *key, char *server_pem)
{
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    asps_rpc_client_opts co = {.target = target, .cert_pem = cert, .key_pem = key,
                               .verify = pinned, .verify_ctx = server_pem, .deadline_ms = 10000};
    asps_rpc_client *c;
    asps_errbuf eb;
    assert_int_equal(asps_rpc_client_new(&co, &c, &eb), ASPS_OK);
    return c;
}

static void test_calls_find_claims_through_the_connection(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), sim[4200], policy[4200], kms[4200], audit[4200];
    snprintf(sim, sizeof sim, "%s/sim", dir);
    snprintf(policy, sizeof policy, "%s/policy.json", dir);
    snprintf(kms, sizeof kms, "%s/kms.json", dir);
    snprintf(audit, sizeof audit, "%s/audit.log", dir);
    asps_errbuf eb;
    assert_int_equal(asps_sim_init(sim, &eb), ASPS_OK);
    write_file(kms, "{\"a\": \"text:alpha\"}");
    char buf[9000];
    snprintf(buf, sizeof buf,
             "{\"version\": 1, \"kms\": {\"type\": \"file\", \"path\": \"%s\"},\n"
             " \"apps\": [{\"name\": \"app1\", \"match\": {\"tee\": \"sgx\", \"mrenclave\": \"" MRE
             "\"},\n   \"allow_simulated\": true, \"secrets\": {\"a\": \"a\"}}]}\n",
             kms);
    write_file(policy, buf);
    asps_service_config *cfg;
    assert_int_equal(asps_service_config_new(&cfg, &eb), ASPS_OK);
    cfg->trust_sim = strdup(sim);
    cfg->collateral_sim = strdup(sim);
    cfg->policy = strdup(policy);
    cfg->audit = strdup(audit);
    asps_service *svc;
    assert_int_equal(asps_service_new(cfg, &svc, &eb), ASPS_OK);

    char *skey, *scert = ratls_cert(sim, 0xc3, &skey); /* the server's own certificate */
    asps_rpc_server_opts so = {.listen_addr = "127.0.0.1:0", .cert_chain_pem = scert, .key_pem = skey,
                               .verify = asps_service_rpc_verify, .verify_ctx = svc,
                               .refuse_in_calls = 1, .on_refused = asps_service_rpc_refused,
                               .on_refused_ctx = svc};
    asps_rpc_server *srv;
    asps_service_rpc *glue;
    int port = 0;
    assert_int_equal(asps_rpc_server_new(&so, &srv, &eb), ASPS_OK);
    assert_int_equal(asps_service_rpc_register(srv, svc, 64, &glue, &eb), ASPS_OK);
    assert_int_equal(asps_rpc_server_start(srv, &port, &eb), ASPS_OK);

    char *key, *cert = ratls_cert(sim, 0xa1, &key), *okey, *other = ratls_cert(sim, 0xb2, &okey);
    asps_service_stats st;

    asps_rpc_client *c = client_new(port, cert, key, scert);
    calls(c, 20, ASPS_RPC_OK);
    /* the handshake's lookup (a miss: verified) and the first call's */
    assert_int_equal(asps_service__claims_cache_lookups(svc), 2);
    asps_service_get_stats(svc, &st);
    assert_int_equal(st.claims_cache_hits, 20);
    asps_rpc_client_free(c);

    /* a new connection, the same certificate: from the cache by hash for
     * its handshake and its first call, then through the connection */
    c = client_new(port, cert, key, scert);
    calls(c, 20, ASPS_RPC_OK);
    assert_int_equal(asps_service__claims_cache_lookups(svc), 4);
    asps_service_get_stats(svc, &st);
    assert_int_equal(st.handshakes_ok, 2);
    assert_int_equal(asps_service__claims_cache_entries(svc), 1);

    /* another certificate on another connection, the first still open:
     * its own claims (another enclave: denied) */
    asps_rpc_client *o = client_new(port, other, okey, scert);
    calls(o, 5, ASPS_RPC_PERMISSION_DENIED);
    calls(c, 5, ASPS_RPC_OK);
    assert_int_equal(asps_service__claims_cache_lookups(svc), 6);
    assert_int_equal(asps_service__claims_cache_entries(svc), 2);
    asps_rpc_client_free(o);
    asps_rpc_client_free(c);

    asps_rpc_server_shutdown(srv, 1000);
    asps_rpc_server_free(srv);
    asps_service_rpc_free(glue);
    asps_service_free(svc);
    asps_service_config_free(cfg);
    free(cert);
    free(other);
    free(scert);
    asps_ratls_free_key(key);
    asps_ratls_free_key(okey);
    asps_ratls_free_key(skey);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_find_claims_through_the_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
