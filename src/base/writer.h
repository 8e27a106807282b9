/* writer.h: the one growable, bounded byte writer (the reader's opposite).
 *
 * A writer grows by doubling up to a maximum set at init; a write that would
 * pass it, or an allocation that fails, marks the writer failed (sticky:
 * later writes do nothing), so a producer writes a whole structure and checks
 * once at the end. The bytes are always followed by one 0 byte that the
 * length does not count (text bodies can be read as strings).
 * A writer made for secrets (ASPS_WRITER_SECRET) never leaves a copy behind:
 * it grows by allocating anew, copying and cleansing the old buffer (never
 * realloc, which may free it uncleansed), and asps_writer_free cleanses.
 * Doubling keeps that linear in the final size.
 * Not thread-safe; a writer is owned by one producer.
 */
#ifndef ASPS_WRITER_H
#define ASPS_WRITER_H

#include <stddef.h>
#include <stdint.h>

enum { ASPS_WRITER_PLAIN = 0, ASPS_WRITER_SECRET = 1 };
enum { ASPS_WRITER_OK = 0, ASPS_WRITER_NOMEM = 1, ASPS_WRITER_FULL = 2 };

typedef struct asps_writer {
    uint8_t *p;   /* NULL until the first write */
    size_t len;   /* bytes written */
    size_t cap;   /* bytes p can hold, not counting the trailing 0 */
    size_t max;   /* the bound: len never passes it */
    int secret;   /* ASPS_WRITER_SECRET: cleansed on growth and free */
    int failed;   /* ASPS_WRITER_OK, _NOMEM or _FULL (would pass max) */
} asps_writer;

/* An empty writer bounded at MAX bytes. (A zeroed struct is not usable:
 * its bound is 0.) */
asps_writer asps_writer_init(size_t max, int secret);

/* Append N bytes: 1 ok, 0 when the writer has failed (now or before). */
int asps_writer_put(asps_writer *w, const void *p, size_t n);
int asps_writer_u8(asps_writer *w, uint8_t v);
int asps_writer_u16le(asps_writer *w, uint16_t v);
int asps_writer_u32le(asps_writer *w, uint32_t v);
int asps_writer_zeros(asps_writer *w, size_t n);

/* Room for N bytes written in place (by a printer that writes into a given
 * buffer): a pointer to N free bytes after the written ones, plus one for a
 * trailing 0, or NULL when the writer has failed or N would pass the bound.
 * Then asps_writer_advance counts the K <= N bytes written there (anything
 * more is an argument error: the writer fails). */
uint8_t *asps_writer_room(asps_writer *w, size_t n);
int asps_writer_advance(asps_writer *w, size_t k);

/* Hand the buffer over (malloc'd, *len bytes and a trailing 0; the caller
 * frees it, cleansing it first if it is a secret) and leave the writer empty
 * with the same bound. NULL (the writer emptied) when it failed or holds
 * nothing: a producer never gets half a structure. */
uint8_t *asps_writer_take(asps_writer *w, size_t *len);

/* Free the buffer (cleansed first for a secret writer); the writer is empty
 * again, bound kept. */
void asps_writer_free(asps_writer *w);

#endif
