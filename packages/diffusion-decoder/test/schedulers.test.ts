import { describe, expect, it } from 'vitest';
import {
  alphasCumprod,
  betas,
  DdimScheduler,
  DdpmNoiser,
  DpmSolverScheduler,
  PndmScheduler,
  parseSchedulerConfig,
  spacedTimesteps,
} from '../src/index.js';

// scheduler/scheduler_config.json of stabilityai/stable-diffusion-2-1-unclip (reference §1.7).
const PNDM_JSON = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.15.0.dev0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: 'v_prediction',
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
};
const sd = () => parseSchedulerConfig(PNDM_JSON);
const noising = () => parseSchedulerConfig({ num_train_timesteps: 1000, beta_schedule: 'squaredcos_cap_v2' });

const rand = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 7.3) * 1.5);

/** PNDM's transfer (paper eq. 9) in float64, v-prediction converted first. */
function transfer(x: Float32Array, m: Float64Array | Float32Array, a: number, aPrev: number): Float64Array {
  return Float64Array.from(x, (xi, i) => {
    const eps = Math.sqrt(a) * m[i] + Math.sqrt(1 - a) * xi;
    return (
      Math.sqrt(aPrev / a) * xi - ((aPrev - a) * eps) / (a * Math.sqrt(1 - aPrev) + Math.sqrt(a * (1 - a) * aPrev))
    );
  });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('training schedules', () => {
  it('squaredcos_cap_v2: β_0 = 4.1284e−5, ᾱ_0 = f32(1 − β_0) = 0.99995869, √(1−ᾱ_0) = 0.0064270 (reference §3.1)', () => {
    const n = new DdpmNoiser(noising());
    expect(n.betas[0]).toBeCloseTo(4.1284e-5, 8);
    // The reference quotes ᾱ_0 = 0.99995875, the float32 neighbour above; its own √(1−ᾱ_0) = 0.0064270 and
    // β_0 = 4.1284e−5 both give 0.99995869 (1 − 4.1284e−5 = 0.999958716 rounds down in float32).
    expect(n.alphasCumprod[0]).toBe(Math.fround(1 - n.betas[0]));
    expect(n.alphasCumprod[0]).toBe(0.9999586939811707);
    expect(Math.sqrt(1 - n.alphasCumprod[0])).toBeCloseTo(0.006427, 6);
    expect(n.betas[999]).toBeCloseTo(0.999, 6); // capped
    expect(n.alphasCumprod[999]).toBeLessThan(1e-6);
  });

  it('scaled_linear: β from √0.00085 to √0.012, squared; ᾱ a decreasing product', () => {
    const b = betas(sd());
    expect(b[0]).toBeCloseTo(0.00085, 9);
    expect(b[999]).toBeCloseTo(0.012, 8); // float32 √ then square
    const mid = (Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) * (500 / 999)) ** 2;
    expect(b[500]).toBeCloseTo(mid, 8);
    const a = alphasCumprod(b);
    expect(a[0]).toBe(Math.fround(1 - b[0]));
    let p = 1;
    for (let i = 0; i <= 950; i++) p *= 1 - b[i];
    expect(a[950]).toBeCloseTo(p, 7);
  });

  it('spacings: leading, trailing, linspace', () => {
    expect(spacedTimesteps(1000, 4, 'leading', 1)).toEqual([751, 501, 251, 1]);
    expect(spacedTimesteps(1000, 4, 'trailing', 0)).toEqual([999, 749, 499, 249]);
    expect(spacedTimesteps(1000, 4, 'linspace', 0)).toEqual([999, 666, 333, 0]);
    expect(() => spacedTimesteps(1000, 0, 'leading', 0)).toThrow(/steps must be an integer/);
  });
});

describe('PNDM / PLMS (the folder’s scheduler)', () => {
  it('20 steps → 21 calls: 951, 901, 901, 851, …, 1 (reference §4.1)', () => {
    const s = new PndmScheduler(sd());
    s.setTimesteps(20);
    expect(s.timesteps).toEqual([
      951, 901, 901, 851, 801, 751, 701, 651, 601, 551, 501, 451, 401, 351, 301, 251, 201, 151, 101, 51, 1,
    ]);
    expect(s.finalAlphaCumprod).toBe(s.alphasCumprod[0]);
  });

  it('call 0 steps with m0; call 1 redoes 951→901 with (m0+m1)/2; call 2 uses (3·m2 − m0)/2 (m1 never stored)', () => {
    const s = new PndmScheduler(sd());
    s.setTimesteps(20);
    const A = s.alphasCumprod;
    const x0 = rand(64, 1);
    const [m0, m1, m2] = [rand(64, 2), rand(64, 3), rand(64, 4)];
    const x1 = s.step(m0, 951, x0);
    expect(maxDiff(x1, transfer(x0, m0, A[951], A[901]))).toBeLessThan(2e-6);
    const x2 = s.step(m1, 901, x1);
    const avg = Float64Array.from(m0, (v, i) => (v + m1[i]) / 2);
    expect(maxDiff(x2, transfer(x0, avg, A[951], A[901]))).toBeLessThan(2e-6);
    const x3 = s.step(m2, 901, x2);
    const ab2 = Float64Array.from(m2, (v, i) => (3 * v - m0[i]) / 2);
    expect(maxDiff(x3, transfer(x2, ab2, A[901], A[851]))).toBeLessThan(2e-6);
  });

  it('later calls use the 3- and 4-term Adams–Bashforth combinations; the last call goes to ᾱ[0]', () => {
    const s = new PndmScheduler(sd());
    s.setTimesteps(20);
    const A = s.alphasCumprod;
    const outs = s.timesteps.map((_, i) => rand(32, 10 + i));
    let x: Float32Array = rand(32, 99);
    const xs: Float32Array[] = [];
    for (const [i, t] of s.timesteps.entries()) {
      xs.push(x);
      x = s.step(outs[i], t, x);
    }
    // call 3 (t = 851): stored m0, m2, m3 → (23·m3 − 16·m2 + 5·m0)/12
    const ab3 = Float64Array.from(outs[3], (v, i) => (23 * v - 16 * outs[2][i] + 5 * outs[0][i]) / 12);
    const x4 = new PndmScheduler(sd());
    x4.setTimesteps(20);
    let y: Float32Array = rand(32, 99);
    for (let i = 0; i < 4; i++) y = x4.step(outs[i], x4.timesteps[i], y);
    expect(maxDiff(y, transfer(xs[3], ab3, A[851], A[801]))).toBeLessThan(2e-6);
    // last call (t = 1): the four newest stored outputs, to ᾱ[0]
    const e = [outs[17], outs[18], outs[19], outs[20]];
    const ab4 = Float64Array.from(e[3], (v, i) => (55 * v - 59 * e[2][i] + 37 * e[1][i] - 9 * e[0][i]) / 24);
    expect(maxDiff(x, transfer(xs[20], ab4, A[1], A[0]))).toBeLessThan(5e-6);
  });

  it('refuses out-of-order timesteps, a finished run, PRK mode and mismatched sizes', () => {
    const s = new PndmScheduler(sd());
    s.setTimesteps(2);
    expect(s.timesteps).toEqual([501, 1, 1]);
    expect(() => s.step(rand(4, 1), 1, rand(4, 2))).toThrow(/call 0 is for timestep 501, got 1/);
    expect(() => s.step(rand(4, 1), 501, rand(5, 2))).toThrow(/model output has 4 values but the sample has 5/);
    expect(() => new PndmScheduler(parseSchedulerConfig({ ...PNDM_JSON, skip_prk_steps: false }))).toThrow(
      /skip_prk_steps false/,
    );
  });
});

