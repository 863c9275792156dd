// Row conversions between f32 and the stored dtypes (f32/f16/bf16, and i32/u8 on the way in), vectorised
// with AVX2 + F16C when the CPU has them. Private to the CPU kernels of linear/elementwise/norm.
// Rounding is round-to-nearest-even exactly like dtype.h (F16C's cvtps_ph with RNE matches f32_to_f16,
// subnormals and overflow to inf included; bf16 uses the same add-0x7fff-plus-lsb trick with NaN kept quiet).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "../dtype.h"
#include "parallel.h"

namespace seed {

// Read on every call (the path cap can change between kernels; see cpu_features).
inline bool simd_has_avx2() {
  const CpuFeatures& f = cpu_features();
  return f.avx2 && f.fma && f.f16c;
}

__attribute__((target("avx2,fma,f16c"))) inline void simd_to_f32_avx2(const void* src, DType t, int64_t off, int64_t n,
                                                                      float* dst) {
  int64_t i = 0;
  switch (t) {
    case DType::F16: {
      const uint16_t* s = static_cast<const uint16_t*>(src) + off;
      for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
      break;
    }
    case DType::BF16: {
      const uint16_t* s = static_cast<const uint16_t*>(src) + off;
      for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
      }
      break;
    }
    case DType::I32: {
      const int32_t* s = static_cast<const int32_t*>(src) + off;
      for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i))));
      break;
    }
    case DType::U8: {
      const uint8_t* s = static_cast<const uint8_t*>(src) + off;
      for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i,
                         _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + i)))));
      break;
    }
    default: break;
  }
  for (; i < n; ++i) dst[i] = load_f(src, t, off + i);
}

__attribute__((target("avx2,fma,f16c"))) inline void simd_from_f32_avx2(const float* src, int64_t n, void* dst, DType t,
                                                                        int64_t off) {
  int64_t i = 0;
  if (t == DType::F16) {
    uint16_t* d = static_cast<uint16_t*>(dst) + off;
    for (; i + 8 <= n; i += 8)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i),
                       _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  } else if (t == DType::BF16) {
    uint16_t* d = static_cast<uint16_t*>(dst) + off;
    const __m256i lsb = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff), quiet = _mm256_set1_epi32(0x400000);
    for (; i + 8 <= n; i += 8) {
      const __m256 f = _mm256_loadu_ps(src + i);
      const __m256i b = _mm256_castps_si256(f);
      __m256i r = _mm256_add_epi32(b, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(b, 16), lsb)));
      // NaN: keep the payload's top bits and force the quiet bit instead of rounding (which could give inf).
      const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
      r = _mm256_blendv_epi8(r, _mm256_or_si256(b, quiet), nan);
      r = _mm256_srli_epi32(r, 16);
      // pack 8 × u32 (each < 65536) into 8 × u16
      const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), packed);
    }
  } else if (t == DType::F32) {
    std::memcpy(static_cast<float*>(dst) + off, src, static_cast<size_t>(n) * 4);
    return;
  }
  for (; i < n; ++i) store_f(dst, t, off + i, src[i]);
}

// dst[0..n) = elements [off, off+n) of src (f32/f16/bf16/i32/u8) as f32.
inline void simd_to_f32(const void* src, DType t, int64_t off, int64_t n, float* dst) {
  if (n <= 0) return;  // an empty row's buffers may be null, which memcpy must not be given even for 0 bytes
  if (t == DType::F32) {
    std::memcpy(dst, static_cast<const float*>(src) + off, static_cast<size_t>(n) * 4);
    return;
  }
  if (simd_has_avx2()) return simd_to_f32_avx2(src, t, off, n, dst);
  for (int64_t i = 0; i < n; ++i) dst[i] = load_f(src, t, off + i);
}

// Elements [off, off+n) of dst (f32/f16/bf16) = src[0..n), rounded to nearest even.
inline void simd_from_f32(const float* src, int64_t n, void* dst, DType t, int64_t off) {
  if (n <= 0) return;  // as in simd_to_f32
  if (t == DType::F32) {
    std::memcpy(static_cast<float*>(dst) + off, src, static_cast<size_t>(n) * 4);
    return;
  }
  if (simd_has_avx2()) return simd_from_f32_avx2(src, n, dst, t, off);
  for (int64_t i = 0; i < n; ++i) store_f(dst, t, off + i, src[i]);
}

}  // namespace seed
