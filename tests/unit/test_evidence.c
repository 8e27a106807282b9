/* test_evidence.c: each attester against a fake of its device, checking the
 * exact bytes exchanged; auto-detection; the error when nothing is there. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asps/evidence.h"
#include "testutil.h"

static void put(const char *dir, const char *name, const void *b, size_t n)
{
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(b, 1, n, f);
    fclose(f);
}

static void rd_pattern(uint8_t rd[64])
{
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(0xa0 + i);
}

static void test_gramine_attester_writes_report_data_and_reads_quote(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    put(d, "user_report_data", "", 0);
    put(d, "quote", "QUOTE-BYTES", 11);
    asps_attester_opts o = {.kind = "auto", .gramine_dir = d, .sgx_device = "/nonexistent/sgx",
                            .tsm_dir = "/nonexistent/tsm"};
    asps_attester *a;
    asps_errbuf eb;
    assert_int_equal(asps_attester_new(&o, &a, &eb), ASPS_OK);
    assert_string_equal(asps_attester_kind(a), "gramine");
    uint8_t rd[64], *q;
    size_t n;
    rd_pattern(rd);
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_OK);
    assert_int_equal(n, 11);
    assert_memory_equal(q, "QUOTE-BYTES", 11);
    char p[4200];
    snprintf(p, sizeof p, "%s/user_report_data", d);
    size_t rl;
    uint8_t *written = tu_read_file(p, &rl);
    assert_int_equal(rl, 64);
    assert_memory_equal(written, rd, 64);
    free(written);
    free(q);
    /* Gramine's attestation_type: "dcap" is used, anything else refused
     * with the manifest setting named */
    put(d, "attestation_type", "dcap\n", 5);
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_OK);
    free(q);
    put(d, "attestation_type", "none", 4);
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_E_UNSUPPORTED);
    assert_non_null(strstr(eb.msg, "\"none\""));
    assert_non_null(strstr(eb.msg, "sgx.remote_attestation"));
    asps_attester_free(a);
    tu_rm_rf(d);
    free(d);
}

typedef struct fake_sgx {
    int calls;
    uint8_t seen_rd[64];
    uint32_t size;
} fake_sgx;

static int fake_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    (void)fd;
    fake_sgx *f = ctx;
    f->calls++;
    if (req == ASPS_SGXIOC_GET_DCAP_QUOTE_SIZE) {
        *(uint32_t *)arg = f->size;
        return 0;
    }
    if (req == ASPS_SGXIOC_GEN_DCAP_QUOTE) {
        asps_sgxioc_gen_dcap_quote_arg *a = arg;
        memcpy(f->seen_rd, a->report_data, 64);
        if (*a->quote_len < 9)
            return -1;
        memcpy(a->quote_buf, "OCCLUM-Q", 8);
        *a->quote_len = 8; /* shorter than the buffer, as real quotes are */
        return 0;
    }
    return -1;
}

static void test_occlum_attester_issues_occlum_ioctls(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    put(d, "sgx", "", 0);
    char dev[4200];
    snprintf(dev, sizeof dev, "%s/sgx", d);
    fake_sgx f = {.size = 5000};
    asps_attester_opts o = {.kind = "occlum", .sgx_device = dev, .ioctl_fn = fake_ioctl, .ioctl_ctx = &f};
    asps_attester *a;
    asps_errbuf eb;
    assert_int_equal(asps_attester_new(&o, &a, &eb), ASPS_OK);
    uint8_t rd[64], *q;
    size_t n;
    rd_pattern(rd);
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_OK);
    assert_int_equal(f.calls, 2);
    assert_memory_equal(f.seen_rd, rd, 64);
    assert_int_equal(n, 8);
    assert_memory_equal(q, "OCCLUM-Q", 8);
    free(q);
    /* an implausible size from the device is refused */
    f.size = 0;
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_E_IO);
    asps_attester_free(a);
    /* the ioctl numbers are Occlum's */
    assert_int_equal(ASPS_SGXIOC_GET_DCAP_QUOTE_SIZE, 0x80047307UL);
    assert_int_equal(ASPS_SGXIOC_GEN_DCAP_QUOTE, 0xc0187308UL);
    tu_rm_rf(d);
    free(d);
}

/* Stands in for the kernel's configfs-tsm: each write of inblob bumps
 * generation (by `bump`, 2 = another writer came in between) and makes
 * outblob "TDQ:" + inblob. */
typedef struct fake_tsm {
    int bump;
    int writes;
    char attrs[64];
} fake_tsm;

static void fake_tsm_after_write(void *ctx, const char *entry, const char *attr)
{
    fake_tsm *t = ctx;
    t->writes++;
    snprintf(t->attrs + strlen(t->attrs), sizeof t->attrs - strlen(t->attrs), "%s;", attr);
    char p[4400];
    snprintf(p, sizeof p, "%s/generation", entry);
    size_t n;
    uint8_t *g = tu_read_file(p, &n);
    assert_non_null(g);
    long gen = strtol((char *)g, NULL, 10);
    free(g);
    char buf[32];
    int bl = snprintf(buf, sizeof buf, "%ld\n", gen + t->bump);
    put(entry, "generation", buf, (size_t)bl);
    snprintf(p, sizeof p, "%s/inblob", entry);
    uint8_t *in = tu_read_file(p, &n);
    assert_non_null(in);
    uint8_t out[4 + 64];
    memcpy(out, "TDQ:", 4);
    assert_int_equal(n, 64);
    memcpy(out + 4, in, 64);
    free(in);
    put(entry, "outblob", out, sizeof out);
}

