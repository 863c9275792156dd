/**
 * Per-layer key/value caches: [1, T_max, Hkv, D] tensors written in place with setSlice as tokens arrive,
 * and the token held at each filled position, so that a later prompt sharing a prefix with them (the next
 * turn of a chat) starts computing where the two differ.
 */
import { type Device, type Tensor, zeros } from '@seed/cuda-kernels';
import type { LlamaConfig } from './config.js';

export class KvCache {
  readonly keys: Tensor[]; // per layer [1, T_max, Hkv, D]
  readonly values: Tensor[];
  /** The token at each filled position; its length is the cache's length. */
  #tokens: number[] = [];

  constructor(
    readonly config: LlamaConfig,
    readonly device: Device,
    readonly capacity: number = config.maxSeqLen,
  ) {
    const shape = [1, capacity, config.nKvHeads, config.headDim];
    this.keys = Array.from({ length: config.nLayers }, () => zeros(shape, 'f32', device));
    this.values = Array.from({ length: config.nLayers }, () => zeros(shape, 'f32', device));
  }

  /** Bytes the cache holds on its device. */
  static bytes(config: LlamaConfig, capacity = config.maxSeqLen): number {
    return 2 * config.nLayers * capacity * config.nKvHeads * config.headDim * 4;
  }

  /** How many positions hold valid keys and values. */
  get length(): number {
    return this.#tokens.length;
  }

  /** The token id at each filled position (a copy). */
  get tokens(): number[] {
    return [...this.#tokens];
  }

  /**
   * The forward pass has written the keys and values of `ids` at the end of the valid positions: they are
   * now valid, and known to hold these tokens (so a later prompt with the same prefix reuses them).
   */
  append(ids: readonly number[]): void {
    if (this.#tokens.length + ids.length > this.capacity)
      throw new Error(
        `cannot append ${ids.length} tokens: the KV cache holds ${this.#tokens.length} of ${this.capacity}`,
      );
    this.#tokens.push(...ids);
  }

  /**
   * Keep the longest prefix of the held tokens that `ids` starts with, at most `max` positions, and forget
   * the rest; returns how many positions were kept. A caller that needs the logits of the last token of
   * `ids` passes `ids.length - 1`, so that at least that token is computed again.
   */
  keepCommonPrefix(ids: readonly number[], max = ids.length): number {
    const held = this.#tokens;
    let n = 0;
    while (n < held.length && n < ids.length && n < max && held[n] === ids[n]) n++;
    held.length = n;
    return n;
  }

  /** Forget every position and token (the buffers are reused). */
  reset(): void {
    this.#tokens.length = 0;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}
