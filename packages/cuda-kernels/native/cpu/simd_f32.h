// Small AVX2 helpers over f32 rows (dot, axpy, scale), with scalar fallbacks; chosen at run time.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "parallel.h"

namespace seed {

__attribute__((target("avx2,fma"))) inline float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  __m256 s = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  float r = _mm_cvtss_f32(h);
  for (; i < n; ++i) r += a[i] * b[i];
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

}  // namespace seed
