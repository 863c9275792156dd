// Nearest codebook entry on CUDA: one block per query row; each thread scans a strided subset of the codes
// computing the direct sum of squared differences in f32, then a block reduction over (distance, index)
// pairs keeps the smallest distance and, on ties, the lowest index.
#include "../kernels.h"
#include "common.cuh"

namespace seed {

namespace {
constexpr int kMaxD = 1024;

__global__ void codebook_kernel(const void* z, DType zt, const void* cb, DType ct, int64_t K, int64_t D, int32_t* out) {
  __shared__ float zs[kMaxD];
  __shared__ float bd[cuda::kThreads];
  __shared__ int64_t bi[cuda::kThreads];
  const int64_t n = blockIdx.x;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) zs[d] = cuda::ld(z, zt, n * D + d);
  __syncthreads();
  float best = INFINITY;
  int64_t idx = -1;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {  // increasing k per thread: strict < keeps the lowest
    float s = 0.0f;
    for (int64_t d = 0; d < D; ++d) {
      const float diff = cuda::ld(cb, ct, k * D + d) - zs[d];
      s = fmaf(diff, diff, s);
    }
    if (!isnan(s) && (idx < 0 || s < best)) {
      best = s;
      idx = k;
    }
  }
  bd[threadIdx.x] = best;
  bi[threadIdx.x] = idx;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      const float od = bd[threadIdx.x + s];
      const int64_t oi = bi[threadIdx.x + s], mi = bi[threadIdx.x];
      if (oi >= 0 && (mi < 0 || od < bd[threadIdx.x] || (od == bd[threadIdx.x] && oi < mi))) {
        bd[threadIdx.x] = od;
        bi[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) out[n] = static_cast<int32_t>(bi[0] < 0 ? 0 : bi[0]);
}
}  // namespace

void seed_cuda_codebook_nearest(OpCall& call) {
  const TensorView &z = call.in[0], &cb = call.in[1], &y = call.out[0];
  if (z.ndim != 2 || cb.ndim != 2 || z.shape[1] != cb.shape[1] || y.numel != z.shape[0] || y.dtype != DType::I32)
    return call.fail("expects z [N, D], codebook [K, D] and i32 [N] output");
  const int64_t N = z.shape[0], D = z.shape[1], K = cb.shape[0];
  if (K == 0) return call.fail("the codebook is empty");
  if (D > kMaxD) return call.fail("code dim above 1024 is not supported on CUDA");
  if (N == 0) return;
  codebook_kernel<<<static_cast<unsigned>(N), cuda::kThreads, 0, cuda::stream_of(call)>>>(z.data, z.dtype, cb.data, cb.dtype, K, D, y.as<int32_t>());
}

}  // namespace seed
