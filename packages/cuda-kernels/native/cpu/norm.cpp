// Row-normalising CPU kernels over the last axis: softmax, LayerNorm, RMSNorm. One row at a time in f32,
// statistics accumulated in double so long rows (11008) stay accurate.
#include <cmath>
#include <limits>
#include <vector>

#include "../kernels.h"
#include "simd_convert.h"
#include "parallel.h"

namespace seed {
namespace {

template <class F>
void for_rows(OpCall& call, F f) {
  const TensorView &x = call.in[0], &y = call.out[0];  // the op's check: x is [..., C], y like x
  const int64_t cols = x.shape[x.ndim - 1];
  const int64_t rows = cols ? x.numel / cols : 0;
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<float> buf(cols);
    for (int64_t r = r0; r < r1; ++r) {
      simd_to_f32(x.data, x.dtype, r * cols, cols, buf.data());
      f(buf.data(), cols);
      simd_from_f32(buf.data(), cols, y.data, y.dtype, r * cols);
    }
  });
}

}  // namespace

void seed_cpu_softmax(OpCall& call, const NoArgs&) {
  for_rows(call, [](float* v, int64_t n) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, v[i]);
    if (mx == -std::numeric_limits<float>::infinity()) {  // every entry masked: all zeros
      for (int64_t i = 0; i < n; ++i) v[i] = 0;
      return;
    }
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      v[i] = std::exp(v[i] - mx);
      sum += v[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) v[i] *= inv;
  });
}

void seed_cpu_layernorm(OpCall& call, const NormArgs& args) {
  const int64_t cols = call.in[0].shape[call.in[0].ndim - 1];  // check_layernorm: weight and bias are [cols]
  std::vector<float> w(cols), b(cols);
  simd_to_f32(call.in[1].data, call.in[1].dtype, 0, cols, w.data());
  simd_to_f32(call.in[2].data, call.in[2].dtype, 0, cols, b.data());
  const double eps = args.eps;
  for_rows(call, [&](float* v, int64_t n) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) mean += v[i];
    mean /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) var += (v[i] - mean) * (v[i] - mean);
    var /= static_cast<double>(n);
    // x − μ in double: with μ rounded to f32 first, rows with a large mean would lose their small deviations.
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>((v[i] - mean) * inv) * w[i] + b[i];
  });
}

void seed_cpu_rmsnorm(OpCall& call, const NormArgs& args) {
  const int64_t cols = call.in[0].shape[call.in[0].ndim - 1];  // check_rmsnorm: weight is [cols]
  std::vector<float> w(cols);
  simd_to_f32(call.in[1].data, call.in[1].dtype, 0, cols, w.data());
  const double eps = args.eps;
  for_rows(call, [&](float* v, int64_t n) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(v[i]) * v[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (int64_t i = 0; i < n; ++i) v[i] = v[i] * inv * w[i];
  });
}

}  // namespace seed
