/* metrics.c: the metrics registry and its text exposition (metrics.h).
 * One list of metrics under one lock (registration is rare); each metric
 * has its own lock for its series, so updates of different metrics never
 * wait on each other. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { M_COUNTER, M_GAUGE, M_COUNTDOWN, M_HISTOGRAM } mtype;

typedef struct series {
    char *values[ASPS_METRICS_MAX_LABELS];
    double value;                              /* counter, gauge, countdown; histogram sum */
    uint64_t count;                            /* histogram */
    uint64_t buckets[ASPS_METRICS_MAX_BUCKETS]; /* histogram, not cumulative */
    struct series *next;
} series;

struct asps_metric {
    char *name, *help;
    mtype type;
    char *labels[ASPS_METRICS_MAX_LABELS];
    size_t n_labels;
    double bounds[ASPS_METRICS_MAX_BUCKETS];
    size_t n_bounds;
    pthread_mutex_t lock;
    series *first, *last;
    size_t n_series;
    struct asps_metric *next;
};

const double asps_metrics_latency_buckets[13] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                 0.25,  0.5,    1,     2.5,  5,     10};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static asps_metric *reg_first, *reg_last;
static asps_metric *dropped; /* asps_metrics_dropped_total */

static int name_ok(const char *s, int colon)
{
    if (!s || !*s)
        return 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

static size_t count_labels(const char *const *l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    return n;
}

static int same_shape(const asps_metric *m, mtype t, const char *const *labels, const double *b,
                      size_t nb)
{
    if (m->type != t || m->n_labels != count_labels(labels) || m->n_bounds != nb)
        return 0;
    for (size_t i = 0; i < m->n_labels; i++)
        if (strcmp(m->labels[i], labels[i]))
            return 0;
    for (size_t i = 0; i < nb; i++)
        if (m->bounds[i] != b[i])
            return 0;
    return 1;
}

static void metric_free(asps_metric *m)
{
    free(m->name);
    free(m->help);
    for (size_t i = 0; i < m->n_labels; i++)
        free(m->labels[i]);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static asps_metric *reg(const char *name, const char *help, mtype t, const char *const *labels,
                        const double *b, size_t nb)
{
    size_t nl = count_labels(labels);
    if (!name_ok(name, 1) || !help || nl > ASPS_METRICS_MAX_LABELS || nb > ASPS_METRICS_MAX_BUCKETS)
        return NULL;
    for (size_t i = 0; i < nl; i++) {
        if (!name_ok(labels[i], 0) || !strncmp(labels[i], "__", 2) ||
            (t == M_HISTOGRAM && !strcmp(labels[i], "le")))
            return NULL;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(labels[i], labels[j]))
                return NULL;
    }
    for (size_t i = 0; i < nb; i++)
        if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
            return NULL;
    pthread_mutex_lock(&reg_lock);
    asps_metric *m;
    for (m = reg_first; m; m = m->next)
        if (!strcmp(m->name, name))
            break;
    if (m) {
        if (!same_shape(m, t, labels, b, nb))
            m = NULL;
        pthread_mutex_unlock(&reg_lock);
        return m;
    }
    m = calloc(1, sizeof *m);
    int ok = m != NULL;
    if (ok) {
        pthread_mutex_init(&m->lock, NULL);
        m->type = t;
        m->name = strdup(name);
        m->help = strdup(help);
        ok = m->name && m->help;
        for (size_t i = 0; i < nl && ok; i++) {
            ok = (m->labels[i] = strdup(labels[i])) != NULL;
            m->n_labels = i + 1;
        }
        if (nb)
            memcpy(m->bounds, b, nb * sizeof *b);
        m->n_bounds = nb;
    }
    if (!ok) {
        if (m)
            metric_free(m);
        pthread_mutex_unlock(&reg_lock);
        return NULL;
    }
    if (reg_last)
        reg_last->next = m;
    else
        reg_first = m;
    reg_last = m;
    pthread_mutex_unlock(&reg_lock);
    return m;
}

asps_metric *asps_metrics_counter(const char *name, const char *help, const char *const *labels)
{
    return reg(name, help, M_COUNTER, labels, NULL, 0);
}

asps_metric *asps_metrics_gauge(const char *name, const char *help, const char *const *labels)
{
    return reg(name, help, M_GAUGE, labels, NULL, 0);
}

asps_metric *asps_metrics_countdown(const char *name, const char *help, const char *const *labels)
{
    return reg(name, help, M_COUNTDOWN, labels, NULL, 0);
}

asps_metric *asps_metrics_histogram(const char *name, const char *help, const char *const *labels,
                                    const double *buckets, size_t n)
{
    return reg(name, help, M_HISTOGRAM, labels, buckets, n);
}

static void dropped_init(void)
{
    dropped = asps_metrics_counter("asps_metrics_dropped_total",
                                   "Metric updates dropped: the metric had too many label sets.",
                                   ASPS_LABELS("metric"));
}

static void note_dropped(const char *name)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, dropped_init);
    asps_metric_inc(dropped, ASPS_LABELS(name));
}

