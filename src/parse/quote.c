/* quote.c: quote parsing into views; see quote.h. Trusts no byte of input:
 * every read goes through the reader, every length is checked against the
 * structure it belongs to, and nothing may trail any structure. */
#include "quote.h"

#include <string.h>

#include "reader.h"

int asps_quote_parse_sgx_report(const uint8_t *buf, size_t len, asps_claims_sgx *o)
{
    if (len != ASPS_SGX_REPORT_LEN)
        return 0;
    asps_reader r = asps_reader_init(buf, len);
    memset(o, 0, sizeof *o);
    return asps_reader_copy(&r, o->cpu_svn, 16) && asps_reader_u32le(&r, &o->misc_select) &&
           asps_reader_skip(&r, 12) && asps_reader_copy(&r, o->isv_ext_prod_id, 16) &&
           asps_reader_copy(&r, o->attributes, 16) && asps_reader_copy(&r, o->mr_enclave, 32) &&
           asps_reader_skip(&r, 32) && asps_reader_copy(&r, o->mr_signer, 32) &&
           asps_reader_skip(&r, 32) && asps_reader_copy(&r, o->config_id, 64) &&
           asps_reader_u16le(&r, &o->isv_prod_id) && asps_reader_u16le(&r, &o->isv_svn) &&
           asps_reader_u16le(&r, &o->config_svn) && asps_reader_skip(&r, 42) &&
           asps_reader_copy(&r, o->isv_family_id, 16) && asps_reader_copy(&r, o->report_data, 64) &&
           asps_reader_left(&r) == 0;
}

static int parse_td_report(asps_reader r, int v15, asps_claims_tdx *o)
{
    memset(o, 0, sizeof *o);
    int ok = asps_reader_copy(&r, o->tee_tcb_svn, 16) && asps_reader_copy(&r, o->mr_seam, 48) &&
             asps_reader_copy(&r, o->mr_signer_seam, 48) &&
             asps_reader_copy(&r, o->seam_attributes, 8) &&
             asps_reader_copy(&r, o->td_attributes, 8) && asps_reader_copy(&r, o->xfam, 8) &&
             asps_reader_copy(&r, o->mr_td, 48) && asps_reader_copy(&r, o->mr_config_id, 48) &&
             asps_reader_copy(&r, o->mr_owner, 48) && asps_reader_copy(&r, o->mr_owner_config, 48) &&
             asps_reader_copy(&r, o->rtmr[0], 48) && asps_reader_copy(&r, o->rtmr[1], 48) &&
             asps_reader_copy(&r, o->rtmr[2], 48) && asps_reader_copy(&r, o->rtmr[3], 48) &&
             asps_reader_copy(&r, o->report_data, 64);
    if (ok && v15) {
        o->has_v15 = 1;
        ok = asps_reader_copy(&r, o->tee_tcb_svn2, 16) && asps_reader_copy(&r, o->mr_servicetd, 48);
    }
    return ok && asps_reader_left(&r) == 0;
}

const char *asps_quote_cert_type_name(unsigned type)
{
    switch (type) {
    case ASPS_CERT_TYPE_PPID_CLEARTEXT:
        return "PPID in clear text";
    case ASPS_CERT_TYPE_PPID_RSA2048:
        return "PPID encrypted with RSA-2048";
    case ASPS_CERT_TYPE_PPID_RSA3072:
        return "PPID encrypted with RSA-3072";
    case ASPS_CERT_TYPE_PCK_LEAF:
        return "PCK certificate alone";
    case ASPS_CERT_TYPE_PCK_CHAIN:
        return "PCK certificate chain";
    case ASPS_CERT_TYPE_QE_REPORT:
        return "QE report certification data";
    case 7:
        return "platform manifest";
    default:
        return "unknown";
    }
}

asps_err asps_quote_need_pck_chain(const asps_quote *q, asps_errbuf *eb)
{
    if (q->cert_type == ASPS_CERT_TYPE_PCK_CHAIN && q->pck_chain_len > 0)
        return ASPS_OK;
    if (q->cert_type == ASPS_CERT_TYPE_PCK_LEAF)
        return asps_fail(eb, ASPS_E_UNSUPPORTED,
                         "quote: certification data type 4 (PCK certificate alone, no CA chain) not "
                         "supported; verifying it needs the PCK CA chain from elsewhere");
    return asps_fail(eb, ASPS_E_UNSUPPORTED,
                     "quote: certification data type %u (%s) carries no PCK certificate; verifying it "
                     "needs a PCK certificate from elsewhere (not supported)",
                     q->cert_type, asps_quote_cert_type_name(q->cert_type));
}

