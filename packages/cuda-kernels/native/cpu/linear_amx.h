// The AMX-INT8 micro-kernel of the q8 prefill (gemm_q8 in linear.cpp, on the amx path). Only call these on a
// CPU whose path is amx (cpu_features().amx_int8): the tile instructions fault anywhere else.
#pragma once
#include <cstdint>

namespace seed {

constexpr int64_t kAmxMR = 16;  // rows of the tile kernel (one A tile); it computes 16 × 32 outputs

// Tile configuration is per thread: every thread that runs q8_tile_amx loads it first (q8_amx_begin) and
// releases the tile state when its task ends (q8_amx_end), so an idle pool thread carries no tile state.
void q8_amx_begin();
void q8_amx_end();

// c[r, j] = ws[j] · Σ_b ad[b·16 + r] · Σ_{k<32} aq[(b·16 + r)·32 + k] · bp[b·1024 + (k/4)·128 + j·4 + k%4] for
// r < 16, j < 32: aq holds 16 rows of signed int8 activations per block of 32 (row stride 32 bytes), ad their
// block scales, bp a q8 weight panel of 32 columns in VNNI order (pack_q8_panel's layout) and ws its row
// scales. The int32 block sums are exact, and they are accumulated in f32 in block order with one FMA each,
// so the result is bit for bit that of q8_tile_vnni on the same quantized values.
void q8_tile_amx(const int8_t* aq, const float* ad, const int8_t* bp, int64_t nb, const float* ws, float* c,
                 int64_t ldc);

}  // namespace seed
