/* server.c: the asps gRPC server on gRPC core: mutual TLS, unary methods
 * that move raw bytes, health checks, limits, graceful shutdown.
 *
 * Over 700 lines on purpose: it is one state machine (a call's life from
 * request to release, limits, refusals, drain) around one completion
 * queue, and its pieces share the call struct and the queue's invariants;
 * the handshake and credentials side is in common.c.
 *
 * Owns: the grpc_server, one completion queue, the io threads that drive it,
 * the worker threads that run handlers, and every call in flight.
 * Trusts: gRPC core for HTTP/2 and TLS; the verify callback to decide which
 * client certificates may connect; handlers to decide what a call may do.
 *
 * How a call flows. Each registered method keeps a few requests for new calls
 * outstanding (grpc_server_request_registered_call, payload read up front).
 * When one completes on an io thread, the io thread asks for the next call
 * right away, then either answers at once (health check, unknown method,
 * missing payload, server over its call limit) or queues the call for a
 * worker. The worker runs the handler and sends initial metadata, the reply
 * and the status in one batch together with RECV_CLOSE_ON_SERVER; when that
 * batch completes the call is released. Handlers therefore never block the
 * threads that do network I/O and TLS handshakes, and the call limit counts
 * calls that are queued as well as running.
 *
 * Waiting: a call that finds the limit reached joins a bounded waiting list
 * (max_waiting_calls; beyond it: busy, RESOURCE_EXHAUSTED at once). When a
 * call stops counting (uncount_call), the oldest waiting call takes its
 * slot, and a new call never overtakes a waiting one. A waiting call past
 * the earlier of its own deadline and the server's is answered
 * DEADLINE_EXCEEDED (by the reaper, or when its turn comes); shutdown
 * answers the waiting calls UNAVAILABLE at once, so the drain bound holds.
 *
 * Refused clients (refuse_in_calls): the verify callback's refusal does not
 * fail the TLS handshake; common.c keeps it per certificate, and on_new_call
 * answers every call of such a connection (and of one without a client
 * certificate) itself, before any handler or health check runs. So a
 * refused client gets a status that says why, not a closed socket.
 *
 * Connections: each call's connection gets an id from a bounded table that
 * pins the connection's auth context (conns.c; asps_rpc_call_connection_id
 * for handlers, the verdict hints of refuse_in_calls), released in
 * stop_threads once gRPC's server is destroyed.
 *
 * Deadlines: io thread 0 wakes at least every REAP_INTERVAL_MS, answers
 * waiting calls past their deadline and cancels
 * (DEADLINE_EXCEEDED) calls older than the configured call deadline; a worker
 * that picks up an already expired call does not run its handler.
 *
 * Shutdown: grpc_server_shutdown_and_notify stops new connections and calls;
 * in-flight calls get drain_ms to finish, then are cancelled; once gRPC
 * reports the server idle the workers and io threads stop. Shutdown is
 * bounded: a handler that has not returned ABANDON_GRACE_MS after the
 * cancel (blocked where nothing reaches it) is abandoned: shutdown logs
 * which calls it left, returns, and leaves threads and gRPC objects alone
 * (they are in use); the process is expected to exit, and
 * asps_rpc_server_free waits for those handlers before freeing anything.
 */
#include "addr.h"
#include "rpc_internal.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <openssl/crypto.h>

#define DEFAULT_MAX_CALLS 256u
#define DEFAULT_CALL_DEADLINE_MS 30000u
#define DEFAULT_WORKERS 4u
#define DEFAULT_IO_THREADS 2u
#define DEFAULT_VERIFY_THREADS 4u
#define DEFAULT_HANDSHAKE_MS 10000u
#define MAX_THREADS 256u
#define REAP_INTERVAL_MS 100
#define DEADLINE_SLACK_MS 1000 /* see on_close */
#define ABANDON_GRACE_MS 1000
#define MAX_METHODS 64
#define VERDICTS 4096 /* refused certificates remembered (refuse_in_calls) */
#define IDLE_CLOSE_MS 10000 /* refuse_in_calls: a connection without calls this long is closed */
#define STR_(x) #x
#define STR(x) STR_(x)

enum tag_kind { TAG_NEW_CALL, TAG_PAYLOAD, TAG_DONE, TAG_CLOSE, TAG_SHUTDOWN };

/* Completion-queue tags point at one of these, embedded in a larger struct. */
struct tag {
    enum tag_kind kind;
};

enum method_kind { M_USER, M_HEALTH, M_GENERIC };

struct method {
    enum method_kind kind;
    char *path;    /* "/pkg.Service/Method" */
    char *service; /* "pkg.Service" */
    asps_rpc_handler_fn fn;
    void *ctx;
    void *reg; /* grpc_server_register_method handle (NULL for generic) */
};

struct call {
    struct tag new_tag; /* TAG_NEW_CALL: the requested call arrived (or not) */
    struct tag payload_tag; /* TAG_PAYLOAD: its request message was read (or not) */
    struct tag done_tag; /* TAG_DONE: the final batch completed */
    struct tag close_tag; /* TAG_CLOSE: the early RECV_CLOSE_ON_SERVER completed */
    asps_rpc_server *s;
    struct method *m;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array req_md;
    grpc_call_details details; /* generic calls only */
    grpc_byte_buffer *payload;
    grpc_byte_buffer *reply_bb;
    grpc_slice status_details;
    int have_details;
    grpc_metadata trailer; /* retry pushback (server busy), static slices */
    int have_trailer;
    char *peer; /* gpr_malloc'd: read before the message, which may cancel the call */
    uint64_t conn_id; /* its connection's (conn_id()); 0 until asked */
    /* the connection's auth context (a reference) and the peer's
     * certificate in it, taken once when the call arrives (refuse_call)
     * and kept for its handler: NULL until then, released with the call */
    grpc_auth_context *actx;
    const char *pem;
    int cancelled;  /* out of RECV_CLOSE_ON_SERVER */
    /* A call that waits for a slot learns at once when its client goes
     * away: its RECV_CLOSE_ON_SERVER is started when it begins waiting
     * (early_close), not with its final batch, so a cancelled waiting call
     * is dropped instead of running its handler for nobody (and auditing a
     * release nobody received). It is then freed after two completions,
     * the close and the final batch (pending, under mu). */
    int early_close;
    int closed; /* the early close completed (under mu) */
    int pending;
    int counted;    /* counts against max_concurrent_calls; on the inflight list */
    int reaped;     /* already cancelled for its deadline */
    int in_handler; /* a worker took it (under mu) */
    int waiting;    /* on the waiting list (under mu) */
    int64_t started_ms;
    int64_t wait_until_ms;    /* waiting: the earlier of its own and the server's deadline */
    struct call *prev, *next; /* inflight list, or waiting list */
    struct call *qnext;       /* worker queue */
};

struct asps_rpc_server {
    /* configuration (immutable after start) */
    char *listen_addr;
    char *cert_pem;
    char *key_pem;
    char *client_ca_pem;
    asps_rpc__identity *identity; /* what gRPC reads cert_pem and key_pem from */
    asps_rpc_verify_fn verify;
    asps_rpc_verify_fn verify_now;
    void *verify_ctx;
    size_t max_message;
    size_t memory_quota;
    unsigned max_calls;
    unsigned max_waiting;
    int64_t call_deadline_ms;
    unsigned n_workers, n_io, n_verify;
    unsigned handshake_ms;
    int refuse_in_calls;
    asps_rpc_refused_fn on_refused;
    void *on_refused_ctx;
    struct method methods[MAX_METHODS];
    size_t n_methods;

