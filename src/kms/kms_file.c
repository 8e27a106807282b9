/* kms_file.c: the JSON file KMS backend (format in asps/kms.h).
 *
 * Every get looks at the file (stat) and serves it as it is now: an edit, a
 * replacement or a file that went missing and came back is seen by the next
 * get (a missing or broken file is UNAVAILABLE for that call, never a
 * crash). What it costs: a call fetches its names one get at a time
 * (service.c), and reading and parsing the whole file per get made a call
 * cost names x file size (issue 17). So the file's text is kept, with an
 * index of its names, between gets, keyed by the file's identity as stat
 * gives it: device, inode, size, mtime and ctime. Any change to the file
 * (a write, chmod, a rename onto it, a new file in its place) moves its
 * ctime, which no one can set back, so a get that finds any of the five
 * different reads the file again; a get then costs a stat, a lookup and the
 * decoding of its own value.
 * (Not seen: a write through a shared memory mapping of the file made
 * before the read, into a page already dirty: the kernel moves mtime and
 * ctime when a page is first made writable, not on every store. Edit the
 * file with write(2) or replace it by rename, as editors do.)
 * Timestamps have a granularity (a clock tick, up to seconds on some file
 * systems), so two writes within one can leave the same ctime: a text is
 * kept only when the file's ctime was at least ASPS_KMS_FILE_SETTLE_MS old
 * when it began to be read. A file changed more recently is read on every
 * get until it settles. (A network file system whose server clock is more
 * than that behind ours could hide a same-size write within one of its
 * ticks.) The kept text holds the secrets: it is cleansed when the file
 * changes, goes missing or breaks, and when the backend is freed.
 * The file is opened without blocking and must be a regular file: a FIFO in
 * its place is refused at once instead of holding the fetch (a hung network
 * file system can still block; kms.c bounds every fetch by its deadline).
 * The text is read without cJSON (json.h, asps_json_raw_*): cJSON keeps
 * strings NUL-terminated and would cut "pw\u0000tail" to "pw"; here every
 * value is decoded with its length, through the bounds-checked reader, and
 * keys are compared whole. The text is checked against RFC 8259 strictly
 * (a raw control character in a string is an error).
 * Trusts the file's owner (the tenant); still parses it strictly, and never
 * puts a value, or a piece of one, in an error message. Credentials are not
 * used: access to the file is access to the secrets.
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "kms.h"
#include "kms_backend.h"
#include "json.h"
#include "util.h"

/* How old (ms) a file's ctime must be when its read begins for its text to
 * be kept: above the timestamp granularity of common file systems (1 s on
 * some, a clock tick on most). */
#define ASPS_KMS_FILE_SETTLE_MS 2000

/* One name of the file: its key decoded, its value's text. */
typedef struct kf_entry {
    uint8_t *key;
    size_t klen;
    asps_reader val; /* in the text it was indexed from */
    int dup;         /* the key appears more than once */
} kf_entry;

/* A file's text and its names sorted by key. */
typedef struct kf_snap {
    unsigned refs; /* under kms_file.mu */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    uint8_t *text;
    size_t len;
    kf_entry *ents;
    size_t n;
    int local; /* its path was all local, without symlinks, before and after the read */
} kf_snap;

typedef struct kms_file {
    char *path;
    asps_kms_encoding plain;
    pthread_mutex_t mu;
    kf_snap *cur; /* the kept text, NULL when none may be kept */
} kms_file;

/* For tests and benchmarks (declared in kms_backend.h). */
static unsigned long reads_total;
static long settle_ms = ASPS_KMS_FILE_SETTLE_MS;

unsigned long asps_kms_file__reads(void)
{
    return __atomic_load_n(&reads_total, __ATOMIC_RELAXED);
}

void asps_kms_file__set_settle_ms(long ms)
{
    __atomic_store_n(&settle_ms, ms, __ATOMIC_RELAXED);
}

static void (*between_hook)(void *);
static void *between_ctx;

void asps_kms_file__set_between_hook(void (*fn)(void *), void *ctx)
{
    between_ctx = ctx;
    between_hook = fn;
}

static void (*after_read_hook)(void *);
static void *after_read_ctx;

