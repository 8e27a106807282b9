/* sim.c: the simulated SGX/TDX platform (see sim.h).
 *
 * A test PKI shaped like Intel's: a root CA, a PCK platform CA issuing one
 * PCK certificate per TCB level (the SGX extension carries that level's CPU
 * SVN components and PCE SVN, in Intel's ASN.1), a TCB signing certificate
 * (every certificate with Intel's five standard extensions, in Intel's
 * order, CRL distribution points included),
 * root CA and PCK CRLs (with CRL number and authority key identifier), TCB
 * info (SGX v3 and TDX v3), QE identities (QE, TD_QE) and the TCB
 * evaluation data numbers list signed over their exact bytes. Quotes are
 * real: the QE's attestation key signs the body, the QE report binds that
 * key and is signed by the PCK key. As on a real platform, the attestation
 * key lives as long as the QE (here: one per TEE per asps_sim_open, never
 * written to DIR), so every quote of an open platform carries the same QE
 * report and signature, which a verifier may keep (dcap.c).
 *
 * Every subject says "asps simulated". Keys stay in DIR (0600).
 *
 * Over 1000 lines on purpose: the PKI, the signed collateral (with its TCB
 * recoveries) and the quote writer are one platform sharing its keys, its
 * TCB level model and its small DER writer, and the file is not product
 * code (its own library, used by tests, benchmarks, the demo and the
 * command); split, the private-key handling would be spread over several
 * files.
 */
#include "sim.h"

#include <errno.h>
#include <pthread.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "asps/collateral.h"
#include "json.h"
#include "util.h"
#include "writer.h"

#define N_LEVELS 7
#define QE_SVN 8
#define TD_QE_SVN 4
#define PCE_SVN 13
#define TDX_MODULE_SVN 3
#define TDX_MODULE_VERSION 1

#define BC_ROOT "critical,CA:TRUE,pathlen:1"
#define BC_CA "critical,CA:TRUE,pathlen:0"
#define BC_LEAF "critical,CA:FALSE"

static const uint8_t FMSPC_SGX[6] = {0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00};
static const uint8_t FMSPC_TDX[6] = {0x00, 0x80, 0x6f, 0x05, 0x00, 0x00};
static const uint8_t QE_VENDOR[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                      0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
/* The simulated QEs' MRSIGNERs: SHA-256 of a fixed label, so nobody can
 * mistake them for Intel's. */
static const char QE_LABEL[] = "asps simulated quoting enclave";
static const char TDQE_LABEL[] = "asps simulated TD quoting enclave";

/* TCB levels, highest first: level i has CPU SVN components [9-i, 9-i, 0...]
 * (TDX: TEE TCB SVN byte 2 = 9-i), so each is reachable by exactly one PCK
 * certificate / TD report. */
static const struct {
    asps_tcb_status status;
    const char *adv;   /* JSON array body */
} LEVELS[N_LEVELS] = {
    {ASPS_TCB_UP_TO_DATE, ""},
    {ASPS_TCB_SW_HARDENING_NEEDED, "\"INTEL-SA-00615\""},
    {ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, "\"INTEL-SA-00289\",\"INTEL-SA-00615\""},
    {ASPS_TCB_CONFIGURATION_NEEDED, "\"INTEL-SA-00289\""},
    {ASPS_TCB_OUT_OF_DATE, "\"INTEL-SA-00828\""},
    {ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, "\"INTEL-SA-00828\",\"INTEL-SA-00289\""},
    {ASPS_TCB_REVOKED, "\"INTEL-SA-00999\""},
};

/* TCB recovery (sim recover): each bundle carries the TCB evaluation data
 * numbers list (PCS v4 .../tcbevaluationdatanumbers), which is also the
 * sim's record of its recoveries. Number 1 is what init issues; recovery
 * to number j (j >= 2) adds a new top level with SVN 8 + j (SGX CPU SVN
 * components 0-1; TDX TEE_TCB_SVN byte 2), tcbDate = its recovery event
 * date + 1 day, and demotes every older level as Intel's eval17 -> eval19
 * data does (UpToDate and SWHardeningNeeded -> OutOfDate,
 * Configuration*Needed -> OutOfDateConfigurationNeeded, OutOfDate*,
 * Revoked stay), every older level gaining the advisory INTEL-SA-SIM-j. */
#define MAX_EVAL 32
#define SIM_BUNDLE_MAX (16u << 20)
typedef struct eval_state {
    int64_t issue, next;           /* of every signed object in the bundle */
    size_t n;                      /* numbers 1..n */
    int64_t event[MAX_EVAL];       /* [k-1]: tcbRecoveryEventDate of number k */
    int64_t tcb_date[MAX_EVAL];    /* [k-1]: tcbDate of number k */
} eval_state;

typedef struct sim_level {
    unsigned svn;                  /* SGX components 0-1 / TDX TEE_TCB_SVN byte 2 */
    asps_tcb_status status;
    int64_t tcb_date;
    unsigned created;              /* the number that introduced it */
    int orig;                      /* index in LEVELS, -1 for a recovery's level */
} sim_level;
#define MAX_MODEL (N_LEVELS + MAX_EVAL)

static asps_tcb_status demote(asps_tcb_status s)
{
    switch (s) {
    case ASPS_TCB_UP_TO_DATE:
    case ASPS_TCB_SW_HARDENING_NEEDED:
        return ASPS_TCB_OUT_OF_DATE;
    case ASPS_TCB_CONFIGURATION_NEEDED:
    case ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
        return ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    default:
        return s;
    }
}

/* The TCB levels of number K (1..st->n), highest first; returns how many. */
static size_t model_levels(const eval_state *st, unsigned k, sim_level out[MAX_MODEL])
{
    size_t n = 0;
    for (unsigned j = k; j >= 2; j--)
        out[n++] = (sim_level){8 + j, j == k ? ASPS_TCB_UP_TO_DATE : ASPS_TCB_OUT_OF_DATE,
                               st->tcb_date[j - 1], j, -1};
    for (int i = 0; i < N_LEVELS; i++)
        out[n++] = (sim_level){(unsigned)(9 - i), k == 1 ? LEVELS[i].status : demote(LEVELS[i].status),
                               st->tcb_date[0], 1, i};
    return n;
}

struct asps_sim {
    char dir[4096];
    EVP_PKEY *pck_key;
    EVP_PKEY *att_key[2];      /* the QEs' attestation keys: SGX, TDX */
    /* per QE, the QE report last signed by the PCK key and that signature:
     * a real QE has its report signed once per attestation key (by the
     * PCE) and puts the same bytes in every quote; ECDSA signing here is
     * randomised, so the signature is kept rather than made again */
    pthread_mutex_t qe_lock;
    struct {
        int valid;
        uint8_t report[384], sig[64];
    } qe_signed[2];
    char *chain_pem[N_LEVELS]; /* PCK leaf + PCK CA + root, PEM */
    /* per TEE (0 SGX, 1 TDX): the numbers list as last read, and which
     * bundle file it was read from (a quote rereads it only when the file
     * changed: sim recover may run while a platform is open); an attester
     * may quote from several threads */
    pthread_mutex_t eval_lock;
    struct {
        int valid;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        size_t n;
    } eval_cache[2];
};

/* ---- small helpers ------------------------------------------------------------ */

static void path_in(const char *dir, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static int level_index(asps_tcb_status s)
{
    for (int i = 0; i < N_LEVELS; i++)
        if (LEVELS[i].status == s)
            return i;
    return -1;
}

static int sign_raw(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t out[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[80];
    size_t dl = sizeof der;
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestSign(md, der, &dl, msg, len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return 0;
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    if (!s)
        return 0;
    const BIGNUM *r, *sv;
    ECDSA_SIG_get0(s, &r, &sv);
    ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(sv, out + 32, 32) == 32;
    ECDSA_SIG_free(s);
    return ok;
}

static int raw_pub(EVP_PKEY *k, uint8_t out[64])
{
    uint8_t buf[65];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &n) != 1 ||
        n != 65 || buf[0] != 0x04)
        return 0;
    memcpy(out, buf + 1, 64);
    return 1;
}

static char *x509_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL, *p;
    if (b && PEM_write_bio_X509(b, x)) {
        long n = BIO_get_mem_data(b, &p);
        out = malloc((size_t)n + 1);
        if (out) {
            memcpy(out, p, (size_t)n);
            out[n] = 0;
        }
    }
    BIO_free(b);
    return out;
}

static asps_err write_text(const char *dir, const char *name, const char *text, unsigned mode,
                           asps_errbuf *eb)
{
    char p[4200];
    path_in(dir, name, p, sizeof p);
    return asps_write_file_atomic(p, text, strlen(text), mode, eb);
}

static asps_err write_key(const char *dir, const char *name, EVP_PKEY *k, asps_errbuf *eb)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    if (!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(b);
        return asps_fail(eb, ASPS_E_INTERNAL, "sim: cannot encode key");
    }
    long n = BIO_get_mem_data(b, &p);
    char path[4200];
    path_in(dir, name, path, sizeof path);
    asps_err e = asps_write_file_atomic(path, p, (size_t)n, 0600, eb);
    OPENSSL_cleanse(p, (size_t)n);
    BIO_free(b);
    return e;
}

