// What a kernel sees: contiguous tensor views, the op's numeric parameters, and a way to fail.
// Every kernel (CPU or CUDA) has the signature `void seed_<backend>_<op>(OpCall&)`. Shapes were
// validated in TypeScript (src/ops.ts) and again by the dispatcher; kernels still check any fact their
// memory safety depends on and call `call.fail(...)` instead of reading out of bounds.
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

// Named numeric parameters, copied from the JS params object at enqueue time.
struct Params {
  std::map<std::string, double> nums;
  std::map<std::string, std::vector<double>> arrays;

  double num(const std::string& k, double dflt) const {
    auto it = nums.find(k);
    return it == nums.end() ? dflt : it->second;
  }
  int64_t i64(const std::string& k, int64_t dflt) const { return static_cast<int64_t>(num(k, static_cast<double>(dflt))); }
  bool has(const std::string& k) const { return nums.count(k) > 0 || arrays.count(k) > 0; }
  std::vector<int64_t> ints(const std::string& k) const {
    std::vector<int64_t> out;
    auto it = arrays.find(k);
    if (it != arrays.end()) for (double d : it->second) out.push_back(static_cast<int64_t>(d));
    return out;
  }
};

struct OpCall {
  std::vector<TensorView> in;   // inputs in the order documented for the op
  std::vector<TensorView> out;  // outputs, allocated by the dispatcher (in-place ops have none)
  Params p;
  void* stream = nullptr;       // cudaStream_t on the CUDA backend, null on CPU
  int* device_error = nullptr;  // CUDA: device int the kernel may set non-zero on bad data (e.g. id out of range)
  std::string error;            // CPU: set through fail(); the outputs are then poisoned with this message

  void fail(const std::string& msg) { if (error.empty()) error = msg; }
  bool failed() const { return !error.empty(); }
};

using KernelFn = void (*)(OpCall&);

}  // namespace seed
