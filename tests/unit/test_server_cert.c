/* test_server_cert.c: the server certificate's checks at their edges
 * (src/service/server_cert.h). The certificates are made by the openssl
 * command (`openssl ca` with explicit dates), not by asps, and the dates
 * the check reports must be those `openssl x509` prints. Validity is
 * inclusive at both ends (RFC 5280 4.1.2.5); the warning starts when
 * fewer than 14 days are left. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_cert.h"

static char *dir;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

static int setup(void **state)
{
    (void)state;
    if (system("openssl version >/dev/null 2>&1") != 0)
        tu_skip("no openssl command");
    dir = tu_mkdtemp();
    sh("cd %s && mkdir -p new && : > index.txt && echo 01 > serial && "
       "printf '[ca]\\ndefault_ca=d\\n[d]\\ndir=.\\ndatabase=index.txt\\nnew_certs_dir=new\\n"
       "serial=serial\\ndefault_md=sha256\\npolicy=p\\nunique_subject=no\\n[p]\\ncommonName=supplied\\n' > ca.cnf && "
       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
       "-days 2 -subj /CN=ca 2>/dev/null && "
       "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr "
       "-subj /CN=leaf.example/O=asps 2>/dev/null && "
       "openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in leaf.csr -out leaf.pem -notext "
       "-startdate 20300101000000Z -enddate 20300301000000Z >/dev/null 2>&1 && "
       "cat leaf.pem ca.pem > chain.pem && "
       "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key 2>/dev/null",
       dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(dir);
    free(dir);
    return 0;
}

static char *slurp(const char *name, size_t *len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return (char *)tu_read_file(p, len);
}

static asps_err check(const char *cert, const char *key, int64_t now, asps_server_cert_info *info,
                      asps_errbuf *eb)
{
    size_t cl, kl;
    char *c = slurp(cert, &cl), *k = slurp(key, &kl);
    asps_err e = asps_server_cert_check(c, cl, k, kl, now, info, eb);
    free(c);
    free(k);
    return e;
}

/* 2030-01-01T00:00:00Z and 2030-03-01T00:00:00Z */
#define NB 1893456000LL
#define NA 1898553600LL

static void test_validity_edges(void **state)
{
    (void)state;
    asps_server_cert_info i;
    asps_errbuf eb = {{0}};
    /* the dates as openssl prints them */
    char cmd[4200], line[128] = "";
    snprintf(cmd, sizeof cmd, "openssl x509 -in %s/leaf.pem -noout -enddate", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    pclose(f);
    assert_string_equal(line, "notAfter=Mar  1 00:00:00 2030 GMT\n");

    assert_int_equal(check("leaf.pem", "leaf.key", NB, &i, &eb), ASPS_OK);
    assert_int_equal(i.not_before, NB);
    assert_int_equal(i.not_after, NA);
    assert_int_equal(i.chain_len, 1);
    assert_string_equal(i.key_type, "EC prime256v1");
    assert_non_null(strstr(i.subject, "CN=leaf.example"));
    assert_int_equal(i.warn, 0);
    assert_int_equal(check("leaf.pem", "leaf.key", NA, &i, &eb), ASPS_OK);
    assert_int_equal(i.warn, 1);

    assert_int_equal(check("leaf.pem", "leaf.key", NB - 1, &i, &eb), ASPS_E_CERT_EXPIRED);
    assert_non_null(strstr(eb.msg, "not valid yet: valid from 2030-01-01T00:00:00Z"));
    assert_int_equal(check("leaf.pem", "leaf.key", NA + 1, &i, &eb), ASPS_E_CERT_EXPIRED);
    assert_non_null(strstr(eb.msg, "expired on 2030-03-01T00:00:00Z"));
    assert_int_equal(check("leaf.pem", "leaf.key", NA + 3 * 86400, &i, &eb), ASPS_E_CERT_EXPIRED);
    assert_non_null(strstr(eb.msg, "(3 days ago)"));
    assert_int_equal(i.not_after, NA); /* filled on refusal too */

    /* the warning: fewer than 14 days left */
    int64_t edge = NA - 14 * 86400;
    assert_int_equal(check("leaf.pem", "leaf.key", edge, &i, &eb), ASPS_OK);
    assert_int_equal(i.warn, 0);
    assert_int_equal(check("leaf.pem", "leaf.key", edge + 1, &i, &eb), ASPS_OK);
    assert_int_equal(i.warn, 1);
}

static void test_chain_key_and_junk(void **state)
{
    (void)state;
    asps_server_cert_info i;
    asps_errbuf eb = {{0}};
    assert_int_equal(check("chain.pem", "leaf.key", NB + 86400, &i, &eb), ASPS_OK);
    assert_int_equal(i.chain_len, 2);
    assert_non_null(strstr(i.subject, "CN=leaf.example"));
    /* the CA's key, an RSA key: not the leaf's */
    assert_int_equal(check("leaf.pem", "ca.key", NB + 86400, &i, &eb), ASPS_E_ARG);
    assert_non_null(strstr(eb.msg, "not the key of the server certificate"));
    assert_int_equal(check("leaf.pem", "other.key", NB + 86400, &i, &eb), ASPS_E_ARG);
    /* a key file in place of the certificate, and the reverse */
    assert_int_equal(check("leaf.key", "leaf.key", NB, &i, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "no PEM certificate"));
    assert_int_equal(check("leaf.pem", "leaf.pem", NB, &i, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "no PEM private key"));
}

static void test_current(void **state)
{
    (void)state;
    asps_server_cert_info i = {.not_after = 42}, o;
    assert_int_equal(asps_server_cert_current(&o), 0);
    asps_server_cert_set_current(&i);
    assert_int_equal(asps_server_cert_current(&o), 1);
    assert_int_equal(o.not_after, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validity_edges),
        cmocka_unit_test(test_chain_key_and_junk),
        cmocka_unit_test(test_current),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
