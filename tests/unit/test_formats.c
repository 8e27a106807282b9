/* test_formats.c: every format constant asps both writes and reads, pinned
 * by something asps did not write, and the simulated platform's quotes laid
 * out field by field against real quotes.
 *
 * The sources, as of the commits read:
 * - Intel's quote layouts: intel/SGXDataCenterAttestationPrimitives
 *   @a46ee8ab10569962c5cd7397b4babd4a47431976
 *   QuoteGeneration/quote_wrapper/common/inc/sgx_quote_3.h (header v3,
 *   sgx_ql_cert_key_type_t, the PPID certification data structs),
 *   sgx_quote_4.h (header v4, sgx_report2_body_t), sgx_quote_5.h (body type
 *   and size, sgx_report2_body_v1_5_t); the SGX report body as
 *   intel/linux-sgx common/inc/sgx_report.h lays it out.
 * - The PCK certificate's SGX extension: Intel's "SGX PCK Certificate and CRL
 *   Profile" (OIDs 1.2.840.113741.1.13.1.*).
 * - Occlum's ioctls: occlum/occlum @690d5dbf34f3b08e4b5e48e16ce16231550e78c4
 *   test/ioctl/main.c (SGXIOC_GET_DCAP_QUOTE_SIZE _IOR('s', 7, uint32_t),
 *   SGXIOC_GEN_DCAP_QUOTE _IOWR('s', 8, sgxioc_gen_dcap_quote_arg_t)) and
 *   src/libos/src/fs/dev_fs/dev_sgx/{consts.rs,mod.rs} (the same numbers,
 *   IoctlGenDCAPQuoteArg), src/libos/src/fs/dev_fs/mod.rs (/dev/sgx).
 * - Gramine's /dev/attestation: gramineproject/gramine
 *   @ff71d7afea730dffd56a97af39bb6a73ee6c7662 libos/src/fs/dev/attestation.c.
 * - configfs-tsm: torvalds/linux @5dcf8655cc80a48065ba0a224e794106c147c14b
 *   Documentation/ABI/testing/configfs-tsm.
 * - Real quotes: ../shared/vectors (dcap/, real/, field/), with the values
 *   that the corpus's own decoder (written from Intel's headers) put in each
 *   case.json.
 * The quote walker below is written here from Intel's headers and shares
 * nothing with asps's parser. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <linux/ioctl.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "asps/evidence.h"
#include "sim.h"
#include "asps/verify.h"
#include "dcap_parse.h"
#include "quote.h"
#include "testutil.h"
#include "util.h"

/* ---- an independent quote walker (Intel's headers) ----------------------------- */

enum { S_HEADER, S_DESC, S_BODY, S_SIG, S_CERT6, S_QE, S_CERT, S__N };
static const char *const SEC_NAME[S__N] = {"header", "v5 body descriptor", "body", "signature data",
                                           "cert data 6", "QE report cert data", "cert data"};

typedef struct lw_field {
    const char *name;
    size_t len;
} lw_field;

/* sgx_quote_3.h sgx_quote_header_t */
static const lw_field HDR3[] = {{"version", 2},  {"att_key_type", 2}, {"att_key_data_0", 4}, {"qe_svn", 2},
                                {"pce_svn", 2},  {"vendor_id", 16},   {"user_data", 20}};
/* sgx_quote_4.h sgx_quote4_header_t (v5: the same) */
static const lw_field HDR4[] = {{"version", 2},   {"att_key_type", 2}, {"tee_type", 4},
                                {"reserved", 4},  {"vendor_id", 16},   {"user_data", 20}};
/* sgx_report.h sgx_report_body_t */
static const lw_field SGX_REPORT[] = {
    {"cpu_svn", 16},   {"misc_select", 4}, {"reserved1", 12},  {"isv_ext_prod_id", 16},
    {"attributes", 16}, {"mr_enclave", 32}, {"reserved2", 32}, {"mr_signer", 32},
    {"reserved3", 32}, {"config_id", 64},  {"isv_prod_id", 2}, {"isv_svn", 2},
    {"config_svn", 2}, {"reserved4", 42},  {"isv_family_id", 16}, {"report_data", 64}};
/* sgx_quote_4.h sgx_report2_body_t; sgx_quote_5.h adds the last two */
static const lw_field TD_REPORT[] = {
    {"tee_tcb_svn", 16},    {"mr_seam", 48},      {"mrsigner_seam", 48}, {"seam_attributes", 8},
    {"td_attributes", 8},   {"xfam", 8},          {"mr_td", 48},         {"mr_config_id", 48},
    {"mr_owner", 48},       {"mr_owner_config", 48}, {"rtmr0", 48},      {"rtmr1", 48},
    {"rtmr2", 48},          {"rtmr3", 48},        {"report_data", 64},   {"tee_tcb_svn2", 16},
    {"mr_servicetd", 48}};
#define TD10_FIELDS 15
#define TD15_FIELDS 17

typedef struct lw_item {
    const char *name;
    int sec;
    size_t off, rel, len;
} lw_item;

typedef struct lw {
    const uint8_t *b;
    size_t n;
    lw_item it[96];
    size_t ni, sec_start[S__N];
    uint16_t version, att_key_type, body_type, outer_type, inner_type;
    uint32_t tee_type, body_size, sig_len, outer_len, inner_len;
    size_t body_off, auth_len, inner_off, end;
    char err[200];
} lw;

