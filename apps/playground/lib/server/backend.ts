/**
 * What the route handlers need from a model, whichever way it runs: in this process through
 * @seed/seed-llama (local-backend.ts) or in a running `seed serve` (remote-backend.ts).
 */
import type { ChatRequest, ModelInfo, RedrawRequest, ServerStatus, WireEvent } from '../shared/protocol';

export interface Backend {
  info(): ModelInfo;
  /** Resolves once the model is loaded (rejects with the load error). */
  ready(): Promise<void>;
  status(): ServerStatus;
  /** Answer the last message of a conversation, as events. */
  turn(request: ChatRequest, signal: AbortSignal): AsyncIterable<WireEvent>;
  /** An uploaded image's 32 codes, or null when this backend cannot tokenize. */
  tokenize(bytes: Uint8Array, signal: AbortSignal): Promise<number[] | null>;
  /** Draw an image again from its codes. */
  redraw(request: RedrawRequest, signal: AbortSignal): AsyncIterable<WireEvent>;
}

/** An error whose message is meant for the user, with the HTTP status to answer it with. */
export class UserError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}
