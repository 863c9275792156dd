// Matrix products on CUDA (no cuBLAS): a warp-per-output matrix-vector kernel for the decode case
// (≤ 8 rows), streaming each weight row once, and a 64×64-tiled shared-memory GEMM (4×4 outputs per
// thread) for everything else. Weights of any float dtype or q8 are converted to f32 as they are loaded.
#include "../kernels.h"
#include "common.cuh"

namespace seed {
namespace cuda {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16;
constexpr int kGemvRows = 8;

struct Gemm {
  const void* a;  // [batch][M][K]
  DType at;
  int64_t a_batch;
  const void* b;  // element (k, n) at n*K + k when nk, else k*N + n
  DType bt;
  bool nk;
  int64_t b_batch;  // 0: shared across batches
  const void* bias;
  DType biast;
  void* c;  // [batch][M][N]
  DType ct;
  int64_t c_batch;
  int64_t M, N, K;
};

__device__ __forceinline__ float load_b(const Gemm& g, int64_t batch, int64_t k, int64_t n) {
  if (g.bt == DType::Q8) return ld_weight(g.b, DType::Q8, g.N, g.K, n, k);
  const int64_t base = batch * g.b_batch;
  return ld(g.b, g.bt, base + (g.nk ? n * g.K + k : k * g.N + n));
}

__global__ void gemm_kernel(Gemm g) {
  __shared__ float As[kBK][kBM + 1];
  __shared__ float Bs[kBK][kBN + 1];
  const int64_t batch = blockIdx.z;
  const int64_t m0 = int64_t(blockIdx.y) * kBM, n0 = int64_t(blockIdx.x) * kBN;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < g.K; k0 += kBK) {
    for (int e = threadIdx.x; e < kBK * kBM; e += blockDim.x) {
      const int kk = e % kBK, mm = e / kBK;
      const int64_t m = m0 + mm, k = k0 + kk;
      As[kk][mm] = (m < g.M && k < g.K) ? ld(g.a, g.at, batch * g.a_batch + m * g.K + k) : 0.0f;
    }
    for (int e = threadIdx.x; e < kBK * kBN; e += blockDim.x) {
      // nk weights are contiguous along k: let consecutive threads walk k for coalescing.
      const int kk = g.nk ? e % kBK : e / kBN, nn = g.nk ? e / kBK : e % kBN;
      const int64_t n = n0 + nn, k = k0 + kk;
      Bs[kk][nn] = (n < g.N && k < g.K) ? load_b(g, batch, k, n) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) {
      float av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = As[kk][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const int64_t m = m0 + ty * 4 + i, n = n0 + tx * 4 + j;
      if (m < g.M && n < g.N) {
        const float v = acc[i][j] + (g.bias ? ld(g.bias, g.biast, n) : 0.0f);
        st(g.c, g.ct, batch * g.c_batch + m * g.N + n, v);
      }
    }
}

// One warp per output column n: y[m, n] = Σ_k x[m, k] · w(n, k) for every row m < M ≤ kGemvRows.
__global__ void gemv_kernel(Gemm g) {
  const int lane = threadIdx.x & 31;
  const int64_t n = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (n >= g.N) return;  // whole warp leaves together: n is uniform in a warp
  float acc[kGemvRows] = {};
  const bool q8 = g.bt == DType::Q8;
  const int8_t* q = static_cast<const int8_t*>(g.b);
  for (int64_t k = lane; k < g.K; k += 32) {
    const float w = q8 ? static_cast<float>(q[n * g.K + k]) : ld(g.b, g.bt, n * g.K + k);
#pragma unroll
    for (int m = 0; m < kGemvRows; ++m)
      if (m < g.M) acc[m] = fmaf(ld(g.a, g.at, m * g.K + k), w, acc[m]);
  }
  const float scale = q8 ? reinterpret_cast<const float*>(static_cast<const uint8_t*>(g.b) + q8_scales_offset(g.N, g.K))[n] : 1.0f;
  const float bias = g.bias ? ld(g.bias, g.biast, n) : 0.0f;
#pragma unroll
  for (int m = 0; m < kGemvRows; ++m) {
    const float s = warp_sum(acc[m]);
    if (lane == 0 && m < g.M) st(g.c, g.ct, m * g.N + n, s * scale + bias);
  }
}

void run(OpCall& call, Gemm g, int64_t batches) {
  if (g.M == 0 || g.N == 0 || batches == 0) return;
  if (batches == 1 && g.nk && g.M <= kGemvRows) {
    const int warps = 8;
    gemv_kernel<<<static_cast<unsigned>((g.N + warps - 1) / warps), warps * 32, 0, stream_of(call)>>>(g);
    return;
  }
  if (batches > 65535) return call.fail("too many batches for one launch");
  dim3 grid(static_cast<unsigned>((g.N + kBN - 1) / kBN), static_cast<unsigned>((g.M + kBM - 1) / kBM), static_cast<unsigned>(batches));
  if (grid.y > 65535) return call.fail("too many rows for one launch");
  gemm_kernel<<<grid, 256, 0, stream_of(call)>>>(g);
}

}  // namespace
}  // namespace cuda

using namespace cuda;

// check_linear / check_matmul have established the shapes (x [..., K], w [N, K], bias [N], y [..., N]).
void seed_cuda_linear(OpCall& call, const NoArgs&) {
  const TensorView &x = call.in[0], &w = call.in[1], &y = call.out[0];
  const TensorView* bias = call.in.size() > 2 ? &call.in[2] : nullptr;
  const int64_t N = w.shape[0], K = w.shape[1];
  const int64_t M = y.rows();
  Gemm g{x.data, x.dtype, 0, w.data, w.dtype, true, 0, bias ? bias->data : nullptr, bias ? bias->dtype : DType::F32, y.data, y.dtype, 0, M, N, K};
  run(call, g, 1);
}

void seed_cuda_matmul(OpCall& call, const MatmulArgs& args) {
  const TensorView &a = call.in[0], &b = call.in[1], &y = call.out[0];
  const bool transB = args.transB;
  const int64_t M = a.dim(-2), K = a.dim(-1);
  const int64_t N = transB ? b.dim(-2) : b.dim(-1);
  int64_t batches = 1;
  for (int i = 0; i + 2 < a.ndim; ++i) batches *= a.shape[i];
  Gemm g{a.data, a.dtype, M * K, b.data, b.dtype, transB, b.ndim > 2 ? K * N : 0, nullptr, DType::F32, y.data, y.dtype, M * N, M, N, K};
  run(call, g, batches);
}

}  // namespace seed
