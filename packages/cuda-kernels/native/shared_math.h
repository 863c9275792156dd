// Arithmetic the CPU and CUDA kernels must do identically, written once as __host__ __device__ functions:
// the sampler's counter-based SplitMix64 draw, i32 → f16/bf16 rounding, the q8 quantization of one value,
// the codebook distance and its tie rule, and row-major index math. A change here changes both backends.
#pragma once
#include <math.h>

#include <cstdint>
#include <cstring>

#include "dtype.h"  // SEED_HD

namespace seed {

// Uniform double in [0, 1) for (seed, counter, row): SplitMix64 of a counter mixed from the three, top 53
// bits. The TypeScript reference (src/ref/sample.ts, rngUniform) draws the same numbers.
SEED_HD inline double rng_uniform(uint64_t seed, uint64_t counter, uint64_t row) {
  uint64_t z = ((seed << 32) + counter) * 0x9E3779B97F4A7C15ull + (row + 1) * 0xD1B54A32D192ED03ull;
  z ^= z >> 30;
  z *= 0xBF58476D1CE4E5B9ull;
  z ^= z >> 27;
  z *= 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

// i32 → f32 rounded to odd (truncate toward zero, then set the last mantissa bit if inexact). Rounding that
// once more to f16 / bf16 with round-to-nearest-even gives the correctly rounded result, where plain
// i32 → f32 → bf16 could round twice.
SEED_HD inline float i32_to_f32_odd(int32_t v) {
  const float f = static_cast<float>(v);
  const int64_t back = static_cast<int64_t>(f);
  if (back == v) return f;
  uint32_t b;
  memcpy(&b, &f, 4);
  const int64_t mag_back = back < 0 ? -back : back, mag_v = v < 0 ? -static_cast<int64_t>(v) : v;
  if (mag_back > mag_v) b -= 1;  // f rounded away from zero: step back toward zero
  b |= 1u;
  float r;
  memcpy(&r, &b, 4);
  return r;
}

// One q8 value: round(x / scale) in double, half away from zero, clamped to [−127, 127]; NaN → 0 (as in
// every float → integer conversion); a zero scale (an all-zero row) gives 0.
SEED_HD inline int8_t q8_quantize(float x, float scale) {
  if (scale == 0.0f) return 0;
  const double q = round(static_cast<double>(x) / static_cast<double>(scale));
  if (q != q) return 0;
  return static_cast<int8_t>(q > 127.0 ? 127.0 : (q < -127.0 ? -127.0 : q));
}

// Σ_d (e[d] − z[d])² in f32 with two fused-multiply-add accumulators (even d, odd d), summed at the end:
// the order the CPU's AVX2 scan uses lane by lane, so near-ties resolve the same way on every backend.
// `e(d)` loads the code's element d as f32.
template <class Load>
SEED_HD inline float codebook_distance(const float* z, Load e, int64_t D) {
  float acc0 = 0.0f, acc1 = 0.0f;
  int64_t d = 0;
  for (; d + 2 <= D; d += 2) {
    const float d0 = e(d) - z[d], d1 = e(d + 1) - z[d + 1];
    acc0 = fmaf(d0, d0, acc0);
    acc1 = fmaf(d1, d1, acc1);
  }
  if (d < D) {
    const float d0 = e(d) - z[d];
    acc0 = fmaf(d0, d0, acc0);
  }
  return acc0 + acc1;
}

// Does code i at distance d beat the best so far (best_i < 0: none yet)? Strictly smaller wins, ties go to
// the lower index; NaN and +inf never win (like the reference's `d < bestD` from +inf), so a row whose
// distances are all NaN or +inf gives index 0.
SEED_HD inline bool codebook_better(float d, int64_t i, float best_d, int64_t best_i) {
  if (best_i < 0) return d < INFINITY;
  return d < best_d || (d == best_d && i < best_i);
}

// Row-major strides (in elements) of a shape.
SEED_HD inline void row_major_strides(const int64_t* shape, int ndim, int64_t* strides) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
}

// Strides of a tensor of `shape` (rank `ndim`) read at the output's index space (rank out_ndim ≥ ndim,
// NumPy broadcasting): 0 along the dims it is broadcast over.
SEED_HD inline void broadcast_strides(const int64_t* shape, int ndim, int out_ndim, int64_t* strides) {
  int64_t s = 1;
  for (int i = out_ndim - 1, j = ndim - 1; i >= 0; --i, --j) {
    const int64_t d = j >= 0 ? shape[j] : 1;
    strides[i] = d == 1 ? 0 : s;
    s *= d;
  }
}

// conv2d geometry (both backends and the check use it): the output length of an input of length n under a
// kernel of k taps, stride s and zero padding p on both sides; 0 when the padded input is shorter than k.
SEED_HD inline int64_t conv_out_size(int64_t n, int64_t k, int64_t s, int64_t p) {
  return n + 2 * p < k ? 0 : (n + 2 * p - k) / s + 1;
}

// Where im2col row k (= (ci·kh + ky)·kw + kx, the weight's own [Cin, kh, kw] order) and output pixel
// (oy, ox) read the input: channel ci at (iy, ix) = (oy·s − p + ky, ox·s − p + kx); outside [0, H)×[0, W) is
// the zero padding.
struct ConvTap {
  int64_t ci, ky, kx;
};
SEED_HD inline ConvTap conv_tap(int64_t k, int64_t kh, int64_t kw) {
  const int64_t taps = kh * kw, r = k % taps;
  return {k / taps, r / kw, r % kw};
}

// SiLU of a normalized value, as group_norm fuses it: x / (1 + e^(−x)).
SEED_HD inline float silu_f32(float x) { return x / (1.0f + expf(-x)); }

}  // namespace seed
