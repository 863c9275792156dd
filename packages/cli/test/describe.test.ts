/** `seed describe` end to end on a tiny SEED-LLaMA set (random LLM + the tiny SEED tokenizer), and model lookup. */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IMAGES, writeTinySeedLlama } from '../../seed-llama/test/helpers/tiny-seed-llama.js';
import { seed } from './helpers/run-seed.js';

const IMAGE = join(IMAGES, 'shrink-320x240.png');
let model: string;
beforeAll(async () => {
  model = (await writeTinySeedLlama({ seed: 3 })).dir;
});

describe('seed describe', () => {
  it('--json answers about each image; the same seed gives the same answer', () => {
    const args = ['describe', IMAGE, IMAGE, '--model', model, '--max-tokens', '8', '--seed', '5', '--json'];
    const r = seed(args);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.question).toBe('Can you describe this image?');
    expect(out.images).toHaveLength(2);
    for (const image of out.images) {
      expect(image.file).toBe(IMAGE);
      expect(typeof image.text).toBe('string');
      // The prompt holds the image span (34 tokens) besides the question.
      expect(image.tokens.prompt).toBeGreaterThan(34);
      expect(image.tokens.generated).toBeLessThanOrEqual(8);
    }
    expect(JSON.parse(seed(args).stdout)).toEqual(out);
  });

  it('streams the answer, headed by the file name when there are several images', () => {
    const r = seed(['describe', IMAGE, IMAGE, '--model', model, '--max-tokens', '4', '--question', 'what is this?']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith(`${IMAGE}:\n`)).toBe(true);
    expect(r.stdout.split(`${IMAGE}:\n`)).toHaveLength(3);
  });

  it('finds the model set through SEED_MODEL_DIR or the pulled cache (SEED_HOME)', () => {
    const viaEnv = seed(['describe', IMAGE, '--max-tokens', '2', '--json'], { env: { SEED_MODEL_DIR: model } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    const home = mkdtempSync(join(tmpdir(), 'seed-home-'));
    symlinkSync(model, join(home, 'seed-llama-8b'));
    const viaCache = seed(['describe', IMAGE, '--max-tokens', '2', '--json'], { env: { SEED_HOME: home } });
    expect(viaCache.code, viaCache.stderr).toBe(0);
    // --llm and --tokenizer name the components one by one.
    const split = seed([
      'describe',
      IMAGE,
      '--llm',
      join(model, 'llm'),
      '--tokenizer',
      join(model, 'tokenizer'),
      '--max-tokens',
      '2',
    ]);
    expect(split.code, split.stderr).toBe(0);
  });

  it('bad input is one line on stderr and exit code 1', () => {
    const none = seed(['describe', IMAGE]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^seed describe: no model: give --model DIR .*run `seed pull`/);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);

    const missing = seed(['describe', '/no/such.png', '--model', model]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('seed describe: /no/such.png: no such image file\n');

    const dir = mkdtempSync(join(tmpdir(), 'seed-describe-'));
    const notImage = join(dir, 'notes.png');
    writeFileSync(notImage, 'not a picture');
    const bad = seed(['describe', notImage, '--model', model]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^seed describe: ${notImage}: `));

    const half = join(dir, 'half');
    mkdirSync(join(half, 'llm'), { recursive: true });
    const incomplete = seed(['describe', IMAGE, '--model', half]);
    expect(incomplete.code).toBe(1);
    expect(incomplete.stderr).toMatch(/holds llm\/ and tokenizer\/.*missing tokenizer\//);

    const temp = seed(['describe', IMAGE, '--model', model, '--temperature', 'hot']);
    expect(temp.code).toBe(1);
    expect(temp.stderr).toMatch(/--temperature must be a number/);
  });
});
