/** References: broadcasting add / mul, scale, activations, cast. */
import type { DType } from '../dtype.js';
import { output, type RefTensor, strides, unravel } from './ref-tensor.js';

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    return da === 1 ? db : da;
  });
}

function binary(a: RefTensor, b: RefTensor, f: (x: number, y: number) => number): RefTensor {
  const shape = broadcastShape(a.shape, b.shape);
  const sa = strides(a.shape);
  const sb = strides(b.shape);
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < shape.length; d++) {
      const da = d - (shape.length - a.shape.length);
      const db = d - (shape.length - b.shape.length);
      if (da >= 0 && a.shape[da] !== 1) ia += idx[d] * sa[da];
      if (db >= 0 && b.shape[db] !== 1) ib += idx[d] * sb[db];
    }
    out[i] = f(a.data[ia], b.data[ib]);
  }
  return output(a.dtype, shape, out);
}

export const add = (a: RefTensor, b: RefTensor) => binary(a, b, (x, y) => x + y);
export const mul = (a: RefTensor, b: RefTensor) => binary(a, b, (x, y) => x * y);

const unary = (x: RefTensor, f: (v: number) => number) => output(x.dtype, x.shape, Array.from(x.data, f));

export const scale = (x: RefTensor, factor: number, bias = 0) => unary(x, (v) => v * factor + bias);
export const silu = (x: RefTensor) => unary(x, (v) => v / (1 + Math.exp(-v)));
export const gelu = (x: RefTensor) => unary(x, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
export const tanh = (x: RefTensor) => unary(x, Math.tanh);
export const relu = (x: RefTensor) => unary(x, (v) => (v > 0 ? v : 0));

export function cast(x: RefTensor, dtype: DType): RefTensor {
  return output(dtype, x.shape, x.data);
}

/** erf to ~1e-15 (series for small |x|, continued fraction of erfc for large |x|). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 80; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))) (Lentz-free backward evaluation)
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}
