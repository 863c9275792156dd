import { memoryInfo, synchronize } from '@seed/cuda-kernels';
import { describe, expect, it, vi } from 'vitest';
import { generate, generateText, KvCache } from '../src/index.js';
import { tinyModel, tinyTokenizer } from './helpers/tiny-model.js';

const model = await tinyModel();
const tokenizer = tinyTokenizer();
const PROMPT = [1, 300, 17, 64, 201, 5, 290, 77];
// Greedy continuation of PROMPT, as llama.cpp computes it (see llama-vs-llamacpp.test.ts).
const GREEDY = [260, 261, 55, 55, 55, 55, 0, 75, 116, 319, 290, 138];

describe('generate()', () => {
  it('greedy decoding reproduces the llama.cpp continuation and streams the text of each token', async () => {
    const pieces: string[] = [];
    const it = generate(model, tokenizer, PROMPT, { temperature: 0, maxNewTokens: GREEDY.length });
    let r = await it.next();
    const ids: number[] = [];
    while (!r.done) {
      ids.push(r.value.id);
      pieces.push(r.value.text);
      r = await it.next();
    }
    expect(ids).toEqual(GREEDY);
    expect(r.value.reason).toBe('max-tokens');
    expect(pieces.join('')).toBe(r.value.text);
    expect(r.value.text).toBe(tokenizer.decode(GREEDY));
  });

  it('prefills in chunks with the same result', async () => {
    const r = await generateText(model, tokenizer, PROMPT, { temperature: 0, maxNewTokens: 6, prefillChunk: 3 });
    expect(r.ids).toEqual(GREEDY.slice(0, 6));
  });

  it('sampling is reproducible from its seed and changes with it', async () => {
    const opts = { temperature: 1, topP: 0.95, maxNewTokens: 16 };
    const a = await generateText(model, tokenizer, PROMPT, { ...opts, seed: 7 });
    const b = await generateText(model, tokenizer, PROMPT, { ...opts, seed: 7 });
    const c = await generateText(model, tokenizer, PROMPT, { ...opts, seed: 8 });
    expect(a.ids).toEqual(b.ids);
    expect(a.ids).not.toEqual(c.ids);
  });

  it('stops on </s> (id 2) even when the config names another eos', async () => {
    expect(model.config.eosIds).toContain(2);
    const r = await generateText(model, tokenizer, PROMPT, {
      temperature: 0,
      maxNewTokens: 20,
      allowedTokens: (g) => (g.length < 3 ? undefined : Uint8Array.from({ length: 320 }, (_, i) => (i === 2 ? 1 : 0))),
    });
    expect(r.ids).toEqual(GREEDY.slice(0, 3));
    expect(r.reason).toBe('eos');
  });

  it('honours stop token ids, stop strings and the allowed-token mask', async () => {
    const byStopId = await generateText(model, tokenizer, PROMPT, {
      temperature: 0,
      maxNewTokens: 20,
      stopTokenIds: [55],
    });
    expect(byStopId.ids).toEqual([260, 261]);
    expect(byStopId.reason).toBe('stop-token');

    const byString = await generateText(model, tokenizer, PROMPT, {
      temperature: 0,
      maxNewTokens: 20,
      stopStrings: ['t261'],
    });
    expect(byString.reason).toBe('stop-string');
    expect(byString.text).toBe('t260 ');
    // A stop string that began in an earlier token: the result is cut where it began.
    const spanning = await generateText(model, tokenizer, PROMPT, {
      temperature: 0,
      maxNewTokens: 20,
      stopStrings: ['0 t2'],
    });
    expect([spanning.reason, spanning.text]).toEqual(['stop-string', 't26']);

    const allowed = new Set([100, 101, 102]);
    const masked = await generateText(model, tokenizer, PROMPT, {
      temperature: 1,
      seed: 3,
      maxNewTokens: 12,
      allowedTokens: () => Uint8Array.from({ length: 320 }, (_, i) => (allowed.has(i) ? 1 : 0)),
    });
    expect(masked.ids.length).toBe(12);
    for (const id of masked.ids) expect(allowed.has(id)).toBe(true);
  });

  it('stops when the AbortSignal fires', async () => {
    const ac = new AbortController();
    const ids: number[] = [];
    const it = generate(model, tokenizer, PROMPT, { temperature: 0, maxNewTokens: 50, signal: ac.signal });
    let r = await it.next();
    while (!r.done) {
      ids.push(r.value.id);
      if (ids.length === 4) ac.abort();
      r = await it.next();
    }
    expect(ids.length).toBe(4);
    expect(r.value.reason).toBe('aborted');
  });

  it('an over-long prompt or a bad id is an error that says so', async () => {
    const long = Array.from({ length: 300 }, () => 5);
    await expect(generateText(model, tokenizer, long)).rejects.toThrow(/300 tokens, longer than the context of 256/);
    await expect(generateText(model, tokenizer, [1, 99999])).rejects.toThrow(/outside the vocabulary/);
  });

  it('reuses a cache across turns: only the new suffix reaches forward(), with identical results', async () => {
    const cache = new KvCache(model.config, 'cpu', 256);
    const forward = vi.spyOn(model, 'forward');
    try {
      const first = await generateText(model, tokenizer, PROMPT, { temperature: 0, maxNewTokens: 4, cache });
      // The prompt and every generated token but the last (which was sampled, never run) are held.
      const held = [...PROMPT, ...first.ids.slice(0, -1)];
      expect(cache.tokens).toEqual(held);
      const turn2 = [...PROMPT, ...first.ids, 33, 44];
      forward.mockClear();
      const reused = await generateText(model, tokenizer, turn2, { temperature: 0, maxNewTokens: 6, cache });
      expect(forward.mock.calls[0][0]).toEqual(turn2.slice(held.length));
      const computed = forward.mock.calls.reduce((n, call) => n + call[0].length, 0);
      expect(computed).toBe(turn2.length - held.length + reused.ids.length - 1);
      const fresh = await generateText(model, tokenizer, turn2, { temperature: 0, maxNewTokens: 6 });
      expect(reused.ids).toEqual(fresh.ids);
    } finally {
      forward.mockRestore();
      cache.dispose();
    }
  });

  it('recomputes from where a prompt leaves what the cache holds, and everything after reset()', async () => {
    const cache = new KvCache(model.config, 'cpu', 256);
    const forward = vi.spyOn(model, 'forward');
    const firstInput = () => forward.mock.calls[0][0];
    try {
      await generateText(model, tokenizer, PROMPT, { temperature: 0, maxNewTokens: 1, cache });
      const edited = [...PROMPT.slice(0, 5), 9, 9, 9];
      forward.mockClear();
      const reused = await generateText(model, tokenizer, edited, { temperature: 0, maxNewTokens: 3, cache });
      expect(firstInput()).toEqual(edited.slice(5));
      expect(reused.ids).toEqual(
        (await generateText(model, tokenizer, edited, { temperature: 0, maxNewTokens: 3 })).ids,
      );

      // The same prompt again still runs its last token: its logits are needed to sample.
      forward.mockClear();
      await generateText(model, tokenizer, edited, { temperature: 0, maxNewTokens: 1, cache });
      expect(firstInput()).toEqual(edited.slice(-1));

      cache.reset();
      expect(cache.tokens).toEqual([]);
      forward.mockClear();
      await generateText(model, tokenizer, edited, { temperature: 0, maxNewTokens: 1, cache });
      expect(firstInput()).toEqual(edited);

      // A forward pass records the tokens it wrote, whoever runs it: a prompt they start is reused.
      cache.reset();
      model.forward(edited.slice(0, 6), cache).dispose();
      expect(cache.tokens).toEqual(edited.slice(0, 6));
      forward.mockClear();
      await generateText(model, tokenizer, edited, { temperature: 0, maxNewTokens: 1, cache });
      expect(firstInput()).toEqual(edited.slice(6));
    } finally {
      forward.mockRestore();
      cache.dispose();
    }
  });

  it('does not grow memory over a long generation and many sessions', async () => {
    await generateText(model, tokenizer, PROMPT, { temperature: 0.8, maxNewTokens: 8 });
    await synchronize();
    const before = memoryInfo();
    // One long generation (to near the end of the 256-token context) and many short sessions.
    const long = await generateText(model, tokenizer, PROMPT, { temperature: 0.9, seed: 99, maxNewTokens: 240 });
    expect(long.ids.length).toBeGreaterThan(100);
    for (let i = 0; i < 20; i++)
      await generateText(model, tokenizer, PROMPT, {
        temperature: 0.8,
        seed: i,
        maxNewTokens: 16,
        repetitionPenalty: 1.1,
      });
    await synchronize();
    const after = memoryInfo();
    expect(after.cpuTensors).toBe(before.cpuTensors);
    expect(after.cpuBytes).toBe(before.cpuBytes);
  });
});
