// Nearest codebook entry on the CPU: argmin_k Σ_d (z[n,d] − e[k,d])², the direct sum of squared differences
// in f32 (the ‖z‖²+‖e‖²−2z·e expansion loses the precision that decides close calls). The codebook is
// transposed into blocks of 8 codes [K/8][D][8] so AVX2 lanes hold 8 codes; each lane keeps its own
// (best distance, best index) and codes arrive in increasing index order, so ties go to the lowest index.
// The summation order and the tie rule are shared_math.h's (codebook_distance, codebook_better), which the
// CUDA kernel and the scalar path below use as written.
#include <immintrin.h>

#include <cmath>
#include <limits>
#include <vector>

#include "../kernels.h"
#include "../shared_math.h"
#include "common.h"
#include "parallel.h"

namespace seed {
namespace {

struct Best {
  float dist = std::numeric_limits<float>::infinity();
  int32_t idx = -1;
  void offer(float d, int32_t i) {
    if (codebook_better(d, i, dist, idx)) {
      dist = d;
      idx = i;
    }
  }
};

__attribute__((target("avx2,fma"))) Best scan_avx2(const float* z, const float* blocks, int64_t nblocks, int64_t D,
                                                   int64_t K) {
  __m256 best = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  __m256i best_idx = _mm256_set1_epi32(-1);
  __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i eight = _mm256_set1_epi32(8);
  for (int64_t blk = 0; blk < nblocks; ++blk) {
    const float* e = blocks + blk * D * 8;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t d = 0;
    for (; d + 2 <= D; d += 2) {
      __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(e + d * 8), _mm256_set1_ps(z[d]));
      __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(e + (d + 1) * 8), _mm256_set1_ps(z[d + 1]));
      acc0 = _mm256_fmadd_ps(d0, d0, acc0);
      acc1 = _mm256_fmadd_ps(d1, d1, acc1);
    }
    if (d < D) {
      __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(e + d * 8), _mm256_set1_ps(z[d]));
      acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    }
    const __m256 dist = _mm256_add_ps(acc0, acc1);
    const __m256 lt = _mm256_cmp_ps(dist, best, _CMP_LT_OQ);  // strict: an equal later code never wins
    best = _mm256_blendv_ps(best, dist, lt);
    best_idx = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(best_idx), _mm256_castsi256_ps(idx), lt));
    idx = _mm256_add_epi32(idx, eight);
  }
  alignas(32) float bd[8];
  alignas(32) int32_t bi[8];
  _mm256_store_ps(bd, best);
  _mm256_store_si256(reinterpret_cast<__m256i*>(bi), best_idx);
  Best r;
  for (int lane = 0; lane < 8; ++lane)
    if (bi[lane] >= 0 && bi[lane] < K) r.offer(bd[lane], bi[lane]);
  return r;
}

}  // namespace

void seed_cpu_codebook_nearest(OpCall& call, const NoArgs&) {
  const TensorView &z = call.in[0], &cb = call.in[1], &y = call.out[0];
  const int64_t N = z.shape[0], D = z.shape[1], K = cb.shape[0];
  const bool avx2 = cpu_features().avx2 && cpu_features().fma;

  std::vector<float> zf(N * D);
  row_to_f32(z.data, z.dtype, 0, N * D, zf.data());
  // Transpose into [K/8][D][8]; padding codes get +inf so they never win (their index is also ≥ K).
  const int64_t nblocks = (K + 7) / 8;
  std::vector<float> blocks(nblocks * D * 8, std::numeric_limits<float>::infinity());
  parallel_for(K, 512, [&](int64_t k0, int64_t k1) {
    std::vector<float> row(D);
    for (int64_t k = k0; k < k1; ++k) {
      row_to_f32(cb.data, cb.dtype, k * D, D, row.data());
      for (int64_t d = 0; d < D; ++d) blocks[(k / 8) * D * 8 + d * 8 + (k % 8)] = row[d];
    }
  });

  // Split over queries, and over the codebook too when there are few queries (2 threads, 32 queries).
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(nblocks, cpu_threads() * 2 / std::max<int64_t>(N, 1)));
  std::vector<Best> partial(N * parts);
  parallel_for(N * parts, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / parts, part = t % parts;
      const int64_t b0 = nblocks * part / parts, b1 = nblocks * (part + 1) / parts;
      const float* zn = zf.data() + n * D;
      Best best;
      if (avx2) {
        best = scan_avx2(zn, blocks.data() + b0 * D * 8, b1 - b0, D, K - b0 * 8);
        if (best.idx >= 0) best.idx += static_cast<int32_t>(b0 * 8);
      } else {
        for (int64_t k = b0 * 8; k < std::min(K, b1 * 8); ++k) {
          const float* e = blocks.data() + (k / 8) * D * 8 + (k % 8);
          best.offer(codebook_distance(zn, [e](int64_t d) { return e[d * 8]; }, D), static_cast<int32_t>(k));
        }
      }
      partial[t] = best;
    }
  });
  for (int64_t n = 0; n < N; ++n) {
    Best best;
    for (int64_t part = 0; part < parts; ++part) {
      const Best& p = partial[n * parts + part];
      if (p.idx >= 0) best.offer(p.dist, p.idx);
    }
    y.as<int32_t>()[n] = best.idx < 0 ? 0 : best.idx;  // all-NaN distances: 0
  }
}

}  // namespace seed
