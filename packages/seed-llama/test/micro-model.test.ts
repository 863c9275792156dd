/**
 * The bundled seed-micro model set (models/seed-micro, trained by tools/train/build_micro.py) through seed's
 * own engine, against the Python reference forward passes that trained and evaluated it
 * (fixtures/micro-model.json, written by tools/train/evaluate.py): the SEED tokenizer's codes and
 * embeddings for rendered scenes, the prompt ids, greedy captions and greedy drawings of the LLM, and a
 * whole Session that sees; then the whole system — sees, draws through @seed/diffusion-decoder — judged by
 * the world's checker on unseen scenes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateText, type LoadedLlama, loadLlama } from '@seed/llama-core';
import { SeedTokenizer } from '@seed/seed-tokenizer';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageVocabulary, renderPrompt, SeedLlama, world } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const MICRO = join(here, '../../../models/seed-micro');
const present = ['tokenizer', 'llm'].every((d) => existsSync(join(MICRO, d, 'config.json')));
if (!present) console.warn(`micro-model tests skipped: ${MICRO} is absent (build it with tools/train/build_micro.py)`);

interface FixtureScene {
  seed: number;
  codes: number[];
  embedding: number[];
  prompt_ids: number[];
  caption_ids: number[];
  caption: string;
  draw_text: string;
  draw_prompt_ids: number[];
  draw_ids: number[];
  draw_codes: number[] | null;
}
const fixturePath = join(here, 'fixtures/micro-model.json');
const scenes: FixtureScene[] = present ? JSON.parse(readFileSync(fixturePath, 'utf8')).scenes : [];

const rawScene = (seed: number) => ({
  data: world.render(world.scene(seed)),
  width: 32,
  height: 32,
  channels: 3 as const,
});
const EOS = 2;
const withoutEos = (ids: readonly number[]) => ids.filter((id) => id !== EOS);

describe.skipIf(!present)('seed-micro through the TypeScript engine', () => {
  let tokenizer: SeedTokenizer;
  let llm: LoadedLlama;
  beforeAll(async () => {
    tokenizer = await SeedTokenizer.load(join(MICRO, 'tokenizer'));
    llm = await loadLlama(join(MICRO, 'llm'));
  });
  afterAll(() => {
    tokenizer?.dispose();
    llm?.dispose();
  });

  it('loads the tokenizer at its own size: 32px images, as many codes per image as the fixture holds', () => {
    expect(tokenizer.config.imageSize).toBe(32);
    expect(tokenizer.codesPerImage).toBe(scenes[0].codes.length);
  });

  it('encodes rendered scenes to the codes the Python reference gives', async () => {
    const codes = await tokenizer.encode(scenes.map((s) => rawScene(s.seed)));
    expect(codes).toEqual(scenes.map((s) => s.codes));
  });

  it('decodes codes to the Python embedding', async () => {
    const embeddings = await tokenizer.decode(scenes.map((s) => s.codes));
    for (const [i, s] of scenes.entries()) {
      const scale = Math.max(...s.embedding.map(Math.abs));
      for (let j = 0; j < s.embedding.length; j++)
        expect(Math.abs(embeddings[i][j] - s.embedding[j])).toBeLessThan(1e-4 * scale);
    }
  });

  it('renders the prompts the LLM was trained on', () => {
    const vocab = new ImageVocabulary(llm.tokenizer, tokenizer.config.codebookSize, tokenizer.codesPerImage);
    for (const s of scenes) {
      const describe = renderPrompt(
        [
          {
            role: 'user',
            parts: [
              { type: 'image', codes: s.codes },
              { type: 'text', text: 'what is in this picture?' },
            ],
          },
        ],
        'vicuna',
        llm.tokenizer,
        vocab,
        { context: 256, reserve: 32 },
      );
      expect(describe.ids).toEqual(s.prompt_ids);
      const draw = renderPrompt(
        [{ role: 'user', parts: [{ type: 'text', text: `draw ${s.draw_text}` }] }],
        'vicuna',
        llm.tokenizer,
        vocab,
        { context: 256, reserve: 32 },
      );
      expect(draw.ids).toEqual(s.draw_prompt_ids);
    }
  });

  it('captions greedily as the Python reference does, and the captions name the scenes', async () => {
    for (const s of scenes) {
      const r = await generateText(llm.model, llm.tokenizer, s.prompt_ids, { temperature: 0, maxNewTokens: 16 });
      expect(withoutEos(r.ids)).toEqual(withoutEos(s.caption_ids));
      const named = world.parseCaption(r.text);
      const shown = world.scene(s.seed);
      expect(named, `seed ${s.seed}: '${r.text}'`).toEqual({
        shape: shown.shape,
        colour: shown.colour,
        background: shown.background,
      });
    }
  });

  it('a Session sees a scene and draws codes as the Python reference does', async () => {
    const seed = await SeedLlama.load({ llm: join(MICRO, 'llm'), tokenizer: join(MICRO, 'tokenizer') });
    try {
      for (const s of scenes.slice(0, 2)) {
        const session = seed.session();
        let text = '';
        for await (const e of session.send([{ image: rawScene(s.seed) }, 'what is in this picture?'], {
          temperature: 0,
          maxNewTokens: 16,
        }))
          if (e.type === 'text') text += e.text;
        expect(text.trim()).toBe(s.caption.trim());
        expect(session.history[0].parts[0]).toEqual({ type: 'image', codes: s.codes });

        const drawer = seed.session();
        const codes: number[][] = [];
        for await (const e of drawer.send(`draw ${s.draw_text}`, { temperature: 0, maxNewTokens: 40 }))
          if (e.type === 'image-codes') codes.push(e.codes);
        expect(codes).toEqual(s.draw_codes ? [s.draw_codes] : []);
      }
    } finally {
      seed.dispose();
    }
  });

  it('the whole system sees and draws unseen scenes, judged by the checker (issue 11 bars: caption 90 %, drawing 85 %)', async () => {
    const model = await SeedLlama.load(MICRO);
    const N = 24;
    let described = 0;
    let drawn = 0;
    try {
      expect(model.canDraw).toBe(true);
      for (let i = 0; i < N; i++) {
        const shown = world.scene(700_000 + i);
        let text = '';
        for await (const e of model.session().send([{ image: rawScene(700_000 + i) }, 'what is in this picture?'], {
          temperature: 0,
          maxNewTokens: 16,
        }))
          if (e.type === 'text') text += e.text;
        const said = world.parseCaption(text);
        if (said && world.caption(said) === world.caption(shown)) described++;

        const asked = world.scene(800_000 + i);
        let png: Uint8Array | undefined;
        for await (const e of model
          .session()
          .send(`draw ${world.caption(asked)}`, { temperature: 0, maxNewTokens: 40 }))
          if (e.type === 'image') png = e.png;
        if (!png) continue;
        const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
        expect([info.width, info.height, info.channels]).toEqual([32, 32, 3]);
        if (world.caption(world.parseScene(new Uint8Array(data))) === world.caption(asked)) drawn++;
      }
    } finally {
      model.dispose();
    }
    console.log(`seed-micro on ${N} unseen scenes: caption ${described}/${N}, drawing ${drawn}/${N}`);
    // Issue 11's bars, on 24 scenes (the Python evaluation measured caption 97.5 %, drawing 97 % on 200;
    // tools/train/REPORT.md): 22 and 21 of 24 at least.
    expect(described / N).toBeGreaterThanOrEqual(0.9);
    expect(drawn / N).toBeGreaterThanOrEqual(0.85);
  });
});
