/* test_audit.c: decision log lines are single, valid JSON lines with the
 * claims, names and verdict, and never a secret value. */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "kms.h"
#include "log.h"
#include "policy.h"
#include "util.h"
#include "utf8.h"

#define ENC_A "6a0a4f58a8d1c5a1d0b0c6a8e3f8f0e5b2f7c9d4e1a3b5c7d9e0f1a2b3c4d5e6"
#define SIG_A "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e"

static const char *policy_json =
    "{\"version\":1,\"apps\":[{\"name\":\"web\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A
    "\"},\"kms_credential\":\"CREDMARK-token\",\"secrets\":{\"tls_key\":\"web/tls_key\"}}]}";

static void claims_a(asps_claims *c)
{
    memset(c, 0, sizeof *c);
    c->tee = ASPS_TEE_SGX;
    c->tcb_status = ASPS_TCB_SW_HARDENING_NEEDED;
    assert_int_equal(asps_hex_decode(ENC_A, 64, c->sgx.mr_enclave, 32), 0);
    assert_int_equal(asps_hex_decode(SIG_A, 64, c->sgx.mr_signer, 32), 0);
    c->sgx.isv_prod_id = 3;
    c->sgx.isv_svn = 4;
    c->sgx.config_svn = 5;
    c->n_advisories = 1;
    strcpy(c->advisory_ids[0], "INTEL-SA-00334");
    c->n_qe_advisories = 1;
    strcpy(c->qe_advisory_ids[0], "INTEL-SA-00615");
    c->tcb_info_evaluation_data_number = 17;
    c->qe_identity_evaluation_data_number = 16;
    c->tcb_date = 1731456000;    /* 2024-11-13T00:00:00Z */
    c->qe_tcb_date = 1710288000; /* 2024-03-13T00:00:00Z */
}

static cJSON *parse_line(const char *line)
{
    size_t n = strlen(line);
    assert_true(n > 1);
    assert_int_equal(line[n - 1], '\n');
    assert_null(memchr(line, '\n', n - 1)); /* exactly one line */
    cJSON *j = cJSON_ParseWithLength(line, n);
    assert_non_null(j);
    return j;
}

static const char *str(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void test_granted_decision_line_is_json_with_claims_and_no_value(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char kpath[4096];
    snprintf(kpath, sizeof kpath, "%s/kms.json", dir);
    FILE *f = fopen(kpath, "w");
    fputs("{\"web/tls_key\": \"text:VALUEMARK-very-secret\"}", f);
    fclose(f);

    asps_policy *p;
    asps_errbuf eb;
    assert_int_equal(asps_policy_parse(policy_json, strlen(policy_json), "p", &p, &eb), ASPS_OK);
    asps_claims c;
    claims_a(&c);
    const char *names[] = {"tls_key"};
    asps_decision d;
    /* UpToDate only by default, so widen the claims' status for the grant. */
    c.tcb_status = ASPS_TCB_UP_TO_DATE;
    assert_int_equal(asps_policy_decide(p, &c, names, 1, &d, &eb), ASPS_OK);
    /* The service fetches the value as it would, then logs. */
    asps_kms *k;
    assert_int_equal(asps_kms_open_file(kpath, ASPS_KMS_PLAIN_TEXT, &k, &eb), ASPS_OK);
    uint8_t *v;
    size_t vlen;
    assert_int_equal(asps_kms_get(k, d.grants[0].kms_ref, d.kms_credential, &v, &vlen, &eb),
                     ASPS_OK);
    asps_audit_event ev = {.time_ms = 1767322800123, .peer = "ipv4:127.0.0.1:40000",
                           .claims = &c, .decision = &d};
    char *line;
    assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
    assert_null(strstr(line, "VALUEMARK"));
    assert_null(strstr(line, "CREDMARK"));
    cJSON *j = parse_line(line);
    assert_string_equal(str(j, "time"), "2026-01-02T03:00:00.123Z");
    assert_string_equal(str(j, "peer"), "ipv4:127.0.0.1:40000");
    assert_string_equal(str(j, "tee"), "sgx");
    assert_string_equal(str(j, "mrenclave"), ENC_A);
    assert_string_equal(str(j, "mrsigner"), SIG_A);
    assert_int_equal(cJSON_GetObjectItem(j, "isv_prod_id")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(j, "isv_svn")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItem(j, "config_svn")->valueint, 5);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "debug")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "simulated")));
    assert_string_equal(str(j, "tcb_status"), "UpToDate");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "advisory_ids"), 0)->valuestring,
                        "INTEL-SA-00334");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "qe_advisory_ids"), 0)->valuestring,
                        "INTEL-SA-00615");
    assert_null(cJSON_GetObjectItem(j, "tdx_module_advisory_ids")); /* SGX */
    assert_int_equal(cJSON_GetObjectItem(j, "tcb_info_evaluation_data_number")->valueint, 17);
    assert_int_equal(cJSON_GetObjectItem(j, "qe_identity_evaluation_data_number")->valueint, 16);
    /* the tcbDate of the matched levels: the TCB recovery the verdict was
     * made under, as quote verify --json prints them */
    assert_string_equal(str(j, "tcb_date"), "2024-11-13T00:00:00Z");
    assert_string_equal(str(j, "qe_tcb_date"), "2024-03-13T00:00:00Z");
    assert_string_equal(str(j, "app"), "web");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "names_asked"), 0)->valuestring,
                        "tls_key");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(j, "names_granted"), 0)->valuestring, "tls_key");
    assert_string_equal(str(j, "verdict"), "granted");
    assert_non_null(strstr(str(j, "reason"), "matched"));
    cJSON_Delete(j);
    free(line);
    asps_kms_value_free(v, vlen);
    asps_kms_free(k);
    asps_decision_clear(&d);
    asps_policy_free(p);
    tu_rm_rf(dir);
    free(dir);
}

