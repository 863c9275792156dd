// Nearest codebook entry on CUDA: one block per query row; each thread scans a strided subset of the codes
// with shared_math.h's codebook_distance (the CPU's summation order) and codebook_better (its tie rule:
// smaller wins, ties to the lowest index, NaN and +inf never), then a block reduction over (distance, index)
// pairs with the same rule. The query row is staged in shared memory when it fits (D ≤ 1024) and read from
// a per-row f32 copy in global memory otherwise, so any D works.
#include "../kernels.h"
#include "../shared_math.h"
#include "common.cuh"

namespace seed {

namespace {
constexpr int kSharedD = 1024;

// zrow: the query row as f32 (shared memory or global scratch); every thread of the block calls this.
__device__ void nearest_in_block(const float* zrow, const void* cb, DType ct, int64_t K, int64_t D, int32_t* out, int64_t n) {
  __shared__ float bd[cuda::kThreads];
  __shared__ int64_t bi[cuda::kThreads];
  float best = INFINITY;
  int64_t idx = -1;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {  // increasing k per thread: the tie rule keeps the lowest
    const float s = codebook_distance(zrow, [=](int64_t d) { return cuda::ld(cb, ct, k * D + d); }, D);
    if (codebook_better(s, k, best, idx)) {
      best = s;
      idx = k;
    }
  }
  bd[threadIdx.x] = best;
  bi[threadIdx.x] = idx;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      const int64_t oi = bi[threadIdx.x + s];
      if (oi >= 0 && codebook_better(bd[threadIdx.x + s], oi, bd[threadIdx.x], bi[threadIdx.x])) {
        bd[threadIdx.x] = bd[threadIdx.x + s];
        bi[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) out[n] = static_cast<int32_t>(bi[0] < 0 ? 0 : bi[0]);
}

__global__ void codebook_kernel(const void* z, DType zt, const void* cb, DType ct, int64_t K, int64_t D, int32_t* out, float* zscratch) {
  __shared__ float zs[kSharedD];
  const int64_t n = blockIdx.x;
  float* zrow = D <= kSharedD ? zs : zscratch + n * D;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) zrow[d] = cuda::ld(z, zt, n * D + d);
  __syncthreads();
  nearest_in_block(zrow, cb, ct, K, D, out, n);
}
}  // namespace

void seed_cuda_codebook_nearest(OpCall& call, const NoArgs&) {
  const TensorView &z = call.in[0], &cb = call.in[1], &y = call.out[0];
  const int64_t N = z.shape[0], D = z.shape[1], K = cb.shape[0];
  if (N == 0) return;
  if (N > 2147483647LL) return call.fail("too many query rows for one launch");
  cudaStream_t stream = cuda::stream_of(call);
  float* scratch = nullptr;
  if (D > kSharedD) {
    // Stream-ordered scratch: freed after the kernel, in stream order.
    if (cudaMallocAsync(reinterpret_cast<void**>(&scratch), static_cast<size_t>(N * D) * sizeof(float), stream) != cudaSuccess) {
      cudaGetLastError();
      return call.fail("out of device memory for the query rows");
    }
  }
  codebook_kernel<<<static_cast<unsigned>(N), cuda::kThreads, 0, stream>>>(z.data, z.dtype, cb.data, cb.dtype, K, D, y.as<int32_t>(), scratch);
  if (scratch) cudaFreeAsync(scratch, stream);
}

}  // namespace seed
