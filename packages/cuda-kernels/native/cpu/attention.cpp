// Fused attention on the CPU: one pass over the keys with an online softmax (running max and sum), so no
// [Tq, Tk] score matrix is ever stored. Grouped-query heads read kv head h / (Hq / Hkv). Any head dim (the
// op allows up to 512: the VAE's single head) and any sequence length: memory is O(block), never O(Tq·Tk).
// Two paths:
//  - few queries (decode): work items are (batch, kv head, block of up to 4 queries) with every query head
//    of the kv head's group, so each K/V row is read once; keys in chunks of 64 (K transposed, V as f32, the
//    strided rows prefetched by hand), scores and P·V as loops over keys / dims in vector registers;
//  - many queries (prefill, ViT / Q-Former, the UNet's and VAE's spatial attention over thousands of
//    tokens), with AVX2: flash attention on the GEMM micro-kernels (gemm_micro.h). A work item is a block
//    of 16 row tiles of queries (192 with AVX-512) of one head; per block of 128 keys it computes the scores
//    S = Q·Kᵀ as a small GEMM (K packed transposed into panels), updates the running max / sum and turns S
//    into probabilities P in place (vector exp), and adds P·V (V packed into panels) to the accumulator,
//    rescaled first. Both products run at the micro-kernel's FMA rate instead of one load per FMA.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "../kernels.h"
#include "common.h"
#include "gemm_micro.h"
#include "parallel.h"
#include "simd_f32.h"

namespace seed {

namespace {
constexpr int64_t kQBlock = 4;     // queries sharing each key/value load
constexpr int64_t kKeyChunk = 64;  // keys per online-softmax step
constexpr int64_t kPrefetch = 12;   // rows ahead to prefetch
constexpr int64_t kSharedRows = 4;  // decode rows from which K is transposed per chunk (bf16, 1 row: 2× slower)

struct PrefillArgs {
  const TensorView *q, *k, *v, *o, *mask;
  int64_t Tq, Hq, D, Tk, Hkv, group, kvLen, qOffset, mHeads, mCols;
  bool causal;
  float scale;
};

constexpr int64_t kFlashTiles = 16;   // query row tiles per work item (K/V packing is shared by them)
constexpr int64_t kMaxMR = 12;       // the largest micro-kernel's rows (gemm_micro.h)
constexpr int64_t kFlashKeys = 128;   // keys per block (a multiple of every micro-kernel's nr)

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Per-thread buffers of the flash path, sized for one work item.
struct FlashBuffers {
  int64_t D, nr, Dp, mq;
  std::vector<float> qs, s, acc, row;  // Q block [mq][D] (scaled), scores / probabilities [mq][keys], acc [mq][Dp]
  AlignedFloats kp, vp;                // K panels [D][nr] per nr keys, V panels [keys][nr] per nr dims
  FlashBuffers(int64_t D, int64_t mq_, int64_t nr)
      : D(D), nr(nr), Dp(round_up(D, nr)), mq(mq_), qs(mq_ * D), s(mq_ * kFlashKeys), acc(mq_ * round_up(D, nr)), row(D),
        kp(D * kFlashKeys), vp(kFlashKeys * round_up(D, nr)) {}
};

// sc[0, n) = exp(sc − mx), −inf lanes exactly 0; returns the sum. n is a multiple of 16 (every nr is).
__attribute__((target("avx2,fma"))) float exp_row_avx2(float* sc, int64_t n, float mx) {
  const __m256 vinf = _mm256_set1_ps(-std::numeric_limits<float>::infinity()), vmax = _mm256_set1_ps(mx);
  __m256 sum = _mm256_setzero_ps();
  for (int64_t jj = 0; jj < n; jj += 8) {
    const __m256 x = _mm256_loadu_ps(sc + jj);
    const __m256 live = _mm256_cmp_ps(x, vinf, _CMP_GT_OQ);
    const __m256 pv = _mm256_and_ps(exp256(_mm256_sub_ps(x, vmax)), live);  // masked lanes exactly 0
    _mm256_storeu_ps(sc + jj, pv);
    sum = _mm256_add_ps(sum, pv);
  }
  return hsum(sum);
}

__attribute__((target("avx512f"))) float exp_row_avx512(float* sc, int64_t n, float mx) {
  const __m512 vinf = _mm512_set1_ps(-std::numeric_limits<float>::infinity()), vmax = _mm512_set1_ps(mx);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t jj = 0; jj < n; jj += 16) {
    const __m512 x = _mm512_loadu_ps(sc + jj);
    const __mmask16 live = _mm512_cmp_ps_mask(x, vinf, _CMP_GT_OQ);
    const __m512 pv = _mm512_maskz_mov_ps(live, exp512(_mm512_sub_ps(x, vmax)));
    _mm512_storeu_ps(sc + jj, pv);
    sum = _mm512_add_ps(sum, pv);
  }
  return _mm512_reduce_add_ps(sum);
}

// Decode helpers on the avx512 path for K/V rows of f32 or bf16 (T: float or uint16_t), bf16 converted in
// registers (no row copy): q·k and acc += p·v for one key, or four keys at once. n is any length.
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 bf16x16(const uint16_t* p, __mmask16 m) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 load16(const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 load16(const uint16_t* p, __mmask16 m) {
  return bf16x16(p, m);
}
// The lanes of the 16 from element i that are below n.
inline __mmask16 lanes16(int64_t n, int64_t i) {
  return static_cast<__mmask16>(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1);
}
template <class T>
__attribute__((target("avx512f,avx512bw,avx512vl"))) float dot_avx512(const float* q, const T* k, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load16(k + i, 0xffff), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), load16(k + i + 16, 0xffff), s1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = lanes16(n, i);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), load16(k + i, m), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
template <class T>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void axpy_avx512(float* acc, float p, const T* v, int64_t n) {
  const __m512 vp = _mm512_set1_ps(p);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes16(n, i);
    _mm512_mask_storeu_ps(acc + i, m, _mm512_fmadd_ps(vp, load16(v + i, m), _mm512_maskz_loadu_ps(m, acc + i)));
  }
}
// Four keys (rows `ld` elements apart) at once: each q vector load serves four keys, and the accumulator of
// acc += Σ p_j · v_j is loaded and stored once per four keys, not once per key.
template <class T>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void dot4_avx512(const float* q, const T* k, int64_t ld, int64_t n,
                                                                     float* s) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes16(n, i);
    const __m512 qv = _mm512_maskz_loadu_ps(m, q + i);
    a0 = _mm512_fmadd_ps(qv, load16(k + i, m), a0);
    a1 = _mm512_fmadd_ps(qv, load16(k + ld + i, m), a1);
    a2 = _mm512_fmadd_ps(qv, load16(k + 2 * ld + i, m), a2);
    a3 = _mm512_fmadd_ps(qv, load16(k + 3 * ld + i, m), a3);
  }
  s[0] = _mm512_reduce_add_ps(a0);
  s[1] = _mm512_reduce_add_ps(a1);
  s[2] = _mm512_reduce_add_ps(a2);
  s[3] = _mm512_reduce_add_ps(a3);
}
template <class T>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void axpy4_avx512(float* acc, const float* p, const T* v, int64_t ld,
                                                                      int64_t n) {
  const __m512 p0 = _mm512_set1_ps(p[0]), p1 = _mm512_set1_ps(p[1]), p2 = _mm512_set1_ps(p[2]), p3 = _mm512_set1_ps(p[3]);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes16(n, i);
    __m512 a = _mm512_maskz_loadu_ps(m, acc + i);
    a = _mm512_fmadd_ps(p0, load16(v + i, m), a);
    a = _mm512_fmadd_ps(p1, load16(v + ld + i, m), a);
    a = _mm512_fmadd_ps(p2, load16(v + 2 * ld + i, m), a);
    a = _mm512_fmadd_ps(p3, load16(v + 3 * ld + i, m), a);
    _mm512_mask_storeu_ps(acc + i, m, a);
  }
}

