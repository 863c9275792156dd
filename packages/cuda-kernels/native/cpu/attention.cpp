// Fused attention on the CPU: one pass over the keys with an online softmax (running max and sum), so no
// [Tq, Tk] score matrix is ever stored. Keys are taken in chunks of 64 (scores, then one max/rescale step
// per chunk). Grouped-query heads read kv head h / (Hq / Hkv). Two paths:
//  - few queries (decode): work items are (batch, query head, block of up to 4 queries) sharing each
//    key/value row load, with hand prefetching of the strided K/V rows;
//  - many queries (prefill, ViT / Q-Former / decoder blocks) with AVX2: blocks of 16 queries; each key
//    chunk is converted once into a transposed K tile [D][64] and a V tile [64][D], scores are computed
//    vectorised over keys (no horizontal sums), exponentials with a vector exp, and P·V vectorised over D.
// Any head dim (the op allows up to 512: the VAE's single head) and any sequence length: per-thread buffers
// are O(D · 64), never O(Tq · Tk), so 9,216 tokens attend in the same memory as 77.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../kernels.h"
#include "common.h"
#include "parallel.h"
#include "simd_f32.h"

namespace seed {

namespace {
constexpr int64_t kQBlock = 4;     // queries sharing each key/value load
constexpr int64_t kKeyChunk = 64;  // keys per online-softmax step
constexpr int64_t kPrefetch = 12;   // rows ahead to prefetch
constexpr int64_t kPQ = 16;         // prefill path: queries per work item

// acc[0, 8·NV) += Σ_jj p[jj] · rows[jj][0, 8·NV): the accumulator stays in NV registers across the keys.
template <int NV>
__attribute__((target("avx2,fma"))) inline void pv_block(float* acc, const float* p, const float* const* rows, int64_t d0, int64_t nj) {
  __m256 a[NV];
  for (int c = 0; c < NV; ++c) a[c] = _mm256_loadu_ps(acc + 8 * c);
  for (int64_t jj = 0; jj < nj; ++jj) {
    if (p[jj] == 0.0f) continue;  // masked keys
    const __m256 pj = _mm256_set1_ps(p[jj]);
    const float* vr = rows[jj] + d0;
    for (int c = 0; c < NV; ++c) a[c] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 8 * c), a[c]);
  }
  for (int c = 0; c < NV; ++c) _mm256_storeu_ps(acc + 8 * c, a[c]);
}

__attribute__((target("avx2,fma"))) void pv_avx2(float* acc, const float* p, const float* const* rows, int64_t D, int64_t nj) {
  int64_t d0 = 0;
  for (; d0 + 64 <= D; d0 += 64) pv_block<8>(acc + d0, p, rows, d0, nj);
  switch ((D - d0) / 8) {
    case 7: pv_block<7>(acc + d0, p, rows, d0, nj); break;
    case 6: pv_block<6>(acc + d0, p, rows, d0, nj); break;
    case 5: pv_block<5>(acc + d0, p, rows, d0, nj); break;
    case 4: pv_block<4>(acc + d0, p, rows, d0, nj); break;
    case 3: pv_block<3>(acc + d0, p, rows, d0, nj); break;
    case 2: pv_block<2>(acc + d0, p, rows, d0, nj); break;
    case 1: pv_block<1>(acc + d0, p, rows, d0, nj); break;
    default: break;
  }
  d0 += (D - d0) / 8 * 8;
  for (; d0 < D; ++d0)
    for (int64_t jj = 0; jj < nj; ++jj) acc[d0] += p[jj] * rows[jj][d0];
}

struct PrefillArgs {
  const TensorView *q, *k, *v, *o, *mask;
  int64_t Tq, Hq, D, Tk, Hkv, group, kvLen, qOffset, mHeads, mCols;
  bool causal;
  float scale;
};

