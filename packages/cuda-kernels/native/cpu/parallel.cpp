#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace seed {
namespace {

class Pool {
 public:
  explicit Pool(int threads) { resize(threads); }
  ~Pool() { stop(); }

  // Read from the JS thread too (info()), while resize() may run on the stream thread.
  int threads() const { return threads_.load(); }

  void resize(int threads) {
    stop();
    stopping_ = false;
    for (int i = 1; i < std::max(1, threads); ++i) workers_.emplace_back([this] { loop(); });
    threads_.store(static_cast<int>(workers_.size()) + 1);
  }

  void run(int64_t chunks, const std::function<void(int64_t)>& job) {
    if (chunks <= 1 || workers_.empty()) {
      for (int64_t c = 0; c < chunks; ++c) job(c);
      return;
    }
    uint32_t id;
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = &job;
      chunks_ = chunks;
      pending_.store(chunks);
      id = static_cast<uint32_t>(generation_.load() + 1);
      claim_.store(static_cast<uint64_t>(id) << 32);  // run `id`, next chunk 0
      generation_.store(id);
    }
    cv_.notify_all();  // no system call unless a worker sleeps (one still spinning sees generation_ change)
    work(id, &job, chunks);
    // The workers' last chunks usually end within microseconds of ours: wait for them spinning first (a futex
    // sleep and wake-up costs tens of microseconds on a VM), then sleeping.
    if (!spin_wait([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [this] { return pending_.load() == 0; });
    }
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = nullptr;
      error = std::exchange(error_, nullptr);
    }
    // Only now, with every chunk of the run finished, may the caller unwind its buffers.
    if (error) std::rethrow_exception(error);
  }

 private:
  // Claims and runs chunks of run `id` until none is left. A claim is one compare-exchange on (run id, next
  // chunk), so a thread that arrives late, after run `id` ended or even after the next run began, claims
  // nothing: it sees another id, or no chunk left, and leaves. (With the index and the chunk count read
  // separately, such a thread once ran a chunk of the next run twice, and that run returned while a copy of
  // the chunk still wrote to buffers its caller had freed.)
  void work(uint32_t id, const std::function<void(int64_t)>* job, int64_t chunks) {
    uint64_t v = claim_.load();
    for (;;) {
      const int64_t c = static_cast<int64_t>(v & 0xffffffffu);
#ifdef SEED_POOL_CLAIM_DELAY_US
      // Only in test/pool-stress.cpp's build: a pause where a late thread is most exposed to the next run.
      if (c % 3 == 2) std::this_thread::sleep_for(std::chrono::microseconds(SEED_POOL_CLAIM_DELAY_US));
#endif
      if ((v >> 32) != id || c >= chunks) return;
      if (!claim_.compare_exchange_weak(v, v + 1)) continue;  // v now holds the current value
      // A chunk that throws (std::bad_alloc from a kernel's buffers) must not leave the run: on the caller
      // that would unwind the job and its buffers while workers still run chunks of it; on a worker it would
      // terminate the process. The first exception is kept and rethrown by run() once every chunk is done.
      try {
        (*job)(c);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!error_) error_ = std::current_exception();
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(mu_);  // orders the notify after a waiter's check of pending_
        done_cv_.notify_all();
      }
      v = claim_.load();
    }
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      uint32_t id;
      const std::function<void(int64_t)>* job;
      int64_t chunks;
      // The next run usually follows within microseconds (the next op of a decode step): spin on generation_
      // first, then sleep.
      spin_wait([&] { return stopping_flag_.load(std::memory_order_relaxed) || generation_.load() != seen; });
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || (generation_ != seen && job_ != nullptr); });
        if (stopping_) return;
        seen = generation_;
        // Read together under the lock, so they belong to run `id`; used only once a claim on `id` succeeds.
        id = static_cast<uint32_t>(generation_);
        job = job_;
        chunks = chunks_;
      }
      work(id, job, chunks);
    }
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
      stopping_flag_.store(true);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    threads_.store(1);
    stopping_flag_.store(false);
  }

  std::vector<std::thread> workers_;
  std::atomic<int> threads_{1};  // workers_.size() + 1, the caller
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  // job_ and chunks_ are guarded by mu_; claim_ is (run id << 32) | next chunk, chunks < 2^32.
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t chunks_ = 0;
  std::exception_ptr error_;  // the current run's first exception (guarded by mu_)
  std::atomic<uint64_t> claim_{0};
  // Chunks of the current run not finished yet; generation_ is the current run's id (written under mu_, also
  // read by spinning threads without it); stopping_flag_ mirrors stopping_ for them.
  std::atomic<int64_t> pending_{0};
  std::atomic<uint64_t> generation_{0};
  bool stopping_ = false;
  std::atomic<bool> stopping_flag_{false};
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

