/**
 * A conversation with SEED-LLaMA: it sees (images in a message are encoded once to codes and kept as
 * codes) and draws (image spans the model writes are decoded to pictures; they stay in the history as
 * codes, never re-encoded). `send` streams events: text as it is generated, each image's codes as its span
 * closes, decoder progress, the pictures, and a summary.
 */
import { type GenerateOptions, generate } from '@seed/llama-core';
import type { ImageInput } from '@seed/seed-tokenizer';
import { renderPrompt, type Turn, type TurnPart } from './conversation.js';
import { streamWhile } from './event-channel.js';
import type { DoneReason, SessionEvent, StageTimings } from './events.js';
import type { DrawOptions } from './image-decoder.js';
import { ImageSpanGuard } from './image-span-guard.js';
import { BOI } from './image-tokens.js';
import type { SeedLlama } from './seed-llama.js';

/** What a user message may hold: text, an image to be encoded (path, bytes or pixels), or an image as codes. */
export type MessagePart = string | { text: string } | { image: ImageInput } | { codes: number[] };

export interface SendOptions
  extends Pick<GenerateOptions, 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'seed'> {
  /** Default 256 (SEED's demo). */
  maxNewTokens?: number;
  /** Append `<img>` to the prompt so that the reply is an image (draw requests). */
  forceImage?: boolean;
  /** How generated images are drawn (steps, guidance, scheduler, seed, size). */
  draw?: Omit<DrawOptions, 'signal' | 'onStep'>;
  /** More strings that end the reply (cut before them), besides the chat template's own. */
  stop?: readonly string[];
  signal?: AbortSignal;
}

/** SEED's demo defaults (seed-architecture §3.5): temperature 0.7, top-p 0.5, 256 new tokens. */
export const SEND_DEFAULTS = { temperature: 0.7, topP: 0.5, maxNewTokens: 256 } as const;

export interface SessionOptions {
  /** A system prompt (empty by default, as upstream). */
  system?: string;
  /**
   * Start from an earlier conversation (images as codes), e.g. one a client sends back whole with each
   * request. Its images are checked, not re-encoded.
   */
  history?: readonly Turn[];
}

/**
 * Tokens kept free for the reply when old turns are dropped to fit the context: the reply's limit, but never
 * more than half the context — on a small model (seed-micro: 256) the default 256 would leave no room for a
 * prompt. Generation still runs to the end of the context if the reply needs it (stop reason 'context').
 */
export function replyReserve(maxNewTokens: number, context: number): number {
  return Math.min(maxNewTokens, Math.floor(context / 2));
}

const seconds = (from: number) => (performance.now() - from) / 1000;

export class Session {
  private readonly turns: Turn[] = [];

  /** @internal Use `SeedLlama.session()`. */
  constructor(
    private readonly owner: SeedLlama,
    readonly options: SessionOptions = {},
  ) {
    for (const turn of options.history ?? []) {
      for (const p of turn.parts) if (p.type === 'image') owner.vocab.checkCodes(p.codes);
      this.turns.push({
        role: turn.role,
        parts: turn.parts.map((p) => (p.type === 'image' ? { ...p, codes: [...p.codes] } : { ...p })),
      });
    }
  }

  /** The conversation so far (images as codes). */
  get history(): readonly Turn[] {
    return this.turns;
  }

  /** Forget the conversation. */
  reset(): void {
    this.turns.length = 0;
  }

