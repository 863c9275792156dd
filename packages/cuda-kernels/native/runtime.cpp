#include "runtime.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <sys/mman.h>

#include "cpu/parallel.h"

namespace seed {

MemoryStats& memory_stats() {
  static MemoryStats s;
  return s;
}

// ---- the CPU buffer cache ----

// Large storages start on a 2 MB boundary and ask for transparent huge pages over their whole 2 MB pages (the
// tail stays in 4 KB pages, so no memory is added). Weights streamed from memory otherwise take a TLB miss
// every 4 KB, and on a VM each miss is a two-level page walk: measured in one process, 22 layers of 1B q8
// decode GEMVs streamed 10.5 GB/s on 4 KB pages and 14.3–17.2 GB/s on 2 MB pages, and packing a 180 MB f32
// weight for the GEMM (32 rows 16 KB apart, 2 KB of each at a time) went from 2.2 to 3.9 GB/s on one thread.
void* cpu_alloc_fresh(size_t padded) {
  constexpr size_t kHugePage = size_t{2} << 20;
  if (padded < kHugePage) return std::aligned_alloc(64, padded);
  void* p = nullptr;
  if (posix_memalign(&p, kHugePage, padded) != 0) return nullptr;
  // Before the first touch, so the faults take huge pages; only a hint (ignored where THP is off).
  madvise(p, padded / kHugePage * kHugePage, MADV_HUGEPAGE);
  return p;
}

namespace {
// 64-byte aligned, at least 64 bytes: the size a CPU storage of nbytes really has.
size_t cpu_padded(size_t nbytes) { return nbytes == 0 ? 64 : (nbytes + 63) / 64 * 64; }

// Freed CPU storages by padded size, for the next allocation of that size: a large one then skips the page
// faults and the kernel's zero-fill, and a small one malloc, which the stream thread freeing what the JS thread
// allocated made contend (measured: an 8 KB add went from 19.7 to 13.4 µs per op, enqueue to end).
class CpuBufferCache {
 public:
  CpuBufferCache() {
    const char* e = std::getenv("SEED_CPU_CACHE_MB");
    if (e && *e) {
      char* end = nullptr;
      const double mb = std::strtod(e, &end);
      if (end != e && mb >= 0) cap_ = static_cast<size_t>(mb * 1048576.0);
    }
  }
  // A cached buffer of exactly `padded` bytes (contents undefined), or null: the one freed last, whose lines
  // are the likeliest still in cache. (The first freed, which multimap::find gives, is the coldest: with the
  // 100M's 512-token prefill cycling through its activation buffers, each output was then written into memory
  // the caches had long dropped, 1.5 MB of write-allocate misses per op.)
  void* take(size_t padded) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = free_.upper_bound(padded);  // equal keys keep their insertion order: the last of them was freed last
    if (it == free_.begin() || std::prev(it)->first != padded) return nullptr;
    --it;
    void* p = it->second;
    free_.erase(it);
    bytes_ -= padded;
    return p;
  }
  // Keeps p for reuse, making room by freeing other cached buffers; false when it is not kept (free it).
  bool give(void* p, size_t padded) {
    if (padded > cap_) return false;
    std::lock_guard<std::mutex> lk(mu_);
    while (bytes_ + padded > cap_ && !free_.empty()) {
      auto largest = std::prev(free_.end());
      bytes_ -= largest->first;
      std::free(largest->second);
      free_.erase(largest);
    }
    free_.emplace(padded, p);
    bytes_ += padded;
    return true;
  }
  size_t bytes() {
    std::lock_guard<std::mutex> lk(mu_);
    return bytes_;
  }
  void release() {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [n, p] : free_) std::free(p);
    free_.clear();
    bytes_ = 0;
  }

 private:
  size_t cap_ = size_t(1024) << 20;
  std::mutex mu_;
  std::multimap<size_t, void*> free_;
  size_t bytes_ = 0;
};

CpuBufferCache& cpu_cache() {
  static auto* c = new CpuBufferCache();  // leaked: storages may be freed on the stream thread at exit
  return *c;
}
}  // namespace

size_t cpu_cached_bytes() { return cpu_cache().bytes(); }
void release_cpu_cache() { cpu_cache().release(); }

