// Matrix products on the CPU: linear (y = x·wᵀ + b, weights f32/f16/bf16/q8) and batched matmul.
//
// Two paths:
// - decode (≤ 4 rows): a matrix-vector product that streams every weight row exactly once, converting
//   bf16/f16 in registers (bf16 by a shift, f16 by F16C); bandwidth-bound, the output columns split across
//   threads. q8 quantizes x instead and multiplies in int8, the row scale applied once at the end (fewer
//   instructions per weight byte; gemv_q8_vnni, gemv_q8_avx2; the scalar path sign-extends).
// - GEMM (more rows): Goto-style blocking. For each K block of kKC, A (the x rows) is packed into
//   row tiles of MR and B (the weight, converted to f32 while packing) into panels of NR columns; each task
//   packs its own few panels (they stay in L2) and runs a register-blocked MR×NR micro-kernel over blocks of
//   row tiles that stay in L2 against one panel at a time. Micro-kernels: 6×16 AVX2/FMA, 12×32 AVX-512, chosen
//   at run time; a plain C++ 6×16 fallback otherwise. q8 weights take an int8 GEMM instead (see gemm_q8).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../kernels.h"
#include "gemm_micro.h"
#include "linear_amx.h"
#include "parallel.h"
#include "simd_convert.h"
#include "simd_f32.h"

namespace seed {
namespace {

constexpr int64_t kGemvMaxRows = 4;  // up to this many rows, stream the weights (matrix-vector path)
// K block 512: each K block reads and writes all of C once (kc/2 FMAs per C element per pass), so at the
// models' prefill shapes (512×4096→11008: C is 22.5 MB) 256 spent ~10 % more time than 512 or 1024 (measured
// at 1 thread). An AVX-512 B panel of 512×32 f32 (64 KB) then streams from L2 rather than sitting in L1,
// which cost nothing measurable; an AVX2 one (32 KB) still fits L1.
constexpr int64_t kKC = 512;
constexpr int64_t kMaxMR = 12, kMaxNR = 32;

// Scratch kept per thread across calls: a product's packed panels are megabytes, and a fresh zero-filled
// vector per call costs page faults and a memset on every call. Contents are unspecified; 64-byte aligned.
template <int Slot>
float* scratch_floats(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n + 16) buf.resize(static_cast<size_t>(n + 16));
  const uintptr_t p = reinterpret_cast<uintptr_t>(buf.data());
  return reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
}

// Either runs fn over [0, n) on the pool or, inside an outer parallel_for (the pool does not nest), inline.
template <class F>
void run(bool parallel, int64_t n, int64_t grain, const F& fn) {
  if (n <= 0) return;
  if (parallel) parallel_for(n, grain, fn);
  else fn(0, n);
}

// The B operand of a GEMM, element (k, n): either w[n][k] (linear; `nk`) or b[k][n] (matmul without transB).
struct WeightView {
  const void* data;
  DType dtype;
  int64_t N, K;
  bool nk;
  const float* q8_scales;  // per-n scales when dtype is Q8 (only with nk)
};

// ---------------------------------------------------------------------------------------------------
// Micro-kernels: c[0:MR, 0:NR] (+)= Σ_k ap[k][0:MR] ⊗ bp[k][0:NR], with ap packed as [kc][MR] and bp as [kc][NR].
// The accumulators are named locals: GCC spills an indexed array of vectors to the stack every step.

#define SEED_FMA_ROW_AVX2(r) \
  av = _mm256_broadcast_ss(ap + r); \
  c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0); \
  c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);
#define SEED_STORE_ROW_AVX2(r) \
  { \
    float* cr = c + r * ldc; \
    if (accumulate) { \
      c##r##0 = _mm256_add_ps(c##r##0, _mm256_loadu_ps(cr)); \
      c##r##1 = _mm256_add_ps(c##r##1, _mm256_loadu_ps(cr + 8)); \
    } \
    _mm256_storeu_ps(cr, c##r##0); \
    _mm256_storeu_ps(cr + 8, c##r##1); \
  }

__attribute__((target("avx2,fma"))) void tile_6x16_avx2(const float* ap, const float* bp, int64_t kc, float* c,
                                                       int64_t ldc, bool accumulate) {
  // The C tile (6 rows, 4 KB+ apart) is usually in L3 by now: start fetching it while the FMAs run.
  for (int r = 0; r < 6; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 15), _MM_HINT_T0);
  }
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t k = 0; k < kc; ++k, ap += 6, bp += 16) {
    const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
    __m256 av;
    SEED_FMA_ROW_AVX2(0)
    SEED_FMA_ROW_AVX2(1)
    SEED_FMA_ROW_AVX2(2)
    SEED_FMA_ROW_AVX2(3)
    SEED_FMA_ROW_AVX2(4)
    SEED_FMA_ROW_AVX2(5)
  }
  SEED_STORE_ROW_AVX2(0)
  SEED_STORE_ROW_AVX2(1)
  SEED_STORE_ROW_AVX2(2)
  SEED_STORE_ROW_AVX2(3)
  SEED_STORE_ROW_AVX2(4)
  SEED_STORE_ROW_AVX2(5)
}

#define SEED_FMA_ROW_AVX512(r) \
  av = _mm512_set1_ps(ap[r]); \
  c##r##_0 = _mm512_fmadd_ps(av, b0, c##r##_0); \
  c##r##_1 = _mm512_fmadd_ps(av, b1, c##r##_1);
#define SEED_STORE_ROW_AVX512(r) \
  { \
    float* cr = c + r * ldc; \
    if (accumulate) { \
      c##r##_0 = _mm512_add_ps(c##r##_0, _mm512_loadu_ps(cr)); \
      c##r##_1 = _mm512_add_ps(c##r##_1, _mm512_loadu_ps(cr + 16)); \
    } \
    _mm512_storeu_ps(cr, c##r##_0); \
    _mm512_storeu_ps(cr + 16, c##r##_1); \
  }

// 12×32: 24 accumulators + 2 B vectors + 1 broadcast of the 32 zmm registers; 14 loads per 24 FMAs.
__attribute__((target("avx512f,avx512bw,avx512vl,fma"))) void tile_12x32_avx512(const float* ap, const float* bp,
                                                                                int64_t kc, float* c, int64_t ldc,
                                                                                bool accumulate) {
  for (int r = 0; r < 12; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 31), _MM_HINT_T0);
  }
  __m512 c0_0 = _mm512_setzero_ps(), c0_1 = c0_0, c1_0 = c0_0, c1_1 = c0_0, c2_0 = c0_0, c2_1 = c0_0, c3_0 = c0_0,
         c3_1 = c0_0, c4_0 = c0_0, c4_1 = c0_0, c5_0 = c0_0, c5_1 = c0_0, c6_0 = c0_0, c6_1 = c0_0, c7_0 = c0_0,
         c7_1 = c0_0, c8_0 = c0_0, c8_1 = c0_0, c9_0 = c0_0, c9_1 = c0_0, c10_0 = c0_0, c10_1 = c0_0, c11_0 = c0_0,
         c11_1 = c0_0;
  for (int64_t k = 0; k < kc; ++k, ap += 12, bp += 32) {
    const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
    __m512 av;
    SEED_FMA_ROW_AVX512(0)
    SEED_FMA_ROW_AVX512(1)
    SEED_FMA_ROW_AVX512(2)
    SEED_FMA_ROW_AVX512(3)
    SEED_FMA_ROW_AVX512(4)
    SEED_FMA_ROW_AVX512(5)
    SEED_FMA_ROW_AVX512(6)
    SEED_FMA_ROW_AVX512(7)
    SEED_FMA_ROW_AVX512(8)
    SEED_FMA_ROW_AVX512(9)
    SEED_FMA_ROW_AVX512(10)
    SEED_FMA_ROW_AVX512(11)
  }
  SEED_STORE_ROW_AVX512(0)
  SEED_STORE_ROW_AVX512(1)
  SEED_STORE_ROW_AVX512(2)
  SEED_STORE_ROW_AVX512(3)
  SEED_STORE_ROW_AVX512(4)
  SEED_STORE_ROW_AVX512(5)
  SEED_STORE_ROW_AVX512(6)
  SEED_STORE_ROW_AVX512(7)
  SEED_STORE_ROW_AVX512(8)
  SEED_STORE_ROW_AVX512(9)
  SEED_STORE_ROW_AVX512(10)
  SEED_STORE_ROW_AVX512(11)
}

