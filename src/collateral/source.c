/* source.c: the one collateral source (source.h): bundle, simulated folder
 * or PCCS, picked per quote. Owns the bundles it read and the PCCS client. */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "asps/verify.h"
#include "pccs.h"
#include "quote.h"

struct asps_collateral_source {
    asps_collateral *bundle;
    asps_collateral *sim[2]; /* [0] SGX, [1] TDX */
    asps_pccs *pccs;
};

void asps_collateral_source_free(asps_collateral_source *s)
{
    if (!s)
        return;
    asps_collateral_free(s->bundle);
    asps_collateral_free(s->sim[0]);
    asps_collateral_free(s->sim[1]);
    asps_pccs_free(s->pccs);
    free(s);
}

static asps_err load_sim(asps_collateral_source *s, const char *dir, asps_errbuf *eb)
{
    static const char *const names[2] = {"collateral_sgx.json", "collateral_tdx.json"};
    for (int i = 0; i < 2; i++) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path)
            return asps_fail(eb, ASPS_E_ARG, "simulated folder path too long");
        ASPS_TRY(asps_collateral_load_file(path, &s->sim[i], eb));
    }
    return ASPS_OK;
}

asps_err asps_collateral_source_new(const asps_collateral_source_opts *o,
                                    asps_collateral_source **out, asps_errbuf *eb)
{
    *out = NULL;
    asps_collateral_source *s = calloc(1, sizeof *s);
    if (!s)
        return asps_fail(eb, ASPS_E_NOMEM, "collateral: out of memory");
    /* only the kind that serves is read: the others would never be asked */
    asps_err e = ASPS_OK;
    if (o->bundle) {
        e = asps_collateral_load_file(o->bundle, &s->bundle, eb);
    } else if (o->sim_dir) {
        e = load_sim(s, o->sim_dir, eb);
    } else if (o->pccs_url) {
        asps_pccs_opts po = {.ca_file = o->pccs_ca};
        e = asps_pccs_new(o->pccs_url, &po, &s->pccs, eb);
    }
    if (e != ASPS_OK) {
        asps_err_prefix(eb, "collateral: ");
        asps_collateral_source_free(s);
        return e;
    }
    *out = s;
    return ASPS_OK;
}

int asps_collateral_source_empty(const asps_collateral_source *s)
{
    return !s->bundle && !s->sim[0] && !s->pccs;
}

asps_err asps_collateral_source_get(void *ctx, const uint8_t *quote, size_t len,
                                    const asps_collateral **col, int *owned, asps_errbuf *eb)
{
    asps_collateral_source *s = ctx;
    *col = NULL;
    *owned = 0;
    if (s->bundle) {
        *col = s->bundle;
        return ASPS_OK;
    }
    if (s->sim[0]) {
        /* one bundle per TEE: the quote header says which (no PCK
         * certificate needs decoding for that) */
        asps_quote q;
        ASPS_TRY(asps_quote_parse(quote, len, &q, eb));
        *col = s->sim[q.tee_type == ASPS_TEE_TDX];
        return ASPS_OK;
    }
    if (!s->pccs)
        return asps_fail(eb, ASPS_E_UNAVAILABLE,
                         ASPS_COLLATERAL_ERR_PREFIX "no collateral source configured");
    asps_tee tee;
    uint8_t fmspc[6];
    char ca[16];
    ASPS_TRY(asps_quote_platform(quote, len, &tee, fmspc, ca, eb));
    asps_collateral *c;
    asps_err e = asps_pccs_get_collateral(s->pccs, tee, fmspc, ca, (int64_t)time(NULL), &c, eb);
    if (e != ASPS_OK) {
        /* whatever went wrong (down, an error, a reply too large or
         * malformed) is the PCCS's, not the peer's: retry later */
        asps_err_prefix(eb, ASPS_COLLATERAL_ERR_PREFIX);
        return e == ASPS_E_NOMEM ? e : ASPS_E_UNAVAILABLE;
    }
    *col = c;
    *owned = 1;
    return ASPS_OK;
}
