/**
 * @seed/llama-core: SEED-LLaMA's language model. So far: the SentencePiece tokenizer with SEED's image
 * tokens and a streaming detokenizer.
 */

export {
  type ChatMessage,
  type ChatTemplateName,
  chatStopStrings,
  chatTemplateFor,
  renderChat,
} from './chat-template.js';
export { type HfLlamaConfig, type LlamaConfig, parseLlamaConfig } from './config.js';
export {
  type GeneratedToken,
  type GenerateOptions,
  type GenerationResult,
  generate,
  generateText,
  type StopReason,
} from './generate.js';
export { KvCache } from './kv-cache.js';
export { type LoadedLlama, type LoadLlamaOptions, loadLlama, type WeightDType } from './load.js';
export { LlamaModel } from './model.js';
export { IncrementalDecoder } from './tokenizer/incremental-decoder.js';
export { type DecodeOptions, type EncodeOptions, LlamaTokenizer } from './tokenizer/llama-tokenizer.js';
export {
  llamaSentencePieceModel,
  PieceType,
  parseSentencePieceModel,
  type SentencePiece,
  type SentencePieceModel,
  serializeSentencePieceModel,
} from './tokenizer/sentencepiece-model.js';
export { type LlamaWeightSpecs, type LlamaWeights, llamaWeightSpecs } from './weights/hf-llama-names.js';
