# rpc.cmake: the RPC layer (gRPC C core + protobuf-c) as the static library
# asps_rpc. Included from CMakeLists.txt; nothing outside src/rpc includes a
# gRPC or protobuf-c header, so this is the only place that knows about them.
#
# Generated protobuf-c sources go to ${CMAKE_BINARY_DIR}/proto and are rebuilt
# when a .proto changes.

pkg_check_modules(GRPC REQUIRED IMPORTED_TARGET grpc)
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
find_program(ASPS_PROTOC_C NAMES protoc-c protoc-gen-c REQUIRED)

set(ASPS_PROTO_DIR ${CMAKE_SOURCE_DIR}/proto)
set(ASPS_PROTO_OUT ${CMAKE_BINARY_DIR}/proto)
file(MAKE_DIRECTORY ${ASPS_PROTO_OUT})

set(ASPS_PROTO_SOURCES)
foreach(p asps ratls secretmanager health)
  set(out_c ${ASPS_PROTO_OUT}/${p}.pb-c.c)
  set(out_h ${ASPS_PROTO_OUT}/${p}.pb-c.h)
  add_custom_command(
    OUTPUT ${out_c} ${out_h}
    COMMAND ${ASPS_PROTOC_C} --c_out=${ASPS_PROTO_OUT} -I${ASPS_PROTO_DIR} ${ASPS_PROTO_DIR}/${p}.proto
    DEPENDS ${ASPS_PROTO_DIR}/${p}.proto
    COMMENT "protoc-c ${p}.proto"
    VERBATIM)
  list(APPEND ASPS_PROTO_SOURCES ${out_c})
endforeach()

# The rpc layer: the service and everything below it, never the client.
set(ASPS_RPC_DIRS ${CMAKE_SOURCE_DIR}/src/rpc)
foreach(l service attest collateral verify parse policy kms base)
  list(APPEND ASPS_RPC_DIRS ${CMAKE_SOURCE_DIR}/src/${l})
endforeach()
file(GLOB ASPS_RPC_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/rpc/*.c)
add_library(asps_rpc STATIC ${ASPS_RPC_SOURCES} ${ASPS_PROTO_SOURCES})
target_include_directories(asps_rpc
  PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
  PRIVATE ${ASPS_RPC_DIRS} ${ASPS_PROTO_OUT})
target_link_libraries(asps_rpc
  PUBLIC asps_core Threads::Threads
  PRIVATE PkgConfig::GRPC PkgConfig::PROTOBUF_C)

# The client layer (the workload side: attest, connect, fetch; init-RA),
# above rpc.
file(GLOB ASPS_CLIENT_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/client/*.c)
add_library(asps_client STATIC ${ASPS_CLIENT_SOURCES})
target_include_directories(asps_client
  PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
  PRIVATE ${CMAKE_SOURCE_DIR}/src/client ${CMAKE_SOURCE_DIR}/sim ${ASPS_RPC_DIRS})
# asps_sim: only through the attester interface (env_attester.c)
target_link_libraries(asps_client PUBLIC asps_rpc asps_sim asps_core)

# A tiny standalone server for the Python interop test (prints its port).
add_executable(rpc_echo_server ${CMAKE_SOURCE_DIR}/tests/rpc_echo_server.c)
target_include_directories(rpc_echo_server PRIVATE ${ASPS_ALL_DIRS})
target_link_libraries(rpc_echo_server PRIVATE asps_rpc asps_core)