static EVP_PKEY *read_key(const char *dir, const char *name)
{
    char p[4200];
    path_in(dir, name, p, sizeof p);
    FILE *f = fopen(p, "r");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

/* ---- DER for the SGX extension ------------------------------------------------- */

typedef struct der {
    uint8_t b[2048];
    size_t n;
    int bad;
} der;

static void der_put(der *d, const void *p, size_t n)
{
    if (d->n + n > sizeof d->b) {
        d->bad = 1;
        return;
    }
    memcpy(d->b + d->n, p, n);
    d->n += n;
}

static void der_tlv(der *d, uint8_t tag, const uint8_t *content, size_t n)
{
    uint8_t h[4] = {tag};
    size_t hl;
    if (n < 0x80) {
        h[1] = (uint8_t)n;
        hl = 2;
    } else if (n < 0x100) {
        h[1] = 0x81;
        h[2] = (uint8_t)n;
        hl = 3;
    } else {
        h[1] = 0x82;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    }
    der_put(d, h, hl);
    der_put(d, content, n);
}

static void der_oid(der *d, const uint8_t *sub, size_t nsub)
{
    uint8_t o[16] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};
    memcpy(o + 9, sub, nsub);
    der_tlv(d, 0x06, o, 9 + nsub);
}

static void der_uint(der *d, uint8_t tag, unsigned v)
{
    uint8_t b[3];
    size_t n;
    if (v < 0x80) {
        b[0] = (uint8_t)v;
        n = 1;
    } else if (v < 0x8000) {
        b[0] = (uint8_t)(v >> 8);
        b[1] = (uint8_t)v;
        n = 2;
    } else {
        b[0] = 0;
        b[1] = (uint8_t)(v >> 8);
        b[2] = (uint8_t)v;
        n = 3;
    }
    der_tlv(d, tag, b, n);
}

/* SEQUENCE { OID(base.sub), value } where value is already DER */
static void der_entry(der *out, const uint8_t *sub, size_t nsub, const der *value)
{
    der e = {0};
    der_oid(&e, sub, nsub);
    der_put(&e, value->b, value->n);
    der_tlv(out, 0x30, e.b, e.n);
    out->bad |= e.bad | value->bad;
}

/* One simulated platform's identity in its PCK certificates: the PPID and
 * the platform instance ID are the same in every PCK certificate of that
 * platform (one per TCB level), as in Intel's. */
typedef struct platform_ids {
    uint8_t ppid[16];
    uint8_t instance_id[16];
} platform_ids;

/* The SGX extension (1.2.840.113741.1.13.1) exactly as Intel's PCK Platform
 * CA issues it: SEQUENCE of SEQUENCE { OID, value } with PPID OCTET STRING
 * (16), TCB SEQUENCE of 18 { OID, INTEGER comp01..16 svn, INTEGER pcesvn,
 * OCTET STRING(16) cpusvn }, PCE-ID OCTET STRING(2), FMSPC OCTET STRING(6),
 * SGX type ENUMERATED (1 Scalable), platform instance ID OCTET STRING(16)
 * and configuration SEQUENCE { dynamicPlatform, cachedKeys, SMTEnabled
 * BOOLEAN }. The last two appear only in Platform-CA certificates; a
 * verifier must accept them. */
static int pck_extension(const uint8_t comps[16], unsigned pcesvn, const uint8_t fmspc[6],
                         const platform_ids *ids, der *out)
{
    der top = {0}, v, tcb = {0}, tcbseq = {0}, conf = {0}, confseq = {0};
    uint8_t s1[] = {1};
    memset(&v, 0, sizeof v);
    der_tlv(&v, 0x04, ids->ppid, 16);
    der_entry(&top, s1, 1, &v);
    for (uint8_t k = 1; k <= 18; k++) {
        uint8_t sub[2] = {2, k};
        memset(&v, 0, sizeof v);
        if (k <= 16)
            der_uint(&v, 0x02, comps[k - 1]);
        else if (k == 17)
            der_uint(&v, 0x02, pcesvn);
        else
            der_tlv(&v, 0x04, comps, 16);
        der_entry(&tcb, sub, 2, &v);
    }
    der_tlv(&tcbseq, 0x30, tcb.b, tcb.n);
    tcbseq.bad |= tcb.bad;
    uint8_t s2[] = {2}, s3[] = {3}, s4[] = {4}, s5[] = {5}, s6[] = {6}, s7[] = {7};
    der_entry(&top, s2, 1, &tcbseq);
    memset(&v, 0, sizeof v);
    der_tlv(&v, 0x04, (const uint8_t *)"\x00\x00", 2);
    der_entry(&top, s3, 1, &v);
    memset(&v, 0, sizeof v);
    der_tlv(&v, 0x04, fmspc, 6);
    der_entry(&top, s4, 1, &v);
    memset(&v, 0, sizeof v);
    der_uint(&v, 0x0a, 1); /* SGX type: Scalable */
    der_entry(&top, s5, 1, &v);
    memset(&v, 0, sizeof v);
    der_tlv(&v, 0x04, ids->instance_id, 16);
    der_entry(&top, s6, 1, &v);
    for (uint8_t k = 1; k <= 3; k++) { /* dynamicPlatform, cachedKeys, SMTEnabled */
        uint8_t sub[2] = {7, k}, t = 0xff;
        memset(&v, 0, sizeof v);
        der_tlv(&v, 0x01, &t, 1);
        der_entry(&conf, sub, 2, &v);
    }
    der_tlv(&confseq, 0x30, conf.b, conf.n);
    confseq.bad |= conf.bad;
    der_entry(&top, s7, 1, &confseq);
    memset(out, 0, sizeof *out);
    der_tlv(out, 0x30, top.b, top.n);
    return !(out->bad || top.bad);
}

/* ---- certificates and CRLs --------------------------------------------------- */

static X509_NAME *sim_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    if (n && (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
              !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"asps simulated", -1, -1, 0) ||
              !X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"XX", -1, -1, 0))) {
        X509_NAME_free(n);
        n = NULL;
    }
    return n;
}

/* Add an extension at position loc (-1: at the end). */
static int add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value, int loc)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e && X509_add_ext(x, e, loc);
    X509_EXTENSION_free(e);
    return ok;
}

/* Where the simulated CRLs would be published, shaped as Intel's (the PCK
 * certificate names the PCS pckcrl endpoint of its CA, the CAs and the TCB
 * signing certificate the root CA CRL) on a host that cannot resolve
 * (RFC 2606 .invalid): nothing fetches them, the CRLs come with the
 * collateral. */
