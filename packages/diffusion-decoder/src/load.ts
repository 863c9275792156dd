/**
 * Loading a diffusers StableUnCLIP folder as published: model_index.json, then each component's config and
 * weights. image_encoder/ and feature_extractor/ are never read (a note says so). Weights per component:
 * `diffusion_pytorch_model.safetensors` (UNet, VAE, normalizer) or `model.safetensors` (text encoder), the
 * `.fp16.safetensors` variant when asked, else the `.bin` pickles through the restricted reader. Every table
 * is checked by the shared loader before anything is allocated.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Device, type LoadDType, loadWeights, openWeights, type WeightTree } from '@seed/cuda-kernels';
import { readJsonObject } from './config/fields.js';
import { type ModelIndex, parseImageNormalizerConfig, parseModelIndex } from './config/pipeline.js';
import { parseSchedulerConfig, type SchedulerConfig } from './config/scheduler.js';
import { type ClipTextConfig, parseClipTextConfig } from './config/text-encoder.js';
import { parseUNetConfig, type UNetConfig } from './config/unet.js';
import { parseVaeConfig, type VaeConfig } from './config/vae.js';
import { STORED_CONTEXT } from './text-context.js';
import { CLIP_TEXT_UNUSED, type ClipTextWeights, clipTextWeightSpecs } from './weights/clip-text-names.js';
import { type NormalizerWeights, normalizerWeightSpecs } from './weights/normalizer-names.js';
import { type UNetWeights, unetWeightSpecs } from './weights/unet-names.js';
import { VAE_UNUSED, type VaeWeights, vaeWeightSpecs } from './weights/vae-names.js';

/** Precision of the loaded matrices and conv kernels (norms, biases and the normalizer stay f32). */
export type DecoderDType = 'f32' | 'f16' | 'bf16';

export interface LoadDecoderOptions {
  /** Default 'f32'. */
  dtype?: DecoderDType;
  /** 'cpu' (default) or 'cuda:N'. */
  device?: Device | string;
  /** Read the `.fp16.safetensors` files (diffusers' variant="fp16"); default false. */
  variant?: 'fp16';
  /** Skip the text encoder and tokenizer even when present (a text context will be given). */
  skipText?: boolean;
  /** Parse text_encoder/ but leave its weights unloaded (see {@link loadTextEncoder}). */
  deferText?: boolean;
  onProgress?: (component: string, loaded: number, total: number, name: string) => void;
}

export interface DecoderConfigs {
  modelIndex: ModelIndex;
  unet: UNetConfig;
  vae: VaeConfig;
  textEncoder: ClipTextConfig | undefined;
  scheduler: SchedulerConfig;
  imageNoisingScheduler: SchedulerConfig;
  embeddingDim: number;
}

export interface LoadedDecoder {
  configs: DecoderConfigs;
  device: Device;
  unet: UNetWeights;
  vae: VaeWeights;
  /** Undefined without text_encoder/, or when deferred. */
  textEncoder: ClipTextWeights | undefined;
  normalizer: NormalizerWeights;
  /** Whether tokenizer/ is there to read (the tokenizer itself is read by ClipTokenizer.fromDirectory). */
  hasTokenizer: boolean;
  /** What was ignored or skipped: unknown config fields, components not loaded. */
  notes: string[];
  dispose(): void;
}

/** Read and check every config of the folder (no weights). */
export function readDecoderConfigs(dir: string, notes: string[] = [], skipText = false): DecoderConfigs {
  if (!existsSync(dir)) throw new Error(`${dir}: no such directory`);
  const at = (...p: string[]) => join(dir, ...p);
  const modelIndex = parseModelIndex(readJsonObject(at('model_index.json')), notes, at('model_index.json'));
  const cfg = <T>(folder: string, file: string, parse: (j: Record<string, unknown>, n: string[], what: string) => T) =>
    parse(readJsonObject(at(folder, file)), notes, at(folder, file));
  const hasText = !skipText && modelIndex.components.text_encoder !== null;
  return {
    modelIndex,
    unet: cfg('unet', 'config.json', parseUNetConfig),
    vae: cfg('vae', 'config.json', parseVaeConfig),
    textEncoder: hasText ? cfg('text_encoder', 'config.json', parseClipTextConfig) : undefined,
    scheduler: cfg('scheduler', 'scheduler_config.json', parseSchedulerConfig),
    imageNoisingScheduler: cfg('image_noising_scheduler', 'scheduler_config.json', parseSchedulerConfig),
    embeddingDim: cfg('image_normalizer', 'config.json', parseImageNormalizerConfig).embeddingDim,
  };
}

/**
 * The weight file of a component folder: safetensors first, then .bin. With `variant: 'fp16'` the `.fp16`
 * files come first and the plain ones are the fallback (a published folder may lack the variant for a
 * component; `notes` then says which file was read instead).
 */
