#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace seed {
namespace {

class Pool {
 public:
  explicit Pool(int threads) { resize(threads); }
  ~Pool() { stop(); }

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    stop();
    stopping_ = false;
    for (int i = 1; i < std::max(1, threads); ++i) workers_.emplace_back([this] { loop(); });
  }

  void run(int64_t chunks, const std::function<void(int64_t)>& job) {
    if (chunks <= 1 || workers_.empty()) {
      for (int64_t c = 0; c < chunks; ++c) job(c);
      return;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      // next_ is parked at a huge value between runs, so a worker still leaving the previous run
      // cannot claim a chunk until everything below is in place.
      job_ = &job;
      chunks_.store(chunks);
      pending_ = chunks;
      next_.store(0);
      ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [this] { return pending_ == 0; });
    next_.store(kParked);
    job_ = nullptr;
  }

 private:
  void work() {
    for (;;) {
      int64_t c = next_.fetch_add(1);
      if (c >= chunks_) return;
      (*job_.load())(c);
      std::lock_guard<std::mutex> lk(mu_);
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || (generation_ != seen && job_ != nullptr); });
        if (stopping_) return;
        seen = generation_;
      }
      work();
    }
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::atomic<const std::function<void(int64_t)>*> job_{nullptr};
  static constexpr int64_t kParked = INT64_MAX / 2;
  std::atomic<int64_t> next_{kParked}, chunks_{0};
  int64_t pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(std::min(n, 64u));
}

Pool& pool() {
  // Leaked on purpose, like the CPU stream: at process exit a kernel may still be running on it.
  static Pool* p = new Pool(default_threads());
  return *p;
}

}  // namespace

int cpu_threads() { return pool().threads(); }
void set_cpu_threads(int n) { pool().resize(std::max(1, std::min(n, 256))); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t threads = pool().threads();
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, threads * 4);
  if (chunks <= 1) { fn(0, n); return; }
  int64_t per = (n + chunks - 1) / chunks;
  chunks = (n + per - 1) / per;
  pool().run(chunks, [&](int64_t c) {
    int64_t b = c * per, e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
}

const CpuFeatures& cpu_features() {
  static CpuFeatures f = [] {
    CpuFeatures r;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    r.avx2 = __builtin_cpu_supports("avx2");
    r.fma = __builtin_cpu_supports("fma");
    r.f16c = __builtin_cpu_supports("f16c");
    r.avx512f = __builtin_cpu_supports("avx512f");
    r.avx512bw = __builtin_cpu_supports("avx512bw");
    r.avx512vl = __builtin_cpu_supports("avx512vl");
    r.avx512bf16 = __builtin_cpu_supports("avx512bf16");
    r.avx512vnni = __builtin_cpu_supports("avx512vnni");
#endif
    return r;
  }();
  return f;
}

}  // namespace seed