#define SIM_CDP_ROOT "URI:https://certificates.asps-simulated.invalid/IntelSGXRootCA.der"
#define SIM_CDP_PCK "URI:https://api.asps-simulated.invalid/sgx/certification/v4/pckcrl?ca=platform&encoding=der"

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       int64_t nb, int64_t na, const char *constraints, const der *sgx_ext)
{
    X509 *x = X509_new();
    X509_NAME *n = sim_name(cn);
    /* a random 160-bit serial, as Intel's: certificates of two simulated
     * platforms never share one, and CRL lookups compare long integers */
    BIGNUM *sn = BN_new();
    int ok = x && n && sn && BN_rand(sn, 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) && X509_set_version(x, 2) &&
             X509_set_subject_name(x, n) &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) &&
             ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) &&
             ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) && X509_set_pubkey(x, key);
    /* Intel's extensions in Intel's order: authority key identifier, CRL
     * distribution points, subject key identifier, key usage, basic
     * constraints (then the SGX extension). Intel's QVL refuses a
     * certificate that lacks any of the first five. The subject key
     * identifier goes in first, so that a self-signed root's authority key
     * identifier can be computed from it, and the others before it. */
    ok = ok && add_conf_ext(x, issuer, NID_subject_key_identifier, "hash", -1) &&
         add_conf_ext(x, issuer, NID_authority_key_identifier, "keyid:always", 0) &&
         add_conf_ext(x, issuer, NID_crl_distribution_points, sgx_ext ? SIM_CDP_PCK : SIM_CDP_ROOT, 1) &&
         add_conf_ext(x, issuer, NID_key_usage,
                      strstr(constraints, "CA:TRUE") ? "critical,keyCertSign,cRLSign"
                                                     : "critical,digitalSignature,nonRepudiation", -1) &&
         add_conf_ext(x, issuer, NID_basic_constraints, constraints, -1);
    if (ok && sgx_ext) {
        ASN1_OBJECT *o = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ok = o && os && ASN1_OCTET_STRING_set(os, sgx_ext->b, (int)sgx_ext->n);
        X509_EXTENSION *e = ok ? X509_EXTENSION_create_by_OBJ(NULL, o, 0, os) : NULL;
        ok = e && X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
    }
    ok = ok && X509_sign(x, issuer_key, EVP_sha256()) > 0;
    X509_NAME_free(n);
    BN_free(sn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *key, int64_t now, int64_t next,
                          const ASN1_INTEGER *revoke)
{
    X509_CRL *c = X509_CRL_new();
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)now), *t2 = ASN1_TIME_set(NULL, (time_t)next);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    int ok = c && t1 && t2 && num && X509_CRL_set_version(c, 1) &&
             X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer)) &&
             X509_CRL_set1_lastUpdate(c, t1) && X509_CRL_set1_nextUpdate(c, t2) &&
             ASN1_INTEGER_set(num, 1) && X509_CRL_add1_ext_i2d(c, NID_crl_number, num, 0, 0) == 1;
    if (ok) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, issuer, NULL, NULL, c, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
        ok = e && X509_CRL_add_ext(c, e, -1);
        X509_EXTENSION_free(e);
    }
    if (ok && revoke) {
        X509_REVOKED *r = X509_REVOKED_new();
        ok = r && X509_REVOKED_set_serialNumber(r, (ASN1_INTEGER *)revoke) &&
             X509_REVOKED_set_revocationDate(r, t1) && X509_CRL_add0_revoked(c, r);
        if (!ok)
            X509_REVOKED_free(r);
    }
    ok = ok && X509_CRL_sort(c) && X509_CRL_sign(c, key, EVP_sha256()) > 0;
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    ASN1_INTEGER_free(num);
    if (!ok) {
        X509_CRL_free(c);
        return NULL;
    }
    return c;
}

/* ---- collateral JSON ------------------------------------------------------------- */

static void comps_json(char *out, size_t n, const uint8_t c[16])
{
    size_t k = 0;
    k += (size_t)snprintf(out + k, n - k, "[");
    for (int i = 0; i < 16 && k < n; i++)
        k += (size_t)snprintf(out + k, n - k, "%s{\"svn\":%u}", i ? "," : "", c[i]);
    if (k < n)
        snprintf(out + k, n - k, "]");
}

static void level_comps(int i, uint8_t c[16])
{
    memset(c, 0, 16);
    c[0] = c[1] = (uint8_t)(9 - i);
}

static void svn_comps(unsigned svn, uint8_t c[16])
{
    memset(c, 0, 16);
    c[0] = c[1] = (uint8_t)svn;
}

static void tdx_svn_comps(unsigned svn, uint8_t c[16])
{
    memset(c, 0, 16);
    c[0] = TDX_MODULE_SVN;
    c[1] = TDX_MODULE_VERSION;
    c[2] = (uint8_t)svn;
}

/* The TCB info of evaluation data number K (st->issue/next as its dates). */
static char *tcb_info_json(int tdx, const eval_state *st, unsigned k)
{
    size_t cap = 64 * 1024, k2 = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    char t1[32], t2[32], fm[13];
    asps_time_format(st->issue, t1);
    asps_time_format(st->next, t2);
    asps_hex_encode(tdx ? FMSPC_TDX : FMSPC_SGX, 6, fm);
    for (char *p = fm; *p; p++)
        if (*p >= 'a')
            *p = (char)(*p - 32);
    k2 += (size_t)snprintf(s + k2, cap - k2,
                           "{\"id\":\"%s\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
                           "\"fmspc\":\"%s\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":%u,",
                           tdx ? "TDX" : "SGX", t1, t2, fm, k);
    if (tdx)
        k2 += (size_t)snprintf(
            s + k2, cap - k2,
            "\"tdxModule\":{\"mrsigner\":\"%096d\",\"attributes\":\"0000000000000000\","
            "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},\"tdxModuleIdentities\":[{\"id\":\"TDX_%02X\","
            "\"mrsigner\":\"%096d\",\"attributes\":\"0000000000000000\",\"attributesMask\":"
            "\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%d},\"tcbDate\":\"%s\","
            "\"tcbStatus\":\"UpToDate\"}]}],",
            0, TDX_MODULE_VERSION, 0, TDX_MODULE_SVN, t1);
    k2 += (size_t)snprintf(s + k2, cap - k2, "\"tcbLevels\":[");
    sim_level lv[MAX_MODEL];
    size_t nl = model_levels(st, k, lv);
    for (size_t i = 0; i < nl && k2 < cap; i++) {
        uint8_t c[16];
        char cj[512], tj[600] = "", td[32];
        /* TDX: the SGX side stays at the original top level (the TDX
         * platform's one PCK certificate) */
        svn_comps(tdx ? 9 : lv[i].svn, c);
        comps_json(cj, sizeof cj, c);
        if (tdx) {
            uint8_t t[16];
            tdx_svn_comps(lv[i].svn, t);
            char tmp[512];
            comps_json(tmp, sizeof tmp, t);
            snprintf(tj, sizeof tj, ",\"tdxtcbcomponents\":%s", tmp);
        }
        asps_time_format(lv[i].tcb_date, td);
        k2 += (size_t)snprintf(s + k2, cap - k2,
                               "%s{\"tcb\":{\"sgxtcbcomponents\":%s,\"pcesvn\":%d%s},\"tcbDate\":\"%s\","
                               "\"tcbStatus\":\"%s\"",
                               i ? "," : "", cj, PCE_SVN, tj, td, asps_tcb_status_name(lv[i].status));
        const char *adv = lv[i].orig >= 0 ? LEVELS[lv[i].orig].adv : "";
        if (adv[0] || lv[i].created < k) {
            k2 += (size_t)snprintf(s + k2, cap - k2, ",\"advisoryIDs\":[%s", adv);
            for (unsigned r = lv[i].created + 1; r <= k && k2 < cap; r++)
                k2 += (size_t)snprintf(s + k2, cap - k2, "%s\"INTEL-SA-SIM-%u\"",
                                       adv[0] || r > lv[i].created + 1 ? "," : "", r);
            if (k2 < cap)
                k2 += (size_t)snprintf(s + k2, cap - k2, "]");
        }
        if (k2 < cap)
            k2 += (size_t)snprintf(s + k2, cap - k2, "}");
    }
    if (k2 >= cap - 3) {
        free(s);
        return NULL;
    }
    snprintf(s + k2, cap - k2, "]}");
    return s;
}

/* The TCB evaluation data numbers list body (PCS v4 tcbevaluationdatanumbers,
 * the "tcbEvaluationDataNumbers" object: id, version 1, issueDate,
 * nextUpdate, tcbEvalNumbers newest first, each tcbEvaluationDataNumber,
 * tcbRecoveryEventDate, tcbDate, in the order Intel's published list has). */