/* The series of LV, made when MAKE; called with m->lock held. NULL when the
 * label values do not fit the metric, or (MAKE) no more series fit. */
static series *find(asps_metric *m, const char *const *lv, int make, int *full)
{
    *full = 0;
    if (count_labels(lv) != m->n_labels)
        return NULL;
    for (series *s = m->first; s; s = s->next) {
        size_t i = 0;
        while (i < m->n_labels && !strcmp(s->values[i], lv[i]))
            i++;
        if (i == m->n_labels)
            return s;
    }
    if (!make)
        return NULL;
    if (m->n_series >= ASPS_METRICS_MAX_SERIES) {
        *full = 1;
        return NULL;
    }
    series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < m->n_labels; i++) {
        if (!(s->values[i] = strdup(lv[i]))) {
            for (size_t j = 0; j < i; j++)
                free(s->values[j]);
            free(s);
            return NULL;
        }
    }
    if (m->last)
        m->last->next = s;
    else
        m->first = s;
    m->last = s;
    m->n_series++;
    return s;
}

typedef enum { OP_ADD, OP_SET, OP_OBSERVE } op;

static void update(asps_metric *m, const char *const *lv, op o, double v)
{
    if (!m || isnan(v))
        return;
    if ((o == OP_ADD && m->type == M_COUNTER && v < 0) ||
        (o == OP_ADD && m->type != M_COUNTER && m->type != M_GAUGE) ||
        (o == OP_SET && m->type != M_GAUGE && m->type != M_COUNTDOWN) ||
        (o == OP_OBSERVE && m->type != M_HISTOGRAM))
        return;
    int full;
    pthread_mutex_lock(&m->lock);
    series *s = find(m, lv, 1, &full);
    if (s) {
        if (o == OP_ADD)
            s->value += v;
        else if (o == OP_SET)
            s->value = v;
        else {
            s->value += v;
            s->count++;
            size_t i = 0;
            while (i < m->n_bounds && v > m->bounds[i])
                i++;
            if (i < m->n_bounds)
                s->buckets[i]++;
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (full && m != dropped)
        note_dropped(m->name);
}

void asps_metric_add(asps_metric *m, const char *const *lv, double v) { update(m, lv, OP_ADD, v); }
void asps_metric_inc(asps_metric *m, const char *const *lv) { update(m, lv, OP_ADD, 1); }
void asps_metric_set(asps_metric *m, const char *const *lv, double v) { update(m, lv, OP_SET, v); }
void asps_metric_observe(asps_metric *m, const char *const *lv, double v)
{
    update(m, lv, OP_OBSERVE, v);
}

void asps_metric_remove(asps_metric *m, const char *const *lv)
{
    if (!m)
        return;
    int full;
    pthread_mutex_lock(&m->lock);
    series *s = find(m, lv, 0, &full), *prev = NULL;
    if (s) {
        for (series *p = m->first; p != s; p = p->next)
            prev = p;
        if (prev)
            prev->next = s->next;
        else
            m->first = s->next;
        if (m->last == s)
            m->last = prev;
        m->n_series--;
        for (size_t i = 0; i < m->n_labels; i++)
            free(s->values[i]);
        free(s);
    }
    pthread_mutex_unlock(&m->lock);
}

double asps_metric_value(asps_metric *m, const char *const *lv)
{
    if (!m)
        return 0;
    int full;
    pthread_mutex_lock(&m->lock);
    series *s = find(m, lv, 0, &full);
    double v = !s ? 0 : m->type == M_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&m->lock);
    return v;
}

double asps_metrics_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the text format ---------------------------------------------------------------- */

/* The shortest decimal that reads back as V, written as Go's
 * strconv.FormatFloat(v, 'g', -1, 64) writes it (as Prometheus's own
 * client_golang does: 10, 0.0025, 2.591999e+06), or +Inf, -Inf, NaN. */
static void put_double(FILE *f, double v)
{
    if (isnan(v)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "+Inf" : "-Inf", f);
        return;
    }
    char buf[48];
    int p = 1;
    for (; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    snprintf(buf, sizeof buf, "%.*e", p - 1, v);
    int x = atoi(strchr(buf, 'e') + 1);
    if (x < -4 || x >= 6) /* Go: exponent form below 1e-4 and from 1e+06 */
        fputs(buf, f);
    else
        fprintf(f, "%.*f", p - 1 - x > 0 ? p - 1 - x : 0, v);
}

/* HELP text escapes \ and newline; label values also ". */
static void put_escaped(FILE *f, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (quote && *s == '"')
            fputs("\\\"", f);
        else
            fputc(*s, f);
    }
}

