/**
 * A {@link WeightFile} over arrays in memory: lets tests and benchmarks build a model from generated
 * weights through the same loader (and so the same checks) as a checkpoint on disk.
 */
import type { LoadOptions, StoredBytes, TensorInfo, WeightFile } from '../io/types.js';
import { type Tensor, tensor } from '../tensor.js';

export interface ArrayWeight {
  shape: readonly number[];
  data: Float32Array;
}

export class InMemoryWeights implements WeightFile {
  readonly tensors: readonly TensorInfo[];
  private readonly byName: ReadonlyMap<string, ArrayWeight>;

  /** `entries`: upstream name → f32 values and shape (listed as F32). */
  constructor(
    entries: Iterable<readonly [string, ArrayWeight]>,
    readonly path = '(in memory)',
  ) {
    this.byName = new Map(entries);
    this.tensors = [...this.byName].map(([name, w]) => {
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (n !== w.data.length) throw new Error(`${name}: ${w.data.length} values for shape [${w.shape.join(', ')}]`);
      return { name, dtype: 'F32' as const, shape: [...w.shape] };
    });
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.find((x) => x.name === name);
    if (!t) throw new Error(`${this.path}: no tensor named '${name}'`);
    return t;
  }

  load(name: string, options: LoadOptions = {}): Tensor {
    const w = this.get(name);
    return tensor(w.data, w.shape, { dtype: options.dtype ?? 'f32', device: options.device });
  }

  stored(name: string): StoredBytes {
    const w = this.get(name);
    return { bytes: new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength) };
  }

  close(): void {}

  private get(name: string): ArrayWeight {
    const w = this.byName.get(name);
    if (!w) throw new Error(`${this.path}: no tensor named '${name}'`);
    return w;
  }
}
