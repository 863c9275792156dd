/**
 * @seed/diffusion-decoder: the SD-2.1-unCLIP decoder that turns SEED's 1024-d unCLIP image embedding into a
 * picture, from the published diffusers folder: configs, weight tables, schedulers (PNDM/PLMS, DDIM,
 * DPM-Solver++ 2M), the image-embedding conditioning, seeded noise, the CLIP tokenizer, and the UNet / VAE /
 * CLIP text model code on the ops of @seed/cuda-kernels.
 */
export * from './conditioning.js';
export * from './config/index.js';
export {
  type DecodedImage,
  type DecoderLoadOptions,
  DiffusionDecoder,
  type GenerateOptions,
} from './diffusion-decoder.js';
export { checkImageSize, type ImageGeometry, imageGeometry } from './geometry.js';
export { encodeImage, type ImageFormat, type RgbImage, toRgb8, toUnitRange } from './image.js';
export {
  componentWeightsPath,
  type DecoderConfigs,
  type DecoderDType,
  type LoadDecoderOptions,
  type LoadedDecoder,
  loadDecoder,
  loadTextEncoder,
  readDecoderConfigs,
} from './load.js';
export { clipTextForward } from './model/clip-text.js';
export { unetForward } from './model/unet.js';
export { type VaeTileOptions, vaeDecode, vaeDecodeTiled } from './model/vae-decoder.js';
export { gaussianNoise, NOISE_STREAM, uniform } from './noise.js';
export * from './schedulers/index.js';
export {
  contextCacheName,
  fileSha256,
  readTextContext,
  STORED_CONTEXT,
  type TextContext,
  writeTextContext,
} from './text-context.js';
export { ClipTokenizer, type ClipTokenizerFiles } from './tokenizer/clip-tokenizer.js';
export { CLIP_TEXT_UNUSED, type ClipTextWeights, clipTextWeightSpecs } from './weights/clip-text-names.js';
export { type NormalizerWeights, normalizerWeightSpecs } from './weights/normalizer-names.js';
export { type UNetLayout, type UNetWeights, unetLayout, unetWeightSpecs } from './weights/unet-names.js';
export { VAE_UNUSED, type VaeWeights, vaeDecoderLayout, vaeWeightSpecs } from './weights/vae-names.js';
