/* err.c: names and message helpers for asps_err. Owns no state. */
#include "asps/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[ASPS_E__COUNT] = {
    [ASPS_OK] = "ok",
    [ASPS_E_ARG] = "invalid_argument",
    [ASPS_E_NOMEM] = "out_of_memory",
    [ASPS_E_IO] = "io",
    [ASPS_E_PARSE] = "parse",
    [ASPS_E_UNSUPPORTED] = "unsupported",
    [ASPS_E_LIMIT] = "limit",
    [ASPS_E_INTERNAL] = "internal",
    [ASPS_E_ROOT_UNTRUSTED] = "root_untrusted",
    [ASPS_E_CHAIN] = "chain",
    [ASPS_E_CERT_EXPIRED] = "cert_expired",
    [ASPS_E_CERT_REVOKED] = "cert_revoked",
    [ASPS_E_CRL_SIGNATURE] = "crl_signature",
    [ASPS_E_CRL_EXPIRED] = "crl_expired",
    [ASPS_E_CRL_ISSUER] = "crl_issuer",
    [ASPS_E_TCB_INFO_SIGNATURE] = "tcb_info_signature",
    [ASPS_E_TCB_INFO_EXPIRED] = "tcb_info_expired",
    [ASPS_E_TCB_INFO_MISMATCH] = "tcb_info_mismatch",
    [ASPS_E_QE_IDENTITY_SIGNATURE] = "qe_identity_signature",
    [ASPS_E_QE_IDENTITY_EXPIRED] = "qe_identity_expired",
    [ASPS_E_QE_REPORT_SIGNATURE] = "qe_report_signature",
    [ASPS_E_QE_REPORT_DATA] = "qe_report_data",
    [ASPS_E_QE_IDENTITY_MISMATCH] = "qe_identity_mismatch",
    [ASPS_E_QUOTE_SIGNATURE] = "quote_signature",
    [ASPS_E_PCK_EXTENSION] = "pck_extension",
    [ASPS_E_TCB_NOT_FOUND] = "tcb_not_found",
    [ASPS_E_TCB_REVOKED] = "tcb_revoked",
    [ASPS_E_TDX_MODULE] = "tdx_module",
    [ASPS_E_NO_EVIDENCE] = "no_evidence",
    [ASPS_E_BINDING] = "binding",
    [ASPS_E_DENIED] = "denied",
    [ASPS_E_UNAVAILABLE] = "unavailable",
    [ASPS_E_NOT_FOUND] = "not_found",
    [ASPS_E_NO_DEVICE] = "no_device",
    [ASPS_E_WOULD_BLOCK] = "would_block",
};

const char *asps_err_name(asps_err e)
{
    if ((unsigned)e >= ASPS_E__COUNT || names[e] == NULL)
        return "unknown";
    return names[e];
}

asps_err asps_fail(asps_errbuf *eb, asps_err e, const char *fmt, ...)
{
    if (eb != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
        va_end(ap);
    }
    return e;
}

void asps_err_prefix(asps_errbuf *eb, const char *prefix)
{
    if (eb == NULL || prefix == NULL)
        return;
    char tmp[sizeof eb->msg];
    snprintf(tmp, sizeof tmp, "%s%s", prefix, eb->msg);
    memcpy(eb->msg, tmp, sizeof tmp);
}
