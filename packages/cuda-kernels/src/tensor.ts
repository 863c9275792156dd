/**
 * Tensors: native memory on a device, with a shape and a dtype. Ops enqueue work on the device's stream and
 * return at once; `await t.data()` waits for the work and copies the values back. `dispose()` frees the
 * memory as soon as queued work no longer needs it; `scope()` disposes everything created inside it.
 */
import {
  bf16BitsToF32,
  byteLength,
  type DType,
  dtypeId,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  numel,
  q8ScalesOffset,
} from './dtype.js';
import type { NativeMapping, NativeTensor } from './native/addon-types.js';
import { loadAddon } from './native/load-addon.js';

/** 'cpu' or 'cuda:N'. */
export type Device = 'cpu' | `cuda:${number}`;

export type TensorData = Float32Array | Int32Array | Uint8Array;

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: Device;
  #native: NativeTensor | undefined;

  /** @internal Use `tensor()`, `zeros()` or an op to make tensors. */
  constructor(native: NativeTensor, dtype: DType, shape: readonly number[], device: Device) {
    this.#native = native;
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.device = device;
    track(this);
  }

  /** @internal The native handle; throws if the tensor was disposed. */
  get native(): NativeTensor {
    if (!this.#native) throw new Error(`tensor [${this.shape.join(', ')}] ${this.dtype} was disposed`);
    return this.#native;
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Free the native memory (after any queued work that reads it). Idempotent. */
  dispose(): void {
    if (this.#native) loadAddon().dispose(this.#native);
    this.#native = undefined;
  }

  /** The raw bytes, once all queued work writing this tensor has run. */
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await loadAddon().read(this.native));
  }

  /**
   * The values: Float32Array for float dtypes (f16/bf16 widened, q8 dequantized), Int32Array for i32,
   * Uint8Array for u8.
   */
  async data(): Promise<TensorData> {
    const bytes = await this.bytes();
    return decode(bytes, this.dtype, this.shape);
  }

  /** The same storage seen with another shape of the same element count (no copy). */
  reshape(shape: readonly number[]): Tensor {
    const resolved = resolveShape(shape, this.size);
    return new Tensor(loadAddon().view(this.native, resolved), this.dtype, resolved, this.device);
  }

  /** A copy on another device (resolves once copied). */
  async to(device: Device): Promise<Tensor> {
    if (device === this.device) return this;
    const bytes = await this.bytes();
    return fromBytes(bytes, this.dtype, this.shape, device);
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}], ${this.device})`;
  }
}

function resolveShape(shape: readonly number[], size: number): number[] {
  const out = [...shape];
  const infer = out.indexOf(-1);
  if (infer >= 0) {
    const rest = numel(out.filter((_, i) => i !== infer));
    if (rest === 0 || size % rest !== 0) throw new Error(`cannot reshape ${size} elements to [${shape.join(', ')}]`);
    out[infer] = size / rest;
  }
  if (numel(out) !== size) throw new Error(`cannot reshape ${size} elements to [${shape.join(', ')}]`);
  return out;
}

/** Decode raw bytes of a tensor into its values. */
export function decode(bytes: Uint8Array, dtype: DType, shape: readonly number[]): TensorData {
  const n = numel(shape);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  switch (dtype) {
    case 'f32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, n);
    case 'i32':
      return new Int32Array(aligned.buffer, aligned.byteOffset, n);
    case 'u8':
      return new Uint8Array(aligned.buffer, aligned.byteOffset, n);
    case 'f16':
    case 'bf16': {
      const h = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
      const out = new Float32Array(n);
      const conv = dtype === 'f16' ? f16BitsToF32 : bf16BitsToF32;
      for (let i = 0; i < n; i++) out[i] = conv(h[i]);
      return out;
    }
    case 'q8': {
      const [rows, cols] = shape;
      const q = new Int8Array(aligned.buffer, aligned.byteOffset, rows * cols);
      const scales = new Float32Array(aligned.buffer, aligned.byteOffset + q8ScalesOffset(rows, cols), rows);
      const out = new Float32Array(n);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = scales[r] * q[r * cols + c];
      return out;
    }
  }
}

/** Encode values into the raw bytes of a dtype (q8 is quantized per row as in docs/ops.md). */
export function encode(values: ArrayLike<number>, dtype: DType, shape: readonly number[]): Uint8Array {
  const n = numel(shape);
  if (values.length !== n)
    throw new Error(`${values.length} values given for shape [${shape.join(', ')}] (${n} elements)`);
  switch (dtype) {
    case 'f32':
      return new Uint8Array(Float32Array.from(values).buffer);
    case 'i32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)
          throw new Error(`value ${v} at index ${i} is not an i32`);
        out[i] = v;
      }
      return new Uint8Array(out.buffer);
    }
    case 'u8': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (!Number.isInteger(v) || v < 0 || v > 255) throw new Error(`value ${v} at index ${i} is not a u8`);
        out[i] = v;
      }
      return out;
    }
    case 'f16':
    case 'bf16': {
      const out = new Uint16Array(n);
      const conv = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
      for (let i = 0; i < n; i++) out[i] = conv(values[i]);
      return new Uint8Array(out.buffer);
    }
    case 'q8': {
      if (shape.length !== 2) throw new Error('q8 tensors are 2-D [rows, cols]');
      const [rows, cols] = shape;
      const out = new Uint8Array(byteLength('q8', shape));
      const q = new Int8Array(out.buffer, 0, rows * cols);
      const scales = new Float32Array(out.buffer, q8ScalesOffset(rows, cols), rows);
      for (let r = 0; r < rows; r++) {
        let amax = 0;
        // NaN is left out of the row's range (Math.max would make it NaN), as the native quantizer does; it
        // then encodes as 0 like every NaN → integer conversion.
        for (let c = 0; c < cols; c++) {
          const a = Math.abs(values[r * cols + c]);
          if (a > amax) amax = a;
        }
        const scale = Math.fround(amax / 127);
        scales[r] = scale;
        if (scale === 0) continue;
        for (let c = 0; c < cols; c++) {
          const x = values[r * cols + c] / scale;
          const rounded = Math.sign(x) * Math.round(Math.abs(x));
          q[r * cols + c] = Math.max(-127, Math.min(127, rounded));
        }
      }
      return out;
    }
  }
}

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
}

/**
 * Make a tensor from values. The dtype defaults from the array type (Float32Array → f32, Int32Array → i32,
 * Uint8Array → u8, plain arrays → f32); other dtypes are converted (f16/bf16 rounded, q8 quantized per row).
 */
export function tensor(values: ArrayLike<number>, shape: readonly number[], options: TensorOptions = {}): Tensor {
  const dtype = options.dtype ?? (values instanceof Int32Array ? 'i32' : values instanceof Uint8Array ? 'u8' : 'f32');
  const device = options.device ?? 'cpu';
  checkShape(shape);
  const direct =
    (dtype === 'f32' && values instanceof Float32Array) ||
    (dtype === 'i32' && values instanceof Int32Array) ||
    (dtype === 'u8' && values instanceof Uint8Array);
  if (direct) {
    if (values.length !== numel(shape))
      throw new Error(`${values.length} values given for shape [${shape.join(', ')}] (${numel(shape)} elements)`);
    return new Tensor(loadAddon().create(device, dtypeId(dtype), shape, values as TensorData), dtype, shape, device);
  }
  return fromBytes(encode(values, dtype, shape), dtype, shape, device);
}

/** Make a tensor from its raw bytes (little-endian, the layout of `dtype`). */
export function fromBytes(bytes: Uint8Array, dtype: DType, shape: readonly number[], device: Device = 'cpu'): Tensor {
  checkShape(shape);
  const need = byteLength(dtype, shape);
  if (bytes.byteLength !== need)
    throw new Error(
      `${bytes.byteLength} bytes given but a ${dtype} tensor of shape [${shape.join(', ')}] needs ${need}`,
    );
  return new Tensor(loadAddon().create(device, dtypeId(dtype), shape, bytes), dtype, shape, device);
}

/** A zero-filled tensor. */
export function zeros(shape: readonly number[], dtype: DType = 'f32', device: Device = 'cpu'): Tensor {
  checkShape(shape);
  return new Tensor(loadAddon().create(device, dtypeId(dtype), shape, null), dtype, shape, device);
}

function checkShape(shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.length > 8)
    throw new Error(`a shape is an array of at most 8 dims, got ${JSON.stringify(shape)}`);
  for (const d of shape)
    if (!Number.isSafeInteger(d) || d < 0)
      throw new Error(`invalid shape [${shape.join(', ')}]: dims must be non-negative integers`);
}

/** A file mapped into memory; tensors made from it view the file's pages without copying (CPU only). */
export class MappedFile {
  readonly path: string;
  /** The whole file, read-only (writing to it is undefined). */
  readonly buffer: ArrayBuffer;
  readonly #handle: NativeMapping;

  constructor(path: string) {
    const { handle, buffer } = loadAddon().mapFile(path);
    this.path = path;
    this.#handle = handle;
    this.buffer = buffer;
  }

  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /**
   * A CPU tensor viewing bytes [byteOffset, byteOffset + byteLength(dtype, shape)) of the file. byteOffset must be
   * a multiple of the element size (4 for q8, whose row scales are f32): kernels read whole elements.
   */
  tensor(byteOffset: number, dtype: DType, shape: readonly number[]): Tensor {
    checkShape(shape);
    return new Tensor(loadAddon().fromMapping(this.#handle, byteOffset, dtypeId(dtype), shape), dtype, shape, 'cpu');
  }
}

export function mapFile(path: string): MappedFile {
  return new MappedFile(path);
}

// ---- scopes ----
const scopes: Set<Tensor>[] = [];

function track(t: Tensor): void {
  const top = scopes[scopes.length - 1];
  if (top) top.add(t);
}

function collect(value: unknown, keep: Set<Tensor>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) keep.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, keep, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collect(v, keep, depth + 1);
}

/**
 * Run `fn`, then dispose every tensor created during it except those it returns (directly, or inside a
 * returned array or plain object). Returned tensors move to the enclosing scope. Synchronous on purpose:
 * ops only enqueue, so a whole forward pass fits in one synchronous call.
 */
export function scope<T>(fn: () => T): T {
  const created = new Set<Tensor>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of created) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) throw new Error('scope() takes a synchronous function; await outside of it');
  const keep = new Set<Tensor>();
  collect(result, keep);
  for (const t of created) {
    if (keep.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

/** Keep a tensor alive past the current scope (it moves to the enclosing one, or to no scope). */
export function keep<T extends Tensor>(t: T): T {
  const top = scopes[scopes.length - 1];
  if (top?.delete(t)) {
    const parent = scopes[scopes.length - 2];
    if (parent) parent.add(t);
  }
  return t;
}
