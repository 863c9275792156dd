/** Reference: rotary position embedding (angles in f64). */
import type { RopeOptions } from '../ops.js';
import { output, type RefTensor } from './ref-tensor.js';

export function rope(x: RefTensor, positions: RefTensor, options: RopeOptions = {}): RefTensor {
  const D = x.shape[x.shape.length - 1];
  const H = x.shape[x.shape.length - 2];
  const T = x.shape[x.shape.length - 3];
  const rot = options.rotaryDim ?? D;
  const base = options.base ?? 10000;
  const interleaved = options.layout === 'interleaved';
  const out = Float64Array.from(x.data);
  for (let row = 0; row * H * D < x.data.length; row++) {
    const pos = positions.data[row % T];
    for (let h = 0; h < H; h++) {
      const o = (row * H + h) * D;
      for (let i = 0; i < rot / 2; i++) {
        const theta = pos * base ** ((-2 * i) / rot);
        const [ia, ib] = interleaved ? [2 * i, 2 * i + 1] : [i, i + rot / 2];
        const a = x.data[o + ia];
        const b = x.data[o + ib];
        out[o + ia] = a * Math.cos(theta) - b * Math.sin(theta);
        out[o + ib] = a * Math.sin(theta) + b * Math.cos(theta);
      }
    }
  }
  return output(x.dtype, x.shape, out);
}
