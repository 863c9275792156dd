/** References of the image ops (NCHW): conv2d, groupNorm, upsampleNearest2x, and geglu. */
import type { Conv2dOptions, GroupNormOptions } from '../ops.js';
import { erf } from './elementwise.js';
import { output, type RefTensor } from './ref-tensor.js';

/** Cross-correlation with zero padding, by its definition: one f64 sum per output element. */
export function conv2d(
  x: RefTensor,
  w: RefTensor,
  bias: RefTensor | undefined,
  { stride: s, padding: p }: Conv2dOptions,
): RefTensor {
  const [B, Cin, H, W] = x.shape;
  const [Cout, , kh, kw] = w.shape;
  const Ho = Math.floor((H + 2 * p - kh) / s) + 1;
  const Wo = Math.floor((W + 2 * p - kw) / s) + 1;
  const out = new Float64Array(B * Cout * Ho * Wo);
  for (let b = 0; b < B; b++)
    for (let co = 0; co < Cout; co++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          let sum = bias ? bias.data[co] : 0;
          for (let ci = 0; ci < Cin; ci++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * s - p + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * s - p + kx;
                if (ix < 0 || ix >= W) continue;
                sum += x.data[((b * Cin + ci) * H + iy) * W + ix] * w.data[((co * Cin + ci) * kh + ky) * kw + kx];
              }
            }
          out[((b * Cout + co) * Ho + oy) * Wo + ox] = sum;
        }
  return output(x.dtype, [B, Cout, Ho, Wo], out);
}

/** GroupNorm over (C/groups channels × spatial) per batch row; biased variance; optional SiLU after. */
export function groupNorm(
  x: RefTensor,
  weight: RefTensor,
  bias: RefTensor,
  groups: number,
  eps: number,
  options: GroupNormOptions = {},
): RefTensor {
  const [B, C] = x.shape;
  const S = x.data.length / (B * C) || 0;
  const cpg = C / groups;
  const n = cpg * S;
  const out = new Float64Array(x.data.length);
  for (let b = 0; b < B; b++)
    for (let g = 0; g < groups; g++) {
      const base = (b * C + g * cpg) * S;
      let mean = 0;
      for (let i = 0; i < n; i++) mean += x.data[base + i];
      mean /= n;
      let variance = 0;
      for (let i = 0; i < n; i++) variance += (x.data[base + i] - mean) ** 2;
      variance /= n;
      const inv = 1 / Math.sqrt(variance + eps);
      for (let i = 0; i < n; i++) {
        const c = g * cpg + Math.floor(i / S);
        const v = (x.data[base + i] - mean) * inv * weight.data[c] + bias.data[c];
        out[base + i] = options.silu ? v / (1 + Math.exp(-v)) : v;
      }
    }
  return output(x.dtype, x.shape, out);
}

export function upsampleNearest2x(x: RefTensor): RefTensor {
  const [B, C, H, W] = x.shape;
  const out = new Float64Array(x.data.length * 4);
  for (let bc = 0; bc < B * C; bc++)
    for (let i = 0; i < 2 * H; i++)
      for (let j = 0; j < 2 * W; j++)
        out[(bc * 2 * H + i) * 2 * W + j] = x.data[(bc * H + Math.floor(i / 2)) * W + Math.floor(j / 2)];
  return output(x.dtype, [B, C, 2 * H, 2 * W], out);
}

/** x[..., :F] · gelu(x[..., F:]) with the exact (erf) GELU. */
export function geglu(x: RefTensor): RefTensor {
  const F = x.shape[x.shape.length - 1] / 2;
  const rows = F === 0 ? 0 : x.data.length / (2 * F);
  const out = new Float64Array(rows * F);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < F; i++) {
      const a = x.data[r * 2 * F + i];
      const g = x.data[r * 2 * F + F + i];
      out[r * F + i] = a * 0.5 * g * (1 + erf(g / Math.SQRT2));
    }
  return output(x.dtype, [...x.shape.slice(0, -1), F], out);
}
