// The q8 prefill's AMX-INT8 micro-kernel (see linear_amx.h). Per block of 32 along K, one TDPBSSD multiplies
// the 16×32 int8 A tile by a 32×16 int8 B tile into a 16×16 int32 C tile; the per-row block scales then have
// to be applied before the next block is added, so C is stored and folded into 16 f32 accumulators (one row
// of 16 columns each) by AVX-512. The kernel runs the 32 columns as two halves of 16, which keeps the 16
// accumulators in registers (named, not an array: the tile stores clobber memory, and an array GCC leaves on
// the stack is then spilled and reloaded around every store).
#include "linear_amx.h"

#include <immintrin.h>

namespace seed {
namespace {

// Tile registers: 0, 1 = A (16 rows × 32 bytes); 2..5 = C (16 rows × 16 int32), two sets of two blocks;
// 6, 7 = B (8 rows × 64 bytes: 32 k × 16 columns, 4 k per column).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {32, 32, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 8, 8};
};
static_assert(sizeof(TileConfig) == 64, "ldtilecfg reads 64 bytes");

constexpr int64_t kBlock = 32, kPanel = 32;        // K per block, columns per panel (linear.cpp's kQB, kQNR)
constexpr int64_t kABlockBytes = kAmxMR * kBlock;  // one A tile
constexpr int64_t kBBlockBytes = kBlock * kPanel;  // one block of the panel (both halves)
constexpr int64_t kBStride = kPanel * 4;           // bytes between B tile rows (a group of 4 k)

// Block b's product into C tile `ct`, through A tile `at` and B tile `bt`.
#define SEED_AMX_PRODUCT(ct, at, bt, b) \
  _tile_loadd(at, aq + (b) * kABlockBytes, kBlock); \
  _tile_loadd(bt, bq + (b) * kBBlockBytes, kBStride); \
  _tile_zero(ct); \
  _tile_dpbssd(ct, at, bt);
#define SEED_AMX_FOLD_ROW(r) a##r = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c32 + (r) * 16)), \
                                                   _mm512_set1_ps(d[r]), a##r);
// Folds one stored C tile (c32, 16 × 16 int32) with its block's row scales d[0..16).
#define SEED_AMX_FOLD(c32_, d_) \
  { \
    const int32_t* c32 = c32_; \
    const float* d = d_; \
    SEED_AMX_FOLD_ROW(0) SEED_AMX_FOLD_ROW(1) SEED_AMX_FOLD_ROW(2) SEED_AMX_FOLD_ROW(3) \
    SEED_AMX_FOLD_ROW(4) SEED_AMX_FOLD_ROW(5) SEED_AMX_FOLD_ROW(6) SEED_AMX_FOLD_ROW(7) \
    SEED_AMX_FOLD_ROW(8) SEED_AMX_FOLD_ROW(9) SEED_AMX_FOLD_ROW(10) SEED_AMX_FOLD_ROW(11) \
    SEED_AMX_FOLD_ROW(12) SEED_AMX_FOLD_ROW(13) SEED_AMX_FOLD_ROW(14) SEED_AMX_FOLD_ROW(15) \
  }
#define SEED_AMX_STORE_ROW(r) _mm512_storeu_ps(c + (r) * ldc, _mm512_mul_ps(a##r, w));

// One half (16 columns at byte offset h·64 of each B row) of the 16 × 32 tile.
__attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni"))) void q8_half_amx(
    const int8_t* aq, const float* ad, const int8_t* bq, int64_t nb, const float* ws, float* c, int64_t ldc) {
  alignas(64) int32_t cbuf[2][2][kAmxMR * 16];  // [set][block of the group]: the stored C tiles
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0,
         a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
  // Software-pipelined over groups of 2 blocks, in two sets of C tiles (2, 3 and 4, 5): a group's products are
  // issued before the previous group is folded, so the tile unit and the vector units work at the same time.
  const int64_t piped = nb / 4 * 4;
  int64_t b = 0;
  if (piped > 0) {
    SEED_AMX_PRODUCT(2, 0, 6, 0)
    SEED_AMX_PRODUCT(3, 1, 7, 1)
  }
  for (; b < piped; b += 4) {
    // A streams from L2 (each row tile once per panel); tile loads wait for it, so fetch the next 4 blocks now.
    for (int64_t i = 0; i < 4 * kABlockBytes; i += 64)
      _mm_prefetch(reinterpret_cast<const char*>(aq + (b + 4) * kABlockBytes + i), _MM_HINT_T0);
    _tile_stored(2, cbuf[0][0], 64);
    _tile_stored(3, cbuf[0][1], 64);
    SEED_AMX_PRODUCT(4, 0, 6, b + 2)
    SEED_AMX_PRODUCT(5, 1, 7, b + 3)
    SEED_AMX_FOLD(cbuf[0][0], ad + b * kAmxMR)
    SEED_AMX_FOLD(cbuf[0][1], ad + (b + 1) * kAmxMR)
    _tile_stored(4, cbuf[1][0], 64);
    _tile_stored(5, cbuf[1][1], 64);
    if (b + 4 < piped) {
      SEED_AMX_PRODUCT(2, 0, 6, b + 4)
      SEED_AMX_PRODUCT(3, 1, 7, b + 5)
    }
    SEED_AMX_FOLD(cbuf[1][0], ad + (b + 2) * kAmxMR)
    SEED_AMX_FOLD(cbuf[1][1], ad + (b + 3) * kAmxMR)
  }
  for (; b < nb; ++b) {
    SEED_AMX_PRODUCT(2, 0, 6, b)
    _tile_stored(2, cbuf[0][0], 64);
    SEED_AMX_FOLD(cbuf[0][0], ad + b * kAmxMR)
  }
  const __m512 w = _mm512_loadu_ps(ws);
  SEED_AMX_STORE_ROW(0) SEED_AMX_STORE_ROW(1) SEED_AMX_STORE_ROW(2) SEED_AMX_STORE_ROW(3)
  SEED_AMX_STORE_ROW(4) SEED_AMX_STORE_ROW(5) SEED_AMX_STORE_ROW(6) SEED_AMX_STORE_ROW(7)
  SEED_AMX_STORE_ROW(8) SEED_AMX_STORE_ROW(9) SEED_AMX_STORE_ROW(10) SEED_AMX_STORE_ROW(11)
  SEED_AMX_STORE_ROW(12) SEED_AMX_STORE_ROW(13) SEED_AMX_STORE_ROW(14) SEED_AMX_STORE_ROW(15)
}

}  // namespace

__attribute__((target("amx-tile"))) void q8_amx_begin() {
  static const TileConfig cfg;
  _tile_loadconfig(&cfg);
}

__attribute__((target("amx-tile"))) void q8_amx_end() { _tile_release(); }

void q8_tile_amx(const int8_t* aq, const float* ad, const int8_t* bp, int64_t nb, const float* ws, float* c,
                 int64_t ldc) {
  q8_half_amx(aq, ad, bp, nb, ws, c, ldc);
  q8_half_amx(aq, ad, bp + 64, nb, ws + 16, c + 16, ldc);
}

}  // namespace seed
