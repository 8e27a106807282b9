/* asps/audit.h: the decision log.
 *
 * One JSON object per line, per decision:
 *   {"time":"2026-01-02T03:04:05.678Z","peer":"ipv4:127.0.0.1:40000",
 *    "tee":"sgx","simulated":false,"mrenclave":"..","mrsigner":"..",
 *    "isv_prod_id":1,"isv_svn":2,"config_svn":0,"debug":false,
 *    "tcb_status":"UpToDate","advisory_ids":[],"qe_advisory_ids":[],
 *    "tcb_info_evaluation_data_number":17,
 *    "qe_identity_evaluation_data_number":17,
 *    "tcb_date":"2024-11-13T00:00:00Z","qe_tcb_date":"2024-03-13T00:00:00Z",
 *    "tcb_update":"standard","collateral_stale":false,
 *    "app":"web",
 *    "names_asked":["a","b"],"names_granted":["a","b"],
 *    "verdict":"granted","reason":"..."}
 * TDX lines carry "mrtd" and "rtmrs" (4 hex strings) instead of the SGX
 * measurement fields, and "tdx_module_advisory_ids". TCB recovery (README
 * "TCB recovery"), when there is something to say: "forecast":{"update":
 * "early","status":"OutOfDate" (null: no level matches),
 * "evaluation_data_number":19,"effective_at":"2026-05-13T00:00:00Z" (null:
 * unknown)} when the other update set's status is worse;
 * "tcb_recovery_event_date" and "demoted_at" (the matched level's demotion);
 * "collateral_stale_seconds" when "collateral_stale" is true; "behind":
 * [{"component":"pcesvn","have":11,"need":13}, ...]; and "grace":{"until":
 * "2027-01-31T00:00:00Z","left_seconds":86400} (before "verdict") when the
 * app accepted the platform only under its tcb_grace_days. A line never holds a secret value or a credential:
 * the API is never given one. A line is valid JSON (RFC 8259) whatever
 * bytes the strings given hold: they are written as UTF-8 with each
 * ill-formed part replaced by U+FFFD (per maximal subpart, Unicode 3.9),
 * control characters escaped. A name asked for that is longer than
 * ASPS_POLICY_MAX_NAME (a refused one) is written as its first
 * ASPS_POLICY_MAX_NAME bytes and "...(N bytes)".
 *
 * Thread-safe: each line is formatted first and written with one write()
 * to a descriptor opened O_APPEND, which the kernel appends whole to a
 * regular file, so lines never interleave, also with other processes
 * appending to the same file; lines to stderr are written one at a time.
 */
#ifndef ASPS_AUDIT_H
#define ASPS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "asps/claims.h"
#include "asps/err.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asps_audit asps_audit;

/* PATH: a regular file (created 0600, appended to; opened without blocking,
 * so a FIFO, device or socket in its place is refused at once, never waited
 * on) or "-" for stderr. */
asps_err asps_audit_open(const char *path, asps_audit **out, asps_errbuf *eb);
void asps_audit_close(asps_audit *a);

/* Open the log's PATH again and write further lines there (log rotation:
 * the old file renamed away, then SIGHUP). Each line goes wholly to the old
 * file or wholly to the new one. When PATH cannot be opened (or is not a
 * regular file) the old descriptor stays in use and eb says why. A log on
 * stderr ("-") has nothing to reopen: ASPS_OK. Thread-safe. */
asps_err asps_audit_reopen(asps_audit *a, asps_errbuf *eb);

typedef struct asps_audit_event {
    int64_t time_ms;              /* unix milliseconds; 0 = now */
    const char *peer;             /* peer address, may be NULL */
    const asps_claims *claims;    /* NULL when there were none (no evidence) */
    /* Names asked and granted plus app and reason come from DECISION when it
     * is non-NULL; otherwise from the fields below. */
    const asps_decision *decision;
    const char *const *names_asked;
    size_t n_asked;
    const char *const *names_granted;
    size_t n_granted;
    const char *app;
    const char *verdict;          /* "granted", "denied", "unavailable", ... */
    const char *reason;           /* overrides the decision's reason if set */
    const char *claims_json;      /* optional: CLAIMS as asps_audit_claims_json
                                     rendered them (used instead of rendering
                                     them again; the line is the same) */
} asps_audit_event;

/* The claims' members of an audit line ("tee":...,... without braces), as
 * asps_audit_format writes them (malloc'd, NUL-terminated, the caller's):
 * rendered once per verified certificate, handed to each of its calls'
 * events. Errors: ASPS_E_NOMEM. */
asps_err asps_audit_claims_json(const asps_claims *claims, char **out, asps_errbuf *eb);

asps_err asps_audit_decision(asps_audit *a, const asps_audit_event *ev, asps_errbuf *eb);

/* The line asps_audit_decision would write (malloc'd, with '\n'); for tests
 * and for callers with their own sink. */
asps_err asps_audit_format(const asps_audit_event *ev, char **line, asps_errbuf *eb);

#ifdef __cplusplus
}
#endif
#endif
