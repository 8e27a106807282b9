/* quote.h: parse SGX and TDX ECDSA-P256 DCAP quotes (v3, v4, v5) into views.
 *
 * Layout (Intel's sgx_quote_3.h, sgx_quote_4.h, sgx_quote_5.h in
 * SGXDataCenterAttestationPrimitives, and the ECDSA quote library API):
 *   header 48 | [v5: body type u16, body size u32] | body |
 *   sig_data_len u32 | sig 64 | attestation key 64 |
 *   v3: QE report certification data (below)
 *   v4/v5: cert type u16 (6) | cert len u32 | QE report certification data
 * QE report certification data:
 *   QE report 384 | QE report sig 64 | auth len u16 | auth | cert type u16 |
 *   cert len u32 | cert data (type 5: PEM PCK chain; 1-3: PPID, CPUSVN,
 *   PCESVN, PCE ID; 4: the PCK certificate alone)
 * Bodies: SGX enclave report 384, TD report 1.0 584, TD report 1.5 648
 * (1.0 + TEE_TCB_SVN2 16 + MRSERVICETD 48). v3 is SGX only; v4 carries the
 * body its TEE type implies; v5 names its body type (1 SGX, 2 TD 1.0,
 * 3 TD 1.5) and any other body type is refused as unsupported, naming it.
 * Parsing checks every length and rejects trailing bytes at every level
 * (zero padding after the quote excepted, as QVL ignores it); it verifies
 * nothing. The view points into the caller's buffer, which must outlive it.
 */
#ifndef ASPS_QUOTE_H
#define ASPS_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/err.h"

#define ASPS_QUOTE_HEADER_LEN 48
#define ASPS_SGX_REPORT_LEN 384
#define ASPS_TD10_REPORT_LEN 584
#define ASPS_TD15_REPORT_LEN 648
#define ASPS_QUOTE_MAX_LEN (1u << 20) /* generous; real quotes are ~5 KiB */

#define ASPS_ATT_KEY_ECDSA_P256 2

/* v5 quote body types, as sgx_quote_5.h numbers them */
#define ASPS_QUOTE_BODY_SGX 1  /* SGX enclave report */
#define ASPS_QUOTE_BODY_TD10 2 /* TD report, TDX 1.0 */
#define ASPS_QUOTE_BODY_TD15 3 /* TD report, TDX 1.5 */

/* Certification data types (sgx_quote_3.h sgx_ql_cert_key_type_t; the
 * quote library API calls 6 "QE report certification data"). */
#define ASPS_CERT_TYPE_PPID_CLEARTEXT 1 /* PPID, CPUSVN, PCESVN, PCE ID: 36 bytes */
#define ASPS_CERT_TYPE_PPID_RSA2048 2   /* RSA-2048-OAEP(PPID), ...: 276 bytes */
#define ASPS_CERT_TYPE_PPID_RSA3072 3   /* RSA-3072-OAEP(PPID), ...: 404 bytes */
#define ASPS_CERT_TYPE_PCK_LEAF 4       /* the PCK certificate alone */
#define ASPS_CERT_TYPE_PCK_CHAIN 5      /* PEM: PCK cert, PCK CA, root CA */
#define ASPS_CERT_TYPE_QE_REPORT 6      /* wraps the QE report and one of 1-5 */

