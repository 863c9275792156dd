/**
 * What the browser and the playground's server say to each other. The browser keeps the conversation
 * (sessionStorage) and sends it whole with each turn, so the server holds no per-tab state; images travel as
 * their SEED codes once known (uploaded images are tokenized when attached), which is also exactly what the
 * model reads.
 */
import type { SessionEvent, TokenCounts } from '@seed/seed-llama';

/** A part of a message on the wire: text, or an image as codes (or, when no codes are known, as a data URL). */
export type WirePart = { type: 'text'; text: string } | { type: 'image'; codes?: number[]; dataUrl?: string };

export interface WireMessage {
  role: 'user' | 'assistant';
  parts: WirePart[];
}

/** Sampling and drawing settings, as the settings panel holds them. */
export interface GenerationSettings {
  temperature: number;
  topP: number;
  maxTokens: number;
  decoderSteps: number;
  guidance: number;
  scheduler: string;
  /** null: a fresh random seed for each answer. */
  seed: number | null;
}

export const DEFAULT_SETTINGS: GenerationSettings = {
  // SEED's demo defaults for sampling (temperature 0.7, top-p 0.5, 256 tokens) and drawing (20 steps, guidance 10).
  temperature: 0.7,
  topP: 0.5,
  maxTokens: 256,
  decoderSteps: 20,
  guidance: 10,
  scheduler: 'pndm',
  seed: null,
};

export const SCHEDULERS = ['pndm', 'ddim', 'dpmsolver++'] as const;

/** POST /api/chat: the conversation; its last message (the user's) is the one answered. */
export interface ChatRequest {
  messages: WireMessage[];
  settings: GenerationSettings;
  /** Ask for a picture: the answer starts with an image span. */
  draw: boolean;
}

/** POST /api/redraw: draw an image again from its codes alone. */
export interface RedrawRequest {
  codes: number[];
  settings: GenerationSettings;
}

/**
 * Events streamed back (server-sent events named by `type`): @seed/seed-llama's SessionEvent with PNG bytes as
 * base64, plus `error` for a failure after the stream began.
 */
export type WireEvent =
  | Extract<SessionEvent, { type: 'queued' | 'text' | 'image-start' | 'image-codes' | 'decoder-step' }>
  | (Omit<Extract<SessionEvent, { type: 'image' }>, 'png'> & { png?: string })
  // A redraw from codes ends without token counts.
  | { type: 'done'; reason: string; tokens?: TokenCounts }
  | { type: 'error'; message: string; code?: string };

/** An error answer (any non-2xx JSON response). */
export interface ErrorBody {
  error: { message: string; code?: string };
}

export type LoadState = 'loading' | 'ready' | 'error';

/** GET /api/model. */
export interface ModelInfo {
  /** The model set's name (its directory's name, or the name a seed serve reports). */
  name: string;
  /** Where it runs: 'in-process' or the seed serve URL. */
  backend: string;
  state: LoadState;
  /** Why loading failed (state 'error'). */
  error?: string;
  /** Device per component, e.g. { llm: 'cpu', tokenizer: 'cpu', decoder: 'cpu' }. */
  devices: Record<string, string>;
  /** Whether pictures can be drawn; without a decoder images come back as codes only. */
  canDraw: boolean;
  /** Whether uploaded images can be turned into codes here (not through a remote seed serve). */
  canTokenize: boolean;
  /** Whether an image can be drawn again from its codes (in-process only). */
  canRedraw: boolean;
  /** Codes per image (32 for SEED-LLaMA, 8 for the bundled seed-micro); unknown through seed serve. */
  codesPerImage?: number;
  /** The LLM's context in tokens, and the most an answer may use of it (unknown through seed serve). */
  context?: { tokens: number; maxAnswerTokens: number };
  limits: UploadLimits;
}

export interface UploadLimits {
  maxImageBytes: number;
  /** MIME types accepted for uploads. */
  imageTypes: string[];
}

/** GET /api/status: whether the model is working (tests wait for it to be idle). */
export interface ServerStatus {
  busy: number;
  waiting: number;
}

/** POST /api/tokenize answer: the image's codes (null when this backend cannot tokenize). */
export interface TokenizeResponse {
  codes: number[] | null;
}
