/**
 * @seed/seed-tokenizer: the SEED image tokenizer (v2). So far: SEED's image preprocessing (decode,
 * Pillow-exact bilinear squash to 224×224, CLIP normalisation). The EVA ViT, causal Q-Former, quantizer
 * and the code → embedding decoder are not built yet.
 */
export * from './preprocess.js';
