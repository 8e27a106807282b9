/* identity.h: the identity flags of the simulated platform, shared by
 * `asps sim quote`, `asps cert new` and `asps get`:
 *   --tee sgx|tdx --mrenclave HEX --mrsigner HEX --isv-prod-id N --isv-svn N
 *   --config-svn N --debug --mrtd HEX --rtmr N=HEX --tcb LEVEL
 *   --report-data HEX (sim quote only; others bind their key there) */
#ifndef ASPS_CLI_IDENTITY_H
#define ASPS_CLI_IDENTITY_H

#include <getopt.h>

#include "sim.h"

/* getopt_long tables of the identity flags (val CLI_OPT_IDENTITY) and of
 * --report-data (sim quote only; the others bind their key there). */
#define CLI_OPT_IDENTITY 0x100
extern const struct option cli_identity_opts[];
extern const struct option cli_report_data_opts[];

/* Apply identity flag NAME ("--tee") with value V (NULL for --debug).
 * 0 ok; CLI_BAD_VALUE ("asps CMD: ..." printed; cli_parse adds the usage). */
int cli_identity_set(const char *cmd, asps_sim_identity *id, const char *name, const char *v);

/* The attester a command asked for: KIND ("auto" when NULL) and, for the
 * simulated platform (--attester sim, or --sim DIR with "auto"), SIM_DIR and
 * ID. *out is NULL for a device kind when ONLY_SIM is set (the client
 * library then opens the device itself). */
asps_err cli_attester_new(const char *kind, const char *sim_dir, const asps_sim_identity *id,
                          int only_sim, asps_attester **out, asps_errbuf *eb);

#endif