/* The PCK identifier of certification data types 1-3 (sgx_quote_3.h
 * sgx_ql_ppid_*_cert_info_t): PPID (clear 16, or RSA-OAEP encrypted 256 /
 * 384), CPUSVN 16, PCE ISVSVN u16, PCE ID u16, and nothing after. */
static asps_err parse_ppid(asps_reader r, size_t ppid_len, asps_quote *q, asps_errbuf *eb)
{
    if (asps_reader_left(&r) != ppid_len + 20)
        return asps_fail(eb, ASPS_E_PARSE, "quote: certification data type %u is %zu bytes, expected %zu",
                         q->cert_type, asps_reader_left(&r), ppid_len + 20);
    q->ppid_len = ppid_len;
    if (!asps_reader_bytes(&r, &q->ppid, ppid_len) || !asps_reader_copy(&r, q->ppid_cpu_svn, 16) ||
        !asps_reader_u16le(&r, &q->ppid_pce_svn) || !asps_reader_u16le(&r, &q->ppid_pce_id))
        return asps_fail(eb, ASPS_E_PARSE, "quote: PPID certification data truncated");
    return ASPS_OK;
}

/* QE report certification data (type 6 body, or the tail of a v3 quote):
 * QE report, its signature, auth data, then the inner certification data. */
static asps_err parse_qe_cert_data(asps_reader *r, asps_quote *q, asps_errbuf *eb)
{
    asps_reader auth, cert;
    if (!asps_reader_bytes(r, &q->qe_report_raw, ASPS_SGX_REPORT_LEN))
        return asps_fail(eb, ASPS_E_PARSE, "quote: QE report truncated");
    if (!asps_quote_parse_sgx_report(q->qe_report_raw, ASPS_SGX_REPORT_LEN, &q->qe_report))
        return asps_fail(eb, ASPS_E_PARSE, "quote: QE report malformed");
    if (!asps_reader_copy(r, q->qe_report_sig, 64))
        return asps_fail(eb, ASPS_E_PARSE, "quote: QE report signature truncated");
    if (!asps_reader_sub_u16le(r, &auth))
        return asps_fail(eb, ASPS_E_PARSE, "quote: QE authentication data truncated");
    q->qe_auth = asps_reader_data(&auth);
    q->qe_auth_len = asps_reader_left(&auth);
    uint16_t type;
    if (!asps_reader_u16le(r, &type))
        return asps_fail(eb, ASPS_E_PARSE, "quote: certification data type truncated");
    if (type < ASPS_CERT_TYPE_PPID_CLEARTEXT || type > ASPS_CERT_TYPE_PCK_CHAIN)
        return asps_fail(eb, ASPS_E_UNSUPPORTED,
                         "quote: certification data type %u (%s) not supported inside the QE report "
                         "certification data (1-3 PPID, 4 PCK certificate, 5 PCK chain)",
                         type, asps_quote_cert_type_name(type));
    if (!asps_reader_sub_u32le(r, &cert))
        return asps_fail(eb, ASPS_E_PARSE, "quote: certification data truncated");
    if (asps_reader_left(r) != 0)
        return asps_fail(eb, ASPS_E_PARSE, "quote: %zu trailing bytes after certification data",
                         asps_reader_left(r));
    q->cert_type = type;
    q->cert_data = asps_reader_data(&cert);
    q->cert_data_len = asps_reader_left(&cert);
    switch (type) {
    case ASPS_CERT_TYPE_PPID_CLEARTEXT:
        return parse_ppid(cert, 16, q, eb);
    case ASPS_CERT_TYPE_PPID_RSA2048:
        return parse_ppid(cert, 256, q, eb);
    case ASPS_CERT_TYPE_PPID_RSA3072:
        return parse_ppid(cert, 384, q, eb);
    case ASPS_CERT_TYPE_PCK_LEAF:
        if (q->cert_data_len == 0)
            return asps_fail(eb, ASPS_E_PARSE, "quote: empty PCK certificate");
        return ASPS_OK;
    default:
        if (q->cert_data_len == 0)
            return asps_fail(eb, ASPS_E_PARSE, "quote: empty PCK certificate chain");
        q->pck_chain = q->cert_data;
        q->pck_chain_len = q->cert_data_len;
        return ASPS_OK;
    }
}

static const char *body_type_name(unsigned t)
{
    return t == ASPS_QUOTE_BODY_SGX    ? "SGX enclave report"
           : t == ASPS_QUOTE_BODY_TD10 ? "TD report 1.0"
           : t == ASPS_QUOTE_BODY_TD15 ? "TD report 1.5"
                                       : "unknown";
}