static char *eval_numbers_json(int tdx, const eval_state *st)
{
    size_t cap = 256 + st->n * 160, k = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    char t1[32], t2[32];
    asps_time_format(st->issue, t1);
    asps_time_format(st->next, t2);
    k += (size_t)snprintf(s + k, cap - k,
                          "{\"id\":\"%s\",\"version\":1,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
                          "\"tcbEvalNumbers\":[",
                          tdx ? "TDX" : "SGX", t1, t2);
    for (size_t j = st->n; j >= 1 && k < cap; j--) {
        asps_time_format(st->event[j - 1], t1);
        asps_time_format(st->tcb_date[j - 1], t2);
        k += (size_t)snprintf(s + k, cap - k,
                              "%s{\"tcbEvaluationDataNumber\":%zu,\"tcbRecoveryEventDate\":\"%s\","
                              "\"tcbDate\":\"%s\"}",
                              j < st->n ? "," : "", j, t1, t2);
    }
    if (k >= cap - 3) {
        free(s);
        return NULL;
    }
    snprintf(s + k, cap - k, "]}");
    return s;
}

static void qe_mrsigner(int tdx, uint8_t out[32])
{
    const char *l = tdx ? TDQE_LABEL : QE_LABEL;
    asps_sha256(l, strlen(l), out);
}

static char *qe_identity_json(int tdx, int64_t issue, int64_t next)
{
    char *s = malloc(4096);
    if (!s)
        return NULL;
    char t1[32], t2[32], ms[65];
    uint8_t m[32];
    asps_time_format(issue, t1);
    asps_time_format(next, t2);
    qe_mrsigner(tdx, m);
    asps_hex_encode(m, 32, ms);
    for (char *p = ms; *p; p++)
        if (*p >= 'a')
            *p = (char)(*p - 32);
    int svn = tdx ? TD_QE_SVN : QE_SVN;
    snprintf(s, 4096,
             "{\"id\":\"%s\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
             "\"tcbEvaluationDataNumber\":1,\"miscselect\":\"01000000\",\"miscselectMask\":\"FFFFFFFF\","
             "\"attributes\":\"11000000000000000000000000000000\","
             "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\",\"isvprodid\":%d,"
             "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%d},\"tcbDate\":\"%s\",\"tcbStatus\":\"UpToDate\"},"
             "{\"tcb\":{\"isvsvn\":%d},\"tcbDate\":\"%s\",\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-00615\"]}]}",
             tdx ? "TD_QE" : "QE", t1, t2, ms, tdx ? 2 : 1, svn, t1, svn - 2, t1);
    return s;
}

/* ---- init ------------------------------------------------------------------------ */

static asps_err write_bundle(const char *dir, const char *name, int tdx, const char *pck_chain,
                             const char *tcb_chain, X509_CRL *root_crl, X509_CRL *pck_crl,
                             EVP_PKEY *tcb_key, const eval_state *st, asps_errbuf *eb)
{
    char *ti = tcb_info_json(tdx, st, 1), *qi = qe_identity_json(tdx, st->issue, st->next);
    uint8_t ts[64], qs[64], *rc = NULL, *pc = NULL;
    int rl = i2d_X509_CRL(root_crl, &rc), pl = i2d_X509_CRL(pck_crl, &pc);
    asps_err e = ASPS_OK;
    if (!ti || !qi || rl <= 0 || pl <= 0 || !sign_raw(tcb_key, (uint8_t *)ti, strlen(ti), ts) ||
        !sign_raw(tcb_key, (uint8_t *)qi, strlen(qi), qs)) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "sim: cannot build collateral");
    } else {
        asps_collateral_parts p = {
            .pck_crl_issuer_chain = pck_chain,
            .root_ca_crl = rc, .root_ca_crl_len = (size_t)rl,
            .pck_crl = pc, .pck_crl_len = (size_t)pl,
            .tcb_info_issuer_chain = tcb_chain,
            .tcb_info = ti, .tcb_info_len = strlen(ti),
            .tcb_info_signature = ts, .tcb_info_signature_len = 64,
            .qe_identity_issuer_chain = tcb_chain,
            .qe_identity = qi, .qe_identity_len = strlen(qi),
            .qe_identity_signature = qs, .qe_identity_signature_len = 64,
        };
        asps_collateral *c = NULL;
        char *json = NULL;
        e = asps_collateral_from_parts(&p, &c, eb);
        if (e == ASPS_OK)
            e = asps_collateral_to_bundle(c, &json, eb);
        if (e == ASPS_OK)
            e = write_text(dir, name, json, 0644, eb);
        free(json);
        asps_collateral_free(c);
    }
    free(ti);
    free(qi);
    OPENSSL_free(rc);
    OPENSSL_free(pc);
    return e;
}

static void bundle_name(int tdx, char out[32])
{
    snprintf(out, 32, "collateral_%s.json", tdx ? "tdx" : "sgx");
}

static int set_str(cJSON *o, const char *name, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, name);
    return cJSON_AddStringToObject(o, name, v) != NULL;
}

static int set_hex(cJSON *o, const char *name, const uint8_t *b, size_t n)
{
    char h[2 * 64 + 1];
    if (n > 64)
        return 0;
    asps_hex_encode(b, n, h);
    return set_str(o, name, h);
}

/* Rewrite the TCB parts of DIR's bundle for TDX from ST: tcb_info = number
 * K_STD, tcb_info_early = number K_EARLY (0: none, the field removed), and
 * the numbers list, each signed by the TCB signing key over its exact
 * bytes. The optional fields are the bundle's (README "Collateral bundle",
 * issue 16): tcb_info_early(+_signature), tcb_evaluation_data_numbers
 * (+_signature, +_issuer_chain = the TCB signing chain). They are set in
 * the bundle's JSON here, whatever asps_collateral_to_bundle writes. */
static asps_err write_tcb(const char *dir, int tdx, EVP_PKEY *tcb_key, const eval_state *st,
                          unsigned k_std, unsigned k_early, asps_errbuf *eb)
{
    char name[32], p[4200];
    bundle_name(tdx, name);
    path_in(dir, name, p, sizeof p);
    uint8_t *text = NULL;
    size_t len = 0;
    ASPS_TRY(asps_read_file(p, SIM_BUNDLE_MAX, &text, &len, eb));
    cJSON *b = NULL;
    asps_err e = asps_json_parse((const char *)text, len, "sim bundle", &b, eb);
    free(text);
    if (e != ASPS_OK)
        return e;
    char *ti = tcb_info_json(tdx, st, k_std), *te = k_early ? tcb_info_json(tdx, st, k_early) : NULL;
    char *en = eval_numbers_json(tdx, st), *out = NULL;
    uint8_t ts[64], es[64], ns[64];
    const cJSON *chain = cJSON_GetObjectItemCaseSensitive(b, "tcb_info_issuer_chain");
    int ok = cJSON_IsObject(b) && cJSON_IsString(chain) && ti && en && (!k_early || te) &&
             sign_raw(tcb_key, (const uint8_t *)ti, strlen(ti), ts) &&
             sign_raw(tcb_key, (const uint8_t *)en, strlen(en), ns) &&
             (!te || sign_raw(tcb_key, (const uint8_t *)te, strlen(te), es));
    char *chain_s = ok ? strdup(chain->valuestring) : NULL;
    ok = ok && chain_s && set_str(b, "tcb_info", ti) && set_hex(b, "tcb_info_signature", ts, 64) &&
         set_str(b, "tcb_evaluation_data_numbers", en) &&
         set_hex(b, "tcb_evaluation_data_numbers_signature", ns, 64) &&
         set_str(b, "tcb_evaluation_data_numbers_issuer_chain", chain_s);
    if (ok && te)
        ok = set_str(b, "tcb_info_early", te) && set_hex(b, "tcb_info_early_signature", es, 64);
    else if (ok) {
        cJSON_DeleteItemFromObjectCaseSensitive(b, "tcb_info_early");
        cJSON_DeleteItemFromObjectCaseSensitive(b, "tcb_info_early_signature");
    }
    out = ok ? cJSON_Print(b) : NULL;
    e = out ? write_text(dir, name, out, 0644, eb)
            : asps_fail(eb, ASPS_E_INTERNAL, "sim: cannot build the TCB collateral of %s", name);
    free(out);
    free(chain_s);
    free(ti);
    free(te);
    free(en);
    cJSON_Delete(b);
    return e;
}

static asps_err state_fail(asps_errbuf *eb, const char *name, const char *what)
{
    return asps_fail(eb, ASPS_E_PARSE, "sim: %s: %s", name, what);
}

/* Read the sim's TCB evaluation state from DIR's bundle for TDX: the dates
 * of its TCB info, and its numbers list (a bundle without one, from
 * before sim recover existed, is number 1 alone). */
