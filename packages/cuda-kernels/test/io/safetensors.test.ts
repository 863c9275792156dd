import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors, openWeights, tensor, writeSafetensors } from '../../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'seed-st-'));

/** Build a safetensors file from a header object and a data section. */
function raw(header: unknown, data: Uint8Array, headerLenOverride?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLenOverride ?? BigInt(json.length));
  const p = join(tmp, `f${Math.random().toString(36).slice(2)}.safetensors`);
  writeFileSync(p, Buffer.concat([len, json, data]));
  return p;
}

describe('safetensors writer and reader', () => {
  it('round-trips every dtype and metadata', async () => {
    const path = join(tmp, 'rt.safetensors');
    const a = tensor(new Float32Array([1.5, -2, 3.25, 4]), [2, 2]);
    const b = tensor([0.5, -1, 2], [3], { dtype: 'bf16' });
    const c = tensor([0.25, 8], [2], { dtype: 'f16' });
    const d = tensor(new Int32Array([7, -9]), [2]);
    const e = tensor(new Uint8Array([1, 0, 255]), [3]);
    await writeSafetensors(path, { a, b, c, d, e }, { note: 'seed' });
    const f = openSafetensors(path);
    expect(f.tensors.map((t) => `${t.name}:${t.dtype}:${t.shape.join('x')}`)).toEqual(['a:F32:2x2', 'b:BF16:3', 'c:F16:2', 'd:I32:2', 'e:U8:3']);
    for (const [name, t] of Object.entries({ a, b, c, d, e })) expect(Array.from(await f.load(name).data()), name).toEqual(Array.from(await t.data()));
    expect(await f.load('b').bytes()).toEqual(await b.bytes());
  });

  it('refuses q8 tensors (not a safetensors dtype)', async () => {
    const q = tensor(new Float32Array(64).fill(1), [2, 32], { dtype: 'q8' });
    await expect(writeSafetensors(join(tmp, 'q.safetensors'), { q })).rejects.toThrow(/q8/);
  });

  it('reads sharded checkpoints through their index', async () => {
    await writeSafetensors(join(tmp, 'model-00001-of-00002.safetensors'), { x: tensor(new Float32Array([1, 2]), [2]) });
    await writeSafetensors(join(tmp, 'model-00002-of-00002.safetensors'), { y: tensor(new Float32Array([3]), [1]) });
    writeFileSync(
      join(tmp, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' } }),
    );
    const f = openWeights(join(tmp, 'model.safetensors.index.json'));
    expect(f.tensors.map((t) => t.name)).toEqual(['x', 'y']);
    expect(Array.from(await f.load('y').data())).toEqual([3]);
  });

  it('converts F64 and I64 on load', async () => {
    const data = Buffer.alloc(16 + 16);
    data.writeDoubleLE(1.5, 0);
    data.writeDoubleLE(-2.25, 8);
    data.writeBigInt64LE(5n, 16);
    data.writeBigInt64LE(-7n, 24);
    const p = raw({ f: { dtype: 'F64', shape: [2], data_offsets: [0, 16] }, i: { dtype: 'I64', shape: [2], data_offsets: [16, 32] } }, data);
    const f = openSafetensors(p);
    expect(Array.from(await f.load('f').data())).toEqual([1.5, -2.25]);
    expect(Array.from(await f.load('i').data())).toEqual([5, -7]);
  });
});

describe('hostile safetensors files give clear errors', () => {
  const ok = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, () => string, RegExp][] = [
    ['shorter than 8 bytes', () => { const p = join(tmp, 'short.safetensors'); writeFileSync(p, Buffer.from([1, 2])); return p; }, /shorter than the 8-byte header length/],
    ['header length past the end', () => raw(ok, new Uint8Array(8), 1000n), /runs past the end of the file/],
    ['absurd header length', () => raw(ok, new Uint8Array(8), 1n << 40n), /absurd/],
    ['header not JSON', () => raw('{not json', new Uint8Array(0)), /not valid JSON/],
    ['header not an object', () => raw('[1,2]', new Uint8Array(0)), /not a JSON object/],
    ['unknown dtype', () => raw({ t: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), /unsupported dtype F8_E4M3/],
    ['bad shape', () => raw({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape/],
    ['absurd shape', () => raw({ t: { dtype: 'F32', shape: [1e12, 1e12], data_offsets: [0, 8] } }, new Uint8Array(8)), /absurdly large/],
    ['offsets out of range', () => raw({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /past the end of the data section/],
    ['size mismatch', () => raw({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12/],
    ['reversed offsets', () => raw({ t: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, new Uint8Array(8)), /data_offsets/],
    ['overlapping tensors', () => raw({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)), /overlap/],
  ];
  for (const [what, make, message] of cases) {
    it(what, () => {
      const p = make();
      expect(() => openWeights(p)).toThrow(message);
    });
  }

  it('a missing file or tensor is a clear error', () => {
    expect(() => openWeights(join(tmp, 'nope.safetensors'))).toThrow(/no such file/);
    const p = raw(ok, new Uint8Array(8));
    expect(() => openWeights(p).load('missing')).toThrow(/has no tensor missing/);
  });
});
