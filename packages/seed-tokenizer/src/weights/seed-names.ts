/**
 * The declarative weight table of the SEED tokenizer: our names → upstream tensor names, which published
 * file holds them, and their expected shapes, as a tree that `loadWeights` turns into {@link SeedWeights}.
 * Names are AILab-CVC/SEED's state-dict keys: the EVA ViT comes from LAVIS's `eva_vit_g.pth` with no prefix
 * (or `visual_encoder.` when it sits in the quantizer's file), the rest from `seed_quantizer.pt`. Matrices
 * that `linear()` multiplies take the precision chosen at load; everything else (norms, biases, positions,
 * queries, the codebook whose distances decide the codes) loads as f32.
 */
import { joined, type Loaded, ops, type Tensor, type WeightSpec, weight, zeros } from '@seed/cuda-kernels';
import { type SeedTokenizerConfig, vitTokens } from '../config.js';

/** Which published checkpoint holds a tensor. */
export type SeedFile = 'vit' | 'quantizer';

/** In seed_quantizer.pt-style files that embed the ViT, its keys carry this prefix. */
export const VIT_PREFIX = 'visual_encoder.';

/** A tensor of `file`; a matrix takes the load precision, anything else is f32. */
type Declare = (name: string, shape: number[], matrix?: boolean) => WeightSpec;

const inQuantizer: Declare = (name, shape, matrix = false) =>
  weight(name, shape, { file: 'quantizer', precision: matrix ? 'matrix' : 'f32' });

/** ViT tensors: in eva_vit_g.pth, or under `visual_encoder.` in the quantizer's file. */
const inVit: Declare = (name, shape, matrix = false) =>
  weight(name, shape, {
    file: 'vit',
    aliases: [{ file: 'quantizer', name: VIT_PREFIX + name }],
    precision: matrix ? 'matrix' : 'f32',
  });

const linear = (at: Declare, name: string, out: number, inp: number, bias = true) => ({
  weight: at(`${name}.weight`, [out, inp], true), // [N, K]
  bias: bias ? at(`${name}.bias`, [out]) : undefined,
});

const norm = (at: Declare, name: string, width: number) => ({
  weight: at(`${name}.weight`, [width]),
  bias: at(`${name}.bias`, [width]),
});

/** A pre-norm ViT block (EVA's and the code decoder's `blocks_image` share the layout). */
const vitBlock = (at: Declare, p: string, width: number, mlp: number, qkvBias: 'qkv' | 'q+v') => ({
  norm1: norm(at, `${p}.norm1`, width),
  qkv: {
    weight: at(`${p}.attn.qkv.weight`, [3 * width, width], true), // [3W, W]
    // EVA's attention has q and v biases but none for k: joined around a zero k bias into one [3W].
    bias:
      qkvBias === 'qkv'
        ? at(`${p}.attn.qkv.bias`, [3 * width])
        : joined([at(`${p}.attn.q_bias`, [width]), at(`${p}.attn.v_bias`, [width])], ([q, v]) => {
            const k = zeros([width], 'f32', q.device);
            const qkv = ops.concat([q, k, v], 0);
            k.dispose(); // freed once the concat has run
            return qkv;
          }),
  },
  proj: linear(at, `${p}.attn.proj`, width, width),
  norm2: norm(at, `${p}.norm2`, width),
  fc1: linear(at, `${p}.mlp.fc1`, mlp, width),
  fc2: linear(at, `${p}.mlp.fc2`, width, mlp),
});

