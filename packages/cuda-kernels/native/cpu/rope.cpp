// Rotary position embedding on the CPU: x [..., T, H, D], positions i32 [T]. The angles are computed in double
// (position · base^(−2i/rot)), so long positions stay accurate; both the HF half-split and the interleaved pair
// layouts.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernels.h"
#include "common.h"
#include "parallel.h"

namespace seed {
namespace {

// cos and sin of every position's angles, [T][half] each. The sines and cosines in double cost far more than
// rotating the rows (a 512-token prefill of the 100M model spent 0.5 ms per call on them), so the table of the
// last call is kept: the q and k of every layer rotate by the same positions.
struct RopeTable {
  std::vector<int32_t> pos;
  double base = 0;
  int64_t rot = 0;
  std::vector<float> cs, sn;
};

const RopeTable& rope_table(const int32_t* p, int64_t T, double base, int64_t rot) {
  thread_local RopeTable t;  // per thread: kernels run on the stream thread, but nothing here relies on it
  if (t.rot == rot && t.base == base && static_cast<int64_t>(t.pos.size()) == T && std::equal(p, p + T, t.pos.begin()))
    return t;
  const int64_t half = rot / 2;
  std::vector<double> inv(half);
  for (int64_t i = 0; i < half; ++i) inv[i] = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(rot));
  t.pos.assign(p, p + T);
  t.base = base;
  t.rot = rot;
  t.cs.resize(T * half);
  t.sn.resize(T * half);
  // Plain pointers into this thread's table: the pool's threads naming `t` would reach their own thread_local.
  float* const cs = t.cs.data();
  float* const sn = t.sn.data();
  parallel_for(T, 16, [&](int64_t t0, int64_t t1) {
    for (int64_t r = t0; r < t1; ++r)
      for (int64_t i = 0; i < half; ++i) {
        const double theta = static_cast<double>(p[r]) * inv[i];
        cs[r * half + i] = static_cast<float>(std::cos(theta));
        sn[r * half + i] = static_cast<float>(std::sin(theta));
      }
  });
  return t;
}

}  // namespace

void seed_cpu_rope(OpCall& call, const RopeArgs& args) {
  const TensorView &x = call.in[0], &pos = call.in[1], &y = call.out[0];
  const int64_t T = x.shape[x.ndim - 3], H = x.shape[x.ndim - 2], D = x.shape[x.ndim - 1];
  const int64_t rot = args.rotaryDim;
  const bool interleaved = args.interleaved;
  const int64_t half = rot / 2;
  if (x.numel == 0) return;  // T, H or D is 0 (H · D below must not be)
  const int64_t rows = x.numel / (H * D);  // (batch..., t) rows
  const RopeTable& table = rope_table(pos.as<int32_t>(), T, args.base, rot);
  parallel_for(rows, 4, [&](int64_t r0, int64_t r1) {
    std::vector<float> buf(H * D);
    for (int64_t r = r0; r < r1; ++r) {
      const float* cs = table.cs.data() + (r % T) * half;
      const float* sn = table.sn.data() + (r % T) * half;
      row_to_f32(x.data, x.dtype, r * H * D, H * D, buf.data());
      for (int64_t h = 0; h < H; ++h) {
        float* v = buf.data() + h * D;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
          const float a = v[ia], b = v[ib];
          v[ia] = a * cs[i] - b * sn[i];
          v[ib] = a * sn[i] + b * cs[i];
        }
      }
      row_from_f32(buf.data(), H * D, y.data, y.dtype, r * H * D);
    }
  });
}

}  // namespace seed