describe('DDIM (η = 0)', () => {
  it('20 steps: 951, 901, …, 1 — one call each; the step matches x̂₀ / ε̂ from v', () => {
    const s = new DdimScheduler(sd());
    s.setTimesteps(20);
    expect(s.timesteps).toEqual(Array.from({ length: 20 }, (_, i) => 951 - 50 * i));
    const A = s.alphasCumprod;
    const x = rand(16, 5);
    const v = rand(16, 6);
    const out = s.step(v, 951, x);
    const a = A[951];
    const ap = A[901];
    const want = Float64Array.from(x, (xi, i) => {
      const x0 = Math.sqrt(a) * xi - Math.sqrt(1 - a) * v[i];
      const eps = Math.sqrt(a) * v[i] + Math.sqrt(1 - a) * xi;
      return Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps;
    });
    expect(maxDiff(out, want)).toBeLessThan(2e-6);
    // PLMS's first step and DDIM's first step are the same transfer (reference §4.1)
    const p = new PndmScheduler(sd());
    p.setTimesteps(20);
    expect(maxDiff(p.step(v, 951, x), out)).toBeLessThan(2e-6);
  });
});

describe('DPM-Solver++(2M)', () => {
  const sigma = (a: number) => Math.sqrt((1 - a) / a);
  it('20 steps: 999, 949, …, 50 (linspace); the last step returns x̂₀', () => {
    const s = new DpmSolverScheduler(sd());
    s.setTimesteps(20);
    expect(s.timesteps).toEqual([
      999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50,
    ]);
    expect(s.sigmas[20]).toBe(0);
    const A = s.alphasCumprod;
    let x: Float32Array = rand(8, 1);
    for (const [i, t] of s.timesteps.entries()) {
      const v = rand(8, 20 + i);
      const next = s.step(v, t, x);
      if (i === 19) {
        const sg = sigma(A[50]);
        const at = 1 / Math.sqrt(sg * sg + 1);
        const x0 = Float64Array.from(x, (xi, k) => at * xi - sg * at * v[k]);
        expect(maxDiff(next, x0)).toBeLessThan(2e-6);
      }
      x = next;
    }
  });

  it('second order uses D1 = (x̂₀(s) − x̂₀(s−1))/r with the midpoint update', () => {
    const s = new DpmSolverScheduler(sd());
    s.setTimesteps(20);
    const A = s.alphasCumprod;
    const parts = (t: number) => {
      const sg = sigma(A[t]);
      const al = 1 / Math.sqrt(sg * sg + 1);
      return { al, sg: sg * al, lam: Math.log(al) - Math.log(sg * al) };
    };
    const x0 = rand(8, 1);
    const [v0, v1] = [rand(8, 2), rand(8, 3)];
    const x1 = s.step(v0, 999, x0);
    const x2 = s.step(v1, 949, x1);
    const [p0, p1, p2] = [parts(999), parts(949), parts(899)];
    const d0 = Float64Array.from(x0, (x, k) => p0.al * x - p0.sg * v0[k]);
    const d1 = Float64Array.from(x1, (x, k) => p1.al * x - p1.sg * v1[k]);
    const h0first = p1.lam - p0.lam;
    const want1 = Float64Array.from(x0, (x, k) => (p1.sg / p0.sg) * x - p1.al * (Math.exp(-h0first) - 1) * d0[k]);
    expect(maxDiff(x1, want1)).toBeLessThan(2e-6);
    const h = p2.lam - p1.lam;
    const r = (p1.lam - p0.lam) / h;
    const c = p2.al * (Math.exp(-h) - 1);
    const want2 = Float64Array.from(x1, (x, k) => (p2.sg / p1.sg) * x - c * d1[k] - 0.5 * c * ((d1[k] - d0[k]) / r));
    expect(maxDiff(x2, want2)).toBeLessThan(5e-6);
  });
});
