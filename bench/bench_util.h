/* bench_util.h: clocks and sorting shared by the benchmarks. */
#ifndef ASPS_BENCH_UTIL_H
#define ASPS_BENCH_UTIL_H

#include <time.h>

static inline double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static inline double bench_now_ms(void) { return bench_now_us() / 1e3; }

/* qsort comparator for doubles (medians and percentiles) */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#endif
