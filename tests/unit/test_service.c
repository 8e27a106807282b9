/* test_service.c: the service without gRPC (src/service/service.h).
 *
 * One asps_service on a simulated platform folder, a native policy and a
 * JSON-file KMS, driven call by call through its one decision path
 * (asps_service_call_begin / decide / call_end): the claims cache and its
 * expiry, a reload that keeps the old generation when the new policy is
 * broken, all-or-nothing replies, a name the KMS does not have answered
 * exactly like a name not granted, and one audit line per call. Statuses
 * come from the RPC layer's one table (src/rpc/status.c), as a peer would
 * get them. Evidence is real RA-TLS from the simulated platform, except
 * where a test installs its own verifier to count and to fail on purpose.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <malloc.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testutil.h"

#include "asps/evidence.h"
#include "asps/ratls.h"
#include "rpc.h"
#include "service.h"
#include "service_int.h"
#include "sim.h"
#include "status.h"
#include "metrics.h"

#define MRE "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"

typedef struct fx {
    char *dir;
    char path[4096], policy[4200], kms[4200], audit[4200], sim[4200];
    asps_service_config *cfg;
    asps_service *svc;
    char *cert, *key;         /* RA-TLS, simulated enclave MRE */
    char *other, *other_key;  /* RA-TLS, another enclave (no app matches) */
    /* the test verifier and clock */
    int64_t now;
    int verifications;
    asps_err verdict;         /* what the test verifier answers */
    int64_t claims_expire;    /* expires_at it gives the claims */
    asps_claims extra;        /* TCB recovery fields it gives the claims (tcb_status
                                 when non-zero, demoted_at, forecast) */
} fx;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void write_policy(fx *f, const char *secrets_json)
{
    char buf[9000];
    snprintf(buf, sizeof buf,
             "{\"version\": 1, \"kms\": {\"type\": \"file\", \"path\": \"%s\"},\n"
             " \"apps\": [{\"name\": \"app1\", \"match\": {\"tee\": \"sgx\", \"mrenclave\": \"" MRE "\"},\n"
             "   \"allow_simulated\": true, \"secrets\": %s}]}\n",
             f->kms, secrets_json);
    write_file(f->policy, buf);
}

static char *ratls_cert_valid(const char *simdir, uint8_t mre_byte, int64_t validity, char **key)
{
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    memset(id.mr_enclave, mre_byte, 32);
    asps_attester *att;
    asps_errbuf eb;
    assert_int_equal(asps_sim_attester_new(simdir, &id, &att, &eb), ASPS_OK);
    asps_ratls_create_opts o = {.quote = asps_attester_quote, .quote_ctx = att,
                                .validity_secs = validity};
    char *cert;
    assert_int_equal(asps_ratls_create(&o, &cert, key, &eb), ASPS_OK);
    asps_attester_free(att);
    return cert;
}

static char *ratls_cert(const char *simdir, uint8_t mre_byte, char **key)
{
    return ratls_cert_valid(simdir, mre_byte, 0, key);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    snprintf(f->sim, sizeof f->sim, "%s/sim", f->dir);
    snprintf(f->policy, sizeof f->policy, "%s/policy.json", f->dir);
    snprintf(f->kms, sizeof f->kms, "%s/kms.json", f->dir);
    snprintf(f->audit, sizeof f->audit, "%s/audit.log", f->dir);
    asps_errbuf eb;
    assert_int_equal(asps_sim_init(f->sim, &eb), ASPS_OK);
    /* "gone" is granted by the policy but missing from the KMS */
    write_file(f->kms, "{\"a\": \"text:alpha\", \"b\": \"base64:AGJldGEA\", \"bad\": \"base64:!!\"}");
    write_policy(f, "{\"a\": \"a\", \"b\": \"b\", \"gone\": \"gone\", \"bad\": \"bad\"}");
    assert_int_equal(asps_service_config_new(&f->cfg, &eb), ASPS_OK);
    f->cfg->trust_sim = strdup(f->sim);
    f->cfg->collateral_sim = strdup(f->sim);
    f->cfg->policy = strdup(f->policy);
    f->cfg->audit = strdup(f->audit);
    f->cfg->max_names = 4;
    assert_int_equal(asps_service_new(f->cfg, &f->svc, &eb), ASPS_OK);
    f->cert = ratls_cert(f->sim, 0xa1, &f->key);
    f->other = ratls_cert(f->sim, 0xb2, &f->other_key);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    asps_service_free(f->svc);
    asps_service_config_free(f->cfg);
    free(f->cert);
    free(f->other);
    asps_ratls_free_key(f->key);
    asps_ratls_free_key(f->other_key);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static size_t audit_lines(fx *f)
{
    size_t len = 0, n = 0;
    uint8_t *b = tu_read_file(f->audit, &len);
    for (size_t i = 0; b && i < len; i++)
        n += b[i] == '\n';
    free(b);
    return n;
}

/* The last audit line (static buffer). */
static const char *last_audit(fx *f)
{
    static char line[16384];
    size_t len = 0;
    uint8_t *b = tu_read_file(f->audit, &len);
    assert_non_null(b);
    assert_true(len > 0 && b[len - 1] == '\n');
    size_t start = len - 1;
    while (start > 0 && b[start - 1] != '\n')
        start--;
    snprintf(line, sizeof line, "%.*s", (int)(len - 1 - start), (char *)b + start);
    free(b);
    return line;
}

/* One whole call as the transport makes it, on connection CONN (its id,
 * asps_rpc_call_connection_id; 0: none); the call is ended (audited) by the
 * caller with asps_service_call_end. */
static void call_on(fx *f, asps_call *c, const char *cert, uint64_t conn,
                    const char *const *names, size_t n)
{
    asps_service_call_begin(f->svc, c, cert, conn, "test:1", names, n);
    asps_service_decide(f->svc, c);
}

static void call(fx *f, asps_call *c, const char *cert, const char *const *names, size_t n)
{
    call_on(f, c, cert, 0, names, n);
}

/* ---- the test verifier and clock ------------------------------------------------ */

/* The certificate's notAfter (PEM text), 0 when it does not parse. */
static int64_t pem_not_after(const uint8_t *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    struct tm tm;
    int64_t t = x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) ? (int64_t)timegm(&tm) : 0;
    X509_free(x);
    BIO_free(b);
    return t;
}

