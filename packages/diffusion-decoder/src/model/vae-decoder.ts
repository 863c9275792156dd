/**
 * AutoencoderKL.decode (reference/unclip-decoder.md §2.8): latents [B, L, h, w] → image [B, 3, 8h, 8w] in
 * about [−1, 1]. z = latents / scaling_factor (+ shift) → post_quant_conv → decoder.conv_in → mid (resnet,
 * single-head spatial attention, resnet) → up blocks (resnets, nearest 2× + conv) → GroupNorm+SiLU →
 * conv_out. Every GroupNorm here has eps 1e-6; resnets have no time input.
 */
import type { Tensor } from '@seed/cuda-kernels';
import { VAE_NORM_EPS, type VaeConfig } from '../config/vae.js';
import { add, groupNorm, scale } from '../kernels.js';
import type { VaeAttentionWeights, VaeWeights } from '../weights/vae-names.js';
import { conv, fromTokens, multiHeadAttention, normSilu, resnetBlock, toTokens, upsample } from './blocks.js';

/** The mid block's attention: one head over all H·W positions, q/k/v/out with bias, residual added. */
function spatialAttention(x: Tensor, w: VaeAttentionWeights, groups: number): Tensor {
  const [, , H, W] = x.shape;
  const normed = groupNorm(x, w.groupNorm.weight, w.groupNorm.bias, groups, VAE_NORM_EPS);
  const h = multiHeadAttention(toTokens(normed), toTokens(normed), w, 1); // [B, H·W, C], scale C^−½
  return add(fromTokens(h, H, W), x);
}

export function vaeDecode(c: VaeConfig, w: VaeWeights, latents: Tensor): Tensor {
  const n = { groups: c.normNumGroups, eps: VAE_NORM_EPS };
  let z = scale(latents, 1 / c.scalingFactor, c.shiftFactor); // [B, L, h, w]
  if (w.postQuantConv) z = conv(z, w.postQuantConv);
  let x = conv(z, w.convIn); // [B, Ctop, h, w]
  x = resnetBlock(x, w.mid.resnets[0], undefined, n);
  if (w.mid.attention) x = spatialAttention(x, w.mid.attention, c.normNumGroups);
  x = resnetBlock(x, w.mid.resnets[1], undefined, n);
  for (const block of w.up) {
    for (const r of block.resnets) x = resnetBlock(x, r, undefined, n);
    if (block.upsample) x = upsample(x, block.upsample);
  }
  return conv(normSilu(x, w.convNormOut, n), w.convOut); // [B, 3, H, W]
}