static asps_err load_state(const char *dir, int tdx, eval_state *st, asps_errbuf *eb)
{
    char name[32], p[4200];
    bundle_name(tdx, name);
    path_in(dir, name, p, sizeof p);
    memset(st, 0, sizeof *st);
    uint8_t *text = NULL;
    size_t len = 0;
    ASPS_TRY(asps_read_file(p, SIM_BUNDLE_MAX, &text, &len, eb));
    cJSON *b = NULL, *ti = NULL, *en = NULL;
    asps_err e = asps_json_parse((const char *)text, len, "sim bundle", &b, eb);
    free(text);
    if (e != ASPS_OK)
        return e;
    const cJSON *tis = cJSON_GetObjectItemCaseSensitive(b, "tcb_info");
    const cJSON *ens = cJSON_GetObjectItemCaseSensitive(b, "tcb_evaluation_data_numbers");
    if (!cJSON_IsString(tis)) {
        e = state_fail(eb, name, "no tcb_info");
        goto out;
    }
    if ((e = asps_json_parse(tis->valuestring, strlen(tis->valuestring), "sim TCB info", &ti, eb)) != ASPS_OK)
        goto out;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ti, "issueDate");
    const cJSON *nu = cJSON_GetObjectItemCaseSensitive(ti, "nextUpdate");
    if (!cJSON_IsString(id) || !cJSON_IsString(nu) || asps_time_parse(id->valuestring, &st->issue) ||
        asps_time_parse(nu->valuestring, &st->next)) {
        e = state_fail(eb, name, "TCB info without issueDate/nextUpdate");
        goto out;
    }
    if (!cJSON_IsString(ens)) {
        st->n = 1;
        st->event[0] = st->issue - 86400;
        st->tcb_date[0] = st->issue;
        goto out;
    }
    if ((e = asps_json_parse(ens->valuestring, strlen(ens->valuestring), "sim numbers list", &en, eb)) !=
        ASPS_OK)
        goto out;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(en, "tcbEvalNumbers");
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n < 1 || n > MAX_EVAL) {
        e = state_fail(eb, name, "numbers list without 1..32 tcbEvalNumbers");
        goto out;
    }
    st->n = (size_t)n;
    for (int i = 0; i < n; i++) { /* newest first: entry i is number n - i */
        const cJSON *it = cJSON_GetArrayItem(arr, i);
        const cJSON *num = cJSON_GetObjectItemCaseSensitive(it, "tcbEvaluationDataNumber");
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(it, "tcbRecoveryEventDate");
        const cJSON *td = cJSON_GetObjectItemCaseSensitive(it, "tcbDate");
        if (!cJSON_IsNumber(num) || num->valuedouble != (double)(n - i) || !cJSON_IsString(ev) ||
            !cJSON_IsString(td) || asps_time_parse(ev->valuestring, &st->event[n - i - 1]) ||
            asps_time_parse(td->valuestring, &st->tcb_date[n - i - 1])) {
            e = state_fail(eb, name, "numbers list entry not as the sim writes it");
            goto out;
        }
    }
out:
    cJSON_Delete(en);
    cJSON_Delete(ti);
    cJSON_Delete(b);
    return e;
}

asps_err asps_sim_init_ex(const char *dir, const asps_sim_init_opts *o, asps_errbuf *eb)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return asps_fail(eb, ASPS_E_IO, "sim: cannot create %s: %s", dir, strerror(errno));
    chmod(dir, 0700);
    int64_t now = o && o->now ? o->now : (int64_t)time(NULL);
    int64_t issue = now - 86400;
    int64_t next = now + (o && o->collateral_days ? o->collateral_days : 30) * 86400;
    int64_t cert_end = now + 20LL * 365 * 86400;
    asps_err e = ASPS_OK;
    EVP_PKEY *root_k = EVP_EC_gen("P-256"), *ca_k = EVP_EC_gen("P-256"), *tcb_k = EVP_EC_gen("P-256"),
             *pck_k = EVP_EC_gen("P-256");
    X509 *root = NULL, *ca = NULL, *tcb = NULL, *pck[N_LEVELS] = {0}, *tdx_pck = NULL;
    X509_CRL *root_crl = NULL, *pck_crl = NULL;
    char *root_pem = NULL, *ca_pem = NULL, *tcb_pem = NULL, *pck_chain = NULL, *tcb_chain = NULL;
    if (!root_k || !ca_k || !tcb_k || !pck_k) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "sim: key generation failed");
        goto out;
    }
    /* basic constraints as Intel's: the root allows one CA below it (the
     * PCK CA), which allows none, so standard path validation accepts the
     * chains too */
    root = make_cert("asps simulated SGX Root CA", root_k, NULL, root_k, issue, cert_end,
                     BC_ROOT, NULL);
    ca = root ? make_cert("asps simulated SGX PCK Platform CA", ca_k, root, root_k, issue, cert_end,
                          BC_CA, NULL)
              : NULL;
    tcb = root ? make_cert("asps simulated SGX TCB Signing", tcb_k, root, root_k, issue, cert_end,
                           BC_LEAF, NULL)
               : NULL;
    /* one SGX platform and one TDX platform */
    platform_ids sgx_ids, tdx_ids;
    if (RAND_bytes((uint8_t *)&sgx_ids, sizeof sgx_ids) != 1 ||
        RAND_bytes((uint8_t *)&tdx_ids, sizeof tdx_ids) != 1) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "sim: no randomness");
        goto out;
    }
    for (int i = 0; ca && i < N_LEVELS; i++) {
        uint8_t c[16];
        der ext;
        level_comps(i, c);
        if (!pck_extension(c, PCE_SVN, FMSPC_SGX, &sgx_ids, &ext))
            break;
        pck[i] = make_cert("asps simulated SGX PCK Certificate", pck_k, ca, ca_k, issue, cert_end,
                           BC_LEAF, &ext);
    }
    /* the TDX platform's PCK certificate: level 0 SVNs, TDX FMSPC (slot
     * N_LEVELS would overflow; it is written separately below) */
    uint8_t c0[16];
    der tdx_ext;
    level_comps(0, c0);
    tdx_pck = ca && pck_extension(c0, PCE_SVN, FMSPC_TDX, &tdx_ids, &tdx_ext)
                        ? make_cert("asps simulated SGX PCK Certificate", pck_k, ca, ca_k, issue,
                                    cert_end, BC_LEAF, &tdx_ext)
                        : NULL;
    ASN1_INTEGER *revoke = NULL;
    if (o && o->revoke_pck_level >= 0 && o->revoke_pck_level < N_LEVELS && pck[o->revoke_pck_level])
        revoke = (ASN1_INTEGER *)X509_get0_serialNumber(pck[o->revoke_pck_level]);
    root_crl = root ? make_crl(root, root_k, issue, next, NULL) : NULL;
    pck_crl = ca ? make_crl(ca, ca_k, issue, next, revoke) : NULL;
    int all = root && ca && tcb && tdx_pck && root_crl && pck_crl;
    for (int i = 0; i < N_LEVELS; i++)
        all = all && pck[i];
    root_pem = all ? x509_pem(root) : NULL;
    ca_pem = root_pem ? x509_pem(ca) : NULL;
    tcb_pem = ca_pem ? x509_pem(tcb) : NULL;
    if (!tcb_pem) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "sim: cannot build the PKI");
        goto out;
    }
    size_t chain_cap = strlen(ca_pem) + strlen(root_pem) + strlen(tcb_pem) + 8;
    pck_chain = malloc(chain_cap);
    tcb_chain = malloc(chain_cap);
    if (!pck_chain || !tcb_chain) {
        e = asps_fail(eb, ASPS_E_NOMEM, "sim: out of memory");
        goto out;
    }
    snprintf(pck_chain, chain_cap, "%s%s", ca_pem, root_pem);
    snprintf(tcb_chain, chain_cap, "%s%s", tcb_pem, root_pem);
    uint8_t *der_root = NULL;
    int dl = i2d_X509(root, &der_root);
    char p[4200];
    path_in(dir, "root_ca.der", p, sizeof p);
    e = dl > 0 ? asps_write_file_atomic(p, der_root, (size_t)dl, 0644, eb)
               : asps_fail(eb, ASPS_E_INTERNAL, "sim: cannot encode root");
    OPENSSL_free(der_root);
    if (e == ASPS_OK)
        e = write_text(dir, "root_ca.pem", root_pem, 0644, eb);
    if (e == ASPS_OK)
        e = write_key(dir, "root_ca.key", root_k, eb);
    if (e == ASPS_OK)
        e = write_key(dir, "pck_ca.key", ca_k, eb);
    if (e == ASPS_OK)
        e = write_key(dir, "tcb_signing.key", tcb_k, eb);
    if (e == ASPS_OK)
        e = write_key(dir, "pck.key", pck_k, eb);
    if (e == ASPS_OK)
        e = write_text(dir, "pck_ca.pem", ca_pem, 0644, eb);
    if (e == ASPS_OK)
        e = write_text(dir, "tcb_signing.pem", tcb_pem, 0644, eb);
    for (int i = 0; e == ASPS_OK && i <= N_LEVELS; i++) {
        char *leaf = x509_pem(i < N_LEVELS ? pck[i] : tdx_pck);
        size_t cap = (leaf ? strlen(leaf) : 0) + strlen(pck_chain) + 1;
        char *chain = leaf ? malloc(cap) : NULL;
        char name[64];
        if (i < N_LEVELS)
            snprintf(name, sizeof name, "pck_chain_%s.pem", asps_tcb_status_name(LEVELS[i].status));
        else
            snprintf(name, sizeof name, "pck_chain_tdx.pem");
        if (!chain)
            e = asps_fail(eb, ASPS_E_NOMEM, "sim: out of memory");
        else {
            snprintf(chain, cap, "%s%s", leaf, pck_chain);
            e = write_text(dir, name, chain, 0644, eb);
        }
        free(leaf);
        free(chain);
    }
    /* the SGX platform's identifiers, for the PCK certificates of the
     * levels that sim recover adds */
    char ids_hex[2 * sizeof sgx_ids + 2];
    asps_hex_encode((const uint8_t *)&sgx_ids, sizeof sgx_ids, ids_hex);
    strcat(ids_hex, "\n");
    if (e == ASPS_OK)
        e = write_text(dir, "sgx_platform_ids", ids_hex, 0644, eb);
    /* TCB evaluation data number 1: its TCB levels dated issue, its
     * recovery event the day before (Intel's lists: tcbDate = event + 1 day) */
    eval_state st = {.issue = issue, .next = next, .n = 1, .event = {issue - 86400}, .tcb_date = {issue}};
    if (e == ASPS_OK)
        e = write_bundle(dir, "collateral_sgx.json", 0, pck_chain, tcb_chain, root_crl, pck_crl, tcb_k,
                         &st, eb);
    if (e == ASPS_OK)
        e = write_bundle(dir, "collateral_tdx.json", 1, pck_chain, tcb_chain, root_crl, pck_crl, tcb_k,
                         &st, eb);
    if (e == ASPS_OK)
        e = write_tcb(dir, 0, tcb_k, &st, 1, 0, eb);
    if (e == ASPS_OK)
        e = write_tcb(dir, 1, tcb_k, &st, 1, 0, eb);
