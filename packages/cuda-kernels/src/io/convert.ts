/**
 * Turns the raw little-endian bytes of a stored tensor into a seed tensor: zero-copy when the bytes already
 * are a seed dtype and no conversion is asked, else converted in TypeScript (F64 → f32, I64/I16/I8 → i32
 * with a range check, BOOL → u8, float ↔ float). Conversion does not use ops.cast on purpose: loading must
 * work on any device and before any kernel runs, and a checkpoint's dtype is a property of the file.
 */
import { dtypeSize, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, numel } from '../dtype.js';
import { fromBytes, type MappedFile, type Tensor } from '../tensor.js';
import { type FileDType, type LoadOptions, nativeDType } from './types.js';

const FLOAT_FILE_DTYPES: ReadonlySet<FileDType> = new Set(['F64', 'F32', 'F16', 'BF16']);

/** Whether a file dtype holds floating-point values. */
export function isFloatFileDType(d: FileDType): boolean {
  return FLOAT_FILE_DTYPES.has(d);
}

/** A typed-array view of `bytes` when it is aligned for `T`, else an aligned copy (mapped data may be unaligned). */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : bytes.slice();
}

// f16 → f32 through a table: 65536 entries are computed once and make widening a lookup per element.
let f16Table: Float32Array | undefined;
function f16ToF32Table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}

/** Values of a float tensor widened to f32. */
function floatsOf(bytes: Uint8Array, dtype: FileDType, n: number): Float32Array {
  const out = new Float32Array(n);
  if (dtype === 'F64') {
    const src = aligned(bytes, 8);
    out.set(new Float64Array(src.buffer, src.byteOffset, n)); // rounds each value to the nearest f32
  } else if (dtype === 'F32') {
    const src = aligned(bytes, 4);
    out.set(new Float32Array(src.buffer, src.byteOffset, n));
  } else if (dtype === 'F16') {
    const src = aligned(bytes, 2);
    const h = new Uint16Array(src.buffer, src.byteOffset, n);
    const table = f16ToF32Table();
    for (let i = 0; i < n; i++) out[i] = table[h[i]];
  } else {
    // bf16 is the top half of an f32: widening is exact and a shift.
    const src = aligned(bytes, 2);
    const h = new Uint16Array(src.buffer, src.byteOffset, n);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = h[i] << 16;
  }
  return out;
}

/** The bytes of `values` rounded to f16 or bf16 (round to nearest even, as dtype.ts does everywhere). */
function narrow(values: Float32Array, target: 'f16' | 'bf16'): Uint8Array {
  const out = new Uint16Array(values.length);
  const conv = target === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < values.length; i++) out[i] = conv(values[i]);
  return new Uint8Array(out.buffer);
}

/** Values of an integer tensor as i32; an I64 value outside the i32 range is an error naming the tensor. */
function intsOf(bytes: Uint8Array, dtype: FileDType, n: number, what: string): Int32Array {
  const out = new Int32Array(n);
  if (dtype === 'I64') {
    const src = aligned(bytes, 8);
    const v = new BigInt64Array(src.buffer, src.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const b = v[i];
      if (b < -2147483648n || b > 2147483647n)
        throw new Error(`${what}: I64 value ${b} at index ${i} does not fit in i32`);
      out[i] = Number(b);
    }
  } else if (dtype === 'I16') {
    const src = aligned(bytes, 2);
    out.set(new Int16Array(src.buffer, src.byteOffset, n));
  } else if (dtype === 'I8') {
    out.set(new Int8Array(bytes.buffer, bytes.byteOffset, n));
  } else {
    const src = aligned(bytes, 4);
    out.set(new Int32Array(src.buffer, src.byteOffset, n));
  }
  return out;
}

/**
 * Make a tensor from `bytes` (contiguous, little-endian, `dtype` elements of `shape`). When `mapped` is given
 * and `byteOffset` points at the same bytes inside it, a CPU tensor loaded as stored views the file (no copy).
 * `what` ("file: tensor") prefixes every error.
 */
export function tensorFromStored(
  bytes: Uint8Array,
  dtype: FileDType,
  shape: number[],
  options: LoadOptions,
  what: string,
  mapped?: { file: MappedFile; byteOffset: number },
): Tensor {
  const device = options.device ?? 'cpu';
  const n = numel(shape);
  const isFloat = isFloatFileDType(dtype);
  if (options.dtype !== undefined) {
    if (options.dtype !== 'f32' && options.dtype !== 'f16' && options.dtype !== 'bf16')
      throw new Error(`${what}: load converts only to f32, f16 or bf16, not ${String(options.dtype)}`);
    if (!isFloat) throw new Error(`${what}: cannot convert a ${dtype} tensor to ${options.dtype}`);
  }
  const target = options.dtype ?? nativeDType(dtype);
  // Stored bytes are already seed bytes for F32/F16/BF16/I32/U8/BOOL (BOOL is one byte, 0 or 1).
  const asStored =
    target === nativeDType(dtype) && dtype !== 'F64' && dtype !== 'I64' && dtype !== 'I16' && dtype !== 'I8';
  if (asStored) {
    if (bytes.byteLength !== n * dtypeSize(target))
      throw new Error(`${what}: ${bytes.byteLength} bytes do not hold ${n} ${dtype} values`);
    // Zero-copy only when the elements are naturally aligned in the file (kernels read whole elements).
    if (mapped && device === 'cpu' && mapped.byteOffset % dtypeSize(target) === 0)
      return mapped.file.tensor(mapped.byteOffset, target, shape);
    return fromBytes(bytes, target, shape, device);
  }
  if (isFloat) {
    const f = floatsOf(bytes, dtype, n);
    const out = target === 'f32' ? new Uint8Array(f.buffer) : narrow(f, target as 'f16' | 'bf16');
    return fromBytes(out, target, shape, device);
  }
  return fromBytes(new Uint8Array(intsOf(bytes, dtype, n, what).buffer), 'i32', shape, device);
}