int64_t spin_us() {
  static const int64_t us = [] {
    const char* e = std::getenv("SEED_POOL_SPIN_US");
    return e ? std::max<int64_t>(0, std::strtoll(e, nullptr, 10)) : int64_t(100);
  }();
  return us;
}

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

namespace {

// AMX-TILE and AMX-INT8 (CPUID leaf 7: EDX bits 24 and 25), and Linux's per-process permission for the tile
// data state (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA; kernels before 5.16 refuse it). The
// permission covers every thread of the process, including pool threads started earlier.
bool detect_amx_int8() {
#if defined(__x86_64__) && defined(__linux__)
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  if (!((d >> 24) & 1) || !((d >> 25) & 1)) return false;
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

CpuFeatures detect() {
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
  r.amx_int8 = detect_amx_int8();
  return r;
}

// The hardware's features masked to each path (index = CpuPath), and the best path the hardware has.
struct PathTable {
  CpuFeatures hw, masked[4];
  CpuPath best = CpuPath::Scalar;
  const char* env = "";
  bool env_valid = true;
  CpuPath initial = CpuPath::Scalar;
};

const PathTable& table() {
  static const PathTable t = [] {
    PathTable r;
    r.hw = detect();
    const bool avx2 = r.hw.avx2 && r.hw.fma && r.hw.f16c;
    const bool avx512 = avx2 && r.hw.avx512f && r.hw.avx512bw && r.hw.avx512vl;
    const bool amx = avx512 && r.hw.avx512vnni && r.hw.amx_int8;  // every AMX-INT8 CPU has VNNI; the kernel uses it
    r.best = amx ? CpuPath::Amx : avx512 ? CpuPath::Avx512 : (avx2 ? CpuPath::Avx2 : CpuPath::Scalar);
    CpuFeatures a2 = r.hw;
    a2.avx512f = a2.avx512bw = a2.avx512vl = a2.avx512bf16 = a2.avx512vnni = a2.amx_int8 = false;
    if (!avx2) a2.avx2 = a2.fma = a2.f16c = false;  // a partial set is not a path: use none of it
    CpuFeatures a512 = avx512 ? r.hw : a2;
    a512.amx_int8 = false;
    r.masked[0] = CpuFeatures{};
    r.masked[1] = a2;
    r.masked[2] = a512;
    r.masked[3] = amx ? r.hw : a512;
    r.initial = r.best;
    if (const char* e = std::getenv("SEED_CPU_PATH"); e && *e) {
      r.env = e;
      CpuPath cap;
      r.env_valid = parse_cpu_path(e, &cap);
      if (r.env_valid) r.initial = std::min(cap, r.best);
    }
    return r;
  }();
  return t;
}

std::atomic<int>& current_path() {
  static std::atomic<int> p{static_cast<int>(table().initial)};
  return p;
}

}  // namespace

const char* cpu_path_name(CpuPath p) {
  switch (p) {
    case CpuPath::Amx: return "amx";
    case CpuPath::Avx512: return "avx512";
    case CpuPath::Avx2: return "avx2";
    default: return "scalar";
  }
}

bool parse_cpu_path(const char* s, CpuPath* out) {
  if (std::strcmp(s, "scalar") == 0) *out = CpuPath::Scalar;
  else if (std::strcmp(s, "avx2") == 0) *out = CpuPath::Avx2;
  else if (std::strcmp(s, "avx512") == 0) *out = CpuPath::Avx512;
  else if (std::strcmp(s, "amx") == 0) *out = CpuPath::Amx;
  else return false;
  return true;
}

const CpuFeatures& cpu_features() { return table().masked[current_path().load(std::memory_order_relaxed)]; }
const CpuFeatures& cpu_hw_features() { return table().hw; }
CpuPath cpu_path() { return static_cast<CpuPath>(current_path().load(std::memory_order_relaxed)); }
CpuPath cpu_best_path() { return table().best; }
CpuPath set_cpu_path_cap(CpuPath cap) {
  const CpuPath p = std::min(cap, table().best);
  current_path().store(static_cast<int>(p), std::memory_order_relaxed);
  return p;
}
const char* cpu_path_env() { return table().env; }
bool cpu_path_env_valid() { return table().env_valid; }

}  // namespace seed