/* NAME{l1="v1",...[,le="B"]} */
static void put_name(FILE *f, const asps_metric *m, const char *suffix, const series *s,
                     const char *le)
{
    fputs(m->name, f);
    fputs(suffix, f);
    if (m->n_labels == 0 && !le)
        return;
    fputc('{', f);
    for (size_t i = 0; i < m->n_labels; i++) {
        fprintf(f, "%s%s=\"", i ? "," : "", m->labels[i]);
        put_escaped(f, s->values[i], 1);
        fputc('"', f);
    }
    if (le)
        fprintf(f, "%sle=\"%s\"", m->n_labels ? "," : "", le);
    fputc('}', f);
}

static void render_metric(FILE *f, asps_metric *m, double now)
{
    static const char *const type_names[] = {"counter", "gauge", "gauge", "histogram"};
    fprintf(f, "# HELP %s ", m->name);
    put_escaped(f, m->help, 0);
    fprintf(f, "\n# TYPE %s %s\n", m->name, type_names[m->type]);
    pthread_mutex_lock(&m->lock);
    for (series *s = m->first; s; s = s->next) {
        if (m->type != M_HISTOGRAM) {
            put_name(f, m, "", s, NULL);
            fputc(' ', f);
            put_double(f, m->type == M_COUNTDOWN ? s->value - now : s->value);
            fputc('\n', f);
            continue;
        }
        uint64_t cum = 0;
        for (size_t i = 0; i <= m->n_bounds; i++) {
            char le[40] = "+Inf";
            if (i < m->n_bounds) {
                cum += s->buckets[i];
                char *p;
                size_t n;
                FILE *g = open_memstream(&p, &n);
                if (g) {
                    put_double(g, m->bounds[i]);
                    fclose(g);
                    snprintf(le, sizeof le, "%s", p);
                    free(p);
                }
            } else {
                cum = s->count;
            }
            put_name(f, m, "_bucket", s, le);
            fprintf(f, " %llu\n", (unsigned long long)cum);
        }
        put_name(f, m, "_sum", s, NULL);
        fputc(' ', f);
        put_double(f, s->value);
        fputc('\n', f);
        put_name(f, m, "_count", s, NULL);
        fprintf(f, " %llu\n", (unsigned long long)s->count);
    }
    pthread_mutex_unlock(&m->lock);
}

int asps_metrics_render(double now, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    char *p = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&p, &n);
    if (!f)
        return -1;
    pthread_mutex_lock(&reg_lock);
    for (asps_metric *m = reg_first; m; m = m->next)
        render_metric(f, m, now);
    pthread_mutex_unlock(&reg_lock);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || !p) {
        free(p);
        return -1;
    }
    *out = p;
    *len = n;
    return 0;
}
