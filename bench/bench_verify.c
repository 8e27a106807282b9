/* bench_verify.c: DCAP verification speed.
 *   bench_verify QUOTE COLLATERAL AT [ITERATIONS]
 * cold: a fresh verifier each time (collateral parsed and verified);
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

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double ecdsa_baseline(int iters)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t msg[384] = {1}, sig[80];
    size_t slen = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k);
    EVP_DigestSign(md, sig, &slen, msg, sizeof msg);
    double t0 = now_us();
    int ok = 0;
    for (int i = 0; i < iters; i++) {
        EVP_MD_CTX *v = EVP_MD_CTX_new();
        EVP_DigestVerifyInit(v, NULL, EVP_sha256(), NULL, k);
        ok += EVP_DigestVerify(v, sig, slen, msg, sizeof msg) == 1;
        EVP_MD_CTX_free(v);
    }
    double us = (now_us() - t0) / iters;
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
    /* cold */
    double t0 = now_us();
    int cold_n = iters / 3 + 1;
    for (int i = 0; i < cold_n; i++) {
        asps_verifier *v;
        asps_collateral *col;
        if (asps_verifier_new(&v, &eb) || asps_collateral_parse_bundle(cj, cjlen, &col, &eb) ||
            asps_verify_quote(v, q, qlen, col, at, &c, &eb)) {
            fprintf(stderr, "verify failed: %s\n", eb.msg);
            return 1;
        }
        asps_collateral_free(col);
        asps_verifier_free(v);
    }
    double cold = (now_us() - t0) / cold_n;
    /* warm */
    asps_verifier *v;
    asps_collateral *col;
    asps_verifier_new(&v, &eb);
    asps_collateral_parse_bundle(cj, cjlen, &col, &eb);
    asps_verify_quote(v, q, qlen, col, at, &c, &eb);
    t0 = now_us();
    for (int i = 0; i < iters; i++)
        if (asps_verify_quote(v, q, qlen, col, at, &c, &eb)) {
            fprintf(stderr, "verify failed: %s\n", eb.msg);
            return 1;
        }
    double warm = (now_us() - t0) / iters;
    double base = ecdsa_baseline(iters);
    printf("cold verify (fresh verifier, collateral verified): %.1f us\n", cold);
    printf("warm verify (collateral and PCK chain cached):     %.1f us\n", warm);
    printf("one ECDSA P-256 verify (baseline):                 %.1f us\n", base);
    printf("warm / ecdsa = %.2f\n", warm / base);
    printf("{\"cold_us\": %.1f, \"warm_us\": %.1f, \"ecdsa_verify_us\": %.1f, \"warm_over_ecdsa\": %.2f, \"iterations\": %d}\n",
           cold, warm, base, warm / base, iters);
    asps_collateral_free(col);
    asps_verifier_free(v);
    free(q);
    free(cj);
    return 0;
}
