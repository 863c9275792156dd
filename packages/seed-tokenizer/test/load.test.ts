// Loading the SEED tokenizer: the published pickles, their safetensors conversions, the ViT inside the
// quantizer's file, and every way a directory can be wrong (missing, misshapen, bad config, hostile file).
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSpecs, openWeights, type Tensor, tensor, writeSafetensors } from '@seed/cuda-kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSeedConfig, SEED2_CONFIG, SeedTokenizer, seedWeightSpecs } from '../src/index.js';
import { expectedTensors, golden, TINY_DIR } from './helpers/golden.js';

const g = golden();
const stem = g.images[0].file.replace(/\.png$/, '');
let pixels: Float32Array;
const tmp = mkdtempSync(join(tmpdir(), 'seed-tok-load-'));
let n = 0;

beforeAll(async () => {
  pixels = (await expectedTensors()).get(`${stem}.pixels`)?.data as Float32Array;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** All tensors of a checkpoint as [name, tensor] pairs (edit them, then write a safetensors file). */
function readAll(path: string): [string, Tensor][] {
  const f = openWeights(path);
  try {
    return f.tensors.map((t) => [t.name, f.load(t.name)] as [string, Tensor]);
  } finally {
    f.close();
  }
}

/** A fresh directory with config.json and the given safetensors files. */
async function makeDir(files: Record<string, [string, Tensor][]>, config = true): Promise<string> {
  const dir = join(tmp, `m${n++}`);
  rmSync(dir, { recursive: true, force: true });
  await import('node:fs').then((fs) => fs.mkdirSync(dir));
  if (config) copyFileSync(join(TINY_DIR, 'config.json'), join(dir, 'config.json'));
  for (const [name, tensors] of Object.entries(files)) await writeSafetensors(join(dir, name), tensors);
  return dir;
}

const quantizer = () => readAll(join(TINY_DIR, 'seed_quantizer.pt'));
const vit = () => readAll(join(TINY_DIR, 'eva_vit_g.pth'));

describe('loading', () => {
  it('lists the tensors it does not use (the extra ViT block, training-only keys) without failing', async () => {
    const tok = await SeedTokenizer.load(TINY_DIR);
    try {
      const unused = tok.unused.map((u) => u.replace(/^.*: /, ''));
      const depth = tok.config.vitDepth;
      expect(unused).toContain(`blocks.${depth}.attn.qkv.weight`); // the file holds depth + 1 blocks
      expect(unused).toContain('Qformer.bert.embeddings.position_ids');
      expect(unused.some((u) => u.startsWith(`blocks.${depth - 1}.`))).toBe(false);
      expect(tok.files.vit).toMatch(/eva_vit_g\.pth$/);
    } finally {
      tok.dispose();
    }
  });

  it('safetensors conversions of both files give the same codes', async () => {
    const dir = await makeDir({ 'seed_quantizer.safetensors': quantizer(), 'eva_vit_g.safetensors': vit() });
    const tok = await SeedTokenizer.load(dir, { dtype: 'f32' });
    try {
      expect(tok.files.quantizer).toMatch(/seed_quantizer\.safetensors$/);
      expect(await tok.encodePixels(pixels, 1)).toEqual([g.images[0].codes]);
    } finally {
      tok.dispose();
    }
  });

  it('takes the ViT from the quantizer file under visual_encoder. when eva_vit_g is absent', async () => {
    const merged = [...quantizer(), ...vit().map(([k, t]) => [`visual_encoder.${k}`, t] as [string, Tensor])];
    const dir = await makeDir({ 'seed_quantizer.safetensors': merged });
    const tok = await SeedTokenizer.load(dir, { dtype: 'f32' });
    try {
      expect(await tok.encodePixels(pixels, 1)).toEqual([g.images[0].codes]);
    } finally {
      tok.dispose();
    }
  });

  it('missing and misshapen tensors are one error naming them all', async () => {
    const q = quantizer()
      .filter(([k]) => k !== 'encode_task_layer.2.bias')
      .map(([k, t]): [string, Tensor] => (k === 'ln_vision.weight' ? [k, tensor(new Float32Array(7), [7])] : [k, t]));
    const dir = await makeDir({
      'seed_quantizer.safetensors': q,
      'eva_vit_g.safetensors': vit().filter(([k]) => k !== 'cls_token'),
    });
    await expect(SeedTokenizer.load(dir)).rejects.toThrow(
      /missing: cls_token, encode_task_layer\.2\.bias \| misshapen: ln_vision\.weight is \[7\], expected \[\d+\]/,
    );
  });

  it('no ViT anywhere is an error that says which file to add', async () => {
    const dir = await makeDir({ 'seed_quantizer.safetensors': quantizer() });
    await expect(SeedTokenizer.load(dir)).rejects.toThrow(/no eva_vit_g\.pth or eva_vit_g\.safetensors/);
  });

  it('without config.json the sizes are SEED-2, so the tiny files are misshapen', async () => {
    const dir = await makeDir({ 'seed_quantizer.safetensors': quantizer(), 'eva_vit_g.safetensors': vit() }, false);
    await expect(SeedTokenizer.load(dir)).rejects.toThrow(/misshapen: .*expected \[1, 1, 1408\]|expected \[1408\]/);
  });

  it('bad directories, files and options are errors', async () => {
    await expect(SeedTokenizer.load(join(tmp, 'nope'))).rejects.toThrow(/no such directory/);
    await expect(SeedTokenizer.load(await makeDir({}))).rejects.toThrow(
      /no seed_quantizer\.pt or seed_quantizer\.safetensors/,
    );
    const hostile = await makeDir({});
    writeFileSync(join(hostile, 'seed_quantizer.pt'), Buffer.from('PK\x03\x04 this is not really a zip'));
    await expect(SeedTokenizer.load(hostile)).rejects.toThrow(/seed_quantizer\.pt/);
    await expect(SeedTokenizer.load(TINY_DIR, { dtype: 'int4' as never })).rejects.toThrow(
      /unknown weight dtype 'int4'/,
    );
    await expect(SeedTokenizer.load(TINY_DIR, { device: 'tpu' })).rejects.toThrow(/unknown device 'tpu'/);
    const badConfig = await makeDir({});
    writeFileSync(join(badConfig, 'config.json'), '{"vit_widht": 8}');
    await expect(SeedTokenizer.load(badConfig)).rejects.toThrow(/unknown key 'vit_widht'/);
  });

  it('a disposed tokenizer refuses work', async () => {
    const tok = await SeedTokenizer.load(TINY_DIR);
    tok.dispose();
    await expect(tok.decode([g.random_codes])).rejects.toThrow(/disposed/);
    await expect(tok.encodePixels(pixels, 1)).rejects.toThrow(/disposed/);
  });

  it('wrong pixel buffers are errors', async () => {
    const tok = await SeedTokenizer.load(TINY_DIR);
    try {
      await expect(tok.encodePixels(new Float32Array(10), 1)).rejects.toThrow(/expected a Float32Array of 1×3×224×224/);
      await expect(tok.encode('/no/such/image.png')).rejects.toThrow(/image 0 \(\/no\/such\/image\.png\)/);
    } finally {
      tok.dispose();
    }
  });
});

describe('config', () => {
  it('defaults are SEED-2 and the weight table has the upstream names', () => {
    const c = parseSeedConfig();
    expect(c).toEqual(SEED2_CONFIG);
    const specs = listSpecs(seedWeightSpecs(c));
    const byName = new Map(specs.map((s) => [s.name, s.shape]));
    expect(byName.get('blocks.38.attn.qkv.weight')).toEqual([4224, 1408]);
    expect(byName.has('blocks.39.attn.qkv.weight')).toBe(false); // the 40th block is not used
    expect(byName.get('Qformer.bert.encoder.layer.10.crossattention.self.key.weight')).toEqual([768, 1408]);
    expect(byName.has('Qformer.bert.encoder.layer.11.crossattention.self.key.weight')).toBe(false);
    expect(byName.get('quantize.embedding.weight')).toEqual([8192, 32]);
    expect(byName.get('image_down.4.weight')).toEqual([32, 128]);
    expect(byName.get('distill_image_proj.weight')).toEqual([1024, 1024]);
    expect(byName.get('blocks_image.3.mlp.fc1.weight')).toEqual([3072, 768]);
  });

  it('rejects inconsistent sizes', () => {
    expect(() => parseSeedConfig({ vit_heads: 5 })).toThrow(/vit width 1408 is not divisible by its 5 heads/);
    expect(() => parseSeedConfig({ patch_size: 15 })).toThrow(/not a multiple of patch_size/);
    expect(() => parseSeedConfig({ image_down_dims: [1, 2] })).toThrow(/image_down_dims/);
    expect(() => parseSeedConfig({ vit_depth: -1 })).toThrow(/vit_depth must be a positive integer/);
  });
});