void asps_kms_file__set_after_read_hook(void (*fn)(void *), void *ctx)
{
    after_read_ctx = ctx;
    after_read_hook = fn;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict standard base64 (RFC 4648 section 4) of the N bytes at S: padding
 * optional but only at the end, no whitespace, no other characters (a 0x00
 * among them is malformed, not an end). 0 ok, -1 malformed. */
static int b64_decode(const uint8_t *s, size_t n, uint8_t **out, size_t *out_len)
{
    size_t pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    if (n % 4 == 1 || (pad && (n + pad) % 4 != 0))
        return -1;
    size_t cap = n / 4 * 3 + 3;
    uint8_t *b = malloc(cap);
    if (!b)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0) {
            asps_cleanse_free(b, cap);
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, so each value has one spelling. */
    if (bits && (acc & ((1u << bits) - 1))) {
        asps_cleanse_free(b, cap);
        return -1;
    }
    *out = b;
    *out_len = o;
    return 0;
}

static asps_err copy_bytes(const uint8_t *s, size_t n, uint8_t **out, size_t *len, asps_errbuf *eb)
{
    uint8_t *b = malloc(n + 1);
    if (!b)
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    if (n)
        memcpy(b, s, n);
    b[n] = 0;
    *out = b;
    *len = n;
    return ASPS_OK;
}

static asps_err decode_b64(const uint8_t *s, size_t n, const char *ref, uint8_t **out, size_t *len,
                           asps_errbuf *eb)
{
    if (b64_decode(s, n, out, len) != 0)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\": malformed base64", ref);
    return ASPS_OK;
}

static int has_prefix(const uint8_t *s, size_t n, const char *p)
{
    size_t pn = strlen(p);
    return n >= pn && memcmp(s, p, pn) == 0;
}

/* One string value, decoded whole: *s (cleansed and freed by the caller). */
static asps_err string_of(asps_reader v, const char *ref, uint8_t **s, size_t *n, asps_errbuf *eb)
{
    asps_errbuf jeb;
    asps_err e = asps_json_raw_string(v, s, n, &jeb);
    if (e == ASPS_E_NOMEM)
        return asps_fail(eb, e, "kms: out of memory");
    if (e != ASPS_OK)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\": malformed string", ref);
    return ASPS_OK;
}

/* A value: "base64:..." | "text:..." | "..." | {"base64": "..."} | {"text": "..."}. */
static asps_err decode_entry(const kms_file *f, asps_reader v, const char *ref, uint8_t **out,
                             size_t *len, asps_errbuf *eb)
{
    uint8_t *s = NULL;
    size_t n = 0;
    asps_err e;
    asps_json_raw_kind kind = asps_json_raw_kind_of(v);
    if (kind == ASPS_JSON_RAW_STRING) {
        ASPS_TRY(string_of(v, ref, &s, &n, eb));
        if (has_prefix(s, n, "base64:"))
            e = decode_b64(s + 7, n - 7, ref, out, len, eb);
        else if (has_prefix(s, n, "text:"))
            e = copy_bytes(s + 5, n - 5, out, len, eb);
        else if (f->plain == ASPS_KMS_PLAIN_BASE64)
            e = decode_b64(s, n, ref, out, len, eb);
        else
            e = copy_bytes(s, n, out, len, eb);
        asps_cleanse_free(s, n);
        return e;
    }
    asps_json_iter it;
    asps_reader key, val;
    if (kind == ASPS_JSON_RAW_OBJECT && asps_json_raw_iter(v, &it) &&
        asps_json_raw_next(&it, &key, &val) && !asps_json_raw_next(&it, NULL, NULL) &&
        asps_json_raw_kind_of(val) == ASPS_JSON_RAW_STRING) {
        int b64 = asps_json_raw_string_equals(key, "base64", 6);
        if (b64 || asps_json_raw_string_equals(key, "text", 4)) {
            ASPS_TRY(string_of(val, ref, &s, &n, eb));
            e = b64 ? decode_b64(s, n, ref, out, len, eb) : copy_bytes(s, n, out, len, eb);
            asps_cleanse_free(s, n);
            return e;
        }
    }
    return asps_fail(eb, ASPS_E_UNAVAILABLE,
                     "kms: entry \"%s\": expected a string or {\"base64\": ...} or {\"text\": ...}",
                     ref);
}

static void snap_free(kf_snap *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        asps_cleanse_free(s->ents[i].key, s->ents[i].klen);
    free(s->ents);
    asps_cleanse_free(s->text, s->len);
    free(s);
}

static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int ent_cmp(const void *x, const void *y)
{
    const kf_entry *a = x, *b = y;
    return key_cmp(a->key, a->klen, b->key, b->klen);
}

