/**
 * The declarative weight table of the SEED tokenizer: our id → upstream tensor name, which published file
 * holds it, and its expected shape. Names are AILab-CVC/SEED's state-dict keys: the EVA ViT comes from
 * LAVIS's `eva_vit_g.pth` with no prefix (or `visual_encoder.` when it sits in the quantizer's file), the
 * rest from `seed_quantizer.pt`.
 */
import { type SeedTokenizerConfig, vitTokens } from '../config.js';

/** Which published checkpoint holds a tensor. */
export type SeedFile = 'vit' | 'quantizer';

export interface SeedWeightSpec {
  /** Our id, e.g. "vit.3.qkv". */
  id: string;
  /** Upstream key in its file, e.g. "blocks.3.attn.qkv.weight". */
  name: string;
  file: SeedFile;
  shape: number[];
  /** 2-D weights that linear() multiplies: these take the precision chosen at load; the rest load as f32. */
  matrix: boolean;
}

/** In seed_quantizer.pt-style files that embed the ViT, its keys carry this prefix. */
export const VIT_PREFIX = 'visual_encoder.';

export function seedWeightSpecs(c: SeedTokenizerConfig): SeedWeightSpec[] {
  const specs: SeedWeightSpec[] = [];
  const add = (id: string, name: string, file: SeedFile, shape: number[], matrix = false) =>
    specs.push({ id, name, file, shape, matrix });
  const linear = (id: string, name: string, file: SeedFile, out: number, inp: number, bias = true) => {
    add(`${id}.weight`, `${name}.weight`, file, [out, inp], true); // [N, K]
    if (bias) add(`${id}.bias`, `${name}.bias`, file, [out]);
  };
  const norm = (id: string, name: string, file: SeedFile, width: number) => {
    add(`${id}.weight`, `${name}.weight`, file, [width]);
    add(`${id}.bias`, `${name}.bias`, file, [width]);
  };

  // ---- EVA ViT-g (eva_vit_g.pth): only the first vitDepth blocks are run ----
  const W = c.vitWidth;
  const T = vitTokens(c);
  add('vit.cls', 'cls_token', 'vit', [1, 1, W]);
  add('vit.pos', 'pos_embed', 'vit', [1, T, W]);
  add('vit.patch.weight', 'patch_embed.proj.weight', 'vit', [W, 3, c.patchSize, c.patchSize]); // Conv2d, k = s = patch
  add('vit.patch.bias', 'patch_embed.proj.bias', 'vit', [W]);
  for (let l = 0; l < c.vitDepth; l++) {
    const p = `blocks.${l}`;
    norm(`vit.${l}.norm1`, `${p}.norm1`, 'vit', W);
    add(`vit.${l}.qkv.weight`, `${p}.attn.qkv.weight`, 'vit', [3 * W, W], true); // no bias: q_bias, 0, v_bias
    add(`vit.${l}.qBias`, `${p}.attn.q_bias`, 'vit', [W]);
    add(`vit.${l}.vBias`, `${p}.attn.v_bias`, 'vit', [W]);
    linear(`vit.${l}.proj`, `${p}.attn.proj`, 'vit', W, W);
    norm(`vit.${l}.norm2`, `${p}.norm2`, 'vit', W);
    linear(`vit.${l}.fc1`, `${p}.mlp.fc1`, 'vit', c.vitMlpDim, W);
    linear(`vit.${l}.fc2`, `${p}.mlp.fc2`, 'vit', W, c.vitMlpDim);
  }

  // ---- ln_vision + causal Q-Former (seed_quantizer.pt) ----
  const Q = c.qformerWidth;
  norm('lnVision', 'ln_vision', 'quantizer', W);
  add('queries', 'query_tokens', 'quantizer', [1, c.numQueryTokens, Q]);
  norm('qf.embedNorm', 'Qformer.bert.embeddings.LayerNorm', 'quantizer', Q);
  for (let l = 0; l < c.qformerLayers; l++) {
    const p = `Qformer.bert.encoder.layer.${l}`;
    const id = `qf.${l}`;
    linear(`${id}.self.q`, `${p}.attention.self.query`, 'quantizer', Q, Q);
    linear(`${id}.self.k`, `${p}.attention.self.key`, 'quantizer', Q, Q);
    linear(`${id}.self.v`, `${p}.attention.self.value`, 'quantizer', Q, Q);
    linear(`${id}.self.out`, `${p}.attention.output.dense`, 'quantizer', Q, Q);
    norm(`${id}.self.norm`, `${p}.attention.output.LayerNorm`, 'quantizer', Q);
    if (l % c.crossAttentionFreq === 0) {
      linear(`${id}.cross.q`, `${p}.crossattention.self.query`, 'quantizer', Q, Q);
      linear(`${id}.cross.k`, `${p}.crossattention.self.key`, 'quantizer', Q, W); // image tokens are ViT-wide
      linear(`${id}.cross.v`, `${p}.crossattention.self.value`, 'quantizer', Q, W);
      linear(`${id}.cross.out`, `${p}.crossattention.output.dense`, 'quantizer', Q, Q);
      norm(`${id}.cross.norm`, `${p}.crossattention.output.LayerNorm`, 'quantizer', Q);
    }
    linear(`${id}.ffn.up`, `${p}.intermediate_query.dense`, 'quantizer', c.qformerFfnDim, Q);
    linear(`${id}.ffn.down`, `${p}.output_query.dense`, 'quantizer', Q, c.qformerFfnDim);
    norm(`${id}.ffn.norm`, `${p}.output_query.LayerNorm`, 'quantizer', Q);
  }

  // ---- quantizer ----
  linear('encode.0', 'encode_task_layer.0', 'quantizer', Q, Q);
  linear('encode.2', 'encode_task_layer.2', 'quantizer', c.codeDim, Q);
  add('codebook', 'quantize.embedding.weight', 'quantizer', [c.codebookSize, c.codeDim]); // stays f32: distances

  // ---- codes → unCLIP embedding ----
  linear('decode.0', 'decode_task_layer.0', 'quantizer', c.codeDim, c.codeDim);
  linear('decode.2', 'decode_task_layer.2', 'quantizer', Q, c.codeDim);
  add('decoderPos', 'pos_embed_image', 'quantizer', [1, c.numQueryTokens, Q]);
  for (let l = 0; l < c.decoderDepth; l++) {
    const p = `blocks_image.${l}`;
    norm(`dec.${l}.norm1`, `${p}.norm1`, 'quantizer', Q);
    linear(`dec.${l}.qkv`, `${p}.attn.qkv`, 'quantizer', 3 * Q, Q);
    linear(`dec.${l}.proj`, `${p}.attn.proj`, 'quantizer', Q, Q);
    norm(`dec.${l}.norm2`, `${p}.norm2`, 'quantizer', Q);
    linear(`dec.${l}.fc1`, `${p}.mlp.fc1`, 'quantizer', c.decoderMlpDim, Q);
    linear(`dec.${l}.fc2`, `${p}.mlp.fc2`, 'quantizer', Q, c.decoderMlpDim);
  }
  const [d0, d1, d2] = c.imageDownDims;
  linear('down.0', 'image_down.0', 'quantizer', d0, Q, false);
  linear('down.2', 'image_down.2', 'quantizer', d1, d0, false);
  linear('down.4', 'image_down.4', 'quantizer', d2, d1, false);
  linear('distill', 'distill_image_proj', 'quantizer', c.embedDim, c.numQueryTokens * d2);
  return specs;
}
