/**
 * The CLIPTextModel weight table (transformers names, `text_model.` prefix), shapes from
 * text_encoder/config.json. Embedding tables follow the load dtype ('float') so activations carry it.
 */
import { type Loaded, weight } from '@seed/cuda-kernels';
import type { ClipTextConfig } from '../config/text-encoder.js';
import { linear, norm } from './common.js';

/** A buffer older transformers checkpoints carry; never a weight. */
export const CLIP_TEXT_UNUSED = [/^text_model\.embeddings\.position_ids$/];

export function clipTextWeightSpecs(c: ClipTextConfig) {
  const C = c.hiddenSize;
  const I = c.intermediateSize;
  const p = 'text_model';
  return {
    tokenEmbedding: weight(`${p}.embeddings.token_embedding.weight`, [c.vocabSize, C], { precision: 'float' }), // [V, C]
    positionEmbedding: weight(`${p}.embeddings.position_embedding.weight`, [c.maxPositions, C], { precision: 'float' }), // [T, C]
    layers: Array.from({ length: c.numLayers }, (_, l) => {
      const q = `${p}.encoder.layers.${l}`;
      return {
        layerNorm1: norm(`${q}.layer_norm1`, C),
        q: linear(`${q}.self_attn.q_proj`, C, C),
        k: linear(`${q}.self_attn.k_proj`, C, C),
        v: linear(`${q}.self_attn.v_proj`, C, C),
        out: linear(`${q}.self_attn.out_proj`, C, C),
        layerNorm2: norm(`${q}.layer_norm2`, C),
        fc1: linear(`${q}.mlp.fc1`, I, C),
        fc2: linear(`${q}.mlp.fc2`, C, I),
      };
    }),
    finalLayerNorm: norm(`${p}.final_layer_norm`, C),
  };
}

export type ClipTextWeightSpecs = ReturnType<typeof clipTextWeightSpecs>;
export type ClipTextWeights = Loaded<ClipTextWeightSpecs>;
