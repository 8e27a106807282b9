/* fuzz_quote.c: the quote parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "asps/verify.h"
#include "quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asps_quote q;
    asps_errbuf eb;
    (void)asps_quote_parse(data, size, &q, &eb);
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    (void)asps_quote_platform(data, size, &tee, fmspc, ca, &eb);
    return 0;
}
