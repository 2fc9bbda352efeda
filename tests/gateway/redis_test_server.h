// A redis-server of a test's own on a free port, stopped with the test (tests of the response
// cache and of the rate limits in Redis).
#pragma once
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace citadel {

class RedisServer {
 public:
  RedisServer() : port_(20000 + getpid() % 20000) { start(); }
  ~RedisServer() { stop(); }
  void start() {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--save", "", "--appendonly", "no", "--bind",
             "127.0.0.1", "--dir", "/tmp", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {  // until it accepts connections
      if (std::system(("redis-cli -p " + std::to_string(port_) + " ping >/dev/null 2>&1").c_str()) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string url(int db = 3) const { return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db); }
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

inline bool have_redis() { return std::system("command -v redis-server >/dev/null 2>&1") == 0; }

}  // namespace citadel
