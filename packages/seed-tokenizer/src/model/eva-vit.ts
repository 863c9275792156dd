/**
 * EVA ViT-g/14 as SEED runs it (LAVIS `create_eva_vit_g`, penultimate layer): patch embedding (a stride-14
 * 14×14 convolution, done here as patch extraction + one linear), a class token, learned absolute
 * positions, `vitDepth` pre-norm blocks and no final norm; then SEED's `ln_vision` (ε 1e-5).
 */
import { type Device, ops, type Tensor, tensor } from '@seed/cuda-kernels';
import { EPS, type SeedTokenizerConfig, vitTokens } from '../config.js';
import type { NormWeights, SeedWeights } from '../weights/seed-names.js';
import { vitBlock } from './vit-block.js';

/**
 * Pixels [B, 3, S, S] (CHW per image, CLIP-normalised) → patches [B, P·P, 3·p·p], each row ordered
 * (channel, row, column) like a flattened Conv2d kernel, patches in raster order.
 */
export function extractPatches(pixels: Float32Array, batch: number, imageSize: number, patch: number): Float32Array {
  const grid = imageSize / patch;
  const rowLen = 3 * patch * patch;
  const plane = imageSize * imageSize;
  if (pixels.length !== batch * 3 * plane)
    throw new Error(`expected ${batch}×3×${imageSize}×${imageSize} pixels, got ${pixels.length} values`);
  const out = new Float32Array(batch * grid * grid * rowLen);
  let o = 0;
  for (let b = 0; b < batch; b++)
    for (let gy = 0; gy < grid; gy++)
      for (let gx = 0; gx < grid; gx++)
        for (let c = 0; c < 3; c++)
          for (let ky = 0; ky < patch; ky++) {
            const src = b * 3 * plane + c * plane + (gy * patch + ky) * imageSize + gx * patch;
            out.set(pixels.subarray(src, src + patch), o);
            o += patch;
          }
  return out;
}

/** Pixels [B, 3, S, S] → ViT features [B, 257, W] (output of the last run block, before ln_vision). */
export function evaVit(
  pixels: Float32Array,
  batch: number,
  w: SeedWeights['vit'],
  c: SeedTokenizerConfig,
  device: Device,
): Tensor {
  const W = c.vitWidth;
  const nPatches = vitTokens(c) - 1;
  const patches = tensor(
    extractPatches(pixels, batch, c.imageSize, c.patchSize),
    [batch, nPatches, 3 * c.patchSize * c.patchSize],
    { device },
  );
  const embedded = ops.linear(patches, w.patch.weight, w.patch.bias); // [B, 256, W]
  const cls = w.cls; // [1, 1, W]
  const clsBatch = batch === 1 ? cls : ops.concat(Array(batch).fill(cls), 0); // [B, 1, W]
  let x = ops.add(ops.concat([clsBatch, embedded], 1), w.pos); // [B, 257, W]
  for (const block of w.blocks) x = vitBlock(x, block, c.vitHeads, EPS.vit);
  if (x.shape[2] !== W) throw new Error('internal: ViT width changed');
  return x;
}

/** SEED's ln_vision over the ViT features (kept in f32, as upstream forces). */
export function lnVision(features: Tensor, norm: NormWeights): Tensor {
  return ops.layernorm(features, norm.weight, norm.bias, EPS.lnVision);
}