// acc += p · v for v f32 or bf16 on the avx2 path (the split decode path): 8 lanes per load, the tail scalar.
template <class T>
__attribute__((target("avx2,fma"))) void axpy_avx2(float* acc, float p, const T* v, int64_t n) {
  const __m256 vp = _mm256_set1_ps(p);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(vp, load8(v + i), _mm256_loadu_ps(acc + i)));
  for (; i < n; ++i) acc[i] += p * to_f32(v[i]);
}

// The flash path's K and V panels of one key block, for f32 K/V on the avx512 path (32-wide panels): K by 16×16
// in-register transposes and V by vector copies, straight from the cache tensors. The general loop copies each
// row into f32 first, then moves it element by element: a 512-token prefill spent a fifth of its attention time
// in those small copies.
__attribute__((target("avx512f"))) void pack_kv_f32_avx512(const PrefillArgs& a, int64_t b, int64_t hk, int64_t j0,
                                                           int64_t nj, int64_t njp, int64_t D, int64_t Dp,
                                                           FlashBuffers& f) {
  constexpr int64_t nr = 32;
  const float* kbase = a.k->as<float>() + ((b * a.Tk + j0) * a.Hkv + hk) * D;
  const float* vbase = a.v->as<float>() + ((b * a.Tk + j0) * a.Hkv + hk) * D;
  const int64_t stride = a.Hkv * D;  // between consecutive keys
  static const float zeros[512] = {};  // the caller checks D ≤ 512
  const float* rows[16];
  for (int64_t j = 0; j < njp; j += 16) {
    for (int64_t i = 0; i < 16; ++i) rows[i] = j + i < nj ? kbase + (j + i) * stride : zeros;
    float* panel = f.kp.get() + (j / nr) * D * nr + j % nr;
    for (int64_t d0 = 0; d0 < D; d0 += 16) transpose16_avx512(rows, d0, std::min<int64_t>(16, D - d0), panel + d0 * nr, nr);
  }
  for (int64_t jj = 0; jj < njp; ++jj) {
    const float* src = jj < nj ? vbase + jj * stride : zeros;
    for (int64_t q = 0; q < Dp / nr; ++q) {
      const int64_t d0 = q * nr, n = std::min(nr, D - d0);
      const __mmask16 m0 = static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1);
      const __mmask16 m1 = static_cast<__mmask16>(n >= 32 ? 0xffff : (n > 16 ? (1u << (n - 16)) - 1 : 0));
      float* dst = f.vp.get() + q * njp * nr + jj * nr;
      _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(m0, src + d0));
      _mm512_storeu_ps(dst + 16, _mm512_maskz_loadu_ps(m1, src + d0 + 16));
    }
  }
}

// The same for any dtype and panel width: each row converted to f32, then moved into the panels.
void pack_kv_generic(const PrefillArgs& a, int64_t b, int64_t hk, int64_t j0, int64_t nj, int64_t njp, int64_t D,
                     int64_t Dp, int64_t nr, FlashBuffers& f) {
  for (int64_t jj = 0; jj < njp; ++jj) {
    float* kcol = f.kp.get() + (jj / nr) * D * nr + jj % nr;
    float* vrow = f.vp.get() + jj * nr;  // row jj of V panel 0; panel q starts q·njp·nr further
    if (jj >= nj) {
      for (int64_t d = 0; d < D; ++d) kcol[d * nr] = 0.0f;
      for (int64_t q = 0; q < Dp / nr; ++q) std::fill(vrow + q * njp * nr, vrow + q * njp * nr + nr, 0.0f);
      continue;
    }
    const int64_t kvoff = ((b * a.Tk + j0 + jj) * a.Hkv + hk) * D;
    row_to_f32(a.k->data, a.k->dtype, kvoff, D, f.row.data());
    for (int64_t d = 0; d < D; ++d) kcol[d * nr] = f.row[d];
    row_to_f32(a.v->data, a.v->dtype, kvoff, D, f.row.data());
    for (int64_t q = 0; q < Dp / nr; ++q) {
      float* dst = vrow + q * njp * nr;
      const int64_t d0 = q * nr, n = std::min(nr, D - d0);
      std::copy(f.row.data() + d0, f.row.data() + d0 + n, dst);
      std::fill(dst + n, dst + nr, 0.0f);
    }
  }
}

