/* rpc_version.c: see rpc_version.h. */
#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "rpc_version.h"

const char *asps_rpc_grpc_version(void) { return grpc_version_string(); }
const char *asps_rpc_protobuf_c_version(void) { return protobuf_c_version(); }