out:
    free(root_pem);
    free(ca_pem);
    free(tcb_pem);
    free(pck_chain);
    free(tcb_chain);
    X509_free(root);
    X509_free(ca);
    X509_free(tcb);
    X509_free(tdx_pck);
    for (int i = 0; i < N_LEVELS; i++)
        X509_free(pck[i]);
    X509_CRL_free(root_crl);
    X509_CRL_free(pck_crl);
    EVP_PKEY_free(root_k);
    EVP_PKEY_free(ca_k);
    EVP_PKEY_free(tcb_k);
    EVP_PKEY_free(pck_k);
    ERR_clear_error();
    return e;
}

asps_err asps_sim_init(const char *dir, asps_errbuf *eb)
{
    asps_sim_init_opts o = {.revoke_pck_level = -1};
    return asps_sim_init_ex(dir, &o, eb);
}

/* ---- TCB recovery ---------------------------------------------------------------- */

static X509 *read_cert(const char *dir, const char *name)
{
    char p[4200];
    path_in(dir, name, p, sizeof p);
    FILE *f = fopen(p, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

/* The PCK certificate (with its chain, PEM) of the SGX level with SVN
 * components 0-1 = SVN, written as DIR/pck_chain_svn<SVN>.pem. */
static asps_err issue_pck(const char *dir, unsigned svn, int64_t nb, asps_errbuf *eb)
{
    EVP_PKEY *ca_k = read_key(dir, "pck_ca.key"), *pck_k = read_key(dir, "pck.key");
    X509 *ca = read_cert(dir, "pck_ca.pem"), *leaf = NULL;
    char p[4200], *ids_hex = NULL, *ca_pem = NULL, *root_pem = NULL, *leaf_pem = NULL, *chain = NULL;
    size_t n;
    platform_ids ids;
    asps_err e = ASPS_OK;
    path_in(dir, "sgx_platform_ids", p, sizeof p);
    if (!ca_k || !pck_k || !ca) {
        e = asps_fail(eb, ASPS_E_IO, "sim: %s lacks the PCK CA or PCK key", dir);
        goto out;
    }
    if (asps_read_file(p, 4096, (uint8_t **)&ids_hex, &n, eb) != ASPS_OK || n < 2 * sizeof ids ||
        asps_hex_decode(ids_hex, 2 * sizeof ids, (uint8_t *)&ids, sizeof ids) != 0) {
        e = asps_fail(eb, ASPS_E_IO,
                      "sim: %s has no readable sgx_platform_ids (made before sim recover existed: "
                      "'asps sim init --force %s' makes a new platform)", dir, dir);
        goto out;
    }
    path_in(dir, "pck_ca.pem", p, sizeof p);
    if ((e = asps_read_file(p, 65536, (uint8_t **)&ca_pem, &n, eb)) != ASPS_OK)
        goto out;
    path_in(dir, "root_ca.pem", p, sizeof p);
    if ((e = asps_read_file(p, 65536, (uint8_t **)&root_pem, &n, eb)) != ASPS_OK)
        goto out;
    uint8_t c[16];
    der ext;
    svn_comps(svn, c);
    leaf = pck_extension(c, PCE_SVN, FMSPC_SGX, &ids, &ext)
               ? make_cert("asps simulated SGX PCK Certificate", pck_k, ca, ca_k, nb,
                           (int64_t)time(NULL) + 20LL * 365 * 86400, BC_LEAF, &ext)
               : NULL;
    leaf_pem = leaf ? x509_pem(leaf) : NULL;
    size_t cap = leaf_pem ? strlen(leaf_pem) + strlen(ca_pem) + strlen(root_pem) + 1 : 0;
    chain = cap ? malloc(cap) : NULL;
    if (!chain) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "sim: cannot issue the PCK certificate of SVN %u", svn);
        goto out;
    }
    snprintf(chain, cap, "%s%s%s", leaf_pem, ca_pem, root_pem);
    char name[64];
    snprintf(name, sizeof name, "pck_chain_svn%u.pem", svn);
    e = write_text(dir, name, chain, 0644, eb);
out:
    EVP_PKEY_free(ca_k);
    EVP_PKEY_free(pck_k);
    X509_free(ca);
    X509_free(leaf);
    free(ids_hex);
    free(ca_pem);
    free(root_pem);
    free(leaf_pem);
    free(chain);
    ERR_clear_error();
    return e;
}

asps_err asps_sim_recover(const char *dir, asps_tee tee, int64_t date, uint32_t *number,
                          asps_errbuf *eb)
{
    int tdx = tee == ASPS_TEE_TDX;
    if (tee != ASPS_TEE_SGX && tee != ASPS_TEE_TDX)
        return asps_fail(eb, ASPS_E_ARG, "sim: recover: SGX or TDX");
    eval_state st;
    ASPS_TRY(load_state(dir, tdx, &st, eb));
    if (st.n >= MAX_EVAL)
        return asps_fail(eb, ASPS_E_ARG, "sim: at most %d TCB evaluation data numbers", MAX_EVAL);
    if (date <= st.event[st.n - 1]) {
        char t[32];
        asps_time_format(st.event[st.n - 1], t);
        return asps_fail(eb, ASPS_E_ARG,
                         "sim: the recovery event date must be after that of TCB evaluation data "
                         "number %zu (%s)", st.n, t);
    }
    st.event[st.n] = date;
    st.tcb_date[st.n] = date + 86400;
    st.n++;
    if (!tdx)
        ASPS_TRY(issue_pck(dir, 8 + (unsigned)st.n, st.issue, eb));
    EVP_PKEY *tcb_k = read_key(dir, "tcb_signing.key");
    if (!tcb_k)
        return asps_fail(eb, ASPS_E_IO, "sim: %s lacks the TCB signing key", dir);
    /* the standard set keeps the previous number until DATE + 12 months
     * (Intel's PCS policy); the verifier decides when that is */
    asps_err e = write_tcb(dir, tdx, tcb_k, &st, (unsigned)st.n - 1, (unsigned)st.n, eb);
    EVP_PKEY_free(tcb_k);
    ERR_clear_error();
    if (e == ASPS_OK && number)
        *number = (uint32_t)st.n;
    return e;
}

