/**
 * UNet2DConditionModel forward (reference/unclip-decoder.md §2.1–2.7), one call:
 *   sample [B, Cin, h, w], timestep t, context [B, S, Ck], classLabels [B, P] → prediction [B, Cout, h, w].
 */
import { type Tensor, tensor } from '@seed/cuda-kernels';
import { timestepEmbedding } from '../conditioning.js';
import type { UNetConfig } from '../config/unet.js';
import { add, concat, linear, silu } from '../kernels.js';
import { type UNetWeights, unetLayout } from '../weights/unet-names.js';
import { conv, downsample, normSilu, resnetBlock, transformer2d, upsample } from './blocks.js';

export function unetForward(
  c: UNetConfig,
  w: UNetWeights,
  sample: Tensor,
  t: number,
  context: Tensor,
  classLabels: Tensor | undefined,
): Tensor {
  const [B, , h, wd] = sample.shape;
  const levels = c.blockOutChannels.length;
  const factor = 2 ** (levels - 1);
  if (h % factor !== 0 || wd % factor !== 0)
    throw new Error(`UNet: latent size ${h}×${wd} must be a multiple of ${factor} (image a multiple of ${8 * factor})`);
  const n = { groups: c.normNumGroups, eps: c.normEps };
  const L = unetLayout(c);

  // ---- time (+ class) embedding: emb [B, Temb] ----
  const sinus = timestepEmbedding(new Array(B).fill(t), c.blockOutChannels[0], {
    flipSinToCos: c.flipSinToCos,
    downscaleFreqShift: c.freqShift,
  }); // f32, then the model dtype
  const tproj = tensor(sinus, [B, c.blockOutChannels[0]], { dtype: sample.dtype, device: sample.device });
  const te = w.timeEmbedding;
  let emb = linear(silu(linear(tproj, te.linear1.weight, te.linear1.bias)), te.linear2.weight, te.linear2.bias);
  if (w.classEmbedding) {
    if (!classLabels) throw new Error('UNet: class_embed_type "projection" needs class labels');
    const ce = w.classEmbedding;
    const cls = linear(
      silu(linear(classLabels, ce.linear1.weight, ce.linear1.bias)),
      ce.linear2.weight,
      ce.linear2.bias,
    );
    emb = add(emb, cls);
  }
  const embAct = silu(emb); // every resnet projects SiLU(emb)

  // ---- down: push every resnet(+attention) output and every downsample onto the skip stack ----
  let x = conv(sample, w.convIn); // [B, C0, h, w]
  const skips: Tensor[] = [x];
  for (const [i, block] of w.down.entries()) {
    for (const [j, r] of block.resnets.entries()) {
      x = resnetBlock(x, r, embAct, n);
      if (block.attentions) x = transformer2d(x, context, block.attentions[j], c.heads[i], c.normNumGroups);
      skips.push(x);
    }
    if (block.downsample) {
      x = downsample(x, block.downsample);
      skips.push(x);
    }
  }

  // ---- mid: resnet → transformer → resnet ----
  const top = levels - 1;
  x = resnetBlock(x, w.mid.resnets[0], embAct, n, c.midBlockScaleFactor);
  x = transformer2d(x, context, w.mid.attention, c.heads[top], c.normNumGroups);
  x = resnetBlock(x, w.mid.resnets[1], embAct, n, c.midBlockScaleFactor);

  // ---- up: each resnet takes [h, skip] (h first), the skip popped from the end ----
  for (const [k, block] of w.up.entries()) {
    for (const [j, r] of block.resnets.entries()) {
      const skip = skips.pop() as Tensor;
      x = resnetBlock(concat([x, skip], 1), r, embAct, n);
      if (block.attentions) x = transformer2d(x, context, block.attentions[j], L.up[k].heads, c.normNumGroups);
    }
    if (block.upsample) x = upsample(x, block.upsample);
  }

  // ---- out ----
  return conv(normSilu(x, w.convNormOut, n), w.convOut); // [B, Cout, h, w]
}