/* Parse S's text (WHAT names it in errors) and index its names. */
static asps_err snap_index(kf_snap *s, const char *what, asps_errbuf *eb)
{
    asps_reader top, key, val;
    if (asps_json_raw_parse((const char *)s->text, s->len, what, &top, eb) != ASPS_OK) {
        asps_err_prefix(eb, "kms: ");
        return ASPS_E_UNAVAILABLE;
    }
    asps_json_iter it;
    if (asps_json_raw_kind_of(top) != ASPS_JSON_RAW_OBJECT || !asps_json_raw_iter(top, &it))
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: %s: expected a JSON object", what);
    size_t n = 0;
    while (asps_json_raw_next(&it, NULL, NULL))
        n++;
    s->ents = calloc(n ? n : 1, sizeof *s->ents);
    if (!s->ents)
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    asps_json_raw_iter(top, &it);
    while (s->n < n && asps_json_raw_next(&it, &key, &val)) {
        kf_entry *e = &s->ents[s->n];
        asps_errbuf jeb;
        asps_err r = asps_json_raw_string(key, &e->key, &e->klen, &jeb);
        if (r == ASPS_E_NOMEM)
            return asps_fail(eb, r, "kms: out of memory");
        if (r != ASPS_OK) /* the parse checked every key: not reached */
            return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: %s: malformed key", what);
        e->val = val;
        s->n++;
    }
    qsort(s->ents, s->n, sizeof *s->ents, ent_cmp);
    for (size_t i = 1; i < s->n; i++)
        if (ent_cmp(&s->ents[i - 1], &s->ents[i]) == 0)
            s->ents[i - 1].dup = s->ents[i].dup = 1;
    return ASPS_OK;
}

/* REF's value in S (indexed). */
static asps_err snap_lookup(const kf_snap *s, asps_kms_encoding plain, const char *ref,
                            uint8_t **value, size_t *vlen, asps_errbuf *eb)
{
    size_t rn = strlen(ref), lo = 0, hi = s->n;
    const kf_entry *hit = NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp((const uint8_t *)ref, rn, s->ents[mid].key, s->ents[mid].klen);
        if (c == 0) {
            hit = &s->ents[mid];
            break;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!hit)
        return asps_fail(eb, ASPS_E_NOT_FOUND, "kms: no entry \"%s\"", ref);
    if (hit->dup)
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\" appears more than once", ref);
    kms_file f = {.plain = plain};
    ASPS_TRY(decode_entry(&f, hit->val, ref, value, vlen, eb));
    if (*vlen > ASPS_KMS_MAX_VALUE) {
        asps_kms_value_free(*value, *vlen);
        *value = NULL;
        *vlen = 0;
        return asps_fail(eb, ASPS_E_UNAVAILABLE, "kms: entry \"%s\" is larger than %u bytes", ref,
                         ASPS_KMS_MAX_VALUE);
    }
    return ASPS_OK;
}

/* The value of REF in the KMS file TEXT (LEN bytes; WHAT names it in
 * errors), through the same index as a get. Not static: the fuzz target
 * drives it. */
asps_err asps_kms_file_lookup(const char *text, size_t len, const char *what, int plain_base64,
                              const char *ref, uint8_t **value, size_t *vlen, asps_errbuf *eb);
asps_err asps_kms_file_lookup(const char *text, size_t len, const char *what, int plain_base64,
                              const char *ref, uint8_t **value, size_t *vlen, asps_errbuf *eb)
{
    kf_snap *s = calloc(1, sizeof *s);
    if (!s || !(s->text = malloc(len + 1))) {
        free(s);
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    }
    if (len)
        memcpy(s->text, text, len);
    s->text[len] = 0;
    s->len = len;
    asps_err e = snap_index(s, what, eb);
    if (e == ASPS_OK)
        e = snap_lookup(s, plain_base64 ? ASPS_KMS_PLAIN_BASE64 : ASPS_KMS_PLAIN_TEXT, ref, value,
                        vlen, eb);
    snap_free(s);
    return e;
}

static void snap_unref(kms_file *f, kf_snap *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&f->mu);
    unsigned left = --s->refs;
    pthread_mutex_unlock(&f->mu);
    if (left == 0)
        snap_free(s); /* cleansing a large text: not under the lock */
}

