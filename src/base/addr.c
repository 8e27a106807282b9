/* addr.c: strict HOST:PORT and base-URL parsing (see addr.h). Works on the
 * caller's NUL-terminated string through the bounds-checked reader
 * (reader.h); a piece is copied out only into a buffer that holds it. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "reader.h"

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_alnum(uint8_t c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Printable ASCII, no space: a value with anything else is named, not
 * quoted. */
static int printable(asps_reader r)
{
    uint8_t c;
    while (asps_reader_u8(&r, &c))
        if (c <= 0x20 || c > 0x7e)
            return 0;
    return 1;
}

/* Index of the first (last) C in R, or R's length when none. */
static size_t find(asps_reader r, uint8_t c)
{
    size_t n = r.len;
    uint8_t b;
    for (size_t i = 0; asps_reader_u8(&r, &b); i++)
        if (b == c)
            return i;
    return n;
}
static size_t rfind(asps_reader r, uint8_t c)
{
    size_t at = r.len;
    uint8_t b;
    for (size_t i = 0; asps_reader_u8(&r, &b); i++)
        if (b == c)
            at = i;
    return at;
}

static int starts_with(asps_reader r, const char *prefix)
{
    const uint8_t *p;
    size_t n = strlen(prefix);
    return asps_reader_bytes(&r, &p, n) && memcmp(p, prefix, n) == 0;
}

/* R's bytes as a C string in BUF (cut to fit). */
static const char *str(asps_reader r, char *buf, size_t size)
{
    size_t n = r.len < size - 1 ? r.len : size - 1;
    if (!asps_reader_copy(&r, buf, n))
        n = 0;
    buf[n] = 0;
    return buf;
}

/* A DNS name: dot-separated labels of [A-Za-z0-9_-], 1-63 each, none
 * beginning or ending with '-'. */
static int dns_name(asps_reader r)
{
    if (r.len == 0 || r.len > ASPS_ADDR_MAX_HOST)
        return 0;
    size_t label = 0;
    uint8_t c, first = 0, prev = 0;
    for (;;) {
        int more = asps_reader_u8(&r, &c);
        if (!more || c == '.') {
            if (label == 0 || label > 63 || first == '-' || prev == '-')
                return 0;
            if (!more)
                return 1;
            label = 0;
        } else if (is_alnum(c) || c == '-' || c == '_') {
            if (label++ == 0)
                first = c;
        } else {
            return 0;
        }
        prev = c;
    }
}

/* The host H (brackets included for IPv6) into OUT; VAL names the whole
 * value in messages. */
static asps_err parse_host(const char *what, const char *val, asps_reader h, asps_hostport *out,
                           asps_errbuf *eb)
{
    char buf[ASPS_ADDR_MAX_HOST + 1];
    unsigned char bin[16];
    if (h.len == 0)
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": no host (write HOST:PORT, e.g. 127.0.0.1:7788)",
                         what, val);
    if (starts_with(h, "[")) {
        asps_reader inner;
        uint8_t close = 0;
        if (h.len < 3 || h.len - 2 > 45 || !asps_reader_skip(&h, 1) ||
            !asps_reader_sub(&h, &inner, h.len - 1) || !asps_reader_u8(&h, &close) || close != ']')
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": bad IPv6 address in brackets", what, val);
        str(inner, buf, sizeof buf);
        if (inet_pton(AF_INET6, buf, bin) != 1)
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": \"%s\" is not an IPv6 address", what, val,
                             buf);
        snprintf(out->host, sizeof out->host, "%s", buf);
        out->ipv6 = 1;
        return ASPS_OK;
    }
    if (find(h, ':') < h.len)
        return asps_fail(eb, ASPS_E_ARG,
                         "%s: \"%s\": an IPv6 address needs brackets and a port, e.g. [::1]:7788",
                         what, val);
    if (h.len > ASPS_ADDR_MAX_HOST)
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%.60s...\": host longer than %d characters", what,
                         val, ASPS_ADDR_MAX_HOST);
    str(h, buf, sizeof buf);
    /* all digits and dots: an IPv4 address, and a whole one */
    asps_reader d = h;
    uint8_t c;
    int dotted = 1;
    while (asps_reader_u8(&d, &c))
        dotted &= is_digit(c) || c == '.';
    if (dotted) {
        if (inet_pton(AF_INET, buf, bin) != 1)
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": \"%s\" is not an IPv4 address (a.b.c.d)",
                             what, val, buf);
    } else if (!dns_name(h)) {
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": \"%s\" is not a host name or IP address",
                         what, val, buf);
    }
    snprintf(out->host, sizeof out->host, "%s", buf);
    out->ipv6 = 0;
    return ASPS_OK;
}

