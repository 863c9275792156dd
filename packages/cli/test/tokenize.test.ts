/**
 * `seed tokenize` and `seed embed` on the tiny SEED tokenizer committed with @seed/seed-tokenizer's golden
 * fixtures (a random model saved by torch.save; codes and embeddings computed by the PyTorch reference in
 * tools/golden/seed_tokenizer_ref.py). Spawns the built dist/bin.js.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWeights } from '@seed/cuda-kernels';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../../seed-tokenizer/test/fixtures/', import.meta.url));
const tokenizer = join(fixtures, 'tiny-seed');
const golden = JSON.parse(readFileSync(join(fixtures, 'tiny-seed-golden', 'golden.json'), 'utf8')) as {
  images: { file: string; codes: number[] }[];
  random_codes: number[];
};
const image = (i: number) => join(fixtures, 'preprocess', golden.images[i].file);

function seed(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('seed tokenize', () => {
  it('--json prints each image’s 32 codes, equal to the PyTorch reference', () => {
    const r = seed('tokenize', image(0), image(1), '--tokenizer', tokenizer, '--dtype', 'f32', '--json');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { images: { file: string; codes: number[] }[] };
    expect(out.images).toEqual([
      { file: image(0), codes: golden.images[0].codes },
      { file: image(1), codes: golden.images[1].codes },
    ]);
  });

  it('prints one line per image without --json', () => {
    const r = seed('tokenize', image(2), '--tokenizer', tokenizer, '--dtype', 'f32');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${image(2)}\t${golden.images[2].codes.join(',')}`);
  });

  it('a missing image or tokenizer is exit code 1 with a message', () => {
    const a = seed('tokenize', '/no/such.png', '--tokenizer', tokenizer);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/^seed tokenize: .*\/no\/such\.png/m);
    expect(a.stderr).toMatch(/^note: \d+ tensors in the tokenizer files are not used: /);
    const b = seed('tokenize', image(0), '--tokenizer', '/no/such/dir');
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/no such directory/);
    const c = seed('tokenize', image(0), '--tokenizer', tokenizer, '--dtype', 'int8');
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/argument 'int8' is invalid\. Allowed choices are auto, f32, f16, bf16/);
  });
});

describe('seed embed', () => {
  it('--json prints the embedding the reference computed', async () => {
    const expected = golden.random_codes;
    const r = seed('embed', '--tokenizer', tokenizer, '--codes', expected.join(','), '--dtype', 'f32', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { codes: number[]; embedding: number[] };
    expect(out.codes).toEqual(expected);
    expect(out.embedding).toHaveLength(128); // the tiny model's embed_dim
    const file = openWeights(join(fixtures, 'tiny-seed-golden', 'expected.pt'));
    const t = file.load('random.embedding', { dtype: 'f32' });
    const ref = Array.from((await t.data()) as Float32Array);
    t.dispose();
    file.close();
    const scale = Math.max(...ref.map(Math.abs));
    for (let i = 0; i < ref.length; i++) expect(Math.abs(out.embedding[i] - ref[i])).toBeLessThan(1e-4 * scale);
  });

  it('wrong codes are exit code 1 with a message naming them', () => {
    const short = seed('embed', '--tokenizer', tokenizer, '--codes', golden.random_codes.slice(0, 5).join(','));
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/5 codes; an image is exactly 32/);
    const bad = seed('embed', '--tokenizer', tokenizer, '--codes', '1,2,x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/code 2 \('x'\) is not an integer/);
  });
});

describe('seed convert', () => {
  it('converts the tokenizer’s pickles to safetensors that load to the same codes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seed-cli-convert-'));
    try {
      for (const [src, dst] of [
        ['seed_quantizer.pt', 'seed_quantizer.safetensors'],
        ['eva_vit_g.pth', 'eva_vit_g.safetensors'],
      ]) {
        const r = seed('convert', join(tokenizer, src), join(dir, dst), '--json');
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout) as {
          input: string;
          output: string;
          files: string[];
          tensors: number;
          bytes: number;
        };
        expect(out.input).toBe(join(tokenizer, src));
        expect(out.output).toBe(join(dir, dst));
        expect(out.files).toEqual([join(dir, dst)]);
        expect(out.tensors).toBeGreaterThan(10);
        const w = openWeights(join(dir, dst));
        try {
          expect(w.tensors.length).toBe(out.tensors);
          expect(out.bytes).toBeGreaterThan(0);
          expect(out.bytes).toBeLessThan(readFileSync(join(dir, dst)).byteLength);
        } finally {
          w.close();
        }
      }
      copyFileSync(join(tokenizer, 'config.json'), join(dir, 'config.json'));
      const r = seed('tokenize', image(3), '--tokenizer', dir, '--dtype', 'f32', '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).images[0].codes).toEqual(golden.images[3].codes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad input is exit code 1 with a message, and nothing is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seed-cli-convert-'));
    try {
      writeFileSync(join(dir, 'bad.pt'), 'PK\x03\x04 not really');
      const r = seed('convert', join(dir, 'bad.pt'), join(dir, 'out.safetensors'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^seed convert: .*bad\.pt/);
      expect(existsSync(join(dir, 'out.safetensors'))).toBe(false);
      const d = seed('convert', join(tokenizer, 'seed_quantizer.pt'), join(dir, 'x.safetensors'), '--dtype', 'int3');
      expect(d.code).toBe(1);
      expect(d.stderr).toMatch(/'--dtype <d>' argument 'int3' is invalid\. Allowed choices are f32, f16, bf16/);
      expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