static uint32_t le(const uint8_t *p, size_t k)
{
    uint32_t v = 0;
    for (size_t i = k; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static int take(lw *w, int sec, const char *name, size_t *pos, size_t len, size_t limit)
{
    if (len > limit || *pos > limit - len || w->ni == sizeof w->it / sizeof w->it[0]) {
        snprintf(w->err, sizeof w->err, "%s %s at %zu: %zu bytes run past %zu", SEC_NAME[sec], name, *pos,
                 len, limit);
        return 0;
    }
    lw_item *i = &w->it[w->ni++];
    i->name = name;
    i->sec = sec;
    i->off = *pos;
    i->rel = *pos - w->sec_start[sec];
    i->len = len;
    *pos += len;
    return 1;
}

static int take_all(lw *w, int sec, const lw_field *f, size_t nf, size_t *pos, size_t limit)
{
    w->sec_start[sec] = *pos;
    for (size_t i = 0; i < nf; i++)
        if (!take(w, sec, f[i].name, pos, f[i].len, limit))
            return 0;
    return 1;
}

static int walk_fail(lw *w, const char *msg)
{
    snprintf(w->err, sizeof w->err, "%s", msg);
    return 0;
}

/* Walk a quote; 1 when every declared length fits what it contains. The
 * bytes after the signature data are only counted (n - end). */
static int lw_walk(const uint8_t *b, size_t n, lw *w)
{
    memset(w, 0, sizeof *w);
    w->b = b;
    w->n = n;
    size_t p = 0;
    if (n < 48)
        return walk_fail(w, "shorter than a header");
    w->version = (uint16_t)le(b, 2);
    w->att_key_type = (uint16_t)le(b + 2, 2);
    w->tee_type = le(b + 4, 4);
    if (w->version < 3 || w->version > 5)
        return walk_fail(w, "not a v3-v5 quote");
    if (!take_all(w, S_HEADER, w->version == 3 ? HDR3 : HDR4, w->version == 3 ? 7 : 6, &p, n))
        return 0;
    size_t nbody;
    const lw_field *body;
    if (w->version == 5) {
        w->sec_start[S_DESC] = p;
        if (!take(w, S_DESC, "body_type", &p, 2, n) || !take(w, S_DESC, "body_size", &p, 4, n))
            return 0;
        w->body_type = (uint16_t)le(b + 48, 2);
        w->body_size = le(b + 50, 4);
        /* sgx_quote_5.h: 1 SGX enclave report, 2 TD report 1.0, 3 TD 1.5 */
        if (w->body_type == 1)
            body = SGX_REPORT, nbody = 16;
        else if (w->body_type == 2)
            body = TD_REPORT, nbody = TD10_FIELDS;
        else if (w->body_type == 3)
            body = TD_REPORT, nbody = TD15_FIELDS;
        else
            return walk_fail(w, "unknown v5 body type");
    } else if (w->tee_type == 0) {
        body = SGX_REPORT, nbody = 16;
    } else if (w->tee_type == 0x81 && w->version == 4) {
        body = TD_REPORT, nbody = TD10_FIELDS;
    } else {
        return walk_fail(w, "unknown TEE type");
    }
    w->body_off = p;
    if (!take_all(w, S_BODY, body, nbody, &p, n))
        return 0;
    if (w->version == 5 && p - w->body_off != w->body_size)
        return walk_fail(w, "v5 body size differs from its type's report");
    w->body_size = (uint32_t)(p - w->body_off);
    w->sec_start[S_SIG] = p;
    if (!take(w, S_SIG, "sig_data_len", &p, 4, n))
        return 0;
    w->sig_len = le(b + p - 4, 4);
    if (w->sig_len > n - p)
        return walk_fail(w, "signature data runs past the end");
    w->end = p + w->sig_len;
    if (!take(w, S_SIG, "signature", &p, 64, w->end) || !take(w, S_SIG, "attestation_key", &p, 64, w->end))
        return 0;
    if (w->version >= 4) { /* sgx_ecdsa_sig_data_v4_t: certification data follows */
        w->sec_start[S_CERT6] = p;
        if (!take(w, S_CERT6, "cert_type", &p, 2, w->end) || !take(w, S_CERT6, "cert_size", &p, 4, w->end))
            return 0;
        w->outer_type = (uint16_t)le(b + p - 6, 2);
        w->outer_len = le(b + p - 4, 4);
        if (w->outer_len != w->end - p)
            return walk_fail(w, "outer certification data size differs from what is left");
    }
    /* sgx_ql_ecdsa_sig_data_t / sgx_qe_report_certification_data_t */
    if (!take_all(w, S_QE, SGX_REPORT, 16, &p, w->end) || !take(w, S_QE, "qe_report_sig", &p, 64, w->end) ||
        !take(w, S_QE, "auth_size", &p, 2, w->end))
        return 0;
    w->auth_len = le(b + p - 2, 2);
    if (!take(w, S_QE, "auth_data", &p, w->auth_len, w->end))
        return 0;
    w->sec_start[S_CERT] = p;
    if (!take(w, S_CERT, "cert_type", &p, 2, w->end) || !take(w, S_CERT, "cert_size", &p, 4, w->end))
        return 0;
    w->inner_type = (uint16_t)le(b + p - 6, 2);
    w->inner_len = le(b + p - 4, 4);
    w->inner_off = p;
    if (!take(w, S_CERT, "cert_data", &p, w->inner_len, w->end))
        return 0;
    if (p != w->end)
        return walk_fail(w, "bytes left inside the signature data");
    return 1;
}

static const lw_item *lw_find(const lw *w, int sec, const char *name)
{
    for (size_t i = 0; i < w->ni; i++)
        if (w->it[i].sec == sec && !strcmp(w->it[i].name, name))
            return &w->it[i];
    fail_msg("walker: no %s %s", SEC_NAME[sec], name);
    return NULL;
}

static const uint8_t *lw_at(const lw *w, int sec, const char *name, size_t len)
{
    const lw_item *i = lw_find(w, sec, name);
    assert_int_equal(i->len, len);
    return w->b + i->off;
}

static lw *walk_or_fail(const uint8_t *b, size_t n, const char *what)
{
    lw *w = malloc(sizeof *w);
    assert_non_null(w);
    if (!lw_walk(b, n, w))
        fail_msg("%s: walker: %s", what, w->err);
    return w;
}

/* ---- helpers -------------------------------------------------------------------- */

static char *g_sim;

static int setup(void **state)
{
    (void)state;
    g_sim = tu_mkdtemp();
    asps_errbuf eb;
    return asps_sim_init(g_sim, &eb) == ASPS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(g_sim);
    free(g_sim);
    return 0;
}

/* A simulated quote: tee, version (0 default), TD report 1.5. */
static uint8_t *sim_quote(asps_tee tee, uint16_t version, int td15, size_t *len)
{
    asps_sim *s;
    asps_errbuf eb;
    assert_int_equal(asps_sim_open(g_sim, &s, &eb), ASPS_OK);
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    id.tee = tee;
    id.quote_version = version;
    id.td15 = td15;
    for (int i = 0; i < 16; i++)
        id.tee_tcb_svn2[i] = (uint8_t)(0x40 + i);
    for (int i = 0; i < 64; i++)
        id.report_data[i] = (uint8_t)(0x80 + i);
    uint8_t *q;
    asps_err e = asps_sim_quote(s, &id, &q, len, &eb);
    if (e != ASPS_OK)
        fail_msg("sim quote: %s", eb.msg);
    asps_sim_free(s);
    return q;
}

static const char *real_dir(void)
{
    const char *d = tu_vectors_subdir("real");
    if (!d)
        tu_skip_vectors("real quotes (../shared/vectors/real)");
    return d;
}

static uint8_t *read_in(const char *dir, const char *c, const char *name, size_t *len)
{
    char p[8400];
    snprintf(p, sizeof p, "%s/%s/%s", dir, c, name);
    uint8_t *b = tu_read_file(p, len);
    if (!b)
        fail_msg("cannot read %s", p);
    return b;
}

static uint8_t *real_quote(const char *c, size_t *len) { return read_in(real_dir(), c, "quote", len); }

static cJSON *real_case(const char *c)
{
    size_t n;
    uint8_t *b = read_in(real_dir(), c, "case.json", &n);
    cJSON *j = cJSON_Parse((const char *)b);
    free(b);
    assert_non_null(j);
    return j;
}

static uint8_t *field_quote(const char *c, size_t *len)
{
    const char *d = tu_vectors_subdir("field");
    if (!d)
        tu_skip_vectors("field cases (../shared/vectors/field)");
    return read_in(d, c, "quote", len);
}

/* The names of the real cases (every folder with a quote), sorted. */
static size_t real_cases(char names[][96], size_t max)
{
    DIR *d = opendir(real_dir());
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= 96)
            continue;
        char p[4300];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s/quote", real_dir(), e->d_name);
        if (stat(p, &st) == 0 && n < max)
            snprintf(names[n++], 96, "%s", e->d_name);
    }
    closedir(d);
    qsort(names, n, 96, (int (*)(const void *, const void *))strcmp);
    return n;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jint(const cJSON *o, const char *k, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static void assert_hex(const uint8_t *b, size_t n, const char *want, const char *what)
{
    char h[1024];
    assert_true(n * 2 < sizeof h);
    asps_hex_encode(b, n, h);
    if (!want || strcasecmp(h, want) != 0)
        fail_msg("%s: bytes %s, expected %s", what, h, want ? want : "(none)");
}

/* ---- quote versions and body types ---------------------------------------------- */

/* The walker (Intel's layout) reads every real quote whole, and agrees with
 * the corpus's own decoder on what it read; asps's parser agrees with the
 * walker on every number and every place: version, TEE, body type and
 * size, where the body, the QE report, the auth data and the certification
 * data start, the quote's length and the padding after it. */
static void test_every_real_quote_walks_and_asps_reads_it_in_the_same_places(void **state)
{
    (void)state;
    char names[64][96];
    size_t nc = real_cases(names, 64);
    assert_true(nc >= 26);
    int seen_v5 = 0, seen_v4 = 0, seen_v3 = 0, seen_type3 = 0;
    for (size_t c = 0; c < nc; c++) {
        size_t n;
        uint8_t *b = real_quote(names[c], &n);
        cJSON *cj = real_case(names[c]);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(cj, "fields");
        lw *w = walk_or_fail(b, n, names[c]);
        /* the walker against the corpus's decoder */
        assert_int_equal(w->version, jint(f, "version", -1));
        /* TEE types and the attestation key type as asps names them */
        assert_int_equal(w->tee_type, !strcmp(jstr(f, "tee"), "tdx") ? ASPS_TEE_TDX : ASPS_TEE_SGX);
        assert_int_equal(w->end, jint(f, "signed_length", -1));
        assert_int_equal(n - w->end, jint(f, "trailing_bytes", -1));
        assert_int_equal(w->inner_type, jint(f, "cert_data_type", -1));
        if (w->version == 5)
            assert_int_equal(w->body_type, jint(f, "body_type", -1));
        assert_int_equal(w->att_key_type, ASPS_ATT_KEY_ECDSA_P256);
        assert_hex(lw_at(w, S_BODY, "report_data", 64), 64, jstr(f, "report_data"), names[c]);
        assert_int_equal(le(lw_at(w, S_QE, "isv_svn", 2), 2), jint(f, "qe_isv_svn", -1));
        /* asps against the walker */
        asps_quote q;
        asps_errbuf eb;
        if (asps_quote_parse(b, n, &q, &eb) != ASPS_OK)
            fail_msg("%s: asps: %s", names[c], eb.msg);
        assert_int_equal(q.version, w->version);
        assert_int_equal(q.tee_type, w->tee_type);
        assert_int_equal(q.att_key_type, w->att_key_type);
        /* v3/v4 carry no body type: the one sgx_quote_5.h gives their body */
        assert_int_equal(q.body_type, w->version == 5 ? w->body_type : w->tee_type == 0 ? 1 : 2);
        assert_int_equal(q.body_size, w->body_size);
        assert_int_equal(q.signed_len, w->sec_start[S_SIG]);
        assert_int_equal(q.sig_data_len, w->sig_len);
        assert_int_equal(q.quote_len, w->end);
        assert_int_equal(q.trailing_len, n - w->end);
        assert_int_equal(q.outer_cert_type, w->outer_type);
        assert_int_equal(q.cert_type, w->inner_type);
        assert_int_equal((size_t)(q.qe_report_raw - b), w->sec_start[S_QE]);
        assert_int_equal((size_t)(q.qe_auth - b), lw_find(w, S_QE, "auth_data")->off);
        assert_int_equal(q.qe_auth_len, w->auth_len);
        assert_int_equal((size_t)(q.cert_data - b), w->inner_off);
        assert_int_equal(q.cert_data_len, w->inner_len);
        assert_memory_equal(q.signature, lw_at(w, S_SIG, "signature", 64), 64);
        assert_memory_equal(q.att_key, lw_at(w, S_SIG, "attestation_key", 64), 64);
        assert_memory_equal(q.qe_report_sig, lw_at(w, S_QE, "qe_report_sig", 64), 64);
        assert_int_equal(q.qe_report.isv_prod_id, le(lw_at(w, S_QE, "isv_prod_id", 2), 2));
        assert_memory_equal(q.qe_report.mr_signer, lw_at(w, S_QE, "mr_signer", 32), 32);
        if (w->tee_type == 0) {
            assert_memory_equal(q.sgx.mr_enclave, lw_at(w, S_BODY, "mr_enclave", 32), 32);
            assert_memory_equal(q.sgx.cpu_svn, lw_at(w, S_BODY, "cpu_svn", 16), 16);
            assert_memory_equal(q.sgx.report_data, lw_at(w, S_BODY, "report_data", 64), 64);
            assert_hex(q.sgx.mr_enclave, 32, jstr(f, "mrenclave"), names[c]);
        } else {
            assert_memory_equal(q.tdx.mr_td, lw_at(w, S_BODY, "mr_td", 48), 48);
            assert_memory_equal(q.tdx.rtmr[3], lw_at(w, S_BODY, "rtmr3", 48), 48);
            assert_memory_equal(q.tdx.report_data, lw_at(w, S_BODY, "report_data", 64), 64);
            assert_hex(q.tdx.mr_td, 48, jstr(f, "mrtd"), names[c]);
        }
        seen_v3 += w->version == 3;
        seen_v4 += w->version == 4;
        seen_v5 += w->version == 5;
        seen_type3 += w->inner_type == 3;
        free(w);
        cJSON_Delete(cj);
        free(b);
    }
    assert_true(seen_v3 > 0 && seen_v4 > 0 && seen_v5 > 0 && seen_type3 > 0);
}

/* Quote versions and v5 body types, as Intel numbers them, against real
 * quotes and the simulated platform's, both read by the walker:
 * - the real v5 quotes (TDX 1.5 platforms, and go-tdx-guest's and trustee's
 *   samples) say body type 3 with 648 bytes: ASPS_QUOTE_BODY_TD15 and
 *   ASPS_TD15_REPORT_LEN; real v4 TD quotes put the signature data length
 *   at 48 + 584 and real v3 SGX quotes at 48 + 384;
 * - body types 1 (SGX) and 2 (TD 1.0) no real quote shows (none was found):
 *   they are sgx_quote_5.h's numbers;
 * - the sim writes exactly these numbers at offset 48, and asps refuses
 *   every other body type as unsupported, naming it. */
static void test_quote_versions_and_v5_body_types_are_intels(void **state)
{
    (void)state;
    /* sgx_quote_5.h: "1 (SGX Enclave Report), 2 (TD Report for TDX 1.0),
     * 3 (TD Report for TDX 1.5)" */
    assert_int_equal(ASPS_QUOTE_BODY_SGX, 1);
    assert_int_equal(ASPS_QUOTE_BODY_TD10, 2);
    assert_int_equal(ASPS_QUOTE_BODY_TD15, 3);
    struct {
        int field;
        const char *name;
    } v5[] = {{0, "tdx5-90c06f-tcb-not-supported"},
              {0, "tdx5-10806f07-preproduction-show"},
              {1, "gtg-v5-td15-90c06f"},
              {1, "trustee-tdx5-show"}};
    for (size_t i = 0; i < sizeof v5 / sizeof v5[0]; i++) {
        size_t n;
        uint8_t *b = v5[i].field ? field_quote(v5[i].name, &n) : real_quote(v5[i].name, &n);
        lw *w = walk_or_fail(b, n, v5[i].name);
        assert_int_equal(w->version, 5);
        assert_int_equal(w->tee_type, ASPS_TEE_TDX);
        assert_int_equal(le(b + 48, 2), ASPS_QUOTE_BODY_TD15);
        assert_int_equal(le(b + 50, 4), ASPS_TD15_REPORT_LEN);
        asps_quote q;
        asps_errbuf eb;
        assert_int_equal(asps_quote_parse(b, n, &q, &eb), ASPS_OK);
        assert_int_equal(q.body_type, ASPS_QUOTE_BODY_TD15);
        assert_true(q.tdx.has_v15);
        /* every other body type is refused, naming it; the TD report 1.0
         * number on a 1.5 body is a contradiction */
        for (unsigned t = 0; t < 8; t++) {
            if (t == ASPS_QUOTE_BODY_TD15)
                continue;
            b[48] = (uint8_t)t;
            asps_err e = asps_quote_parse(b, n, &q, &eb);
            char want[32];
            snprintf(want, sizeof want, "body type %u", t);
            if (t == ASPS_QUOTE_BODY_TD10 || t == ASPS_QUOTE_BODY_SGX) {
                assert_int_equal(e, ASPS_E_PARSE);
            } else {
                assert_int_equal(e, ASPS_E_UNSUPPORTED);
                assert_non_null(strstr(eb.msg, want));
            }
        }
        free(w);
        free(b);
    }
    /* the fixed-size bodies of v3 and v4: where the signature data starts */
    size_t n;
    uint8_t *b = real_quote("tdx4-00806f05-azure", &n);
    lw *w = walk_or_fail(b, n, "tdx4");
    assert_int_equal(w->version, 4);
    assert_int_equal(w->sec_start[S_SIG], ASPS_QUOTE_HEADER_LEN + ASPS_TD10_REPORT_LEN);
    free(w);
    free(b);
    b = real_quote("sgx3-00606a-platform-eval17", &n);
    w = walk_or_fail(b, n, "sgx3");
    assert_int_equal(w->version, 3);
    assert_int_equal(w->sec_start[S_SIG], ASPS_QUOTE_HEADER_LEN + ASPS_SGX_REPORT_LEN);
    free(w);
    free(b);

    /* what the sim writes, read raw */
    struct {
        asps_tee tee;
        uint16_t version;
        int td15;
        unsigned want_version, want_body;
    } s[] = {{ASPS_TEE_SGX, 0, 0, 3, 0},   {ASPS_TEE_SGX, 4, 0, 4, 0}, {ASPS_TEE_SGX, 5, 0, 5, 1},
             {ASPS_TEE_TDX, 0, 0, 4, 0},   {ASPS_TEE_TDX, 5, 0, 5, 2}, {ASPS_TEE_TDX, 0, 1, 5, 3},
             {ASPS_TEE_TDX, 5, 1, 5, 3}};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        b = sim_quote(s[i].tee, s[i].version, s[i].td15, &n);
        w = walk_or_fail(b, n, "sim");
        assert_int_equal(w->version, s[i].want_version);
        assert_int_equal(w->tee_type, s[i].tee);
        if (s[i].want_body) {
            assert_int_equal(le(b + 48, 2), s[i].want_body);
            assert_int_equal(le(b + 50, 4), s[i].want_body == 1   ? 384
                                            : s[i].want_body == 2 ? 584
                                                                  : 648);
        }
        asps_quote q;
        asps_errbuf eb;
        assert_int_equal(asps_quote_parse(b, n, &q, &eb), ASPS_OK);
        free(w);
        free(b);
    }
    /* versions the sim has not */
    asps_sim *sim;
    asps_errbuf eb;
    assert_int_equal(asps_sim_open(g_sim, &sim, &eb), ASPS_OK);
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    id.tee = ASPS_TEE_TDX;
    id.quote_version = 3;
    uint8_t *q;
    assert_int_equal(asps_sim_quote(sim, &id, &q, &n, &eb), ASPS_E_ARG);
    id.quote_version = 4;
    id.td15 = 1;
    assert_int_equal(asps_sim_quote(sim, &id, &q, &n, &eb), ASPS_E_ARG);
    asps_sim_free(sim);
}

/* TD report 1.5: TEE_TCB_SVN2 at body offset 584 and MRSERVICETD at 600
 * (sgx_quote_5.h), checked on real v5 quotes whose values differ from
 * their neighbours': the corpus's decoder's values (tdx5-*), and trustee's
 * quote whose MRSERVICETD is not zero. asps reads them there, and the sim
 * writes them there. */
static void test_td15_fields_sit_at_intels_offsets_in_real_v5_quotes(void **state)
{
    (void)state;
    const char *cases[] = {"tdx5-90c06f-tcb-not-supported", "tdx5-10806f07-preproduction-show"};
    for (size_t i = 0; i < 2; i++) {
        size_t n;
        uint8_t *b = real_quote(cases[i], &n);
        cJSON *cj = real_case(cases[i]);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(cj, "fields");
        const uint8_t *body = b + 54;
        assert_hex(body + 584, 16, jstr(f, "tee_tcb_svn2"), "TEE_TCB_SVN2 at 584");
        assert_hex(body + 600, 48, jstr(f, "mrservicetd"), "MRSERVICETD at 600");
        assert_hex(body + 0, 16, jstr(f, "tee_tcb_svn"), "TEE_TCB_SVN at 0");
        asps_quote q;
        asps_errbuf eb;
        assert_int_equal(asps_quote_parse(b, n, &q, &eb), ASPS_OK);
        assert_memory_equal(q.tdx.tee_tcb_svn2, body + 584, 16);
        assert_memory_equal(q.tdx.mr_servicetd, body + 600, 48);
        cJSON_Delete(cj);
        free(b);
    }
    /* 90c06f: TEE_TCB_SVN2 differs from TEE_TCB_SVN, so reading one for
     * the other cannot pass */
    size_t n;
    uint8_t *b = real_quote("tdx5-90c06f-tcb-not-supported", &n);
    assert_memory_not_equal(b + 54 + 584, b + 54, 16);
    free(b);
    /* trustee's sample has a non-zero MRSERVICETD, the last 48 bytes of the
     * body: right before the signature data length */
    b = field_quote("trustee-tdx5-show", &n);
    static const uint8_t zero[48];
    assert_memory_not_equal(b + 54 + 600, zero, 48);
    assert_int_equal(54 + 600 + 48, 54 + ASPS_TD15_REPORT_LEN);
    asps_quote q;
    asps_errbuf eb;
    assert_int_equal(asps_quote_parse(b, n, &q, &eb), ASPS_OK);
    assert_memory_equal(q.tdx.mr_servicetd, b + 54 + 600, 48);
    assert_memory_equal(q.tdx.tee_tcb_svn2, b + 54 + 584, 16);
    free(b);
    /* the sim */
    b = sim_quote(ASPS_TEE_TDX, 5, 1, &n);
    for (int i = 0; i < 16; i++)
        assert_int_equal(b[54 + 584 + i], 0x40 + i);
    assert_memory_equal(b + 54 + 600, zero, 48);
    assert_int_equal(asps_quote_parse(b, n, &q, &eb), ASPS_OK);
    assert_memory_equal(q.tdx.tee_tcb_svn2, b + 54 + 584, 16);
    free(b);
}

/* QE report and certification data types: sgx_quote_3.h's enum, and what
 * real quotes carry where Intel's layout puts it: 5 (PCK chain) in v3, 6
 * wrapping 5 in v4/v5, and 3 (encrypted PPID, 404 bytes: 384 + CPUSVN 16 +
 * PCESVN 2 + PCE ID 2) in oasis-core's quote. asps reads type 3 and refuses
 * to verify it as unsupported, saying a PCK certificate is needed. */
static void test_certification_data_types_are_intels(void **state)
{
    (void)state;
    /* sgx_ql_cert_key_type_t */
    assert_int_equal(ASPS_CERT_TYPE_PPID_CLEARTEXT, 1);
    assert_int_equal(ASPS_CERT_TYPE_PPID_RSA2048, 2);
    assert_int_equal(ASPS_CERT_TYPE_PPID_RSA3072, 3);
    assert_int_equal(ASPS_CERT_TYPE_PCK_LEAF, 4);
    assert_int_equal(ASPS_CERT_TYPE_PCK_CHAIN, 5);
    assert_int_equal(ASPS_CERT_TYPE_QE_REPORT, 6);
    size_t n;
    uint8_t *b = real_quote("sgx3-00606a-platform-eval17", &n);
    lw *w = walk_or_fail(b, n, "sgx3");
    assert_int_equal(w->outer_type, 0); /* v3: no wrapper */
    assert_int_equal(w->inner_type, ASPS_CERT_TYPE_PCK_CHAIN);
    assert_memory_equal(b + w->inner_off, "-----BEGIN CERTIFICATE-----", 27);
    free(w);
    free(b);
    const char *wrapped[] = {"tdx4-00806f05-azure", "tdx5-90c06f-tcb-not-supported"};
    for (int i = 0; i < 2; i++) {
        b = real_quote(wrapped[i], &n);
        w = walk_or_fail(b, n, wrapped[i]);
        assert_int_equal(w->outer_type, ASPS_CERT_TYPE_QE_REPORT);
        assert_int_equal(w->inner_type, ASPS_CERT_TYPE_PCK_CHAIN);
        free(w);
        free(b);
    }
    b = real_quote("sgx3-certtype3-ppid-show", &n);
    w = walk_or_fail(b, n, "type 3");
    assert_int_equal(w->inner_type, ASPS_CERT_TYPE_PPID_RSA3072);
    assert_int_equal(w->inner_len, 384 + 16 + 2 + 2);
    asps_quote q;
    asps_errbuf eb;
    assert_int_equal(asps_quote_parse(b, n, &q, &eb), ASPS_OK);
    assert_int_equal(q.cert_type, 3);
    assert_null(q.pck_chain);
    assert_int_equal(q.ppid_len, 384);
    assert_ptr_equal(q.ppid, b + w->inner_off);
    assert_memory_equal(q.ppid_cpu_svn, b + w->inner_off + 384, 16);
    assert_int_equal(q.ppid_pce_svn, le(b + w->inner_off + 400, 2));
    assert_int_equal(q.ppid_pce_id, le(b + w->inner_off + 402, 2));
    /* the platform's own numbers: the CPUSVN in the enclave's report and
     * the PCE SVN in the v3 header (oasis-core's test asserts both) */
    assert_memory_equal(q.ppid_cpu_svn, q.sgx.cpu_svn, 16);
    assert_int_equal(q.ppid_pce_svn, q.pce_svn);
    assert_int_equal(asps_quote_need_pck_chain(&q, &eb), ASPS_E_UNSUPPORTED);
    assert_non_null(strstr(eb.msg, "needs a PCK certificate from elsewhere"));
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    assert_int_equal(asps_quote_platform(b, n, &tee, fmspc, ca, &eb), ASPS_E_UNSUPPORTED);
    /* the size of a PPID structure is Intel's: a byte more is not read as
     * one (the quote grown by one byte at the end of its certification
     * data, every length around it grown with it) */
    uint8_t *g = malloc(n + 1);
    assert_non_null(g);
    memcpy(g, b, w->end);
    g[w->end] = 0;
    memcpy(g + w->end + 1, b + w->end, n - w->end);
    g[432] = (uint8_t)(w->sig_len + 1); /* sig_data_len, v3: after 48 + 384 */
    g[433] = (uint8_t)((w->sig_len + 1) >> 8);
    g[w->inner_off - 4] = (uint8_t)(w->inner_len + 1); /* cert_size */
    g[w->inner_off - 3] = (uint8_t)((w->inner_len + 1) >> 8);
    lw *gw = walk_or_fail(g, n + 1, "grown");
    assert_int_equal(gw->inner_len, 405);
    assert_int_equal(asps_quote_parse(g, n + 1, &q, &eb), ASPS_E_PARSE);
    assert_non_null(strstr(eb.msg, "405 bytes, expected 404"));
    free(gw);
    free(g);
    /* types 1 and 2 with their structures, 0 and 6-7 refused naming them */
    for (unsigned t = 0; t < 8; t++) {
        b[w->inner_off - 6] = (uint8_t)t;
        asps_err e = asps_quote_parse(b, n, &q, &eb);
        if (t == 3) {
            assert_int_equal(e, ASPS_OK);
        } else if (t == 1 || t == 2) { /* 36 / 276 bytes, not 404 */
            assert_int_equal(e, ASPS_E_PARSE);
            assert_non_null(strstr(eb.msg, t == 1 ? "expected 36" : "expected 276"));
        } else if (t == 4) {
            assert_int_equal(e, ASPS_OK);
            assert_int_equal(asps_quote_need_pck_chain(&q, &eb), ASPS_E_UNSUPPORTED);
        } else if (t == 5) {
            assert_int_equal(e, ASPS_OK); /* parses; its chain is not PEM */
            assert_int_not_equal(asps_quote_platform(b, n, &tee, fmspc, ca, &eb), ASPS_OK);
        } else {
            assert_int_equal(e, ASPS_E_UNSUPPORTED);
            char want[40];
            snprintf(want, sizeof want, "type %u", t);
            assert_non_null(strstr(eb.msg, want));
        }
    }
    free(w);
    free(b);
}

/* ---- the PCK certificate's SGX extension, read with OpenSSL ----------------------- */

#define SGX_EXT "1.2.840.113741.1.13.1"

typedef struct oid_val {
    char oid[64];
    int type;             /* V_ASN1_* */
    uint8_t bytes[32];    /* OCTET STRING content */
    size_t n;
    long num;             /* INTEGER / ENUMERATED */
} oid_val;

/* SEQUENCE OF SEQUENCE { OID, value } decoded by OpenSSL into (oid, value)
 * pairs, in order; the TCB entry (.2) is flattened after itself. */
static size_t ext_entries(const uint8_t *der, long len, oid_val *out, size_t max)
{
    const uint8_t *p = der;
    ASN1_SEQUENCE_ANY *top = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
    assert_non_null(top);
    assert_ptr_equal(p, der + len);
    size_t n = 0;
    for (int i = 0; i < sk_ASN1_TYPE_num(top); i++) {
        ASN1_TYPE *e = sk_ASN1_TYPE_value(top, i);
        assert_int_equal(ASN1_TYPE_get(e), V_ASN1_SEQUENCE);
        const uint8_t *q = e->value.sequence->data;
        ASN1_SEQUENCE_ANY *pair = d2i_ASN1_SEQUENCE_ANY(NULL, &q, e->value.sequence->length);
        assert_non_null(pair);
        assert_int_equal(sk_ASN1_TYPE_num(pair), 2);
        ASN1_TYPE *o = sk_ASN1_TYPE_value(pair, 0), *v = sk_ASN1_TYPE_value(pair, 1);
        assert_int_equal(ASN1_TYPE_get(o), V_ASN1_OBJECT);
        assert_true(n < max);
        oid_val *ov = &out[n++];
        memset(ov, 0, sizeof *ov);
        OBJ_obj2txt(ov->oid, sizeof ov->oid, o->value.object, 1);
        ov->type = ASN1_TYPE_get(v);
        if (ov->type == V_ASN1_OCTET_STRING) {
            ov->n = (size_t)ASN1_STRING_length(v->value.octet_string);
            assert_true(ov->n <= sizeof ov->bytes);
            memcpy(ov->bytes, ASN1_STRING_get0_data(v->value.octet_string), ov->n);
        } else if (ov->type == V_ASN1_INTEGER) {
            ov->num = ASN1_INTEGER_get(v->value.integer);
        } else if (ov->type == V_ASN1_ENUMERATED) {
            ov->num = ASN1_ENUMERATED_get(v->value.enumerated);
        } else if (ov->type == V_ASN1_SEQUENCE && !strcmp(ov->oid, SGX_EXT ".2")) {
            n += ext_entries(v->value.sequence->data, v->value.sequence->length, out + n, max - n);
        }
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
    return n;
}

static const oid_val *find_oid(const oid_val *v, size_t n, const char *oid, int type)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].oid, oid)) {
            assert_int_equal(v[i].type, type);
            return &v[i];
        }
    fail_msg("no %s in the SGX extension", oid);
    return NULL;
}

