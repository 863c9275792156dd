/**
 * DiffusionDecoder: a loaded SD-2.1-unCLIP folder and `generate(embeddings)` → images
 * (StableUnCLIPImg2ImgPipeline with image embeddings given; reference/unclip-decoder.md §5).
 * Checked step by step against the PyTorch reference (test/golden.test.ts).
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Device, scope, type Tensor, tensor } from '@seed/cuda-kernels';
import { classLabels, guide, ImageNormalizer, noiseImageEmbeddings } from './conditioning.js';
import { checkImageSize, type ImageGeometry, imageGeometry } from './geometry.js';
import { type RgbImage, toRgb8 } from './image.js';
import { concat } from './kernels.js';
import {
  componentWeightsPath,
  type DecoderConfigs,
  type LoadDecoderOptions,
  type LoadedDecoder,
  loadDecoder,
  loadTextEncoder,
  readDecoderConfigs,
} from './load.js';
import { clipTextForward } from './model/clip-text.js';
import { unetForward } from './model/unet.js';
import { vaeDecode, vaeDecodeTiled } from './model/vae-decoder.js';
import { gaussianNoise, NOISE_STREAM } from './noise.js';
import { createScheduler, DdpmNoiser, type SchedulerName } from './schedulers/index.js';
import {
  contextCacheName,
  fileSha256,
  readTextContext,
  storedContextPath,
  type TextContext,
  writeTextContext,
} from './text-context.js';
import { ClipTokenizer } from './tokenizer/clip-tokenizer.js';
import type { ClipTextWeights } from './weights/clip-text-names.js';

export interface GenerateOptions {
  /** Default 20 (21 UNet calls with PNDM). */
  steps?: number;
  /** Classifier-free guidance scale; default 10 (SEED). ≤ 1 turns CFG off. */
  guidance?: number;
  /** DDPM timestep of the embedding's noise augmentation; default 0. */
  noiseLevel?: number;
  /** Seed for the latents and the embedding noise; default 0. */
  seed?: number;
  /** Default 'pndm' (the folder's scheduler). */
  scheduler?: SchedulerName;
  /** Pixels, multiples of {@link DiffusionDecoder.geometry}'s `multiple` (64 for SD-2.1); default its
   * `defaultSize` (UNet sample_size × the VAE's scale: 768). */
  width?: number;
  height?: number;
  /** Text prompt; default "" (SEED). */
  prompt?: string;
  /** Replaces the all-zero unconditional class label by this embedding, noised the same way. */
  negativeEmbedding?: Float32Array;
  /** Starting latents [1, 4, h, w] (else seeded noise). */
  latents?: Float32Array;
  /** The embedding's DDPM noise [E] (else seeded). */
  imageNoise?: Float32Array;
  /** The text context [1, T, C] (else the empty prompt's, or the prompt's through the text encoder). */
  context?: Float32Array;
  /** Decode the VAE in tiles of this many pixels (a multiple of the VAE's scale), a quarter of it shared with
   * each neighbour: memory bounded by the tile instead of the image (768×768 on small machines). */
  vaeTile?: number;
  signal?: AbortSignal;
  /** After each UNet call + scheduler step: its number (from 1), the total, its seconds, and the latents it
   * produced [1, L, h, w] (the caller's own copy; how other implementations are compared step for step). */
  onStep?: (step: number, total: number, seconds: number, latents: Float32Array) => void;
}

export interface DecoderLoadOptions extends LoadDecoderOptions {
  /** Where the empty prompt's context is cached (default `DIR/text_context`); false: never read or write it. */
  contextCache?: string | false;
}

/** One drawn image: RGB8 pixels, plus the final latents [1, L, h, w] and the VAE's output [3, H, W] (≈[−1, 1]). */
export interface DecodedImage extends RgbImage {
  latents: Float32Array;
  raw: Float32Array;
}

export class DiffusionDecoder {
  private textWeights: { weights: ClipTextWeights; dispose(): void } | undefined;

  private constructor(
    private readonly dir: string,
    private readonly options: DecoderLoadOptions,
    private readonly loaded: LoadedDecoder,
    private readonly tokenizer: ClipTokenizer | undefined,
    private readonly normalizer: ImageNormalizer,
    private emptyContext: TextContext | undefined,
    readonly dtype: 'f32' | 'f16' | 'bf16',
  ) {}

