// The CUDA backend: lazy device initialisation, one stream per device, stream-ordered allocation, and a
// completion thread per device. Reads and synchronizes record an event on the stream and hand it to that
// thread, which waits with cudaEventSynchronize: it returns (with the error) even after a device fault,
// where host functions queued with cudaLaunchHostFunc would never run and a promise would hang. No CUDA
// call ever runs inside a CUDA host callback (there are none), and storages are never released there.
// Device→host copies go through pinned staging buffers, so they are truly asynchronous and the JS thread
// never waits for the GPU. Every entry point calls cudaSetDevice first: several GPUs may be in use.
//
// Errors found in the data (an id out of range, see DeviceStatus) are per op, as on the CPU: an op whose
// kernels ask for OpCall::device_status() gets its own status slot (a device int, copied after the op into
// a pinned host int). Its outputs, and everything computed from them, carry the slot; a read reports
// "<op>: <message>" when a slot it depends on is non-zero. Slots are dropped from a storage's list once
// they are known to be zero, so the lists stay short.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "op_table.h"
#include "runtime.h"

#ifdef SEED_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace seed {

#ifdef SEED_HAVE_CUDA

namespace {
std::string cuda_msg(cudaError_t e, const char* what) { return std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e); }

struct Probe {
  std::once_flag once;
  int count = 0;
  std::string reason;
};
Probe& probe() {
  static Probe p;
  std::call_once(p.once, [] {
    cudaError_t e = cudaGetDeviceCount(&p.count);
    if (e != cudaSuccess) {
      p.count = 0;
      int driver = 0;
      cudaDriverGetVersion(&driver);
      p.reason = std::string(cudaGetErrorString(e)) + " (driver version " + std::to_string(driver) + ")";
      cudaGetLastError();
    } else if (p.count == 0) {
      p.reason = "no CUDA device found";
    }
    if (p.count > 16) p.count = 16;
  });
  return p;
}

// A thread that waits for events recorded on a device's stream and then runs the job queued with each.
class Completer {
 public:
  using Job = std::function<void(cudaError_t)>;
  explicit Completer(int device) : device_(device), thread_([this] { loop(); }) {}
  void push(cudaEvent_t ev, Job job) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      q_.emplace_back(ev, std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    cudaSetDevice(device_);
    for (;;) {
      std::pair<cudaEvent_t, Job> item;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [this] { return !q_.empty(); });
        item = std::move(q_.front());
        q_.pop_front();
      }
      const cudaError_t e = cudaEventSynchronize(item.first);
      cudaEventDestroy(item.first);
      item.second(e);
    }
  }
  int device_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<cudaEvent_t, Job>> q_;
  std::thread thread_;  // runs for the life of the process (the backend is never destroyed)
};

// Status slots: device ints in chunks, mirrored into pinned host ints after each op that used one.
constexpr int kSlotChunk = 256;
}  // namespace

struct CudaStatus {
  int* dev = nullptr;            // the kernels' status int
  volatile int* host = nullptr;  // pinned copy, final once the op has run
  uint64_t seq = 0;              // the op's position in its device's queue
  std::string op;
  std::function<void(CudaStatus*)> release;  // returns the slot to its pool
  ~CudaStatus() { if (release) release(this); }
};

