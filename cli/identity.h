/* identity.h: the identity flags of the simulated platform, shared by
 * `asps sim quote`, `asps cert new` and `asps get`:
 *   --tee sgx|tdx --mrenclave HEX --mrsigner HEX --isv-prod-id N --isv-svn N
 *   --config-svn N --debug --mrtd HEX --rtmr N=HEX --tcb LEVEL
 *   --report-data HEX (sim quote only; others bind their key there) */
#ifndef ASPS_CLI_IDENTITY_H
#define ASPS_CLI_IDENTITY_H

#include "sim.h"

/* 1 consumed argv[*i] (and its value), 0 not an identity flag, -1 error
 * (printed). allow_report_data: accept --report-data. */
int cli_identity_option(asps_sim_identity *id, int argc, char **argv, int *i, int allow_report_data);

/* The attester a command asked for: KIND ("auto" when NULL) and, for the
 * simulated platform (--attester sim, or --sim DIR with "auto"), SIM_DIR and
 * ID. *out is NULL for a device kind when ONLY_SIM is set (the client
 * library then opens the device itself). */
asps_err cli_attester_new(const char *kind, const char *sim_dir, const asps_sim_identity *id,
                          int only_sim, asps_attester **out, asps_errbuf *eb);

#endif