/* The first certificate of a PEM chain, decoded by OpenSSL itself, and the
 * DER value of its SGX extension. */
static X509 *pck_cert(const uint8_t *pem, size_t len, const uint8_t **ext, long *ext_len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(x);
    ASN1_OBJECT *o = OBJ_txt2obj(SGX_EXT, 1);
    int idx = X509_get_ext_by_OBJ(x, o, -1);
    ASN1_OBJECT_free(o);
    assert_true(idx >= 0);
    ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    *ext = ASN1_STRING_get0_data(v);
    *ext_len = ASN1_STRING_length(v);
    return x;
}

/* The OIDs of the SGX extension, as Intel's PCK certificate profile names
 * them, found by OpenSSL in the PCK certificate of every real quote: FMSPC
 * (.4) and PCESVN (.2.17) equal the corpus's values, and asps's extension
 * parser reads each of PPID (.1), the 16 TCB components (.2.1-.2.16),
 * PCESVN, CPUSVN (.2.18), PCE-ID (.3), FMSPC and SGX type (.5) from the OID
 * that names it. The simulated PCK certificates carry the same OIDs, in the
 * same order, with the same types, as a real Platform-CA one. */
static void test_pck_extension_oids_are_intels(void **state)
{
    (void)state;
    char names[64][96];
    size_t nc = real_cases(names, 64), checked = 0;
    char real_platform_oids[2048] = "";
    for (size_t c = 0; c < nc; c++) {
        size_t n;
        uint8_t *b = real_quote(names[c], &n);
        lw *w = walk_or_fail(b, n, names[c]);
        if (w->inner_type != 5) {
            free(w);
            free(b);
            continue;
        }
        cJSON *cj = real_case(names[c]);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(cj, "fields");
        const uint8_t *ext;
        long ext_len;
        X509 *x = pck_cert(b + w->inner_off, w->inner_len, &ext, &ext_len);
        oid_val v[40];
        size_t nv = ext_entries(ext, ext_len, v, 40);
        const oid_val *fmspc = find_oid(v, nv, SGX_EXT ".4", V_ASN1_OCTET_STRING);
        assert_int_equal(fmspc->n, 6);
        assert_hex(fmspc->bytes, 6, jstr(f, "fmspc"), names[c]);
        const oid_val *pcesvn = find_oid(v, nv, SGX_EXT ".2.17", V_ASN1_INTEGER);
        assert_int_equal(pcesvn->num, jint(f, "pce_svn_in_pck", -1));
        asps_pck_ext px;
        asps_errbuf eb;
        assert_int_equal(asps_dcap_parse_pck_ext(ext, (size_t)ext_len, &px, &eb), ASPS_OK);
        assert_memory_equal(px.fmspc, fmspc->bytes, 6);
        assert_int_equal(px.pcesvn, pcesvn->num);
        const oid_val *ppid = find_oid(v, nv, SGX_EXT ".1", V_ASN1_OCTET_STRING);
        assert_int_equal(ppid->n, 16);
        assert_memory_equal(px.ppid, ppid->bytes, 16);
        for (int k = 1; k <= 16; k++) {
            char oid[64];
            snprintf(oid, sizeof oid, SGX_EXT ".2.%d", k);
            assert_int_equal(px.cpusvn_comp[k - 1], find_oid(v, nv, oid, V_ASN1_INTEGER)->num);
        }
        const oid_val *cpusvn = find_oid(v, nv, SGX_EXT ".2.18", V_ASN1_OCTET_STRING);
        assert_int_equal(cpusvn->n, 16);
        assert_memory_equal(px.cpusvn, cpusvn->bytes, 16);
        const oid_val *pceid = find_oid(v, nv, SGX_EXT ".3", V_ASN1_OCTET_STRING);
        assert_int_equal(pceid->n, 2);
        assert_memory_equal(px.pce_id, pceid->bytes, 2);
        assert_int_equal(px.sgx_type, find_oid(v, nv, SGX_EXT ".5", V_ASN1_ENUMERATED)->num);
        /* asps's reading for collateral lookup and `quote show` */
        asps_quote q;
        asps_quote_pck pv;
        assert_int_equal(asps_quote_parse(b, n, &q, &eb), ASPS_OK);
        assert_int_equal(asps_quote_pck_values(&q, &pv, &eb), ASPS_OK);
        assert_memory_equal(pv.fmspc, fmspc->bytes, 6);
        assert_int_equal(pv.pce_svn, pcesvn->num);
        assert_string_equal(pv.ca, jstr(f, "pck_ca"));
        if (!real_platform_oids[0] && !strcmp(jstr(f, "pck_ca"), "platform"))
            for (size_t i = 0; i < nv; i++) {
                char t[96];
                snprintf(t, sizeof t, "%.63s/%d ", v[i].oid, v[i].type);
                strcat(real_platform_oids, t);
            }
        checked++;
        X509_free(x);
        cJSON_Delete(cj);
        free(w);
        free(b);
    }
    assert_true(checked >= 20);
    assert_non_null(strstr(real_platform_oids, SGX_EXT ".7/")); /* a Platform-CA certificate */
    /* the simulated PCK certificates */
    for (int t = 0; t < 2; t++) {
        size_t n;
        uint8_t *b = sim_quote(t ? ASPS_TEE_TDX : ASPS_TEE_SGX, 0, 0, &n);
        lw *w = walk_or_fail(b, n, "sim");
        const uint8_t *ext;
        long ext_len;
        X509 *x = pck_cert(b + w->inner_off, w->inner_len, &ext, &ext_len);
        oid_val v[40];
        size_t nv = ext_entries(ext, ext_len, v, 40);
        char got[2048] = "";
        for (size_t i = 0; i < nv; i++) {
            char s[96];
            snprintf(s, sizeof s, "%.63s/%d ", v[i].oid, v[i].type);
            strcat(got, s);
        }
        if (strcmp(got, real_platform_oids))
            fail_msg("sim SGX extension:\n%s\nreal:\n%s", got, real_platform_oids);
        X509_free(x);
        free(w);
        free(b);
    }
}

