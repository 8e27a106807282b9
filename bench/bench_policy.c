/* bench_policy.c: policy load and matching as the number of apps grows.
 *
 *   bench_policy [SIZES...]      (default: 1000 4000 10000 100000)
 *
 * For each size N, a native policy of N apps is generated in memory: a
 * quarter each SGX mrenclave + mrsigner + isv_prod_id, SGX mrenclave alone,
 * SGX mrsigner + isv_prod_id, TDX mrtd + rtmr0; every app with a name, its
 * tcb_statuses and two secrets (about 390 bytes of JSON per app). Measurements
 * are SHA-256 / SHA-384 of the app's number, as real ones are hashes.
 * Printed per size: the JSON size, load time (asps_policy_parse, median of
 * runs), load time per app, the heap the loaded policy keeps (glibc
 * mallinfo2, per app), the process's peak resident size so far (the text,
 * its parsed tree and the policy at once), and the median time of one decision
 * (asps_policy_decide_at, one name) for the last app in the file (what a
 * scan would reach last), a middle app, and claims no app names (a denial).
 * Then the ratios to the smallest size: load per app (flat = linear load)
 * and decision time (flat = matching independent of N). Last, one JSON line.
 */
#include <malloc.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_util.h"
#include "policy.h"
#include "util.h"

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        b->cap = (b->n + l + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            perror("realloc");
            exit(1);
        }
    }
    memcpy(b->p + b->n, s, l + 1);
    b->n += l;
}

/* measurement of kind K (0: enclave, 1: signer, 2: mrtd, 3: rtmr0) of app I */
static void meas(size_t i, int k, uint8_t *out, size_t len)
{
    char in[48];
    int n = snprintf(in, sizeof in, "app %zu kind %d", i, k);
    if (len == 32)
        SHA256((const unsigned char *)in, (size_t)n, out);
    else
        SHA384((const unsigned char *)in, (size_t)n, out);
}

static void hexof(size_t i, int k, size_t len, char *hex)
{
    uint8_t m[48];
    meas(i, k, m, len);
    asps_hex_encode(m, len, hex);
}

static char *make_policy(size_t n, size_t *len)
{
    buf b = {0};
    put(&b, "{\"version\": 1, \"kms\": {\"type\": \"file\", \"path\": \"kms.json\"}, \"apps\": [\n");
    for (size_t i = 0; i < n; i++) {
        char line[1024], enc[97], sig[97], td[97], rt[97];
        hexof(i, 0, 32, enc);
        hexof(i, 1, 32, sig);
        hexof(i, 2, 48, td);
        hexof(i, 3, 48, rt);
        const char *sep = i + 1 < n ? "," : "";
        const char *tail = "\"tcb_statuses\": [\"UpToDate\"]}, \"secrets\": {\"tls_key\": "
                           "\"app%zu/tls_key\", \"db\": \"app%zu/db\"}}%s\n";
        char fmt[512];
        switch (i % 4) {
        case 0:
            snprintf(fmt, sizeof fmt, "{\"name\": \"app%%zu\", \"match\": {\"tee\": \"sgx\", "
                     "\"mrenclave\": \"%s\", \"mrsigner\": \"%s\", \"isv_prod_id\": %zu, "
                     "\"min_isv_svn\": 1, %s", enc, sig, i % 65536, tail);
            break;
        case 1:
            snprintf(fmt, sizeof fmt, "{\"name\": \"app%%zu\", \"match\": {\"tee\": \"sgx\", "
                     "\"mrenclave\": \"%s\", %s", enc, tail);
            break;
        case 2:
            snprintf(fmt, sizeof fmt, "{\"name\": \"app%%zu\", \"match\": {\"tee\": \"sgx\", "
                     "\"mrsigner\": \"%s\", \"isv_prod_id\": %zu, %s", sig, i % 65536, tail);
            break;
        default:
            snprintf(fmt, sizeof fmt, "{\"name\": \"app%%zu\", \"match\": {\"tee\": \"tdx\", "
                     "\"mrtd\": \"%s\", \"rtmr0\": \"%s\", %s", td, rt, tail);
            break;
        }
        snprintf(line, sizeof line, fmt, i, i, i, sep);
        put(&b, line);
    }
    put(&b, "]}\n");
    *len = b.n;
    return b.p;
}

/* claims that app I (as generated) accepts */
static void claims_for(size_t i, asps_claims *c)
{
    memset(c, 0, sizeof *c);
    c->tcb_status = ASPS_TCB_UP_TO_DATE;
    if (i % 4 == 3) {
        c->tee = ASPS_TEE_TDX;
        meas(i, 2, c->tdx.mr_td, 48);
        meas(i, 3, c->tdx.rtmr[0], 48);
        return;
    }
    c->tee = ASPS_TEE_SGX;
    meas(i, 0, c->sgx.mr_enclave, 32);
    meas(i, 1, c->sgx.mr_signer, 32);
    c->sgx.isv_prod_id = (uint16_t)(i % 65536);
    c->sgx.isv_svn = 1;
}

