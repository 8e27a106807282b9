/* version.h: what this build of asps is, for `asps --version`, `asps version
 * --json`, the start-up banner and the build-info metric. The library
 * versions are asked of the libraries at run time (the ones actually
 * loaded, which can differ from the headers built against). */
#ifndef ASPS_VERSION_H
#define ASPS_VERSION_H

/* "0.1.0" (CMakeLists.txt's project version). */
const char *asps_version(void);
/* The git commit built (40 hex digits), or "unknown" outside a git checkout. */
const char *asps_git_commit(void);
/* OpenSSL's run-time version: "3.0.19" (OpenSSL_version(OPENSSL_VERSION_STRING)). */
const char *asps_openssl_version(void);
/* libcurl's and cJSON's run-time versions: "7.88.1", "1.7.15". */
const char *asps_curl_version(void);
const char *asps_cjson_version(void);

#endif