  /**
   * Load a diffusers StableUnCLIP folder. The empty prompt's context comes from the cache next to the model
   * when it was computed before with the same text encoder file (the text encoder's weights then load only for
   * a non-empty prompt), else it is computed now and cached; a folder without text_encoder/ may ship it as
   * text_context/empty_prompt.safetensors.
   */
  static async load(dir: string, options: DecoderLoadOptions = {}): Promise<DiffusionDecoder> {
    const dtype = options.dtype ?? 'f32';
    const notes: string[] = [];
    const configs = readDecoderConfigs(dir, [], options.skipText);
    const width = configs.unet.crossAttentionDim;
    let context: TextContext | undefined;
    let cache: { path: string; dir: string; sha256: string } | undefined;
    if (configs.textEncoder) {
      if (options.contextCache !== false) {
        const file = componentWeightsPath(join(dir, 'text_encoder'), 'model', options.variant);
        const sha256 = await fileSha256(file);
        const cacheDir = options.contextCache ?? join(dir, 'text_context');
        cache = { path: join(cacheDir, contextCacheName(sha256, dtype)), dir: cacheDir, sha256 };
        if (existsSync(cache.path))
          try {
            context = await readTextContext(cache.path, width, sha256);
            notes.push(`the empty prompt's context was read from the cache ${cache.path}`);
          } catch (e) {
            notes.push(`the cached context was not used: ${(e as Error).message}`);
          }
      }
    } else if (!options.skipText) {
      const stored = storedContextPath(dir);
      if (stored) {
        context = await readTextContext(stored, width);
        notes.push(`the empty prompt's context is ${stored}`);
      }
    }
    const loaded = await loadDecoder(dir, { ...options, deferText: context !== undefined });
    loaded.notes.push(...notes);
    try {
      const tokenizer = loaded.hasTokenizer ? ClipTokenizer.fromDirectory(join(dir, 'tokenizer')) : undefined;
      const mean = (await loaded.normalizer.mean.data()) as Float32Array;
      const std = (await loaded.normalizer.std.data()) as Float32Array;
      const d = new DiffusionDecoder(dir, options, loaded, tokenizer, new ImageNormalizer(mean, std), context, dtype);
      if (!context && configs.textEncoder && tokenizer) {
        const t = await d.encodePrompt('');
        const values = ((await t.data()) as Float32Array).slice();
        d.emptyContext = { values, tokens: t.shape[1] };
        t.dispose();
        if (cache)
          try {
            await writeTextContext(cache.path, cache.dir, d.emptyContext, cache.sha256);
          } catch (e) {
            loaded.notes.push(`the empty prompt's context was not cached: ${(e as Error).message}`);
          }
      }
      return d;
    } catch (e) {
      loaded.dispose();
      throw e;
    }
  }

  /** Image sizes this model allows: the VAE's scale, the multiple every side must be, the default side. */
  get geometry(): ImageGeometry {
    return imageGeometry(this.configs);
  }

  get configs(): DecoderConfigs {
    return this.loaded.configs;
  }

  get device(): Device {
    return this.loaded.device;
  }

  /** Unknown config fields ignored and components not loaded. */
  get notes(): readonly string[] {
    return this.loaded.notes;
  }

  /** Width of the image embedding (1024). */
  get embeddingDim(): number {
    return this.configs.embeddingDim;
  }

  /** The text context [1, T, C] of a prompt (needs text_encoder/ and tokenizer/; loads deferred weights). */
  async encodePrompt(prompt: string): Promise<Tensor> {
    const config = this.configs.textEncoder;
    if (!this.tokenizer || !config)
      throw new Error('this decoder was loaded without text_encoder/ or tokenizer/; give a text context instead');
    let weights = this.loaded.textEncoder ?? this.textWeights?.weights;
    if (!weights) {
      this.textWeights = await loadTextEncoder(this.dir, config, this.options);
      weights = this.textWeights.weights;
    }
    return clipTextForward(config, weights, this.tokenizer.encode(prompt), 1);
  }

  /** The context of the empty prompt [1, T, C] (cached, stored with the model, or computed at load). */
  get emptyPromptContext(): Float32Array | undefined {
    return this.emptyContext?.values;
  }

  /**
   * Draw one image per embedding row [N, E].
   */
  async generate(embeddings: Float32Array, options: GenerateOptions = {}): Promise<DecodedImage[]> {
    const E = this.embeddingDim;
    if (embeddings.length === 0 || embeddings.length % E !== 0)
      throw new Error(`embeddings have ${embeddings.length} values; expected [N, ${E}]`);
    const steps = options.steps ?? 20;
    const guidance = options.guidance ?? 10;
    const noiseLevel = options.noiseLevel ?? 0;
    const seed = options.seed ?? 0;
    const g = this.geometry;
    const width = options.width ?? g.defaultSize;
    const height = options.height ?? g.defaultSize;
    checkImageSize(g, width, height);
    if (
      options.vaeTile !== undefined &&
      (!Number.isInteger(options.vaeTile) || options.vaeTile < g.vaeScale || options.vaeTile % g.vaeScale !== 0)
    )
      throw new Error(`vaeTile must be a positive multiple of ${g.vaeScale} pixels, got ${options.vaeTile}`);
    if (!options.context && !this.emptyContext && !this.configs.textEncoder)
      throw new Error(
        `${this.dir} has no text_encoder/ and no text_context/empty_prompt.safetensors: give a text context`,
      );
    const images: DecodedImage[] = [];
    for (let i = 0; i < embeddings.length / E; i++)
      images.push(
        await this.generateOne(embeddings.subarray(i * E, (i + 1) * E), {
          ...options,
          steps,
          guidance,
          noiseLevel,
          seed,
          width,
          height,
        }),
      );
    return images;
  }

