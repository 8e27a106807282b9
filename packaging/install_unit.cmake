# install_unit.cmake: run by `cmake --install` (install(SCRIPT) in
# CMakeLists.txt): the systemd unit with the installed paths, worked out at
# install time so that `--prefix` (make install PREFIX=...) is honoured;
# DESTDIR is honoured by file(INSTALL). Set before: ASPS_SOURCE_DIR,
# ASPS_BINARY_DIR, ASPS_REL_BINDIR, ASPS_REL_DOCDIR.
foreach(v BINDIR DOCDIR)
  if(IS_ABSOLUTE "${ASPS_REL_${v}}")
    set(ASPS_${v} "${ASPS_REL_${v}}")
  else()
    set(ASPS_${v} "${CMAKE_INSTALL_PREFIX}/${ASPS_REL_${v}}")
  endif()
endforeach()
# one staging folder per destination: installs into different places may run
# at once (the tests do)
string(MD5 dest "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
set(staged "${ASPS_BINARY_DIR}/packaging/${dest}/asps.service")
configure_file("${ASPS_SOURCE_DIR}/packaging/asps.service.in" "${staged}" @ONLY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${staged}")
