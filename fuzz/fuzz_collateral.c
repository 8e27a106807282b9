/* fuzz_collateral.c: the collateral bundle parser, the TCB info and QE
 * identity parsers, and the PCK extension parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asps/collateral.h"
#include "dcap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asps_errbuf eb;
    asps_collateral *c = NULL;
    if (asps_collateral_parse_bundle(data, size, &c, &eb) == ASPS_OK)
        asps_collateral_free(c);
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    asps_tcb_info t;
    if (asps_dcap_parse_tcb_info(s, size, &t, &eb) == ASPS_OK)
        asps_dcap_tcb_info_clear(&t);
    asps_qe_identity q;
    if (asps_dcap_parse_qe_identity(s, size, &q, &eb) == ASPS_OK)
        asps_dcap_qe_identity_clear(&q);
    asps_pck_ext x;
    (void)asps_dcap_parse_pck_ext(data, size, &x, &eb);
    free(s);
    return 0;
}
