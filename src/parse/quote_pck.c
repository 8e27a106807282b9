/* quote_pck.c: what a quote's PCK certificate says (FMSPC, CA, PCE SVN),
 * read without verifying anything: collateral lookup and `quote show` need
 * it before (or without) verification. Certificates are decoded structure
 * only (no key); the SGX extension goes through the one PCK extension
 * parser (dcap_pck.c). */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <string.h>

#include "asps/verify.h"
#include "dcap_parse.h"
#include "quote.h"
#include "x509.h"

#define MAX_CERTS 8 /* a PCK chain has 3 */

static int cn_contains(const X509_NAME *name, const char *phrase)
{
    char cn[256];
    int n = X509_NAME_get_text_by_NID((X509_NAME *)name, NID_commonName, cn, sizeof cn);
    return n > 0 && strstr(cn, phrase) != NULL;
}

asps_err asps_quote_pck_values(const asps_quote *q, asps_quote_pck *out, asps_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    ASPS_TRY(asps_quote_need_pck_chain(q, eb));
    if (q->pck_chain_len > INT32_MAX)
        return asps_fail(eb, ASPS_E_LIMIT, "PCK chain too large");
    /* Decode certificates one by one and stop at the PCK certificate (the
     * first one in every quote seen). */
    BIO *b = BIO_new_mem_buf(q->pck_chain, (int)q->pck_chain_len);
    if (!b)
        return asps_fail(eb, ASPS_E_NOMEM, "out of memory");
    asps_err e = asps_fail(eb, ASPS_E_CHAIN, "PCK chain: no PCK certificate");
    X509 *x;
    for (int i = 0; i < MAX_CERTS && (x = asps_x509_read_pem(b, ASPS_X509_NO_KEY)) != NULL; i++) {
        if (!cn_contains(X509_get_subject_name(x), "SGX PCK Certificate")) {
            X509_free(x);
            continue;
        }
        ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        int idx = oid ? X509_get_ext_by_OBJ(x, oid, -1) : -1;
        ASN1_OBJECT_free(oid);
        asps_pck_ext ext;
        memset(&ext, 0, sizeof ext);
        if (idx < 0) {
            e = asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK certificate: no SGX extension");
        } else {
            ASN1_OCTET_STRING *val = X509_EXTENSION_get_data(X509_get_ext(x, idx));
            e = asps_dcap_parse_pck_ext(ASN1_STRING_get0_data(val), (size_t)ASN1_STRING_length(val),
                                        &ext, eb);
        }
        if (e == ASPS_OK) {
            memcpy(out->fmspc, ext.fmspc, 6);
            memcpy(out->pce_id, ext.pce_id, 2);
            memcpy(out->cpu_svn, ext.cpusvn, 16);
            out->pce_svn = ext.pcesvn;
            X509_NAME *iss = X509_get_issuer_name(x);
            if (cn_contains(iss, "Processor"))
                strcpy(out->ca, "processor");
            else if (cn_contains(iss, "Platform"))
                strcpy(out->ca, "platform");
            else
                e = asps_fail(eb, ASPS_E_CHAIN,
                              "PCK certificate: issuer is neither the Processor nor the Platform CA");
        }
        X509_free(x);
        break;
    }
    ERR_clear_error();
    BIO_free(b);
    return e;
}

asps_err asps_quote_platform(const uint8_t *buf, size_t len, asps_tee *tee, uint8_t fmspc[6],
                             char ca[16], asps_errbuf *eb)
{
    asps_quote q;
    asps_quote_pck p;
    ASPS_TRY(asps_quote_parse(buf, len, &q, eb));
    *tee = q.tee_type == ASPS_TEE_TDX ? ASPS_TEE_TDX : ASPS_TEE_SGX;
    ASPS_TRY(asps_quote_pck_values(&q, &p, eb));
    memcpy(fmspc, p.fmspc, 6);
    memcpy(ca, p.ca, sizeof p.ca);
    return ASPS_OK;
}
