/**
 * Generation: an async iterator of tokens and the text each completes. The prompt is prefilled in chunks,
 * then one token at a time is sampled with the runtime's sampling kernel (temperature, top-k, top-p,
 * min-p, repetition penalty, a seeded counter-based RNG, an optional per-step allowed-token mask).
 * It stops on </s> (id 2) whatever the config says, on the config's eos ids, on stop ids and strings, at
 * max tokens, at the end of the context, or when the AbortSignal fires.
 */
import { ops, type Tensor, tensor } from '@seed/cuda-kernels';
import { KvCache } from './kv-cache.js';
import type { LlamaModel } from './model.js';
import type { LlamaTokenizer } from './tokenizer/llama-tokenizer.js';

export interface GenerateOptions {
  /** Default 256. */
  maxNewTokens?: number;
  /** 0 = greedy. Default 1. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  /** HF repetition penalty over the prompt and the generated tokens (1 = off). */
  repetitionPenalty?: number;
  /** RNG seed (integer in [0, 2³²)); default 0. */
  seed?: number;
  /** Extra ids that end generation (</s> and the config's eos ids always do). */
  stopTokenIds?: readonly number[];
  /** Strings that end generation; the text is cut before them. */
  stopStrings?: readonly string[];
  signal?: AbortSignal;
  /**
   * Called before each step with the ids generated so far; returns a mask of allowed token ids (1 = allowed,
   * length V) or undefined for no constraint. The multimodal pipeline keeps image spans well formed with it.
   */
  allowedTokens?: (generated: readonly number[]) => Uint8Array | undefined;
  /** Prompt tokens per forward pass while prefilling (default 256). */
  prefillChunk?: number;
  /**
   * Continue in this cache: the longest prefix of this prompt that it already holds is not recomputed, and
   * the rest of what it holds is forgotten. It stays the caller's to dispose. Default: a fresh one.
   */
  cache?: KvCache;
}

export interface GeneratedToken {
  id: number;
  /** The text this token completes (may be empty while a multi-byte character is pending). */
  text: string;
}

export type StopReason = 'eos' | 'stop-token' | 'stop-string' | 'max-tokens' | 'context' | 'aborted';

export interface GenerationResult {
  ids: number[];
  text: string;
  reason: StopReason;
}

/** Stream tokens for a prompt of token ids. The iterator's return value says why it stopped. */
export async function* generate(
  model: LlamaModel,
  tokenizer: LlamaTokenizer,
  promptIds: readonly number[],
  options: GenerateOptions = {},
): AsyncGenerator<GeneratedToken, GenerationResult> {
  const c = model.config;
  const maxNew = options.maxNewTokens ?? 256;
  if (!Number.isInteger(maxNew) || maxNew < 0)
    throw new Error(`maxNewTokens must be a non-negative integer, got ${maxNew}`);
  if (promptIds.length === 0) throw new Error('the prompt is empty');
  for (const id of promptIds)
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize)
      throw new Error(`prompt token id ${id} is outside the vocabulary [0, ${c.vocabSize})`);
  const capacity = options.cache?.capacity ?? c.maxSeqLen;
  if (promptIds.length > capacity)
    throw new Error(`the prompt is ${promptIds.length} tokens, longer than the context of ${capacity} tokens`);
  const stopIds = new Set([...c.eosIds, ...(options.stopTokenIds ?? [])]);
  const cache = options.cache ?? new KvCache(c, model.device, capacity);
  const ownCache = !options.cache;

  const history = [...promptIds];
  const generated: number[] = [];
  const decoder = tokenizer.createDecoder();
  let text = '';
  let reason: StopReason = 'max-tokens';
  // The logits of the last position run, disposed once sampled from (or in `finally`).
  let logits: Tensor | undefined;
  // Run `ids` at the cache's end (the cache records them, so that a later prompt can reuse them).
  const advance = (ids: readonly number[]): Tensor => model.forward(ids, cache);
  try {
    // ---- prefill, starting after the longest prefix of this prompt that the cache already holds ----
    const common = cache.keepCommonPrefix(promptIds, promptIds.length - 1);
    const chunk = options.prefillChunk ?? 256;
    for (let start = common; start < promptIds.length; start += chunk) {
      logits?.dispose();
      logits = undefined;
      logits = advance(promptIds.slice(start, Math.min(promptIds.length, start + chunk)));
    }

    for (let step = 0; step < maxNew; step++) {
      if (options.signal?.aborted) {
        reason = 'aborted';
        break;
      }
      const id = await sampleNext(model, options, logits!, step, generated, history);
      logits?.dispose();
      logits = undefined;

      if (stopIds.has(id)) {
        reason = c.eosIds.includes(id) ? 'eos' : 'stop-token';
        break;
      }
      generated.push(id);
      history.push(id);
      let piece = decoder.push(id);
      const stop = options.stopStrings?.find((s) => (text + piece).includes(s));
      if (stop !== undefined) {
        // The stop string may have begun in text already streamed: the result is cut there all the same.
        const full = text + piece;
        const kept = full.slice(0, full.indexOf(stop));
        piece = kept.slice(text.length);
        text = kept;
        if (piece) yield { id, text: piece };
        reason = 'stop-string';
        break;
      }
      text += piece;
      yield { id, text: piece };
      if (cache.length >= cache.capacity) {
        reason = 'context';
        break;
      }
      if (step + 1 < maxNew) logits = advance([id]);
    }
    if (reason !== 'stop-string') text += decoder.flush();
    return { ids: generated, text, reason };
  } finally {
    // Also on a throw, or when the consumer stops iterating early (return() lands here).
    logits?.dispose();
    if (ownCache) cache.dispose();
  }
}

/** Sample the next token from the last position's logits with the options' sampling settings. */
async function sampleNext(
  model: LlamaModel,
  options: GenerateOptions,
  last: Tensor,
  step: number,
  generated: readonly number[],
  seen: readonly number[],
): Promise<number> {
  const c = model.config;
  const mask = options.allowedTokens?.(generated);
  if (mask && mask.length !== c.vocabSize)
    throw new Error(`allowedTokens returned ${mask.length} entries, expected ${c.vocabSize}`);
  const penalty =
    (options.repetitionPenalty ?? 1) !== 1
      ? tensor(Int32Array.from(seen), [seen.length], { device: model.device })
      : undefined;
  const allowed = mask ? tensor(mask, [c.vocabSize], { dtype: 'u8', device: model.device }) : undefined;
  let idT: Tensor | undefined;
  try {
    idT = ops.sample(last, {
      temperature: options.temperature ?? 1,
      topK: options.topK ?? 0,
      topP: options.topP ?? 1,
      minP: options.minP ?? 0,
      repetitionPenalty: options.repetitionPenalty ?? 1,
      penaltyIds: penalty,
      allowedMask: allowed,
      seed: options.seed ?? 0,
      counter: step,
    });
    return (await idT.data())[0];
  } finally {
    for (const t of [idT, penalty, allowed]) t?.dispose();
  }
}

/** Collect a whole generation. */
export async function generateText(
  model: LlamaModel,
  tokenizer: LlamaTokenizer,
  promptIds: readonly number[],
  options: GenerateOptions = {},
): Promise<GenerationResult> {
  const it = generate(model, tokenizer, promptIds, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}