// Queries i0 .. i0 + nq (nq ≤ f.mq) of head h in batch b.
__attribute__((target("avx2,fma"))) void attend_flash(const PrefillArgs& a, const MicroKernel& mk, int64_t b, int64_t h, int64_t i0,
                                                      int64_t nq, FlashBuffers& f) {
  const int64_t D = a.D, Dp = f.Dp, mr = mk.mr, nr = mk.nr, hk = h / a.group;
  const int64_t mq = round_up(nq, mr);  // rows computed (past nq: zero queries, never stored)
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const bool avx512 = cpu_path() >= CpuPath::Avx512;
  const bool f32 = a.k->dtype == DType::F32 && a.v->dtype == DType::F32;
  float m[kFlashTiles * kMaxMR], l[kFlashTiles * kMaxMR];
  int64_t limit[kFlashTiles * kMaxMR];
  const float* mrow[kFlashTiles * kMaxMR];
  int64_t jmax = 0;
  for (int64_t r = 0; r < mq; ++r) {
    float* qr = f.qs.data() + r * D;
    m[r] = neg_inf;
    l[r] = 0;
    limit[r] = 0;
    mrow[r] = nullptr;
    std::fill(f.acc.begin() + r * Dp, f.acc.begin() + (r + 1) * Dp, 0.0f);
    if (r >= nq) {
      std::fill(qr, qr + D, 0.0f);
      continue;
    }
    const int64_t i = i0 + r;
    row_to_f32(a.q->data, a.q->dtype, ((b * a.Tq + i) * a.Hq + h) * D, D, qr);
    for (int64_t d = 0; d < D; ++d) qr[d] *= a.scale;
    limit[r] = a.causal ? std::max<int64_t>(0, std::min(a.kvLen, a.qOffset + i + 1)) : a.kvLen;
    jmax = std::max(jmax, limit[r]);
    mrow[r] = !a.mask ? nullptr
              : a.mHeads == 0 ? a.mask->as<float>() + i * a.mCols
                              : a.mask->as<float>() + ((b * a.mHeads + (a.mHeads == 1 ? 0 : h)) * a.Tq + i) * a.mCols;
  }
  for (int64_t j0 = 0; j0 < jmax; j0 += kFlashKeys) {
    const int64_t nj = std::min(kFlashKeys, jmax - j0), njp = round_up(nj, nr);
    // ---- K panels [D][nr] and V panels [njp][nr], zero past nj and past D (0 · garbage could be NaN) ----
    if (f32 && avx512 && nr == 32 && D <= 512) pack_kv_f32_avx512(a, b, hk, j0, nj, njp, D, Dp, f);
    else pack_kv_generic(a, b, hk, j0, nj, njp, D, Dp, nr, f);
    // Row tiles whose queries see none of these keys (causal: the early queries, once j0 passes them) are
    // skipped in both products and in the softmax. limit[] is nondecreasing over the real rows, so those tiles
    // are a prefix: the first live tile is the first whose last real row has a key in this block.
    int64_t tlive = 0;
    while (tlive < mq / mr && limit[std::min((tlive + 1) * mr, nq) - 1] <= j0) ++tlive;
    // ---- S = Q · Kᵀ [mq][njp] ----
    for (int64_t p = 0; p < njp / nr; ++p)
      for (int64_t t = tlive; t < mq / mr; ++t)
        mk.tile_rows(f.qs.data() + t * mr * D, D, f.kp.get() + p * D * nr, D, f.s.data() + t * mr * njp + p * nr, njp, false);
    // ---- online softmax: S becomes P in place; the accumulator is rescaled to the new max ----
    const __m256 vinf = _mm256_set1_ps(neg_inf);
    for (int64_t r = tlive * mr; r < mq; ++r) {
      float* sc = f.s.data() + r * njp;
      // No mask: the keys past the row's limit (causal) and past nj are set to −inf and the max is a vector one.
      const bool plain = !mrow[r];
      float cmax = neg_inf;
      if (r < nq && plain) {
        const int64_t live = std::max<int64_t>(0, std::min(nj, limit[r] - j0));
        for (int64_t jj = live; jj < njp; ++jj) sc[jj] = neg_inf;
        __m256 mx = vinf;
        for (int64_t jj = 0; jj < njp; jj += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(sc + jj));
        __m128 h4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        h4 = _mm_max_ps(h4, _mm_movehl_ps(h4, h4));
        cmax = _mm_cvtss_f32(_mm_max_ss(h4, _mm_movehdup_ps(h4)));
        if (cmax != cmax) cmax = neg_inf;  // NaN scores: handled by the general loop below
      }
      if (r < nq && (!plain || cmax == neg_inf)) {
        cmax = neg_inf;
        for (int64_t jj = 0; jj < njp; ++jj) {
          const int64_t j = j0 + jj;
          float x = neg_inf;
          if (jj < nj && j < limit[r]) {
            x = sc[jj];
            if (mrow[r]) x += mrow[r][j];
            if (!(x > neg_inf)) x = neg_inf;  // NaN counts as masked
          }
          sc[jj] = x;
          cmax = std::max(cmax, x);
        }
      }
      if (cmax == neg_inf) {  // a padding row, or every key of this block masked: adds nothing
        std::fill(sc, sc + njp, 0.0f);
        continue;
      }
      const float mnew = std::max(m[r], cmax);
      const float corr = std::exp(m[r] - mnew);  // 0 on the first live block (m = −inf)
      if (corr != 1.0f)
        for (float *ar = f.acc.data() + r * Dp, *e = ar + Dp; ar < e; ++ar) *ar *= corr;
      const float psum = avx512 ? exp_row_avx512(sc, njp, mnew) : exp_row_avx2(sc, njp, mnew);
      l[r] = l[r] * corr + psum;
      m[r] = mnew;
    }
    // ---- acc [mq][Dp] += P · V ----
    for (int64_t q = 0; q < Dp / nr; ++q)
      for (int64_t t = tlive; t < mq / mr; ++t)
        mk.tile_rows(f.s.data() + t * mr * njp, njp, f.vp.get() + q * njp * nr, njp, f.acc.data() + t * mr * Dp + q * nr, Dp, true);
  }
  for (int64_t r = 0; r < nq; ++r) {
    const float inv = l[r] > 0 ? 1.0f / l[r] : 0.0f;  // every key masked: zeros
    float* ar = f.acc.data() + r * Dp;
    for (int64_t d = 0; d < D; ++d) ar[d] *= inv;
    row_from_f32(ar, D, a.o->data, a.o->dtype, ((b * a.Tq + i0 + r) * a.Hq + h) * D);
  }
}
}

// Decode scores for one chunk of keys: s[j] = Σ_d q[d] · kt[d][j] for the kKeyChunk keys of a chunk, with K
// transposed into kt ([D][kKeyChunk], zeros past the chunk's keys): a loop over keys in vector registers,
// with no horizontal sum per key (a dot product per key and row spent most of its time reducing).
inline __attribute__((always_inline)) void chunk_scores_body(const float* __restrict q, const float* __restrict kt,
                                                             int64_t D, float* __restrict s) {
  float acc[kKeyChunk] = {};
  for (int64_t d = 0; d < D; ++d) {
    const float qd = q[d];
    const float* __restrict row = kt + d * kKeyChunk;
    for (int64_t j = 0; j < kKeyChunk; ++j) acc[j] += qd * row[j];
  }
  for (int64_t j = 0; j < kKeyChunk; ++j) s[j] = acc[j];
}