static void test_denied_decision_grants_nothing_in_the_log(void **state)
{
    (void)state;
    asps_policy *p;
    asps_errbuf eb;
    assert_int_equal(asps_policy_parse(policy_json, strlen(policy_json), "p", &p, &eb), ASPS_OK);
    asps_claims c;
    claims_a(&c);
    c.tcb_status = ASPS_TCB_UP_TO_DATE;
    /* Hostile name: quotes, newline, control byte. */
    const char *names[] = {"tls_key", "x\"}\n{\x01"};
    asps_decision d;
    assert_int_equal(asps_policy_decide(p, &c, names, 2, &d, &eb), ASPS_E_DENIED);
    asps_audit_event ev = {.peer = "ipv6:[::1]:5", .claims = &c, .decision = &d};
    char *line;
    assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
    cJSON *j = parse_line(line);
    assert_string_equal(str(j, "verdict"), "denied");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "names_asked")), 2);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "names_asked"), 1)->valuestring,
                        names[1]);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "names_granted")), 0);
    assert_non_null(strstr(str(j, "reason"), "not granted"));
    cJSON_Delete(j);
    free(line);
    asps_decision_clear(&d);
    asps_policy_free(p);
}

static void test_tdx_and_no_claims_lines(void **state)
{
    (void)state;
    asps_claims c;
    memset(&c, 0, sizeof c);
    c.tee = ASPS_TEE_TDX;
    c.debug = 1;
    c.simulated = 1;
    memset(c.tdx.mr_td, 0xab, 48);
    memset(c.tdx.rtmr[3], 0x01, 48);
    const char *asked[] = {"k"};
    asps_audit_event ev = {.claims = &c, .names_asked = asked, .n_asked = 1,
                           .verdict = "unavailable", .reason = "kms: file missing", .app = "td"};
    char *line;
    asps_errbuf eb;
    assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
    cJSON *j = parse_line(line);
    assert_string_equal(str(j, "tee"), "tdx");
    assert_int_equal(strlen(str(j, "mrtd")), 96);
    assert_int_equal(strspn(str(j, "mrtd"), "ab"), 96);
    cJSON *r = cJSON_GetObjectItem(j, "rtmrs");
    assert_int_equal(cJSON_GetArraySize(r), 4);
    assert_int_equal(strspn(cJSON_GetArrayItem(r, 3)->valuestring, "01"), 96);
    assert_null(cJSON_GetObjectItem(j, "mrenclave"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "debug")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "simulated")));
    assert_string_equal(str(j, "verdict"), "unavailable");
    assert_string_equal(str(j, "app"), "td");
    cJSON_Delete(j);
    free(line);

    asps_audit_event none = {.peer = "ipv4:127.0.0.1:1", .verdict = "unauthenticated",
                             .reason = "no evidence"};
    assert_int_equal(asps_audit_format(&none, &line, &eb), ASPS_OK);
    j = parse_line(line);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "tee")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "names_asked")), 0);
    cJSON_Delete(j);
    free(line);
}

struct writer {
    asps_audit *a;
    int id;
};

#define LINES_PER_THREAD 200
#define THREADS 4

static void *write_lines(void *arg)
{
    struct writer *w = arg;
    char reason[600];
    /* Long lines make interleaving visible if writes were split. */
    memset(reason, 'a' + w->id, sizeof reason - 1);
    reason[sizeof reason - 1] = 0;
    asps_audit_event ev = {.peer = "ipv4:127.0.0.1:9", .verdict = "denied", .reason = reason};
    for (int i = 0; i < LINES_PER_THREAD; i++) {
        asps_errbuf eb;
        if (asps_audit_decision(w->a, &ev, &eb) != ASPS_OK)
            return (void *)1;
    }
    return NULL;
}

static void test_concurrent_writers_never_interleave_lines(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/audit.log", dir);
    asps_audit *a;
    asps_errbuf eb;
    assert_int_equal(asps_audit_open(path, &a, &eb), ASPS_OK);
    pthread_t t[THREADS];
    struct writer w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct writer){a, i};
        assert_int_equal(pthread_create(&t[i], NULL, write_lines, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    asps_audit_close(a);
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    assert_non_null(text);
    int lines = 0;
    for (char *s = text, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
        *nl = 0;
        cJSON *j = cJSON_Parse(s);
        if (!j)
            fail_msg("line %d is not JSON", lines);
        const char *r = cJSON_GetObjectItem(j, "reason")->valuestring;
        assert_int_equal(strspn(r, (char[]){r[0], 0}), 599); /* one writer's line */
        cJSON_Delete(j);
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES_PER_THREAD);
    free(text);
    /* Re-opening appends instead of truncating. */
    assert_int_equal(asps_audit_open(path, &a, &eb), ASPS_OK);
    asps_audit_event ev = {.verdict = "denied", .reason = "x"};
    assert_int_equal(asps_audit_decision(a, &ev, &eb), ASPS_OK);
    asps_audit_close(a);
    text = (char *)tu_read_file(path, &len);
    int n = 0;
    for (char *s = text; (s = strchr(s, '\n')) != NULL; s++)
        n++;
    assert_int_equal(n, THREADS * LINES_PER_THREAD + 1);
    free(text);
    tu_rm_rf(dir);
    free(dir);
}

/* Lines are written by whoever writes when they come (one writev for all
 * that queued, audit.c put_line): each caller still learns its own line's
 * fate. With a file size limit (as a full disk) some lines go and the rest
 * fail: every line said written is whole in the file, and in it already
 * when its caller returns; every other line is refused with the kernel's
 * words. Run in a child process: the limit is the process's. */
#define FULL_LIMIT (64 * 1024)
#define FULL_THREADS 8
#define FULL_LINES 60

struct full_writer {
    asps_audit *a;
    const char *path;
    int id, ok, failed, bad;
};

/* This process's file size limit set to BYTES (at most the hard limit,
 * which stays), SIGXFSZ ignored so that a write past it fails with EFBIG;
 * 0, or -1. */
static int file_size_limit(rlim_t bytes)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return -1;
    rl.rlim_cur = bytes < rl.rlim_max ? bytes : rl.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    return setrlimit(RLIMIT_FSIZE, &rl);
}

