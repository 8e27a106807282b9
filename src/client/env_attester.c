/* env_attester.c: the attester the process environment names
 * (asps/client.h, asps_client_attester_from_env), shared by the client
 * library's users and the Occlum-compatible libraries. The simulated
 * platform is reached only through the attester interface (sim/sim.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "asps/client.h"
#include "asps/evidence.h"
#include "sim.h"
#include "util.h"

static asps_err env_hex(const char *name, uint8_t *out, size_t n, asps_errbuf *eb)
{
    const char *v = getenv(name);
    if (!v)
        return ASPS_OK;
    if (strlen(v) != 2 * n || asps_hex_decode(v, strlen(v), out, n) != 0)
        return asps_fail(eb, ASPS_E_ARG, "%s: want %zu hex digits", name, 2 * n);
    return ASPS_OK;
}

static asps_err env_u16(const char *name, uint16_t *out, asps_errbuf *eb)
{
    const char *v = getenv(name);
    if (!v)
        return ASPS_OK;
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (!v[0] || *end || errno || x > 65535 || v[0] == '-')
        return asps_fail(eb, ASPS_E_ARG, "%s: want 0..65535", name);
    *out = (uint16_t)x;
    return ASPS_OK;
}

asps_err asps_client_attester_from_env(asps_attester **out, asps_errbuf *eb)
{
    *out = NULL;
    const char *k = getenv("ASPS_ATTESTER");
    asps_attester_opts o = {.kind = k && k[0] ? k : "auto"};
    if (strcmp(o.kind, "sim"))
        return asps_attester_new(&o, out, eb);
    const char *dir = getenv("ASPS_SIM_DIR");
    if (!dir || !dir[0])
        return asps_fail(eb, ASPS_E_ARG, "ASPS_ATTESTER=sim needs ASPS_SIM_DIR");
    asps_sim_identity id;
    memset(&id, 0, sizeof id);
    ASPS_TRY(env_hex("ASPS_SIM_MRENCLAVE", id.mr_enclave, 32, eb));
    ASPS_TRY(env_hex("ASPS_SIM_MRSIGNER", id.mr_signer, 32, eb));
    ASPS_TRY(env_u16("ASPS_SIM_ISV_PROD_ID", &id.isv_prod_id, eb));
    ASPS_TRY(env_u16("ASPS_SIM_ISV_SVN", &id.isv_svn, eb));
    ASPS_TRY(env_u16("ASPS_SIM_CONFIG_SVN", &id.config_svn, eb));
    return asps_sim_attester_new(dir, &id, out, eb);
}