// Then the chunk's n keys as the softmax sees them: scaled, plus the mask row (when given), −inf from key
// `live` on (causal limit) and for NaN; returns their max. In vector registers too: a scalar running max is a
// chain of dependent instructions, 64 per chunk and row.
inline __attribute__((always_inline)) float chunk_finish_body(float* __restrict s, int64_t n, int64_t live, float scale,
                                                              const float* __restrict mask) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    const float v = s[j] * scale + (mask ? mask[j] : 0.0f);
    s[j] = j < live && v > neg_inf ? v : neg_inf;  // NaN > −inf is false: masked
  }
  float mx[16];
  for (int l = 0; l < 16; ++l) mx[l] = neg_inf;
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; ++l) mx[l] = s[j + l] > mx[l] ? s[j + l] : mx[l];
  for (; j < n; ++j) mx[0] = s[j] > mx[0] ? s[j] : mx[0];
  float m = neg_inf;
  for (int l = 0; l < 16; ++l) m = mx[l] > m ? mx[l] : m;
  return m;
}

// Then a[d] += Σ_j p[j] · vc[j·ldv + d] over the chunk's n keys (vc: the chunk's V rows as f32, ldv apart),
// 64 dims at a time held in registers across the keys (an axpy per key and row loaded and stored a each time).
inline __attribute__((always_inline)) void chunk_pv_body(float* __restrict a, const float* __restrict p, int64_t n,
                                                         const float* __restrict vc, int64_t ldv, int64_t D) {
  int64_t d0 = 0;
  for (; d0 + 64 <= D; d0 += 64) {
    float t[64];
    for (int l = 0; l < 64; ++l) t[l] = a[d0 + l];
    for (int64_t j = 0; j < n; ++j) {
      const float pj = p[j];
      const float* __restrict row = vc + j * ldv + d0;
      for (int l = 0; l < 64; ++l) t[l] += pj * row[l];
    }
    for (int l = 0; l < 64; ++l) a[d0 + l] = t[l];
  }
  for (int64_t j = 0; j < n && d0 < D; ++j)
    for (int64_t d = d0; d < D; ++d) a[d] += p[j] * vc[j * ldv + d];
}

struct ChunkFns {
  void (*scores)(const float*, const float*, int64_t, float*);
  float (*finish)(float*, int64_t, int64_t, float, const float*);
  void (*pv)(float*, const float*, int64_t, const float*, int64_t, int64_t);
};
void chunk_pv_base(float* a, const float* p, int64_t n, const float* vc, int64_t ldv, int64_t D) {
  chunk_pv_body(a, p, n, vc, ldv, D);
}
__attribute__((target("avx2,fma"))) void chunk_pv_avx2(float* a, const float* p, int64_t n, const float* vc, int64_t ldv,
                                                       int64_t D) {
  chunk_pv_body(a, p, n, vc, ldv, D);
}
__attribute__((target("avx512f"))) void chunk_pv_avx512(float* a, const float* p, int64_t n, const float* vc, int64_t ldv,
                                                        int64_t D) {
  chunk_pv_body(a, p, n, vc, ldv, D);
}
void chunk_scores_base(const float* q, const float* kt, int64_t D, float* s) { chunk_scores_body(q, kt, D, s); }
__attribute__((target("avx2,fma"))) void chunk_scores_avx2(const float* q, const float* kt, int64_t D, float* s) {
  chunk_scores_body(q, kt, D, s);
}
__attribute__((target("avx512f"))) void chunk_scores_avx512(const float* q, const float* kt, int64_t D, float* s) {
  chunk_scores_body(q, kt, D, s);
}
float chunk_finish_base(float* s, int64_t n, int64_t live, float scale, const float* mask) {
  return chunk_finish_body(s, n, live, scale, mask);
}
__attribute__((target("avx2,fma"))) float chunk_finish_avx2(float* s, int64_t n, int64_t live, float scale, const float* mask) {
  return chunk_finish_body(s, n, live, scale, mask);
}
__attribute__((target("avx512f"))) float chunk_finish_avx512(float* s, int64_t n, int64_t live, float scale,
                                                             const float* mask) {
  return chunk_finish_body(s, n, live, scale, mask);
}

// Four rows at once on the avx512 path (GQA decode has 8 rows per kv head): each K and V vector loaded from L1 then
// serves four rows' FMAs instead of one, and the 16 accumulators (4 rows × 64 keys or dims) stay in registers.
// s[r][j] = Σ_d q[r][d] · kt[d][j] for the chunk's kKeyChunk keys.
__attribute__((target("avx512f"))) void chunk_scores4_avx512(const float* q, const float* kt, int64_t D, float* s) {
  __m512 a[4][4];
  for (auto& row : a) row[0] = row[1] = row[2] = row[3] = _mm512_setzero_ps();
  for (int64_t d = 0; d < D; ++d) {
    const float* k = kt + d * kKeyChunk;
    const __m512 k0 = _mm512_loadu_ps(k), k1 = _mm512_loadu_ps(k + 16), k2 = _mm512_loadu_ps(k + 32),
                 k3 = _mm512_loadu_ps(k + 48);
    for (int r = 0; r < 4; ++r) {
      const __m512 qd = _mm512_set1_ps(q[r * D + d]);
      a[r][0] = _mm512_fmadd_ps(qd, k0, a[r][0]);
      a[r][1] = _mm512_fmadd_ps(qd, k1, a[r][1]);
      a[r][2] = _mm512_fmadd_ps(qd, k2, a[r][2]);
      a[r][3] = _mm512_fmadd_ps(qd, k3, a[r][3]);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) _mm512_storeu_ps(s + r * kKeyChunk + 16 * c, a[r][c]);
}
static_assert(kKeyChunk == 64, "chunk_scores4_avx512 holds 64 keys per row in registers");

// acc[r][d] += Σ_j p[r][j] · vc[j·ldv + d] over the chunk's n keys, for D a multiple of 64 (rows D apart).
__attribute__((target("avx512f"))) void chunk_pv4_avx512(float* acc, const float* p, int64_t n, const float* vc,
                                                         int64_t ldv, int64_t D) {
  for (int64_t d0 = 0; d0 < D; d0 += 64) {
    __m512 t[4][4];
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) t[r][c] = _mm512_loadu_ps(acc + r * D + d0 + 16 * c);
    for (int64_t j = 0; j < n; ++j) {
      const float* v = vc + j * ldv + d0;
      const __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16), v2 = _mm512_loadu_ps(v + 32),
                   v3 = _mm512_loadu_ps(v + 48);
      for (int r = 0; r < 4; ++r) {
        const __m512 pj = _mm512_set1_ps(p[r * kKeyChunk + j]);
        t[r][0] = _mm512_fmadd_ps(pj, v0, t[r][0]);
        t[r][1] = _mm512_fmadd_ps(pj, v1, t[r][1]);
        t[r][2] = _mm512_fmadd_ps(pj, v2, t[r][2]);
        t[r][3] = _mm512_fmadd_ps(pj, v3, t[r][3]);
      }
    }
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) _mm512_storeu_ps(acc + r * D + d0 + 16 * c, t[r][c]);
  }
}

