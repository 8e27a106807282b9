/* audit.c: the decision log (format in asps/audit.h).
 *
 * Owns the log descriptor and its mutex. Trusts nothing it is given to be
 * printable or even UTF-8: requested names come from the peer, reasons may
 * quote what a peer or a library said. So every string goes through one
 * door, json_str(): bytes that are not well-formed UTF-8 become U+FFFD
 * (utf8.h), and cJSON escapes quotes, backslashes and control characters.
 * A line is therefore always one valid JSON text (RFC 8259), whatever bytes
 * it was given. It is never handed secret values or credentials, and takes
 * from an asps_decision only names, the app and the reason.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "utf8.h"
#include "util.h"
#include "writer.h"

/* A line waiting to be written: its caller's, on the caller's stack, until
 * done is set (after which the writer touches it no more). */
typedef struct audit_waiter {
    const char *line;
    size_t len;
    struct audit_waiter *next;
    int err;  /* 0: written whole; else errno (EIO: the kernel took nothing) */
    int done; /* atomic: set last, by whoever wrote it */
} audit_waiter;

struct asps_audit {
    int fd; /* replaced under fd_lock (written) by asps_audit_reopen */
    int own_fd;
    char *path; /* for asps_audit_reopen; NULL for stderr */
    /* One writer at a time, and it writes for everybody waiting (one
     * writev(2) for every line queued meanwhile). Lines written side by
     * side, each its own write(2), were whole (the kernel appends each
     * write to an O_APPEND file under its own locks) but those locks are
     * contended: at 8 concurrent clients the writes cost about a tenth of
     * the server's CPU per call (bench_load, audit writes on against off),
     * against a twenty-fifth with one client. A line still reaches the
     * kernel before its call's answer leaves, as ever: the caller returns
     * only once its own line is written or has failed. */
    pthread_mutex_t mu; /* the queue, writing, sleepers */
    pthread_cond_t cv;  /* a queued line is done, or nobody writes */
    audit_waiter *head, *tail;
    int writing;       /* somebody is writing the queue */
    int cut; /* the log ends inside a line; the writer's (fd_lock read-held,
              * writing set) or reopen's (fd_lock written) */
    unsigned sleepers; /* callers waiting on cv */
    pthread_rwlock_t fd_lock; /* read-held by the writer, written by reopen */
};

/* Open PATH for appending, as asps_audit_open describes; *fd on success. */
static asps_err open_file(const char *path, int *fd_out, asps_errbuf *eb)
{
    /* O_NONBLOCK: a FIFO in the log's place (nobody reading it) must
     * not hold the server's start-up in open(); it is refused below */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (fd < 0) {
        int e = errno;
        if (e == ENXIO) /* a FIFO with no reader: POSIX open(2) */
            return asps_fail(eb, ASPS_E_IO, "audit: %s is not a regular file (a FIFO)", path);
        return asps_fail(eb, ASPS_E_IO, "audit: cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const char *kind = S_ISFIFO(st.st_mode)  ? " (a FIFO)"
                           : S_ISCHR(st.st_mode) ? " (a device)"
                           : S_ISSOCK(st.st_mode) ? " (a socket)"
                                                 : "";
        asps_fail(eb, ASPS_E_IO, "audit: %s is not a regular file%s; give a file, or \"-\" "
                  "for stderr", path, kind);
        close(fd);
        return ASPS_E_IO;
    }
    /* a regular file: writes block as ever, each line whole */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return asps_fail(eb, ASPS_E_IO, "audit: %s: %s", path, strerror(e));
    }
    *fd_out = fd;
    return ASPS_OK;
}

asps_err asps_audit_open(const char *path, asps_audit **out, asps_errbuf *eb)
{
    if (!path || !*path || !out)
        return asps_fail(eb, ASPS_E_ARG, "audit: no path given");
    asps_audit *a = calloc(1, sizeof *a);
    if (!a)
        return asps_fail(eb, ASPS_E_NOMEM, "audit: out of memory");
    if (strcmp(path, "-") == 0) {
        a->fd = STDERR_FILENO;
    } else {
        asps_err e = open_file(path, &a->fd, eb);
        if (e != ASPS_OK) {
            free(a);
            return e;
        }
        a->own_fd = 1;
        a->path = strdup(path);
        if (!a->path) {
            close(a->fd);
            free(a);
            return asps_fail(eb, ASPS_E_NOMEM, "audit: out of memory");
        }
    }
    if (pthread_mutex_init(&a->mu, NULL) != 0 || pthread_cond_init(&a->cv, NULL) != 0 ||
        pthread_rwlock_init(&a->fd_lock, NULL) != 0) {
        if (a->own_fd)
            close(a->fd);
        free(a->path);
        free(a);
        return asps_fail(eb, ASPS_E_INTERNAL, "audit: cannot create mutex");
    }
    *out = a;
    return ASPS_OK;
}