typedef struct asps_quote {
    /* header */
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;         /* 0 SGX, 0x81 TDX */
    uint16_t qe_svn;           /* v3 header only */
    uint16_t pce_svn;          /* v3 header only */
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    /* ASPS_QUOTE_BODY_*: as a v5 quote names it; for v3/v4, the one its
     * TEE type implies (they carry no such field) */
    uint16_t body_type;
    uint32_t body_size;        /* bytes of the body */

    /* body: the SGX report or the TD report, decoded */
    asps_claims_sgx sgx;
    asps_claims_tdx tdx;

    /* what the attestation key signed: header (+ v5 type/size) + body */
    const uint8_t *signed_data;
    size_t signed_len;

    uint32_t sig_data_len;     /* the signature data's declared length */
    size_t quote_len;          /* bytes up to the end of the signature data */
    size_t trailing_len;       /* zero bytes after it (padding) */

    uint8_t signature[64];     /* r||s over signed_data */
    uint8_t att_key[64];       /* raw x||y of the attestation key */

    /* QE report certification data */
    uint16_t outer_cert_type;  /* v4/v5: 6 (wrapping what follows); v3: 0 */
    const uint8_t *qe_report_raw;  /* 384 bytes, what the PCK key signed */
    asps_claims_sgx qe_report;
    uint8_t qe_report_sig[64];
    const uint8_t *qe_auth;
    size_t qe_auth_len;

    /* the certification data inside: its type and bytes */
    uint16_t cert_type;        /* ASPS_CERT_TYPE_* 1-5 */
    const uint8_t *cert_data;
    size_t cert_data_len;
    /* type 5 (else NULL/0) */
    const uint8_t *pck_chain;  /* PEM, not NUL-terminated */
    size_t pck_chain_len;
    /* types 1-3 (else NULL/0): the PCK identifier */
    const uint8_t *ppid;       /* 16 bytes clear, or 256/384 encrypted */
    size_t ppid_len;
    uint8_t ppid_cpu_svn[16];
    uint16_t ppid_pce_svn;
    uint16_t ppid_pce_id;
} asps_quote;

asps_err asps_quote_parse(const uint8_t *buf, size_t len, asps_quote *q, asps_errbuf *eb);

/* 1 when quotes A and B (each as asps_quote_parse takes it) are byte for
 * byte the same except two fields: the body's report data and the quote
 * signature over the body; B's report data is then copied to
 * B_REPORT_DATA. 0 otherwise (either unparseable, or any other byte
 * differs), B_REPORT_DATA then unspecified. Two quotes the same enclave or
 * TD got from its QE for two report data are like this: same header and
 * body, same attestation key, QE report and its signature, same PCK chain.
 * Such a B claims nothing A does not: an RA-TLS verifier that verified A
 * needs only B's report data (asps_ratls_verify). Reads through the
 * bounds-checked reader; compares public bytes, not in constant time. */
int asps_quote_same_but_binding(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                                uint8_t b_report_data[64]);

/* Decode a 384-byte SGX report body (used for the enclave and QE reports). */
int asps_quote_parse_sgx_report(const uint8_t *buf, size_t len, asps_claims_sgx *out);

/* A short name for a certification data type ("PCK certificate chain",
 * "PPID encrypted with RSA-3072", ...; "unknown" otherwise). */
const char *asps_quote_cert_type_name(unsigned type);

/* ASPS_OK when Q carries a PCK certificate chain (type 5), the only
 * certification data a quote can be verified with here; otherwise
 * ASPS_E_UNSUPPORTED naming the type it carries. */
asps_err asps_quote_need_pck_chain(const asps_quote *q, asps_errbuf *eb);

/* What the PCK certificate in a parsed quote says, read without verifying
 * anything (quote_pck.c): the FMSPC, the issuing CA ("processor" or
 * "platform"), the PCE ID and SVN and the CPU SVN of its SGX extension.
 * Errors: ASPS_E_UNSUPPORTED (no PCK chain), ASPS_E_CHAIN (no PCK
 * certificate or an unknown CA), ASPS_E_PCK_EXTENSION. */
typedef struct asps_quote_pck {
    uint8_t fmspc[6];
    char ca[16];
    uint8_t pce_id[2];
    uint16_t pce_svn;
    uint8_t cpu_svn[16];
} asps_quote_pck;
asps_err asps_quote_pck_values(const asps_quote *q, asps_quote_pck *out, asps_errbuf *eb);

#endif