asps_err asps_quote_parse(const uint8_t *buf, size_t len, asps_quote *q, asps_errbuf *eb)
{
    memset(q, 0, sizeof *q);
    if (buf == NULL)
        return asps_fail(eb, ASPS_E_ARG, "quote: no input");
    if (len > ASPS_QUOTE_MAX_LEN)
        return asps_fail(eb, ASPS_E_LIMIT, "quote: %zu bytes is larger than the %u-byte limit", len,
                         ASPS_QUOTE_MAX_LEN);
    asps_reader all = asps_reader_init(buf, len), hdr;
    if (!asps_reader_sub(&all, &hdr, ASPS_QUOTE_HEADER_LEN))
        return asps_fail(eb, ASPS_E_PARSE, "quote: header truncated (%zu bytes)", len);
    uint16_t f16a, f16b;
    if (!asps_reader_u16le(&hdr, &q->version) || !asps_reader_u16le(&hdr, &q->att_key_type))
        return asps_fail(eb, ASPS_E_PARSE, "quote: header truncated");
    if (q->version != 3 && q->version != 4 && q->version != 5)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "quote: version %u not supported (3, 4, 5)",
                         q->version);
    if (q->att_key_type != ASPS_ATT_KEY_ECDSA_P256)
        return asps_fail(eb, ASPS_E_UNSUPPORTED,
                         "quote: attestation key type %u not supported (2, ECDSA-256)",
                         q->att_key_type);
    /* v3: reserved u32 (SGX only); v4/v5: tee_type u32. Then two u16 that
     * v3 calls QE SVN and PCE SVN and v4 calls reserved. */
    if (!asps_reader_u32le(&hdr, &q->tee_type) || !asps_reader_u16le(&hdr, &f16a) ||
        !asps_reader_u16le(&hdr, &f16b) || !asps_reader_copy(&hdr, q->qe_vendor_id, 16) ||
        !asps_reader_copy(&hdr, q->user_data, 20))
        return asps_fail(eb, ASPS_E_PARSE, "quote: header truncated");
    if (q->version == 3) {
        if (q->tee_type != 0)
            return asps_fail(eb, ASPS_E_PARSE, "quote: v3 reserved header field is not zero");
        q->qe_svn = f16a;
        q->pce_svn = f16b;
    }
    if (q->tee_type != ASPS_TEE_SGX && q->tee_type != ASPS_TEE_TDX)
        return asps_fail(eb, ASPS_E_UNSUPPORTED, "quote: TEE type 0x%x not supported", q->tee_type);

    asps_reader body;
    if (q->version == 5) {
        if (!asps_reader_u16le(&all, &q->body_type) || !asps_reader_u32le(&all, &q->body_size))
            return asps_fail(eb, ASPS_E_PARSE, "quote: v5 body descriptor truncated");
        size_t want = q->body_type == ASPS_QUOTE_BODY_SGX    ? ASPS_SGX_REPORT_LEN
                      : q->body_type == ASPS_QUOTE_BODY_TD10 ? ASPS_TD10_REPORT_LEN
                      : q->body_type == ASPS_QUOTE_BODY_TD15 ? ASPS_TD15_REPORT_LEN
                                                             : 0;
        if (want == 0)
            return asps_fail(eb, ASPS_E_UNSUPPORTED,
                             "quote: v5 body type %u not supported (1 SGX enclave report, 2 TD report "
                             "1.0, 3 TD report 1.5)",
                             q->body_type);
        if ((q->body_type == ASPS_QUOTE_BODY_SGX) != (q->tee_type == ASPS_TEE_SGX))
            return asps_fail(eb, ASPS_E_PARSE, "quote: v5 body type %u (%s) contradicts TEE type 0x%x",
                             q->body_type, body_type_name(q->body_type), q->tee_type);
        if (q->body_size != want)
            return asps_fail(eb, ASPS_E_PARSE, "quote: v5 body type %u (%s) of %u bytes, expected %zu",
                             q->body_type, body_type_name(q->body_type), q->body_size, want);
    } else {
        q->body_type = q->tee_type == ASPS_TEE_SGX ? ASPS_QUOTE_BODY_SGX : ASPS_QUOTE_BODY_TD10;
        q->body_size = q->tee_type == ASPS_TEE_SGX ? ASPS_SGX_REPORT_LEN : ASPS_TD10_REPORT_LEN;
    }
    if (!asps_reader_sub(&all, &body, q->body_size))
        return asps_fail(eb, ASPS_E_PARSE, "quote: body truncated");
    if (q->body_type == ASPS_QUOTE_BODY_SGX) {
        if (!asps_quote_parse_sgx_report(asps_reader_data(&body), asps_reader_left(&body), &q->sgx))
            return asps_fail(eb, ASPS_E_PARSE, "quote: SGX report body malformed");
    } else if (!parse_td_report(body, q->body_type == ASPS_QUOTE_BODY_TD15, &q->tdx)) {
        return asps_fail(eb, ASPS_E_PARSE, "quote: TD report body malformed");
    }
    q->signed_data = buf;
    q->signed_len = len - asps_reader_left(&all);

    asps_reader sig;
    if (!asps_reader_sub_u32le(&all, &sig))
        return asps_fail(eb, ASPS_E_PARSE, "quote: signature data truncated");
    q->sig_data_len = (uint32_t)asps_reader_left(&sig);
    q->trailing_len = asps_reader_left(&all);
    q->quote_len = len - q->trailing_len;
    /* Bytes past the declared signature data: Intel's QVL ignores them, and
     * real TDX quotes arrive zero-padded to their buffer (the TDX vector has
     * 70 such bytes). asps accepts zero padding and refuses anything else,
     * since non-zero bytes there could only be smuggled content. */
    for (asps_reader pad = all; asps_reader_left(&pad) > 0;) {
        uint8_t z;
        (void)asps_reader_u8(&pad, &z);
        if (z != 0)
            return asps_fail(eb, ASPS_E_PARSE,
                             "quote: %zu trailing bytes after signature data are not zero padding",
                             asps_reader_left(&all));
    }
    if (!asps_reader_copy(&sig, q->signature, 64) || !asps_reader_copy(&sig, q->att_key, 64))
        return asps_fail(eb, ASPS_E_PARSE, "quote: signature or attestation key truncated");
    if (q->version == 3)
        return parse_qe_cert_data(&sig, q, eb);

    asps_reader cert;
    if (!asps_reader_u16le(&sig, &q->outer_cert_type))
        return asps_fail(eb, ASPS_E_PARSE, "quote: certification data type truncated");
    if (q->outer_cert_type != ASPS_CERT_TYPE_QE_REPORT)
        return asps_fail(eb, ASPS_E_UNSUPPORTED,
                         "quote: v%u certification data type %u (%s) not supported (want 6, QE report "
                         "certification data)",
                         q->version, q->outer_cert_type, asps_quote_cert_type_name(q->outer_cert_type));
    if (!asps_reader_sub_u32le(&sig, &cert))
        return asps_fail(eb, ASPS_E_PARSE, "quote: certification data truncated");
    if (asps_reader_left(&sig) != 0)
        return asps_fail(eb, ASPS_E_PARSE, "quote: %zu trailing bytes after certification data",
                         asps_reader_left(&sig));
    return parse_qe_cert_data(&cert, q, eb);
}

