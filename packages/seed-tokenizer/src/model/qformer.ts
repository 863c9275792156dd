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
import { type SeedWeights, weight } from './weights.js';

/** The additive causal mask among N queries: 0 where key j ≤ query i, −10000 after. [N, N] f32. */
export function causalQueryMask(n: number, device: Device): Tensor {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = QUERY_MASK_VALUE;
  return tensor(m, [n, n], { device });
}

/** BERT attention + output sublayer: LN(dense(attention(q(x), k(kv), v(kv))) + x). x [B, N, Q], kv [B, T, ·]. */
function bertAttention(
  x: Tensor,
  kv: Tensor,
  weights: SeedWeights,
  prefix: string,
  heads: number,
  mask?: Tensor,
): Tensor {
  const w = (id: string) => weight(weights, prefix + id);
  const [B, N, Q] = x.shape;
  const T = kv.shape[1];
  const D = Q / heads;
  const q = ops.linear(x, w('q.weight'), w('q.bias')).reshape([B, N, heads, D]);
  const k = ops.linear(kv, w('k.weight'), w('k.bias')).reshape([B, T, heads, D]);
  const v = ops.linear(kv, w('v.weight'), w('v.bias')).reshape([B, T, heads, D]);
  const ctx = ops.attention(q, k, v, { mask }).reshape([B, N, Q]);
  const out = ops.linear(ctx, w('out.weight'), w('out.bias'));
  return ops.layernorm(ops.add(out, x), w('norm.weight'), w('norm.bias'), EPS.bert);
}

/** Image tokens [B, 257, W] (after ln_vision) → query states [B, 32, Q] (the last hidden state). */
export function qformer(image: Tensor, weights: SeedWeights, c: SeedTokenizerConfig, mask: Tensor): Tensor {
  const w = (id: string) => weight(weights, id);
  const B = image.shape[0];
  const queries = ops.layernorm(w('queries'), w('qf.embedNorm.weight'), w('qf.embedNorm.bias'), EPS.bert); // [1, N, Q]
  let x = B === 1 ? queries : ops.concat(Array(B).fill(queries), 0); // [B, N, Q]
  for (let l = 0; l < c.qformerLayers; l++) {
    const p = `qf.${l}.`;
    x = bertAttention(x, x, weights, `${p}self.`, c.qformerHeads, mask);
    if (l % c.crossAttentionFreq === 0) x = bertAttention(x, image, weights, `${p}cross.`, c.qformerHeads);
    const up = ops.gelu(ops.linear(x, w(`${p}ffn.up.weight`), w(`${p}ffn.up.bias`)));
    const down = ops.linear(up, w(`${p}ffn.down.weight`), w(`${p}ffn.down.bias`));
    x = ops.layernorm(ops.add(down, x), w(`${p}ffn.norm.weight`), w(`${p}ffn.norm.bias`), EPS.bert);
  }
  return x;
}
