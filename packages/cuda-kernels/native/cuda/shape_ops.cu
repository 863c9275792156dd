// Gathers and layout on CUDA: embedding (ids checked on the device: a bad id sets the error flag and its row
// is zeros), concat, slice, set_slice (in place), permute, argmax. Layout ops move whole elements of any
// size (1, 2 or 4 bytes) through a generic strided index map.
#include "../kernels.h"
#include "../shared_math.h"
#include "common.cuh"

namespace seed {
namespace cuda {
namespace {

__global__ void embedding_kernel(const void* table, DType tt, int64_t V, int64_t C, const int32_t* ids, int64_t n, void* y, DType yt, int* err) {
  const int64_t total = n * C;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / C, c = i % C;
    const int32_t id = ids[row];
    if (id < 0 || id >= V) {
      if (c == 0) flag_error(err, kStatusIdOutOfRange);
      st(y, yt, i, 0.0f);
      continue;
    }
    st(y, yt, i, ld_weight(table, tt, V, C, id, c));
  }
}

// dst[dst_start + idx] = src[src_start + idx] for idx over `box`, elements of `es` bytes.
__global__ void copy_box_kernel(const uint8_t* src, Dims src_shape, uint8_t* dst, Dims dst_shape, Dims box,
                                Dims src_start, Dims dst_start, int64_t n, int es) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = i, so = 0, dof = 0, ss = 1, ds = 1;
    for (int d = box.ndim - 1; d >= 0; --d) {
      const int64_t idx = rem % box.d[d];
      rem /= box.d[d];
      so += (src_start.d[d] + idx) * ss;
      dof += (dst_start.d[d] + idx) * ds;
      ss *= src_shape.d[d];
      ds *= dst_shape.d[d];
    }
    for (int b = 0; b < es; ++b) dst[dof * es + b] = src[so * es + b];
  }
}

void copy_box(OpCall& call, const TensorView& src, const int64_t* src_start, const TensorView& dst, const int64_t* dst_start, const int64_t* box) {
  Dims b{}, s0{}, d0{};
  b.ndim = s0.ndim = d0.ndim = dst.ndim;
  int64_t n = 1;
  for (int i = 0; i < dst.ndim; ++i) {
    b.d[i] = box[i];
    s0.d[i] = src_start[i];
    d0.d[i] = dst_start[i];
    n *= box[i];
  }
  if (n == 0) return;
  if (dst.ndim == 0) b.ndim = 0;
  copy_box_kernel<<<grid_for(n), kThreads, 0, stream_of(call)>>>(static_cast<const uint8_t*>(src.data), dims_of(src),
                                                                static_cast<uint8_t*>(dst.data), dims_of(dst), b, s0, d0, n,
                                                                static_cast<int>(dtype_size(src.dtype)));
}

__global__ void permute_kernel(const uint8_t* x, uint8_t* y, Dims out, Dims in_strides_for_out, int64_t n, int es) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = i, src = 0;
    for (int d = out.ndim - 1; d >= 0; --d) {
      src += (rem % out.d[d]) * in_strides_for_out.d[d];
      rem /= out.d[d];
    }
    for (int b = 0; b < es; ++b) y[i * es + b] = x[src * es + b];
  }
}

