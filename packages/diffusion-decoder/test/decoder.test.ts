/**
 * What generate() and load() do beyond the golden comparison: sizes from the configs (a micro-shaped model
 * draws 32×32), the empty prompt's context (stored with a folder without text encoder; computed once and
 * cached by the text encoder's hash otherwise), f16 embeddings at noise level 0, the tiled VAE decode, and the
 * fp16 variant.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryInfo, openWeights, scope, tensor, writeSafetensors } from '@seed/cuda-kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DdpmNoiser,
  DiffusionDecoder,
  gaussianNoise,
  ImageNormalizer,
  imageGeometry,
  loadDecoder,
  noiseImageEmbeddings,
  readDecoderConfigs,
  vaeDecode,
  vaeDecodeTiled,
} from '../src/index.js';
import { MICRO_SHAPE, TINY, writeRandomDecoder } from './helpers/random-decoder.js';

const tmp = mkdtempSync(join(tmpdir(), 'seed-decoder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fast = { steps: 2, scheduler: 'ddim', seed: 3 } as const;

describe('image sizes come from the configs', () => {
  const micro = join(tmp, 'micro');
  beforeAll(() => writeRandomDecoder(micro, { ...MICRO_SHAPE, embeddingDim: 16 }));

  it('multiple = VAE scale × 2^(UNet levels − 1); default = sample_size × VAE scale', () => {
    expect(imageGeometry(readDecoderConfigs(TINY))).toEqual({ vaeScale: 8, multiple: 64, defaultSize: 128 });
    expect(imageGeometry(readDecoderConfigs(micro))).toEqual({ vaeScale: 4, multiple: 8, defaultSize: 32 });
  });

  it('a micro-shaped model draws 32×32 by default and 40×24 on request; other sizes name the multiple', async () => {
    const d = await DiffusionDecoder.load(micro);
    try {
      const e = gaussianNoise(16, 1);
      const [a] = await d.generate(e, fast);
      expect([a.width, a.height, a.pixels.length, a.latents.length, a.raw.length]).toEqual([32, 32, 3072, 256, 3072]);
      const [b] = await d.generate(e, { ...fast, width: 40, height: 24 });
      expect([b.width, b.height]).toEqual([40, 24]);
      await expect(d.generate(e, { ...fast, width: 36 })).rejects.toThrow(
        'width must be a positive multiple of 8 for this model (VAE ×4, UNet ×2), got 36',
      );
      await expect(d.generate(gaussianNoise(17, 1), fast)).rejects.toThrow('expected [N, 16]');
    } finally {
      d.dispose();
    }
  });

  it('without text encoder the stored context is used; without it, or of the wrong width, a clear error', async () => {
    const d = await DiffusionDecoder.load(micro);
    expect(d.notes.join('\n')).toMatch(/empty prompt's context is .*text_context\/empty_prompt\.safetensors/);
    const stored = openWeights(join(micro, 'text_context', 'empty_prompt.safetensors'));
    const t = stored.load('text_context');
    const want = Float32Array.from((await t.data()) as Float32Array);
    t.dispose();
    stored.close();
    expect(d.emptyPromptContext).toEqual(want);
    // Giving the same context explicitly draws the same image.
    const e = gaussianNoise(16, 2);
    const [a] = await d.generate(e, fast);
    const [b] = await d.generate(e, { ...fast, context: want });
    expect(b.pixels).toEqual(a.pixels);
    d.dispose();

    const bare = join(tmp, 'bare');
    await writeRandomDecoder(bare, { ...MICRO_SHAPE, embeddingDim: 16, textTokens: 0 });
    const d2 = await DiffusionDecoder.load(bare);
    await expect(d2.generate(e, fast)).rejects.toThrow(
      /no text_encoder\/ and no text_context\/empty_prompt\.safetensors/,
    );
    const [c] = await d2.generate(e, { ...fast, context: want });
    expect(c.pixels).toEqual(a.pixels); // the same random weights (same seed), the same context
    d2.dispose();

    const wide = join(tmp, 'wide');
    await writeRandomDecoder(wide, { ...MICRO_SHAPE, embeddingDim: 16, textWidth: 24 });
    await expect(DiffusionDecoder.load(wide)).rejects.toThrow(
      /text_context is \[1, 4, 24\], expected \[1, L, 32\] \(the UNet's cross_attention_dim\)/,
    );
  });
});

describe("the empty prompt's context is computed once and cached by the text encoder's hash", () => {
  it('first load computes and writes it; the next reads it, defers the text encoder, and draws the same', async () => {
    const dir = join(tmp, 'tiny-copy');
    cpSync(TINY, dir, { recursive: true });
    const first = await DiffusionDecoder.load(dir);
    const files = readdirSync(join(dir, 'text_context'));
    expect(files).toEqual([expect.stringMatching(/^empty_prompt\.[0-9a-f]{16}\.f32\.safetensors$/)]);
    const e = gaussianNoise(32, 5);
    const opts = { ...fast, width: 64, height: 64 };
    const [a] = await first.generate(e, opts);
    const [ap] = await first.generate(e, { ...opts, prompt: 'a photo of a zebra' });
    const computed = first.emptyPromptContext;
    first.dispose();

    const second = await DiffusionDecoder.load(dir);
    expect(second.notes.join('\n')).toMatch(/read from the cache/);
    expect(second.emptyPromptContext).toEqual(computed);
    const [b] = await second.generate(e, opts);
    expect(b.pixels).toEqual(a.pixels);
    const [bp] = await second.generate(e, { ...opts, prompt: 'a photo of a zebra' }); // loads the text encoder now
    expect(bp.pixels).toEqual(ap.pixels);
    expect(bp.pixels).not.toEqual(b.pixels);
    second.dispose();

    // A cache written for another text encoder (its hash in the metadata) is not used.
    const path = join(dir, 'text_context', files[0]);
    const t = tensor(new Float32Array(computed?.length ?? 0), [1, 77, 32]);
    await writeSafetensors(path, { text_context: t }, { text_encoder_sha256: 'f'.repeat(64) });
    t.dispose();
    const third = await DiffusionDecoder.load(dir);
    expect(third.notes.join('\n')).toMatch(/cached context was not used: .*written for another text encoder/);
    expect(third.emptyPromptContext).toEqual(computed);
    third.dispose();
  });

  it('contextCache: false writes nothing', async () => {
    const dir = join(tmp, 'tiny-nocache');
    cpSync(TINY, dir, { recursive: true });
    (await DiffusionDecoder.load(dir, { contextCache: false })).dispose();
    expect(existsSync(join(dir, 'text_context'))).toBe(false);
  });
});

describe('f16 embeddings at noise level 0', () => {
  const cfg = readDecoderConfigs(TINY).imageNoisingScheduler;
  const noiser = new DdpmNoiser(cfg);
  const x = gaussianNoise(64, 1);
  const eps = gaussianNoise(64, 2);

  it('ᾱ₀ rounds to 1 in f16 (and bf16): the noise has no effect; in f32 it adds 0.0064·ε', () => {
    const f16x = noiser.addNoise(x, new Float32Array(64), 0, 'f16');
    expect(noiser.addNoise(x, eps, 0, 'f16')).toEqual(f16x);
    expect(noiser.addNoise(x, eps, 0, 'bf16')).toEqual(noiser.addNoise(x, new Float32Array(64), 0, 'bf16'));
    const d = noiser.addNoise(x, eps, 0).map((v, i) => v - noiser.addNoise(x, new Float32Array(64), 0)[i]);
    expect(Math.max(...d.map((v, i) => Math.abs(v - 0.006427 * eps[i])))).toBeLessThan(1e-5);
    // At level 100 f16 noise does act.
    expect(noiser.addNoise(x, eps, 100, 'f16')).not.toEqual(noiser.addNoise(x, new Float32Array(64), 100, 'f16'));
  });

  it('so the class labels at level 0 do not depend on the noise with f16 embeddings', () => {
    const norm = new ImageNormalizer(new Float32Array(64), new Float32Array(64).fill(1));
    const a = noiseImageEmbeddings(x, 0, eps, norm, noiser, 'f16');
    const b = noiseImageEmbeddings(x, 0, gaussianNoise(64, 3), norm, noiser, 'f16');
    expect(a).toEqual(b);
    expect(noiseImageEmbeddings(x, 0, eps, norm, noiser)).not.toEqual(
      noiseImageEmbeddings(x, 0, gaussianNoise(64, 3), norm, noiser),
    );
  });
});

describe('tiled VAE decode', () => {
  let loaded: Awaited<ReturnType<typeof loadDecoder>>;
  beforeAll(async () => {
    loaded = await loadDecoder(TINY, { skipText: true });
  });
  afterAll(() => loaded.dispose());
  const h = 32;
  const w = 24;
  const latents = gaussianNoise(4 * h * w, 9);

  async function plain() {
    let held = 0;
    const out = scope(() => {
      const r = vaeDecode(loaded.configs.vae, loaded.vae, tensor(latents, [1, 4, h, w]));
      held = memoryInfo().cpuBytes;
      return r;
    });
    const v = Float32Array.from((await out.data()) as Float32Array);
    out.dispose();
    return { v, held };
  }

  it('one tile covering the latents is the plain decode, bit for bit', async () => {
    const { v } = await plain();
    const t = await vaeDecodeTiled(loaded.configs.vae, loaded.vae, latents, h, w, {
      tile: 32,
      overlap: 8,
      dtype: 'f32',
      device: 'cpu',
    });
    expect(t).toEqual(v);
  });

  it('small tiles hold less memory at once, blend seamlessly, and stay near the plain decode', async () => {
    const base = memoryInfo().cpuBytes;
    const { v, held } = await plain();
    let peak = 0;
    let tiles = 0;
    const t = await vaeDecodeTiled(loaded.configs.vae, loaded.vae, latents, h, w, {
      tile: 12,
      overlap: 3,
      dtype: 'f32',
      device: 'cpu',
      onTile: (_i, total) => {
        tiles = total;
        peak = Math.max(peak, memoryInfo().cpuBytes);
      },
    });
    expect(tiles).toBe(12); // 4 rows (0, 9, 18, 20) × 3 columns (0, 9, 12)
    expect(peak - base).toBeLessThan(0.4 * (held - base));
    expect(t.every(Number.isFinite)).toBe(true);
    // Each tile normalises over itself: not equal to the plain decode, but close on average.
    const meanDiff = t.reduce((s, x, i) => s + Math.abs(x - v[i]), 0) / t.length;
    const meanAbs = v.reduce((s, x) => s + Math.abs(x), 0) / v.length;
    expect(meanDiff).toBeLessThan(0.5 * meanAbs);
    await expect(
      vaeDecodeTiled(loaded.configs.vae, loaded.vae, latents, h, w, {
        tile: 8,
        overlap: 8,
        dtype: 'f32',
        device: 'cpu',
      }),
    ).rejects.toThrow('overlap must be an integer in [0, 8)');
  });

  it('generate({ vaeTile }) decodes in tiles of that many pixels', async () => {
    const d = await DiffusionDecoder.load(TINY, { contextCache: false });
    try {
      const e = gaussianNoise(32, 4);
      const opts = { ...fast, width: 256, height: 128 };
      const [a] = await d.generate(e, opts);
      const [same] = await d.generate(e, { ...opts, vaeTile: 256 });
      expect(same.pixels).toEqual(a.pixels);
      const [b] = await d.generate(e, { ...opts, vaeTile: 128 });
      expect(b.latents).toEqual(a.latents);
      expect(b.pixels).not.toEqual(a.pixels);
      await expect(d.generate(e, { ...opts, vaeTile: 100 })).rejects.toThrow(
        'vaeTile must be a positive multiple of 8',
      );
    } finally {
      d.dispose();
    }
  });
});

describe("variant: 'fp16'", () => {
  it('reads the .fp16 files where present and the plain ones elsewhere, with a note for each', async () => {
    const d = await DiffusionDecoder.load(TINY, { variant: 'fp16', contextCache: false });
    try {
      const notes = d.notes.join('\n');
      expect(notes).toMatch(/unet: no fp16 variant .*read .*unet\/diffusion_pytorch_model\.safetensors/);
      expect(notes).toMatch(/text_encoder: no fp16 variant/);
      expect(notes).not.toMatch(/vae: no fp16 variant/);
      const ref = await DiffusionDecoder.load(TINY, { contextCache: false });
      const e = gaussianNoise(32, 6);
      const opts = { ...fast, width: 64, height: 64 };
      const [a] = await d.generate(e, opts);
      const [b] = await ref.generate(e, opts);
      ref.dispose();
      expect(a.latents).toEqual(b.latents); // the UNet read the same fp32 file
      const worst = Math.max(...a.raw.map((v, i) => Math.abs(v - b.raw[i])));
      expect(worst).toBeGreaterThan(0); // the VAE's fp16 weights
      expect(worst).toBeLessThan(0.02);
    } finally {
      d.dispose();
    }
  });

  it('a folder with every component in .fp16 loads without notes about variants, at f16', async () => {
    const dir = join(tmp, 'all-fp16');
    cpSync(TINY, dir, { recursive: true });
    for (const [folder, base] of [
      ['unet', 'diffusion_pytorch_model'],
      ['text_encoder', 'model'],
      ['image_normalizer', 'diffusion_pytorch_model'],
    ]) {
      const f = openWeights(join(dir, folder, `${base}.safetensors`));
      const ts = f.tensors.map((i) => [i.name, f.load(i.name, i.dtype === 'F32' ? { dtype: 'f16' } : {})] as const);
      await writeSafetensors(join(dir, folder, `${base}.fp16.safetensors`), ts);
      for (const [, t] of ts) t.dispose();
      f.close();
      rmSync(join(dir, folder, `${base}.safetensors`));
    }
    rmSync(join(dir, 'unet', 'diffusion_pytorch_model.bin'));
    rmSync(join(dir, 'vae', 'diffusion_pytorch_model.safetensors'));
    await expect(DiffusionDecoder.load(dir, { contextCache: false })).rejects.toThrow(
      /unet: no diffusion_pytorch_model\.safetensors or diffusion_pytorch_model\.bin/,
    );
    const d = await DiffusionDecoder.load(dir, { variant: 'fp16', dtype: 'f16', contextCache: false });
    try {
      expect(d.notes.join('\n')).not.toMatch(/fp16 variant/);
      const [img] = await d.generate(gaussianNoise(32, 7), { ...fast, width: 64, height: 64 });
      expect(img.raw.every(Number.isFinite)).toBe(true);
    } finally {
      d.dispose();
    }
  });
});

/** The bundled micro model (tools/train, models/seed-micro/decoder) when it has been built: skipped otherwise. */
const MICRO_MODEL = join(import.meta.dirname, '..', '..', '..', 'models', 'seed-micro', 'decoder');
describe.skipIf(!existsSync(join(MICRO_MODEL, 'model_index.json')))(
  'the micro model (models/seed-micro/decoder)',
  () => {
    it('loads without text encoder, reads its stored context, and draws 32×32 by default', async () => {
      const d = await DiffusionDecoder.load(MICRO_MODEL);
      try {
        expect(d.geometry).toEqual({ vaeScale: 4, multiple: 8, defaultSize: 32 });
        expect(d.notes.join('\n')).toMatch(/empty prompt's context is .*empty_prompt\.safetensors/);
        expect(d.emptyPromptContext?.length).toBe(4 * d.configs.unet.crossAttentionDim);
        const [img] = await d.generate(gaussianNoise(d.embeddingDim, 1), { seed: 1 });
        expect([img.width, img.height]).toEqual([32, 32]);
        expect(img.raw.every(Number.isFinite)).toBe(true);
      } finally {
        d.dispose();
      }
    });
  },
);
