/* asps/occlum_grpc_ratls.h: Occlum's grpc_ratls C API, implemented on asps
 * (library grpc_ratls_client / grpc_ratls_server). Same signatures and
 * return conventions: 0 on success, -1 on failure. See
 * src/compat/occlum_grpc_ratls.c for the environment it reads. */
#ifndef ASPS_OCCLUM_GRPC_RATLS_H
#define ASPS_OCCLUM_GRPC_RATLS_H

#ifdef __cplusplus
extern "C" {
#endif

/* client: get secret NAME (base64 on the wire, decoded) into SECRET_FILE */
int grpc_ratls_get_secret(const char *server_addr, /* "localhost:50051" */
                          const char *config_json, /* ra_config the server must match */
                          const char *name, const char *secret_file);

/* client: the same into SECRET_BUF; *buf_len: in the buffer size, out the
 * secret's size */
int grpc_ratls_get_secret_to_buf(const char *server_addr, const char *config_json, const char *name,
                                 char *secret_buf, unsigned int *buf_len);

/* server: serve secret_json (name -> base64) to clients whose evidence
 * matches config_json; blocks until SIGTERM/SIGINT */
int grpc_ratls_start_server(const char *server_addr, const char *config_json, const char *secret_json);

#ifdef __cplusplus
}
#endif
#endif