asps_err asps_audit_reopen(asps_audit *a, asps_errbuf *eb)
{
    if (!a)
        return asps_fail(eb, ASPS_E_ARG, "audit: log not open");
    if (!a->own_fd)
        return ASPS_OK; /* stderr: nothing to reopen */
    int fd;
    ASPS_TRY(open_file(a->path, &fd, eb));
    /* swapped with no write under way: a line goes wholly to the old file
     * or wholly to the new one */
    pthread_rwlock_wrlock(&a->fd_lock);
    int old = a->fd;
    /* a file that ends inside a line still does if it is the same file
     * (reopened, not rotated); a new one starts clean */
    struct stat so, sn;
    if (fstat(old, &so) != 0 || fstat(fd, &sn) != 0 || so.st_dev != sn.st_dev ||
        so.st_ino != sn.st_ino)
        a->cut = 0;
    a->fd = fd;
    pthread_rwlock_unlock(&a->fd_lock);
    close(old);
    return ASPS_OK;
}

void asps_audit_close(asps_audit *a)
{
    if (!a)
        return;
    if (a->own_fd)
        close(a->fd);
    free(a->path);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    pthread_rwlock_destroy(&a->fd_lock);
    free(a);
}

static void format_time(int64_t ms, char out[40])
{
    if (ms == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    /* the second's text, kept per thread: a busy server writes many lines
     * a second, and gmtime_r + strftime cost more than the rest of the
     * time stamp */
    static _Thread_local int64_t last_sec = INT64_MIN;
    static _Thread_local char base[32];
    int64_t sec = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        sec -= 1;
    }
    if (sec != last_sec) {
        asps_time_format(sec, base);
        /* base ends in 'Z': the milliseconds go before it */
        size_t n = strlen(base);
        if (n > 0 && base[n - 1] == 'Z')
            base[n - 1] = 0;
        last_sec = sec;
    }
    size_t n = strlen(base);
    memcpy(out, base, n);
    out[n] = '.';
    out[n + 1] = (char)('0' + frac / 100);
    out[n + 2] = (char)('0' + frac / 10 % 10);
    out[n + 3] = (char)('0' + frac % 10);
    out[n + 4] = 'Z';
    out[n + 5] = 0;
}

/* The one way a string enters a line: a cJSON string holding S as
 * well-formed UTF-8 (ill-formed bytes replaced by U+FFFD). NULL when out of
 * memory. */
static cJSON *json_str(const char *s)
{
    size_t n = strlen(s);
    if (asps_utf8_valid((const uint8_t *)s, n, NULL))
        return cJSON_CreateString(s);
    char *clean = asps_utf8_sanitize((const uint8_t *)s, n, NULL);
    cJSON *j = clean ? cJSON_CreateString(clean) : NULL;
    free(clean);
    return j;
}

static int add_str(cJSON *o, const char *key, const char *s)
{
    cJSON *j = json_str(s);
    if (j == NULL)
        return 0;
    cJSON_AddItemToObject(o, key, j);
    return 1;
}

static int add_hex(cJSON *o, const char *key, const uint8_t *b, size_t n)
{
    char hex[2 * 64 + 1];
    asps_hex_encode(b, n, hex);
    return add_str(o, key, hex);
}

static int add_ids(cJSON *o, const char *key, const char (*ids)[ASPS_ADVISORY_LEN], size_t n)
{
    cJSON *arr = cJSON_AddArrayToObject(o, key);
    if (!arr)
        return 0;
    size_t na = n < ASPS_MAX_ADVISORIES ? n : ASPS_MAX_ADVISORIES;
    for (size_t i = 0; i < na; i++) {
        char id[ASPS_ADVISORY_LEN];
        snprintf(id, sizeof id, "%.*s", ASPS_ADVISORY_LEN - 1, ids[i]);
        cJSON *s = json_str(id);
        if (!s)
            return 0;
        cJSON_AddItemToArray(arr, s);
    }
    return 1;
}