void Storage::release() {
  if (released_ || owner) return;  // a view of memory someone else owns (a file mapping), or a failed allocation
  released_ = true;
  if (device == kCpu) {
    if (data && !cpu_cache().give(data, cpu_padded(nbytes))) std::free(data);  // null: an output that never ran
    data = nullptr;
    memory_stats().cpu_bytes -= static_cast<int64_t>(nbytes);
    memory_stats().cpu_count -= 1;
  } else {
    cuda_free(device, data);
    memory_stats().cuda_bytes -= static_cast<int64_t>(nbytes);
    memory_stats().cuda_count -= 1;
  }
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

TensorView Tensor::view() const {
  TensorView v;
  // A CPU storage's memory is the stream thread's to assign (an op's output gets it when the op runs), so the
  // enqueuing thread leaves it out and the CPU stream fills it in just before the kernel; reading it here
  // raced with that write. A CUDA storage has its memory from the start.
  v.data = st && st->device != kCpu ? st->data : nullptr;
  v.dtype = dtype;
  v.ndim = static_cast<int>(shape.size());
  for (int i = 0; i < v.ndim; ++i) v.shape[i] = shape[i];
  v.numel = numel();
  return v;
}

size_t tensor_nbytes(DType dtype, const std::vector<int64_t>& shape) {
  if (shape.size() > static_cast<size_t>(kMaxDims)) throw std::runtime_error("tensor has more than 8 dimensions");
  // 2^40 bytes (1 TiB) is far beyond any model we load; anything larger is a corrupt header.
  const double kLimit = 1099511627776.0;
  double n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw std::runtime_error("tensor shape has a negative dimension");
    n *= static_cast<double>(d);
  }
  if (n * static_cast<double>(dtype_size(dtype)) > kLimit) throw std::runtime_error("tensor is absurdly large (over 1 TiB)");
  if (dtype == DType::Q8) {
    if (shape.size() != 2) throw std::runtime_error("q8 tensors must be 2-D [rows, cols]");
    return q8_nbytes(shape[0], shape[1]);
  }
  return static_cast<size_t>(n) * dtype_size(dtype);
}

// ---- the kernel profile (CPU) ----
namespace {
std::atomic<int> g_profile_mode{0};
std::mutex g_profile_mu;
std::map<std::string, KernelProfileEntry>& profile_table() {
  static auto* t = new std::map<std::string, KernelProfileEntry>();  // leaked: the stream thread may outlive statics
  return *t;
}

std::string profile_key(const std::string& name, const OpCall& call) {
  std::string k = name;
  for (const TensorView& v : call.in) {
    k += ' ';
    k += dtype_name(v.dtype);
    k += '[';
    for (int d = 0; d < v.ndim; ++d) k += (d ? "," : "") + std::to_string(v.shape[d]);
    k += ']';
  }
  return k;
}
}  // namespace

void set_kernel_profile_mode(int mode) { g_profile_mode.store(mode); }

std::vector<KernelProfileEntry> kernel_profile() {
  std::lock_guard<std::mutex> lk(g_profile_mu);
  std::vector<KernelProfileEntry> out;
  for (auto& [k, e] : profile_table()) out.push_back(e);
  return out;
}

void reset_kernel_profile() {
  std::lock_guard<std::mutex> lk(g_profile_mu);
  profile_table().clear();
}

// ---- the CPU stream: one thread running tasks in enqueue order ----
namespace {
class CpuStream {
 public:
  CpuStream() : thread_([this] { loop(); }) {}
  ~CpuStream() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void push(std::function<void()> task, bool answers_js) {
    std::vector<std::function<void()>> done;
    {
      std::lock_guard<std::mutex> lk(mu_);
      q_.push_back({std::move(task), answers_js});
      queued_.fetch_add(1, std::memory_order_release);
      done.swap(done_);
    }
    cv_.notify_one();  // no system call while the thread polls (it sleeps only after spin_us of an empty queue)
    // `done` (tasks that ran: their closures and call records) is freed here, on the enqueuing thread, which
    // allocated it.
  }

  // Frees the tasks that ran (on the calling thread).
  void free_done() {
    std::vector<std::function<void()>> done;
    std::lock_guard<std::mutex> lk(mu_);
    done.swap(done_);
  }  // `done` is freed here, after the lock is released

