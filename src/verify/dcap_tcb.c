/* dcap_tcb.c: QVL's TCB rules, the last steps of a DCAP verification
 * (dcap.c calls them in QVL's order): the TDX module's identity, the QE
 * identity's TCB level, the platform's TCB level (SGX; TDX with its module
 * level and TD relaunch) and the convergence of the three into one status,
 * with the matched levels' dates and advisory IDs. Pure functions of the
 * parsed quote, PCK extensions, TCB info and QE identity: nothing here
 * checks a signature or a time. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "dcap_tcb.h"

/* A matched level's advisory IDs as listed, in Intel's order: QvE copies
 * the list as it is (qve.cpp, qve_set_quote_supplemental_data: sa_list from
 * getMatchingTcbLevel(...).getAdvisoryIDs()), whatever the level's status,
 * UpToDate included. The parser bounds a level's list to the claims' size. */
static void copy_adv(size_t *n, char ids[][ASPS_ADVISORY_LEN], const asps_advisories *a)
{
    *n = 0;
    for (size_t i = 0; i < a->n && i < ASPS_MAX_ADVISORIES; i++)
        snprintf(ids[(*n)++], ASPS_ADVISORY_LEN, "%s", a->id[i]);
}

/* QE identity TCB level for an ISVSVN: as QVL's EnclaveIdentityV2::
 * getTcbStatus, the first level in the listed order whose ISVSVN the QE
 * meets (Intel lists them highest first). */
const asps_isvsvn_level *asps_dcap_qe_level(const asps_qe_identity *qe, uint16_t isvsvn)
{
    for (size_t i = 0; i < qe->n_levels; i++)
        if (qe->levels[i].isvsvn <= isvsvn)
            return &qe->levels[i];
    return NULL;
}

/* QVL's EnclaveReportVerifier: a QE level other than UpToDate or Revoked
 * counts as ISVSVN_OUT_OF_DATE when statuses converge. */
static asps_tcb_status qe_effective_status(asps_tcb_status s)
{
    return s == ASPS_TCB_UP_TO_DATE || s == ASPS_TCB_REVOKED ? s : ASPS_TCB_OUT_OF_DATE;
}

/* QVL convergeTcbStatusWithQeTcbStatus / ...WithTdxModuleStatus: an
 * out-of-date component downgrades UpToDate/SWHardeningNeeded to OutOfDate
 * and the Configuration* statuses to OutOfDateConfigurationNeeded; a revoked
 * one revokes. */
