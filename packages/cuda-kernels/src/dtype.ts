/**
 * Element types. The numeric ids are shared with native/dtype.h.
 * - f32, f16, bf16: floats (compute is always f32 or wider)
 * - i32: token / code ids; u8: masks
 * - q8: a 2-D int8 weight [rows, cols] with one f32 scale per row (see docs/ops.md)
 */
export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'u8' | 'q8';

export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u8', 'q8'];
export const FLOAT_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16'];

const IDS: Record<DType, number> = { f32: 0, f16: 1, bf16: 2, i32: 3, u8: 4, q8: 5 };

export function dtypeId(dtype: DType): number {
  const id = IDS[dtype];
  if (id === undefined) throw new Error(`unknown dtype '${String(dtype)}' (expected one of ${DTYPES.join(', ')})`);
  return id;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16';
}

/** Bytes per element (q8: the int8 values only; see byteLength for the scales). */
export function dtypeSize(dtype: DType): number {
  switch (dtype) {
    case 'f32':
    case 'i32':
      return 4;
    case 'f16':
    case 'bf16':
      return 2;
    case 'u8':
    case 'q8':
      return 1;
  }
}

/** q8 layout: int8 values padded to 64 bytes, then one f32 scale per row. */
export function q8ScalesOffset(rows: number, cols: number): number {
  return Math.ceil((rows * cols) / 64) * 64;
}

/** Bytes a tensor of this dtype and shape occupies in native memory. */
export function byteLength(dtype: DType, shape: readonly number[]): number {
  if (dtype === 'q8') {
    if (shape.length !== 2) throw new Error(`q8 tensors are 2-D [rows, cols], got shape [${shape.join(', ')}]`);
    return q8ScalesOffset(shape[0], shape[1]) + 4 * shape[0];
  }
  return numel(shape) * dtypeSize(dtype);
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ---- half and bfloat16 conversions (round to nearest even) ----
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const abs = b & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    const v = f32[0] < 0 ? -f32[0] : f32[0];
    const scaled = v * 16777216;
    let m = Math.floor(scaled);
    const diff = scaled - m;
    if (diff > 0.5 || (diff === 0.5 && m & 1)) m += 1;
    return sign | m;
  }
  let h = (((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3ff);
  const rest = abs & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h += 1;
  return sign | h;
}

/** Round a value to what the dtype can hold (identity for f32 beyond float rounding). */
export function roundTo(dtype: DType, x: number): number {
  if (dtype === 'f16') return f16BitsToF32(f32ToF16Bits(x));
  if (dtype === 'bf16') return bf16BitsToF32(f32ToBf16Bits(x));
  return Math.fround(x);
}
