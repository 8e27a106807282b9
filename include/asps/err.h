/* asps/err.h: error codes shared by every module.
 *
 * Library functions return an asps_err and, where they take one, fill an
 * asps_errbuf that the caller owns with a one-line human message. The code is
 * what programs and tests branch on; the message is for people. Messages never
 * carry secret values.
 */
#ifndef ASPS_ERR_H
#define ASPS_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum asps_err {
    ASPS_OK = 0,

    /* generic */
    ASPS_E_ARG,            /* caller passed something invalid */
    ASPS_E_NOMEM,          /* allocation failed */
    ASPS_E_IO,             /* file or device error */
    ASPS_E_PARSE,          /* malformed input (truncated, trailing, bad field) */
    ASPS_E_UNSUPPORTED,    /* well-formed but not a kind asps handles */
    ASPS_E_LIMIT,          /* input larger than a configured bound */
    ASPS_E_INTERNAL,       /* a library call failed unexpectedly */

    /* DCAP verification, roughly in the order QVL checks */
    ASPS_E_ROOT_UNTRUSTED,       /* chain does not end at a trusted root */
    ASPS_E_CHAIN,                /* certificate chain does not verify */
    ASPS_E_CERT_EXPIRED,         /* a certificate is outside its validity */
    ASPS_E_CERT_REVOKED,         /* a certificate is on its issuer's CRL */
    ASPS_E_CRL_SIGNATURE,        /* CRL not signed by its issuer */
    ASPS_E_CRL_EXPIRED,          /* CRL outside thisUpdate..nextUpdate */
    ASPS_E_CRL_ISSUER,           /* CRL issuer does not match the CA it should */
    ASPS_E_TCB_INFO_SIGNATURE,   /* TCB info signature does not verify */
    ASPS_E_TCB_INFO_EXPIRED,     /* TCB info outside issueDate..nextUpdate */
    ASPS_E_TCB_INFO_MISMATCH,    /* TCB info is for another FMSPC/PCE ID/TEE */
    ASPS_E_QE_IDENTITY_SIGNATURE,/* QE identity signature does not verify */
    ASPS_E_QE_IDENTITY_EXPIRED,  /* QE identity outside issueDate..nextUpdate */
    ASPS_E_QE_REPORT_SIGNATURE,  /* QE report not signed by the PCK key */
    ASPS_E_QE_REPORT_DATA,       /* QE report data != SHA-256(att key || auth) */
    ASPS_E_QE_IDENTITY_MISMATCH, /* QE report does not match QE identity */
    ASPS_E_QUOTE_SIGNATURE,      /* quote body not signed by attestation key */
    ASPS_E_PCK_EXTENSION,        /* PCK SGX extensions missing or malformed */
    ASPS_E_TCB_NOT_FOUND,        /* no TCB level matches the platform */
    ASPS_E_TCB_REVOKED,          /* matched TCB level has status Revoked */
    ASPS_E_TDX_MODULE,           /* TDX module identity does not match */

    /* RA-TLS and service */
    ASPS_E_NO_EVIDENCE,          /* certificate carries no quote */
    ASPS_E_BINDING,              /* quote report data does not bind the key */
    ASPS_E_DENIED,               /* policy refuses */
    ASPS_E_UNAVAILABLE,          /* a backend (KMS, PCCS) cannot be reached */
    ASPS_E_NOT_FOUND,            /* a named thing does not exist */
    ASPS_E_NO_DEVICE,            /* attester device not present */
    ASPS_E_WOULD_BLOCK,          /* the answer needs a wait (a network fetch)
                                    the caller asked not to make */

    ASPS_E__COUNT
} asps_err;

/* A caller-owned buffer for a one-line message. */
typedef struct asps_errbuf {
    char msg[512];
} asps_errbuf;

/* Stable short name of a code, e.g. "quote_signature". Never NULL. */
const char *asps_err_name(asps_err e);

/* Fill eb (if non-NULL) with a printf-style message and return e, so that
 * `return asps_fail(eb, ASPS_E_PARSE, "quote: header truncated");` reads as
 * one statement. */
asps_err asps_fail(asps_errbuf *eb, asps_err e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix an existing message with context ("collateral: " + old msg). */
void asps_err_prefix(asps_errbuf *eb, const char *prefix);

#define ASPS_TRY(expr)                                                         \
    do {                                                                       \
        asps_err asps_try_rc_ = (expr);                                        \
        if (asps_try_rc_ != ASPS_OK)                                           \
            return asps_try_rc_;                                               \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
