/* fuzz_ratls.c: certificate parsing and evidence extraction (PEM or DER,
 * extensions, DICE CBOR) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "asps/ratls.h"
#include "cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asps_ratls_evidence *ev = NULL;
    asps_errbuf eb;
    if (asps_ratls_extract(data, size, &ev, &eb) == ASPS_OK)
        asps_ratls_evidence_free(ev);
    asps_reader r = asps_reader_init(data, size);
    (void)cbor_skip(&r, 0);
    return 0;
}
