/* bench_load.c: the server under load, attested against plain mutual TLS.
 *
 *   bench_load [CONNS] [CALLS] [CLIENTS,...] [LIMITS]
 *
 * Two servers on 127.0.0.1, each in its own process so that its CPU time is
 * read apart from the clients' (the process's CPU-time clock: user + system
 * of all its threads):
 *   attested  `asps serve` (ASPS_BIN, else the asps next to this program):
 *             RA-TLS, full DCAP verification of the simulated platform's
 *             quote per new certificate (collateral cached), policy, file
 *             KMS, an audit line per call: the product as shipped
 *   plain     this program again (--plain-server), the same gRPC server
 *             code (asps_rpc_server) with the same limits read from the
 *             same config file, a client certificate issued by a CA and
 *             checked by TLS, no evidence; its handler does the same
 *             decode / KMS / encode work, no policy or audit
 * The config: asps's defaults, or the "limits" object LIMITS (JSON text,
 * e.g. '{"max_concurrent_calls": 256}') for both servers.
 * For each number of concurrent clients in CLIENTS (default 1,8,32,128; one
 * thread per client), two phases:
 *   connections  each client, in a loop: a new connection (TLS handshake)
 *                and one GetSecrets, then close; attested clients present
 *                a fresh RA-TLS certificate every time (no cache can hit),
 *                all made before the clock starts; plain clients the one
 *                CA-issued certificate. max(CONNS, 2 x ROUNDS x clients)
 *                connections per server (default CONNS 600).
 *   calls        each client holds one connection to each server for the
 *                whole phase (attested: its own fresh certificate; both
 *                handshakes and a first call on each happen before the
 *                clock), and all call GetSecrets back to back:
 *                max(CALLS, 320 x clients) calls per server (default
 *                CALLS 64000).
 * The connections phase runs in ROUNDS (5) rounds of four parts, plain /
 * attested / attested / plain, each a (2 x ROUNDS)th of the operations, so
 * that a load that comes or goes on the machine touches both alike (with
 * one round, the calls ratio of two runs differed by up to 0.3 on this
 * 2-core machine: a part lasted 0.2-0.4 s, about as long as a neighbour's
 * burst). The calls phase alternates the same way in CALL_ROUNDS (40)
 * rounds on the connections held open (see run_calls: a part's rate moves
 * by +-20 % with how the machine schedules it, and only many parts
 * average that out).
 * Figures: successful operations per second and their p50/p99 latency;
 * failures counted by gRPC status (a busy server's RESOURCE_EXHAUSTED
 * among them: clients do not retry); server CPU per successful connection
 * or call, and this driver's own (on a small machine the clients compete
 * with the server for the cores). Then the ratios attested / plain over
 * the whole phase, the same ratios round by round with their median (the
 * typical round: a burst, or the plain server running in a faster rhythm
 * for a while, moves one round; the whole-phase ratio moved by +-0.1
 * between runs with three rounds) and, last, one JSON line. Speed is a
 * benchmark's business, never a test's.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asps/evidence.h"
#include "asps/ratls.h"
#include "kms.h"
#include "rpc.h"
#include "service.h"
#include "sim.h"
#include "util.h"
#include "bench_plain.h"
#include "bench_util.h"

#define MAX_LEVELS 8
#define ROUNDS 5 /* connections: plain, attested, attested, plain; see the top */
#define CALL_ROUNDS 40 /* the same for calls, on connections held open */
#define MAX_CLIENTS 1024
#define DEADLINE_MS 30000u

/* ---- the plain server (this program with --plain-server) ------------------ */

/* The server options `asps serve` (cli/cmd_serve.c) derives from the same
 * config, with TLS checking the client certificate against CA instead of
 * the verify callback. Prints "plain: listening on PORT", then serves
 * until SIGTERM. Keep in step with cmd_serve.c's options. */
static int plain_server(const char *config, const char *ca_file, const char *kms_file)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    asps_errbuf eb = {{0}};
    asps_service_config *cfg;
    if (asps_service_config_load(config, &cfg, &eb) != ASPS_OK) {
        fprintf(stderr, "plain server: %s\n", eb.msg);
        return 2;
    }
    uint8_t *cert = NULL, *key = NULL, *ca = NULL;
    size_t cl, kl = 0, cal;
    bench_plain_ctx pc = {.max_names = cfg->max_names};
    if (asps_read_file(cfg->server_cert, 1 << 20, &cert, &cl, &eb) != ASPS_OK ||
        asps_read_file(cfg->server_key, 1 << 20, &key, &kl, &eb) != ASPS_OK ||
        asps_read_file(ca_file, 1 << 20, &ca, &cal, &eb) != ASPS_OK ||
        asps_kms_open_file(kms_file, ASPS_KMS_PLAIN_TEXT, &pc.kms, &eb) != ASPS_OK) {
        fprintf(stderr, "plain server: %s\n", eb.msg);
        return 2;
    }
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }
    asps_rpc_server_opts so = {
        .listen_addr = cfg->listen,
        .cert_chain_pem = (const char *)cert,
        .key_pem = (const char *)key,
        .client_ca_pem = (const char *)ca,
        .max_message_size = cfg->max_message_bytes,
        .max_concurrent_calls = (unsigned)cfg->max_concurrent_calls,
        .max_waiting_calls = (unsigned)cfg->max_waiting_calls,
        .call_deadline_ms = (unsigned)cfg->deadline_ms,
        .worker_threads = (unsigned)cfg->threads,
        .io_threads = (unsigned)cfg->io_threads,
        .verify_threads = (unsigned)cfg->verify_threads,
        .memory_quota_bytes = cfg->grpc_memory_mb << 20,
    };
    asps_rpc_server *srv = NULL;
    int port = 0, rc = 1;
    if (asps_rpc_server_new(&so, &srv, &eb) != ASPS_OK ||
        asps_rpc_server_add_method(srv, ASPS_RPC_METHOD_GET_SECRETS, bench_plain_get, &pc, &eb) != ASPS_OK ||
        asps_rpc_server_start(srv, &port, &eb) != ASPS_OK) {
        fprintf(stderr, "plain server: %s\n", eb.msg);
    } else {
        printf("plain: listening on %d\n", port);
        fflush(stdout);
        int sig = 0;
        while (sigwait(&set, &sig) != 0)
            ;
        asps_rpc_server_shutdown(srv, (int)cfg->drain_ms);
        rc = 0;
    }
    asps_rpc_server_free(srv);
    asps_kms_free(pc.kms);
    asps_cleanse_free(key, kl);
    free(cert);
    free(ca);
    asps_service_config_free(cfg);
    return rc;
}

