/* source.c: the one collateral source (source.h): bundle, simulated folder
 * or PCCS, picked per quote. Owns the bundles it read and the PCCS client. */
#include "source.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/verify.h"
#include "metrics.h"
#include "pccs.h"
#include "quote.h"
#include "util.h"

struct asps_collateral_source {
    asps_collateral *bundle;
    asps_collateral *sim[2]; /* [0] SGX, [1] TDX */
    asps_pccs *pccs;
    /* the files' platforms and earliest nextUpdate (0: unreadable) */
    struct file_dates {
        asps_tee tee;
        uint8_t fmspc[6];
        int64_t next_update;
    } files[2];
    size_t n_files;
};

/* An FMSPC as Intel writes it in TCB info ("00906ED50000"). */
static void fmspc_hex(const uint8_t fmspc[6], char out[13])
{
    asps_hex_encode(fmspc, 6, out);
    for (char *p = out; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
}

static asps_metric *m_next_update;
static void metrics_init(void)
{
    m_next_update = asps_metrics_countdown(
        "asps_collateral_next_update_seconds",
        "Seconds until the earliest nextUpdate of the collateral held for a platform (TCB info, QE "
        "identity, PCK CRL, root CA CRL); negative once passed.",
        ASPS_LABELS("tee", "fmspc"));
}

void asps_collateral_metric_next_update(asps_tee tee, const uint8_t fmspc[6], int64_t next_update)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, metrics_init);
    char fm[13];
    fmspc_hex(fmspc, fm);
    const char *const *lv = ASPS_LABELS(tee == ASPS_TEE_TDX ? "tdx" : "sgx", fm);
    if (next_update)
        asps_metric_set(m_next_update, lv, (double)next_update);
    else
        asps_metric_remove(m_next_update, lv);
}

/* Note what a collateral file holds, for the gauge and readiness. */
static void note_file(asps_collateral_source *s, const asps_collateral *c)
{
    asps_errbuf ign;
    if (s->n_files == 2)
        return;
    struct file_dates *f = &s->files[s->n_files++];
    if (asps_collateral_expiry(c, &f->tee, f->fmspc, &f->next_update, &ign) != ASPS_OK) {
        f->next_update = 0;
        return;
    }
    asps_collateral_metric_next_update(f->tee, f->fmspc, f->next_update);
}

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
        if (e == ASPS_OK)
            note_file(s, s->bundle);
    } else if (o->sim_dir) {
        e = load_sim(s, o->sim_dir, eb);
        for (int i = 0; i < 2 && e == ASPS_OK; i++)
            note_file(s, s->sim[i]);
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

int asps_collateral_source_ready(asps_collateral_source *s, int64_t now, char *why, size_t n)
{
    for (size_t i = 0; i < s->n_files; i++) {
        char fm[13];
        fmspc_hex(s->files[i].fmspc, fm);
        if (s->files[i].next_update == 0) {
            snprintf(why, n, "collateral: a date in the collateral file does not read");
            return 0;
        }
        if (s->files[i].next_update <= now) {
            snprintf(why, n, "collateral expired: %s FMSPC %s, nextUpdate %lld s ago",
                     s->files[i].tee == ASPS_TEE_TDX ? "tdx" : "sgx", fm,
                     (long long)(now - s->files[i].next_update));
            return 0;
        }
    }
    if (s->pccs && !asps_pccs_ready(s->pccs, now)) {
        snprintf(why, n, "collateral: the PCCS's last fetch failed and no cached collateral is fresh");
        return 0;
    }
    return 1;
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
