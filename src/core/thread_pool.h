// A fixed set of worker threads that run one data-parallel job at a time; the calling thread
// takes part. Waiting workers sleep (after a short spin), so more threads than cores degrades
// gracefully instead of collapsing.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace citadel {

class ThreadPool {
 public:
  // n_threads counts the caller; 0 picks the number of cores available to the process.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // Runs fn(thread_index, n_threads) on every thread and returns when all have finished.
  // Not re-entrant: one job at a time.
  void run(const std::function<void(int, int)>& fn);
  // Calls fn on contiguous ranges covering [0, n), each aligned to `grain`, spread over the
  // threads (handed out dynamically, so a slow or descheduled thread does not hold up the rest).
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

  static int default_threads();

 private:
  void worker(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
};

}  // namespace citadel
