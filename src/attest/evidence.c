/* evidence.c: attesters behind one interface (see asps/evidence.h). The
 * devices are the TEE's; what they return is a quote we pass on unverified
 * (the verifier judges it), but we still bound every size we read. */
#include "asps/evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define MAX_QUOTE (1u << 20)

struct asps_attester {
    char kind[16];
    /* an attester of the caller's own (asps_attester_wrap) */
    asps_attester_quote_fn own_quote;
    void (*own_free)(void *ctx);
    void *own_ctx;
    char gramine_dir[PATH_MAX];
    char sgx_device[PATH_MAX];
    char tsm_dir[PATH_MAX];
    char tsm_entry[256];
    int (*ioctl_fn)(void *ctx, int fd, unsigned long req, void *arg);
    void *ioctl_ctx;
    void (*tsm_after_write)(void *ctx, const char *entry, const char *attr);
    void *tsm_ctx;
};

static int real_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    (void)ctx;
    return ioctl(fd, req, arg);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int gramine_present(const asps_attester *a)
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/quote", a->gramine_dir);
    return exists(p);
}

asps_err asps_attester_new(const asps_attester_opts *o, asps_attester **out, asps_errbuf *eb)
{
    *out = NULL;
    asps_attester *a = calloc(1, sizeof *a);
    if (!a)
        return asps_fail(eb, ASPS_E_NOMEM, "attester: out of memory");
    snprintf(a->gramine_dir, sizeof a->gramine_dir, "%s", o && o->gramine_dir ? o->gramine_dir : ASPS_GRAMINE_ATTESTATION_DIR);
    snprintf(a->sgx_device, sizeof a->sgx_device, "%s", o && o->sgx_device ? o->sgx_device : ASPS_OCCLUM_SGX_DEVICE);
    snprintf(a->tsm_dir, sizeof a->tsm_dir, "%s", o && o->tsm_dir ? o->tsm_dir : ASPS_TSM_REPORT_DIR);
    if (o && o->tsm_entry)
        snprintf(a->tsm_entry, sizeof a->tsm_entry, "%s", o->tsm_entry);
    a->ioctl_fn = o && o->ioctl_fn ? o->ioctl_fn : real_ioctl;
    a->ioctl_ctx = o ? o->ioctl_ctx : NULL;
    a->tsm_after_write = o ? o->tsm_after_write : NULL;
    a->tsm_ctx = o ? o->tsm_ctx : NULL;
    const char *kind = o && o->kind ? o->kind : "auto";
    asps_err e = ASPS_OK;
    if (!strcmp(kind, "auto")) {
        if (gramine_present(a))
            kind = "gramine";
        else if (exists(a->sgx_device))
            kind = "occlum";
        else if (exists(a->tsm_dir))
            kind = "tdx";
        else
            e = asps_fail(eb, ASPS_E_NO_DEVICE,
                          "attester: no TEE found (looked for %s/quote (Gramine), %s (Occlum), "
                          "%s (TDX configfs-tsm)); use --attester sim --sim DIR for the simulated platform",
                          a->gramine_dir, a->sgx_device, a->tsm_dir);
    }
    if (e == ASPS_OK && !strcmp(kind, "sim")) {
        /* the simulated platform is its own library, above this one */
        e = asps_fail(eb, ASPS_E_ARG,
                      "attester: the simulated platform's attester comes from its library "
                      "(asps_sim_attester_new)");
    } else if (e == ASPS_OK && strcmp(kind, "gramine") && strcmp(kind, "occlum") && strcmp(kind, "tdx")) {
        e = asps_fail(eb, ASPS_E_ARG, "attester: unknown kind \"%s\" (auto, gramine, occlum, tdx)", kind);
    }
    if (e != ASPS_OK) {
        asps_attester_free(a);
        return e;
    }
    snprintf(a->kind, sizeof a->kind, "%s", kind);
    *out = a;
    return ASPS_OK;
}

asps_err asps_attester_wrap(const char *kind, asps_attester_quote_fn quote, void (*free_ctx)(void *),
                            void *ctx, asps_attester **out, asps_errbuf *eb)
{
    *out = NULL;
    if (!kind || !quote || strlen(kind) >= sizeof ((asps_attester *)0)->kind) {
        if (free_ctx)
            free_ctx(ctx);
        return asps_fail(eb, ASPS_E_ARG, "attester: a wrapped attester needs a short kind and a quote function");
    }
    asps_attester *a = calloc(1, sizeof *a);
    if (!a) {
        if (free_ctx)
            free_ctx(ctx);
        return asps_fail(eb, ASPS_E_NOMEM, "attester: out of memory");
    }
    snprintf(a->kind, sizeof a->kind, "%s", kind);
    a->own_quote = quote;
    a->own_free = free_ctx;
    a->own_ctx = ctx;
    *out = a;
    return ASPS_OK;
}