void tile_6x16_scalar(const float* ap, const float* bp, int64_t kc, float* c, int64_t ldc, bool accumulate) {
  float acc[6][16] = {};
  for (int64_t k = 0; k < kc; ++k, ap += 6, bp += 16)
    for (int r = 0; r < 6; ++r)
      for (int j = 0; j < 16; ++j) acc[r][j] += ap[r] * bp[j];
  for (int r = 0; r < 6; ++r)
    for (int j = 0; j < 16; ++j) c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

// The same tiles with A read in place from row-major rows (element (r, k) at a[r·lda + k]) instead of a
// packed [kc][MR] tile: conv2d's weight is already [Cout, K] row-major, and packing a large weight (59 MB at
// 1280 channels) on every call costs more memory traffic than the product itself at low resolution.
#define SEED_FMA_ROWPTR_AVX2(r) \
  av = _mm256_broadcast_ss(a##r + k); \
  c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0); \
  c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);

__attribute__((target("avx2,fma"))) void tile_rows_6x16_avx2(const float* a, int64_t lda, const float* bp, int64_t kc, float* c,
                                                             int64_t ldc, bool accumulate) {
  for (int r = 0; r < 6; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 15), _MM_HINT_T0);
  }
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t k = 0; k < kc; ++k, bp += 16) {
    const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
    __m256 av;
    SEED_FMA_ROWPTR_AVX2(0)
    SEED_FMA_ROWPTR_AVX2(1)
    SEED_FMA_ROWPTR_AVX2(2)
    SEED_FMA_ROWPTR_AVX2(3)
    SEED_FMA_ROWPTR_AVX2(4)
    SEED_FMA_ROWPTR_AVX2(5)
  }
  SEED_STORE_ROW_AVX2(0)
  SEED_STORE_ROW_AVX2(1)
  SEED_STORE_ROW_AVX2(2)
  SEED_STORE_ROW_AVX2(3)
  SEED_STORE_ROW_AVX2(4)
  SEED_STORE_ROW_AVX2(5)
}

#define SEED_FMA_ROWPTR_AVX512(r) \
  av = _mm512_set1_ps(a##r[k]); \
  c##r##_0 = _mm512_fmadd_ps(av, b0, c##r##_0); \
  c##r##_1 = _mm512_fmadd_ps(av, b1, c##r##_1);

__attribute__((target("avx512f,avx512bw,avx512vl,fma"))) void tile_rows_12x32_avx512(const float* a, int64_t lda, const float* bp,
                                                                                     int64_t kc, float* c, int64_t ldc,
                                                                                     bool accumulate) {
  for (int r = 0; r < 12; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 31), _MM_HINT_T0);
  }
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda,
              *a6 = a + 6 * lda, *a7 = a + 7 * lda, *a8 = a + 8 * lda, *a9 = a + 9 * lda, *a10 = a + 10 * lda,
              *a11 = a + 11 * lda;
  __m512 c0_0 = _mm512_setzero_ps(), c0_1 = c0_0, c1_0 = c0_0, c1_1 = c0_0, c2_0 = c0_0, c2_1 = c0_0, c3_0 = c0_0,
         c3_1 = c0_0, c4_0 = c0_0, c4_1 = c0_0, c5_0 = c0_0, c5_1 = c0_0, c6_0 = c0_0, c6_1 = c0_0, c7_0 = c0_0,
         c7_1 = c0_0, c8_0 = c0_0, c8_1 = c0_0, c9_0 = c0_0, c9_1 = c0_0, c10_0 = c0_0, c10_1 = c0_0, c11_0 = c0_0,
         c11_1 = c0_0;
  for (int64_t k = 0; k < kc; ++k, bp += 32) {
    const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
    __m512 av;
    SEED_FMA_ROWPTR_AVX512(0)
    SEED_FMA_ROWPTR_AVX512(1)
    SEED_FMA_ROWPTR_AVX512(2)
    SEED_FMA_ROWPTR_AVX512(3)
    SEED_FMA_ROWPTR_AVX512(4)
    SEED_FMA_ROWPTR_AVX512(5)
    SEED_FMA_ROWPTR_AVX512(6)
    SEED_FMA_ROWPTR_AVX512(7)
    SEED_FMA_ROWPTR_AVX512(8)
    SEED_FMA_ROWPTR_AVX512(9)
    SEED_FMA_ROWPTR_AVX512(10)
    SEED_FMA_ROWPTR_AVX512(11)
  }
  SEED_STORE_ROW_AVX512(0)
  SEED_STORE_ROW_AVX512(1)
  SEED_STORE_ROW_AVX512(2)
  SEED_STORE_ROW_AVX512(3)
  SEED_STORE_ROW_AVX512(4)
  SEED_STORE_ROW_AVX512(5)
  SEED_STORE_ROW_AVX512(6)
  SEED_STORE_ROW_AVX512(7)
  SEED_STORE_ROW_AVX512(8)
  SEED_STORE_ROW_AVX512(9)
  SEED_STORE_ROW_AVX512(10)
  SEED_STORE_ROW_AVX512(11)
}

