// Image ops on CUDA (NCHW, contiguous): group_norm (optionally fused with SiLU), upsample_nearest2x and
// geglu. conv2d is in conv.cu.
#include "../kernels.h"
#include "../shared_math.h"
#include "common.cuh"

namespace seed {
namespace cuda {
namespace {

// One block per (batch row, group): the group is one contiguous run of n = (C/G)·S elements at `base`.
// Mean and biased variance in double (two passes over the run, which stays in L2), then the affine output.
__global__ void group_norm_kernel(const void* x, DType t, void* y, const void* w, DType wt, const void* bias, DType bt, int64_t C,
                                  int64_t S, int64_t G, double eps, bool silu) {
  const int64_t cpg = C / G, n = cpg * S;
  const int64_t base = static_cast<int64_t>(blockIdx.x) * n;  // (b·C + g·cpg)·S with blockIdx.x = b·G + g
  const int64_t c0 = (blockIdx.x % G) * cpg;
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += ld(x, t, base + i);
  const double mean = block_sum(s) / static_cast<double>(n);
  double v = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const double d = ld(x, t, base + i) - mean;
    v += d * d;
  }
  const double inv = 1.0 / sqrt(block_sum(v) / static_cast<double>(n) + eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const int64_t c = c0 + i / S;
    float r = static_cast<float>((ld(x, t, base + i) - mean) * inv) * ld(w, wt, c) + ld(bias, bt, c);
    if (silu) r = silu_f32(r);
    st(y, t, base + i, r);
  }
}

// One thread per output element: y[bc, i, j] = x[bc, i/2, j/2].
__global__ void upsample2x_kernel(const void* x, DType t, void* y, int64_t H, int64_t W, int64_t n) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = o % (2 * W), i = (o / (2 * W)) % (2 * H), bc = o / (4 * H * W);
    st(y, t, o, ld(x, t, (bc * H + i / 2) * W + j / 2));
  }
}

// One thread per output element: y[r, i] = x[r, i] · gelu(x[r, F + i]), GELU exact in the erfc form (no
// cancellation for large negative gates), as the gelu op.
__global__ void geglu_kernel(const void* x, DType t, void* y, int64_t F, int64_t n) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = o / F, i = o % F;
    const float a = ld(x, t, r * 2 * F + i), g = ld(x, t, r * 2 * F + F + i);
    st(y, t, o, a * (0.5f * g * erfcf(-g * 0.70710678118654752f)));
  }
}

}  // namespace
}  // namespace cuda

// check_group_norm: x [B, C, ...] (y like x), weight and bias [C], groups divides C.
void seed_cuda_group_norm(OpCall& call, const GroupNormArgs& args) {
  using namespace cuda;
  const TensorView &x = call.in[0], &w = call.in[1], &b = call.in[2];
  if (x.numel == 0) return;
  const int64_t B = x.shape[0], C = x.shape[1], S = x.numel / (B * C), blocks = B * args.groups;
  if (blocks > 2147483647LL) return call.fail("too many groups for one launch");
  group_norm_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream_of(call)>>>(x.data, x.dtype, call.out[0].data, w.data, w.dtype, b.data,
                                                                                      b.dtype, C, S, args.groups, args.eps, args.silu);
}

// check_upsample_nearest2x: x [B, C, H, W], y [B, C, 2H, 2W], one float dtype.
void seed_cuda_upsample_nearest2x(OpCall& call, const NoArgs&) {
  using namespace cuda;
  const TensorView &x = call.in[0], &y = call.out[0];
  if (y.numel == 0) return;
  upsample2x_kernel<<<grid_for(y.numel), kThreads, 0, stream_of(call)>>>(x.data, x.dtype, y.data, x.shape[2], x.shape[3], y.numel);
}

// check_geglu: x [..., 2F], y [..., F], one float dtype.
void seed_cuda_geglu(OpCall& call, const NoArgs&) {
  using namespace cuda;
  const TensorView &x = call.in[0], &y = call.out[0];
  const int64_t F = y.shape[y.ndim - 1];
  if (y.numel == 0 || F == 0) return;
  geglu_kernel<<<grid_for(y.numel), kThreads, 0, stream_of(call)>>>(x.data, x.dtype, y.data, F, y.numel);
}

}  // namespace seed
