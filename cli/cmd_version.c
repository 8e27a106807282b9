/* cmd_version.c: `asps --version` (one line) and `asps version [--json]`:
 * this build and the libraries it runs with, as they say at run time. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "opts.h"
#include "version.h"
#ifdef ASPS_HAVE_RPC
#include "rpc_version.h"
#endif

static const cli_help version_help = {
    "version", "asps version [--json]\nasps --version",
    "This build's version and git commit, and the versions of the libraries it\n"
    "runs with (asked of the libraries at run time): OpenSSL, gRPC core,\n"
    "protobuf-c, libcurl, cJSON. --json: one JSON object on one line.\n"
    "asps --version: one line (version, commit, OpenSSL, gRPC core).\n"};

static const struct option version_opts[] = {{"json", no_argument, NULL, 'j'}, {0}};

static int version_opt(void *ctx, int val, const char *name, const char *arg)
{
    (void)val, (void)name, (void)arg;
    *(int *)ctx = 1;
    return 0;
}

static const char *grpc_version(void)
{
#ifdef ASPS_HAVE_RPC
    return asps_rpc_grpc_version();
#else
    return "none";
#endif
}

static const char *protobuf_c_version(void)
{
#ifdef ASPS_HAVE_RPC
    return asps_rpc_protobuf_c_version();
#else
    return "none";
#endif
}

void cli_version_line(char *buf, size_t size)
{
    const char *c = asps_git_commit();
    snprintf(buf, size, "asps %s (commit %.12s, OpenSSL %s, gRPC core %s)", asps_version(), c,
             asps_openssl_version(), grpc_version());
}

int asps_cmd_version(int argc, char **argv)
{
    int json = 0, first;
    const struct option *tables[] = {version_opts, NULL};
    int prc = cli_parse(&version_help, tables, 0, argc, argv, version_opt, &json, &first);
    if (prc)
        return prc == CLI_HELP ? 0 : prc;
    if (first < argc)
        return cli_usage_error(&version_help, "unexpected argument '%s'", argv[first]);
    if (!json) {
        char line[256];
        cli_version_line(line, sizeof line);
        printf("%s\n", line);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "version", asps_version()) ||
        !cJSON_AddStringToObject(o, "commit", asps_git_commit()) ||
        !cJSON_AddStringToObject(o, "openssl", asps_openssl_version()) ||
        !cJSON_AddStringToObject(o, "grpc_core", grpc_version()) ||
        !cJSON_AddStringToObject(o, "protobuf_c", protobuf_c_version()) ||
        !cJSON_AddStringToObject(o, "libcurl", asps_curl_version()) ||
        !cJSON_AddStringToObject(o, "cjson", asps_cjson_version())) {
        cJSON_Delete(o);
        fprintf(stderr, "asps version: out of memory\n");
        return 1;
    }
    cli_print_json(o);
    cJSON_Delete(o);
    return 0;
}
