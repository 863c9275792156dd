/**
 * The model in this process: @seed/seed-llama loaded from a model set directory (llm/, tokenizer/ and,
 * to draw, decoder/). Each turn is a fresh session started from the conversation the browser sent (its
 * images already codes), so any number of tabs share the one loaded model through its request queue.
 */
import { randomInt } from 'node:crypto';
import { basename } from 'node:path';
import type { ImageDecoder, MessagePart, SeedLlama, SendOptions, SessionEvent, Turn, TurnPart } from '@seed/seed-llama';
import { IMAGE_TYPES, MAX_IMAGE_BYTES } from '../shared/image-check';
import type {
  ChatRequest,
  GenerationSettings,
  ModelInfo,
  RedrawRequest,
  ServerStatus,
  WireEvent,
  WireMessage,
} from '../shared/protocol';
import { type Backend, UserError } from './backend';

export interface LocalBackendOptions {
  dir: string;
  device: string;
  /** A loaded decoder to draw with instead of the model set's decoder/ (the browser tests' stand-in). */
  decoder?: ImageDecoder;
}

const COMPONENTS = ['llm', 'tokenizer', 'decoder'] as const;

export class LocalBackend implements Backend {
  private model: SeedLlama | undefined;
  private loadError: string | undefined;
  private readonly loading: Promise<void>;
  /** Requests holding or waiting for the model, counted here because the queue only counts waiters. */
  private busy = 0;

  constructor(private readonly options: LocalBackendOptions) {
    this.loading = loadSeedLlama({ dir: options.dir, device: options.device, decoder: options.decoder }).then(
      (model) => {
        this.model = model;
      },
      (error: Error) => {
        this.loadError = error.message;
        throw new UserError(503, `The model could not be loaded: ${error.message}`, 'model_not_loaded');
      },
    );
    // The rejection is reported through info() and every request; it must not crash the server meanwhile.
    this.loading.catch(() => {});
  }

  info(): ModelInfo {
    const m = this.model;
    return {
      name: basename(this.options.dir),
      backend: 'in-process',
      state: m ? 'ready' : this.loadError ? 'error' : 'loading',
      error: this.loadError,
      devices: Object.fromEntries(COMPONENTS.map((c) => [c, this.options.device])),
      canDraw: m?.canDraw ?? false,
      canTokenize: true,
      canRedraw: m?.canDraw ?? false,
      codesPerImage: m?.vocab.codesPerImage,
      context: m && { tokens: m.llm.config.maxSeqLen, maxAnswerTokens: maxAnswerTokens(m) },
      limits: { maxImageBytes: MAX_IMAGE_BYTES, imageTypes: IMAGE_TYPES },
    };
  }

  ready(): Promise<void> {
    return this.loading;
  }

  status(): ServerStatus {
    return { busy: this.busy, waiting: this.model?.queue.length ?? 0 };
  }

  async *turn(request: ChatRequest, signal: AbortSignal): AsyncGenerator<WireEvent> {
    const model = await this.loaded();
    const history = request.messages.slice(0, -1).map(toTurn);
    const last = request.messages.at(-1);
    if (last?.role !== 'user') throw new UserError(400, 'The last message must be the user’s.');
    const message: MessagePart[] = last.parts.map((p) => {
      if (p.type === 'text') return { text: p.text };
      if (p.codes) return { codes: p.codes };
      if (p.dataUrl) return { image: dataUrlBytes(p.dataUrl) };
      throw new UserError(400, 'An image in the message has neither codes nor data.');
    });
    const options: SendOptions = {
      ...sampling(request.settings),
      // A picture is exactly its span: its codes and </img> after the <img> the prompt ends with.
      maxNewTokens: request.draw
        ? model.vocab.spanLength - 1
        : Math.min(request.settings.maxTokens, maxAnswerTokens(model)),
      forceImage: request.draw,
      signal,
    };
    yield* this.counted(model.session({ history }).send(message, options));
  }

  async tokenize(bytes: Uint8Array, signal: AbortSignal): Promise<number[]> {
    const model = await this.loaded();
    this.busy++;
    try {
      // The image tokenizer runs on the model's devices: it takes its turn in the queue like any request.
      const release = await model.queue.acquire(signal);
      try {
        const [codes] = await model.imageTokenizer.encode(bytes);
        return codes;
      } catch (e) {
        throw new UserError(422, `The image could not be read: ${(e as Error).message}`, 'invalid_image');
      } finally {
        release();
      }
    } finally {
      this.busy--;
    }
  }

