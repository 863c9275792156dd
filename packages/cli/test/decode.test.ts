/**
 * `seed decode` on the tiny golden unCLIP folder (packages/diffusion-decoder/test/fixtures, recorded by the
 * PyTorch reference tools/golden/unclip_ref.py): the reference's own inputs through --inputs reproduce its
 * final latents and image (--dump), within the reference's tolerances; the other ways to give the embedding;
 * and every bad input as one line with exit code 1. Spawns the built dist/bin.js.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWeights, type Tensor, tensor, writeSafetensors } from '@seed/cuda-kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../../diffusion-decoder/test/fixtures/', import.meta.url));
const goldenDir = join(fixtures, 'tiny-unclip-golden');
const tokenizer = fileURLToPath(new URL('../../seed-tokenizer/test/fixtures/tiny-seed', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'seed-decode-'));
const decoder = join(tmp, 'tiny-unclip'); // a copy: the empty prompt's context is cached next to the model
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function seed(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const entries = new Map(
  (
    JSON.parse(readFileSync(join(goldenDir, 'golden.json'), 'utf8')) as {
      entries: { name: string; shape: number[]; tolerance: number }[];
    }
  ).entries.map((e) => [e.name, e]),
);

async function read(path: string, name: string): Promise<Float32Array> {
  const f = openWeights(path);
  const t = f.load(name, { dtype: 'f32' });
  const v = Float32Array.from((await t.data()) as Float32Array);
  t.dispose();
  f.close();
  return v;
}

/** PNG width and height from its IHDR chunk. */
function pngSize(file: string): [number, number] {
  const b = readFileSync(file);
  expect(b.subarray(1, 4).toString('latin1')).toBe('PNG');
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

beforeAll(() => cpSync(join(fixtures, 'tiny-unclip'), decoder, { recursive: true }));

describe('seed decode', () => {
  it("--inputs with the reference's embedding, latents, noise and context: its final latents and image", async () => {
    const g = join(goldenDir, 'golden.safetensors');
    const [H, W] = [16, 8];
    const ctx = (await read(g, 'text.context')).subarray(0, 77 * 32); // row 0: the empty prompt
    const ts: [string, Tensor][] = [
      ['image_embeds', tensor(await read(g, 'inputs.image_embeds'), [1, 32])],
      ['latents', tensor(await read(g, 'inputs.latents'), [1, 4, H, W])],
      ['noise', tensor(await read(g, 'inputs.embed_noise'), [1, 32])],
      ['text_context', tensor(ctx, [1, 77, 32])],
    ];
    const inputs = join(tmp, 'inputs.safetensors');
    await writeSafetensors(inputs, ts);
    for (const [, t] of ts) t.dispose();
    const out = join(tmp, 'golden.png');
    const dump = join(tmp, 'golden.safetensors');
    const r = seed(
      'decode',
      '--decoder',
      decoder,
      '--inputs',
      inputs,
      '--steps',
      '5',
      '--noise-level',
      '100',
      '-o',
      out,
      '--dump',
      dump,
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(['file', 'width', 'height', 'steps', 'seconds']);
    expect(j).toMatchObject({ file: out, width: 64, height: 128, steps: 5 });
    expect(pngSize(out)).toEqual([64, 128]);
    const size = 4 * H * W;
    const allLatents = await read(g, 'pndm.nl100.latents');
    const wantLatents = allLatents.subarray(allLatents.length - size);
    const latents = await read(dump, 'final_latents');
    const tolL = entries.get('pndm.nl100.latents')?.tolerance ?? 0;
    expect(Math.max(...latents.map((v, i) => Math.abs(v - wantLatents[i])))).toBeLessThanOrEqual(tolL);
    const image = await read(dump, 'image');
    const want = await read(g, 'vae.nl100.image');
    expect(image.length).toBe(want.length);
    const tolI = entries.get('vae.nl100.image')?.tolerance ?? 0;
    expect(Math.max(...image.map((v, i) => Math.abs(v - want[i])))).toBeLessThanOrEqual(tolI);
    expect(Math.min(...image)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...image)).toBeLessThanOrEqual(1);
  });

  it('--embedding takes `seed embed --json` output, a JSON array or numbers; the same embedding, the same PNG', () => {
    const e = Array.from({ length: 32 }, (_, i) => Math.sin(i));
    const files = {
      json: join(tmp, 'e.json'),
      array: join(tmp, 'a.json'),
      text: join(tmp, 'e.txt'),
    };
    writeFileSync(files.json, JSON.stringify({ codes: [], embedding: e }));
    writeFileSync(files.array, JSON.stringify(e));
    writeFileSync(files.text, e.join(' '));
    const pngs = Object.entries(files).map(([k, f]) => {
      const out = join(tmp, `${k}.webp`);
      const r = seed(
        'decode',
        '--decoder',
        decoder,
        '--embedding',
        f,
        '--steps',
        '2',
        '--scheduler',
        'ddim',
        '-o',
        out,
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^${out}: 128×128, 2 steps, [0-9.]+ s\\n$`));
      return readFileSync(out);
    });
    expect(pngs[0].subarray(8, 12).toString('latin1')).toBe('WEBP');
    expect(pngs[1]).toEqual(pngs[0]);
    expect(pngs[2]).toEqual(pngs[0]);
  });

  it('bad inputs are one line on stderr and exit code 1', () => {
    const e = join(tmp, 'short.json');
    writeFileSync(e, JSON.stringify(Array.from({ length: 31 }, () => 0.5)));
    const good = join(tmp, 'a.json');
    const out = join(tmp, 'x.png');
    const cases: [string[], RegExp][] = [
      [['--embedding', e], /the embedding has 31 values; this decoder takes 32 \(image_normalizer embedding_dim\)/],
      [
        ['--embedding', good, '--width', '96'],
        /width must be a positive multiple of 64 for this model \(VAE ×8, UNet ×8\), got 96/,
      ],
      [['--embedding', join(tmp, 'none.json')], /--embedding .*none\.json: no such file/],
      [['--embedding', good, '--codes', '1,2'], /give one of --embedding, --codes or --inputs/],
      [['--codes', '1,2,3'], /--codes needs --tokenizer DIR/],
      [
        ['--codes', Array(32).fill(5000).join(','), '--tokenizer', tokenizer],
        /position 0: 5000 is not a code id in \[0, 1024\)/,
      ],
      [
        ['--codes', Array(32).fill(1).join(','), '--tokenizer', tokenizer],
        /the embedding has 128 values; this decoder takes 32/,
      ],
      [['--embedding', good, '--tokenizer', '/no/such/tok'], /--tokenizer \/no\/such\/tok: no such directory/],
      [[], /give the embedding: --embedding FILE, --codes … --tokenizer DIR, or --inputs FILE/],
    ];
    for (const [args, message] of cases) {
      const r = seed('decode', '--decoder', decoder, '-o', out, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('seed decode: '));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
    const missing = seed('decode', '--decoder', '/no/such/decoder', '--embedding', good, '-o', out);
    expect([missing.code, missing.stderr]).toEqual([1, 'seed decode: --decoder /no/such/decoder: no such directory\n']);
    const noUnet = join(tmp, 'no-unet');
    cpSync(decoder, noUnet, { recursive: true });
    rmSync(join(noUnet, 'unet'), { recursive: true });
    const r = seed('decode', '--decoder', noUnet, '--embedding', good, '-o', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seed decode: .*no-unet\/unet\/config\.json/);
    const ext = seed('decode', '--decoder', decoder, '--embedding', good, '-o', join(tmp, 'x.gif'));
    expect(ext.stderr).toMatch(/must end in \.png, \.jpg, \.jpeg or \.webp/);
  });
});
