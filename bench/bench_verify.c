/* bench_verify.c: DCAP verification speed.
 *   bench_verify QUOTE COLLATERAL AT [ITERATIONS]
 * first: the first verification in the process, which also pays for
 *   one-time set-up (OpenSSL loading its providers, the built-in Intel root,
 *   the P-256 curve): printed on its own, not part of cold;
 * cold: a fresh verifier each time (collateral parsed and verified);
 * cold_us and warm_us are medians over ITERATIONS calls (means printed too);
 * warm: one verifier, collateral and PCK chain cached by their bytes, the
 *   quote signature, QE report signature, binding and TCB match computed on
 *   every call (no per-quote result cache exists);
 * baseline: one OpenSSL ECDSA P-256 verify, timed in the same process.
 * Last line: one JSON object. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/verify.h"
#include "util.h"
#include "bench_util.h"

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

static double ecdsa_baseline(int iters)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t msg[384] = {1}, sig[80];
    size_t slen = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k);
    EVP_DigestSign(md, sig, &slen, msg, sizeof msg);
    double t0 = bench_now_us();
    int ok = 0;
    for (int i = 0; i < iters; i++) {
        EVP_MD_CTX *v = EVP_MD_CTX_new();
        EVP_DigestVerifyInit(v, NULL, EVP_sha256(), NULL, k);
        ok += EVP_DigestVerify(v, sig, slen, msg, sizeof msg) == 1;
        EVP_MD_CTX_free(v);
    }
    double us = (bench_now_us() - t0) / iters;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return ok == iters ? us : -1;
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
    if (asps_read_file(argv[1], 1 << 20, &q, &qlen, &eb) || asps_read_file(argv[2], 16 << 20, &cj, &cjlen, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 2;
    }
    asps_claims c;
    /* first call in the process, then cold: everything from scratch but the
     * process's one-time set-up */
    double first = 0;
    int cold_n = iters;
    double *cold_t = calloc((size_t)iters, sizeof *cold_t), *warm_t = calloc((size_t)iters, sizeof *warm_t);
    if (!cold_t || !warm_t)
        return 2;
    for (int i = 0; i <= cold_n; i++) {
        double t0 = bench_now_us();
        asps_verifier *v;
        asps_collateral *col;
        if (asps_verifier_new(&v, &eb) || asps_collateral_parse_bundle(cj, cjlen, &col, &eb) ||
            asps_verify_quote(v, q, qlen, col, at, &c, &eb)) {
            fprintf(stderr, "verify failed: %s\n", eb.msg);
            return 1;
        }
        asps_collateral_free(col);
        asps_verifier_free(v);
        if (i == 0)
            first = bench_now_us() - t0;
        else
            cold_t[i - 1] = bench_now_us() - t0;
    }
    double cold = median(cold_t, cold_n), cold_mean = mean(cold_t, cold_n);
    /* warm */
    asps_verifier *v;
    asps_collateral *col;
    asps_verifier_new(&v, &eb);
    asps_collateral_parse_bundle(cj, cjlen, &col, &eb);
    asps_verify_quote(v, q, qlen, col, at, &c, &eb);
    for (int i = 0; i < iters; i++) {
        double t0 = bench_now_us();
        if (asps_verify_quote(v, q, qlen, col, at, &c, &eb)) {
            fprintf(stderr, "verify failed: %s\n", eb.msg);
            return 1;
        }
        warm_t[i] = bench_now_us() - t0;
    }
    double warm = median(warm_t, iters), warm_mean = mean(warm_t, iters);
    double base = ecdsa_baseline(iters);
    printf("first verify in this process (one-time set-up):    %.1f us\n", first);
    printf("cold verify (fresh verifier, collateral verified): median %.1f us, mean %.1f us\n", cold,
           cold_mean);
    printf("warm verify (collateral and PCK chain cached):     median %.1f us, mean %.1f us\n", warm,
           warm_mean);
    printf("one ECDSA P-256 verify (baseline):                 %.1f us\n", base);
    printf("warm / ecdsa = %.2f\n", warm / base);
    printf("{\"cold_us\": %.1f, \"warm_us\": %.1f, \"ecdsa_verify_us\": %.1f, \"warm_over_ecdsa\": %.2f, "
           "\"cold_over_ecdsa\": %.2f, \"cold_mean_us\": %.1f, \"warm_mean_us\": %.1f, "
           "\"first_call_us\": %.1f, \"iterations\": %d}\n",
           cold, warm, base, warm / base, cold / base, cold_mean, warm_mean, first, iters);
    free(cold_t);
    free(warm_t);
    asps_collateral_free(col);
    asps_verifier_free(v);
    free(q);
    free(cj);
    return 0;
}
