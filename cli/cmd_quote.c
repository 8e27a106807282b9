/* cmd_quote.c: `asps quote verify|show`. Exit codes: 0 verified, 1 not
 * verified (one-line reason on stderr), 2 usage error, 3 collateral
 * unavailable (the PCCS down or failing) (opts.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claims_json.h"
#include "cli.h"
#include "common.h"
#include "decision.h"
#include "quote.h"
#include "util.h"

static const cli_help verify_help = {
    "quote verify",
    "asps quote verify QUOTE [--collateral FILE | --pccs URL [--pccs-ca FILE] | --sim DIR] "
    "[--root-ca FILE] [--at TIME] [--tcb-update standard|early] [--max-stale DURATION] "
    "[--policy FILE] [--json]",
    "Verify a DCAP quote (SGX v3/v4/v5, TDX v4/v5) against Intel's rules.\n"
    CLI_TRUST_HELP
    "  --tcb-update SET   TCB info update set of the verdict: standard (default) or early\n"
    "  --max-stale DURATION  accept collateral this far past nextUpdate, marked stale\n"
    "                     (0, 90s, 30m, 36h, 7d; at most 365d; default 0: off)\n"
    "  --policy FILE      then what this native policy decides at TIME for the quote\n"
    "                     (the matching app asking for all its secrets; exit 1 if denied)\n"};

static const cli_help show_help = {
    "quote show", "asps quote show QUOTE [--json]",
    "Print the quote's main fields without verifying it (--json: every field,\n"
    "named as README.md says).\n"};

/* A certificate given where a quote is expected: say so, and what to run,
 * rather than "version 11565 not supported" (the bytes "--" of PEM).
 * 1 when it is one (message printed). */
int cli_quote_is_cert_hint(const char *cmd, const char *path, const uint8_t *b, size_t n)
{
    static const char pem[] = "-----BEGIN CERTIFICATE-----";
    size_t skip = 0;
    while (skip < n && (b[skip] == ' ' || b[skip] == '\n' || b[skip] == '\r' || b[skip] == '\t'))
        skip++;
    int is_pem = n - skip >= sizeof pem - 1 && !memcmp(b + skip, pem, sizeof pem - 1);
    /* DER: SEQUENCE with a two-byte length; a quote starts with its
     * version (3, 4 or 5) as a little-endian uint16 */
    int is_der = n >= 4 && b[0] == 0x30 && b[1] == 0x82;
    if (!is_pem && !is_der)
        return 0;
    fprintf(stderr,
            "asps %s: %s is an X.509 certificate (%s), not a quote; for an RA-TLS certificate "
            "run: asps cert %s %s\n",
            cmd, path, is_pem ? "PEM" : "DER", strstr(cmd, "verify") ? "verify" : "show", path);
    return 1;
}

/* quote verify's own options, besides the trust options and --json */
enum { OPT_TCB_UPDATE = 0x301, OPT_MAX_STALE, OPT_POLICY };
static const struct option verify_opts[] = {
    {"tcb-update", required_argument, NULL, OPT_TCB_UPDATE},
    {"max-stale", required_argument, NULL, OPT_MAX_STALE},
    {"policy", required_argument, NULL, OPT_POLICY},
    {0},
};

struct verify_args {
    cli_trust *t;
    const char **policy;
};