/* median us of one decision for C, WANT (1 granted, 0 denied) */
static double time_decide(const asps_policy *p, const asps_claims *c, int want, int reps)
{
    const char *names[] = {"tls_key"};
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t)
        exit(1);
    for (int r = 0; r < reps; r++) {
        asps_decision d;
        asps_errbuf eb;
        double t0 = bench_now_us();
        asps_err e = asps_policy_decide_at(p, c, names, 1, 1764892800, &d, &eb);
        t[r] = bench_now_us() - t0;
        if ((e == ASPS_OK) != want) {
            fprintf(stderr, "unexpected decision: %s\n", d.reason);
            exit(1);
        }
        asps_decision_clear(&d);
    }
    qsort(t, (size_t)reps, sizeof *t, bench_cmp_double);
    double m = t[reps / 2];
    free(t);
    return m;
}

typedef struct row {
    size_t n, json_bytes;
    double load_ms, heap_per_app, last_us, mid_us, deny_us, peak_mb;
} row;

static int run(size_t n, row *r)
{
    size_t len;
    char *json = make_policy(n, &len);
    int runs = n >= 50000 ? 3 : 7;
    double *lt = malloc((size_t)runs * sizeof *lt);
    asps_policy *p = NULL;
    r->n = n;
    r->json_bytes = len;
    for (int k = 0; k < runs; k++) {
        asps_errbuf eb;
        struct mallinfo2 m0 = mallinfo2();
        double t0 = bench_now_ms();
        if (asps_policy_parse(json, len, "bench", &p, &eb) != ASPS_OK) {
            fprintf(stderr, "load %zu apps: %s\n", n, eb.msg);
            return -1;
        }
        lt[k] = bench_now_ms() - t0;
        struct mallinfo2 m1 = mallinfo2();
        r->heap_per_app = ((double)(m1.uordblks + m1.hblkhd) - (double)(m0.uordblks + m0.hblkhd)) / (double)n;
        if (k + 1 < runs)
            asps_policy_free(p);
    }
    qsort(lt, (size_t)runs, sizeof *lt, bench_cmp_double);
    r->load_ms = lt[runs / 2];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->peak_mb = (double)ru.ru_maxrss / 1024.0;
    free(lt);
    free(json);

    asps_claims c;
    int reps = 20001;
    claims_for(n - 1, &c);
    r->last_us = time_decide(p, &c, 1, reps);
    claims_for(n / 2, &c);
    r->mid_us = time_decide(p, &c, 1, reps);
    claims_for(n + 7, &c); /* an enclave no app names */
    r->deny_us = time_decide(p, &c, 0, reps);
    asps_policy_free(p);
    return 0;
}

int main(int argc, char **argv)
{
    size_t def[] = {1000, 4000, 10000, 100000}, sizes[16];
    size_t ns = 0;
    for (int i = 1; i < argc && ns < 16; i++)
        sizes[ns++] = (size_t)strtoul(argv[i], NULL, 10);
    if (ns == 0) {
        memcpy(sizes, def, sizeof def);
        ns = 4;
    }
    row rows[16];
    printf("%8s %10s %10s %12s %12s %10s %10s %10s %10s\n", "apps", "json_MB", "load_ms",
           "load_us/app", "heap_B/app", "peak_MB", "last_us", "mid_us", "deny_us");
    for (size_t i = 0; i < ns; i++) {
        if (sizes[i] == 0 || sizes[i] > ASPS_POLICY_MAX_APPS) {
            fprintf(stderr, "size %zu: 1..%d\n", sizes[i], ASPS_POLICY_MAX_APPS);
            return 2;
        }
        if (run(sizes[i], &rows[i]) != 0)
            return 1;
        row *r = &rows[i];
        printf("%8zu %10.2f %10.2f %12.3f %12.0f %10.1f %10.3f %10.3f %10.3f\n", r->n,
               r->json_bytes / 1048576.0, r->load_ms, r->load_ms * 1e3 / (double)r->n,
               r->heap_per_app, r->peak_mb, r->last_us, r->mid_us, r->deny_us);
        fflush(stdout);
    }
    printf("ratios to %zu apps:\n", rows[0].n);
    for (size_t i = 1; i < ns; i++) {
        double lp0 = rows[0].load_ms / (double)rows[0].n, lp = rows[i].load_ms / (double)rows[i].n;
        printf("  %zu apps (x%.0f): load per app %.2fx, decision last %.2fx, middle %.2fx, "
               "denial %.2fx\n", rows[i].n, (double)rows[i].n / (double)rows[0].n, lp / lp0,
               rows[i].last_us / rows[0].last_us, rows[i].mid_us / rows[0].mid_us,
               rows[i].deny_us / rows[0].deny_us);
    }
    printf("{\"bench\":\"policy\",\"rows\":[");
    for (size_t i = 0; i < ns; i++)
        printf("%s{\"apps\":%zu,\"json_bytes\":%zu,\"load_ms\":%.3f,\"heap_bytes_per_app\":%.0f,"
               "\"peak_rss_mb\":%.1f,\"decide_last_us\":%.3f,\"decide_mid_us\":%.3f,\"decide_deny_us\":%.3f}",
               i ? "," : "", rows[i].n, rows[i].json_bytes, rows[i].load_ms,
               rows[i].heap_per_app, rows[i].peak_mb, rows[i].last_us, rows[i].mid_us, rows[i].deny_us);
    printf("]}\n");
    return 0;
}
