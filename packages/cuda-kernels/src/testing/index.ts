/**
 * Test helpers, exported as "@seed/cuda-kernels/testing": a seeded RNG, random tensors paired with their
 * reference twins, conversion of device tensors to RefTensors, error metrics and a comparison that reports
 * the worst element. Also re-exports the references as `ref`.
 */
import type { DType } from '../dtype.js';
import { type RefTensor, roundValues } from '../ref/ref-tensor.js';
import { type Device, type Tensor, tensor } from '../tensor.js';

export * as ref from '../ref/index.js';
export type { RefTensor } from '../ref/ref-tensor.js';

/** xoshiro128** seeded through splitmix32: a fast, well-mixed, reproducible PRNG. */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** Uniform in [0, 1). */
  next(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result / 4294967296;
  }

  uniform(lo = -1, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export interface RandomOptions {
  device?: Device;
  /** Values are normal × scale (default 1); ints are uniform in [0, intMax). */
  scale?: number;
  intMax?: number;
}

/** A random tensor (never zeros) and its reference twin holding exactly the same (rounded) values. */
export function randomTensor(
  shape: readonly number[],
  dtype: DType,
  rng: Rng,
  options: RandomOptions = {},
): { t: Tensor; r: RefTensor } {
  const n = shape.reduce((a, b) => a * b, 1);
  const scale = options.scale ?? 1;
  const raw =
    dtype === 'i32' || dtype === 'u8'
      ? Float64Array.from({ length: n }, () => rng.int(0, options.intMax ?? (dtype === 'u8' ? 256 : 1000)))
      : Float64Array.from({ length: n }, () => rng.normal() * scale);
  const values = roundValues(raw, dtype, shape);
  const t =
    dtype === 'i32'
      ? tensor(Int32Array.from(values), shape, { device: options.device })
      : dtype === 'u8'
        ? tensor(Uint8Array.from(values), shape, { device: options.device })
        : tensor(raw, shape, { dtype, device: options.device });
  return { t, r: { dtype, shape: [...shape], data: values } };
}

/** Read a tensor back as a RefTensor. */
export async function toRef(t: Tensor): Promise<RefTensor> {
  return { dtype: t.dtype, shape: [...t.shape], data: Float64Array.from(await t.data()) };
}

export interface Errors {
  maxAbs: number;
  maxRel: number;
  /** Σ(a−e)² / Σe² */
  nmse: number;
  worst: number;
}

export function errors(actual: ArrayLike<number>, expected: ArrayLike<number>): Errors {
  let maxAbs = 0;
  let maxRel = 0;
  let num = 0;
  let den = 0;
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const d = a === e ? 0 : Math.abs(a - e);
    if (Number.isNaN(d) || d > maxAbs) {
      maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
      worst = i;
    }
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(e), 1e-30));
    num += d * d;
    den += e * e;
  }
  return { maxAbs, maxRel, nmse: den === 0 ? num : num / den, worst };
}

export interface Tolerance {
  /** Passes when |a − e| ≤ atol + rtol·|e| for every element. */
  atol: number;
  rtol: number;
}

/** Throw a descriptive Error unless actual matches expected (shape, dtype and values within tol). */
export function expectClose(actual: RefTensor, expected: RefTensor, tol: Tolerance, what = ''): void {
  const tag = what ? `${what}: ` : '';
  if (actual.shape.join(',') !== expected.shape.join(','))
    throw new Error(`${tag}shape [${actual.shape}] != expected [${expected.shape}]`);
  if (actual.dtype !== expected.dtype) throw new Error(`${tag}dtype ${actual.dtype} != expected ${expected.dtype}`);
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    if (a === e) continue;
    if (!(Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e))) {
      const err = errors(actual.data, expected.data);
      throw new Error(
        `${tag}element ${i} is ${a}, expected ${e} (max abs error ${err.maxAbs.toExponential(3)} at ${err.worst}, nmse ${err.nmse.toExponential(3)}, tolerance atol ${tol.atol} rtol ${tol.rtol})`,
      );
    }
  }
}

/** Tolerances by dtype: what rounding one output to the dtype allows, with room for f32 accumulation order. */
export function toleranceFor(dtype: DType, scale = 1): Tolerance {
  switch (dtype) {
    case 'f32':
      return { atol: 2e-5 * scale, rtol: 2e-5 };
    case 'f16':
      return { atol: 2e-3 * scale, rtol: 2e-3 };
    case 'bf16':
      return { atol: 1.6e-2 * scale, rtol: 1.6e-2 };
    default:
      return { atol: 0, rtol: 0 };
  }
}
