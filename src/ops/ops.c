/* ops.c: the operations listener (ops.h) on libmicrohttpd.
 * Trusts: nothing in a request but its method and path; it answers the same
 * short texts to anyone who can reach the address. */
#include "ops.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "version.h"
#include "x509.h"


struct asps_ops {
    struct MHD_Daemon *d;
    asps_ops_ready_fn ready;
    void *ready_ctx;
    void (*sample)(void *ctx);
    void *sample_ctx;
    atomic_int draining;
    int port;
};

/* LISTEN through the one address parser (port 0: a free one), then to a
 * socket address: the host is an IP literal or a name resolved here. */
static asps_err parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sl,
                           asps_errbuf *eb)
{
    asps_hostport hp;
    ASPS_TRY(asps_addr_parse("config.ops.listen", s, ASPS_ADDR_PORT_ZERO, &hp, eb));
    char port[8];
    snprintf(port, sizeof port, "%d", hp.port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    int rc = getaddrinfo(hp.host, port, &hints, &ai);
    if (rc != 0 || !ai)
        return asps_fail(eb, ASPS_E_ARG, "config.ops.listen: \"%s\": %s", s, gai_strerror(rc));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *sl = ai->ai_addrlen;
    freeaddrinfo(ai);
    return ASPS_OK;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, char *body,
                             size_t len, int owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code, const char *s)
{
    return reply(c, code, "text/plain; charset=utf-8", (char *)s, strlen(s), 0);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    asps_ops *o = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        *upload_data_size = 0; /* a body is not read */
        return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: GET or HEAD\n");
    }
    if (!strcmp(url, "/healthz"))
        return text(c, MHD_HTTP_OK, "ok\n");
    if (!strcmp(url, "/readyz")) {
        char why[256] = "";
        int ready = !atomic_load(&o->draining);
        if (!ready)
            snprintf(why, sizeof why, "draining");
        else if (o->ready)
            ready = o->ready(o->ready_ctx, why, sizeof why);
        if (ready)
            return text(c, MHD_HTTP_OK, "ready\n");
        char body[300];
        snprintf(body, sizeof body, "not ready: %s\n", why[0] ? why : "unknown");
        return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", body,
                     strlen(body), 0);
    }
    if (!strcmp(url, "/metrics")) {
        char *body;
        size_t len;
        if (o->sample)
            o->sample(o->sample_ctx);
        if (asps_metrics_render((double)time(NULL), &body, &len) != 0)
            return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len, 1);
    }
    return text(c, MHD_HTTP_NOT_FOUND, "not found: /healthz, /readyz or /metrics\n");
}

/* Connections: a peer that opens connections and sends nothing holds each
 * until the idle timeout; with one limit for all, 64 of them kept every
 * probe (kubelet's timeout: 1 s) waiting 10 s. One address gets at most
 * OPS_MAX_PER_IP, so a probe from another address still gets in, and an
 * idle connection is dropped after OPS_IDLE_S: probes and scrapes send
 * their request at once, so a short timeout costs them nothing and bounds
 * how long idle ones from the probe's own address can hold it up. */
#define OPS_IDLE_S 3u
#define OPS_MAX_CONNECTIONS 512u
#define OPS_MAX_PER_IP 16u

/* libmicrohttpd's own lines, at most 20 per 10 s, the rest counted in one
 * "suppressed" line (log.h: asps_log_limiter): it writes a line or two for
 * every malformed request and every connection closed half-way, so anyone
 * who can reach the port could otherwise fill the server's log. */
static asps_log_limiter mhd_limiter = ASPS_LOG_LIMITER_INIT("ops", 20, 10000);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (asps_log_limiter_admit(&mhd_limiter, asps_now_mono_ms()))
        asps_logv(ASPS_LOG_WARN, "ops", fmt, ap);
}

/* asps_build_info: the libraries' versions as they say at run time */
static void build_info(const char *grpc)
{
    asps_metric *m = asps_metrics_gauge(
        "asps_build_info", "Always 1; the labels say which asps this is and what it runs with.",
        ASPS_LABELS("version", "commit", "openssl", "grpc"));
    asps_metric_set(m, ASPS_LABELS(asps_version(), asps_git_commit(), asps_openssl_version(),
                                   grpc ? grpc : "none"),
                    1);
}

asps_err asps_ops_start(const asps_ops_opts *opts, asps_ops **out, asps_errbuf *eb)
{
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    ASPS_TRY(parse_addr(opts->listen, &ss, &sl, eb));
    asps_ops *o = calloc(1, sizeof *o);
    if (!o)
        return asps_fail(eb, ASPS_E_NOMEM, "ops: out of memory");
    o->ready = opts->ready;
    o->ready_ctx = opts->ready_ctx;
    o->sample = opts->sample;
    o->sample_ctx = opts->sample_ctx;
    atomic_init(&o->draining, 0);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* the logger first: libmicrohttpd logs the options after it through it */
    o->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, o, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                            NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, OPS_MAX_CONNECTIONS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, OPS_MAX_PER_IP,
                            MHD_OPTION_CONNECTION_TIMEOUT, OPS_IDLE_S,
                            MHD_OPTION_END);
    if (!o->d) {
        free(o);
        return asps_fail(eb, ASPS_E_IO, "ops: cannot listen on %s (in use, or not this host's)",
                         opts->listen);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(o->d, MHD_DAEMON_INFO_BIND_PORT);
    o->port = di ? di->port : 0;
    build_info(opts->grpc_version);
    *out = o;
    return ASPS_OK;
}

int asps_ops_port(const asps_ops *o) { return o->port; }

void asps_ops_set_draining(asps_ops *o)
{
    if (o)
        atomic_store(&o->draining, 1);
}

void asps_ops_stop(asps_ops *o)
{
    if (!o)
        return;
    MHD_stop_daemon(o->d);
    free(o);
}

asps_err asps_ops_note_server_certificate(const char *pem, size_t len, asps_errbuf *eb)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? asps_x509_read_pem(b, ASPS_X509_NO_KEY) : NULL;
    BIO_free(b);
    int64_t nb, na;
    int ok = x && asps_x509_validity(x, &nb, &na);
    X509_free(x);
    if (!ok)
        return asps_fail(eb, ASPS_E_PARSE, "ops: the server certificate's dates do not read");
    asps_metric *m = asps_metrics_countdown(
        "asps_server_certificate_expires_in_seconds",
        "Seconds until the server's TLS certificate expires (its notAfter); negative once expired.",
        NULL);
    asps_metric_set(m, NULL, (double)na);
    return ASPS_OK;
}
