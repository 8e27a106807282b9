/* secret.c: freeing the one secret type (asps/secret.h). Owns no state. */
#include <openssl/crypto.h>
#include <stdlib.h>

#include "asps/secret.h"

void asps_secrets_free(asps_secret *secrets, size_t n)
{
    if (secrets == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (secrets[i].value != NULL)
            OPENSSL_cleanse(secrets[i].value, secrets[i].len);
        free(secrets[i].value);
        free(secrets[i].name);
    }
    free(secrets);
}