/** One causal Q-Former layer; cross-attention only on layers l % crossAttentionFreq == 0. */
function qformerLayer(c: SeedTokenizerConfig, l: number) {
  const Q = c.qformerWidth;
  const p = `Qformer.bert.encoder.layer.${l}`;
  const attention = (kind: 'attention' | 'crossattention', kvWidth: number) => ({
    q: linear(inQuantizer, `${p}.${kind}.self.query`, Q, Q),
    k: linear(inQuantizer, `${p}.${kind}.self.key`, Q, kvWidth), // cross-attention keys are ViT-wide
    v: linear(inQuantizer, `${p}.${kind}.self.value`, Q, kvWidth),
    out: linear(inQuantizer, `${p}.${kind}.output.dense`, Q, Q),
    norm: norm(inQuantizer, `${p}.${kind}.output.LayerNorm`, Q),
  });
  return {
    self: attention('attention', Q),
    cross: l % c.crossAttentionFreq === 0 ? attention('crossattention', c.vitWidth) : undefined,
    ffnUp: linear(inQuantizer, `${p}.intermediate_query.dense`, c.qformerFfnDim, Q),
    ffnDown: linear(inQuantizer, `${p}.output_query.dense`, Q, c.qformerFfnDim),
    ffnNorm: norm(inQuantizer, `${p}.output_query.LayerNorm`, Q),
  };
}

export function seedWeightSpecs(c: SeedTokenizerConfig) {
  const W = c.vitWidth;
  const Q = c.qformerWidth;
  const [d0, d1, d2] = c.imageDownDims;
  const patchArea = 3 * c.patchSize * c.patchSize;
  return {
    // ---- EVA ViT-g (eva_vit_g.pth): only the first vitDepth blocks are run ----
    vit: {
      cls: inVit('cls_token', [1, 1, W]),
      pos: inVit('pos_embed', [1, vitTokens(c), W]),
      patch: {
        // Conv2d with kernel = stride = patch, run as patch extraction + linear: [W, 3, p, p] → [W, 3·p·p].
        weight: weight('patch_embed.proj.weight', [W, 3, c.patchSize, c.patchSize], {
          file: 'vit',
          aliases: [{ file: 'quantizer', name: `${VIT_PREFIX}patch_embed.proj.weight` }],
          precision: 'matrix',
          transform: (t: Tensor) => t.reshape([W, patchArea]),
        }),
        bias: inVit('patch_embed.proj.bias', [W]),
      },
      blocks: Array.from({ length: c.vitDepth }, (_, l) => vitBlock(inVit, `blocks.${l}`, W, c.vitMlpDim, 'q+v')),
    },
    // ---- ln_vision + causal Q-Former (seed_quantizer.pt) ----
    lnVision: norm(inQuantizer, 'ln_vision', W),
    queries: inQuantizer('query_tokens', [1, c.numQueryTokens, Q]),
    embedNorm: norm(inQuantizer, 'Qformer.bert.embeddings.LayerNorm', Q),
    qformer: Array.from({ length: c.qformerLayers }, (_, l) => qformerLayer(c, l)),
    // ---- quantizer ----
    encode0: linear(inQuantizer, 'encode_task_layer.0', Q, Q),
    encode2: linear(inQuantizer, 'encode_task_layer.2', c.codeDim, Q),
    codebook: inQuantizer('quantize.embedding.weight', [c.codebookSize, c.codeDim]), // f32: distances decide
    // ---- codes → unCLIP embedding ----
    decode0: linear(inQuantizer, 'decode_task_layer.0', c.codeDim, c.codeDim),
    decode2: linear(inQuantizer, 'decode_task_layer.2', Q, c.codeDim),
    decoderPos: inQuantizer('pos_embed_image', [1, c.numQueryTokens, Q]),
    decoder: Array.from({ length: c.decoderDepth }, (_, l) =>
      vitBlock(inQuantizer, `blocks_image.${l}`, Q, c.decoderMlpDim, 'qkv'),
    ),
    down0: linear(inQuantizer, 'image_down.0', d0, Q, false),
    down2: linear(inQuantizer, 'image_down.2', d1, d0, false),
    down4: linear(inQuantizer, 'image_down.4', d2, d1, false),
    distill: linear(inQuantizer, 'distill_image_proj', c.embedDim, c.numQueryTokens * d2),
  };
}

export type SeedWeightSpecs = ReturnType<typeof seedWeightSpecs>;

/** The loaded tokenizer weights, by the same names. */
export type SeedWeights = Loaded<SeedWeightSpecs>;
export type VitBlockWeights = SeedWeights['decoder'][number];
export type LinearWeights = SeedWeights['encode0'];
export type NormWeights = SeedWeights['lnVision'];
export type BertAttentionWeights = SeedWeights['qformer'][number]['self'];
