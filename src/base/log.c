/* log.c: see log.h. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "utf8.h"

#define LOG_MSG_MAX 4096

static atomic_int log_min = ASPS_LOG_INFO;
static atomic_int log_format = ASPS_LOG_TEXT;
static atomic_int log_fd = 2;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const format_names[] = {"text", "json"};

void asps_log_configure(asps_log_level min, asps_log_format format, int fd)
{
    atomic_store(&log_min, (int)min);
    atomic_store(&log_format, (int)format);
    atomic_store(&log_fd, fd);
}

int asps_log_level_parse(const char *s, asps_log_level *out)
{
    for (int i = 0; s != NULL && i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (asps_log_level)i;
            return 0;
        }
    return -1;
}

int asps_log_format_parse(const char *s, asps_log_format *out)
{
    for (int i = 0; s != NULL && i < 2; i++)
        if (strcmp(s, format_names[i]) == 0) {
            *out = (asps_log_format)i;
            return 0;
        }
    return -1;
}

int asps_log_enabled(asps_log_level level)
{
    return (int)level >= 0 && (int)level <= atomic_load(&log_min);
}

void asps_log_time_rfc3339(char *buf, unsigned long size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
}

/* The length of the well-formed UTF-8 sequence at S (1-4), or 0 when the
 * byte at S does not begin one (utf8.h: RFC 3629; a stray continuation
 * byte, an overlong form, a surrogate, a sequence cut short). */
static size_t utf8_seq(const char *s)
{
    unsigned char c = (unsigned char)*s;
    size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                            : c >= 0xf0 && c <= 0xf4                  ? 4
                                                                      : 0;
    if (n == 0 || strnlen(s, n) < n)
        return 0;
    return asps_utf8_valid((const uint8_t *)s, n, NULL) ? n : 0;
}

/* Appends S to OUT (of SIZE, at *LEN) escaped: JSON string rules when JSON,
 * otherwise control characters as \xNN so one message stays one line. A
 * byte that is not part of well-formed UTF-8 (a path in another encoding, a
 * message cut inside a character) is written as the four characters \xNN
 * in both formats: a JSON text must be UTF-8 (RFC 8259 section 8.1), and
 * journald keeps a line that is not as a blob. A character is written
 * whole or not at all. */
static void put_escaped(char *out, size_t size, size_t *len, const char *s, int json)
{
    for (; *s != '\0' && *len + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        size_t seq = c >= 0x80 ? utf8_seq(s) : 1;
        int n;
        if (json && (c == '"' || c == '\\'))
            n = snprintf(out + *len, size - *len, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            n = json ? snprintf(out + *len, size - *len, "\\u%04x", c)
                     : snprintf(out + *len, size - *len, "\\x%02x", c);
        else if (seq == 0)
            n = snprintf(out + *len, size - *len, json ? "\\\\x%02x" : "\\x%02x", c);
        else {
            memcpy(out + *len, s, seq); /* *len + 7 < size: room for 4 */
            *len += seq;
            s += seq - 1;
            continue;
        }
        *len += (size_t)n;
    }
    out[*len] = '\0';
}

static void put(char *out, size_t size, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (n > size - 1 - *len)
        n = size - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

void asps_logv(asps_log_level level, const char *component, const char *fmt, va_list ap)
{
    if (!asps_log_enabled(level))
        return;
    char msg[LOG_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t ml = strlen(msg);
    while (ml > 0 && msg[ml - 1] == '\n')
        msg[--ml] = '\0';
    char when[32];
    asps_log_time_rfc3339(when, sizeof when);
    const char *comp = component != NULL ? component : "asps";
    char line[LOG_MSG_MAX * 2 + 256];
    size_t len = 0;
    line[0] = '\0';
    if (atomic_load(&log_format) == ASPS_LOG_JSON) {
        put(line, sizeof line, &len, "{\"time\":\"");
        put(line, sizeof line, &len, when);
        put(line, sizeof line, &len, "\",\"level\":\"");
        put(line, sizeof line, &len, level_names[level]);
        put(line, sizeof line, &len, "\",\"component\":\"");
        put_escaped(line, sizeof line, &len, comp, 1);
        put(line, sizeof line, &len, "\",\"msg\":\"");
        put_escaped(line, sizeof line - 8, &len, msg, 1); /* room for the tail */
        put(line, sizeof line, &len, "\"}\n");
    } else {
        char head[96];
        snprintf(head, sizeof head, "%s %-5s ", when, level_names[level]);
        put(line, sizeof line, &len, head);
        put_escaped(line, sizeof line, &len, comp, 0);
        put(line, sizeof line, &len, ": ");
        put_escaped(line, sizeof line - 8, &len, msg, 0);
        put(line, sizeof line, &len, "\n");
    }
    int fd = atomic_load(&log_fd);
    pthread_mutex_lock(&log_mu);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* nowhere to say it */
        off += (size_t)w;
    }
    pthread_mutex_unlock(&log_mu);
}

void asps_log_locked(void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&log_mu);
    fn(ctx);
    pthread_mutex_unlock(&log_mu);
}

void asps_log(asps_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    asps_logv(level, component, fmt, ap);
    va_end(ap);
}

int asps_log_limiter_admit(asps_log_limiter *l, int64_t now_ms)
{
    pthread_mutex_lock(&l->mu);
    if (!l->started || now_ms - l->window_start >= l->window_ms) {
        if (l->dropped)
            asps_log(ASPS_LOG_WARN, l->component, "%u log lines suppressed in the last %d s",
                     l->dropped, (int)(l->window_ms / 1000));
        l->started = 1;
        l->window_start = now_ms;
        l->in_window = 0;
        l->dropped = 0;
    }
    int show = l->in_window < l->burst;
    if (show)
        l->in_window++;
    else
        l->dropped++;
    pthread_mutex_unlock(&l->mu);
    return show;
}
