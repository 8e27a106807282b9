/* cmd_quote.c: `asps quote verify|show`. Exit codes: 0 verified, 1 not
 * verified (one-line reason on stderr), 2 usage error. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claims_json.h"
#include "cli.h"
#include "common.h"
#include "quote.h"
#include "util.h"

static const char usage_text[] =
    "usage: asps quote verify QUOTE [--collateral FILE | --pccs URL [--pccs-ca FILE] | --sim DIR]\n"
    "                         [--at TIME] [--root-ca FILE] [--json]\n"
    "       asps quote show QUOTE [--json]\n"
    "\n"
    "verify  verify a DCAP quote (SGX v3/v4, TDX v4/v5) against Intel's rules.\n"
    "        Exit 0 verified, 1 not verified (reason on stderr), 2 usage error.\n"
    "        --collateral FILE  collateral bundle (JSON: see README.md)\n"
    "        --pccs URL         fetch collateral from a PCCS (v4 API)\n"
    "        --pccs-ca FILE     CA certificate(s) for the PCCS's TLS certificate\n"
    "        --sim DIR          trust the simulated platform in DIR and use its collateral\n"
    "        --at TIME          verification time: unix seconds or RFC 3339 (default now)\n"
    "        --root-ca FILE     also trust this root CA (DER or PEM); results say simulated\n"
    "        --json             print one JSON object with the verdict and claims\n"
    "show    print the parsed fields of a quote without verifying it.\n";

static int cmd_verify(int argc, char **argv)
{
    cli_trust t = {.at = (int64_t)time(NULL)};
    const char *path;
    int json;
    if (cli_file_args("quote verify", usage_text, &t, argc, argv, &path, &json) != 0)
        return 2;
    uint8_t *q;
    size_t qlen;
    if (cli_read(path, ASPS_QUOTE_MAX_LEN, &q, &qlen) != 0)
        return 2;
    asps_errbuf eb = {{0}};
    asps_verifier *v = NULL;
    asps_collateral *col = NULL;
    asps_claims c;
    memset(&c, 0, sizeof c);
    asps_err e = cli_trust_verifier(&t, &v, &eb);
    int rc = 2;
    if (e != ASPS_OK)
        goto out;
    e = cli_trust_collateral(&t, q, qlen, &col, &eb);
    if (e != ASPS_OK)
        goto out;
    e = asps_verify_quote(v, q, qlen, col, t.at, &c, &eb);
    rc = e == ASPS_OK ? 0 : 1;
out:
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "verified", e == ASPS_OK);
        if (e != ASPS_OK) {
            cJSON_AddStringToObject(o, "error", asps_err_name(e));
            cJSON_AddStringToObject(o, "reason", eb.msg);
        }
        if (e == ASPS_OK || e == ASPS_E_TCB_REVOKED)
            asps_claims_to_json(&c, o);
        cli_print_json(o);
        cJSON_Delete(o);
    } else if (e == ASPS_OK) {
        printf("verified: %s quote, TCB status %s", c.tee == ASPS_TEE_TDX ? "TDX" : "SGX",
               asps_tcb_status_name(c.tcb_status));
        for (size_t i = 0; i < c.n_advisories; i++)
            printf("%s%s", i ? ", " : ", advisories ", c.advisory_ids[i]);
        for (size_t i = 0; i < c.n_qe_advisories; i++)
            printf("%s%s", i ? ", " : "; QE advisories ", c.qe_advisory_ids[i]);
        for (size_t i = 0; i < c.n_tdx_module_advisories; i++)
            printf("%s%s", i ? ", " : "; TDX module advisories ", c.tdx_module_advisory_ids[i]);
        printf("%s\n", c.simulated ? " (simulated platform)" : "");
    }
    if (e != ASPS_OK)
        fprintf(stderr, "asps: not verified: %s [%s]\n", eb.msg, asps_err_name(e));
    /* Exit 2 is for usage: a collateral or root file that cannot be used
     * is the caller's input error, not a verdict on the quote. */
    if (rc == 2 && e != ASPS_E_ARG && e != ASPS_E_IO && e != ASPS_E_LIMIT)
        rc = 1;
    asps_collateral_free(col);
    asps_verifier_free(v);
    free(q);
    return rc;
}

