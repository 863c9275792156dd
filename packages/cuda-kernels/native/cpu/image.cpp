// Image ops on the CPU (NCHW, contiguous): group_norm (optionally fused with SiLU), upsample_nearest2x and
// geglu. All are memory-bound: values go through f32 chunk buffers, statistics are accumulated in double.
// conv2d is in conv.cpp.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernels.h"
#include "../shared_math.h"
#include "common.h"
#include "parallel.h"
#include "simd_f32.h"

namespace seed {
namespace {

constexpr int64_t kChunk = 4096;  // elements converted per step (16 KB of f32: stays in L1)

// Σ v[0, n) and Σ (v − mean)² in double. Four accumulators: one double chain would be bound by the add's
// latency, and the compiler may not reorder floating-point sums by itself.
double sum_f64(const float* v, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += v[i];
    s1 += v[i + 1];
    s2 += v[i + 2];
    s3 += v[i + 3];
  }
  for (; i < n; ++i) s0 += v[i];
  return (s0 + s1) + (s2 + s3);
}
double sq_dev_f64(const float* v, int64_t n, double mean) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const double d0 = v[i] - mean, d1 = v[i + 1] - mean, d2 = v[i + 2] - mean, d3 = v[i + 3] - mean;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; i < n; ++i) s0 += (v[i] - mean) * (v[i] - mean);
  return (s0 + s1) + (s2 + s3);
}

void silu_inplace(float* v, int64_t n) {
  if (cpu_features().avx2 && cpu_features().fma) return silu_avx2(v, n);
  for (int64_t i = 0; i < n; ++i) v[i] = silu_f32(v[i]);
}

}  // namespace

// check_group_norm: x is [B, C, ...] (y like x), weight and bias are [C], groups divides C. One group of
// one batch row is C/groups consecutive channels, so it is one contiguous run of (C/groups)·S elements.
void seed_cpu_group_norm(OpCall& call, const GroupNormArgs& args) {
  const TensorView &x = call.in[0], &y = call.out[0];
  const int64_t B = x.shape[0], C = x.shape[1], G = args.groups;
  if (x.numel == 0) return;
  const int64_t S = x.numel / (B * C), cpg = C / G, n = cpg * S;
  std::vector<float> w(C), b(C);
  row_to_f32(call.in[1].data, call.in[1].dtype, 0, C, w.data());
  row_to_f32(call.in[2].data, call.in[2].dtype, 0, C, b.data());
  const double eps = args.eps;
  const bool silu = args.silu;
  parallel_for(B * G, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> buf(kChunk);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t base = t * n;  // (b·C + g·cpg)·S
      const int64_t c0 = (t % G) * cpg;
      // Mean and squared deviations in one read of the group: each chunk's own (two passes over it while it
      // is in L1), merged into the running ones by Chan et al.'s pairwise update. Two passes over the whole
      // group, as before, read it twice more from memory (a 4 MB group at 512×512 does not stay in cache).
      double mean = 0, sq = 0;
      int64_t seen = 0;
      for (int64_t i = 0; i < n; i += kChunk) {
        const int64_t m = std::min(kChunk, n - i);
        row_to_f32(x.data, x.dtype, base + i, m, buf.data());
        const double cmean = sum_f64(buf.data(), m) / static_cast<double>(m);
        const double csq = sq_dev_f64(buf.data(), m, cmean);
        const double total = static_cast<double>(seen + m), delta = cmean - mean;
        mean += delta * static_cast<double>(m) / total;
        sq += csq + delta * delta * static_cast<double>(seen) * static_cast<double>(m) / total;
        seen += m;
      }
      const double inv = 1.0 / std::sqrt(sq / static_cast<double>(n) + eps);
      // Chunks are cut at channel boundaries so each has one weight and bias. x − μ in double, as layernorm:
      // with μ rounded to f32 first, a group with a large mean would lose its small deviations.
      for (int64_t c = 0; c < cpg; ++c) {
        const float wc = w[c0 + c], bc = b[c0 + c];
        for (int64_t s = 0; s < S; s += kChunk) {
          const int64_t m = std::min(kChunk, S - s), off = base + c * S + s;
          row_to_f32(x.data, x.dtype, off, m, buf.data());
          for (int64_t i = 0; i < m; ++i) buf[i] = static_cast<float>((buf[i] - mean) * inv) * wc + bc;
          if (silu) silu_inplace(buf.data(), m);
          row_from_f32(buf.data(), m, y.data, y.dtype, off);
        }
      }
    }
  });
}

// check_upsample_nearest2x: x [B, C, H, W], y [B, C, 2H, 2W], one float dtype. Values pass through f32
// unchanged (every f16 / bf16 value is exact in f32).
void seed_cpu_upsample_nearest2x(OpCall& call, const NoArgs&) {
  const TensorView &x = call.in[0], &y = call.out[0];
  const int64_t W = x.shape[3], rows = x.numel / std::max<int64_t>(W, 1);  // rows = B·C·H input rows
  if (x.numel == 0) return;
  parallel_for(rows, std::max<int64_t>(1, 16384 / W), [&](int64_t r0, int64_t r1) {
    std::vector<float> in(W), out(2 * W);
    for (int64_t r = r0; r < r1; ++r) {
      row_to_f32(x.data, x.dtype, r * W, W, in.data());
      for (int64_t j = 0; j < W; ++j) out[2 * j] = out[2 * j + 1] = in[j];
      // Input row r = (bc, i) becomes output rows 2i and 2i + 1 of plane bc, i.e. rows 2r and 2r + 1.
      row_from_f32(out.data(), 2 * W, y.data, y.dtype, (2 * r) * (2 * W));
      row_from_f32(out.data(), 2 * W, y.data, y.dtype, (2 * r + 1) * (2 * W));
    }
  });
}

// check_geglu: x [..., 2F], y [..., F], one float dtype. y = a · gelu(g) with a = x[..., :F], g = x[..., F:].
void seed_cpu_geglu(OpCall& call, const NoArgs&) {
  const TensorView &x = call.in[0], &y = call.out[0];
  const int64_t F = y.shape[y.ndim - 1];
  if (y.numel == 0 || F == 0) return;
  const int64_t rows = y.numel / F;
  const bool avx2 = cpu_features().avx2 && cpu_features().fma;
  parallel_for(rows, std::max<int64_t>(1, 8192 / F), [&](int64_t r0, int64_t r1) {
    std::vector<float> a(std::min(F, kChunk)), g(std::min(F, kChunk));
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t i = 0; i < F; i += kChunk) {
        const int64_t m = std::min(kChunk, F - i);
        row_to_f32(x.data, x.dtype, r * 2 * F + i, m, a.data());
        row_to_f32(x.data, x.dtype, r * 2 * F + F + i, m, g.data());
        if (avx2) gelu_avx2(g.data(), m);
        else
          for (int64_t k = 0; k < m; ++k) g[k] = 0.5f * g[k] * std::erfc(g[k] * -0.70710678118654752f);
        for (int64_t k = 0; k < m; ++k) a[k] *= g[k];
        row_from_f32(a.data(), m, y.data, y.dtype, r * F + i);
      }
  });
}

}  // namespace seed
