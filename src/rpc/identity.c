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
 */
#include "rpc_internal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
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
