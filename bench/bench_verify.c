/* bench_verify.c: DCAP verification speed.
 *   bench_verify QUOTE COLLATERAL AT [ITERATIONS]
 * first: the first verification in the process, which also pays for
 *   one-time set-up (OpenSSL loading its providers, the built-in Intel root,
 *   the P-256 curve): printed on its own, not part of the others;
 * fully cold: a fresh verifier each time, the bundle parsed, collateral,
 *   PCK chain and QE report all verified (what a relying party pays for its
 *   first quote);
 * cold certificate: a fresh verifier that already holds the collateral
 *   verified (asps_verify_collateral, before the clock starts), so its PCK
 *   chain and QE report caches are empty: what a server that has verified
 *   its collateral pays for a quote from a platform it has not seen (or
 *   whose attestation key changed). A fresh verifier, not
 *   asps_verifier_set_cache, because turning the cache off or on empties
 *   the collateral too;
 * warm: one verifier, collateral, PCK chain and QE report signature kept
 *   by their bytes; the quote signature, report data binding, QE identity,
 *   validity, revocation and TCB match computed on every call (no per-quote
 *   result cache exists);
 * baseline: one OpenSSL ECDSA P-256 verify. Each warm round times one
 *   baseline verify then one warm verify, so a noisy moment on a shared
 *   machine moves both; the ratio is of the two medians.
 * The fully cold and cold certificate rounds alternate likewise. Times are
 * medians over ITERATIONS rounds (means printed too); "verifies" counts the
 * ECDSA signature checks of one call (asps_x509_verifies).
 * Last line: one JSON object. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/verify.h"
#include "bench_util.h"
#include "util.h"
#include "x509.h"

/* The median of n timings: the typical call, not moved by the odd call that
 * another tenant of this machine slowed down (the mean is printed too). */
static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static double mean(const double *t, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += t[i];
    return s / n;
}

/* The baseline: a P-256 key and a signature over 384 bytes (a QE report's
 * size), each verify with its own context as asps's are. */
typedef struct baseline {
    EVP_PKEY *k;
    uint8_t msg[384], sig[80];
    size_t slen;
} baseline;

static int baseline_init(baseline *b)
{
    memset(b, 0, sizeof *b);
    b->msg[0] = 1;
    b->slen = sizeof b->sig;
    b->k = EVP_EC_gen("P-256");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = b->k && md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, b->k) == 1 &&
             EVP_DigestSign(md, b->sig, &b->slen, b->msg, sizeof b->msg) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* One timed baseline verify (us), -1 when it does not verify. */
static double baseline_once(const baseline *b)
{
    double t0 = bench_now_us();
    EVP_MD_CTX *v = EVP_MD_CTX_new();
    int ok = v && EVP_DigestVerifyInit(v, NULL, EVP_sha256(), NULL, b->k) == 1 &&
             EVP_DigestVerify(v, b->sig, b->slen, b->msg, sizeof b->msg) == 1;
    EVP_MD_CTX_free(v);
    double us = bench_now_us() - t0;
    return ok ? us : -1;
}

