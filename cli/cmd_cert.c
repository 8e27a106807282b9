/* cmd_cert.c: `asps cert new|show|verify`: RA-TLS certificates. Exit codes
 * as `quote verify`: 0 ok/verified, 1 not verified, 2 usage. */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asps/evidence.h"
#include "asps/ratls.h"
#include "claims_json.h"
#include "cli.h"
#include "common.h"
#include "identity.h"
#include "quote.h"
#include "util.h"

static const char usage_text[] =
    "usage: asps cert new --out CERT --key KEY [--attester auto|sim|gramine|occlum|tdx]\n"
    "                     [--sim DIR IDENTITY...] [--days N] [--not-before TIME] [--legacy-only]\n"
    "       asps cert show CERT [--json]\n"
    "       asps cert verify CERT [--collateral FILE | --pccs URL | --sim DIR] [--root-ca FILE]\n"
    "                        [--at TIME] [--json]\n"
    "\n"
    "new     a fresh ECDSA P-256 key and a self-signed RA-TLS certificate (SHA-256,\n"
    "        default validity 1 day) carrying a quote that binds the key, in Gramine's\n"
    "        extension and the TCG DICE tagged-evidence extension. KEY is written 0600.\n"
    "        IDENTITY (simulated platform): --tee sgx|tdx --mrenclave HEX --mrsigner HEX\n"
    "        --isv-prod-id N --isv-svn N --config-svn N --debug --mrtd HEX --rtmr N=HEX --tcb LEVEL\n"
    "show    the certificate's evidence format and quote fields, without verifying.\n"
    "verify  verify the evidence (DCAP) and that it binds the certificate's key.\n"
    "        Exit 0 verified, 1 not (reason on stderr), 2 usage error.\n";

static int cmd_new(int argc, char **argv)
{
    const char *kind = "auto", *sim_dir = NULL;
    asps_sim_identity ident;
    memset(&ident, 0, sizeof ident);
    const char *out = NULL, *keyout = NULL;
    long days = 1;
    int64_t not_before = 0;
    int legacy = 0;
    for (int i = 0; i < argc; i++) {
        int r = cli_identity_option(&ident, argc, argv, &i, 0);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        const char *a = argv[i];
        if (!strcmp(a, "--legacy-only")) {
            legacy = 1;
            continue;
        }
        const char **slot = !strcmp(a, "--out") ? &out : !strcmp(a, "--key") ? &keyout
                            : !strcmp(a, "--attester") ? &kind : !strcmp(a, "--sim") ? &sim_dir : NULL;
        if (slot && i + 1 < argc) {
            *slot = argv[++i];
            continue;
        }
        if (!strcmp(a, "--not-before") && i + 1 < argc) {
            if (asps_time_parse(argv[++i], &not_before) != 0) {
                fprintf(stderr, "asps cert new: --not-before: unix seconds or RFC 3339\n");
                return 2;
            }
            continue;
        }
        if (!strcmp(a, "--days") && i + 1 < argc) {
            days = strtol(argv[++i], NULL, 10);
            if (days < 1 || days > 3650) {
                fprintf(stderr, "asps cert new: --days 1..3650\n");
                return 2;
            }
            continue;
        }
        fprintf(stderr, "asps cert new: unexpected argument '%s'\n%s", a, usage_text);
        return 2;
    }
    if (!out || !keyout) {
        fprintf(stderr, "asps cert new: --out and --key are required\n");
        return 2;
    }
    asps_errbuf eb = {{0}};
    asps_attester *att = NULL;
    char *cert = NULL, *key = NULL;
    asps_err e = cli_attester_new(kind, sim_dir, &ident, 0, &att, &eb);
    if (e == ASPS_OK) {
        asps_ratls_create_opts o = {.quote = asps_attester_quote, .quote_ctx = att,
                                    .validity_secs = days * 86400, .legacy_only = legacy,
                                    .not_before = not_before};
        e = asps_ratls_create(&o, &cert, &key, &eb);
    }
    if (e == ASPS_OK)
        e = asps_write_file_atomic(keyout, key, strlen(key), 0600, &eb);
    if (e == ASPS_OK)
        e = asps_write_file_atomic(out, cert, strlen(cert), 0644, &eb);
    asps_attester_free(att);
    free(cert);
    asps_ratls_free_key(key);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps cert new: %s\n", eb.msg);
        return e == ASPS_E_ARG || e == ASPS_E_NO_DEVICE ? 2 : 1;
    }
    return 0;
}

