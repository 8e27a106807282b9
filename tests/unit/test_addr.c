/* test_addr.c: the one address parser (src/base/addr.h). The port rule is
 * the point of issue 14: "127.0.0.1:99999" and "localhost" must be refused
 * with words naming the value, never taken modulo 65536 or as port 443.
 * Every IP literal the parser accepts or refuses is also given to glibc's
 * getaddrinfo(AI_NUMERICHOST), which must agree: the parser's idea of an
 * IPv4 or IPv6 address is the system's, not one of our own. */
#include "testutil.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

typedef struct hp_case {
    const char *in;
    unsigned flags;
    int ok;
    const char *host; /* when ok */
    int port;
    const char *words; /* when refused: in the message */
} hp_case;

static const hp_case hp_cases[] = {
    {"127.0.0.1:7788", 0, 1, "127.0.0.1", 7788, NULL},
    {"localhost:1", 0, 1, "localhost", 1, NULL},
    {"vault.example.com:65535", 0, 1, "vault.example.com", 65535, NULL},
    {"my_host-1.internal:8200", 0, 1, "my_host-1.internal", 8200, NULL},
    {"[::1]:7788", 0, 1, "::1", 7788, NULL},
    {"[fe80::1:2]:443", 0, 1, "fe80::1:2", 443, NULL},
    {"[::ffff:127.0.0.1]:80", 0, 1, "::ffff:127.0.0.1", 80, NULL},
    {"0.0.0.0:0", ASPS_ADDR_PORT_ZERO, 1, "0.0.0.0", 0, NULL},
    {"[::]:0", ASPS_ADDR_PORT_ZERO, 1, "::", 0, NULL},
    /* the two */
    {"127.0.0.1:99999", ASPS_ADDR_PORT_ZERO, 0, NULL, 0, "\"127.0.0.1:99999\": port 99999 is out of range"},
    {"localhost", 0, 0, NULL, 0, "\"localhost\": no port"},
    /* ports */
    {"127.0.0.1:0", 0, 0, NULL, 0, "port 0 is out of range (1-65535)"},
    {"127.0.0.1:65536", 0, 0, NULL, 0, "out of range"},
    {"127.0.0.1:100000", 0, 0, NULL, 0, "out of range"},
    {"127.0.0.1:-1", 0, 0, NULL, 0, "is not a number"},
    {"127.0.0.1:+80", 0, 0, NULL, 0, "is not a number"},
    {"127.0.0.1:80 ", 0, 0, NULL, 0, "space or control"},
    {"127.0.0.1:0x50", 0, 0, NULL, 0, "is not a number"},
    {"127.0.0.1:", 0, 0, NULL, 0, "port after ':' is missing"},
    {"127.0.0.1:http", 0, 0, NULL, 0, "is not a number"},
    {"[::1]", 0, 0, NULL, 0, "no port"},
    {"[::1]:", 0, 0, NULL, 0, "missing"},
    {"[::1]:99999", 0, 0, NULL, 0, "out of range"},
    /* hosts */
    {":7788", 0, 0, NULL, 0, "no host"},
    {"", 0, 0, NULL, 0, "empty address"},
    {"::1:7788", 0, 0, NULL, 0, "needs brackets"},
    {"::1", 0, 0, NULL, 0, "needs brackets"},
    {"[::1]7788", 0, 0, NULL, 0, "must follow ']'"},
    {"[::1:7788", 0, 0, NULL, 0, "without ']'"},
    {"[127.0.0.1]:80", 0, 0, NULL, 0, "not an IPv6 address"},
    {"[::g]:80", 0, 0, NULL, 0, "not an IPv6 address"},
    {"256.0.0.1:80", 0, 0, NULL, 0, "not an IPv4 address"},
    {"127.1:80", 0, 0, NULL, 0, "not an IPv4 address"},
    {"1.2.3.4.5:80", 0, 0, NULL, 0, "not an IPv4 address"},
    {"a..b:80", 0, 0, NULL, 0, "not a host name"},
    {"-a.b:80", 0, 0, NULL, 0, "not a host name"},
    {"a b:80", 0, 0, NULL, 0, "space or control"},
    {"host/x:80", 0, 0, NULL, 0, "not a host name"},
    {"user@host:80", 0, 0, NULL, 0, "not a host name"},
    {"dns:///h:80", 0, 0, NULL, 0, "not a URL"},
    {"https://h:80", 0, 0, NULL, 0, "not a URL"},
};