/* As the trust layer does (asps_ratls_verify), the claims expire no later
 * than the certificate. */
static asps_err test_evidence(void *ctx, const uint8_t *pem, size_t len, int64_t at,
                              asps_claims *claims, asps_errbuf *eb)
{
    (void)at;
    fx *f = ctx;
    f->verifications++;
    if (f->verdict != ASPS_OK)
        return asps_fail(eb, f->verdict, "test verifier says %s", asps_err_name(f->verdict));
    memset(claims, 0, sizeof *claims);
    claims->tee = ASPS_TEE_SGX;
    claims->simulated = 1;
    claims->tcb_status = ASPS_TCB_UP_TO_DATE;
    memset(claims->sgx.mr_enclave, 0xa1, 32);
    claims->expires_at = f->claims_expire;
    int64_t not_after = pem_not_after(pem, len);
    if (not_after && not_after < claims->expires_at)
        claims->expires_at = not_after;
    if (f->extra.tcb_status)
        claims->tcb_status = f->extra.tcb_status;
    claims->demoted_at = f->extra.demoted_at;
    claims->forecast = f->extra.forecast;
    return ASPS_OK;
}

static int64_t test_clock(void *ctx) { return ((fx *)ctx)->now; }

static void use_test_verifier(fx *f)
{
    f->now = (int64_t)time(NULL);
    f->claims_expire = f->now + 100;
    asps_service_set_evidence(f->svc, test_evidence, f);
    asps_service_set_clock(f->svc, test_clock, f);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_granted_with_real_evidence(void **state)
{
    fx *f = *state;
    const char *names[] = {"a", "b"};
    asps_call c;
    call(f, &c, f->cert, names, 2);
    assert_int_equal(c.err, ASPS_OK);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    assert_int_equal(asps_rpc_status_of(c.err, c.verdict), ASPS_RPC_OK);
    assert_int_equal(c.n_secrets, 2);
    assert_string_equal(c.secrets[0].name, "a");
    assert_int_equal(c.secrets[0].len, 5);
    assert_memory_equal(c.secrets[0].value, "alpha", 5);
    /* bytes with their length, 0x00 at both ends kept */
    assert_string_equal(c.secrets[1].name, "b");
    assert_int_equal(c.secrets[1].len, 6);
    assert_memory_equal(c.secrets[1].value, "\0beta\0", 6);
    size_t before = audit_lines(f);
    asps_service_call_end(f->svc, &c);
    assert_int_equal(audit_lines(f), before + 1);
    const char *l = last_audit(f);
    assert_non_null(strstr(l, "\"mrenclave\":\"" MRE "\""));
    assert_non_null(strstr(l, "\"app\":\"app1\""));
    assert_non_null(strstr(l, "\"names_granted\":[\"a\",\"b\"]"));
    assert_non_null(strstr(l, "\"verdict\":\"granted\""));
    assert_null(strstr(l, "alpha")); /* never a value */
}

/* A name the policy grants but the KMS does not have, a name no app is
 * granted, and an identity no app matches: the peer cannot tell them
 * apart (same error, verdict, status and words); the audit line can. */
static void test_kms_not_found_looks_like_denial(void **state)
{
    fx *f = *state;
    const char *gone[] = {"gone"}, *ungranted[] = {"nope"}, *a[] = {"a"};
    asps_call c1, c2, c3;
    call(f, &c1, f->cert, gone, 1);
    call(f, &c2, f->cert, ungranted, 1);
    call(f, &c3, f->other, a, 1);
    asps_call *cs[] = {&c1, &c2, &c3};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(cs[i]->err, ASPS_E_DENIED);
        assert_int_equal(cs[i]->verdict, ASPS_VERDICT_DENIED);
        assert_string_equal(cs[i]->msg, "permission denied");
        assert_int_equal(asps_rpc_status_of(cs[i]->err, cs[i]->verdict), ASPS_RPC_PERMISSION_DENIED);
        assert_null(cs[i]->secrets);
        assert_int_equal(cs[i]->n_secrets, 0);
    }
    asps_service_call_end(f->svc, &c1);
    const char *l = last_audit(f);
    assert_non_null(strstr(l, "\"verdict\":\"denied\""));
    assert_non_null(strstr(l, "KMS: kms: no entry \\\"gone\\\" [not_found]"));
    assert_non_null(strstr(l, "\"names_granted\":[]"));
    asps_service_call_end(f->svc, &c2);
    assert_null(strstr(last_audit(f), "KMS:"));
    asps_service_call_end(f->svc, &c3);
}

/* One failing name fails the whole call: nothing released, nothing listed
 * as granted, whatever the failure (not found, store trouble). */