  async *redraw(request: RedrawRequest, signal: AbortSignal): AsyncGenerator<WireEvent> {
    const model = await this.loaded();
    if (!model.canDraw) throw new UserError(409, 'This model set has no decoder, so it cannot draw.', 'no_decoder');
    try {
      model.vocab.checkCodes(request.codes);
    } catch (e) {
      throw new UserError(400, (e as Error).message, 'invalid_codes');
    }
    this.busy++;
    try {
      const events: WireEvent[] = [];
      let wake: (() => void) | undefined;
      const push = (e: WireEvent) => {
        events.push(e);
        wake?.();
      };
      const work = (async () => {
        const release = await model.queue.acquire(signal, (position) => push({ type: 'queued', position }));
        try {
          const s = request.settings;
          const drawn = await model.drawCodes(request.codes, {
            ...drawOptions(s),
            signal,
            onStep: (step, total, seconds) => push({ type: 'decoder-step', index: 0, step, total, seconds }),
          });
          push({ type: 'image', index: 0, codes: request.codes, ...drawn, png: pngBase64(drawn.png) });
          push({ type: 'done', reason: 'eos' });
        } finally {
          release();
        }
      })();
      let finished = false;
      work.then(
        () => {
          finished = true;
          wake?.();
        },
        () => {
          finished = true;
          wake?.();
        },
      );
      // Relay events as they come until the drawing ends; then surface its error, if any.
      while (!finished || events.length > 0) {
        if (events.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        yield* events.splice(0);
      }
      await work;
    } finally {
      this.busy--;
    }
  }

  private async loaded(): Promise<SeedLlama> {
    await this.loading;
    return this.model as SeedLlama;
  }

  /** Relay a session's events (PNG bytes as base64), counting the request as busy until it ends. */
  private async *counted(events: AsyncIterable<SessionEvent>): AsyncGenerator<WireEvent> {
    this.busy++;
    try {
      for await (const e of events) yield e.type === 'image' ? { ...e, png: pngBase64(e.png) } : e;
    } finally {
      this.busy--;
    }
  }
}

/**
 * @seed/seed-llama is imported at run time by Node, not bundled: it loads a native addon, and Turbopack bundles
 * workspace packages (linked, outside node_modules) even when serverExternalPackages names them.
 */
async function loadSeedLlama(options: Parameters<typeof SeedLlama.load>[0]): Promise<SeedLlama> {
  const { SeedLlama } = (await import(
    /* turbopackIgnore: true */ '@seed/seed-llama'
  )) as typeof import('@seed/seed-llama');
  return SeedLlama.load(options);
}

/**
 * The most tokens an answer may take: at most half the context. The engine keeps that many free for the reply
 * and drops the oldest turns to fit the rest, so the default 256 would leave no room for any message in a small
 * context (seed-micro's is 256 tokens); larger models are not limited by it (SEED-LLaMA's context is 2048+).
 */
function maxAnswerTokens(model: SeedLlama): number {
  return Math.max(1, Math.floor(model.llm.config.maxSeqLen / 2));
}

function sampling(s: GenerationSettings) {
  return {
    temperature: s.temperature,
    topP: s.topP,
    seed: s.seed ?? randomInt(2 ** 32 - 1),
    draw: drawOptions(s),
  };
}

function drawOptions(s: GenerationSettings) {
  return { steps: s.decoderSteps, guidance: s.guidance, scheduler: s.scheduler, seed: s.seed ?? undefined };
}

function toTurn(m: WireMessage, i: number): Turn {
  const parts: TurnPart[] = m.parts.map((p) => {
    if (p.type === 'text') return { type: 'text', text: p.text };
    if (!p.codes)
      throw new UserError(400, `Message ${i + 1} has an image without its codes; attach it again.`, 'missing_codes');
    return { type: 'image', codes: p.codes };
  });
  return { role: m.role, parts };
}

function pngBase64(png: Uint8Array | undefined): string | undefined {
  return png ? Buffer.from(png).toString('base64') : undefined;
}

function dataUrlBytes(url: string): Uint8Array {
  const m = /^data:[^;,]*;base64,(.*)$/s.exec(url);
  if (!m) throw new UserError(400, 'An image must be sent as a base64 data URL.');
  return new Uint8Array(Buffer.from(m[1], 'base64'));
}
