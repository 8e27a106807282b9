/* util.c: hex, time and file helpers; see util.h. */
#include "util.h"
#include "reader.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int asps_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len)
{
    if (hex == NULL || hex_len != 2 * out_len)
        return -1;
    for (size_t i = 0; i < out_len; i++) {
        int hi = hexval((unsigned char)hex[2 * i]), lo = hexval((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int asps_hex_decode_alloc(const char *hex, uint8_t **out, size_t *out_len)
{
    size_t n = strlen(hex);
    if (n % 2)
        return -1;
    uint8_t *b = malloc(n / 2 + 1);
    if (!b)
        return -1;
    if (asps_hex_decode(hex, n, b, n / 2) != 0) {
        free(b);
        return -1;
    }
    *out = b;
    *out_len = n / 2;
    return 0;
}

void asps_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * len] = 0;
}

void asps_hex_encode_upper(const uint8_t *in, size_t len, char *out)
{
    asps_hex_encode(in, len, out);
    for (char *p = out; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
}

static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return -1;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

int64_t asps_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int asps_time_parse(const char *s, int64_t *out)
{
    if (s == NULL || *s == 0)
        return -1;
    int all_digits = 1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            all_digits = 0;
    if (all_digits) {
        if (strlen(s) > 15)
            return -1;
        *out = strtoll(s, NULL, 10);
        return 0;
    }
    int Y, M, D, h, m, sec;
    const char *p = s;
    if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
        digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) || *p++ != ':' ||
        digits(&p, 2, &sec))
        return -1;
    /* the day must exist in its month: "2026-02-30" is an error, never
     * 2026-03-02 (a TIME, a recovery date, a signed tcbDate alike) */
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || h > 23 || m > 59 || sec > 60)
        return -1;
    if (D > mdays[M - 1] + (M == 2 && ((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0)))
        return -1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p != 0)
        return -1;
    *out = asps_days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec - off;
    return 0;
}

void asps_time_format(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

asps_err asps_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
                        asps_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return asps_fail(eb, ASPS_E_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory reading %s", path);
    }
    for (;;) {
        if (n == cap) {
            /* cap grows to max + 1, so that a file of exactly max bytes is
             * read whole (its end seen) and one byte more is refused */
            if (cap > max) {
                free(buf);
                fclose(f);
                return asps_fail(eb, ASPS_E_LIMIT, "%s is larger than %zu bytes", path, max);
            }
            cap = cap * 2 > max ? max + 1 : cap * 2;
            uint8_t *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return asps_fail(eb, ASPS_E_NOMEM, "out of memory reading %s", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return asps_fail(eb, ASPS_E_IO, "error reading %s", path);
    }
    if (n > max) {
        free(buf);
        return asps_fail(eb, ASPS_E_LIMIT, "%s is larger than %zu bytes", path, max);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return ASPS_OK;
}

asps_err asps_write_file_atomic(const char *path, const void *data, size_t len,
                                unsigned mode, asps_errbuf *eb)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return asps_fail(eb, ASPS_E_ARG, "path too long");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return asps_fail(eb, ASPS_E_IO, "cannot create temp file for %s: %s", path, strerror(errno));
    if (fchmod(fd, mode) != 0)
        goto fail;
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    return ASPS_OK;
fail : {
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return asps_fail(eb, ASPS_E_IO, "cannot write %s: %s", path, strerror(e));
}
}

int asps_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

int64_t asps_now_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *file_kind(mode_t m)
{
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISDIR(m)  ? "a folder"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a file";
}

asps_err asps_read_regular_file(const char *path, size_t max, uint8_t **out, size_t *len,
                                asps_errbuf *eb)
{
    return asps_read_regular_file_st(path, max, out, len, NULL, eb);
}

asps_err asps_read_regular_file_st(const char *path, size_t max, uint8_t **out, size_t *len,
                                   struct stat *st_out, asps_errbuf *eb)
{
    /* O_NONBLOCK: open() of a FIFO without a writer returns at once instead
     * of waiting for one; fstat then refuses it. (For regular files the flag
     * changes nothing.) */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return asps_fail(eb, ASPS_E_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return asps_fail(eb, ASPS_E_IO, "cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return asps_fail(eb, ASPS_E_IO, "%s is not a regular file (%s)", path, file_kind(st.st_mode));
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return asps_fail(eb, ASPS_E_LIMIT, "%s is larger than %zu bytes", path, max);
    }
    /* One byte more than the size says: a file that grew is read up to max
     * and then refused, never silently cut. */
    size_t cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory reading %s", path);
    }
    size_t n = 0;
    while (n < cap) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            asps_cleanse_free(buf, n);
            close(fd);
            return asps_fail(eb, ASPS_E_IO, "error reading %s: %s", path, strerror(e));
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    if (n == cap) {
        asps_cleanse_free(buf, n);
        if (n > max)
            return asps_fail(eb, ASPS_E_LIMIT, "%s is larger than %zu bytes", path, max);
        return asps_fail(eb, ASPS_E_IO, "%s grew while it was read (write it atomically: a "
                                        "temporary file, then rename)", path);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    if (st_out)
        *st_out = st;
    return ASPS_OK;
}

void asps_cleanse_free(void *p, size_t len)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, len);
    free(p);
}

void asps_cleanse_free_str(char *s)
{
    if (s)
        asps_cleanse_free(s, strlen(s));
}

int asps_sha256(const void *p, size_t len, uint8_t out[32])
{
    return asps_sha256_2(p, len, NULL, 0, out);
}

/* SHA-256 fetched from the default provider once: EVP_sha256() makes
 * OpenSSL 3 look the algorithm up again (a lock and a name lookup) on
 * every EVP_DigestInit_ex, and a new connection hashes several times. */
static EVP_MD *sha256_fetched;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
    ERR_clear_error();
}

