#include "core/model_key.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>

namespace citadel {
namespace {

std::mutex g_mutex;
std::string g_key_file;  // set_model_key_file(); empty: the environment decides

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Volatile stores: the compiler may not drop the wipe of memory about to be freed.
void wipe(void* p, size_t n) {
  volatile uint8_t* b = static_cast<volatile uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) b[i] = 0;
}

}  // namespace

ModelKey::~ModelKey() { wipe(bytes.data(), bytes.size()); }

ModelKey read_model_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the model key file '" + path + "': " + std::strerror(errno));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ModelKey key;
  if (s.size() == key.bytes.size()) {
    std::memcpy(key.bytes.data(), s.data(), s.size());
    wipe(s.data(), s.size());
    return key;
  }
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  const size_t n = b == std::string::npos ? 0 : e - b + 1;
  bool ok = n == 2 * key.bytes.size();
  for (size_t i = 0; ok && i < key.bytes.size(); ++i) {
    const int hi = hex_value(s[b + 2 * i]), lo = hex_value(s[b + 2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    key.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  wipe(s.data(), s.size());
  if (!ok)
    throw std::runtime_error("the model key file '" + path + "' must hold 32 raw bytes or 64 hex digits (" +
                             std::to_string(s.size()) + " bytes found)");
  return key;
}

void write_new_model_key_file(const std::string& path) {
  ModelKey key;
  for (size_t got = 0; got < key.bytes.size();) {
    ssize_t n = ::getrandom(key.bytes.data() + got, key.bytes.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("getrandom failed: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  static const char digits[] = "0123456789abcdef";
  char text[65];
  for (size_t i = 0; i < key.bytes.size(); ++i) {
    text[2 * i] = digits[key.bytes[i] >> 4];
    text[2 * i + 1] = digits[key.bytes[i] & 15];
  }
  text[64] = '\n';
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    wipe(text, sizeof text);
    throw std::runtime_error("cannot create the key file '" + path + "': " + std::strerror(errno) +
                             (errno == EEXIST ? " (an existing key is never overwritten)" : ""));
  }
  const bool ok = ::write(fd, text, sizeof text) == static_cast<ssize_t>(sizeof text) && ::fsync(fd) == 0;
  const int err = errno;
  wipe(text, sizeof text);
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    throw std::runtime_error("cannot write the key file '" + path + "': " + std::strerror(err));
  }
}

void set_model_key_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_key_file = path;
}

std::string model_key_file() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_key_file.empty()) return g_key_file;
  }
  const char* env = std::getenv("CITADEL_MODEL_KEY_FILE");
  return env ? env : "";
}

}  // namespace citadel