/* ---- device interfaces ----------------------------------------------------------- */

/* Occlum's argument of SGXIOC_GEN_DCAP_QUOTE as its source declares it
 * (test/ioctl/main.c sgxioc_gen_dcap_quote_arg_t; mod.rs
 * IoctlGenDCAPQuoteArg): three pointers. */
typedef struct occlum_gen_dcap_quote_arg {
    void *report_data; /* sgx_report_data_t *, input */
    uint32_t *quote_len;
    uint8_t *quote_buf;
} occlum_gen_dcap_quote_arg;

static unsigned long g_reqs[4];
static int g_nreq;

static int record_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    (void)ctx;
    (void)fd;
    if (g_nreq < 4)
        g_reqs[g_nreq++] = req;
    if (req == _IOR('s', 7, uint32_t)) {
        *(uint32_t *)arg = 16;
        return 0;
    }
    if (req == _IOWR('s', 8, occlum_gen_dcap_quote_arg)) {
        occlum_gen_dcap_quote_arg *a = arg;
        memcpy(a->quote_buf, "Q", 1);
        *a->quote_len = 1;
        return 0;
    }
    return -1;
}

/* The ioctl numbers computed here with the kernel's own macros
 * (<linux/ioctl.h>) from Occlum's declarations, and what the Occlum
 * attester issues. */