void asps_attester_free(asps_attester *a)
{
    if (!a)
        return;
    if (a->own_free)
        a->own_free(a->own_ctx);
    free(a);
}

const char *asps_attester_kind(const asps_attester *a) { return a->kind; }

static asps_err write_all(const char *path, const uint8_t *b, size_t n, asps_errbuf *eb)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return asps_fail(eb, ASPS_E_NO_DEVICE, "attester: cannot open %s: %s", path, strerror(errno));
    ssize_t w;
    do
        w = write(fd, b, n);
    while (w < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (w != (ssize_t)n)
        return asps_fail(eb, ASPS_E_IO, "attester: write to %s failed: %s", path,
                         w < 0 ? strerror(saved) : "short write");
    return ASPS_OK;
}

static asps_err read_small_int(const char *path, long *out, asps_errbuf *eb)
{
    uint8_t *b;
    size_t n;
    ASPS_TRY(asps_read_file(path, 64, &b, &n, eb));
    char *end;
    errno = 0;
    *out = strtol((char *)b, &end, 10);
    int bad = errno || end == (char *)b;
    free(b);
    return bad ? asps_fail(eb, ASPS_E_PARSE, "attester: %s is not a number", path) : ASPS_OK;
}

static asps_err quote_gramine(asps_attester *a, const uint8_t rd[64], uint8_t **q, size_t *len,
                              asps_errbuf *eb)
{
    char p[PATH_MAX + 32];
    /* Gramine names its attestation kind in attestation_type ("none",
     * "epid", "dcap"); only DCAP quotes are verifiable here, and with "none"
     * the quote file would only fail later with a less helpful error.
     * Older Gramine lacks the file: then just try. */
    snprintf(p, sizeof p, "%s/attestation_type", a->gramine_dir);
    uint8_t *typ;
    size_t tl;
    if (asps_read_file(p, 64, &typ, &tl, NULL) == ASPS_OK) {
        while (tl > 0 && (typ[tl - 1] == '\n' || typ[tl - 1] == 0))
            typ[--tl] = 0;
        int dcap = tl == 4 && !memcmp(typ, "dcap", 4);
        char shown[17];
        snprintf(shown, sizeof shown, "%.*s", (int)(tl < 16 ? tl : 16), (char *)typ);
        for (char *c = shown; *c; c++)
            if (*c < 0x20 || *c > 0x7e)
                *c = '?';
        free(typ);
        if (!dcap)
            return asps_fail(eb, ASPS_E_UNSUPPORTED,
                             "attester: Gramine attestation type is \"%s\", not \"dcap\" "
                             "(set sgx.remote_attestation = \"dcap\" in the manifest)", shown);
    }
    snprintf(p, sizeof p, "%s/user_report_data", a->gramine_dir);
    ASPS_TRY(write_all(p, rd, 64, eb));
    snprintf(p, sizeof p, "%s/quote", a->gramine_dir);
    asps_err e = asps_read_file(p, MAX_QUOTE, q, len, eb);
    if (e == ASPS_OK && *len == 0) {
        free(*q);
        return asps_fail(eb, ASPS_E_IO, "attester: %s returned no quote", p);
    }
    return e;
}

