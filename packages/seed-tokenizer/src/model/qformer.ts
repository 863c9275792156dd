/**
 * SEED's causal Q-Former (BLIP-2's BERT-base layout with a causal query mask): the learned queries pass
 * `bert.embeddings.LayerNorm`, then each layer runs
 *   self-attention among queries (lower-triangular additive −10000 mask) → dense → LN(· + residual)
 *   [on layers l % crossAttentionFreq == 0] cross-attention to all image tokens → dense → LN(· + residual)
 *   the query FFN: intermediate_query (GELU) → output_query → LN(· + residual)
 * Post-LN, ε 1e-12. There is no text branch at inference.
 */
import { type Device, ops, type Tensor, tensor } from '@seed/cuda-kernels';
import { EPS, QUERY_MASK_VALUE, type SeedTokenizerConfig } from '../config.js';
import type { BertAttentionWeights, SeedWeights } from '../weights/seed-names.js';

/** The additive causal mask among N queries: 0 where key j ≤ query i, −10000 after. [N, N] f32. */
export function causalQueryMask(n: number, device: Device): Tensor {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = QUERY_MASK_VALUE;
  return tensor(m, [n, n], { device });
}

/** BERT attention + output sublayer: LN(dense(attention(q(x), k(kv), v(kv))) + x). x [B, N, Q], kv [B, T, ·]. */
function bertAttention(x: Tensor, kv: Tensor, w: BertAttentionWeights, heads: number, mask?: Tensor): Tensor {
  const [B, N, Q] = x.shape;
  const T = kv.shape[1];
  const D = Q / heads;
  const q = ops.linear(x, w.q.weight, w.q.bias).reshape([B, N, heads, D]);
  const k = ops.linear(kv, w.k.weight, w.k.bias).reshape([B, T, heads, D]);
  const v = ops.linear(kv, w.v.weight, w.v.bias).reshape([B, T, heads, D]);
  const ctx = ops.attention(q, k, v, { mask }).reshape([B, N, Q]);
  const out = ops.linear(ctx, w.out.weight, w.out.bias);
  return ops.layernorm(ops.add(out, x), w.norm.weight, w.norm.bias, EPS.bert);
}

/** Image tokens [B, 257, W] (after ln_vision) → query states [B, 32, Q] (the last hidden state). */
export function qformer(image: Tensor, w: SeedWeights, c: SeedTokenizerConfig, mask: Tensor): Tensor {
  const B = image.shape[0];
  const queries = ops.layernorm(w.queries, w.embedNorm.weight, w.embedNorm.bias, EPS.bert); // [1, N, Q]
  let x = B === 1 ? queries : ops.concat(Array(B).fill(queries), 0); // [B, N, Q]
  for (const layer of w.qformer) {
    x = bertAttention(x, x, layer.self, c.qformerHeads, mask);
    if (layer.cross) x = bertAttention(x, image, layer.cross, c.qformerHeads); // layers l % crossAttentionFreq == 0
    const up = ops.gelu(ops.linear(x, layer.ffnUp.weight, layer.ffnUp.bias));
    const down = ops.linear(up, layer.ffnDown.weight, layer.ffnDown.bias);
    x = ops.layernorm(ops.add(down, x), layer.ffnNorm.weight, layer.ffnNorm.bias, EPS.bert);
  }
  return x;
}
