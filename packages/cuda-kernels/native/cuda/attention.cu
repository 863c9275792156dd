// Fused attention on CUDA: one block per (batch, query head, query). Keys are taken in chunks of 128: each
// thread scores one key of the chunk (q in shared memory), the block updates the running max and sum once
// per chunk (online softmax), and thread d accumulates output dims d, d + 128, d + 256 and d + 384 (D up to
// 512: the VAE's single-head mid-block attention) over the chunk's values. No score matrix is stored: a
// chunk's 128 probabilities live in shared memory, so any number of keys (9,216 and more) takes the same
// memory. Causal (with qOffset for KV caches), additive f32 masks, grouped-query heads, kvLen.
// A query whose every key is masked gets zeros.
#include "../kernels.h"
#include "common.cuh"

namespace seed {
namespace cuda {
namespace {

constexpr int kChunk = 128;  // keys per step = threads per block
constexpr int kMaxD = 512;
constexpr int kDimsPerThread = kMaxD / kChunk;  // output dims each thread accumulates

struct Attn {
  const void* q;
  const void* k;
  const void* v;
  DType t;
  const float* mask;
  int64_t mask_heads;  // 0: [Tq, Tk'], else [B, mask_heads, Tq, Tk']
  int64_t mask_cols;
  void* o;
  int64_t B, Tq, Hq, Tk, Hkv, D, kvLen, qOffset;
  float scale;
  bool causal;
};

__global__ void attention_kernel(Attn a) {
  __shared__ float qs[kMaxD];
  __shared__ float ps[kChunk];
  const int64_t i = blockIdx.x % a.Tq;
  const int64_t h = (blockIdx.x / a.Tq) % a.Hq;
  const int64_t b = blockIdx.x / (a.Tq * a.Hq);
  const int64_t hk = h / (a.Hq / a.Hkv);
  const int tid = threadIdx.x;
  for (int64_t d = tid; d < a.D; d += blockDim.x) qs[d] = ld(a.q, a.t, ((b * a.Tq + i) * a.Hq + h) * a.D + d);
  int64_t limit = a.kvLen;
  if (a.causal) {
    const int64_t c = a.qOffset + i + 1;
    limit = c < 0 ? 0 : (c < a.kvLen ? c : a.kvLen);
  }
  const float* mrow = nullptr;
  if (a.mask) mrow = a.mask + (a.mask_heads == 0 ? i * a.mask_cols : ((b * a.mask_heads + (a.mask_heads == 1 ? 0 : h)) * a.Tq + i) * a.mask_cols);
  __syncthreads();

  float m = -INFINITY, l = 0.0f, acc[kDimsPerThread] = {};
  for (int64_t j0 = 0; j0 < limit; j0 += kChunk) {
    const int64_t j = j0 + tid;
    float s = -INFINITY;
    if (j < limit) {
      const int64_t ko = ((b * a.Tk + j) * a.Hkv + hk) * a.D;
      float dot = 0.0f;
      for (int64_t d = 0; d < a.D; ++d) dot = fmaf(qs[d], ld(a.k, a.t, ko + d), dot);
      s = dot * a.scale + (mrow ? mrow[j] : 0.0f);
      if (isnan(s)) s = -INFINITY;
    }
    const float cmax = block_max(s);
    if (cmax == -INFINITY) continue;  // uniform: the whole chunk is masked for this query
    const float mnew = fmaxf(m, cmax);
    const float corr = expf(m - mnew);  // 0 on the first live chunk
    const float p = s == -INFINITY ? 0.0f : expf(s - mnew);
    ps[tid] = p;
    const float psum = block_sum(p);  // also orders the ps[] writes before the reads below
    l = l * corr + psum;
    m = mnew;
#pragma unroll
    for (int r = 0; r < kDimsPerThread; ++r) acc[r] *= corr;
    const int64_t nj = (limit - j0) < kChunk ? (limit - j0) : kChunk;
    for (int64_t jj = 0; jj < nj; ++jj) {
      const float pj = ps[jj];
      if (pj == 0.0f) continue;
      const int64_t vo = ((b * a.Tk + j0 + jj) * a.Hkv + hk) * a.D;
#pragma unroll
      for (int r = 0; r < kDimsPerThread; ++r)
        if (tid + r * kChunk < a.D) acc[r] = fmaf(pj, ld(a.v, a.t, vo + tid + r * kChunk), acc[r]);
    }
    __syncthreads();  // ps[] is rewritten by the next chunk
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  const int64_t oo = ((b * a.Tq + i) * a.Hq + h) * a.D;
#pragma unroll
  for (int r = 0; r < kDimsPerThread; ++r)
    if (tid + r * kChunk < a.D) st(a.o, a.t, oo + tid + r * kChunk, acc[r] * inv);
}

}  // namespace
}  // namespace cuda

// check_attention has established the shapes, the kv heads dividing the query heads, D ≤ 512, kvLen ≤ Tk,
// and the mask's layout ([Tq, ≥kvLen] or [B, 1|Hq, Tq, ≥kvLen]).
void seed_cuda_attention(OpCall& call, const AttentionArgs& args) {
  using namespace cuda;
  const TensorView &q = call.in[0], &k = call.in[1], &v = call.in[2], &o = call.out[0];
  const TensorView* mask = call.in.size() > 3 ? &call.in[3] : nullptr;
  Attn a{};
  a.B = q.shape[0];
  a.Tq = q.shape[1];
  a.Hq = q.shape[2];
  a.D = q.shape[3];
  a.Tk = k.shape[1];
  a.Hkv = k.shape[2];
  if (a.D > kMaxD) return call.fail("head dim above 512 is not supported on CUDA");  // also refused by check_attention
  a.kvLen = args.kvLen;
  a.qOffset = args.qOffset;
  a.causal = args.causal;
  a.scale = args.scale;
  if (mask) {
    a.mask_heads = mask->ndim == 4 ? mask->shape[1] : 0;
    a.mask_cols = mask->dim(-1);
    a.mask = mask->as<float>();
  }
  a.q = q.data;
  a.k = k.data;
  a.v = v.data;
  a.t = q.dtype;
  a.o = o.data;
  const int64_t blocks = a.B * a.Hq * a.Tq;
  if (blocks == 0) return;
  if (blocks > 2147483647LL) return call.fail("too many queries for one launch");
  attention_kernel<<<static_cast<unsigned>(blocks), kChunk, 0, stream_of(call)>>>(a);
}

}  // namespace seed