    /* gRPC objects */
    int grpc_inited;
    asps_rpc__vpool *vpool; /* runs the verify callback off the io threads */
    asps_rpc__conns *conns; /* connection ids: pins auth contexts until stop_threads */
    grpc_server *server;
    grpc_completion_queue *cq;
    struct tag shutdown_tag;

    /* threads */
    pthread_t *io_threads;
    unsigned io_started;
    pthread_t *workers;
    unsigned workers_started;

    /* shared state, under mu */
    pthread_mutex_t mu;
    pthread_cond_t work_cv;     /* workers wait for jobs */
    pthread_cond_t shutdown_cv; /* shutdown waits for the server to go idle */
    struct call *q_head, *q_tail;
    struct call *inflight; /* counted calls, for the deadline reaper */
    unsigned active;
    /* calls over max_concurrent_calls waiting for a slot, oldest first
     * (doubly linked through prev/next; tail for appending) */
    struct call *waiting, *waiting_tail;
    unsigned n_waiting;
    uint64_t waited_total, busy_total; /* asps_rpc_server_load */
    int shutting_down; /* no more requests for new calls */
    int cancel_all;    /* drain time is over: do not run handlers any more */
    int server_idle;   /* the shutdown tag completed */
    int workers_stop;
    int started;
    int start_failed;
    int stopped;
    unsigned abandoned; /* handlers still running when shutdown gave up */
};