// One block per row; (value, index) pairs reduced so the largest value wins and ties go to the lowest index.
__global__ void argmax_kernel(const void* x, DType t, int64_t cols, int32_t* out) {
  const int64_t o = blockIdx.x * cols;
  float best = -INFINITY;
  int64_t idx = -1;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    float v;
    if (t == DType::I32) v = static_cast<float>(static_cast<const int32_t*>(x)[o + c]);  // see the exact pass below
    else v = ld(x, t, o + c);
    if (isnan(v)) continue;
    if (idx < 0 || v > best) {
      best = v;
      idx = c;
    }
  }
  __shared__ float sv[kThreads];
  __shared__ int64_t si[kThreads];
  sv[threadIdx.x] = best;
  si[threadIdx.x] = idx;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      const float ov = sv[threadIdx.x + s];
      const int64_t oi = si[threadIdx.x + s];
      const int64_t mi = si[threadIdx.x];
      if (oi >= 0 && (mi < 0 || ov > sv[threadIdx.x] || (ov == sv[threadIdx.x] && oi < mi))) {
        sv[threadIdx.x] = ov;
        si[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<int32_t>(si[0] < 0 ? 0 : si[0]);
}

// Exact argmax for i32 rows (floats cannot tell large ints apart).
__global__ void argmax_i32_kernel(const int32_t* x, int64_t cols, int32_t* out) {
  if (threadIdx.x != 0) return;
  const int32_t* r = x + blockIdx.x * cols;
  int64_t best = 0;
  for (int64_t c = 1; c < cols; ++c) if (r[c] > r[best]) best = c;
  out[blockIdx.x] = static_cast<int32_t>(best);
}

}  // namespace
}  // namespace cuda

using namespace cuda;

void seed_cuda_embedding(OpCall& call, const NoArgs&) {
  const TensorView &table = call.in[0], &ids = call.in[1], &y = call.out[0];
  const int64_t V = table.shape[0], C = table.shape[1];
  if (y.numel == 0) return;
  embedding_kernel<<<grid_for(y.numel), kThreads, 0, stream_of(call)>>>(table.data, table.dtype, V, C, ids.as<int32_t>(), ids.numel, y.data, y.dtype,
                                                                       call.device_status());
}

void seed_cuda_concat(OpCall& call, const ConcatArgs& args) {
  const TensorView& y = call.out[0];
  const int axis = args.axis;
  int64_t offset = 0;
  for (const TensorView& t : call.in) {
    int64_t zero[kMaxDims] = {0}, start[kMaxDims] = {0};
    start[axis] = offset;
    copy_box(call, t, zero, y, start, t.shape);
    offset += t.shape[axis];
  }
}

void seed_cuda_slice(OpCall& call, const StartsArgs& args) {
  const TensorView &x = call.in[0], &y = call.out[0];
  const int64_t zero[kMaxDims] = {0};
  copy_box(call, x, args.starts, y, zero, y.shape);
}

void seed_cuda_set_slice(OpCall& call, const StartsArgs& args) {
  const TensorView &dst = call.in[0], &src = call.in[1];
  const int64_t zero[kMaxDims] = {0};
  copy_box(call, src, zero, dst, args.starts, src.shape);
}

void seed_cuda_permute(OpCall& call, const PermuteArgs& args) {
  const TensorView &x = call.in[0], &y = call.out[0];
  int64_t xs[kMaxDims];
  row_major_strides(x.shape, x.ndim, xs);
  Dims st{};
  st.ndim = x.ndim;
  for (int i = 0; i < x.ndim; ++i) st.d[i] = xs[args.perm[i]];
  if (y.numel == 0) return;
  permute_kernel<<<grid_for(y.numel), kThreads, 0, stream_of(call)>>>(static_cast<const uint8_t*>(x.data), static_cast<uint8_t*>(y.data), dims_of(y), st,
                                                                     y.numel, static_cast<int>(dtype_size(x.dtype)));
}

void seed_cuda_argmax(OpCall& call, const NoArgs&) {
  const TensorView &x = call.in[0], &y = call.out[0];
  const int64_t cols = x.shape[x.ndim - 1], rows = cols ? x.numel / cols : 0;
  if (rows == 0) return;
  if (x.dtype == DType::I32) argmax_i32_kernel<<<static_cast<unsigned>(rows), 32, 0, stream_of(call)>>>(x.as<int32_t>(), cols, y.as<int32_t>());
  else argmax_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream_of(call)>>>(x.data, x.dtype, cols, y.as<int32_t>());
}

}  // namespace seed
