// Matrix products on the CPU: linear (y = x·wᵀ + b, weights f32/f16/bf16/q8) and batched matmul.
//
// Two paths:
// - decode (few rows): a matrix-vector product that streams every weight row exactly once, converting
//   bf16/f16/q8 in registers; bandwidth-bound, split over output rows across threads.
// - prefill / GEMM (many rows): the weight is packed block by block into 16-wide f32 panels (converting its
//   dtype while packing), and a 6×16 AVX2 register tile accumulates x-row broadcasts × panel rows.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "../kernels.h"
#include "common.h"
#include "parallel.h"

namespace seed {
namespace {

constexpr int64_t kMR = 6, kNR = 16;   // register tile
constexpr int64_t kKC = 256;           // K block (a panel slice of 256×16 f32 = 16 KB stays in L1)
constexpr int64_t kNC = 512;           // N block (packed block 256×512 f32 = 512 KB stays in L2)
constexpr int64_t kGemvMaxRows = 4;    // up to this many rows, stream the weights (matrix-vector path)

bool has_avx2() { return cpu_features().avx2 && cpu_features().fma && cpu_features().f16c; }

// A weight matrix seen as B[k][n] for the GEMM: either w[n][k] (linear, transposed) or b[k][n] (matmul).
struct WeightView {
  const void* data;
  DType dtype;
  int64_t N, K;
  bool nk;                 // true: element (k, n) lives at n*K + k; false: at k*N + n
  const float* q8_scales;  // per-n scales when dtype is Q8 (only with nk)

  float at(int64_t k, int64_t n) const {
    int64_t i = nk ? n * K + k : k * N + n;
    if (dtype == DType::Q8) return q8_scales[n] * static_cast<float>(static_cast<const int8_t*>(data)[i]);
    return load_f(data, dtype, i);
  }
};

// Pack B[k0:k0+kc, n0:n0+nc] into panels of 16 columns: out[p][k][16], zero-padded past N.
void pack_block(const WeightView& w, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* out) {
  const int64_t panels = (nc + kNR - 1) / kNR;
  parallel_for(panels, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> row(kc);
    for (int64_t p = p0; p < p1; ++p) {
      float* dst = out + p * kc * kNR;
      const int64_t nr = std::min(kNR, nc - p * kNR), nbase = n0 + p * kNR;
      if (!w.nk && w.dtype != DType::Q8) {  // b[k][n]: 16 consecutive n per k are contiguous
        for (int64_t k = 0; k < kc; ++k) {
          row_to_f32(w.data, w.dtype, (k0 + k) * w.N + nbase, nr, dst + k * kNR);
          for (int64_t j = nr; j < kNR; ++j) dst[k * kNR + j] = 0.0f;
        }
        continue;
      }
      for (int64_t j = 0; j < kNR; ++j) {
        const int64_t n = nbase + j;
        if (j >= nr) {
          for (int64_t k = 0; k < kc; ++k) dst[k * kNR + j] = 0.0f;
          continue;
        }
        if (w.nk && w.dtype != DType::Q8) {  // w[n][k]: contiguous along k, convert the run at once
          row_to_f32(w.data, w.dtype, n * w.K + k0, kc, row.data());
          for (int64_t k = 0; k < kc; ++k) dst[k * kNR + j] = row[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) dst[k * kNR + j] = w.at(k0 + k, n);
        }
      }
    }
  });
}

// Pack A[0:mr, 0:kc] (row stride lda) as ap[k][6], rows past mr zero. Sequential broadcasts in the tile
// avoid the L1 set conflicts of 6 rows that sit 4 KB apart.
void pack_a(const float* a, int64_t lda, int64_t mr, int64_t kc, float* ap) {
  for (int64_t k = 0; k < kc; ++k)
    for (int64_t r = 0; r < kMR; ++r) ap[k * kMR + r] = r < mr ? a[r * lda + k] : 0.0f;
}

// acc(6×16) += A · panel[0:kc, 0:16] with A packed by pack_a; then C tile (+)= acc for the valid corner.
// The 12 accumulators are named locals: kept in an indexed array, GCC spills them to the stack every step.
__attribute__((target("avx2,fma"))) void tile_avx2(const float* ap, const float* panel, int64_t kc,
                                                  float* c, int64_t ldc, int64_t mr, int64_t nr, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = ap + k * kMR;
    const __m256 b0 = _mm256_loadu_ps(panel + k * kNR), b1 = _mm256_loadu_ps(panel + k * kNR + 8);
    __m256 av = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
  }
  alignas(32) float tile[kMR * kNR];
  _mm256_store_ps(tile + 0, c00);
  _mm256_store_ps(tile + 8, c01);
  _mm256_store_ps(tile + 16, c10);
  _mm256_store_ps(tile + 24, c11);
  _mm256_store_ps(tile + 32, c20);
  _mm256_store_ps(tile + 40, c21);
  _mm256_store_ps(tile + 48, c30);
  _mm256_store_ps(tile + 56, c31);
  _mm256_store_ps(tile + 64, c40);
  _mm256_store_ps(tile + 72, c41);
  _mm256_store_ps(tile + 80, c50);
  _mm256_store_ps(tile + 88, c51);
  for (int64_t r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    const float* tr = tile + r * kNR;
    if (accumulate) for (int64_t j = 0; j < nr; ++j) cr[j] += tr[j];
    else for (int64_t j = 0; j < nr; ++j) cr[j] = tr[j];
  }
}

