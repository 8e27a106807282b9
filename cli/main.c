/* main.c: the asps command: dispatches to a subcommand. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cmds[] = {
    {"quote", asps_cmd_quote, "verify or show DCAP quotes"},
    {"sim", asps_cmd_sim, "simulated SGX/TDX platform for tests and demos"},
    {"cert", asps_cmd_cert, "create, show and verify RA-TLS certificates"},
    {"policy", asps_cmd_policy, "check or convert policy files"},
    {"collateral", asps_cmd_collateral, "fetch collateral into a cache folder, or show it"},
    {"serve", asps_cmd_serve, "run the secret provision server"},
    {"run", asps_cmd_run, "init-RA: fetch secrets to files, then start an application"},
    {"get", asps_cmd_get, "attest and fetch secrets from an asps server"},
    {"version", asps_cmd_version, "this build's version, commit and library versions"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: asps COMMAND [ARGS...]\n\n"
               "asps: Attestation and Secret Provision Service\n\n"
               "  asps --version   one line: version, commit, OpenSSL and gRPC\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
    fprintf(f, "\nRun 'asps COMMAND --help' for a command's options.\n");
    if (f == stdout)
        fprintf(f, "\n%s", cli_exit_table);
}

/* Descriptors 0-2 open before anything else is: started with one closed
 * (`2>&-`, a careless supervisor), the first file opened would take its
 * number, and what is written to "stderr" (the log) would go into the
 * audit file, or after a reopen into a client's socket. /dev/null takes
 * each closed one. */
static void std_fds_open(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (nfd >= 0 && nfd != fd) { /* a lower one was closed too: taken above */
            dup2(nfd, fd);
            close(nfd);
        }
    }
}

int main(int argc, char **argv)
{
    std_fds_open();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        if (argc > 2) { /* "asps --version extra" is a mistake, not a version */
            fprintf(stderr, "asps: %s takes no arguments ('%s')\n", argv[1], argv[2]);
            return 2;
        }
        return asps_cmd_version(1, argv + 1);
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "asps: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