void tile_rows_6x16_scalar(const float* a, int64_t lda, const float* bp, int64_t kc, float* c, int64_t ldc, bool accumulate) {
  float acc[6][16] = {};
  for (int64_t k = 0; k < kc; ++k, bp += 16)
    for (int r = 0; r < 6; ++r)
      for (int j = 0; j < 16; ++j) acc[r][j] += a[r * lda + k] * bp[j];
  for (int r = 0; r < 6; ++r)
    for (int j = 0; j < 16; ++j) c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

// The micro-kernel of the path in use (looked up per call: the path cap can change between kernels).
const MicroKernel& micro_kernel() {
  static const MicroKernel avx512{12, 32, 8, 4, tile_12x32_avx512, tile_rows_12x32_avx512, "avx512 12x32"};
  static const MicroKernel avx2{6, 16, 16, 8, tile_6x16_avx2, tile_rows_6x16_avx2, "avx2 6x16"};
  static const MicroKernel scalar{6, 16, 16, 8, tile_6x16_scalar, tile_rows_6x16_scalar, "scalar 6x16"};
  const CpuPath p = cpu_path();
  return p >= CpuPath::Avx512 ? avx512 : (p == CpuPath::Avx2 ? avx2 : scalar);
}

// ---------------------------------------------------------------------------------------------------
// Packing.

// ap[k][r] = A[m0 + r, k0 + k] for one row tile, rows past M zero.
// Rows of A (and of w) are often a multiple of 4 KB apart and so share one L1 set: read them a cache line
// (16 floats) at a time per row rather than one element of every row per k, which would thrash that set.
constexpr int64_t kLine = 16;

// ap[k][r] = A[m0 + r, k0 + k] for one row tile, rows past `rows` zero.
void pack_a_tile(const float* A, int64_t lda, int64_t rows, int64_t mr, int64_t k0, int64_t kc, float* ap) {
  for (int64_t kb = 0; kb < kc; kb += kLine) {
    const int64_t kn = std::min(kLine, kc - kb);
    for (int64_t r = 0; r < mr; ++r) {
      float* dst = ap + kb * mr + r;
      if (r >= rows) {
        for (int64_t k = 0; k < kn; ++k) dst[k * mr] = 0.0f;
        continue;
      }
      const float* src = A + r * lda + k0 + kb;
      for (int64_t k = 0; k < kn; ++k) dst[k * mr] = src[k];
    }
  }
}

// bp[k][j] = src[j][k] for a full 32-column panel whose 32 sources are `stride` floats apart: 16×16 blocks
// transposed in registers (16 loads, 64 shuffles, 16 stores per block, where two 16-lane gathers per k cost
// about 2.5× the instructions; packing was a fifth of a 512-token f32 prefill GEMM).
__attribute__((target("avx512f"))) void transpose_panel32_avx512(const float* src0, int64_t stride, int64_t kc, float* bp) {
  const float* rows[32];
  for (int64_t j = 0; j < 32; ++j) rows[j] = src0 + j * stride;
  for (int64_t k = 0; k < kc; k += 16)
    for (int64_t half = 0; half < 2; ++half)
      transpose16_avx512(rows + 16 * half, k, std::min<int64_t>(16, kc - k), bp + k * 32 + 16 * half, 32);
}

// bp[k][j] = B(k0 + k, n0 + j) as f32 for one panel, columns past `cols` zero.
// scratch: kMaxNR × kc floats (used for w[n][k] weights that are not f32).
void pack_b_panel(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, int64_t cols, int64_t nr, float* bp,
                  float* scratch) {
  if (!w.nk) {  // b[k][n]: row k of the panel is a contiguous run of b's row k0 + k
    for (int64_t k = 0; k < kc; ++k) {
      float* dst = bp + k * nr;
      simd_to_f32(w.data, w.dtype, (k0 + k) * w.N + n0, cols, dst);
      for (int64_t c = cols; c < nr; ++c) dst[c] = 0.0f;
    }
    return;
  }
  // w[n][k]: column j of the panel is a contiguous run of w's row n0 + j. Convert those runs to f32 first
  // (into scratch, [nr][kc]), then transpose them into the panel a cache line at a time.
  const float* src[kMaxNR];
  for (int64_t j = 0; j < cols; ++j) {
    const int64_t n = n0 + j;
    float* s = scratch + j * kc;
    if (w.dtype == DType::F32) {
      src[j] = static_cast<const float*>(w.data) + n * w.K + k0;
      continue;
    }
    if (w.dtype == DType::Q8) {
      const int8_t* q = static_cast<const int8_t*>(w.data) + n * w.K + k0;
      const float scale = w.q8_scales[n];
      for (int64_t k = 0; k < kc; ++k) s[k] = scale * static_cast<float>(q[k]);
    } else {
      simd_to_f32(w.data, w.dtype, n * w.K + k0, kc, s);
    }
    src[j] = s;
  }
  if (nr == 32 && cols == 32 && cpu_path() >= CpuPath::Avx512) {
    // Sources are rows of w (f32: K apart) or of scratch (converted: kc apart).
    return transpose_panel32_avx512(src[0], w.dtype == DType::F32 ? w.K : kc, kc, bp);
  }
  for (int64_t kb = 0; kb < kc; kb += kLine) {
    const int64_t kn = std::min(kLine, kc - kb);
    for (int64_t j = 0; j < nr; ++j) {
      float* dst = bp + kb * nr + j;
      if (j >= cols) {
        for (int64_t k = 0; k < kn; ++k) dst[k * nr] = 0.0f;
        continue;
      }
      const float* s = src[j] + kb;
      for (int64_t k = 0; k < kn; ++k) dst[k * nr] = s[k];
    }
  }
}

// c (+)= one MR×NR tile of A·B at (row, col) of C [M, N]: an edge tile is computed aside and only its valid
// corner added.
inline void run_tile(const MicroKernel& mk, const float* ap, const float* bp, int64_t kc, float* C, int64_t M,
                     int64_t N, int64_t row, int64_t col, bool accumulate) {
  const int64_t rows = std::min(mk.mr, M - row), cols = std::min(mk.nr, N - col);
  float* c = C + row * N + col;
  if (rows == mk.mr && cols == mk.nr) return mk.tile(ap, bp, kc, c, N, accumulate);
  alignas(64) float edge[kMaxMR * kMaxNR];
  mk.tile(ap, bp, kc, edge, mk.nr, false);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      c[r * N + j] = accumulate ? c[r * N + j] + edge[r * mk.nr + j] : edge[r * mk.nr + j];
}

// C[M, N] = A[M, K] · B[K, N]; A f32 row-major (lda = K), C f32 row-major (ldc = N), C overwritten.
void gemm(const float* A, int64_t M, const WeightView& w, float* C, bool parallel) {
  const int64_t N = w.N, K = w.K;
  if (M == 0 || N == 0) return;
  if (K == 0) {
    std::fill(C, C + M * N, 0.0f);
    return;
  }
  const MicroKernel& mk = micro_kernel();
  const int64_t mr = mk.mr, nr = mk.nr;
  const int64_t mtiles = (M + mr - 1) / mr, mblocks = (mtiles + mk.mc_tiles - 1) / mk.mc_tiles;
  const int64_t kc_max = std::min(kKC, K);
  float* const ap_all = scratch_floats<0>(mtiles * mr * kc_max);

  // Tasks: (group of panels) × (share of the row-tile blocks). A task packs its group's panels into a per-thread
  // buffer that stays in L2 (once for consecutive tasks of one group) and runs its row tiles against them, a
  // block of row tiles (L2) at a time. Packing a whole N block of panels into one shared buffer first (4 MB,
  // past L2) wrote it out to L3 and read it back: measured in one process, a 16-row linear through
  // 4096→11008 took 25.8 ms that way and 16.8 ms this way, and a 1024³ matmul 8.8 ms and 8.0 ms. Few panel
  // groups (narrow products) are split over the row blocks too, so every thread has work.
  const int64_t ppt = mk.panels_per_task, panels = (N + nr - 1) / nr, groups = (panels + ppt - 1) / ppt;
  const int64_t msplit = parallel ? std::min(mblocks, std::max<int64_t>(1, (2 * cpu_threads() + groups - 1) / groups)) : 1;
  const int64_t mper = (mblocks + msplit - 1) / msplit;
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    const bool accumulate = k0 > 0;
    run(parallel, mtiles, 1, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j)
        pack_a_tile(A + j * mr * K, K, std::min(mr, M - j * mr), mr, k0, kc, ap_all + j * mr * kc);
    });
    run(parallel, groups * msplit, 1, [&](int64_t t0, int64_t t1) {
      float* const bp_group = scratch_floats<1>(ppt * nr * kc);
      float* const scratch = scratch_floats<2>(kMaxNR * kc);
      int64_t packed = -1;  // the group whose panels bp_group holds
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t g = t / msplit, mb0 = (t % msplit) * mper, mb1 = std::min(mblocks, mb0 + mper);
        const int64_t p0 = g * ppt, p1 = std::min(panels, p0 + ppt);
        if (mb0 >= mb1) continue;
        if (packed != g)
          for (int64_t p = p0; p < p1; ++p)
            pack_b_panel(w, k0, kc, p * nr, std::min(nr, N - p * nr), nr, bp_group + (p - p0) * kc * nr, scratch);
        packed = g;
        for (int64_t mb = mb0; mb < mb1; ++mb) {
          const int64_t mt0 = mb * mk.mc_tiles, mt1 = std::min(mtiles, mt0 + mk.mc_tiles);
          for (int64_t p = p0; p < p1; ++p)
            for (int64_t mt = mt0; mt < mt1; ++mt)
              run_tile(mk, ap_all + mt * mr * kc, bp_group + (p - p0) * kc * nr, kc, C, M, N, mt * mr, p * nr,
                       accumulate);
        }
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Matrix-vector: y[m, n] = Σ_k x[m, k] · w[n, k] (· scale[n] for q8) for m < R ≤ kGemvMaxRows.

// 8 weights w[i..i+8) as f32 (q8: the raw int8 values; the scale is applied to the finished sum).
template <DType T>
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const void* w, int64_t i) {
  if constexpr (T == DType::F32) return _mm256_loadu_ps(static_cast<const float*>(w) + i);
  if constexpr (T == DType::F16)
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i)));
  if constexpr (T == DType::BF16) return load_bf16x8(static_cast<const uint16_t*>(w) + i);
  return _mm256_setzero_ps();
}

template <DType T>
constexpr int sizeof_elem() {
  return T == DType::F32 ? 4 : 2;
}
constexpr int64_t kPrefetchBytes = 2048;  // the f32 and multi-row decodes' prefetch distance (into L1)
constexpr int64_t kGemvPrefetchBytes = 6144;  // the int8 and 16-bit decodes' prefetch distance (into L2)

// One x row: independent accumulators over a step of 64 weights (f32: 256 bytes, four lines) or 32 (16-bit: one
// line) keep the FMA chains and loads busy.
// f32/f16/bf16 weights (q8 takes the int8 GEMVs below).
template <DType T>
__attribute__((target("avx2,fma,f16c"))) void gemv1_avx2(const float* x, int64_t K, const void* w, int64_t n0,
                                                         int64_t n1, float* y) {
  constexpr int kAcc = sizeof_elem<T>() == 4 ? 8 : 4;  // accumulators of 8 lanes: the step is 8·kAcc weights
  constexpr int64_t kStep = 8 * kAcc;
  for (int64_t n = n0; n < n1; ++n) {
    const int64_t base = n * K;
    __m256 a[kAcc];
    for (auto& v : a) v = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + kStep <= K; k += kStep) {
      // Software prefetch a fixed distance ahead in bytes: the hardware prefetcher alone leaves the narrow
      // dtypes (fewer bytes per instruction) short of bandwidth. f16/bf16 take the int8 GEMVs' distance into
      // L2, which streamed 3–7% more from memory in one process; f32 streamed 2–9% less that way than into L1,
      // and most with every line of a 256-byte step 2 KB ahead into L1 (one process, 4 × 184 MB in turn:
      // 30.0 GB/s with steps of 128 bytes and both lines 1 KB ahead, 33.2 this way, 33.3 at 3 KB, 32.7 at 1.5 KB).
      const char* wb = static_cast<const char*>(w) + (base + k) * static_cast<int64_t>(sizeof_elem<T>());
      if constexpr (sizeof_elem<T>() == 2) _mm_prefetch(wb + kGemvPrefetchBytes, _MM_HINT_T1);
      else
        for (int64_t line = 0; line < kStep * sizeof_elem<T>(); line += 64) _mm_prefetch(wb + kPrefetchBytes + line, _MM_HINT_T0);
#pragma GCC unroll 8
      for (int j = 0; j < kAcc; ++j)
        a[j] = _mm256_fmadd_ps(load8<T>(w, base + k + 8 * j), _mm256_loadu_ps(x + k + 8 * j), a[j]);
    }
    for (; k + 8 <= K; k += 8) a[0] = _mm256_fmadd_ps(load8<T>(w, base + k), _mm256_loadu_ps(x + k), a[0]);
#pragma GCC unroll 8
    for (int j = 1; j < kAcc; ++j) a[0] = _mm256_add_ps(a[0], a[j]);
    float s = hsum(a[0]);
    for (; k < K; ++k) s += load_f(w, T, base + k) * x[k];
    y[n] = s;
  }
}

