// Checkpoint → safetensors conversion (`convertToSafetensors`, `seed convert`): every tensor of the real
// torch.save fixtures comes out with the same dtype, shape and values; sharded sets become sharded
// safetensors with an index; dtype conversion; bad input (truncated, hostile, failing mid-way through a
// sharded set, overwriting its own input) leaves nothing behind; and memory stays bounded while a 224 MB
// checkpoint converts (measured in a child process).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { convertToSafetensors, openWeights, safetensorsName, type WeightFile } from '../../src/index.js';
import { dictPickle, f32, tensorOp } from '../helpers/weight-files.js';
import { zipStored } from '../helpers/zip-writer.js';

const fixtures = fileURLToPath(new URL('../fixtures/torch/', import.meta.url));
const shardedDir = fileURLToPath(new URL('../../../llama-core/test/fixtures/tiny-llama-bin/', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'seed-convert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The bytes a tensor is stored as (the file's dtype, row-major), wherever they lie. */
function storedBytes(f: WeightFile, name: string): Buffer {
  const s = f.stored(name);
  if ('bytes' in s) return Buffer.from(s.bytes);
  return readFileSync(s.path).subarray(s.byteOffset, s.byteOffset + s.byteLength);
}

async function values(f: WeightFile, name: string): Promise<number[]> {
  const t = f.load(name);
  try {
    return Array.from(await t.data());
  } finally {
    t.dispose();
  }
}

async function expectSameTensors(srcPath: string, outPath: string): Promise<void> {
  const src = openWeights(srcPath);
  const out = openWeights(outPath);
  try {
    expect(out.tensors.map((t) => t.name).sort()).toEqual(src.tensors.map((t) => t.name).sort());
    for (const t of src.tensors) {
      expect(out.info(t.name)).toEqual(t);
      // Byte for byte as stored (I64 beyond i32, F64, BOOL …), and the same values loaded.
      expect(storedBytes(out, t.name).equals(storedBytes(src, t.name))).toBe(true);
      expect(await values(out, t.name)).toEqual(await values(src, t.name));
    }
  } finally {
    src.close();
    out.close();
  }
}

describe('convertToSafetensors', () => {
  for (const name of ['checkpoint.pt', 'extra.pt']) {
    it(`${name}: same names, dtypes (incl. I64, F64), shapes and values; strided and shared-storage views`, async () => {
      const out = join(tmp, `${name}.safetensors`);
      const r = await convertToSafetensors(join(fixtures, name), out);
      expect(r.files).toEqual([out]);
      expect(readFileSync(out).subarray(0, 8).readBigUInt64LE() % 8n).toBe(0n); // header padded to 8
      await expectSameTensors(join(fixtures, name), out);
    });
  }

  it('converts float tensors when a dtype is asked and keeps integer ones', async () => {
    const out = join(tmp, 'f16.safetensors');
    await convertToSafetensors(join(fixtures, 'checkpoint.pt'), out, { dtype: 'f16' });
    const src = openWeights(join(fixtures, 'checkpoint.pt'));
    const f = openWeights(out);
    try {
      for (const t of src.tensors) {
        const isFloat = ['F64', 'F32', 'F16', 'BF16'].includes(t.dtype);
        expect(f.info(t.name).dtype).toBe(isFloat ? 'F16' : t.dtype);
        const a = await values(f, t.name);
        const b = await values(src, t.name);
        for (let i = 0; i < b.length; i++)
          expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(isFloat ? 1e-3 * Math.abs(b[i]) + 1e-7 : 0);
      }
    } finally {
      src.close();
      f.close();
    }
  });

  it('a sharded PyTorch set becomes safetensors shards and model.safetensors.index.json', async () => {
    const out = join(tmp, 'sharded');
    const progress: number[] = [];
    const r = await convertToSafetensors(shardedDir, out, { onProgress: (d) => progress.push(d) });
    const inIndex = JSON.parse(readFileSync(join(shardedDir, 'pytorch_model.bin.index.json'), 'utf8'));
    const outIndex = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8'));
    const shards = new Set(Object.values(inIndex.weight_map as Record<string, string>));
    expect(new Set(Object.values(outIndex.weight_map))).toEqual(new Set([...shards].map(safetensorsName)));
    expect(Object.keys(outIndex.weight_map).sort()).toEqual(Object.keys(inIndex.weight_map).sort());
    expect(outIndex.metadata.total_size).toBe(r.bytes);
    expect(progress.at(-1)).toBe(r.bytes);
    expect(progress.every((d, i) => i === 0 || d >= progress[i - 1])).toBe(true);
    await expectSameTensors(
      join(shardedDir, 'pytorch_model.bin.index.json'),
      join(out, 'model.safetensors.index.json'),
    );
  });

  it('bad input is an Error and leaves no output (nor temp files) behind', async () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir);
    const truncated = join(dir, 'truncated.pt');
    writeFileSync(truncated, readFileSync(join(fixtures, 'checkpoint.pt')).subarray(0, 300));
    await expect(convertToSafetensors(truncated, join(dir, 'out.safetensors'))).rejects.toThrow(/truncated\.pt/);
    await expect(convertToSafetensors(join(dir, 'nope.pt'), join(dir, 'out.safetensors'))).rejects.toThrow(
      /no such file/,
    );
    await expect(
      convertToSafetensors(join(fixtures, 'checkpoint.pt'), join(dir, 'no', 'such', 'x.safetensors')),
    ).rejects.toThrow(/no such directory/);
    await expect(
      convertToSafetensors(join(fixtures, 'checkpoint.pt'), join(dir, 'x.st'), { dtype: 'q4' as never }),
    ).rejects.toThrow(/unknown dtype 'q4'/);
    expect(readdirSync(dir)).toEqual(['truncated.pt']);
  });

  it('a hostile pickle is refused before anything is written', async () => {
    const dir = join(tmp, 'hostile');
    mkdirSync(dir);
    const evil = join(dir, 'evil.pt');
    const pkl = Buffer.from('\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.', 'latin1');
    writeFileSync(evil, zipStored([{ name: 'evil/data.pkl', data: pkl }]));
    await expect(convertToSafetensors(evil, join(dir, 'out.safetensors'))).rejects.toThrow(
      /refusing to load global os\.system/,
    );
    expect(readdirSync(dir)).toEqual(['evil.pt']);
  });

  it('a sharded set failing in its last shard leaves no shard, index or directory behind', async () => {
    const dir = join(tmp, 'half-bad');
    mkdirSync(dir);
    const shard = (name: string, pkl: Uint8Array, storage: Uint8Array) =>
      writeFileSync(
        join(dir, name),
        zipStored([
          { name: 'a/data.pkl', data: pkl },
          { name: 'a/data/0', data: storage },
        ]),
      );
    shard(
      'pytorch_model-00001-of-00002.bin',
      dictPickle([['a', tensorOp({ key: '0', numel: 4, offset: 0, size: [4], stride: [1] })]]),
      f32([1, 2, 3, 4]),
    );
    shard(
      'pytorch_model-00002-of-00002.bin',
      dictPickle([['b', tensorOp({ key: '0', numel: 2, offset: 0, size: [2], stride: [1] })]]),
      f32([5, 6]),
    );
    writeFileSync(
      join(dir, 'pytorch_model.bin.index.json'),
      JSON.stringify({
        weight_map: { a: 'pytorch_model-00001-of-00002.bin', b: 'pytorch_model-00002-of-00002.bin' },
      }),
    );
    // An error while the last shard is written (thrown here by the progress callback, as a full disk would
    // throw from a write) comes after the first shard is complete under its temporary name.
    const failOnB = {
      onProgress: (_done: number, _total: number, name: string) => {
        if (name === 'b') throw new Error('disk full while writing b');
      },
    };
    const out = join(tmp, 'half-bad-out');
    await expect(convertToSafetensors(dir, out, failOnB)).rejects.toThrow(/disk full while writing b/);
    expect(existsSync(out)).toBe(false); // created by the conversion, removed with it
    mkdirSync(out);
    await expect(convertToSafetensors(dir, out, failOnB)).rejects.toThrow(/disk full/);
    expect(readdirSync(out)).toEqual([]); // an existing directory stays, empty
    await expect(convertToSafetensors(dir, join(tmp, 'no', 'such'))).rejects.toThrow(/no such directory/);
    // A view past its storage in the last shard is refused when the set is opened, before anything is written.
    shard(
      'pytorch_model-00002-of-00002.bin',
      dictPickle([['b', tensorOp({ key: '0', numel: 2, offset: 1, size: [4], stride: [1] })]]),
      f32([5, 6]),
    );
    const out2 = join(tmp, 'half-bad-out2');
    await expect(convertToSafetensors(dir, out2)).rejects.toThrow(/tensor b: view .* reaches element 4/);
    expect(existsSync(out2)).toBe(false);
  });

  it('refuses to write over its own input', async () => {
    const set = join(tmp, 'self');
    await convertToSafetensors(shardedDir, set);
    await expect(convertToSafetensors(join(set, 'model.safetensors.index.json'), set)).rejects.toThrow(
      /would overwrite the input/,
    );
    const single = join(tmp, 'self.safetensors');
    await convertToSafetensors(join(fixtures, 'checkpoint.pt'), single);
    await expect(convertToSafetensors(single, single)).rejects.toThrow(/would overwrite the input/);
    await expectSameTensors(join(fixtures, 'checkpoint.pt'), single);
  });

  it('memory stays bounded: a 224 MB checkpoint converts with far less RSS growth than its size', async () => {
    // A torch.save-layout zip built by hand: data.pkl = {"w0": _rebuild_tensor_v2(storage k, 0, (n,), (1,)), …}
    const n = 14 << 20; // floats per tensor: 56 MB
    const count = 4;
    const keys = Array.from({ length: count }, (_, i) => String(i));
    const pkl = dictPickle(
      keys.map((k) => [`w${k}`, tensorOp({ key: k, numel: n, offset: 0, size: [n], stride: [1] })]),
    );
    const storage = new Uint8Array(new Float32Array(n).map((_, i) => Math.sin(i)).buffer);
    const big = join(tmp, 'big.pt');
    writeFileSync(
      big,
      zipStored([{ name: 'big/data.pkl', data: pkl }, ...keys.map((k) => ({ name: `big/data/${k}`, data: storage }))]),
    );
    const out = join(tmp, 'big.safetensors');
    // RSS sampled in a child while it converts (ru_maxrss would include the forked parent's pages).
    const code = `const m = await import(${JSON.stringify(dist)});
      const r0 = process.memoryUsage().rss; let peak = r0;
      const iv = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 2);
      await m.convertToSafetensors(${JSON.stringify(big)}, ${JSON.stringify(out)});
      clearInterval(iv); peak = Math.max(peak, process.memoryUsage().rss);
      console.log(JSON.stringify({ r0, peak }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const { r0, peak } = JSON.parse(r.stdout) as { r0: number; peak: number };
    const fileBytes = count * storage.byteLength;
    const mib = (x: number) => (x / 2 ** 20).toFixed(1);
    console.log(`convert: ${mib(fileBytes)} MiB checkpoint; RSS ${mib(r0)} MiB before, peak ${mib(peak)} MiB`);
    expect(peak - r0).toBeLessThan(fileBytes / 4);
    const f = openWeights(out);
    try {
      expect(f.tensors.map((t) => t.name)).toEqual(['w0', 'w1', 'w2', 'w3']);
      expect(f.info('w3').shape).toEqual([n]);
      const w3 = f.load('w3');
      const got = (await w3.data()) as Float32Array;
      w3.dispose();
      for (const i of [0, 1, 12345, n - 1]) expect(got[i]).toBe(Math.fround(Math.sin(i)));
    } finally {
      f.close();
    }
    rmSync(big);
    rmSync(out);
    expect(existsSync(out)).toBe(false);
  });
});
