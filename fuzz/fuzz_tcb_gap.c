/* fuzz_tcb_gap.c: the gap (which TCB component is behind) on arbitrary TCB
 * info: the first 34 bytes are the platform (16 CPU SVN components, PCE SVN
 * low byte, 16 TEE_TCB_SVN bytes, QE ISVSVN), the rest the TCB info body;
 * the component names the parse took are put by asps_dcap_gap_names.
 * Every shortfall must be short (have < need)
 * and within the bounds of the claims. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcap_parse.h"
#include "dcap_tcb.h"
#include "quote.h"

#define HEAD 34

static void check(const asps_tcb_gap *g)
{
    if (g->n_shortfalls > ASPS_MAX_SHORTFALLS || g->n_cleared > ASPS_MAX_ADVISORIES)
        abort();
    for (size_t i = 0; i < g->n_shortfalls; i++)
        if (g->shortfalls[i].have >= g->shortfalls[i].need ||
            !memchr(g->shortfalls[i].component, 0, sizeof g->shortfalls[i].component))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEAD)
        return 0;
    asps_errbuf eb;
    const char *json = (const char *)data + HEAD;
    size_t len = size - HEAD;

    asps_tcb_gap *g = calloc(1, sizeof *g);
    asps_claims *c = calloc(1, sizeof *c);
    asps_quote *q = calloc(1, sizeof *q);
    if (!g || !c || !q)
        goto out;
    for (int i = 0; i < 16; i++) {
        snprintf(g->shortfalls[g->n_shortfalls].component, 64, "sgxtcbcomponent %d", i);
        g->shortfalls[g->n_shortfalls].have = 0;
        g->shortfalls[g->n_shortfalls++].need = 1;
        snprintf(g->shortfalls[g->n_shortfalls].component, 64, "tdxtcbcomponent %d (TEE_TCB_SVN byte %d)", i, i);
        g->shortfalls[g->n_shortfalls].have = 0;
        g->shortfalls[g->n_shortfalls++].need = 1;
    }
    asps_tcb_info t;
    if (asps_dcap_parse_tcb_info(json, len, &t, &eb) != ASPS_OK)
        goto out;
    asps_dcap_gap_names(g, &t);
    check(g);
    asps_pck_ext x;
    memset(&x, 0, sizeof x);
    memcpy(x.cpusvn_comp, data, 16);
    x.pcesvn = data[16];
    q->tee_type = t.is_tdx ? ASPS_TEE_TDX : ASPS_TEE_SGX;
    memcpy(q->tdx.tee_tcb_svn, data + 17, 16);
    const asps_tdx_module_identity *mod = NULL;
    for (size_t i = 0; t.is_tdx && q->tdx.tee_tcb_svn[1] > 0 && i < t.n_mod_ids && !mod; i++)
        mod = &t.mod_ids[i]; /* any identity: the levels are what is read */
    asps_isvsvn_level qel = {.isvsvn = 0, .status = ASPS_TCB_UP_TO_DATE};
    asps_err e = asps_dcap_tcb_status(&t, &x, q, mod, &qel, c, &eb);
    if (e == ASPS_OK || e == ASPS_E_TCB_REVOKED) {
        check(&c->gap);
        asps_dcap_gap_names(&c->gap, &t);
        check(&c->gap);
    }
    asps_dcap_tcb_info_clear(&t);
out:
    free(g);
    free(c);
    free(q);
    return 0;
}
