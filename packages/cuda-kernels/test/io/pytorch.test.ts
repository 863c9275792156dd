// PyTorch checkpoints written by real torch.save (tools/fixtures/make_torch_fixtures.py, Debian torch 1.13).
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  openPytorch,
  openWeights,
  type PickleValue,
  type TensorRef,
  unpickle,
  writeSafetensors,
} from '../../src/index.js';
import { readZipDirectory } from '../../src/io/zip.js';

const dir = join(__dirname, '..', 'fixtures', 'torch');
const tmp = mkdtempSync(join(tmpdir(), 'seed-pt-'));
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<
  string,
  { dtype: string; shape: number[]; values: number[] }
>;

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
    for (const [i, x] of v.entries()) expect(x).toBeCloseTo(expected.fp16.values[i], 6);
    expect(ckpt.load('fp32', { dtype: 'bf16' }).dtype).toBe('bf16');
    expect(() => ckpt.load('int64', { dtype: 'f16' })).toThrow(/cannot convert a I64 tensor/);
  });

  it('loads contiguous views as zero-copy views of the archive, each shared-storage tensor its own view', async () => {
    const copy = join(tmp, 'view.pt');
    copyFileSync(join(dir, 'checkpoint.pt'), copy);
    const f = openPytorch(copy);
    const a = f.load('shared_a');
    const b = f.load('shared_b'); // row 1 of shared_a's storage
    expect(b.shape).toEqual([4]);
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()).slice(4, 8));
    // Find shared_b's storage entry through the pickle, then overwrite the storage's element 4 in the file:
    // both tensors see the new value, as views of the same mapped pages must (MAP_PRIVATE pages that were
    // never written follow the file).
    const bytes = new Uint8Array(readFileSync(copy));
    const entries = readZipDirectory(bytes, 'view.pt');
    const pkl = entries.get('checkpoint/data.pkl')!;
    const root = unpickle(bytes.subarray(pkl.dataOffset, pkl.dataOffset + pkl.size)) as Map<PickleValue, PickleValue>;
    const ref = root.get('shared_b') as TensorRef;
    expect(ref).toMatchObject({ offset: 4n, size: [4n], stride: [1n], storage: { type: 'FloatStorage', numel: 12n } });
    expect((root.get('shared_a') as TensorRef).storage.key).toBe(ref.storage.key); // one storage entry
    const storage = entries.get(`checkpoint/data/${ref.storage.key}`)!;
    const fd = openSync(copy, 'r+');
    writeSync(fd, new Uint8Array(new Float32Array([42]).buffer), 0, 4, storage.dataOffset + 4 * 4);
    closeSync(fd);
    expect((await b.data())[0]).toBe(42);
    expect((await a.data())[4]).toBe(42);
  });

  it('converts a checkpoint to safetensors byte for byte like the torch-side writer', async () => {
    const out = join(tmp, 'converted.safetensors');
    await writeSafetensors(
      out,
      ckpt.tensors.filter((t) => t.dtype !== 'I64').map((t) => [t.name, ckpt.load(t.name)] as const),
    );
    const mine = openWeights(out);
    const theirs = openWeights(join(dir, 'checkpoint.safetensors'));
    for (const t of mine.tensors)
      expect(await mine.load(t.name).bytes(), t.name).toEqual(await theirs.load(t.name).bytes());
  });

  it('reads sharded checkpoints through pytorch_model.bin.index.json', async () => {
    // Written by real torch.save (tools/fixtures/make_tiny_llama_bin.py): two fp16 shards and their index.
    const sub = fileURLToPath(new URL('../../../llama-core/test/fixtures/tiny-llama-bin/', import.meta.url));
    const index = JSON.parse(readFileSync(join(sub, 'pytorch_model.bin.index.json'), 'utf8')) as {
      weight_map: Record<string, string>;
    };
    for (const f of [openWeights(sub), openPytorch(join(sub, 'pytorch_model.bin.index.json'))]) {
      expect(f.tensors.map((t) => t.name).sort()).toEqual(Object.keys(index.weight_map).sort());
      const name = 'model.layers.1.input_layernorm.weight';
      const shard = openPytorch(join(sub, index.weight_map[name]));
      expect(await f.load(name).bytes()).toEqual(await shard.load(name).bytes());
      expect(f.has('fp16')).toBe(false);
      expect(() => f.load('fp16')).toThrow(/has no tensor fp16/);
      shard.close();
      f.close();
    }
  });

  it('refuses a sharded set whose shards hold a tensor the index puts elsewhere, or does not list', () => {
    const sub = mkdtempSync(join(tmp, 'sharded-'));
    copyFileSync(join(dir, 'checkpoint.pt'), join(sub, 'pytorch_model-00001-of-00002.bin'));
    copyFileSync(join(dir, 'checkpoint.pt'), join(sub, 'pytorch_model-00002-of-00002.bin'));
    const index = (weight_map: Record<string, string>) => {
      writeFileSync(join(sub, 'pytorch_model.bin.index.json'), JSON.stringify({ weight_map }));
      return sub;
    };
    const all = Object.keys(expected);
    // Both shards hold every tensor (copies of one checkpoint): one tensor put in the second is in the first too.
    const split: Record<string, string> = Object.fromEntries(all.map((n) => [n, 'pytorch_model-00001-of-00002.bin']));
    split['linear.bias'] = 'pytorch_model-00002-of-00002.bin';
    expect(() => openWeights(index(split))).toThrow(
      /tensor linear\.bias is in shard pytorch_model-00001-of-00002\.bin, but the index puts it in pytorch_model-00002-of-00002\.bin/,
    );
    const { fp16: _, ...lacking } = Object.fromEntries(all.map((n) => [n, 'pytorch_model-00001-of-00002.bin']));
    expect(() => openWeights(index(lacking))).toThrow(
      /shard pytorch_model-00001-of-00002\.bin holds tensor fp16, which the index does not list/,
    );
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

describe('every other storage type, written by torch with pickle protocol 4', () => {
  const extra = JSON.parse(readFileSync(join(dir, 'extra.json'), 'utf8')) as Record<
    string,
    { dtype: string; shape: number[]; values: number[] }
  >;
  const f = openPytorch(join(dir, 'extra.pt'));

  it('lists F64, I32, I16, I8, U8, BOOL, a Parameter, a 0-dim and an empty tensor', () => {
    expect(f.tensors).toEqual(Object.entries(extra).map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape })));
  });

  it('loads them as seed dtypes with torch values', async () => {
    const seedDType: Record<string, string> = {
      F64: 'f32',
      F32: 'f32',
      I32: 'i32',
      I16: 'i32',
      I8: 'i32',
      U8: 'u8',
      BOOL: 'u8',
    };
    for (const [name, e] of Object.entries(extra)) {
      const t = f.load(name);
      expect(t.dtype, name).toBe(seedDType[e.dtype]);
      expect(t.shape, name).toEqual(e.shape);
      const want = e.dtype === 'F64' ? e.values.map(Math.fround) : e.values;
      expect(Array.from(await t.data()), name).toEqual(want);
    }
  });
});
