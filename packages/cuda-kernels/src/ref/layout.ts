/** References: embedding / codebook gather, concat, slice, setSlice, permute. */
import { output, type RefTensor, strides, unravel } from './ref-tensor.js';

export function embedding(table: RefTensor, ids: RefTensor): RefTensor {
  const [V, C] = table.shape;
  const out = new Float64Array(ids.data.length * C);
  ids.data.forEach((id, i) => {
    if (id < 0 || id >= V) throw new Error(`ref embedding: id ${id} is outside [0, ${V})`);
    out.set(table.data.subarray(id * C, (id + 1) * C), i * C);
  });
  return output(table.dtype === 'q8' ? 'f32' : table.dtype, [...ids.shape, C], out);
}

export function concat(ts: readonly RefTensor[], axis = 0): RefTensor {
  const a = axis < 0 ? axis + ts[0].shape.length : axis;
  const shape = [...ts[0].shape];
  shape[a] = ts.reduce((s, t) => s + t.shape[a], 0);
  const out = new Float64Array(shape.reduce((p, d) => p * d, 1));
  const so = strides(shape);
  let offset = 0;
  for (const t of ts) {
    for (let i = 0; i < t.data.length; i++) {
      const idx = unravel(i, t.shape);
      idx[a] += offset;
      out[idx.reduce((s, v, d) => s + v * so[d], 0)] = t.data[i];
    }
    offset += t.shape[a];
  }
  return { dtype: ts[0].dtype, shape, data: out };
}

export function slice(x: RefTensor, starts: readonly number[], ends?: readonly number[]): RefTensor {
  const s = x.shape.map((_, i) => starts[i] ?? 0);
  const e = x.shape.map((d, i) => ends?.[i] ?? d);
  const shape = s.map((v, i) => e[i] - v);
  const sx = strides(x.shape);
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x.data[unravel(i, shape).reduce((acc, v, d) => acc + (v + s[d]) * sx[d], 0)];
  return { dtype: x.dtype, shape, data: out };
}

/** Returns a new tensor: dst with src written at starts (the op itself writes in place). */
export function setSlice(dst: RefTensor, src: RefTensor, starts: readonly number[]): RefTensor {
  const out = Float64Array.from(dst.data);
  const sd = strides(dst.shape);
  for (let i = 0; i < src.data.length; i++)
    out[unravel(i, src.shape).reduce((acc, v, d) => acc + (v + (starts[d] ?? 0)) * sd[d], 0)] = src.data[i];
  return { dtype: dst.dtype, shape: [...dst.shape], data: out };
}

export function permute(x: RefTensor, perm: readonly number[]): RefTensor {
  const shape = perm.map((p) => x.shape[p]);
  const sx = strides(x.shape);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++)
    out[i] = x.data[unravel(i, shape).reduce((acc, v, d) => acc + v * sx[perm[d]], 0)];
  return { dtype: x.dtype, shape, data: out };
}

export function transpose(x: RefTensor, dim0 = -2, dim1 = -1): RefTensor {
  const r = x.shape.length;
  const perm = x.shape.map((_, i) => i);
  const a = dim0 < 0 ? dim0 + r : dim0;
  const b = dim1 < 0 ? dim1 + r : dim1;
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

export function codebookNearest(z: RefTensor, codebook: RefTensor): RefTensor {
  const [N, D] = z.shape;
  const K = codebook.shape[0];
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let best = -1;
    let bestD = Number.POSITIVE_INFINITY;
    for (let k = 0; k < K; k++) {
      let d = 0;
      for (let j = 0; j < D; j++) d += (z.data[n * D + j] - codebook.data[k * D + j]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    out[n] = Math.max(0, best);
  }
  return output('i32', [N], out);
}
