/**
 * The declarative weight table of HF LLaMA checkpoints: our names → upstream tensor names and expected
 * shapes, as a tree that `loadWeights` turns into {@link LlamaWeights}. Matrices take the precision asked
 * at load (int8 included); the embedding and norms follow a float dtype and otherwise stay as stored.
 */
import { type Loaded, weight } from '@seed/cuda-kernels';
import type { LlamaConfig } from '../config.js';

export function llamaWeightSpecs(c: LlamaConfig) {
  const kvDim = c.nKvHeads * c.headDim;
  const layer = (l: number) => {
    const p = `model.layers.${l}`;
    return {
      attnNorm: weight(`${p}.input_layernorm.weight`, [c.dim]),
      attnQ: weight(`${p}.self_attn.q_proj.weight`, [c.dim, c.dim]), // [H·D, C]
      attnK: weight(`${p}.self_attn.k_proj.weight`, [kvDim, c.dim]), // [Hkv·D, C]
      attnV: weight(`${p}.self_attn.v_proj.weight`, [kvDim, c.dim]),
      attnOut: weight(`${p}.self_attn.o_proj.weight`, [c.dim, c.dim]),
      ffnNorm: weight(`${p}.post_attention_layernorm.weight`, [c.dim]),
      ffnGate: weight(`${p}.mlp.gate_proj.weight`, [c.ffnDim, c.dim]), // [F, C]
      ffnUp: weight(`${p}.mlp.up_proj.weight`, [c.ffnDim, c.dim]),
      ffnDown: weight(`${p}.mlp.down_proj.weight`, [c.dim, c.ffnDim]), // [C, F]
    };
  };
  return {
    // A gather table, not a linear() weight: never quantized.
    embed: weight('model.embed_tokens.weight', [c.vocabSize, c.dim], { precision: 'float' }), // [V, C]
    layers: Array.from({ length: c.nLayers }, (_, l) => layer(l)),
    norm: weight('model.norm.weight', [c.dim]),
    output: c.tieEmbeddings ? undefined : weight('lm_head.weight', [c.vocabSize, c.dim]), // [V, C]
  };
}

export type LlamaWeightSpecs = ReturnType<typeof llamaWeightSpecs>;

/** The loaded weights, by the same names. */
export type LlamaWeights = Loaded<LlamaWeightSpecs>;

/** Checkpoint tensors that are known and harmless to ignore (HF buffers). */
export const IGNORED_WEIGHTS = [/\.rotary_emb\.inv_freq$/];