/* Where the report data sits in a body: 64 bytes at offset 320 of the SGX
 * enclave report (sgx_report_body_t) and at offset 520 of the TD report,
 * 1.0 and 1.5 alike (sgx_report2_body_t, sgx_report2_body_v1_5_t; what
 * asps_quote_parse_sgx_report and parse_td_report read before it adds up
 * to those). */
#define SGX_REPORT_DATA_AT 320
#define TD_REPORT_DATA_AT 520

/* Take N bytes from each reader; 1 when both had them and they are equal. */
static int same_run(asps_reader *a, asps_reader *b, size_t n)
{
    const uint8_t *pa, *pb;
    return asps_reader_bytes(a, &pa, n) && asps_reader_bytes(b, &pb, n) && memcmp(pa, pb, n) == 0;
}

int asps_quote_same_but_binding(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                                uint8_t b_report_data[64])
{
    asps_quote qa, qb;
    asps_errbuf eb;
    if (alen != blen || asps_quote_parse(a, alen, &qa, &eb) != ASPS_OK ||
        asps_quote_parse(b, blen, &qb, &eb) != ASPS_OK)
        return 0;
    /* the same layout: signed part, body and signature data where they
     * are in A (the parse checked every length; equal lengths and equal
     * bytes before each hole make the holes line up) */
    if (qa.signed_len != qb.signed_len || qa.body_size != qb.body_size ||
        qa.tee_type != qb.tee_type || qa.signed_len < qa.body_size)
        return 0;
    size_t rd = qa.signed_len - qa.body_size +
                (qa.tee_type == ASPS_TEE_SGX ? SGX_REPORT_DATA_AT : TD_REPORT_DATA_AT);
    asps_reader ra = asps_reader_init(a, alen), rb = asps_reader_init(b, blen);
    if (!same_run(&ra, &rb, rd))
        return 0; /* header and body up to the report data */
    if (!asps_reader_skip(&ra, 64) || !asps_reader_copy(&rb, b_report_data, 64))
        return 0;
    /* the rest of the body and the signature data's length; then the
     * quote signature (skipped); then everything after it */
    if (!same_run(&ra, &rb, qa.signed_len - rd - 64 + 4) || !asps_reader_skip(&ra, 64) ||
        !asps_reader_skip(&rb, 64))
        return 0;
    return same_run(&ra, &rb, asps_reader_left(&ra)) && asps_reader_left(&rb) == 0;
}
