/**
 * SEED-LLaMA as one object: the LLM (`@seed/llama-core`), the SEED image tokenizer (`@seed/seed-tokenizer`)
 * and, for drawing, a diffusion decoder — loaded from one model directory (`llm/`, `tokenizer/`,
 * `decoder/`) or three. Components may sit on different devices. One loaded model serves many sessions:
 * requests are queued on it, and they share one KV cache (a session's next turn reuses what it still holds).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Device, requireDevice } from '@seed/cuda-kernels';
import type { DecoderDType } from '@seed/diffusion-decoder';
import {
  type ChatTemplateName,
  chatStopStrings,
  KvCache,
  type LoadedLlama,
  loadLlama,
  type WeightDType,
} from '@seed/llama-core';
import { type SeedTokenizer, type SeedWeightDType, SeedTokenizer as Tokenizer } from '@seed/seed-tokenizer';
import sharp from 'sharp';
import { loadDiffusionDrawer } from './diffusion-drawer.js';
import type { DrawnImage, DrawOptions, ImageDecoder } from './image-decoder.js';
import { ImageVocabulary } from './image-tokens.js';
import { RequestQueue } from './request-queue.js';
import { Session, type SessionOptions } from './session.js';

export type Component = 'llm' | 'tokenizer' | 'decoder';

export interface SeedLlamaOptions {
  /** A model directory holding `llm/`, `tokenizer/` and (optionally) `decoder/`. */
  dir?: string;
  /** Or each component's directory (these override `dir`'s). */
  llm?: string;
  tokenizer?: string;
  /** The diffusion decoder: a directory (loaded on the first image to draw), or a loaded decoder. */
  decoder?: string | ImageDecoder;
  /** Device of every component (default 'cpu'), or per component. */
  device?: Device | string | Partial<Record<Component, Device | string>>;
  /** LLM weight precision (default 'auto'; 'int8' quantizes at load). */
  dtype?: WeightDType;
  /** Image tokenizer matrix precision (default 'auto'). */
  tokenizerDType?: SeedWeightDType;
  /** Decoder precision (default 'f32'). */
  decoderDType?: DecoderDType;
  /** Chat template; default from the LLM's size (14B: llama2, else vicuna). */
  template?: ChatTemplateName;
  /** Requests allowed to wait behind the running one (default unbounded). */
  maxWaiting?: number;
  onProgress?: (component: Component, loaded: number, total: number, name: string) => void;
  /** How a decoder directory is loaded; default `@seed/diffusion-decoder`'s DiffusionDecoder. */
  loadDecoder?: (dir: string, device: Device) => Promise<ImageDecoder>;
}

export class SeedLlama {
  readonly queue: RequestQueue;
  readonly vocab: ImageVocabulary;
  readonly stopStrings: readonly string[];
  /** @internal The KV cache every session's turns run in (one at a time). */
  readonly cache: KvCache;
  private decoder: ImageDecoder | undefined;
  private decoderLoading: Promise<ImageDecoder> | undefined;
  private disposed = false;

  private constructor(
    readonly llm: LoadedLlama,
    readonly imageTokenizer: SeedTokenizer,
    readonly template: ChatTemplateName,
    private readonly decoderSource:
      | { dir: string; device: Device; load: (dir: string, device: Device) => Promise<ImageDecoder> }
      | ImageDecoder
      | undefined,
    maxWaiting: number,
  ) {
    this.queue = new RequestQueue(maxWaiting);
    this.vocab = new ImageVocabulary(llm.tokenizer, imageTokenizer.config.codebookSize, imageTokenizer.codesPerImage);
    this.stopStrings = chatStopStrings(template);
    this.cache = new KvCache(llm.config, llm.model.device);
  }