 private:
  void loop() {
    for (;;) {
      Task task;
      // Decode enqueues hundreds of short kernels per token: poll for the next before sleeping (see spin_wait).
      const bool idle = !spin_wait([this] { return queued_.load(std::memory_order_acquire) > 0; });
      // Idle: free what ran here rather than hold it until the next push.
      if (idle) free_done();
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [this] { return stop_ || !q_.empty(); });
        if (q_.empty()) return;
        task = std::move(q_.front());
        q_.pop_front();
        queued_.fetch_sub(1, std::memory_order_relaxed);
      }
      // About to answer a wait on the JS thread (a read, a sync): free what ran first, so that memory() after
      // the wait sees it gone.
      if (task.answers_js) free_done();
      task.fn();
      // A task that ran is handed back to the enqueuing thread to free (push() takes it): freed here, each op's
      // closure, vectors and call record went from this thread into the malloc arena the JS thread allocates
      // from, and the two threads queued on its lock (futex waits and wake-ups on both sides, a third of the
      // JS cost of a small op).
      std::lock_guard<std::mutex> lk(mu_);
      done_.push_back(std::move(task.fn));
    }
  }
  struct Task {
    std::function<void()> fn;
    bool answers_js = false;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> q_;
  std::vector<std::function<void()>> done_;  // tasks that ran, to be freed by push() (or here when idle)
  std::atomic<int64_t> queued_{0};  // q_.size(), for polling without the lock
  bool stop_ = false;
  std::thread thread_;
};

CpuStream& cpu_stream() {
  // Leaked on purpose: joining a thread from a static destructor at process exit can deadlock.
  static CpuStream* s = new CpuStream();
  return *s;
}
}  // namespace

void cpu_enqueue(std::function<void()> task, bool answers_js) { cpu_stream().push(std::move(task), answers_js); }
void cpu_free_finished() { cpu_stream().free_done(); }

// ---- the CPU backend: kernels run on the stream thread, in enqueue order ----
namespace {
// SEED_FILL_OUTPUTS=nan: op outputs start as NaN bytes (0xff) instead of whatever their buffer held, so that a
// kernel that leaves an element unwritten fails its conformance test rather than passing on a zeroed buffer.
bool fill_outputs_nan() {
  static const bool on = [] {
    const char* e = std::getenv("SEED_FILL_OUTPUTS");
    return e && std::strcmp(e, "nan") == 0;
  }();
  return on;
}

// A CPU storage of nbytes without memory yet, counted live from now.
std::shared_ptr<Storage> counted(size_t nbytes) {
  auto st = std::make_shared<Storage>();
  st->device = kCpu;
  st->nbytes = nbytes;
  memory_stats().cpu_bytes += static_cast<int64_t>(nbytes);
  memory_stats().cpu_count += 1;
  return st;
}

// 64-byte aligned memory for nbytes (AVX-512 loads), contents undefined (NaN bytes with SEED_FILL_OUTPUTS=nan):
// the buffer of that size freed last, else a fresh one; null when there is none to be had.
void* memory(size_t nbytes) {
  const size_t padded = cpu_padded(nbytes);
  void* p = cpu_cache().take(padded);
  if (!p) p = cpu_alloc_fresh(padded);
  if (!p) {
    release_cpu_cache();  // the cache may hold what this allocation needs
    p = cpu_alloc_fresh(padded);
  }
  if (p && fill_outputs_nan()) std::memset(p, 0xff, padded);
  return p;
}

class CpuBackend final : public Backend {
 public:
  std::shared_ptr<Storage> alloc(size_t nbytes, bool zero) override {
    void* p = memory(nbytes);
    if (!p) throw std::runtime_error("out of memory: could not allocate " + std::to_string(nbytes) + " bytes on cpu");
    auto st = counted(nbytes);  // counted live once it has memory, so a failed allocation leaves no trace
    if (zero) std::memset(p, 0, cpu_padded(nbytes));
    st->data = p;
    return st;
  }

  std::shared_ptr<Storage> alloc_output(size_t nbytes) override { return counted(nbytes); }

  // Synchronous: a fresh storage is not yet visible to any queued op.
  void upload(Storage& st, const void* src, size_t nbytes) override {
    if (nbytes > st.nbytes) throw std::runtime_error("upload larger than the tensor");
    std::memcpy(st.data, src, nbytes);
  }

