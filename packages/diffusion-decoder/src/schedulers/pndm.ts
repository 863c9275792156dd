/**
 * PNDMScheduler in PLMS mode (`skip_prk_steps: true`), as diffusers runs it — the scheduler the
 * SD-2.1-unCLIP folder configures (reference/unclip-decoder.md §4.1):
 * - timesteps: the spaced list t_0 < … < t_{n−1}, then [t_0 … t_{n−2}, t_{n−2}, t_{n−1}] reversed, so 20
 *   steps are 21 model calls: 951, 901, 901, 851, …, 51, 1;
 * - call 0 stores m0 and steps 951 → 901 with it; call 1 (the repeated 901) does not store its output but
 *   redoes that first step from the remembered sample with (m1 + m0)/2; later calls store their output
 *   (the last 4 kept) and step with the Adams–Bashforth combination of what is stored;
 * - each step is PNDM's transfer (paper eq. 9, the DDIM η=0 step) with v-prediction turned into ε after
 *   the combination: ε̂ = √ᾱ_t·m + √(1−ᾱ_t)·x.
 */
import type { SchedulerConfig } from '../config/scheduler.js';
import { alphasCumprod, betas, f32 as f, spacedTimesteps } from './schedule.js';
import { checkStepArgs, type Scheduler } from './scheduler.js';

export class PndmScheduler implements Scheduler {
  readonly name = 'pndm';
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float32Array;
  /** ᾱ past the last step: 1 or ᾱ[0] (set_alpha_to_one). */
  readonly finalAlphaCumprod: number;
  timesteps: number[] = [];
  private stride = 0;
  private counter = 0;
  private ets: Float32Array[] = [];
  private curSample: Float32Array | undefined;

  constructor(readonly config: SchedulerConfig) {
    if (!config.skipPrkSteps)
      throw new Error('PNDMScheduler: skip_prk_steps false (Runge–Kutta warm-up steps) is not supported; only PLMS');
    if (config.predictionType === 'sample')
      throw new Error('PNDMScheduler: prediction_type "sample" is not supported (epsilon or v_prediction)');
    this.alphasCumprod = alphasCumprod(betas(config));
    this.finalAlphaCumprod = config.setAlphaToOne ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(steps: number): void {
    const c = this.config;
    const N = c.numTrainTimesteps;
    const ascending = spacedTimesteps(N, steps, c.timestepSpacing ?? 'leading', c.stepsOffset).reverse();
    if (ascending[ascending.length - 1] >= N || ascending[0] < 0)
      throw new Error(`PNDMScheduler: steps_offset ${c.stepsOffset} pushes a timestep outside [0, ${N})`);
    const plms =
      ascending.length > 1
        ? [...ascending.slice(0, -1), ascending[ascending.length - 2], ascending[ascending.length - 1]]
        : [...ascending];
    this.timesteps = plms.reverse();
    this.stride = Math.floor(N / steps);
    this.counter = 0;
    this.ets = [];
    this.curSample = undefined;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array {
    checkStepArgs('PNDMScheduler', modelOutput, sample);
    if (this.counter >= this.timesteps.length)
      throw new Error(
        `PNDMScheduler: step ${this.counter + 1} of a ${this.timesteps.length}-call run (call setTimesteps)`,
      );
    const expected = this.timesteps[this.counter];
    if (t !== expected) throw new Error(`PNDMScheduler: call ${this.counter} is for timestep ${expected}, got ${t}`);
    let from = t;
    let to = t - this.stride;
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3);
      this.ets.push(modelOutput.slice());
    } else {
      to = t;
      from = t + this.stride;
    }
    const e = this.ets;
    const n = sample.length;
    let m: Float32Array;
    let x = sample;
    if (e.length === 1 && this.counter === 0) {
      m = modelOutput;
      this.curSample = sample.slice();
    } else if (e.length === 1 && this.counter === 1) {
      m = new Float32Array(n);
      for (let i = 0; i < n; i++) m[i] = f(f(modelOutput[i] + e[0][i]) / 2);
      x = this.curSample as Float32Array;
      this.curSample = undefined;
    } else if (e.length === 2) {
      m = new Float32Array(n);
      for (let i = 0; i < n; i++) m[i] = f(f(f(3 * e[1][i]) - e[0][i]) / 2);
    } else if (e.length === 3) {
      m = new Float32Array(n);
      for (let i = 0; i < n; i++) m[i] = f(f(f(f(23 * e[2][i]) - f(16 * e[1][i])) + f(5 * e[0][i])) / 12);
    } else {
      m = new Float32Array(n);
      const k = f(1 / 24);
      for (let i = 0; i < n; i++)
        m[i] = f(k * f(f(f(f(55 * e[3][i]) - f(59 * e[2][i])) + f(37 * e[1][i])) - f(9 * e[0][i])));
    }
    const prev = this.prevSample(x, from, to, m);
    this.counter++;
    return prev;
  }

  /** PNDM's transfer from timestep `from` to `to` with the (combined) model output m. */
  private prevSample(x: Float32Array, from: number, to: number, m: Float32Array): Float32Array {
    const a = this.alphasCumprod[from];
    const aPrev = to >= 0 ? this.alphasCumprod[to] : this.finalAlphaCumprod;
    const b = f(1 - a);
    const bPrev = f(1 - aPrev);
    const n = x.length;
    let eps = m;
    if (this.config.predictionType === 'v_prediction') {
      eps = new Float32Array(n);
      const sa = f(Math.sqrt(a));
      const sb = f(Math.sqrt(b));
      for (let i = 0; i < n; i++) eps[i] = f(f(sa * m[i]) + f(sb * x[i]));
    }
    const sampleCoeff = f(Math.sqrt(f(aPrev / a)));
    const denom = f(f(a * f(Math.sqrt(bPrev))) + f(Math.sqrt(f(f(a * b) * aPrev))));
    const diff = f(aPrev - a);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = f(f(sampleCoeff * x[i]) - f(f(diff * eps[i]) / denom));
    return out;
  }
}
