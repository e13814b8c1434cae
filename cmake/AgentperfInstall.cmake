# Installs libagentperf with its headers, a pkg-config file and a CMake package.
include(CMakePackageConfigHelpers)

install(TARGETS agentperf EXPORT agentperfTargets
	LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
	INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The runners module goes where the installed libagentperf looks for it: agentperf/ beside it.
install(TARGETS agentperf_runners
	LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/agentperf)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/agentperf
	DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT agentperfTargets NAMESPACE agentperf::
	DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/agentperf)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/agentperfConfig.cmake.in
	${PROJECT_BINARY_DIR}/agentperfConfig.cmake
	INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/agentperf)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/agentperfConfigVersion.cmake
	COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/agentperfConfig.cmake
	${PROJECT_BINARY_DIR}/agentperfConfigVersion.cmake
	DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/agentperf)

# The .pc file finds its prefix from its own location (${pcfiledir}), so that
# `cmake --install --prefix X` gives a correct file for any X, not only for the
# CMAKE_INSTALL_PREFIX seen at configure time.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
	set(AGP_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
	set(AGP_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
	file(RELATIVE_PATH AGP_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
	string(REGEX REPLACE "/$" "" AGP_PC_UP "${AGP_PC_UP}")
	set(AGP_PC_PREFIX "\${pcfiledir}/${AGP_PC_UP}")
	set(AGP_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
	set(AGP_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
	set(AGP_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/agentperf.pc.in ${PROJECT_BINARY_DIR}/agentperf.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/agentperf.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Installed programs find libagentperf from any prefix: RUNPATH $ORIGIN/../<libdir>
# (bin/ and sbin/ are both one level below the prefix). A system-path install,
# such as the Debian package, turns it off: the loader's default path finds the library.
if(AGP_INSTALL_RPATH)
	if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
		set(AGP_RUNPATH "${CMAKE_INSTALL_LIBDIR}")
	else()
		set(AGP_RUNPATH "\$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
	endif()
	set_target_properties(agentperfd agentperf_cli PROPERTIES INSTALL_RPATH "${AGP_RUNPATH}")
endif()

# What a system install has beside the programs: man pages, bash completion, and the
# service with its user and folders (systemd looks for these under <prefix>/lib).
install(FILES ${PROJECT_SOURCE_DIR}/man/agentperf.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/man/agentperf-config.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${PROJECT_SOURCE_DIR}/man/agentperfd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${PROJECT_SOURCE_DIR}/contrib/bash-completion/agentperf
	DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# Relative folders are below the install prefix. The unit names agentperfd by the prefix
# of the install itself (`cmake --install --prefix X` included), so it is made then.
set(AGP_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
	"Where agentperfd.service is installed (relative: below the prefix)")
set(AGP_SYSUSERS_DIR "lib/sysusers.d" CACHE STRING "Where the sysusers.d entry is installed")
set(AGP_TMPFILES_DIR "lib/tmpfiles.d" CACHE STRING "Where the tmpfiles.d entry is installed")
install(CODE "
	set(CMAKE_INSTALL_FULL_SBINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}\")
	configure_file(\"${PROJECT_SOURCE_DIR}/contrib/systemd/agentperfd.service.in\"
		\"${PROJECT_BINARY_DIR}/agentperfd.service\" @ONLY)")
install(FILES ${PROJECT_BINARY_DIR}/agentperfd.service DESTINATION ${AGP_SYSTEMD_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/contrib/systemd/agentperf.sysusers
	DESTINATION ${AGP_SYSUSERS_DIR} RENAME agentperf.conf)
install(FILES ${PROJECT_SOURCE_DIR}/contrib/systemd/agentperf.tmpfiles
	DESTINATION ${AGP_TMPFILES_DIR} RENAME agentperf.conf)
