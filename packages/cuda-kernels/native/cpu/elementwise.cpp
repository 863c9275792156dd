// Element-wise CPU kernels: add / mul with NumPy broadcasting, scale, activations, and cast (including q8
// quantization). All compute in f32 through row buffers; the work is memory-bound, so plain loops that the
// compiler vectorises are enough.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernels.h"
#include "../shared_math.h"
#include "simd_convert.h"
#include "simd_f32.h"
#include "parallel.h"

namespace seed {
namespace {

constexpr int64_t kChunk = 4096;  // elements converted per step (fits L1 as f32)

// In-place vector versions of the costlier activations (AVX2): buf[0, n) ← f(buf[0, n)).
using VecFn = void (*)(float*, int64_t);

// silu_avx2 and gelu_avx2 (in place over a chunk) are in simd_f32.h, shared with group_norm and geglu.

// Apply f(x) over every element of in[0] into out[0], converting through f32 chunks; `vec`, when given and
// the CPU has AVX2, does the same on whole chunks.
template <class F>
void unary(OpCall& call, F f, VecFn vec = nullptr) {
  const TensorView& x = call.in[0];
  const TensorView& y = call.out[0];
  const bool useVec = vec != nullptr && cpu_features().avx2 && cpu_features().fma;
  parallel_for((x.numel + kChunk - 1) / kChunk, 4, [&](int64_t b, int64_t e) {
    float buf[kChunk];
    for (int64_t c = b; c < e; ++c) {
      int64_t off = c * kChunk, n = std::min(kChunk, x.numel - off);
      simd_to_f32(x.data, x.dtype, off, n, buf);
      if (useVec) vec(buf, n);
      else
        for (int64_t i = 0; i < n; ++i) buf[i] = f(buf[i]);
      simd_from_f32(buf, n, y.data, y.dtype, off);
    }
  });
}


template <class F>
void binary(OpCall& call, F f) {
  const TensorView &a = call.in[0], &b = call.in[1], &y = call.out[0];
  int64_t sa[kMaxDims], sb[kMaxDims];  // check_binary: a and b broadcast to y
  broadcast_strides(a.shape, a.ndim, y.ndim, sa);
  broadcast_strides(b.shape, b.ndim, y.ndim, sb);
  // Iterate the output as rows of its last dim; the last-dim stride of a and b is 0 or 1.
  const int64_t cols = y.ndim ? y.shape[y.ndim - 1] : 1;
  const int64_t rows = cols ? y.numel / cols : 0;
  const int last = y.ndim - 1;
  parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<float> va(cols), vb(cols), vy(cols);
    for (int64_t r = r0; r < r1; ++r) {
      int64_t oa = 0, ob = 0, rem = r;
      for (int i = last - 1; i >= 0; --i) {
        int64_t idx = rem % y.shape[i];
        rem /= y.shape[i];
        oa += idx * sa[i];
        ob += idx * sb[i];
      }
      const int64_t ca = last >= 0 ? sa[last] : 0, cb = last >= 0 ? sb[last] : 0;
      if (ca) simd_to_f32(a.data, a.dtype, oa, cols, va.data());
      else std::fill(va.begin(), va.end(), load_f(a.data, a.dtype, oa));
      if (cb) simd_to_f32(b.data, b.dtype, ob, cols, vb.data());
      else std::fill(vb.begin(), vb.end(), load_f(b.data, b.dtype, ob));
      for (int64_t i = 0; i < cols; ++i) vy[i] = f(va[i], vb[i]);
      simd_from_f32(vy.data(), cols, y.data, y.dtype, r * cols);
    }
  });
}

// float -> integer: truncate toward zero, saturate, NaN -> 0.
template <class T>
T saturate(float v, double lo, double hi) {
  if (std::isnan(v)) return 0;
  double t = std::trunc(static_cast<double>(v));
  return static_cast<T>(std::min(hi, std::max(lo, t)));
}

void quantize_q8(const TensorView& x, const TensorView& y) {
  const int64_t rows = x.shape[0], cols = x.shape[1];
  int8_t* q = static_cast<int8_t*>(y.data);
  float* scales = reinterpret_cast<float*>(static_cast<uint8_t*>(y.data) + q8_scales_offset(rows, cols));
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    std::vector<float> buf(cols);
    for (int64_t r = r0; r < r1; ++r) {
      simd_to_f32(x.data, x.dtype, r * cols, cols, buf.data());
      float amax = 0;
      for (float v : buf) amax = std::max(amax, std::fabs(v));
      // scale = f32(amax / 127) with the quotient in f64, as docs/ops.md (and src/tensor.ts encode) define it.
      float scale = static_cast<float>(static_cast<double>(amax) / 127.0);
      scales[r] = scale;
      for (int64_t c = 0; c < cols; ++c) q[r * cols + c] = q8_quantize(buf[c], scale);
    }
  });
}

