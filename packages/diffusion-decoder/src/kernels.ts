/**
 * The ops the decoder's model code uses, in one place. Existing ops come straight from @seed/cuda-kernels;
 * the four image ops (conv2d, groupNorm, upsampleNearest2x, geglu) are being added there and are declared
 * here with the signatures they will have. Until they exist, calling one throws an Error that says so; when
 * they land, this file becomes plain re-exports and nothing else changes.
 *
 * STATUS: the model forward passes (model/*.ts) have not run yet — they need these ops.
 */
import { ops, type Tensor } from '@seed/cuda-kernels';

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
} = ops;

export interface Conv2dOptions {
  stride: 1 | 2;
  padding: number;
}

export interface GroupNormOptions {
  /** Apply SiLU to the normalized output (fused). */
  silu?: boolean;
}

/** The image ops this package needs from @seed/cuda-kernels (NCHW, contiguous). */
export interface ImageOps {
  /** x [B, Cin, H, W], w [Cout, Cin, kh, kw], bias [Cout] → [B, Cout, Ho, Wo]. */
  conv2d(x: Tensor, w: Tensor, bias: Tensor | undefined, options: Conv2dOptions): Tensor;
  /** x [B, C, H, W], weight/bias [C], statistics per (batch, group of C/groups channels × H × W) → same shape. */
  groupNorm(x: Tensor, weight: Tensor, bias: Tensor, groups: number, eps: number, options?: GroupNormOptions): Tensor;
  /** x [B, C, H, W] → [B, C, 2H, 2W], each pixel copied 2×2. */
  upsampleNearest2x(x: Tensor): Tensor;
  /** x [..., 2F] → [..., F] = x[..., :F] · gelu_exact(x[..., F:]). */
  geglu(x: Tensor): Tensor;
}

const available = ops as typeof ops & Partial<ImageOps>;

function pending<K extends keyof ImageOps>(name: K): ImageOps[K] {
  const op = available[name];
  if (typeof op === 'function') return op as ImageOps[K];
  return (() => {
    throw new Error(
      `${name}: this op is not in @seed/cuda-kernels yet — the diffusion decoder's UNet, VAE and image path need the conv2d, group_norm, upsample_nearest2x and geglu ops`,
    );
  }) as unknown as ImageOps[K];
}

export const conv2d: ImageOps['conv2d'] = (...args) => pending('conv2d')(...args);
export const groupNorm: ImageOps['groupNorm'] = (...args) => pending('groupNorm')(...args);
export const upsampleNearest2x: ImageOps['upsampleNearest2x'] = (...args) => pending('upsampleNearest2x')(...args);
export const geglu: ImageOps['geglu'] = (...args) => pending('geglu')(...args);

/** Whether the image ops exist in the linked @seed/cuda-kernels (the model code can run). */
export const imageOpsAvailable = (): boolean =>
  (['conv2d', 'groupNorm', 'upsampleNearest2x', 'geglu'] as const).every((k) => typeof available[k] === 'function');
