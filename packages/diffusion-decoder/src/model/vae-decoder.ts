/**
 * AutoencoderKL.decode (reference/unclip-decoder.md §2.8): latents [B, L, h, w] → image [B, 3, 8h, 8w] in
 * about [−1, 1]. z = latents / scaling_factor (+ shift) → post_quant_conv → decoder.conv_in → mid (resnet,
 * single-head spatial attention, resnet) → up blocks (resnets, nearest 2× + conv) → GroupNorm+SiLU →
 * conv_out. Every GroupNorm here has eps 1e-6; resnets have no time input.
 */
import { type Device, scope, type Tensor, tensor } from '@seed/cuda-kernels';
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

export interface VaeTileOptions {
  /** Tile side in latents. */
  tile: number;
  /** Latents shared by neighbouring tiles (blended across). */
  overlap: number;
  dtype: 'f32' | 'f16' | 'bf16';
  device: Device;
  /** Called inside each tile's scope, after its decode (its tensors are still alive): tile index, count. */
  onTile?: (index: number, total: number) => void;
}

/** Tile starts along a side of n latents: stride tile − overlap, the last tile flush with the end. */
function tileStarts(n: number, tile: number, overlap: number): number[] {
  if (n <= tile) return [0];
  const starts: number[] = [];
  for (let s = 0; s + tile < n; s += tile - overlap) starts.push(s);
  starts.push(n - tile);
  return [...new Set(starts)];
}

/**
 * The VAE decode of latents [1, L, h, w] (host values) in overlapping tiles, so that only one tile's
 * activations are alive at a time: memory is bounded by the tile, not the image. Each tile is decoded on its
 * own (its GroupNorm statistics and mid attention see only the tile, as in diffusers' tiled decode) and the
 * tiles are blended with weights that ramp from the tile's edge over the overlap wherever a neighbour
 * shares it; with one tile covering the image the result is the plain decode. → [3, H, W] host values.
 */
export async function vaeDecodeTiled(
  c: VaeConfig,
  w: VaeWeights,
  latents: Float32Array,
  h: number,
  wd: number,
  o: VaeTileOptions,
): Promise<Float32Array> {
  if (!Number.isInteger(o.tile) || o.tile < 1) throw new Error(`VAE tile must be a positive integer, got ${o.tile}`);
  if (!Number.isInteger(o.overlap) || o.overlap < 0 || o.overlap >= o.tile)
    throw new Error(`VAE tile overlap must be an integer in [0, ${o.tile}), got ${o.overlap}`);
  const L = c.latentChannels;
  if (latents.length !== L * h * wd)
    throw new Error(`latents have ${latents.length} values, expected [1, ${L}, ${h}, ${wd}]`);
  const s = 2 ** (c.blockOutChannels.length - 1); // pixels per latent
  const H = h * s;
  const W = wd * s;
  const out = new Float32Array(3 * H * W);
  const weightSum = new Float32Array(H * W);
  const ys = tileStarts(h, o.tile, o.overlap);
  const xs = tileStarts(wd, o.tile, o.overlap);
  const ramp = Math.max(1, o.overlap * s); // pixels
  // Weight of pixel p of a tile `size` pixels long: ramps up from an edge shared with a neighbour.
  const edgeWeight = (p: number, size: number, first: boolean, last: boolean) =>
    Math.min(1, first ? 1 : (p + 0.5) / ramp, last ? 1 : (size - p - 0.5) / ramp);
  const total = ys.length * xs.length;
  let index = 0;
  for (const [iy, y0] of ys.entries())
    for (const [ix, x0] of xs.entries()) {
      const th = Math.min(o.tile, h - y0);
      const tw = Math.min(o.tile, wd - x0);
      const part = new Float32Array(L * th * tw);
      for (let l = 0; l < L; l++)
        for (let y = 0; y < th; y++) {
          const from = (l * h + y0 + y) * wd + x0;
          part.set(latents.subarray(from, from + tw), (l * th + y) * tw);
        }
      const img = scope(() => {
        const r = vaeDecode(c, w, tensor(part, [1, L, th, tw], { dtype: o.dtype, device: o.device }));
        o.onTile?.(index, total);
        return r;
      });
      const values = (await img.data()) as Float32Array; // [3, th·s, tw·s]
      img.dispose();
      index++;
      const ph = th * s;
      const pw = tw * s;
      for (let y = 0; y < ph; y++) {
        const wy = edgeWeight(y, ph, iy === 0, iy === ys.length - 1);
        for (let x = 0; x < pw; x++) {
          const wt = wy * edgeWeight(x, pw, ix === 0, ix === xs.length - 1);
          const at = (y0 * s + y) * W + x0 * s + x;
          weightSum[at] += wt;
          for (let ch = 0; ch < 3; ch++) out[ch * H * W + at] += wt * values[(ch * ph + y) * pw + x];
        }
      }
    }
  for (let ch = 0; ch < 3; ch++) for (let i = 0; i < H * W; i++) out[ch * H * W + i] /= weightSum[i];
  return out;
}
