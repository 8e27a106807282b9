/* quote.h: parse SGX (v3, v4) and TDX (v4, v5) ECDSA-P256 quotes into views.
 *
 * Layout (Intel SGX DCAP ECDSA Quote Library API, and the TDX DCAP quote
 * spec):
 *   header 48 | body (SGX report 384, TD report 1.0 584, 1.5 648)
 *   [v5: body_type u16, body_size u32 precede the body]
 *   sig_data_len u32 | sig 64 | attestation key 64 |
 *   v3: QE report 384 | QE report sig 64 | auth len u16 | auth | cert type u16 |
 *       cert len u32 | cert data (type 5: PEM PCK chain)
 *   v4/v5: cert type u16 (6) | cert len u32 | { QE report 384 | QE sig 64 |
 *       auth len u16 | auth | cert type u16 (5) | cert len u32 | PEM chain }
 * Parsing checks every length and rejects trailing bytes at every level;
 * it verifies nothing. The view points into the caller's buffer, which must
 * outlive it.
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
#define ASPS_CERT_TYPE_PCK_CHAIN 5
#define ASPS_CERT_TYPE_QE_REPORT 6

typedef struct asps_quote {
    /* header */
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;         /* 0 SGX, 0x81 TDX */
    uint16_t qe_svn;           /* v3 header only */
    uint16_t pce_svn;          /* v3 header only */
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    uint16_t body_type;        /* v5: 2 SGX, 3 TD 1.0, 4 TD 1.5; else derived */

    /* body: the SGX report or the TD report, decoded */
    asps_claims_sgx sgx;
    asps_claims_tdx tdx;

    /* what the attestation key signed: header (+ v5 type/size) + body */
    const uint8_t *signed_data;
    size_t signed_len;

    uint8_t signature[64];     /* r||s over signed_data */
    uint8_t att_key[64];       /* raw x||y of the attestation key */

    /* QE report certification data */
    const uint8_t *qe_report_raw;  /* 384 bytes, what the PCK key signed */
    asps_claims_sgx qe_report;
    uint8_t qe_report_sig[64];
    const uint8_t *qe_auth;
    size_t qe_auth_len;

    /* PCK certification data */
    uint16_t cert_type;        /* 5 after unwrapping type 6 */
    const uint8_t *pck_chain;  /* PEM, not NUL-terminated */
    size_t pck_chain_len;
} asps_quote;

asps_err asps_quote_parse(const uint8_t *buf, size_t len, asps_quote *q, asps_errbuf *eb);

/* Decode a 384-byte SGX report body (used for the enclave and QE reports). */
int asps_quote_parse_sgx_report(const uint8_t *buf, size_t len, asps_claims_sgx *out);

#endif