/* ---- open and quote --------------------------------------------------------------- */

asps_err asps_sim_open(const char *dir, asps_sim **out, asps_errbuf *eb)
{
    *out = NULL;
    asps_sim *s = calloc(1, sizeof *s);
    if (!s)
        return asps_fail(eb, ASPS_E_NOMEM, "sim: out of memory");
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    pthread_mutex_init(&s->eval_lock, NULL);
    pthread_mutex_init(&s->qe_lock, NULL);
    s->pck_key = read_key(dir, "pck.key");
    s->att_key[0] = EVP_EC_gen("P-256");
    s->att_key[1] = EVP_EC_gen("P-256");
    if (!s->att_key[0] || !s->att_key[1]) {
        asps_sim_free(s);
        return asps_fail(eb, ASPS_E_INTERNAL, "sim: attestation key generation failed");
    }
    asps_err e = s->pck_key ? ASPS_OK
                            : asps_fail(eb, ASPS_E_IO, "sim: %s is not a simulated platform (run 'asps sim init %s')",
                                        dir, dir);
    for (int i = 0; e == ASPS_OK && i < N_LEVELS; i++) {
        char name[64], p[4200];
        snprintf(name, sizeof name, "pck_chain_%s.pem", asps_tcb_status_name(LEVELS[i].status));
        path_in(dir, name, p, sizeof p);
        size_t n;
        e = asps_read_file(p, 65536, (uint8_t **)&s->chain_pem[i], &n, eb);
    }
    ERR_clear_error();
    if (e != ASPS_OK) {
        asps_sim_free(s);
        return e;
    }
    *out = s;
    return ASPS_OK;
}

void asps_sim_free(asps_sim *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->pck_key);
    EVP_PKEY_free(s->att_key[0]);
    EVP_PKEY_free(s->att_key[1]);
    for (int i = 0; i < N_LEVELS; i++)
        free(s->chain_pem[i]);
    pthread_mutex_destroy(&s->eval_lock);
    pthread_mutex_destroy(&s->qe_lock);
    free(s);
}

const char *asps_sim_dir(const asps_sim *s) { return s->dir; }

void asps_sim_collateral_path(const asps_sim *s, asps_tee tee, char *out, size_t n)
{
    snprintf(out, n, "%s/collateral_%s.json", s->dir, tee == ASPS_TEE_TDX ? "tdx" : "sgx");
}

void asps_sim_root_path(const asps_sim *s, char *out, size_t n)
{
    snprintf(out, n, "%s/root_ca.der", s->dir);
}

/* Quotes are written with the bounded writer (writer.h). */
#define QUOTE_MAX (1u << 20)

static void sgx_report(asps_writer *b, const uint8_t cpusvn[16], uint32_t miscselect, const uint8_t attributes[16],
                       const uint8_t mrenclave[32], const uint8_t mrsigner[32], unsigned prodid,
                       unsigned isvsvn, unsigned configsvn, const uint8_t rd[64])
{
    asps_writer_put(b, cpusvn, 16);
    asps_writer_u32le(b, miscselect);
    asps_writer_zeros(b, 12);
    asps_writer_zeros(b, 16);       /* ISVEXTPRODID */
    asps_writer_put(b, attributes, 16);
    asps_writer_put(b, mrenclave, 32);
    asps_writer_zeros(b, 32);
    asps_writer_put(b, mrsigner, 32);
    asps_writer_zeros(b, 32);
    asps_writer_zeros(b, 64);       /* CONFIGID */
    asps_writer_u16le(b, prodid);
    asps_writer_u16le(b, isvsvn);
    asps_writer_u16le(b, configsvn);
    asps_writer_zeros(b, 42);
    asps_writer_zeros(b, 16);       /* ISVFAMILYID */
    asps_writer_put(b, rd, 64);
}

