// Helpers shared by the CPU kernels: converting rows of any float dtype to and from f32.
#pragma once
#include <cstdint>
#include <cstring>

#include "../dtype.h"

namespace seed {

// dst[0..n) = src row (f32/f16/bf16/i32/u8) as f32.
inline void row_to_f32(const void* src, DType t, int64_t offset, int64_t n, float* dst) {
  if (t == DType::F32) {
    std::memcpy(dst, static_cast<const float*>(src) + offset, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = load_f(src, t, offset + i);
}

// dst row (f32/f16/bf16) = src[0..n) rounded to the dtype.
inline void row_from_f32(const float* src, int64_t n, void* dst, DType t, int64_t offset) {
  if (t == DType::F32) {
    std::memcpy(static_cast<float*>(dst) + offset, src, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t i = 0; i < n; ++i) store_f(dst, t, offset + i, src[i]);
}

}  // namespace seed