static asps_tcb_status converge(asps_tcb_status platform, asps_tcb_status other)
{
    if (other == ASPS_TCB_OUT_OF_DATE) {
        if (platform == ASPS_TCB_UP_TO_DATE || platform == ASPS_TCB_SW_HARDENING_NEEDED)
            return ASPS_TCB_OUT_OF_DATE;
        if (platform == ASPS_TCB_CONFIGURATION_NEEDED ||
            platform == ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
            return ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    if (other == ASPS_TCB_REVOKED)
        return ASPS_TCB_REVOKED;
    return platform;
}

static const asps_tdx_module_identity *find_module(const asps_tcb_info *t, uint8_t version)
{
    char want[16];
    snprintf(want, sizeof want, "TDX_%02X", version);
    for (size_t i = 0; i < t->n_mod_ids; i++) {
        char id[16];
        size_t k = 0;
        for (; t->mod_ids[i].id[k] && k < sizeof id - 1; k++) {
            char ch = t->mod_ids[i].id[k];
            id[k] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
        }
        id[k] = 0;
        if (!strcmp(id, want))
            return &t->mod_ids[i];
    }
    return NULL;
}

/* QVL 4.1.2.4.11: TDX module signer and SEAM attributes. */
asps_err asps_dcap_check_tdx_module(const asps_tcb_info *t, const asps_quote *q,
                                   const asps_tdx_module_identity **mod, asps_errbuf *eb)
{
    const uint8_t *mrsigner = t->mod_mrsigner, *attr = t->mod_attributes;
    uint8_t version = q->tdx.tee_tcb_svn[1];
    *mod = NULL;
    if (version > 0) {
        *mod = find_module(t, version);
        if (!*mod)
            return asps_fail(eb, ASPS_E_TDX_MODULE, "TDX module: no identity TDX_%02X in TCB info",
                             version);
        mrsigner = (*mod)->mrsigner;
        attr = (*mod)->attributes;
    }
    if (CRYPTO_memcmp(mrsigner, q->tdx.mr_signer_seam, 48) != 0)
        return asps_fail(eb, ASPS_E_TDX_MODULE, "TDX module: MRSIGNERSEAM does not match TCB info");
    for (int i = 0; i < 8; i++)
        if (q->tdx.seam_attributes[i] != 0 || q->tdx.seam_attributes[i] != attr[i])
            return asps_fail(eb, ASPS_E_TDX_MODULE,
                             "TDX module: SEAMATTRIBUTES not zero or not as in TCB info");
    return ASPS_OK;
}

static int sgx_level_matches(const asps_tcb_level *l, const asps_pck_ext *x)
{
    for (int i = 0; i < 16; i++)
        if (x->cpusvn_comp[i] < l->sgx_comp[i])
            return 0;
    return x->pcesvn >= l->pcesvn;
}

static int tdx_level_matches(const asps_tcb_level *l, const uint8_t tee_tcb_svn[16])
{
    /* with a TDX module version (byte 1) the first two bytes are the module
     * SVN and version, judged by the module identity instead */
    for (int i = tee_tcb_svn[1] > 0 ? 2 : 0; i < 16; i++)
        if (tee_tcb_svn[i] < l->tdx_comp[i])
            return 0;
    return 1;
}

static int configuration_needed(asps_tcb_status s)
{
    return s == ASPS_TCB_CONFIGURATION_NEEDED || s == ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED ||
           s == ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
           s == ASPS_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/* QVL's checkForRelaunch (TD report 1.5): a TD whose platform is up to date
 * but whose running TDX module is out of date, while TEE_TCB_SVN2 shows the
 * update already installed, is told to relaunch instead of OutOfDate. */
static asps_err relaunch(const asps_tcb_info *t, const asps_quote *q, asps_tcb_status sgx_st,
                         asps_tcb_status module_st, asps_tcb_status qe_st, asps_tcb_status *st,
                         asps_errbuf *eb)
{
    const uint8_t *svn2 = q->tdx.tee_tcb_svn2;
    if (qe_st != ASPS_TCB_UP_TO_DATE)
        return ASPS_OK;
    if (sgx_st != ASPS_TCB_UP_TO_DATE && sgx_st != ASPS_TCB_SW_HARDENING_NEEDED &&
        sgx_st != ASPS_TCB_CONFIGURATION_NEEDED && sgx_st != ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
        return ASPS_OK;
    if ((*st != ASPS_TCB_OUT_OF_DATE && *st != ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) ||
        module_st != ASPS_TCB_OUT_OF_DATE)
        return ASPS_OK;
    const asps_tcb_level *latest = &t->levels[0]; /* highest, as QVL's set orders them */
    int relaunch_ok;
    if (svn2[1] == 0) {
        relaunch_ok = svn2[0] >= latest->tdx_comp[0] && svn2[2] >= latest->tdx_comp[2];
    } else {
        const asps_tdx_module_identity *m2 = find_module(t, svn2[1]);
        if (!m2)
            return asps_fail(eb, ASPS_E_TDX_MODULE, "TDX module: no identity TDX_%02X for TEE_TCB_SVN2",
                             svn2[1]);
        if (m2->n_levels == 0)
            return asps_fail(eb, ASPS_E_TCB_NOT_FOUND, "TDX module %s has no TCB levels", m2->id);
        relaunch_ok = svn2[0] >= m2->levels[0].isvsvn && svn2[2] >= latest->tdx_comp[2];
    }
    if (relaunch_ok)
        *st = configuration_needed(sgx_st) || configuration_needed(*st)
                  ? ASPS_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
                  : ASPS_TCB_TD_RELAUNCH_ADVISED;
    return ASPS_OK;
}


/* ---- the gap: what moving up one level takes (issue 16) ----------------- */

static void add_shortfall(asps_tcb_gap *g, const char *component, unsigned have, unsigned need)
{
    if (g->n_shortfalls >= ASPS_MAX_SHORTFALLS)
        return;
    asps_tcb_shortfall *s = &g->shortfalls[g->n_shortfalls++];
    snprintf(s->component, sizeof s->component, "%s", component);
    s->have = (uint16_t)have;
    s->need = (uint16_t)need;
}

static int has_advisory(const asps_advisories *a, const char *id)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->id[i], id))
            return 1;
    return 0;
}

/* The platform part: NEXT is the level just above MATCHED in the sorted
 * order (highest first, as QVL sorts them and matches the first one
 * reached), so NEXT is the lowest level the platform does not reach and
 * every SVN below NEXT's is named. Bytes 0-1 of TEE_TCB_SVN are the TDX
 * module's when its version byte is set (judged by the module identity,
 * as the matching skips them). */
static void platform_gap(const asps_tcb_level *matched, const asps_tcb_level *next,
                         const asps_pck_ext *x, const asps_quote *q, int is_tdx, asps_tcb_gap *g)
{
    char name[64];
    g->present = 1;
    g->next_status = next->status;
    g->next_tcb_date = next->tcb_date;
    for (int i = 0; i < 16; i++)
        if (x->cpusvn_comp[i] < next->sgx_comp[i]) {
            snprintf(name, sizeof name, "sgxtcbcomponent %d", i);
            add_shortfall(g, name, x->cpusvn_comp[i], next->sgx_comp[i]);
        }
    if (x->pcesvn < next->pcesvn)
        add_shortfall(g, "pcesvn", x->pcesvn, next->pcesvn);
    if (is_tdx)
        for (int i = q->tdx.tee_tcb_svn[1] > 0 ? 2 : 0; i < 16; i++)
            if (q->tdx.tee_tcb_svn[i] < next->tdx_comp[i]) {
                snprintf(name, sizeof name, "tdxtcbcomponent %d (TEE_TCB_SVN byte %d)", i, i);
                add_shortfall(g, name, q->tdx.tee_tcb_svn[i], next->tdx_comp[i]);
            }
    g->n_cleared = 0;
    for (size_t i = 0; i < matched->adv.n && g->n_cleared < ASPS_MAX_ADVISORIES; i++)
        if (!has_advisory(&next->adv, matched->adv.id[i]))
            snprintf(g->cleared_advisory_ids[g->n_cleared++], ASPS_ADVISORY_LEN, "%s",
                     matched->adv.id[i]);
}

/* A is at or above B in every SVN (sgxtcbcomponents, pcesvn and, for TDX,
 * the tdxtcbcomponents the matching reads). */
static int level_dominates(const asps_tcb_level *a, const asps_tcb_level *b, int is_tdx, int first_tdx)
{
    for (int i = 0; i < 16; i++)
        if (a->sgx_comp[i] < b->sgx_comp[i])
            return 0;
    if (a->pcesvn < b->pcesvn)
        return 0;
    for (int i = first_tdx; is_tdx && i < 16; i++)
        if (a->tdx_comp[i] < b->tdx_comp[i])
            return 0;
    return 1;
}

/* The next level up from the matched one (index M > 0, levels highest
 * first): the nearest level listed before it that is at or above it in
 * every SVN, the level the platform reaches by raising the SVNs it is
 * short of. Intel lists each TCB date's levels in pairs that differ in a
 * configuration component (e.g. sgxtcbcomponent 6 1 then 0:
 * SWHardeningNeeded, then ConfigurationAndSWHardeningNeeded), so the level
 * listed just before a "1" level is often the "0" variant of the date
 * above, which raising SVNs never reaches; that one only when no level
 * above dominates. */
static const asps_tcb_level *next_level_up(const asps_tcb_info *t, size_t m, const asps_quote *q,
                                           int is_tdx)
{
    int first_tdx = is_tdx && q->tdx.tee_tcb_svn[1] > 0 ? 2 : 0;
    for (size_t i = m; i-- > 0;)
        if (level_dominates(&t->levels[i], &t->levels[m], is_tdx, first_tdx))
            return &t->levels[i];
    return &t->levels[m - 1];
}

/* An ISVSVN level list (TDX module identity, QE identity), highest first:
 * the level just above the one at index I, when the SVN is below it. */
static void isvsvn_gap(const asps_isvsvn_level *levels, size_t i, uint16_t isvsvn,
                       const char *component, asps_tcb_gap *g)
{
    if (i == 0 || levels[i - 1].isvsvn <= isvsvn)
        return;
    if (!g->present) { /* the platform level is the top: the status is this level's */
        g->present = 1;
        g->next_status = levels[i - 1].status;
    }
    add_shortfall(g, component, isvsvn, levels[i - 1].isvsvn);
}

void asps_dcap_qe_gap(const asps_qe_identity *qe, uint16_t isvsvn, asps_tcb_gap *gap)
{
    for (size_t i = 0; i < gap->n_shortfalls; i++)
        if (!strcmp(gap->shortfalls[i].component, "qe isvsvn"))
            return; /* already added */
    for (size_t i = 0; i < qe->n_levels; i++)
        if (qe->levels[i].isvsvn <= isvsvn) {
            isvsvn_gap(qe->levels, i, isvsvn, "qe isvsvn", gap);
            return;
        }
}

void asps_dcap_gap_names(asps_tcb_gap *gap, const asps_tcb_info *t)
{
    for (size_t i = 0; i < gap->n_shortfalls; i++) {
        asps_tcb_shortfall *s = &gap->shortfalls[i];
        int idx = -1, tdx = 0;
        if (sscanf(s->component, "sgxtcbcomponent %d", &idx) != 1 &&
            (tdx = 1, sscanf(s->component, "tdxtcbcomponent %d", &idx)) != 1)
            continue;
        /* named already, other than by TEE_TCB_SVN byte (the default) */
        if (idx < 0 || idx > 15 || (strchr(s->component, '(') && !strstr(s->component, "(TEE_TCB_SVN")))
            continue;
        const char *name = tdx ? t->tdx_names[idx] : t->sgx_names[idx];
        if (!name[0])
            continue;
        char full[sizeof s->component];
        snprintf(full, sizeof full, "%s %d (%.*s)", tdx ? "tdxtcbcomponent" : "sgxtcbcomponent",
                 idx, (int)(sizeof full - 22), name);
        memcpy(s->component, full, sizeof full);
    }
}

long asps_dcap_matched_level(const asps_tcb_info *t, const asps_pck_ext *x, const asps_quote *q)
{
    int is_tdx = t->is_tdx && q->tee_type == ASPS_TEE_TDX;
    for (size_t i = 0; i < t->n_levels; i++)
        if (sgx_level_matches(&t->levels[i], x) &&
            (!is_tdx || tdx_level_matches(&t->levels[i], q->tdx.tee_tcb_svn)))
            return (long)i;
    return -1;
}

asps_err asps_dcap_tcb_status(const asps_tcb_info *t, const asps_pck_ext *x, const asps_quote *q,
                              const asps_tdx_module_identity *mod, const asps_isvsvn_level *qel,
                              asps_claims *out, asps_errbuf *eb)
{
    const asps_tcb_level *sgx = NULL, *tdx = NULL;
    size_t sgx_i = 0, tdx_i = 0, module_level = 0;
    const asps_isvsvn_level *module_levels = NULL;
    int is_tdx = t->is_tdx && q->tee_type == ASPS_TEE_TDX;
    for (size_t i = 0; i < t->n_levels && !tdx; i++) {
        const asps_tcb_level *l = &t->levels[i];
        if (!sgx_level_matches(l, x))
            continue;
        if (!sgx) {
            sgx = l;
            sgx_i = i;
        }
        if (!is_tdx)
            break;
        if (tdx_level_matches(l, q->tdx.tee_tcb_svn)) {
            tdx = l;
            tdx_i = i;
        }
    }
    if (!sgx)
        return asps_fail(eb, ASPS_E_TCB_NOT_FOUND,
                         "TCB: no TCB level matches the platform's CPU SVN and PCE SVN");
    asps_tcb_status st = sgx->status;
    asps_tcb_status module_st = ASPS_TCB_UP_TO_DATE; /* module version 0: no module level */
    /* The platform level QvE reports (getMatchingTcbLevel): for SGX the
     * first level the PCK certificate's SVNs reach, for TDX the first one
     * the TEE TCB SVN reaches too. */
    const asps_tcb_level *matched = sgx;
    if (is_tdx) {
        if (!tdx)
            return asps_fail(eb, ASPS_E_TCB_NOT_FOUND, "TCB: no TDX TCB level matches TEE_TCB_SVN");
        matched = tdx;
        st = tdx->status;
        uint8_t version = q->tdx.tee_tcb_svn[1], isvsvn = q->tdx.tee_tcb_svn[0];
        if (version > 0) {
            const asps_isvsvn_level *ml = NULL;
            size_t mi = 0;
            /* QVL: first listed level whose ISVSVN the module meets */
            for (size_t i = 0; mod && i < mod->n_levels && !ml; i++)
                if (isvsvn >= mod->levels[i].isvsvn) {
                    ml = &mod->levels[i];
                    mi = i;
                }
            if (!ml)
                return asps_fail(eb, ASPS_E_TCB_NOT_FOUND,
                                 "TCB: TDX module SVN %u matches no level of %s", isvsvn,
                                 mod ? mod->id : "?");
            module_level = mi;
            module_levels = mod->levels;
            st = converge(st, ml->status);
            copy_adv(&out->n_tdx_module_advisories, out->tdx_module_advisory_ids, &ml->adv);
            module_st = ml->status;
        }
        if (st != ASPS_TCB_REVOKED && q->tdx.has_v15) {
            asps_err e = relaunch(t, q, sgx->status, module_st, qe_effective_status(qel->status), &st, eb);
            if (e != ASPS_OK)
                return e;
        }
    }
    st = converge(st, qe_effective_status(qel->status));
    copy_adv(&out->n_advisories, out->advisory_ids, &matched->adv);
    copy_adv(&out->n_qe_advisories, out->qe_advisory_ids, &qel->adv);
    out->tcb_date = matched->tcb_date;
    out->qe_tcb_date = qel->tcb_date;
    out->tcb_status = st;
    /* what moving up one level takes: the platform level, then the TDX
     * module's (the QE's: asps_dcap_qe_gap, which needs the QE identity) */
    memset(&out->gap, 0, sizeof out->gap);
    size_t mi_platform = is_tdx ? tdx_i : sgx_i;
    if (mi_platform > 0)
        platform_gap(matched, next_level_up(t, mi_platform, q, is_tdx), x, q, is_tdx, &out->gap);
    if (module_levels)
        isvsvn_gap(module_levels, module_level, q->tdx.tee_tcb_svn[0], "tdx module isvsvn",
                   &out->gap);
    if (st == ASPS_TCB_REVOKED) /* say which level revoked it: the fix differs */
        return asps_fail(eb, ASPS_E_TCB_REVOKED, "TCB: %s is Revoked",
                         matched->status == ASPS_TCB_REVOKED ? "platform TCB level"
                         : module_st == ASPS_TCB_REVOKED     ? "TDX module TCB level"
                                                             : "QE identity TCB level");
    return ASPS_OK;
}