void tile_scalar(const float* ap, const float* panel, int64_t kc, float* c, int64_t ldc, int64_t mr, int64_t nr,
                 bool accumulate) {
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) {
      float s = 0;
      for (int64_t k = 0; k < kc; ++k) s += ap[k * kMR + r] * panel[k * kNR + j];
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + s : s;
    }
}

// C[M, N] = A[M, K] · B[K, N], A f32 row-major (lda = K), C f32 (ldc = N).
void gemm(const float* A, int64_t M, const WeightView& w, float* C) {
  const int64_t N = w.N, K = w.K;
  if (K == 0) {
    std::fill(C, C + M * N, 0.0f);
    return;
  }
  const bool avx2 = has_avx2();
  std::vector<float> packed(static_cast<size_t>(kKC) * ((std::min(kNC, N) + kNR - 1) / kNR) * kNR);
  for (int64_t n0 = 0; n0 < N; n0 += kNC) {
    const int64_t nc = std::min(kNC, N - n0), panels = (nc + kNR - 1) / kNR;
    for (int64_t k0 = 0; k0 < K; k0 += kKC) {
      const int64_t kc = std::min(kKC, K - k0);
      pack_block(w, k0, kc, n0, nc, packed.data());
      const int64_t mtiles = (M + kMR - 1) / kMR;
      // Tiles ordered panel-major inside a row band so a thread reuses its A rows across panels.
      parallel_for(mtiles * panels, 4, [&](int64_t t0, int64_t t1) {
        float ap[kKC * kMR];
        int64_t packed_mt = -1;
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t mt = t / panels, p = t % panels;
          const int64_t m0 = mt * kMR, mr = std::min(kMR, M - m0);
          const int64_t nr = std::min(kNR, nc - p * kNR);
          if (mt != packed_mt) {
            pack_a(A + m0 * K + k0, K, mr, kc, ap);
            packed_mt = mt;
          }
          float* c = C + m0 * N + n0 + p * kNR;
          const float* panel = packed.data() + p * kc * kNR;
          if (avx2) tile_avx2(ap, panel, kc, c, N, mr, nr, k0 > 0);
          else tile_scalar(ap, panel, kc, c, N, mr, nr, k0 > 0);
        }
      });
    }
  }
}

// ---- matrix-vector: y[m, n] = Σ_k x[m, k] · w[n, k] for m < rows ≤ kGemvMaxRows ----

