/**
 * The runtime's counter-based random draw (docs/ops.md, `sample`): u = draw(seed, counter, row) ∈ [0, 1),
 * SplitMix64 over (seed << 32) + counter and the row, in exact 64-bit arithmetic. Every backend's sampling
 * kernel computes the same bits (native/shared_math.h); host code that needs the same stream (seeded noise)
 * uses this one.
 */
const M64 = (1n << 64n) - 1n;

export function counterUniform(seed: number, counter: number, row: number): number {
  let z =
    (((BigInt(seed) << 32n) + BigInt(counter)) * 0x9e3779b97f4a7c15n + BigInt(row + 1) * 0xd1b54a32d192ed03n) & M64;
  z ^= z >> 30n;
  z = (z * 0xbf58476d1ce4e5b9n) & M64;
  z ^= z >> 27n;
  z = (z * 0x94d049bb133111ebn) & M64;
  z ^= z >> 31n;
  return Number(z >> 11n) / 2 ** 53;
}