const EVP_MD *asps_sha256_md(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_fetched ? sha256_fetched : EVP_sha256();
}

int asps_sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 32;
    int ok = md && EVP_DigestInit_ex(md, asps_sha256_md(), NULL) && EVP_DigestUpdate(md, a, alen) &&
             (!blen || EVP_DigestUpdate(md, b, blen)) && EVP_DigestFinal_ex(md, out, &n);
    EVP_MD_CTX_free(md);
    if (!ok)
        memset(out, 0, 32);
    return ok;
}

int asps_pem_next_cert_der(BIO *b, uint8_t **der, size_t *len)
{
    char *name = NULL, *header = NULL;
    unsigned char *d = NULL;
    long dl = 0;
    int ok = b && PEM_read_bio(b, &name, &header, &d, &dl) == 1 && !strcmp(name, PEM_STRING_X509) &&
             dl > 0;
    OPENSSL_free(name);
    OPENSSL_free(header);
    ERR_clear_error();
    if (!ok) {
        OPENSSL_free(d);
        return 0;
    }
    *der = d;
    *len = (size_t)dl;
    return 1;
}

/* The strict form's lines: RFC 7468 section 3 ("generators MUST wrap the
 * base64-encoded lines so that each line consists of exactly 64
 * characters except for the final line"), what OpenSSL's PEM_write and so
 * gRPC's peer certificate text are. */
#define PEM_CERT_BEGIN "-----BEGIN CERTIFICATE-----\n"
#define PEM_CERT_END "-----END CERTIFICATE-----"
#define PEM_LINE 64

/* The base64 alphabet (RFC 4648, section 4): 1 for its 64 characters, 2
 * for the pad '=', 0 for anything else. A table: a certificate's PEM is
 * checked a character at a time, 12.7 KB for an RA-TLS one. */
static const uint8_t B64_CLASS[256] = {
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
    ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['+'] = 1, ['/'] = 1,
    ['='] = 2,
};

