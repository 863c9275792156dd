/**
 * The SEED image tokenizer (v2): images → 32 discrete codes each (what SEED-LLaMA reads as
 * `<img_xxxxx>` tokens), and codes → the 1024-d unCLIP image embedding the diffusion decoder draws from.
 *
 *   image ─ preprocess ─ EVA ViT-g ─ ln_vision ─ causal Q-Former ─ encode_task_layer ─ nearest code → ids
 *   ids ─ codebook ─ decode_task_layer ─ + pos_embed_image ─ 4 ViT blocks ─ image_down ─ distill_image_proj
 *
 * All activations are f32; the matrices are at the precision chosen at load. Work is enqueued on the
 * tokenizer's device and awaited only to read results, so the event loop stays free.
 */
import { type Device, scope, type Tensor, tensor } from '@seed/cuda-kernels';
import { type SeedTokenizerConfig, vitTokens } from './config.js';
import { type LoadSeedTokenizerOptions, loadSeedWeights } from './load.js';
import { evaVit, lnVision } from './model/eva-vit.js';
import { imageDecoder } from './model/image-decoder.js';
import { causalQueryMask, qformer } from './model/qformer.js';
import { decodeTask, encodeTask, nearestCodes } from './model/quantizer.js';
import { type ImageInput, preprocessImage } from './preprocess.js';
import type { SeedWeights } from './weights/seed-names.js';

/** Intermediate activations of one encode, for checking against a reference (f32, row-major). */
export interface EncodeActivations {
  /** [B, 257, W]: the last run ViT block's output. */
  vit: Float32Array;
  /** [B, 257, W]: after ln_vision. */
  lnVision: Float32Array;
  /** [B, 32, Q]: the Q-Former's last hidden state. */
  qformer: Float32Array;
  /** [B, 32, codeDim]: encode_task_layer's output, the vectors that are quantized. */
  z: Float32Array;
}

export interface EncodeOptions {
  /** Images per forward pass (default 4): bounds memory on big batches. */
  batchSize?: number;
  /** Called after each image is encoded. */
  onProgress?: (done: number, total: number) => void;
}

export class SeedTokenizer {
  private readonly queryMask: Tensor;
  private disposed = false;

  private constructor(
    readonly config: SeedTokenizerConfig,
    readonly device: Device,
    private readonly weights: SeedWeights,
    private readonly disposeWeights: () => void,
    /** The checkpoint files read. */
    readonly files: Readonly<Record<'quantizer' | 'vit', string>>,
    /** Tensors in the files that the tokenizer does not use ("file: name"). */
    readonly unused: readonly string[],
  ) {
    this.queryMask = causalQueryMask(config.numQueryTokens, device);
  }

  /** Load from a directory holding seed_quantizer.pt and eva_vit_g.pth (or their safetensors conversions). */
  static async load(dir: string, options: LoadSeedTokenizerOptions = {}): Promise<SeedTokenizer> {
    const w = await loadSeedWeights(dir, options);
    return new SeedTokenizer(w.config, w.device, w.weights, w.dispose, w.files, w.unused);
  }

  /** Codes per image (32). */
  get codesPerImage(): number {
    return this.config.numQueryTokens;
  }

  /** Images (paths, encoded bytes or raw pixels) → their codes, 32 ids in [0, codebookSize) each. */
  async encode(images: ImageInput | readonly ImageInput[], options: EncodeOptions = {}): Promise<number[][]> {
    const list = Array.isArray(images) ? (images as readonly ImageInput[]) : [images as ImageInput];
    const batchSize = options.batchSize ?? 4;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    const codes: number[][] = [];
    for (let i = 0; i < list.length; i += batchSize) {
      const batch = list.slice(i, i + batchSize);
      const pixels = await Promise.all(
        batch.map((img, j) =>
          preprocessImage(img, this.config.imageSize).catch((e: Error) => {
            throw new Error(`image ${i + j}${typeof img === 'string' ? ` (${img})` : ''}: ${e.message}`);
          }),
        ),
      );
      const flat = new Float32Array(pixels.reduce((n, p) => n + p.length, 0));
      for (const [j, p] of pixels.entries()) flat.set(p, j * p.length);
      codes.push(...(await this.encodePixels(flat, batch.length)));
      options.onProgress?.(codes.length, list.length);
    }
    return codes;
  }

