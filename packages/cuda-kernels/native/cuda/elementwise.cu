// Element-wise CUDA kernels: add / mul with NumPy broadcasting (up to 8 dims), scale, silu, gelu (erfc
// form, accurate for large negative x), tanh, relu, and cast (including q8 quantize / dequantize).
#include "../kernels.h"
#include "../shared_math.h"
#include "common.cuh"

namespace seed {
namespace cuda {
namespace {

enum class Unary { Scale, Silu, Gelu, Tanh, Relu };

__global__ void unary_kernel(const void* x, DType xt, void* y, DType yt, int64_t n, Unary op, float a, float b) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = ld(x, xt, i);
    float r;
    switch (op) {
      case Unary::Scale: r = v * a + b; break;
      case Unary::Silu: r = v / (1.0f + expf(-v)); break;
      case Unary::Gelu: r = 0.5f * v * erfcf(-v * 0.70710678118654752f); break;
      case Unary::Tanh: r = tanhf(v); break;
      default: r = v > 0.0f ? v : 0.0f; break;
    }
    st(y, yt, i, r);
  }
}

struct Strides {
  int64_t s[kMaxDims];
};

// Strides (elements) of t seen with the output's rank: 0 along broadcast dims.
Strides strides_for(const TensorView& t, const TensorView& out) {
  Strides r{};
  broadcast_strides(t.shape, t.ndim, out.ndim, r.s);
  return r;
}

__global__ void binary_kernel(const void* a, const void* b, void* y, DType t, Dims out, Strides sa, Strides sb, int64_t n, bool mul) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = i, ia = 0, ib = 0;
    for (int d = out.ndim - 1; d >= 0; --d) {
      const int64_t idx = rem % out.d[d];
      rem /= out.d[d];
      ia += idx * sa.s[d];
      ib += idx * sb.s[d];
    }
    const float va = ld(a, t, ia), vb = ld(b, t, ib);
    st(y, t, i, mul ? va * vb : va + vb);
  }
}

__device__ float saturate(float v, double lo, double hi) {
  if (isnan(v)) return 0.0f;
  double t = trunc(static_cast<double>(v));
  return static_cast<float>(fmin(hi, fmax(lo, t)));
}

__global__ void cast_kernel(const void* x, DType xt, void* y, DType yt, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (xt == DType::I32 && yt == DType::I32) {
      static_cast<int32_t*>(y)[i] = static_cast<const int32_t*>(x)[i];
      continue;
    }
    if (xt == DType::I32 && yt == DType::U8) {
      const int32_t v = static_cast<const int32_t*>(x)[i];
      static_cast<uint8_t*>(y)[i] = static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
      continue;
    }
    // i32 → float rounds once: exactly to f32, or to odd first when f16 / bf16 round it again (as on the CPU).
    float v;
    if (xt == DType::I32) {
      const int32_t xi = static_cast<const int32_t*>(x)[i];
      v = yt == DType::F16 || yt == DType::BF16 ? i32_to_f32_odd(xi) : static_cast<float>(xi);
    } else {
      v = ld(x, xt, i);
    }
    if (yt == DType::I32) static_cast<int32_t*>(y)[i] = static_cast<int32_t>(saturate(v, -2147483648.0, 2147483647.0));
    else if (yt == DType::U8) static_cast<uint8_t*>(y)[i] = static_cast<uint8_t>(saturate(v, 0.0, 255.0));
    else st(y, yt, i, v);
  }
}

// One block per row: amax reduction, scale = f32(amax / 127) in f64, q = round(x / scale) in f64.
__global__ void quantize_kernel(const void* x, DType xt, int8_t* q, float* scales, int64_t cols) {
  const int64_t r = blockIdx.x;
  float amax = 0.0f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) amax = fmaxf(amax, fabsf(ld(x, xt, r * cols + c)));
  amax = block_max(amax);
  const float scale = static_cast<float>(static_cast<double>(amax) / 127.0);
  if (threadIdx.x == 0) scales[r] = scale;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) q[r * cols + c] = q8_quantize(ld(x, xt, r * cols + c), scale);
}

__global__ void dequantize_kernel(const void* x, int64_t rows, int64_t cols, void* y, DType yt) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    st(y, yt, i, ld_weight(x, DType::Q8, rows, cols, i / cols, i % cols));
}

void launch_unary(OpCall& call, Unary op, float a = 0, float b = 0) {
  const TensorView &x = call.in[0], &y = call.out[0];
  if (x.numel == 0) return;
  unary_kernel<<<grid_for(x.numel), kThreads, 0, stream_of(call)>>>(x.data, x.dtype, y.data, y.dtype, x.numel, op, a, b);
}

void launch_binary(OpCall& call, bool mul) {
  const TensorView &a = call.in[0], &b = call.in[1], &y = call.out[0];
  if (y.numel == 0) return;  // check_binary: a and b broadcast to y
  binary_kernel<<<grid_for(y.numel), kThreads, 0, stream_of(call)>>>(a.data, b.data, y.data, y.dtype, dims_of(y), strides_for(a, y),
                                                                    strides_for(b, y), y.numel, mul);
}

}  // namespace
}  // namespace cuda

using namespace cuda;

void seed_cuda_add(OpCall& call, const NoArgs&) { launch_binary(call, false); }
void seed_cuda_mul(OpCall& call, const NoArgs&) { launch_binary(call, true); }
void seed_cuda_scale(OpCall& call, const ScaleArgs& args) { launch_unary(call, Unary::Scale, args.scale, args.bias); }
void seed_cuda_silu(OpCall& call, const NoArgs&) { launch_unary(call, Unary::Silu); }
void seed_cuda_gelu(OpCall& call, const NoArgs&) { launch_unary(call, Unary::Gelu); }
void seed_cuda_tanh(OpCall& call, const NoArgs&) { launch_unary(call, Unary::Tanh); }
void seed_cuda_relu(OpCall& call, const NoArgs&) { launch_unary(call, Unary::Relu); }

void seed_cuda_cast(OpCall& call, const NoArgs&) {
  const TensorView &x = call.in[0], &y = call.out[0];
  if (x.numel == 0) return;
  if (y.dtype == DType::Q8) {  // check_cast: x is 2-D float
    const int64_t rows = x.shape[0], cols = x.shape[1];
    int8_t* q = static_cast<int8_t*>(y.data);
    float* scales = reinterpret_cast<float*>(static_cast<uint8_t*>(y.data) + q8_scales_offset(rows, cols));
    quantize_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream_of(call)>>>(x.data, x.dtype, q, scales, cols);
    return;
  }
  if (x.dtype == DType::Q8) {
    dequantize_kernel<<<grid_for(x.numel), kThreads, 0, stream_of(call)>>>(x.data, x.shape[0], x.shape[1], y.data, y.dtype);
    return;
  }
  cast_kernel<<<grid_for(x.numel), kThreads, 0, stream_of(call)>>>(x.data, x.dtype, y.data, y.dtype, x.numel);
}

}  // namespace seed