asps_err asps_sim_quote(asps_sim *s, const asps_sim_identity *id, uint8_t **quote, size_t *quote_len,
                        asps_errbuf *eb)
{
    *quote = NULL;
    *quote_len = 0;
    int tdx = id->tee == ASPS_TEE_TDX;
    if (level_index(id->tcb) < 0)
        return asps_fail(eb, ASPS_E_ARG, "sim: no TCB level %d", (int)id->tcb);
    /* the level: the first (highest) one with status id->tcb in the TCB
     * info of the number asked for. A bundle that does not read (a test
     * replaced it) is number 1 alone: the quote does not depend on it */
    eval_state st = {.n = 1};
    char bp[4200], bn[32];
    bundle_name(tdx, bn);
    path_in(s->dir, bn, bp, sizeof bp);
    struct stat sb;
    int have = stat(bp, &sb) == 0;
    pthread_mutex_lock(&s->eval_lock);
    if (have && s->eval_cache[tdx].valid && s->eval_cache[tdx].dev == sb.st_dev &&
        s->eval_cache[tdx].ino == sb.st_ino && s->eval_cache[tdx].size == sb.st_size &&
        s->eval_cache[tdx].mtime.tv_sec == sb.st_mtim.tv_sec &&
        s->eval_cache[tdx].mtime.tv_nsec == sb.st_mtim.tv_nsec) {
        st.n = s->eval_cache[tdx].n; /* the levels' SVNs and statuses depend on n alone */
    } else {
        asps_errbuf ignored = {{0}};
        if (!have || load_state(s->dir, tdx, &st, &ignored) != ASPS_OK)
            st = (eval_state){.n = 1};
        s->eval_cache[tdx].valid = have;
        s->eval_cache[tdx].dev = have ? sb.st_dev : 0;
        s->eval_cache[tdx].ino = have ? sb.st_ino : 0;
        s->eval_cache[tdx].size = have ? sb.st_size : 0;
        s->eval_cache[tdx].mtime = have ? sb.st_mtim : (struct timespec){0};
        s->eval_cache[tdx].n = st.n;
    }
    pthread_mutex_unlock(&s->eval_lock);
    unsigned k = id->evaluation_data_number ? id->evaluation_data_number : (unsigned)st.n;
    if (k < 1 || k > st.n)
        return asps_fail(eb, ASPS_E_ARG, "sim: no TCB evaluation data number %u (the platform has 1..%zu)",
                         k, st.n);
    sim_level lv[MAX_MODEL];
    size_t nl = model_levels(&st, k, lv), li = 0;
    while (li < nl && lv[li].status != id->tcb)
        li++;
    if (li == nl)
        return asps_fail(eb, ASPS_E_ARG, "sim: no %s level under TCB evaluation data number %u",
                         asps_tcb_status_name(id->tcb), k);
    unsigned svn = lv[li].svn;
    unsigned version = id->quote_version ? id->quote_version : !tdx ? 3 : id->td15 ? 5 : 4;
    if (version < (tdx ? 4u : 3u) || version > 5)
        return asps_fail(eb, ASPS_E_ARG, "sim: no %s quote version %u (SGX 3, 4, 5; TDX 4, 5)",
                         tdx ? "TDX" : "SGX", version);
    if (id->td15 && (!tdx || version != 5))
        return asps_fail(eb, ASPS_E_ARG, "sim: a TD report 1.5 needs a TDX v5 quote");
    /* SGX picks the PCK certificate of the level; TDX keeps the SGX side at
     * level 0 and lands on the level through TEE_TCB_SVN */
    const char *chain = s->chain_pem[tdx || svn > 9 ? 0 : 9 - svn];
    char tdx_chain_path[4200];
    uint8_t *tdx_chain = NULL;
    if (tdx || svn > 9) {
        size_t n;
        char name[64];
        if (tdx)
            snprintf(name, sizeof name, "pck_chain_tdx.pem");
        else
            snprintf(name, sizeof name, "pck_chain_svn%u.pem", svn);
        path_in(s->dir, name, tdx_chain_path, sizeof tdx_chain_path);
        ASPS_TRY(asps_read_file(tdx_chain_path, 65536, &tdx_chain, &n, eb));
        chain = (const char *)tdx_chain;
    }
    EVP_PKEY *ak = s->att_key[tdx];
    uint8_t akraw[64], sig[64], qsig[64], cpusvn[16];
    asps_writer q = asps_writer_init(QUOTE_MAX, ASPS_WRITER_PLAIN), qe = q;
    asps_err e = ASPS_OK;
    if (!ak || !raw_pub(ak, akraw)) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "sim: attestation key generation failed");
        goto out;
    }
    svn_comps(tdx ? 9 : svn, cpusvn);
    /* header (sgx_quote_3.h, sgx_quote_4.h: v3 has QE and PCE SVNs where
     * v4/v5 have the TEE type and a reserved field) */
    asps_writer_u16le(&q, version);
    asps_writer_u16le(&q, 2);
    asps_writer_u32le(&q, tdx ? 0x81 : 0);
    asps_writer_u16le(&q, version == 3 ? QE_SVN : 0);
    asps_writer_u16le(&q, version == 3 ? PCE_SVN : 0);
    asps_writer_put(&q, QE_VENDOR, 16);
    asps_writer_zeros(&q, 20);
    if (version == 5) { /* body descriptor (sgx_quote_5.h): type, size */
        asps_writer_u16le(&q, !tdx ? 1 : id->td15 ? 3 : 2);
        asps_writer_u32le(&q, !tdx ? 384 : id->td15 ? 648 : 584);
    }
    /* body */
    if (!tdx) {
        uint8_t attr[16] = {0x05 | (id->debug ? 0x02 : 0), 0, 0, 0, 0, 0, 0, 0, 0xe7};
        sgx_report(&q, cpusvn, 0, attr, id->mr_enclave, id->mr_signer, id->isv_prod_id, id->isv_svn,
                   id->config_svn, id->report_data);
    } else {
        uint8_t tee_tcb_svn[16], mrseam[48], td_attr[8] = {id->debug ? 0x01 : 0}, xfam[8] = {0xe7, 0x02};
        tdx_svn_comps(svn, tee_tcb_svn);
        unsigned int ml = 48;
        EVP_Digest("asps simulated TDX module", 25, mrseam, &ml, EVP_sha384(), NULL);
        asps_writer_put(&q, tee_tcb_svn, 16);
        asps_writer_put(&q, mrseam, 48);
        asps_writer_zeros(&q, 48);      /* MRSIGNERSEAM: Intel's module, zero */
        asps_writer_zeros(&q, 8);       /* SEAMATTRIBUTES */
        asps_writer_put(&q, td_attr, 8);
        asps_writer_put(&q, xfam, 8);
        asps_writer_put(&q, id->mr_td, 48);
        asps_writer_put(&q, id->mr_config_id, 48);
        asps_writer_put(&q, id->mr_owner, 48);
        asps_writer_zeros(&q, 48);      /* MROWNERCONFIG */
        for (int i = 0; i < 4; i++)
            asps_writer_put(&q, id->rtmr[i], 48);
        asps_writer_put(&q, id->report_data, 64);
        if (id->td15) {
            asps_writer_put(&q, id->tee_tcb_svn2, 16);
            asps_writer_zeros(&q, 48); /* MRSERVICETD */
        }
    }
    if (q.failed || !sign_raw(ak, q.p, q.len, sig)) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "sim: quote signature failed");
        goto out;
    }
    /* QE report certification data */
    uint8_t auth[32], qe_rd[64] = {0}, qe_ms[32], qe_me[32], qe_attr[16] = {0x11};
    for (int i = 0; i < 32; i++)
        auth[i] = (uint8_t)i;
    int ok = asps_sha256_2(akraw, 64, auth, 32, qe_rd);
    qe_mrsigner(tdx, qe_ms);
    asps_sha256(tdx ? "asps simulated TD QE" : "asps simulated QE", tdx ? 20 : 17, qe_me);
    /* the simulated QEs report MISCSELECT 1 (Intel's report 0), so that
     * the identity's byte order ("01000000", report order) is exercised */
    sgx_report(&qe, cpusvn, 1, qe_attr, qe_me, qe_ms, tdx ? 2 : 1, tdx ? TD_QE_SVN : QE_SVN, 0, qe_rd);
    if (ok && !qe.failed && qe.len == sizeof s->qe_signed[0].report) {
        pthread_mutex_lock(&s->qe_lock);
        if (s->qe_signed[tdx].valid && !memcmp(s->qe_signed[tdx].report, qe.p, qe.len)) {
            memcpy(qsig, s->qe_signed[tdx].sig, 64);
        } else if ((ok = sign_raw(s->pck_key, qe.p, qe.len, qsig))) {
            memcpy(s->qe_signed[tdx].report, qe.p, qe.len);
            memcpy(s->qe_signed[tdx].sig, qsig, 64);
            s->qe_signed[tdx].valid = 1;
        }
        pthread_mutex_unlock(&s->qe_lock);
    } else {
        ok = 0;
    }
    if (!ok || qe.failed) {
        e = asps_fail(eb, ASPS_E_INTERNAL, "sim: QE report signature failed");
        goto out;
    }
    asps_writer cd = asps_writer_init(QUOTE_MAX, ASPS_WRITER_PLAIN);
    asps_writer_put(&cd, qe.p, qe.len);
    asps_writer_put(&cd, qsig, 64);
    asps_writer_u16le(&cd, 32);
    asps_writer_put(&cd, auth, 32);
    asps_writer_u16le(&cd, 5);
    asps_writer_u32le(&cd, (uint32_t)strlen(chain));
    asps_writer_put(&cd, chain, strlen(chain));
    asps_writer sd = asps_writer_init(QUOTE_MAX, ASPS_WRITER_PLAIN);
    asps_writer_put(&sd, sig, 64);
    asps_writer_put(&sd, akraw, 64);
    if (version >= 4) { /* QE report certification data (type 6) */
        asps_writer_u16le(&sd, 6);
        asps_writer_u32le(&sd, (uint32_t)cd.len);
    }
    asps_writer_put(&sd, cd.p, cd.len);
    asps_writer_u32le(&q, (uint32_t)sd.len);
    asps_writer_put(&q, sd.p, sd.len);
    int bad = cd.failed || sd.failed;
    asps_writer_free(&cd);
    asps_writer_free(&sd);
    if (bad || !(*quote = asps_writer_take(&q, quote_len))) {
        e = asps_fail(eb, ASPS_E_NOMEM, "sim: out of memory");
        goto out;
    }
out:
    asps_writer_free(&q);
    asps_writer_free(&qe);
    free(tdx_chain);
    ERR_clear_error();
    return e;
}

/* ---- the simulated platform as an attester ---------------------------------- */

typedef struct sim_attester {
    asps_sim *sim;
    asps_sim_identity id;
} sim_attester;

static asps_err sim_attester_quote(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *len,
                                   asps_errbuf *eb)
{
    sim_attester *sa = ctx;
    asps_sim_identity id = sa->id;
    memcpy(id.report_data, rd, 64);
    return asps_sim_quote(sa->sim, &id, q, len, eb);
}

static void sim_attester_free(void *ctx)
{
    sim_attester *sa = ctx;
    if (sa)
        asps_sim_free(sa->sim);
    free(sa);
}

asps_err asps_sim_attester_new(const char *dir, const asps_sim_identity *id, asps_attester **out,
                               asps_errbuf *eb)
{
    *out = NULL;
    if (!dir)
        return asps_fail(eb, ASPS_E_ARG, "attester: sim needs the simulated platform's folder");
    sim_attester *sa = calloc(1, sizeof *sa);
    if (!sa)
        return asps_fail(eb, ASPS_E_NOMEM, "attester: out of memory");
    if (id)
        sa->id = *id;
    asps_err e = asps_sim_open(dir, &sa->sim, eb);
    if (e != ASPS_OK) {
        free(sa);
        return e;
    }
    return asps_attester_wrap("sim", sim_attester_quote, sim_attester_free, sa, out, eb);
}
