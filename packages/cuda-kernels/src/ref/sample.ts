/** Reference: sampling exactly as docs/ops.md defines it (full sort, f64, SplitMix64 with BigInt). */
import type { SampleOptions } from '../ops.js';
import { counterUniform } from '../rng.js';
import { output, type RefTensor } from './ref-tensor.js';

/** The counter-based draw u ∈ [0, 1) of docs/ops.md. */
export const rngUniform = counterUniform;

export function sample(
  logits: RefTensor,
  options: Omit<SampleOptions, 'penaltyIds' | 'allowedMask'> & { penaltyIds?: RefTensor; allowedMask?: RefTensor } = {},
): RefTensor {
  const V = logits.shape[logits.shape.length - 1];
  const B = logits.data.length / V;
  const temperature = options.temperature ?? 1;
  const out = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const x = Array.from(logits.data.subarray(b * V, (b + 1) * V), (v) =>
      Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v,
    );
    const pen = options.repetitionPenalty ?? 1;
    if (options.penaltyIds && pen !== 1) {
      const P = options.penaltyIds.shape[options.penaltyIds.shape.length - 1];
      const ids =
        options.penaltyIds.shape.length === 2
          ? options.penaltyIds.data.subarray(b * P, (b + 1) * P)
          : options.penaltyIds.data;
      for (const id of new Set(ids)) {
        if (id < 0) continue;
        if (id >= V) throw new Error(`ref sample: penalty id ${id} is outside [0, ${V})`);
        x[id] = x[id] > 0 ? x[id] / pen : x[id] * pen;
      }
    }
    if (options.allowedMask) {
      const m =
        options.allowedMask.data.length === V
          ? options.allowedMask.data
          : options.allowedMask.data.subarray(b * V, (b + 1) * V);
      for (let i = 0; i < V; i++) if (!m[i]) x[i] = Number.NEGATIVE_INFINITY;
    }
    if (x.every((v) => v === Number.NEGATIVE_INFINITY)) throw new Error(`ref sample: no token is allowed in row ${b}`);
    if (temperature === 0) {
      let best = 0;
      for (let i = 1; i < V; i++) if (x[i] > x[best]) best = i;
      while (x[best] === Number.NEGATIVE_INFINITY) best++;
      out[b] = best;
      continue;
    }
    let order = x
      .map((v, i) => ({ x: v / temperature, i }))
      .filter((c) => c.x !== Number.NEGATIVE_INFINITY)
      .sort((p, q) => q.x - p.x || p.i - q.i);
    if ((options.topK ?? 0) > 0) order = order.slice(0, options.topK);
    const max = order[0].x;
    const w = order.map((c) => Math.exp(c.x - max));
    const total = w.reduce((a, c) => a + c, 0);
    const p = w.map((v) => v / total);
    let n = order.length;
    const topP = options.topP ?? 1;
    if (topP < 1) {
      let cum = 0;
      for (let j = 0; j < order.length; j++) {
        cum += p[j];
        if (cum >= topP) {
          n = j + 1;
          break;
        }
      }
    }
    const minP = options.minP ?? 0;
    if (minP > 0) {
      let j = 0;
      while (j < n && p[j] >= minP * p[0]) j++;
      n = Math.max(1, j);
    }
    let kept = 0;
    for (let j = 0; j < n; j++) kept += p[j];
    const target = rngUniform(options.seed ?? 0, options.counter ?? 0, b) * kept;
    let cum = 0;
    let pick = order[n - 1].i;
    for (let j = 0; j < n; j++) {
      cum += p[j];
      if (cum > target) {
        pick = order[j].i;
        break;
      }
    }
    out[b] = pick;
  }
  return output('i32', [B], out);
}
