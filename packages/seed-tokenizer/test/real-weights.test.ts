// Opt-in: the released SEED tokenizer (AILab-CVC/seed-tokenizer-2's seed_quantizer.pt + LAVIS's
// eva_vit_g.pth, or their safetensors conversions) in $SEED_MODELS_DIR/seed-tokenizer-2. Skipped, and
// reported as skipped, when that directory does not exist (the weights cannot be downloaded here).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeedTokenizer } from '../src/index.js';
import { IMAGE_DIR } from './helpers/golden.js';

const dir = process.env.SEED_MODELS_DIR ? join(process.env.SEED_MODELS_DIR, 'seed-tokenizer-2') : '';
const present = dir !== '' && existsSync(dir);

describe.skipIf(!present)(`real SEED tokenizer weights (${dir || '$SEED_MODELS_DIR unset'})`, () => {
  let tok: SeedTokenizer;
  beforeAll(async () => {
    tok = await SeedTokenizer.load(dir);
  }, 600_000);
  afterAll(() => tok?.dispose());

  it('encodes images to codes in range, deterministically', async () => {
    const files = ['shrink-320x240.png', 'mixed-500x90.png'].map((f) => join(IMAGE_DIR, f));
    const codes = await tok.encode(files);
    for (const c of codes) {
      expect(c).toHaveLength(tok.config.numQueryTokens);
      for (const id of c) expect(id >= 0 && id < tok.config.codebookSize).toBe(true);
    }
    expect(await tok.encode(files[0])).toEqual([codes[0]]);
    expect(codes[0]).not.toEqual(codes[1]);
  }, 600_000);

  it('decodes codes to a finite embedding of the configured size', async () => {
    const [codes] = await tok.encode(join(IMAGE_DIR, 'shrink-320x240.png'));
    const [e] = await tok.decode([codes]);
    expect(e).toHaveLength(tok.config.embedDim);
    expect(e.every(Number.isFinite)).toBe(true);
    expect(Math.hypot(...e)).toBeGreaterThan(0);
  }, 600_000);
});
