/* identity.c: the server's TLS certificate and key, replaceable while the
 * server runs (SIGHUP), for gRPC core 1.51's TLS credentials.
 *
 * Why this shape. The server needs gRPC's TLS credentials API: only it has
 * the external certificate verifier that RA-TLS needs (common.c). In that
 * API (1.51, C) the only certificate provider whose identity can change is
 * the file watcher (grpc_tls_certificate_provider_file_watcher_create),
 * which re-reads a key file and a certificate file every refresh interval
 * and hands changed contents to new handshakes. (The SSL credentials'
 * config fetcher reloads too, but has no external verifier.) So the pair
 * is kept in a file gRPC re-reads; to keep the private key off every
 * filesystem and the swap atomic, that "file" is an anonymous memory file
 * (memfd_create(2)) reached as /proc/self/fd/N:
 *
 *   - one memfd holds the key PEM followed by the certificate chain PEM,
 *     given to gRPC as both the key file and the certificate file (OpenSSL's
 *     PEM readers skip blocks of another type, so each reads its own part);
 *   - a new pair is written to a NEW memfd, which is then put in place of the
 *     old with dup3(2) onto the same descriptor number: a reader opens
 *     either the old pair or the new one, never half of each;
 *   - gRPC's reader compares the file's modification time (seconds) before
 *     and after reading and retries when it changed; each new memfd gets a
 *     modification time later than the one it replaces, so a read that
 *     straddles the swap (key from the old, certificate from the new) is
 *     seen and retried.
 *
 * Owns the memfds. They stay open until asps_rpc__identity_free, which must
 * come after gRPC has dropped the provider (its thread reads them).
 *
 * Also here: TLS 1.3 session tickets off for the server's TLS (at the end).
 */
#include "rpc_internal.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct asps_rpc__identity {
    int fd;       /* the pair: key PEM then certificate chain PEM */
    int root_fd;  /* client CA bundle, or -1 */
    char path[48];
    char root_path[48];
};

/* A new memfd holding A then B (B may be NULL), modification time at least
 * NOT_BEFORE (seconds; 0: now). */
static asps_err memfd_with(const char *a, const char *b, time_t not_before, int *out,
                           asps_errbuf *eb)
{
    int fd = memfd_create("asps-tls-identity", MFD_CLOEXEC);
    if (fd < 0)
        return asps_fail(eb, ASPS_E_IO, "rpc: memfd_create: %s", strerror(errno));
    const char *parts[3] = {a, b ? "\n" : NULL, b};
    for (int i = 0; i < 3; i++) {
        if (parts[i] == NULL)
            continue;
        size_t n = strlen(parts[i]), off = 0;
        while (off < n) {
            ssize_t w = write(fd, parts[i] + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                int e = errno;
                close(fd);
                return asps_fail(eb, ASPS_E_IO, "rpc: writing the TLS identity: %s", strerror(e));
            }
            off += (size_t)w;
        }
    }
    time_t now = time(NULL);
    if (not_before > now) {
        struct timespec ts[2] = {{.tv_sec = not_before}, {.tv_sec = not_before}};
        if (futimens(fd, ts) != 0) {
            int e = errno;
            close(fd);
            return asps_fail(eb, ASPS_E_IO, "rpc: futimens: %s", strerror(e));
        }
    }
    *out = fd;
    return ASPS_OK;
}