static void *write_until_full(void *arg)
{
    struct full_writer *w = arg;
    for (int i = 0; i < FULL_LINES; i++) {
        char reason[600];
        /* a mark of its own, then padding: a line long enough to cross
         * the limit now and then */
        int n = snprintf(reason, sizeof reason, "mark-%d-%d-", w->id, i);
        memset(reason + n, 'a' + w->id, sizeof reason - 1 - (size_t)n);
        reason[sizeof reason - 1] = 0;
        asps_audit_event ev = {.peer = "ipv4:127.0.0.1:9", .verdict = "denied", .reason = reason};
        asps_errbuf eb;
        if (asps_audit_decision(w->a, &ev, &eb) == ASPS_OK) {
            w->ok++;
            size_t len;
            char *text = (char *)tu_read_file(w->path, &len);
            char mark[32];
            snprintf(mark, sizeof mark, "\"mark-%d-%d-", w->id, i);
            if (!text || !memmem(text, len, mark, strlen(mark)))
                w->bad++; /* said written, not in the file */
            free(text);
        } else {
            w->failed++;
            if (!strstr(eb.msg, "audit: write failed: File too large"))
                w->bad++;
        }
    }
    return NULL;
}

static int full_child(const char *path)
{
    if (file_size_limit(FULL_LIMIT) != 0)
        return 10;
    asps_audit *a;
    asps_errbuf eb;
    if (asps_audit_open(path, &a, &eb) != ASPS_OK)
        return 11;
    pthread_t t[FULL_THREADS];
    struct full_writer w[FULL_THREADS];
    for (int i = 0; i < FULL_THREADS; i++) {
        w[i] = (struct full_writer){.a = a, .path = path, .id = i};
        if (pthread_create(&t[i], NULL, write_until_full, &w[i]) != 0)
            return 12;
    }
    int ok = 0, failed = 0, bad = 0;
    for (int i = 0; i < FULL_THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        failed += w[i].failed;
        bad += w[i].bad;
    }
    asps_audit_close(a);
    if (bad)
        return 13;
    if (ok == 0 || failed == 0 || ok + failed != FULL_THREADS * FULL_LINES)
        return 14;
    /* the whole lines in the file: exactly the ones said written */
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    if (!text || len > FULL_LIMIT)
        return 15;
    int whole = 0;
    for (char *s = text, *nl; (nl = memchr(s, '\n', len - (size_t)(s - text))) != NULL;
         s = nl + 1) {
        *nl = 0;
        cJSON *j = cJSON_Parse(s);
        if (!j)
            return 16;
        cJSON_Delete(j);
        whole++;
    }
    free(text);
    return whole == ok ? 0 : 17;
}

/* A line cut by a full disk (here the file size limit, inside the second
 * line) stays in the log as a fragment; the next line written, once there
 * is room again, starts on a line of its own and is whole JSON, also after
 * the same file is reopened (SIGHUP without rotation). */
static int cut_child(const char *path)
{
    if (file_size_limit(1000) != 0) /* the first line fits, the second is cut */
        return 21;
    asps_audit *a;
    asps_errbuf eb;
    if (asps_audit_open(path, &a, &eb) != ASPS_OK)
        return 22;
    char reason[600];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = 0;
    asps_audit_event ev = {.peer = "ipv4:127.0.0.1:9", .verdict = "denied", .reason = reason};
    if (asps_audit_decision(a, &ev, &eb) != ASPS_OK)
        return 23;
    if (asps_audit_decision(a, &ev, &eb) == ASPS_OK) /* cut at 1000 bytes */
        return 24;
    if (asps_audit_reopen(a, &eb) != ASPS_OK) /* the same file */
        return 25;
    if (file_size_limit(RLIM_INFINITY) != 0) /* room again */
        return 26;
    if (asps_audit_decision(a, &ev, &eb) != ASPS_OK)
        return 27;
    asps_audit_close(a);
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    if (!text || len < 1001 || text[len - 1] != '\n')
        return 28;
    /* line 1 whole, line 2 the fragment, line 3 whole */
    int n = 0, whole = 0;
    for (char *s = text, *nl; (nl = memchr(s, '\n', len - (size_t)(s - text))) != NULL;
         s = nl + 1, n++) {
        *nl = 0;
        cJSON *j = cJSON_Parse(s);
        whole += j != NULL;
        if ((n == 1) == (j != NULL))
            return 29 + n; /* 29, 30, 31: line n+1 is not what it should be */
        cJSON_Delete(j);
    }
    free(text);
    return n == 3 && whole == 2 ? 0 : 32;
}

/* The size limit falls on the second line's newline: that line's record
 * is whole, so it counts as written (its grant goes ahead, and the log
 * says so once); its newline comes before the next line. */
static int newline_child(const char *path)
{
    char reason[600];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = 0;
    asps_audit_event ev = {.peer = "ipv4:127.0.0.1:9", .verdict = "granted", .reason = reason,
                           .time_ms = 1767312000123};
    char *line;
    asps_errbuf eb;
    if (asps_audit_format(&ev, &line, &eb) != ASPS_OK)
        return 40;
    size_t n = strlen(line);
    free(line);
    if (file_size_limit(2 * n - 1) != 0) /* all of line 2 but its newline */
        return 42;
    asps_audit *a;
    if (asps_audit_open(path, &a, &eb) != ASPS_OK)
        return 43;
    if (asps_audit_decision(a, &ev, &eb) != ASPS_OK)
        return 44;
    if (asps_audit_decision(a, &ev, &eb) != ASPS_OK) /* whole but its newline */
        return 45;
    if (asps_audit_decision(a, &ev, &eb) == ASPS_OK) /* no room at all */
        return 46;
    if (file_size_limit(RLIM_INFINITY) != 0)
        return 47;
    if (asps_audit_decision(a, &ev, &eb) != ASPS_OK)
        return 48;
    asps_audit_close(a);
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    if (!text || len != 3 * n)
        return 49;
    int k = 0;
    for (char *s = text, *nl; (nl = memchr(s, '\n', len - (size_t)(s - text))) != NULL;
         s = nl + 1, k++) {
        *nl = 0;
        cJSON *j = cJSON_Parse(s);
        if (!j)
            return 50 + k;
        cJSON_Delete(j);
    }
    free(text);
    return k == 3 ? 0 : 53;
}

/* CHILD(PATH) run in a child process (its limits are its own), PATH a
 * fresh file's path; fails with the check number the child exits with. */
static void run_in_child(int (*child)(const char *), const char *name)
{
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/audit.log", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child(path));
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) != 0)
        fail_msg("child: check %d failed (see %s)", WEXITSTATUS(st), name);
    tu_rm_rf(dir);
    free(dir);
}

