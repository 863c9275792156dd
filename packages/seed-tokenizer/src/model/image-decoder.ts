/**
 * SEED's de-tokeniser head (`get_codebook_entry` with use_qformer_image=False): decoded code tokens
 * [B, 32, Q] + `pos_embed_image` → `decoderDepth` ViT blocks (ε 1e-6, no mask) → `image_down`
 * (Q → d0 → d1 → d2, ReLU between, no bias) → flatten token-major to [B, 32·d2] → `distill_image_proj`
 * → the unCLIP image embedding [B, embedDim] the diffusion decoder is conditioned on.
 */
import { ops, type Tensor } from '@seed/cuda-kernels';
import { EPS, type SeedTokenizerConfig } from '../config.js';
import type { SeedWeights } from '../weights/seed-names.js';
import { vitBlock } from './vit-block.js';

export function imageDecoder(tokens: Tensor, w: SeedWeights, c: SeedTokenizerConfig): Tensor {
  const [B, N] = tokens.shape;
  let x = ops.add(tokens, w.decoderPos); // [B, N, Q]
  for (const block of w.decoder) x = vitBlock(x, block, c.decoderHeads, EPS.decoder);
  x = ops.relu(ops.linear(x, w.down0.weight)); // [B, N, d0]
  x = ops.relu(ops.linear(x, w.down2.weight)); // [B, N, d1]
  x = ops.linear(x, w.down4.weight); // [B, N, d2]
  return ops.linear(x.reshape([B, N * c.imageDownDims[2]]), w.distill.weight, w.distill.bias); // [B, E]
}
