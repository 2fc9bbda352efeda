#include "test_paths.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace citadel::test {

std::string source_dir() { return CITADEL_SOURCE_DIR; }
std::string citadel_binary() { return CITADEL_BINARY; }

std::string shared_dir() {
  if (const char* s = std::getenv("CITADEL_TEST_SHARED")) return s;
  return source_dir() + "/../shared";
}

std::string models_dir() {
  if (const char* s = std::getenv("CITADEL_TEST_MODELS")) return s;
  return shared_dir() + "/models";
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string run_command(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

}  // namespace citadel::test