static void test_occlum_ioctl_numbers_are_occlums(void **state)
{
    (void)state;
    assert_int_equal(ASPS_SGXIOC_GET_DCAP_QUOTE_SIZE, _IOR('s', 7, uint32_t));
    assert_int_equal(ASPS_SGXIOC_GEN_DCAP_QUOTE, _IOWR('s', 8, occlum_gen_dcap_quote_arg));
    assert_int_equal(sizeof(asps_sgxioc_gen_dcap_quote_arg), sizeof(occlum_gen_dcap_quote_arg));
    assert_int_equal(offsetof(asps_sgxioc_gen_dcap_quote_arg, report_data),
                     offsetof(occlum_gen_dcap_quote_arg, report_data));
    assert_int_equal(offsetof(asps_sgxioc_gen_dcap_quote_arg, quote_len),
                     offsetof(occlum_gen_dcap_quote_arg, quote_len));
    assert_int_equal(offsetof(asps_sgxioc_gen_dcap_quote_arg, quote_buf),
                     offsetof(occlum_gen_dcap_quote_arg, quote_buf));
    /* Occlum's device (src/libos/src/fs/dev_fs/mod.rs adds "sgx" to /dev) */
    assert_string_equal(ASPS_OCCLUM_SGX_DEVICE, "/dev/sgx");
    char *d = tu_mkdtemp(), dev[4200];
    snprintf(dev, sizeof dev, "%s/sgx", d);
    FILE *f = fopen(dev, "w");
    assert_non_null(f);
    fclose(f);
    asps_attester_opts o = {.kind = "occlum", .sgx_device = dev, .ioctl_fn = record_ioctl};
    asps_attester *a;
    asps_errbuf eb;
    assert_int_equal(asps_attester_new(&o, &a, &eb), ASPS_OK);
    uint8_t rd[64] = {0}, *q;
    size_t n;
    g_nreq = 0;
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_OK);
    assert_int_equal(g_nreq, 2);
    assert_int_equal(g_reqs[0], _IOR('s', 7, uint32_t));
    assert_int_equal(g_reqs[1], _IOWR('s', 8, occlum_gen_dcap_quote_arg));
    free(q);
    asps_attester_free(a);
    tu_rm_rf(d);
    free(d);
}