__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 8 weights at w[i..i+8) as f32.
template <DType T>
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const void* w, int64_t i) {
  if constexpr (T == DType::F32) return _mm256_loadu_ps(static_cast<const float*>(w) + i);
  if constexpr (T == DType::F16)
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i)));
  if constexpr (T == DType::BF16) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  if constexpr (T == DType::Q8) {
    __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(w) + i));
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
  }
  return _mm256_setzero_ps();
}

template <DType T>
__attribute__((target("avx2,fma,f16c"))) void gemv_rows_avx2(const float* x, int64_t rows, const void* w, int64_t K,
                                                             int64_t n0, int64_t n1, float* y, int64_t N,
                                                             const float* scales) {
  for (int64_t n = n0; n < n1; ++n) {
    const int64_t base = n * K;
    for (int64_t m = 0; m < rows; ++m) {
      const float* xm = x + m * K;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
      int64_t k = 0;
      for (; k + 32 <= K; k += 32) {
        a0 = _mm256_fmadd_ps(load8<T>(w, base + k), _mm256_loadu_ps(xm + k), a0);
        a1 = _mm256_fmadd_ps(load8<T>(w, base + k + 8), _mm256_loadu_ps(xm + k + 8), a1);
        a2 = _mm256_fmadd_ps(load8<T>(w, base + k + 16), _mm256_loadu_ps(xm + k + 16), a2);
        a3 = _mm256_fmadd_ps(load8<T>(w, base + k + 24), _mm256_loadu_ps(xm + k + 24), a3);
      }
      for (; k + 8 <= K; k += 8) a0 = _mm256_fmadd_ps(load8<T>(w, base + k), _mm256_loadu_ps(xm + k), a0);
      float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
      for (; k < K; ++k) {
        float wv = T == DType::Q8 ? static_cast<float>(static_cast<const int8_t*>(w)[base + k]) : load_f(w, T, base + k);
        s += wv * xm[k];
      }
      y[m * N + n] = T == DType::Q8 ? s * scales[n] : s;
    }
  }
}

void gemv_rows_scalar(const float* x, int64_t rows, const WeightView& w, int64_t n0, int64_t n1, float* y) {
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < rows; ++m) {
      float s = 0;
      for (int64_t k = 0; k < w.K; ++k) s += x[m * w.K + k] * w.at(k, n);
      y[m * w.N + n] = s;
    }
}

void gemv(const float* x, int64_t rows, const WeightView& w, float* y) {
  const bool avx2 = has_avx2();
  parallel_for(w.N, 16, [&](int64_t n0, int64_t n1) {
    if (!avx2) return gemv_rows_scalar(x, rows, w, n0, n1, y);
    switch (w.dtype) {
      case DType::F32: return gemv_rows_avx2<DType::F32>(x, rows, w.data, w.K, n0, n1, y, w.N, nullptr);
      case DType::F16: return gemv_rows_avx2<DType::F16>(x, rows, w.data, w.K, n0, n1, y, w.N, nullptr);
      case DType::BF16: return gemv_rows_avx2<DType::BF16>(x, rows, w.data, w.K, n0, n1, y, w.N, nullptr);
      case DType::Q8: return gemv_rows_avx2<DType::Q8>(x, rows, w.data, w.K, n0, n1, y, w.N, w.q8_scales);
      default: return gemv_rows_scalar(x, rows, w, n0, n1, y);
    }
  });
}

// x (any float dtype) as a contiguous f32 matrix: the tensor itself when it is f32, else a converted copy.
const float* as_f32(const TensorView& t, std::vector<float>& storage) {
  if (t.dtype == DType::F32) return t.as<float>();
  storage.resize(t.numel);
  parallel_for(t.numel, 65536, [&](int64_t b, int64_t e) { row_to_f32(t.data, t.dtype, b, e - b, storage.data() + b); });
  return storage.data();
}

