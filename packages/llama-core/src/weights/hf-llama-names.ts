/**
 * The declarative weight table of HF LLaMA checkpoints: our id → upstream tensor name + expected shape.
 * Loading fails loudly on missing, unexpected and misshapen tensors.
 */
import type { LlamaConfig } from '../config.js';

export interface WeightSpec {
  /** Our id, e.g. "layers.3.attnQ". */
  id: string;
  /** The checkpoint name, e.g. "model.layers.3.self_attn.q_proj.weight". */
  name: string;
  shape: number[];
  /** Matrices that linear() multiplies (these may be quantized to int8); the rest stay as stored. */
  matrix: boolean;
}

export function llamaWeightSpecs(c: LlamaConfig): WeightSpec[] {
  const kvDim = c.nKvHeads * c.headDim;
  const specs: WeightSpec[] = [
    { id: 'embed', name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.dim], matrix: false }, // [V, C]
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}`;
    specs.push(
      { id: `layers.${l}.attnNorm`, name: `${p}.input_layernorm.weight`, shape: [c.dim], matrix: false },
      { id: `layers.${l}.attnQ`, name: `${p}.self_attn.q_proj.weight`, shape: [c.dim, c.dim], matrix: true }, // [H·D, C]
      { id: `layers.${l}.attnK`, name: `${p}.self_attn.k_proj.weight`, shape: [kvDim, c.dim], matrix: true }, // [Hkv·D, C]
      { id: `layers.${l}.attnV`, name: `${p}.self_attn.v_proj.weight`, shape: [kvDim, c.dim], matrix: true },
      { id: `layers.${l}.attnOut`, name: `${p}.self_attn.o_proj.weight`, shape: [c.dim, c.dim], matrix: true },
      { id: `layers.${l}.ffnNorm`, name: `${p}.post_attention_layernorm.weight`, shape: [c.dim], matrix: false },
      { id: `layers.${l}.ffnGate`, name: `${p}.mlp.gate_proj.weight`, shape: [c.ffnDim, c.dim], matrix: true }, // [F, C]
      { id: `layers.${l}.ffnUp`, name: `${p}.mlp.up_proj.weight`, shape: [c.ffnDim, c.dim], matrix: true },
      { id: `layers.${l}.ffnDown`, name: `${p}.mlp.down_proj.weight`, shape: [c.dim, c.ffnDim], matrix: true }, // [C, F]
    );
  }
  specs.push({ id: 'norm', name: 'model.norm.weight', shape: [c.dim], matrix: false });
  if (!c.tieEmbeddings) specs.push({ id: 'output', name: 'lm_head.weight', shape: [c.vocabSize, c.dim], matrix: true }); // [V, C]
  return specs;
}

/** Checkpoint tensors that are known and harmless to ignore (HF buffers). */
export const IGNORED_WEIGHTS = [/\.rotary_emb\.inv_freq$/];
