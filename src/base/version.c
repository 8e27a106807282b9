/* version.c: the build's version and commit (compile definitions set by
 * CMakeLists.txt for this file only) and the libraries' run-time versions. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "version.h"

#ifndef ASPS_VERSION
#define ASPS_VERSION "unknown"
#endif
#ifndef ASPS_GIT_COMMIT
#define ASPS_GIT_COMMIT "unknown"
#endif

const char *asps_version(void) { return ASPS_VERSION; }
const char *asps_git_commit(void) { return ASPS_GIT_COMMIT; }
const char *asps_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION_STRING); }

const char *asps_curl_version(void)
{
    const curl_version_info_data *d = curl_version_info(CURLVERSION_NOW);
    return d && d->version ? d->version : "unknown";
}

const char *asps_cjson_version(void) { return cJSON_Version(); }
