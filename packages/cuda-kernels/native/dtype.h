// Element types of seed tensors and their host-side conversions.
// The numeric ids are shared with TypeScript (src/dtype.ts): keep both in step.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#define SEED_HD __host__ __device__
#else
#define SEED_HD
#endif

namespace seed {

enum class DType : int32_t { F32 = 0, F16 = 1, BF16 = 2, I32 = 3, U8 = 4, Q8 = 5 };

// Bytes per element; Q8 rows are 1 byte per element plus a per-row f32 scale (see q8_nbytes).
inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: return 2;
    case DType::U8: case DType::Q8: return 1;
  }
  return 0;
}

SEED_HD inline bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32"; case DType::F16: return "f16"; case DType::BF16: return "bf16";
    case DType::I32: return "i32"; case DType::U8: return "u8"; case DType::Q8: return "q8";
  }
  return "?";
}

// Q8 layout for a [rows, cols] weight: int8 values row-major, padded to a multiple of 64 bytes,
// then `rows` f32 scales. Row r holds w[r, k] ≈ scale[r] * q[r, k].
SEED_HD inline size_t q8_scales_offset(int64_t rows, int64_t cols) {
  size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  return (n + 63) / 64 * 64;
}
SEED_HD inline size_t q8_nbytes(int64_t rows, int64_t cols) { return q8_scales_offset(rows, cols) + 4 * static_cast<size_t>(rows); }

// ---- half / bfloat16 <-> float (round to nearest even, NaN kept) ----
inline float bits_to_f32(uint32_t b) { float f; std::memcpy(&f, &b, 4); return f; }
inline uint32_t f32_to_bits(float f) { uint32_t b; std::memcpy(&b, &f, 4); return b; }

inline float bf16_to_f32(uint16_t h) { return bits_to_f32(static_cast<uint32_t>(h) << 16); }
inline uint16_t f32_to_bf16(float f) {
  uint32_t b = f32_to_bits(f);
  if ((b & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((b >> 16) | 0x40);  // quiet NaN
  b += 0x7fffu + ((b >> 16) & 1u);
  return static_cast<uint16_t>(b >> 16);
}

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0) {
    if (man == 0) return bits_to_f32(sign);
    // subnormal: normalise
    float v = static_cast<float>(man) * (1.0f / 16777216.0f);  // man * 2^-24
    return (h & 0x8000u) ? -v : v;
  }
  if (exp == 31) return bits_to_f32(sign | 0x7f800000u | (man << 13));
  return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}
inline uint16_t f32_to_f16(float f) {
  uint32_t b = f32_to_bits(f);
  uint32_t sign = (b >> 16) & 0x8000u;
  uint32_t absb = b & 0x7fffffffu;
  if (absb > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (absb >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf (>= 65520)
  if (absb < 0x38800000u) {                                                // subnormal or zero
    // value = absf; subnormal half = round(absf / 2^-24)
    float absf = bits_to_f32(absb);
    float scaled = absf * 16777216.0f;  // exact power-of-two scaling
    // round half to even
    float r = static_cast<float>(static_cast<int32_t>(scaled));
    float diff = scaled - r;
    uint32_t m = static_cast<uint32_t>(r);
    if (diff > 0.5f || (diff == 0.5f && (m & 1u))) m += 1;
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t exp = ((absb >> 23) - 112u) << 10;
  uint32_t man = (absb >> 13) & 0x3ffu;
  uint32_t rest = absb & 0x1fffu;
  uint32_t h = exp | man;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h += 1;
  return static_cast<uint16_t>(sign | h);
}

// Load element i of a float-typed buffer (F32 / F16 / BF16) as float.
inline float load_f(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::I32: return static_cast<float>(static_cast<const int32_t*>(p)[i]);
    case DType::U8: return static_cast<float>(static_cast<const uint8_t*>(p)[i]);
    default: return 0.0f;
  }
}
inline void store_f(void* p, DType t, int64_t i, float v) {
  switch (t) {
    case DType::F32: static_cast<float*>(p)[i] = v; break;
    case DType::F16: static_cast<uint16_t*>(p)[i] = f32_to_f16(v); break;
    case DType::BF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(v); break;
    default: break;
  }
}

}  // namespace seed