void dequantize_q8(const TensorView& x, const TensorView& y) {
  const int64_t rows = x.shape[0], cols = x.shape[1];
  const int8_t* q = static_cast<const int8_t*>(x.data);
  const float* scales = reinterpret_cast<const float*>(static_cast<const uint8_t*>(x.data) + q8_scales_offset(rows, cols));
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    std::vector<float> buf(cols);
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t c = 0; c < cols; ++c) buf[c] = scales[r] * static_cast<float>(q[r * cols + c]);
      simd_from_f32(buf.data(), cols, y.data, y.dtype, r * cols);
    }
  });
}

}  // namespace

void seed_cpu_add(OpCall& call, const NoArgs&) { binary(call, [](float a, float b) { return a + b; }); }
void seed_cpu_mul(OpCall& call, const NoArgs&) { binary(call, [](float a, float b) { return a * b; }); }

void seed_cpu_scale(OpCall& call, const ScaleArgs& args) {
  const float s = args.scale, b = args.bias;
  unary(call, [s, b](float x) { return x * s + b; });
}
void seed_cpu_silu(OpCall& call, const NoArgs&) { unary(call, [](float x) { return x / (1.0f + std::exp(-x)); }, silu_avx2); }
// 1 + erf(x/√2) written as erfc(−x/√2): the same value, without the cancellation that leaves nothing of
// gelu(x) for x below about −5.
void seed_cpu_gelu(OpCall& call, const NoArgs&) {
  unary(call, [](float x) { return 0.5f * x * std::erfc(x * -0.70710678118654752f); }, gelu_avx2);
}
void seed_cpu_tanh(OpCall& call, const NoArgs&) { unary(call, [](float x) { return std::tanh(x); }); }
void seed_cpu_relu(OpCall& call, const NoArgs&) { unary(call, [](float x) { return x > 0.0f ? x : 0.0f; }); }

void seed_cpu_cast(OpCall& call, const NoArgs&) {
  const TensorView &x = call.in[0], &y = call.out[0];
  if (y.dtype == DType::Q8) return quantize_q8(x, y);
  if (x.dtype == DType::Q8) return dequantize_q8(x, y);
  parallel_for((x.numel + kChunk - 1) / kChunk, 4, [&](int64_t b, int64_t e) {
    float buf[kChunk];
    for (int64_t c = b; c < e; ++c) {
      int64_t off = c * kChunk, n = std::min(kChunk, x.numel - off);
      if (x.dtype == DType::I32 && y.dtype == DType::I32) {
        std::copy_n(static_cast<const int32_t*>(x.data) + off, n, static_cast<int32_t*>(y.data) + off);
        continue;
      }
      if (x.dtype == DType::I32 && y.dtype == DType::U8) {  // exact integer saturation, no float detour
        for (int64_t i = 0; i < n; ++i) {
          int32_t v = static_cast<const int32_t*>(x.data)[off + i];
          static_cast<uint8_t*>(y.data)[off + i] = static_cast<uint8_t>(std::min(255, std::max(0, v)));
        }
        continue;
      }
      if (x.dtype == DType::I32) {  // exact up to 2^24; beyond, rounded once to the target dtype
        const int32_t* xi = static_cast<const int32_t*>(x.data) + off;
        if (y.dtype == DType::F16 || y.dtype == DType::BF16)
          for (int64_t i = 0; i < n; ++i) buf[i] = i32_to_f32_odd(xi[i]);
        else
          for (int64_t i = 0; i < n; ++i) buf[i] = static_cast<float>(xi[i]);
      } else {
        simd_to_f32(x.data, x.dtype, off, n, buf);
      }
      switch (y.dtype) {
        case DType::I32:
          for (int64_t i = 0; i < n; ++i) static_cast<int32_t*>(y.data)[off + i] = saturate<int32_t>(buf[i], -2147483648.0, 2147483647.0);
          break;
        case DType::U8:
          for (int64_t i = 0; i < n; ++i) static_cast<uint8_t*>(y.data)[off + i] = saturate<uint8_t>(buf[i], 0.0, 255.0);
          break;
        default:
          simd_from_f32(buf, n, y.data, y.dtype, off);
      }
    }
  });
}

}  // namespace seed
