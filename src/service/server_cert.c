/* server_cert.c: the server's certificate and key checked before serving
 * (see server_cert.h). */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server_cert.h"
#include "x509.h"

void asps_server_cert_time(int64_t unix_s, char *buf, size_t size)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, size, "%lld", (long long)unix_s);
}

/* "3 days", "5 hours", "40 minutes": a span for messages */
static void span(int64_t s, char *buf, size_t size)
{
    if (s < 0)
        s = -s;
    if (s >= 2 * 86400)
        snprintf(buf, size, "%lld days", (long long)(s / 86400));
    else if (s >= 2 * 3600)
        snprintf(buf, size, "%lld hours", (long long)(s / 3600));
    else
        snprintf(buf, size, "%lld minutes", (long long)(s / 60));
}

static void key_type(EVP_PKEY *pk, char *buf, size_t size)
{
    char group[64] = "";
    size_t glen = 0;
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof group, &glen))
        snprintf(buf, size, "EC %s", group);
    else
        snprintf(buf, size, "%s %d", EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "?",
                 EVP_PKEY_get_bits(pk));
}

asps_err asps_server_cert_check(const char *cert_pem, size_t cert_len, const char *key_pem,
                                size_t key_len, int64_t now, asps_server_cert_info *info,
                                asps_errbuf *eb)
{
    memset(info, 0, sizeof *info);
    if (cert_len > 1 << 20 || key_len > 1 << 20)
        return asps_fail(eb, ASPS_E_LIMIT, "server certificate or key larger than 1 MiB");
    asps_err e = ASPS_OK;
    X509 *leaf = NULL;
    EVP_PKEY *key = NULL;
    BIO *b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    if (b)
        leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (!leaf) {
        e = asps_fail(eb, ASPS_E_PARSE, "server certificate: no PEM certificate in the file");
        goto out;
    }
    info->chain_len = 1;
    for (X509 *more; (more = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL; X509_free(more))
        info->chain_len++;
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(leaf), 0,
                                XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        int n = BIO_read(b, info->subject, sizeof info->subject - 1);
        info->subject[n > 0 ? n : 0] = 0;
    }
    BIO_free(b);
    b = NULL;
    if (!asps_x509_validity(leaf, &info->not_before, &info->not_after)) {
        e = asps_fail(eb, ASPS_E_PARSE, "server certificate: unreadable validity dates");
        goto out;
    }
    key_type(X509_get0_pubkey(leaf), info->key_type, sizeof info->key_type);
    b = BIO_new_mem_buf(key_pem, (int)key_len);
    if (b)
        key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    if (!key) {
        e = asps_fail(eb, ASPS_E_PARSE, "server key: no PEM private key in the file (an "
                                        "encrypted key is not supported)");
        goto out;
    }
    if (!X509_check_private_key(leaf, key)) {
        e = asps_fail(eb, ASPS_E_ARG, "server key: not the key of the server certificate (%s)",
                      info->subject);
        goto out;
    }
    char when[32], off[32];
    if (now < info->not_before) {
        asps_server_cert_time(info->not_before, when, sizeof when);
        span(info->not_before - now, off, sizeof off);
        e = asps_fail(eb, ASPS_E_CERT_EXPIRED,
                      "server certificate: not valid yet: valid from %s (in %s); check the clock "
                      "or the certificate",
                      when, off);
        goto out;
    }
    if (now > info->not_after) {
        asps_server_cert_time(info->not_after, when, sizeof when);
        span(now - info->not_after, off, sizeof off);
        e = asps_fail(eb, ASPS_E_CERT_EXPIRED,
                      "server certificate: expired on %s (%s ago): renew it", when, off);
        goto out;
    }
    info->warn = info->not_after - now < (int64_t)ASPS_SERVER_CERT_WARN_DAYS * 86400;
out:
    ERR_clear_error();
    BIO_free(b);
    X509_free(leaf);
    EVP_PKEY_free(key);
    return e;
}

static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static asps_server_cert_info cur;
static int have_cur;

void asps_server_cert_set_current(const asps_server_cert_info *info)
{
    pthread_mutex_lock(&cur_lock);
    cur = *info;
    have_cur = 1;
    pthread_mutex_unlock(&cur_lock);
}

int asps_server_cert_current(asps_server_cert_info *out)
{
    pthread_mutex_lock(&cur_lock);
    int have = have_cur;
    if (have)
        *out = cur;
    pthread_mutex_unlock(&cur_lock);
    return have;
}
