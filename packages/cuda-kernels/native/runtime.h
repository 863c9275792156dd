// Tensors, storages and streams: the execution model of DESIGN.md ("every device is a stream").
// The main (JS) thread validates, allocates outputs and enqueues; the CPU stream thread runs kernels in
// order; a CUDA device runs them on its cudaStream. Storages are reference counted, so a tensor disposed
// from JS while queued work still uses it is freed only after that work has run.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "op.h"

namespace seed {

constexpr int kCpu = -1;  // device id of the CPU; CUDA devices are 0, 1, ...

struct Storage {
  int device = kCpu;
  void* data = nullptr;
  size_t nbytes = 0;
  std::shared_ptr<void> owner;  // set when `data` belongs to someone else (a file mapping)
  std::string poison;           // CPU: error from the op that produced this storage (stream thread only)
  ~Storage();
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

// Allocate a storage of nbytes on a device (zero-filled). Throws std::runtime_error with a user-facing message.
std::shared_ptr<Storage> alloc_storage(int device, size_t nbytes);

// Copy host bytes into a new storage (synchronously).
void upload(Storage& st, const void* src, size_t nbytes);

// Live memory, for `memory()` and the leak tests.
struct MemoryStats {
  std::atomic<int64_t> cpu_bytes{0}, cpu_count{0}, cuda_bytes{0}, cuda_count{0};
};
MemoryStats& memory_stats();

// ---- streams ----
// Run `task` on the CPU stream thread after everything enqueued before it.
void cpu_enqueue(std::function<void()> task);

// Parse "cpu" / "cuda" / "cuda:N" into a device id; throws std::runtime_error.
int parse_device(const std::string& name);
std::string device_name(int device);

// ---- CUDA (all of these exist in every build; without CUDA they report why it is unavailable) ----
bool cuda_compiled();
int cuda_device_count();                 // 0 when unavailable
std::string cuda_unavailable_reason();   // empty when at least one device works
std::string cuda_device_name(int device);
size_t cuda_device_memory(int device);
// Make sure `device` is usable; throws std::runtime_error naming the reason otherwise.
void cuda_require(int device);
void* cuda_stream(int device);
int* cuda_error_flag(int device);
// Throws std::runtime_error if the last launch on this device failed.
void cuda_check_launch(int device, const char* op);
// Copy `st` to host asynchronously, then call done(bytes, error) on a CUDA callback thread.
void cuda_read(int device, std::shared_ptr<Storage> st, std::function<void(void*, size_t, std::string)> done);
void cuda_sync(int device, std::function<void(std::string)> done);

}  // namespace seed