// One work item of the prefill path: queries i0 .. i0+nq (nq ≤ kPQ) of head h in batch b.
__attribute__((target("avx2,fma"))) void attend_prefill_avx2(const PrefillArgs& a, int64_t b, int64_t h, int64_t i0, int64_t nq,
                                                             std::vector<float>& qb, std::vector<float>& acc,
                                                             std::vector<float>& kT, std::vector<float>& vc) {
  const int64_t D = a.D, hk = h / a.group;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  float m[kPQ], l[kPQ], sc[kKeyChunk];
  int64_t limit[kPQ];
  const float* mrow[kPQ];
  const float* rows[kKeyChunk];
  int64_t jmax = 0;
  for (int64_t r = 0; r < nq; ++r) {
    const int64_t i = i0 + r;
    row_to_f32(a.q->data, a.q->dtype, ((b * a.Tq + i) * a.Hq + h) * D, D, qb.data() + r * D);
    for (int64_t d = 0; d < D; ++d) qb[r * D + d] *= a.scale;
    std::fill(acc.begin() + r * D, acc.begin() + (r + 1) * D, 0.0f);
    m[r] = neg_inf;
    l[r] = 0;
    limit[r] = a.causal ? std::max<int64_t>(0, std::min(a.kvLen, a.qOffset + i + 1)) : a.kvLen;
    jmax = std::max(jmax, limit[r]);
    mrow[r] = !a.mask ? nullptr
              : a.mHeads == 0 ? a.mask->as<float>() + i * a.mCols
                              : a.mask->as<float>() + ((b * a.mHeads + (a.mHeads == 1 ? 0 : h)) * a.Tq + i) * a.mCols;
  }
  const bool f32 = a.k->dtype == DType::F32;
  for (int64_t j0 = 0; j0 < jmax; j0 += kKeyChunk) {
    const int64_t nj = std::min(kKeyChunk, jmax - j0);
    // ---- this chunk's K, transposed to [D][64] (zero-padded), and its V rows as f32 ----
    for (int64_t jj = 0; jj < kKeyChunk; ++jj) {
      if (jj >= nj) {
        for (int64_t d = 0; d < D; ++d) kT[d * kKeyChunk + jj] = 0.0f;
        continue;
      }
      const int64_t kvoff = ((b * a.Tk + j0 + jj) * a.Hkv + hk) * D;
      const float* kr = f32 ? a.k->as<float>() + kvoff : (row_to_f32(a.k->data, a.k->dtype, kvoff, D, vc.data() + jj * D), vc.data() + jj * D);
      for (int64_t d = 0; d < D; ++d) kT[d * kKeyChunk + jj] = kr[d];
      if (f32) rows[jj] = a.v->as<float>() + kvoff;
      else {
        row_to_f32(a.v->data, a.v->dtype, kvoff, D, vc.data() + jj * D);
        rows[jj] = vc.data() + jj * D;
      }
    }
    for (int64_t r = 0; r < nq; ++r) {
      if (j0 >= limit[r]) continue;  // causal: this chunk is entirely in this query's future
      // ---- scores over the chunk, 8 lanes of keys at a time ----
      __m256 s[8];
      for (int c = 0; c < 8; ++c) s[c] = _mm256_setzero_ps();
      const float* qr = qb.data() + r * D;
      for (int64_t d = 0; d < D; ++d) {
        const __m256 qd = _mm256_set1_ps(qr[d]);
        const float* kt = kT.data() + d * kKeyChunk;
        for (int c = 0; c < 8; ++c) s[c] = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kt + 8 * c), s[c]);
      }
      for (int c = 0; c < 8; ++c) _mm256_storeu_ps(sc + 8 * c, s[c]);
      float cmax = neg_inf;
      for (int64_t jj = 0; jj < kKeyChunk; ++jj) {
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
      if (cmax == neg_inf) continue;  // the whole chunk is masked for this query
      const float mnew = std::max(m[r], cmax);
      const float corr = std::exp(m[r] - mnew);  // 0 on the first chunk (m = −inf)
      float* ar = acc.data() + r * D;
      if (corr != 1.0f) for (int64_t d = 0; d < D; ++d) ar[d] *= corr;
      // ---- p = exp(s − max), masked lanes exactly 0 ----
      const __m256 vmax = _mm256_set1_ps(mnew), vinf = _mm256_set1_ps(neg_inf);
      __m256 sum = _mm256_setzero_ps();
      for (int c = 0; c < 8; ++c) {
        const __m256 x = _mm256_loadu_ps(sc + 8 * c);
        const __m256 live = _mm256_cmp_ps(x, vinf, _CMP_GT_OQ);
        const __m256 pv = _mm256_and_ps(exp256(_mm256_sub_ps(x, vmax)), live);
        _mm256_storeu_ps(sc + 8 * c, pv);
        sum = _mm256_add_ps(sum, pv);
      }
      __m128 hs = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
      hs = _mm_add_ps(hs, _mm_movehl_ps(hs, hs));
      hs = _mm_add_ss(hs, _mm_movehdup_ps(hs));
      l[r] = l[r] * corr + _mm_cvtss_f32(hs);
      m[r] = mnew;
      pv_avx2(ar, sc, rows, D, nj);
    }
  }
  for (int64_t r = 0; r < nq; ++r) {
    const float inv = l[r] > 0 ? 1.0f / l[r] : 0.0f;  // every key masked: zeros
    float* ar = acc.data() + r * D;
    for (int64_t d = 0; d < D; ++d) ar[d] *= inv;
    row_from_f32(ar, D, a.o->data, a.o->dtype, ((b * a.Tq + i0 + r) * a.Hq + h) * D);
  }
}
}