  /**
   * Send a user message and stream the reply. The request waits its turn on the shared model
   * (a `queued` event says where it stands) and can be aborted at any moment with `options.signal`.
   */
  async *send(message: MessagePart | readonly MessagePart[], options: SendOptions = {}): AsyncGenerator<SessionEvent> {
    const start = performance.now();
    const parts = (Array.isArray(message) ? message : [message]) as readonly MessagePart[];
    if (parts.length === 0) throw new Error('a message needs at least one part');
    const maxNew = options.maxNewTokens ?? SEND_DEFAULTS.maxNewTokens;
    if (!Number.isInteger(maxNew) || maxNew < 1)
      throw new Error(`maxNewTokens must be a positive integer, got ${maxNew}`);
    const model = this.owner;
    const vocab = model.vocab;

    // ---- wait for the model ----
    const release = yield* streamWhile<SessionEvent, () => void>((emit) =>
      model.queue.acquire(options.signal, (position) => emit({ type: 'queued', position })),
    );
    const timings: StageTimings = {
      queued: seconds(start),
      encodeImages: 0,
      firstToken: 0,
      generate: 0,
      drawImages: 0,
      total: 0,
    };
    try {
      // ---- the user's turn: images encoded once, to codes ----
      const t0 = performance.now();
      const userParts: TurnPart[] = [];
      for (const [i, p] of parts.entries()) userParts.push(await this.toTurnPart(p, i));
      timings.encodeImages = seconds(t0);
      const user: Turn = { role: 'user', parts: userParts };

      // ---- the prompt, oldest exchanges dropped to fit ----
      const context = model.llm.config.maxSeqLen;
      const prompt = renderPrompt([...this.turns, user], model.template, model.llm.tokenizer, vocab, {
        system: this.options.system,
        context,
        reserve: replyReserve(maxNew, context),
        suffix: options.forceImage ? BOI : undefined,
      });
      const budget = Math.min(maxNew, context - prompt.ids.length);
      const guard = new ImageSpanGuard(vocab, model.llm.config.vocabSize, budget, options.forceImage ?? false);

      // ---- generate: text streamed (held back while it could still become a stop string), spans collected ----
      const stopStrings = [...model.stopStrings, ...(options.stop ?? []).filter((s) => s.length > 0)];
      const reply: TurnPart[] = [];
      let text = ''; // reply text since the last image
      let streamed = 0; // how much of `text` has been sent
      let span: number[] | undefined = options.forceImage ? [] : undefined;
      let images = 0;
      const events: SessionEvent[] = [];
      if (span) events.push({ type: 'image-start', index: images });
      const t1 = performance.now();
      const it = generate(model.llm.model, model.llm.tokenizer, prompt.ids, {
        temperature: options.temperature ?? SEND_DEFAULTS.temperature,
        topP: options.topP ?? SEND_DEFAULTS.topP,
        topK: options.topK,
        minP: options.minP,
        repetitionPenalty: options.repetitionPenalty,
        seed: options.seed,
        maxNewTokens: budget,
        stopStrings,
        signal: options.signal,
        allowedTokens: (generated) => guard.allowed(generated),
        cache: model.cache,
      });
      let generated = 0;
      let reason: DoneReason;
      for (;;) {
        const r = await it.next();
        if (r.done) {
          reason = r.value.reason;
          break;
        }
        if (generated++ === 0) timings.firstToken = seconds(t1);
        const { id } = r.value;
        if (span) {
          if (id === vocab.eoi) {
            reply.push({ type: 'image', codes: span, generated: true });
            events.push({ type: 'image-codes', index: images++, codes: span });
            span = undefined;
          } else span.push(vocab.codeOf(id));
        } else if (id === vocab.boi) {
          if (text) reply.push({ type: 'text', text });
          text = '';
          streamed = 0;
          span = [];
          events.push({ type: 'image-start', index: images });
        } else {
          text += r.value.text;
          const safe = text.length - heldBack(text, stopStrings);
          if (safe > streamed) {
            events.push({ type: 'text', text: text.slice(streamed, safe) });
            streamed = safe;
          }
        }
        yield* events.splice(0);
      }
      // A stop string that spans tokens began in text we held back: that tail is not reply.
      if (reason === 'stop-string')
        text = cutAtStop(text.slice(0, text.length - heldBack(text, stopStrings)), stopStrings);
      if (text.length > streamed) yield { type: 'text', text: text.slice(streamed) };
      if (text) reply.push({ type: 'text', text });
      timings.generate = seconds(t1);
      // A span still open (aborted mid-image) is not kept: history holds only whole images.
      this.turns.push(user, { role: 'assistant', parts: reply });

      // ---- draw the images the reply holds ----
      const t2 = performance.now();
      let index = 0;
      for (const part of reply) {
        if (part.type !== 'image') continue;
        if (options.signal?.aborted) {
          reason = 'aborted';
          break;
        }
        const i = index++;
        const drawn = yield* streamWhile<SessionEvent, Awaited<ReturnType<SeedLlama['drawCodes']>>>((emit) =>
          model.drawCodes(part.codes, {
            ...options.draw,
            signal: options.signal,
            onStep: (step, total, secs) => emit({ type: 'decoder-step', index: i, step, total, seconds: secs }),
          }),
        );
        yield { type: 'image', index: i, codes: part.codes, ...drawn };
      }
      timings.drawImages = seconds(t2);
      timings.total = seconds(start);
      yield {
        type: 'done',
        reason,
        tokens: { prompt: prompt.ids.length, generated, droppedTurns: prompt.droppedTurns },
        timings,
      };
    } finally {
      release();
    }
  }

  private async toTurnPart(p: MessagePart, i: number): Promise<TurnPart> {
    if (typeof p === 'string') return { type: 'text', text: p };
    if (p && typeof p === 'object') {
      if ('text' in p && typeof p.text === 'string') return { type: 'text', text: p.text };
      if ('codes' in p) {
        this.owner.vocab.checkCodes(p.codes);
        return { type: 'image', codes: [...p.codes] };
      }
      if ('image' in p) {
        const [codes] = await this.owner.imageTokenizer.encode(p.image).catch((e: Error) => {
          throw new Error(`message part ${i} (image): ${e.message}`);
        });
        return { type: 'image', codes };
      }
    }
    throw new Error(`message part ${i} is not text, { text }, { image } or { codes }`);
  }
}

/** How many characters at the end of `text` could be the start of a stop string (held back from streaming). */
function heldBack(text: string, stops: readonly string[]): number {
  let keep = 0;
  for (const s of stops)
    for (let n = Math.min(s.length, text.length); n > keep; n--)
      if (text.endsWith(s.slice(0, n))) {
        keep = n;
        break;
      }
  return keep;
}

function cutAtStop(text: string, stops: readonly string[]): string {
  const at = Math.min(...stops.map((s) => text.indexOf(s)).filter((i) => i >= 0));
  return Number.isFinite(at) ? text.slice(0, at) : text;
}
