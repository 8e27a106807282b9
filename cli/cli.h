/* cli.h: the subcommands of the asps command. Each returns the process exit
 * code, from the one table in opts.h (README.md "Exit codes"). */
#ifndef ASPS_CLI_H
#define ASPS_CLI_H

#include "asps/err.h"
#include "opts.h"

/* Exit code of get/run for a failed asps_client_new/asps_client_get: E and
 * the gRPC STATUS the call ended with. 5 for UNAUTHENTICATED (the server
 * refused this workload's evidence: retrying will not help), 3 for
 * unavailable (server down, KMS or collateral trouble: retry later), 1
 * denied, 2 bad arguments or an input file (--ca, --pin) that cannot be
 * read, 3 also for no TEE device (ASPS_E_NO_DEVICE). */
#define CLI_EXIT_EVIDENCE_REFUSED CLI_EXIT_REFUSED
int cli_exit_code(asps_err e, int status);

int asps_cmd_quote(int argc, char **argv);
int asps_cmd_sim(int argc, char **argv);
int asps_cmd_get(int argc, char **argv);
int asps_cmd_serve(int argc, char **argv);
int asps_cmd_cert(int argc, char **argv);
int asps_cmd_run(int argc, char **argv);
int asps_cmd_policy(int argc, char **argv);
int asps_cmd_collateral(int argc, char **argv);
int asps_cmd_version(int argc, char **argv);

/* "asps 0.1.0 (commit 0668e84..., OpenSSL 3.0.19, gRPC core 29.0.0)" */
#include <stddef.h>
void cli_version_line(char *buf, size_t size);

#endif
