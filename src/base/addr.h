/* addr.h: the one parser of the network addresses asps is given: the
 * server's "listen" (config and `serve --listen`), a client's server
 * (`get --server`, init-RA's kms_server, the Occlum-compatible library),
 * and the PCCS and Vault URLs. Every caller goes through it, so that a
 * typing mistake is refused with the same clear words everywhere instead of
 * meaning something else ("127.0.0.1:99999" is not port 34463, "localhost"
 * is not port 443).
 *
 * HOST:PORT (asps_addr_parse):
 *   HOST  a DNS name (letters, digits, '-', '_', dot-separated labels of 1-63
 *         characters, at most 253 in all), an IPv4 address in dotted-quad
 *         form (inet_pton: "127.1" and "256.0.0.1" are refused), or an IPv6
 *         address in brackets ("[::1]"; a bare "::1:7788" is refused because
 *         its port cannot be told from the address)
 *   PORT  required: 1 to 5 decimal digits, 1-65535 (0 only with
 *         ASPS_ADDR_PORT_ZERO: a listener's "let the system pick")
 * URL (asps_addr_parse_url): http:// or https://, then HOST[:PORT] as above
 *   (the port, when given, 1-65535; when absent the scheme's: 80 or 443, as
 *   RFC 3986 says: "https://pccs.example" is a complete address), then an
 *   optional path. No user:password@ (a credential in a URL ends up in
 *   logs and process listings), no query, no fragment (these are base URLs:
 *   asps appends its own paths).
 * Errors (ASPS_E_ARG) begin with WHAT and quote the bad value, except a URL
 * holding a credential, which is not repeated. No allocation; thread-safe. */
#ifndef ASPS_ADDR_H
#define ASPS_ADDR_H

#include "asps/err.h"

#define ASPS_ADDR_MAX_HOST 253

typedef struct asps_hostport {
    char host[ASPS_ADDR_MAX_HOST + 1]; /* without brackets: "::1", "127.0.0.1", "vault" */
    int port;                          /* 0-65535 */
    int ipv6;                          /* HOST is an IPv6 literal (written in brackets) */
} asps_hostport;

#define ASPS_ADDR_PORT_ZERO 1u /* accept port 0 (a listener: any free port) */

/* S as HOST:PORT. WHAT names S in errors ("config.listen", "--server"). */
asps_err asps_addr_parse(const char *what, const char *s, unsigned flags, asps_hostport *out,
                         asps_errbuf *eb);

typedef struct asps_url {
    int https;          /* 1 https, 0 http */
    asps_hostport hp;   /* port: the given one, else 443 or 80 */
    int port_given;
    const char *path;   /* into the caller's string: "" or "/..." */
} asps_url;

/* URL as a base URL (see above). OUT may be NULL (check only). */
asps_err asps_addr_parse_url(const char *what, const char *url, asps_url *out, asps_errbuf *eb);

#endif