static asps_err parse_port(const char *what, const char *val, asps_reader p, unsigned flags,
                           int *port, asps_errbuf *eb)
{
    const char *range = flags & ASPS_ADDR_PORT_ZERO ? "0-65535" : "1-65535";
    char shown[17];
    str(p, shown, sizeof shown);
    if (p.len == 0)
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": the port after ':' is missing", what, val);
    size_t n = p.len;
    long v = 0;
    uint8_t c;
    while (asps_reader_u8(&p, &c)) {
        if (!is_digit(c))
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": port \"%s\" is not a number (%s)", what,
                             val, shown, range);
        if (v <= 65535)
            v = v * 10 + (c - '0');
    }
    if (n > 5 || v > 65535 || (v == 0 && !(flags & ASPS_ADDR_PORT_ZERO)))
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": port %s is out of range (%s)", what, val,
                         shown, range);
    *port = (int)v;
    return ASPS_OK;
}

/* HOST[:PORT] in S (VAL: the whole value, for messages). */
static asps_err parse_hp(const char *what, const char *val, asps_reader s, unsigned flags,
                         int port_optional, int *port_given, asps_hostport *out, asps_errbuf *eb)
{
    /* the port's colon: right after the closing bracket for IPv6, else the
     * last one; two colons or more without brackets: a bare IPv6 address
     * (refused by parse_host) */
    size_t colon;
    if (starts_with(s, "[")) {
        size_t rb = find(s, ']');
        if (rb == s.len)
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": '[' without ']'", what, val);
        colon = rb + 1;
        asps_reader after = s;
        if (colon < s.len && (!asps_reader_skip(&after, colon) || !starts_with(after, ":")))
            return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": ':PORT' must follow ']'", what, val);
    } else {
        colon = rfind(s, ':');
        if (colon < s.len && find(s, ':') < colon)
            colon = s.len;
    }
    asps_reader host;
    if (!asps_reader_sub(&s, &host, colon))
        return asps_fail(eb, ASPS_E_INTERNAL, "%s: address split", what);
    ASPS_TRY(parse_host(what, val, host, out, eb));
    *port_given = asps_reader_skip(&s, 1); /* the colon, when there is one */
    if (!*port_given) {
        if (port_optional)
            return ASPS_OK;
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": no port (write HOST:PORT, e.g. %s%s%s:7788)",
                         what, val, out->ipv6 ? "[" : "", out->host, out->ipv6 ? "]" : "");
    }
    return parse_port(what, val, s, flags, &out->port, eb);
}

static asps_reader reader_of(const char *s)
{
    return asps_reader_init((const uint8_t *)s, strlen(s));
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
    asps_reader r = reader_of(s);
    if (!printable(r))
        return asps_fail(eb, ASPS_E_ARG, "%s: the address holds a space or control character", what);
    if (strstr(s, "://"))
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": write HOST:PORT, not a URL", what, s);
    int given;
    return parse_hp(what, s, r, flags, 0, &given, out, eb);
}

asps_err asps_addr_parse_url(const char *what, const char *url, asps_url *out, asps_errbuf *eb)
{
    asps_url tmp;
    if (!out)
        out = &tmp;
    memset(out, 0, sizeof *out);
    if (!url || !*url)
        return asps_fail(eb, ASPS_E_ARG, "%s: empty URL (write https://HOST[:PORT])", what);
    asps_reader r = reader_of(url);
    if (!printable(r))
        return asps_fail(eb, ASPS_E_ARG, "%s: the URL holds a space or control character", what);
    if (starts_with(r, "https://")) {
        out->https = 1;
        asps_reader_skip(&r, 8);
    } else if (starts_with(r, "http://")) {
        asps_reader_skip(&r, 7);
    } else {
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": must begin with https:// (or http://)", what,
                         url);
    }
    /* the authority: up to the first '/', '?' or '#' */
    size_t auth_len = find(r, '/'), q = find(r, '?'), f = find(r, '#');
    auth_len = q < auth_len ? q : auth_len;
    auth_len = f < auth_len ? f : auth_len;
    asps_reader auth;
    if (!asps_reader_sub(&r, &auth, auth_len))
        return asps_fail(eb, ASPS_E_INTERNAL, "%s: URL split", what);
    if (find(auth, '@') < auth.len)
        return asps_fail(eb, ASPS_E_ARG,
                         "%s: the URL holds a user name or password (user:password@); give "
                         "credentials in their own settings, never in a URL",
                         what);
    if (find(r, '?') < r.len || find(r, '#') < r.len)
        return asps_fail(eb, ASPS_E_ARG, "%s: \"%s\": a base URL has no query (?) or fragment (#)",
                         what, url);
    int given = 0;
    ASPS_TRY(parse_hp(what, url, auth, 0, 1, &given, &out->hp, eb));
    out->port_given = given;
    if (!given)
        out->hp.port = out->https ? 443 : 80;
    out->path = (const char *)asps_reader_data(&r);
    return ASPS_OK;
}
