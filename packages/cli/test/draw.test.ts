/**
 * `seed draw` on a tiny SEED-LLaMA set without a decoder: the image codes are all it can give, and it says so
 * and writes no file. (Pictures need @seed/diffusion-decoder.)
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CODEBOOK, writeTinySeedLlama } from '../../seed-llama/test/helpers/tiny-seed-llama.js';
import { seed } from './helpers/run-seed.js';

let model: string;
let out: string;
beforeAll(async () => {
  model = (await writeTinySeedLlama({ seed: 3 })).dir;
  out = mkdtempSync(join(tmpdir(), 'seed-draw-'));
});

const isImageCodes = (codes: unknown) =>
  Array.isArray(codes) && codes.length === 32 && codes.every((c) => Number.isInteger(c) && c >= 0 && c < CODEBOOK);

describe('seed draw', () => {
  it('without a decoder: says it can only print codes, prints 32 in-range codes, writes nothing', () => {
    const file = join(out, 'circle.png');
    const r = seed(['draw', 'a red circle', '--model', model, '-o', file, '--seed', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no decoder .* can only print the image codes; .*circle\.png is not written/);
    expect(isImageCodes(r.stdout.trim().split(',').map(Number))).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('--json and --count: N answers with seeds S, S+1, …; the same seed draws the same codes', () => {
    const r = seed(['draw', 'a red circle', '--model', model, '--count', '3', '--seed', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.drawn).toBe(false);
    expect(result.images).toHaveLength(3);
    for (const image of result.images) {
      expect(isImageCodes(image.codes)).toBe(true);
      expect(image.file).toBeUndefined();
    }
    const one = JSON.parse(seed(['draw', 'a red circle', '--model', model, '--seed', '4', '--json']).stdout);
    expect(one.images[0].codes).toEqual(result.images[0].codes);
    const next = JSON.parse(seed(['draw', 'a red circle', '--model', model, '--seed', '5', '--json']).stdout);
    expect(next.images[0].codes).toEqual(result.images[1].codes);
  });

  it('--codes-only prints codes without the note', () => {
    const r = seed(['draw', 'a red circle', '--model', model, '--codes-only', '--count', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/no decoder/);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(isImageCodes(line.split(',').map(Number))).toBe(true);
  });

  it('bad input is one line on stderr and exit code 1', () => {
    const count = seed(['draw', 'x', '--model', model, '--count', '0']);
    expect(count.code).toBe(1);
    expect(count.stderr).toMatch(/--count must be at least 1/);
    const empty = seed(['draw', '  ', '--model', model]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe('seed draw: the prompt is empty\n');
    const noDecoder = seed(['draw', 'x', '--model', model, '--decoder', join(out, 'nothing-here')]);
    expect(noDecoder.code).toBe(1);
    expect(noDecoder.stderr).toMatch(/^seed draw: --decoder .*nothing-here: no such directory\n$/);
    // With a decoder there is a picture to write: where to is required.
    const decoder = join(out, 'decoder');
    mkdirSync(decoder, { recursive: true });
    const noOutput = seed(['draw', 'x', '--model', model, '--decoder', decoder]);
    expect(noOutput.code).toBe(1);
    expect(noOutput.stderr).toBe('seed draw: give -o FILE.png (where to write the picture), or --codes-only\n');
  });
});