static void test_all_or_nothing(void **state)
{
    fx *f = *state;
    const char *not_found[] = {"a", "b", "gone"}, *broken[] = {"a", "bad"};
    asps_call c;
    call(f, &c, f->cert, not_found, 3);
    assert_int_equal(c.verdict, ASPS_VERDICT_DENIED);
    assert_null(c.secrets);
    assert_int_equal(c.n_secrets, 0);
    asps_service_call_end(f->svc, &c);
    assert_non_null(strstr(last_audit(f), "\"names_asked\":[\"a\",\"b\",\"gone\"],\"names_granted\":[]"));

    call(f, &c, f->cert, broken, 2);
    assert_int_equal(c.err, ASPS_E_UNAVAILABLE);
    assert_int_equal(c.verdict, ASPS_VERDICT_UNAVAILABLE);
    assert_string_equal(c.msg, "secret store unavailable");
    assert_int_equal(asps_rpc_status_of(c.err, c.verdict), ASPS_RPC_UNAVAILABLE);
    assert_null(c.secrets);
    asps_service_call_end(f->svc, &c);
    assert_non_null(strstr(last_audit(f), "\"names_granted\":[],\"verdict\":\"unavailable\""));

    /* a transport that refuses a granted call (a value its protocol cannot
     * carry) drops what was fetched */
    const char *a[] = {"a"};
    call(f, &c, f->cert, a, 1);
    assert_non_null(c.secrets);
    asps_call_refuse(&c, ASPS_E_UNSUPPORTED, ASPS_VERDICT_REFUSED, "cannot carry", "no");
    assert_null(c.secrets);
    assert_int_equal(asps_rpc_status_of(c.err, c.verdict), ASPS_RPC_FAILED_PRECONDITION);
    asps_service_call_end(f->svc, &c);
    assert_non_null(strstr(last_audit(f), "\"names_granted\":[],\"verdict\":\"refused\",\"reason\":\"cannot carry\""));
}

/* SIGHUP: a broken new policy is refused and the old generation keeps
 * answering; a good one takes over; a call decided under the old one
 * ends under it. */