  void enqueue(const OpDef& op, std::shared_ptr<OpCall> call, PreparedArgs args, std::vector<std::shared_ptr<Storage>> inputs,
               std::vector<std::shared_ptr<Storage>> outputs) override {
    KernelFn fn = op.cpu;
    std::string name = op.name;
    cpu_enqueue([fn, name, call, args, inputs, outputs]() mutable {
      // The storages this op writes: its outputs, or its first input when it works in place.
      auto poison = [&](const std::string& msg) {
        for (auto& o : outputs) o->poison = msg;
        if (outputs.empty() && !inputs.empty()) inputs[0]->poison = msg;
      };
      for (auto& in : inputs)
        if (!in->poison.empty()) return poison(in->poison);  // garbage in: skip, pass the first cause on
      // The outputs' memory, now: the JS thread enqueues a whole forward pass before the first op runs, so
      // memory taken at enqueue could never be a buffer an op before had just freed. Taken here, it is, and its
      // lines are still in cache: the 100M's 512-token prefill wrote each activation into a cold buffer and its
      // 768 × 768 q8 linear took 800 µs instead of 490.
      for (auto& o : outputs)
        if (!o->data && !(o->data = memory(o->nbytes)))
          return poison("out of memory: could not allocate " + std::to_string(o->nbytes) + " bytes on cpu");
      for (size_t i = 0; i < inputs.size(); ++i) call->in[i].data = inputs[i]->data;
      for (size_t i = 0; i < outputs.size(); ++i) call->out[i].data = outputs[i]->data;
      const int mode = g_profile_mode.load(std::memory_order_relaxed);
      const auto t0 = mode ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      try {
        fn(*call, args.get());
      } catch (const std::exception& e) {
        call->fail(e.what());
      } catch (...) {
        call->fail("unknown native error");
      }
      if (mode) {
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::string key = mode == 2 ? profile_key(name, *call) : name;
        std::lock_guard<std::mutex> lk(g_profile_mu);
        KernelProfileEntry& e = profile_table()[key];
        e.key = std::move(key);
        e.calls += 1;
        e.ms += ms;
      }
      if (call->failed()) poison(name + ": " + call->error);
      // Storages no one else holds (disposed tensors, intermediates read for the last time) go back to the
      // buffer cache at once, for the next ops' outputs. (A count of 1 cannot rise: whoever could copy a
      // reference would hold one.) Then the task lets go of the rest, so that a task that ran holds nothing
      // while it waits for the enqueuing thread to free it.
      for (auto* list : {&inputs, &outputs}) {
        for (auto& st : *list)
          if (st.use_count() == 1) {
            // use_count() is a relaxed load; the fence orders the release after the other holders' last uses
            // (their decrements are releases), as the destructor's own decrement would.
            std::atomic_thread_fence(std::memory_order_acquire);
            st->release();
          }
        list->clear();
      }
    });
  }

  void read(std::shared_ptr<Storage> st, ReadDone done) override {
    cpu_enqueue(
        [st, done]() {
          if (!st->poison.empty()) return done(nullptr, 0, st->poison);
          void* data = std::malloc(st->nbytes == 0 ? 1 : st->nbytes);
          if (!data) return done(nullptr, 0, "out of memory reading a tensor back");
          std::memcpy(data, st->data, st->nbytes);
          done(data, st->nbytes, "");
        },
        true);
  }

  void sync(SyncDone done) override {
    cpu_enqueue([done]() { done(""); }, true);
  }
};
}  // namespace

Backend& backend(int device) {
  static CpuBackend* cpu = new CpuBackend();  // leaked on purpose, like the stream it queues on
  if (device == kCpu) return *cpu;
  return cuda_backend(device);
}

int parse_device(const std::string& name) {
  if (name == "cpu") return kCpu;
  if (name == "cuda") return 0;
  if (name.rfind("cuda:", 0) == 0) {
    std::string idx = name.substr(5);
    if (!idx.empty() && idx.size() < 4 && idx.find_first_not_of("0123456789") == std::string::npos) return std::stoi(idx);
  }
  throw std::runtime_error("unknown device '" + name + "' (expected 'cpu' or 'cuda:N')");
}

std::string device_name(int device) { return device == kCpu ? "cpu" : "cuda:" + std::to_string(device); }

}  // namespace seed
