export { ConfigFields, type Json, readJsonObject } from './fields.js';
export {
  COMPONENTS,
  type Component,
  type ImageNormalizerConfig,
  type ModelIndex,
  NOT_LOADED,
  parseImageNormalizerConfig,
  parseModelIndex,
} from './pipeline.js';
export {
  type BetaSchedule,
  type PredictionType,
  parseSchedulerConfig,
  type SchedulerConfig,
  type TimestepSpacing,
} from './scheduler.js';
export { type ClipTextConfig, parseClipTextConfig } from './text-encoder.js';
export { type DownBlockType, headDim, parseUNetConfig, type UNetConfig, type UpBlockType } from './unet.js';
export { parseVaeConfig, VAE_NORM_EPS, type VaeConfig } from './vae.js';
