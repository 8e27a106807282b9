/* serve_info.h: what `asps serve` runs with, said once at start (the
 * banner, through the logger) or checked without serving (`serve --check`,
 * a summary on stdout). Both walk the same list, so the banner and the check
 * never disagree: version, listen address, server certificate, policy
 * (format, apps, file, seed conversion notes), trust roots (a WARNING for
 * each simulated or extra root), collateral source, KMS (kind, address,
 * how it authenticates; never a token), audit destination, limits. */
#ifndef ASPS_CLI_SERVE_INFO_H
#define ASPS_CLI_SERVE_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "server_cert.h"
#include "service.h"

/* The server's certificate and key files of CFG, read and checked at NOW
 * (server_cert.h). *cert and *key are the caller's (key: asps_cleanse_free). */
asps_err cli_server_cert_load(const asps_service_config *cfg, int64_t now, uint8_t **cert,
                              size_t *cert_len, uint8_t **key, size_t *key_len,
                              asps_server_cert_info *info, asps_errbuf *eb);

/* The start-up banner: one log line per item (info; warn for warnings). */
void cli_serve_banner(const asps_service_config *cfg, const asps_server_cert_info *cert);

/* `asps serve --check`: load and check everything CONFIG_PATH's CFG names,
 * reaching the KMS and the PCCS, and print one line per item on stdout
 * ("ok", "note", "WARN", "FAIL"), then a verdict. Returns the exit code:
 * 0 all usable (warnings allowed), 1 anything failed. Listens on nothing,
 * writes nothing. */
int cli_serve_check(const char *config_path, const asps_service_config *cfg);

#endif