static int add_date(cJSON *o, const char *key, int64_t t)
{
    char d[32];
    if (t == 0)
        return cJSON_AddNullToObject(o, key) != NULL;
    asps_time_format(t, d);
    return cJSON_AddStringToObject(o, key, d) != NULL;
}

/* TCB recovery (README "TCB recovery"): the update set of the verdict, the
 * other set's status when it is worse (the coming demotion), when the
 * matched level was demoted, stale collateral, and what is behind. */
static int add_recovery(cJSON *o, const asps_claims *c)
{
    int ok = add_str(o, "tcb_update", c->tcb_update_early ? "early" : "standard");
    const asps_tcb_forecast *f = &c->forecast;
    if (f->present && f->worse) {
        cJSON *fo = cJSON_AddObjectToObject(o, "forecast");
        ok &= fo != NULL;
        if (fo) {
            ok &= add_str(fo, "update", f->early ? "early" : "standard");
            /* null: no TCB level of that set matches the platform at all */
            ok &= (f->matched ? add_str(fo, "status", asps_tcb_status_name(f->tcb_status))
                              : cJSON_AddNullToObject(fo, "status") != NULL);
            ok &= cJSON_AddNumberToObject(fo, "evaluation_data_number",
                                          f->evaluation_data_number) != NULL;
            ok &= add_date(fo, "effective_at", f->effective_at);
        }
    }
    if (c->tcb_recovery_event_date)
        ok &= add_date(o, "tcb_recovery_event_date", c->tcb_recovery_event_date);
    if (c->demoted_at)
        ok &= add_date(o, "demoted_at", c->demoted_at);
    ok &= cJSON_AddBoolToObject(o, "collateral_stale", c->collateral_stale != 0) != NULL;
    if (c->collateral_stale)
        ok &= cJSON_AddNumberToObject(o, "collateral_stale_seconds",
                                      (double)c->collateral_stale_seconds) != NULL;
    if (c->gap.present && c->gap.n_shortfalls) {
        cJSON *b = cJSON_AddArrayToObject(o, "behind");
        ok &= b != NULL;
        size_t n = c->gap.n_shortfalls < ASPS_MAX_SHORTFALLS ? c->gap.n_shortfalls
                                                             : ASPS_MAX_SHORTFALLS;
        for (size_t i = 0; b && i < n; i++) {
            const asps_tcb_shortfall *sf = &c->gap.shortfalls[i];
            char comp[sizeof sf->component];
            snprintf(comp, sizeof comp, "%.*s", (int)sizeof comp - 1, sf->component);
            cJSON *e = cJSON_CreateObject();
            if (!e) {
                ok = 0;
                break;
            }
            cJSON_AddItemToArray(b, e);
            ok &= add_str(e, "component", comp);
            ok &= cJSON_AddNumberToObject(e, "have", sf->have) != NULL;
            ok &= cJSON_AddNumberToObject(e, "need", sf->need) != NULL;
        }
    }
    return ok;
}