static void make_entry(const char *entry)
{
    mkdir(entry, 0700);
    put(entry, "inblob", "", 0); /* configfs attributes exist once the entry does */
    put(entry, "generation", "7\n", 2);
    put(entry, "outblob", "STALE", 5);
}

static void test_tdx_attester_uses_configfs_tsm_entry(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    char entry[4200];
    snprintf(entry, sizeof entry, "%s/e1", d);
    make_entry(entry);
    fake_tsm t = {.bump = 1};
    asps_attester_opts o = {.kind = "tdx", .tsm_dir = d, .tsm_entry = "e1",
                            .tsm_after_write = fake_tsm_after_write, .tsm_ctx = &t};
    asps_attester *a;
    asps_errbuf eb;
    assert_int_equal(asps_attester_new(&o, &a, &eb), ASPS_OK);
    uint8_t rd[64], *q;
    size_t n;
    rd_pattern(rd);
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_OK);
    /* exactly one write, of inblob, of our 64 bytes; the quote is what the
     * "kernel" made from them */
    assert_int_equal(t.writes, 1);
    assert_string_equal(t.attrs, "inblob;");
    assert_int_equal(n, 68);
    assert_memory_equal(q, "TDQ:", 4);
    assert_memory_equal(q + 4, rd, 64);
    char p[4300];
    snprintf(p, sizeof p, "%s/inblob", entry);
    size_t il;
    uint8_t *in = tu_read_file(p, &il);
    assert_int_equal(il, 64);
    assert_memory_equal(in, rd, 64);
    free(in);
    free(q);
    asps_attester_free(a);
    /* the existing entry is left in place */
    struct stat st;
    assert_int_equal(stat(entry, &st), 0);
    tu_rm_rf(d);
    free(d);
}

static void test_tdx_attester_refuses_a_raced_or_stale_report(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    char entry[4200];
    snprintf(entry, sizeof entry, "%s/e1", d);
    uint8_t rd[64], *q = NULL;
    size_t n = 0;
    rd_pattern(rd);
    asps_errbuf eb;
    asps_attester *a;
    /* another writer between ours and our read of outblob: generation moved
     * by two */
    make_entry(entry);
    fake_tsm t = {.bump = 2};
    asps_attester_opts o = {.kind = "tdx", .tsm_dir = d, .tsm_entry = "e1",
                            .tsm_after_write = fake_tsm_after_write, .tsm_ctx = &t};
    assert_int_equal(asps_attester_new(&o, &a, &eb), ASPS_OK);
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_E_IO);
    assert_null(q);
    assert_non_null(strstr(eb.msg, "another writer"));
    asps_attester_free(a);
    /* generation did not move at all: our write was not taken, outblob is
     * someone else's (here: "STALE") */
    make_entry(entry);
    asps_attester_opts o2 = {.kind = "tdx", .tsm_dir = d, .tsm_entry = "e1"};
    assert_int_equal(asps_attester_new(&o2, &a, &eb), ASPS_OK);
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_E_IO);
    assert_null(q);
    asps_attester_free(a);
    /* with its own entry: a plain folder has no generation/outblob, a clear
     * error, and the entry is removed again */
    tu_rm_rf(entry);
    asps_attester_opts o3 = {.kind = "tdx", .tsm_dir = d};
    assert_int_equal(asps_attester_new(&o3, &a, &eb), ASPS_OK);
    assert_int_not_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_OK);
    asps_attester_free(a);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) = 0", d);
    assert_int_equal(system(cmd), 0);
    /* no configfs-tsm at all: the device is missing */
    asps_attester_opts o4 = {.kind = "tdx", .tsm_dir = "/nonexistent/tsm"};
    assert_int_equal(asps_attester_new(&o4, &a, &eb), ASPS_OK);
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_E_NO_DEVICE);
    asps_attester_free(a);
    tu_rm_rf(d);
    free(d);
}

static void test_auto_with_nothing_present_names_what_it_looked_for(void **state)
{
    (void)state;
    asps_attester_opts o = {.kind = "auto", .gramine_dir = "/nonexistent/attestation",
                            .sgx_device = "/nonexistent/sgx", .tsm_dir = "/nonexistent/tsm"};
    asps_attester *a;
    asps_errbuf eb;
    assert_int_equal(asps_attester_new(&o, &a, &eb), ASPS_E_NO_DEVICE);
    assert_non_null(strstr(eb.msg, "/nonexistent/attestation"));
    assert_non_null(strstr(eb.msg, "/nonexistent/sgx"));
    assert_non_null(strstr(eb.msg, "/nonexistent/tsm"));
    asps_attester_opts bad = {.kind = "sev"};
    assert_int_equal(asps_attester_new(&bad, &a, &eb), ASPS_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gramine_attester_writes_report_data_and_reads_quote),
        cmocka_unit_test(test_occlum_attester_issues_occlum_ioctls),
        cmocka_unit_test(test_tdx_attester_uses_configfs_tsm_entry),
        cmocka_unit_test(test_tdx_attester_refuses_a_raced_or_stale_report),
        cmocka_unit_test(test_auto_with_nothing_present_names_what_it_looked_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
