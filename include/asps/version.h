/* asps/version.h: the version of asps these headers belong to. The one
 * place it is written: CMakeLists.txt reads its project version from here,
 * so the library, `asps --version` and asps.pc say the same (a test checks
 * them against each other). Semantic versioning: MAJOR changes break the
 * public API or ABI (and the shared library's SONAME, libasps.so.MAJOR). */
#ifndef ASPS_VERSION_H
#define ASPS_VERSION_H

#define ASPS_VERSION_MAJOR 0
#define ASPS_VERSION_MINOR 1
#define ASPS_VERSION_PATCH 0
#define ASPS_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons */
#define ASPS_VERSION_NUMBER (ASPS_VERSION_MAJOR * 10000 + ASPS_VERSION_MINOR * 100 + ASPS_VERSION_PATCH)

#endif