// check_attention has established the shapes, the kv heads dividing the query heads, kvLen ≤ Tk, and the
// mask's layout ([Tq, ≥kvLen] or [B, 1|Hq, Tq, ≥kvLen]).
namespace {

// ---- decode over a long cache: the keys shared out among the threads (flash-decoding) ----
// One query per head and no mask tensor (a decode step). A work item is (batch, range of keys) with every head:
// key j's rows of all kv heads are one block of Hkv·D elements, so an item streams its share of the cache front
// to back, a chunk of keys at a time, which the hardware prefetcher follows. Work items of one kv head (the
// general path below) read D elements every Hkv·D instead: from memory (16 caches in turn) that streamed 0.38 of
// the read rate for f32 and 0.31 for bf16, this path first 0.69 and 0.58 (32 heads of 128 over 2048 keys), and
// with the four-key kernels and prefetch below 0.84–0.86 and 0.74–0.79. Each item keeps a running max, sum and
// accumulator per query head; a batch's items are merged at the end.
// Within a chunk a head takes its keys four at a time (one q load and one accumulator load and store per four
// keys): from memory, 6 caches in turn, 22.5 → 25.3 GB/s for bf16 and 27.2 → 30.0 for f32; each thread was
// computing as much as waiting (from L3 the same kernels ran 38 → 47 GB/s for bf16).
// Tried and not kept: the keys of a chunk taken key-major (all heads of one key, then the next: one sequential
// stream; 20% slower), software prefetch of the next chunk (slower), chunks of 8, 12, 32 or 64 keys (32 halved
// bf16), bf16 split into even and odd lanes instead of widened (no change).
constexpr int64_t kSplitMinKeys = 64;  // keys per item at least
constexpr int64_t kSplitChunk = 16;    // keys per online-softmax step (one vector of scores)
constexpr int64_t kSplitFromKeys = 128;  // from this many keys on (shorter caches take the general path)

// The row kernels of this path, for K/V rows of f32 or bf16 (or rows converted to f32): q·k and acc += p·v for
// one key, or for four keys (rows `ld` elements apart) at once.
struct SplitKernels {
  float (*dot)(const float* q, const void* k, int64_t n);
  void (*dot4)(const float* q, const void* k, int64_t ld, int64_t n, float* s);
  void (*axpy)(float* acc, float p, const void* v, int64_t n);
  void (*axpy4)(float* acc, const float* p, const void* v, int64_t ld, int64_t n);
};

template <class T>
__attribute__((target("avx2,fma"))) void dot4_avx2(const float* q, const T* k, int64_t ld, int64_t n, float* s) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 qv = _mm256_loadu_ps(q + i);
    a0 = _mm256_fmadd_ps(qv, load8(k + i), a0);
    a1 = _mm256_fmadd_ps(qv, load8(k + ld + i), a1);
    a2 = _mm256_fmadd_ps(qv, load8(k + 2 * ld + i), a2);
    a3 = _mm256_fmadd_ps(qv, load8(k + 3 * ld + i), a3);
  }
  s[0] = hsum(a0), s[1] = hsum(a1), s[2] = hsum(a2), s[3] = hsum(a3);
  for (; i < n; ++i)
    for (int u = 0; u < 4; ++u) s[u] += q[i] * to_f32(k[u * ld + i]);
}
template <class T>
__attribute__((target("avx2,fma"))) void axpy4_avx2(float* acc, const float* p, const T* v, int64_t ld, int64_t n) {
  const __m256 p0 = _mm256_set1_ps(p[0]), p1 = _mm256_set1_ps(p[1]), p2 = _mm256_set1_ps(p[2]), p3 = _mm256_set1_ps(p[3]);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 a = _mm256_loadu_ps(acc + i);
    a = _mm256_fmadd_ps(p0, load8(v + i), a);
    a = _mm256_fmadd_ps(p1, load8(v + ld + i), a);
    a = _mm256_fmadd_ps(p2, load8(v + 2 * ld + i), a);
    a = _mm256_fmadd_ps(p3, load8(v + 3 * ld + i), a);
    _mm256_storeu_ps(acc + i, a);
  }
  for (; i < n; ++i)
    for (int u = 0; u < 4; ++u) acc[i] += p[u] * to_f32(v[u * ld + i]);
}
void dot4_any(const float* q, const void* kv, int64_t ld, int64_t n, float* s) {
  const float* k = static_cast<const float*>(kv);
  for (int u = 0; u < 4; ++u) s[u] = dot_f32(q, k + u * ld, n);
}
void axpy4_any(float* acc, const float* p, const void* vv, int64_t ld, int64_t n) {
  const float* v = static_cast<const float*>(vv);
  for (int u = 0; u < 4; ++u) scale_axpy_f32(acc, 1.0f, p[u], v + u * ld, n);
}

// SplitKernels' untyped rows over one ISA's row kernels for T rows (float, or uint16_t for bf16).
template <class T, float (*Dot)(const float*, const T*, int64_t),
          void (*Dot4)(const float*, const T*, int64_t, int64_t, float*), void (*Axpy)(float*, float, const T*, int64_t),
          void (*Axpy4)(float*, const float*, const T*, int64_t, int64_t)>
SplitKernels typed_split_kernels() {
  return {[](const float* q, const void* k, int64_t n) { return Dot(q, static_cast<const T*>(k), n); },
          [](const float* q, const void* k, int64_t ld, int64_t n, float* s) { Dot4(q, static_cast<const T*>(k), ld, n, s); },
          [](float* a, float p, const void* v, int64_t n) { Axpy(a, p, static_cast<const T*>(v), n); },
          [](float* a, const float* p, const void* v, int64_t ld, int64_t n) {
            Axpy4(a, p, static_cast<const T*>(v), ld, n);
          }};
}
template <class T>
SplitKernels avx512_split_kernels() {
  return typed_split_kernels<T, dot_avx512<T>, dot4_avx512<T>, axpy_avx512<T>, axpy4_avx512<T>>();
}
template <class T>
SplitKernels avx2_split_kernels() {
  return typed_split_kernels<T, dot_avx2<T>, dot4_avx2<T>, axpy_avx2<T>, axpy4_avx2<T>>();
}

SplitKernels split_kernels(bool bf16, bool avx512, bool avx2) {
  if (avx512) return bf16 ? avx512_split_kernels<uint16_t>() : avx512_split_kernels<float>();
  if (avx2) return bf16 ? avx2_split_kernels<uint16_t>() : avx2_split_kernels<float>();
  return {[](const float* q, const void* k, int64_t n) { return dot_f32(q, static_cast<const float*>(k), n); },
          dot4_any,
          [](float* a, float p, const void* v, int64_t n) { scale_axpy_f32(a, 1.0f, p, static_cast<const float*>(v), n); },
          axpy4_any};
}