/* ---- server processes ------------------------------------------------------ */

typedef struct server {
    pid_t pid;
    int port;
} server;

/* Start ARGV in DIR with stdout to a pipe and stderr to ERRFILE; wait (up to
 * 60 s) for a stdout line holding "listening on", whose last number is the
 * port. */
static int spawn_server(const char *dir, char *const argv[], const char *errfile, server *out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int e = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (e < 0 || chdir(dir) != 0)
            _exit(127);
        dup2(fds[1], 1);
        dup2(e, 2);
        close(fds[0]);
        close(fds[1]);
        close(e);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    out->pid = pid;
    out->port = 0;
    char line[512];
    size_t n = 0;
    double until = bench_now_ms() + 60000;
    while (bench_now_ms() < until && n + 1 < sizeof line) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        char ch;
        ssize_t r = read(fds[0], &ch, 1);
        if (r <= 0)
            break;
        if (ch != '\n') {
            line[n++] = ch;
            continue;
        }
        line[n] = '\0';
        n = 0;
        const char *at = strstr(line, "listening on");
        const char *colon = at ? strrchr(at, ':') : NULL;
        const char *num = colon ? colon + 1 : at ? at + strlen("listening on") : NULL;
        if (num) {
            out->port = atoi(num);
            break;
        }
    }
    close(fds[0]); /* the servers print nothing more on stdout */
    return out->port > 0 ? 0 : -1;
}

/* SIGTERM, then wait (SIGKILL after 10 s); a server that did not end
 * cleanly (exit 0) has its messages (ERRFILE) copied to stderr. */
static void stop_server(server *s, const char *name, const char *errfile)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 200; i++) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid)
            break;
        if (i == 199) {
            fprintf(stderr, "%s server did not stop within 10 s: killed\n", name);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
        }
        usleep(50000);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s server ended badly (status 0x%x); its messages:\n", name, (unsigned)st);
        FILE *f = fopen(errfile, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f))
            fputs(line, stderr);
        if (f)
            fclose(f);
    }
    s->pid = 0;
}

/* CPU time (user + system, every thread, living or ended) of process PID
 * so far, in ms; -1 if unreadable. Its CPU-time clock counts in
 * nanoseconds; /proc/PID/stat's utime + stime (fields 14 and 15, after the
 * command's closing parenthesis) count whole clock ticks (10 ms), the
 * fallback. */
static double proc_cpu_ms(pid_t pid)
{
    clockid_t id;
    struct timespec ts;
    if (clock_getcpuclockid(pid, &id) == 0 && clock_gettime(id, &ts) == 0)
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    char p[64], buf[2048];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *s = strrchr(buf, ')');
    if (!s)
        return -1;
    unsigned long long ut = 0, st = 0;
    if (sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
           ru.ru_stime.tv_usec / 1e3;
}

/* The line of `asps serve`'s start banner that holds NEEDLE (its limits),
 * printed as the server's own words; nothing when there is none. */
static void show_banner_line(const char *errfile, const char *needle)
{
    FILE *f = fopen(errfile, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, needle)) {
            const char *at = strstr(line, needle);
            printf("asps serve: %s", at);
            break;
        }
    if (f)
        fclose(f);
}

/* ---- clients ---------------------------------------------------------------- */

enum { PLAIN = 0, ATTESTED = 1 };
enum { CONNS = 0, CALLS = 1 };

typedef struct certs {
    char **cert, **key; /* attested: a pool, each used once */
    int n, next;
    char *plain_cert, *plain_key, *ca;
} certs;

typedef struct phase {
    int mode, kind, clients, ops;
    char target[64];
    const char *ca;
    /* attested connections: one per op (by ticket); otherwise one per client */
    char **cert, **key;
    const uint8_t *req;
    size_t req_len;
    atomic_int ticket;
    double *lat; /* per op, ms; < 0: failed */
    int *status;
    pthread_barrier_t ready, go, done, release;
    char first_error[256];
    pthread_mutex_t mu;
} phase;

typedef struct worker {
    phase *ph;
    int idx;
} worker;

static int one_call(phase *ph, asps_rpc_client *c, char *msg, size_t msglen)
{
    int status = -1;
    uint8_t *reply = NULL;
    size_t len = 0;
    asps_errbuf eb;
    if (asps_rpc_client_call(c, ASPS_RPC_METHOD_GET_SECRETS, ph->req, ph->req_len, &status, msg,
                             msglen, &reply, &len, &eb) != ASPS_OK) {
        snprintf(msg, msglen, "%.200s", eb.msg);
        status = -1;
    }
    if (reply) {
        OPENSSL_cleanse(reply, len);
        free(reply);
    }
    return status;
}

static asps_rpc_client *open_client(phase *ph, int k, char *msg, size_t msglen)
{
    asps_rpc_client_opts o = {.target = ph->target, .cert_pem = ph->cert[k], .key_pem = ph->key[k],
                              .ca_pem = ph->ca, .server_name = "localhost",
                              .deadline_ms = DEADLINE_MS};
    asps_rpc_client *c = NULL;
    asps_errbuf eb;
    if (asps_rpc_client_new(&o, &c, &eb) != ASPS_OK) {
        snprintf(msg, msglen, "%.200s", eb.msg);
        return NULL;
    }
    return c;
}

static void note_failure(phase *ph, int status, const char *msg)
{
    pthread_mutex_lock(&ph->mu);
    if (!ph->first_error[0])
        snprintf(ph->first_error, sizeof ph->first_error, "%s: %.200s",
                 status >= 0 ? asps_rpc_status_name(status) : "error", msg);
    pthread_mutex_unlock(&ph->mu);
}