  /** Load the LLM and the image tokenizer now; the decoder on the first image it must draw. */
  static async load(options: SeedLlamaOptions | string): Promise<SeedLlama> {
    const o = typeof options === 'string' ? { dir: options } : options;
    const dirOf = (c: Component) => {
      const explicit = c === 'decoder' ? (typeof o.decoder === 'string' ? o.decoder : undefined) : o[c];
      if (explicit) return explicit;
      if (!o.dir) return undefined;
      const d = join(o.dir, c);
      return existsSync(d) && statSync(d).isDirectory() ? d : undefined;
    };
    const deviceOf = (c: Component): Device => {
      const d = o.device;
      return requireDevice((typeof d === 'object' ? d[c] : d) ?? 'cpu');
    };
    const llmDir = dirOf('llm');
    const tokDir = dirOf('tokenizer');
    if (!llmDir || !tokDir)
      throw new Error(
        o.dir
          ? `${o.dir}: a SEED-LLaMA model directory holds llm/ and tokenizer/ (and decoder/ to draw); missing ${[!llmDir && 'llm/', !tokDir && 'tokenizer/'].filter(Boolean).join(' and ')}`
          : 'SeedLlama.load needs a model directory, or the llm and tokenizer directories',
      );
    const llm = await loadLlama(llmDir, {
      dtype: o.dtype,
      device: deviceOf('llm'),
      onProgress: (a, b, n) => o.onProgress?.('llm', a, b, n),
    });
    let tokenizer: SeedTokenizer;
    try {
      tokenizer = await Tokenizer.load(tokDir, {
        dtype: o.tokenizerDType,
        device: deviceOf('tokenizer'),
        onProgress: (a, b, n) => o.onProgress?.('tokenizer', a, b, n),
      });
    } catch (e) {
      llm.dispose();
      throw e;
    }
    const decoderDir = dirOf('decoder');
    const decoder =
      typeof o.decoder === 'object'
        ? o.decoder
        : decoderDir
          ? {
              dir: decoderDir,
              device: deviceOf('decoder'),
              load: o.loadDecoder ?? ((d: string, dev: Device) => loadDiffusionDrawer(d, dev, o.decoderDType)),
            }
          : undefined;
    try {
      return new SeedLlama(
        llm,
        tokenizer,
        o.template ?? llm.chatTemplate,
        decoder,
        o.maxWaiting ?? Number.POSITIVE_INFINITY,
      );
    } catch (e) {
      llm.dispose();
      tokenizer.dispose();
      throw e;
    }
  }

  /** A new conversation on this model. */
  session(options: SessionOptions = {}): Session {
    this.alive();
    return new Session(this, options);
  }

  /** Whether images the model writes can be drawn (a decoder was given), or only returned as codes. */
  get canDraw(): boolean {
    return this.decoderSource !== undefined;
  }

  /**
   * Codes → unCLIP embedding → picture (PNG). Without a decoder, returns nothing: the caller gets the codes
   * only. The decoder is loaded on first use.
   * @internal sessions call it while they hold the queue
   */
  async drawCodes(codes: readonly number[], options: DrawOptions): Promise<Partial<DrawnImage> & { png?: Uint8Array }> {
    if (!this.decoderSource) return {};
    this.vocab.checkCodes(codes);
    const [embedding] = await this.imageTokenizer.decode([codes]);
    const decoder = await this.loadedDecoder();
    const image = await decoder.draw(embedding, options);
    const png = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
      .png()
      .toBuffer();
    return { png: new Uint8Array(png), width: image.width, height: image.height };
  }

  /** Free every component; sessions cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache.dispose();
    this.llm.dispose();
    this.imageTokenizer.dispose();
    this.decoder?.dispose();
  }

  private async loadedDecoder(): Promise<ImageDecoder> {
    const source = this.decoderSource;
    if (!source) throw new Error('this model set has no decoder');
    if (!('dir' in source)) return source;
    if (this.decoder) return this.decoder;
    this.decoderLoading ??= source.load(source.dir, source.device);
    this.decoder = await this.decoderLoading;
    return this.decoder;
  }

  private alive(): void {
    if (this.disposed) throw new Error('this SeedLlama was disposed');
  }
}
