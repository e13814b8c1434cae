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
