/** Loaded tokenizer weights by our ids (see weights/seed-names.ts), with a lookup that names what is missing. */
import type { Tensor } from '@seed/cuda-kernels';

export type SeedWeights = ReadonlyMap<string, Tensor>;

export function weight(weights: SeedWeights, id: string): Tensor {
  const t = weights.get(id);
  if (!t) throw new Error(`seed-tokenizer: weight ${id} is not loaded`);
  return t;
}