  /** Preprocessed pixels [B, 3, S, S] (CLIP-normalised, CHW) → codes per image. */
  async encodePixels(pixels: Float32Array, batch: number): Promise<number[][]> {
    return (await this.runEncode(pixels, batch, false)).codes;
  }

  /** Like encodePixels, and also returns the intermediate activations. */
  async encodePixelsWithActivations(
    pixels: Float32Array,
    batch: number,
  ): Promise<{ codes: number[][] } & EncodeActivations> {
    return (await this.runEncode(pixels, batch, true)) as { codes: number[][] } & EncodeActivations;
  }

  private async runEncode(
    pixels: Float32Array,
    batch: number,
    keepActivations: boolean,
  ): Promise<{ codes: number[][] } & Partial<EncodeActivations>> {
    this.alive();
    const c = this.config;
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
    const expected = batch * 3 * c.imageSize * c.imageSize;
    if (!(pixels instanceof Float32Array) || pixels.length !== expected)
      throw new Error(
        `expected a Float32Array of ${batch}×3×${c.imageSize}×${c.imageSize} = ${expected} pixels, got ${pixels?.length}`,
      );
    const out = scope(() => {
      const vit = evaVit(pixels, batch, this.weights.vit, c, this.device); // [B, 257, W]
      const image = lnVision(vit, this.weights.lnVision);
      const query = qformer(image, this.weights, c, this.queryMask); // [B, 32, Q]
      const z = encodeTask(query, this.weights); // [B, 32, codeDim]
      const ids = nearestCodes(z, this.weights); // [B·32]
      return keepActivations ? { ids, vit, image, query, z } : { ids };
    });
    try {
      const ids = (await out.ids.data()) as Int32Array;
      const n = c.numQueryTokens;
      const codes = Array.from({ length: batch }, (_, b) => Array.from(ids.subarray(b * n, (b + 1) * n)));
      if (!keepActivations) return { codes };
      const read = async (t?: Tensor) => (await (t as Tensor).data()) as Float32Array;
      return {
        codes,
        vit: await read(out.vit),
        lnVision: await read(out.image),
        qformer: await read(out.query),
        z: await read(out.z),
      };
    } finally {
      for (const t of Object.values(out)) t?.dispose();
    }
  }

  /**
   * Codes → unCLIP image embeddings, one Float32Array [embedDim] per code sequence. Each sequence must be
   * exactly 32 integer ids in [0, codebookSize); anything else is an Error naming the sequence and position.
   */
  async decode(codes: readonly (readonly number[])[]): Promise<Float32Array[]> {
    this.alive();
    const c = this.config;
    const n = c.numQueryTokens;
    if (!Array.isArray(codes) || codes.length === 0)
      throw new Error('decode() takes a non-empty array of code sequences');
    const flat = new Int32Array(codes.length * n);
    codes.forEach((seq, b) => {
      if (!Array.isArray(seq) || seq.length !== n)
        throw new Error(
          `code sequence ${b} has ${Array.isArray(seq) ? seq.length : 'no'} codes; an image is exactly ${n}`,
        );
      seq.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= c.codebookSize)
          throw new Error(`code sequence ${b}, position ${i}: ${id} is not a code id in [0, ${c.codebookSize})`);
        flat[b * n + i] = id;
      });
    });
    const B = codes.length;
    const emb = scope(() => {
      const ids = tensor(flat, [B * n], { dtype: 'i32', device: this.device });
      return imageDecoder(decodeTask(ids, B, this.weights), this.weights, c); // [B, E]
    });
    try {
      const data = (await emb.data()) as Float32Array;
      return Array.from({ length: B }, (_, b) => data.slice(b * c.embedDim, (b + 1) * c.embedDim));
    } finally {
      emb.dispose();
    }
  }

  /** Tokens the ViT sees per image (257). */
  get imageTokens(): number {
    return vitTokens(this.config);
  }

  /** Free every weight. The tokenizer cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeWeights();
    this.queryMask.dispose();
  }

  private alive(): void {
    if (this.disposed) throw new Error('this SeedTokenizer was disposed');
  }
}