static void *client_main(void *arg)
{
    worker *w = arg;
    phase *ph = w->ph;
    char msg[256];
    asps_rpc_client *c = NULL;
    if (ph->kind == CALLS) {
        /* its connection and a first call, before the clock; a busy server
         * (all clients connect at once) is asked again */
        c = open_client(ph, w->idx, msg, sizeof msg);
        int st = c ? one_call(ph, c, msg, sizeof msg) : -1;
        for (int i = 0; i < 100 && st == ASPS_RPC_RESOURCE_EXHAUSTED; i++) {
            usleep(20000);
            st = one_call(ph, c, msg, sizeof msg);
        }
        if (st != ASPS_RPC_OK)
            note_failure(ph, st, msg);
    }
    pthread_barrier_wait(&ph->ready);
    pthread_barrier_wait(&ph->go);
    for (;;) {
        int t = atomic_fetch_add(&ph->ticket, 1);
        if (t >= ph->ops)
            break;
        double s = bench_now_ms();
        int st = -1;
        msg[0] = '\0';
        if (ph->kind == CONNS) {
            /* plain: the one CA-issued certificate; attested: cert t (fresh) */
            asps_rpc_client *cc = open_client(ph, ph->mode == ATTESTED ? t : w->idx, msg, sizeof msg);
            if (cc) {
                st = one_call(ph, cc, msg, sizeof msg);
                asps_rpc_client_free(cc);
            }
        } else if (c) {
            st = one_call(ph, c, msg, sizeof msg);
        }
        ph->status[t] = st;
        ph->lat[t] = st == ASPS_RPC_OK ? bench_now_ms() - s : -1;
        if (st != ASPS_RPC_OK)
            note_failure(ph, st, msg);
    }
    pthread_barrier_wait(&ph->done);
    /* the calls phase's connections close only once the server's CPU is read */
    pthread_barrier_wait(&ph->release);
    asps_rpc_client_free(c);
    return NULL;
}

/* N client threads running FN, the i-th on ARGS + i x SIZE bytes, with
 * small stacks (up to MAX_CLIENTS of them); one that cannot start ends the
 * benchmark (a driver, not a library). */
static void start_clients(pthread_t *th, int n, void *(*fn)(void *), void *args, size_t size)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], &attr, fn, (char *)args + (size_t)i * size) != 0) {
            fprintf(stderr, "cannot start client thread %d\n", i);
            exit(1);
        }
    pthread_attr_destroy(&attr);
}

/* one (mode, kind, clients) cell: the two halves summed */
typedef struct cell {
    double wall_ms, server_cpu_ms, driver_cpu_ms;
    int ok, failed;
    int by_status[18]; /* index status + 1: -1 (no status) .. 16 */
    double *lat;       /* successful ops, ms */
    int n_lat;
    char first_error[256];
} cell;

/* One part's figures (PH's operations, its wall time and the two CPU
 * times, ms) added to OUT; -1 when out of memory. */
static int add_part(cell *out, const phase *ph, double wall, double server_cpu, double driver_cpu)
{
    out->wall_ms += wall;
    out->server_cpu_ms += server_cpu;
    out->driver_cpu_ms += driver_cpu;
    double *grown = realloc(out->lat, (size_t)(out->n_lat + ph->ops) * sizeof *grown);
    if (!grown)
        return -1;
    out->lat = grown;
    for (int i = 0; i < ph->ops; i++) {
        int st = ph->status[i];
        out->by_status[st >= -1 && st <= 16 ? st + 1 : 0]++;
        if (st == ASPS_RPC_OK) {
            out->ok++;
            out->lat[out->n_lat++] = ph->lat[i];
        } else {
            out->failed++;
        }
    }
    if (!out->first_error[0] && ph->first_error[0])
        memcpy(out->first_error, ph->first_error, sizeof out->first_error);
    return 0;
}

static int run_half(const server *srv, certs *cp, int mode, int kind, int clients, int ops,
                    const uint8_t *req, size_t req_len, cell *out)
{
    phase ph;
    memset(&ph, 0, sizeof ph);
    ph.mode = mode;
    ph.kind = kind;
    ph.clients = clients;
    ph.ops = ops;
    snprintf(ph.target, sizeof ph.target, "127.0.0.1:%d", srv->port);
    ph.ca = cp->ca;
    ph.req = req;
    ph.req_len = req_len;
    atomic_init(&ph.ticket, 0);
    /* attested: a fresh certificate per connection (connections) or per
     * client (calls); plain: every client the one CA-issued certificate */
    int need = mode == PLAIN ? clients : kind == CONNS ? ops : clients;
    ph.cert = calloc((size_t)need, sizeof *ph.cert);
    ph.key = calloc((size_t)need, sizeof *ph.key);
    ph.lat = calloc((size_t)ops, sizeof *ph.lat);
    ph.status = calloc((size_t)ops, sizeof *ph.status);
    worker *w = calloc((size_t)clients, sizeof *w);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    if (!ph.cert || !ph.key || !ph.lat || !ph.status || !w || !th)
        return -1;
    if (mode == ATTESTED && cp->next + need > cp->n)
        return -1;
    for (int i = 0; i < need; i++) {
        ph.cert[i] = mode == PLAIN ? cp->plain_cert : cp->cert[cp->next + i];
        ph.key[i] = mode == PLAIN ? cp->plain_key : cp->key[cp->next + i];
    }
    if (mode == ATTESTED)
        cp->next += need;
    pthread_mutex_init(&ph.mu, NULL);
    pthread_barrier_init(&ph.ready, NULL, (unsigned)clients + 1);
    pthread_barrier_init(&ph.go, NULL, (unsigned)clients + 1);
    pthread_barrier_init(&ph.done, NULL, (unsigned)clients + 1);
    pthread_barrier_init(&ph.release, NULL, (unsigned)clients + 1);
    for (int i = 0; i < clients; i++) {
        w[i].ph = &ph;
        w[i].idx = i;
    }
    start_clients(th, clients, client_main, w, sizeof *w);
    pthread_barrier_wait(&ph.ready);
    double cpu0 = proc_cpu_ms(srv->pid), self0 = self_cpu_ms(), t0 = bench_now_ms();
    pthread_barrier_wait(&ph.go);
    pthread_barrier_wait(&ph.done);
    double wall = bench_now_ms() - t0, self1 = self_cpu_ms();
    /* the server finishes closing the last connections just after their
     * clients return: give it a moment, then read its CPU */
    if (kind == CONNS)
        usleep(100000);
    double cpu1 = proc_cpu_ms(srv->pid);
    pthread_barrier_wait(&ph.release);
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);

    if (add_part(out, &ph, wall, cpu1 - cpu0, self1 - self0) != 0)
        return -1;
    pthread_barrier_destroy(&ph.ready);
    pthread_barrier_destroy(&ph.go);
    pthread_barrier_destroy(&ph.done);
    pthread_barrier_destroy(&ph.release);
    pthread_mutex_destroy(&ph.mu);
    free(ph.cert);
    free(ph.key);
    free(ph.lat);
    free(ph.status);
    free(w);
    free(th);
    return 0;
}

