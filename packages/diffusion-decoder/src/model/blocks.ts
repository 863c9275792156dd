/**
 * Blocks shared by the UNet and the VAE decoder (diffusers semantics, reference/unclip-decoder.md §2.3–2.6).
 * Letters: B batch, C channels, H×W spatial, T tokens (= H·W), S context tokens, D head dim.
 */
import type { Tensor } from '@seed/cuda-kernels';
import {
  add,
  attention,
  conv2d,
  geglu,
  groupNorm,
  layernorm,
  linear,
  permute,
  scale,
  upsampleNearest2x,
} from '../kernels.js';
import type { ConvWeights, NormWeights, ResnetWeights, Transformer2DWeights } from '../weights/unet-names.js';

/** Transformer2DModel's own GroupNorm eps (fixed upstream, not norm_eps). */
export const TRANSFORMER_GROUP_NORM_EPS = 1e-6;
/** BasicTransformerBlock's LayerNorm eps. */
export const TRANSFORMER_LAYER_NORM_EPS = 1e-5;

export interface NormSpec {
  groups: number;
  eps: number;
}

/** Conv 3×3 padding 1 (or 1×1 padding 0), stride 1. */
export const conv = (x: Tensor, w: ConvWeights, stride: 1 | 2 = 1): Tensor =>
  conv2d(x, w.weight, w.bias, { stride, padding: (w.weight.shape[2] - 1) / 2 });

/** GroupNorm followed by SiLU (fused). */
export const normSilu = (x: Tensor, w: NormWeights, n: NormSpec): Tensor =>
  groupNorm(x, w.weight, w.bias, n.groups, n.eps, { silu: true });

/**
 * ResnetBlock2D, time_embedding_norm "default": x [B, Cin, H, W] → [B, Cout, H, W].
 * `embAct` = SiLU(emb) [B, Temb] (computed once by the caller; each block applies its own projection), or
 * undefined in the VAE.
 */
export function resnetBlock(
  x: Tensor,
  w: ResnetWeights,
  embAct: Tensor | undefined,
  n: NormSpec,
  outputScale = 1,
): Tensor {
  const [B] = x.shape;
  let h = conv(normSilu(x, w.norm1, n), w.conv1); // [B, Cout, H, W]
  if (w.timeEmbProj && embAct) {
    const Cout = w.timeEmbProj.weight.shape[0];
    const t = linear(embAct, w.timeEmbProj.weight, w.timeEmbProj.bias).reshape([B, Cout, 1, 1]); // [B, Cout, 1, 1]
    h = add(h, t);
  }
  h = conv(normSilu(h, w.norm2, n), w.conv2); // dropout: identity at inference
  const shortcut = w.convShortcut ? conv(x, w.convShortcut) : x; // 1×1 when the width changes
  const out = add(shortcut, h);
  return outputScale === 1 ? out : scale(out, 1 / outputScale);
}

/** NCHW → tokens [B, H·W, C] (row-major over H then W). */
export function toTokens(x: Tensor): Tensor {
  const [B, C, H, W] = x.shape;
  return permute(x, [0, 2, 3, 1]).reshape([B, H * W, C]);
}

/** Tokens [B, H·W, C] → NCHW. */
export function fromTokens(t: Tensor, H: number, W: number): Tensor {
  const [B, , C] = t.shape;
  return permute(t.reshape([B, H, W, C]), [0, 3, 1, 2]);
}

interface AttentionWeights {
  toQ: { weight: Tensor; bias: Tensor | undefined };
  toK: { weight: Tensor; bias: Tensor | undefined };
  toV: { weight: Tensor; bias: Tensor | undefined };
  toOut: { weight: Tensor; bias: Tensor | undefined };
}

/**
 * diffusers Attention: x [B, T, C] attends to ctx [B, S, Ck] (ctx = x for self-attention) with `heads`
 * heads of C/heads, scores scaled by D^−½, softmax and accumulation in f32 (the fused kernel) → [B, T, C].
 */
export function multiHeadAttention(x: Tensor, ctx: Tensor, w: AttentionWeights, heads: number): Tensor {
  const [B, T, C] = x.shape;
  const S = ctx.shape[1];
  const D = C / heads;
  const q = linear(x, w.toQ.weight, w.toQ.bias).reshape([B, T, heads, D]);
  const k = linear(ctx, w.toK.weight, w.toK.bias).reshape([B, S, heads, D]);
  const v = linear(ctx, w.toV.weight, w.toV.bias).reshape([B, S, heads, D]);
  const o = attention(q, k, v).reshape([B, T, C]); // [B, T, C]
  return linear(o, w.toOut.weight, w.toOut.bias);
}

/**
 * Transformer2DModel (continuous input, linear projections): x [B, C, H, W], context [B, S, Ck] →
 * [B, C, H, W] = x + proj_out(blocks(proj_in(tokens(GroupNorm(x))))).
 */
export function transformer2d(
  x: Tensor,
  context: Tensor,
  w: Transformer2DWeights,
  heads: number,
  groups: number,
): Tensor {
  const [, , H, W] = x.shape;
  const normed = groupNorm(x, w.norm.weight, w.norm.bias, groups, TRANSFORMER_GROUP_NORM_EPS);
  let h = linear(toTokens(normed), w.projIn.weight, w.projIn.bias); // [B, T, C]
  const eps = TRANSFORMER_LAYER_NORM_EPS;
  for (const b of w.blocks) {
    const n1 = layernorm(h, b.norm1.weight, b.norm1.bias, eps);
    h = add(h, multiHeadAttention(n1, n1, b.attn1, heads)); // self-attention
    const n2 = layernorm(h, b.norm2.weight, b.norm2.bias, eps);
    h = add(h, multiHeadAttention(n2, context, b.attn2, heads)); // cross-attention to the text
    const n3 = layernorm(h, b.norm3.weight, b.norm3.bias, eps);
    const ff = geglu(linear(n3, b.ffIn.weight, b.ffIn.bias)); // [B, T, 4C]
    h = add(h, linear(ff, b.ffOut.weight, b.ffOut.bias));
  }
  h = linear(h, w.projOut.weight, w.projOut.bias);
  return add(fromTokens(h, H, W), x);
}

/** Downsample2D: conv 3×3, stride 2, padding 1. */
export const downsample = (x: Tensor, w: { conv: ConvWeights }): Tensor => conv(x, w.conv, 2);

/** Upsample2D: nearest 2× then conv 3×3. */
export const upsample = (x: Tensor, w: { conv: ConvWeights }): Tensor => conv(upsampleNearest2x(x), w.conv);