static int verify_opt(void *ctx, int val, const char *name, const char *v)
{
    struct verify_args *va = ctx;
    (void)name;
    if (val == OPT_TCB_UPDATE) {
        if (strcmp(v, "standard") && strcmp(v, "early"))
            return cli_usage_error(&verify_help, "--tcb-update: '%s' is not standard or early", v);
        va->t->tcb_update_early = !strcmp(v, "early");
        return 0;
    }
    if (val == OPT_MAX_STALE) {
        if (asps_collateral_duration_parse(v, &va->t->max_stale) != 0) /* as in config */
            return cli_usage_error(&verify_help,
                                   "--max-stale: '%s' is not a duration (0, 90s, 30m, 36h, 7d; at "
                                   "most 365d)", v);
        return 0;
    }
    if (!*v)
        return cli_usage_error(&verify_help, "--policy: a policy file is needed");
    if (*va->policy)
        return cli_usage_error(&verify_help, "--policy given twice");
    *va->policy = v;
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    cli_trust t = {.at = (int64_t)time(NULL)};
    const char *path, *policy = NULL;
    int json;
    struct verify_args va = {&t, &policy};
    int arc = cli_file_args_ex(&verify_help, &t, verify_opts, verify_opt, &va, argc, argv, &path,
                               &json);
    if (arc)
        return arc == CLI_HELP ? 0 : arc;
    /* a policy that cannot be used is a usage error before any verdict is
     * printed (it used to print "verified: ..." and then exit 2) */
    asps_policy *pol = NULL;
    if (policy && (arc = cli_decision_load(&verify_help, policy, &pol)) != 0)
        return arc;
    uint8_t *q;
    size_t qlen;
    if (cli_read("quote verify", path, ASPS_QUOTE_MAX_LEN, &q, &qlen) != 0) {
        asps_policy_free(pol);
        return 2;
    }
    if (cli_quote_is_cert_hint("quote verify", path, q, qlen)) {
        free(q);
        asps_policy_free(pol);
        return 2;
    }
    asps_errbuf eb = {{0}};
    asps_trust *trust = NULL;
    asps_claims c;
    memset(&c, 0, sizeof c);
    asps_err e = cli_trust_new(&t, &trust, &eb);
    int rc = 2;
    if (e == ASPS_OK) {
        e = asps_trust_verify_quote(trust, q, qlen, t.at, &c, &eb);
        rc = e == ASPS_OK ? 0 : 1;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "verified", e == ASPS_OK);
        if (e != ASPS_OK) {
            cJSON_AddStringToObject(o, "error", asps_err_name(e));
            cJSON_AddStringToObject(o, "reason", eb.msg);
        }
        if (e == ASPS_OK || e == ASPS_E_TCB_REVOKED)
            asps_claims_to_json(&c, o);
        if (policy && e == ASPS_OK)
            rc = cli_decision_show(&verify_help, pol, policy, &c, t.at, o, rc);
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
        char lines[8192];
        if (asps_claims_tcb_text(&c, lines, sizeof lines) != 0)
            fprintf(stderr, "asps quote verify: TCB recovery lines cut short\n");
        fputs(lines, stdout);
        /* asked for the early set, the collateral holds none: say the
         * verdict is the standard set's, not leave it silent */
        if (t.tcb_update_early && !c.tcb_update_early)
            printf("tcb update: standard (the collateral holds no update=early TCB info; "
                   "--tcb-update early needs one: asps sim recover, or a PCCS that serves it)\n");
        if (policy)
            rc = cli_decision_show(&verify_help, pol, policy, &c, t.at, NULL, rc);
    }
    if (e != ASPS_OK)
        fprintf(stderr, "asps quote verify: not verified: %s [%s]\n", eb.msg, asps_err_name(e));
    /* Exit 2 is for usage: a collateral or root file that cannot be used
     * is the caller's input error, not a verdict on the quote. */
    if (rc == 2 && e != ASPS_OK && e != ASPS_E_ARG && e != ASPS_E_IO && e != ASPS_E_LIMIT)
        rc = 1;
    /* the PCCS unreachable or failing: no verdict on the quote, retry later */
    if (e == ASPS_E_UNAVAILABLE)
        rc = CLI_EXIT_UNAVAILABLE;
    asps_trust_free(trust);
    asps_policy_free(pol);
    free(q);
    return rc;
}

static void hex_line(const char *name, const uint8_t *b, size_t n)
{
    char buf[2 * 64 + 1];
    asps_hex_encode(b, n, buf);
    printf("%-14s %s\n", name, buf);
}

/* Hex of any length (auth data, encrypted PPID); 0 ok, -1 no memory. */
static int add_hex_any(cJSON *o, const char *name, const uint8_t *b, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (!h)
        return -1;
    asps_hex_encode(b, n, h);
    int ok = cJSON_AddStringToObject(o, name, h) != NULL;
    free(h);
    return ok ? 0 : -1;
}

static int add_num(cJSON *o, const char *name, double v)
{
    return cJSON_AddNumberToObject(o, name, v) ? 0 : -1;
}