// R (2..4) x rows: each weight vector is loaded once and used for all rows.
template <DType T, int R>
__attribute__((target("avx2,fma,f16c"))) void gemvr_avx2(const float* x, int64_t K, const void* w, int64_t n0,
                                                         int64_t n1, float* y, int64_t ldy) {
  for (int64_t n = n0; n < n1; ++n) {
    const int64_t base = n * K;
    __m256 a[R][2];
    for (int m = 0; m < R; ++m) a[m][0] = a[m][1] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
      _mm_prefetch(static_cast<const char*>(w) + (base + k) * static_cast<int64_t>(sizeof_elem<T>()) + kPrefetchBytes,
                   _MM_HINT_T0);
      const __m256 w0 = load8<T>(w, base + k), w1 = load8<T>(w, base + k + 8);
      for (int m = 0; m < R; ++m) {
        a[m][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + m * K + k), a[m][0]);
        a[m][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + m * K + k + 8), a[m][1]);
      }
    }
    float s[R];
    for (int m = 0; m < R; ++m) s[m] = hsum(_mm256_add_ps(a[m][0], a[m][1]));
    for (; k < K; ++k) {
      const float wv = load_f(w, T, base + k);
      for (int m = 0; m < R; ++m) s[m] += wv * x[m * K + k];
    }
    for (int m = 0; m < R; ++m) y[m * ldy + n] = s[m];
  }
}

template <DType T>
void gemv_avx2(const float* x, int64_t rows, const WeightView& w, int64_t n0, int64_t n1, float* y) {
  switch (rows) {
    case 1: return gemv1_avx2<T>(x, w.K, w.data, n0, n1, y);
    case 2: return gemvr_avx2<T, 2>(x, w.K, w.data, n0, n1, y, w.N);
    case 3: return gemvr_avx2<T, 3>(x, w.K, w.data, n0, n1, y, w.N);
    default: return gemvr_avx2<T, 4>(x, w.K, w.data, n0, n1, y, w.N);
  }
}

void gemv_scalar(const float* x, int64_t rows, const WeightView& w, int64_t n0, int64_t n1, float* y) {
  std::vector<float> wrow(w.K);
  for (int64_t n = n0; n < n1; ++n) {
    if (w.dtype == DType::Q8) {
      const int8_t* q = static_cast<const int8_t*>(w.data) + n * w.K;
      for (int64_t k = 0; k < w.K; ++k) wrow[k] = static_cast<float>(q[k]);
    } else {
      simd_to_f32(w.data, w.dtype, n * w.K, w.K, wrow.data());
    }
    for (int64_t m = 0; m < rows; ++m) {
      float s = 0;
      for (int64_t k = 0; k < w.K; ++k) s += x[m * w.K + k] * wrow[k];
      y[m * w.N + n] = w.dtype == DType::Q8 ? s * w.q8_scales[n] : s;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// int8 GEMM for q8 weights (prefill with AVX-512 VNNI, AMX-INT8 or AVX2 maddubs):
//   C[m, n] = s_w[n] · Σ_b d[m, b] · Σ_{k∈b} q_x[m, k]·q_w[n, k].
//
// The activations are quantized per block of kQB along K (per row): d = max|x| / 127, q_x = round(x / d) (nearest
// even) in [-127, 127]; the weights are q8's int8 values with their per-row scale s_w. VNNI's vpdpbusd multiplies
// unsigned by signed bytes, so A is stored as q_x + 128 (1..255) and each block's integer sum starts from
// −128 · Σ_{k∈b} q_w[n, k] (computed while packing the panel), which cancels the offset exactly. Per block the
// int32 sum (|·| ≤ 32·255·127) is converted and accumulated in f32 with d; s_w is applied once at the end.
// K is padded to a multiple of kQB with zeros on both sides (a zero weight adds nothing, whatever the offset).
// On the amx path the same sums come from tile products (linear_amx.cpp): TDPBSSD multiplies signed by signed
// bytes, so A is stored as q_x itself (no offset, comp unused), in tiles of kAmxMR rows.

constexpr int64_t kQB = 32;           // activation block (and the unit of the packed panels)
constexpr int64_t kQMR = 6, kQNR = 32;  // rows × columns of the int8 micro-kernel
constexpr int64_t kQMinRows = kGemvMaxRows + 1;

// Quantize rows [m0, m1) of A (f32, [M, K]) into the tile layout: tile t = m / mr, row r = m % mr; bytes at
// ((t·nb + b)·mr + r)·kQB, scale at (t·nb + b)·mr + r. The scalar twin writes kQMR-row tiles with the offset
// of 128 (the VNNI layout); the avx512 one takes the tile rows and the offset (128, or 0 for AMX).
void quantize_rows_scalar(const float* A, int64_t K, int64_t nb, int64_t m0, int64_t m1, uint8_t* aq, float* ad) {
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t t = m / kQMR, r = m % kQMR;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t k0 = b * kQB, n = std::min(kQB, K - k0);
      const float* x = A + m * K + k0;
      float amax = 0;
      for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
      const float d = amax / 127.0f, id = amax > 0 ? 127.0f / amax : 0.0f;
      uint8_t* q = aq + ((t * nb + b) * kQMR + r) * kQB;
      for (int64_t i = 0; i < kQB; ++i) {
        const float v = i < n ? std::nearbyint(x[i] * id) : 0.0f;
        q[i] = static_cast<uint8_t>(static_cast<int>(std::min(127.0f, std::max(-127.0f, v))) + 128);
      }
      ad[(t * nb + b) * kQMR + r] = d;
    }
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void quantize_rows_avx512(const float* A, int64_t K, int64_t nb,
                                                                              int64_t mr, int32_t offset, int64_t m0,
                                                                              int64_t m1, uint8_t* aq, float* ad) {
  const __m512 lim = _mm512_set1_ps(127.0f);
  const __m512i off = _mm512_set1_epi32(offset);
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t t = m / mr, r = m % mr;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t k0 = b * kQB, n = std::min(kQB, K - k0);
      const float* x = A + m * K + k0;
      // Masked loads: the tail of the last block reads nothing past the row and counts as zeros.
      const __mmask16 m_lo = static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1);
      const __mmask16 m_hi = static_cast<__mmask16>(n >= 32 ? 0xffff : (n > 16 ? (1u << (n - 16)) - 1 : 0));
      const __m512 x0 = _mm512_maskz_loadu_ps(m_lo, x), x1 = _mm512_maskz_loadu_ps(m_hi, x + 16);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
      const float d = amax / 127.0f, id = amax > 0 ? 127.0f / amax : 0.0f;
      const __m512 vid = _mm512_set1_ps(id);
      // Round to nearest even (the default MXCSR mode), like std::nearbyint in the scalar twin.
      const __m512 q0 = _mm512_min_ps(lim, _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), lim), _mm512_mul_ps(x0, vid)));
      const __m512 q1 = _mm512_min_ps(lim, _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), lim), _mm512_mul_ps(x1, vid)));
      const __m512i i0 = _mm512_add_epi32(_mm512_cvtps_epi32(q0), off), i1 = _mm512_add_epi32(_mm512_cvtps_epi32(q1), off);
      uint8_t* q = aq + ((t * nb + b) * mr + r) * kQB;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(i0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtepi32_epi8(i1));
      ad[(t * nb + b) * mr + r] = d;
    }
  }
}

// One block of one panel of kQNR weight rows [n0, n0 + cols) (cols ≤ kQNR; the rest zero): bp[g][j][4] = q_w[n0 + j]
// [k0 + 4g + i] and comp[j] = −128 · Σ_{k∈block} q_w[n0 + j][k]; k past K is zero.
void pack_q8_block_scalar(const int8_t* w, int64_t K, int64_t k0, int64_t n0, int64_t cols, int8_t* bp, int32_t* comp) {
  constexpr int64_t G = kQB / 4;
  const int64_t n = std::min(kQB, K - k0);
  for (int64_t j = 0; j < kQNR; ++j) {
    int8_t blk[kQB] = {};
    if (j < cols) std::memcpy(blk, w + (n0 + j) * K + k0, static_cast<size_t>(n));
    int32_t sum = 0;
    for (int64_t i = 0; i < kQB; ++i) sum += blk[i];
    comp[j] = -128 * sum;
    for (int64_t g = 0; g < G; ++g) std::memcpy(bp + (g * kQNR + j) * 4, blk + 4 * g, 4);
  }
}