/* ---- the calls phase: connections held open, parts alternating ------------- */

/* One level's calls phase. Every client holds one connection to each
 * server for the whole phase (attested: a fresh certificate of its own;
 * both handshakes and a first call on each happen before the clock), and
 * the parts alternate between the servers on those connections, so a part
 * costs no reconnecting and can be short: CALL_ROUNDS rounds of plain /
 * attested / attested / plain. With parts of a few thousand calls that
 * each reconnected (the first design: 5 rounds), the calls ratio of runs
 * of the same code spread from 0.82 to 1.15 on this 2-core machine; a
 * part's rate moves by +-20 % with how the machine happens to schedule
 * the clients and the server in it, and only many parts average that out
 * (25 rounds of the same calls, still reconnecting each part: 0.93-0.99
 * over four runs). */
typedef struct calls_run {
    phase ph[2]; /* per server: its target, certificates, the part's ops */
    int mode;    /* the part's server; read after the go barrier */
    int stop;
    pthread_barrier_t ready, go, done;
} calls_run;

typedef struct calls_worker {
    calls_run *r;
    int idx;
} calls_worker;

static void *calls_client_main(void *arg)
{
    calls_worker *w = arg;
    calls_run *r = w->r;
    char msg[256];
    asps_rpc_client *c[2] = {NULL, NULL};
    for (int m = PLAIN; m <= ATTESTED; m++) {
        /* a busy server (all clients connect at once) is asked again */
        c[m] = open_client(&r->ph[m], w->idx, msg, sizeof msg);
        int st = c[m] ? one_call(&r->ph[m], c[m], msg, sizeof msg) : -1;
        for (int i = 0; i < 100 && st == ASPS_RPC_RESOURCE_EXHAUSTED; i++) {
            usleep(20000);
            st = one_call(&r->ph[m], c[m], msg, sizeof msg);
        }
        if (st != ASPS_RPC_OK)
            note_failure(&r->ph[m], st, msg);
    }
    pthread_barrier_wait(&r->ready);
    for (;;) {
        pthread_barrier_wait(&r->go);
        if (r->stop)
            break;
        phase *ph = &r->ph[r->mode];
        asps_rpc_client *cc = c[r->mode];
        for (;;) {
            int t = atomic_fetch_add(&ph->ticket, 1);
            if (t >= ph->ops)
                break;
            double s0 = bench_now_ms();
            int st = -1;
            msg[0] = '\0';
            if (cc)
                st = one_call(ph, cc, msg, sizeof msg);
            else
                snprintf(msg, sizeof msg, "no connection");
            ph->status[t] = st;
            ph->lat[t] = st == ASPS_RPC_OK ? bench_now_ms() - s0 : -1;
            if (st != ASPS_RPC_OK)
                note_failure(ph, st, msg);
        }
        pthread_barrier_wait(&r->done);
    }
    asps_rpc_client_free(c[PLAIN]);
    asps_rpc_client_free(c[ATTESTED]);
    return NULL;
}

/* The calls phase of one level: CALL_ROUNDS x (plain, attested, attested,
 * plain) parts of OPS calls each on CLIENTS held connections per server;
 * OUT[mode] gets the sums, RND[round][mode] each round's (operations, wall
 * ms, server CPU ms). -1 when out of memory or certificates. */
