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

asps_err asps_dcap_tcb_status(const asps_tcb_info *t, const asps_pck_ext *x, const asps_quote *q,
                              const asps_tdx_module_identity *mod, const asps_isvsvn_level *qel,
                              asps_claims *out, asps_errbuf *eb)
{
    const asps_tcb_level *sgx = NULL, *tdx = NULL;
    int is_tdx = t->is_tdx && q->tee_type == ASPS_TEE_TDX;
    for (size_t i = 0; i < t->n_levels && !tdx; i++) {
        const asps_tcb_level *l = &t->levels[i];
        if (!sgx_level_matches(l, x))
            continue;
        if (!sgx)
            sgx = l;
        if (!is_tdx)
            break;
        if (tdx_level_matches(l, q->tdx.tee_tcb_svn))
            tdx = l;
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
            /* QVL: first listed level whose ISVSVN the module meets */
            for (size_t i = 0; mod && i < mod->n_levels && !ml; i++)
                if (isvsvn >= mod->levels[i].isvsvn)
                    ml = &mod->levels[i];
            if (!ml)
                return asps_fail(eb, ASPS_E_TCB_NOT_FOUND,
                                 "TCB: TDX module SVN %u matches no level of %s", isvsvn,
                                 mod ? mod->id : "?");
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
    if (st == ASPS_TCB_REVOKED) /* say which level revoked it: the fix differs */
        return asps_fail(eb, ASPS_E_TCB_REVOKED, "TCB: %s is Revoked",
                         matched->status == ASPS_TCB_REVOKED ? "platform TCB level"
                         : module_st == ASPS_TCB_REVOKED     ? "TDX module TCB level"
                                                             : "QE identity TCB level");
    return ASPS_OK;
}
