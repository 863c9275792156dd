// What a kernel sees: contiguous tensor views, its op's typed arguments (op_table.h), and a way to fail.
// Every kernel (CPU or CUDA) has the signature `void seed_<backend>_<op>(OpCall&, const <Op>Args&)`. Before
// a kernel is enqueued, the dispatcher parses the op's arguments and runs the op's checks (op_table.cpp), so
// a kernel may rely on every shape and dtype fact those checks state; it still calls `call.fail(...)` for
// what only the data can tell (an id out of range) or for a limit of its own backend.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dtype.h"

namespace seed {

constexpr int kMaxDims = 8;

// A contiguous, row-major tensor as a kernel sees it. `data` is host memory on the CPU backend and
// device memory on a CUDA backend.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::F32;
  int ndim = 0;
  int64_t shape[kMaxDims] = {0};
  int64_t numel = 1;

  int64_t dim(int i) const { return shape[i < 0 ? ndim + i : i]; }
  // Product of all dims but the last (rows when the tensor is viewed as [rows, last]).
  int64_t rows() const { return ndim == 0 ? 1 : numel / (shape[ndim - 1] == 0 ? 1 : shape[ndim - 1]); }
  template <class T> T* as() const { return static_cast<T*>(data); }
};

// The JS params object as it arrived: numbers (booleans as 0 / 1) and arrays of numbers. Only the op
// table's parse functions read it (through ArgReader); kernels receive typed arguments.
struct Params {
  std::map<std::string, double> nums;
  std::map<std::string, std::vector<double>> arrays;
};

struct OpCall {
  std::vector<TensorView> in;   // inputs in the order documented for the op
  std::vector<TensorView> out;  // outputs, allocated by the dispatcher (in-place ops have none)
  void* stream = nullptr;       // cudaStream_t on the CUDA backend, null on CPU
  std::string error;            // set through fail(); the op's outputs are then poisoned with this message

  // CUDA: a device int this op's kernels may set to a non-zero status code (op_table.h, DeviceStatus) when
  // the data is bad; the backend reports it against this op's outputs only. Null on the CPU.
  int* device_status() { return status_source ? status_source(status_ctx) : nullptr; }
  int* (*status_source)(void*) = nullptr;
  void* status_ctx = nullptr;

  void fail(const std::string& msg) { if (error.empty()) error = msg; }
  bool failed() const { return !error.empty(); }
};

}  // namespace seed
