/* testutil.c: see testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tu_vectors_dir(void)
{
    const char *cands[2] = {getenv("ASPS_VECTORS"), getenv("ASPS_VECTORS_DEFAULT")};
    for (int i = 0; i < 2; i++) {
        struct stat st;
        if (cands[i] && *cands[i] && stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode))
            return cands[i];
    }
    return NULL;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

uint8_t *tu_read_vector(const char *name, size_t *len)
{
    const char *dir = tu_vectors_dir();
    if (!dir)
        tu_skip("DCAP vectors folder not found (set ASPS_VECTORS)");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *b = tu_read_file(path, len);
    if (!b)
        fail_msg("cannot read vector %s", path);
    return b;
}

char *tu_mkdtemp(void)
{
    char tmpl[] = "/tmp/asps-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void tu_rm_rf(const char *path)
{
    if (!path)
        return;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

_Noreturn void tu_skip(const char *why)
{
    /* make test sets ASPS_STRICT: everything a test needs is installed
     * there, and a skipped test proves nothing */
    if (getenv("ASPS_STRICT"))
        fail_msg("%s (ASPS_STRICT is set: not skipped)", why);
    fprintf(stderr, "NOTICE: %s; skipping\n", why);
    skip();
    abort(); /* not reached: skip() leaves the test */
}
