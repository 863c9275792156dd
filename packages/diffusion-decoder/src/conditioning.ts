/**
 * The small pieces of the unCLIP conditioning (reference/unclip-decoder.md §2.1, §3.3), on host
 * Float32Arrays in float32 arithmetic, each as upstream orders it:
 * - {@link timestepEmbedding}: diffusers' `get_timestep_embedding`;
 * - {@link ImageNormalizer}: StableUnCLIPImageNormalizer's scale/unscale with its mean/std;
 * - {@link noiseImageEmbeddings}: scale → DDPM add_noise at the level → unscale → append the sinusoid of the
 *   level → [B, 2E] (in the embeddings' dtype: with f16 ones, level 0 adds no noise); {@link classLabels} stacks the CFG rows, unconditional (zeros, or a noised negative
 *   embedding) first.
 */
import { roundTo } from '@seed/cuda-kernels';
import type { DdpmNoiser } from './schedulers/ddpm.js';

const f = Math.fround;

export interface TimestepEmbeddingOptions {
  /** Output [cos, sin] instead of [sin, cos] (true for the UNet and the noise level). */
  flipSinToCos: boolean;
  /** Frequency k is exp(−ln(maxPeriod)·k / (dim/2 − downscaleFreqShift)). */
  downscaleFreqShift: number;
  /** Default 1. */
  scale?: number;
  /** Default 10000. */
  maxPeriod?: number;
}

/**
 * Sinusoidal embeddings [timesteps.length, dim] (row-major), float32 as diffusers computes them: exponent
 * −ln(P)·k / (half − shift), frequency exp(exponent), argument t·freq·scale, then [sin, cos] (or [cos, sin]);
 * an odd dim ends with a zero.
 */
export function timestepEmbedding(
  timesteps: ArrayLike<number>,
  dim: number,
  o: TimestepEmbeddingOptions,
): Float32Array {
  if (!Number.isInteger(dim) || dim < 1)
    throw new Error(`timestep embedding dim must be a positive integer, got ${dim}`);
  const half = Math.floor(dim / 2);
  const freqs = new Float32Array(half);
  const logP = f(-Math.log(o.maxPeriod ?? 10000));
  for (let k = 0; k < half; k++) freqs[k] = f(Math.exp(f(f(logP * k) / (half - o.downscaleFreqShift))));
  const scale = o.scale ?? 1;
  const out = new Float32Array(timesteps.length * dim);
  for (let b = 0; b < timesteps.length; b++) {
    const t = f(timesteps[b]);
    const row = b * dim;
    for (let k = 0; k < half; k++) {
      const arg = f(scale * f(t * freqs[k]));
      const sin = f(Math.sin(arg));
      const cos = f(Math.cos(arg));
      out[row + k] = o.flipSinToCos ? cos : sin;
      out[row + half + k] = o.flipSinToCos ? sin : cos;
    }
  }
  return out;
}

/** StableUnCLIPImageNormalizer: (x − mean)/std and back, mean and std [E] (stored [1, E]). */
export class ImageNormalizer {
  constructor(
    readonly mean: Float32Array,
    readonly std: Float32Array,
  ) {
    if (mean.length !== std.length)
      throw new Error(`image normalizer: mean has ${mean.length} values, std ${std.length}`);
  }

  get dim(): number {
    return this.mean.length;
  }

  /** ((x − mean)·1)/std per row of x [B, E]. */
  scale(x: Float32Array): Float32Array {
    const E = this.check(x);
    return x.map((v, i) => f(f(v - this.mean[i % E]) / this.std[i % E]));
  }

  /** x·std + mean per row of x [B, E]. */
  unscale(x: Float32Array): Float32Array {
    const E = this.check(x);
    return x.map((v, i) => f(f(v * this.std[i % E]) + this.mean[i % E]));
  }

  private check(x: Float32Array): number {
    const E = this.dim;
    if (x.length % E !== 0) throw new Error(`image embedding has ${x.length} values, not a multiple of its width ${E}`);
    return E;
  }
}

/**
 * noise_image_embeddings: embeds [B, E] at `noiseLevel` with the noise ε [B, E] → [B, 2E] (each row: the
 * noised embedding, then the sinusoid of the level with flip_sin_to_cos, shift 0, width E).
 */
export function noiseImageEmbeddings(
  embeds: Float32Array,
  noiseLevel: number,
  noise: Float32Array,
  normalizer: ImageNormalizer,
  noiser: DdpmNoiser,
  dtype: 'f32' | 'f16' | 'bf16' = 'f32',
): Float32Array {
  const E = normalizer.dim;
  if (embeds.length === 0 || embeds.length % E !== 0)
    throw new Error(`image embedding has ${embeds.length} values; expected [B, ${E}] (the normalizer's embedding_dim)`);
  const B = embeds.length / E;
  // In f16 / bf16 the embeddings, each intermediate and the sinusoid (computed f32, then cast) are held in it.
  const r = (x: Float32Array) => (dtype === 'f32' ? x : x.map((v) => roundTo(dtype, v)));
  const scaled = r(normalizer.scale(r(embeds)));
  const noised = r(normalizer.unscale(noiser.addNoise(scaled, noise, noiseLevel, dtype)));
  const level = r(timestepEmbedding(new Array(B).fill(noiseLevel), E, { flipSinToCos: true, downscaleFreqShift: 0 }));
  const out = new Float32Array(B * 2 * E);
  for (let b = 0; b < B; b++) {
    out.set(noised.subarray(b * E, (b + 1) * E), b * 2 * E);
    out.set(level.subarray(b * E, (b + 1) * E), b * 2 * E + E);
  }
  return out;
}

/**
 * The UNet's class_labels with classifier-free guidance: [unconditional rows; conditional rows], each
 * [B, 2E]. The unconditional rows are all zeros (the level half too), or the given noised negative rows.
 */
export function classLabels(conditional: Float32Array, negative?: Float32Array): Float32Array {
  if (negative && negative.length !== conditional.length)
    throw new Error(
      `negative embedding rows (${negative.length} values) do not match the embedding (${conditional.length})`,
    );
  const out = new Float32Array(2 * conditional.length);
  if (negative) out.set(negative, 0);
  out.set(conditional, conditional.length);
  return out;
}

/** guided = uncond + g·(cond − uncond) over a [2·n] CFG output (uncond first), float32 as torch does it. */
export function guide(output: Float32Array, guidance: number): Float32Array {
  if (output.length % 2 !== 0) throw new Error(`a CFG output has an even number of values, got ${output.length}`);
  const n = output.length / 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(output[i] + f(guidance * f(output[n + i] - output[i])));
  return out;
}
