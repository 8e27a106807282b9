/* testutil.c: see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static int is_dir(const char *p)
{
    struct stat st;
    return p && *p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *tu_vectors_root(void)
{
    const char *root = getenv("ASPS_VECTORS_ROOT");
    if (!root || !*root)
        root = getenv("ASPS_VECTORS_ROOT_DEFAULT");
    return is_dir(root) ? root : NULL;
}

const char *tu_vectors_subdir(const char *sub)
{
    static char path[4096];
    const char *root = tu_vectors_root();
    if (!root)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", root, sub);
    return is_dir(path) ? path : NULL;
}

const char *tu_vectors_dir(void)
{
    const char *dir = getenv("ASPS_VECTORS");
    if (is_dir(dir))
        return dir;
    return tu_vectors_subdir("dcap");
}

_Noreturn void tu_skip_vectors(const char *what)
{
    /* Without ../shared/vectors (a bare clone) the test cannot run, and
     * says so: the line also goes to not-run.txt in the build folder,
     * which make test prints after ctest. With the folder present, a
     * missing piece is an error like any other skip. */
    if (tu_vectors_root() && (!getenv("ASPS_VECTORS") || is_dir(getenv("ASPS_VECTORS"))))
        tu_skip(what);
    fprintf(stderr, "NOT RUN: %s: no vectors folder (../shared/vectors or ASPS_VECTORS_ROOT)\n",
            what);
    const char *build = getenv("ASPS_BUILD");
    if (build && *build) {
        char path[4096];
        snprintf(path, sizeof path, "%s/not-run.txt", build);
        FILE *f = fopen(path, "a");
        if (f) {
            fprintf(f, "%s: %s\n", program_invocation_short_name, what);
            fclose(f);
        }
    }
    skip();
    abort(); /* not reached: skip() leaves the test */
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
        tu_skip_vectors(name);
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

void tu_real_case_load(tu_real_case *r, const char *name)
{
    const char *real = tu_vectors_subdir("real");
    if (!real)
        tu_skip_vectors("real quotes (vectors/real)");
    char p[4200];
    snprintf(p, sizeof p, "%s/%s/quote", real, name);
    r->quote = tu_read_file(p, &r->quote_len);
    snprintf(p, sizeof p, "%s/%s/collateral.json", real, name);
    r->col = (char *)tu_read_file(p, NULL);
    snprintf(p, sizeof p, "%s/%s/case.json", real, name);
    char *meta = (char *)tu_read_file(p, NULL);
    if (!r->quote || !r->col || !meta)
        fail_msg("cannot read case %s", name);
    r->meta = cJSON_Parse(meta);
    free(meta);
    assert_non_null(r->meta);
    r->at = (int64_t)cJSON_GetObjectItem(r->meta, "at")->valuedouble;
}

void tu_real_case_free(tu_real_case *r)
{
    free(r->quote);
    free(r->col);
    cJSON_Delete(r->meta);
}
