// Where tests find the repository and the shared reference data (../shared by default).
#pragma once
#include <gtest/gtest.h>

#include <string>

namespace citadel::test {

std::string source_dir();
std::string citadel_binary();
// $CITADEL_TEST_SHARED, else <repo>/../shared.
std::string shared_dir();
// $CITADEL_TEST_MODELS, else <shared>/models.
std::string models_dir();
bool file_exists(const std::string& path);
std::string read_file(const std::string& path);
// Runs a shell command, returns its stdout; *status gets the exit code.
std::string run_command(const std::string& cmd, int* status = nullptr);

}  // namespace citadel::test

// Skips the current test with a clear message when a reference file is absent.
#define REQUIRE_FILE(path)                                                                         \
  do {                                                                                             \
    if (!::citadel::test::file_exists(path)) GTEST_SKIP() << "reference file absent: " << (path); \
  } while (0)
