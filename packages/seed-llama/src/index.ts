/**
 * @seed/seed-llama: SEED-LLaMA as one typed API — sessions that see (images in, encoded once to SEED codes)
 * and draw (image spans out, always well formed, decoded to pictures), on one shared, queued model.
 */
export { renderPrompt, type Turn, type TurnPart, turnText } from './conversation.js';
export type { DoneReason, SessionEvent, StageTimings, TokenCounts } from './events.js';
export type { DrawnImage, DrawOptions, ImageDecoder } from './image-decoder.js';
export { ImageSpanGuard } from './image-span-guard.js';
export { BOI, codeToken, EOI, ImageVocabulary } from './image-tokens.js';
export { QueueFullError, RequestQueue } from './request-queue.js';
export { type Component, SeedLlama, type SeedLlamaOptions } from './seed-llama.js';
export { ApiError } from './server/errors.js';
export { createSeedServer, type RequestRecord, type SeedServer, type SeedServerOptions } from './server/server.js';
export {
  type MessagePart,
  replyReserve,
  SEND_DEFAULTS,
  type SendOptions,
  Session,
  type SessionOptions,
} from './session.js';
export * as world from './world/index.js';
