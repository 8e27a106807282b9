/* cli.h: the subcommands of the asps command. Each returns the process exit
 * code: 0 success, 1 verification/denial failure, 2 usage error, 3
 * unreachable/unavailable. */
#ifndef ASPS_CLI_H
#define ASPS_CLI_H

int asps_cmd_quote(int argc, char **argv);
int asps_cmd_sim(int argc, char **argv);
int asps_cmd_get(int argc, char **argv);
int asps_cmd_serve(int argc, char **argv);
int asps_cmd_cert(int argc, char **argv);
int asps_cmd_run(int argc, char **argv);
int asps_cmd_policy(int argc, char **argv);

#endif