static void log_err(const char *what, const char *detail)
{
    asps_log(ASPS_LOG_ERROR, "rpc", "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

/* ---- setup ----------------------------------------------------------------------- */

static void release_auth_context(void *actx) { grpc_auth_context_release(actx); }

asps_err asps_rpc_server_new(const asps_rpc_server_opts *o, asps_rpc_server **out, asps_errbuf *eb)
{
    if (o == NULL || out == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: server options missing");
    *out = NULL;
    if (o->listen_addr == NULL || o->cert_chain_pem == NULL || o->key_pem == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: server needs a listen address, certificate and key");
    /* HOST:PORT strictly (addr.h): gRPC takes "127.0.0.1:99999" as port
     * 34463 and "localhost" as 443; port 0 picks a free one */
    ASPS_TRY(asps_addr_parse("listen", o->listen_addr, ASPS_ADDR_PORT_ZERO, NULL, eb));
    if (o->verify == NULL && o->client_ca_pem == NULL)
        return asps_fail(eb, ASPS_E_ARG,
                         "rpc: server needs a client certificate verify function or client CA");
    if (o->refuse_in_calls && (o->verify == NULL || o->client_ca_pem != NULL))
        return asps_fail(eb, ASPS_E_ARG,
                         "rpc: refuse_in_calls needs a verify function and no client CA");
    if (o->worker_threads > MAX_THREADS || o->io_threads > MAX_THREADS ||
        o->verify_threads > MAX_THREADS)
        return asps_fail(eb, ASPS_E_ARG, "rpc: at most %u threads of each kind", MAX_THREADS);
    if (o->max_message_size > (size_t)INT32_MAX)
        return asps_fail(eb, ASPS_E_ARG, "rpc: max message size above 2 GiB");
    ASPS_TRY(asps_rpc__check_pem_pair(o->cert_chain_pem, o->key_pem, "server", eb));
    if (o->client_ca_pem != NULL)
        ASPS_TRY(asps_rpc__check_pem_pair(o->client_ca_pem, NULL, "client CA", eb));

    asps_rpc_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    int fail = 0;
    s->listen_addr = asps_rpc__dup(o->listen_addr, &fail);
    s->cert_pem = asps_rpc__dup(o->cert_chain_pem, &fail);
    s->key_pem = asps_rpc__dup(o->key_pem, &fail);
    s->client_ca_pem = asps_rpc__dup(o->client_ca_pem, &fail);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    pthread_cond_init(&s->shutdown_cv, NULL);
    s->conns = asps_rpc__conns_new(ASPS_RPC_CONNECTION_IDS, release_auth_context);
    if (fail || s->conns == NULL) {
        asps_rpc_server_free(s);
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    }
    s->verify = o->verify;
    s->verify_ctx = o->verify_ctx;
    s->verify_now = o->verify ? o->verify_now : NULL;
    s->max_message = o->max_message_size ? o->max_message_size : ASPS_RPC_DEFAULT_MAX_MESSAGE;
    s->memory_quota = o->memory_quota_bytes ? o->memory_quota_bytes : ASPS_RPC_DEFAULT_MEMORY_QUOTA;
    s->max_calls = o->max_concurrent_calls ? o->max_concurrent_calls : DEFAULT_MAX_CALLS;
    s->max_waiting = o->max_waiting_calls;
    s->call_deadline_ms = o->call_deadline_ms ? o->call_deadline_ms : DEFAULT_CALL_DEADLINE_MS;
    s->n_workers = o->worker_threads ? o->worker_threads : DEFAULT_WORKERS;
    s->n_io = o->io_threads ? o->io_threads : DEFAULT_IO_THREADS;
    s->n_verify = o->verify_threads ? o->verify_threads : DEFAULT_VERIFY_THREADS;
    s->handshake_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms : DEFAULT_HANDSHAKE_MS;
    s->refuse_in_calls = o->refuse_in_calls != 0;
    s->on_refused = o->on_refused;
    s->on_refused_ctx = o->on_refused_ctx;
    s->shutdown_tag.kind = TAG_SHUTDOWN;

    asps_rpc__init_logging();
    /* before gRPC makes the SSL_CTX of the server's credentials (at start);
     * said once, by whoever called it first (asps serve, early) */
    (void)asps_rpc_tls_tickets_off(NULL, 0);
    grpc_init();
    s->grpc_inited = 1;
    *out = s;
    return ASPS_OK;
}

/* "/pkg.Service/Method" -> "pkg.Service"; NULL if the path is not of that form. */
static char *service_of(const char *path)
{
    if (path[0] != '/')
        return NULL;
    const char *slash = strchr(path + 1, '/');
    if (slash == NULL || slash == path + 1 || slash[1] == '\0' || strchr(slash + 1, '/'))
        return NULL;
    return strndup(path + 1, (size_t)(slash - path - 1));
}

static asps_err add_method(asps_rpc_server *s, enum method_kind kind, const char *path,
                           asps_rpc_handler_fn fn, void *ctx, asps_errbuf *eb)
{
    if (s->n_methods >= MAX_METHODS)
        return asps_fail(eb, ASPS_E_LIMIT, "rpc: at most %d methods", MAX_METHODS);
    struct method *m = &s->methods[s->n_methods];
    memset(m, 0, sizeof *m);
    m->kind = kind;
    if (path != NULL) {
        m->path = strdup(path);
        m->service = service_of(path);
        if (m->path == NULL || m->service == NULL) {
            free(m->path);
            free(m->service);
            return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
        }
    }
    m->fn = fn;
    m->ctx = ctx;
    s->n_methods++;
    return ASPS_OK;
}

asps_err asps_rpc_server_add_method(asps_rpc_server *s, const char *full_method,
                                    asps_rpc_handler_fn fn, void *ctx, asps_errbuf *eb)
{
    if (s == NULL || full_method == NULL || fn == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: add_method needs a server, a path and a handler");
    if (s->started)
        return asps_fail(eb, ASPS_E_ARG, "rpc: methods must be added before start");
    char *svc = service_of(full_method);
    if (svc == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: method path must look like /pkg.Service/Method");
    free(svc);
    if (strcmp(full_method, ASPS_RPC_METHOD_HEALTH_CHECK) == 0)
        return asps_fail(eb, ASPS_E_ARG, "rpc: the health check is built in");
    for (size_t i = 0; i < s->n_methods; i++)
        if (s->methods[i].path && strcmp(s->methods[i].path, full_method) == 0)
            return asps_fail(eb, ASPS_E_ARG, "rpc: method %s added twice", full_method);
    return add_method(s, M_USER, full_method, fn, ctx, eb);
}

static grpc_server_credentials *make_creds(asps_rpc_server *s, asps_errbuf *eb, asps_err *rc)
{
    /* Without a client CA there are no root certificates: the server requires
     * a client certificate but leaves all judgement of it to the verifier
     * (RA-TLS certificates are self-signed; their trust comes from the quote
     * inside). TLS itself still checks that the client holds the
     * certificate's private key. OpenSSL's own verdict on the certificate
     * (an unknown critical extension among it) is set aside in this mode:
     * the verifier decides, by asps's list (ratls.c; test_rpc pins it). */
    /* a provider whose pair asps_rpc_server_set_identity can replace */
    grpc_tls_certificate_provider *prov = NULL;
    if (s->identity == NULL &&
        (*rc = asps_rpc__identity_new(s->cert_pem, s->key_pem, s->client_ca_pem, &s->identity,
                                      eb)) != ASPS_OK)
        return NULL;
    prov = asps_rpc__identity_provider(s->identity);
    grpc_tls_certificate_verifier *ver = NULL;
    if (s->verify != NULL)
        ver = asps_rpc__verifier_new(s->verify, s->verify_now, s->verify_ctx, s->vpool);
    if (prov == NULL || (s->verify != NULL && ver == NULL)) {
        if (prov)
            grpc_tls_certificate_provider_release(prov);
        if (ver)
            grpc_tls_certificate_verifier_release(ver);
        *rc = asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot create TLS provider or verifier");
        return NULL;
    }
    grpc_tls_credentials_options *opts = grpc_tls_credentials_options_create();
    grpc_tls_credentials_options_set_certificate_provider(opts, prov);
    grpc_tls_credentials_options_watch_identity_key_cert_pairs(opts);
    if (s->client_ca_pem != NULL) {
        grpc_tls_credentials_options_watch_root_certs(opts);
        grpc_tls_credentials_options_set_cert_request_type(
            opts, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    } else if (s->refuse_in_calls) {
        /* a client without a certificate still connects, to be told so */
        grpc_tls_credentials_options_set_cert_request_type(
            opts, GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
    } else {
        grpc_tls_credentials_options_set_cert_request_type(
            opts, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
    }
    if (ver != NULL)
        grpc_tls_credentials_options_set_certificate_verifier(opts, ver);
    grpc_server_credentials *creds = grpc_tls_server_credentials_create(opts); /* owns opts */
    grpc_tls_certificate_provider_release(prov);
    if (ver != NULL)
        grpc_tls_certificate_verifier_release(ver);
    if (creds == NULL)
        *rc = asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot create TLS server credentials");
    return creds;
}

/* ---- calls ----------------------------------------------------------------------- */

static void release_call(struct call *c);
static const char *call_cert(grpc_call *call, grpc_auth_context **actx);

static void request_call(asps_rpc_server *s, struct method *m)
{
    struct call *c = calloc(1, sizeof *c);
    if (c == NULL) {
        log_err("out of memory requesting a call", m->path);
        return;
    }
    c->new_tag.kind = TAG_NEW_CALL;
    c->payload_tag.kind = TAG_PAYLOAD;
    c->done_tag.kind = TAG_DONE;
    c->close_tag.kind = TAG_CLOSE;
    c->s = s;
    c->m = m;
    grpc_metadata_array_init(&c->req_md);
    grpc_call_error e;
    if (m->kind == M_GENERIC) {
        grpc_call_details_init(&c->details);
        e = grpc_server_request_call(s->server, &c->call, &c->details, &c->req_md, s->cq, s->cq,
                                     &c->new_tag);
    } else {
        e = grpc_server_request_registered_call(s->server, m->reg, &c->call, &c->deadline,
                                                &c->req_md, NULL, s->cq, s->cq, &c->new_tag);
    }
    if (e != GRPC_CALL_OK) {
        log_err("cannot request a call", grpc_call_error_to_string(e));
        release_call(c);
    }
}

/* Under mu: count the call against max_concurrent_calls and queue it for a
 * worker. */
static void admit_locked(asps_rpc_server *s, struct call *c)
{
    s->active++;
    c->counted = 1;
    c->prev = NULL;
    c->next = s->inflight;
    if (s->inflight)
        s->inflight->prev = c;
    s->inflight = c;
    c->qnext = NULL;
    if (s->q_tail)
        s->q_tail->qnext = c;
    else
        s->q_head = c;
    s->q_tail = c;
    pthread_cond_signal(&s->work_cv);
}

/* Under mu: take the call off the waiting list. */
static void unwait_locked(asps_rpc_server *s, struct call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->waiting = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->waiting_tail = c->prev;
    c->prev = c->next = NULL;
    c->waiting = 0;
    s->n_waiting--;
}

static void refuse_by_server(struct call *c, int status, const char *msg, int retry, int pushback);

/* A waiting call's deadline (its own or the server's) passed: refused and
 * told so. */
static void refuse_waited_deadline(struct call *c)
{
    char msg[160];
    snprintf(msg, sizeof msg,
             "deadline exceeded while waiting: the server was at its limit of %u concurrent calls",
             c->s->max_calls);
    refuse_by_server(c, GRPC_STATUS_DEADLINE_EXCEEDED, msg, 1, 0);
}

/* Answer the calls of a list (linked through qnext, newest first as the
 * callers build it) that waited past their deadline, or that wait when the
 * server shuts down, oldest first. Not under mu. */
static void refuse_waited(struct call *list, int shutting_down)
{
    struct call *oldest = NULL;
    while (list != NULL) { /* reverse: arrival order */
        struct call *c = list;
        list = c->qnext;
        c->qnext = oldest;
        oldest = c;
    }
    list = oldest;
    while (list != NULL) {
        struct call *c = list;
        list = c->qnext;
        c->qnext = NULL;
        if (shutting_down) {
            refuse_by_server(c, GRPC_STATUS_UNAVAILABLE, "server shutting down", 1, 0);
        } else {
            refuse_waited_deadline(c);
        }
    }
}

/* Under mu: admit waiting calls, oldest first, while there are free slots;
 * those already past their deadline go to *expired (through qnext). */
static void admit_waiting_locked(asps_rpc_server *s, struct call **expired)
{
    int64_t now = asps_rpc__now_ms();
    while (s->waiting != NULL && s->active < s->max_calls && !s->shutting_down) {
        struct call *c = s->waiting;
        unwait_locked(s, c);
        if (now >= c->wait_until_ms) {
            c->qnext = *expired;
            *expired = c;
        } else {
            admit_locked(s, c);
        }
    }
}

/* The call stops counting against max_concurrent_calls. Done as soon as its
 * answer is decided, before it is sent: a client that has its answer may
 * call again at once and must find the slot free (or the oldest waiting
 * call takes it). */
static void uncount_call(struct call *c)
{
    asps_rpc_server *s = c->s;
    struct call *expired = NULL;
    pthread_mutex_lock(&s->mu);
    if (c->counted) {
        if (c->prev)
            c->prev->next = c->next;
        else
            s->inflight = c->next;
        if (c->next)
            c->next->prev = c->prev;
        c->prev = c->next = NULL;
        c->counted = 0;
        s->active--;
        admit_waiting_locked(s, &expired);
        if (s->inflight == NULL && s->shutting_down)
            pthread_cond_broadcast(&s->shutdown_cv); /* see wait_idle */
    }
    pthread_mutex_unlock(&s->mu);
    refuse_waited(expired, 0);
}

/* Frees everything the call holds; c->call may be NULL (never arrived). */
static void release_call(struct call *c)
{
    uncount_call(c);
    if (c->call)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->req_md);
    if (c->m->kind == M_GENERIC)
        grpc_call_details_destroy(&c->details);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->actx)
        grpc_auth_context_release(c->actx);
    if (c->reply_bb)
        grpc_byte_buffer_destroy(c->reply_bb);
    if (c->have_details)
        grpc_slice_unref(c->status_details);
    gpr_free(c->peer);
    free(c);
}

/* One of an early-close call's two completions (the close, the final
 * batch) is done: the call is freed after the second. */
static void complete_one(struct call *c)
{
    asps_rpc_server *s = c->s;
    pthread_mutex_lock(&s->mu);
    int last = --c->pending == 0;
    pthread_mutex_unlock(&s->mu);
    if (last)
        release_call(c);
}

/* Send the reply (if status is OK) and the status in one batch, with the
 * retry pushback trailer when PUSHBACK. Takes ownership of reply (malloc'd).
 * The call is released when the batch completes. */
static void finish_call_md(struct call *c, int status, const char *msg, uint8_t *reply,
                           size_t reply_len, int pushback)
{
    uncount_call(c);
    grpc_op ops[4];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].data.send_initial_metadata.count = 0;
    n++;
    if (status == GRPC_STATUS_OK) {
        grpc_slice sl = reply != NULL && reply_len > 0
                            ? grpc_slice_new_with_len(reply, reply_len, asps_cleanse_free)
                            : grpc_empty_slice();
        if (reply != NULL && reply_len == 0)
            free(reply);
        reply = NULL;
        c->reply_bb = grpc_raw_byte_buffer_create(&sl, 1);
        grpc_slice_unref(sl);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->reply_bb;
        n++;
    } else if (reply != NULL) {
        asps_cleanse_free(reply, reply_len);
    }
    if (msg != NULL && *msg != '\0') {
        c->status_details = grpc_slice_from_copied_string(msg);
        c->have_details = 1;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    if (pushback) {
        c->trailer.key = grpc_slice_from_static_string(ASPS_RPC_RETRY_PUSHBACK_KEY);
        c->trailer.value = grpc_slice_from_static_string(STR(ASPS_RPC_BUSY_PUSHBACK_MS));
        c->have_trailer = 1;
        ops[n].data.send_status_from_server.trailing_metadata_count = 1;
        ops[n].data.send_status_from_server.trailing_metadata = &c->trailer;
    }
    ops[n].data.send_status_from_server.status = (grpc_status_code)status;
    ops[n].data.send_status_from_server.status_details = c->have_details ? &c->status_details : NULL;
    n++;
    if (!c->early_close) { /* else already started (see struct call) */
        ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
        n++;
    }
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, &c->done_tag, NULL);
    if (e != GRPC_CALL_OK) {
        log_err("cannot finish a call", grpc_call_error_to_string(e));
        if (c->early_close)
            complete_one(c);
        else
            release_call(c);
    }
}

static void finish_call(struct call *c, int status, const char *msg, uint8_t *reply,
                        size_t reply_len)
{
    finish_call_md(c, status, msg, reply, reply_len, 0);
}

/* The method path of a call (malloc'd by gpr for generic calls, *owned set). */
static const char *method_of(struct call *c, char **owned)
{
    *owned = NULL;
    if (c->m->kind == M_GENERIC)
        *owned = grpc_slice_to_c_string(c->details.method);
    return *owned ? *owned : c->m->path ? c->m->path : "?";
}

/* Refuse a call without a handler (see asps_rpc_refused_fn): the server
 * tells on_refused (an audit line in asps), then answers. RETRY: the
 * server's passing state; PUSHBACK: also send gRPC's retry pushback. */
static void refuse_by_server(struct call *c, int status, const char *msg, int retry, int pushback)
{
    asps_rpc_server *s = c->s;
    if (s->on_refused != NULL) {
        grpc_auth_context *actx;
        const char *pem = call_cert(c->call, &actx);
        char *peer = c->peer ? NULL : grpc_call_get_peer(c->call);
        char *owned;
        const char *method = method_of(c, &owned);
        s->on_refused(s->on_refused_ctx, pem, c->peer ? c->peer : peer ? peer : "", method, status,
                      msg, retry);
        gpr_free(owned);
        gpr_free(peer);
        if (actx != NULL)
            grpc_auth_context_release(actx);
    }
    finish_call_md(c, status, msg, NULL, 0, pushback);
}

/* Health: SERVING for the server as a whole ("") and for every service with a
 * registered method; NOT_FOUND for other names, as the health protocol says. */
static void serve_health(struct call *c)
{
    asps_rpc_server *s = c->s;
    uint8_t *req = NULL, *reply = NULL;
    size_t req_len = 0, reply_len = 0;
    char *service = NULL;
    asps_errbuf eb = {{0}};
    if (asps_rpc__bb_to_bytes(c->payload, &req, &req_len, &eb) != ASPS_OK ||
        asps_rpc__decode_health_request(req, req_len, &service, &eb) != ASPS_OK) {
        free(req);
        char msg[sizeof eb.msg + 32];
        snprintf(msg, sizeof msg, "malformed HealthCheckRequest: %s", eb.msg);
        refuse_by_server(c, GRPC_STATUS_INVALID_ARGUMENT, msg, 0, 0);
        return;
    }
    free(req);
    int known = service[0] == '\0' || strcmp(service, "grpc.health.v1.Health") == 0;
    for (size_t i = 0; i < s->n_methods && !known; i++)
        if (s->methods[i].kind == M_USER && strcmp(s->methods[i].service, service) == 0)
            known = 1;
    free(service);
    if (!known) {
        finish_call(c, GRPC_STATUS_NOT_FOUND, "unknown service", NULL, 0);
        return;
    }
    if (asps_rpc__encode_health_reply(ASPS_RPC_HEALTH_SERVING, &reply, &reply_len, &eb) != ASPS_OK) {
        finish_call(c, GRPC_STATUS_INTERNAL, "cannot encode health reply", NULL, 0);
        return;
    }
    finish_call(c, GRPC_STATUS_OK, NULL, reply, reply_len);
}

/* The leaf certificate of the call's connection (PEM) from its auth
 * context, or NULL; *actx must be released by the caller when non-NULL. */
static const char *call_cert(grpc_call *call, grpc_auth_context **actx)
{
    *actx = grpc_call_auth_context(call);
    if (*actx == NULL)
        return NULL;
    grpc_auth_property_iterator it =
        grpc_auth_context_find_properties_by_name(*actx, GRPC_X509_PEM_CERT_PROPERTY_NAME);
    const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
    return p != NULL && p->value != NULL && p->value[0] != '\0' ? p->value : NULL;
}

/* What a pinned auth context may hold: its properties' bytes (names and
 * values: the peer's certificate as PEM, its subject, each
 * subjectAltName...) and their number. A simulated-platform RA-TLS
 * certificate's context: about 13 KB, a handful of properties. A bigger
 * one is not pinned: its calls go by the certificate's hash, as ever,
 * and the table holds at most ASPS_RPC_CONNECTION_IDS x this much. */
#define PIN_MAX_BYTES (32 * 1024)
#define PIN_MAX_PROPERTIES 64

static int pin_worthy(const grpc_auth_context *actx)
{
    grpc_auth_property_iterator it = grpc_auth_context_property_iterator(actx);
    size_t bytes = 0, n = 0;
    for (const grpc_auth_property *p; (p = grpc_auth_property_iterator_next(&it)) != NULL;) {
        bytes += (p->name ? strlen(p->name) : 0) + p->value_length;
        if (++n > PIN_MAX_PROPERTIES || bytes > PIN_MAX_BYTES)
            return 0;
    }
    return 1;
}

/* The id of the call's connection (asps_rpc_call_connection_id), from its
 * auth context ACTX (the caller's reference): the table keeps a reference
 * of its own (another one from the call: the same object, see conns.c).
 * Only calls that reach a handler pin their connection (refuse_call only
 * looks), and only a context of at most PIN_MAX_BYTES: so a client the
 * server refuses, or one with a huge certificate, holds no memory here
 * after it goes. 0 when the call has no auth context or is not pinned. */
static uint64_t conn_id(asps_rpc_server *s, struct call *c, grpc_auth_context *actx)
{
    if (c->conn_id != 0 || actx == NULL)
        return c->conn_id;
    uint64_t id = asps_rpc__conns_find(s->conns, actx);
    if (id == 0 && pin_worthy(actx)) {
        grpc_auth_context *ref = grpc_call_auth_context(c->call);
        if (ref == actx)
            id = asps_rpc__conns_add(s->conns, ref);
        else if (ref != NULL)
            grpc_auth_context_release(ref);
    }
    c->conn_id = id;
    return id;
}

/* refuse_in_calls: answer the call here if its connection's certificate was
 * refused or is missing; 1 if answered. A call that passes keeps the auth
 * context and the connection id it was looked up by, for run_call: one
 * lookup per call, not two. */
static int refuse_call(asps_rpc_server *s, struct call *c)
{
    grpc_auth_context *actx;
    const char *pem = call_cert(c->call, &actx);
    char msg[300];
    int status;
    uint64_t id = 0;
    if (pem == NULL) {
        status = GRPC_STATUS_UNAUTHENTICATED;
        snprintf(msg, sizeof msg, "no client certificate: this server needs an RA-TLS client "
                                  "certificate");
    } else {
        /* looked up, never pinned here: a refused connection must not hold
         * its auth context (and its certificate) in the table */
        id = c->conn_id ? c->conn_id : asps_rpc__conns_find(s->conns, actx);
        status = asps_rpc__vpool_verdict(s->vpool, pem, id, msg, sizeof msg);
    }
    if (status != 0) {
        if (actx != NULL)
            grpc_auth_context_release(actx);
        refuse_by_server(c, status, msg, status == GRPC_STATUS_UNAVAILABLE, 0);
        return 1;
    }
    c->actx = actx; /* released with the call (release_call) */
    c->pem = pem;
    c->conn_id = id;
    return 0;
}

/* On an io thread: a requested call arrived (ok) or the server is shutting
 * down (!ok). */
static void on_payload(asps_rpc_server *s, struct call *c, int ok);

static void on_new_call(asps_rpc_server *s, struct call *c, int ok)
{
    if (!ok) {
        release_call(c);
        return;
    }
    pthread_mutex_lock(&s->mu);
    int shutting_down = s->shutting_down;
    pthread_mutex_unlock(&s->mu);
    if (!shutting_down)
        request_call(s, c->m);

    if (s->refuse_in_calls && refuse_call(s, c))
        return;
    if (c->m->kind == M_GENERIC) {
        refuse_by_server(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method", 0, 0);
        return;
    }
    /* The request message is read here, not by gRPC before the call is
     * handed over (GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER): gRPC drops a
     * call whose message is over the limit before handing it over, and the
     * server must see every call it refuses. */
    c->peer = grpc_call_get_peer(c->call);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->payload;
    grpc_call_error e = grpc_call_start_batch(c->call, &op, 1, &c->payload_tag, NULL);
    if (e != GRPC_CALL_OK) {
        log_err("cannot read a request message", grpc_call_error_to_string(e));
        refuse_by_server(c, GRPC_STATUS_INTERNAL, "cannot read the request message", 0, 0);
    }
}

/* On an io thread: the request message of a call was read (ok, payload set),
 * was missing (ok, payload NULL: the client closed without one), or could
 * not be read (!ok: over max_message_bytes, gRPC has cancelled the call
 * RESOURCE_EXHAUSTED, or the client cancelled). */
static void on_payload(asps_rpc_server *s, struct call *c, int ok)
{
    if (!ok || c->payload == NULL) {
        char msg[160];
        if (ok)
            snprintf(msg, sizeof msg, "request message missing");
        else
            snprintf(msg, sizeof msg,
                     "request message not received: larger than max_message_bytes (%zu) or "
                     "the call was cancelled",
                     s->max_message);
        if (c->m->kind == M_HEALTH && ok) {
            serve_health(c); /* no message: the empty HealthCheckRequest */
            return;
        }
        refuse_by_server(c, ok ? GRPC_STATUS_INVALID_ARGUMENT : GRPC_STATUS_RESOURCE_EXHAUSTED, msg,
                         0, 0);
        return;
    }
    if (c->m->kind == M_HEALTH) {
        serve_health(c);
        return;
    }
    /* the call's own deadline, if it has one, as milliseconds from now */
    int64_t own_left = -1;
    gpr_timespec dl = gpr_convert_clock_type(c->deadline, GPR_CLOCK_MONOTONIC);
    if (gpr_time_cmp(dl, gpr_inf_future(GPR_CLOCK_MONOTONIC)) < 0) {
        own_left = gpr_time_to_millis(gpr_time_sub(dl, gpr_now(GPR_CLOCK_MONOTONIC)));
        if (own_left < 0)
            own_left = 0;
    }
    pthread_mutex_lock(&s->mu);
    c->started_ms = asps_rpc__now_ms();
    /* first come, first served: a slot goes to a waiting call before a new one */
    if (s->active < s->max_calls && s->waiting == NULL) {
        admit_locked(s, c);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (s->n_waiting < s->max_waiting && !s->shutting_down) {
        /* wait for a slot until the earlier of its own deadline and the
         * server's call deadline (counted from now, as for a running call) */
        c->wait_until_ms = c->started_ms + s->call_deadline_ms;
        if (own_left >= 0 && c->started_ms + own_left < c->wait_until_ms)
            c->wait_until_ms = c->started_ms + own_left;
        c->waiting = 1;
        c->next = NULL;
        c->prev = s->waiting_tail;
        if (s->waiting_tail)
            s->waiting_tail->next = c;
        else
            s->waiting = c;
        s->waiting_tail = c;
        s->n_waiting++;
        s->waited_total++;
        c->early_close = 1;
        c->pending = 2;
        pthread_mutex_unlock(&s->mu);
        /* told when the client goes away while it waits (see struct call);
         * a worker may already have taken it: the final batch leaves the
         * close to this one either way */
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        op.data.recv_close_on_server.cancelled = &c->cancelled;
        grpc_call_error e = grpc_call_start_batch(c->call, &op, 1, &c->close_tag, NULL);
        if (e != GRPC_CALL_OK) {
            log_err("cannot watch a waiting call", grpc_call_error_to_string(e));
            pthread_mutex_lock(&s->mu);
            c->closed = 1; /* nothing will tell: it runs (or times out) as before */
            pthread_mutex_unlock(&s->mu);
            complete_one(c);
        }
        return;
    }
    unsigned limit = s->max_calls;
    s->busy_total++;
    pthread_mutex_unlock(&s->mu);
    char msg[128];
    snprintf(msg, sizeof msg, "server busy: too many calls (limit %u); retry later", limit);
    refuse_by_server(c, GRPC_STATUS_RESOURCE_EXHAUSTED, msg, 1, 1);
}

/* The deadline and connection id of the call this thread's handler is
 * running for (see asps_rpc_call_deadline_mono_ms,
 * asps_rpc_call_connection_id); 0 between calls. */
static _Thread_local int64_t tl_call_deadline;
static _Thread_local uint64_t tl_call_conn;

int64_t asps_rpc_call_deadline_mono_ms(void) { return tl_call_deadline; }

uint64_t asps_rpc_call_connection_id(void) { return tl_call_conn; }

/* C's deadline on asps_rpc__now_ms's clock: the server's, or the client's
 * when that comes first (gRPC's own clock converted through what is left). */
static int64_t call_deadline(const asps_rpc_server *s, const struct call *c)
{
    int64_t d = c->started_ms + s->call_deadline_ms;
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
    gpr_timespec dl = gpr_convert_clock_type(c->deadline, GPR_CLOCK_MONOTONIC);
    if (gpr_time_cmp(dl, gpr_inf_future(GPR_CLOCK_MONOTONIC)) != 0) {
        int64_t left = gpr_time_to_millis(gpr_time_sub(dl, now));
        int64_t client = asps_rpc__now_ms() + left;
        if (client < d)
            d = client;
    }
    return d;
}

/* On a worker: run the handler of a queued call and answer it. */
static void run_call(asps_rpc_server *s, struct call *c, int cancel_all)
{
    if (cancel_all) {
        refuse_by_server(c, GRPC_STATUS_UNAVAILABLE, "server shutting down", 1, 0);
        return;
    }
    if (asps_rpc__now_ms() - c->started_ms >= s->call_deadline_ms) {
        refuse_by_server(c, GRPC_STATUS_DEADLINE_EXCEEDED, "call deadline exceeded while queued", 1, 0);
        return;
    }
    pthread_mutex_lock(&s->mu);
    int gone = c->closed && c->cancelled;
    pthread_mutex_unlock(&s->mu);
    if (gone) { /* it waited, was admitted, then its client went away */
        refuse_by_server(c, GRPC_STATUS_CANCELLED, "cancelled by the client before it ran", 0, 0);
        return;
    }
    uint8_t *req = NULL;
    size_t req_len = 0;
    asps_errbuf eb;
    if (asps_rpc__bb_to_bytes(c->payload, &req, &req_len, &eb) != ASPS_OK) {
        refuse_by_server(c, GRPC_STATUS_INVALID_ARGUMENT, "unreadable request message", 0, 0);
        return;
    }
    /* The certificate the verifier saw, from this connection's auth
     * context: the handler decides on exactly what the handshake checked. */
    grpc_auth_context *actx = c->actx;
    const char *pem = actx ? c->pem : call_cert(c->call, &actx);
    c->actx = NULL; /* this function's to release now */
    c->pem = NULL;
    const char *peer = c->peer; /* read when the call arrived (on_new_call) */
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    char msg[512] = "";
    int status;
    if (pem == NULL) {
        /* Cannot happen with the credentials we build; refuse rather than
         * hand a handler a call without an identity. */
        status = GRPC_STATUS_UNAUTHENTICATED;
        snprintf(msg, sizeof msg, "no client certificate");
    } else {
        tl_call_deadline = call_deadline(s, c);
        tl_call_conn = conn_id(s, c, actx);
        status = c->m->fn(c->m->ctx, pem, peer ? peer : "", req, req_len, &reply, &reply_len, msg,
                          sizeof msg);
        tl_call_deadline = 0;
        tl_call_conn = 0;
        msg[sizeof msg - 1] = '\0';
        if (status < 0 || status > GRPC_STATUS_UNAUTHENTICATED) {
            snprintf(msg, sizeof msg, "handler returned an invalid status");
            status = GRPC_STATUS_INTERNAL;
        }
    }
    if (actx != NULL)
        grpc_auth_context_release(actx);
    asps_cleanse_free(req, req_len);
    finish_call(c, status, msg, reply, reply_len);
}

/* ---- threads ------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    asps_rpc_server *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->q_head == NULL && !s->workers_stop)
            pthread_cond_wait(&s->work_cv, &s->mu);
        if (s->q_head == NULL)
            break; /* stop requested and nothing left */
        struct call *c = s->q_head;
        s->q_head = c->qnext;
        if (s->q_head == NULL)
            s->q_tail = NULL;
        c->in_handler = 1;
        int cancel_all = s->cancel_all;
        pthread_mutex_unlock(&s->mu);
        run_call(s, c, cancel_all);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void reap_expired(asps_rpc_server *s)
{
    int64_t now = asps_rpc__now_ms();
    struct call *expired = NULL;
    pthread_mutex_lock(&s->mu);
    for (struct call *c = s->waiting, *next; c != NULL; c = next) {
        next = c->next;
        if (now >= c->wait_until_ms) {
            unwait_locked(s, c);
            c->qnext = expired;
            expired = c;
        }
    }
    for (struct call *c = s->inflight; c != NULL; c = c->next) {
        if (!c->reaped && now - c->started_ms >= s->call_deadline_ms) {
            c->reaped = 1;
            /* thread-safe; the call stays referenced until release_call,
             * which takes mu to unlink it first. */
            grpc_call_cancel_with_status(c->call, GRPC_STATUS_DEADLINE_EXCEEDED,
                                         "call deadline exceeded", NULL);
        }
    }
    pthread_mutex_unlock(&s->mu);
    refuse_waited(expired, 0);
}

/* On an io thread: a waiting call's early RECV_CLOSE_ON_SERVER completed:
 * its client went away (cancelled), or its answer was sent. A call still
 * waiting is dropped, told to on_refused (an audit line) and answered (the
 * client is gone; the batch completes either way). */
static void on_close(asps_rpc_server *s, struct call *c)
{
    pthread_mutex_lock(&s->mu);
    c->closed = 1;
    int drop = c->cancelled && c->waiting;
    if (drop)
        unwait_locked(s, c);
    pthread_mutex_unlock(&s->mu);
    if (drop) {
        /* A call whose own deadline passes is cancelled too, and that one
         * is the reaper's "deadline exceeded while waiting". The deadline
         * travels as a timeout and ends on the client's clock first: its
         * cancel can arrive while the server's copy has a little left
         * (transit, load). So a cancel within DEADLINE_SLACK_MS of the
         * deadline counts as the deadline. */
        gpr_timespec left = gpr_time_sub(c->deadline, gpr_now(c->deadline.clock_type));
        if (gpr_time_to_millis(left) <= DEADLINE_SLACK_MS) {
            refuse_waited_deadline(c);
        } else {
            refuse_by_server(c, GRPC_STATUS_CANCELLED, "cancelled by the client while waiting", 0, 0);
        }
    }
    complete_one(c);
}

struct io_arg {
    asps_rpc_server *s;
    unsigned index;
};

/* Handle one completion; returns 0 when the queue has shut down. */
static int dispatch(asps_rpc_server *s, grpc_event ev)
{
    if (ev.type == GRPC_QUEUE_SHUTDOWN)
        return 0;
    if (ev.type != GRPC_OP_COMPLETE)
        return 1;
    struct tag *t = ev.tag;
    switch (t->kind) {
    case TAG_NEW_CALL:
        on_new_call(s, (struct call *)((char *)t - offsetof(struct call, new_tag)), ev.success);
        break;
    case TAG_PAYLOAD:
        on_payload(s, (struct call *)((char *)t - offsetof(struct call, payload_tag)), ev.success);
        break;
    case TAG_DONE: {
        struct call *c = (struct call *)((char *)t - offsetof(struct call, done_tag));
        if (c->early_close)
            complete_one(c);
        else
            release_call(c);
        break;
    }
    case TAG_CLOSE:
        on_close(s, (struct call *)((char *)t - offsetof(struct call, close_tag)));
        break;
    case TAG_SHUTDOWN:
        pthread_mutex_lock(&s->mu);
        s->server_idle = 1;
        pthread_cond_broadcast(&s->shutdown_cv);
        pthread_mutex_unlock(&s->mu);
        break;
    }
    return 1;
}

static void *io_main(void *arg)
{
    struct io_arg *ia = arg;
    asps_rpc_server *s = ia->s;
    int reaper = ia->index == 0;
    free(ia);
    int64_t next_reap = asps_rpc__now_ms() + REAP_INTERVAL_MS;
    for (;;) {
        gpr_timespec dl = reaper ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                gpr_time_from_millis(REAP_INTERVAL_MS, GPR_TIMESPAN))
                                 : gpr_inf_future(GPR_CLOCK_MONOTONIC);
        if (!dispatch(s, grpc_completion_queue_next(s->cq, dl, NULL)))
            break;
        if (reaper && asps_rpc__now_ms() >= next_reap) {
            reap_expired(s);
            next_reap = asps_rpc__now_ms() + REAP_INTERVAL_MS;
        }
    }
    return NULL;
}

/* ---- start / stop ---------------------------------------------------------------- */

size_t asps_rpc_server_connections_kept(asps_rpc_server *s)
{
    return s ? asps_rpc__conns_used(s->conns) : 0;
}

asps_err asps_rpc_server_start(asps_rpc_server *s, int *bound_port, asps_errbuf *eb)
{
    if (s == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: no server");
    if (s->started || s->stopped || s->start_failed)
        return asps_fail(eb, ASPS_E_ARG, "rpc: server already started or stopped");
    asps_err rc = ASPS_OK;
    /* health and the catch-all for unknown methods */
    ASPS_TRY(add_method(s, M_HEALTH, ASPS_RPC_METHOD_HEALTH_CHECK, NULL, NULL, eb));
    ASPS_TRY(add_method(s, M_GENERIC, NULL, NULL, NULL, eb));

    grpc_arg args[4];
    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = (int)s->max_message;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS;
    args[1].value.integer = (int)s->handshake_ms;
    /* gRPC sets SO_REUSEPORT by default, which lets a second server (or
     * another program of the same user) bind the same port and silently take
     * half the connections. A busy port must be an error. */
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
    args[2].value.integer = 0;
    /* refuse_in_calls keeps refused connections open to answer them: one
     * left idle is closed (GOAWAY; a gRPC client reconnects by itself) so
     * that they cannot pile up */
    args[3].type = GRPC_ARG_INTEGER;
    args[3].key = (char *)GRPC_ARG_MAX_CONNECTION_IDLE_MS;
    args[3].value.integer = IDLE_CLOSE_MS;
    grpc_channel_args cargs = {s->refuse_in_calls ? 4 : 3, args};
    /* gRPC's memory quota for its own buffers (transports, TCP reads): under
     * pressure gRPC shrinks its reads and closes connections without calls
     * (GOAWAY "Buffers full"), so idle and refused connections held open
     * cannot grow the server without bound. */
    grpc_resource_quota *quota = grpc_resource_quota_create("asps server");
    if (quota == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: cannot create the memory quota");
    grpc_resource_quota_resize(quota, s->memory_quota);
    grpc_arg all[5];
    memcpy(all, args, sizeof args);
    all[cargs.num_args].type = GRPC_ARG_POINTER;
    all[cargs.num_args].key = (char *)GRPC_ARG_RESOURCE_QUOTA;
    all[cargs.num_args].value.pointer.p = quota;
    all[cargs.num_args].value.pointer.vtable = grpc_resource_quota_arg_vtable();
    cargs.args = all;
    cargs.num_args++;

    s->server = grpc_server_create(&cargs, NULL);
    grpc_resource_quota_unref(quota); /* the server holds its own reference */
    s->cq = grpc_completion_queue_create_for_next(NULL);
    s->start_failed = 1; /* until it succeeds: start is not retried */
    if (s->server == NULL || s->cq == NULL)
        return asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot create gRPC server");
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    for (size_t i = 0; i < s->n_methods; i++) {
        struct method *m = &s->methods[i];
        if (m->kind == M_GENERIC)
            continue;
        m->reg = grpc_server_register_method(s->server, m->path, NULL,
                                             GRPC_SRM_PAYLOAD_NONE, 0);
        if (m->reg == NULL)
            return asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot register %s", m->path);
    }
    s->vpool = asps_rpc__vpool_new(s->n_verify, s->refuse_in_calls ? VERDICTS : 0);
    if (s->vpool == NULL)
        return asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot start certificate check threads");
    grpc_server_credentials *creds = make_creds(s, eb, &rc);
    if (creds == NULL)
        return rc;
    int port = grpc_server_add_http2_port(s->server, s->listen_addr, creds);
    grpc_server_credentials_release(creds);
    if (port <= 0)
        return asps_fail(eb, ASPS_E_IO, "rpc: cannot listen on %s", s->listen_addr);
    grpc_server_start(s->server);
    s->started = 1;
    s->start_failed = 0;

    /* A few outstanding requests per method so that several io threads can
     * accept calls of the same method at once. */
    unsigned per_method = s->n_io * 2;
    for (size_t i = 0; i < s->n_methods; i++)
        for (unsigned k = 0; k < per_method; k++)
            request_call(s, &s->methods[i]);

    s->workers = calloc(s->n_workers, sizeof *s->workers);
    s->io_threads = calloc(s->n_io, sizeof *s->io_threads);
    if (s->workers == NULL || s->io_threads == NULL) {
        asps_rpc_server_shutdown(s, 0);
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    }
    for (unsigned i = 0; i < s->n_workers; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0)
            break;
        s->workers_started++;
    }
    for (unsigned i = 0; i < s->n_io; i++) {
        struct io_arg *ia = malloc(sizeof *ia);
        if (ia == NULL)
            break;
        ia->s = s;
        ia->index = i;
        if (pthread_create(&s->io_threads[i], NULL, io_main, ia) != 0) {
            free(ia);
            break;
        }
        s->io_started++;
    }
    if (s->workers_started < s->n_workers || s->io_started < s->n_io) {
        asps_rpc_server_shutdown(s, 0);
        return asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot start server threads");
    }
    if (bound_port)
        *bound_port = port;
    return ASPS_OK;
}

/* Idle: gRPC has reported the shutdown complete and no call is queued or
 * in a handler. (gRPC alone can report it while a handler still runs with
 * a cancelled call: joining the workers then would wait on that handler.) */
static int idle_locked(const asps_rpc_server *s) { return s->server_idle && s->inflight == NULL; }

static void wait_idle(asps_rpc_server *s, int64_t until_ms)
{
    pthread_mutex_lock(&s->mu);
    while (!idle_locked(s)) {
        if (until_ms < 0) {
            pthread_cond_wait(&s->shutdown_cv, &s->mu);
            continue;
        }
        int64_t left = until_ms - asps_rpc__now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->shutdown_cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
}

/* The calls still in handlers, by method, for the abandon message; under mu. */
static unsigned describe_running(asps_rpc_server *s, char *out, size_t cap)
{
    unsigned running = 0, queued = 0;
    size_t w = 0;
    out[0] = 0;
    for (size_t i = 0; i < s->n_methods; i++) {
        unsigned n = 0;
        for (struct call *c = s->inflight; c != NULL; c = c->next)
            if (c->m == &s->methods[i] && c->in_handler)
                n++;
        if (n && w < cap) {
            int k = snprintf(out + w, cap - w, "%s%s x%u", w ? ", " : "", s->methods[i].path, n);
            w += k > 0 ? (size_t)k : 0;
        }
        running += n;
    }
    for (struct call *c = s->inflight; c != NULL; c = c->next)
        queued += !c->in_handler;
    if (queued && w < cap)
        snprintf(out + w, cap - w, "%s%u queued", w ? "; " : "", queued);
    return running;
}

/* Stop the workers and io threads and free gRPC's objects: the server is
 * idle. */
static void stop_threads(asps_rpc_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->workers_stop = 1;
    pthread_cond_broadcast(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < s->workers_started; i++)
        pthread_join(s->workers[i], NULL);
    s->workers_started = 0;

    /* The server is idle: nothing new can be posted; let the io threads
     * drain what is left (releasing it) and exit. */
    grpc_completion_queue_shutdown(s->cq);
    if (s->io_started == 0)
        while (dispatch(s, grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)))
            ;
    for (unsigned i = 0; i < s->io_started; i++)
        pthread_join(s->io_threads[i], NULL);
    s->io_started = 0;
    /* no listener is left, so no new handshake can need a check */
    asps_rpc__vpool_stop(s->vpool);
    grpc_server_destroy(s->server);
    s->server = NULL;
    grpc_completion_queue_destroy(s->cq);
    s->cq = NULL;
    /* no call is left to ask for an id; gRPC is still initialised (our
     * grpc_shutdown comes in asps_rpc_server_free) */
    asps_rpc__conns_clear(s->conns);
}

/* bounded: give up on handlers ABANDON_GRACE_MS after the cancel (else
 * wait for them: asps_rpc_server_free) */
static void shutdown_server(asps_rpc_server *s, int drain_ms, int bounded)
{
    if (s == NULL || s->stopped)
        return;
    s->stopped = 1;
    if (s->server == NULL)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->shutting_down = 1;
        /* calls waiting for a slot are answered now (UNAVAILABLE, retry
         * elsewhere): the drain is for calls already admitted */
        struct call *waited = NULL;
        while (s->waiting != NULL) {
            struct call *c = s->waiting;
            unwait_locked(s, c);
            c->qnext = waited;
            waited = c;
        }
        pthread_mutex_unlock(&s->mu);
        refuse_waited(waited, 1);
        grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
        if (s->io_started > 0) {
            wait_idle(s, asps_rpc__now_ms() + (drain_ms > 0 ? drain_ms : 0));
            pthread_mutex_lock(&s->mu);
            int idle = idle_locked(s);
            if (!idle) {
                s->cancel_all = 1;
                /* Cancel our calls one by one: that reaches the clients at
                 * once, while grpc_server_cancel_all_calls alone leaves them
                 * waiting until their handlers return. */
                for (struct call *c = s->inflight; c != NULL; c = c->next)
                    grpc_call_cancel_with_status(c->call, GRPC_STATUS_UNAVAILABLE,
                                                 "server shutting down", NULL);
            }
            pthread_mutex_unlock(&s->mu);
            if (!idle) {
                grpc_server_cancel_all_calls(s->server);
                /* handlers that return now still finish their calls */
                wait_idle(s, bounded ? asps_rpc__now_ms() + ABANDON_GRACE_MS : -1);
                char what[512] = "";
                pthread_mutex_lock(&s->mu);
                idle = idle_locked(s);
                unsigned running = idle ? 0 : describe_running(s, what, sizeof what);
                if (!idle)
                    s->abandoned = running ? running : 1;
                pthread_mutex_unlock(&s->mu);
                if (!idle) {
                    /* Bounded: a handler blocked where nothing reaches it
                     * must not keep the process from stopping. */
                    asps_log(ASPS_LOG_WARN, "rpc",
                             "drain deadline passed (%d ms + %d ms after cancelling): "
                             "abandoning %u call%s still in handlers%s%s%s",
                             drain_ms > 0 ? drain_ms : 0, ABANDON_GRACE_MS, running,
                             running == 1 ? "" : "s", what[0] ? " (" : "", what, what[0] ? ")" : "");
                    return;
                }
            }
        } else {
            /* start failed before any io thread ran: drive the queue here */
            s->cancel_all = 1;
            grpc_server_cancel_all_calls(s->server);
            while (!s->server_idle)
                dispatch(s, grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL));
        }
    }
    stop_threads(s);
}

void asps_rpc_server_shutdown(asps_rpc_server *s, int drain_ms) { shutdown_server(s, drain_ms, 1); }

unsigned asps_rpc_server_abandoned(const asps_rpc_server *s)
{
    return s ? s->abandoned : 0;
}

void asps_rpc_server_load(asps_rpc_server *s, asps_rpc_load *out)
{
    memset(out, 0, sizeof *out);
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    out->in_flight = s->active;
    out->waiting = s->n_waiting;
    out->waited_total = s->waited_total;
    out->busy_total = s->busy_total;
    pthread_mutex_unlock(&s->mu);
}

void asps_rpc_server_free(asps_rpc_server *s)
{
    if (s == NULL)
        return;
    shutdown_server(s, 0, 0);
    if (s->abandoned && s->server != NULL) {
        /* shutdown gave up on handlers: they still use the server */
        wait_idle(s, -1);
        stop_threads(s);
    }
    if (s->cq != NULL) { /* created but never started */
        grpc_completion_queue_shutdown(s->cq);
        while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
               GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(s->cq);
    }
    for (size_t i = 0; i < s->n_methods; i++) {
        free(s->methods[i].path);
        free(s->methods[i].service);
    }
    free(s->workers);
    free(s->io_threads);
    free(s->listen_addr);
    free(s->cert_pem);
    free(s->client_ca_pem);
    asps_rpc__free_secret_str(s->key_pem);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->shutdown_cv);
    asps_rpc__vpool_unref(s->vpool);
    asps_rpc__conns_free(s->conns); /* empty since stop_threads, unless never started */
    if (s->grpc_inited)
        grpc_shutdown();
    asps_rpc__identity_free(s->identity); /* gRPC's provider, which reads it, is gone */
    free(s);
}

asps_err asps_rpc_server_set_identity(asps_rpc_server *s, const char *cert_chain_pem,
                                      const char *key_pem, int *changed, asps_errbuf *eb)
{
    if (changed != NULL)
        *changed = 0;
    if (s == NULL || cert_chain_pem == NULL || key_pem == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: set_identity needs a server, certificate and key");
    if (s->identity == NULL)
        return asps_fail(eb, ASPS_E_ARG, "rpc: set_identity before the server started");
    ASPS_TRY(asps_rpc__check_pem_pair(cert_chain_pem, key_pem, "server", eb));
    ASPS_TRY(asps_rpc__check_validity(cert_chain_pem, "server", eb));
    /* the same certificate: the same pair (the key was just proved to be
     * its key), so nothing to swap; the key itself is never compared */
    if (strcmp(cert_chain_pem, s->cert_pem) == 0)
        return ASPS_OK;
    int fail = 0;
    char *cert = asps_rpc__dup(cert_chain_pem, &fail), *key = asps_rpc__dup(key_pem, &fail);
    if (fail) {
        free(cert);
        asps_rpc__free_secret_str(key);
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    }
    asps_err e = asps_rpc__identity_set(s->identity, cert, key, eb);
    if (e != ASPS_OK) {
        free(cert);
        asps_rpc__free_secret_str(key);
        return e;
    }
    free(s->cert_pem);
    asps_rpc__free_secret_str(s->key_pem);
    s->cert_pem = cert;
    s->key_pem = key;
    if (changed != NULL)
        *changed = 1;
    return ASPS_OK;
}
