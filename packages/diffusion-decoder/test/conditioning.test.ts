import { counterUniform } from '@seed/cuda-kernels';
import { describe, expect, it } from 'vitest';
import {
  classLabels,
  DdpmNoiser,
  gaussianNoise,
  guide,
  ImageNormalizer,
  NOISE_STREAM,
  noiseImageEmbeddings,
  parseSchedulerConfig,
  timestepEmbedding,
  toRgb8,
  uniform,
} from '../src/index.js';

const noiser = () =>
  new DdpmNoiser(parseSchedulerConfig({ num_train_timesteps: 1000, beta_schedule: 'squaredcos_cap_v2' }));

describe('timestep embedding (get_timestep_embedding)', () => {
  it('at t = 0 with flip: [1 × half, 0 × half] (the noise-level half at level 0, reference §3.3)', () => {
    const e = timestepEmbedding([0], 8, { flipSinToCos: true, downscaleFreqShift: 0 });
    expect(Array.from(e)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
  });

  it('frequencies exp(−ln(10⁴)·k/(half − shift)); [sin, cos] unflipped, [cos, sin] flipped; odd dim zero-padded', () => {
    const t = 951;
    for (const shift of [0, 1]) {
      const plain = timestepEmbedding([t, 3], 6, { flipSinToCos: false, downscaleFreqShift: shift });
      const flipped = timestepEmbedding([t], 6, { flipSinToCos: true, downscaleFreqShift: shift });
      for (let k = 0; k < 3; k++) {
        const arg = t * Math.exp((-Math.log(10000) * k) / (3 - shift));
        expect(plain[k]).toBeCloseTo(Math.sin(arg), 3); // float32 argument of up to ~951
        expect(plain[3 + k]).toBeCloseTo(Math.cos(arg), 3);
        expect(flipped[k]).toBe(plain[3 + k]);
        expect(flipped[3 + k]).toBe(plain[k]);
        expect(plain[6 + k]).toBeCloseTo(Math.sin(3 * Math.exp((-Math.log(10000) * k) / (3 - shift))), 6);
      }
    }
    const odd = timestepEmbedding([5], 5, { flipSinToCos: true, downscaleFreqShift: 0 });
    expect(odd.length).toBe(5);
    expect(odd[4]).toBe(0);
  });
});

describe('image-embedding conditioning (noise_image_embeddings)', () => {
  const E = 8;
  const x = Float32Array.from({ length: E }, (_, i) => i - 3.5);
  const eps = Float32Array.from({ length: E }, (_, i) => (i % 3) - 1);

  it('level 0, identity normalizer: √ᾱ_0·x + 0.0064270·ε, then [cos = 1, sin = 0] → [1, 2E]', () => {
    const norm = new ImageNormalizer(new Float32Array(E), new Float32Array(E).fill(1));
    const out = noiseImageEmbeddings(x, 0, eps, norm, noiser());
    expect(out.length).toBe(2 * E);
    for (let i = 0; i < E; i++) expect(out[i]).toBeCloseTo(0.99997935 * x[i] + 0.006427 * eps[i], 6);
    expect(Array.from(out.subarray(E))).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
  });

  it('scale → add_noise → unscale with mean/std; the level sinusoid is appended per row', () => {
    const mean = Float32Array.from({ length: E }, (_, i) => 0.1 * i);
    const std = Float32Array.from({ length: E }, (_, i) => 1 + 0.5 * i);
    const norm = new ImageNormalizer(mean, std);
    const n = noiser();
    const level = 100;
    const a = n.alphasCumprod[level];
    const two = Float32Array.from([...x, ...x.map((v) => -v)]);
    const out = noiseImageEmbeddings(two, level, Float32Array.from([...eps, ...eps]), norm, n);
    const sinus = timestepEmbedding([level], E, { flipSinToCos: true, downscaleFreqShift: 0 });
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < E; i++) {
        const z = (two[b * E + i] - mean[i]) / std[i];
        const want = (Math.sqrt(a) * z + Math.sqrt(1 - a) * eps[i]) * std[i] + mean[i];
        expect(out[b * 2 * E + i]).toBeCloseTo(want, 5);
        expect(out[b * 2 * E + E + i]).toBe(sinus[i]);
      }
    expect(() => noiseImageEmbeddings(new Float32Array(E + 1), 0, eps, norm, n)).toThrow(/expected \[B, 8\]/);
    expect(() => noiseImageEmbeddings(x, 1000, eps, norm, n)).toThrow(/noise level must be an integer in \[0, 999\]/);
  });

  it('CFG class labels: unconditional first, all zeros (level half too) or the negative rows; guidance', () => {
    const cond = Float32Array.from([1, 2, 3, 4]);
    expect(Array.from(classLabels(cond))).toEqual([0, 0, 0, 0, 1, 2, 3, 4]);
    expect(Array.from(classLabels(cond, Float32Array.from([5, 6, 7, 8])))).toEqual([5, 6, 7, 8, 1, 2, 3, 4]);
    expect(Array.from(guide(Float32Array.from([1, 2, 3, 5]), 10))).toEqual([21, 32]);
  });
});

describe('seeded Gaussian noise', () => {
  it('draws uniforms in [0, 1) from the runtime’s counter-based generator, evenly spread', () => {
    // The draw itself is the `sample` op's (conformance-tested on every backend in @seed/cuda-kernels).
    expect(uniform).toBe(counterUniform);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const u = uniform(3, 1, i);
      expect(u >= 0 && u < 1).toBe(true);
      bins[Math.floor(u * 10)]++;
    }
    const chi2 = bins.reduce((a, n) => a + (n - 2000) ** 2 / 2000, 0);
    expect(chi2).toBeLessThan(27.9); // χ², 9 degrees of freedom, p = 0.001
  });

  it('is deterministic per (seed, stream), differs across seeds and streams, odd counts are prefixes', () => {
    const a = gaussianNoise(1001, 7, NOISE_STREAM.latents);
    expect(gaussianNoise(1001, 7, NOISE_STREAM.latents)).toEqual(a);
    expect(gaussianNoise(1000, 7)).toEqual(a.subarray(0, 1000));
    expect(gaussianNoise(16, 8)).not.toEqual(a.subarray(0, 16));
    expect(gaussianNoise(16, 7, NOISE_STREAM.imageNoise)).not.toEqual(a.subarray(0, 16));
    expect(() => gaussianNoise(4, -1)).toThrow(/seed must be an integer/);
  });

  it('has mean 0, variance 1, and normal tails over 4·96·96 values', () => {
    const z = gaussianNoise(4 * 96 * 96, 1234);
    const n = z.length;
    const mean = z.reduce((s, v) => s + v, 0) / n;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(n)); // 4 standard errors
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    const beyond2 = z.filter((v) => Math.abs(v) > 2).length / n; // 4.55 %
    expect(beyond2).toBeGreaterThan(0.04);
    expect(beyond2).toBeLessThan(0.051);
  });
});

describe('image output', () => {
  it('(x/2 + 0.5) clamped, ×255, rounded half to even, CHW → HWC', () => {
    // 1 × 2 pixels: R = [−1, 1], G = [0, 2], B = [−3, 1/255 − 1]
    const img = toRgb8(Float32Array.from([-1, 1, 0, 2, -3, 1 / 255 - 1]), 1, 2);
    expect(Array.from(img.pixels)).toEqual([0, 128, 0, 255, 255, 0]);
    expect(() => toRgb8(new Float32Array(5), 1, 2)).toThrow(/expected 3 × 1 × 2/);
  });
});
