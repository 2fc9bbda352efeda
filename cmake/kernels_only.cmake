# Included by CMakeLists.txt when CITADEL_KERNELS_ONLY is on: the two libraries the core and
# model layers and their tests need, found so that a cross build (cmake/aarch64-linux-gnu.cmake)
# needs no packages of the target architecture.
if(CMAKE_CROSSCOMPILING)
  # Built to be tested under emulation, not debugged: no debug info keeps the build short.
  set(CMAKE_CXX_FLAGS_RELEASE "-O2")
  set(CMAKE_C_FLAGS_RELEASE "-O2")

  # nlohmann-json is header-only: the host's headers, copied alone into the build tree so that the
  # rest of the host's /usr/include stays out of the target's include path.
  find_path(CITADEL_HOST_JSON_INCLUDE nlohmann/json.hpp PATHS /usr/include /usr/local/include
            NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  if(NOT CITADEL_HOST_JSON_INCLUDE)
    message(FATAL_ERROR "nlohmann/json.hpp not found on the host (Debian: nlohmann-json3-dev)")
  endif()
  file(COPY ${CITADEL_HOST_JSON_INCLUDE}/nlohmann DESTINATION ${CMAKE_BINARY_DIR}/host-include)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  target_include_directories(nlohmann_json::nlohmann_json SYSTEM INTERFACE ${CMAKE_BINARY_DIR}/host-include)

  # GoogleTest from the sources Debian ships with libgtest-dev, built for the target.
  if(CITADEL_TESTS)
    set(CITADEL_GTEST_SOURCE /usr/src/googletest CACHE PATH "GoogleTest sources for cross builds")
    if(NOT EXISTS ${CITADEL_GTEST_SOURCE}/CMakeLists.txt)
      message(FATAL_ERROR "GoogleTest sources not found in ${CITADEL_GTEST_SOURCE} (Debian: libgtest-dev)")
    endif()
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    add_subdirectory(${CITADEL_GTEST_SOURCE} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
    if(NOT TARGET GTest::gtest_main)
      add_library(GTest::gtest_main ALIAS gtest_main)
    endif()
  endif()

  # GCC before 13 has no _Float16 in C++ on aarch64 but defines __FLT16_MAX__, which
  # tests/core/quant_test.cpp takes as the sign of it; __fp16 is the same IEEE half there.
  if(CMAKE_SYSTEM_PROCESSOR STREQUAL "aarch64" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
     AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    set_source_files_properties(${CMAKE_SOURCE_DIR}/tests/core/quant_test.cpp
      PROPERTIES COMPILE_DEFINITIONS "_Float16=__fp16")
  endif()
else()
  find_package(nlohmann_json 3.10 REQUIRED)
endif()