/* Every field of the quote, named as README.md ("quote show --json") says. */
static int show_json(const asps_quote *q, const asps_claims *c)
{
    cJSON *o = cJSON_CreateObject();
    int bad = !o;
    if (bad)
        return -1;
    /* header */
    bad |= add_num(o, "version", q->version);
    bad |= add_num(o, "quote_version", q->version); /* the name quote verify uses */
    bad |= !cJSON_AddStringToObject(o, "tee", c->tee == ASPS_TEE_TDX ? "tdx" : "sgx");
    bad |= add_num(o, "tee_type", q->tee_type);
    bad |= add_num(o, "att_key_type", q->att_key_type);
    if (q->version == 3) {
        bad |= add_num(o, "qe_svn", q->qe_svn);
        bad |= add_num(o, "pce_svn", q->pce_svn);
    }
    bad |= asps_json_add_hex(o, "qe_vendor_id", q->qe_vendor_id, 16);
    bad |= asps_json_add_hex(o, "user_data", q->user_data, 20);
    if (q->version == 5) { /* only v5 quotes carry the body type */
        bad |= add_num(o, "body_type", q->body_type);
        bad |= add_num(o, "body_size", q->body_size);
    }
    /* body */
    bad |= !cJSON_AddBoolToObject(o, "debug", c->debug);
    bad |= asps_claims_measurements_to_json(c, o);
    /* sizes */
    bad |= add_num(o, "signed_length", (double)q->quote_len);
    bad |= add_num(o, "trailing_bytes", (double)q->trailing_len);
    bad |= add_num(o, "signature_data_length", q->sig_data_len);
    /* signature data */
    bad |= asps_json_add_hex(o, "signature", q->signature, 64);
    bad |= asps_json_add_hex(o, "attestation_key", q->att_key, 64);
    if (q->outer_cert_type)
        bad |= add_num(o, "outer_cert_data_type", q->outer_cert_type);
    const asps_claims_sgx *r = &q->qe_report;
    bad |= asps_json_add_hex(o, "qe_cpu_svn", r->cpu_svn, 16);
    bad |= add_num(o, "qe_misc_select", r->misc_select);
    bad |= asps_json_add_hex(o, "qe_attributes", r->attributes, 16);
    bad |= asps_json_add_hex(o, "qe_mrenclave", r->mr_enclave, 32);
    bad |= asps_json_add_hex(o, "qe_mrsigner", r->mr_signer, 32);
    bad |= add_num(o, "qe_isv_prod_id", r->isv_prod_id);
    bad |= add_num(o, "qe_isv_svn", r->isv_svn);
    bad |= add_num(o, "qe_config_svn", r->config_svn);
    bad |= asps_json_add_hex(o, "qe_config_id", r->config_id, 64);
    bad |= asps_json_add_hex(o, "qe_isv_ext_prod_id", r->isv_ext_prod_id, 16);
    bad |= asps_json_add_hex(o, "qe_isv_family_id", r->isv_family_id, 16);
    bad |= asps_json_add_hex(o, "qe_report_data", r->report_data, 64);
    bad |= asps_json_add_hex(o, "qe_report_signature", q->qe_report_sig, 64);
    bad |= add_hex_any(o, "qe_auth_data", q->qe_auth, q->qe_auth_len);
    /* certification data */
    bad |= add_num(o, "cert_data_type", q->cert_type);
    bad |= add_num(o, "cert_data_size", (double)q->cert_data_len);
    if (q->ppid) {
        bad |= add_hex_any(o, q->cert_type == ASPS_CERT_TYPE_PPID_CLEARTEXT ? "ppid" : "encrypted_ppid",
                           q->ppid, q->ppid_len);
        bad |= asps_json_add_hex(o, "ppid_cpu_svn", q->ppid_cpu_svn, 16);
        bad |= add_num(o, "ppid_pce_svn", q->ppid_pce_svn);
        bad |= add_num(o, "ppid_pce_id", q->ppid_pce_id);
    }
    if (q->pck_chain) {
        bad |= add_num(o, "pck_chain_bytes", (double)q->pck_chain_len);
        asps_quote_pck p;
        asps_errbuf eb;
        if (asps_quote_pck_values(q, &p, &eb) == ASPS_OK) {
            bad |= asps_json_add_hex(o, "fmspc", p.fmspc, 6);
            bad |= !cJSON_AddStringToObject(o, "pck_ca", p.ca);
            bad |= asps_json_add_hex(o, "pce_id", p.pce_id, 2);
            bad |= add_num(o, "pce_svn_in_pck", p.pce_svn);
            bad |= asps_json_add_hex(o, "cpu_svn_in_pck", p.cpu_svn, 16);
        } else {
            bad |= !cJSON_AddStringToObject(o, "pck_error", eb.msg);
        }
    }
    if (!bad)
        cli_print_json(o);
    cJSON_Delete(o);
    return bad ? -1 : 0;
}

static int cmd_show(int argc, char **argv)
{
    const char *path;
    int json;
    int arc = cli_file_args(&show_help, NULL, argc, argv, &path, &json);
    if (arc)
        return arc == CLI_HELP ? 0 : arc;
    uint8_t *buf;
    size_t len;
    if (cli_read("quote show", path, ASPS_QUOTE_MAX_LEN, &buf, &len) != 0)
        return 2;
    if (cli_quote_is_cert_hint("quote show", path, buf, len)) {
        free(buf);
        return 2;
    }
    asps_quote q;
    asps_errbuf eb;
    asps_err e = asps_quote_parse(buf, len, &q, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "asps quote show: %s [%s]\n", eb.msg, asps_err_name(e));
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
    int rc = 0;
    if (json) {
        if (show_json(&q, &c) != 0) {
            fprintf(stderr, "asps quote show: out of memory\n");
            rc = 1;
        }
    } else {
        printf("%-14s %u\n%-14s %s\n", "version", q.version, "tee",
               c.tee == ASPS_TEE_TDX ? "TDX" : "SGX");
        if (q.version == 5)
            printf("%-14s %u\n", "body_type", q.body_type);
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
            if (q.tdx.has_v15) {
                hex_line("tee_tcb_svn2", q.tdx.tee_tcb_svn2, 16);
                hex_line("mrservicetd", q.tdx.mr_servicetd, 48);
            }
            hex_line("report_data", q.tdx.report_data, 64);
        }
        printf("%-14s %s\n", "debug", c.debug ? "yes" : "no");
        printf("%-14s %u (%s)\n", "cert_data_type", q.cert_type, asps_quote_cert_type_name(q.cert_type));
    }
    free(buf);
    return rc;
}

int asps_cmd_quote(int argc, char **argv)
{
    static const cli_leaf leaves[] = {{&verify_help, cmd_verify}, {&show_help, cmd_show}};
    return cli_group("quote", "Verify or show DCAP quotes.\n", leaves, 2, argc, argv);
}
