/* asps/evidence.h: attesters — where a workload's quotes come from. One
 * interface over:
 *   "gramine" Gramine's /dev/attestation: write user_report_data (64 bytes),
 *             read quote
 *   "occlum"  Occlum's /dev/sgx ioctls SGXIOC_GET_DCAP_QUOTE_SIZE and
 *             SGXIOC_GEN_DCAP_QUOTE, as Occlum's DCAP library issues them
 *   "tdx"     Linux configfs-tsm: mkdir a report entry under
 *             /sys/kernel/config/tsm/report, read generation, write inblob
 *             (64 bytes), read outblob, read generation again: it must have
 *             moved by exactly our one write (Documentation/ABI/testing/
 *             configfs-tsm), else another writer raced us; rmdir
 *   "auto"    the first of gramine, occlum, tdx whose device is present
 * The paths (and the ioctl call) are settable so tests run each attester
 * against a fake and check the exact bytes exchanged. Any other quote
 * source comes in through asps_attester_wrap: the simulated platform's
 * (sim/sim.h, asps_sim_attester_new, kind "sim") is one, so the product's
 * code reaches it only through this interface.
 */
#ifndef ASPS_EVIDENCE_H
#define ASPS_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "asps/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where each TEE's interface lives (the defaults of asps_attester_opts):
 * Gramine's pseudo-files (libos/src/fs/dev/attestation.c), Occlum's SGX
 * device (src/libos/src/fs/dev_fs/mod.rs), the kernel's configfs-tsm
 * report folder (Documentation/ABI/testing/configfs-tsm). */
#define ASPS_GRAMINE_ATTESTATION_DIR "/dev/attestation"
#define ASPS_OCCLUM_SGX_DEVICE "/dev/sgx"
#define ASPS_TSM_REPORT_DIR "/sys/kernel/config/tsm/report"

/* Occlum's ioctl numbers (Occlum: src/libos/.../dev_sgx, dcap_lib). */
#define ASPS_SGXIOC_GET_DCAP_QUOTE_SIZE 0x80047307UL
#define ASPS_SGXIOC_GEN_DCAP_QUOTE 0xc0187308UL

/* The argument of SGXIOC_GEN_DCAP_QUOTE, as Occlum defines it. */
typedef struct asps_sgxioc_gen_dcap_quote_arg {
    const uint8_t *report_data; /* 64 bytes, input */
    uint32_t *quote_len;        /* in: buffer size; out: quote size */
    uint8_t *quote_buf;         /* output */
} asps_sgxioc_gen_dcap_quote_arg;

typedef struct asps_attester asps_attester;

typedef struct asps_attester_opts {
    const char *kind;            /* "auto" (default), "gramine", "occlum", "tdx" */
    /* device paths (defaults: /dev/attestation, /dev/sgx,
     * /sys/kernel/config/tsm/report) */
    const char *gramine_dir;
    const char *sgx_device;
    const char *tsm_dir;
    const char *tsm_entry;       /* use this existing report entry instead of
                                    creating (and removing) a fresh one */
    /* the ioctl call (default: ioctl(2)); tests install a fake */
    int (*ioctl_fn)(void *ctx, int fd, unsigned long req, void *arg);
    void *ioctl_ctx;
    /* configfs-tsm stand-in: called after each attribute the attester
     * writes (ATTR = "inblob"), so a test can do what the kernel does
     * (bump generation, produce outblob). NULL in production. */
    void (*tsm_after_write)(void *ctx, const char *entry, const char *attr);
    void *tsm_ctx;
} asps_attester_opts;

/* A quote over REPORT_DATA (64 bytes); *quote is malloc'd, the caller
 * frees it. The shape of asps_ratls_quote_fn. */
typedef asps_err (*asps_attester_quote_fn)(void *ctx, const uint8_t report_data[64],
                                           uint8_t **quote, size_t *quote_len, asps_errbuf *eb);

/* One of the device attesters above (ASPS_E_NO_DEVICE: none found for
 * "auto"; ASPS_E_ARG: an unknown kind). Free with asps_attester_free. */
asps_err asps_attester_new(const asps_attester_opts *o, asps_attester **out, asps_errbuf *eb);

/* An attester of the caller's own: KIND (under 16 bytes) is what
 * asps_attester_kind reports, QUOTE makes each quote from CTX, FREE_CTX
 * (may be NULL) releases CTX with the attester, also when this call
 * fails (ASPS_E_ARG, ASPS_E_NOMEM). */
asps_err asps_attester_wrap(const char *kind, asps_attester_quote_fn quote, void (*free_ctx)(void *ctx),
                            void *ctx, asps_attester **out, asps_errbuf *eb);
void asps_attester_free(asps_attester *a);
/* The kind it is ("gramine", "occlum", "tdx", or a wrapped one's); the
 * string lives as long as A. */
const char *asps_attester_kind(const asps_attester *a);

/* A quote over REPORT_DATA. Signature fits asps_ratls_quote_fn (ctx = a). */
asps_err asps_attester_quote(void *a, const uint8_t report_data[64], uint8_t **quote,
                             size_t *quote_len, asps_errbuf *eb);

#ifdef __cplusplus
}
#endif
#endif
