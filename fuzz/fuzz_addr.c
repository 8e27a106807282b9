/* fuzz_addr.c: the address parser (src/base/addr.h) on arbitrary strings,
 * as HOST:PORT (with and without port 0) and as a base URL. What it
 * accepts must hold together: a port in range, a host that is not empty,
 * and the address written back ([host]:port for IPv6) parses to the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static void roundtrip(const asps_hostport *hp, unsigned flags)
{
    if (hp->port < 0 || hp->port > 65535 || !hp->host[0] || (hp->port == 0 && !(flags & ASPS_ADDR_PORT_ZERO)))
        abort();
    char again[ASPS_ADDR_MAX_HOST + 16];
    snprintf(again, sizeof again, hp->ipv6 ? "[%s]:%d" : "%s:%d", hp->host, hp->port);
    asps_hostport hp2;
    asps_errbuf eb;
    if (asps_addr_parse("again", again, flags, &hp2, &eb) != ASPS_OK || strcmp(hp->host, hp2.host) ||
        hp->port != hp2.port || hp->ipv6 != hp2.ipv6)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    asps_errbuf eb;
    asps_hostport hp;
    for (unsigned flags = 0; flags <= ASPS_ADDR_PORT_ZERO; flags++)
        if (asps_addr_parse("fuzz", s, flags, &hp, &eb) == ASPS_OK)
            roundtrip(&hp, flags);
    asps_url u;
    if (asps_addr_parse_url("fuzz", s, &u, &eb) == ASPS_OK) {
        if (u.hp.port < 1 || u.hp.port > 65535 || !u.hp.host[0] || !u.path ||
            (u.path[0] && u.path[0] != '/'))
            abort();
    }
    free(s);
    return 0;
}
