// Fused attention on the CPU: one pass over the keys with an online softmax (running max and sum), so no
// [Tq, Tk] score matrix is ever stored. Work items are (batch, query head, block of up to 4 queries); the
// queries of a block share every key/value row load. Keys are taken in chunks of 64 (scores, then one
// max/rescale step per chunk). Grouped-query heads read kv head h / (Hq / Hkv).
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
}

void seed_cpu_attention(OpCall& call) {
  const TensorView &q = call.in[0], &k = call.in[1], &v = call.in[2], &o = call.out[0];
  const TensorView* mask = call.in.size() > 3 ? &call.in[3] : nullptr;
  if (q.ndim != 4 || k.ndim != 4 || v.ndim != 4 || o.numel != q.numel) return call.fail("q, k, v must be [B, T, H, D]");
  const int64_t B = q.shape[0], Tq = q.shape[1], Hq = q.shape[2], D = q.shape[3];
  const int64_t Tk = k.shape[1], Hkv = k.shape[2];
  if (k.shape[0] != B || k.shape[3] != D || v.shape[0] != B || v.shape[1] != Tk || v.shape[2] != Hkv || v.shape[3] != D)
    return call.fail("k and v must be [B, Tk, Hkv, D] matching q");
  if (Hkv == 0 || Hq % Hkv) return call.fail("query heads must be a multiple of kv heads");
  const int64_t kvLen = call.p.i64("kvLen", Tk);
  const int64_t qOffset = call.p.i64("qOffset", kvLen - Tq);
  const bool causal = call.p.i64("causal", 0) != 0;
  const float scale = static_cast<float>(call.p.num("scale", 1.0 / std::sqrt(static_cast<double>(D))));
  if (kvLen < 0 || kvLen > Tk) return call.fail("kvLen out of range");
  int64_t mHeads = 0, mCols = 0;
  if (mask) {
    if (mask->dtype != DType::F32) return call.fail("mask must be f32");
    if (mask->ndim == 2 && mask->shape[0] == Tq && mask->shape[1] >= kvLen) {
      mHeads = 0;
      mCols = mask->shape[1];
    } else if (mask->ndim == 4 && mask->shape[0] == B && (mask->shape[1] == 1 || mask->shape[1] == Hq) && mask->shape[2] == Tq && mask->shape[3] >= kvLen) {
      mHeads = mask->shape[1];
      mCols = mask->shape[3];
    } else {
      return call.fail("mask must be [Tq, ≥kvLen] or [B, 1|Hq, Tq, ≥kvLen]");
    }
  }
  const int64_t group = Hq / Hkv, qBlocks = (Tq + kQBlock - 1) / kQBlock;
  const bool f32 = q.dtype == DType::F32;
  const float neg_inf = -std::numeric_limits<float>::infinity();

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
