/**
 * Turns the raw little-endian bytes of a stored tensor into a seed tensor: zero-copy when the bytes already
 * are a seed dtype and no conversion is asked, else converted in TypeScript (F64 → f32, I64/I16/I8 → i32
 * with a range check, BOOL → u8, float ↔ float).
 */
import { bf16BitsToF32, dtypeSize, f16BitsToF32, numel } from '../dtype.js';
import { fromBytes, type MappedFile, type Tensor, tensor } from '../tensor.js';
import { type FileDType, type LoadOptions, nativeDType } from './types.js';

/** Values of a float tensor as f32 (for conversion). */
function floatsOf(bytes: Uint8Array, dtype: FileDType, n: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (dtype === 'F64') for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
  else if (dtype === 'F32') for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  else if (dtype === 'F16') for (let i = 0; i < n; i++) out[i] = f16BitsToF32(dv.getUint16(2 * i, true));
  else for (let i = 0; i < n; i++) out[i] = bf16BitsToF32(dv.getUint16(2 * i, true));
  return out;
}

function intsOf(bytes: Uint8Array, dtype: FileDType, n: number, what: string): Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    if (dtype === 'I64') {
      const b = dv.getBigInt64(8 * i, true);
      if (b < -2147483648n || b > 2147483647n) throw new Error(`${what}: value ${b} at index ${i} does not fit in i32`);
      v = Number(b);
    } else if (dtype === 'I16') v = dv.getInt16(2 * i, true);
    else if (dtype === 'I8') v = dv.getInt8(i);
    else v = dv.getInt32(4 * i, true);
    out[i] = v;
  }
  return out;
}

/**
 * Make a tensor from `bytes` (contiguous, little-endian, `dtype` elements of `shape`). When `mapped` is given
 * and `byteOffset` points at the same bytes inside it, a CPU tensor as stored views the file (no copy).
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
  const isFloat = dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
  if (options.dtype && !isFloat) throw new Error(`${what}: cannot convert a ${dtype} tensor to ${options.dtype}`);
  const target = options.dtype ?? nativeDType(dtype);
  const asStored = target === nativeDType(dtype) && dtype !== 'F64' && dtype !== 'I64' && dtype !== 'I16' && dtype !== 'I8';
  if (asStored) {
    if (bytes.byteLength !== n * dtypeSize(target)) throw new Error(`${what}: ${bytes.byteLength} bytes do not hold ${n} ${dtype} values`);
    // Zero-copy only when the elements are naturally aligned in the file (kernels read whole elements).
    if (mapped && device === 'cpu' && mapped.byteOffset % dtypeSize(target) === 0) return mapped.file.tensor(mapped.byteOffset, target, shape);
    return fromBytes(bytes, target, shape, device);
  }
  if (isFloat) return tensor(floatsOf(bytes, dtype, n), shape, { dtype: target, device });
  return tensor(intsOf(bytes, dtype, n, what), shape, { dtype: 'i32', device });
}