// o[b, 0, h, :] = softmax(q·kᵀ · scale) · v over keys [0, L) (L ≥ 1).
void attend_decode_split(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& o, int64_t L,
                         float scale) {
  const int64_t B = q.shape[0], Hq = q.shape[2], D = q.shape[3], Tk = k.shape[1], Hkv = k.shape[2];
  const int64_t group = Hq / Hkv, block = Hkv * D;  // elements of one key's rows
  const int64_t splits = std::min<int64_t>((L + kSplitMinKeys - 1) / kSplitMinKeys, 4 * cpu_threads());
  const int64_t per = (L + splits - 1) / splits;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const bool avx512 = cpu_path() >= CpuPath::Avx512, avx2 = cpu_features().avx2 && cpu_features().fma;
  const bool bf16x = k.dtype == DType::BF16 && (avx512 || avx2);  // bf16 rows converted in registers, not copied
  const bool direct = k.dtype == DType::F32 || bf16x;           // K/V read where they are
  const SplitKernels fn = split_kernels(bf16x, avx512, avx2);
  const size_t es = direct ? dtype_size(k.dtype) : sizeof(float);
  // Per (batch, split): running max [Hq], sum [Hq], accumulator [Hq, D].
  std::vector<float> mx(B * splits * Hq, neg_inf), sum(B * splits * Hq, 0.0f), acc(B * splits * Hq * D, 0.0f);
  parallel_for(B * splits, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> qf(Hq * D), kc(direct ? 0 : kSplitChunk * block), vc(direct ? 0 : kSplitChunk * block);
    alignas(64) float sc[kSplitChunk];
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / splits, j0 = (t % splits) * per, j1 = std::min(L, j0 + per);
      row_to_f32(q.data, q.dtype, b * Hq * D, Hq * D, qf.data());
      for (float& x : qf) x *= scale;  // the scores come scaled
      float *m = mx.data() + t * Hq, *l = sum.data() + t * Hq, *a0 = acc.data() + t * Hq * D;
      for (int64_t c0 = j0; c0 < j1; c0 += kSplitChunk) {
        const int64_t nc = std::min(kSplitChunk, j1 - c0), nc4 = nc / 4 * 4, off = (b * Tk + c0) * block;
        // The chunk's rows: in place (f32, bf16 on the vector paths), else converted to f32.
        const char *kr = static_cast<const char*>(k.data) + off * es, *vr = static_cast<const char*>(v.data) + off * es;
        if (!direct) {
          row_to_f32(k.data, k.dtype, off, nc * block, kc.data());
          row_to_f32(v.data, v.dtype, off, nc * block, vc.data());
          kr = reinterpret_cast<const char*>(kc.data()), vr = reinterpret_cast<const char*>(vc.data());
        }
        const int64_t rowBytes = block * es;
        // Rows [r0, r1) from the chunk's first (r1 may run into the next chunk), D elements from byte `at`, K and V.
        auto prefetch_rows = [&](const char* kp, const char* vp, int64_t r0, int64_t r1, int64_t at) {
          for (int64_t jj = r0; jj < r1; ++jj)
            for (int64_t line = 0; line < D * static_cast<int64_t>(es); line += 64) {
              _mm_prefetch(kp + jj * rowBytes + at + line, _MM_HINT_T0);
              _mm_prefetch(vp + jj * rowBytes + at + line, _MM_HINT_T0);
            }
        };
        for (int64_t h = 0; h < Hq; ++h) {
          const float* qh = qf.data() + h * D;
          const int64_t hd = (h / group) * D * es;  // this head's rows within a key's block, in bytes
          // The rows the next kv head reads in this chunk (or, at the last head, the first head's rows of the
          // next chunk) into L1 while this one computes: the hardware prefetcher alone left each thread at 12.5 of
          // its 16.5 GB/s from memory (bf16; 6 caches in turn, 29.3 → 33.7 GB/s, f32 30.7 → 32.7).
          if (direct && h + 1 < Hq && (h + 1) % group == 0) prefetch_rows(kr, vr, 0, nc, hd + D * es);
          else if (direct && h + 1 == Hq && c0 + kSplitChunk < j1)
            prefetch_rows(kr, vr, kSplitChunk, std::min(2 * kSplitChunk, j1 - c0), 0);
          for (int64_t jj = 0; jj < nc4; jj += 4) fn.dot4(qh, kr + jj * rowBytes + hd, block, D, sc + jj);
          for (int64_t jj = nc4; jj < nc; ++jj) sc[jj] = fn.dot(qh, kr + jj * rowBytes + hd, D);
          const int64_t n16 = (nc + 15) / 16 * 16;
          float cmax = neg_inf;
          for (int64_t jj = 0; jj < n16; ++jj) {
            if (jj >= nc) sc[jj] = neg_inf;
            cmax = std::max(cmax, sc[jj]);
          }
          const float mnew = std::max(m[h], cmax), corr = std::exp(m[h] - mnew);  // corr 0 on the first chunk
          float* a = a0 + h * D;
          if (corr != 1.0f)
            for (int64_t d = 0; d < D; ++d) a[d] *= corr;
          float ps = 0;
          if (avx512) ps = exp_row_avx512(sc, n16, mnew);
          else if (avx2) ps = exp_row_avx2(sc, n16, mnew);
          else
            for (int64_t jj = 0; jj < nc; ++jj) ps += sc[jj] = std::exp(sc[jj] - mnew);
          l[h] = l[h] * corr + ps;
          m[h] = mnew;
          for (int64_t jj = 0; jj < nc4; jj += 4) fn.axpy4(a, sc + jj, vr + jj * rowBytes + hd, block, D);
          for (int64_t jj = nc4; jj < nc; ++jj) fn.axpy(a, sc[jj], vr + jj * rowBytes + hd, D);
        }
      }
    }
  });
  // Merge: o = Σ_s e^(m_s − M) acc_s / Σ_s e^(m_s − M) l_s, M the largest m_s (items with no keys have m = −inf).
  std::vector<float> out(D);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h) {
      float M = neg_inf, den = 0;
      for (int64_t s2 = 0; s2 < splits; ++s2) M = std::max(M, mx[(b * splits + s2) * Hq + h]);
      std::fill(out.begin(), out.end(), 0.0f);
      for (int64_t s2 = 0; s2 < splits; ++s2) {
        const int64_t i = (b * splits + s2) * Hq + h;
        if (mx[i] == neg_inf) continue;
        const float w = std::exp(mx[i] - M);
        den += w * sum[i];
        for (int64_t d = 0; d < D; ++d) out[d] += w * acc[i * D + d];
      }
      const float inv = den > 0 ? 1.0f / den : 0.0f;  // as the general path: no weight anywhere gives zeros
      for (int64_t d = 0; d < D; ++d) out[d] *= inv;
      row_from_f32(out.data(), D, o.data, o.dtype, (b * Hq + h) * D);
    }
}

}  // namespace

