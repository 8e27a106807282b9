/* client.c: the asps gRPC client on gRPC core: one channel with mutual TLS,
 * unary calls that move raw bytes.
 *
 * Owns: the channel and a small pool of completion queues (one per call in
 * progress, reused so a call costs no queue setup).
 * Trusts: gRPC core for HTTP/2 and TLS; for the server's identity either the
 * CA bundle plus gRPC's hostname check, or the caller's verify callback alone
 * (pinned or RA-TLS server certificates, which chain to no CA).
 *
 * Every call carries a deadline, so a server that does not answer, refuses
 * the connection or the handshake ends the call with a status (UNAVAILABLE,
 * DEADLINE_EXCEEDED) instead of a hang. The channel keeps its own subchannel
 * pool: a new client always makes its own connection (and handshake), never
 * borrows another client's.
 */
#include "addr.h"
#include "rpc_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#define DEFAULT_DEADLINE_MS 10000u
#define CQ_POOL 8

struct asps_rpc_client {
    grpc_channel *channel;
    unsigned deadline_ms;
    pthread_mutex_t mu;
    grpc_completion_queue *pool[CQ_POOL];
    size_t n_pool;
};

static grpc_channel_credentials *make_creds(const asps_rpc_client_opts *o)
{
    grpc_tls_identity_pairs *pairs = NULL;
    if (o->cert_pem != NULL) {
        pairs = grpc_tls_identity_pairs_create();
        grpc_tls_identity_pairs_add_pair(pairs, o->key_pem, o->cert_pem);
    }
    /* With a verify callback the server's chain is not checked by TLS, so no
     * roots are needed; giving the provider our own certificate as a stand-in
     * root keeps gRPC from loading the system's whole root store for every
     * channel. */
    const char *roots = o->ca_pem != NULL ? o->ca_pem : o->cert_pem;
    grpc_tls_certificate_provider *prov = NULL;
    if (roots != NULL || pairs != NULL) {
        prov = grpc_tls_certificate_provider_static_data_create(roots, pairs);
        if (prov == NULL)
            return NULL;
    }
    grpc_tls_credentials_options *opts = grpc_tls_credentials_options_create();
    if (prov != NULL) {
        grpc_tls_credentials_options_set_certificate_provider(opts, prov);
        if (roots != NULL)
            grpc_tls_credentials_options_watch_root_certs(opts);
        if (pairs != NULL)
            grpc_tls_credentials_options_watch_identity_key_cert_pairs(opts);
        grpc_tls_certificate_provider_release(prov);
    }
    if (o->ca_pem != NULL) {
        /* chain to the CA + gRPC's default hostname check */
        grpc_tls_credentials_options_set_verify_server_cert(opts, 1);
    } else {
        grpc_tls_certificate_verifier *ver = asps_rpc__verifier_new(o->verify, NULL, o->verify_ctx, NULL);
        if (ver == NULL) {
            /* the options have no owner yet: hand them to credentials to free */
            grpc_channel_credentials *tmp = grpc_tls_credentials_create(opts);
            if (tmp)
                grpc_channel_credentials_release(tmp);
            return NULL;
        }
        grpc_tls_credentials_options_set_verify_server_cert(opts, 0);
        grpc_tls_credentials_options_set_certificate_verifier(opts, ver);
        /* the callback is the whole check: no per-call host name match */
        grpc_tls_credentials_options_set_check_call_host(opts, 0);
        grpc_tls_certificate_verifier_release(ver);
    }
    return grpc_tls_credentials_create(opts); /* owns opts */
}

