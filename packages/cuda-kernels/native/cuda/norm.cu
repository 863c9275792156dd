// Row ops on CUDA: softmax, LayerNorm, RMSNorm over the last axis; one block per row, statistics in double
// (rows up to 11008 wide stay accurate), values re-read from global memory (rows are L2-resident).
#include "../kernels.h"
#include "common.cuh"

namespace seed {
namespace cuda {
namespace {

enum class Norm { Softmax, LayerNorm, RmsNorm };

__global__ void norm_kernel(const void* x, DType t, void* y, int64_t cols, Norm kind, const void* w, DType wt, const void* b, DType bt, double eps) {
  const int64_t o = blockIdx.x * cols;
  if (kind == Norm::Softmax) {
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) mx = fmaxf(mx, ld(x, t, o + c));
    mx = block_max(mx);
    if (mx == -INFINITY) {  // every entry masked: zeros
      for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) st(y, t, o + c, 0.0f);
      return;
    }
    double s = 0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += expf(ld(x, t, o + c) - mx);
    s = block_sum(s);
    const float inv = static_cast<float>(1.0 / s);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) st(y, t, o + c, expf(ld(x, t, o + c) - mx) * inv);
    return;
  }
  if (kind == Norm::RmsNorm) {
    double ss = 0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const double v = ld(x, t, o + c);
      ss += v * v;
    }
    ss = block_sum(ss);
    const float inv = static_cast<float>(1.0 / sqrt(ss / static_cast<double>(cols) + eps));
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) st(y, t, o + c, ld(x, t, o + c) * inv * ld(w, wt, c));
    return;
  }
  double s = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += ld(x, t, o + c);
  const double mean = block_sum(s) / static_cast<double>(cols);
  double v = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const double d = ld(x, t, o + c) - mean;
    v += d * d;
  }
  const double var = block_sum(v) / static_cast<double>(cols);
  const double inv = 1.0 / sqrt(var + eps);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
    st(y, t, o + c, static_cast<float>((ld(x, t, o + c) - mean) * inv) * ld(w, wt, c) + ld(b, bt, c));
}

// check_softmax / check_layernorm / check_rmsnorm: x is [..., C], y like x, the weights are [C].
void launch(OpCall& call, Norm kind, double eps) {
  const TensorView &x = call.in[0];
  const int64_t cols = x.shape[x.ndim - 1];
  if (cols == 0 || x.numel == 0) return;
  if (x.numel / cols > 2147483647LL) return call.fail("too many rows for one launch");
  const int nweights = kind == Norm::LayerNorm ? 2 : kind == Norm::RmsNorm ? 1 : 0;
  const void* w = nweights >= 1 ? call.in[1].data : nullptr;
  const void* b = nweights >= 2 ? call.in[2].data : nullptr;
  const DType wt = nweights >= 1 ? call.in[1].dtype : DType::F32, bt = nweights >= 2 ? call.in[2].dtype : DType::F32;
  norm_kernel<<<static_cast<unsigned>(x.numel / cols), kThreads, 0, stream_of(call)>>>(x.data, x.dtype, call.out[0].data, cols, kind, w, wt, b, bt, eps);
}

}  // namespace
}  // namespace cuda

void seed_cuda_softmax(OpCall& call, const NoArgs&) { cuda::launch(call, cuda::Norm::Softmax, 0.0); }
void seed_cuda_layernorm(OpCall& call, const NormArgs& args) { cuda::launch(call, cuda::Norm::LayerNorm, args.eps); }
void seed_cuda_rmsnorm(OpCall& call, const NormArgs& args) { cuda::launch(call, cuda::Norm::RmsNorm, args.eps); }

}  // namespace seed