// The same for a full block of a full panel: each 4-byte group of the 32 rows is one gather of 16 lanes (the
// rows are K bytes apart), and the column sums come from vpdpbusd against ones.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void pack_q8_block_vnni(const int8_t* w, int64_t K,
                                                                                        int64_t k0, int64_t n0,
                                                                                        int8_t* bp, int32_t* comp) {
  const __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int32_t>(K)));
  const __m512i ones = _mm512_set1_epi8(1);
  const int8_t* base0 = w + n0 * K + k0;
  const int8_t* base1 = base0 + 16 * K;
  __m512i s0 = _mm512_setzero_si512(), s1 = s0;
  for (int64_t g = 0; g < kQB / 4; ++g) {
    const __m512i v0 = _mm512_i32gather_epi32(rows, base0 + 4 * g, 1);
    const __m512i v1 = _mm512_i32gather_epi32(rows, base1 + 4 * g, 1);
    _mm512_store_si512(bp + g * kQNR * 4, v0);
    _mm512_store_si512(bp + g * kQNR * 4 + 64, v1);
    s0 = _mm512_dpbusd_epi32(s0, ones, v0);
    s1 = _mm512_dpbusd_epi32(s1, ones, v1);
  }
  const __m512i m128 = _mm512_set1_epi32(-128);
  _mm512_store_si512(comp, _mm512_mullo_epi32(s0, m128));
  _mm512_store_si512(comp + 16, _mm512_mullo_epi32(s1, m128));
}

// A whole panel (nb blocks): bp[b][g][j][4], comp[b][j]. The gathers address rows by 32-bit offsets, so they are
// used only while 32 rows fit (32·K < 2^31) and for full blocks of full panels.
void pack_q8_panel(const int8_t* w, int64_t K, int64_t nb, int64_t n0, int64_t cols, int8_t* bp, int32_t* comp,
                   bool vnni) {
  const bool gather = vnni && cols == kQNR && K < (int64_t(1) << 26);
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t k0 = b * kQB;
    int8_t* dst = bp + b * kQB * kQNR;
    if (gather && k0 + kQB <= K) pack_q8_block_vnni(w, K, k0, n0, dst, comp + b * kQNR);
    else pack_q8_block_scalar(w, K, k0, n0, cols, dst, comp + b * kQNR);
  }
}

// The scalar twin of the micro-kernel (same integer sums, same f32 accumulation order per block).
void q8_tile_scalar(const uint8_t* aq, const float* ad, const int8_t* bp, const int32_t* comp, int64_t nb,
                    const float* ws, float* c, int64_t ldc) {
  constexpr int64_t G = kQB / 4;
  float acc[kQMR][kQNR] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* a = aq + b * kQMR * kQB;
    const int8_t* B = bp + b * G * kQNR * 4;
    for (int64_t r = 0; r < kQMR; ++r)
      for (int64_t j = 0; j < kQNR; ++j) {
        int32_t s = comp[b * kQNR + j];
        for (int64_t g = 0; g < G; ++g)
          for (int64_t i = 0; i < 4; ++i) s += int32_t(a[r * kQB + 4 * g + i]) * int32_t(B[(g * kQNR + j) * 4 + i]);
        acc[r][j] += static_cast<float>(s) * ad[b * kQMR + r];
      }
  }
  for (int64_t r = 0; r < kQMR; ++r)
    for (int64_t j = 0; j < kQNR; ++j) c[r * ldc + j] = acc[r][j] * ws[j];
}

#define SEED_Q8_INIT_ROW(r) __m512i i##r##_0 = k0, i##r##_1 = k1;
#define SEED_Q8_DOT_ROW(r, g) \
  { \
    int32_t v; \
    std::memcpy(&v, a + r * kQB + 4 * g, 4); \
    const __m512i av = _mm512_set1_epi32(v); \
    i##r##_0 = _mm512_dpbusd_epi32(i##r##_0, av, b0); \
    i##r##_1 = _mm512_dpbusd_epi32(i##r##_1, av, b1); \
  }
#define SEED_Q8_GROUP(g) \
  { \
    const __m512i b0 = _mm512_load_si512(B + g * 128), b1 = _mm512_load_si512(B + g * 128 + 64); \
    SEED_Q8_DOT_ROW(0, g) \
    SEED_Q8_DOT_ROW(1, g) \
    SEED_Q8_DOT_ROW(2, g) \
    SEED_Q8_DOT_ROW(3, g) \
    SEED_Q8_DOT_ROW(4, g) \
    SEED_Q8_DOT_ROW(5, g) \
  }
#define SEED_Q8_FOLD_ROW(r) \
  { \
    const __m512 dv = _mm512_set1_ps(dsc[r]); \
    f##r##_0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i##r##_0), dv, f##r##_0); \
    f##r##_1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i##r##_1), dv, f##r##_1); \
  }
#define SEED_Q8_STORE_ROW(r) \
  _mm512_storeu_ps(c + r * ldc, _mm512_mul_ps(f##r##_0, w0)); \
  _mm512_storeu_ps(c + r * ldc + 16, _mm512_mul_ps(f##r##_1, w1));

// 6×32 with VNNI: 12 int32 block sums + 12 f32 accumulators + 2 B vectors + 1 broadcast of the 32 registers.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void q8_tile_vnni(const uint8_t* aq, const float* ad,
                                                                                  const int8_t* bp, const int32_t* comp,
                                                                                  int64_t nb, const float* ws, float* c,
                                                                                  int64_t ldc) {
  __m512 f0_0 = _mm512_setzero_ps(), f0_1 = f0_0, f1_0 = f0_0, f1_1 = f0_0, f2_0 = f0_0, f2_1 = f0_0, f3_0 = f0_0,
         f3_1 = f0_0, f4_0 = f0_0, f4_1 = f0_0, f5_0 = f0_0, f5_1 = f0_0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* a = aq + b * kQMR * kQB;
    const int8_t* B = bp + b * kQB * kQNR;
    const float* dsc = ad + b * kQMR;
    const __m512i k0 = _mm512_load_si512(comp + b * kQNR), k1 = _mm512_load_si512(comp + b * kQNR + 16);
    SEED_Q8_INIT_ROW(0)
    SEED_Q8_INIT_ROW(1)
    SEED_Q8_INIT_ROW(2)
    SEED_Q8_INIT_ROW(3)
    SEED_Q8_INIT_ROW(4)
    SEED_Q8_INIT_ROW(5)
    SEED_Q8_GROUP(0)
    SEED_Q8_GROUP(1)
    SEED_Q8_GROUP(2)
    SEED_Q8_GROUP(3)
    SEED_Q8_GROUP(4)
    SEED_Q8_GROUP(5)
    SEED_Q8_GROUP(6)
    SEED_Q8_GROUP(7)
    SEED_Q8_FOLD_ROW(0)
    SEED_Q8_FOLD_ROW(1)
    SEED_Q8_FOLD_ROW(2)
    SEED_Q8_FOLD_ROW(3)
    SEED_Q8_FOLD_ROW(4)
    SEED_Q8_FOLD_ROW(5)
  }
  const __m512 w0 = _mm512_loadu_ps(ws), w1 = _mm512_loadu_ps(ws + 16);
  SEED_Q8_STORE_ROW(0)
  SEED_Q8_STORE_ROW(1)
  SEED_Q8_STORE_ROW(2)
  SEED_Q8_STORE_ROW(3)
  SEED_Q8_STORE_ROW(4)
  SEED_Q8_STORE_ROW(5)
}
static_assert(kQB == 32 && kQNR == 32 && kQMR == 6, "q8_tile_vnni is written for 6×32 tiles over blocks of 32");

// AVX2 without VNNI (maddubs): the same integer sums from vpmaddubsw, which multiplies unsigned by signed bytes
// into int16 pairs that saturate. So the unsigned operand is |q_w| (the weights, up to 128: a -128 in a file is
// still exact) and the signed one q_x·sign(q_w) (|q_x| ≤ 127, so negating it never overflows); a pair is at most
// 2·128·127 = 32512 < 2^15, never saturated, and vpmaddwd against ones widens the pairs into int32 sums.
// A is stored as q_x (no offset, comp unused) in tiles of kQMR2 rows; the kernel computes 4 × 32 outputs as
// two 4×16 halves of the panel: 8 int32 block sums + |b|, b for two column vectors + the broadcast + a
// temporary + ones = 15 of the 16 registers, so the f32 accumulators live in an L1 array (one fold per block).
constexpr int64_t kQMR2 = 4;

__attribute__((target("avx2,fma"))) void quantize_rows_avx2(const float* A, int64_t K, int64_t nb, int64_t mr,
                                                           int64_t m0, int64_t m1, int8_t* aq, float* ad) {
  const __m256 lim = _mm256_set1_ps(127.0f), nlim = _mm256_set1_ps(-127.0f);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  // packs_epi32/epi16 interleave the 128-bit lanes; this puts the 8 groups of 4 bytes back in order.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t t = m / mr, r = m % mr;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t k0 = b * kQB, n = std::min(kQB, K - k0);
      const float* x = A + m * K + k0;
      // Masked loads: the tail of the last block reads nothing past the row and counts as zeros.
      __m256 v[4];
      for (int i = 0; i < 4; ++i)
        if (n == kQB) v[i] = _mm256_loadu_ps(x + 8 * i);
        else if (8 * i >= n) v[i] = _mm256_setzero_ps();
        else v[i] = _mm256_maskload_ps(x + 8 * i, _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n - 8 * i)), lanes));
      __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                                _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
      __m128 h = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
      h = _mm_max_ps(h, _mm_movehl_ps(h, h));
      h = _mm_max_ss(h, _mm_movehdup_ps(h));
      const float amax = _mm_cvtss_f32(h);
      const float d = amax / 127.0f, id = amax > 0 ? 127.0f / amax : 0.0f;
      const __m256 vid = _mm256_set1_ps(id);
      __m256i q[4];
      // Round to nearest even (the default MXCSR mode), like std::nearbyint in the scalar twin.
      for (int i = 0; i < 4; ++i)
        q[i] = _mm256_cvtps_epi32(_mm256_min_ps(lim, _mm256_max_ps(nlim, _mm256_mul_ps(v[i], vid))));
      const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(aq + ((t * nb + b) * mr + r) * kQB),
                          _mm256_permutevar8x32_epi32(p, order));
      ad[(t * nb + b) * mr + r] = d;
    }
  }
}
static_assert(kQB == 32, "quantize_rows_avx2 is written for blocks of 32");

