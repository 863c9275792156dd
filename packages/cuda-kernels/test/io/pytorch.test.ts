// PyTorch checkpoints written by real torch.save (tools/fixtures/make_torch_fixtures.py, Debian torch 1.13).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPytorch, openWeights } from '../../src/index.js';

const dir = join(__dirname, '..', 'fixtures', 'torch');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; values: number[] }>;

describe('PyTorch checkpoint reader', () => {
  const ckpt = openPytorch(join(dir, 'checkpoint.pt'));

  it('lists every tensor with the file dtype and shape, nested dicts flattened', () => {
    const listed = Object.fromEntries(ckpt.tensors.map((t) => [t.name, t]));
    expect(Object.keys(listed).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, e] of Object.entries(expected)) {
      expect(listed[name].dtype, name).toBe(e.dtype);
      expect(listed[name].shape, name).toEqual(e.shape);
    }
    expect(listed['nested.inner.weight']).toBeDefined();
    expect(listed['linear.weight'].shape).toEqual([3, 4]);
  });

  it('loads fp32, fp16, bf16, int64, offset views, strided views and shared storages with torch values', async () => {
    for (const [name, e] of Object.entries(expected)) {
      const t = ckpt.load(name);
      const got = Array.from(await t.data());
      expect(t.shape, name).toEqual(e.shape);
      if (e.dtype === 'I64') expect(got, name).toEqual(e.values);
      else for (let i = 0; i < got.length; i++) expect(got[i], `${name}[${i}]`).toBeCloseTo(e.values[i], 6);
    }
  });

  it('converts dtypes on load', async () => {
    const t = ckpt.load('fp16', { dtype: 'f32' });
    expect(t.dtype).toBe('f32');
    const v = Array.from(await t.data());
    v.forEach((x, i) => expect(x).toBeCloseTo(expected.fp16.values[i], 6));
    expect(ckpt.load('fp32', { dtype: 'bf16' }).dtype).toBe('bf16');
    expect(() => ckpt.load('int64', { dtype: 'f16' })).toThrow(/cannot convert a I64 tensor/);
  });

  it('is found by openWeights from its magic bytes', () => {
    expect(openWeights(join(dir, 'checkpoint.pt')).tensors.length).toBe(ckpt.tensors.length);
  });

  it('refuses the legacy (non-zip) format with a clear message', () => {
    expect(() => openWeights(join(dir, 'legacy.pt'))).toThrow(/legacy \(pre-1\.6, non-zip\) torch\.save format/);
  });
});

describe('safetensors reader on the same data', () => {
  it('matches torch values', async () => {
    const st = openWeights(join(dir, 'checkpoint.safetensors'));
    for (const [name, e] of Object.entries(expected)) {
      const got = Array.from(await st.load(name).data());
      if (e.dtype === 'I64') expect(got, name).toEqual(e.values);
      else for (let i = 0; i < got.length; i++) expect(got[i], `${name}[${i}]`).toBeCloseTo(e.values[i], 6);
    }
  });
});
