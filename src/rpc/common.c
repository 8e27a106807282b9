/* common.c: pieces shared by the rpc server and client: status names, the
 * external TLS certificate verifier that calls an asps_rpc_verify_fn, PEM
 * sanity checks, byte-buffer flattening.
 *
 * Trusts: gRPC core to hand the verifier the certificate the peer proved
 * possession of in the TLS handshake. Decides nothing itself: the verify
 * function does.
 */
#include "rpc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/string_util.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

const char *asps_rpc_status_name(int status)
{
    static const char *const names[] = {
        "OK",           "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND",     "ALREADY_EXISTS",    "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL",          "UNAVAILABLE",       "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (status < 0 || (size_t)status >= sizeof names / sizeof names[0])
        return "UNKNOWN_STATUS";
    return names[status];
}

int64_t asps_rpc__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *asps_rpc__dup(const char *s, int *fail)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *fail = 1;
    return d;
}

void asps_rpc__free_secret_str(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

/* ---- verifier ------------------------------------------------------------------ */

struct verifier {
    grpc_tls_certificate_verifier_external ext; /* ext.user_data points back here */
    asps_rpc_verify_fn fn;
    void *ctx;
};

/* Runs on a gRPC thread at the end of each TLS handshake; answers at once. */
static int verifier_verify(void *user_data, grpc_tls_custom_verification_check_request *req,
                           grpc_tls_on_custom_verification_check_done_cb cb, void *cb_arg,
                           grpc_status_code *sync_status, char **sync_error_details)
{
    (void)cb;
    (void)cb_arg;
    struct verifier *v = user_data;
    const char *pem = req->peer_info.peer_cert;
    if (pem != NULL && *pem == '\0')
        pem = NULL;
    char err[256] = "";
    int r = v->fn(v->ctx, pem, err, sizeof err);
    if (r == 0) {
        *sync_status = GRPC_STATUS_OK;
    } else {
        *sync_status = GRPC_STATUS_UNAUTHENTICATED;
        *sync_error_details = gpr_strdup(err[0] ? err : "peer certificate refused");
    }
    return 1; /* synchronous */
}

static void verifier_cancel(void *user_data, grpc_tls_custom_verification_check_request *req)
{
    (void)user_data;
    (void)req; /* nothing asynchronous to stop */
}

static void verifier_destruct(void *user_data)
{
    free(user_data);
}

grpc_tls_certificate_verifier *asps_rpc__verifier_new(asps_rpc_verify_fn fn, void *ctx)
{
    struct verifier *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    v->fn = fn;
    v->ctx = ctx;
    v->ext.user_data = v;
    v->ext.verify = verifier_verify;
    v->ext.cancel = verifier_cancel;
    v->ext.destruct = verifier_destruct;
    grpc_tls_certificate_verifier *gv = grpc_tls_certificate_verifier_external_create(&v->ext);
    if (gv == NULL)
        free(v);
    return gv;
}

/* ---- PEM checks ----------------------------------------------------------------- */

asps_err asps_rpc__check_pem_pair(const char *cert_pem, const char *key_pem, const char *what,
                                  asps_errbuf *eb)
{
    asps_err rc = ASPS_OK;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    if (b == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (x == NULL) {
        rc = asps_fail(eb, ASPS_E_PARSE, "rpc: %s certificate is not a PEM certificate", what);
        goto out;
    }
    if (key_pem != NULL) {
        b = BIO_new_mem_buf(key_pem, -1);
        if (b == NULL) {
            rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
            goto out;
        }
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        BIO_free(b);
        if (k == NULL) {
            rc = asps_fail(eb, ASPS_E_PARSE, "rpc: %s key is not a PEM private key", what);
            goto out;
        }
        if (X509_check_private_key(x, k) != 1) {
            rc = asps_fail(eb, ASPS_E_ARG, "rpc: %s key does not match its certificate", what);
            goto out;
        }
    }
out:
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

/* ---- byte buffers --------------------------------------------------------------- */

asps_err asps_rpc__bb_to_bytes(grpc_byte_buffer *bb, uint8_t **out, size_t *len, asps_errbuf *eb)
{
    *out = NULL;
    *len = 0;
    if (bb == NULL)
        return ASPS_OK;
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return asps_fail(eb, ASPS_E_PARSE, "rpc: cannot read message (bad compression?)");
    size_t n = grpc_byte_buffer_length(r.buffer_out);
    uint8_t *p = malloc(n ? n : 1);
    if (p == NULL) {
        grpc_byte_buffer_reader_destroy(&r);
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory for a %zu-byte message", n);
    }
    size_t off = 0;
    grpc_slice s;
    while (grpc_byte_buffer_reader_next(&r, &s)) {
        size_t sl = GRPC_SLICE_LENGTH(s);
        if (sl > n - off) { /* cannot happen: length was summed from these slices */
            grpc_slice_unref(s);
            break;
        }
        memcpy(p + off, GRPC_SLICE_START_PTR(s), sl);
        off += sl;
        grpc_slice_unref(s);
    }
    grpc_byte_buffer_reader_destroy(&r);
    *out = p;
    *len = off;
    return ASPS_OK;
}
