/**
 * Host tensors for the reference implementations: values in a Float64Array (floats already rounded to the
 * dtype, q8 as its dequantized values, ids and masks as integers). Browser-safe: no Node imports.
 */
import { type DType, numel, roundTo } from '../dtype.js';
import { decode, encode } from '../tensor.js';

export interface RefTensor {
  dtype: DType;
  shape: number[];
  data: Float64Array;
}

export function refTensor(dtype: DType, shape: readonly number[], data?: ArrayLike<number>): RefTensor {
  const n = numel(shape);
  const out: RefTensor = { dtype, shape: [...shape], data: new Float64Array(n) };
  if (data) {
    if (data.length !== n) throw new Error(`ref: ${data.length} values for shape [${shape.join(', ')}]`);
    out.data.set(data);
  }
  return out;
}

/** Round every value to what `dtype` holds (q8: quantize per row and dequantize, as the kernels store it). */
export function roundValues(values: ArrayLike<number>, dtype: DType, shape: readonly number[]): Float64Array {
  if (dtype === 'q8') return Float64Array.from(decode(encode(values, 'q8', shape), 'q8', shape));
  if (dtype === 'i32')
    return Float64Array.from(values, (v) =>
      Number.isNaN(v) ? 0 : Math.max(-2147483648, Math.min(2147483647, Math.trunc(v))),
    );
  if (dtype === 'u8')
    return Float64Array.from(values, (v) => (Number.isNaN(v) ? 0 : Math.max(0, Math.min(255, Math.trunc(v)))));
  return Float64Array.from(values, (v) => roundTo(dtype, v));
}

/** Output of an op: values computed in f64, rounded to the output dtype. */
export function output(dtype: DType, shape: readonly number[], values: ArrayLike<number>): RefTensor {
  return { dtype, shape: [...shape], data: roundValues(values, dtype, shape) };
}

/** Row-major strides. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Multi-index of flat index i. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}