export function componentWeightsPath(
  folder: string,
  base: 'diffusion_pytorch_model' | 'model',
  variant?: 'fp16',
  notes?: string[],
): string {
  const bin = base === 'model' ? 'pytorch_model' : base;
  const plain = [`${base}.safetensors`, `${bin}.bin`];
  const wanted = variant ? [`${base}.${variant}.safetensors`, `${bin}.${variant}.bin`] : plain;
  const find = (names: string[]) => names.map((n) => join(folder, n)).find((p) => existsSync(p));
  const found = find(wanted);
  if (found) return found;
  const fallback = variant ? find(plain) : undefined;
  if (!fallback) throw new Error(`${folder}: no ${[...new Set([...wanted, ...plain])].join(' or ')}`);
  notes?.push(`${folder}: no ${variant} variant (${wanted.join(' or ')}); read ${fallback}`);
  return fallback;
}

/** The shared loader on one component's weight file (checks names and shapes, then memory, then allocates). */
async function loadComponent<T extends WeightTree>(
  dir: string,
  folder: string,
  base: 'diffusion_pytorch_model' | 'model',
  specs: T,
  what: string,
  options: LoadDecoderOptions,
  notes: string[],
  ignore: RegExp[] = [],
) {
  const dtype = options.dtype ?? 'f32';
  const path = componentWeightsPath(join(dir, folder), base, options.variant, notes);
  const file = openWeights(path);
  try {
    return await loadWeights({
      specs,
      files: file,
      what,
      source: path,
      dtype: dtype as LoadDType,
      device: options.device ?? 'cpu',
      unexpected: 'error',
      ignore,
      memoryHint: dtype === 'f32' ? 'try dtype f16' : undefined,
      onProgress: options.onProgress && ((n, total, name) => options.onProgress?.(folder, n, total, name)),
    });
  } finally {
    file.close();
  }
}

/** The text encoder's weights alone (a decoder that deferred them loads them on the first non-empty prompt). */
export async function loadTextEncoder(
  dir: string,
  config: ClipTextConfig,
  options: LoadDecoderOptions = {},
  notes: string[] = [],
) {
  return loadComponent(
    dir,
    'text_encoder',
    'model',
    clipTextWeightSpecs(config),
    'the text encoder',
    options,
    notes,
    CLIP_TEXT_UNUSED,
  );
}

export async function loadDecoder(dir: string, options: LoadDecoderOptions = {}): Promise<LoadedDecoder> {
  const dtype = options.dtype ?? 'f32';
  if (!['f32', 'f16', 'bf16'].includes(dtype)) throw new Error(`unknown dtype '${dtype}' (expected f32, f16 or bf16)`);
  const notes: string[] = [];
  const configs = readDecoderConfigs(dir, notes, options.skipText);
  const E = configs.embeddingDim;
  const P = configs.unet.projectionClassInputDim;
  if (configs.unet.classEmbedType !== 'projection')
    throw new Error(`${join(dir, 'unet/config.json')}: class_embed_type must be "projection" for an unCLIP decoder`);
  if (P !== 2 * E)
    throw new Error(
      `${join(dir, 'unet/config.json')}: projection_class_embeddings_input_dim ${P} is not 2 × the image_normalizer's embedding_dim ${E}`,
    );
  if (configs.unet.outChannels !== configs.vae.latentChannels || configs.unet.inChannels !== configs.vae.latentChannels)
    throw new Error(
      `${dir}: the UNet's in/out channels (${configs.unet.inChannels}/${configs.unet.outChannels}) do not match the VAE's latent_channels ${configs.vae.latentChannels}`,
    );
  if (configs.textEncoder && configs.textEncoder.hiddenSize !== configs.unet.crossAttentionDim)
    throw new Error(
      `${dir}: text_encoder hidden_size ${configs.textEncoder.hiddenSize} ≠ unet cross_attention_dim ${configs.unet.crossAttentionDim}`,
    );

  const loaded: { dispose(): void }[] = [];
  const load = async <T extends WeightTree>(
    folder: string,
    base: 'diffusion_pytorch_model' | 'model',
    specs: T,
    what: string,
    ignore: RegExp[] = [],
  ) => {
    const r = await loadComponent(dir, folder, base, specs, what, options, notes, ignore);
    loaded.push(r);
    return r;
  };
  try {
    const unet = await load('unet', 'diffusion_pytorch_model', unetWeightSpecs(configs.unet), 'the UNet');
    const vae = await load(
      'vae',
      'diffusion_pytorch_model',
      vaeWeightSpecs(configs.vae),
      'the VAE decoder',
      VAE_UNUSED,
    );
    const normalizer = await load(
      'image_normalizer',
      'diffusion_pytorch_model',
      normalizerWeightSpecs(E),
      'the image normalizer',
    );
    const text =
      configs.textEncoder && !options.deferText
        ? await loadTextEncoder(dir, configs.textEncoder, options, notes)
        : undefined;
    if (text) loaded.push(text);
    if (!configs.textEncoder)
      notes.push(`${dir}: no text encoder (the empty prompt's context comes from ${STORED_CONTEXT}, or is given)`);
    const hasTokenizer =
      !options.skipText &&
      configs.modelIndex.components.tokenizer !== null &&
      existsSync(join(dir, 'tokenizer', 'vocab.json'));
    return {
      configs,
      device: unet.device,
      unet: unet.weights,
      vae: vae.weights,
      textEncoder: text?.weights,
      normalizer: normalizer.weights,
      hasTokenizer,
      notes,
      dispose: () => {
        for (const l of loaded) l.dispose();
      },
    };
  } catch (e) {
    for (const l of loaded) l.dispose();
    throw e;
  }
}
