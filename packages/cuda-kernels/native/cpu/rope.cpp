// Rotary position embedding on the CPU: x [..., T, H, D], positions i32 [T]. The angles of each position
// are computed once per (row, pair) in double, so long positions stay accurate; both the HF half-split and
// the interleaved pair layouts.
#include <cmath>
#include <vector>

#include "../kernels.h"
#include "common.h"
#include "parallel.h"

namespace seed {

void seed_cpu_rope(OpCall& call, const RopeArgs& args) {
  const TensorView &x = call.in[0], &pos = call.in[1], &y = call.out[0];
  const int64_t T = x.shape[x.ndim - 3], H = x.shape[x.ndim - 2], D = x.shape[x.ndim - 1];
  const int64_t rot = args.rotaryDim;
  const bool interleaved = args.interleaved;
  const double base = args.base;
  const int64_t half = rot / 2;
  const int64_t rows = T ? x.numel / (H * D) : 0;  // (batch..., t) rows
  const int32_t* p = pos.as<int32_t>();
  parallel_for(rows, 4, [&](int64_t r0, int64_t r1) {
    std::vector<float> buf(H * D), cs(half), sn(half);
    for (int64_t r = r0; r < r1; ++r) {
      const double position = p[r % T];
      for (int64_t i = 0; i < half; ++i) {
        double theta = position * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(rot));
        cs[i] = static_cast<float>(std::cos(theta));
        sn[i] = static_cast<float>(std::sin(theta));
      }
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
