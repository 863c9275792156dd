// conv2d on CUDA: an implicit-im2col GEMM, y[b] = A · cols(x[b]) with A the weight as [Cout, K = Cin·kh·kw]
// and cols the [K, Ho·Wo] im2col matrix, read on the fly (zeros in the padding) and never stored.
// A block computes a 64 (output channels) × 64 (output pixels) tile of one batch row: per step of 16 K rows
// it stages the A tile [16][64] and the cols tile [16][64] in shared memory (coalesced: consecutive threads
// read consecutive K of a weight row, or consecutive pixels of an input row), then each of its 256 threads
// accumulates a 4 × 4 sub-tile in registers, in f32. Bias and the store in y's dtype at the end.
#include "../kernels.h"
#include "../shared_math.h"
#include "common.cuh"

namespace seed {
namespace cuda {
namespace {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kConvThreads = 256;  // 16 × 16 threads, 4 × 4 each

struct Conv {
  const void* x;
  DType xt;
  const void* w;
  DType wt;
  const void* bias;  // null when absent
  DType bt;
  void* y;
  int64_t Cin, H, W, M, kh, kw, stride, pad, Ho, Wo, K, P;
};

__global__ void __launch_bounds__(kConvThreads) conv2d_kernel(Conv c) {
  __shared__ float As[kTileK][kTileM];
  __shared__ float Bs[kTileK][kTileN];
  const int64_t b = blockIdx.z, m0 = int64_t(blockIdx.y) * kTileM, n0 = int64_t(blockIdx.x) * kTileN;
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < c.K; k0 += kTileK) {
    // A tile: element e = (mm, kk) with kk fastest, 4 per thread.
    for (int e = tid; e < kTileM * kTileK; e += kConvThreads) {
      const int mm = e / kTileK, kk = e % kTileK;
      const int64_t m = m0 + mm, k = k0 + kk;
      As[kk][mm] = m < c.M && k < c.K ? ld(c.w, c.wt, m * c.K + k) : 0.0f;
    }
    // cols tile: element e = (kk, nn) with nn fastest, 4 per thread.
    for (int e = tid; e < kTileK * kTileN; e += kConvThreads) {
      const int kk = e / kTileN, nn = e % kTileN;
      const int64_t n = n0 + nn, k = k0 + kk;
      float v = 0.0f;
      if (n < c.P && k < c.K) {
        const ConvTap t = conv_tap(k, c.kh, c.kw);
        const int64_t iy = (n / c.Wo) * c.stride - c.pad + t.ky, ix = (n % c.Wo) * c.stride - c.pad + t.kx;
        if (iy >= 0 && iy < c.H && ix >= 0 && ix < c.W) v = ld(c.x, c.xt, ((b * c.Cin + t.ci) * c.H + iy) * c.W + ix);
      }
      Bs[kk][nn] = v;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      float a[4], bb[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[kk][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) bb[j] = Bs[kk][tx * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], bb[j], acc[i][j]);
    }
    __syncthreads();  // the tiles are rewritten by the next step
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t m = m0 + ty * 4 + i;
    if (m >= c.M) continue;
    const float bias = c.bias ? ld(c.bias, c.bt, m) : 0.0f;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t n = n0 + tx * 4 + j;
      if (n < c.P) st(c.y, c.xt, (b * c.M + m) * c.P + n, acc[i][j] + bias);
    }
  }
}

}  // namespace
}  // namespace cuda

// check_conv2d: x [B, Cin, H, W] and w [Cout, Cin, kh, kw] float with Cin, kh, kw ≥ 1, bias float [Cout] when
// present, y [B, Cout, Ho, Wo] in x's dtype with Ho, Wo from conv_out_size.
void seed_cuda_conv2d(OpCall& call, const Conv2dArgs& args) {
  using namespace cuda;
  const TensorView &x = call.in[0], &w = call.in[1], &y = call.out[0];
  const TensorView* bias = call.in.size() > 2 ? &call.in[2] : nullptr;
  Conv c{};
  c.x = x.data;
  c.xt = x.dtype;
  c.w = w.data;
  c.wt = w.dtype;
  c.bias = bias ? bias->data : nullptr;
  c.bt = bias ? bias->dtype : DType::F32;
  c.y = y.data;
  c.Cin = x.shape[1];
  c.H = x.shape[2];
  c.W = x.shape[3];
  c.M = w.shape[0];
  c.kh = w.shape[2];
  c.kw = w.shape[3];
  c.stride = args.stride;
  c.pad = args.padding;
  c.Ho = y.shape[2];
  c.Wo = y.shape[3];
  c.K = c.Cin * c.kh * c.kw;
  c.P = c.Ho * c.Wo;
  if (y.numel == 0) return;
  const int64_t gx = (c.P + kTileN - 1) / kTileN, gy = (c.M + kTileM - 1) / kTileM, gz = x.shape[0];
  if (gx > 2147483647LL || gy > 65535 || gz > 65535) return call.fail("the output is too large for one launch");
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(gz));
  conv2d_kernel<<<grid, kConvThreads, 0, stream_of(call)>>>(c);
}

}  // namespace seed
