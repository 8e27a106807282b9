/* bench_plain.h: what the benchmarks' plain mutual-TLS server shares with
 * bench_provision and bench_load: reading their set-up files, and the
 * GetSecrets handler that does the attested server's decode / KMS fetch /
 * encode work without policy or audit (the baseline they compare with). */
#ifndef ASPS_BENCH_PLAIN_H
#define ASPS_BENCH_PLAIN_H

#include <stdio.h>
#include <stdlib.h>

#include "kms.h"
#include "rpc.h"
#include "util.h"

/* DIR/NAME's text (malloc'd, NUL-terminated), or NULL. */
static inline char *bench_slurp(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    uint8_t *b;
    size_t n;
    asps_errbuf eb;
    return asps_read_file(p, 1 << 20, &b, &n, &eb) == ASPS_OK ? (char *)b : NULL;
}

typedef struct bench_plain_ctx {
    asps_kms *kms;
    size_t max_names; /* as limits.max_names */
} bench_plain_ctx;

/* An asps_rpc_handler_fn (ctx: bench_plain_ctx): decode, one KMS fetch per
 * name, encode. */
static inline int bench_plain_get(void *ctx, const char *cert, const char *peer, const uint8_t *req,
                                  size_t len, uint8_t **reply, size_t *reply_len, char *msg,
                                  size_t msglen)
{
    (void)cert;
    (void)peer;
    (void)msg;
    (void)msglen;
    bench_plain_ctx *p = ctx;
    char **names;
    size_t n;
    asps_errbuf eb;
    if (asps_rpc_decode_get_secrets_request(req, len, p->max_names, &names, &n, &eb) != ASPS_OK)
        return ASPS_RPC_INVALID_ARGUMENT;
    asps_secret *s = calloc(n ? n : 1, sizeof *s);
    int st = s ? ASPS_RPC_OK : ASPS_RPC_INTERNAL;
    for (size_t i = 0; i < n && st == ASPS_RPC_OK; i++) {
        s[i].name = names[i];
        if (asps_kms_get(p->kms, names[i], NULL, &s[i].value, &s[i].len, &eb) != ASPS_OK)
            st = ASPS_RPC_UNAVAILABLE;
    }
    if (st == ASPS_RPC_OK && asps_rpc_encode_get_secrets_reply(s, n, reply, reply_len, &eb) != ASPS_OK)
        st = ASPS_RPC_INTERNAL;
    for (size_t i = 0; s && i < n; i++)
        asps_kms_value_free(s[i].value, s[i].len);
    free(s);
    asps_rpc_strings_free(names, n);
    return st;
}

/* The files both benchmarks' servers read, made in DIR with BIN (the asps
 * command) and openssl: a simulated platform (sim/), a P-256 CA (ca.pem,
 * ca.key) and the server (server.pem/.key, for localhost and 127.0.0.1)
 * and plain client (client.pem/.key) certificates it issued, a file KMS
 * (kms.json: image_key) and a policy (policy.json) granting image_key to
 * the simulated enclave whose MRENCLAVE is 32 bytes of 0xa1. 0 on
 * success (system()'s status otherwise). */
static inline int bench_setup_files(const char *dir, const char *bin)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd %s && %s sim init sim >/dev/null && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 -subj '/CN=bench CA' 2>/dev/null && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext && "
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out server.pem 2>/dev/null && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -out client.csr -subj /CN=client 2>/dev/null && "
             "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out client.pem 2>/dev/null && "
             "printf '{\"image_key\": \"base64:QoDNSyT2D6UzhcoDdA1Lkdc=\"}' > kms.json && "
             "printf '{\"version\": 1, \"kms\": {\"type\": \"file\", \"path\": \"kms.json\"}, \"apps\": [{\"name\": \"b\", \"match\": {\"tee\": \"sgx\", \"mrenclave\": \"%s\"}, \"allow_simulated\": true, \"secrets\": {\"image_key\": \"image_key\"}}]}' > policy.json",
             dir, bin, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1");
    return system(cmd);
}

#endif