static int fail(const char *what, const asps_errbuf *eb)
{
    fprintf(stderr, "%s failed: %s\n", what, eb->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_verify QUOTE COLLATERAL AT [ITERATIONS]\n");
        return 2;
    }
    int iters = argc > 4 ? atoi(argv[4]) : 300;
    int64_t at;
    if (asps_time_parse(argv[3], &at) != 0 || iters <= 0) {
        fprintf(stderr, "bad AT or ITERATIONS\n");
        return 2;
    }
    asps_errbuf eb;
    uint8_t *q, *cj;
    size_t qlen, cjlen;
    if (asps_read_file(argv[1], 1 << 20, &q, &qlen, &eb) ||
        asps_read_file(argv[2], 16 << 20, &cj, &cjlen, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 2;
    }
    asps_claims c;
    double *cold_t = calloc((size_t)iters, sizeof *cold_t);
    double *cert_t = calloc((size_t)iters, sizeof *cert_t);
    double *warm_t = calloc((size_t)iters, sizeof *warm_t);
    double *base_t = calloc((size_t)iters, sizeof *base_t);
    baseline bl;
    if (!cold_t || !cert_t || !warm_t || !base_t || !baseline_init(&bl))
        return 2;
    asps_collateral *col; /* parsed once, for the cold certificate and warm rounds */
    if (asps_collateral_parse_bundle(cj, cjlen, &col, &eb))
        return fail("collateral parse", &eb);

    /* first call in the process: everything from scratch plus the process's
     * one-time set-up */
    double first;
    {
        double t0 = bench_now_us();
        asps_verifier *v;
        asps_collateral *c1;
        if (asps_verifier_new(&v, &eb) || asps_collateral_parse_bundle(cj, cjlen, &c1, &eb) ||
            asps_verify_quote(v, q, qlen, c1, at, &c, &eb))
            return fail("verify", &eb);
        asps_collateral_free(c1);
        asps_verifier_free(v);
        first = bench_now_us() - t0;
    }

    /* fully cold and cold certificate, alternating */
    uint64_t cold_n = 0, cert_n = 0, warm_n = 0;
    for (int i = 0; i < iters; i++) {
        asps_verifier *v;
        asps_collateral *c1;
        uint64_t n0 = asps_x509_verifies();
        double t0 = bench_now_us();
        if (asps_verifier_new(&v, &eb) || asps_collateral_parse_bundle(cj, cjlen, &c1, &eb) ||
            asps_verify_quote(v, q, qlen, c1, at, &c, &eb))
            return fail("fully cold verify", &eb);
        asps_collateral_free(c1);
        asps_verifier_free(v);
        cold_t[i] = bench_now_us() - t0;
        cold_n = asps_x509_verifies() - n0;

        if (asps_verifier_new(&v, &eb) || asps_verify_collateral(v, col, &eb))
            return fail("collateral verify", &eb);
        n0 = asps_x509_verifies();
        t0 = bench_now_us();
        if (asps_verify_quote(v, q, qlen, col, at, &c, &eb))
            return fail("cold certificate verify", &eb);
        cert_t[i] = bench_now_us() - t0;
        cert_n = asps_x509_verifies() - n0;
        asps_verifier_free(v);
    }

    /* warm, each round one baseline verify then one warm verify */
    asps_verifier *v;
    if (asps_verifier_new(&v, &eb) || asps_verify_quote(v, q, qlen, col, at, &c, &eb))
        return fail("verify", &eb);
    for (int i = 0; i < iters; i++) {
        if ((base_t[i] = baseline_once(&bl)) < 0) {
            fprintf(stderr, "baseline ECDSA verify failed\n");
            return 1;
        }
        uint64_t n0 = asps_x509_verifies();
        double t0 = bench_now_us();
        if (asps_verify_quote(v, q, qlen, col, at, &c, &eb))
            return fail("warm verify", &eb);
        warm_t[i] = bench_now_us() - t0;
        warm_n = asps_x509_verifies() - n0;
    }
    double cold = median(cold_t, iters), cold_mean = mean(cold_t, iters);
    double cert = median(cert_t, iters), cert_mean = mean(cert_t, iters);
    double warm = median(warm_t, iters), warm_mean = mean(warm_t, iters);
    double base = median(base_t, iters);
    printf("first verify in this process (one-time set-up):   %.1f us\n", first);
    printf("fully cold (fresh verifier, bundle parsed, all verified): median %.1f us, mean %.1f us, "
           "%llu ECDSA verifies\n",
           cold, cold_mean, (unsigned long long)cold_n);
    printf("cold certificate (collateral held verified; PCK chain and QE report not seen): "
           "median %.1f us, mean %.1f us, %llu ECDSA verifies\n",
           cert, cert_mean, (unsigned long long)cert_n);
    printf("warm (collateral, PCK chain, QE report signature kept): median %.1f us, mean %.1f us, "
           "%llu ECDSA verifies\n",
           warm, warm_mean, (unsigned long long)warm_n);
    printf("one ECDSA P-256 verify (baseline, interleaved with warm): median %.1f us\n", base);
    printf("warm / ecdsa = %.2f, cold certificate / ecdsa = %.2f, fully cold / ecdsa = %.2f\n",
           warm / base, cert / base, cold / base);
    printf("{\"cold_us\": %.1f, \"cold_cert_us\": %.1f, \"warm_us\": %.1f, \"ecdsa_verify_us\": %.1f, "
           "\"warm_over_ecdsa\": %.2f, \"cold_cert_over_ecdsa\": %.2f, \"cold_over_ecdsa\": %.2f, "
           "\"cold_mean_us\": %.1f, \"cold_cert_mean_us\": %.1f, \"warm_mean_us\": %.1f, "
           "\"cold_verifies\": %llu, \"cold_cert_verifies\": %llu, \"warm_verifies\": %llu, "
           "\"first_call_us\": %.1f, \"iterations\": %d}\n",
           cold, cert, warm, base, warm / base, cert / base, cold / base, cold_mean, cert_mean,
           warm_mean, (unsigned long long)cold_n, (unsigned long long)cert_n,
           (unsigned long long)warm_n, first, iters);
    free(cold_t);
    free(cert_t);
    free(warm_t);
    free(base_t);
    EVP_PKEY_free(bl.k);
    asps_collateral_free(col);
    asps_verifier_free(v);
    free(q);
    free(cj);
    return 0;
}
