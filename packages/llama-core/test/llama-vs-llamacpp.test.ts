// The LLaMA forward pass checked against llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU binary) on the same
// tiny random weights: identical greedy tokens over 32+ steps and matching next-token probabilities, for
// f32 weights and for int8 weights (ours: per-row q8; llama.cpp: Q8_0) with a looser tolerance. Ours runs on
// every device present (llama.cpp's reference, on CPU, is computed once per weight file).
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devices } from '@seed/cuda-kernels';
import { getLlama, type Llama, type LlamaModel as NlcModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvCache, type LlamaModel, loadLlama } from '../src/index.js';
import { TINY, tinyWeights, writeTinyGguf } from './helpers/tiny-llama.js';
import { writeTinyModelDir } from './helpers/tiny-model.js';

const STEPS = 40;
const PROMPT = [1, 300, 17, 64, 201, 5, 290, 77];

const SEED = 42;
let dir: string;
let llama: Llama;
const weights = tinyWeights(TINY, SEED);

function softmax(logits: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of logits) max = Math.max(max, x);
  const out = Float64Array.from(logits, (x) => Math.exp(x - max));
  const sum = out.reduce((a, b) => a + b, 0);
  return out.map((x) => x / sum);
}

async function ours(model: LlamaModel): Promise<{ tokens: number[]; probs: Float64Array[] }> {
  const cache = new KvCache(model.config, model.device, TINY.maxSeq);
  const tokens: number[] = [];
  const probs: Float64Array[] = [];
  let input = PROMPT;
  for (let s = 0; s < STEPS; s++) {
    const logits = model.forward(input, cache);
    const p = softmax((await logits.data()) as Float32Array);
    logits.dispose();
    let best = 0;
    for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
    tokens.push(best);
    probs.push(p);
    input = [best];
  }
  cache.dispose();
  return { tokens, probs };
}

/** Our next-token probabilities when fed `forced` (teacher forcing: the same history as the reference). */
async function oursForced(model: LlamaModel, forced: number[]): Promise<Float64Array[]> {
  const cache = new KvCache(model.config, model.device, TINY.maxSeq);
  const probs: Float64Array[] = [];
  let input = PROMPT;
  for (let s = 0; s < forced.length; s++) {
    const logits = model.forward(input, cache);
    probs.push(softmax((await logits.data()) as Float32Array));
    logits.dispose();
    input = [forced[s]];
  }
  cache.dispose();
  return probs;
}

const argmax = (p: Float64Array) => p.reduce((best, x, i) => (x > p[best] ? i : best), 0);

type Reference = { tokens: number[]; probs: Map<number, number>[] };

/** llama.cpp's run of a GGUF file, computed once whatever the number of devices ours runs on. */
const references = new Map<string, Promise<Reference>>();
function reference(ggufPath: string): Promise<Reference> {
  let r = references.get(ggufPath);
  if (!r) {
    r = runReference(ggufPath);
    references.set(ggufPath, r);
  }
  return r;
}

async function runReference(ggufPath: string): Promise<Reference> {
  const model: NlcModel = await llama.loadModel({ modelPath: ggufPath });
  const context = await model.createContext({ contextSize: TINY.maxSeq, threads: 2 });
  const sequence = context.getSequence();
  const tokens: number[] = [];
  const probs: Map<number, number>[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: node-llama-cpp's Token is a branded number
  const it = sequence.evaluateWithMetadata(PROMPT as any, { probabilities: true }, { temperature: 0 });
  for await (const step of it) {
    tokens.push(step.token as unknown as number);
    probs.push(step.probabilities as unknown as Map<number, number>);
    if (tokens.length >= STEPS) break;
  }
  await context.dispose();
  await model.dispose();
  return { tokens, probs };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seed-llama-'));
  writeTinyGguf(join(dir, 'tiny-f32.gguf'), TINY, weights, 'f32');
  writeTinyGguf(join(dir, 'tiny-q8.gguf'), TINY, weights, 'q8_0');
  // The same weights as an HF directory, loaded by loadLlama onto each device.
  mkdirSync(join(dir, 'hf'));
  writeTinyModelDir(join(dir, 'hf'), SEED);
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
});

afterAll(async () => {
  await llama?.dispose();
});

/** Run `use` on our model on `device` with the weights at `dtype`, then free it. */
async function withModel<T>(device: string, dtype: 'f32' | 'int8', use: (m: LlamaModel) => Promise<T>): Promise<T> {
  const loaded = await loadLlama(join(dir, 'hf'), { dtype, device });
  try {
    return await use(loaded.model);
  } finally {
    loaded.dispose();
  }
}

describe.each(devices())('LLaMA forward against llama.cpp, ours on %s', (device) => {
  it('f32 weights: identical greedy tokens and next-token probabilities', async () => {
    const [a, b] = [await withModel(device, 'f32', ours), await reference(join(dir, 'tiny-f32.gguf'))];
    console.log(`${device} f32 tokens ${a.tokens.join(' ')}`);
    expect(a.tokens).toEqual(b.tokens);
    // llama.cpp keeps its KV cache in f16, which bounds the agreement (toolchain.md: ~1e-4).
    let worst = 0;
    for (let s = 0; s < STEPS; s++)
      for (const [id, p] of b.probs[s]) worst = Math.max(worst, Math.abs(a.probs[s][id] - p));
    console.log(`${device} f32 worst prob diff ${worst}`);
    expect(worst).toBeLessThan(2e-3);
  });

  it('int8 weights (seed q8 per row vs llama.cpp Q8_0): the same greedy token at every step where the reference is not a near-tie, close probabilities', async () => {
    const b = await reference(join(dir, 'tiny-q8.gguf'));
    // Both engines see the same history (llama.cpp's greedy tokens), so one near-tie cannot derail the rest.
    const probs = await withModel(device, 'int8', (m) => oursForced(m, b.tokens));
    let same = 0;
    let worst = 0;
    for (let s = 0; s < STEPS; s++) {
      const ref = [...b.probs[s].entries()].sort((x, y) => y[1] - x[1]);
      const margin = ref[0][1] - (ref[1]?.[1] ?? 0);
      const ours = argmax(probs[s]);
      if (ours === b.tokens[s]) same++;
      // Two 8-bit schemes may only disagree where llama.cpp itself is within a few percent of a tie.
      else expect(margin, `step ${s}: ours ${ours}, llama.cpp ${b.tokens[s]} with margin ${margin}`).toBeLessThan(0.05);
      for (const [id, p] of b.probs[s]) worst = Math.max(worst, Math.abs(probs[s][id] - p));
    }
    console.log(`${device} q8 same greedy token at ${same}/${STEPS} steps, worst prob diff ${worst}`);
    expect(same).toBeGreaterThanOrEqual(32);
    expect(worst).toBeLessThan(3e-2);
  });
});
