/* bench_kms_file.c: what a call's fetch from the JSON-file KMS costs, by
 * names asked and by file size.
 *
 *   bench_kms_file [ROUNDS]
 *
 * For a 64 KiB and a 1 MiB KMS file (64 named 32-byte secrets, the rest
 * filler entries of 1 KiB), a "call" fetches 1 or 64 names one after the
 * other through asps_kms_get_until, as the service's fetch_values does
 * (a fetch of the kept, unchanged file answered on the calling thread; one
 * that reads the file handed to a fetch thread). Prints per-call medians over
 * ROUNDS (default 200) for 1 and 64 names, the ratio 64-name / 1-name
 * (the bytes asked for grow 64 x), and the cost of one fetch that has to
 * read and parse the file (the file changed within the settle window: see
 * kms_file.c) for comparison. The bench waits out that window (2 s) after
 * writing each file. Then the value-size curve: one file holding one value
 * each of 32 B, 4 KiB, 64 KiB and 1 MiB (base64 in the file, as large
 * binary secrets are kept), one name fetched per call: the per-call median
 * for each size and its cost per KiB. Last, one JSON line.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "kms.h"
#include "util.h"

#define NAMES 64

static int write_file(const char *path, size_t target)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t n = 0;
    n += (size_t)fprintf(f, "{");
    for (int i = 0; i < NAMES; i++)
        n += (size_t)fprintf(f, "%s\"k%02d\": \"text:%032d\"", i ? ", " : "", i, i);
    char pad[1025];
    memset(pad, 'p', 1024);
    pad[1024] = 0;
    for (int i = 0; n + 1100 < target; i++)
        n += (size_t)fprintf(f, ", \"pad%06d\": \"text:%s\"", i, pad);
    fprintf(f, "}\n");
    return fclose(f);
}

/* A file of one base64 value per size in VSIZES, named v0.. */
static const size_t VSIZES[] = {32, 4u << 10, 64u << 10, 1u << 20};
#define N_VSIZES (sizeof VSIZES / sizeof VSIZES[0])

