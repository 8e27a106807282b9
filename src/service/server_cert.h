/* server_cert.h: the server's own TLS certificate and key, checked before
 * they are served: readable PEM, the key is the certificate's, and the
 * certificate is within its validity at NOW. A certificate that has expired,
 * or is not valid yet, is refused (clients would only say "certificate
 * verify failed"); one expiring within ASPS_SERVER_CERT_WARN_DAYS is
 * accepted and flagged (*warn) for the start-up banner.
 *
 * The pair being served is recorded once accepted (asps_server_cert_set_current,
 * by `asps serve` at start and by a reload that swaps the pair), so that
 * the metrics can say how long it has left (asps_server_cert_current:
 * not_after - now). Thread-safe. */
#ifndef ASPS_SERVER_CERT_H
#define ASPS_SERVER_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"

#define ASPS_SERVER_CERT_WARN_DAYS 14

typedef struct asps_server_cert_info {
    int64_t not_before, not_after; /* unix seconds, the leaf's validity */
    char subject[256];             /* the leaf's subject, one line (RFC 2253) */
    char key_type[32];             /* "EC prime256v1", "RSA 3072", ... */
    int chain_len;                 /* certificates in the file, leaf first */
    int warn;                      /* expires within ASPS_SERVER_CERT_WARN_DAYS of now */
} asps_server_cert_info;

/* CERT_PEM (CERT_LEN bytes: the leaf, then any chain) and KEY_PEM at unix
 * time NOW. Errors: ASPS_E_PARSE (no certificate or key in the PEM),
 * ASPS_E_ARG (the key is not the certificate's), ASPS_E_CERT_EXPIRED
 * (expired, or not valid yet; the message gives the date and how far off).
 * INFO is filled whenever the certificate could be read. */
asps_err asps_server_cert_check(const char *cert_pem, size_t cert_len, const char *key_pem,
                                size_t key_len, int64_t now, asps_server_cert_info *info,
                                asps_errbuf *eb);

/* Record INFO as the pair now served. */
void asps_server_cert_set_current(const asps_server_cert_info *info);
/* The pair now served: 1 and *out, or 0 when none was recorded. */
int asps_server_cert_current(asps_server_cert_info *out);

/* UNIX time as "2026-12-19T08:00:00Z" into BUF (at least 21 bytes). */
void asps_server_cert_time(int64_t unix_s, char *buf, size_t size);

#endif
