/* identity.h: the identity flags of the simulated platform, shared by
 * `asps sim quote`, `asps cert new` and `asps get`:
 *   --tee sgx|tdx --mrenclave HEX --mrsigner HEX --isv-prod-id N --isv-svn N
 *   --config-svn N --debug --mrtd HEX --rtmr N=HEX --tcb LEVEL
 *   --report-data HEX (sim quote only; others bind their key there) */
#ifndef ASPS_CLI_IDENTITY_H
#define ASPS_CLI_IDENTITY_H

#include "asps/sim.h"

/* 1 consumed argv[*i] (and its value), 0 not an identity flag, -1 error
 * (printed). allow_report_data: accept --report-data. */
int cli_identity_option(asps_sim_identity *id, int argc, char **argv, int *i, int allow_report_data);

#endif
