/* claims.c: TCB status names and claim accessors. */
#include "asps/claims.h"

#include <string.h>

static const char *const status_names[ASPS_TCB__COUNT] = {
    [ASPS_TCB_UP_TO_DATE] = "UpToDate",
    [ASPS_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
    [ASPS_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
    [ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
    [ASPS_TCB_OUT_OF_DATE] = "OutOfDate",
    [ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
    [ASPS_TCB_REVOKED] = "Revoked",
    [ASPS_TCB_TD_RELAUNCH_ADVISED] = "TDRelaunchAdvised",
    [ASPS_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED] = "TDRelaunchAdvisedConfigurationNeeded",
};

const char *asps_tcb_status_name(asps_tcb_status s)
{
    if ((unsigned)s >= ASPS_TCB__COUNT)
        return "Unknown";
    return status_names[s];
}

int asps_tcb_status_parse(const char *s, asps_tcb_status *out)
{
    for (int i = 0; i < ASPS_TCB__COUNT; i++)
        if (s && strcmp(s, status_names[i]) == 0) {
            *out = (asps_tcb_status)i;
            return 0;
        }
    return -1;
}

const uint8_t *asps_claims_report_data(const asps_claims *c)
{
    return c->tee == ASPS_TEE_TDX ? c->tdx.report_data : c->sgx.report_data;
}

int asps_tcb_status_rank(asps_tcb_status s)
{
    switch (s) {
    case ASPS_TCB_UP_TO_DATE: return 0;
    case ASPS_TCB_SW_HARDENING_NEEDED: return 1;
    case ASPS_TCB_CONFIGURATION_NEEDED: return 2;
    case ASPS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED: return 3;
    case ASPS_TCB_TD_RELAUNCH_ADVISED: return 4;
    case ASPS_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED: return 5;
    case ASPS_TCB_OUT_OF_DATE: return 6;
    case ASPS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED: return 7;
    default: return 8; /* Revoked and anything unknown: the worst */
    }
}
