/* fuzz_policy.c: native policy parsing on arbitrary bytes. A policy that
 * loads must serialise, load again to the same JSON, and decide on claims
 * without crashing. The first byte picks a few claim variations. */
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
    const char *names[3] = {"a", "tls_key", "image_key"};
    for (size_t i = 0; i < asps_policy_app_count(p); i++)
        for (size_t j = 0; j < asps_policy_app_secret_count(p, i) && j < 1; j++)
            names[0] = asps_policy_app_secret_name(p, i, j);
    asps_decision d;
    asps_err e = asps_policy_decide(p, &c, names, 3, &d, &eb);
    if (e == ASPS_OK && !d.allowed)
        abort();
    asps_decision_clear(&d);
    free(json);
    free(json2);
    asps_policy_free(p);
    asps_policy_free(q);
    return 0;
}
