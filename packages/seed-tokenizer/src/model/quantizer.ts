/**
 * SEED's quantizer, both ways. Encode: `encode_task_layer` (Q → Q, tanh, → codeDim), then the nearest of
 * the codebook rows by plain squared L2 (no normalisation; ties → lowest id) with the fused
 * codebook-lookup kernel. Decode starts from the same codebook: a gather of the rows, then
 * `decode_task_layer` (codeDim → codeDim, tanh, → Q).
 */
import { ops, type Tensor } from '@seed/cuda-kernels';
import type { SeedWeights } from '../weights/seed-names.js';

/** Query states [B, N, Q] → z [B, N, codeDim] (the vectors that are quantized). */
export function encodeTask(x: Tensor, w: SeedWeights): Tensor {
  return ops.linear(ops.tanh(ops.linear(x, w.encode0.weight, w.encode0.bias)), w.encode2.weight, w.encode2.bias);
}

/** z [B, N, codeDim] → code ids [B·N] (i32). */
export function nearestCodes(z: Tensor, w: SeedWeights): Tensor {
  const [B, N, D] = z.shape;
  return ops.codebookNearest(z.reshape([B * N, D]), w.codebook);
}

/** Code ids [B·N] (i32, already checked to be in range) → decoded tokens [B, N, Q]. */
export function decodeTask(ids: Tensor, batch: number, w: SeedWeights): Tensor {
  const codes = ops.embedding(w.codebook, ids); // [B·N, codeDim]
  const h = ops.linear(ops.tanh(ops.linear(codes, w.decode0.weight, w.decode0.bias)), w.decode2.weight, w.decode2.bias);
  return h.reshape([batch, ids.shape[0] / batch, h.shape[1]]);
}
