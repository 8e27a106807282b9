/* cmd_get.c: `asps get`: attest, fetch named secrets, print or write them.
 * Exit 0 all granted, 1 denied, 2 usage, 3 unreachable/unavailable, 5 this
 * workload's evidence refused (UNAUTHENTICATED). */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asps/client.h"
#include "cli.h"
#include "identity.h"
#include "addr.h"
#include "util.h"

static const char usage_text[] =
    "usage: asps get --server HOST:PORT (--ca FILE [--server-name NAME] | --pin CERT)\n"
    "                [--attester auto|sim|gramine|occlum|tdx] [--sim DIR IDENTITY...]\n"
    "                [--out FILE | --json] NAME...\n"
    "\n"
    "Attest, connect to the asps server and fetch the named secrets in one call.\n"
    "Prints each as 'Secret received: 42-cd-...' (hex bytes joined by dashes),\n"
    "or writes the one secret to --out FILE (mode 0600), or prints --json.\n"
    "IDENTITY (simulated platform): --tee sgx|tdx --mrenclave HEX --mrsigner HEX\n"
    "  --isv-prod-id N --isv-svn N --config-svn N --debug --mrtd HEX --rtmr N=HEX --tcb LEVEL\n"
    "Exit 0 all granted, 1 denied, 2 usage error (also a request the server refuses as\n"
    "malformed or over its limits), 3 server busy, down, or secret store, collateral\n"
    "or audit log\n"
    "unavailable (retry later), 5 the server refused this workload's attestation evidence\n"
    "(UNAUTHENTICATED, e.g. tcb_revoked, root_untrusted, cert_expired: retrying will not help).\n";

int asps_cmd_get(int argc, char **argv)
{
    asps_client_opts o = {.attester = "auto"};
    const char *sim_dir = NULL;
    asps_sim_identity ident;
    memset(&ident, 0, sizeof ident);
    const char *out = NULL, *pin = NULL;
    int json = 0;
    const char **names = calloc((size_t)argc, sizeof *names);
    size_t n = 0;
    if (!names)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_identity_option(&ident, argc, argv, &i, 0);
        if (r < 0)
            goto usage;
        if (r > 0)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("%s", usage_text);
            free(names);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        const char **slot = !strcmp(a, "--server")        ? &o.server
                            : !strcmp(a, "--ca")          ? &o.ca_file
                            : !strcmp(a, "--server-name") ? &o.server_name
                            : !strcmp(a, "--pin")         ? &pin
                            : !strcmp(a, "--attester")    ? &o.attester
                            : !strcmp(a, "--sim")         ? &sim_dir
                            : !strcmp(a, "--out")         ? &out
                                                          : NULL;
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "asps get: %s needs a value\n", a);
                goto usage;
            }
            *slot = argv[++i];
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "asps get: unknown option %s\n", a);
            goto usage;
        }
        names[n++] = a;
    }
    if (!o.server || n == 0 || (out && n != 1) || (out && json)) {
        fprintf(stderr, "asps get: need --server, at least one NAME (exactly one with --out)\n");
        goto usage;
    }
    asps_errbuf eb = {{0}};
    if (asps_addr_parse("--server", o.server, 0, NULL, &eb) != ASPS_OK) {
        fprintf(stderr, "asps get: %s\n", eb.msg);
        free(names);
        return 2;
    }
    o.pinned_cert_file = pin;
    asps_client *c = NULL;
    asps_secret *s = NULL;
    int status = 0, rc;
    asps_attester *att = NULL;
    asps_err e = cli_attester_new(o.attester, sim_dir, &ident, 1, &att, &eb);
    o.use_attester = att;
    if (e == ASPS_OK)
        e = asps_client_new(&o, &c, &eb);
    if (e == ASPS_OK)
        e = asps_client_get(c, names, n, &s, &status, &eb);
    if (e == ASPS_OK) {
        rc = 0;
        if (out) {
            e = asps_write_file_atomic(out, s[0].value, s[0].len, 0600, &eb);
            if (e != ASPS_OK) {
                fprintf(stderr, "asps get: %s\n", eb.msg);
                rc = 2;
            }
        } else if (json) {
            /* built with cJSON so that any name is escaped; the value is hex */
            cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "secrets");
            for (size_t i = 0; arr && i < n; i++) {
                char *hex = malloc(2 * s[i].len + 1);
                cJSON *it = cJSON_CreateObject();
                if (!hex || !it) {
                    free(hex);
                    cJSON_Delete(it);
                    break;
                }
                asps_hex_encode(s[i].value, s[i].len, hex);
                cJSON_AddStringToObject(it, "name", s[i].name);
                cJSON_AddStringToObject(it, "value_hex", hex);
                cJSON_AddItemToArray(arr, it);
                asps_cleanse_free(hex, 2 * s[i].len);
            }
            char *text = cJSON_PrintUnformatted(o);
            if (text) {
                puts(text);
                asps_cleanse_free_str(text);
            }
            /* the tree held the values in hex: cleanse before freeing */
            cJSON *it;
            cJSON_ArrayForEach(it, arr)
            {
                cJSON *v = cJSON_GetObjectItem(it, "value_hex");
                if (v && v->valuestring)
                    OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
            }
            cJSON_Delete(o);
        } else {
            for (size_t i = 0; i < n; i++) {
                printf("Secret received: ");
                for (size_t k = 0; k < s[i].len; k++)
                    printf("%s%02x", k ? "-" : "", s[i].value[k]);
                printf("\n");
            }
        }
        asps_secrets_free(s, n);
    } else {
        fprintf(stderr, "asps get: %s [%s]\n", eb.msg, asps_err_name(e));
        rc = cli_exit_code(e, status);
    }
    asps_client_free(c);
    asps_attester_free(att); /* after the client: it renews with it */
    free(names);
    return rc;
usage:
    fprintf(stderr, "%s", usage_text);
    free(names);
    return 2;
}
