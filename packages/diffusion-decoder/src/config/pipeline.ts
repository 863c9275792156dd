/**
 * `model_index.json` (which component lives in which folder) and `image_normalizer/config.json`.
 */
import { ConfigFields, type Json } from './fields.js';

/** The components this package loads, by their diffusers folder names. */
export const COMPONENTS = [
  'unet',
  'vae',
  'text_encoder',
  'tokenizer',
  'scheduler',
  'image_noising_scheduler',
  'image_normalizer',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** The components a pipeline may list that this package never loads (they encode images; we are given embeddings). */
export const NOT_LOADED = ['image_encoder', 'feature_extractor'] as const;

/** Components that may be null: the text side, when a text context is given. */
const OPTIONAL: readonly Component[] = ['text_encoder', 'tokenizer'];

export interface ModelIndex {
  /** `_class_name`, e.g. "StableUnCLIPImg2ImgPipeline". */
  className: string;
  /** [library, class] of each present component; null where model_index.json lists it as null. */
  components: Record<Component, [string, string] | null>;
}

export function parseModelIndex(json: Json, notes: string[] = [], what = 'model_index.json'): ModelIndex {
  const f = new ConfigFields(json, what, notes);
  const className = json._class_name;
  if (typeof className !== 'string') f.fail('_class_name', 'is missing (not a diffusers pipeline folder)');
  const components = {} as Record<Component, [string, string] | null>;
  for (const name of COMPONENTS) {
    f.accept(name);
    const v = json[name];
    const isPair = Array.isArray(v) && v.length === 2;
    if (isPair && v[0] === null && v[1] === null) {
      if (!OPTIONAL.includes(name)) f.fail(name, 'is null, but the decoder needs it');
      components[name] = null;
    } else if (isPair && typeof v[0] === 'string' && typeof v[1] === 'string') {
      components[name] = [v[0], v[1]];
    } else if (v === undefined || v === null) {
      if (!OPTIONAL.includes(name)) f.fail(name, 'is missing, but the decoder needs it');
      components[name] = null;
    } else {
      f.fail(name, `must be [library, class], got ${JSON.stringify(v)}`);
    }
  }
  for (const name of NOT_LOADED) {
    f.accept(name);
    if (json[name] !== undefined)
      notes.push(`${what}: ${name} is not loaded (only needed to encode images; the decoder is given embeddings)`);
  }
  f.accept('requires_safety_checker', 'safety_checker');
  f.finish();
  return { className: className as string, components };
}

export interface ImageNormalizerConfig {
  /** E: width of the image embedding (1024). */
  embeddingDim: number;
}

export function parseImageNormalizerConfig(
  json: Json,
  notes: string[] = [],
  what = 'image_normalizer/config.json',
): ImageNormalizerConfig {
  const f = new ConfigFields(json, what, notes);
  const cfg = { embeddingDim: f.int('embedding_dim', 768, 1) };
  f.finish();
  return cfg;
}
