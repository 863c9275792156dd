/**
 * The noising half of DDPMScheduler, used on the image embedding (`image_noising_scheduler`,
 * squaredcos_cap_v2 for SD-2.1-unCLIP; reference/unclip-decoder.md §3.1–3.2):
 *   x_t = √ᾱ_t·x + √(1 − ᾱ_t)·ε
 * with ᾱ from the config's schedule (float32), all arithmetic in float32 — or, for embeddings held in f16 /
 * bf16, as upstream does it there: ᾱ is first cast to the embeddings' dtype and every product and sum rounds to
 * it. In f16, ᾱ₀ = 0.99995875 becomes exactly 1, so noise level 0 adds no noise at all (§3.2).
 */
import { roundTo } from '@seed/cuda-kernels';
import type { SchedulerConfig } from '../config/scheduler.js';
import { alphasCumprod, betas, f32 as f } from './schedule.js';

export class DdpmNoiser {
  readonly betas: Float32Array;
  readonly alphasCumprod: Float32Array;

  constructor(readonly config: SchedulerConfig) {
    this.betas = betas(config);
    this.alphasCumprod = alphasCumprod(this.betas);
  }

  /** x noised to timestep t with ε (same length as x), in the embeddings' dtype. */
  addNoise(x: Float32Array, noise: Float32Array, t: number, dtype: 'f32' | 'f16' | 'bf16' = 'f32'): Float32Array {
    const N = this.config.numTrainTimesteps;
    if (!Number.isInteger(t) || t < 0 || t >= N)
      throw new Error(`noise level must be an integer in [0, ${N - 1}], got ${t}`);
    if (noise.length !== x.length) throw new Error(`noise has ${noise.length} values, the embedding ${x.length}`);
    const r = dtype === 'f32' ? f : (v: number) => roundTo(dtype, v);
    const a = r(this.alphasCumprod[t]);
    const sa = r(Math.sqrt(a));
    const sb = r(Math.sqrt(r(1 - a)));
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = r(r(sa * r(x[i])) + r(sb * r(noise[i])));
    return out;
  }
}
