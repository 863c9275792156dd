// The SEED tokenizer against the independent PyTorch reference (tools/golden/seed_tokenizer_ref.py) on a
// tiny random model with the real structure and upstream key names, saved by torch.save: intermediate
// activations (ViT, ln_vision, Q-Former, z) within f32 tolerance, codes exactly (the reference recorded
// each image's margin between the nearest and second-nearest code), embeddings within tolerance. Everything
// that runs the model runs on every device present.
import { join } from 'node:path';
import { devices } from '@seed/cuda-kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocessImage, SeedTokenizer } from '../src/index.js';
import { cosine, expectedTensors, golden, IMAGE_DIR, relMaxError, TINY_DIR } from './helpers/golden.js';

const g = golden();
const stem = (file: string) => file.replace(/\.png$/, '');
let expected: Awaited<ReturnType<typeof expectedTensors>>;

beforeAll(async () => {
  expected = await expectedTensors();
});

const get = (name: string) => {
  const t = expected.get(name);
  if (!t) throw new Error(`expected.pt has no ${name}`);
  return t;
};

describe('golden fixtures are meaningful', () => {
  it('codes are diverse and every image wins by a clear margin', () => {
    const all = g.images.flatMap((i) => i.codes);
    expect(new Set(all).size).toBeGreaterThan(all.length / 4);
    for (const img of g.images) {
      expect(img.codes).toHaveLength(32);
      expect(img.min_rel_margin).toBeGreaterThan(1e-2);
    }
  });

  it('the reference stored the ViT activations of at least two images', () => {
    expect(g.images.filter((i) => expected.has(`${stem(i.file)}.vit`)).length).toBeGreaterThanOrEqual(2);
  });
});

describe.each(devices())('on %s', (device) => {
  let tok: SeedTokenizer;
  beforeAll(async () => {
    tok = await SeedTokenizer.load(TINY_DIR, { dtype: 'f32', device });
  });
  afterAll(() => tok?.dispose());

  describe('encode matches the PyTorch reference (f32)', () => {
    for (const img of g.images) {
      const s = stem(img.file);
      it(`${img.file}: activations and codes`, async () => {
        // The reference's own pixels where it stored them (the first images; the ViT and ln_vision outputs
        // too), else our Pillow-exact preprocessing of the PNG.
        const stored = expected.get(`${s}.pixels`);
        const pixels = stored ? (stored.data as Float32Array) : await preprocessImage(join(IMAGE_DIR, img.file));
        const out = await tok.encodePixelsWithActivations(pixels, 1);
        // f32 throughout on both sides; only summation order differs (observed ≈ 1e-6).
        if (stored) {
          expect(relMaxError(out.vit, get(`${s}.vit`).data)).toBeLessThan(1e-5);
          expect(relMaxError(out.lnVision, get(`${s}.ln_vision`).data)).toBeLessThan(1e-5);
        }
        expect(relMaxError(out.qformer, get(`${s}.qformer`).data)).toBeLessThan(1e-5);
        expect(relMaxError(out.z, get(`${s}.z`).data)).toBeLessThan(1e-5);
        expect(out.codes[0]).toEqual(Array.from(get(`${s}.codes`).data));
        expect(out.codes[0]).toEqual(img.codes);
      });
    }

    it('the whole path from PNG files, in one batch, gives the reference codes', async () => {
      const files = g.images.map((i) => join(IMAGE_DIR, i.file));
      const codes = await tok.encode(files, { batchSize: files.length });
      expect(codes).toEqual(g.images.map((i) => i.codes));
    });

    it('batches of different sizes agree', async () => {
      const files = g.images.map((i) => join(IMAGE_DIR, i.file));
      const progress: number[] = [];
      const codes = await tok.encode(files, { batchSize: 2, onProgress: (d) => progress.push(d) });
      expect(codes).toEqual(g.images.map((i) => i.codes));
      expect(progress).toEqual([2, 4, 5]);
    });
  });

  describe('decode matches the PyTorch reference (f32)', () => {
    it('each image’s codes and a random sequence decode to the reference embeddings', async () => {
      const seqs = [...g.images.map((i) => i.codes), g.random_codes];
      const names = [...g.images.map((i) => `${stem(i.file)}.embedding`), 'random.embedding'];
      const embs = await tok.decode(seqs);
      expect(embs).toHaveLength(seqs.length);
      for (let i = 0; i < seqs.length; i++) {
        const ref = get(names[i]).data;
        expect(embs[i]).toHaveLength(tok.config.embedDim);
        expect(relMaxError(embs[i], ref)).toBeLessThan(1e-5);
      }
    });

    it('invalid code sequences are errors that name the problem', async () => {
      const ok = g.random_codes;
      await expect(tok.decode([ok.slice(0, 31)])).rejects.toThrow(/31 codes; an image is exactly 32/);
      await expect(tok.decode([[...ok.slice(0, 31), tok.config.codebookSize]])).rejects.toThrow(
        /position 31: 1024 is not a code id/,
      );
      await expect(tok.decode([[...ok.slice(0, 31), -1]])).rejects.toThrow(/position 31/);
      await expect(tok.decode([[...ok.slice(0, 31), 1.5]])).rejects.toThrow(/position 31/);
      await expect(tok.decode([])).rejects.toThrow(/non-empty/);
    });
  });

  describe('as stored (the default)', () => {
    it('keeps the ViT matrices f16 like the file, which upcast exactly: same codes and activations', async () => {
      const auto = await SeedTokenizer.load(TINY_DIR, { device });
      try {
        const s = stem(g.images[0].file);
        const out = await auto.encodePixelsWithActivations(get(`${s}.pixels`).data as Float32Array, 1);
        expect(relMaxError(out.vit, get(`${s}.vit`).data)).toBeLessThan(1e-5);
        expect(out.codes[0]).toEqual(g.images[0].codes);
      } finally {
        auto.dispose();
      }
    });
  });

  describe('reduced precision', () => {
    for (const dtype of ['f16', 'bf16'] as const) {
      it(`${dtype} matrices: embeddings within the dtype's precision, codes where the margin allows`, async () => {
        const low = await SeedTokenizer.load(TINY_DIR, { dtype, device });
        try {
          const e32 = await tok.decode([g.random_codes]);
          const e16 = await low.decode([g.random_codes]);
          expect(cosine(e16[0], e32[0])).toBeGreaterThan(dtype === 'f16' ? 0.9999 : 0.999);
          const codes = await low.encode(
            g.images.map((i) => join(IMAGE_DIR, i.file)),
            { batchSize: 5 },
          );
          let same = 0;
          for (let i = 0; i < codes.length; i++)
            for (let j = 0; j < 32; j++) same += codes[i][j] === g.images[i].codes[j] ? 1 : 0;
          expect(same / (codes.length * 32)).toBeGreaterThan(dtype === 'f16' ? 0.97 : 0.9);
        } finally {
          low.dispose();
        }
      });
    }
  });
});