static int run_calls(const server *srv[2], certs *cp, int clients, int ops, const uint8_t *req,
                     size_t req_len, cell out[2], double rnd[CALL_ROUNDS][2][3])
{
    calls_run r;
    memset(&r, 0, sizeof r);
    if (cp->next + clients > cp->n)
        return -1;
    calls_worker *w = calloc((size_t)clients, sizeof *w);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    int rc = w && th ? 0 : -1;
    for (int m = PLAIN; m <= ATTESTED && rc == 0; m++) {
        phase *ph = &r.ph[m];
        ph->mode = m;
        ph->kind = CALLS;
        ph->clients = clients;
        ph->ops = ops;
        snprintf(ph->target, sizeof ph->target, "127.0.0.1:%d", srv[m]->port);
        ph->ca = cp->ca;
        ph->req = req;
        ph->req_len = req_len;
        atomic_init(&ph->ticket, 0);
        pthread_mutex_init(&ph->mu, NULL);
        ph->cert = calloc((size_t)clients, sizeof *ph->cert);
        ph->key = calloc((size_t)clients, sizeof *ph->key);
        ph->lat = calloc((size_t)ops, sizeof *ph->lat);
        ph->status = calloc((size_t)ops, sizeof *ph->status);
        if (!ph->cert || !ph->key || !ph->lat || !ph->status) {
            rc = -1;
            break;
        }
        for (int i = 0; i < clients; i++) {
            ph->cert[i] = m == PLAIN ? cp->plain_cert : cp->cert[cp->next + i];
            ph->key[i] = m == PLAIN ? cp->plain_key : cp->key[cp->next + i];
        }
    }
    if (rc == 0) {
        cp->next += clients;
        pthread_barrier_init(&r.ready, NULL, (unsigned)clients + 1);
        pthread_barrier_init(&r.go, NULL, (unsigned)clients + 1);
        pthread_barrier_init(&r.done, NULL, (unsigned)clients + 1);
        for (int i = 0; i < clients; i++) {
            w[i].r = &r;
            w[i].idx = i;
        }
        start_clients(th, clients, calls_client_main, w, sizeof *w);
        pthread_barrier_wait(&r.ready);
        static const int order[4] = {PLAIN, ATTESTED, ATTESTED, PLAIN};
        for (int h = 0; h < 4 * CALL_ROUNDS && rc == 0; h++) {
            int m = order[h % 4];
            phase *ph = &r.ph[m];
            atomic_store(&ph->ticket, 0);
            r.mode = m;
            double cpu0 = proc_cpu_ms(srv[m]->pid), self0 = self_cpu_ms(), t0 = bench_now_ms();
            pthread_barrier_wait(&r.go);
            pthread_barrier_wait(&r.done);
            double wall = bench_now_ms() - t0, self1 = self_cpu_ms();
            double cpu1 = proc_cpu_ms(srv[m]->pid);
            int ok0 = out[m].ok;
            if (add_part(&out[m], ph, wall, cpu1 - cpu0, self1 - self0) != 0)
                rc = -1;
            double *rr = rnd[h / 4][m];
            rr[0] += out[m].ok - ok0;
            rr[1] += wall;
            rr[2] += cpu1 - cpu0;
        }
        r.stop = 1;
        pthread_barrier_wait(&r.go);
        for (int i = 0; i < clients; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&r.ready);
        pthread_barrier_destroy(&r.go);
        pthread_barrier_destroy(&r.done);
    }
    for (int m = PLAIN; m <= ATTESTED; m++) {
        phase *ph = &r.ph[m];
        pthread_mutex_destroy(&ph->mu);
        free(ph->cert);
        free(ph->key);
        free(ph->lat);
        free(ph->status);
    }
    free(w);
    free(th);
    return rc;
}

typedef struct figures {
    double per_s, p50, p99, server_cpu_us, driver_cpu_us;
    int ok, failed;
} figures;

static figures figures_of(cell *c)
{
    figures f = {0};
    f.ok = c->ok;
    f.failed = c->failed;
    if (c->n_lat > 0) {
        qsort(c->lat, (size_t)c->n_lat, sizeof *c->lat, bench_cmp_double);
        f.p50 = c->lat[c->n_lat / 2];
        int i99 = (c->n_lat * 99) / 100;
        f.p99 = c->lat[i99 < c->n_lat ? i99 : c->n_lat - 1];
    }
    /* per successful operation: refusals (a busy server) cost CPU too, but
     * do none of the work; counting them would make a server that refuses
     * look cheap */
    f.per_s = c->wall_ms > 0 ? c->ok / (c->wall_ms / 1e3) : 0;
    f.server_cpu_us = c->ok ? c->server_cpu_ms * 1e3 / c->ok : 0;
    f.driver_cpu_us = c->ok ? c->driver_cpu_ms * 1e3 / c->ok : 0;
    return f;
}