#define SEED_Q8M_ROW(r) \
  { \
    const __m256i av = _mm256_set1_epi32(load_i32(a + r * kQB + 4 * g)); \
    i##r##_0 = _mm256_add_epi32(i##r##_0, _mm256_madd_epi16(_mm256_maddubs_epi16(u0, _mm256_sign_epi8(av, b0)), ones)); \
    i##r##_1 = _mm256_add_epi32(i##r##_1, _mm256_madd_epi16(_mm256_maddubs_epi16(u1, _mm256_sign_epi8(av, b1)), ones)); \
    __asm__("" : "+x"(i##r##_0), "+x"(i##r##_1)); /* row by row: GCC interleaving the rows spilled sums */ \
  }
#define SEED_Q8M_FOLD(r) \
  { \
    const __m256 dv = _mm256_set1_ps(dsc[r]); \
    _mm256_store_ps(f + 16 * r, _mm256_fmadd_ps(_mm256_cvtepi32_ps(i##r##_0), dv, _mm256_load_ps(f + 16 * r))); \
    _mm256_store_ps(f + 16 * r + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(i##r##_1), dv, _mm256_load_ps(f + 16 * r + 8))); \
  }

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// One 4×16 half: columns [16·half, 16·half + 16) of the panel. f: the f32 sums [4][16], in memory (the caller's
// array, so the compiler keeps the int32 sums, not these, in registers).
__attribute__((target("avx2,fma"))) void q8_half_avx2(const int8_t* aq, const float* ad, const int8_t* bp, int64_t nb,
                                                     int64_t half, const float* ws, float* f, float* c, int64_t ldc) {
  const __m256i ones = _mm256_set1_epi16(1);
  std::fill(f, f + kQMR2 * 16, 0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* a = aq + b * kQMR2 * kQB;
    const int8_t* B = bp + b * kQB * kQNR + half * 64;
    const float* dsc = ad + b * kQMR2;
    __m256i i0_0 = _mm256_setzero_si256(), i0_1 = i0_0, i1_0 = i0_0, i1_1 = i0_0, i2_0 = i0_0, i2_1 = i0_0,
            i3_0 = i0_0, i3_1 = i0_0;
    for (int64_t g = 0; g < kQB / 4; ++g) {
      const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(B + g * kQNR * 4));
      const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(B + g * kQNR * 4 + 32));
      const __m256i u0 = _mm256_abs_epi8(b0), u1 = _mm256_abs_epi8(b1);  // abs(-128) is 0x80 = 128 unsigned
      SEED_Q8M_ROW(0)
      SEED_Q8M_ROW(1)
      SEED_Q8M_ROW(2)
      SEED_Q8M_ROW(3)
    }
    SEED_Q8M_FOLD(0)
    SEED_Q8M_FOLD(1)
    SEED_Q8M_FOLD(2)
    SEED_Q8M_FOLD(3)
  }
  const __m256 w0 = _mm256_loadu_ps(ws + 16 * half), w1 = _mm256_loadu_ps(ws + 16 * half + 8);
  for (int64_t r = 0; r < kQMR2; ++r) {
    _mm256_storeu_ps(c + r * ldc + 16 * half, _mm256_mul_ps(_mm256_load_ps(f + 16 * r), w0));
    _mm256_storeu_ps(c + r * ldc + 16 * half + 8, _mm256_mul_ps(_mm256_load_ps(f + 16 * r + 8), w1));
  }
}
static_assert(kQB == 32 && kQNR == 32 && kQMR2 == 4, "q8_half_avx2 is written for 4×16 halves over blocks of 32");

void q8_tile_avx2(const int8_t* aq, const float* ad, const int8_t* bp, int64_t nb, const float* ws, float* c,
                  int64_t ldc) {
  alignas(32) float f[kQMR2 * 16];
  q8_half_avx2(aq, ad, bp, nb, 0, ws, f, c, ldc);
  q8_half_avx2(aq, ad, bp, nb, 1, ws, f, c, ldc);
}

// Which prefill path q8 weights take: the int8 kernel on AMX tiles on the amx path; with VNNI on the avx512
// path when the CPU has VNNI; with maddubs on the avx2 path (and on an avx512 path without VNNI); otherwise
// (scalar path) the f32 GEMM. SEED_Q8_INT8=scalar forces the int8 algorithm with its scalar twin instead (for
// tests of the algorithm on any machine).
enum class Q8Path { None, Scalar, Avx2, Vnni, Amx };
Q8Path q8_int8_path() {
  const CpuFeatures& f = cpu_features();
  static const bool force_scalar = [] {
    const char* e = std::getenv("SEED_Q8_INT8");
    return e && std::strcmp(e, "scalar") == 0;
  }();
  if (force_scalar) return Q8Path::Scalar;
  if (f.amx_int8) return Q8Path::Amx;
  if (cpu_path() >= CpuPath::Avx512 && f.avx512vnni) return Q8Path::Vnni;
  if (simd_has_avx2()) return Q8Path::Avx2;
  return Q8Path::None;
}

// C[M, N] = A[M, K] · wᵀ for q8 w (rows of int8 + per-row scales), through the int8 micro-kernel. C overwritten.
void gemm_q8(const float* A, int64_t M, const WeightView& w, float* C, Q8Path path) {
  const bool amx = path == Q8Path::Amx, avx2 = path == Q8Path::Avx2, vnni = amx || path == Q8Path::Vnni;
  const int64_t mr = amx ? kAmxMR : (avx2 ? kQMR2 : kQMR);
  const int32_t offset = path == Q8Path::Vnni || path == Q8Path::Scalar ? 128 : 0;  // signed A for AMX and maddubs
  const int64_t N = w.N, K = w.K, nb = (K + kQB - 1) / kQB;
  const int64_t mtiles = (M + mr - 1) / mr, panels = (N + kQNR - 1) / kQNR;
  // Stream-thread scratch (the pool's tasks below only read it): quantized A, then its scales.
  const int64_t aq_bytes = mtiles * nb * mr * kQB;
  float* const a_buf = scratch_floats<3>(aq_bytes / 4 + mtiles * nb * mr);
  uint8_t* const aq = reinterpret_cast<uint8_t*>(a_buf);
  float* const ad = a_buf + aq_bytes / 4;
  parallel_for(M, std::max<int64_t>(1, 16384 / std::max<int64_t>(K, 1)), [&](int64_t m0, int64_t m1) {
    if (vnni) quantize_rows_avx512(A, K, nb, mr, offset, m0, m1, aq, ad);
    else if (avx2) quantize_rows_avx2(A, K, nb, mr, m0, m1, reinterpret_cast<int8_t*>(aq), ad);
    else quantize_rows_scalar(A, K, nb, m0, m1, aq, ad);
  });
  // Rows past M in the last tile: q = 0 (stored as the offset) and scale 0, so they add nothing and are never
  // stored.
  for (int64_t m = M; m < mtiles * mr; ++m) {
    const int64_t t = m / mr, r = m % mr;
    for (int64_t b = 0; b < nb; ++b) {
      std::memset(aq + ((t * nb + b) * mr + r) * kQB, offset, kQB);
      ad[(t * nb + b) * mr + r] = 0.0f;
    }
  }
  const int8_t* wq = static_cast<const int8_t*>(w.data);
  parallel_for(panels, 1, [&](int64_t p0, int64_t p1) {
    float* const bbuf = scratch_floats<4>((nb * kQB * kQNR) / 4 + nb * kQNR);  // the panel's bytes, then comp
    int8_t* bp = reinterpret_cast<int8_t*>(bbuf);
    int32_t* comp = reinterpret_cast<int32_t*>(bbuf + nb * kQB * kQNR / 4);
    alignas(64) float edge[kAmxMR * kQNR];
    alignas(64) float ws[kQNR];
    if (amx) q8_amx_begin();  // this thread's tile configuration (the pool's threads each run tasks)
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n0 = p * kQNR, cols = std::min(kQNR, N - n0);
      pack_q8_panel(wq, K, nb, n0, cols, bp, comp, vnni);
      for (int64_t j = 0; j < kQNR; ++j) ws[j] = j < cols ? w.q8_scales[n0 + j] : 0.0f;
      for (int64_t t = 0; t < mtiles; ++t) {
        const int64_t m0 = t * mr, rows = std::min(mr, M - m0);
        const uint8_t* a = aq + t * nb * mr * kQB;
        const float* d = ad + t * nb * mr;
        const bool full = rows == mr && cols == kQNR;
        float* out = full ? C + m0 * N + n0 : edge;
        const int64_t ldo = full ? N : kQNR;
        if (amx) q8_tile_amx(reinterpret_cast<const int8_t*>(a), d, bp, nb, ws, out, ldo);
        else if (avx2) q8_tile_avx2(reinterpret_cast<const int8_t*>(a), d, bp, nb, ws, out, ldo);
        else if (vnni) q8_tile_vnni(a, d, bp, comp, nb, ws, out, ldo);
        else q8_tile_scalar(a, d, bp, comp, nb, ws, out, ldo);
        if (!full)
          for (int64_t r = 0; r < rows; ++r) std::memcpy(C + (m0 + r) * N + n0, edge + r * kQNR, cols * sizeof(float));
      }
    }
    if (amx) q8_amx_end();
  });
}

// ---------------------------------------------------------------------------------------------------
// int8 decode for q8 weights on the avx512 path with VNNI: the x rows are quantized as the int8 GEMM quantizes
// its activations (blocks of kQB, stored as q_x + 128), and each weight row is read once, 64 bytes per step:
// vpdpbusd sums x·w into 16 int32 lanes (lanes 0–7 the step's first block, 8–15 its second) and a second one
// against 128s gives the offset's share, 128·Σw, to subtract; the difference is scaled by the blocks' d and
// accumulated in f32. About 6 instructions per 64 weight bytes where the f32 conversion (int8 → int32 → f32,
// then an FMA, 16 weights at a time) took 13: measured from memory, the f32 GEMV (~4 per 64 bytes) streamed
// 20.6 GB/s where the q8 one streamed 17.4, so the instruction count, not the bytes, was holding q8 back.

// xu: [rows][Kp] bytes, Kp = K rounded up to 64 (past K: q = 0); dxv: [rows][Kp / 64][16], the d of each lane.
struct GemvQuantX {
  const uint8_t* xu;
  const float* dxv;
  int64_t Kp;
};

GemvQuantX quantize_gemv_x(const float* x, int64_t rows, int64_t K) {
  const int64_t Kp = (K + 63) / 64 * 64, nb = (K + kQB - 1) / kQB, steps = Kp / 64;
  // Scratch of the calling (stream) thread; the tasks only read it.
  float* const buf = scratch_floats<5>(rows * Kp / 4 + rows * nb + rows * steps * 16);
  uint8_t* const xu = reinterpret_cast<uint8_t*>(buf);
  float* const d = buf + rows * Kp / 4;
  float* const dxv = d + rows * nb;
  for (int64_t m = 0; m < rows; ++m) {
    // One row as a one-row tile, written Kp apart; an odd last block's partner is q = 0 (stored as 128).
    quantize_rows_avx512(x + m * K, K, nb, 1, 128, 0, 1, xu + m * Kp, d + m * nb);
    std::memset(xu + m * Kp + nb * kQB, 128, static_cast<size_t>(Kp - nb * kQB));
    for (int64_t st = 0; st < steps; ++st)
      for (int64_t l = 0; l < 16; ++l) {
        const int64_t b = 2 * st + l / 8;
        dxv[(m * steps + st) * 16 + l] = b < nb ? d[m * nb + b] : 0.0f;
      }
  }
  return {xu, dxv, Kp};
}

template <int R>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void gemv_q8_vnni(const GemvQuantX& qx, int64_t K,
                                                                                  const int8_t* w, int64_t n0,
                                                                                  int64_t n1, float* y, int64_t ldy,
                                                                                  const float* scales) {
  const __m512i c128 = _mm512_set1_epi8(static_cast<char>(0x80)), zero = _mm512_setzero_si512();
  const int64_t steps = qx.Kp / 64;
  for (int64_t n = n0; n < n1; ++n) {
    const int8_t* row = w + n * K;
    __m512 f[R];
    for (int m = 0; m < R; ++m) f[m] = _mm512_setzero_ps();
    for (int64_t st = 0; st < steps; ++st) {
      const int64_t k = st * 64;
      // Into L2, two pages ahead: an L1 prefetch holds one of the core's few fill buffers until the line
      // arrives, which capped one core near 10 GB/s (measured: T1 at 4–6 KB streamed ~10% more than T0 at 2 KB).
      _mm_prefetch(reinterpret_cast<const char*>(row + k) + kGemvPrefetchBytes, _MM_HINT_T1);
      const __m512i wv = k + 64 <= K ? _mm512_loadu_si512(row + k)
                                     : _mm512_maskz_loadu_epi8(_cvtu64_mask64(~0ull >> (64 - (K - k))), row + k);
      const __m512i comp = _mm512_dpbusd_epi32(zero, c128, wv);
      for (int m = 0; m < R; ++m) {
        const __m512i xv = _mm512_loadu_si512(qx.xu + m * qx.Kp + k);
        const __m512i s = _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, xv, wv), comp);
        f[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_loadu_ps(qx.dxv + (m * steps + st) * 16), f[m]);
      }
    }
    for (int m = 0; m < R; ++m) y[m * ldy + n] = _mm512_reduce_add_ps(f[m]) * scales[n];
  }
}

// The same with AVX2 (the avx2 path, and avx512 without VNNI): x quantized as q8_tile_avx2 expects it (signed,
// blocks of kQB) and each 32-byte step of a weight row is one block: vpmaddubsw of |w| against x·sign(w) (see
// q8_half_avx2 for why that order never saturates), vpmaddwd against ones into 8 int32 sums, scaled by the
// block's d. About 9 instructions per 32 bytes where the f32 conversion took about 16.
__attribute__((target("avx2,fma"))) void quantize_gemv_x_avx2(const float* x, int64_t rows, int64_t K, int8_t** xs,
                                                              float** d) {
  const int64_t nb = (K + kQB - 1) / kQB;
  float* const buf = scratch_floats<5>(rows * nb * kQB / 4 + rows * nb);
  *xs = reinterpret_cast<int8_t*>(buf);
  *d = buf + rows * nb * kQB / 4;
  quantize_rows_avx2(x, K, nb, 1, 0, rows, *xs, *d);  // one-row tiles: row m's blocks at m·nb·kQB
}

// One block: f += d · Σ x·w over the block's 32 weights (wv; zeros past K).
#define SEED_GEMV_Q8_AVX2_BLOCK(f, wv, b) \
  { \
    const __m256i u = _mm256_abs_epi8(wv); \
    for (int m = 0; m < R; ++m) { \
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + (m * nb + (b)) * kQB)); \
      const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(u, _mm256_sign_epi8(xv, wv)), ones); \
      f[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_broadcast_ss(d + m * nb + (b)), f[m]); \
    } \
  }