// Write an f32 result [rows, cols] (+ bias) into y's dtype.
void finish(const float* c, int64_t rows, int64_t cols, const TensorView* bias, const TensorView& y) {
  std::vector<float> b;
  if (bias) {
    b.resize(cols);
    row_to_f32(bias->data, bias->dtype, 0, cols, b.data());
  }
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<float> row(cols);
    for (int64_t r = r0; r < r1; ++r) {
      std::memcpy(row.data(), c + r * cols, cols * 4);
      if (bias) for (int64_t j = 0; j < cols; ++j) row[j] += b[j];
      row_from_f32(row.data(), cols, y.data, y.dtype, r * cols);
    }
  });
}

}  // namespace

void seed_cpu_linear(OpCall& call) {
  const TensorView &x = call.in[0], &w = call.in[1], &y = call.out[0];
  const TensorView* bias = call.in.size() > 2 ? &call.in[2] : nullptr;
  if (w.ndim != 2 || x.ndim < 1) return call.fail("expects x [..., K] and w [N, K]");
  const int64_t N = w.shape[0], K = w.shape[1];
  if (x.shape[x.ndim - 1] != K) return call.fail("x's last dim does not match w");
  const int64_t M = x.numel / std::max<int64_t>(K, 1);
  if (K == 0 ? y.numel != 0 && y.numel % std::max<int64_t>(N, 1) != 0 : y.numel != M * N) return call.fail("output size is wrong");
  if (bias && bias->numel != N) return call.fail("bias must have N elements");
  const int64_t rows = K == 0 ? (N ? y.numel / N : 0) : M;
  WeightView wv{w.data, w.dtype, N, K, true, nullptr};
  if (w.dtype == DType::Q8) wv.q8_scales = reinterpret_cast<const float*>(static_cast<const uint8_t*>(w.data) + q8_scales_offset(N, K));

  std::vector<float> xs, cs;
  const float* xf = as_f32(x, xs);
  float* c = y.dtype == DType::F32 && !bias ? y.as<float>() : (cs.resize(rows * N), cs.data());
  if (rows <= kGemvMaxRows && K > 0) gemv(xf, rows, wv, c);
  else gemm(xf, rows, wv, c);
  if (c != y.data) finish(c, rows, N, bias, y);
}

void seed_cpu_matmul(OpCall& call) {
  const TensorView &a = call.in[0], &b = call.in[1], &y = call.out[0];
  const bool transB = call.p.i64("transB", 0) != 0;
  if (a.ndim < 2 || b.ndim < 2 || a.dtype != b.dtype) return call.fail("expects a [..., M, K] and b [..., K, N] of one dtype");
  const int64_t M = a.dim(-2), K = a.dim(-1);
  const int64_t N = transB ? b.dim(-2) : b.dim(-1), bK = transB ? b.dim(-1) : b.dim(-2);
  if (bK != K) return call.fail("inner dims differ");
  const int64_t batches = M * K ? a.numel / (M * K) : (y.numel / std::max<int64_t>(M * N, 1));
  const int64_t b_batches = b.numel / std::max<int64_t>(K * N, 1);
  if (y.numel != batches * M * N || (b.ndim > 2 && b_batches != batches)) return call.fail("batch dims differ");
  std::vector<float> as_, cs;
  const float* af = as_f32(a, as_);
  float* c = y.dtype == DType::F32 ? y.as<float>() : (cs.resize(batches * M * N), cs.data());
  const size_t es = dtype_size(b.dtype);
  for (int64_t i = 0; i < batches; ++i) {
    const void* bi = static_cast<const uint8_t*>(b.data) + (b.ndim > 2 ? i * K * N * static_cast<int64_t>(es) : 0);
    WeightView wv{bi, b.dtype, N, K, transB, nullptr};
    gemm(af + i * M * K, M, wv, c + i * M * N);
  }
  if (c != y.data) finish(c, batches * M, N, nullptr, y);
}

}  // namespace seed