static void failures_text(const cell *c, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < 18 && used < n; i++) {
        if (i == 1 || c->by_status[i] == 0)
            continue;
        int w = snprintf(out + used, n - used, "%s%s %d", used ? ", " : "",
                         i == 0 ? "no status" : asps_rpc_status_name(i - 1), c->by_status[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* A round's ratios attested / plain from its totals R[mode] (operations,
 * wall ms, server CPU ms): rate, and server CPU per operation. */
static void round_ratios(const double r[2][3], double *rate, double *cpu)
{
    const double *p = r[PLAIN], *a = r[ATTESTED];
    double prate = p[1] > 0 ? p[0] / p[1] : 0, arate = a[1] > 0 ? a[0] / a[1] : 0;
    double pcpu = p[0] > 0 ? p[2] / p[0] : 0, acpu = a[0] > 0 ? a[2] / a[0] : 0;
    *rate = prate > 0 ? arate / prate : 0;
    *cpu = pcpu > 0 ? acpu / pcpu : 0;
}

/* The median of N values (sorted in place). */
static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int parse_levels(const char *s, int *levels)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < MAX_LEVELS; t = strtok_r(NULL, ",", &save)) {
        int v = atoi(t);
        if (v < 1 || v > MAX_CLIENTS) {
            free(copy);
            return -1;
        }
        levels[n++] = v;
    }
    free(copy);
    return n;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--plain-server") == 0)
        return plain_server(argv[2], argv[3], argv[4]);
    int conns = argc > 1 ? atoi(argv[1]) : 600;
    int calls = argc > 2 ? atoi(argv[2]) : 64000;
    int levels[MAX_LEVELS] = {1, 8, 32, 128}, n_levels = 4;
    if (argc > 3)
        n_levels = parse_levels(argv[3], levels);
    const char *limits = argc > 4 ? argv[4] : NULL;
    if (conns < 2 || calls < 2 || n_levels < 1 || argc > 5 || (limits && limits[0] != '{')) {
        fprintf(stderr,
                "usage: bench_load [CONNS] [CALLS] [CLIENTS,...] [LIMITS]\n"
                "  CLIENTS: 1..%d each (default 1,8,32,128); LIMITS: the servers' config \"limits\"\n"
                "  object, e.g. '{\"max_concurrent_calls\": 256}' (default: none, asps's defaults)\n",
                MAX_CLIENTS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* the asps command: ASPS_BIN, else the one built next to this program
     * (the set-up runs in the temporary folder: the path must be whole) */
    char bin[4096] = "", self[4096] = "";
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 8);
    if (sl <= 0)
        return 1;
    self[sl] = '\0';
    char dir[] = "/tmp/asps-bench-load-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    /* from here on every way out goes through "out" (servers stopped,
     * the folder removed) */
    char config[4200], ca_file[4200], kms_file[4200], att_err[4200], plain_err[4200];
    snprintf(config, sizeof config, "%s/server.json", dir);
    snprintf(ca_file, sizeof ca_file, "%s/ca.pem", dir);
    snprintf(kms_file, sizeof kms_file, "%s/kms.json", dir);
    snprintf(att_err, sizeof att_err, "%s/attested.err", dir);
    snprintf(plain_err, sizeof plain_err, "%s/plain.err", dir);
    server att = {0}, plain = {0};
    int rc = 1;
    const char *env_bin = getenv("ASPS_BIN");
    if (env_bin) {
        snprintf(bin, sizeof bin, "%s", env_bin);
    } else {
        snprintf(bin, sizeof bin, "%s", self);
        char *slash = strrchr(bin, '/');
        strcpy(slash + 1, "asps");
    }
    if (bench_setup_files(dir, bin) != 0) {
        fprintf(stderr, "setup failed (set ASPS_BIN to the asps binary)\n");
        goto out;
    }

    /* one config for both servers: the defaults of `asps serve`, or the
     * limits given */
    FILE *cf = fopen(config, "w");
    if (!cf)
        goto out;
    fprintf(cf,
            "{\"listen\": \"127.0.0.1:0\", \"server_cert\": \"server.pem\", "
            "\"server_key\": \"server.key\", \"trust\": {\"sim\": \"sim\"}, "
            "\"collateral\": {\"sim\": \"sim\"}, \"policy\": \"policy.json\", "
            "\"audit\": \"audit.log\"%s%s}\n",
            limits ? ", \"limits\": " : "", limits ? limits : "");
    if (fclose(cf) != 0)
        goto out;

    /* the servers first, before this process has any thread */
    char *att_argv[] = {bin, "serve", "--config", config, NULL};
    char *plain_argv[] = {self, "--plain-server", config, ca_file, kms_file, NULL};
    if (spawn_server(dir, att_argv, att_err, &att) != 0 ||
        spawn_server(dir, plain_argv, plain_err, &plain) != 0) {
        fprintf(stderr, "a server did not start (set ASPS_BIN to the asps binary)\n");
        goto out; /* stop_server shows what it said */
    }

    /* RA-TLS certificates, all made before the clock starts: one per
     * attested connection, one per attested client of each level's calls
     * phase, and two for warming up */
    int total = 2;
    for (int l = 0; l < n_levels; l++) {
        int nc = conns > 2 * ROUNDS * levels[l] ? conns : 2 * ROUNDS * levels[l];
        total += 2 * ROUNDS * ((nc + 2 * ROUNDS - 1) / (2 * ROUNDS)) + levels[l];
    }
    certs cp = {0};
    cp.ca = bench_slurp(dir, "ca.pem");
    cp.plain_cert = bench_slurp(dir, "client.pem");
    cp.plain_key = bench_slurp(dir, "client.key");
    cp.cert = calloc((size_t)total, sizeof *cp.cert);
    cp.key = calloc((size_t)total, sizeof *cp.key);
    if (!cp.ca || !cp.plain_cert || !cp.plain_key || !cp.cert || !cp.key)
        goto out;
    asps_errbuf eb;
    char simdir[4200];
    snprintf(simdir, sizeof simdir, "%s/sim", dir);
    asps_sim_identity ident;
    memset(&ident, 0, sizeof ident);
    memset(ident.mr_enclave, 0xa1, 32);
    asps_attester *attester;
    if (asps_sim_attester_new(simdir, &ident, &attester, &eb) != ASPS_OK) {
        fprintf(stderr, "%s\n", eb.msg);
        goto out;
    }
    double tc = bench_now_ms();
    for (int i = 0; i < total; i++) {
        asps_ratls_create_opts o = {.quote = asps_attester_quote, .quote_ctx = attester};
        if (asps_ratls_create(&o, &cp.cert[i], &cp.key[i], &eb) != ASPS_OK) {
            fprintf(stderr, "%s\n", eb.msg);
            asps_attester_free(attester);
            goto out;
        }
        cp.n++;
    }
    double create_ms = bench_now_ms() - tc;
    asps_attester_free(attester);

    const char *names[1] = {"image_key"};
    uint8_t *req = NULL;
    size_t req_len = 0;
    if (asps_rpc_encode_get_secrets_request(names, 1, &req, &req_len, &eb) != ASPS_OK)
        goto out;

    /* each server refuses the other's client: the plain one takes only
     * certificates its CA issued (the TLS handshake fails: UNAVAILABLE),
     * the attested one only evidence that verifies (UNAUTHENTICATED) */
    {
        char msg[256];
        char *one_cert[1] = {cp.cert[cp.n - 1]}, *one_key[1] = {cp.key[cp.n - 1]};
        char *pl_cert[1] = {cp.plain_cert}, *pl_key[1] = {cp.plain_key};
        phase probe;
        memset(&probe, 0, sizeof probe);
        probe.ca = cp.ca;
        probe.req = req;
        probe.req_len = req_len;
        int st_plain = -1, st_att = -1;
        snprintf(probe.target, sizeof probe.target, "127.0.0.1:%d", plain.port);
        probe.cert = one_cert;
        probe.key = one_key;
        asps_rpc_client *pc = open_client(&probe, 0, msg, sizeof msg);
        if (pc)
            st_plain = one_call(&probe, pc, msg, sizeof msg);
        asps_rpc_client_free(pc);
        snprintf(probe.target, sizeof probe.target, "127.0.0.1:%d", att.port);
        probe.cert = pl_cert;
        probe.key = pl_key;
        pc = open_client(&probe, 0, msg, sizeof msg);
        if (pc)
            st_att = one_call(&probe, pc, msg, sizeof msg);
        asps_rpc_client_free(pc);
        if (st_plain != ASPS_RPC_UNAVAILABLE || st_att != ASPS_RPC_UNAUTHENTICATED) {
            fprintf(stderr,
                    "the servers are not what they should be: an RA-TLS client of the plain one "
                    "got %s (expected UNAVAILABLE), a CA-issued client of the attested one %s "
                    "(expected UNAUTHENTICATED)\n",
                    st_plain >= 0 ? asps_rpc_status_name(st_plain) : "no status",
                    st_att >= 0 ? asps_rpc_status_name(st_att) : "no status");
            goto out;
        }
    }

    /* a client held open (never used) keeps gRPC initialised in this
     * process: otherwise freeing the last client of a phase would shut the
     * library down and the next connection would start it again */
    char keeper_target[64];
    snprintf(keeper_target, sizeof keeper_target, "127.0.0.1:%d", plain.port);
    asps_rpc_client_opts ko = {.target = keeper_target, .cert_pem = cp.plain_cert,
                               .key_pem = cp.plain_key, .ca_pem = cp.ca, .server_name = "localhost"};
    asps_rpc_client *keeper = NULL;
    if (asps_rpc_client_new(&ko, &keeper, &eb) != ASPS_OK) {
        fprintf(stderr, "%s\n", eb.msg);
        goto out;
    }

    /* warm both: the attested server verifies its collateral once, as a
     * running server has */
    cell warm[2];
    memset(warm, 0, sizeof warm);
    run_half(&plain, &cp, PLAIN, CONNS, 1, 2, req, req_len, &warm[PLAIN]);
    run_half(&att, &cp, ATTESTED, CONNS, 1, 2, req, req_len, &warm[ATTESTED]);
    if (warm[PLAIN].ok != 2 || warm[ATTESTED].ok != 2) {
        fprintf(stderr, "warm-up failed: plain %s / attested %s\n", warm[PLAIN].first_error,
                warm[ATTESTED].first_error);
        goto out;
    }
    free(warm[PLAIN].lat);
    free(warm[ATTESTED].lat);

    cell cells[MAX_LEVELS][2][2]; /* level, kind, mode */
    memset(cells, 0, sizeof cells);
    /* each round's own totals (level, kind, round, mode): operations,
     * wall ms, server CPU ms; for the median of the rounds' ratios */
    double rnd[MAX_LEVELS][ROUNDS][2][3];
    double rndc[MAX_LEVELS][CALL_ROUNDS][2][3]; /* the same for calls */
    memset(rnd, 0, sizeof rnd);
    memset(rndc, 0, sizeof rndc);
    double t_all = bench_now_ms();
    for (int l = 0; l < n_levels; l++) {
        int cl = levels[l];
        int nc = conns > 2 * ROUNDS * cl ? conns : 2 * ROUNDS * cl;
        /* calls: at least 4 per client and part */
        int nk = calls > 2 * CALL_ROUNDS * 4 * cl ? calls : 2 * CALL_ROUNDS * 4 * cl;
        int ops = (nc + 2 * ROUNDS - 1) / (2 * ROUNDS);
        /* ROUNDS x (plain, attested, attested, plain) */
        static const int order[4] = {PLAIN, ATTESTED, ATTESTED, PLAIN};
        for (int h = 0; h < 4 * ROUNDS; h++) {
            int m = order[h % 4];
            cell *c = &cells[l][CONNS][m];
            int ok0 = c->ok;
            double w0 = c->wall_ms, cpu0 = c->server_cpu_ms;
            if (run_half(m == PLAIN ? &plain : &att, &cp, m, CONNS, cl, ops, req, req_len, c) !=
                0) {
                fprintf(stderr, "out of memory or certificates\n");
                goto out;
            }
            double *r = rnd[l][h / 4][m];
            r[0] += c->ok - ok0;
            r[1] += c->wall_ms - w0;
            r[2] += c->server_cpu_ms - cpu0;
        }
        const server *both[2] = {&plain, &att};
        if (run_calls(both, &cp, cl, (nk + 2 * CALL_ROUNDS - 1) / (2 * CALL_ROUNDS), req, req_len,
                      cells[l][CALLS], rndc[l]) != 0) {
            fprintf(stderr, "out of memory or certificates\n");
            goto out;
        }
    }
    double total_s = (bench_now_ms() - t_all) / 1e3;

    printf("bench_load: servers in their own processes on 127.0.0.1, %ld online cores shared with "
           "this driver\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    show_banner_line(att_err, "limits");
    printf("RA-TLS certificates made before the clock: %d in %.0f ms (%.2f ms each)\n", cp.n,
           create_ms, create_ms / cp.n);
    printf("srv us/c: the server process's CPU time (user + system, all threads) over the phase "
           "per connection or call; drv us/c: this driver's\n");
    printf("\n%-7s %-8s | %9s %7s %7s %9s %9s | %9s %7s %7s %9s %9s | %s\n", "clients", "server",
           "conn/s", "p50 ms", "p99 ms", "srv us/c", "drv us/c", "calls/s", "p50 ms", "p99 ms",
           "srv us/c", "drv us/c", "failures");
    figures f[MAX_LEVELS][2][2];
    int failures = 0;
    for (int l = 0; l < n_levels; l++) {
        for (int m = PLAIN; m <= ATTESTED; m++) {
            figures *a = &f[l][CONNS][m], *b = &f[l][CALLS][m];
            *a = figures_of(&cells[l][CONNS][m]);
            *b = figures_of(&cells[l][CALLS][m]);
            char fc[200], fk[200];
            failures_text(&cells[l][CONNS][m], fc, sizeof fc);
            failures_text(&cells[l][CALLS][m], fk, sizeof fk);
            failures += a->failed + b->failed;
            printf("%-7d %-8s | %9.1f %7.2f %7.2f %9.0f %9.0f | %9.0f %7.2f %7.2f %9.0f %9.0f | "
                   "%s%s%s%s%s%s\n",
                   levels[l], m == PLAIN ? "plain" : "attested", a->per_s, a->p50, a->p99,
                   a->server_cpu_us, a->driver_cpu_us, b->per_s, b->p50, b->p99, b->server_cpu_us,
                   b->driver_cpu_us, fc[0] ? "conns: " : "", fc, fc[0] && fk[0] ? "; " : "",
                   fk[0] ? "calls: " : "", fk, fk[0] || fc[0] ? "" : "0");
        }
    }
    printf("\nratios attested / plain, three decimals (server CPU: lower is better for attested "
           "when < 1)\n");
    printf("%-7s | %8s %14s | %8s %14s\n", "clients", "conn/s", "srv CPU/conn", "calls/s",
           "srv CPU/call");
    for (int l = 0; l < n_levels; l++) {
        figures *pc = &f[l][CONNS][PLAIN], *ac = &f[l][CONNS][ATTESTED];
        figures *pk = &f[l][CALLS][PLAIN], *ak = &f[l][CALLS][ATTESTED];
        printf("%-7d | %8.3f %14.3f | %8.3f %14.3f\n", levels[l],
               pc->per_s > 0 ? ac->per_s / pc->per_s : 0,
               pc->server_cpu_us > 0 ? ac->server_cpu_us / pc->server_cpu_us : 0,
               pk->per_s > 0 ? ak->per_s / pk->per_s : 0,
               pk->server_cpu_us > 0 ? ak->server_cpu_us / pk->server_cpu_us : 0);
    }
    /* The same ratios round by round (each round: plain, attested,
     * attested, plain, a second or two), and their median: a burst on the
     * machine, or the plain server falling into a faster rhythm for a
     * while, moves one round, not the typical one. */
    double med[MAX_LEVELS][4];
    printf("\nthe same, round by round: connections (%d rounds), each round and their median; "
           "calls (%d rounds), the median and [the middle half of the rounds]\n",
           ROUNDS, CALL_ROUNDS);
    for (int l = 0; l < n_levels; l++) {
        double v[2][ROUNDS], vc[2][CALL_ROUNDS];
        for (int r = 0; r < ROUNDS; r++)
            round_ratios(rnd[l][r], &v[0][r], &v[1][r]);
        for (int r = 0; r < CALL_ROUNDS; r++)
            round_ratios(rndc[l][r], &vc[0][r], &vc[1][r]);
        printf("%-7d |", levels[l]);
        for (int i = 0; i < 2; i++) {
            printf(" ");
            for (int r = 0; r < ROUNDS; r++)
                printf("%s%.2f", r ? "/" : "", v[i][r]);
            med[l][i] = median_of(v[i], ROUNDS);
            printf(" (%.2f)", med[l][i]);
        }
        printf(" |");
        for (int i = 0; i < 2; i++) {
            med[l][2 + i] = median_of(vc[i], CALL_ROUNDS); /* sorts vc[i] */
            printf(" %.2f [%.2f-%.2f]", med[l][2 + i], vc[i][CALL_ROUNDS / 4],
                   vc[i][CALL_ROUNDS - 1 - CALL_ROUNDS / 4]);
        }
        printf("\n");
    }
    for (int l = 0; l < n_levels; l++)
        for (int k = CONNS; k <= CALLS; k++)
            for (int m = PLAIN; m <= ATTESTED; m++)
                if (cells[l][k][m].first_error[0])
                    printf("%d clients, %s %s: first failure: %s\n", levels[l],
                            m == PLAIN ? "plain" : "attested", k == CONNS ? "connections" : "calls",
                            cells[l][k][m].first_error);
    printf("measured in %.1f s\n", total_s);
    printf("{\"bench\": \"load\", \"levels\": [");
    for (int l = 0; l < n_levels; l++) {
        printf("%s{\"clients\": %d", l ? ", " : "", levels[l]);
        for (int m = PLAIN; m <= ATTESTED; m++) {
            const char *mn = m == PLAIN ? "plain" : "attested";
            figures *a = &f[l][CONNS][m], *b = &f[l][CALLS][m];
            printf(", \"%s\": {\"conn_per_s\": %.1f, \"conn_p50_ms\": %.2f, \"conn_p99_ms\": %.2f, "
                   "\"server_cpu_us_per_conn\": %.0f, \"calls_per_s\": %.0f, \"call_p50_ms\": %.3f, "
                   "\"call_p99_ms\": %.3f, \"server_cpu_us_per_call\": %.1f, \"failures\": %d}",
                   mn, a->per_s, a->p50, a->p99, a->server_cpu_us, b->per_s, b->p50, b->p99,
                   b->server_cpu_us, a->failed + b->failed);
        }
        figures *pc = &f[l][CONNS][PLAIN], *ac = &f[l][CONNS][ATTESTED];
        figures *pk = &f[l][CALLS][PLAIN], *ak = &f[l][CALLS][ATTESTED];
        printf(", \"median_round_ratio_conn_per_s\": %.2f, "
               "\"median_round_ratio_server_cpu_per_conn\": %.2f, "
               "\"median_round_ratio_calls_per_s\": %.2f, "
               "\"median_round_ratio_server_cpu_per_call\": %.2f",
               med[l][0], med[l][1], med[l][2], med[l][3]);
        printf(", \"ratio_conn_per_s\": %.3f, \"ratio_server_cpu_per_conn\": %.3f, "
               "\"ratio_calls_per_s\": %.3f, \"ratio_server_cpu_per_call\": %.3f}",
               pc->per_s > 0 ? ac->per_s / pc->per_s : 0,
               pc->server_cpu_us > 0 ? ac->server_cpu_us / pc->server_cpu_us : 0,
               pk->per_s > 0 ? ak->per_s / pk->per_s : 0,
               pk->server_cpu_us > 0 ? ak->server_cpu_us / pk->server_cpu_us : 0);
    }
    printf("], \"conns\": %d, \"calls\": %d, \"limits\": %s, \"failures\": %d, \"seconds\": %.1f}\n",
           conns, calls, limits ? limits : "null", failures, total_s);
    rc = 0;
    asps_rpc_client_free(keeper);
    for (int l = 0; l < n_levels; l++)
        for (int k = CONNS; k <= CALLS; k++)
            for (int m = PLAIN; m <= ATTESTED; m++)
                free(cells[l][k][m].lat);
    free(req);
    for (int i = 0; i < cp.n; i++) {
        free(cp.cert[i]);
        asps_ratls_free_key(cp.key[i]);
    }
    free(cp.cert);
    free(cp.key);
    free(cp.ca);
    free(cp.plain_cert);
    free(cp.plain_key);
out:
    stop_server(&att, "attested", att_err);
    stop_server(&plain, "plain", plain_err);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
