/* rpc_version.h: the RPC libraries' run-time versions (for `asps version`
 * and the banner; nothing outside src/rpc includes a gRPC header). */
#ifndef ASPS_RPC_VERSION_H
#define ASPS_RPC_VERSION_H

/* gRPC core's grpc_version_string(): "29.0.0" for Debian 12's gRPC 1.51
 * (core has its own numbering). */
const char *asps_rpc_grpc_version(void);
/* protobuf-c's protobuf_c_version(): "1.4.1". */
const char *asps_rpc_protobuf_c_version(void);

#endif
