/* bench_ratls.c: RA-TLS certificates per second on the simulated platform.
 *   bench_ratls [SIMDIR|-] [N]    (no SIMDIR or "-": a fresh one in /tmp)
 * create: fresh key + quotes (Gramine legacy and DICE) + certificate;
 * verify: the trust object (attest/trust.h) with the sim folder's root and
 * collateral, its verifier warm (collateral, PCK chain and QE report
 * cached), each certificate's evidence checked in full each time, in two
 * ways, rounds alternating: as a file (`asps cert verify`: the
 * self-signature and both quotes checked) and as a TLS peer
 * (ASPS_RATLS_PEER, what the server and client do after a handshake: the
 * self-signature not checked again, and the DICE quote, one QE's second
 * quote for the same enclave, checked for its binding, not its signature).
 * Each printed with its count of signature verifies. Baseline: one OpenSSL
 * ECDSA P-256 verify in the same process. Last line: one JSON object. */
#include <ftw.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/evidence.h"
#include "asps/ratls.h"
#include "sim.h"
#include "trust.h"
#include "x509.h"
#include "util.h"
#include "bench_util.h"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

int main(int argc, char **argv)
{
    if (argc > 1 && argv[1][0] == '-' && argv[1][1]) {
        fprintf(stderr, "usage: bench_ratls [SIMDIR|-] [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 200;
    if (n < 1)
        n = 1;
    asps_errbuf eb;
    char tmp[] = "/tmp/asps-bench-ratls-XXXXXX";
    const char *simdir = argc > 1 && strcmp(argv[1], "-") ? argv[1] : NULL;
    int own_dir = !simdir;
    if (own_dir) {
        if (!mkdtemp(tmp) || asps_sim_init(tmp, &eb) != ASPS_OK) {
            fprintf(stderr, "bench_ratls: cannot make a simulated platform: %s\n", eb.msg);
            return 1;
        }
        simdir = tmp;
    }
    asps_sim_identity ident;
    memset(&ident, 0, sizeof ident);
    memset(ident.mr_enclave, 0xa1, 32);
    asps_attester *a;
    if (asps_sim_attester_new(simdir, &ident, &a, &eb) != ASPS_OK) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    char **certs = calloc((size_t)n, sizeof *certs);
    { /* warm: first-use costs (sim keys, OpenSSL tables) out of the timing */
        char *c0, *k0;
        asps_ratls_create_opts o = {.quote = asps_attester_quote, .quote_ctx = a};
        if (asps_ratls_create(&o, &c0, &k0, &eb) != ASPS_OK) {
            fprintf(stderr, "%s\n", eb.msg);
            return 1;
        }
        free(c0);
        asps_ratls_free_key(k0);
    }
    double t0 = bench_now_us();
    for (int i = 0; i < n; i++) {
        char *key;
        asps_ratls_create_opts o = {.quote = asps_attester_quote, .quote_ctx = a};
        if (asps_ratls_create(&o, &certs[i], &key, &eb) != ASPS_OK) {
            fprintf(stderr, "%s\n", eb.msg);
            return 1;
        }
        asps_ratls_free_key(key);
    }
    double create_us = (bench_now_us() - t0) / n;
    /* the trust object the server and the client use: the sim folder's
     * root and collateral, one verifier */
    asps_trust *trust;
    asps_trust_opts to = {.sim_root_dir = simdir, .collateral = {.sim_dir = simdir}};
    if (asps_trust_new(&to, &trust, &eb) != ASPS_OK) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    asps_claims c;
    asps_trust_verify_cert(trust, (uint8_t *)certs[0], strlen(certs[0]), time(NULL), 0, &c, &eb); /* warm */
    /* rounds of 10 certificates, file and peer alternating, so that a
     * change in the machine's load touches both */
    double t_file = 0, t_peer = 0;
    uint64_t v_file = 0, v_peer = 0;
    for (int r = 0; r < n; r += 10) {
        for (int way = 0; way < 2; way++) {
            unsigned flags = way ? ASPS_RATLS_PEER : 0;
            uint64_t v0 = asps_x509_verifies();
            t0 = bench_now_us();
            for (int i = r; i < n && i < r + 10; i++)
                if (asps_trust_verify_cert(trust, (uint8_t *)certs[i], strlen(certs[i]), time(NULL),
                                           flags, &c, &eb) != ASPS_OK) {
                    fprintf(stderr, "verify: %s\n", eb.msg);
                    return 1;
                }
            double dt = bench_now_us() - t0;
            uint64_t dv = asps_x509_verifies() - v0;
            if (way) {
                t_peer += dt;
                v_peer += dv;
            } else {
                t_file += dt;
                v_file += dv;
            }
        }
    }
    double verify_us = t_file / n, peer_us = t_peer / n;
    /* baseline */
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t msg[256] = {1}, sig[80];
    size_t sl = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k);
    EVP_DigestSign(md, sig, &sl, msg, sizeof msg);
    EVP_MD_CTX_free(md);
    t0 = bench_now_us();
    for (int i = 0; i < n; i++) {
        md = EVP_MD_CTX_new();
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k);
        EVP_DigestVerify(md, sig, sl, msg, sizeof msg);
        EVP_MD_CTX_free(md);
    }
    double ecdsa_us = (bench_now_us() - t0) / n;
    printf("create: %.0f certs/s (%.0f us each)\n", 1e6 / create_us, create_us);
    printf("verify as a file: %.0f certs/s (%.0f us each, warm; %.1f signature verifies each: "
           "self-signature, both quotes)\n",
           1e6 / verify_us, verify_us, (double)v_file / n);
    printf("verify as a TLS peer (ASPS_RATLS_PEER): %.0f certs/s (%.0f us each, warm; %.1f signature "
           "verifies each: Gramine quote)\n",
           1e6 / peer_us, peer_us, (double)v_peer / n);
    printf("ECDSA P-256 verify baseline: %.1f us; verify / ECDSA = %.1f as a file, %.1f as a peer\n",
           ecdsa_us, verify_us / ecdsa_us, peer_us / ecdsa_us);
    printf("{\"create_per_s\": %.0f, \"verify_per_s\": %.0f, \"create_us\": %.0f, \"verify_us\": %.0f, "
           "\"verifies_per_cert\": %.2f, \"peer_verify_per_s\": %.0f, \"peer_verify_us\": %.0f, "
           "\"peer_verifies_per_cert\": %.2f, \"ecdsa_verify_us\": %.1f, \"n\": %d}\n",
           1e6 / create_us, 1e6 / verify_us, create_us, verify_us, (double)v_file / n, 1e6 / peer_us,
           peer_us, (double)v_peer / n, ecdsa_us, n);
    EVP_PKEY_free(k);
    for (int i = 0; i < n; i++)
        free(certs[i]);
    free(certs);
    asps_trust_free(trust);
    asps_attester_free(a);
    if (own_dir)
        nftw(tmp, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
