/**
 * The ops the decoder's model code uses, in one place, straight from @seed/cuda-kernels (the image ops are
 * NCHW and contiguous; their exact semantics are in that package's docs/ops.md).
 */
import { ops } from '@seed/cuda-kernels';

export type { Conv2dOptions, GroupNormOptions } from '@seed/cuda-kernels';

export const {
  linear,
  matmul,
  add,
  mul,
  scale,
  silu,
  gelu,
  layernorm,
  attention,
  concat,
  permute,
  slice,
  narrow,
  embedding,
  /** x [B, Cin, H, W], w [Cout, Cin, kh, kw], bias [Cout] → [B, Cout, Ho, Wo]. */
  conv2d,
  /** x [B, C, H, W], statistics per (batch, group of C/groups channels × H × W), optional fused SiLU. */
  groupNorm,
  /** x [B, C, H, W] → [B, C, 2H, 2W], each pixel copied 2×2. */
  upsampleNearest2x,
  /** x [..., 2F] → [..., F] = x[..., :F] · gelu_exact(x[..., F:]). */
  geglu,
} = ops;
