/* secret.c: freeing the one secret type (asps/secret.h). Owns no state. */
#include <stdlib.h>

#include "asps/secret.h"
#include "util.h"

void asps_secrets_free(asps_secret *secrets, size_t n)
{
    if (secrets == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        asps_cleanse_free(secrets[i].value, secrets[i].len);
        free(secrets[i].name);
    }
    free(secrets);
}