static int add_claims(cJSON *o, const asps_claims *c)
{
    int ok = 1;
    ok &= add_str(o, "tee", c->tee == ASPS_TEE_TDX ? "tdx" : "sgx");
    ok &= cJSON_AddBoolToObject(o, "simulated", c->simulated != 0) != NULL;
    if (c->tee == ASPS_TEE_TDX) {
        ok &= add_hex(o, "mrtd", c->tdx.mr_td, 48);
        cJSON *r = cJSON_AddArrayToObject(o, "rtmrs");
        ok &= r != NULL;
        for (int i = 0; r && i < 4; i++) {
            char hex[97];
            asps_hex_encode(c->tdx.rtmr[i], 48, hex);
            cJSON_AddItemToArray(r, json_str(hex));
        }
    } else {
        ok &= add_hex(o, "mrenclave", c->sgx.mr_enclave, 32);
        ok &= add_hex(o, "mrsigner", c->sgx.mr_signer, 32);
        ok &= cJSON_AddNumberToObject(o, "isv_prod_id", c->sgx.isv_prod_id) != NULL;
        ok &= cJSON_AddNumberToObject(o, "isv_svn", c->sgx.isv_svn) != NULL;
        ok &= cJSON_AddNumberToObject(o, "config_svn", c->sgx.config_svn) != NULL;
    }
    ok &= cJSON_AddBoolToObject(o, "debug", c->debug != 0) != NULL;
    ok &= add_str(o, "tcb_status", asps_tcb_status_name(c->tcb_status));
    ok &= add_ids(o, "advisory_ids", c->advisory_ids, c->n_advisories);
    ok &= add_ids(o, "qe_advisory_ids", c->qe_advisory_ids, c->n_qe_advisories);
    if (c->tee == ASPS_TEE_TDX)
        ok &= add_ids(o, "tdx_module_advisory_ids", c->tdx_module_advisory_ids,
                      c->n_tdx_module_advisories);
    /* the TCB recovery the verdict was made under */
    ok &= cJSON_AddNumberToObject(o, "tcb_info_evaluation_data_number",
                                  c->tcb_info_evaluation_data_number) != NULL;
    ok &= cJSON_AddNumberToObject(o, "qe_identity_evaluation_data_number",
                                  c->qe_identity_evaluation_data_number) != NULL;
    /* and the tcbDate of the matched levels, as quote verify --json says
     * them (absent when the verification did not get that far) */
    char d[32];
    if (c->tcb_date) {
        asps_time_format(c->tcb_date, d);
        ok &= cJSON_AddStringToObject(o, "tcb_date", d) != NULL;
    }
    if (c->qe_tcb_date) {
        asps_time_format(c->qe_tcb_date, d);
        ok &= cJSON_AddStringToObject(o, "qe_tcb_date", d) != NULL;
    }
    ok &= add_recovery(o, c);
    return ok;
}

/* O's members as text, without the braces of cJSON's "{...}" (malloc'd). */
static char *members(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (n < 2 || s[0] != '{' || s[n - 1] != '}') {
        free(s);
        return NULL;
    }
    memmove(s, s + 1, n - 2);
    s[n - 2] = 0;
    return s;
}

asps_err asps_audit_claims_json(const asps_claims *claims, char **out, asps_errbuf *eb)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL && (claims ? add_claims(o, claims) : cJSON_AddNullToObject(o, "tee") != NULL);
    *out = ok ? members(o) : NULL;
    cJSON_Delete(o);
    return *out ? ASPS_OK : asps_fail(eb, ASPS_E_NOMEM, "audit: out of memory");
}

/* A line is written into the project's one growable writer (writer.h):
 * its failure sticks, and a failed line is dropped whole. Lines are not
 * secrets; the bound is the writer's only limit on a line. */
typedef asps_writer line_buf;

static void lb_raw(line_buf *b, const char *s, size_t n) { asps_writer_put(b, s, n); }

static void lb_lit(line_buf *b, const char *s) { lb_raw(b, s, strlen(s)); }

/* ITEM (one value) as cJSON prints it, written in place: no tree, no
 * allocation but the line's. BOUND: at least its printed length. */
static void lb_item(line_buf *b, cJSON *item, size_t bound)
{
    if (bound > INT32_MAX / 2) {
        b->failed = ASPS_WRITER_FULL; /* never a line with a value left out */
        return;
    }
    char *room = (char *)asps_writer_room(b, bound);
    if (!room)
        return;
    if (!cJSON_PrintPreallocated(item, room, (int)bound + 1, 0)) {
        b->failed = ASPS_WRITER_FULL;
        return;
    }
    asps_writer_advance(b, strnlen(room, bound));
}

/* The one way a string enters a line (as json_str for the claims): S as
 * well-formed UTF-8 (ill-formed bytes replaced by U+FFFD), escaped by
 * cJSON, from a cJSON string item on the stack; or, when S needs no
 * escaping, copied between quotes (the text cJSON would print). */
