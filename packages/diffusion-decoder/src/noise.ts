/**
 * Seeded Gaussian noise, generated on the host so a seed gives the same latents on every backend.
 * Uniforms come from the counter-based SplitMix64 draw that the runtime's `sample` op uses
 * (@seed/cuda-kernels docs/ops.md: u = draw(seed, counter, row) ∈ [0, 1)); `stream` takes the place of the
 * counter, so independent tensors of one seed (latents, the embedding's noise) use different streams.
 * Pairs of uniforms become pairs of normals by Box–Muller:
 *   r = √(−2 ln(1 − u₁)),  z₂ₖ = r·cos(2π u₂),  z₂ₖ₊₁ = r·sin(2π u₂),  u₁ = draw(2k), u₂ = draw(2k + 1).
 */
import { counterUniform } from '@seed/cuda-kernels';

/** The runtime's counter-based uniform in [0, 1) (same formula as the `sample` op). */
export const uniform = counterUniform;

/** Which tensor of a generation a noise stream is for. */
export const NOISE_STREAM = { latents: 0, imageNoise: 1 } as const;

const u32 = (name: string, v: number) => {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32)
    throw new Error(`${name} must be an integer in [0, 2³²), got ${v}`);
};

/** `count` standard normal values (float32) for (seed, stream). */
export function gaussianNoise(count: number, seed: number, stream = 0): Float32Array {
  u32('seed', seed);
  u32('stream', stream);
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  const out = new Float32Array(count);
  for (let k = 0; 2 * k < count; k++) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform(seed, stream, 2 * k)));
    const angle = 2 * Math.PI * uniform(seed, stream, 2 * k + 1);
    out[2 * k] = r * Math.cos(angle);
    if (2 * k + 1 < count) out[2 * k + 1] = r * Math.sin(angle);
  }
  return out;
}
