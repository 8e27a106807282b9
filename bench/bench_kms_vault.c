/* bench_kms_vault.c: what keep-alive connection reuse saves per Vault fetch.
 *
 *   bench_kms_vault [N] [--addr URL --token T --mount M --kv 1|2 --ref REF
 *                        --ca FILE]
 *
 * Without --addr it starts tests/vault_server.py (found through ASPS_SRC or
 * this file's path) twice, on 127.0.0.1: plain http, and https with a fresh
 * self-signed P-256 certificate. For each address, in this one process and
 * with the same backend code, N fetches of one secret through a Vault KMS
 * handle with the connection pool (the default) and N with
 * "reuse_connections": false (a new TCP, and TLS, connection per fetch).
 * Prints per-fetch median and mean and fetches/s for each, the ratio
 * no-reuse / pooled of the medians, and, last, one JSON line.
 * Note: the test server is single-process Python; against a real Vault the
 * absolute figures differ, the saved handshakes do not.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kms.h"
#include "bench_util.h"

typedef struct run {
    double median, mean, per_s;
} run;

static int timed(const asps_kms_config *c, const char *ref, int n, run *out)
{
    asps_kms *k;
    asps_errbuf eb;
    if (asps_kms_open(c, &k, &eb) != ASPS_OK) {
        fprintf(stderr, "open: %s\n", eb.msg);
        return -1;
    }
    double *t = calloc((size_t)n, sizeof *t);
    if (!t) {
        asps_kms_free(k);
        return -1;
    }
    double start = bench_now_ms();
    for (int i = 0; i < n; i++) {
        uint8_t *v;
        size_t len;
        double t0 = bench_now_ms();
        if (asps_kms_get(k, ref, NULL, &v, &len, &eb) != ASPS_OK) {
            fprintf(stderr, "get %s: %s\n", ref, eb.msg);
            free(t);
            asps_kms_free(k);
            return -1;
        }
        t[i] = bench_now_ms() - t0;
        asps_kms_value_free(v, len);
    }
    double total = bench_now_ms() - start;
    asps_kms_free(k);
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    out->median = t[n / 2];
    out->mean = total / n;
    out->per_s = n / (total / 1e3);
    free(t);
    return 0;
}

static const char seed[] = "{\"kv2\": {\"secret\": {\"app1\": {\"key\": \"bench-value\"}}},"
                           " \"tokens\": {\"bench-token\": [\"*\"]}}";

/* tests/vault_server.py on a free port; returns the port, 0 on failure */
static int start_server(const char *src, const char *dir, int tls, pid_t *pid)
{
    char seedp[4200], script[4200], cert[4200], key[4200];
    snprintf(seedp, sizeof seedp, "%s/seed.json", dir);
    snprintf(script, sizeof script, "%s/tests/vault_server.py", src);
    snprintf(cert, sizeof cert, "%s/c.pem", dir);
    snprintf(key, sizeof key, "%s/k.pem", dir);
    FILE *f = fopen(seedp, "w");
    if (!f)
        return 0;
    fputs(seed, f);
    fclose(f);
    int fd[2];
    if (pipe(fd) != 0)
        return 0;
    *pid = fork();
    if (*pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        if (tls)
            execlp("python3", "python3", script, "--seed", seedp, "--cert", cert, "--key", key, (char *)NULL);
        else
            execlp("python3", "python3", script, "--seed", seedp, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    int port = 0;
    FILE *r = fdopen(fd[0], "r");
    if (!r || fscanf(r, "PORT %d", &port) != 1)
        port = 0;
    if (r)
        fclose(r);
    return port;
}

static void stop_server(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

typedef struct result {
    const char *name;
    run pooled, fresh;
} result;

static int bench_addr(const char *name, asps_kms_config c, const char *ref, int n, result *res)
{
    res->name = name;
    /* one untimed fetch each: the process's first TLS context, DNS etc. */
    run warm;
    c.no_connection_reuse = 0;
    if (timed(&c, ref, 1, &warm) || timed(&c, ref, n, &res->pooled))
        return -1;
    c.no_connection_reuse = 1;
    if (timed(&c, ref, n, &res->fresh))
        return -1;
    printf("%-6s pooled:   median %.3f ms  mean %.3f ms  %.0f fetches/s\n", name, res->pooled.median,
           res->pooled.mean, res->pooled.per_s);
    printf("%-6s no reuse: median %.3f ms  mean %.3f ms  %.0f fetches/s\n", name, res->fresh.median,
           res->fresh.mean, res->fresh.per_s);
    printf("%-6s no reuse / pooled (median): %.2fx\n", name, res->fresh.median / res->pooled.median);
    return 0;
}

int main(int argc, char **argv)
{
    int n = 500, kv = 2;
    const char *addr = NULL, *token = getenv("VAULT_TOKEN"), *mount = "secret", *ref = "app1", *ca = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--addr") && i + 1 < argc)
            addr = argv[++i];
        else if (!strcmp(argv[i], "--token") && i + 1 < argc)
            token = argv[++i];
        else if (!strcmp(argv[i], "--mount") && i + 1 < argc)
            mount = argv[++i];
        else if (!strcmp(argv[i], "--kv") && i + 1 < argc)
            kv = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ref") && i + 1 < argc)
            ref = argv[++i];
        else if (!strcmp(argv[i], "--ca") && i + 1 < argc)
            ca = argv[++i];
        else if (argv[i][0] != '-' && atoi(argv[i]) > 0)
            n = atoi(argv[i]);
        else {
            fprintf(stderr, "usage: %s [N] [--addr URL --token T --mount M --kv 1|2 --ref REF --ca FILE]\n",
                    argv[0]);
            return 2;
        }
    }
    result res[2];
    int nres = 0, rc = 0;
    if (addr) {
        asps_kms_config c = {.type = "vault", .addr = addr, .token = token, .mount = mount, .kv_version = kv,
                             .ca_file = ca};
        rc = bench_addr(!strncmp(addr, "https", 5) ? "https" : "http", c, ref, n, &res[nres++]);
    } else {
        char src[4096];
        if (getenv("ASPS_SRC")) {
            snprintf(src, sizeof src, "%s", getenv("ASPS_SRC"));
        } else {
            /* this file is SRC/bench/bench_kms_vault.c */
            snprintf(src, sizeof src, "%s", __FILE__);
            char *b = strstr(src, "/bench/bench_kms_vault.c");
            if (b)
                *b = 0;
            else
                snprintf(src, sizeof src, ".");
        }
        char dir[] = "/tmp/asps-bench-vault-XXXXXX";
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        char cmd[8400];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem "
                 "-out c.pem -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null",
                 dir);
        int have_cert = system(cmd) == 0;
        for (int tls = 0; tls <= 1 && rc == 0; tls++) {
            if (tls && !have_cert)
                break;
            pid_t pid = -1;
            int port = start_server(src, dir, tls, &pid);
            if (!port) {
                fprintf(stderr, "could not start %s/tests/vault_server.py (set ASPS_SRC)\n", src);
                stop_server(pid);
                rc = -1;
                break;
            }
            char a[64], cafile[4200];
            snprintf(a, sizeof a, "%s://127.0.0.1:%d", tls ? "https" : "http", port);
            snprintf(cafile, sizeof cafile, "%s/c.pem", dir);
            asps_kms_config c = {.type = "vault", .addr = a, .token = "bench-token", .mount = "secret",
                                 .kv_version = 2, .ca_file = tls ? cafile : NULL};
            rc = bench_addr(tls ? "https" : "http", c, "app1", n, &res[nres++]);
            stop_server(pid);
        }
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    if (rc != 0)
        return 1;
    printf("{\"bench\":\"kms_vault\",\"n\":%d", n);
    for (int i = 0; i < nres; i++)
        printf(",\"%s\":{\"pooled_median_ms\":%.4f,\"pooled_mean_ms\":%.4f,\"pooled_per_s\":%.1f,"
               "\"no_reuse_median_ms\":%.4f,\"no_reuse_mean_ms\":%.4f,\"no_reuse_per_s\":%.1f,"
               "\"ratio_median\":%.3f}",
               res[i].name, res[i].pooled.median, res[i].pooled.mean, res[i].pooled.per_s, res[i].fresh.median,
               res[i].fresh.mean, res[i].fresh.per_s, res[i].fresh.median / res[i].pooled.median);
    printf("}\n");
    return 0;
}
