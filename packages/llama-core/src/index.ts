/**
 * @seed/llama-core: SEED-LLaMA's language model. So far: the SentencePiece tokenizer with SEED's image
 * tokens and a streaming detokenizer.
 */
export { LlamaTokenizer, type EncodeOptions, type DecodeOptions } from './tokenizer/llama-tokenizer.js';
export { IncrementalDecoder } from './tokenizer/incremental-decoder.js';
export {
  parseSentencePieceModel,
  serializeSentencePieceModel,
  PieceType,
  type SentencePiece,
  type SentencePieceModel,
} from './tokenizer/sentencepiece-model.js';
export { parseLlamaConfig, type LlamaConfig, type HfLlamaConfig } from './config.js';
export { llamaWeightSpecs, type WeightSpec } from './weights/hf-llama-names.js';
export { KvCache } from './kv-cache.js';
export { LlamaModel, type LlamaWeights } from './model.js';
export { renderChat, chatTemplateFor, type ChatMessage, type ChatTemplateName } from './chat-template.js';
export { generate, generateText, type GenerateOptions, type GeneratedToken, type GenerationResult, type StopReason } from './generate.js';
export { loadLlama, type LoadLlamaOptions, type LoadedLlama, type WeightDType } from './load.js';