// check_attention has established the shapes, the kv heads dividing the query heads, kvLen ≤ Tk, and the
// mask's layout ([Tq, ≥kvLen] or [B, 1|Hq, Tq, ≥kvLen]).
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

  if (Tq >= 8 && cpu_features().avx2 && cpu_features().fma) {
    const PrefillArgs a{&q, &k, &v, &o, mask, Tq, Hq, D, Tk, Hkv, group, kvLen, qOffset, mHeads, mCols, causal, scale};
    const int64_t pBlocks = (Tq + kPQ - 1) / kPQ;
    parallel_for(B * Hq * pBlocks, 1, [&](int64_t t0, int64_t t1) {
      std::vector<float> qb(kPQ * D), acc(kPQ * D), kT(D * kKeyChunk), vc(kKeyChunk * D);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = t / (Hq * pBlocks), h = (t / pBlocks) % Hq, i0 = (t % pBlocks) * kPQ;
        attend_prefill_avx2(a, b, h, i0, std::min(kPQ, Tq - i0), qb, acc, kT, vc);
      }
    });
    return;
  }

  parallel_for(B * Hq * qBlocks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> qb(kQBlock * D), acc(kQBlock * D), krow(D), vrow(D), scores(kQBlock * kKeyChunk);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / (Hq * qBlocks), h = (t / qBlocks) % Hq, i0 = (t % qBlocks) * kQBlock;
      const int64_t nq = std::min(kQBlock, Tq - i0), hk = h / group;
      float m[kQBlock], l[kQBlock];
      int64_t limit[kQBlock];
      const float* mrow[kQBlock];
      int64_t jmax = 0;
      for (int64_t r = 0; r < nq; ++r) {
        const int64_t i = i0 + r;
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
        const int64_t nj = std::min(kKeyChunk, jmax - j0);
        for (int64_t jj = 0; jj < nj; ++jj) {
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
          const float* kr = f32 ? k.as<float>() + kvoff : (row_to_f32(k.data, k.dtype, kvoff, D, krow.data()), krow.data());
          for (int64_t r = 0; r < nq; ++r) {
            float s = neg_inf;
            if (j < limit[r]) {
              s = dot_f32(qb.data() + r * D, kr, D) * scale;
              if (mrow[r]) s += mrow[r][j];
              if (!(s > neg_inf)) s = neg_inf;  // NaN counts as masked
            }
            scores[r * kKeyChunk + jj] = s;
          }
        }
        for (int64_t r = 0; r < nq; ++r) {
          float* sc = scores.data() + r * kKeyChunk;
          float cmax = neg_inf;
          for (int64_t jj = 0; jj < nj; ++jj) cmax = std::max(cmax, sc[jj]);
          if (cmax == neg_inf) continue;  // the whole chunk is masked for this query
          const float mnew = std::max(m[r], cmax);
          const float corr = std::exp(m[r] - mnew);  // 0 on the first chunk (m = −inf)
          float* a = acc.data() + r * D;
          if (corr != 1.0f) for (int64_t d = 0; d < D; ++d) a[d] *= corr;
          l[r] *= corr;
          m[r] = mnew;
          for (int64_t jj = 0; jj < nj; ++jj) {
            if (sc[jj] == neg_inf) continue;
            const float p = std::exp(sc[jj] - mnew);
            l[r] += p;
            const int64_t kvoff = ((b * Tk + j0 + jj) * Hkv + hk) * D;
            const float* vr = f32 ? v.as<float>() + kvoff : (row_to_f32(v.data, v.dtype, kvoff, D, vrow.data()), vrow.data());
            scale_axpy_f32(a, 1.0f, p, vr, D);
          }
        }
      }
      for (int64_t r = 0; r < nq; ++r) {
        const float inv = l[r] > 0 ? 1.0f / l[r] : 0.0f;  // every key masked: zeros
        float* a = acc.data() + r * D;
        for (int64_t d = 0; d < D; ++d) a[d] *= inv;
        row_from_f32(a, D, o.data, o.dtype, ((b * Tq + i0 + r) * Hq + h) * D);
      }
    }
  });
}

}  // namespace seed
