/* asps/client.h: the asps client library.
 *
 * A workload links this to fetch its secrets: it attests (a fresh key, a
 * quote binding it, an RA-TLS certificate), connects to the asps server
 * with that certificate as its TLS client certificate, verifies the server
 * (a CA, a pinned certificate, or the server's own RA-TLS evidence checked
 * against a policy), and asks for named secrets in one call. A long-lived
 * client renews its certificate before it expires (asps_client_get) or when
 * asked (asps_client_renew, asps_client_set_attester). Secrets are
 * freed with asps_secrets_free() (asps/secret.h), which cleanses them.
 *
 *   asps_client_opts o = {.server = "kms.example:7788", .ca_file = "ca.pem",
 *                         .attester = "auto"};
 *   asps_client *c;
 *   if (asps_client_new(&o, &c, &eb) == ASPS_OK &&
 *       asps_client_get(c, names, n, &secrets, &status, &eb) == ASPS_OK) ...
 *
 * pkg-config: `pkg-config --cflags --libs asps`.
 */
#ifndef ASPS_CLIENT_H
#define ASPS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/err.h"
#include "asps/evidence.h"
#include "asps/secret.h"
#include "asps/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asps_client asps_client;

/* The caller's decision on the server's verified claims (RA-TLS mode):
 * 0 accepts; anything else refuses the server, with a one-line reason
 * written into ERR (ERRLEN bytes, NUL-terminated). Called during the TLS
 * handshake, possibly on a gRPC thread. */
typedef int (*asps_client_server_check_fn)(void *ctx, const asps_claims *server_claims,
                                           char *err, size_t errlen);

/* How the client trusts the server: exactly one of ca_file,
 * pinned_cert_file or server_check (with its collateral below) is given,
 * else asps_client_new fails (ASPS_E_ARG). Every trust input is a file
 * path, read once by asps_client_new (a PEM file of at most 1 MiB).
 *
 * How the client makes its evidence: a device attester named as in
 * asps/evidence.h ("auto", "gramine", "occlum", "tdx"), made and owned by
 * the client, or one the caller made (use_attester: the simulated
 * platform's, asps_sim_attester_new, or its own through
 * asps_attester_wrap), borrowed: it must outlive the client (or be
 * replaced first with asps_client_set_attester), since each renewal of the
 * RA-TLS certificate asks it for a new quote. Strings are read during
 * asps_client_new and not kept; server_check_ctx is kept and must outlive
 * the client. */
typedef struct asps_client_opts {
    const char *server;            /* host:port */
    const char *ca_file;           /* path: PEM CA(s) that issued the server cert */
    const char *server_name;       /* TLS name to check (default: host) */
    const char *pinned_cert_file;  /* path: PEM; accept exactly this server cert */
    /* Verify the server's RA-TLS evidence; check_fn decides on its claims. */
    asps_client_server_check_fn server_check;
    void *server_check_ctx;
    /* What the server's evidence is checked with: the Intel root, plus
     * server_sim_dir's DIR/root_ca.der when given; its collateral from the
     * PCCS at pccs_url when given, else the server_collateral bundle, else
     * server_sim_dir's DIR/collateral_sgx.json / collateral_tdx.json (by the
     * quote's TEE). Without any of the three, asps_client_new fails
     * (ASPS_E_ARG). Files are read by asps_client_new. */
    const char *server_sim_dir;    /* a simulated platform folder */
    const char *server_collateral; /* a collateral bundle file */
    const char *pccs_url;          /* a PCCS (v4 API) base URL */
    const char *pccs_ca_file;      /* CAs for the PCCS's TLS certificate (default: system) */

    const char *attester;          /* device attester kind, default "auto" */
    asps_attester *use_attester;   /* or this one (borrowed; must outlive the client) */
    /* The RA-TLS certificate's lifetime in seconds from when it is made
     * (0: 24 h; else ASPS_CLIENT_MIN_VALIDITY_SECS .. ASPS_CLIENT_MAX_VALIDITY_SECS,
     * outside that ASPS_E_ARG: a negative or tiny value would make a
     * certificate expired on arrival). Its notBefore is set 60 s in the
     * past, for servers whose clocks run behind. The client makes a new
     * key and certificate (a new quote) once less than a quarter of the
     * lifetime is left, at the next asps_client_get. */
    long validity_secs;
    long deadline_ms;              /* per call (default 10 s) */
} asps_client_opts;

#define ASPS_CLIENT_MIN_VALIDITY_SECS 2L
#define ASPS_CLIENT_MAX_VALIDITY_SECS (3650L * 86400L)

