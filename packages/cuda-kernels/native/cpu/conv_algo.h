// How the CPU conv2d computes a 3×3 convolution: the implicit-im2col GEMM of conv.cpp ("direct") or Winograd's
// F(2×2, 3×3) (conv_winograd.cpp). Both give the convolution within the f32 tolerance; Winograd does 2.25×
// fewer multiply-adds. The choice starts as SEED_CPU_CONV (auto | direct | winograd; unset or unknown: auto) and
// can be changed by set_conv_algo, which must run on the CPU stream thread (between kernels).
#pragma once
#include <cstdint>

namespace seed {

enum class ConvAlgo : int { Auto = 0, Direct = 1, Winograd = 2 };
ConvAlgo conv_algo();
void set_conv_algo(ConvAlgo a);
const char* conv_algo_name(ConvAlgo a);
// Parses "auto" | "direct" | "winograd"; false for anything else.
bool parse_conv_algo(const char* s, ConvAlgo* out);

// Whether conv2d takes the Winograd path for this shape under the current choice: only 3×3, stride 1,
// padding 1; under auto, only where it was measured faster.
bool winograd_applies(int64_t kh, int64_t kw, int64_t stride, int64_t padding, int64_t B, int64_t H, int64_t W,
                      int64_t Cin, int64_t M);

// y [B, M, H, W] f32 = conv2d(x [B, Cin, H, W] f32, w [M, Cin, 3, 3] f32, bias [M] or null), stride 1, padding 1.
void conv2d_winograd(const float* x, const float* w, const float* bias, float* y, int64_t B, int64_t Cin, int64_t H,
                     int64_t W, int64_t M);

}  // namespace seed
