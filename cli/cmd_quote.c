/* cmd_quote.c: `asps quote verify|show`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "quote.h"
#include "util.h"

int asps_cmd_quote(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: asps quote show QUOTE\n");
        return 2;
    }
    uint8_t *buf;
    size_t len;
    asps_errbuf eb;
    if (asps_read_file(argv[2], ASPS_QUOTE_MAX_LEN, &buf, &len, &eb) != ASPS_OK) {
        fprintf(stderr, "asps: %s\n", eb.msg);
        return 2;
    }
    asps_quote q;
    asps_err e = asps_quote_parse(buf, len, &q, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps: %s\n", eb.msg);
        free(buf);
        return 1;
    }
    printf("version %u tee 0x%x\n", q.version, q.tee_type);
    free(buf);
    return 0;
}
