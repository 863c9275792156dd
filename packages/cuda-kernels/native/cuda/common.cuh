// Shared helpers of the CUDA kernels: dtype loads/stores (f32 / f16 / bf16 / i32 / u8, q8 rows), launch
// geometry, block reductions and the host-side checks every launcher runs before launching.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "../op.h"

namespace seed {
namespace cuda {

constexpr int kThreads = 256;

inline cudaStream_t stream_of(const OpCall& call) { return static_cast<cudaStream_t>(call.stream); }

// Grid size for n items at `threads` per block, capped (kernels loop with a grid stride).
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > 65535 * 16) blocks = 65535 * 16;
  return static_cast<unsigned>(blocks);
}

// ---- element access by dtype id (the switch is uniform across a launch) ----
__device__ __forceinline__ float ld(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::F16: return __half2float(static_cast<const __half*>(p)[i]);
    case DType::BF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case DType::I32: return static_cast<float>(static_cast<const int32_t*>(p)[i]);
    case DType::U8: return static_cast<float>(static_cast<const uint8_t*>(p)[i]);
    default: return 0.0f;
  }
}

__device__ __forceinline__ void st(void* p, DType t, int64_t i, float v) {
  switch (t) {
    case DType::F32: static_cast<float*>(p)[i] = v; break;
    case DType::F16: static_cast<__half*>(p)[i] = __float2half_rn(v); break;
    case DType::BF16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v); break;
    default: break;
  }
}

// Element (r, c) of a [rows, cols] weight in any float dtype or q8 (value = scale[r] · q[r, c]).
__device__ __forceinline__ float ld_weight(const void* p, DType t, int64_t rows, int64_t cols, int64_t r, int64_t c) {
  if (t == DType::Q8) {
    const int8_t* q = static_cast<const int8_t*>(p);
    const float* scales = reinterpret_cast<const float*>(static_cast<const uint8_t*>(p) + q8_scales_offset(rows, cols));
    return scales[r] * static_cast<float>(q[r * cols + c]);
  }
  return ld(p, t, r * cols + c);
}

// ---- reductions ----
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide sum / max; every thread of the block must call it (blockDim.x a multiple of 32, ≤ 1024).
template <class T>
__device__ T block_sum(T v) {
  __shared__ T part[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // part[] may still be read by a previous call
  if (lane == 0) part[warp] = v;
  __syncthreads();
  const int nwarps = (blockDim.x + 31) >> 5;
  T r = lane < nwarps ? part[lane] : T(0);
  if (warp == 0) r = warp_sum(r);
  if (threadIdx.x == 0) part[0] = r;
  __syncthreads();
  return part[0];
}

__device__ inline float block_max(float v) {
  __shared__ float part[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) part[warp] = v;
  __syncthreads();
  const int nwarps = (blockDim.x + 31) >> 5;
  float r = lane < nwarps ? part[lane] : -INFINITY;
  if (warp == 0) r = warp_max(r);
  if (threadIdx.x == 0) part[0] = r;
  __syncthreads();
  return part[0];
}

// Set the device error flag (an id out of range and the like); read back with the next tensor read.
__device__ __forceinline__ void flag_error(int* flag, int code) {
  if (flag) atomicExch(flag, code);
}

// Shape as a by-value kernel argument.
struct Dims {
  int ndim;
  int64_t d[kMaxDims];
};
inline Dims dims_of(const TensorView& t) {
  Dims r{};
  r.ndim = t.ndim;
  for (int i = 0; i < t.ndim; ++i) r.d[i] = t.shape[i];
  return r;
}

}  // namespace cuda
}  // namespace seed
