/* testutil.h: helpers shared by the cmocka unit tests. */
#ifndef ASPS_TESTUTIL_H
#define ASPS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Folder of the real DCAP vectors ($ASPS_VECTORS, else the default next to
 * the source tree), or NULL when absent (tests then skip with a notice). */
const char *tu_vectors_dir(void);

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

#endif