static void put(const char *dir, const char *name, const void *b, size_t n)
{
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(b, 1, n, f);
    fclose(f);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Gramine's /dev/attestation as libos/src/fs/dev/attestation.c makes it:
 * the folder, and the pseudo-files attestation_type, my_target_info,
 * report, user_report_data (64 bytes, sgx_report_data_t), target_info and
 * (for "dcap"/"epid") quote. The Gramine attester, in a folder holding
 * exactly these, writes our 64 bytes to user_report_data, reads quote, and
 * makes no file of its own (pseudo-files cannot be created). */
static void test_gramine_attestation_paths_are_gramines(void **state)
{
    (void)state;
    assert_string_equal(ASPS_GRAMINE_ATTESTATION_DIR, "/dev/attestation");
    char *d = tu_mkdtemp();
    const char *files[] = {"attestation_type", "my_target_info", "report", "user_report_data", "target_info",
                           "quote"};
    for (size_t i = 0; i < 6; i++)
        put(d, files[i], "", 0);
    put(d, "attestation_type", "dcap", 4);
    put(d, "quote", "GRAMINE-QUOTE", 13);
    asps_attester_opts o = {.kind = "gramine", .gramine_dir = d};
    asps_attester *a;
    asps_errbuf eb;
    assert_int_equal(asps_attester_new(&o, &a, &eb), ASPS_OK);
    uint8_t rd[64], *q;
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(i + 1);
    size_t n;
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_OK);
    assert_int_equal(n, 13);
    assert_memory_equal(q, "GRAMINE-QUOTE", 13);
    free(q);
    char p[4200];
    snprintf(p, sizeof p, "%s/user_report_data", d);
    size_t rl;
    uint8_t *written = tu_read_file(p, &rl);
    assert_int_equal(rl, 64);
    assert_memory_equal(written, rd, 64);
    free(written);
    assert_int_equal(count_entries(d), 6);
    asps_attester_free(a);
    tu_rm_rf(d);
    free(d);
}

