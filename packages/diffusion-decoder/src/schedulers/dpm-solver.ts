/**
 * DPMSolverMultistepScheduler as DPM-Solver++(2M) — diffusers' defaults: solver_order 2, algorithm
 * "dpmsolver++", solver_type "midpoint", lower_order_final, final_sigmas_type "zero", spacing "linspace"
 * (reference/unclip-decoder.md §4.3). 20 steps: 999, 949, …, 50, then σ = 0.
 * Per timestep σ = √((1−ᾱ)/ᾱ), α_t = 1/√(σ²+1), σ_t = σ·α_t, λ = ln α_t − ln σ_t; the model output is
 * turned into the data prediction x̂₀ (v: α_s·x − σ_s·v), then
 *   first order:  x_t = (σ_t/σ_s)·x − α_t(e^{−h} − 1)·x̂₀
 *   second order: … − α_t(e^{−h} − 1)·D0 − ½·α_t(e^{−h} − 1)·D1, D0 = x̂₀(s), D1 = (x̂₀(s) − x̂₀(s−1))·h/h₀.
 * The first step and the last (to σ = 0, which returns x̂₀) are first order.
 */
import type { SchedulerConfig } from '../config/scheduler.js';
import { alphasCumprod, betas, f32 as f, spacedTimesteps } from './schedule.js';
import { checkStepArgs, type Scheduler } from './scheduler.js';

export class DpmSolverScheduler implements Scheduler {
  readonly name = 'dpmsolver++';
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float32Array;
  timesteps: number[] = [];
  /** σ at each timestep, then 0. */
  sigmas = new Float32Array(0);
  private index = 0;
  private previousX0: Float32Array | undefined;

  constructor(readonly config: SchedulerConfig) {
    this.alphasCumprod = alphasCumprod(betas(config));
  }

  setTimesteps(steps: number): void {
    const c = this.config;
    const N = c.numTrainTimesteps;
    const spacing = c.timestepSpacing ?? 'linspace';
    if (spacing === 'linspace') {
      // round(linspace(0, N − 1, n + 1)) reversed, the last (0) dropped.
      if (!Number.isInteger(steps) || steps < 1 || steps > N)
        throw new Error(`steps must be an integer in [1, ${N}] (num_train_timesteps), got ${steps}`);
      this.timesteps = spacedTimesteps(N, steps + 1, 'linspace', 0).slice(0, steps);
    } else {
      this.timesteps = spacedTimesteps(N, steps, spacing, spacing === 'leading' ? c.stepsOffset : 0);
    }
    const sigmas = new Float32Array(steps + 1);
    for (const [i, t] of this.timesteps.entries()) {
      const a = this.alphasCumprod[t];
      sigmas[i] = f(Math.sqrt(f(f(1 - a) / a)));
    }
    sigmas[steps] = 0;
    this.sigmas = sigmas;
    this.index = 0;
    this.previousX0 = undefined;
  }

  /** (α_t, σ_t, λ) of the σ at index i. */
  private at(i: number): { alpha: number; sigma: number; lambda: number } {
    const s = this.sigmas[i];
    const alpha = f(1 / f(Math.sqrt(f(f(s * s) + 1))));
    const sigma = f(s * alpha);
    return { alpha, sigma, lambda: f(f(Math.log(alpha)) - f(Math.log(sigma))) };
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array {
    checkStepArgs('DPMSolverMultistepScheduler', modelOutput, sample);
    const i = this.index;
    const expected = this.timesteps[i];
    if (expected === undefined)
      throw new Error(
        `DPMSolverMultistepScheduler: step ${i + 1} of a ${this.timesteps.length}-step run (call setTimesteps)`,
      );
    if (t !== expected) throw new Error(`DPMSolverMultistepScheduler: step ${i} is for timestep ${expected}, got ${t}`);
    const n = sample.length;
    const s0 = this.at(i);
    // The data prediction x̂₀ at this step.
    const x0 = new Float32Array(n);
    const pt = this.config.predictionType;
    for (let k = 0; k < n; k++) {
      const x = sample[k];
      const m = modelOutput[k];
      x0[k] =
        pt === 'v_prediction'
          ? f(f(s0.alpha * x) - f(s0.sigma * m))
          : pt === 'epsilon'
            ? f(f(x - f(s0.sigma * m)) / s0.alpha)
            : m;
    }
    const last = i === this.timesteps.length - 1;
    const tt = this.at(i + 1); // σ = 0 at the end: α = 1, σ = 0, λ = +∞
    const h = f(tt.lambda - s0.lambda);
    const ratio = f(tt.sigma / s0.sigma);
    const c = f(tt.alpha * f(f(Math.exp(-h)) - 1));
    const out = new Float32Array(n);
    const prev = this.previousX0;
    if (prev === undefined || last) {
      for (let k = 0; k < n; k++) out[k] = f(f(ratio * sample[k]) - f(c * x0[k]));
    } else {
      const s1 = this.at(i - 1);
      const h0 = f(s0.lambda - s1.lambda);
      const invR = f(1 / f(h0 / h));
      const half = f(0.5 * c);
      for (let k = 0; k < n; k++) {
        const d1 = f(invR * f(x0[k] - prev[k]));
        out[k] = f(f(f(ratio * sample[k]) - f(c * x0[k])) - f(half * d1));
      }
    }
    this.previousX0 = x0;
    this.index++;
    return out;
  }
}