static int write_values_file(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{");
    for (size_t i = 0; i < N_VSIZES; i++) {
        /* base64 of VSIZES[i] bytes of 'A' (0x41): "QUFB" per 3 bytes, then
         * the tail; the value's content does not matter, its size does */
        fprintf(f, "%s\"v%zu\": \"base64:", i ? ", " : "", i);
        size_t n = VSIZES[i];
        for (size_t j = 0; j + 3 <= n; j += 3)
            fputs("QUFB", f);
        fputs(n % 3 == 1 ? "QQ==" : n % 3 == 2 ? "QUE=" : "", f);
        fputs("\"", f);
    }
    fprintf(f, "}\n");
    return fclose(f);
}

/* median ms of ROUNDS one-name calls fetching REF, which must be LEN bytes */
static double value_ms(asps_kms *k, const char *ref, size_t want, int rounds)
{
    double *t = calloc((size_t)rounds, sizeof *t);
    if (!t)
        exit(1);
    for (int r = 0; r < rounds; r++) {
        double t0 = bench_now_ms();
        uint8_t *v;
        size_t len;
        asps_errbuf eb;
        if (asps_kms_get_until(k, ref, NULL, asps_now_mono_ms() + 10000, &v, &len, &eb) != ASPS_OK) {
            fprintf(stderr, "get %s: %s\n", ref, eb.msg);
            exit(1);
        }
        asps_kms_value_free(v, len);
        t[r] = bench_now_ms() - t0;
        if (len != want) {
            fprintf(stderr, "get %s: %zu bytes, expected %zu\n", ref, len, want);
            exit(1);
        }
    }
    qsort(t, (size_t)rounds, sizeof *t, bench_cmp_double);
    double m = t[rounds / 2];
    free(t);
    return m;
}

/* median ms of ROUNDS calls fetching NAMES_ASKED names */
static double call_ms(asps_kms *k, int names_asked, int rounds, int touch, const char *path)
{
    double *t = calloc((size_t)rounds, sizeof *t);
    if (!t)
        exit(1);
    for (int r = 0; r < rounds; r++) {
        if (touch) {
            /* a change the backend must notice: it reads the file again */
            struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
            utimensat(AT_FDCWD, path, ts, 0);
        }
        double t0 = bench_now_ms();
        for (int i = 0; i < names_asked; i++) {
            char ref[8];
            snprintf(ref, sizeof ref, "k%02d", i);
            uint8_t *v;
            size_t len;
            asps_errbuf eb;
            if (asps_kms_get_until(k, ref, NULL, asps_now_mono_ms() + 10000, &v, &len, &eb) !=
                ASPS_OK) {
                fprintf(stderr, "get %s: %s\n", ref, eb.msg);
                exit(1);
            }
            asps_kms_value_free(v, len);
        }
        t[r] = bench_now_ms() - t0;
    }
    qsort(t, (size_t)rounds, sizeof *t, bench_cmp_double);
    double m = t[rounds / 2];
    free(t);
    return m;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    if (rounds < 1)
        rounds = 1;
    char dir[] = "/tmp/asps-bench-kms-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/kms.json", dir);
    const size_t sizes[] = {64u << 10, 1u << 20};
    double one[2], many[2], reread[2];
    for (int s = 0; s < 2; s++) {
        if (write_file(path, sizes[s]) != 0)
            return 1;
        struct stat st;
        stat(path, &st);
        asps_kms *k;
        asps_errbuf eb;
        if (asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb) != ASPS_OK) {
            fprintf(stderr, "open: %s\n", eb.msg);
            return 1;
        }
        /* an uncached fetch: the file changed just now, every fetch reads it */
        int rr = rounds < 50 ? rounds : 50;
        reread[s] = call_ms(k, 1, rr, 1, path);
        usleep(2100 * 1000); /* past the settle window: the file may be kept */
        call_ms(k, 1, 1, 0, path); /* the one read */
        one[s] = call_ms(k, 1, rounds, 0, path);
        many[s] = call_ms(k, NAMES, rounds, 0, path);
        asps_kms_free(k);
        printf("file %7lld bytes: 1 name %.4f ms, %d names %.4f ms (ratio %.1f; bytes asked "
               "64x), a fetch that reads the file %.4f ms (64 x that: %.1f ms)\n",
               (long long)st.st_size, one[s], NAMES, many[s], many[s] / one[s], reread[s],
               NAMES * reread[s]);
    }
    printf("64-name call, 1 MiB / 64 KiB file: %.2f\n", many[1] / many[0]);
    /* the value-size curve */
    double vms[N_VSIZES];
    {
        if (write_values_file(path) != 0)
            return 1;
        asps_kms *k;
        asps_errbuf eb;
        if (asps_kms_open_file(path, ASPS_KMS_PLAIN_TEXT, &k, &eb) != ASPS_OK) {
            fprintf(stderr, "open: %s\n", eb.msg);
            return 1;
        }
        usleep(2100 * 1000);
        for (size_t i = 0; i < N_VSIZES; i++) {
            char ref[8];
            snprintf(ref, sizeof ref, "v%zu", i);
            value_ms(k, ref, VSIZES[i], 1); /* the one read */
            vms[i] = value_ms(k, ref, VSIZES[i], rounds);
            printf("one name, value of %7zu bytes: %.4f ms (%.4f ms per KiB)\n", VSIZES[i], vms[i],
                   vms[i] / ((double)VSIZES[i] / 1024));
        }
        asps_kms_free(k);
    }
    printf("{\"bench\":\"kms_file\",\"rounds\":%d,\"one_64k_ms\":%.4f,\"many_64k_ms\":%.4f,"
           "\"one_1m_ms\":%.4f,\"many_1m_ms\":%.4f,\"ratio_64k\":%.2f,\"ratio_1m\":%.2f,"
           "\"read_64k_ms\":%.4f,\"read_1m_ms\":%.4f,\"value_32_ms\":%.4f,\"value_4k_ms\":%.4f,"
           "\"value_64k_ms\":%.4f,\"value_1m_ms\":%.4f}\n",
           rounds, one[0], many[0], one[1], many[1], many[0] / one[0], many[1] / one[1], reread[0],
           reread[1], vms[0], vms[1], vms[2], vms[3]);
    unlink(path);
    rmdir(dir);
    return 0;
}