static int cmd_show(int argc, char **argv)
{
    const char *path;
    int json;
    if (cli_file_args("cert show", usage_text, NULL, argc, argv, &path, &json) != 0)
        return 2;
    uint8_t *buf;
    size_t len;
    if (cli_read(path, 1 << 20, &buf, &len) != 0)
        return 2;
    asps_ratls_evidence *ev;
    asps_errbuf eb = {{0}};
    if (asps_ratls_extract(buf, len, &ev, &eb) != ASPS_OK) {
        fprintf(stderr, "asps cert show: %s\n", eb.msg);
        free(buf);
        return 1;
    }
    asps_quote q;
    asps_claims c;
    memset(&c, 0, sizeof c);
    int parsed = asps_quote_parse(ev->quote, ev->quote_len, &q, &eb) == ASPS_OK;
    if (parsed) {
        c.tee = q.tee_type == ASPS_TEE_TDX ? ASPS_TEE_TDX : ASPS_TEE_SGX;
        c.sgx = q.sgx;
        c.tdx = q.tdx;
    }
    char nb[32], na[32], spki[65];
    asps_time_format(ev->not_before, nb);
    asps_time_format(ev->not_after, na);
    asps_hex_encode(ev->spki_hash, 32, spki);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "format", ev->format);
        cJSON_AddStringToObject(o, "not_before", nb);
        cJSON_AddStringToObject(o, "not_after", na);
        cJSON_AddStringToObject(o, "pubkey_sha256", spki);
        cJSON_AddNumberToObject(o, "quote_bytes", (double)ev->quote_len);
        cJSON_AddBoolToObject(o, "quote_parses", parsed);
        if (parsed) {
            cJSON_AddStringToObject(o, "tee", c.tee == ASPS_TEE_TDX ? "tdx" : "sgx");
            asps_claims_measurements_to_json(&c, o);
        }
        cli_print_json(o);
        cJSON_Delete(o);
    } else {
        printf("format         %s\nvalid          %s .. %s\npubkey sha256  %s\nquote          %zu bytes%s\n",
               ev->format, nb, na, spki, ev->quote_len, parsed ? "" : " (does not parse)");
        if (parsed && c.tee == ASPS_TEE_SGX) {
            char h[65];
            asps_hex_encode(c.sgx.mr_enclave, 32, h);
            printf("mrenclave      %s\n", h);
            asps_hex_encode(c.sgx.mr_signer, 32, h);
            printf("mrsigner       %s\n", h);
        } else if (parsed) {
            char h[97];
            asps_hex_encode(c.tdx.mr_td, 48, h);
            printf("mrtd           %s\n", h);
        }
    }
    asps_ratls_evidence_free(ev);
    free(buf);
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    cli_trust t = {.at = (int64_t)time(NULL)};
    const char *path;
    int json;
    if (cli_file_args("cert verify", usage_text, &t, argc, argv, &path, &json) != 0)
        return 2;
    uint8_t *buf;
    size_t len;
    if (cli_read(path, 1 << 20, &buf, &len) != 0)
        return 2;
    asps_errbuf eb = {{0}};
    asps_trust *trust = NULL;
    asps_claims c;
    memset(&c, 0, sizeof c);
    asps_err e = cli_trust_new(&t, &trust, &eb);
    if (e == ASPS_OK)
        e = asps_trust_verify_cert(trust, buf, len, t.at, &c, &eb);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "verified", e == ASPS_OK);
        if (e != ASPS_OK) {
            cJSON_AddStringToObject(o, "error", asps_err_name(e));
            cJSON_AddStringToObject(o, "reason", eb.msg);
        } else
            asps_claims_to_json(&c, o);
        cli_print_json(o);
        cJSON_Delete(o);
    } else if (e == ASPS_OK) {
        printf("verified: %s certificate, %s quote, TCB status %s%s\n", c.ratls_format,
               c.tee == ASPS_TEE_TDX ? "TDX" : "SGX", asps_tcb_status_name(c.tcb_status),
               c.simulated ? " (simulated platform)" : "");
    }
    if (e != ASPS_OK)
        fprintf(stderr, "asps: not verified: %s [%s]\n", eb.msg, asps_err_name(e));
    asps_trust_free(trust);
    free(buf);
    if (e == ASPS_OK)
        return 0;
    return e == ASPS_E_ARG || e == ASPS_E_IO ? 2 : 1;
}

int asps_cmd_cert(int argc, char **argv)
{
    static const cli_sub subs[] = {{"new", cmd_new}, {"show", cmd_show}, {"verify", cmd_verify}};
    return cli_dispatch("cert", usage_text, subs, sizeof subs / sizeof subs[0], argc, argv);
}
