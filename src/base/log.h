/* log.h: the server's one logger. Every line carries an RFC 3339 time (UTC,
 * milliseconds) and a level, as text or as one JSON object per line:
 *
 *   2026-12-05T01:10:00.123Z warn  rpc: the KMS is unreachable: ...
 *   {"time":"2026-12-05T01:10:00.123Z","level":"warn","component":"rpc","msg":"..."}
 *
 * Lines below the configured level are dropped. A line is written with one
 * write(2) under a lock, so lines of different threads never interleave.
 * Never pass a secret, a token or key material: log lines are not cleansed.
 * Until asps_log_configure is called: level info, text, standard error.
 * Thread-safe. */
#ifndef ASPS_LOG_H
#define ASPS_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

typedef enum {
    ASPS_LOG_ERROR = 0,
    ASPS_LOG_WARN = 1,
    ASPS_LOG_INFO = 2,
    ASPS_LOG_DEBUG = 3,
} asps_log_level;

typedef enum {
    ASPS_LOG_TEXT = 0,
    ASPS_LOG_JSON = 1,
} asps_log_format;

/* FD is where lines go (not closed; 2 for standard error). */
void asps_log_configure(asps_log_level min, asps_log_format format, int fd);
/* "error", "warn", "info", "debug" -> 0 and *out; anything else -> -1. */
int asps_log_level_parse(const char *s, asps_log_level *out);
/* "text", "json" -> 0 and *out; anything else -> -1. */
int asps_log_format_parse(const char *s, asps_log_format *out);
/* 1 when a line of LEVEL would be written. */
int asps_log_enabled(asps_log_level level);
/* One line. COMPONENT is a short name ("serve", "rpc", "grpc", "kms",
 * "pccs"); the message is printf-formatted, a trailing newline is dropped,
 * and control characters are escaped (text) or JSON-escaped (json). A
 * message is cut at 4 KiB. */
void asps_log(asps_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void asps_logv(asps_log_level level, const char *component, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* FN(CTX) run under the lock the log's lines are written under: for
 * another writer to the same descriptor (the audit log on stderr), whose
 * lines a log line must not cut in two when the descriptor is a pipe that
 * fills (the kernel keeps only writes of at most PIPE_BUF bytes whole).
 * FN must not log. */
void asps_log_locked(void (*fn)(void *ctx), void *ctx);
/* The time as RFC 3339 UTC with milliseconds into BUF (at least 25 bytes). */
void asps_log_time_rfc3339(char *buf, unsigned long size);

/* A rate limit for lines a remote peer can cause (gRPC's and
 * libmicrohttpd's own lines): at most BURST lines per window of WINDOW_MS,
 * the rest counted. When a window in which lines were dropped ends (at the
 * first call after it), one line is written at warn for COMPONENT:
 *   N log lines suppressed in the last S s
 * (S = WINDOW_MS / 1000). The first call opens the first window.
 * Define one with ASPS_LOG_LIMITER_INIT (static storage; never freed);
 * the fields are the limiter's own. Thread-safe. */
typedef struct {
    const char *component; /* static string */
    unsigned burst;
    int64_t window_ms;
    pthread_mutex_t mu;
    int started;
    int64_t window_start; /* ms, on the caller's clock */
    unsigned in_window, dropped;
} asps_log_limiter;

#define ASPS_LOG_LIMITER_INIT(component, burst, window_ms)                                         \
    {(component), (burst), (window_ms), PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0}

/* 1 when the caller may write its line now, 0 when it is counted instead.
 * NOW_MS: a monotonic clock in milliseconds (asps_now_mono_ms), never
 * going back. Writes the "suppressed" line itself when due. */
int asps_log_limiter_admit(asps_log_limiter *l, int64_t now_ms);

#endif
