// Helpers shared by the CPU kernels: converting rows of any dtype to and from f32 (vectorised with AVX2 +
// F16C when the CPU has them, see simd_convert.h).
#pragma once
#include <cstdint>

#include "../dtype.h"
#include "simd_convert.h"

namespace seed {

// dst[0..n) = src row (f32/f16/bf16/i32/u8) as f32.
inline void row_to_f32(const void* src, DType t, int64_t offset, int64_t n, float* dst) { simd_to_f32(src, t, offset, n, dst); }

// dst row (f32/f16/bf16) = src[0..n) rounded to the dtype.
inline void row_from_f32(const float* src, int64_t n, void* dst, DType t, int64_t offset) { simd_from_f32(src, n, dst, t, offset); }

}  // namespace seed
