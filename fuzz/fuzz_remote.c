/* fuzz_remote.c: parsers of what other servers and peers send: gRPC
 * request/reply messages (protobuf-c), the PCCS response scanner, the Vault
 * read reply and Vault error text. The first byte picks the parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

int asps_pccs_raw_object_value(const char *json, size_t len, const char *key, const char **start,
                               size_t *vlen);
asps_err asps_vault_parse_value(const char *reply, size_t n, int kv_version, const char *field,
                                const char *what, uint8_t **value, size_t *len, asps_errbuf *eb);
size_t asps_vault_error_text(const char *reply, size_t n, const char *const *hide, size_t n_hide,
                             char *out, size_t cap);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t which = data[0] % 7;
    data++;
    size--;
    asps_errbuf eb;
    switch (which) {
    case 0: {
        char **names;
        size_t n;
        if (asps_rpc_decode_get_secrets_request(data, size, 64, &names, &n, &eb) == ASPS_OK)
            asps_rpc_strings_free(names, n);
        break;
    }
    case 1: {
        asps_secret *s;
        size_t n;
        if (asps_rpc_decode_get_secrets_reply(data, size, &s, &n, &eb) == ASPS_OK)
            asps_secrets_free(s, n);
        break;
    }
    case 2: {
        char *k = NULL, *c = NULL, *name = NULL;
        if (asps_rpc_decode_cczoo_request(data, size, &k, &c, &eb) == ASPS_OK) {
            free(k);
            free(c);
        }
        if (asps_rpc_decode_occlum_request(data, size, &name, &eb) == ASPS_OK)
            free(name);
        break;
    }
    case 3: {
        uint8_t *v;
        size_t n;
        char *s = NULL;
        if (asps_rpc_decode_cczoo_reply(data, size, &v, &n, &eb) == ASPS_OK)
            free(v);
        if (asps_rpc_decode_occlum_reply(data, size, &s, &eb) == ASPS_OK)
            free(s);
        int st;
        (void)asps_rpc_decode_health_reply(data, size, &st, &eb);
        break;
    }
    case 4: {
        const char *start;
        size_t vlen;
        if (asps_pccs_raw_object_value((const char *)data, size, "tcbInfo", &start, &vlen) &&
            (start < (const char *)data || start + vlen > (const char *)data + size))
            abort(); /* the scanner must stay inside its input */
        break;
    }
    case 6: {
        /* quoted in error messages: bounded, printable, never a hidden
         * string or a Vault token */
        char out[64];
        const char *hide[] = {"SECRET-ID", NULL, "tok"};
        size_t n = asps_vault_error_text((const char *)data, size, hide, 3, out, size % 2 ? sizeof out : 9);
        if (n >= sizeof out || strlen(out) != n || strstr(out, "SECRET-ID") || strstr(out, "hvs."))
            abort();
        for (size_t i = 0; i < n; i++)
            if (out[i] < 0x20 || out[i] > 0x7e)
                abort();
        break;
    }
    default: {
        uint8_t *v;
        size_t n;
        if (asps_vault_parse_value((const char *)data, size, size % 2 ? 1 : 2, "key", "fuzz", &v, &n, &eb) == ASPS_OK) {
            if (n > size) /* decoding never grows a string */
                abort();
            free(v);
        }
    }
    }
    return 0;
}
