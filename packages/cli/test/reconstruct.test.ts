/**
 * `seed reconstruct` with the tiny SEED tokenizer (packages/seed-tokenizer/test/fixtures/tiny-seed, 128-d
 * embeddings, codes from the PyTorch reference) and a random micro-shaped decoder of the same embedding
 * width written by @seed/diffusion-decoder's test helper (32×32 images: sizes come from the configs). The
 * golden tiny unCLIP takes 32-d embeddings: that pairing is refused with a clear message.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MICRO_SHAPE, TINY, writeRandomDecoder } from '../../diffusion-decoder/test/helpers/random-decoder.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../../seed-tokenizer/test/fixtures/', import.meta.url));
const tokenizer = join(fixtures, 'tiny-seed');
const golden = JSON.parse(readFileSync(join(fixtures, 'tiny-seed-golden', 'golden.json'), 'utf8')) as {
  images: { file: string; codes: number[] }[];
};
const image = join(fixtures, 'preprocess', golden.images[0].file);
const tmp = mkdtempSync(join(tmpdir(), 'seed-reconstruct-'));
const decoder = join(tmp, 'micro-128');
beforeAll(() => writeRandomDecoder(decoder, { ...MICRO_SHAPE, embeddingDim: 128 }));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function seed(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('seed reconstruct', () => {
  it("encodes to the reference's codes and draws them at the model's size; seed decode --codes draws the same", () => {
    const out = join(tmp, 'round.png');
    const r = seed(
      'reconstruct',
      image,
      '--tokenizer',
      tokenizer,
      '--decoder',
      decoder,
      '-o',
      out,
      '--steps',
      '3',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { file: string; width: number; height: number; steps: number; codes: number[] };
    expect(j).toMatchObject({ file: out, width: 32, height: 32, steps: 3, image, codes: golden.images[0].codes });
    const again = join(tmp, 'codes.png');
    const d = seed(
      'decode',
      '--codes',
      j.codes.join(','),
      '--tokenizer',
      tokenizer,
      '--decoder',
      decoder,
      '-o',
      again,
      '--steps',
      '3',
    );
    expect(d.code, d.stderr).toBe(0);
    expect(readFileSync(again)).toEqual(readFileSync(out));
    const wide = seed(
      'reconstruct',
      image,
      '--tokenizer',
      tokenizer,
      '--decoder',
      decoder,
      '-o',
      out,
      '--steps',
      '1',
      '--width',
      '40',
      '--json',
    );
    expect(JSON.parse(wide.stdout)).toMatchObject({ width: 40, height: 32 });
  });

  it('a decoder of another embedding width, a missing image or folder: one line, exit code 1', () => {
    const out = join(tmp, 'x.png');
    const a = seed('reconstruct', image, '--tokenizer', tokenizer, '--decoder', TINY, '-o', out);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(
      /^seed reconstruct: the tokenizer's embeddings have 128 values but the decoder takes 32: they are not a pair$/m,
    );
    const b = seed('reconstruct', join(tmp, 'none.png'), '--tokenizer', tokenizer, '--decoder', decoder, '-o', out);
    expect([b.code, b.stderr]).toEqual([1, `seed reconstruct: ${join(tmp, 'none.png')}: no such file\n`]);
    const c = seed('reconstruct', image, '--tokenizer', '/no/tok', '--decoder', decoder, '-o', out);
    expect([c.code, c.stderr]).toEqual([1, 'seed reconstruct: --tokenizer /no/tok: no such directory\n']);
    const d = seed('reconstruct', image, '--tokenizer', tokenizer, '--decoder', decoder, '-o', out, '--height', '36');
    expect(d.stderr).toMatch(/height must be a positive multiple of 8 for this model \(VAE ×4, UNet ×2\), got 36/);
  });
});