static void test_host_port(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hp_cases / sizeof hp_cases[0]; i++) {
        const hp_case *c = &hp_cases[i];
        asps_hostport hp;
        asps_errbuf eb = {{0}};
        asps_err e = asps_addr_parse("what", c->in, c->flags, &hp, &eb);
        if (c->ok) {
            if (e != ASPS_OK)
                fail_msg("\"%s\" refused: %s", c->in, eb.msg);
            assert_string_equal(hp.host, c->host);
            assert_int_equal(hp.port, c->port);
            assert_int_equal(hp.ipv6, c->in[0] == '[');
        } else {
            if (e != ASPS_E_ARG)
                fail_msg("\"%s\" accepted (host %s port %d)", c->in, hp.host, hp.port);
            if (!strstr(eb.msg, c->words) || strncmp(eb.msg, "what: ", 6))
                fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c->in, eb.msg, c->words);
        }
    }
    /* a host name of 253 characters is the most DNS allows; 254 is refused,
     * and so is a label of 64 */
    char name[300];
    memset(name, 'a', sizeof name);
    for (int i = 63; i < 253; i += 64)
        name[i] = '.';
    snprintf(name + 253, sizeof name - 253, ":1");
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_addr_parse("w", name, 0, NULL, &eb), ASPS_OK);
    name[252] = 'a';
    memcpy(name + 253, "a:1", 4);
    assert_int_equal(asps_addr_parse("w", name, 0, NULL, &eb), ASPS_E_ARG);
    memset(name, 'a', 64);
    snprintf(name + 64, sizeof name - 64, ".b:1");
    assert_int_equal(asps_addr_parse("w", name, 0, NULL, &eb), ASPS_E_ARG);
    assert_non_null(strstr(eb.msg, "not a host name"));
}

/* glibc decides what an IP literal is: every case whose host looks like an
 * address (digits and dots, or brackets) is accepted by the parser exactly
 * when getaddrinfo(AI_NUMERICHOST) takes it. */
static void test_ip_literals_agree_with_getaddrinfo(void **state)
{
    (void)state;
    static const char *const hosts[] = {
        "127.0.0.1", "0.0.0.0", "255.255.255.255", "256.0.0.1", "127.1", "1.2.3", "1.2.3.4.5",
        "01.2.3.4", "1.2.3.4.", "[::1]", "[::]", "[1:2:3:4:5:6:7:8]", "[1:2:3:4:5:6:7:8:9]",
        "[::ffff:1.2.3.4]", "[1::2::3]", "[fe80::1]", "[:::1]", "[g::1]", "[::1%lo]", "[12345::]",
    };
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        char in[80], bare[64];
        snprintf(in, sizeof in, "%s:80", hosts[i]);
        const char *h = hosts[i];
        size_t n = strlen(h);
        if (h[0] == '[') {
            snprintf(bare, sizeof bare, "%.*s", (int)(n - 2), h + 1);
        } else {
            snprintf(bare, sizeof bare, "%s", h);
        }
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                                 .ai_family = h[0] == '[' ? AF_INET6 : AF_INET,
                                 .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        int sys_ok = getaddrinfo(bare, "80", &hints, &res) == 0;
        if (res)
            freeaddrinfo(res);
        /* getaddrinfo takes inet_aton's forms ("127.1", "01.2.3.4" as
         * octal); the parser takes inet_pton's dotted quad only, which is
         * what an operator means: for IPv4, the parser's yes implies the
         * system's yes, never the other way round */
        asps_errbuf eb = {{0}};
        int ours = asps_addr_parse("w", in, 0, NULL, &eb) == ASPS_OK;
        if (h[0] == '[' && !strchr(h, '%')) {
            if (ours != sys_ok)
                fail_msg("%s: parser %d, getaddrinfo %d (%s)", in, ours, sys_ok, eb.msg);
        } else if (ours && !sys_ok) {
            fail_msg("%s: parser accepts what getaddrinfo refuses", in);
        }
    }
}