static void test_cut_line_does_not_swallow_the_next(void **state)
{
    (void)state;
    run_in_child(cut_child, "cut_child");
}

static void test_each_caller_learns_its_own_line_fate(void **state)
{
    (void)state;
    run_in_child(full_child, "full_child");
}

static void test_line_cut_before_its_newline_counts_as_written(void **state)
{
    (void)state;
    run_in_child(newline_child, "newline_child");
}

/* "audit": "-" shares stderr with the server's log (README, Logging): with
 * stderr a pipe (a container's, a supervisor's), a line the kernel takes in
 * one write(2) of at most PIPE_BUF bytes comes out whole, whatever else
 * writes to the pipe (POSIX write(2), pipe(7)). A writev of a batch of lines
 * longer than PIPE_BUF has no such promise: when the pipe fills mid-batch,
 * a log line lands inside an audit line; nor has a single line longer
 * than PIPE_BUF, which stays whole only because audit lines to stderr are
 * written under the log's own lock. The child writes audit lines from
 * several threads and log lines (asps_log) from another; the parent reads
 * the pipe (one page) slowly; every line must be one or the other, whole. */
#define PIPE_THREADS 6
#define PIPE_LINES 120

static _Atomic int pipe_writers_left;

static void *pipe_audit_writer(void *arg)
{
    asps_audit *a = arg;
    static _Atomic int next_id;
    int id = next_id++;
    for (int i = 0; i < PIPE_LINES; i++) {
        /* one line in ten longer than PIPE_BUF (a peer may ask for 64
         * names of 256 bytes): whole only because no log line is written
         * while it is */
        char reason[9000];
        size_t rlen = i % 10 == 0 ? sizeof reason - 1 : 699;
        int n = snprintf(reason, sizeof reason, "pipemark-%d-%d-", id, i);
        memset(reason + n, 'a' + id, rlen - (size_t)n);
        reason[rlen] = 0;
        asps_audit_event ev = {.peer = "ipv4:127.0.0.1:9", .verdict = "denied", .reason = reason};
        asps_errbuf eb;
        if (asps_audit_decision(a, &ev, &eb) != ASPS_OK)
            _exit(20);
    }
    pipe_writers_left--;
    return NULL;
}

static void *pipe_logger(void *arg)
{
    (void)arg;
    for (int k = 0; pipe_writers_left > 0; k++) {
        asps_log(ASPS_LOG_WARN, "serve", "logmark-%d a line of the server's own log", k);
        usleep(100);
    }
    return NULL;
}

static void test_stderr_pipe_lines_stay_whole_beside_log_lines(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    (void)fcntl(fds[1], F_SETPIPE_SZ, 4096); /* one page: it fills at once */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (dup2(fds[1], STDERR_FILENO) < 0)
            _exit(21);
        close(fds[1]);
        asps_log_configure(ASPS_LOG_INFO, ASPS_LOG_TEXT, STDERR_FILENO);
        asps_audit *a;
        asps_errbuf eb;
        if (asps_audit_open("-", &a, &eb) != ASPS_OK)
            _exit(22);
        pipe_writers_left = PIPE_THREADS;
        pthread_t t[PIPE_THREADS], lt;
        if (pthread_create(&lt, NULL, pipe_logger, NULL) != 0)
            _exit(23);
        for (int i = 0; i < PIPE_THREADS; i++)
            if (pthread_create(&t[i], NULL, pipe_audit_writer, a) != 0)
                _exit(23);
        for (int i = 0; i < PIPE_THREADS; i++)
            pthread_join(t[i], NULL);
        pthread_join(lt, NULL);
        asps_audit_close(a);
        _exit(0);
    }
    close(fds[1]);
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (;;) {
        if (len + 512 > cap) {
            cap *= 2;
            text = realloc(text, cap);
            assert_non_null(text);
        }
        ssize_t n = read(fds[0], text + len, 512);
        if (n <= 0)
            break;
        len += (size_t)n;
        usleep(50); /* a reader slower than the writers: the pipe fills */
    }
    close(fds[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    int audit_lines = 0, log_lines = 0, broken = 0;
    char *first_broken = NULL;
    for (char *s = text, *nl; (nl = memchr(s, '\n', len - (size_t)(s - text))) != NULL;
         s = nl + 1) {
        *nl = 0;
        cJSON *j = NULL;
        static const char log_tail[] = "a line of the server's own log";
        const char *tail = strstr(s, log_tail);
        if (strstr(s, "logmark-") && !strstr(s, "pipemark-") && !strchr(s, '{') && tail &&
            tail[sizeof log_tail - 1] == '\0') {
            log_lines++;
        } else if ((j = cJSON_Parse(s)) != NULL && strstr(s, "pipemark-") && !strstr(s, "logmark-")) {
            audit_lines++;
        } else {
            if (!first_broken)
                first_broken = s;
            broken++;
        }
        cJSON_Delete(j);
    }
    if (broken)
        fail_msg("%d of %d lines not whole (audit lines %d, log lines %d); the first: %.120s",
                 broken, broken + audit_lines + log_lines, audit_lines, log_lines, first_broken);
    assert_int_equal(audit_lines, PIPE_THREADS * PIPE_LINES);
    assert_true(log_lines > 0);
    free(text);
}

static void test_open_stderr_and_bad_path(void **state)
{
    (void)state;
    asps_audit *a = NULL;
    asps_errbuf eb;
    assert_int_equal(asps_audit_open("-", &a, &eb), ASPS_OK);
    asps_audit_event ev = {.verdict = "denied", .reason = "stderr sink works"};
    assert_int_equal(asps_audit_decision(a, &ev, &eb), ASPS_OK);
    asps_audit_close(a);
    assert_int_equal(asps_audit_open("/nonexistent-dir/x/audit.log", &a, &eb), ASPS_E_IO);
}

/* Lines in FILE that parse as JSON (asserts every line does); 0 if absent. */
static int json_lines(const char *file)
{
    size_t len;
    char *text = (char *)tu_read_file(file, &len);
    if (!text)
        return 0;
    int n = 0;
    for (char *s = text, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
        *nl = 0;
        cJSON *j = cJSON_Parse(s);
        if (!j)
            fail_msg("%s: line %d is not JSON (a line split between files?)", file, n + 1);
        cJSON_Delete(j);
        n++;
    }
    free(text);
    return n;
}

/* Log rotation: the file renamed away, asps_audit_reopen, while writers
 * write: every line lands whole in one file, none is lost, and lines after
 * the reopen go to the new file. A path that cannot be opened keeps the old
 * file; on stderr there is nothing to reopen. */
static void test_reopen_rotates_without_losing_or_splitting_lines(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096], old[4200];
    snprintf(path, sizeof path, "%s/audit.log", dir);
    asps_audit *a;
    asps_errbuf eb;
    assert_int_equal(asps_audit_open(path, &a, &eb), ASPS_OK);
    pthread_t t[THREADS];
    struct writer w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct writer){a, i};
        assert_int_equal(pthread_create(&t[i], NULL, write_lines, &w[i]), 0);
    }
    for (int r = 0; r < 5; r++) {
        snprintf(old, sizeof old, "%s.%d", path, r);
        assert_int_equal(rename(path, old), 0);
        assert_int_equal(asps_audit_reopen(a, &eb), ASPS_OK);
    }
    for (int i = 0; i < THREADS; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    int total = json_lines(path);
    for (int r = 0; r < 5; r++) {
        snprintf(old, sizeof old, "%s.%d", path, r);
        total += json_lines(old);
    }
    assert_int_equal(total, THREADS * LINES_PER_THREAD);

    /* after a reopen, lines go to the new file and not the renamed one */
    snprintf(old, sizeof old, "%s.last", path);
    assert_int_equal(rename(path, old), 0);
    int before = json_lines(old);
    assert_int_equal(asps_audit_reopen(a, &eb), ASPS_OK);
    asps_audit_event ev = {.verdict = "denied", .reason = "after reopen"};
    assert_int_equal(asps_audit_decision(a, &ev, &eb), ASPS_OK);
    assert_int_equal(json_lines(path), 1);
    assert_int_equal(json_lines(old), before);

    /* a folder in the log's place: refused, the old file kept in use */
    char moved[4200];
    snprintf(moved, sizeof moved, "%s.moved", path);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(asps_audit_reopen(a, &eb), ASPS_E_IO);
    assert_non_null(strstr(eb.msg, "audit: cannot open"));
    assert_int_equal(asps_audit_decision(a, &ev, &eb), ASPS_OK);
    assert_int_equal(json_lines(moved), 2);
    assert_int_equal(rmdir(path), 0);
    asps_audit_close(a);

    assert_int_equal(asps_audit_open("-", &a, &eb), ASPS_OK);
    assert_int_equal(asps_audit_reopen(a, &eb), ASPS_OK);
    asps_audit_close(a);
    tu_rm_rf(dir);
    free(dir);
}