static void lb_str(line_buf *b, const char *s)
{
    size_t n = strlen(s);
    /* printable ASCII but '"' and '\\' is its own JSON text (RFC 8259 7;
     * cJSON writes it unchanged too): most of a line's strings (time, peer,
     * names, verdict), copied without cJSON's pass */
    size_t plain = 0;
    for (unsigned char c; plain < n && (c = (unsigned char)s[plain]) >= 0x20 && c < 0x7f &&
                          c != '"' && c != '\\';)
        plain++;
    if (plain == n && 6 * n + 16 <= INT32_MAX / 2) { /* lb_item's bound, the same */
        char *room = (char *)asps_writer_room(b, n + 2);
        if (!room)
            return;
        room[0] = '"';
        memcpy(room + 1, s, n);
        room[n + 1] = '"';
        asps_writer_advance(b, n + 2);
        return;
    }
    char *clean = NULL;
    if (!asps_utf8_valid((const uint8_t *)s, n, NULL)) {
        clean = asps_utf8_sanitize((const uint8_t *)s, n, NULL);
        if (!clean) {
            b->failed = ASPS_WRITER_NOMEM;
            return;
        }
        s = clean;
        n = strlen(s);
    }
    cJSON item;
    memset(&item, 0, sizeof item);
    item.type = cJSON_String;
    item.valuestring = (char *)s;
    lb_item(b, &item, 6 * n + 16); /* each byte at most \u00XX; the quotes */
    free(clean);
}

static void lb_num(line_buf *b, double d)
{
    cJSON item;
    memset(&item, 0, sizeof item);
    item.type = cJSON_Number;
    cJSON_SetNumberHelper(&item, d);
    lb_item(b, &item, 64);
}

static void lb_str_or_null(line_buf *b, const char *s)
{
    if (s)
        lb_str(b, s);
    else
        lb_lit(b, "null");
}

/* A name asked for, as the peer sent it, cut after AUDIT_NAME_MAX bytes
 * with its length said ("aaaa...(10000 bytes)"): a name over the policy's
 * limit is refused, and its line must not grow with it (a 64 MiB request
 * of one name of control bytes would write a 384 MB line). */
#define AUDIT_NAME_MAX ASPS_POLICY_MAX_NAME

static void lb_name(line_buf *b, const char *name)
{
    if (!name)
        name = "";
    size_t n = strnlen(name, AUDIT_NAME_MAX + 1);
    if (n <= AUDIT_NAME_MAX) {
        lb_str(b, name);
        return;
    }
    char cut[AUDIT_NAME_MAX + 48];
    memcpy(cut, name, AUDIT_NAME_MAX);
    snprintf(cut + AUDIT_NAME_MAX, sizeof cut - AUDIT_NAME_MAX, "...(%zu bytes)", strlen(name));
    lb_str(b, cut); /* a UTF-8 sequence cut in two becomes U+FFFD */
}

static void lb_names(line_buf *b, const char *const *names, size_t n)
{
    lb_raw(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            lb_raw(b, ",", 1);
        lb_name(b, names[i]);
    }
    lb_raw(b, "]", 1);
}

/* A line: {time, peer, the claims' members (asps_audit_claims_json, or
 * handed in already rendered), app, names asked and granted, grace,
 * verdict, reason}. Each value is printed by cJSON from an item of its
 * own, so the line is the very text one cJSON tree of these members would
 * print (test_audit checks that against a tree), without building the
 * tree per call: a line cost 15.7k instructions that way, most of them
 * cJSON allocating, copying and freeing nodes, keys and print buffers. */