typedef struct tsm_fake {
    int writes;
} tsm_fake;

/* What the kernel does on a write of inblob (configfs-tsm ABI): generation
 * increments, and outblob is the report. */
static void tsm_kernel(void *ctx, const char *entry, const char *attr)
{
    tsm_fake *t = ctx;
    t->writes++;
    assert_string_equal(attr, "inblob");
    put(entry, "generation", "1\n", 2);
    put(entry, "outblob", "TD-QUOTE", 8);
}

/* configfs-tsm as Documentation/ABI/testing/configfs-tsm describes it:
 * /sys/kernel/config/tsm/report/$name/ with inblob (WO, up to 64 bytes),
 * outblob (RO), auxblob (RO), provider (RO), generation (RO), privlevel
 * (WO), privlevel_floor (RO). The TDX attester, in an entry holding exactly
 * these, writes only inblob (our 64 bytes), reads outblob and generation,
 * and makes no file of its own. */
static void test_configfs_tsm_files_are_the_kernels(void **state)
{
    (void)state;
    assert_string_equal(ASPS_TSM_REPORT_DIR, "/sys/kernel/config/tsm/report");
    char *d = tu_mkdtemp(), entry[4200];
    snprintf(entry, sizeof entry, "%s/e1", d);
    assert_int_equal(mkdir(entry, 0700), 0);
    const char *files[] = {"inblob", "outblob", "auxblob", "provider", "generation", "privlevel",
                           "privlevel_floor"};
    for (size_t i = 0; i < 7; i++)
        put(entry, files[i], "", 0);
    put(entry, "provider", "tdx_guest\n", 10);
    put(entry, "generation", "0\n", 2);
    tsm_fake t = {0};
    asps_attester_opts o = {.kind = "tdx", .tsm_dir = d, .tsm_entry = "e1", .tsm_after_write = tsm_kernel,
                            .tsm_ctx = &t};
    asps_attester *a;
    asps_errbuf eb;
    assert_int_equal(asps_attester_new(&o, &a, &eb), ASPS_OK);
    uint8_t rd[64], *q;
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(0xf0 - i);
    size_t n;
    assert_int_equal(asps_attester_quote(a, rd, &q, &n, &eb), ASPS_OK);
    assert_int_equal(t.writes, 1);
    assert_int_equal(n, 8);
    assert_memory_equal(q, "TD-QUOTE", 8);
    free(q);
    char p[4300];
    snprintf(p, sizeof p, "%s/inblob", entry);
    size_t rl;
    uint8_t *in = tu_read_file(p, &rl);
    assert_int_equal(rl, 64);
    assert_memory_equal(in, rd, 64);
    free(in);
    snprintf(p, sizeof p, "%s/privlevel", entry);
    in = tu_read_file(p, &rl);
    assert_int_equal(rl, 0);
    free(in);
    assert_int_equal(count_entries(entry), 7);
    assert_int_equal(count_entries(d), 1);
    asps_attester_free(a);
    tu_rm_rf(d);
    free(d);
}

/* ---- the simulated platform's quotes against real ones ---------------------------- */

/* The roles of a PEM chain's certificates, in order, by Intel's CNs (a PCK
 * CA of either kind is "ca": the sim has only the Platform CA, and a real
 * SGX quote may come from the Processor CA). */
static void chain_roles(const uint8_t *pem, size_t len, char *out, size_t cap)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x;
    out[0] = 0;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        char cn[256] = "";
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
        const char *role = strstr(cn, "SGX PCK Certificate")                                    ? "pck "
                           : strstr(cn, "SGX PCK Platform CA") || strstr(cn, "SGX PCK Processor CA") ? "ca "
                           : strstr(cn, "SGX Root CA")                                           ? "root "
                                                                                                   : "other ";
        strncat(out, role, cap - strlen(out) - 1);
        X509_free(x);
    }
    BIO_free(bio);
}

/* Section SEC of two walked quotes: the same fields in the same order, at
 * the same offsets within the section, of the same sizes (the PCK chain's
 * size excepted: it is another platform's). */
static void same_section(const lw *sim, const lw *real, int sec, int absolute, const char *what)
{
    size_t a = 0, b = 0;
    for (;;) {
        while (a < sim->ni && sim->it[a].sec != sec)
            a++;
        while (b < real->ni && real->it[b].sec != sec)
            b++;
        if (a == sim->ni || b == real->ni)
            break;
        const lw_item *x = &sim->it[a], *y = &real->it[b];
        if (strcmp(x->name, y->name) || x->rel != y->rel || (absolute && x->off != y->off) ||
            (x->len != y->len && strcmp(x->name, "cert_data")))
            fail_msg("%s: %s: sim %s at %zu (+%zu) %zu bytes, real %s at %zu (+%zu) %zu bytes", what,
                     SEC_NAME[sec], x->name, x->off, x->rel, x->len, y->name, y->off, y->rel, y->len);
        a++;
        b++;
    }
    if (a != sim->ni || b != real->ni)
        fail_msg("%s: %s: one has more fields (sim at %zu/%zu, real at %zu/%zu)", what, SEC_NAME[sec], a,
                 sim->ni, b, real->ni);
}

/* sim and real quote of the same kind: version, attestation key type, TEE
 * type, body type and size, every field's offset and size in every section
 * (header, body descriptor, body, signature data, certification data 6 and
 * the QE report certification data inside it, the PCK certification
 * data), the certification data types and their nesting, the QE auth
 * data's size, and the PCK chain's certificates by role and order. */
