// Tensors, storages and the backends: the execution model of DESIGN.md ("every device is a stream").
// The main (JS) thread validates, allocates outputs and enqueues; each device runs its queue in order (the
// CPU on its stream thread, a CUDA device on its cudaStream). Storages are reference counted, so a tensor
// disposed from JS while queued work still uses it is freed only after that work has run.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "registry.h"

namespace seed {

constexpr int kCpu = -1;  // device id of the CPU; CUDA devices are 0, 1, ...

// A CUDA op's status slot (device_cuda.cpp): the code its kernels wrote, read once the op has run.
struct CudaStatus;

struct Storage {
  int device = kCpu;
  void* data = nullptr;
  size_t nbytes = 0;
  std::shared_ptr<void> owner;  // set when `data` belongs to someone else (a file mapping)
  // "<op>: <why>" when the op that produced this storage (or one it read) failed. Written and read in
  // queue order: on the CPU stream thread for the CPU, on the JS thread for CUDA (launch-time failures).
  std::string poison;
  // CUDA: status slots of the data-checking ops this storage depends on that may not have run yet.
  std::vector<std::shared_ptr<CudaStatus>> pending;
  // Frees the memory now (the CPU stream thread, once no one else holds the storage); the destructor then does
  // nothing more. Counted live until here.
  void release();
  ~Storage() { release(); }

 private:
  bool released_ = false;
};

struct Tensor {
  std::shared_ptr<Storage> st;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;

  int64_t numel() const;
  TensorView view() const;
};

// Bytes a tensor of this dtype and shape occupies; throws std::runtime_error on absurd shapes.
size_t tensor_nbytes(DType dtype, const std::vector<int64_t>& shape);

// Live memory, for `memory()` and the leak tests.
// On a cache line of its own: the JS thread updates it per allocation, and a neighbour the stream thread reads per op
// (the profile mode) made each update a cross-core transfer.
struct alignas(64) MemoryStats {
  std::atomic<int64_t> cpu_bytes{0}, cpu_count{0}, cuda_bytes{0}, cuda_count{0};
};
MemoryStats& memory_stats();

// Freed CPU storages of every size are kept for reuse by an allocation of the same size, up to a cap
// (SEED_CPU_CACHE_MB, default 1024; 0 turns it off). A model runs the same shapes again and again, and a fresh
// large allocation is fresh pages: one page fault and one kernel zero-fill per 4 KiB on first touch, which cost
// a memory-bound op on a 134 MB tensor more than its own work. Not counted in MemoryStats (not live).
size_t cpu_cached_bytes();
// A fresh CPU buffer of `padded` bytes (a multiple of 64, not zeroed; std::free it), or null. Those of 2 MB or
// more start on a 2 MB boundary and ask for transparent huge pages (see runtime.cpp).
void* cpu_alloc_fresh(size_t padded);
void release_cpu_cache();

// Time spent in each CPU kernel, for finding where a model's time goes (off by default: no cost). Mode 1
// keys by op name, mode 2 by op name and input shapes/dtypes. Kernels run on the CPU stream thread; the
// profile is read and reset from the JS thread, under a lock. The time is the kernel's own, on the stream
// thread (its parallel_for included), not queueing or allocation.
struct KernelProfileEntry {
  std::string key;
  int64_t calls = 0;
  double ms = 0;
};
void set_kernel_profile_mode(int mode);
std::vector<KernelProfileEntry> kernel_profile();
void reset_kernel_profile();

// Bytes read back from a device (malloc'd; the receiver frees them), or why they could not be.
using ReadDone = std::function<void(void* data, size_t nbytes, std::string error)>;
using SyncDone = std::function<void(std::string error)>;

// One device's queue. Every method is called on the JS thread and returns at once; `done` callbacks run
// on a native thread (never inside a CUDA host callback) once the work queued before them has run. A
// failing op poisons its own outputs (and an in-place op its first input) with "<op>: <why>", and every
// op fed by a poisoned storage passes the poison on; reading a poisoned storage reports the message.
class Backend {
 public:
  virtual ~Backend() = default;
  // A storage of nbytes, zero-filled unless `zero` is false; throws std::runtime_error with a user-facing message.
  virtual std::shared_ptr<Storage> alloc(size_t nbytes, bool zero = true) = 0;
  // An op's output of nbytes, not zero-filled: every kernel writes all of its outputs, which the CPU test suite
  // checks by filling them with NaN bytes first (SEED_FILL_OUTPUTS=nan). The CPU allocates its memory when the
  // op runs (data is null until then), from the buffers the ops before it have just freed; CUDA at once.
  virtual std::shared_ptr<Storage> alloc_output(size_t nbytes) = 0;
  // Copy host bytes into the storage; the host buffer may be reused as soon as this returns.
  virtual void upload(Storage& st, const void* src, size_t nbytes) = 0;
  // Queue `op` on call's views (inputs and outputs hold the storages those views point into).
  virtual void enqueue(const OpDef& op, std::shared_ptr<OpCall> call, PreparedArgs args,
                       std::vector<std::shared_ptr<Storage>> inputs, std::vector<std::shared_ptr<Storage>> outputs) = 0;
  // A copy of the storage as it is once everything queued before has run.
  virtual void read(std::shared_ptr<Storage> st, ReadDone done) = 0;
  virtual void sync(SyncDone done) = 0;
};

// The backend of a device id; throws std::runtime_error saying why a CUDA device is unusable.
Backend& backend(int device);

// Run `task` on the CPU stream thread after everything enqueued before it (also used for CPU-side jobs
// such as resizing the kernel thread pool). `answers_js`: the task settles a wait on the JS thread (a read, a
// sync), so the tasks that ran before it are freed first.
void cpu_enqueue(std::function<void()> task, bool answers_js = false);
// Frees, on the calling thread, the tasks that have run and still wait to be freed (the enqueuing thread frees
// them on its next enqueue, the stream thread when idle): memory() calls it so its counts are exact.
void cpu_free_finished();

// Parse "cpu" / "cuda" / "cuda:N" into a device id; throws std::runtime_error.
int parse_device(const std::string& name);
std::string device_name(int device);

// ---- CUDA information (exists in every build; without CUDA it reports why it is unavailable) ----
bool cuda_compiled();
int cuda_device_count();                 // 0 when unavailable
std::string cuda_unavailable_reason();   // empty when at least one device works
std::string cuda_device_name(int device);
size_t cuda_device_memory(int device);
Backend& cuda_backend(int device);       // throws std::runtime_error naming the reason it is unusable
void cuda_free(int device, void* p);     // stream-ordered; for ~Storage

}  // namespace seed