int asps_pem_cert_der_strict(const char *pem, size_t len, uint8_t **der, size_t *dlen)
{
    size_t n = pem ? strnlen(pem, len) : 0;
    asps_reader r = asps_reader_init((const uint8_t *)pem, n);
    const uint8_t *p;
    if (n > INT32_MAX || !asps_reader_bytes(&r, &p, sizeof PEM_CERT_BEGIN - 1) ||
        memcmp(p, PEM_CERT_BEGIN, sizeof PEM_CERT_BEGIN - 1) != 0)
        return 0;
    uint8_t *text = OPENSSL_malloc(n ? n : 1); /* the base64 characters, lines joined */
    if (!text)
        return 0;
    size_t k = 0;
    int ok = 0;
    for (;;) { /* a line: 64 characters and '\n'; the last one 1 to 64 */
        const uint8_t *line;
        size_t m;
        if (!asps_reader_find(&r, '\n', PEM_LINE + 1, &m) || m == 0 ||
            !asps_reader_bytes(&r, &line, m) || !asps_reader_skip(&r, 1))
            goto done; /* empty, too long or unterminated: not the strict form */
        unsigned bad = 0;
        for (size_t i = 0; i < m; i++)
            bad |= B64_CLASS[line[i]] == 0;
        if (bad)
            goto done;
        memcpy(text + k, line, m);
        k += m;
        asps_reader t = r;
        const uint8_t *e;
        if (m < PEM_LINE || (asps_reader_bytes(&t, &e, sizeof PEM_CERT_END - 1) &&
                             memcmp(e, PEM_CERT_END, sizeof PEM_CERT_END - 1) == 0))
            break; /* that was the last line */
    }
    /* the END line next (the text after it is not read: the first block);
     * '=' only as the last one or two characters */
    size_t pad = k > 0 && text[k - 1] == '=' ? (k > 1 && text[k - 2] == '=' ? 2 : 1) : 0;
    if (memchr(text, '=', k - pad))
        goto done;
    uint8_t nl = '\n';
    if (!asps_reader_bytes(&r, &p, sizeof PEM_CERT_END - 1) ||
        memcmp(p, PEM_CERT_END, sizeof PEM_CERT_END - 1) != 0 || k == 0 || k % 4 != 0 ||
        (asps_reader_left(&r) > 0 && (!asps_reader_u8(&r, &nl) || nl != '\n')))
        goto done; /* the END line whole: a line end or the end of the text next */
    uint8_t *out = OPENSSL_malloc(k / 4 * 3);
    int got = out ? EVP_DecodeBlock(out, text, (int)k) : -1;
    if (got < 0 || (size_t)got < pad + 1) {
        OPENSSL_free(out);
        goto done;
    }
    *der = out;
    *dlen = (size_t)got - pad;
    ok = 1;
done:
    OPENSSL_free(text);
    ERR_clear_error();
    return ok;
}

int asps_pem_cert_der(const char *pem, size_t len, uint8_t **der, size_t *dlen)
{
    /* the strict form first: one pass, no line-by-line BIO reads (a 12 KB
     * RA-TLS certificate: 13 us against 46 us); anything else as before */
    if (asps_pem_cert_der_strict(pem, len, der, dlen))
        return 1;
    size_t n = pem ? strnlen(pem, len) : 0;
    if (n == 0 || n > INT32_MAX)
        return 0;
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    int ok = asps_pem_next_cert_der(b, der, dlen);
    BIO_free(b);
    return ok;
}

#define NEAREST_MAX 128

/* Optimal string alignment distance of A and B (both shorter than
 * NEAREST_MAX), case folded. */
static size_t osa_distance(const char *a, size_t n, const char *b, size_t m)
{
    static const size_t W = NEAREST_MAX;
    size_t d[3][NEAREST_MAX]; /* rows i-2, i-1, i (mod 3) */
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t *cur = d[i % 3], *prev = d[(i - 1) % 3], *prev2 = d[(i + 1) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= m && j < W; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t best = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
    }
    return d[n % 3][m];
}

const char *asps_nearest_word(const char *word, const char *const *words)
{
    size_t n = word ? strlen(word) : 0;
    if (n >= NEAREST_MAX || !words)
        return NULL;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    int tie = 0;
    for (size_t i = 0; words[i]; i++) {
        size_t m = strlen(words[i]);
        if (m >= NEAREST_MAX)
            continue;
        size_t d = osa_distance(word, n, words[i], m);
        size_t limit = m / 3 < 1 ? 1 : m / 3 > 3 ? 3 : m / 3;
        if (d > limit)
            continue;
        if (d < best_d) {
            best = words[i];
            best_d = d;
            tie = 0;
        } else if (d == best_d && strcmp(best, words[i]) != 0) {
            tie = 1;
        }
    }
    return tie ? NULL : best;
}