static int same_file(const kf_snap *s, const struct stat *st)
{
    return s->dev == st->st_dev && s->ino == st->st_ino && s->size == st->st_size &&
           s->mtime.tv_sec == st->st_mtim.tv_sec && s->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           s->ctime.tv_sec == st->st_ctim.tv_sec && s->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static int64_t ns_of(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* Read and index the file; T0: the time just before. *keep: the text may
 * be kept for later gets. Its identity is the fstat of the descriptor the
 * bytes came from, never a stat of the path taken apart from the read: a
 * path swapped between the two (a symlink re-pointed) would pair one
 * file's identity with another's text, and the text would be served for
 * the first file whenever the path named it again. */
static asps_err snap_load(const kms_file *f, const struct timespec *t0, kf_snap **out, int *keep,
                          asps_errbuf *eb)
{
    *out = NULL;
    *keep = 0;
    uint8_t *buf;
    size_t blen;
    struct stat st;
    __atomic_add_fetch(&reads_total, 1, __ATOMIC_RELAXED);
    asps_err e = asps_read_regular_file_st(f->path, ASPS_KMS_FILE_MAX, &buf, &blen, &st, eb);
    if (e != ASPS_OK) {
        asps_err_prefix(eb, "kms: ");
        return e == ASPS_E_NOMEM ? e : ASPS_E_UNAVAILABLE;
    }
    kf_snap *s = calloc(1, sizeof *s);
    if (!s) {
        asps_cleanse_free(buf, blen);
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    }
    s->text = buf;
    s->len = blen;
    s->refs = 1;
    e = snap_index(s, f->path, eb);
    if (e != ASPS_OK) {
        snap_free(s);
        return e;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->size = st.st_size;
    s->mtime = st.st_mtim;
    s->ctime = st.st_ctim;
    *keep = ns_of(&st.st_ctim) <
            ns_of(t0) - (int64_t)__atomic_load_n(&settle_ms, __ATOMIC_RELAXED) * 1000000;
    *out = s;
    return ASPS_OK;
}

int asps_kms_file__fs_is_local(unsigned long f_type)
{
    switch (f_type) {
    case EXT4_SUPER_MAGIC: /* ext2, ext3 and ext4 share it */
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case F2FS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case RAMFS_MAGIC:
    case OVERLAYFS_SUPER_MAGIC: /* a container's root */
        return 1;
    default: /* NFS, SMB, FUSE, anything not known to be local */
        return 0;
    }
}

/* Whether PATH may be looked at from a caller's thread: at most
 * ASPS_KMS_FILE_MAX_DEPTH '/' (so at most 65 components), and every prefix
 * as written (each folder the walk looks a name up in, ".." included) and
 * the file itself
 * on a local file system and not a symlink. Symlinks are refused rather
 * than followed: a symlink's target can be re-pointed at any time through
 * a network file system to the very same file, which no identity check
 * would notice (a reviewer did it through /proc); and the caller's look
 * (openat2 with RESOLVE_NO_SYMLINKS, get_now) refuses them too, so a
 * symlink put on the path later is never followed there. Linear: one
 * statfs and one lstat per component, each walking its prefix (a cap, as
 * a path of 1,900 "./" took seconds). Run on a fetch thread. */
#define ASPS_KMS_FILE_MAX_DEPTH 64

int asps_kms_file__path_is_local(const char *p)
{
    if (!p || !*p)
        return 0;
    size_t n = strlen(p), comps = 0;
    for (size_t i = 0; i < n; i++)
        comps += p[i] == '/';
    if (comps > ASPS_KMS_FILE_MAX_DEPTH || n >= 4096)
        return 0;
    char q[4096];
    struct statfs fs;
    struct stat st;
    if (p[0] != '/' && (statfs(".", &fs) != 0 || !asps_kms_file__fs_is_local((unsigned long)fs.f_type)))
        return 0; /* relative: the walk starts at the working folder */
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '/')
            continue;
        if (i == 0) {
            q[0] = '/', q[1] = 0;
        } else {
            memcpy(q, p, i);
            q[i] = 0;
        }
        if (lstat(q, &st) != 0 || S_ISLNK(st.st_mode) || statfs(q, &fs) != 0 ||
            !asps_kms_file__fs_is_local((unsigned long)fs.f_type))
            return 0;
    }
    return 1;
}

/* The path looked at without following any symlink (openat2(2),
 * RESOLVE_NO_SYMLINKS: a symlink anywhere on it is an error, never
 * walked), its stat in *ST. 0 when that fails, or the kernel lacks openat2
 * (before 5.6): the fetch goes to a fetch thread. */
static int stat_no_symlinks(const char *path, struct stat *st)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS;
    long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd < 0)
        return 0;
    int ok = fstat((int)fd, st) == 0;
    close((int)fd);
    return ok;
}

