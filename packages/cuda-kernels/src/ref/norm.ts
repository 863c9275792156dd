/** References: softmax, layernorm, rmsnorm, argmax (row ops over the last axis). */
import { output, type RefTensor } from './ref-tensor.js';

function rows(x: RefTensor, f: (row: Float64Array) => ArrayLike<number>): Float64Array {
  const C = x.shape[x.shape.length - 1];
  const out = new Float64Array(x.data.length);
  for (let r = 0; r * C < x.data.length; r++) out.set(f(x.data.subarray(r * C, (r + 1) * C)), r * C);
  return out;
}

export function softmax(x: RefTensor): RefTensor {
  return output(
    x.dtype,
    x.shape,
    rows(x, (v) => {
      const max = Math.max(...v);
      if (max === Number.NEGATIVE_INFINITY) return new Float64Array(v.length);
      const e = v.map((a) => Math.exp(a - max));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((a) => a / s);
    }),
  );
}

export function layernorm(x: RefTensor, weight: RefTensor, bias: RefTensor, eps: number): RefTensor {
  return output(
    x.dtype,
    x.shape,
    rows(x, (v) => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
      const inv = 1 / Math.sqrt(variance + eps);
      return v.map((a, i) => (a - mean) * inv * weight.data[i] + bias.data[i]);
    }),
  );
}

export function rmsnorm(x: RefTensor, weight: RefTensor, eps: number): RefTensor {
  return output(
    x.dtype,
    x.shape,
    rows(x, (v) => {
      const inv = 1 / Math.sqrt(v.reduce((a, b) => a + b * b, 0) / v.length + eps);
      return v.map((a, i) => a * inv * weight.data[i]);
    }),
  );
}

export function argmax(x: RefTensor): RefTensor {
  const C = x.shape[x.shape.length - 1];
  const R = x.data.length / C;
  const out = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let best = -1;
    for (let c = 0; c < C; c++) {
      const v = x.data[r * C + c];
      if (Number.isNaN(v)) continue;
      if (best < 0 || v > x.data[r * C + best]) best = c;
    }
    out[r] = best < 0 ? 0 : best;
  }
  return output('i32', x.shape.slice(0, -1), out);
}
