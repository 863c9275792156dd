// Rotary position embedding on CUDA: one thread per (row, head, pair); the angle in double, so long
// positions stay accurate; HF half-split or interleaved pairs; dims past rotaryDim pass through.
#include "../kernels.h"
#include "common.cuh"

namespace seed {

namespace {
__global__ void rope_kernel(const void* x, DType t, void* y, const int32_t* pos, int64_t rows, int64_t T, int64_t H, int64_t D,
                            int64_t rot, double base, bool interleaved) {
  const int64_t half = rot / 2, n = rows * H * D;
  // First copy everything (pass-through dims), then rotate the pairs: one thread per element keeps it simple.
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t d = i % D, rh = i / D, row = rh / H;
    if (d >= rot) {
      cuda::st(y, t, i, cuda::ld(x, t, i));
      continue;
    }
    int64_t pair, other;
    bool first;
    if (interleaved) {
      pair = d / 2;
      first = (d % 2) == 0;
      other = first ? d + 1 : d - 1;
    } else {
      first = d < half;
      pair = first ? d : d - half;
      other = first ? d + half : d - half;
    }
    const double theta = static_cast<double>(pos[row % T]) * pow(base, -2.0 * static_cast<double>(pair) / static_cast<double>(rot));
    const float c = static_cast<float>(cos(theta)), s = static_cast<float>(sin(theta));
    const float a = cuda::ld(x, t, rh * D + (first ? d : other)), b = cuda::ld(x, t, rh * D + (first ? other : d));
    cuda::st(y, t, i, first ? a * c - b * s : a * s + b * c);
  }
}
}  // namespace

void seed_cuda_rope(OpCall& call, const RopeArgs& args) {
  const TensorView &x = call.in[0], &pos = call.in[1], &y = call.out[0];
  const int64_t T = x.shape[x.ndim - 3], H = x.shape[x.ndim - 2], D = x.shape[x.ndim - 1];
  if (x.numel == 0) return;
  const int64_t rows = x.numel / (H * D);
  rope_kernel<<<cuda::grid_for(x.numel), cuda::kThreads, 0, cuda::stream_of(call)>>>(x.data, x.dtype, y.data, pos.as<int32_t>(), rows, T, H, D,
                                                                                   args.rotaryDim, args.base, args.interleaved);
}

}  // namespace seed