template <int R>
__attribute__((target("avx2,fma"))) void gemv_q8_avx2(const int8_t* xs, const float* d, int64_t K, const int8_t* w,
                                                      int64_t n0, int64_t n1, float* y, int64_t ldy,
                                                      const float* scales) {
  const int64_t nb = (K + kQB - 1) / kQB, full = K / kQB;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t n = n0; n < n1; ++n) {
    const int8_t* row = w + n * K;
    // Two sums per x row (even and odd blocks), so consecutive blocks' FMAs do not wait on each other.
    __m256 f0[R], f1[R];
    for (int m = 0; m < R; ++m) f0[m] = f1[m] = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= full; b += 2) {
      _mm_prefetch(reinterpret_cast<const char*>(row + b * kQB) + kGemvPrefetchBytes, _MM_HINT_T1);
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + b * kQB));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + b * kQB + kQB));
      SEED_GEMV_Q8_AVX2_BLOCK(f0, w0, b)
      SEED_GEMV_Q8_AVX2_BLOCK(f1, w1, b + 1)
    }
    for (; b < nb; ++b) {  // an odd last block, and the row's partial block (zeros past K; never read past it)
      alignas(32) int8_t blk[kQB] = {};
      std::memcpy(blk, row + b * kQB, static_cast<size_t>(std::min(kQB, K - b * kQB)));
      const __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(blk));
      SEED_GEMV_Q8_AVX2_BLOCK(f0, wv, b)
    }
    for (int m = 0; m < R; ++m) y[m * ldy + n] = hsum(_mm256_add_ps(f0[m], f1[m])) * scales[n];
  }
}

