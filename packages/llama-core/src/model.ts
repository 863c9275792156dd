/**
 * The LLaMA forward pass (HF LlamaForCausalLM semantics): RMSNorm, rotary embeddings (base θ, HF half-split
 * layout), grouped-query attention over a KV cache through the fused attention kernel, SwiGLU MLP.
 * Everything is enqueued on the weights' device; intermediates are freed by scope().
 */
import { type Device, ops, scope, type Tensor, tensor } from '@seed/cuda-kernels';
import type { LlamaConfig } from './config.js';
import type { KvCache } from './kv-cache.js';
import type { LlamaWeights } from './weights/hf-llama-names.js';

export class LlamaModel {
  constructor(
    readonly config: LlamaConfig,
    readonly weights: LlamaWeights,
    readonly device: Device,
  ) {}

  /**
   * Run `ids` (positions cache.length …) through the model, append their keys/values to the cache and
   * return the logits [T, V] of every position (allLogits) or [1, V] of the last one.
   */
  forward(ids: readonly number[], cache: KvCache, options: { allLogits?: boolean } = {}): Tensor {
    const c = this.config;
    const w = this.weights;
    const T = ids.length;
    const pos0 = cache.length;
    if (T === 0) throw new Error('forward() needs at least one token');
    if (pos0 + T > cache.capacity)
      throw new Error(`the sequence would be ${pos0 + T} tokens, longer than the context of ${cache.capacity}`);
    for (const id of ids)
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize)
        throw new Error(`token id ${id} is outside the vocabulary [0, ${c.vocabSize})`);

    const logits = scope(() => {
      const tokens = tensor(Int32Array.from(ids), [T], { device: this.device });
      const positions = tensor(
        Int32Array.from(ids, (_, i) => pos0 + i),
        [T],
        { device: this.device },
      );
      let x = ops.embedding(w.embed, tokens); // [T, C]
      if (x.dtype !== 'f32') x = ops.cast(x, 'f32');
      for (let l = 0; l < c.nLayers; l++) {
        const p = w.layers[l];
        // ---- attention ----
        const h = ops.rmsnorm(x, p.attnNorm, c.eps); // [T, C]
        const q = ops.rope(ops.linear(h, p.attnQ).reshape([1, T, c.nHeads, c.headDim]), positions, {
          base: c.ropeTheta,
        });
        const k = ops.rope(ops.linear(h, p.attnK).reshape([1, T, c.nKvHeads, c.headDim]), positions, {
          base: c.ropeTheta,
        });
        const v = ops.linear(h, p.attnV).reshape([1, T, c.nKvHeads, c.headDim]);
        ops.setSlice(cache.keys[l], k, [0, pos0, 0, 0]);
        ops.setSlice(cache.values[l], v, [0, pos0, 0, 0]);
        const att = ops.attention(q, cache.keys[l], cache.values[l], { causal: true, kvLen: pos0 + T, qOffset: pos0 }); // [1, T, H, D]
        x = ops.add(x, ops.linear(att.reshape([T, c.dim]), p.attnOut));
        // ---- SwiGLU MLP ----
        const h2 = ops.rmsnorm(x, p.ffnNorm, c.eps);
        const gate = ops.silu(ops.linear(h2, p.ffnGate)); // [T, F]
        const up = ops.linear(h2, p.ffnUp);
        x = ops.add(x, ops.linear(ops.mul(gate, up), p.ffnDown));
      }
      const last = options.allLogits ? x : ops.narrow(x, 0, T - 1, T); // [T or 1, C]
      const out = ops.rmsnorm(last, w.norm, c.eps);
      return ops.linear(out, w.output ?? w.embed); // [T or 1, V]
    });
    cache.append(ids);
    return logits;
  }
}
