/* util.h: small helpers shared by modules: hex, time, files, cleansing,
 * SHA-256, PEM certificates. */
#ifndef ASPS_UTIL_H
#define ASPS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/evp.h>

#include "asps/err.h"

/* Decode exactly out_len bytes of hex (either case). 0 ok, -1 bad. */
int asps_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len);
/* Decode hex of any even length into a malloc'd buffer. */
int asps_hex_decode_alloc(const char *hex, uint8_t **out, size_t *out_len);
/* Lower-case hex; out must hold 2*len+1. */
void asps_hex_encode(const uint8_t *in, size_t len, char *out);
/* The same in upper case, as Intel writes an FMSPC ("00906ED50000") and
 * as cache file names spell it. */
void asps_hex_encode_upper(const uint8_t *in, size_t len, char *out);

/* "2025-07-01T00:00:00Z" (RFC 3339, 'Z' or +hh:mm, optional fraction) or
 * plain unix seconds -> unix seconds. 0 ok, -1 bad (a day its month does
 * not have included). */
int asps_time_parse(const char *s, int64_t *out);
/* Days since 1970-01-01 of the proleptic Gregorian date Y-M-D (M 1..12,
 * D 1..31; Howard Hinnant's algorithm: no timegm/TZ dependence). */
int64_t asps_days_from_civil(int64_t y, unsigned m, unsigned d);
/* RFC 3339 UTC, out must hold 21 bytes. */
void asps_time_format(int64_t t, char out[32]);

/* Read a whole file (at most max bytes) into a malloc'd NUL-terminated
 * buffer. */
asps_err asps_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
                        asps_errbuf *eb);
/* Read a whole regular file (at most max bytes) without ever blocking on
 * what is not one: opened O_NONBLOCK, then fstat; a FIFO, device, socket
 * or folder is refused (ASPS_E_IO, "PATH is not a regular file (a FIFO)")
 * before any read, so a FIFO put in a file's place cannot hold the caller.
 * (A hung network file system can still block open() or read(): callers
 * that must stay responsive bound it themselves; see kms.c.) The buffer is
 * allocated once at the file's size (no realloc leaving copies behind, for
 * files that hold secrets), NUL-terminated; a file that grows while it is
 * read is refused (one that is replaced by rename is read whole). */
asps_err asps_read_regular_file(const char *path, size_t max, uint8_t **out, size_t *len,
                                asps_errbuf *eb);
/* The same, and *ST_OUT the fstat of the very descriptor read (taken
 * before the read): the identity (device, inode, size, times) of the bytes
 * returned, which a stat of PATH, before or after, need not be when the
 * path is swapped meanwhile. */
struct stat;
asps_err asps_read_regular_file_st(const char *path, size_t max, uint8_t **out, size_t *len,
                                   struct stat *st_out, asps_errbuf *eb);
/* Write a file atomically (temp in the same folder, fsync, rename), mode. */
asps_err asps_write_file_atomic(const char *path, const void *data, size_t len,
                                unsigned mode, asps_errbuf *eb);

/* The word of WORDS (NULL-terminated) nearest to WORD by edit distance
 * (optimal string alignment: insert, delete, substitute, swap two neighbours;
 * letters compared without case), or NULL when the nearest is farther than
 * a third of its length (at least 1, at most 3) or ties with another: for
 * "did you mean ...?" after an unknown key ("ua_env_pccs_ur1" ->
 * "ua_env_pccs_url"). Words longer than 127 bytes are never suggested. */
const char *asps_nearest_word(const char *word, const char *const *words);

/* CLOCK_MONOTONIC in milliseconds: deadlines that a clock change cannot
 * move. */
int64_t asps_now_mono_ms(void);

/* Constant-time equality of two equal-length buffers (CRYPTO_memcmp). */
int asps_ct_equal(const void *a, const void *b, size_t len);

/* Cleanse (OPENSSL_cleanse) then free: for every buffer that held a secret.
 * NULL is allowed. The _str form cleanses strlen(s) bytes. */
void asps_cleanse_free(void *p, size_t len);
void asps_cleanse_free_str(char *s);

/* SHA-256 of LEN bytes at P (the one digest helper every module uses; the
 * _2 form hashes A || B without copying). 1 ok; 0 when OpenSSL failed (out
 * of memory), and then OUT is all zeros. */
int asps_sha256(const void *p, size_t len, uint8_t out[32]);
int asps_sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32]);
/* SHA-256 as an EVP_MD for EVP_DigestInit_ex / EVP_DigestVerifyInit,
 * fetched once per process (OpenSSL 3 otherwise looks it up per use);
 * EVP_sha256() if that fetch failed. Never freed: lives as long as the
 * process. */
const EVP_MD *asps_sha256_md(void);

/* PEM (RFC 7468) -> DER, without decoding the certificate: the DER of the
 * next PEM block of B when its label is CERTIFICATE. 1: *der (OPENSSL_free
 * it) and *len > 0; 0: no more blocks, or the next one is not a
 * certificate or has no content. OpenSSL's error queue is left empty. */
int asps_pem_next_cert_der(BIO *b, uint8_t **der, size_t *len);
/* The same for the first block of the LEN bytes of text at PEM (LEN may
 * exceed the text: it stops at a NUL). */
int asps_pem_cert_der(const char *pem, size_t len, uint8_t **der, size_t *dlen);
/* asps_pem_cert_der's fast path alone: 1 (and *der, *dlen as there) only
 * when the text is a certificate block in RFC 7468's strict form from its
 * first byte ("-----BEGIN CERTIFICATE-----", base64 lines of exactly 64
 * characters but the last, '\n' line ends, padding only at the end, then
 * "-----END CERTIFICATE-----"), decoded in one pass with EVP_DecodeBlock;
 * 0 for any other text, which asps_pem_cert_der reads with OpenSSL's PEM
 * reader. Where it answers 1 the DER is exactly what the PEM reader gives
 * (test_util checks it against PEM_read_bio on mutated texts; fuzz_ratls
 * on every input). */
int asps_pem_cert_der_strict(const char *pem, size_t len, uint8_t **der, size_t *dlen);

#endif
