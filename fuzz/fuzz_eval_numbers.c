/* fuzz_eval_numbers.c: the TCB evaluation data numbers parser, and a
 * collateral bundle's optional TCB recovery parts read back for
 * asps_collateral_info_get, on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asps/collateral.h"
#include "dcap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asps_errbuf eb;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    asps_tcb_eval_numbers *l = malloc(sizeof *l);
    if (l && asps_dcap_parse_eval_numbers(s, size, l, &eb) == ASPS_OK) {
        for (size_t i = 0; i < l->n; i++)
            (void)asps_dcap_eval_number_find(l, l->items[i].number);
        (void)asps_dcap_add_months(l->items[0].tcb_recovery_event_date, 12);
    }
    free(l);
    /* the same bytes as a bundle: when it parses, its info and its
     * serialisation must not fault either */
    asps_collateral *c = NULL;
    if (asps_collateral_parse_bundle(data, size, &c, &eb) == ASPS_OK) {
        asps_collateral_info *info = malloc(sizeof *info);
        if (info)
            (void)asps_collateral_info_get(c, info, &eb);
        free(info);
        char *b = NULL;
        if (asps_collateral_to_bundle(c, &b, &eb) == ASPS_OK)
            free(b);
        asps_collateral_free(c);
    }
    free(s);
    return 0;
}