asps_err asps_audit_format(const asps_audit_event *ev, char **line, asps_errbuf *eb)
{
    if (!ev || !line)
        return asps_fail(eb, ASPS_E_ARG, "audit: no event");
    *line = NULL;
    const asps_decision *d = ev->decision;
    char ts[40];
    format_time(ev->time_ms, ts);
    char *claims_s = NULL;
    if (!ev->claims_json && asps_audit_claims_json(ev->claims, &claims_s, eb) != ASPS_OK)
        return ASPS_E_NOMEM;
    const char *claims_j = ev->claims_json ? ev->claims_json : claims_s;
    size_t claims_n = strlen(claims_j);
    line_buf b = asps_writer_init(SIZE_MAX / 2, ASPS_WRITER_PLAIN);
    asps_writer_room(&b, claims_n + 512); /* one allocation for most lines */
    /* the keys with their punctuation, one literal each: the same text as
     * a key at a time */
    lb_lit(&b, "{\"time\":");
    lb_str(&b, ts);
    lb_lit(&b, ",\"peer\":");
    lb_str_or_null(&b, ev->peer);
    lb_raw(&b, ",", 1);
    lb_raw(&b, claims_j, claims_n);
    free(claims_s);
    lb_lit(&b, ",\"app\":");
    lb_str_or_null(&b, ev->app ? ev->app : (d ? d->app : NULL));
    if (d) {
        /* an all-or-nothing denial releases nothing */
        lb_lit(&b, ",\"names_asked\":[");
        for (size_t i = 0; i < d->n; i++) {
            if (i)
                lb_raw(&b, ",", 1);
            lb_name(&b, d->grants[i].name);
        }
        lb_lit(&b, "],\"names_granted\":[");
        size_t k = 0;
        for (size_t i = 0; d->allowed && i < d->n; i++) {
            if (!d->grants[i].granted)
                continue;
            if (k++)
                lb_raw(&b, ",", 1);
            lb_name(&b, d->grants[i].name);
        }
        lb_lit(&b, "],");
    } else {
        lb_lit(&b, ",\"names_asked\":");
        lb_names(&b, ev->names_asked, ev->names_asked ? ev->n_asked : 0);
        lb_lit(&b, ",\"names_granted\":");
        lb_names(&b, ev->names_granted, ev->names_granted ? ev->n_granted : 0);
        lb_raw(&b, ",", 1);
    }
    /* accepted only under the app's tcb_grace_days: until when */
    if (d && d->grace) {
        lb_lit(&b, "\"grace\":{\"until\":");
        if (d->grace_until) {
            char day[32];
            asps_time_format(d->grace_until, day);
            lb_str(&b, day);
        } else {
            lb_lit(&b, "null");
        }
        lb_lit(&b, ",\"left_seconds\":");
        lb_num(&b, (double)d->grace_left_seconds);
        lb_raw(&b, "},", 2);
    }
    const char *verdict = ev->verdict ? ev->verdict : (d && d->allowed ? "granted" : "denied");
    const char *reason = ev->reason ? ev->reason : (d ? d->reason : "");
    lb_lit(&b, "\"verdict\":");
    lb_str(&b, verdict);
    lb_lit(&b, ",\"reason\":");
    lb_str(&b, reason ? reason : "");
    lb_raw(&b, "}\n", 2);
    size_t n;
    *line = (char *)asps_writer_take(&b, &n);
    if (!*line) {
        asps_writer_free(&b);
        return asps_fail(eb, ASPS_E_NOMEM, "audit: out of memory");
    }
    return ASPS_OK;
}

/* Write LIST (in order) to FD, as few writev(2) as it takes; each line's
 * err says whether it went whole. A write cut short (a signal, the file
 * size limit reached inside a line) goes on from where it stopped: the
 * line is whole or its error is the one that stopped it. Sets each
 * waiter's done last. MAX_BYTES: at most this much a writev (the first
 * line whatever its length): PIPE_BUF for stderr, which is shared with the
 * log and other processes, and where only a write of at most PIPE_BUF
 * bytes is taken whole (pipe(7)), as each line was before batching. */
static void write_list(int fd, audit_waiter *list, size_t max_bytes, int *cut)
{
    enum { BATCH = 64 };
    while (list) {
        struct iovec iov[BATCH];
        audit_waiter *w[BATCH];
        int n = 0;
        size_t bytes = 0;
        for (audit_waiter *x = list;
             x && n < BATCH && (n == 0 || (bytes <= max_bytes && x->len <= max_bytes - bytes));
             x = x->next, n++) {
            bytes += x->len;
            w[n] = x;
            iov[n].iov_base = (void *)x->line;
            iov[n].iov_len = x->len;
        }
        audit_waiter *rest = w[n - 1]->next; /* read before any done is set */
        int first = 0, err = 0, partial = 0;
        /* the log ends inside a line (its write was cut by a full disk or
         * the file size limit): that fragment ends here, so that the next
         * line starts on a line of its own and is whole JSON */
        while (*cut && !err) {
            ssize_t r = write(fd, "\n", 1);
            if (r == 1)
                *cut = 0;
            else if (r == 0 || errno != EINTR)
                err = r == 0 ? EIO : errno;
        }
        while (first < n && !err) {
            ssize_t got = writev(fd, iov + first, n - first);
            if (got < 0) {
                if (errno != EINTR)
                    err = errno;
                continue;
            }
            if (got == 0) {
                err = EIO;
                continue;
            }
            /* the lines written whole are done */
            while (first < n && (size_t)got >= iov[first].iov_len) {
                got -= (ssize_t)iov[first].iov_len;
                w[first]->err = 0;
                __atomic_store_n(&w[first]->done, 1, __ATOMIC_RELEASE);
                first++;
                partial = 0;
            }
            if (first < n && got > 0) { /* a line cut: its rest next */
                iov[first].iov_base = (char *)iov[first].iov_base + got;
                iov[first].iov_len -= (size_t)got;
                partial = 1;
            }
        }
        if (err && partial) {
            *cut = 1;
            /* all of a line but its newline is in: the record is whole (one
             * complete JSON text) and the newline comes before the next
             * line. Reporting it unwritten would leave a "granted" record
             * of a grant then withheld. */
            if (iov[first].iov_len == 1 && *(const char *)iov[first].iov_base == '\n') {
                w[first]->err = 0;
                __atomic_store_n(&w[first]->done, 1, __ATOMIC_RELEASE);
                first++;
            }
        }
        for (int i = first; i < n; i++) {
            w[i]->err = err;
            __atomic_store_n(&w[i]->done, 1, __ATOMIC_RELEASE);
        }
        list = rest;
    }
}