/* The TCB recovery fields: the update set always, the forecast only when
 * worse, the demotion dates, stale collateral with its age, what is behind,
 * and an accepted grace with until/left (from the decision at its time). */
static void test_tcb_recovery_fields_in_the_line(void **state)
{
    (void)state;
    static const char *pol =
        "{\"version\":1,\"apps\":[{\"name\":\"web\",\"match\":{\"tee\":\"sgx\",\"mrenclave\":\"" ENC_A
        "\",\"tcb_grace_days\":30},\"secrets\":{\"tls_key\":\"web/tls_key\"}}]}";
    asps_policy *p;
    asps_errbuf eb;
    assert_int_equal(asps_policy_parse(pol, strlen(pol), "p", &p, &eb), ASPS_OK);
    asps_claims c;
    claims_a(&c);
    c.tcb_status = ASPS_TCB_OUT_OF_DATE;
    c.tcb_update_early = 1;
    c.tcb_recovery_event_date = 1798761600; /* 2027-01-01 */
    c.demoted_at = 1798761600;              /* early: the event date itself */
    c.forecast.present = 1;
    c.forecast.early = 0;
    c.forecast.evaluation_data_number = 17;
    c.forecast.matched = 1;
    c.forecast.tcb_status = ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    c.forecast.worse = 1;
    c.forecast.effective_at = 1830297600; /* 2028-01-01 */
    c.collateral_stale = 1;
    c.collateral_stale_seconds = 3600;
    c.gap.present = 1;
    c.gap.n_shortfalls = 2;
    strcpy(c.gap.shortfalls[0].component, "sgxtcbcomponent 2 (SGX Late Microcode Update)");
    c.gap.shortfalls[0].have = 5;
    c.gap.shortfalls[0].need = 7;
    strcpy(c.gap.shortfalls[1].component, "pcesvn");
    c.gap.shortfalls[1].have = 11;
    c.gap.shortfalls[1].need = 13;
    const char *names[] = {"tls_key"};
    asps_decision d;
    int64_t at = 1798761600 + 29 * 86400; /* day 29 of 30 */
    assert_int_equal(asps_policy_decide_at(p, &c, names, 1, at, &d, &eb), ASPS_OK);
    asps_audit_event ev = {.time_ms = at * 1000, .claims = &c, .decision = &d};
    char *line;
    assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
    cJSON *j = parse_line(line);
    assert_string_equal(str(j, "tcb_update"), "early");
    const cJSON *f = cJSON_GetObjectItem(j, "forecast");
    assert_true(cJSON_IsObject(f));
    assert_string_equal(str(f, "update"), "standard");
    assert_string_equal(str(f, "status"), "OutOfDateConfigurationNeeded");
    assert_int_equal(cJSON_GetObjectItem(f, "evaluation_data_number")->valueint, 17);
    assert_string_equal(str(f, "effective_at"), "2028-01-01T00:00:00Z");
    assert_string_equal(str(j, "tcb_recovery_event_date"), "2027-01-01T00:00:00Z");
    assert_string_equal(str(j, "demoted_at"), "2027-01-01T00:00:00Z");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "collateral_stale")));
    assert_int_equal(cJSON_GetObjectItem(j, "collateral_stale_seconds")->valueint, 3600);
    const cJSON *b = cJSON_GetObjectItem(j, "behind");
    assert_int_equal(cJSON_GetArraySize(b), 2);
    assert_string_equal(str(cJSON_GetArrayItem(b, 0), "component"),
                        "sgxtcbcomponent 2 (SGX Late Microcode Update)");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(b, 0), "have")->valueint, 5);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(b, 0), "need")->valueint, 7);
    assert_string_equal(str(cJSON_GetArrayItem(b, 1), "component"), "pcesvn");
    const cJSON *g = cJSON_GetObjectItem(j, "grace");
    assert_true(cJSON_IsObject(g));
    assert_string_equal(str(g, "until"), "2027-01-31T00:00:00Z");
    assert_int_equal(cJSON_GetObjectItem(g, "left_seconds")->valueint, 86400);
    assert_string_equal(str(j, "verdict"), "granted");
    assert_non_null(strstr(str(j, "reason"), "grace: TCB status OutOfDate accepted until "
                                             "2027-01-31"));
    assert_non_null(strstr(str(j, "reason"), "collateral stale, 3600 s past nextUpdate"));
    cJSON_Delete(j);
    free(line);
    asps_decision_clear(&d);

    /* day 31: refused, no grace object; a forecast no level matches has a
     * null status; no effective date known is null */
    c.forecast.matched = 0;
    c.forecast.effective_at = 0;
    assert_int_equal(asps_policy_decide_at(p, &c, names, 1, at + 2 * 86400, &d, &eb),
                     ASPS_E_DENIED);
    ev.decision = &d;
    assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
    j = parse_line(line);
    assert_null(cJSON_GetObjectItem(j, "grace"));
    assert_string_equal(str(j, "verdict"), "denied");
    assert_non_null(strstr(str(j, "reason"), "grace over: demoted 2027-01-01, 30 days"));
    f = cJSON_GetObjectItem(j, "forecast");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f, "status")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f, "effective_at")));
    cJSON_Delete(j);
    free(line);
    asps_decision_clear(&d);

    /* nothing to say: standard, no forecast (better or same), no dates,
     * not stale, nothing behind */
    claims_a(&c);
    c.forecast.present = 1;
    c.forecast.matched = 1;
    c.forecast.tcb_status = ASPS_TCB_UP_TO_DATE;
    c.forecast.worse = 0;
    ev.decision = NULL;
    assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
    j = parse_line(line);
    assert_string_equal(str(j, "tcb_update"), "standard");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "collateral_stale")));
    assert_null(cJSON_GetObjectItem(j, "collateral_stale_seconds"));
    assert_null(cJSON_GetObjectItem(j, "forecast"));
    assert_null(cJSON_GetObjectItem(j, "demoted_at"));
    assert_null(cJSON_GetObjectItem(j, "tcb_recovery_event_date"));
    assert_null(cJSON_GetObjectItem(j, "behind"));
    assert_null(cJSON_GetObjectItem(j, "grace"));
    cJSON_Delete(j);
    free(line);
    asps_policy_free(p);
}