namespace {
class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    cudaError_t e = cudaSetDevice(device);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
      cudaGetLastError();
      throw std::runtime_error(cuda_msg(e, "device initialisation") + " on " + device_name(device));
    }
    completer_ = new Completer(device);  // leaked with the backend: its thread must outlive every job
  }

  // Zero-filled (an op's outputs too): no CUDA kernel has been checked against unwritten outputs on a GPU yet.
  std::shared_ptr<Storage> alloc_output(size_t nbytes) override { return alloc(nbytes, true); }
  std::shared_ptr<Storage> alloc(size_t nbytes, bool /*zero*/) override {
    usable();
    auto st = std::make_shared<Storage>();
    st->device = device_;
    st->nbytes = nbytes;
    void* p = nullptr;
    cudaError_t e = cudaMallocAsync(&p, nbytes == 0 ? 16 : nbytes, stream_);
    if (e == cudaSuccess) e = cudaMemsetAsync(p, 0, nbytes, stream_);
    if (e != cudaSuccess) {
      cudaGetLastError();
      st->owner = std::make_shared<int>(0);  // nothing to free through the destructor
      if (p) cudaFreeAsync(p, stream_);
      throw std::runtime_error("out of memory: could not allocate " + std::to_string(nbytes) + " bytes on " + device_name(device_) + " (" + cudaGetErrorString(e) + ")");
    }
    st->data = p;
    memory_stats().cuda_bytes += static_cast<int64_t>(nbytes);
    memory_stats().cuda_count += 1;
    return st;
  }

  void free(void* p) {
    cudaSetDevice(device_);
    cudaFreeAsync(p, stream_);  // stream-ordered: after every op already queued that uses it
  }

  // Staged through pinned memory so the copy is asynchronous; the staging buffer goes back to the pool
  // once the copy has run.
  void upload(Storage& st, const void* src, size_t nbytes) override {
    usable();
    if (nbytes > st.nbytes) throw std::runtime_error("upload larger than the tensor");
    if (nbytes == 0) return;
    Pinned buf = take_pinned(nbytes);
    std::memcpy(buf.p, src, nbytes);
    cudaError_t e = cudaMemcpyAsync(st.data, buf.p, nbytes, cudaMemcpyHostToDevice, stream_);
    if (e != cudaSuccess) {
      give_pinned(buf);
      throw std::runtime_error(cuda_msg(e, "upload"));
    }
    after_queued_work("upload", [this, buf](const std::string&) { give_pinned(buf); });
  }

  void enqueue(const OpDef& op, std::shared_ptr<OpCall> call, PreparedArgs args, std::vector<std::shared_ptr<Storage>> inputs,
               std::vector<std::shared_ptr<Storage>> outputs) override {
    usable();
    std::vector<std::shared_ptr<Storage>>& written = outputs.empty() ? inputs : outputs;  // in place: inputs[0]
    const size_t nwritten = outputs.empty() ? std::min<size_t>(1, inputs.size()) : outputs.size();
    // Launch-time poison (a refused launch upstream) passes on without running the op, as on the CPU.
    for (auto& in : inputs) {
      if (!in->poison.empty()) {
        for (size_t i = 0; i < nwritten; ++i) written[i]->poison = in->poison;
        return;
      }
    }
    // The statuses this op's results depend on: its inputs' pending ones (pruned) and its own, if it asks.
    std::vector<std::shared_ptr<CudaStatus>> deps;
    for (auto& in : inputs) {
      auto& list = in->pending;
      list.erase(std::remove_if(list.begin(), list.end(), [this](const std::shared_ptr<CudaStatus>& s) { return known_ok(*s); }), list.end());
      for (auto& s : list)
        if (std::find(deps.begin(), deps.end(), s) == deps.end()) deps.push_back(s);
    }
    OwnStatus own{this, op.name, nullptr};
    call->stream = stream_;
    call->status_source = [](void* ctx) { return static_cast<OwnStatus*>(ctx)->acquire(); };
    call->status_ctx = &own;
    op.cuda(*call, args.get());
    call->status_source = nullptr;
    call->status_ctx = nullptr;
    cudaError_t e = cudaGetLastError();
    if (own.status) {
      if (e == cudaSuccess) e = cudaMemcpyAsync(const_cast<int*>(own.status->host), own.status->dev, sizeof(int), cudaMemcpyDeviceToHost, stream_);
      deps.push_back(own.status);
    }
    if (e != cudaSuccess) throw std::runtime_error(cuda_msg(e, op.name) + " on " + device_name(device_));
    if (call->failed()) {  // a limit of this backend, found before launching
      for (size_t i = 0; i < nwritten; ++i) written[i]->poison = std::string(op.name) + ": " + call->error;
      return;
    }
    for (size_t i = 0; i < nwritten; ++i) {
      auto& list = written[i]->pending;
      for (auto& s : deps)
        if (std::find(list.begin(), list.end(), s) == list.end()) list.push_back(s);
    }
  }

  void read(std::shared_ptr<Storage> st, ReadDone done) override {
    usable();
    if (!st->poison.empty()) {
      done(nullptr, 0, st->poison);
      return;
    }
    const size_t n = st->nbytes;
    Pinned buf = take_pinned(n == 0 ? 1 : n);
    cudaError_t e = n ? cudaMemcpyAsync(buf.p, st->data, n, cudaMemcpyDeviceToHost, stream_) : cudaSuccess;
    if (e != cudaSuccess) {
      give_pinned(buf);
      throw std::runtime_error(cuda_msg(e, "read"));
    }
    // The job keeps the status slots alive (no CUDA calls in their release), not the storage: a dispose
    // right after read() frees it stream-ordered, after the copy.
    std::vector<std::shared_ptr<CudaStatus>> deps = st->pending;
    after_queued_work("read", [this, buf, n, deps, done](const std::string& err) {
      std::string why = err;
      for (const auto& s : deps)
        if (why.empty() && *s->host != kStatusOk) why = s->op + ": " + device_status_message(*s->host) + " (on " + device_name(device_) + ")";
      void* data = nullptr;
      if (why.empty()) {
        data = std::malloc(n == 0 ? 1 : n);
        if (data) std::memcpy(data, buf.p, n);
        else why = "out of memory reading a tensor back";
      }
      give_pinned(buf);
      done(data, n, why);
    });
  }

  void sync(SyncDone done) override {
    usable();
    after_queued_work("synchronize", [done](const std::string& err) { done(err); });
  }

 private:
  struct Pinned {
    void* p;
    size_t size;
  };

  // The op's own status slot, taken the first time a kernel asks for it and zeroed in stream order.
  struct OwnStatus {
    CudaBackend* self;
    const char* op;
    std::shared_ptr<CudaStatus> status;
    int* acquire() {
      if (!status) status = self->take_slot(op);
      return status ? status->dev : nullptr;
    }
  };

  // A fault makes the context unusable; every later call says so instead of queueing more work.
  void usable() {
    cudaSetDevice(device_);
    std::lock_guard<std::mutex> lk(mu_);
    if (!fault_.empty()) throw std::runtime_error(device_name(device_) + " is unusable after a device error: " + fault_);
  }

  // Record an event after everything queued so far and run `job` on the completion thread once it has
  // passed (err: the CUDA error, e.g. of an earlier kernel's fault).
  void after_queued_work(const char* what, std::function<void(const std::string&)> job) {
    cudaEvent_t ev = nullptr;
    cudaError_t e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
    if (e == cudaSuccess) e = cudaEventRecord(ev, stream_);
    if (e != cudaSuccess) {
      if (ev) cudaEventDestroy(ev);
      throw std::runtime_error(cuda_msg(e, what) + " on " + device_name(device_));
    }
    const uint64_t seq = seq_;
    completer_->push(ev, [this, seq, what, job](cudaError_t err) {
      std::string msg;
      if (err != cudaSuccess) {
        msg = cuda_msg(err, what) + " on " + device_name(device_);
        std::lock_guard<std::mutex> lk(mu_);
        if (fault_.empty()) fault_ = cudaGetErrorString(err);
      } else {
        uint64_t prev = completed_.load();
        while (prev < seq && !completed_.compare_exchange_weak(prev, seq)) {
        }
      }
      job(msg);
    });
  }

  // Has this status's op run, and found nothing wrong?
  bool known_ok(const CudaStatus& s) const { return s.seq <= completed_.load() && *s.host == kStatusOk; }

  std::shared_ptr<CudaStatus> take_slot(const char* op) {
    std::lock_guard<std::mutex> lk(slot_mu_);
    if (free_slots_.empty()) {
      int* dev = nullptr;
      int* host = nullptr;
      if (cudaMalloc(reinterpret_cast<void**>(&dev), kSlotChunk * sizeof(int)) != cudaSuccess ||
          cudaHostAlloc(reinterpret_cast<void**>(&host), kSlotChunk * sizeof(int), cudaHostAllocPortable) != cudaSuccess) {
        cudaGetLastError();
        if (dev) cudaFree(dev);
        return nullptr;  // the kernel then runs without reporting bad data (its output rows are zeros)
      }
      for (int i = 0; i < kSlotChunk; ++i) {
        host[i] = 0;
        free_slots_.push_back({dev + i, host + i});
      }
    }
    auto slot = free_slots_.back();
    free_slots_.pop_back();
    auto s = std::make_shared<CudaStatus>();
    s->dev = slot.first;
    s->host = slot.second;
    s->seq = ++seq_;
    s->op = op;
    s->release = [this](CudaStatus* st) {
      std::lock_guard<std::mutex> lk(slot_mu_);
      free_slots_.push_back({st->dev, const_cast<int*>(st->host)});
    };
    // Zeroed in stream order, before this op's kernels; a previous user of the slot has finished its copy.
    cudaMemsetAsync(s->dev, 0, sizeof(int), stream_);
    return s;
  }

  Pinned take_pinned(size_t n) {
    {
      std::lock_guard<std::mutex> lk(pin_mu_);
      for (size_t i = 0; i < pinned_.size(); ++i) {
        if (pinned_[i].size >= n && pinned_[i].size <= 4 * n + 4096) {
          Pinned b = pinned_[i];
          pinned_.erase(pinned_.begin() + static_cast<long>(i));
          return b;
        }
      }
    }
    void* p = nullptr;
    if (cudaHostAlloc(&p, n, cudaHostAllocPortable) != cudaSuccess) {
      cudaGetLastError();
      throw std::runtime_error("out of pinned host memory for a " + std::to_string(n) + "-byte transfer");
    }
    return {p, n};
  }

  // Keeps a few buffers for reuse; the rest are freed (on the completion thread or the JS thread, never
  // inside a CUDA callback).
  void give_pinned(Pinned b) {
    std::lock_guard<std::mutex> lk(pin_mu_);
    if (pinned_.size() < 8) pinned_.push_back(b);
    else cudaFreeHost(b.p);
  }

  int device_;
  cudaStream_t stream_ = nullptr;
  Completer* completer_ = nullptr;
  std::mutex mu_;
  std::string fault_;
  uint64_t seq_ = 0;  // JS thread only
  std::atomic<uint64_t> completed_{0};
  std::mutex slot_mu_;
  std::vector<std::pair<int*, int*>> free_slots_;
  std::mutex pin_mu_;
  std::vector<Pinned> pinned_;
};