static void hex_line(const char *name, const uint8_t *b, size_t n)
{
    char buf[2 * 64 + 1];
    asps_hex_encode(b, n, buf);
    printf("%-14s %s\n", name, buf);
}

static int cmd_show(int argc, char **argv)
{
    const char *path;
    int json;
    if (cli_file_args("quote show", usage_text, NULL, argc, argv, &path, &json) != 0)
        return 2;
    uint8_t *buf;
    size_t len;
    if (cli_read(path, ASPS_QUOTE_MAX_LEN, &buf, &len) != 0)
        return 2;
    asps_quote q;
    asps_errbuf eb;
    asps_err e = asps_quote_parse(buf, len, &q, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps: %s [%s]\n", eb.msg, asps_err_name(e));
        free(buf);
        return 1;
    }
    asps_claims c;
    memset(&c, 0, sizeof c);
    c.tee = q.tee_type == ASPS_TEE_TDX ? ASPS_TEE_TDX : ASPS_TEE_SGX;
    c.quote_version = q.version;
    c.sgx = q.sgx;
    c.tdx = q.tdx;
    c.debug = c.tee == ASPS_TEE_SGX ? (q.sgx.attributes[0] & 2) != 0 : (q.tdx.td_attributes[0] & 1) != 0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "version", q.version);
        cJSON_AddStringToObject(o, "tee", c.tee == ASPS_TEE_TDX ? "tdx" : "sgx");
        cJSON_AddNumberToObject(o, "att_key_type", q.att_key_type);
        asps_json_add_hex(o, "qe_vendor_id", q.qe_vendor_id, 16);
        cJSON_AddBoolToObject(o, "debug", c.debug);
        asps_claims_measurements_to_json(&c, o);
        asps_json_add_hex(o, "attestation_key", q.att_key, 64);
        asps_json_add_hex(o, "qe_mrsigner", q.qe_report.mr_signer, 32);
        cJSON_AddNumberToObject(o, "qe_isv_svn", q.qe_report.isv_svn);
        cJSON_AddNumberToObject(o, "pck_chain_bytes", (double)q.pck_chain_len);
        cli_print_json(o);
        cJSON_Delete(o);
    } else {
        printf("%-14s %u\n%-14s %s\n", "version", q.version, "tee",
               c.tee == ASPS_TEE_TDX ? "TDX" : "SGX");
        if (c.tee == ASPS_TEE_SGX) {
            hex_line("mrenclave", q.sgx.mr_enclave, 32);
            hex_line("mrsigner", q.sgx.mr_signer, 32);
            printf("%-14s %u\n%-14s %u\n%-14s %u\n", "isv_prod_id", q.sgx.isv_prod_id, "isv_svn",
                   q.sgx.isv_svn, "config_svn", q.sgx.config_svn);
            hex_line("attributes", q.sgx.attributes, 16);
            hex_line("report_data", q.sgx.report_data, 64);
        } else {
            hex_line("mrtd", q.tdx.mr_td, 48);
            for (int i = 0; i < 4; i++) {
                char n[8];
                snprintf(n, sizeof n, "rtmr%d", i);
                hex_line(n, q.tdx.rtmr[i], 48);
            }
            hex_line("td_attributes", q.tdx.td_attributes, 8);
            hex_line("tee_tcb_svn", q.tdx.tee_tcb_svn, 16);
            hex_line("report_data", q.tdx.report_data, 64);
        }
        printf("%-14s %s\n", "debug", c.debug ? "yes" : "no");
    }
    free(buf);
    return 0;
}

int asps_cmd_quote(int argc, char **argv)
{
    static const cli_sub subs[] = {{"verify", cmd_verify}, {"show", cmd_show}};
    return cli_dispatch("quote", usage_text, subs, sizeof subs / sizeof subs[0], argc, argv);
}