asps_err asps_rpc_client_new(const asps_rpc_client_opts *o, asps_rpc_client **out, asps_errbuf *eb)
{
    if (o == NULL || out == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: client options missing");
    *out = NULL;
    if (o->target == NULL || *o->target == '\0')
        return asps_fail(eb, ASPS_E_ARG, "rpc: client needs a target host:port");
    /* HOST:PORT strictly (addr.h): gRPC would take "host" as port 443 */
    ASPS_TRY(asps_addr_parse("server address", o->target, 0, NULL, eb));
    if ((o->ca_pem != NULL) == (o->verify != NULL))
        return asps_fail(eb, ASPS_E_ARG,
                         "rpc: client needs exactly one of a CA bundle or a verify callback");
    if ((o->cert_pem != NULL) != (o->key_pem != NULL))
        return asps_fail(eb, ASPS_E_ARG, "rpc: client certificate and key go together");
    if (o->server_name != NULL && o->ca_pem == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: a server name is only checked against a CA");
    if (o->max_message_size > (size_t)INT32_MAX)
        return asps_fail(eb, ASPS_E_ARG, "rpc: max message size above 2 GiB");
    if (o->cert_pem != NULL)
        ASPS_TRY(asps_rpc__check_pem_pair(o->cert_pem, o->key_pem, "client", eb));
    if (o->ca_pem != NULL)
        ASPS_TRY(asps_rpc__check_pem_pair(o->ca_pem, NULL, "CA", eb));

    asps_rpc_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    pthread_mutex_init(&c->mu, NULL);
    c->deadline_ms = o->deadline_ms ? o->deadline_ms : DEFAULT_DEADLINE_MS;
    asps_rpc__init_logging();
    grpc_init();

    grpc_channel_credentials *creds = make_creds(o);
    if (creds == NULL) {
        asps_rpc_client_free(c);
        return asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot create TLS channel credentials");
    }
    grpc_arg args[5];
    size_t n = 0;
    memset(args, 0, sizeof args);
    args[n].type = GRPC_ARG_INTEGER;
    args[n].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
    args[n++].value.integer = 1;
    args[n].type = GRPC_ARG_INTEGER;
    args[n].key = (char *)GRPC_ARG_ENABLE_HTTP_PROXY; /* loopback and LAN targets: no proxy */
    args[n++].value.integer = 0;
    args[n].type = GRPC_ARG_INTEGER;
    args[n].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[n++].value.integer =
        (int)(o->max_message_size ? o->max_message_size : ASPS_RPC_DEFAULT_MAX_MESSAGE);
    args[n].type = GRPC_ARG_INTEGER;
    args[n].key = (char *)GRPC_ARG_ENABLE_RETRIES; /* unary, not idempotent by contract */
    args[n++].value.integer = 0;
    if (o->server_name != NULL) {
        args[n].type = GRPC_ARG_STRING;
        args[n].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        args[n++].value.string = (char *)o->server_name;
    }
    grpc_channel_args cargs = {n, args};
    c->channel = grpc_channel_create(o->target, creds, &cargs);
    grpc_channel_credentials_release(creds);
    if (c->channel == NULL) {
        asps_rpc_client_free(c);
        return asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot create channel to %s", o->target);
    }
    *out = c;
    return ASPS_OK;
}

static grpc_completion_queue *take_cq(asps_rpc_client *c)
{
    grpc_completion_queue *cq = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->n_pool > 0)
        cq = c->pool[--c->n_pool];
    pthread_mutex_unlock(&c->mu);
    return cq ? cq : grpc_completion_queue_create_for_pluck(NULL);
}

static void destroy_cq(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

static void give_cq(asps_rpc_client *c, grpc_completion_queue *cq)
{
    pthread_mutex_lock(&c->mu);
    if (c->n_pool < CQ_POOL) {
        c->pool[c->n_pool++] = cq;
        cq = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (cq != NULL)
        destroy_cq(cq);
}

static void set_msg(char *dst, size_t n, const char *src, size_t len)
{
    if (dst == NULL || n == 0)
        return;
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

asps_err asps_rpc_client_call(asps_rpc_client *c, const char *full_method, const uint8_t *req,
                              size_t req_len, int *status, char *status_msg, size_t msglen,
                              uint8_t **reply, size_t *reply_len, asps_errbuf *eb)
{
    return asps_rpc_client_call_pushback(c, full_method, req, req_len, status, status_msg, msglen,
                                         reply, reply_len, NULL, eb);
}

/* gRFC A6 pushback: a non-negative decimal integer of milliseconds, else -1 */
static long pushback_of(const grpc_metadata_array *md)
{
    for (size_t i = 0; i < md->count; i++) {
        const grpc_metadata *m = &md->metadata[i];
        const char *key = ASPS_RPC_RETRY_PUSHBACK_KEY;
        size_t kl = strlen(key), vl = GRPC_SLICE_LENGTH(m->value);
        if (GRPC_SLICE_LENGTH(m->key) != kl || memcmp(GRPC_SLICE_START_PTR(m->key), key, kl) != 0)
            continue;
        const uint8_t *v = GRPC_SLICE_START_PTR(m->value);
        if (vl == 0 || vl > 9)
            return -1;
        long ms = 0;
        for (size_t k = 0; k < vl; k++) {
            if (v[k] < '0' || v[k] > '9')
                return -1;
            ms = ms * 10 + (v[k] - '0');
        }
        return ms;
    }
    return -1;
}

asps_err asps_rpc_client_call_pushback(asps_rpc_client *c, const char *full_method,
                                       const uint8_t *req, size_t req_len, int *status,
                                       char *status_msg, size_t msglen, uint8_t **reply,
                                       size_t *reply_len, long *pushback_ms, asps_errbuf *eb)
{
    if (pushback_ms)
        *pushback_ms = -1;
    if (c == NULL || full_method == NULL || (req == NULL && req_len != 0) || status == NULL ||
        reply == NULL || reply_len == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: bad arguments to call");
    *reply = NULL;
    *reply_len = 0;
    set_msg(status_msg, msglen, "", 0);

    grpc_completion_queue *cq = take_cq(c);
    if (cq == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: cannot create completion queue");
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(c->deadline_ms, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               grpc_slice_from_static_string(full_method), NULL,
                                               deadline, NULL);
    if (call == NULL) {
        give_cq(c, cq);
        return asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot create call %s", full_method);
    }
    grpc_slice req_slice = grpc_slice_from_copied_buffer((const char *)req, req_len);
    grpc_byte_buffer *send_bb = grpc_raw_byte_buffer_create(&req_slice, 1);
    grpc_slice_unref(req_slice);
    grpc_byte_buffer *recv_bb = NULL;
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv_bb;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &st;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;

    asps_err rc = ASPS_OK;
    void *tag = &ops; /* any address unique to this call */
    grpc_call_error e = grpc_call_start_batch(call, ops, 6, tag, NULL);
    if (e != GRPC_CALL_OK) {
        rc = asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot start call: %s",
                       grpc_call_error_to_string(e));
        grpc_call_unref(call);
        goto out;
    }
    /* The call's own deadline ends it; the extra second only guards against
     * a gRPC bug turning into a hang. */
    gpr_timespec guard = gpr_time_add(deadline, gpr_time_from_millis(1000, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, guard, NULL);
    if (ev.type != GRPC_OP_COMPLETE) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_DEADLINE_EXCEEDED, "client gave up", NULL);
        grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    }
    grpc_call_unref(call);

    *status = (int)st;
    if (pushback_ms)
        *pushback_ms = pushback_of(&trailing_md);
    size_t dl = GRPC_SLICE_LENGTH(details);
    if (dl > 0) {
        set_msg(status_msg, msglen, (const char *)GRPC_SLICE_START_PTR(details), dl);
    } else if (error_string != NULL && st != GRPC_STATUS_OK) {
        set_msg(status_msg, msglen, error_string, strlen(error_string));
    }
    if (st == GRPC_STATUS_OK) {
        if (recv_bb == NULL) {
            *status = GRPC_STATUS_INTERNAL;
            set_msg(status_msg, msglen, "server sent no reply message",
                    strlen("server sent no reply message"));
        } else {
            rc = asps_rpc__bb_to_bytes(recv_bb, reply, reply_len, eb);
        }
    }
out:
    if (recv_bb)
        grpc_byte_buffer_destroy(recv_bb);
    grpc_byte_buffer_destroy(send_bb);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_slice_unref(details);
    gpr_free((void *)error_string);
    give_cq(c, cq);
    return rc;
}

void asps_rpc_client_free(asps_rpc_client *c)
{
    if (c == NULL)
        return;
    if (c->channel)
        grpc_channel_destroy(c->channel);
    for (size_t i = 0; i < c->n_pool; i++)
        destroy_cq(c->pool[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
    grpc_shutdown();
}
