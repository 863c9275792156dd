import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devices } from '@seed/cuda-kernels';
import { describe, expect, it } from 'vitest';
import { generateText, KvCache, loadLlama } from '../src/index.js';
import { writeTinyModelDir } from './helpers/tiny-model.js';

// Greedy continuation of PROMPT by llama.cpp on the same weights (llama-vs-llamacpp.test.ts).
const PROMPT = [1, 300, 17, 64, 201, 5, 290, 77];
const GREEDY = [260, 261, 55, 55, 55, 55, 0, 75, 116, 319, 290, 138];

function tinyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'seed-load-'));
  writeTinyModelDir(dir);
  return dir;
}

async function lastLogits(m: Awaited<ReturnType<typeof loadLlama>>): Promise<Float32Array> {
  const cache = new KvCache(m.config, 'cpu', 64);
  const logits = m.model.forward(PROMPT, cache);
  const v = (await logits.data()) as Float32Array;
  logits.dispose();
  cache.dispose();
  return v;
}

describe('loadLlama', () => {
  it('loads an HF directory (safetensors) and generates what llama.cpp generates', async () => {
    const progress: number[] = [];
    const m = await loadLlama(tinyDir(), { onProgress: (done) => progress.push(done) });
    expect(m.config.nKvHeads).toBe(2);
    expect(m.chatTemplate).toBe('vicuna');
    expect(progress.at(-1)).toBe(2 + 2 * 9 + 1); // embed, 9 per layer, norm, lm_head
    const r = await generateText(m.model, m.tokenizer, PROMPT, { temperature: 0, maxNewTokens: GREEDY.length });
    expect(r.ids).toEqual(GREEDY);
    m.dispose();
  });

  it('loads sharded PyTorch .bin checkpoints (fp16, written by torch.save) with the same logits as the safetensors converted to f16', async () => {
    const dir = tinyDir();
    rmSync(join(dir, 'model.safetensors'));
    const fixtures = join(__dirname, 'fixtures', 'tiny-llama-bin');
    for (const f of readdirSync(fixtures)) copyFileSync(join(fixtures, f), join(dir, f));
    const fromBin = await loadLlama(dir);
    const fromSafetensors = await loadLlama(tinyDir(), { dtype: 'f16' });
    expect(fromBin.model.weights.layers[0].attnQ.dtype).toBe('f16');
    expect(Array.from(await lastLogits(fromBin))).toEqual(Array.from(await lastLogits(fromSafetensors)));
  });

  it('int8 weights (quantized at load) keep the greedy continuation for the first tokens', async () => {
    const m = await loadLlama(tinyDir(), { dtype: 'int8' });
    expect(m.model.weights.layers[1].ffnDown.dtype).toBe('q8');
    expect(m.model.weights.layers[1].ffnNorm.dtype).toBe('f32');
    const r = await generateText(m.model, m.tokenizer, PROMPT, { temperature: 0, maxNewTokens: 8 });
    expect(r.ids).toEqual(GREEDY.slice(0, 8));
  });

  it('lists missing, unexpected and misshapen tensors in one error', async () => {
    const dir = tinyDir();
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
    await expect(loadLlama(dir)).rejects.toThrow(/missing: model\.layers\.2\./);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 1 }));
    await expect(loadLlama(dir)).rejects.toThrow(/unexpected: model\.layers\.1\./);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 128 }));
    await expect(loadLlama(dir)).rejects.toThrow(
      /misshapen: model\.layers\.0\.mlp\.gate_proj\.weight is \[160, 64\], expected \[128, 64\]/,
    );
  });

  it('refuses a model that cannot fit before allocating anything', async () => {
    const dir = tinyDir();
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, max_position_embeddings: 2 ** 32 }));
    await expect(loadLlama(dir)).rejects.toThrow(/needs .* GB on cpu .* but cpu has/);
  });

  it('gives clear errors for a bad directory, dtype or device', async () => {
    await expect(loadLlama(join(tmpdir(), 'no-such-model'))).rejects.toThrow(/no config\.json/);
    await expect(loadLlama(tinyDir(), { dtype: 'fp4' as never })).rejects.toThrow(/unknown weight dtype/);
    // A device this machine does not have is refused by name; cuda:0 loads where there is one.
    await expect(loadLlama(tinyDir(), { device: 'cuda:999' })).rejects.toThrow(/cuda:999 is not available/);
    if (devices().includes('cuda:0')) {
      const m = await loadLlama(tinyDir(), { device: 'cuda:0' });
      expect(m.model.device).toBe('cuda:0');
      m.dispose();
    } else await expect(loadLlama(tinyDir(), { device: 'cuda:0' })).rejects.toThrow(/cuda:0 is not available/);
  });
});