/* The claims rendered once per certificate (asps_audit_claims_json, what
 * the claims cache keeps for its calls) give the very line rendering them
 * per call gives: SGX, TDX, every TCB recovery field, and no claims. The
 * line is one JSON object with the claims between peer and app. */
static void test_prerendered_claims_give_the_same_line(void **state)
{
    (void)state;
    asps_claims v[3];
    claims_a(&v[0]);
    claims_a(&v[1]);
    v[1].tcb_update_early = 1;
    v[1].tcb_recovery_event_date = 1798761600;
    v[1].demoted_at = 1798761600;
    v[1].forecast.present = v[1].forecast.matched = v[1].forecast.worse = 1;
    v[1].forecast.evaluation_data_number = 17;
    v[1].forecast.tcb_status = ASPS_TCB_OUT_OF_DATE;
    v[1].collateral_stale = 1;
    v[1].collateral_stale_seconds = 60;
    v[1].gap.present = 1;
    v[1].gap.n_shortfalls = 1;
    strcpy(v[1].gap.shortfalls[0].component, "pcesvn \"quoted\"");
    v[1].gap.shortfalls[0].have = 1;
    v[1].gap.shortfalls[0].need = 2;
    memset(&v[2], 0, sizeof v[2]);
    v[2].tee = ASPS_TEE_TDX;
    memset(v[2].tdx.mr_td, 0xab, 48);
    memset(v[2].tdx.rtmr[2], 0x01, 48);
    const char *asked[] = {"a", "b"};
    for (int i = 0; i <= 3; i++) {
        const asps_claims *c = i < 3 ? &v[i] : NULL;
        asps_audit_event ev = {.time_ms = 1751328000123, .peer = "ipv4:127.0.0.1:1", .claims = c,
                               .names_asked = asked, .n_asked = 2, .verdict = "denied",
                               .reason = "r", .app = "x"};
        char *plain, *pre, *json;
        asps_errbuf eb;
        assert_int_equal(asps_audit_format(&ev, &plain, &eb), ASPS_OK);
        assert_int_equal(asps_audit_claims_json(c, &json, &eb), ASPS_OK);
        ev.claims_json = json;
        assert_int_equal(asps_audit_format(&ev, &pre, &eb), ASPS_OK);
        assert_string_equal(pre, plain);
        cJSON *j = parse_line(pre);
        const cJSON *k = j->child;
        assert_string_equal(k->string, "time");
        assert_string_equal(k->next->string, "peer");
        assert_string_equal(k->next->next->string, "tee");
        assert_string_equal(str(j, "app"), "x");
        cJSON_Delete(j);
        free(plain);
        free(pre);
        free(json);
    }
    /* and the line takes them as handed in, not rendered again */
    asps_audit_event ev = {.claims = &v[0], .claims_json = "\"tee\":\"as handed\"", .verdict = "denied"};
    char *line;
    asps_errbuf eb;
    assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
    cJSON *j = parse_line(line);
    assert_string_equal(str(j, "tee"), "as handed");
    assert_null(cJSON_GetObjectItem(j, "mrenclave"));
    cJSON_Delete(j);
    free(line);
}


/* A name as the log writes it: whole up to 256 bytes (the policy's limit),
 * else its first 256 bytes and "...(N bytes)". */
