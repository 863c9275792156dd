// Gathers and layout CPU kernels: embedding (row gather, q8 tables dequantized), concat, slice, set_slice
// (in place), permute, argmax. Layout ops copy bytes by element size, so they work for every dtype.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../kernels.h"
#include "../shared_math.h"
#include "common.h"
#include "parallel.h"

namespace seed {
namespace {

size_t elem_size(const TensorView& t) { return dtype_size(t.dtype); }

void strides_of(const TensorView& t, int64_t* s) { row_major_strides(t.shape, t.ndim, s); }

// Copy a box of `shape` from src (starting at src_start) to dst (starting at dst_start). The last dim is
// copied as one contiguous run per outer index.
void copy_box(const TensorView& src, const int64_t* src_start, const TensorView& dst, const int64_t* dst_start,
              const int64_t* shape, int ndim) {
  const size_t es = elem_size(src);
  int64_t ss[kMaxDims], ds[kMaxDims];
  strides_of(src, ss);
  strides_of(dst, ds);
  if (ndim == 0) {
    std::memcpy(dst.data, src.data, es);
    return;
  }
  const int64_t run = shape[ndim - 1];
  int64_t outer = 1;
  for (int i = 0; i < ndim - 1; ++i) outer *= shape[i];
  if (run == 0 || outer == 0) return;
  parallel_for(outer, std::max<int64_t>(1, 65536 / std::max<int64_t>(run, 1)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      int64_t so = src_start[ndim - 1] * ss[ndim - 1], dof = dst_start[ndim - 1] * ds[ndim - 1], rem = o;
      for (int i = ndim - 2; i >= 0; --i) {
        int64_t idx = rem % shape[i];
        rem /= shape[i];
        so += (src_start[i] + idx) * ss[i];
        dof += (dst_start[i] + idx) * ds[i];
      }
      std::memcpy(static_cast<uint8_t*>(dst.data) + dof * es, static_cast<const uint8_t*>(src.data) + so * es,
                  static_cast<size_t>(run) * es);
    }
  });
}

}  // namespace

void seed_cpu_embedding(OpCall& call, const NoArgs&) {
  const TensorView &table = call.in[0], &ids = call.in[1], &y = call.out[0];
  const int64_t V = table.shape[0], C = table.shape[1];
  const int32_t* id = ids.as<int32_t>();
  for (int64_t i = 0; i < ids.numel; ++i)
    if (id[i] < 0 || id[i] >= V)
      return call.fail("id " + std::to_string(id[i]) + " at position " + std::to_string(i) + " is outside [0, " + std::to_string(V) + ")");
  const float* scales = table.dtype == DType::Q8
      ? reinterpret_cast<const float*>(static_cast<const uint8_t*>(table.data) + q8_scales_offset(V, C)) : nullptr;
  parallel_for(ids.numel, 8, [&](int64_t b, int64_t e) {
    std::vector<float> buf(scales ? C : 0);
    for (int64_t i = b; i < e; ++i) {
      const int64_t r = id[i];
      if (scales) {
        const int8_t* q = static_cast<const int8_t*>(table.data) + r * C;
        for (int64_t c = 0; c < C; ++c) buf[c] = scales[r] * static_cast<float>(q[c]);
        row_from_f32(buf.data(), C, y.data, y.dtype, i * C);
      } else {  // the output has the table's dtype (check_embedding)
        const size_t es = dtype_size(table.dtype);
        std::memcpy(static_cast<uint8_t*>(y.data) + i * C * es, static_cast<const uint8_t*>(table.data) + r * C * es, C * es);
      }
    }
  });
}

void seed_cpu_concat(OpCall& call, const ConcatArgs& args) {
  const TensorView& y = call.out[0];
  const int axis = args.axis;
  int64_t offset = 0;
  for (const TensorView& t : call.in) {
    int64_t zero[kMaxDims] = {0}, start[kMaxDims] = {0};
    start[axis] = offset;
    copy_box(t, zero, y, start, t.shape, y.ndim);
    offset += t.shape[axis];
  }
}

void seed_cpu_slice(OpCall& call, const StartsArgs& args) {
  const TensorView &x = call.in[0], &y = call.out[0];
  const int64_t zero[kMaxDims] = {0};
  copy_box(x, args.starts, y, zero, y.shape, x.ndim);
}

void seed_cpu_set_slice(OpCall& call, const StartsArgs& args) {
  const TensorView &dst = call.in[0], &src = call.in[1];
  const int64_t zero[kMaxDims] = {0};
  copy_box(src, zero, dst, args.starts, src.shape, dst.ndim);
}

void seed_cpu_permute(OpCall& call, const PermuteArgs& args) {
  const TensorView &x = call.in[0], &y = call.out[0];
  int64_t xs[kMaxDims], st[kMaxDims];  // st[i]: stride in x of output dim i
  strides_of(x, xs);
  for (int i = 0; i < x.ndim; ++i) st[i] = xs[args.perm[i]];
  const size_t es = elem_size(x);
  const int nd = y.ndim;
  const int64_t cols = nd ? y.shape[nd - 1] : 1, rows = cols ? y.numel / cols : 0;
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off = 0, rem = r;
      for (int i = nd - 2; i >= 0; --i) {
        off += (rem % y.shape[i]) * st[i];
        rem /= y.shape[i];
      }
      const uint8_t* src = static_cast<const uint8_t*>(x.data);
      uint8_t* dst = static_cast<uint8_t*>(y.data) + r * cols * es;
      const int64_t step = nd ? st[nd - 1] : 1;
      if (es == 4)
        for (int64_t c = 0; c < cols; ++c) std::memcpy(dst + c * 4, src + (off + c * step) * 4, 4);
      else if (es == 2)
        for (int64_t c = 0; c < cols; ++c) std::memcpy(dst + c * 2, src + (off + c * step) * 2, 2);
      else
        for (int64_t c = 0; c < cols; ++c) dst[c] = src[off + c * step];
    }
  });
}

void seed_cpu_argmax(OpCall& call, const NoArgs&) {
  const TensorView &x = call.in[0], &y = call.out[0];
  const int64_t cols = x.shape[x.ndim - 1], rows = cols ? x.numel / cols : 0;
  parallel_for(rows, 1, [&](int64_t r0, int64_t r1) {
    std::vector<float> buf(cols);
    for (int64_t r = r0; r < r1; ++r) {
      int64_t best = -1;
      float bv = 0;
      if (x.dtype == DType::I32) {  // exact integer compare
        const int32_t* v = x.as<int32_t>() + r * cols;
        best = 0;
        for (int64_t c = 1; c < cols; ++c) if (v[c] > v[best]) best = c;
      } else {
        row_to_f32(x.data, x.dtype, r * cols, cols, buf.data());
        for (int64_t c = 0; c < cols; ++c) {
          if (std::isnan(buf[c])) continue;
          if (best < 0 || buf[c] > bv) { best = c; bv = buf[c]; }
        }
      }
      y.as<int32_t>()[r] = static_cast<int32_t>(best < 0 ? 0 : best);
    }
  });
}

}  // namespace seed
