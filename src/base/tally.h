/* tally.h: counts of events by short reason name, summed up on one log line
 * at most once per interval (the server's refusal summary: a flood of
 * refused clients makes one line per interval, not one per client).
 *
 * A line goes through the logger (log.h) at warn and reads
 *   2026-12-05T01:10:00.123Z warn  service: refusals in the last 10.0 s: 12 (tcb_revoked 9, root_untrusted 2, tls_handshake 1)
 * The first event after a quiet interval is reported at once; later ones
 * wait for the interval to end. Reasons are counted in the order first seen,
 * at most TALLY_REASONS distinct ones per line (the rest as "other").
 * Thread-safe. A thread of its own prints, so a summary also comes out when
 * no further event arrives.
 */
#ifndef ASPS_TALLY_H
#define ASPS_TALLY_H

#include <stdint.h>

#define TALLY_REASONS 16

typedef struct asps_tally asps_tally;

/* WHAT names the events in the line ("refusals"); COMPONENT is the log
 * line's (log.h). NULL when out of memory or no thread can start. */
asps_tally *asps_tally_new(const char *what, int64_t interval_ms, const char *component);
/* Count one event; REASON is copied (at most 31 bytes kept). */
void asps_tally_add(asps_tally *t, const char *reason);
/* Prints what is still uncounted, stops the thread, frees. */
void asps_tally_free(asps_tally *t);

#endif