static cJSON *tree_str(const char *s);
static cJSON *tree_name(const char *s)
{
    if (!s)
        s = "";
    if (strlen(s) <= ASPS_POLICY_MAX_NAME)
        return tree_str(s);
    char cut[ASPS_POLICY_MAX_NAME + 48];
    snprintf(cut, sizeof cut, "%.*s...(%zu bytes)", ASPS_POLICY_MAX_NAME, s, strlen(s));
    return tree_str(cut);
}

/* A cJSON string of S made well-formed UTF-8 (utf8.h), as the log says. */
static cJSON *tree_str(const char *s)
{
    size_t n = strlen(s);
    if (asps_utf8_valid((const uint8_t *)s, n, NULL))
        return cJSON_CreateString(s);
    char *clean = asps_utf8_sanitize((const uint8_t *)s, n, NULL);
    assert_non_null(clean);
    cJSON *j = cJSON_CreateString(clean);
    free(clean);
    return j;
}

/* The line as one cJSON tree of its members prints it (the claims' members
 * spliced in where the marker member stands), strings made well-formed
 * UTF-8 first, as the audit log promises. asps_audit_format writes each
 * value through cJSON without the tree (issue 17: a tree per line cost
 * 15.7k instructions); this is what it must still equal. */
static char *tree_line(const asps_audit_event *ev, const char *time_text, const char *claims_json)
{
    cJSON *o = cJSON_CreateObject();
#define S(x) tree_str(x)
    cJSON_AddItemToObject(o, "time", S(time_text));
    cJSON_AddItemToObject(o, "peer", ev->peer ? S(ev->peer) : cJSON_CreateNull());
    cJSON_AddNullToObject(o, "MARK");
    const asps_decision *d = ev->decision;
    const char *app = ev->app ? ev->app : (d ? d->app : NULL);
    cJSON_AddItemToObject(o, "app", app ? S(app) : cJSON_CreateNull());
    cJSON *asked = cJSON_AddArrayToObject(o, "names_asked");
    cJSON *granted = cJSON_AddArrayToObject(o, "names_granted");
    if (d) {
        for (size_t i = 0; i < d->n; i++) {
            cJSON_AddItemToArray(asked, tree_name(d->grants[i].name));
            if (d->allowed && d->grants[i].granted)
                cJSON_AddItemToArray(granted, tree_name(d->grants[i].name));
        }
    } else {
        for (size_t i = 0; ev->names_asked && i < ev->n_asked; i++)
            cJSON_AddItemToArray(asked, tree_name(ev->names_asked[i]));
        for (size_t i = 0; ev->names_granted && i < ev->n_granted; i++)
            cJSON_AddItemToArray(granted, tree_name(ev->names_granted[i]));
    }
    if (d && d->grace) {
        cJSON *g = cJSON_AddObjectToObject(o, "grace");
        char day[32];
        if (d->grace_until) {
            asps_time_format(d->grace_until, day);
            cJSON_AddStringToObject(g, "until", day);
        } else {
            cJSON_AddNullToObject(g, "until");
        }
        cJSON_AddNumberToObject(g, "left_seconds", (double)d->grace_left_seconds);
    }
    const char *verdict = ev->verdict ? ev->verdict : (d && d->allowed ? "granted" : "denied");
    const char *reason = ev->reason ? ev->reason : (d ? d->reason : "");
    cJSON_AddItemToObject(o, "verdict", S(verdict));
    cJSON_AddItemToObject(o, "reason", S(reason));
#undef S
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    assert_non_null(t);
    char *mark = strstr(t, "\"MARK\":null");
    assert_non_null(mark);
    size_t need = strlen(t) + strlen(claims_json) + 2;
    char *out = malloc(need);
    assert_non_null(out);
    snprintf(out, need, "%.*s%s%s\n", (int)(mark - t), t, claims_json, mark + strlen("\"MARK\":null"));
    free(t);
    return out;
}

static void test_line_is_what_one_cjson_tree_prints(void **state)
{
    (void)state;
    char big[5000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)(1 + i % 255); /* every byte value but 0: controls, quotes, bad UTF-8 */
    big[sizeof big - 1] = 0;
    char ascii[100], *p = ascii; /* printable ASCII but '"' and '\\': written as it is */
    for (int ch = 0x20; ch < 0x7f; ch++)
        if (ch != '"' && ch != '\\')
            *p++ = (char)ch;
    *p = 0;
    const char *strings[] = {"ipv4:127.0.0.1:5", "", ascii, "quote\" back\\slash \x01\x1f ctl\n\t",
                             "\xc3\x28 bad \xff\xfe utf8 \xe2\x82", "ünïcødé € \xf0\x9f\x94\x91",
                             "</script>\u2028", big};
    size_t ns = sizeof strings / sizeof strings[0];
    asps_claims c;
    claims_a(&c);
    char *claims_json;
    asps_errbuf eb;
    assert_int_equal(asps_audit_claims_json(&c, &claims_json, &eb), ASPS_OK);
    const char *names64[64];
    for (int i = 0; i < 64; i++)
        names64[i] = strings[i % ns];
    asps_grant grants[64];
    for (int i = 0; i < 64; i++)
        grants[i] = (asps_grant){.name = i % 9 == 8 ? NULL : strings[(i + 3) % ns], .granted = i % 3 != 0};
    int cases = 0;
    for (size_t a = 0; a < ns + 1; a++) {
        for (int shape = 0; shape < 6; shape++) {
            asps_decision d;
            memset(&d, 0, sizeof d);
            asps_audit_event ev = {.time_ms = 1751328000123 + (int64_t)a * 1001,
                                   .peer = a < ns ? strings[a] : NULL,
                                   .claims_json = claims_json};
            switch (shape) {
            case 0: /* refused before any decision: names as handed */
                ev.names_asked = names64;
                ev.n_asked = 64;
                ev.verdict = "unauthenticated";
                ev.reason = strings[(a + 1) % ns];
                break;
            case 1: /* no names at all, app and reason NULL */
                ev.verdict = "invalid";
                break;
            case 2: /* granted, some names not: not allowed, nothing granted */
                d.allowed = 0;
                d.n = 64;
                d.grants = grants;
                d.app = strings[(a + 2) % ns];
                snprintf(d.reason, sizeof d.reason, "%s", strings[(a + 4) % ns]);
                break;
            case 3: /* allowed, under grace with a date */
                d.allowed = 1;
                d.n = 5;
                d.grants = grants;
                d.app = strings[a % ns];
                d.grace = 1;
                d.grace_until = 1781222400;
                d.grace_left_seconds = 123456;
                ev.verdict = "granted";
                break;
            case 4: /* grace without a date, negative and fractional-free seconds */
                d.allowed = 1;
                d.n = 1;
                d.grants = grants;
                d.grace = 1;
                d.grace_left_seconds = -86400LL * 400;
                ev.app = strings[(a + 5) % ns];
                break;
            default: /* grace seconds beyond an int: cJSON's other number form */
                d.allowed = 1;
                d.n = 2;
                d.grants = grants;
                d.grace = 1;
                d.grace_until = 1;
                d.grace_left_seconds = 5000000000LL;
                ev.reason = "";
                break;
            }
            if (shape >= 2)
                ev.decision = &d;
            char *line;
            assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
            cJSON *j = parse_line(line);
            char *want = tree_line(&ev, str(j, "time"), claims_json);
            if (strcmp(line, want) != 0)
                fail_msg("case %zu/%d:\n got  %.300s\n want %.300s", a, shape, line, want);
            cJSON_Delete(j);
            free(want);
            free(line);
            cases++;
        }
    }
    assert_int_equal(cases, (int)(ns + 1) * 6);
    free(claims_json);
}