/* The kept text if the file ST describes is the one it was read from (a
 * reference: snap_unref), else NULL. */
static kf_snap *kept_if_same(kms_file *f, const struct stat *st)
{
    kf_snap *s = NULL;
    pthread_mutex_lock(&f->mu);
    if (f->cur && same_file(f->cur, st)) {
        s = f->cur;
        s->refs++;
    }
    pthread_mutex_unlock(&f->mu);
    return s;
}

/* get_now (kms.h): the kept text of an unchanged file, on the caller's
 * thread, when its path was all local and free of symlinks before and
 * after the read that kept it (asps_kms_file__path_is_local), looked at
 * now without following any symlink. What this look can still wait on: a
 * network file system mounted onto a folder of the path since that read
 * (the look then finds another file, and the read that follows, on a
 * fetch thread, keeps nothing for this thread to answer); if its server
 * hangs at that very moment, this one look waits with it. */
static int file_get_now(void *impl, const char *ref, const char *credential, uint8_t **value,
                        size_t *len, asps_err *result, asps_errbuf *eb)
{
    (void)credential;
    kms_file *f = impl;
    int local = 0;
    pthread_mutex_lock(&f->mu);
    local = f->cur && f->cur->local;
    pthread_mutex_unlock(&f->mu);
    struct stat st;
    if (!local || !stat_no_symlinks(f->path, &st) || !S_ISREG(st.st_mode))
        return 0; /* the fetch thread says why */
    kf_snap *s = kept_if_same(f, &st);
    if (!s || !s->local) {
        snap_unref(f, s);
        return 0; /* changed, or not kept: read on a fetch thread */
    }
    *result = snap_lookup(s, f->plain, ref, value, len, eb);
    snap_unref(f, s);
    return 1;
}

static asps_err file_get(void *impl, const char *ref, const char *credential, int64_t deadline_ms,
                         uint8_t **value, size_t *len, asps_errbuf *eb)
{
    (void)credential;
    (void)deadline_ms; /* stat(), open() and read() take no timeout: kms.c bounds the wait */
    kms_file *f = impl;
    struct timespec t0;
    struct stat st;
    clock_gettime(CLOCK_REALTIME, &t0);
    int have = stat(f->path, &st) == 0 && S_ISREG(st.st_mode);
    kf_snap *s = have ? kept_if_same(f, &st) : NULL, *old = NULL;
    if (!s) {
        if (between_hook)
            between_hook(between_ctx); /* tests: the path swapped after the stat */
        int local = asps_kms_file__path_is_local(f->path);
        int keep;
        asps_err e = snap_load(f, &t0, &s, &keep, eb);
        /* local only if so on both sides of the read: a path re-pointed
         * meanwhile leaves the text to the fetch threads */
        if (after_read_hook)
            after_read_hook(after_read_ctx); /* tests */
        if (e == ASPS_OK)
            s->local = local && asps_kms_file__path_is_local(f->path);
        /* whatever was kept is stale now: dropped (cleansed) */
        pthread_mutex_lock(&f->mu);
        old = f->cur;
        f->cur = NULL;
        if (e == ASPS_OK && keep) {
            s->refs++;
            f->cur = s;
        }
        pthread_mutex_unlock(&f->mu);
        snap_unref(f, old);
        if (e != ASPS_OK)
            return e;
    }
    asps_err e = snap_lookup(s, f->plain, ref, value, len, eb);
    snap_unref(f, s);
    return e;
}

static void file_free(void *impl)
{
    kms_file *f = impl;
    if (f) {
        snap_unref(f, f->cur);
        pthread_mutex_destroy(&f->mu);
        free(f->path);
        free(f);
    }
}

static const asps_kms_ops file_ops = {"file", file_get, file_free, file_get_now};

asps_err asps_kms_file_backend(const char *path, asps_kms_encoding plain, const asps_kms_ops **ops,
                               void **impl, asps_errbuf *eb)
{
    if (!path || !*path)
        return asps_fail(eb, ASPS_E_ARG, "kms: file backend needs a path");
    kms_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return asps_fail(eb, ASPS_E_NOMEM, "kms: out of memory");
    }
    f->plain = plain;
    pthread_mutex_init(&f->mu, NULL);
    *ops = &file_ops;
    *impl = f;
    return ASPS_OK;
}