std::mutex g_backends_mu;
CudaBackend* g_backends[16] = {nullptr};
std::string g_backend_errors[16];
}  // namespace

bool cuda_compiled() { return true; }
int cuda_device_count() { return probe().count; }
std::string cuda_unavailable_reason() { return probe().reason; }

std::string cuda_device_name(int d) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) return "unknown";
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}
size_t cuda_device_memory(int d) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) return 0;
  return prop.totalGlobalMem;
}

Backend& cuda_backend(int d) {
  const Probe& p = probe();
  if (d < 0 || d >= p.count) {
    if (p.count == 0) throw std::runtime_error("CUDA is unavailable: " + p.reason);
    throw std::runtime_error("no device cuda:" + std::to_string(d) + " (" + std::to_string(p.count) + " CUDA device(s) present)");
  }
  std::lock_guard<std::mutex> lk(g_backends_mu);
  if (!g_backends[d] && g_backend_errors[d].empty()) {
    try {
      g_backends[d] = new CudaBackend(d);  // lives for the process, like the CPU stream
    } catch (const std::exception& e) {
      g_backend_errors[d] = e.what();
    }
  }
  if (!g_backends[d]) throw std::runtime_error(g_backend_errors[d]);
  return *g_backends[d];
}

void cuda_free(int d, void* p) {
  if (!p || d < 0 || d >= 16) return;
  CudaBackend* b = nullptr;
  {
    std::lock_guard<std::mutex> lk(g_backends_mu);
    b = g_backends[d];
  }
  if (b) b->free(p);
}

#else  // no CUDA compiled in

bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_unavailable_reason() { return "this build of the addon has no CUDA kernels (nvcc was not found when it was compiled)"; }
std::string cuda_device_name(int) { return ""; }
size_t cuda_device_memory(int) { return 0; }
Backend& cuda_backend(int) { throw std::runtime_error("CUDA is unavailable: " + cuda_unavailable_reason()); }
void cuda_free(int, void*) {}

#endif

}  // namespace seed
