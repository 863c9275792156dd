// Small AVX2 helpers over f32 rows (dot, axpy, scale, exp, in-place SiLU and exact GELU), with scalar
// fallbacks, chosen at run time; and an AVX-512 16×16 transpose.
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "../dtype.h"
#include "parallel.h"

namespace seed {

// 8 bf16 values at p as f32 (a bf16 is the top half of an f32).
__attribute__((target("avx2"))) inline __m256 load_bf16x8(const uint16_t* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}

// The sum of v's 8 lanes.
__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 8 elements of f32 or bf16 (T: float or uint16_t) as f32, and one.
template <class T>
__attribute__((target("avx2"))) inline __m256 load8(const T* p) {
  if constexpr (std::is_same_v<T, float>) return _mm256_loadu_ps(p);
  else return load_bf16x8(p);
}
template <class T>
inline float to_f32(T x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else return bf16_to_f32(x);
}

// Σ a[i] · b[i], b f32 or bf16.
template <class T>
__attribute__((target("avx2,fma"))) inline float dot_avx2(const float* a, const T* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load8(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), s0);
  float r = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) r += a[i] * to_f32(b[i]);
  return r;
}

// y = y * c + p * x
__attribute__((target("avx2,fma"))) inline void scale_axpy_avx2(float* y, float c, float p, const float* x, int64_t n) {
  const __m256 vc = _mm256_set1_ps(c), vp = _mm256_set1_ps(p);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(vp, _mm256_loadu_ps(x + i), _mm256_mul_ps(vc, _mm256_loadu_ps(y + i))));
  for (; i < n; ++i) y[i] = y[i] * c + p * x[i];
}

// exp(x) on 8 lanes (Cephes' expf: range reduction by ln 2 in two parts, degree-6 polynomial, 2^n through
// the exponent bits); about 1 ulp. Inputs are clamped to the finite range; −inf lanes are zeroed by callers.
__attribute__((target("avx2,fma"))) inline __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3365478515625f)), _mm256_set1_ps(88.3762626647949f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// The same exp on 16 lanes (AVX-512), term for term.
__attribute__((target("avx512f"))) inline __m512 exp512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3365478515625f)), _mm512_set1_ps(88.3762626647949f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

// x / (1 + e^(−x)), e^(−x) by the 8-lane exp (clamped to the finite range: x far below 0 gives ≈ −0).
__attribute__((target("avx2,fma"))) inline void silu_avx2(float* buf, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(buf + i);
    _mm256_storeu_ps(buf + i, _mm256_div_ps(x, _mm256_add_ps(one, exp256(_mm256_sub_ps(zero, x)))));
  }
  for (; i < n; ++i) buf[i] = buf[i] / (1.0f + std::exp(-buf[i]));
}

// Exact GELU 0.5·x·(1 + erf(x/√2)) through erfc(a), a = |x|/√2, as t·exp(−a² + P(t)), t = 1/(1 + a/2)
// (the Chebyshev-fitted erfc of Numerical Recipes, relative error below 1.2e-7 for every a ≥ 0):
// 1 + erf(x/√2) is 2 − erfc(a) for x ≥ 0 and erfc(a) for x < 0, so neither side loses digits.
__attribute__((target("avx2,fma"))) inline void gelu_avx2(float* buf, int64_t n) {
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f), rsqrt2 = _mm256_set1_ps(0.70710678118654752f);
  static const float c[10] = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
                              0.27886807f,  -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(buf + i);
    const __m256 a = _mm256_mul_ps(_mm256_andnot_ps(sign, x), rsqrt2);
    const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(half, a, one));
    __m256 p = _mm256_set1_ps(c[9]);
    for (int k = 8; k >= 0; --k) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c[k]));
    const __m256 erfc = _mm256_mul_ps(t, exp256(_mm256_sub_ps(p, _mm256_mul_ps(a, a))));
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 onePlusErf = _mm256_blendv_ps(_mm256_sub_ps(two, erfc), erfc, neg);
    _mm256_storeu_ps(buf + i, _mm256_mul_ps(_mm256_mul_ps(half, x), onePlusErf));
  }
  for (; i < n; ++i) buf[i] = 0.5f * buf[i] * std::erfc(buf[i] * -0.70710678118654752f);
}

inline float dot_f32(const float* a, const float* b, int64_t n) {
  if (cpu_features().avx2 && cpu_features().fma) return dot_avx2(a, b, n);
  float r = 0;
  for (int64_t i = 0; i < n; ++i) r += a[i] * b[i];
  return r;
}

inline void scale_axpy_f32(float* y, float c, float p, const float* x, int64_t n) {
  if (cpu_features().avx2 && cpu_features().fma) return scale_axpy_avx2(y, c, p, x, n);
  for (int64_t i = 0; i < n; ++i) y[i] = y[i] * c + p * x[i];
}

// dst[l·ldd + i] = rows[i][d0 + l] for i < 16 rows and l < n ≤ 16 columns: a 16×16 block transposed in registers
// (the decode attention's K chunks, the GEMM's weight panels: a scalar copy, or a gather per column, cost 2–3×).
__attribute__((target("avx512f"))) inline void transpose16_avx512(const float* const* rows, int64_t d0, int64_t n,
                                                                   float* dst, int64_t ldd) {
  const __mmask16 m = static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1);
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_maskz_loadu_ps(m, rows[i] + d0);
  for (int i = 0; i < 16; i += 2) {  // interleave pairs of rows: 32-bit elements
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // 64-bit pairs
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {  // 128-bit lanes, rows 4 apart
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; ++i) {  // 128-bit lanes, rows 8 apart
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
  for (int64_t l = 0; l < n; ++l) _mm512_storeu_ps(dst + l * ldd, r[l]);
}

}  // namespace seed
