/** What `Session.send` streams, in order: queued?, (text | image-start, image-codes, decoder-step*, image)*, done. */
export type SessionEvent =
  /** The model is serving other requests; this one waits at `position` (1 = next). */
  | { type: 'queued'; position: number }
  /** New reply text (image spans are never part of it). */
  | { type: 'text'; text: string }
  /** The model opened an image span: `codesPerImage` codes follow. */
  | { type: 'image-start'; index: number }
  /** The span is complete: the image's codes. */
  | { type: 'image-codes'; index: number; codes: number[] }
  /** One diffusion step of drawing image `index`. */
  | { type: 'decoder-step'; index: number; step: number; total: number; seconds: number }
  /** The drawn image (PNG), or only its codes when the model set has no decoder. */
  | { type: 'image'; index: number; codes: number[]; png?: Uint8Array; width?: number; height?: number }
  | { type: 'done'; reason: DoneReason; tokens: TokenCounts; timings: StageTimings };

export type DoneReason = 'eos' | 'stop-token' | 'stop-string' | 'max-tokens' | 'context' | 'aborted';

export interface TokenCounts {
  /** Prompt tokens (after trimming old turns) and tokens generated. */
  prompt: number;
  generated: number;
  /** Whole earlier exchanges left out to fit the context. */
  droppedTurns: number;
}

/** Seconds per stage of one turn. */
export interface StageTimings {
  queued: number;
  /** SEED tokenizer: input images → codes. */
  encodeImages: number;
  /** Time to the first generated token (prefill + first step). */
  firstToken: number;
  /** All of generation. */
  generate: number;
  /** Codes → embedding → diffusion → PNG, for every generated image. */
  drawImages: number;
  total: number;
}
