// Opt-in: a released SEED-LLaMA model directory ($SEED_MODELS_DIR/seed-llama-8b-sft or seed-llama-14b-sft,
// as published on the HF hub). Skipped, and reported as skipped, when neither exists (the weights cannot be
// downloaded here). int8 so that the 8B model fits a 24 GB machine.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, loadLlama, renderChat } from '../src/index.js';

const root = process.env.SEED_MODELS_DIR ?? '';
const dirs = root
  ? ['seed-llama-8b-sft', 'seed-llama-14b-sft'].map((d) => join(root, d)).filter((d) => existsSync(d))
  : [];

describe.skipIf(dirs.length === 0)('real SEED-LLaMA weights', () => {
  it('each model directory loads (int8), encodes and answers greedily, the same twice', async () => {
    for (const dir of dirs) {
      const loaded = await loadLlama(dir, { dtype: 'int8' });
      try {
        const { model, tokenizer } = loaded;
        expect(tokenizer.vocabSize).toBe(loaded.config.vocabSize);
        const prompt = tokenizer.encode(
          renderChat([{ role: 'user', content: 'What is the capital of France?' }], loaded.chatTemplate),
        );
        const run = async () => {
          const it = generate(model, tokenizer, prompt, { maxNewTokens: 8, temperature: 0 });
          for (let r = await it.next(); ; r = await it.next()) if (r.done) return r.value;
        };
        const a = await run();
        expect(a.ids.length).toBeGreaterThan(0);
        for (const id of a.ids) expect(id >= 0 && id < loaded.config.vocabSize).toBe(true);
        expect(a.text.trim().length).toBeGreaterThan(0);
        expect((await run()).ids).toEqual(a.ids);
      } finally {
        loaded.dispose();
      }
    }
  }, 3_600_000);
});
