/* testutil.h: helpers shared by the cmocka unit tests. */
#ifndef ASPS_TESTUTIL_H
#define ASPS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* The vectors root: data from other projects, never committed here
 * ($ASPS_VECTORS_ROOT, else ../shared/vectors beside the checkout), or NULL
 * when absent. tu_vectors_subdir("real") is ROOT/real (a static buffer) or
 * NULL. tu_vectors_dir() is Intel's DCAP vectors: $ASPS_VECTORS, else
 * ROOT/dcap, or NULL. */
const char *tu_vectors_root(void);
const char *tu_vectors_subdir(const char *sub);
const char *tu_vectors_dir(void);

/* A test that needs the vectors and finds none: with no vectors root at
 * all it is recorded as not run (stderr and BUILD/not-run.txt) and skipped
 * even under ASPS_STRICT; with the root present, as tu_skip. */
_Noreturn void tu_skip_vectors(const char *what);

/* Read a whole file; returns malloc'd bytes (NUL-terminated) or NULL. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Skip the test, saying why on stderr; a failure instead when ASPS_STRICT
 * is set (make test sets it). */
_Noreturn void tu_skip(const char *why);

/* Read DIR/NAME from the vectors folder; skips the test when absent. */
uint8_t *tu_read_vector(const char *name, size_t *len);

/* A fresh temporary directory (removed by tu_rm_rf). */
char *tu_mkdtemp(void);
void tu_rm_rf(const char *path);

/* One case of the real-quote corpus (vectors/real/NAME): its quote, its
 * collateral.json as text, its case.json (Intel QVL's answer and the
 * case's facts) and the verification time it gives ("at"). Skips the test
 * (tu_skip_vectors) when the corpus is not there; fails when a file of the
 * case cannot be read. Free with tu_real_case_free. */
typedef struct tu_real_case {
    uint8_t *quote;
    size_t quote_len;
    char *col;
    struct cJSON *meta;
    int64_t at;
} tu_real_case;
void tu_real_case_load(tu_real_case *r, const char *name);
void tu_real_case_free(tu_real_case *r);

#endif
