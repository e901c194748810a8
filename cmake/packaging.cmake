# Debian packages of the sync server and of the seller's command, made by `cpack -G DEB` in
# the build tree (scripts/package.sh makes and checks them), into build/packages/:
#   libreta-server  /usr/bin/libreta-server, its systemd unit, /etc/libreta/libreta-server.toml
#                   (a conffile), libreta-server(8); postinst makes the system user libreta
#   libreta         /usr/bin/libreta, libreta(1)
# Each package is one install component (server, cli). The C API's rules (c-api/) install
# into the default component, which neither package takes: its header and liblibreta.so are
# installed by `cmake --install`, as before.
#
# These rules are EXCLUDE_FROM_ALL: a plain `cmake --install build --prefix DIR` installs the
# C API alone and never writes into /etc or /lib/systemd; the packages install the programs.

include(GNUInstallDirs)

set(LIBRETA_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

# ---- Man pages, gzipped as Debian ships them ----------------------------------------------
# Made at configure time from the troff sources (and made again when one changes), so that
# packaging needs no build target besides the two programs. -n keeps the name and time out
# of the archive: the same source gives the same package.
find_program(LIBRETA_GZIP gzip REQUIRED)
set(LIBRETA_MAN_DIR ${PROJECT_BINARY_DIR}/packaging/man)
file(MAKE_DIRECTORY ${LIBRETA_MAN_DIR})
foreach(page libreta-server.8 libreta.1)
  set(source ${LIBRETA_PACKAGING_DIR}/man/${page})
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source})
  execute_process(COMMAND ${LIBRETA_GZIP} -9 -n -c ${source}
                  OUTPUT_FILE ${LIBRETA_MAN_DIR}/${page}.gz
                  RESULT_VARIABLE gzip_result)
  if(NOT gzip_result EQUAL 0)
    message(FATAL_ERROR "cannot gzip the man page ${source}")
  endif()
endforeach()

# ---- server: libreta-server ---------------------------------------------------------------
install(TARGETS libreta-server
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server EXCLUDE_FROM_ALL)
# Absolute destinations: Debian's places, whatever the prefix (the package's is /usr).
install(FILES ${LIBRETA_PACKAGING_DIR}/libreta-server.service
        DESTINATION /lib/systemd/system COMPONENT server EXCLUDE_FROM_ALL)
install(FILES ${LIBRETA_PACKAGING_DIR}/libreta-server.toml
        DESTINATION /etc/libreta COMPONENT server EXCLUDE_FROM_ALL)
install(FILES ${LIBRETA_MAN_DIR}/libreta-server.8.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT server EXCLUDE_FROM_ALL)
install(FILES ${LIBRETA_PACKAGING_DIR}/copyright
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/libreta-server COMPONENT server
        EXCLUDE_FROM_ALL)

# ---- cli: libreta -------------------------------------------------------------------------
install(TARGETS libreta
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli EXCLUDE_FROM_ALL)
install(FILES ${LIBRETA_MAN_DIR}/libreta.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT cli EXCLUDE_FROM_ALL)
install(FILES ${LIBRETA_PACKAGING_DIR}/copyright
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/libreta COMPONENT cli EXCLUDE_FROM_ALL)

# ---- CPack --------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME libreta)
set(CPACK_PACKAGE_VENDOR "the libreta authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "libreta <libreta@localhost>")
# Out of the source tree, next to the build that made them.
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
# The build is RelWithDebInfo: the packages take the programs without their debug sections
# (3 MB each instead of 170).
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server cli)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # name_version_arch.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "libreta <libreta@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends on the shared libraries the programs link, as dpkg-shlibdeps finds them.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Maintainer scripts 0755 and the conffiles list 0644, whatever their mode in the checkout.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME libreta-server)
# Added to what dpkg-shlibdeps finds; postinst makes the system user with adduser.
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_SERVER_DESCRIPTION
    "libreta sync server
The central copy of a sales team's customer book: it syncs each seller's offline device
field by field over WebSocket (TLS with a certificate), keeps the losing side of every
concurrent edit in a conflict inbox, and manages the devices' access tokens.
It runs as the systemd service libreta-server, under the system user libreta, with its
database in /var/lib/libreta-server.")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    ${LIBRETA_PACKAGING_DIR}/debian/libreta-server/postinst
    ${LIBRETA_PACKAGING_DIR}/debian/libreta-server/prerm
    ${LIBRETA_PACKAGING_DIR}/debian/libreta-server/postrm
    ${LIBRETA_PACKAGING_DIR}/debian/libreta-server/conffiles)

set(CPACK_DEBIAN_CLI_PACKAGE_NAME libreta)
set(CPACK_DEBIAN_CLI_DESCRIPTION
    "libreta customer book for sellers, offline too
The seller's command: customers and prospects, contacts, interactions, purchases,
follow-ups and reminders in a local book that works with no network, synced with the
office's libreta-server when a connection appears; CSV import, CSV, vCard and iCalendar
export.")

include(CPack)