void seed_cpu_attention(OpCall& call, const AttentionArgs& args) {
  const TensorView &q = call.in[0], &k = call.in[1], &v = call.in[2], &o = call.out[0];
  const TensorView* mask = call.in.size() > 3 ? &call.in[3] : nullptr;
  const int64_t B = q.shape[0], Tq = q.shape[1], Hq = q.shape[2], D = q.shape[3];
  const int64_t Tk = k.shape[1], Hkv = k.shape[2];
  const int64_t kvLen = args.kvLen, qOffset = args.qOffset;
  const bool causal = args.causal;
  const float scale = args.scale;
  const int64_t mHeads = mask && mask->ndim == 4 ? mask->shape[1] : 0, mCols = mask ? mask->dim(-1) : 0;
  const int64_t group = Hq / Hkv, qBlocks = (Tq + kQBlock - 1) / kQBlock;
  const bool f32 = q.dtype == DType::F32;
  const float neg_inf = -std::numeric_limits<float>::infinity();

  // A decode step over a long cache, fewer than kSharedRows query heads per kv head: its keys shared out among
  // the threads, each streaming its range. (With more, the general path's transposed K and 4-row kernels do
  // less work per key and won: 74 against 150 µs for the 1B's 32 heads over 4 kv heads at 520 keys; a version of
  // this path with those kernels, per kv head and 64 keys, still ran 64 against 59 µs, so it was not kept.)
  if (const int64_t L = causal ? std::min(kvLen, qOffset + 1) : kvLen;
      Tq == 1 && !mask && L >= kSplitFromKeys && group < kSharedRows)
    return attend_decode_split(q, k, v, o, L, scale);

  if (Tq >= 8 && cpu_features().avx2 && cpu_features().fma) {
    const PrefillArgs a{&q, &k, &v, &o, mask, Tq, Hq, D, Tk, Hkv, group, kvLen, qOffset, mHeads, mCols, causal, scale};
    const MicroKernel& mk = gemm_micro_kernel();
    const int64_t mq = kFlashTiles * mk.mr, pBlocks = (Tq + mq - 1) / mq;
    parallel_for(B * Hq * pBlocks, 1, [&](int64_t t0, int64_t t1) {
      // Kept per thread across calls (attend_flash writes all it reads): fresh buffers cost page faults and
      // zero-fills on every call of every layer.
      thread_local std::unique_ptr<FlashBuffers> kept;
      if (!kept || kept->D != D || kept->mq != mq || kept->nr != mk.nr) kept = std::make_unique<FlashBuffers>(D, mq, mk.nr);
      FlashBuffers& f = *kept;
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = t / (Hq * pBlocks), h = (t / pBlocks) % Hq, i0 = (t % pBlocks) * mq;
        attend_flash(a, mk, b, h, i0, std::min(mq, Tq - i0), f);
      }
    });
    return;
  }

  // A work item is (batch, kv head, block of up to kQBlock queries) with every query head of the kv head's
  // group: its rows (group heads × queries) share each K and V row load, so under grouped-query attention
  // (1B: 8 query heads per kv head) each row of the cache is read once per token, not 8 times.
  const int64_t rowsMax = group * kQBlock;
  const bool avx512 = cpu_path() >= CpuPath::Avx512, avx2 = cpu_features().avx2 && cpu_features().fma;
  const bool bf16x = q.dtype == DType::BF16 && avx512;  // bf16 K/V converted in registers on the few-rows path
  const ChunkFns fns = avx512 ? ChunkFns{chunk_scores_avx512, chunk_finish_avx512, chunk_pv_avx512}
                       : avx2 ? ChunkFns{chunk_scores_avx2, chunk_finish_avx2, chunk_pv_avx2}
                              : ChunkFns{chunk_scores_base, chunk_finish_base, chunk_pv_base};
  parallel_for(B * Hkv * qBlocks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> qb(rowsMax * D), acc(rowsMax * D), krow(D), vrow(D), scores(rowsMax * kKeyChunk),
        kt(D * kKeyChunk), vc(kKeyChunk * D), kbuf(kKeyChunk * D), zeros(D, 0.0f);
    std::vector<const float*> krows(kKeyChunk);
    std::vector<float> m(rowsMax), l(rowsMax);
    std::vector<int64_t> limit(rowsMax);
    std::vector<const float*> mrow(rowsMax);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / (Hkv * qBlocks), hk = (t / qBlocks) % Hkv, i0 = (t % qBlocks) * kQBlock;
      const int64_t nq = std::min(kQBlock, Tq - i0), rows = group * nq;
      // Row r is query i0 + r % nq of query head hk·group + r / nq.
      auto head = [&](int64_t r) { return hk * group + r / nq; };
      const bool shared = rows >= kSharedRows;
      int64_t jmax = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r % nq, h = head(r);
        row_to_f32(q.data, q.dtype, ((b * Tq + i) * Hq + h) * D, D, qb.data() + r * D);
        std::fill(acc.begin() + r * D, acc.begin() + (r + 1) * D, 0.0f);
        m[r] = neg_inf;
        l[r] = 0;
        limit[r] = causal ? std::max<int64_t>(0, std::min(kvLen, qOffset + i + 1)) : kvLen;
        jmax = std::max(jmax, limit[r]);
        mrow[r] = !mask ? nullptr
                  : mHeads == 0 ? mask->as<float>() + i * mCols
                                : mask->as<float>() + ((b * mHeads + (mHeads == 1 ? 0 : h)) * Tq + i) * mCols;
      }
      // Keys in chunks: scores for the chunk first, then one running-max update and one rescale of the
      // accumulator per chunk (not per key). K/V rows of one head are Hkv·D apart, a stride the hardware
      // prefetcher does not follow, so the next rows are prefetched by hand.
      const int64_t rowStride = Hkv * D;
      const size_t es = dtype_size(k.dtype);
      for (int64_t j0 = 0; j0 < jmax; j0 += kKeyChunk) {
        const int64_t nj = std::min(kKeyChunk, jmax - j0), nj16 = (nj + 15) / 16 * 16;
        // Raw scores q·k. With kSharedRows rows or more (grouped-query heads, query blocks) K of the chunk is
        // transposed once and each row's scores are a loop over keys in vector registers; with fewer, a dot
        // product per key and row (the transposition would cost as much as it saves). Rows of one head are
        // Hkv·D apart, a stride the hardware prefetcher does not follow, so the next rows are prefetched by hand.
        for (int64_t jj = 0; jj < (shared ? kKeyChunk : nj); ++jj) {
          if (jj >= nj) {
            if (avx512) krows[jj] = zeros.data();
            else
              for (int64_t d = 0; d < D; ++d) kt[d * kKeyChunk + jj] = 0.0f;
            continue;
          }
          const int64_t j = j0 + jj;
          const int64_t kvoff = ((b * Tk + j) * Hkv + hk) * D;
          if (j + kPrefetch < jmax) {
            const char* kp = static_cast<const char*>(k.data) + (kvoff + kPrefetch * rowStride) * es;
            const char* vp = static_cast<const char*>(v.data) + (kvoff + kPrefetch * rowStride) * es;
            for (int64_t line = 0; line < D * static_cast<int64_t>(es); line += 64) {
              __builtin_prefetch(kp + line);
              __builtin_prefetch(vp + line);
            }
          }
          if (shared && avx512) {  // transposed below, 16 keys at a time
            krows[jj] = f32 ? k.as<float>() + kvoff
                            : (row_to_f32(k.data, k.dtype, kvoff, D, kbuf.data() + jj * D), kbuf.data() + jj * D);
            continue;
          }
          if (!shared && bf16x) {
            const uint16_t* kb = static_cast<const uint16_t*>(k.data) + kvoff;
            for (int64_t r = 0; r < rows; ++r) scores[r * kKeyChunk + jj] = dot_avx512(qb.data() + r * D, kb, D);
            continue;
          }
          const float* kr = f32 ? k.as<float>() + kvoff : (row_to_f32(k.data, k.dtype, kvoff, D, krow.data()), krow.data());
          if (shared)
            for (int64_t d = 0; d < D; ++d) kt[d * kKeyChunk + jj] = kr[d];
          else
            for (int64_t r = 0; r < rows; ++r)
              scores[r * kKeyChunk + jj] = avx512 ? dot_avx512(qb.data() + r * D, kr, D) : dot_f32(qb.data() + r * D, kr, D);
        }
        if (shared && avx512)
          for (int64_t jb = 0; jb < kKeyChunk; jb += 16)
            for (int64_t d0 = 0; d0 < D; d0 += 16)
              transpose16_avx512(krows.data() + jb, d0, std::min<int64_t>(16, D - d0), kt.data() + d0 * kKeyChunk + jb,
                                 kKeyChunk);
        // Per row: the scores, the running max, the rescale, then the chunk's probabilities in place (masked
        // keys 0).
        // Rows in fours where the avx512 kernels apply (D a multiple of 64), the rest one at a time.
        const int64_t rows4 = shared && avx512 && D % 64 == 0 ? rows / 4 * 4 : 0;
        for (int64_t r = 0; r < rows4; r += 4)
          chunk_scores4_avx512(qb.data() + r * D, kt.data(), D, scores.data() + r * kKeyChunk);
        for (int64_t r = 0; r < rows; ++r) {
          float* sc = scores.data() + r * kKeyChunk;
          if (shared && r >= rows4) fns.scores(qb.data() + r * D, kt.data(), D, sc);
          const float cmax = fns.finish(sc, nj, limit[r] - j0, scale, mrow[r] ? mrow[r] + j0 : nullptr);
          for (int64_t jj = nj; jj < nj16; ++jj) sc[jj] = neg_inf;  // the vector exp's tail
          if (cmax == neg_inf) {  // the whole chunk is masked for this row
            std::fill(sc, sc + nj, 0.0f);
            continue;
          }
          const float mnew = std::max(m[r], cmax);
          const float corr = std::exp(m[r] - mnew);  // 0 on the first chunk (m = −inf)
          float* a = acc.data() + r * D;
          if (corr != 1.0f) for (int64_t d = 0; d < D; ++d) a[d] *= corr;
          l[r] *= corr;
          m[r] = mnew;
          if (avx512) l[r] += exp_row_avx512(sc, nj16, mnew);
          else if (avx2) l[r] += exp_row_avx2(sc, nj16, mnew);
          else
            for (int64_t jj = 0; jj < nj; ++jj) {
              sc[jj] = sc[jj] == neg_inf ? 0.0f : std::exp(sc[jj] - mnew);
              l[r] += sc[jj];
            }
        }
        // acc_r += Σ_j p_r,j · v_j: shared, the chunk's V rows as f32 once, then each row against them with its
        // accumulator in registers; else an axpy per key and row from the V rows where they are.
        if (shared) {
          const int64_t base = ((b * Tk + j0) * Hkv + hk) * D;
          const float* vrows = f32 ? v.as<float>() + base : vc.data();  // f32 V is read where it is
          const int64_t ldv = f32 ? rowStride : D;
          if (!f32)
            for (int64_t jj = 0; jj < nj; ++jj) row_to_f32(v.data, v.dtype, base + jj * rowStride, D, vc.data() + jj * D);
          for (int64_t r = 0; r < rows4; r += 4)
            chunk_pv4_avx512(acc.data() + r * D, scores.data() + r * kKeyChunk, nj, vrows, ldv, D);
          for (int64_t r = rows4; r < rows; ++r)
            fns.pv(acc.data() + r * D, scores.data() + r * kKeyChunk, nj, vrows, ldv, D);
          continue;
        }
        for (int64_t jj = 0; jj < nj; ++jj) {
          const int64_t kvoff = ((b * Tk + j0 + jj) * Hkv + hk) * D;
          const float* vr = nullptr;
          for (int64_t r = 0; r < rows; ++r) {
            const float p = scores[r * kKeyChunk + jj];
            if (p == 0.0f) continue;  // masked (or underflowed): adds nothing
            float* a = acc.data() + r * D;
            if (bf16x) {
              axpy_avx512(a, p, static_cast<const uint16_t*>(v.data) + kvoff, D);
              continue;
            }
            if (!vr) vr = f32 ? v.as<float>() + kvoff : (row_to_f32(v.data, v.dtype, kvoff, D, vrow.data()), vrow.data());
            if (avx512) axpy_avx512(a, p, vr, D);
            else scale_axpy_f32(a, 1.0f, p, vr, D);
          }
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        const float inv = l[r] > 0 ? 1.0f / l[r] : 0.0f;  // every key masked: zeros
        float* a = acc.data() + r * D;
        for (int64_t d = 0; d < D; ++d) a[d] *= inv;
        row_from_f32(a, D, o.data, o.dtype, ((b * Tq + i0 + r % nq) * Hq + head(r)) * D);
      }
    }
  });
}

}  // namespace seed
