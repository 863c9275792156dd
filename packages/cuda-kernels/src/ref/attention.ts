/** Reference: attention by its definition (full score rows, f64 softmax). */
import type { AttentionOptions } from '../ops.js';
import { output, type RefTensor } from './ref-tensor.js';

export function attention(
  q: RefTensor,
  k: RefTensor,
  v: RefTensor,
  options: Omit<AttentionOptions, 'mask'> & { mask?: RefTensor } = {},
): RefTensor {
  const [B, Tq, Hq, D] = q.shape;
  const [, Tk, Hkv] = k.shape;
  const kvLen = options.kvLen ?? Tk;
  const qOffset = options.qOffset ?? kvLen - Tq;
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const mask = options.mask;
  const group = Hq / Hkv;
  const out = new Float64Array(q.data.length);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < Tq; i++)
      for (let h = 0; h < Hq; h++) {
        const hk = Math.floor(h / group);
        const scores: number[] = [];
        for (let j = 0; j < kvLen; j++) {
          if (options.causal && j > qOffset + i) {
            scores.push(Number.NEGATIVE_INFINITY);
            continue;
          }
          let s = 0;
          for (let d = 0; d < D; d++)
            s += q.data[((b * Tq + i) * Hq + h) * D + d] * k.data[((b * Tk + j) * Hkv + hk) * D + d];
          s *= scale;
          if (mask) {
            const cols = mask.shape[mask.shape.length - 1];
            const mh = mask.shape.length === 4 ? mask.shape[1] : 1;
            const row = mask.shape.length === 2 ? i : (b * mh + (mh === 1 ? 0 : h)) * Tq + i;
            s += mask.data[row * cols + j];
          }
          scores.push(s);
        }
        const max = Math.max(Number.NEGATIVE_INFINITY, ...scores);
        const o = ((b * Tq + i) * Hq + h) * D;
        if (max === Number.NEGATIVE_INFINITY) continue; // every key masked: zeros
        const p = scores.map((s) => Math.exp(s - max));
        const sum = p.reduce((a, c) => a + c, 0);
        for (let j = 0; j < kvLen; j++) {
          if (p[j] === 0) continue;
          for (let d = 0; d < D; d++) out[o + d] += (p[j] / sum) * v.data[((b * Tk + j) * Hkv + hk) * D + d];
        }
      }
  return output(q.dtype, q.shape, out);
}