typedef struct url_case {
    const char *in;
    int ok;
    int https, port, port_given;
    const char *host, *path;
    const char *words;
} url_case;

static const url_case url_cases[] = {
    {"https://pccs.example:8081", 1, 1, 8081, 1, "pccs.example", "", NULL},
    {"https://api.trustedservices.intel.com", 1, 1, 443, 0, "api.trustedservices.intel.com", "", NULL},
    {"http://127.0.0.1:8200/", 1, 0, 8200, 1, "127.0.0.1", "/", NULL},
    {"http://vault", 1, 0, 80, 0, "vault", "", NULL},
    {"https://[::1]:8200/prefix/v", 1, 1, 8200, 1, "::1", "/prefix/v", NULL},
    {"https://[::1]", 1, 1, 443, 0, "::1", "", NULL},
    {"https://h:99999", 0, 0, 0, 0, NULL, NULL, "\"https://h:99999\": port 99999 is out of range"},
    {"https://h:0", 0, 0, 0, 0, NULL, NULL, "out of range"},
    {"https://h:", 0, 0, 0, 0, NULL, NULL, "missing"},
    {"https://h:x/", 0, 0, 0, 0, NULL, NULL, "not a number"},
    {"ftp://h:21", 0, 0, 0, 0, NULL, NULL, "must begin with https://"},
    {"h:8200", 0, 0, 0, 0, NULL, NULL, "must begin with https://"},
    {"https://", 0, 0, 0, 0, NULL, NULL, "no host"},
    {"https://:8200", 0, 0, 0, 0, NULL, NULL, "no host"},
    {"https://::1:8200", 0, 0, 0, 0, NULL, NULL, "needs brackets"},
    {"https://h:8200?x=1", 0, 0, 0, 0, NULL, NULL, "no query"},
    {"https://h:8200/#f", 0, 0, 0, 0, NULL, NULL, "no query"},
    {"https://h/a b", 0, 0, 0, 0, NULL, NULL, "space or control"},
};

static void test_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
        const url_case *c = &url_cases[i];
        asps_url u;
        asps_errbuf eb = {{0}};
        asps_err e = asps_addr_parse_url("what", c->in, &u, &eb);
        if (c->ok) {
            if (e != ASPS_OK)
                fail_msg("\"%s\" refused: %s", c->in, eb.msg);
            assert_int_equal(u.https, c->https);
            assert_int_equal(u.hp.port, c->port);
            assert_int_equal(u.port_given, c->port_given);
            assert_string_equal(u.hp.host, c->host);
            assert_string_equal(u.path, c->path);
        } else {
            if (e != ASPS_E_ARG)
                fail_msg("\"%s\" accepted", c->in);
            if (!strstr(eb.msg, c->words))
                fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c->in, eb.msg, c->words);
        }
    }
    /* a credential in a URL is refused and never repeated */
    asps_errbuf eb = {{0}};
    assert_int_equal(asps_addr_parse_url("kms", "https://admin:s3cret-pw@vault:8200", NULL, &eb),
                     ASPS_E_ARG);
    assert_null(strstr(eb.msg, "s3cret"));
    assert_non_null(strstr(eb.msg, "user name or password"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_port),
        cmocka_unit_test(test_ip_literals_agree_with_getaddrinfo),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
