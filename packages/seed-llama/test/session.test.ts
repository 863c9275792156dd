/** Sessions on a tiny SEED-LLaMA set: seeing, drawing (well-formed spans), history, queueing, abort, memory. */
import { join } from 'node:path';
import { memoryInfo, synchronize } from '@seed/cuda-kernels';
import { generate, LlamaTokenizer } from '@seed/llama-core';
import { SeedTokenizer } from '@seed/seed-tokenizer';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DrawOptions,
  type ImageDecoder,
  ImageSpanGuard,
  ImageVocabulary,
  renderPrompt,
  SeedLlama,
  type SessionEvent,
  type Turn,
} from '../src/index.js';
import { CODEBOOK, IMAGES, TINY_SEED_TOKENIZER, tinySpModel, writeTinySeedLlama } from './helpers/tiny-seed-llama.js';

const IMAGE = join(IMAGES, 'shrink-320x240.png');

async function collect(it: AsyncIterable<SessionEvent>): Promise<SessionEvent[]> {
  const out: SessionEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** Every image span in `ids` is <img> + 32 codes + </img>, and no code or </img> stands outside one. */
function wellFormed(ids: readonly number[], v: ImageVocabulary, startsInside = false): boolean {
  let inSpan = startsInside ? 0 : -1;
  for (const id of ids) {
    if (inSpan >= 0) {
      if (inSpan < v.codesPerImage) {
        if (v.codeOf(id) < 0) return false;
        inSpan++;
      } else if (id === v.eoi) inSpan = -1;
      else return false;
    } else if (id === v.boi) inSpan = 0;
    else if (id === v.eoi || v.codeOf(id) >= 0) return false;
  }
  return inSpan === -1;
}

/** A decoder for plumbing tests: paints each embedding's sign pattern; reports every step. */
class GridDecoder implements ImageDecoder {
  calls = 0;
  disposed = false;
  async draw(embedding: Float32Array, o: DrawOptions) {
    this.calls++;
    const steps = o.steps ?? 3;
    for (let s = 1; s <= steps; s++) {
      o.signal?.throwIfAborted();
      o.onStep?.(s, steps, 0.001);
      await new Promise((r) => setImmediate(r));
    }
    const width = o.width ?? 16;
    const height = o.height ?? 8;
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = embedding[i % embedding.length] > 0 ? 255 : 0;
    return { rgb, width, height };
  }
  dispose() {
    this.disposed = true;
  }
}

let uniform: SeedLlama;
let random: SeedLlama;
beforeAll(async () => {
  uniform = await SeedLlama.load((await writeTinySeedLlama({ uniform: true })).dir);
  random = await SeedLlama.load({ dir: (await writeTinySeedLlama({ seed: 3 })).dir, decoder: new GridDecoder() });
});
afterAll(() => {
  uniform?.dispose();
  random?.dispose();
});

describe('image tokens', () => {
  it('are looked up by their strings; spans are <img> + 32 codes + </img>', () => {
    const v = uniform.vocab;
    const tok = uniform.llm.tokenizer;
    expect(v.codeIds.length).toBe(CODEBOOK);
    expect(tok.tokenToId('<img_00005>')).toBe(v.codeIds[5]);
    expect(v.codeOf(v.codeIds[1023])).toBe(1023);
    expect(v.codeOf(v.boi)).toBe(-1);
    const codes = Array.from({ length: 32 }, (_, i) => i * 31);
    expect(tok.encode(v.spanText(codes))).toEqual([v.boi, ...codes.map((c) => v.codeIds[c]), v.eoi]);
    expect(() => v.checkCodes(codes.slice(1))).toThrow(/exactly 32 codes, got 31/);
    expect(() => v.checkCodes([...codes.slice(1), CODEBOOK])).toThrow(
      /image code 31 is 1024, not an integer in \[0, 1024\)/,
    );
  });
});

describe('ImageSpanGuard', () => {
  const v = () => uniform.vocab;
  const V = () => uniform.llm.config.vocabSize;
  it('inside a span allows only codes, then only </img>; outside, no codes and no </img>', () => {
    const g = new ImageSpanGuard(v(), V(), 100);
    const code = v().codeIds[7];
    const outside = g.allowed([5, 6]);
    expect([outside[v().boi], outside[v().eoi], outside[code], outside[5]]).toEqual([1, 0, 0, 1]);
    const inside = g.allowed([5, v().boi, code, code]);
    expect([inside[v().boi], inside[v().eoi], inside[code], inside[5]]).toEqual([0, 0, 1, 0]);
    const full = g.allowed([v().boi, ...Array(32).fill(code)]);
    expect([full[v().eoi], full[code], full[5]]).toEqual([1, 0, 0]);
    expect(g.allowed([v().boi, ...Array(32).fill(code), v().eoi])[code]).toBe(0);
  });
  it('opens a span only when all 34 tokens still fit in the budget', () => {
    const g = new ImageSpanGuard(v(), V(), 40);
    expect(g.allowed(Array(6).fill(5))[v().boi]).toBe(1); // 34 left
    expect(g.allowed(Array(7).fill(5))[v().boi]).toBe(0); // 33 left
  });
  it('a forced image starts inside a span and needs 33 tokens', () => {
    expect(new ImageSpanGuard(v(), V(), 33, true).allowed([])[v().codeIds[0]]).toBe(1);
    expect(() => new ImageSpanGuard(v(), V(), 32, true)).toThrow(/takes 33 more tokens but only 32/);
  });
});

describe('prompts', () => {
  it('place image spans where the image is, with the whitespace next to them stripped (transformers 4.30)', () => {
    const v = uniform.vocab;
    const tok = uniform.llm.tokenizer;
    const codes = Array.from({ length: 32 }, (_, i) => (i * 97) % CODEBOOK);
    const turns: Turn[] = [
      {
        role: 'user',
        parts: [
          { type: 'image', codes },
          { type: 'text', text: ' what is this?' },
        ],
      },
    ];
    const { ids } = renderPrompt(turns, 'vicuna', tok, v, { context: 512, reserve: 16 });
    const span = [v.boi, ...codes.map((c) => v.codeIds[c]), v.eoi];
    // "<s>USER: " | image | "what is this?\nASSISTANT:", each text chunk encoded on its own.
    expect(ids).toEqual([1, ...tok.encode('USER:'), ...span, ...tok.encode('what is this?\nASSISTANT:')]);
    const l2 = renderPrompt(turns, 'llama2', tok, v, { context: 512, reserve: 16 }).ids;
    expect(l2).toEqual([1, ...tok.encode('[INST]'), ...span, ...tok.encode('what is this? [/INST]\n')]);
  });

  it('drop the oldest whole exchanges to fit, never part of an image, and refuse a message that cannot fit', () => {
    const v = uniform.vocab;
    const tok = uniform.llm.tokenizer;
    const img = { type: 'image' as const, codes: Array(32).fill(3) };
    const turns: Turn[] = [];
    for (let i = 0; i < 10; i++)
      turns.push(
        { role: 'user', parts: [img, { type: 'text', text: `what is this ${i}?` }] },
        { role: 'assistant', parts: [{ type: 'text', text: 'a red circle.' }, img] },
      );
    turns.push({ role: 'user', parts: [{ type: 'text', text: 'and this?' }, img] });
    const full = renderPrompt(turns, 'vicuna', tok, v, { context: 100_000, reserve: 0 }).ids.length;
    const r = renderPrompt(turns, 'vicuna', tok, v, { context: 400, reserve: 64 });
    expect(r.droppedTurns).toBeGreaterThan(0);
    expect(r.droppedTurns % 2).toBe(0); // whole exchanges
    expect(r.ids.length).toBeLessThanOrEqual(400 - 64);
    expect(full).toBeGreaterThan(400);
    expect(wellFormed(r.ids, v)).toBe(true);
    expect(r.ids.filter((id) => id === v.boi).length).toBe(r.ids.filter((id) => id === v.eoi).length);
    expect(() => renderPrompt(turns.slice(-1), 'vicuna', tok, v, { context: 40, reserve: 8 })).toThrow(
      /the message is \d+ tokens; with 8 tokens kept for the reply it does not fit the context of 40 tokens/,
    );
  });
});

describe('Session', () => {
  it('sees: an image in a message is encoded once to the SEED tokenizer codes and kept as codes', async () => {
    const s = uniform.session();
    const events = await collect(s.send([{ image: IMAGE }, 'what is this?'], { maxNewTokens: 8, seed: 1 }));
    const done = events.at(-1);
    expect(done?.type).toBe('done');
    const tok = await SeedTokenizer.load(TINY_SEED_TOKENIZER);
    const [codes] = await tok.encode(IMAGE);
    tok.dispose();
    expect(s.history[0].parts[0]).toEqual({ type: 'image', codes });
    expect(s.history[1].role).toBe('assistant');
    if (done?.type === 'done') {
      expect(done.tokens.generated).toBeGreaterThan(0);
      expect(done.tokens.prompt).toBeGreaterThan(34);
      expect(done.timings.encodeImages).toBeGreaterThan(0);
    }
  });

  it('draws: a forced image is <img> + 32 codes + </img>, streamed as events and drawn by the decoder', async () => {
    const s = random.session();
    const events = await collect(
      s.send('a red circle', { forceImage: true, maxNewTokens: 40, seed: 2, draw: { steps: 4 } }),
    );
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('image-start');
    const codesEvent = events.find((e) => e.type === 'image-codes');
    expect(codesEvent?.type === 'image-codes' && codesEvent.codes.length).toBe(32);
    expect(
      events.filter((e) => e.type === 'decoder-step').map((e) => (e.type === 'decoder-step' ? e.step : 0)),
    ).toEqual([1, 2, 3, 4]);
    const image = events.find((e) => e.type === 'image');
    if (image?.type !== 'image' || !image.png) throw new Error('no drawn image');
    const meta = await sharp(image.png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 16, 8]);
    const reply = s.history[1].parts.find((p) => p.type === 'image');
    expect(reply).toEqual({ type: 'image', codes: image.codes, generated: true });
    expect(types.indexOf('image-codes')).toBeLessThan(types.indexOf('decoder-step'));
    expect(types.at(-1)).toBe('done');
  });

  it('works on a model whose context is no longer than the default reply limit (seed-micro: 256)', async () => {
    const small = await SeedLlama.load((await writeTinySeedLlama({ maxSeq: 128 })).dir);
    try {
      const events = await collect(small.session().send('what is this?', { seed: 1, temperature: 1 })); // maxNewTokens 256
      const done = events.at(-1);
      expect(done?.type).toBe('done');
      if (done?.type === 'done') expect(done.tokens.prompt + done.tokens.generated).toBeLessThanOrEqual(128);
    } finally {
      small.dispose();
    }
  });

  it('refuses a forced image that cannot fit in maxNewTokens before generating anything', async () => {
    await expect(collect(random.session().send('draw', { forceImage: true, maxNewTokens: 20 }))).rejects.toThrow(
      /drawing an image takes 33 more tokens but only 20/,
    );
  });

  it('keeps every image span well formed on a model that, unguarded, breaks them', async () => {
    const v = uniform.vocab;
    const tok = uniform.llm.tokenizer;
    // Unguarded, the same model writes codes and </img> outside spans and leaves spans open.
    const prompt = tok.encode('<s>USER: draw\nASSISTANT:<img>');
    const free: number[] = [];
    for await (const t of generate(uniform.llm.model, tok, prompt, { maxNewTokens: 40, temperature: 1, seed: 1 }))
      free.push(t.id);
    expect(wellFormed(free, v, true)).toBe(false);
    // Guarded: 24 conversations with random budgets, with and without forced images, each well formed.
    let spans = 0;
    for (let i = 0; i < 24; i++) {
      const s = uniform.session();
      const force = i % 3 === 0;
      const events = await collect(
        s.send('draw', {
          maxNewTokens: force ? 33 + (i % 9) : 1 + ((i * 37) % 90),
          temperature: 1,
          topP: 1,
          seed: i,
          forceImage: force,
        }),
      );
      const starts = events.filter((e) => e.type === 'image-start').length;
      const codes = events.filter((e) => e.type === 'image-codes');
      expect(codes.length).toBe(starts); // never left open at the limit
      for (const c of codes)
        if (c.type === 'image-codes') expect(c.codes.every((x) => x >= 0 && x < CODEBOOK)).toBe(true);
      spans += codes.length;
      const reply = s.history[1].parts;
      const ids = tok.encode(reply.map((p) => (p.type === 'text' ? p.text : v.spanText(p.codes))).join(''));
      expect(wellFormed(ids, v)).toBe(true);
    }
    expect(spans).toBeGreaterThanOrEqual(8);
  });

  it('queues concurrent requests on one model, reports the position, and aborts a waiting or running one', async () => {
    const a = random.session();
    const b = random.session();
    const order: string[] = [];
    const run = async (name: string, it: AsyncIterable<SessionEvent>) => {
      const events: SessionEvent[] = [];
      for await (const e of it) {
        if (e.type !== 'queued') order.push(name);
        events.push(e);
      }
      return events;
    };
    const [ea, eb] = await Promise.all([
      run('a', a.send('what is this?', { maxNewTokens: 12, temperature: 0 })),
      run('b', b.send('what is this?', { maxNewTokens: 12, temperature: 0 })),
    ]);
    expect(eb[0]).toEqual({ type: 'queued', position: 1 });
    expect(ea[0].type).not.toBe('queued');
    expect(order.lastIndexOf('a')).toBeLessThan(order.indexOf('b')); // b starts after a is done
    // Abort while waiting: the request leaves the queue with the abort reason.
    const running = collect(a.send('what is this?', { maxNewTokens: 30, temperature: 0 }));
    const controller = new AbortController();
    const waiting = collect(b.send('hello', { signal: controller.signal }));
    controller.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    await running;
    // Abort while running: the turn ends with reason 'aborted'.
    const c2 = new AbortController();
    const events: SessionEvent[] = [];
    for await (const e of b.send('what is this?', { maxNewTokens: 50, temperature: 1, signal: c2.signal })) {
      events.push(e);
      if (events.length === 2) c2.abort();
    }
    const done = events.at(-1);
    expect(done?.type === 'done' && done.reason).toBe('aborted');
  });

  it('memory stays flat over 100 turns', async () => {
    const s = uniform.session();
    const turn = () => collect(s.send('what is this?', { maxNewTokens: 4, seed: 5 }));
    await turn();
    await synchronize('cpu');
    const before = memoryInfo();
    for (let i = 0; i < 100; i++) {
      await turn();
      if (i % 10 === 0) s.reset();
    }
    await synchronize('cpu');
    const after = memoryInfo();
    expect(after.cpuTensors).toBe(before.cpuTensors);
    expect(after.cpuBytes).toBe(before.cpuBytes);
  });
});

describe('SeedLlama.load', () => {
  it('says what a model directory is missing', async () => {
    const { dir } = await writeTinySeedLlama();
    await expect(SeedLlama.load({ dir, llm: join(dir, 'nope') })).rejects.toThrow(/nope/);
    await expect(SeedLlama.load(join(dir, 'llm'))).rejects.toThrow(
      /holds llm\/ and tokenizer\/.*missing llm\/ and tokenizer\//,
    );
    await expect(
      SeedLlama.load({ llm: join(dir, 'llm'), tokenizer: join(dir, 'tokenizer'), device: 'tpu' }),
    ).rejects.toThrow(/unknown device 'tpu'/);
  });

  it('refuses an LLM whose tokenizer lacks the image tokens', () => {
    const plain = new LlamaTokenizer(tinySpModel(), {}, [{ content: '<s>' }, { content: '</s>' }]);
    expect(() => new ImageVocabulary(plain, 1024, 32)).toThrow(
      /the LLM's tokenizer has no <img> token: not a SEED-LLaMA tokenizer/,
    );
  });
});
