/* addr.c: strict HOST:PORT and base-URL parsing (see addr.h). Works on the
 * caller's NUL-terminated string with indices only; nothing is copied
 * before it has been measured. */
#include <arpa/inet.h>
#include <string.h>

#include "addr.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Printable ASCII only: a value with anything else is named, not quoted. */
static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* A DNS name: dot-separated labels of [A-Za-z0-9_-], 1-63 each, no label
 * beginning or ending with '-'. */
static int dns_name(const char *h, size_t n)
{
    if (n == 0 || n > ASPS_ADDR_MAX_HOST)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? h[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || h[i - 1] == '-' || h[i - label] == '-')
                return 0;
            label = 0;
        } else if (is_alnum(c) || c == '-' || c == '_') {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* The host part H (N bytes, brackets included for IPv6) into OUT. */
static asps_err parse_host(const char *what, const char *val, const char *h, size_t n,
                           asps_hostport *out, asps_errbuf *eb)
{
    char buf[ASPS_ADDR_MAX_HOST + 1];
    unsigned char bin[16];
    if (n == 0)
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": no host (write HOST:PORT, e.g. 127.0.0.1:7788)",
                         what, val);
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']' || n - 2 > 45)
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": bad IPv6 address in brackets", what, val);
        memcpy(buf, h + 1, n - 2);
        buf[n - 2] = 0;
        if (inet_pton(AF_INET6, buf, bin) != 1)
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": \"%s\" is not an IPv6 address", what, val,
                             buf);
        memcpy(out->host, buf, n - 1);
        out->ipv6 = 1;
        return ASPS_OK;
    }
    if (memchr(h, ':', n))
        return asps_fail(eb, ASPS_E_ARG,
                         "%s: \"%s\": an IPv6 address needs brackets and a port, e.g. [::1]:7788",
                         what, val);
    if (n > ASPS_ADDR_MAX_HOST)
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%.60s...\": host longer than %d characters", what,
                         val, ASPS_ADDR_MAX_HOST);
    memcpy(buf, h, n);
    buf[n] = 0;
    /* all digits and dots: an IPv4 address, and a whole one */
    size_t d = 0;
    while (d < n && (is_digit(h[d]) || h[d] == '.'))
        d++;
    if (d == n) {
        if (inet_pton(AF_INET, buf, bin) != 1)
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": \"%s\" is not an IPv4 address (a.b.c.d)",
                             what, val, buf);
    } else if (!dns_name(h, n)) {
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": \"%s\" is not a host name or IP address",
                         what, val, buf);
    }
    memcpy(out->host, buf, n + 1);
    out->ipv6 = 0;
    return ASPS_OK;
}

static asps_err parse_port(const char *what, const char *val, const char *p, size_t n,
                           unsigned flags, int *port, asps_errbuf *eb)
{
    const char *range = flags & ASPS_ADDR_PORT_ZERO ? "0-65535" : "1-65535";
    if (n == 0)
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": the port after ':' is missing", what, val);
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": port \"%.*s\" is not a number (%s)", what,
                             val, (int)(n > 16 ? 16 : n), p, range);
        if (i < 6)
            v = v * 10 + (p[i] - '0');
    }
    if (n > 5 || v > 65535 || (v == 0 && !(flags & ASPS_ADDR_PORT_ZERO)))
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": port %.*s is out of range (%s)", what, val,
                         (int)(n > 16 ? 16 : n), p, range);
    *port = (int)v;
    return ASPS_OK;
}

/* HOST:PORT in S[0..n) (VAL: the whole value, for messages). */
static asps_err parse_hp(const char *what, const char *val, const char *s, size_t n, unsigned flags,
                         int port_optional, int *port_given, asps_hostport *out, asps_errbuf *eb)
{
    /* the port's colon: after the closing bracket for IPv6, else the last */
    size_t colon = n;
    if (n > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb)
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": '[' without ']'", what, val);
        size_t after = (size_t)(rb - s) + 1;
        if (after < n && s[after] != ':')
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": ':PORT' must follow ']'", what, val);
        colon = after;
    } else {
        for (size_t i = n; i > 0; i--)
            if (s[i - 1] == ':') {
                colon = i - 1;
                break;
            }
        /* two colons or more without brackets: a bare IPv6 address */
        if (colon < n && memchr(s, ':', colon))
            colon = n, port_optional = 0;
    }
    ASPS_TRY(parse_host(what, val, s, colon, out, eb));
    *port_given = colon < n;
    if (colon >= n) {
        if (port_optional)
            return ASPS_OK;
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": no port (write HOST:PORT, e.g. %s%s%s:7788)",
                         what, val, out->ipv6 ? "[" : "", out->host, out->ipv6 ? "]" : "");
    }
    return parse_port(what, val, s + colon + 1, n - colon - 1, flags, &out->port, eb);
}

asps_err asps_addr_parse(const char *what, const char *s, unsigned flags, asps_hostport *out,
                         asps_errbuf *eb)
{
    asps_hostport tmp;
    if (!out)
        out = &tmp;
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return asps_fail(eb, ASPS_E_ARG, "%s: empty address (write HOST:PORT, e.g. 127.0.0.1:7788)",
                         what);
    if (!printable(s))
        return asps_fail(eb, ASPS_E_ARG, "%s: the address holds a space or control character", what);
    if (strstr(s, "://"))
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": write HOST:PORT, not a URL", what, s);
    int given;
    return parse_hp(what, s, s, strlen(s), flags, 0, &given, out, eb);
}

asps_err asps_addr_parse_url(const char *what, const char *url, asps_url *out, asps_errbuf *eb)
{
    asps_url tmp;
    if (!out)
        out = &tmp;
    memset(out, 0, sizeof *out);
    if (!url || !*url)
        return asps_fail(eb, ASPS_E_ARG, "%s: empty URL (write https://HOST[:PORT])", what);
    if (!printable(url))
        return asps_fail(eb, ASPS_E_ARG, "%s: the URL holds a space or control character", what);
    const char *rest;
    if (!strncmp(url, "https://", 8)) {
        out->https = 1;
        rest = url + 8;
    } else if (!strncmp(url, "http://", 7)) {
        rest = url + 7;
    } else {
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": must begin with https:// (or http://)", what,
                         url);
    }
    size_t auth = strcspn(rest, "/?#");
    if (memchr(rest, '@', auth))
        return asps_fail(eb, ASPS_E_ARG,
                         "%s: the URL holds a user name or password (user:password@); give "
                         "credentials in their own settings, never in a URL",
                         what);
    if (strpbrk(rest + auth, "?#"))
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": a base URL has no query (?) or fragment (#)",
                         what, url);
    int given = 0;
    ASPS_TRY(parse_hp(what, url, rest, auth, 0, 1, &given, &out->hp, eb));
    out->port_given = given;
    if (!given)
        out->hp.port = out->https ? 443 : 80;
    out->path = rest + auth;
    return ASPS_OK;
}
