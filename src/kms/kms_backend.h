/* kms_backend.h: the backends behind the one opener (kms.c). Each makes its
 * state from its configuration and hands back its operations; only kms.c
 * wraps them in a handle (asps_kms_new), so the backends never call back
 * into the handle module.
 *
 * On ASPS_OK *ops (static, outlives every handle) and *impl (the backend's
 * state, freed by ops->free) are set; on an error nothing is left to free.
 * Errors: ASPS_E_ARG for a configuration the backend cannot use,
 * ASPS_E_NOMEM; Vault also the errors of reading its token or secret_id
 * file. */
#ifndef ASPS_KMS_BACKEND_H
#define ASPS_KMS_BACKEND_H

#include "kms.h"

/* The JSON file at PATH (it need not exist yet); see kms_file.c. */
asps_err asps_kms_file_backend(const char *path, asps_kms_encoding plain, const asps_kms_ops **ops,
                               void **impl, asps_errbuf *eb);

/* For tests and benchmarks only: how many times the file backends of this
 * process have read their file, and the settle window of kms_file.c (ms;
 * default 2000) for files read from now on. */
unsigned long asps_kms_file__reads(void);
void asps_kms_file__set_settle_ms(long ms);

/* For tests: how many fetches of this process went to a fetch thread (the
 * others were answered by get_now on their caller's thread). */
unsigned long asps_kms__fetches_handed_off(void);

/* Whether a file system of this statfs f_type (linux/magic.h) is local:
 * ext2-4, XFS, Btrfs, F2FS, tmpfs, ramfs, overlayfs. A stat there waits on
 * no network, so the file backend may answer on its caller's thread. */
int asps_kms_file__fs_is_local(unsigned long f_type);
/* Whether PATH has at most 64 '/', and every prefix of it as written (each
 * folder, ".." included) and the file are on local file systems
 * (asps_kms_file__fs_is_local) and none is a symlink: what lets a get look
 * at the path on its caller's thread. May wait (statfs, lstat). */
int asps_kms_file__path_is_local(const char *path);
/* For tests: FN(CTX) runs in every get that reads the file, after its
 * stat of the path and before the read (NULL: none). */
void asps_kms_file__set_between_hook(void (*fn)(void *), void *ctx);
/* For tests: FN(CTX) runs in every get that reads the file, after the read
 * and before the second look at whether its path is local. */
void asps_kms_file__set_after_read_hook(void (*fn)(void *), void *ctx);

/* HashiCorp Vault (KV v1/v2 over libcurl); see kms_vault.c. */
asps_err asps_kms_vault_backend(const asps_kms_config *cfg, const asps_kms_ops **ops, void **impl,
                                asps_errbuf *eb);

#endif
