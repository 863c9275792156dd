/**
 * Per-layer key/value caches: [1, T_max, Hkv, D] tensors written in place with setSlice as tokens arrive.
 * `length` is how many positions hold valid keys.
 */
import { type Device, type Tensor, zeros } from '@seed/cuda-kernels';
import type { LlamaConfig } from './config.js';

export class KvCache {
  readonly keys: Tensor[]; // per layer [1, T_max, Hkv, D]
  readonly values: Tensor[];
  length = 0;

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

  /** Forget every position (the buffers are reused). */
  reset(): void {
    this.length = 0;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}