/* write_list's arguments, for asps_log_locked */
struct write_job {
    int fd;
    audit_waiter *list;
    size_t max_bytes;
    int *cut;
};

static void write_job_run(void *arg)
{
    struct write_job *j = arg;
    write_list(j->fd, j->list, j->max_bytes, j->cut);
}

/* How long a caller whose line another writes spins before it sleeps: a
 * write takes a few microseconds, a sleep and a wake-up about as long. */
#define SPIN_TURNS 2000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* LINE (N bytes) appended to the log; 0 or the errno that stopped it. */
static int put_line(asps_audit *a, const char *line, size_t n)
{
    audit_waiter me = {.line = line, .len = n};
    pthread_mutex_lock(&a->mu);
    if (a->tail)
        a->tail->next = &me;
    else
        a->head = &me;
    a->tail = &me;
    if (a->writing) {
        pthread_mutex_unlock(&a->mu);
        for (int i = 0; i < SPIN_TURNS && !__atomic_load_n(&me.done, __ATOMIC_ACQUIRE); i++)
            cpu_relax();
        pthread_mutex_lock(&a->mu);
        while (!__atomic_load_n(&me.done, __ATOMIC_ACQUIRE) && a->writing) {
            a->sleepers++;
            pthread_cond_wait(&a->cv, &a->mu);
            a->sleepers--;
        }
    }
    if (!__atomic_load_n(&me.done, __ATOMIC_ACQUIRE)) {
        /* nobody writing, and this line (with any queued after it) still
         * queued: write the queue, until this line is done and then at
         * most one more turn for those that came meanwhile */
        a->writing = 1;
        for (int extra = 0; a->head && extra < 2; extra += __atomic_load_n(&me.done, __ATOMIC_ACQUIRE)) {
            audit_waiter *list = a->head;
            a->head = a->tail = NULL;
            pthread_mutex_unlock(&a->mu);
            pthread_rwlock_rdlock(&a->fd_lock);
            struct write_job job = {a->fd, list, a->own_fd ? SIZE_MAX : PIPE_BUF, &a->cut};
            if (a->own_fd)
                write_job_run(&job);
            else /* stderr: shared with the log, whose lines must not cut ours */
                asps_log_locked(write_job_run, &job);
            pthread_rwlock_unlock(&a->fd_lock);
            pthread_mutex_lock(&a->mu);
            if (a->sleepers)
                pthread_cond_broadcast(&a->cv);
        }
        a->writing = 0;
        if (a->head && a->sleepers) /* left queued: one of them writes */
            pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return me.err;
}

asps_err asps_audit_decision(asps_audit *a, const asps_audit_event *ev, asps_errbuf *eb)
{
    if (!a)
        return asps_fail(eb, ASPS_E_ARG, "audit: log not open");
    char *line;
    ASPS_TRY(asps_audit_format(ev, &line, eb));
    int e = put_line(a, line, strlen(line));
    free(line);
    if (e != 0)
        return asps_fail(eb, ASPS_E_IO, "audit: write failed: %s", strerror(e));
    return ASPS_OK;
}
