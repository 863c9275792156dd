/**
 * DiffusionDecoder: a loaded SD-2.1-unCLIP folder and `generate(embeddings)` → images
 * (StableUnCLIPImg2ImgPipeline with image embeddings given; reference/unclip-decoder.md §5).
 * Checked step by step against the PyTorch reference (test/golden.test.ts).
 */

import { join } from 'node:path';
import { type Device, scope, type Tensor, tensor } from '@seed/cuda-kernels';
import { classLabels, guide, ImageNormalizer, noiseImageEmbeddings } from './conditioning.js';
import { type RgbImage, toRgb8 } from './image.js';
import { concat } from './kernels.js';
import { type DecoderConfigs, type LoadDecoderOptions, type LoadedDecoder, loadDecoder } from './load.js';
import { clipTextForward } from './model/clip-text.js';
import { unetForward } from './model/unet.js';
import { vaeDecode } from './model/vae-decoder.js';
import { gaussianNoise, NOISE_STREAM } from './noise.js';
import { createScheduler, DdpmNoiser, type SchedulerName } from './schedulers/index.js';
import { ClipTokenizer } from './tokenizer/clip-tokenizer.js';

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
  /** Pixels, multiples of 64; default sample_size · 8 (768). */
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
  /** The text context [1, 77, C] (else computed with the text encoder). */
  context?: Float32Array;
  signal?: AbortSignal;
  /** After each UNet call + scheduler step: its number (from 1), the total, its seconds, and the latents it
   * produced [1, L, h, w] (the caller's own copy; how other implementations are compared step for step). */
  onStep?: (step: number, total: number, seconds: number, latents: Float32Array) => void;
}

export class DiffusionDecoder {
  private constructor(
    private readonly loaded: LoadedDecoder,
    private readonly tokenizer: ClipTokenizer | undefined,
    private readonly normalizer: ImageNormalizer,
    readonly dtype: 'f32' | 'f16' | 'bf16',
  ) {}

  /** Load a diffusers StableUnCLIP folder. */
  static async load(dir: string, options: LoadDecoderOptions = {}): Promise<DiffusionDecoder> {
    const loaded = await loadDecoder(dir, options);
    try {
      const tokenizer = loaded.hasTokenizer ? ClipTokenizer.fromDirectory(join(dir, 'tokenizer')) : undefined;
      const mean = (await loaded.normalizer.mean.data()) as Float32Array;
      const std = (await loaded.normalizer.std.data()) as Float32Array;
      return new DiffusionDecoder(loaded, tokenizer, new ImageNormalizer(mean, std), options.dtype ?? 'f32');
    } catch (e) {
      loaded.dispose();
      throw e;
    }
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

  /** The text context [1, T, C] of a prompt (needs text_encoder/ and tokenizer/). */
  encodePrompt(prompt: string): Tensor {
    if (!this.tokenizer || !this.loaded.textEncoder || !this.configs.textEncoder)
      throw new Error('this decoder was loaded without text_encoder/ or tokenizer/; give a text context instead');
    const ids = this.tokenizer.encode(prompt);
    return clipTextForward(this.configs.textEncoder, this.loaded.textEncoder, ids, 1);
  }

  /**
   * Draw one image per embedding row [N, E].
   */
  async generate(embeddings: Float32Array, options: GenerateOptions = {}): Promise<RgbImage[]> {
    const E = this.embeddingDim;
    if (embeddings.length === 0 || embeddings.length % E !== 0)
      throw new Error(`embeddings have ${embeddings.length} values; expected [N, ${E}]`);
    const c = this.configs;
    const steps = options.steps ?? 20;
    const guidance = options.guidance ?? 10;
    const noiseLevel = options.noiseLevel ?? 0;
    const seed = options.seed ?? 0;
    const side = (c.unet.sampleSize ?? 96) * 8;
    const width = options.width ?? side;
    const height = options.height ?? side;
    for (const [name, v] of [
      ['width', width],
      ['height', height],
    ] as const)
      if (!Number.isInteger(v) || v < 64 || v % 64 !== 0)
        throw new Error(`${name} must be a positive multiple of 64, got ${v}`);
    const images: RgbImage[] = [];
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
  ): Promise<RgbImage> {
    const c = this.configs;
    const device = this.device;
    const dtype = this.dtype;
    const E = this.embeddingDim;
    const L = c.unet.inChannels;
    const h = o.height / 8;
    const w = o.width / 8;
    const cfg = o.guidance > 1;
    // ---- conditioning: class labels [2 or 1, 2E] ----
    const noiser = new DdpmNoiser(c.imageNoisingScheduler);
    const eps = o.imageNoise ?? gaussianNoise(E, o.seed, NOISE_STREAM.imageNoise);
    const cond = noiseImageEmbeddings(embedding, o.noiseLevel, eps, this.normalizer, noiser);
    const neg =
      o.negativeEmbedding && noiseImageEmbeddings(o.negativeEmbedding, o.noiseLevel, eps, this.normalizer, noiser);
    const labels = cfg ? classLabels(cond, neg) : cond;
    const rows = cfg ? 2 : 1;
    const labelsT = tensor(labels, [rows, 2 * E], { dtype, device });
    // ---- text context [rows, 77, C]: uncond ("") first ----
    const Cc = c.unet.crossAttentionDim;
    if (o.context && (o.context.length === 0 || o.context.length % Cc !== 0))
      throw new Error(`context has ${o.context.length} values; expected [1, T, ${Cc}]`);
    const ctx1 = o.context
      ? tensor(o.context, [1, o.context.length / Cc, Cc], { dtype, device })
      : this.encodePrompt(o.prompt ?? '');
    const uncondCtx = cfg && o.prompt && !o.context ? this.encodePrompt('') : ctx1;
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
    // ---- decode ----
    const img = scope(() => vaeDecode(c.vae, this.loaded.vae, tensor(latents, [1, L, h, w], { dtype, device })));
    const values = (await img.data()) as Float32Array;
    img.dispose();
    for (const t of new Set([labelsT, ctx1, uncondCtx, context])) t.dispose();
    return toRgb8(values, o.height, o.width);
  }

  /** Free every weight. */
  dispose(): void {
    this.loaded.dispose();
  }
}