static asps_err quote_occlum(asps_attester *a, const uint8_t rd[64], uint8_t **q, size_t *len,
                             asps_errbuf *eb)
{
    int fd = open(a->sgx_device, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return asps_fail(eb, ASPS_E_NO_DEVICE, "attester: %s not present", a->sgx_device);
    if (fd < 0)
        return asps_fail(eb, ASPS_E_IO, "attester: cannot open %s: %s", a->sgx_device, strerror(errno));
    uint32_t size = 0;
    asps_err e = ASPS_OK;
    if (a->ioctl_fn(a->ioctl_ctx, fd, ASPS_SGXIOC_GET_DCAP_QUOTE_SIZE, &size) < 0)
        e = asps_fail(eb, ASPS_E_IO, "attester: SGXIOC_GET_DCAP_QUOTE_SIZE failed: %s", strerror(errno));
    else if (size == 0 || size > MAX_QUOTE)
        e = asps_fail(eb, ASPS_E_IO, "attester: implausible quote size %u", size);
    uint8_t *buf = NULL;
    if (e == ASPS_OK && !(buf = calloc(1, size)))
        e = asps_fail(eb, ASPS_E_NOMEM, "attester: out of memory");
    if (e == ASPS_OK) {
        uint32_t qlen = size;
        asps_sgxioc_gen_dcap_quote_arg arg = {.report_data = rd, .quote_len = &qlen, .quote_buf = buf};
        if (a->ioctl_fn(a->ioctl_ctx, fd, ASPS_SGXIOC_GEN_DCAP_QUOTE, &arg) < 0)
            e = asps_fail(eb, ASPS_E_IO, "attester: SGXIOC_GEN_DCAP_QUOTE failed: %s", strerror(errno));
        else if (qlen == 0 || qlen > size)
            e = asps_fail(eb, ASPS_E_IO, "attester: device returned quote length %u (buffer %u)", qlen, size);
        else {
            *q = buf;
            *len = qlen;
            buf = NULL;
        }
    }
    free(buf);
    close(fd);
    return e;
}

static asps_err quote_tdx(asps_attester *a, const uint8_t rd[64], uint8_t **q, size_t *len,
                          asps_errbuf *eb)
{
    char entry[PATH_MAX + 320], p[PATH_MAX + 400];
    /* a fresh, unguessable entry name per quote: two attesters (threads or
     * processes) never share an entry */
    uint8_t rnd[8];
    char rhex[17];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return asps_fail(eb, ASPS_E_INTERNAL, "attester: no randomness for the report entry name");
    asps_hex_encode(rnd, sizeof rnd, rhex);
    int own = !a->tsm_entry[0];
    if (own)
        snprintf(entry, sizeof entry, "%s/asps-%u-%s", a->tsm_dir, (unsigned)getpid(), rhex);
    else
        snprintf(entry, sizeof entry, "%s/%s", a->tsm_dir, a->tsm_entry);
    if (own && mkdir(entry, 0700) != 0)
        return asps_fail(eb, errno == ENOENT ? ASPS_E_NO_DEVICE : ASPS_E_IO,
                         "attester: cannot create %s: %s", entry, strerror(errno));
    /* The kernel ABI (configfs-tsm): generation increments on every write
     * of inblob or an option; a reader detects a conflicting writer by
     * reading generation before its writes and checking, after reading
     * outblob, that it moved by exactly the number of its own writes (one).
     * Reading it only after our write would miss a writer that came
     * between our write and that read. */
    long gen0 = -1, gen1 = -1;
    asps_err e;
    snprintf(p, sizeof p, "%s/generation", entry);
    e = read_small_int(p, &gen0, eb);
    snprintf(p, sizeof p, "%s/inblob", entry);
    if (e == ASPS_OK)
        e = write_all(p, rd, 64, eb);
    if (e == ASPS_OK && a->tsm_after_write)
        a->tsm_after_write(a->tsm_ctx, entry, "inblob");
    snprintf(p, sizeof p, "%s/outblob", entry);
    if (e == ASPS_OK)
        e = asps_read_file(p, MAX_QUOTE, q, len, eb);
    snprintf(p, sizeof p, "%s/generation", entry);
    if (e == ASPS_OK && (e = read_small_int(p, &gen1, eb)) == ASPS_OK && gen1 != gen0 + 1) {
        /* another writer used the entry: the quote may not be over our
         * report data */
        free(*q);
        *q = NULL;
        *len = 0;
        e = asps_fail(eb, ASPS_E_IO,
                      "attester: configfs-tsm report entry changed by another writer (generation %ld -> %ld, "
                      "expected one write)", gen0, gen1);
    }
    if (e == ASPS_OK && *len == 0) {
        free(*q);
        *q = NULL;
        e = asps_fail(eb, ASPS_E_IO, "attester: empty outblob");
    }
    if (own)
        rmdir(entry);
    return e;
}

asps_err asps_attester_quote(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *len,
                             asps_errbuf *eb)
{
    asps_attester *a = ctx;
    *q = NULL;
    *len = 0;
    if (a->own_quote)
        return a->own_quote(a->own_ctx, rd, q, len, eb);
    if (!strcmp(a->kind, "gramine"))
        return quote_gramine(a, rd, q, len, eb);
    if (!strcmp(a->kind, "occlum"))
        return quote_occlum(a, rd, q, len, eb);
    return quote_tdx(a, rd, q, len, eb);
}