static void test_reload_keeps_old_generation(void **state)
{
    fx *f = *state;
    const char *a[] = {"a"}, *b[] = {"b"};
    asps_errbuf eb;
    asps_call c;

    write_file(f->policy, "{\"version\": 1, \"apps\": [");
    assert_int_not_equal(asps_service_reload(f->svc, &eb), ASPS_OK);
    call(f, &c, f->cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    asps_service_call_end(f->svc, &c);

    /* well-formed JSON, but not a policy (an app without a match) */
    write_file(f->policy, "{\"version\": 1, \"apps\": [{\"name\": \"x\", \"secrets\": {}}]}");
    assert_int_not_equal(asps_service_reload(f->svc, &eb), ASPS_OK);
    call(f, &c, f->cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);

    /* a good policy granting only "b": the call in flight keeps its
     * generation (its decision points into the old policy) */
    write_policy(f, "{\"b\": \"b\"}");
    assert_int_equal(asps_service_reload(f->svc, &eb), ASPS_OK);
    assert_int_equal(c.n_secrets, 1);
    asps_service_call_end(f->svc, &c);
    assert_non_null(strstr(last_audit(f), "\"app\":\"app1\",\"names_asked\":[\"a\"],\"names_granted\":[\"a\"]"));

    call(f, &c, f->cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_DENIED);
    asps_service_call_end(f->svc, &c);
    call(f, &c, f->cert, b, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    asps_service_call_end(f->svc, &c);
}

/* Claims are cached under the certificate until they expire (the
 * collateral's expiry, at most the certificate's notAfter); failures are
 * not cached. */
static void test_claims_cache_expiry(void **state)
{
    fx *f = *state;
    use_test_verifier(f);
    const char *a[] = {"a"};
    asps_call c;
    asps_service_stats st0, st1;
    asps_service_get_stats(f->svc, &st0);

    call(f, &c, f->cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    asps_service_call_end(f->svc, &c);
    assert_int_equal(f->verifications, 1);

    f->now += 99; /* one second before the claims expire: from the cache */
    call(f, &c, f->cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    asps_service_call_end(f->svc, &c);
    assert_int_equal(f->verifications, 1);
    asps_service_get_stats(f->svc, &st1);
    assert_int_equal(st1.claims_cache_hits, st0.claims_cache_hits + 1);

    f->now += 1; /* expired: verified again, and cached anew */
    f->claims_expire = f->now + 1000000; /* beyond the certificate's notAfter (24 h) */
    call(f, &c, f->cert, a, 1);
    asps_service_call_end(f->svc, &c);
    assert_int_equal(f->verifications, 2);
    f->now += 3600;
    call(f, &c, f->cert, a, 1);
    asps_service_call_end(f->svc, &c);
    assert_int_equal(f->verifications, 2);

    f->now += 2 * 86400; /* past the certificate's notAfter, before the claims' expiry */
    call(f, &c, f->cert, a, 1);
    asps_service_call_end(f->svc, &c);
    assert_int_equal(f->verifications, 3);

    /* a failure is not cached: each call verifies again */
    f->verdict = ASPS_E_TCB_REVOKED;
    call(f, &c, f->other, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_UNAUTHENTICATED);
    asps_service_call_end(f->svc, &c);
    call(f, &c, f->other, a, 1);
    asps_service_call_end(f->svc, &c);
    assert_int_equal(f->verifications, 5);
}

/* With the real trust layer: a certificate valid 10 minutes has its claims
 * cached until its notAfter, not until the collateral's later expiry (the
 * trust layer folds the notAfter in; the service decodes nothing itself). */
static void test_claims_expire_with_the_certificate(void **state)
{
    fx *f = *state;
    char *key;
    char *cert = ratls_cert_valid(f->sim, 0xa1, 600, &key); /* notAfter: made + 540 s */
    f->now = (int64_t)time(NULL);
    asps_service_set_clock(f->svc, test_clock, f);
    const char *a[] = {"a"};
    asps_call c;
    asps_service_stats st0, st1;
    call(f, &c, cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    asps_service_call_end(f->svc, &c);
    asps_service_get_stats(f->svc, &st0);

    f->now += 500; /* before the notAfter: from the cache */
    call(f, &c, cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    asps_service_call_end(f->svc, &c);
    asps_service_get_stats(f->svc, &st1);
    assert_int_equal(st1.claims_cache_hits, st0.claims_cache_hits + 1);

    f->now += 45; /* past it (the collateral still fresh): verified again */
    call(f, &c, cert, a, 1);
    asps_service_call_end(f->svc, &c);
    asps_service_get_stats(f->svc, &st0);
    assert_int_equal(st0.claims_cache_hits, st1.claims_cache_hits);
    free(cert);
    asps_ratls_free_key(key);
}

/* A certificate never gets another's claims. The claims are found through
 * the connection's id (gRPC's connection: the transport's number for it,
 * never reused) and PEM string; once a connection is gone the same address
 * may hold the next connection's certificate, of the same length, under
 * another id: here one buffer plays those connections, holding in turn the
 * enclave 0xa1's certificate (granted), another enclave's of the very same
 * length (denied: no app matches it), the first with one character of its
 * signature changed (verified anew: granted, as its handshake proved its
 * key, but not from the cache), then the first again. A hint kept by the
 * address alone would grant the second and serve the third from the cache. */
static void test_claims_never_another_certificate(void **state)
{
    fx *f = *state;
    size_t len = strlen(f->cert);
    char *other = NULL, *okey = NULL;
    for (int i = 0; i < 200 && !other; i++) { /* ECDSA signatures vary in length */
        char *k, *cert = ratls_cert(f->sim, 0xb2, &k);
        if (strlen(cert) == len) {
            other = cert;
            okey = k;
        } else {
            free(cert);
            asps_ratls_free_key(k);
        }
    }
    assert_non_null(other);
    char *conn = malloc(len + 1);
    assert_non_null(conn);
    const char *a[] = {"a"};
    asps_call c;
    asps_service_stats st0, st1;

    memcpy(conn, f->cert, len + 1);
    uint64_t lookups = asps_service__claims_cache_lookups(f->svc);
    for (int i = 0; i < 3; i++) { /* verified in the first call, then through the connection */
        call_on(f, &c, conn, 101, a, 1);
        assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
        asps_service_call_end(f->svc, &c);
    }
    assert_int_equal(asps_service__claims_cache_lookups(f->svc), lookups + 1);
    assert_non_null(strstr(last_audit(f), "\"mrenclave\":\"" MRE "\""));

    memcpy(conn, other, len + 1);
    asps_service_get_stats(f->svc, &st0);
    for (int i = 0; i < 2; i++) {
        call_on(f, &c, conn, 102, a, 1);
        assert_int_equal(c.verdict, ASPS_VERDICT_DENIED);
        asps_service_call_end(f->svc, &c);
        assert_non_null(strstr(last_audit(f), "\"mrenclave\":\"b2b2b2b2"));
    }
    asps_service_get_stats(f->svc, &st1);
    assert_int_equal(st1.claims_cache_hits, st0.claims_cache_hits + 1); /* its own, the 2nd time */

    /* one base64 character of the self-signature (the last line) changed:
     * another text, so verified anew, not served from the cache; accepted,
     * since a handshake proved its key (the service is handed certificates
     * from TLS: ASPS_RATLS_KEY_PROVEN) and its evidence is sound */
    memcpy(conn, f->cert, len + 1);
    asps_service_get_stats(f->svc, &st0);
    char *end = strstr(conn, "-----END");
    assert_non_null(end);
    char *ch = end - 1;
    for (int n = 0; n < 8 || *ch == '\n' || *ch == '='; ch--)
        n += *ch != '\n' && *ch != '=';
    *ch = *ch == 'A' ? 'B' : 'A';
    call_on(f, &c, conn, 103, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    asps_service_call_end(f->svc, &c);
    asps_service_get_stats(f->svc, &st1);
    assert_int_equal(st1.claims_cache_hits, st0.claims_cache_hits);

    memcpy(conn, f->cert, len + 1);
    asps_service_get_stats(f->svc, &st0);
    call_on(f, &c, conn, 104, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    asps_service_call_end(f->svc, &c);
    asps_service_get_stats(f->svc, &st1);
    assert_int_equal(st1.claims_cache_hits, st0.claims_cache_hits + 1);
    free(conn);
    free(other);
    asps_ratls_free_key(okey);
}

/* How the claims are found by connection id, counted by the index lookups
 * (a SHA-256 of the PEM each): a connection's first call looks up, its
 * next ones do not; a connection whose id changed (the transport's table
 * let its entry go: asps_rpc_call_connection_id) is found again through
 * the index with its new id, not verified again; so is one whose hint was
 * pushed out by a thousand newer connections; calls without an id (0)
 * look up every time, and get the claims of what the buffer holds now. */
static void test_claims_by_connection_id(void **state)
{
    fx *f = *state;
    use_test_verifier(f);
    const char *a[] = {"a"};
    asps_call c;
    /* room for either certificate: ECDSA signatures vary in length */
    size_t len = strlen(f->cert), olen = strlen(f->other);
    char *buf = malloc((len > olen ? len : olen) + 1);
    assert_non_null(buf);
    memcpy(buf, f->cert, len + 1);
#define LOOKUPS() asps_service__claims_cache_lookups(f->svc)
#define GRANTED(conn)                                        \
    do {                                                     \
        call_on(f, &c, buf, conn, a, 1);                     \
        assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);   \
        asps_service_call_end(f->svc, &c);                   \
    } while (0)

    uint64_t n0 = LOOKUPS();
    GRANTED(7); /* verified */
    assert_int_equal(f->verifications, 1);
    assert_int_equal(LOOKUPS(), n0 + 1);
    for (int i = 0; i < 5; i++)
        GRANTED(7);
    assert_int_equal(LOOKUPS(), n0 + 1);

    /* the same connection under a new id: by the index once, then by id */
    GRANTED(8);
    assert_int_equal(LOOKUPS(), n0 + 2);
    GRANTED(8);
    assert_int_equal(LOOKUPS(), n0 + 2);
    assert_int_equal(f->verifications, 1);

    /* 1100 newer connections (the hints hold 1024) push id 8's out */
    for (uint64_t id = 1000; id < 2100; id++) {
        asps_service_call_begin(f->svc, &c, f->cert, id, "test:3", a, 1);
        assert_int_equal(c.claims_err, ASPS_OK);
        asps_service_call_end(f->svc, &c);
    }
    uint64_t n1 = LOOKUPS();
    assert_int_equal(n1, n0 + 2 + 1100);
    GRANTED(8);
    assert_int_equal(LOOKUPS(), n1 + 1);
    GRANTED(8);
    assert_int_equal(LOOKUPS(), n1 + 1);
    assert_int_equal(f->verifications, 1);

    /* no id: the index every time; a buffer holding another certificate
     * now gets that one's claims (a verifier that fails says it is new) */
    GRANTED(0);
    GRANTED(0);
    assert_int_equal(LOOKUPS(), n1 + 3);
    memcpy(buf, f->other, olen + 1);
    f->verdict = ASPS_E_TCB_REVOKED;
    call_on(f, &c, buf, 0, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_UNAUTHENTICATED);
    asps_service_call_end(f->svc, &c);
    assert_int_equal(f->verifications, 2);
#undef GRANTED
#undef LOOKUPS
    free(buf);
}

/* A service made anew with CACHE entries at most and the test verifier. */
static void remake_service(fx *f, size_t cache)
{
    asps_service_free(f->svc);
    f->cfg->claims_cache = cache;
    asps_errbuf eb;
    assert_int_equal(asps_service_new(f->cfg, &f->svc, &eb), ASPS_OK);
    use_test_verifier(f);
}

/* A full cache reuses its least recently used entry; a connection whose
 * entry went to another certificate is verified again. */
static void test_claims_cache_full_evicts_lru(void **state)
{
    fx *f = *state;
    remake_service(f, 2);
    static const char A[] = "certificate A", B[] = "certificate B", C[] = "certificate C";
    const char *a[] = {"a"};
    struct {
        const char *cert;
        int verifications;
    } steps[] = {
        {A, 1}, {B, 2}, {A, 2}, /* A used last: B is the least recent */
        {C, 3},                 /* full: B's entry goes to C */
        {A, 3}, {C, 3}, {B, 4}, /* B back: A, the least recent, goes */
        {C, 4}, {A, 5},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        asps_call c;
        call(f, &c, steps[i].cert, a, 1);
        assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
        asps_service_call_end(f->svc, &c);
        if (f->verifications != steps[i].verifications)
            fail_msg("step %zu: %d verifications, %d expected", i, f->verifications,
                     steps[i].verifications);
    }
    assert_int_equal(asps_service__claims_cache_entries(f->svc), 2);
}

/* Connections that come and go (a freed PEM string's address holding the
 * next connection's certificate, under a new connection id; ids renewed
 * and calls without one now and then), on several threads at once, with more
 * certificates than the cache holds (entries reused for others) and real
 * RA-TLS verification: every call's claims are its own certificate's. */
#define STRESS_CERTS 6
#define STRESS_THREADS 4
#define STRESS_CALLS 250

typedef struct stress {
    fx *f;
    char *certs[STRESS_CERTS];
    size_t maxlen;
    unsigned seed;
    int wrong, refused;
} stress;

/* connection ids as the transport gives them: one counter, never reused */
static _Atomic uint64_t stress_ids;

static void *stress_thread(void *arg)
{
    stress *st = arg;
    char *conn[2] = {malloc(st->maxlen + 1), malloc(st->maxlen + 1)};
    uint64_t id[2] = {0, 0};
    const char *a[] = {"a"};
    for (int i = 0; i < STRESS_CALLS && conn[0] && conn[1]; i++) {
        int k = rand_r(&st->seed) % STRESS_CERTS;
        int w = rand_r(&st->seed) % 2;
        char *buf = conn[w];
        /* now and then the "connection" is replaced at the same address:
         * a new connection, a new id */
        if (id[w] == 0 || rand_r(&st->seed) % 3 == 0 || strcmp(buf, st->certs[k]) != 0) {
            strcpy(buf, st->certs[k]);
            id[w] = atomic_fetch_add(&stress_ids, 1) + 1;
        }
        /* and now and then its id is gone from the transport's table: a
         * new one for the same connection; or the call has none */
        int r = rand_r(&st->seed) % 10;
        if (r == 0)
            id[w] = atomic_fetch_add(&stress_ids, 1) + 1;
        asps_call c;
        asps_service_call_begin(st->f->svc, &c, buf, r == 1 ? 0 : id[w], "test:1", a, 1);
        if (c.claims_err != ASPS_OK)
            st->refused++;
        else if (c.claims->sgx.mr_enclave[0] != 0x11 + k || c.claims->sgx.mr_enclave[31] != 0x11 + k)
            st->wrong++;
        asps_service_decide(st->f->svc, &c);
        asps_service_call_end(st->f->svc, &c);
    }
    free(conn[0]);
    free(conn[1]);
    return NULL;
}

static void test_claims_stress_reused_addresses(void **state)
{
    fx *f = *state;
    remake_service(f, 4);
    asps_service_set_evidence(f->svc, NULL, NULL); /* the trust object: real verification */
    asps_service_set_clock(f->svc, NULL, NULL);
    char *certs[STRESS_CERTS], *keys[STRESS_CERTS];
    size_t maxlen = 0;
    for (int k = 0; k < STRESS_CERTS; k++) {
        certs[k] = ratls_cert(f->sim, (uint8_t)(0x11 + k), &keys[k]);
        if (strlen(certs[k]) > maxlen)
            maxlen = strlen(certs[k]);
    }
    stress st[STRESS_THREADS];
    pthread_t th[STRESS_THREADS];
    for (int t = 0; t < STRESS_THREADS; t++) {
        st[t] = (stress){.f = f, .maxlen = maxlen, .seed = 17u + (unsigned)t};
        memcpy(st[t].certs, certs, sizeof certs);
        assert_int_equal(pthread_create(&th[t], NULL, stress_thread, &st[t]), 0);
    }
    int wrong = 0, refused = 0;
    for (int t = 0; t < STRESS_THREADS; t++) {
        pthread_join(th[t], NULL);
        wrong += st[t].wrong;
        refused += st[t].refused;
    }
    asps_service_stats stats;
    asps_service_get_stats(f->svc, &stats);
    assert_int_equal(refused, 0);
    assert_int_equal(wrong, 0);
    assert_true(stats.claims_cache_hits > 0); /* the cache and the hints were used */
    assert_true(asps_service__claims_cache_lookups(f->svc) <
                (uint64_t)STRESS_THREADS * STRESS_CALLS);
    assert_true(asps_service__claims_cache_entries(f->svc) <= 4);
    for (int k = 0; k < STRESS_CERTS; k++) {
        free(certs[k]);
        asps_ratls_free_key(keys[k]);
    }
}

static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* The cache takes memory as certificates come, not claims_cache entries up
 * front (2^20 of them were 12 GB, and a shutdown that wiped them all): at
 * the largest setting a new service holds no entry, one per certificate
 * after calls, and freeing it frees those. (Under ASan, mallinfo2 says 0:
 * the count of entries still holds.) */
static void test_claims_cache_memory_grows_with_use(void **state)
{
    fx *f = *state;
    asps_service_free(f->svc);
    f->svc = NULL;
    size_t before = heap_in_use();
    remake_service(f, 1u << 20);
    size_t after = heap_in_use(), grew = after > before ? after - before : 0;
    if (grew > (size_t)64 << 20)
        fail_msg("a service with claims_cache 2^20 took %zu MB before any call", grew >> 20);
    assert_int_equal(asps_service__claims_cache_entries(f->svc), 0);
    const char *a[] = {"a"};
    const char *certs[] = {"certificate A", "certificate B", "certificate A", "certificate B"};
    for (size_t i = 0; i < 4; i++) {
        asps_call c;
        call(f, &c, certs[i], a, 1);
        assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
        asps_service_call_end(f->svc, &c);
    }
    assert_int_equal(f->verifications, 2);
    assert_int_equal(asps_service__claims_cache_entries(f->svc), 2);
}

/* Evidence that does not verify at call time: the peer is told why
 * (UNAUTHENTICATED) or to retry (UNAVAILABLE, collateral trouble). */
static void test_evidence_refused(void **state)
{
    fx *f = *state;
    use_test_verifier(f);
    const char *a[] = {"a"};
    asps_call c;
    f->verdict = ASPS_E_TCB_REVOKED;
    call(f, &c, f->cert, a, 1);
    assert_int_equal(c.err, ASPS_E_TCB_REVOKED);
    assert_int_equal(c.verdict, ASPS_VERDICT_UNAUTHENTICATED);
    assert_string_equal(c.msg, "evidence refused: tcb_revoked (test verifier says tcb_revoked)");
    assert_int_equal(asps_rpc_status_of(c.err, c.verdict), ASPS_RPC_UNAUTHENTICATED);
    asps_service_call_end(f->svc, &c);
    assert_non_null(strstr(last_audit(f), "\"tee\":null"));
    assert_non_null(strstr(last_audit(f), "\"verdict\":\"unauthenticated\""));

    f->verdict = ASPS_E_TCB_INFO_EXPIRED;
    call(f, &c, f->cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_UNAVAILABLE);
    assert_string_equal(c.msg, "evidence not checked: collateral_unavailable (retry later)");
    assert_int_equal(asps_rpc_status_of(c.err, c.verdict), ASPS_RPC_UNAVAILABLE);
    asps_service_call_end(f->svc, &c);

    /* and the handshake hook says the same */
    char err[512];
    asps_verdict v;
    assert_int_equal(asps_service_verify_peer(f->svc, f->cert, &v, err, sizeof err),
                     ASPS_E_TCB_INFO_EXPIRED);
    assert_int_equal(v, ASPS_VERDICT_UNAVAILABLE);
    assert_int_equal(asps_service_verify_peer(f->svc, NULL, &v, err, sizeof err), ASPS_E_NO_EVIDENCE);
    assert_int_equal(v, ASPS_VERDICT_UNAUTHENTICATED);
    f->verdict = ASPS_OK;
    assert_int_equal(asps_service_verify_peer(f->svc, f->cert, &v, err, sizeof err), ASPS_OK);
    assert_int_equal(v, ASPS_VERDICT_GRANTED);
}

/* The handshake hook on a thread that must not wait: what needs no wait
 * (collateral at hand, claims cached) is the same answer, counted and
 * audited the same; what would wait (here the test's evidence function,
 * which may) is put off with nothing verified, counted or audited, and the
 * waiting hook then decides. */
static void test_verify_peer_now(void **state)
{
    fx *f = *state;
    char err[512];
    asps_verdict v;
    asps_service_stats st;
    /* the simulated folder's collateral: at once */
    assert_int_equal(asps_service_verify_peer_now(f->svc, f->cert, &v, err, sizeof err), ASPS_OK);
    assert_int_equal(v, ASPS_VERDICT_GRANTED);
    asps_service_get_stats(f->svc, &st);
    assert_int_equal(st.handshakes_ok, 1);
    size_t before = audit_lines(f);
    assert_int_equal(asps_service_verify_peer_now(f->svc, NULL, &v, err, sizeof err),
                     ASPS_E_NO_EVIDENCE);
    assert_int_equal(v, ASPS_VERDICT_UNAUTHENTICATED);
    assert_int_equal(audit_lines(f), before + 1); /* a refusal, audited */

    use_test_verifier(f);
    before = audit_lines(f);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(asps_service_verify_peer_now(f->svc, f->other, &v, err, sizeof err),
                         ASPS_E_WOULD_BLOCK);
        assert_int_equal(v, ASPS_VERDICT_UNAUTHENTICATED); /* no verdict to act on */
    }
    assert_int_equal(f->verifications, 0);
    assert_int_equal(audit_lines(f), before);
    asps_service_get_stats(f->svc, &st);
    assert_int_equal(st.handshakes_ok, 1);
    assert_int_equal(st.handshakes_refused, 1);
    assert_int_equal(asps_service_verify_peer(f->svc, f->other, &v, err, sizeof err), ASPS_OK);
    assert_int_equal(f->verifications, 1);
    /* cached now: at once, not verified again */
    assert_int_equal(asps_service_verify_peer_now(f->svc, f->other, &v, err, sizeof err), ASPS_OK);
    assert_int_equal(v, ASPS_VERDICT_GRANTED);
    assert_int_equal(f->verifications, 1);
    asps_service_get_stats(f->svc, &st);
    assert_int_equal(st.handshakes_ok, 3);
}

/* Every exit of a call writes exactly one audit line: requests the service
 * refuses, requests the transport refuses before the decision (a decision
 * after that changes nothing), and granted ones. The request is judged
 * before the evidence. */
static void test_one_audit_line_per_call(void **state)
{
    fx *f = *state;
    const char *five[] = {"a", "b", "a", "b", "a"}, *empty_name[] = {"a", ""}, *a[] = {"a"};
    struct {
        const char *cert;
        const char *const *names;
        size_t n;
        int transport_refuses;
        asps_err err;
        asps_verdict verdict;
        int status;
        const char *msg;
    } cases[] = {
        {f->cert, a, 0, 0, ASPS_E_ARG, ASPS_VERDICT_INVALID, ASPS_RPC_INVALID_ARGUMENT,
         "no secret names in the request"},
        {f->cert, five, 5, 0, ASPS_E_LIMIT, ASPS_VERDICT_INVALID, ASPS_RPC_RESOURCE_EXHAUSTED,
         "5 names in one call; the limit is 4"},
        {NULL, empty_name, 2, 0, ASPS_E_ARG, ASPS_VERDICT_INVALID, ASPS_RPC_INVALID_ARGUMENT,
         "secret name 1 is empty or longer than 256 bytes"},
        {f->cert, NULL, 0, 1, ASPS_E_PARSE, ASPS_VERDICT_INVALID, ASPS_RPC_INVALID_ARGUMENT,
         "malformed request: test"},
        {NULL, a, 1, 0, ASPS_E_NO_EVIDENCE, ASPS_VERDICT_UNAUTHENTICATED, ASPS_RPC_UNAUTHENTICATED,
         "evidence refused: no_evidence (no peer certificate)"},
        {f->cert, a, 1, 0, ASPS_OK, ASPS_VERDICT_GRANTED, ASPS_RPC_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t before = audit_lines(f);
        asps_call c;
        asps_service_call_begin(f->svc, &c, cases[i].cert, 0, "test:2", cases[i].names, cases[i].n);
        if (cases[i].transport_refuses)
            asps_call_refuse(&c, ASPS_E_PARSE, ASPS_VERDICT_INVALID, NULL, "malformed request: %s",
                             "test");
        asps_service_decide(f->svc, &c);
        assert_int_equal(c.err, cases[i].err);
        assert_int_equal(c.verdict, cases[i].verdict);
        assert_int_equal(asps_rpc_status_of(c.err, c.verdict), cases[i].status);
        assert_string_equal(c.msg, cases[i].msg);
        assert_int_equal(audit_lines(f), before); /* nothing until the end */
        asps_service_call_end(f->svc, &c);
        assert_int_equal(audit_lines(f), before + 1);
        char want[64];
        snprintf(want, sizeof want, "\"verdict\":\"%s\"", asps_verdict_name(cases[i].verdict));
        assert_non_null(strstr(last_audit(f), want));
    }
    /* a connection the transport refused: one line too */
    size_t before = audit_lines(f);
    asps_service_refused_call(f->svc, NULL, "test:3", "/m", ASPS_VERDICT_UNAVAILABLE, "try later");
    assert_int_equal(audit_lines(f), before + 1);
    assert_non_null(strstr(last_audit(f), "\"verdict\":\"unavailable\",\"reason\":\"/m: try later\""));
}

/* The client reads statuses back through the same table. */
static void test_status_table_both_ways(void **state)
{
    (void)state;
    assert_int_equal(asps_rpc_err_of_status(ASPS_RPC_OK), ASPS_OK);
    assert_int_equal(asps_rpc_err_of_status(ASPS_RPC_PERMISSION_DENIED), ASPS_E_DENIED);
    assert_int_equal(asps_rpc_err_of_status(ASPS_RPC_UNAUTHENTICATED), ASPS_E_DENIED);
    assert_int_equal(asps_rpc_err_of_status(ASPS_RPC_UNAVAILABLE), ASPS_E_UNAVAILABLE);
    assert_int_equal(asps_rpc_err_of_status(ASPS_RPC_DEADLINE_EXCEEDED), ASPS_E_UNAVAILABLE);
    assert_int_equal(asps_rpc_err_of_status(ASPS_RPC_INVALID_ARGUMENT), ASPS_E_ARG);
    assert_int_equal(asps_rpc_err_of_status(ASPS_RPC_UNIMPLEMENTED), ASPS_E_ARG);
    /* every verdict has a status, and the client reads each as it should */
    for (int v = 0; v < ASPS_VERDICT__COUNT; v++) {
        int st = asps_rpc_status_of(ASPS_E_DENIED, (asps_verdict)v);
        asps_err back = asps_rpc_err_of_status(st);
        assert_true(v == ASPS_VERDICT_GRANTED ? back == ASPS_OK : back != ASPS_OK);
    }
    assert_int_equal(asps_rpc_verdict_of_status(ASPS_RPC_UNAVAILABLE, 0), ASPS_VERDICT_UNAVAILABLE);
    assert_int_equal(asps_rpc_verdict_of_status(ASPS_RPC_UNAUTHENTICATED, 0),
                     ASPS_VERDICT_UNAUTHENTICATED);
    /* the transport's own refusals: busy is retry later, the call's own
     * faults are invalid */
    assert_int_equal(asps_rpc_verdict_of_status(ASPS_RPC_RESOURCE_EXHAUSTED, 1),
                     ASPS_VERDICT_UNAVAILABLE);
    assert_int_equal(asps_rpc_verdict_of_status(ASPS_RPC_INVALID_ARGUMENT, 0), ASPS_VERDICT_INVALID);
    assert_int_equal(asps_rpc_verdict_of_status(ASPS_RPC_UNIMPLEMENTED, 0), ASPS_VERDICT_INVALID);
    /* RESOURCE_EXHAUSTED: busy (with gRPC's retry pushback) or a limit */
    assert_int_equal(asps_rpc_err_of_reply(ASPS_RPC_RESOURCE_EXHAUSTED, 1000), ASPS_E_UNAVAILABLE);
    assert_int_equal(asps_rpc_err_of_reply(ASPS_RPC_RESOURCE_EXHAUSTED, 0), ASPS_E_UNAVAILABLE);
    assert_int_equal(asps_rpc_err_of_reply(ASPS_RPC_RESOURCE_EXHAUSTED, -1), ASPS_E_ARG);
    assert_int_equal(asps_rpc_err_of_reply(ASPS_RPC_PERMISSION_DENIED, 1000), ASPS_E_DENIED);
}

/* The policy's tcb_grace_days counted at the service's clock: granted on
 * day 29 of 30 (the audit line's "grace", the decisions counter's reason
 * "grace"), refused on day 31 (reason "tcb_grace_over"); a worse forecast
 * is counted with its status and date. */
static void test_grace_at_the_service_clock(void **state)
{
    fx *f = *state;
    char buf[9000];
    snprintf(buf, sizeof buf,
             "{\"version\": 1, \"kms\": {\"type\": \"file\", \"path\": \"%s\"},\n"
             " \"apps\": [{\"name\": \"app1\", \"match\": {\"tee\": \"sgx\", \"mrenclave\": \"" MRE "\","
             " \"tcb_grace_days\": 30},\n"
             "   \"allow_simulated\": true, \"secrets\": {\"a\": \"a\"}}]}\n",
             f->kms);
    write_file(f->policy, buf);
    asps_errbuf eb;
    assert_int_equal(asps_service_reload(f->svc, &eb), ASPS_OK);
    use_test_verifier(f);
    f->extra.tcb_status = ASPS_TCB_OUT_OF_DATE;
    f->extra.demoted_at = f->now - 29 * 86400;
    f->extra.forecast.present = 1;
    f->extra.forecast.early = 1;
    f->extra.forecast.evaluation_data_number = 19;
    f->extra.forecast.matched = 1;
    f->extra.forecast.tcb_status = ASPS_TCB_REVOKED;
    f->extra.forecast.worse = 1;
    f->extra.forecast.effective_at = 1778630400; /* 2026-05-13 */
    f->claims_expire = f->now + 100 * 86400;
    const char *a[] = {"a"};
    asps_call c;
    call(f, &c, f->cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_GRANTED);
    asps_service_call_end(f->svc, &c);
    const char *l = last_audit(f);
    assert_non_null(strstr(l, "\"grace\":{\"until\":"));
    assert_non_null(strstr(l, "\"left_seconds\":86400}"));
    assert_non_null(strstr(l, "\"forecast\":{\"update\":\"early\",\"status\":\"Revoked\","
                              "\"evaluation_data_number\":19,"
                              "\"effective_at\":\"2026-05-13T00:00:00Z\"}"));

    f->now += 2 * 86400; /* day 31 */
    call(f, &c, f->cert, a, 1);
    assert_int_equal(c.verdict, ASPS_VERDICT_DENIED);
    assert_string_equal(c.msg, "permission denied");
    asps_service_call_end(f->svc, &c);
    l = last_audit(f);
    assert_null(strstr(l, "\"grace\":"));
    assert_non_null(strstr(l, "grace over: demoted "));

    char *text;
    size_t len;
    assert_int_equal(asps_metrics_render(0, &text, &len), 0);
    assert_non_null(strstr(text, "asps_decisions_total{verdict=\"granted\",reason=\"grace\"} 1"));
    assert_non_null(
        strstr(text, "asps_decisions_total{verdict=\"denied\",reason=\"tcb_grace_over\"} 1"));
    assert_non_null(strstr(
        text, "asps_tcb_forecast_demotions_total{status=\"Revoked\",effective=\"2026-05-13\"} 2"));
    free(text);
}

/* The call load as metrics (cmd_serve samples the rpc server before each
 * scrape): gauges take the values, counters rise to the totals and never
 * fall (a lower total, as from a scrape that read earlier but got the lock
 * later, adds nothing). */
static void test_call_load_metrics(void **state)
{
    (void)state;
    asps_service_note_call_load(2, 3, 5, 1);
    asps_metric *in_flight = asps_metrics_gauge("asps_calls_in_flight", "", NULL),
                *waiting = asps_metrics_gauge("asps_calls_waiting", "", NULL),
                *waited = asps_metrics_counter("asps_calls_waited_total", "", NULL),
                *busy = asps_metrics_counter("asps_calls_busy_total", "", NULL);
    assert_true(asps_metric_value(in_flight, NULL) == 2 && asps_metric_value(waiting, NULL) == 3);
    assert_true(asps_metric_value(waited, NULL) == 5 && asps_metric_value(busy, NULL) == 1);
    asps_service_note_call_load(0, 0, 4, 1);
    assert_true(asps_metric_value(in_flight, NULL) == 0 && asps_metric_value(waiting, NULL) == 0);
    assert_true(asps_metric_value(waited, NULL) == 5 && asps_metric_value(busy, NULL) == 1);
    asps_service_note_call_load(1, 0, 7, 3);
    assert_true(asps_metric_value(waited, NULL) == 7 && asps_metric_value(busy, NULL) == 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_load_metrics),
        cmocka_unit_test_setup_teardown(test_granted_with_real_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kms_not_found_looks_like_denial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_keeps_old_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_cache_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_expire_with_the_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_never_another_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_by_connection_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_cache_full_evicts_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_cache_memory_grows_with_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_audit_line_per_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_stress_reused_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grace_at_the_service_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_peer_now, setup, teardown),
        cmocka_unit_test(test_status_table_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
