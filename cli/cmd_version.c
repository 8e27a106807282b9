/* cmd_version.c: `asps --version` (one line) and `asps version [--json]`:
 * this build and the libraries it runs with, as they say at run time. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "version.h"
#ifdef ASPS_HAVE_RPC
#include "rpc_version.h"
#endif

static const char usage_text[] =
    "usage: asps version [--json]\n"
    "       asps --version\n"
    "\n"
    "This build's version and git commit, and the versions of the libraries it\n"
    "runs with (asked of the libraries at run time): OpenSSL, gRPC core,\n"
    "protobuf-c, libcurl, cJSON. --json: one JSON object on one line.\n";

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
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s", usage_text);
            return 0;
        } else {
            fprintf(stderr, "asps version: bad argument '%s'\n%s", argv[i], usage_text);
            return 2;
        }
    }
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
