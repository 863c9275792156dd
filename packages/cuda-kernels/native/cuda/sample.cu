// Token sampling on CUDA, the docs/ops.md algorithm in double so a seed draws the same token as on the CPU
// and in the reference: one block per row. The block applies the repetition penalty (once per distinct id)
// and the mask, then either reduces to the argmax (greedy) or sorts (x/T, index) pairs descending with a
// block-wide bitonic sort in scratch memory, turns them into weights exp(x − x_max) in parallel, and one
// thread walks the order: top-k, the total, top-p, min-p and the SplitMix64 draw — summing in the same
// order as the reference.
#include <climits>

#include "../kernels.h"
#include "../shared_math.h"
#include "common.cuh"

namespace seed {
namespace cuda {
namespace {

constexpr int kSampleThreads = 1024;

struct Sample {
  const void* logits;
  DType lt;
  int64_t V, Vp;  // Vp: V rounded up to a power of two (the sort size)
  const int32_t* penalty;
  int64_t P;
  bool penalty_per_row;
  const uint8_t* mask;
  bool mask_per_row;
  double temperature, top_p, min_p, rep;
  int64_t top_k;
  unsigned long long seed, counter;
  double* keys;   // [B][Vp]
  int32_t* idx;   // [B][Vp]
  int32_t* out;
  int* err;
};

// a comes before b in the order: larger key first, then the lower index.
__device__ __forceinline__ bool before(double ka, int32_t ia, double kb, int32_t ib) { return ka > kb || (ka == kb && ia < ib); }

__global__ void sample_kernel(Sample s) {
  const int64_t row = blockIdx.x;
  double* key = s.keys + row * s.Vp;
  int32_t* idx = s.idx + row * s.Vp;
  const int tid = threadIdx.x;
  __shared__ int bad;
  if (tid == 0) bad = 0;

  // 1. logits (NaN counts as masked), padding past V
  for (int64_t i = tid; i < s.Vp; i += blockDim.x) {
    double x = -INFINITY;
    if (i < s.V) {
      const float v = ld(s.logits, s.lt, row * s.V + i);
      x = isnan(v) ? -INFINITY : static_cast<double>(v);
    }
    key[i] = x;
    idx[i] = i < s.V ? static_cast<int32_t>(i) : INT_MAX;
  }
  __syncthreads();
  // 2. repetition penalty, once per distinct id (the first occurrence applies it)
  if (s.penalty && s.rep != 1.0) {
    const int32_t* ids = s.penalty + (s.penalty_per_row ? row * s.P : 0);
    for (int64_t p = tid; p < s.P; p += blockDim.x) {
      const int32_t id = ids[p];
      if (id < 0) continue;
      if (id >= s.V) {
        bad = 1;
        continue;
      }
      bool first = true;
      for (int64_t q = 0; q < p && first; ++q) first = ids[q] != id;
      if (first) key[id] = key[id] > 0 ? key[id] / s.rep : key[id] * s.rep;
    }
  }
  __syncthreads();
  // 3. mask
  if (s.mask) {
    const uint8_t* m = s.mask + (s.mask_per_row ? row * s.V : 0);
    for (int64_t i = tid; i < s.V; i += blockDim.x)
      if (!m[i]) key[i] = -INFINITY;
  }
  __syncthreads();
  if (bad) {
    if (tid == 0) {
      flag_error(s.err, kStatusPenaltyIdOutOfRange);
      s.out[row] = 0;
    }
    return;
  }
  // 4. greedy: argmax (ties → lowest index) — a plain pass by thread 0 after a parallel reduction of the max
  if (s.temperature == 0.0) {
    __shared__ double bk[kSampleThreads];
    __shared__ int32_t bi[kSampleThreads];
    double best = -INFINITY;
    int32_t bidx = INT_MAX;
    for (int64_t i = tid; i < s.V; i += blockDim.x)
      if (key[i] > -INFINITY && before(key[i], static_cast<int32_t>(i), best, bidx)) {
        best = key[i];
        bidx = static_cast<int32_t>(i);
      }
    bk[tid] = best;
    bi[tid] = bidx;
    __syncthreads();
    for (int st = blockDim.x / 2; st > 0; st >>= 1) {
      if (tid < st && before(bk[tid + st], bi[tid + st], bk[tid], bi[tid])) {
        bk[tid] = bk[tid + st];
        bi[tid] = bi[tid + st];
      }
      __syncthreads();
    }
    if (tid == 0) {
      if (bi[0] == INT_MAX) {
        flag_error(s.err, kStatusNoTokenAllowed);
        s.out[row] = 0;
      } else {
        s.out[row] = bi[0];
      }
    }
    return;
  }
  // 5. temperature, then a bitonic sort of (key, index) descending
  for (int64_t i = tid; i < s.Vp; i += blockDim.x)
    if (key[i] > -INFINITY) key[i] /= s.temperature;
  __syncthreads();
  for (int64_t size = 2; size <= s.Vp; size <<= 1) {
    for (int64_t stride = size >> 1; stride > 0; stride >>= 1) {
      for (int64_t i = tid; i < s.Vp; i += blockDim.x) {
        const int64_t j = i ^ stride;
        if (j <= i) continue;
        const bool descending = (i & size) == 0;  // this pair's run sorts "before"-first
        const bool swap = descending ? before(key[j], idx[j], key[i], idx[i]) : before(key[i], idx[i], key[j], idx[j]);
        if (swap) {
          const double tk = key[i];
          key[i] = key[j];
          key[j] = tk;
          const int32_t ti = idx[i];
          idx[i] = idx[j];
          idx[j] = ti;
        }
      }
      __syncthreads();
    }
  }
  // 6. how many tokens are allowed, top-k, weights exp(x − x_max) in parallel
  __shared__ long long allowed;
  if (tid == 0) {
    long long lo = 0, hi = s.Vp;  // keys are sorted: allowed ones first
    while (lo < hi) {
      const long long mid = (lo + hi) / 2;
      if (key[mid] > -INFINITY) lo = mid + 1;
      else hi = mid;
    }
    allowed = lo;
  }
  __syncthreads();
  long long n = allowed;
  if (n == 0) {
    if (tid == 0) {
      flag_error(s.err, kStatusNoTokenAllowed);
      s.out[row] = 0;
    }
    return;
  }
  if (s.top_k > 0 && s.top_k < n) n = s.top_k;
  const double xmax = key[0];
  __syncthreads();
  for (int64_t i = tid; i < n; i += blockDim.x) key[i] = exp(key[i] - xmax);
  __syncthreads();
  if (tid != 0) return;
  // 7-9. sequential walks in the order, as the reference sums
  double total = 0;
  for (long long j = 0; j < n; ++j) total += key[j];
  long long keep = n;
  if (s.top_p < 1.0) {
    double cum = 0;
    for (long long j = 0; j < n; ++j) {
      cum += key[j] / total;
      if (cum >= s.top_p) {
        keep = j + 1;
        break;
      }
    }
  }
  if (s.min_p > 0) {
    const double pmax = key[0] / total;
    long long j = 0;
    while (j < keep && key[j] / total >= s.min_p * pmax) ++j;
    keep = j > 0 ? j : 1;
  }
  double kept = 0;
  for (long long j = 0; j < keep; ++j) kept += key[j] / total;
  const double target = rng_uniform(s.seed, s.counter, static_cast<unsigned long long>(row)) * kept;
  double cum = 0;
  int32_t pick = idx[keep - 1];
  for (long long j = 0; j < keep; ++j) {
    cum += key[j] / total;
    if (cum > target) {
      pick = idx[j];
      break;
    }
  }
  s.out[row] = pick;
}

}  // namespace
}  // namespace cuda

// check_sample has established logits [B, V], penaltyIds i32 [P] or [B, P], allowedMask u8 [V] or [B, V].
void seed_cuda_sample(OpCall& call, const SampleArgs& args) {
  using namespace cuda;
  const TensorView &logits = call.in[0], &out = call.out[0];
  const int64_t B = logits.shape[0], V = logits.shape[1];
  size_t next = 1;
  const TensorView* penalty = args.hasPenalty ? &call.in[next++] : nullptr;
  const TensorView* mask = args.hasMask ? &call.in[next++] : nullptr;
  if (B == 0 || V == 0) return;
  if (B > 2147483647LL || V > (int64_t(1) << 30)) return call.fail("too many rows or too large a vocabulary for one launch");
  Sample s{};
  s.logits = logits.data;
  s.lt = logits.dtype;
  s.V = V;
  s.Vp = 1;
  while (s.Vp < V) s.Vp <<= 1;
  s.penalty = penalty ? penalty->as<int32_t>() : nullptr;
  s.P = penalty ? (penalty->ndim == 2 ? penalty->shape[1] : penalty->numel) : 0;
  s.penalty_per_row = penalty && penalty->ndim == 2;
  s.mask = mask ? mask->as<uint8_t>() : nullptr;
  s.mask_per_row = mask && mask->numel == B * V && B > 1;
  s.temperature = args.temperature;
  s.top_p = args.topP;
  s.min_p = args.minP;
  s.rep = args.repetitionPenalty;
  s.top_k = args.topK;
  s.seed = args.seed;
  s.counter = args.counter;
  s.out = out.as<int32_t>();
  s.err = call.device_status();
  // Stream-ordered scratch for the sort: allocated and freed around the launch, on the same stream.
  void* scratch = nullptr;
  const size_t bytes = static_cast<size_t>(B) * static_cast<size_t>(s.Vp) * (sizeof(double) + sizeof(int32_t));
  if (cudaMallocAsync(&scratch, bytes, stream_of(call)) != cudaSuccess) {
    cudaGetLastError();
    return call.fail("out of device memory for the sampling scratch");
  }
  s.keys = static_cast<double*>(scratch);
  s.idx = reinterpret_cast<int32_t*>(static_cast<uint8_t*>(scratch) + static_cast<size_t>(B) * s.Vp * sizeof(double));
  sample_kernel<<<static_cast<unsigned>(B), kSampleThreads, 0, stream_of(call)>>>(s);
  cudaFreeAsync(scratch, stream_of(call));
}

}  // namespace seed
