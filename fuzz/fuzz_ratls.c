/* fuzz_ratls.c: certificate parsing and evidence extraction (PEM or DER,
 * extensions, DICE CBOR) on arbitrary bytes; whatever evidence comes out is
 * handed to the quote parser, as asps_ratls_verify would. The same bytes
 * also go through the CBOR skipper and, as a DICE extension value, through
 * the reader the extractor uses. Seeds: fuzz/corpus/ratls (certificates in
 * every format asps reads, and one DICE extension value). */
#include <stddef.h>
#include <stdint.h>

#include "asps/ratls.h"
#include "cbor.h"
#include "quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asps_ratls_evidence *ev = NULL;
    asps_errbuf eb;
    if (asps_ratls_extract(data, size, &ev, &eb) == ASPS_OK) {
        asps_quote q;
        (void)asps_quote_parse(ev->quote, ev->quote_len, &q, &eb);
        if (ev->quote2)
            (void)asps_quote_parse(ev->quote2, ev->quote2_len, &q, &eb);
        asps_ratls_evidence_free(ev);
    }
    asps_reader r = asps_reader_init(data, size);
    (void)cbor_skip(&r, 0);
    /* DICE layout: tag, array, two byte strings */
    r = asps_reader_init(data, size);
    int m;
    uint64_t a;
    asps_reader s1, s2;
    if (cbor_head(&r, &m, &a) && m == CBOR_TAG && cbor_head(&r, &m, &a) && m == CBOR_ARRAY &&
        cbor_string(&r, CBOR_BYTES, &s1) && cbor_string(&r, CBOR_BYTES, &s2))
        (void)cbor_skip(&s2, 1);
    return 0;
}
