/**
 * DDIMScheduler, deterministic (η = 0), as diffusers builds it from the pipeline's scheduler config
 * (reference/unclip-decoder.md §4.2): n calls at the spaced timesteps (951, 901, …, 1 for 20 leading steps
 * with steps_offset 1), each stepping to t − ⌊N/n⌋ (ᾱ past the end: 1 or ᾱ[0]).
 *   x̂₀ = √a·x − √(1−a)·v,  ε̂ = √a·v + √(1−a)·x          (v-prediction)
 *   x_prev = √a′·x̂₀ + √(1 − a′)·ε̂
 */
import type { SchedulerConfig } from '../config/scheduler.js';
import { alphasCumprod, betas, f32 as f, spacedTimesteps } from './schedule.js';
import { checkStepArgs, type Scheduler } from './scheduler.js';

export class DdimScheduler implements Scheduler {
  readonly name = 'ddim';
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float32Array;
  readonly finalAlphaCumprod: number;
  timesteps: number[] = [];
  private stride = 0;
  private index = 0;

  constructor(readonly config: SchedulerConfig) {
    this.alphasCumprod = alphasCumprod(betas(config));
    this.finalAlphaCumprod = config.setAlphaToOne ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(steps: number): void {
    const c = this.config;
    const N = c.numTrainTimesteps;
    const spacing = c.timestepSpacing ?? 'leading';
    this.timesteps = spacedTimesteps(N, steps, spacing, spacing === 'leading' ? c.stepsOffset : 0);
    if (this.timesteps.some((t) => t < 0 || t >= N))
      throw new Error(`DDIMScheduler: steps_offset ${c.stepsOffset} pushes a timestep outside [0, ${N})`);
    this.stride = Math.floor(N / steps);
    this.index = 0;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array {
    checkStepArgs('DDIMScheduler', modelOutput, sample);
    const expected = this.timesteps[this.index];
    if (expected === undefined)
      throw new Error(
        `DDIMScheduler: step ${this.index + 1} of a ${this.timesteps.length}-step run (call setTimesteps)`,
      );
    if (t !== expected) throw new Error(`DDIMScheduler: step ${this.index} is for timestep ${expected}, got ${t}`);
    this.index++;
    const to = t - this.stride;
    const a = this.alphasCumprod[t];
    const aPrev = to >= 0 ? this.alphasCumprod[to] : this.finalAlphaCumprod;
    const b = f(1 - a);
    const sa = f(Math.sqrt(a));
    const sb = f(Math.sqrt(b));
    const saPrev = f(Math.sqrt(aPrev));
    const dir = f(Math.sqrt(f(1 - aPrev))); // (1 − a′ − σ²)^½ with σ = 0
    const { predictionType, clipSample, clipSampleRange: r } = this.config;
    const n = sample.length;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = sample[i];
      const m = modelOutput[i];
      let x0: number;
      let eps: number;
      if (predictionType === 'v_prediction') {
        x0 = f(f(sa * x) - f(sb * m));
        eps = f(f(sa * m) + f(sb * x));
      } else if (predictionType === 'epsilon') {
        x0 = f(f(x - f(sb * m)) / sa);
        eps = m;
      } else {
        x0 = m;
        eps = f(f(x - f(sa * x0)) / sb);
      }
      if (clipSample) {
        x0 = Math.min(Math.max(x0, -r), r);
        if (predictionType !== 'sample') eps = f(f(x - f(sa * x0)) / sb);
      }
      out[i] = f(f(saPrev * x0) + f(dir * eps));
    }
    return out;
  }
}