/* A fresh key and RA-TLS certificate (one quote from the attester), and a
 * gRPC channel set up to the server. *out is the caller's
 * (asps_client_free); NULL on failure. Errors: ASPS_E_ARG (no server, not
 * exactly one way to trust it, RA-TLS check without collateral,
 * server_name without ca_file, validity_secs out of range; the caller's
 * files: pinned_cert_file or ca_file not a PEM certificate, a root or
 * collateral file malformed), ASPS_E_NO_DEVICE (no attester found for
 * "auto"), ASPS_E_IO (ca_file, pinned_cert_file or a trust file
 * unreadable), the attester's own errors, ASPS_E_NOMEM. */
asps_err asps_client_new(const asps_client_opts *o, asps_client **out, asps_errbuf *eb);
/* Closes the channel, cleanses the private key(s). NULL is fine. */
void asps_client_free(asps_client *c);

/* Fetch NAMES in one call. Renews the RA-TLS certificate first when less
 * than a quarter of its lifetime is left (as asps_client_renew; if that
 * fails while the current certificate is still valid, the call goes ahead
 * with it and the next call tries again; once it has expired, the renewal's
 * error is returned). On ASPS_OK, *out holds n entries in request
 * order (malloc'd; free with asps_secrets_free, which cleanses them) and
 * *status is 0. A refusal by the server returns ASPS_E_DENIED
 * (status 7, or 16 when the evidence was refused); so does a server that
 * fails the client's own check (not the pinned certificate, its claims
 * refused by server_check; status 14, eb "server not verified: ...").
 * ASPS_E_UNAVAILABLE for
 * an unreachable server or KMS (status 14) or a busy server (status 8,
 * RESOURCE_EXHAUSTED with gRPC's retry pushback), with the server's message
 * in eb; ASPS_E_ARG for a request the server refuses as malformed or over a
 * limit (status 3, or 8 without pushback).
 * *status gets the gRPC status code in every case.
 * Thread-safe: several threads may call it on one client; a renewal waits
 * for the calls in flight. */
asps_err asps_client_get(asps_client *c, const char *const *names, size_t n,
                         asps_secret **out, int *status, asps_errbuf *eb);

/* Make a new key and RA-TLS certificate now (a new quote from the
 * attester) and a new channel presenting it, e.g. after the workload's
 * identity changed (a TDX RTMR extended, a TCB recovery). On an error the
 * client keeps its current certificate. Errors: the attester's, those of
 * asps_ratls_create, ASPS_E_NOMEM. */
asps_err asps_client_renew(asps_client *c, asps_errbuf *eb);

/* Use ATTESTER from now on (borrowed, as use_attester: it must outlive the
 * client or be replaced) and renew at once with it. On an error the client
 * keeps its current attester and certificate. Errors: ASPS_E_ARG (NULL),
 * those of asps_client_renew. */
asps_err asps_client_set_attester(asps_client *c, asps_attester *attester, asps_errbuf *eb);

/* The RA-TLS certificate this client presents (PEM, NUL-terminated), e.g.
 * for logging. Owned by the client: valid until the next renewal
 * (asps_client_get, asps_client_renew, asps_client_set_attester) or
 * asps_client_free, whichever comes first. */
const char *asps_client_cert_pem(const asps_client *c);

/* The attester the environment names, for programs configured by their
 * environment (containers, the examples): ASPS_ATTESTER ("auto" when unset,
 * or a kind of asps/evidence.h), or "sim": the simulated platform in
 * ASPS_SIM_DIR (a folder from `asps sim init`), claiming ASPS_SIM_MRENCLAVE,
 * ASPS_SIM_MRSIGNER (64 hex digits each), ASPS_SIM_ISV_PROD_ID,
 * ASPS_SIM_ISV_SVN, ASPS_SIM_CONFIG_SVN (0..65535; unset ones are zero).
 * A server trusts simulated evidence only where its policy says so. *out is
 * the caller's (asps_attester_free). Errors: ASPS_E_ARG (an unknown kind, a
 * malformed value), those of asps_attester_new, ASPS_E_IO (no platform in
 * ASPS_SIM_DIR). */
asps_err asps_client_attester_from_env(asps_attester **out, asps_errbuf *eb);

/* The current certificate's notAfter and when the client will renew it
 * (unix seconds). */
int64_t asps_client_cert_not_after(const asps_client *c);
int64_t asps_client_renew_at(const asps_client *c);

#ifdef __cplusplus
}
#endif
#endif
