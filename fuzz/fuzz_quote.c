/* fuzz_quote.c: the quote parser on arbitrary bytes, every body type of a
 * v5 quote, and what is read from a quote without verifying it (the PCK
 * certificate's values, as collateral lookup and `quote show` read them).
 * Seeds: simulated SGX v3/v4/v5 and TDX v4/v5 quotes with every v5 body
 * type (fuzz/corpus/quote, made by `asps sim quote`), and at smoke time the
 * real quotes of ../shared/vectors (fuzz/smoke.sh). Any v5 input is also
 * parsed under each body type 0-4 (with that body's size), so every v5
 * body path runs on it whatever the fuzzer has mutated so far. Each input
 * is also compared with itself and a changed copy as an RA-TLS
 * certificate's second quote is (asps_quote_same_but_binding). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asps/verify.h"
#include "quote.h"

static void parse_and_read(const uint8_t *data, size_t size)
{
    asps_quote q;
    asps_errbuf eb;
    if (asps_quote_parse(data, size, &q, &eb) == ASPS_OK) {
        asps_quote_pck p;
        (void)asps_quote_pck_values(&q, &p, &eb);
        (void)asps_quote_need_pck_chain(&q, &eb);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_and_read(data, size);
    /* the RA-TLS second-quote comparison: the input against itself, and
     * against a copy with its report data and signature region flipped */
    uint8_t rd[64];
    (void)asps_quote_same_but_binding(data, size, data, size, rd);
    if (size > 0 && size <= ASPS_QUOTE_MAX_LEN) {
        uint8_t *o = malloc(size);
        if (o) {
            memcpy(o, data, size);
            for (size_t i = 368; i < size && i < 500; i++)
                o[i] ^= 0x5a;
            (void)asps_quote_same_but_binding(data, size, o, size, rd);
            free(o);
        }
    }
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    asps_errbuf eb;
    (void)asps_quote_platform(data, size, &tee, fmspc, ca, &eb);
    if (size >= 54 && size <= ASPS_QUOTE_MAX_LEN && data[0] == 5 && data[1] == 0) {
        /* a copy of exactly SIZE bytes, so ASan still sees its end */
        uint8_t *c = malloc(size);
        if (!c)
            return 0;
        memcpy(c, data, size);
        static const uint32_t body_size[5] = {0, ASPS_SGX_REPORT_LEN, ASPS_TD10_REPORT_LEN,
                                              ASPS_TD15_REPORT_LEN, ASPS_TD15_REPORT_LEN};
        for (uint8_t t = 0; t <= 4; t++) {
            c[48] = t;
            c[49] = 0;
            for (int i = 0; i < 4; i++)
                c[50 + i] = (uint8_t)(body_size[t] >> (8 * i));
            parse_and_read(c, size);
        }
        free(c);
    }
    return 0;
}
