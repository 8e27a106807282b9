/* asps/secret.h: one secret, the same type from the KMS to the wire and on
 * to the workload.
 *
 * The server's service fills it from the KMS (asps_kms_get_until writes
 * value and len in place), the RPC layer encodes it into asps.v1.Secret
 * unchanged, and the client decodes the reply into it and hands the array
 * to its caller (asps_client_get): no copies between look-alike structs.
 * Declared here, in the public API, because the client returns it;
 * implemented in the base layer (src/base/secret.c), below everything that
 * uses it.
 */
#ifndef ASPS_SECRET_H
#define ASPS_SECRET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct asps_secret {
    char *name;     /* NUL-terminated secret name (UTF-8), malloc'd */
    uint8_t *value; /* LEN bytes, malloc'd; may hold 0x00; NOT a C string:
                       use LEN (the wire decoder adds a 0x00 after the last
                       byte, the KMS does not promise one) */
    size_t len;
} asps_secret;

/* Cleanse every value, then free names, values and the array itself (an
 * array of N from malloc/calloc). NULL is fine. Entries may be partly
 * filled (NULL name or value). */
void asps_secrets_free(asps_secret *secrets, size_t n);

#ifdef __cplusplus
}
#endif
#endif