/* A name longer than the policy allows (refused) is written cut, with its
 * length: a line does not grow with what a peer sends (a reviewer's
 * 10,000-byte name of control bytes made a 60,695-byte line). A name of
 * exactly the limit is written whole. */
static void test_long_names_are_cut_with_their_length(void **state)
{
    (void)state;
    char *huge = malloc(10001), whole[ASPS_POLICY_MAX_NAME + 1];
    assert_non_null(huge);
    memset(huge, 0x01, 10000);
    huge[10000] = 0;
    memset(whole, 'w', ASPS_POLICY_MAX_NAME);
    whole[ASPS_POLICY_MAX_NAME] = 0;
    const char *names[] = {huge, whole, "\xc3"};
    asps_audit_event ev = {.peer = "p", .names_asked = names, .n_asked = 3, .verdict = "invalid",
                           .reason = "r"};
    char *line;
    asps_errbuf eb;
    assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
    assert_true(strlen(line) < 4096);
    cJSON *j = parse_line(line);
    cJSON *asked = cJSON_GetObjectItem(j, "names_asked");
    assert_int_equal(cJSON_GetArraySize(asked), 3);
    const char *first = cJSON_GetArrayItem(asked, 0)->valuestring;
    assert_int_equal(strlen(first), ASPS_POLICY_MAX_NAME + strlen("...(10000 bytes)"));
    assert_int_equal(first[0], 0x01);
    assert_non_null(strstr(first, "...(10000 bytes)"));
    assert_string_equal(cJSON_GetArrayItem(asked, 1)->valuestring, whole);
    assert_string_equal(cJSON_GetArrayItem(asked, 2)->valuestring, "\xef\xbf\xbd"); /* U+FFFD */
    cJSON_Delete(j);
    free(line);
    free(huge);
    /* a value too long to print (over 2^30 / 6 bytes: a caller of the API,
     * not a peer) fails the line whole, never leaves itself out */
    size_t big = ((size_t)INT32_MAX / 2) / 6 + 16;
    char *reason = malloc(big + 1);
    assert_non_null(reason);
    memset(reason, 'r', big);
    reason[big] = 0;
    asps_audit_event ev2 = {.peer = "p", .verdict = "denied", .reason = reason};
    line = NULL;
    assert_int_equal(asps_audit_format(&ev2, &line, &eb), ASPS_E_NOMEM);
    assert_null(line);
    free(reason);
}

/* The second's text is kept per thread between lines: each line still
 * gets its own time, across seconds, backwards, before 1970 and at the
 * turn of a year (date(1) agrees: date -u -d @1767225599). */
static void test_time_stamps_each_line_its_own_second(void **state)
{
    (void)state;
    struct {
        int64_t ms;
        const char *want;
    } t[] = {{1767322800123, "2026-01-02T03:00:00.123Z"}, {1767322800999, "2026-01-02T03:00:00.999Z"},
             {1767322801000, "2026-01-02T03:00:01.000Z"}, {1767322800001, "2026-01-02T03:00:00.001Z"},
             {1767225599999, "2025-12-31T23:59:59.999Z"}, {1767225600000, "2026-01-01T00:00:00.000Z"},
             {-1, "1969-12-31T23:59:59.999Z"},             {1767225600000, "2026-01-01T00:00:00.000Z"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        asps_audit_event ev = {.time_ms = t[i].ms, .peer = "p", .verdict = "denied", .reason = "r"};
        char *line;
        asps_errbuf eb;
        assert_int_equal(asps_audit_format(&ev, &line, &eb), ASPS_OK);
        cJSON *j = parse_line(line);
        if (strcmp(str(j, "time"), t[i].want) != 0)
            fail_msg("%lld ms: %s, want %s", (long long)t[i].ms, str(j, "time"), t[i].want);
        cJSON_Delete(j);
        free(line);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_granted_decision_line_is_json_with_claims_and_no_value),
        cmocka_unit_test(test_time_stamps_each_line_its_own_second),
        cmocka_unit_test(test_denied_decision_grants_nothing_in_the_log),
        cmocka_unit_test(test_tdx_and_no_claims_lines),
        cmocka_unit_test(test_concurrent_writers_never_interleave_lines),
        cmocka_unit_test(test_each_caller_learns_its_own_line_fate),
        cmocka_unit_test(test_cut_line_does_not_swallow_the_next),
        cmocka_unit_test(test_line_cut_before_its_newline_counts_as_written),
        cmocka_unit_test(test_open_stderr_and_bad_path),
        cmocka_unit_test(test_stderr_pipe_lines_stay_whole_beside_log_lines),
        cmocka_unit_test(test_reopen_rotates_without_losing_or_splitting_lines),
        cmocka_unit_test(test_tcb_recovery_fields_in_the_line),
        cmocka_unit_test(test_prerendered_claims_give_the_same_line),
        cmocka_unit_test(test_line_is_what_one_cjson_tree_prints),
        cmocka_unit_test(test_long_names_are_cut_with_their_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
