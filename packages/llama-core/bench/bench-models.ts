/**
 * The random LLaMA models the speed benches run (llama.bench.ts, and tools/device-check on a GPU): the same
 * shapes and the same deterministic weights everywhere, so figures from different benches describe one model.
 */
import { listSpecs } from '@seed/cuda-kernels';
import { llamaWeightSpecs, parseLlamaConfig } from '../src/index.js';
import { type TinyConfig, tinyHfConfig } from '../test/helpers/tiny-llama.js';

export const SIZES: Record<string, TinyConfig> = {
  // ~134M parameters (85M in the blocks + 2 × 24.6M embeddings / head)
  '100m': {
    dim: 768,
    ffnDim: 2048,
    nLayers: 12,
    nHeads: 12,
    nKvHeads: 12,
    vocabSize: 32000,
    maxSeq: 1024,
    eps: 1e-5,
    ropeTheta: 10000,
  },
  // ~0.97B parameters, grouped-query heads (TinyLlama-like shape, 16 layers)
  '1b': {
    dim: 2048,
    ffnDim: 5632,
    nLayers: 16,
    nHeads: 32,
    nKvHeads: 4,
    vocabSize: 32000,
    maxSeq: 1024,
    eps: 1e-5,
    ropeTheta: 10000,
  },
};

/** Every weight of the model, deterministic: norms 1, matrices uniform in ±1/√fan-in. */
export function randomWeights(c: TinyConfig): Map<string, { shape: number[]; data: Float32Array }> {
  let s = 12345;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const w = new Map<string, { shape: number[]; data: Float32Array }>();
  const config = parseLlamaConfig(tinyHfConfig(c));
  for (const { name, shape } of listSpecs(llamaWeightSpecs(config))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const scale = shape.length === 1 ? 0 : 2 / Math.sqrt(shape[1]);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = shape.length === 1 ? 1 : rnd() * scale;
    w.set(name, { shape: [...shape], data });
  }
  return w;
}