asps_err asps_rpc__identity_new(const char *cert_pem, const char *key_pem, const char *root_pem,
                                asps_rpc__identity **out, asps_errbuf *eb)
{
    *out = NULL;
    asps_rpc__identity *id = calloc(1, sizeof *id);
    if (id == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    id->fd = id->root_fd = -1;
    asps_err e = memfd_with(key_pem, cert_pem, 0, &id->fd, eb);
    if (e == ASPS_OK && root_pem != NULL)
        e = memfd_with(root_pem, NULL, 0, &id->root_fd, eb);
    if (e != ASPS_OK) {
        asps_rpc__identity_free(id);
        return e;
    }
    snprintf(id->path, sizeof id->path, "/proc/self/fd/%d", id->fd);
    if (id->root_fd >= 0)
        snprintf(id->root_path, sizeof id->root_path, "/proc/self/fd/%d", id->root_fd);
    /* gRPC reads the pair by that path: make sure it can (no /proc, no go) */
    struct stat st;
    if (stat(id->path, &st) != 0) {
        e = asps_fail(eb, ASPS_E_IO, "rpc: %s: %s (is /proc mounted?)", id->path, strerror(errno));
        asps_rpc__identity_free(id);
        return e;
    }
    *out = id;
    return ASPS_OK;
}

grpc_tls_certificate_provider *asps_rpc__identity_provider(asps_rpc__identity *id)
{
    return grpc_tls_certificate_provider_file_watcher_create(
        id->path, id->path, id->root_fd >= 0 ? id->root_path : NULL,
        ASPS_RPC_IDENTITY_REFRESH_S);
}

asps_err asps_rpc__check_validity(const char *cert_pem, const char *what, asps_errbuf *eb)
{
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    if (b == NULL)
        return asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    asps_err rc = ASPS_OK;
    if (x == NULL)
        rc = asps_fail(eb, ASPS_E_PARSE, "rpc: %s certificate is not a PEM certificate", what);
    else if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0)
        rc = asps_fail(eb, ASPS_E_ARG, "rpc: %s certificate is not valid yet", what);
    else if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
        rc = asps_fail(eb, ASPS_E_ARG, "rpc: %s certificate has expired", what);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

asps_err asps_rpc__identity_set(asps_rpc__identity *id, const char *cert_pem, const char *key_pem,
                                asps_errbuf *eb)
{
    struct stat st;
    if (fstat(id->fd, &st) != 0)
        return asps_fail(eb, ASPS_E_IO, "rpc: TLS identity: %s", strerror(errno));
    int nfd;
    ASPS_TRY(memfd_with(key_pem, cert_pem, st.st_mtime + 1, &nfd, eb));
    int r;
    do {
        r = dup3(nfd, id->fd, O_CLOEXEC);
    } while (r < 0 && errno == EINTR);
    int e = errno;
    close(nfd);
    if (r < 0)
        return asps_fail(eb, ASPS_E_IO, "rpc: swapping the TLS identity: %s", strerror(e));
    return ASPS_OK;
}

void asps_rpc__identity_free(asps_rpc__identity *id)
{
    if (id == NULL)
        return;
    if (id->fd >= 0)
        close(id->fd);
    if (id->root_fd >= 0)
        close(id->root_fd);
    free(id);
}

/* ---- TLS 1.3 session tickets off ---------------------------------------------
 *
 * Why. A TLS 1.3 server built on OpenSSL sends two NewSessionTicket messages
 * after every handshake by default, and OpenSSL re-encodes the session
 * (the client's certificate included: 8.6 KB for an RA-TLS one) into each.
 * No asps client resumes a session (gRPC clients keep no session cache
 * unless told to; RA-TLS evidence is checked per connection anyway), so
 * the tickets were pure cost: 17 % of a new connection's instructions.
 *
 * How. gRPC core 1.51 makes its own SSL_CTX (SSL_CTX_new(TLS_method())) and
 * has no setting for tickets. What it cannot avoid is OpenSSL's system
 * configuration: SSL_CTX_new applies the ssl_conf module's
 * "system_default" command list to every new SSL_CTX (ssl/ssl_mcnf.c,
 * ssl_ctx_system_config; checked on OpenSSL 3.0.19). So we make that list
 * the system's own plus "NumTickets = 0" (SSL_CONF_cmd(3)), a server-only
 * command:
 *   1. OpenSSL loads its configuration (once per process) now, so that a
 *      later automatic load cannot put the old list back;
 *   2. the same file is read again (CONF_get1_default_config_file: $OPENSSL_CONF
 *      or OPENSSLDIR/openssl.cnf), through ".include" at the head of a text
 *      of ours that appends "NumTickets = 0" to the section the ssl_conf
 *      module's system_default names (a repeated [section] header adds to
 *      the section in OpenSSL's config syntax), creating the ssl_conf and
 *      system_default sections under our own names when the file has none
 *      (Debian 12's has none);
 *   3. only the ssl_conf module is run again, from an application section
 *      of ours: it replaces OpenSSL's table of named SSL command lists with
 *      the system's lists, ours extended (every other module is untouched);
 *   4. a probe SSL_CTX made before and after must differ in the ticket
 *      count alone (protocol range, security level, options, cipher list,
 *      TLS 1.3 suites): if anything else changed, the system's table is put
 *      back as it was and tickets stay on, with a warning.
 * The values themselves are never re-written as text: OpenSSL's own parser
 * reads them, as it did at start-up.
 *
 * Process-wide: every SSL_CTX made afterwards gets it, which only changes
 * server-side TLS (clients do not send tickets). The table it replaces is
 * read by every SSL_CTX_new without a lock: this runs once, before the first
 * server's credentials exist (asps serve calls it before any other thread
 * is started). */

#define TICKETS_APP "asps_tls_no_tickets" /* our application section */

struct ctx_shape { /* what the probe compares */
    long min, max, tickets;
    int sec;
    uint64_t opts;
    char ciphers[2048];
};

static int ctx_shape(struct ctx_shape *sh)
{
    memset(sh, 0, sizeof *sh);
    SSL_CTX *c = SSL_CTX_new(TLS_method());
    if (c == NULL)
        return 0;
    sh->min = SSL_CTX_get_min_proto_version(c);
    sh->max = SSL_CTX_get_max_proto_version(c);
    sh->tickets = (long)SSL_CTX_get_num_tickets(c);
    sh->sec = SSL_CTX_get_security_level(c);
    sh->opts = SSL_CTX_get_options(c);
    STACK_OF(SSL_CIPHER) *cs = SSL_CTX_get_ciphers(c); /* TLS 1.3 suites included */
    size_t w = 0;
    for (int i = 0; i < sk_SSL_CIPHER_num(cs) && w < sizeof sh->ciphers; i++) {
        int k = snprintf(sh->ciphers + w, sizeof sh->ciphers - w, "%s:",
                         SSL_CIPHER_get_name(sk_SSL_CIPHER_value(cs, i)));
        w += k > 0 ? (size_t)k : 0;
    }
    SSL_CTX_free(c);
    return 1;
}

/* The name of module MODULE's section in application section APP of cf, or
 * NULL. As OpenSSL's module loader: the module name is an entry's name up to
 * its last '.' ("ssl_conf.1"), and the last such entry is the one that
 * counts (each run of the module replaces what the one before set). */
static const char *module_section(const CONF *cf, const char *app, const char *module)
{
    STACK_OF(CONF_VALUE) *vals = app ? NCONF_get_section(cf, app) : NULL;
    const char *found = NULL;
    for (int i = 0; i < sk_CONF_VALUE_num(vals); i++) {
        const CONF_VALUE *v = sk_CONF_VALUE_value(vals, i);
        const char *dot = strrchr(v->name, '.');
        size_t n = dot ? (size_t)(dot - v->name) : strlen(v->name);
        if (n == strlen(module) && strncmp(v->name, module, n) == 0)
            found = v->value;
    }
    return found;
}

/* Whether PATH can be the argument of an ".include" line: OpenSSL's parser
 * trims spaces at either end of it. */
static int includable(const char *path)
{
    size_t len = strlen(path);
    return len > 0 && strchr(" \t\r", path[0]) == NULL && strchr(" \t\r", path[len - 1]) == NULL;
}

/* PATH as the argument of an ".include" line (malloc'd; NULL: out of
 * memory): OpenSSL's parser takes '#' as a comment, '$' as a variable,
 * quotes and '\\' as quoting (conf_def.c: clear_comments, str_copy), so each
 * of those is escaped with '\\'. */
static char *include_arg(const char *path)
{
    size_t len = strlen(path);
    char *out = malloc(2 * len + 1), *w = out;
    if (out == NULL)
        return NULL;
    for (const char *r = path; *r != '\0'; r++) {
        if (strchr("#$\\\"'", *r) != NULL)
            *w++ = '\\';
        *w++ = *r;
    }
    *w = '\0';
    return out;
}

/* Whether ALL (the text of ours, the system's file included) holds every
 * command list of the system's ssl_conf section SSL_SECT as CF (the file
 * read alone) has it. The ssl_conf module drops OpenSSL's whole table of
 * lists before it reads a new one, and on any error leaves it empty
 * (conf_ssl.c: ssl_module_init): run on a text whose include failed, it
 * would take away the system's settings (its ciphers, protocol range)
 * instead of extending them. */
static int lists_intact(const CONF *cf, CONF *all, const char *ssl_sect)
{
    STACK_OF(CONF_VALUE) *lists = ssl_sect ? NCONF_get_section(cf, ssl_sect) : NULL;
    for (int i = 0; i < sk_CONF_VALUE_num(lists); i++) {
        const CONF_VALUE *v = sk_CONF_VALUE_value(lists, i);
        int want = sk_CONF_VALUE_num(NCONF_get_section(cf, v->value));
        const char *got = NCONF_get_string(all, ssl_sect, v->name);
        if (want > 0 && (got == NULL || strcmp(got, v->value) != 0 ||
                         sk_CONF_VALUE_num(NCONF_get_section(all, v->value)) < want))
            return 0;
    }
    return 1;
}

/* Run the ssl_conf module again from the system's configuration file with
 * (if TICKETS) "NumTickets = 0" added to its system_default list. The file
 * is read once to learn its section names, then again through ".include"
 * at the head of our text, in one load, so that our lines extend its
 * sections (OpenSSL's config syntax: a section named again is extended;
 * loading a second text into the same CONF object is not supported). */
static asps_err apply_ssl_conf(int tickets, asps_errbuf *eb)
{
    asps_err rc = ASPS_OK;
    CONF *cf = NCONF_new(NULL), *all = NCONF_new(NULL);
    char *file = CONF_get1_default_config_file();
    BIO *bio = NULL;
    char *text = NULL, *inc = NULL;
    if (cf == NULL || all == NULL) {
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
        goto out;
    }
    long line = 0;
    /* a missing file is no configuration, as OpenSSL's own start-up load
     * takes it */
    int have_file = file != NULL && access(file, F_OK) == 0;
    if (have_file && (strchr(file, '\n') != NULL || NCONF_load(cf, file, &line) <= 0)) {
        rc = asps_fail(eb, ASPS_E_PARSE, "rpc: OpenSSL configuration %s: cannot read (line %ld)",
                       file, line);
        goto out;
    }
    const char *app = have_file ? NCONF_get_string(cf, NULL, "openssl_conf") : NULL;
    const char *ssl_sect = module_section(cf, app, "ssl_conf");
    const char *sys = ssl_sect ? NCONF_get_string(cf, ssl_sect, "system_default") : NULL;
    ERR_clear_error(); /* "no such value" is not an error here */
    if (have_file && !includable(file)) {
        rc = asps_fail(eb, ASPS_E_ARG,
                       "rpc: OpenSSL configuration %s: a path with spaces at either end "
                       "cannot be included", file);
        goto out;
    }
    if (have_file && (inc = include_arg(file)) == NULL) {
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
        goto out;
    }
    size_t cap = 1024 + (have_file ? strlen(inc) : 0) + (ssl_sect ? 2 * strlen(ssl_sect) : 0) +
                 (sys ? strlen(sys) : 0);
    text = malloc(cap);
    if (text == NULL) {
        rc = asps_fail(eb, ASPS_E_NOMEM, "rpc: out of memory");
        goto out;
    }
    const char *ticket_line = tickets ? "NumTickets = 0\n" : "";
    int n = snprintf(text, cap, "%s%s%s[default]\n" TICKETS_APP " = " TICKETS_APP "_init\n"
                     "[" TICKETS_APP "_init]\n", have_file ? ".include " : "",
                     have_file ? inc : "", have_file ? "\n" : "");
    int m;
    if (ssl_sect && sys) /* the system's own list, extended */
        m = snprintf(text + n, cap - (size_t)n, "ssl_conf = %s\n[%s]\n%s", ssl_sect, sys,
                     ticket_line);
    else if (ssl_sect) /* named lists but no system_default: add one */
        m = snprintf(text + n, cap - (size_t)n,
                     "ssl_conf = %s\n[%s]\nsystem_default = " TICKETS_APP "_sys\n"
                     "[" TICKETS_APP "_sys]\n%s", ssl_sect, ssl_sect, ticket_line);
    else /* none at all (Debian 12's file). Restoring that (TICKETS 0):
          * an empty list, which the module refuses, leaving its table
          * empty as it was. */
        m = snprintf(text + n, cap - (size_t)n,
                     "ssl_conf = " TICKETS_APP "_ssl\n[" TICKETS_APP "_ssl]\n"
                     "system_default = " TICKETS_APP "_sys\n[" TICKETS_APP "_sys]\n%s",
                     ticket_line);
    if (n < 0 || m < 0 || (size_t)n + (size_t)m >= cap) {
        rc = asps_fail(eb, ASPS_E_INTERNAL, "rpc: OpenSSL configuration text too long");
        goto out;
    }
    bio = BIO_new_mem_buf(text, -1);
    if (bio == NULL || NCONF_load_bio(all, bio, &line) <= 0)
        rc = asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot apply the OpenSSL ssl_conf settings");
    else if (!lists_intact(cf, all, ssl_sect)) /* before the module drops the system's */
        rc = asps_fail(eb, ASPS_E_INTERNAL,
                       "rpc: OpenSSL configuration %s: its ssl_conf lists were not all there "
                       "when read again; left as they are", file);
    else if (CONF_modules_load(all, TICKETS_APP, 0) <= 0 && tickets)
        rc = asps_fail(eb, ASPS_E_INTERNAL, "rpc: cannot apply the OpenSSL ssl_conf settings");
out:
    ERR_clear_error();
    BIO_free(bio);
    free(text);
    free(inc);
    OPENSSL_free(file);
    NCONF_free(cf);
    NCONF_free(all);
    return rc;
}

static pthread_once_t tickets_once = PTHREAD_ONCE_INIT;
static int tickets_state; /* 1 off, -1 left on (see tickets_msg) */
static char tickets_msg[sizeof(asps_errbuf) + 64];

static void tls_no_tickets(void)
{
    /* step 1: OpenSSL's own configuration load, once per process */
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
    struct ctx_shape before, after;
    asps_errbuf eb = {{0}};
    tickets_state = -1;
    if (!ctx_shape(&before)) {
        snprintf(tickets_msg, sizeof tickets_msg, "cannot make a probe SSL_CTX");
        return;
    }
    if (before.tickets == 0) { /* the system configuration already says so */
        tickets_state = 1;
        return;
    }
    if (apply_ssl_conf(1, &eb) != ASPS_OK) {
        snprintf(tickets_msg, sizeof tickets_msg, "%s", eb.msg);
        return;
    }
    if (ctx_shape(&after) && after.tickets == 0 && after.min == before.min &&
        after.max == before.max && after.sec == before.sec && after.opts == before.opts &&
        strcmp(after.ciphers, before.ciphers) == 0) {
        tickets_state = 1;
        return;
    }
    /* something besides the tickets changed: put the system's table back */
    snprintf(tickets_msg, sizeof tickets_msg,
             "adding NumTickets = 0 to the OpenSSL system_default settings changed other "
             "settings; left as configured");
    (void)apply_ssl_conf(0, &eb);
}

int asps_rpc_tls_tickets_off(char *why, size_t whylen)
{
    pthread_once(&tickets_once, tls_no_tickets);
    if (tickets_state < 0 && why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", tickets_msg);
    return tickets_state > 0;
}
