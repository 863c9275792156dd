/**
 * Training noise schedules (β and ᾱ tables) as diffusers builds them, with its float32 rounding:
 * - linear: torch.linspace(β_start, β_end, N, float32);
 * - scaled_linear: torch.linspace(√β_start, √β_end, N, float32)², squared in float32;
 * - squaredcos_cap_v2: β_i = min(1 − f((i+1)/N)/f(i/N), 0.999), f(u) = cos²((u + 0.008)/1.008 · π/2), in
 *   float64, stored as float32.
 * ᾱ_t = Π_{i≤t} (1 − β_i): float32 α, the running product in float64 (torch's CPU cumprod accumulates in
 * double), each ᾱ stored as float32.
 */
import type { SchedulerConfig } from '../config/scheduler.js';

const f = Math.fround;

/** torch.linspace(start, end, n) in float32: step and values computed in float32, two halves from each end. */
export function linspaceF32(start: number, end: number, n: number): Float32Array {
  const out = new Float32Array(n);
  const s = f(start);
  const e = f(end);
  if (n === 1) {
    out[0] = s;
    return out;
  }
  const step = f(f(e - s) / (n - 1));
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? f(s + f(step * i)) : f(e - f(step * (n - i - 1)));
  return out;
}

/** β_0..β_{N−1} of a scheduler config, float32. */
export function betas(
  c: Pick<SchedulerConfig, 'numTrainTimesteps' | 'betaStart' | 'betaEnd' | 'betaSchedule' | 'trainedBetas'>,
): Float32Array {
  const N = c.numTrainTimesteps;
  if (c.trainedBetas) return Float32Array.from(c.trainedBetas);
  switch (c.betaSchedule) {
    case 'linear':
      return linspaceF32(c.betaStart, c.betaEnd, N);
    case 'scaled_linear':
      return linspaceF32(Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd), N).map((b) => f(b * b));
    case 'squaredcos_cap_v2': {
      const alphaBar = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      const out = new Float32Array(N);
      for (let i = 0; i < N; i++) out[i] = Math.min(1 - alphaBar((i + 1) / N) / alphaBar(i / N), 0.999);
      return out;
    }
  }
}

/** ᾱ_t = Π_{i≤t}(1 − β_i), float32 values of a float64 running product of the float32 α. */
export function alphasCumprod(beta: Float32Array): Float32Array {
  const out = new Float32Array(beta.length);
  let acc = 1;
  for (let i = 0; i < beta.length; i++) {
    acc *= f(1 - beta[i]);
    out[i] = acc;
  }
  return out;
}

/**
 * Inference timesteps of diffusers' spacings (descending):
 * - leading: (arange(n) · ⌊N/n⌋) + steps_offset, reversed;
 * - trailing: round(arange(N, 0, −N/n)) − 1;
 * - linspace: round(linspace(0, N − 1, n)), reversed.
 */
export function spacedTimesteps(
  N: number,
  n: number,
  spacing: 'leading' | 'trailing' | 'linspace',
  offset: number,
): number[] {
  if (!Number.isInteger(n) || n < 1 || n > N)
    throw new Error(`steps must be an integer in [1, ${N}] (num_train_timesteps), got ${n}`);
  if (spacing === 'leading') {
    const ratio = Math.floor(N / n);
    return Array.from({ length: n }, (_, i) => i * ratio + offset).reverse();
  }
  if (spacing === 'trailing') {
    const ratio = N / n;
    const out: number[] = [];
    for (let t = N; t > 0 && out.length < n; t -= ratio) out.push(roundHalfEven(t) - 1);
    return out;
  }
  return Array.from({ length: n }, (_, i) => roundHalfEven(n === 1 ? 0 : (i * (N - 1)) / (n - 1))).reverse();
}

/** numpy's round (half to even). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The float32 element-wise arithmetic that torch does on float32 tensors, one rounding per op. */
export const f32 = f;
