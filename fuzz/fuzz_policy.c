/* fuzz_policy.c: native policy parsing on arbitrary bytes. A policy that
 * loads must serialise, load again to the same JSON, and decide on claims
 * without crashing. The first byte picks a few claim variations, the
 * second the TCB recovery ones (demotion date, stale collateral, tcbDate,
 * evaluation data number) and the decision time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asps_policy *p = NULL;
    asps_errbuf eb;
    if (asps_policy_parse((const char *)data, size, "fuzz", &p, &eb) != ASPS_OK)
        return 0;
    char *json = NULL;
    if (asps_policy_to_json(p, &json, &eb) != ASPS_OK)
        abort();
    asps_policy *q = NULL;
    if (asps_policy_parse(json, strlen(json), "fuzz2", &q, &eb) != ASPS_OK)
        abort();
    char *json2 = NULL;
    if (asps_policy_to_json(q, &json2, &eb) != ASPS_OK || strcmp(json, json2) != 0)
        abort();
    asps_claims c;
    memset(&c, 0, sizeof c);
    uint8_t sel = size ? data[0] : 0;
    c.tee = (sel & 1) ? ASPS_TEE_TDX : ASPS_TEE_SGX;
    c.debug = (sel >> 1) & 1;
    c.simulated = (sel >> 2) & 1;
    c.tcb_status = (asps_tcb_status)((sel >> 3) % ASPS_TCB__COUNT);
    c.n_advisories = 1;
    memcpy(c.advisory_ids[0], "INTEL-SA-00615", 15);
    uint8_t rec = size > 1 ? data[1] : 0;
    int64_t day = 86400, base = 1798761600; /* 2027-01-01 */
    c.demoted_at = (rec & 1) ? base : 0;
    c.collateral_stale = (rec >> 1) & 1;
    c.collateral_stale_seconds = c.collateral_stale ? 3600 : 0;
    c.tcb_date = (rec & 4) ? base - 400 * day : 0;
    c.tcb_info_evaluation_data_number = (rec >> 3) & 31;
    int64_t at = base + (int64_t)(rec >> 5) * 1000 * day - 2000 * day;
    const char *names[3] = {"a", "tls_key", "image_key"};
    for (size_t i = 0; i < asps_policy_app_count(p); i++)
        for (size_t j = 0; j < asps_policy_app_secret_count(p, i) && j < 1; j++)
            names[0] = asps_policy_app_secret_name(p, i, j);
    asps_decision d;
    asps_err e = asps_policy_decide_at(p, &c, names, 3, at, &d, &eb);
    if (e == ASPS_OK && !d.allowed)
        abort();
    /* grace only on an accepted demotion, and only with time left */
    if (d.grace && (c.demoted_at == 0 || d.grace_left_seconds <= 0 ||
                    d.grace_until != at + d.grace_left_seconds))
        abort();
    asps_decision_clear(&d);
    free(json);
    free(json2);
    asps_policy_free(p);
    asps_policy_free(q);
    return 0;
}