// Requires w.nk (rows of w are the output columns) and 1 ≤ rows ≤ kGemvMaxRows.
void gemv(const float* x, int64_t rows, const WeightView& w, float* y, bool parallel) {
  const bool avx2 = simd_has_avx2(), avx512 = cpu_path() >= CpuPath::Avx512;
  if (avx512 && cpu_features().avx512vnni && w.dtype == DType::Q8) {
    const GemvQuantX qx = quantize_gemv_x(x, rows, w.K);
    const int8_t* wq = static_cast<const int8_t*>(w.data);
    return run(parallel, w.N, 16, [&](int64_t n0, int64_t n1) {
      switch (rows) {
        case 1: return gemv_q8_vnni<1>(qx, w.K, wq, n0, n1, y, w.N, w.q8_scales);
        case 2: return gemv_q8_vnni<2>(qx, w.K, wq, n0, n1, y, w.N, w.q8_scales);
        case 3: return gemv_q8_vnni<3>(qx, w.K, wq, n0, n1, y, w.N, w.q8_scales);
        default: return gemv_q8_vnni<4>(qx, w.K, wq, n0, n1, y, w.N, w.q8_scales);
      }
    });
  }
  if (avx2 && w.dtype == DType::Q8) {
    int8_t* xs;
    float* d;
    quantize_gemv_x_avx2(x, rows, w.K, &xs, &d);
    const int8_t* wq = static_cast<const int8_t*>(w.data);
    return run(parallel, w.N, 16, [&](int64_t n0, int64_t n1) {
      switch (rows) {
        case 1: return gemv_q8_avx2<1>(xs, d, w.K, wq, n0, n1, y, w.N, w.q8_scales);
        case 2: return gemv_q8_avx2<2>(xs, d, w.K, wq, n0, n1, y, w.N, w.q8_scales);
        case 3: return gemv_q8_avx2<3>(xs, d, w.K, wq, n0, n1, y, w.N, w.q8_scales);
        default: return gemv_q8_avx2<4>(xs, d, w.K, wq, n0, n1, y, w.N, w.q8_scales);
      }
    });
  }
  run(parallel, w.N, 16, [&](int64_t n0, int64_t n1) {
    if (!avx2) return gemv_scalar(x, rows, w, n0, n1, y);
    // f32/f16/bf16 stay on AVX2 on the avx512 path too (no gain measured at 512 bits; bf16 was slower).
    switch (w.dtype) {
      case DType::F32: return gemv_avx2<DType::F32>(x, rows, w, n0, n1, y);
      case DType::F16: return gemv_avx2<DType::F16>(x, rows, w, n0, n1, y);
      case DType::BF16: return gemv_avx2<DType::BF16>(x, rows, w, n0, n1, y);
      default: return gemv_scalar(x, rows, w, n0, n1, y);
    }
  });
}

// ---------------------------------------------------------------------------------------------------

// A float tensor as a contiguous f32 matrix: the tensor itself when it is f32, else a converted copy.
const float* as_f32(const TensorView& t, std::vector<float>& storage) {
  if (t.dtype == DType::F32) return t.as<float>();
  storage.resize(t.numel);
  parallel_for(t.numel, 65536, [&](int64_t b, int64_t e) { simd_to_f32(t.data, t.dtype, b, e - b, storage.data() + b); });
  return storage.data();
}

// Write an f32 result [rows, cols] (+ bias) into y's dtype. c is a scratch buffer, or y itself when y is f32
// (then only a bias is left to add, and the callers skip the call without one).
// Every row is written, with no pointer test for the in-place case: one (src == y.data + r·cols as floats) once
// skipped a row, because with a 16-bit y that address lies past y's end, where malloc can put the bias row.
void finish(const float* c, int64_t rows, int64_t cols, const TensorView* bias, const TensorView& y) {
  std::vector<float> b;
  if (bias) {
    b.resize(cols);
    simd_to_f32(bias->data, bias->dtype, 0, cols, b.data());
  }
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<float> row(cols);
    for (int64_t r = r0; r < r1; ++r) {
      const float* src = c + r * cols;
      if (bias) {
        for (int64_t j = 0; j < cols; ++j) row[j] = src[j] + b[j];
        src = row.data();
      }
      simd_from_f32(src, cols, y.data, y.dtype, r * cols);
    }
  });
}

}  // namespace

const MicroKernel& gemm_micro_kernel() { return micro_kernel(); }

// check_linear / check_matmul have established the shapes and dtypes these rely on.
void seed_cpu_linear(OpCall& call, const NoArgs&) {
  const TensorView &x = call.in[0], &w = call.in[1], &y = call.out[0];
  const TensorView* bias = call.in.size() > 2 ? &call.in[2] : nullptr;
  const int64_t N = w.shape[0], K = w.shape[1];
  // Rows of x: the product of its leading dims (counted from the shape, so K = 0 is still well defined).
  int64_t M = 1;
  for (int i = 0; i + 1 < x.ndim; ++i) M *= x.shape[i];
  if (M == 0 || N == 0) return;

  WeightView wv{w.data, w.dtype, N, K, true, nullptr};
  if (w.dtype == DType::Q8)
    wv.q8_scales = reinterpret_cast<const float*>(static_cast<const uint8_t*>(w.data) + q8_scales_offset(N, K));

  std::vector<float> xs, cs;
  const float* xf = as_f32(x, xs);
  float* c = y.dtype == DType::F32 ? y.as<float>() : (cs.resize(M * N), cs.data());
  if (K == 0) std::fill(c, c + M * N, 0.0f);
  else if (M <= kGemvMaxRows) gemv(xf, M, wv, c, true);
  else if (w.dtype == DType::Q8 && M >= kQMinRows && q8_int8_path() != Q8Path::None)
    gemm_q8(xf, M, wv, c, q8_int8_path());
  else gemm(xf, M, wv, c, true);
  if (bias || c != y.data) finish(c, M, N, bias, y);
}

void seed_cpu_matmul(OpCall& call, const MatmulArgs& args) {
  const TensorView &a = call.in[0], &b = call.in[1], &y = call.out[0];
  const bool transB = args.transB;
  const int64_t M = a.dim(-2), K = a.dim(-1);
  const int64_t N = transB ? b.dim(-2) : b.dim(-1);
  int64_t batches = 1;
  for (int i = 0; i + 2 < a.ndim; ++i) batches *= a.shape[i];
  if (y.numel == 0) return;

  std::vector<float> as, cs;
  const float* af = as_f32(a, as);
  float* c = y.dtype == DType::F32 ? y.as<float>() : (cs.resize(y.numel), cs.data());
  if (K == 0) {
    std::fill(c, c + y.numel, 0.0f);
  } else if (b.ndim == 2) {
    // One shared b: the batches stacked are one [batches·M, K] · [K, N] product.
    WeightView wv{b.data, b.dtype, N, K, transB, nullptr};
    if (transB && batches * M <= kGemvMaxRows) gemv(af, batches * M, wv, c, true);
    else gemm(af, batches * M, wv, c, true);
  } else {
    const size_t bstride = static_cast<size_t>(K * N) * dtype_size(b.dtype);
    auto one = [&](int64_t i, bool parallel) {
      WeightView wv{static_cast<const uint8_t*>(b.data) + i * bstride, b.dtype, N, K, transB, nullptr};
      if (transB && M <= kGemvMaxRows) gemv(af + i * M * K, M, wv, c + i * M * N, parallel);
      else gemm(af + i * M * K, M, wv, c + i * M * N, parallel);
    };
    // Small products: one per thread at a time; large ones: each spread over all threads.
    if (M * N * K < (int64_t(1) << 21) && batches > 1) parallel_for(batches, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t i = b0; i < b1; ++i) one(i, false);
      });
    else
      for (int64_t i = 0; i < batches; ++i) one(i, true);
  }
  if (c != y.data) finish(c, batches * M, N, nullptr, y);
}

}  // namespace seed
