# Installs libagentperf with its headers, a pkg-config file and a CMake package.
include(CMakePackageConfigHelpers)

install(TARGETS agentperf EXPORT agentperfTargets
	LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
	INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
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

configure_file(${PROJECT_SOURCE_DIR}/cmake/agentperf.pc.in ${PROJECT_BINARY_DIR}/agentperf.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/agentperf.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
