/**
 * Sizes of the SEED tokenizer (v2). The defaults are the released SEED-2 model (EVA ViT-g/14, a BERT-base
 * causal Q-Former, 8192 codes of 32 dims, a 4-block decoder to the 1024-d unCLIP embedding); a `config.json`
 * beside the weights overrides any of them (tiny test models need that). Keys are snake_case in the file.
 */

export interface SeedTokenizerConfig {
  /** Input side (224): the image is squashed to imageSize × imageSize. */
  imageSize: number;
  /** ViT patch (14): (224/14)² = 256 patches + 1 class token = 257 tokens. */
  patchSize: number;
  /** EVA ViT width (1408), blocks run (39 — the released file holds 40), heads (16, head dim 88), MLP (6144). */
  vitWidth: number;
  vitDepth: number;
  vitHeads: number;
  vitMlpDim: number;
  /** Q-Former width (768), layers (12), heads (12), FFN (3072). */
  qformerWidth: number;
  qformerLayers: number;
  qformerHeads: number;
  qformerFfnDim: number;
  /** Layers i with i % crossAttentionFreq == 0 attend to the image (2 → layers 0, 2, …, 10). */
  crossAttentionFreq: number;
  /** Learned queries = codes per image (32). */
  numQueryTokens: number;
  /** Codebook rows (8192) and their width (32). */
  codebookSize: number;
  codeDim: number;
  /** The code → embedding decoder: ViT blocks at the Q-Former width (4 blocks, 12 heads, MLP 3072). */
  decoderDepth: number;
  decoderHeads: number;
  decoderMlpDim: number;
  /** image_down: qformerWidth → d0 → d1 → d2 per token (256, 128, 32); numQueryTokens·d2 is flattened. */
  imageDownDims: [number, number, number];
  /** distill_image_proj output: the unCLIP image embedding (1024). */
  embedDim: number;
}

export const SEED2_CONFIG: Readonly<SeedTokenizerConfig> = Object.freeze({
  imageSize: 224,
  patchSize: 14,
  vitWidth: 1408,
  vitDepth: 39,
  vitHeads: 16,
  vitMlpDim: 6144,
  qformerWidth: 768,
  qformerLayers: 12,
  qformerHeads: 12,
  qformerFfnDim: 3072,
  crossAttentionFreq: 2,
  numQueryTokens: 32,
  codebookSize: 8192,
  codeDim: 32,
  decoderDepth: 4,
  decoderHeads: 12,
  decoderMlpDim: 3072,
  imageDownDims: [256, 128, 32] as [number, number, number],
  embedDim: 1024,
});

/** LayerNorm epsilons (fixed by the architecture, not configurable). */
export const EPS = {
  vit: 1e-6,
  lnVision: 1e-5,
  bert: 1e-12,
  decoder: 1e-6,
} as const;

/** The Q-Former's causal mask value among queries: BERT's additive −10000, not −∞. */
export const QUERY_MASK_VALUE = -10000;

const KEYS: Record<string, keyof SeedTokenizerConfig> = {
  image_size: 'imageSize',
  patch_size: 'patchSize',
  vit_width: 'vitWidth',
  vit_depth: 'vitDepth',
  vit_heads: 'vitHeads',
  vit_mlp_dim: 'vitMlpDim',
  qformer_width: 'qformerWidth',
  qformer_layers: 'qformerLayers',
  qformer_heads: 'qformerHeads',
  qformer_ffn_dim: 'qformerFfnDim',
  cross_attention_freq: 'crossAttentionFreq',
  num_query_tokens: 'numQueryTokens',
  codebook_size: 'codebookSize',
  code_dim: 'codeDim',
  decoder_depth: 'decoderDepth',
  decoder_heads: 'decoderHeads',
  decoder_mlp_dim: 'decoderMlpDim',
  image_down_dims: 'imageDownDims',
  embed_dim: 'embedDim',
};

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * SEED-2 sizes overridden by a parsed config.json. Unknown keys and bad values are errors that name them;
 * so are sizes that cannot fit together (heads that do not divide a width, an image not a whole number of
 * patches).
 */
export function parseSeedConfig(json: Record<string, unknown> = {}, what = 'config.json'): SeedTokenizerConfig {
  const c: SeedTokenizerConfig = { ...SEED2_CONFIG, imageDownDims: [...SEED2_CONFIG.imageDownDims] };
  for (const [key, value] of Object.entries(json)) {
    if (key.startsWith('_')) continue; // comments, e.g. "_note"
    const field = KEYS[key];
    if (!field) throw new Error(`${what}: unknown key '${key}' (known: ${Object.keys(KEYS).join(', ')})`);
    if (field === 'imageDownDims') {
      if (!Array.isArray(value) || value.length !== 3 || !value.every(isPositiveInt))
        throw new Error(`${what}: image_down_dims must be three positive integers, got ${JSON.stringify(value)}`);
      c.imageDownDims = [value[0], value[1], value[2]];
    } else {
      if (!isPositiveInt(value) || value > 1 << 20)
        throw new Error(`${what}: ${key} must be a positive integer, got ${JSON.stringify(value)}`);
      c[field] = value;
    }
  }
  const check = (ok: boolean, msg: string) => {
    if (!ok) throw new Error(`${what}: ${msg}`);
  };
  check(c.imageSize % c.patchSize === 0, `image_size ${c.imageSize} is not a multiple of patch_size ${c.patchSize}`);
  check(c.imageSize <= 4096, `image_size ${c.imageSize} is too large`);
  for (const [w, h, name] of [
    [c.vitWidth, c.vitHeads, 'vit'],
    [c.qformerWidth, c.qformerHeads, 'qformer'],
    [c.qformerWidth, c.decoderHeads, 'decoder'],
  ] as const) {
    check(w % h === 0, `${name} width ${w} is not divisible by its ${h} heads`);
    check(w / h <= 256, `${name} head dim ${w / h} is larger than 256`);
  }
  check(c.numQueryTokens <= 4096, `num_query_tokens ${c.numQueryTokens} is too large`);
  return c;
}

/** Tokens the ViT sees: the patches plus the class token. */
export const vitTokens = (c: SeedTokenizerConfig): number => (c.imageSize / c.patchSize) ** 2 + 1;
