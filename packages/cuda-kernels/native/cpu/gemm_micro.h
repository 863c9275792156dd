// The register-blocked GEMM micro-kernels of linear.cpp, shared with conv2d (conv.cpp), which feeds them
// panels it packs straight from the image (implicit im2col).
#pragma once
#include <cstdint>
#include <vector>

namespace seed {

// c[0:MR, 0:NR] (+)= Σ_k ap[k][0:MR] ⊗ bp[k][0:NR], with ap packed as [kc][MR] and bp as [kc][NR]; bp must be
// 64-byte aligned (the kernels use aligned vector loads), c has row stride ldc.
using TileFn = void (*)(const float* ap, const float* bp, int64_t kc, float* c, int64_t ldc, bool accumulate);

// The same with A read in place: element (r, k) at a[r·lda + k] (MR rows of a row-major matrix).
using TileRowsFn = void (*)(const float* a, int64_t lda, const float* bp, int64_t kc, float* c, int64_t ldc, bool accumulate);

struct MicroKernel {
  int64_t mr, nr;
  int64_t mc_tiles;         // row tiles per task: the A block a task reuses from L2 (≈ 96 rows)
  int64_t panels_per_task;  // B panels per task
  TileFn tile;
  TileRowsFn tile_rows;
  const char* name;         // "avx512 12x32", "avx2 6x16" or "scalar 6x16"
};

// A float buffer aligned to 64 bytes, so packed panel rows never straddle cache lines (and the micro-kernels'
// aligned loads of B panels are legal).
class AlignedFloats {
 public:
  explicit AlignedFloats(int64_t n) : raw_(static_cast<size_t>(n) + 16) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(raw_.data());
    ptr_ = reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
  }
  AlignedFloats(const AlignedFloats&) = delete;  // a copy's ptr_ would point into the original's buffer
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  float* get() { return ptr_; }

 private:
  std::vector<float> raw_;
  float* ptr_;
};

// The best micro-kernel this CPU runs (chosen once, at first use).
const MicroKernel& gemm_micro_kernel();

}  // namespace seed