  private async generateOne(
    embedding: Float32Array,
    o: GenerateOptions &
      Required<Pick<GenerateOptions, 'steps' | 'guidance' | 'noiseLevel' | 'seed' | 'width' | 'height'>>,
  ): Promise<DecodedImage> {
    const c = this.configs;
    const device = this.device;
    const dtype = this.dtype;
    const E = this.embeddingDim;
    const L = c.unet.inChannels;
    const { vaeScale } = this.geometry;
    const h = o.height / vaeScale;
    const w = o.width / vaeScale;
    const cfg = o.guidance > 1;
    // ---- conditioning: class labels [2 or 1, 2E] ----
    const noiser = new DdpmNoiser(c.imageNoisingScheduler);
    const eps = o.imageNoise ?? gaussianNoise(E, o.seed, NOISE_STREAM.imageNoise);
    // In the weights' dtype, as upstream holds the embeddings (f16: ᾱ₀ rounds to 1, level 0 adds no noise).
    const cond = noiseImageEmbeddings(embedding, o.noiseLevel, eps, this.normalizer, noiser, dtype);
    const neg =
      o.negativeEmbedding &&
      noiseImageEmbeddings(o.negativeEmbedding, o.noiseLevel, eps, this.normalizer, noiser, dtype);
    const labels = cfg ? classLabels(cond, neg) : cond;
    const rows = cfg ? 2 : 1;
    const labelsT = tensor(labels, [rows, 2 * E], { dtype, device });
    // ---- text context [rows, 77, C]: uncond ("") first ----
    const Cc = c.unet.crossAttentionDim;
    if (o.context && (o.context.length === 0 || o.context.length % Cc !== 0))
      throw new Error(`context has ${o.context.length} values; expected [1, T, ${Cc}]`);
    const empty = async () =>
      this.emptyContext
        ? tensor(this.emptyContext.values, [1, this.emptyContext.tokens, Cc], { dtype, device })
        : this.encodePrompt('');
    const ctx1 = o.context
      ? tensor(o.context, [1, o.context.length / Cc, Cc], { dtype, device })
      : o.prompt
        ? await this.encodePrompt(o.prompt)
        : await empty();
    const uncondCtx = cfg && o.prompt && !o.context ? await empty() : ctx1;
    if (uncondCtx.shape[1] !== ctx1.shape[1])
      throw new Error(`the prompt's context has ${ctx1.shape[1]} tokens, the empty prompt's ${uncondCtx.shape[1]}`);
    const context = cfg ? concat([uncondCtx, ctx1], 0) : ctx1;
    // ---- the sampling loop ----
    const scheduler = createScheduler(o.scheduler ?? 'pndm', c.scheduler);
    scheduler.setTimesteps(o.steps);
    const count = L * h * w;
    let latents = o.latents ?? gaussianNoise(count, o.seed, NOISE_STREAM.latents);
    if (latents.length !== count)
      throw new Error(`latents have ${latents.length} values, expected [1, ${L}, ${h}, ${w}]`);
    latents = latents.map((v) => v * scheduler.initNoiseSigma);
    const total = scheduler.timesteps.length;
    for (const [i, t] of scheduler.timesteps.entries()) {
      o.signal?.throwIfAborted();
      const start = performance.now();
      const out = scope(() => {
        const x = tensor(latents, [1, L, h, w], { dtype, device });
        const input = cfg ? concat([x, x], 0) : x;
        return unetForward(c.unet, this.loaded.unet, input, t, context, labelsT);
      });
      const pred = (await out.data()) as Float32Array;
      out.dispose();
      latents = scheduler.step(cfg ? guide(pred, o.guidance) : pred, t, latents);
      o.onStep?.(i + 1, total, (performance.now() - start) / 1000, latents.slice());
    }
    for (const t of new Set([labelsT, ctx1, uncondCtx, context])) t.dispose();
    // ---- decode ----
    let raw: Float32Array;
    if (o.vaeTile !== undefined && (o.vaeTile < o.width || o.vaeTile < o.height)) {
      const tile = o.vaeTile / vaeScale;
      raw = await vaeDecodeTiled(c.vae, this.loaded.vae, latents, h, w, {
        tile,
        overlap: Math.floor(tile / 4),
        dtype,
        device,
      });
    } else {
      const img = scope(() => vaeDecode(c.vae, this.loaded.vae, tensor(latents, [1, L, h, w], { dtype, device })));
      raw = ((await img.data()) as Float32Array).slice();
      img.dispose();
    }
    return { ...toRgb8(raw, o.height, o.width), latents, raw };
  }

  /** Free every weight. */
  dispose(): void {
    this.loaded.dispose();
    this.textWeights?.dispose();
    this.textWeights = undefined;
  }
}