static void same_layout(const uint8_t *sb, size_t sn, const uint8_t *rb, size_t rn, const char *what)
{
    lw *s = walk_or_fail(sb, sn, "sim"), *r = walk_or_fail(rb, rn, what);
    assert_int_equal(s->version, r->version);
    assert_int_equal(s->att_key_type, r->att_key_type);
    assert_int_equal(s->tee_type, r->tee_type);
    assert_int_equal(s->body_type, r->body_type);
    assert_int_equal(s->body_size, r->body_size);
    assert_int_equal(s->outer_type, r->outer_type);
    assert_int_equal(s->inner_type, r->inner_type);
    assert_int_equal(s->auth_len, r->auth_len);
    assert_memory_equal(lw_at(s, S_HEADER, "vendor_id", 16), lw_at(r, S_HEADER, "vendor_id", 16), 16);
    for (int sec = 0; sec < S__N; sec++)
        same_section(s, r, sec, 1, what);
    /* the same QE: its product ID; and the same PCK chain shape */
    assert_int_equal(le(lw_at(s, S_QE, "isv_prod_id", 2), 2), le(lw_at(r, S_QE, "isv_prod_id", 2), 2));
    char sr[256], rr[256];
    chain_roles(sb + s->inner_off, s->inner_len, sr, sizeof sr);
    chain_roles(rb + r->inner_off, r->inner_len, rr, sizeof rr);
    assert_string_equal(rr, "pck ca root ");
    assert_string_equal(sr, rr);
    free(s);
    free(r);
}

static void test_sim_quotes_have_the_layout_of_real_ones(void **state)
{
    (void)state;
    size_t sn, rn;
    /* The real quote first each time: without the vectors the test leaves
     * at the read, and nothing of ours is left unfreed. */
    /* SGX v3: Intel's own sample (dcap/sgx_quote) */
    uint8_t *r = tu_read_vector("sgx_quote", &rn), *s = sim_quote(ASPS_TEE_SGX, 0, 0, &sn);
    same_layout(s, sn, r, rn, "SGX v3 (dcap/sgx_quote)");
    free(s);
    free(r);
    /* TDX v4: Intel's own sample (dcap/tdx_quote) */
    r = tu_read_vector("tdx_quote", &rn);
    s = sim_quote(ASPS_TEE_TDX, 0, 0, &sn);
    same_layout(s, sn, r, rn, "TDX v4 (dcap/tdx_quote)");
    free(s);
    free(r);
    /* TDX v5, TD report 1.5: a real TDX 1.5 platform's */
    r = real_quote("tdx5-90c06f-tcb-not-supported", &rn);
    s = sim_quote(ASPS_TEE_TDX, 5, 1, &sn);
    same_layout(s, sn, r, rn, "TDX v5 (real/tdx5-90c06f-tcb-not-supported)");
    free(s);
    free(r);
    /* No real SGX v5 or TDX v5 / TD 1.0 quote was found: their header and
     * signature data are laid out as a real v5 quote's, their body as a real
     * quote's of that body. */
    struct {
        asps_tee tee;
        const char *body_like;
    } v5[] = {{ASPS_TEE_SGX, "sgx_quote"}, {ASPS_TEE_TDX, "tdx_quote"}};
    uint8_t *r5 = real_quote("tdx5-90c06f-tcb-not-supported", &rn);
    lw *w5 = walk_or_fail(r5, rn, "real v5");
    for (int i = 0; i < 2; i++) {
        size_t bn;
        uint8_t *bb = tu_read_vector(v5[i].body_like, &bn);
        s = sim_quote(v5[i].tee, 5, 0, &sn);
        lw *ws = walk_or_fail(s, sn, "sim v5"), *wb = walk_or_fail(bb, bn, v5[i].body_like);
        assert_int_equal(ws->body_type, v5[i].tee == ASPS_TEE_SGX ? 1 : 2);
        same_section(ws, w5, S_HEADER, 1, "v5 header");
        same_section(ws, w5, S_DESC, 1, "v5 body descriptor");
        same_section(ws, wb, S_BODY, 0, "v5 body");
        for (int sec = S_SIG; sec < S__N; sec++)
            same_section(ws, w5, sec, 0, "v5 signature data");
        assert_int_equal(ws->outer_type, 6);
        assert_int_equal(ws->inner_type, 5);
        free(ws);
        free(wb);
        free(bb);
        free(s);
    }
    free(w5);
    free(r5);
}

/* asps_quote_same_but_binding (an RA-TLS certificate's second quote from
 * the same QE) leaves out exactly the two places Intel's headers put the
 * body's report data and the quote signature: in real v3 SGX, v4 TDX and v5
 * TD 1.5 quotes, as this file's walker finds them, a change there alone
 * keeps the pair "the same" and hands back the new report data; a change to
 * any other byte, one at a time, does not. */
static void test_quote_pair_differs_only_where_intel_puts_report_data_and_signature(void **state)
{
    (void)state;
    struct {
        int src; /* 0 dcap vector, 1 real case, 2 field case */
        const char *name;
    } qs[] = {{0, "sgx_quote"},
              {0, "tdx_quote"},
              {1, "tdx5-90c06f-tcb-not-supported"},
              {2, "gtg-v5-td15-90c06f"}};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        size_t n;
        uint8_t *a = qs[i].src == 0   ? tu_read_vector(qs[i].name, &n)
                     : qs[i].src == 1 ? real_quote(qs[i].name, &n)
                                      : field_quote(qs[i].name, &n);
        assert_non_null(a);
        lw *w = walk_or_fail(a, n, qs[i].name);
        const lw_item *rd = lw_find(w, S_BODY, "report_data"), *sig = lw_find(w, S_SIG, "signature");
        assert_int_equal(rd->len, 64);
        assert_int_equal(sig->len, 64);
        uint8_t *b = malloc(n), got[64], want[64];
        assert_non_null(b);
        /* itself: the same, its own report data */
        assert_int_equal(asps_quote_same_but_binding(a, n, a, n, got), 1);
        assert_memory_equal(got, a + rd->off, 64);
        /* report data and signature changed */
        memcpy(b, a, n);
        for (size_t k = 0; k < 64; k++) {
            want[k] = (uint8_t)(0x5a ^ k);
            b[rd->off + k] = want[k];
            b[sig->off + k] ^= 0xff;
        }
        if (asps_quote_same_but_binding(a, n, b, n, got) != 1)
            fail_msg("%s: report data and signature changed: not the same", qs[i].name);
        assert_memory_equal(got, want, 64);
        /* any other byte */
        for (size_t p = 0; p < n; p++) {
            if ((p >= rd->off && p < rd->off + 64) || (p >= sig->off && p < sig->off + 64))
                continue;
            memcpy(b, a, n);
            b[p] ^= 0x01;
            if (asps_quote_same_but_binding(a, n, b, n, got) != 0)
                fail_msg("%s: byte %zu changed, still the same", qs[i].name, p);
        }
        /* a byte shorter */
        memcpy(b, a, n);
        assert_int_equal(asps_quote_same_but_binding(a, n, b, n - 1, got), 0);
        free(b);
        free(w);
        free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_real_quote_walks_and_asps_reads_it_in_the_same_places),
        cmocka_unit_test(test_quote_versions_and_v5_body_types_are_intels),
        cmocka_unit_test(test_td15_fields_sit_at_intels_offsets_in_real_v5_quotes),
        cmocka_unit_test(test_certification_data_types_are_intels),
        cmocka_unit_test(test_pck_extension_oids_are_intels),
        cmocka_unit_test(test_occlum_ioctl_numbers_are_occlums),
        cmocka_unit_test(test_gramine_attestation_paths_are_gramines),
        cmocka_unit_test(test_configfs_tsm_files_are_the_kernels),
        cmocka_unit_test(test_sim_quotes_have_the_layout_of_real_ones),
        cmocka_unit_test(test_quote_pair_differs_only_where_intel_puts_report_data_and_signature),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
