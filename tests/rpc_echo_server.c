/* rpc_echo_server.c: a small asps rpc server for interop tests (Python
 * grpcio client in tests/integration/test_rpc_python.sh).
 *
 *   rpc_echo_server --cert server.pem --key server.key --accept-cn CN
 *                   [--slow-cn CN2] [--io-threads N] [--listen 127.0.0.1:0]
 *
 * Accepts client certificates whose subject CN is exactly CN (no chain
 * check: the point is the transport, not PKI), and CN2 too but only after a
 * 6-second pause in the check (a verifier waiting for a PCCS). Serves:
 *   /asps.test.Echo/Echo                   raw bytes back
 *   /asps.v1.SecretProvision/GetSecrets    each name -> "value-of-<name>";
 *                                          a name "deny" -> PERMISSION_DENIED
 * Prints "PORT <n>" on stdout once listening; stops on SIGTERM/SIGINT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "rpc.h"
#include "util.h"

static const char *slow_cn;

static int verify_cn(void *ctx, const char *pem, char *err, size_t errlen)
{
    const char *want = ctx;
    if (pem == NULL) {
        snprintf(err, errlen, "no client certificate");
        return 1;
    }
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    char cn[256] = "";
    if (x != NULL)
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    X509_free(x);
    if (slow_cn != NULL && strcmp(cn, slow_cn) == 0) {
        struct timespec ts = {6, 0};
        nanosleep(&ts, NULL);
        return 0;
    }
    if (strcmp(cn, want) != 0) {
        snprintf(err, errlen, "client CN '%s' not accepted", cn);
        return 1;
    }
    return 0;
}

static int echo(void *ctx, const char *pem, const char *peer, const uint8_t *req, size_t len,
                uint8_t **reply, size_t *reply_len, char *msg, size_t msglen)
{
    (void)ctx;
    (void)pem;
    (void)peer;
    (void)msg;
    (void)msglen;
    *reply = malloc(len ? len : 1);
    if (*reply == NULL)
        return ASPS_RPC_RESOURCE_EXHAUSTED;
    if (len)
        memcpy(*reply, req, len);
    *reply_len = len;
    return ASPS_RPC_OK;
}

static int get_secrets(void *ctx, const char *pem, const char *peer, const uint8_t *req, size_t len,
                       uint8_t **reply, size_t *reply_len, char *msg, size_t msglen)
{
    (void)ctx;
    (void)pem;
    (void)peer;
    char **names = NULL;
    size_t n = 0;
    asps_errbuf eb;
    if (asps_rpc_decode_get_secrets_request(req, len, 64, &names, &n, &eb) != ASPS_OK) {
        snprintf(msg, msglen, "%s", eb.msg);
        return ASPS_RPC_INVALID_ARGUMENT;
    }
    int status = ASPS_RPC_OK;
    asps_secret *s = calloc(n ? n : 1, sizeof *s);
    char (*vals)[300] = calloc(n ? n : 1, sizeof *vals);
    if (s == NULL || vals == NULL) {
        status = ASPS_RPC_RESOURCE_EXHAUSTED;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "deny") == 0) {
            snprintf(msg, msglen, "not granted");
            status = ASPS_RPC_PERMISSION_DENIED;
            goto out;
        }
        snprintf(vals[i], sizeof vals[i], "value-of-%.250s", names[i]);
        s[i].name = names[i];
        s[i].value = (uint8_t *)vals[i];
        s[i].len = strlen(vals[i]);
    }
    if (asps_rpc_encode_get_secrets_reply(s, n, reply, reply_len, &eb) != ASPS_OK) {
        snprintf(msg, msglen, "%s", eb.msg);
        status = ASPS_RPC_INTERNAL;
    }
out:
    free(s);
    free(vals);
    asps_rpc_strings_free(names, n);
    return status;
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL, *cn = NULL, *listen = "127.0.0.1:0";
    unsigned io_threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--cert"))
            cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            key = argv[i + 1];
        else if (!strcmp(argv[i], "--accept-cn"))
            cn = argv[i + 1];
        else if (!strcmp(argv[i], "--listen"))
            listen = argv[i + 1];
        else if (!strcmp(argv[i], "--slow-cn"))
            slow_cn = argv[i + 1];
        else if (!strcmp(argv[i], "--io-threads"))
            io_threads = (unsigned)atoi(argv[i + 1]);
    }
    if (cert == NULL || key == NULL || cn == NULL) {
        fprintf(stderr, "usage: rpc_echo_server --cert F --key F --accept-cn CN [--listen A]\n");
        return 2;
    }
    asps_errbuf eb;
    uint8_t *cert_pem = NULL, *key_pem = NULL;
    size_t l;
    if (asps_read_file(cert, 1 << 20, &cert_pem, &l, &eb) != ASPS_OK ||
        asps_read_file(key, 1 << 20, &key_pem, &l, &eb) != ASPS_OK) {
        fprintf(stderr, "rpc_echo_server: %s\n", eb.msg);
        free(cert_pem);
        return 2;
    }
    /* Block the stop signals before any thread starts, then wait for them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    asps_rpc_server_opts o = {
        .listen_addr = listen,
        .cert_chain_pem = (const char *)cert_pem,
        .key_pem = (const char *)key_pem,
        .verify = verify_cn,
        .verify_ctx = (void *)cn,
        .io_threads = io_threads,
    };
    asps_rpc_server *s = NULL;
    int port = 0, rc = 1;
    if (asps_rpc_server_new(&o, &s, &eb) != ASPS_OK ||
        asps_rpc_server_add_method(s, "/asps.test.Echo/Echo", echo, NULL, &eb) != ASPS_OK ||
        asps_rpc_server_add_method(s, ASPS_RPC_METHOD_GET_SECRETS, get_secrets, NULL, &eb) != ASPS_OK ||
        asps_rpc_server_start(s, &port, &eb) != ASPS_OK) {
        fprintf(stderr, "rpc_echo_server: %s\n", eb.msg);
        goto out;
    }
    printf("PORT %d\n", port);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    rc = 0;
out:
    asps_rpc_server_free(s);
    free(cert_pem);
    free(key_pem);
    return rc;
}
