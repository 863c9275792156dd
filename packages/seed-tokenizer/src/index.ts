/**
 * @seed/seed-tokenizer: the SEED image tokenizer (v2) that SEED-LLaMA sees and draws through. Images → 32
 * codes (EVA ViT-g, causal Q-Former, nearest of 8192 codes) and codes → the 1024-d unCLIP image embedding,
 * loaded from the published checkpoints (seed_quantizer.pt + eva_vit_g.pth, or safetensors conversions).
 */
export { EPS, parseSeedConfig, SEED2_CONFIG, type SeedTokenizerConfig, vitTokens } from './config.js';
export { type LoadSeedTokenizerOptions, loadSeedWeights, type SeedWeightDType } from './load.js';
export * from './preprocess.js';
export { type EncodeActivations, type EncodeOptions, SeedTokenizer } from './seed-tokenizer.js';
export { type SeedFile, type SeedWeightSpecs, type SeedWeights, seedWeightSpecs } from './weights/seed-names.js';
