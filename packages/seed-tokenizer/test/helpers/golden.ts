/**
 * The committed golden fixtures made by the PyTorch reference (tools/golden/seed_tokenizer_ref.py): a tiny
 * random SEED tokenizer saved with torch.save (fixtures/tiny-seed) and what the reference computed for the
 * preprocessing PNGs (fixtures/tiny-seed-golden: expected.pt tensors + golden.json codes and margins).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWeights } from '@seed/cuda-kernels';

export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));
export const TINY_DIR = join(FIXTURES, 'tiny-seed');
export const GOLDEN_DIR = join(FIXTURES, 'tiny-seed-golden');
export const IMAGE_DIR = join(FIXTURES, 'preprocess');

export interface GoldenImage {
  file: string;
  codes: number[];
  min_margin: number;
  min_rel_margin: number;
}

export interface Golden {
  images: GoldenImage[];
  random_codes: number[];
}

export const golden = (): Golden => JSON.parse(readFileSync(join(GOLDEN_DIR, 'golden.json'), 'utf8')) as Golden;

/** Every tensor of expected.pt, read by our own PyTorch reader, as f32 (codes as integers). */
export async function expectedTensors(): Promise<Map<string, { shape: number[]; data: Float32Array | Int32Array }>> {
  const file = openWeights(join(GOLDEN_DIR, 'expected.pt'));
  const out = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  try {
    for (const t of file.tensors) {
      const isInt = t.dtype.startsWith('I');
      const loaded = file.load(t.name, isInt ? {} : { dtype: 'f32' });
      out.set(t.name, { shape: [...loaded.shape], data: (await loaded.data()) as Float32Array | Int32Array });
      loaded.dispose();
    }
  } finally {
    file.close();
  }
  return out;
}

/** max |a − e| relative to max |e| (a scale-free error for whole activations). */
export function relMaxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    maxDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxDiff / Math.max(maxRef, 1e-30);
}

/** Cosine similarity of two vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}
