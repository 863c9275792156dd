// Safetensors: writer round trips, the reader's zero-copy views and conversions, sharded sets, and hostile
// headers, each of which must be an Error naming the file and the tensor.
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  devices,
  encode,
  f32ToBf16Bits,
  f32ToF16Bits,
  openSafetensors,
  openWeights,
  SafetensorsFile,
  tensor,
  writeSafetensors,
  zeros,
} from '../../src/index.js';
import { safetensorsBytes } from '../helpers/weight-files.js';

const tmp = mkdtempSync(join(tmpdir(), 'seed-st-'));

/** Build a safetensors file from a header object and a data section. */
function raw(header: unknown, data: Uint8Array, headerLenOverride?: bigint): string {
  const p = join(tmp, `f${Math.random().toString(36).slice(2)}.safetensors`);
  writeFileSync(p, safetensorsBytes(header, data, headerLenOverride));
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
    const f = new SafetensorsFile(path);
    expect(f.metadata).toEqual({ note: 'seed' });
    expect(f.tensors.map((t) => `${t.name}:${t.dtype}:${t.shape.join('x')}`)).toEqual([
      'a:F32:2x2',
      'b:BF16:3',
      'c:F16:2',
      'd:I32:2',
      'e:U8:3',
    ]);
    for (const [name, t] of Object.entries({ a, b, c, d, e }))
      expect(Array.from(await f.load(name).data()), name).toEqual(Array.from(await t.data()));
    expect(await f.load('b').bytes()).toEqual(await b.bytes());
  });

  it('writes the layout of the format: LE header length, space-padded JSON, data in the order given', async () => {
    const path = join(tmp, 'layout.safetensors');
    const z = tensor(new Float32Array([9]), [1]);
    const y = tensor(new Uint8Array([1, 2, 3]), [3]);
    await writeSafetensors(path, [
      ['z', z],
      ['y', y],
      ['s', tensor([2.5], [])],
      ['empty', zeros([0, 3])],
    ]);
    const file = readFileSync(path);
    const len = Number(file.readBigUInt64LE(0));
    expect(len % 8).toBe(0);
    const json = file.toString('utf8', 8, 8 + len);
    expect(json).toMatch(/^\{.*\} *$/);
    expect(JSON.parse(json)).toEqual({
      z: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      y: { dtype: 'U8', shape: [3], data_offsets: [4, 7] },
      s: { dtype: 'F32', shape: [], data_offsets: [7, 11] },
      empty: { dtype: 'F32', shape: [0, 3], data_offsets: [11, 11] },
    });
    expect(file.length).toBe(8 + len + 11);
    const f = openWeights(path);
    expect(f.tensors.map((t) => t.name)).toEqual(['z', 'y', 's', 'empty']);
    expect(Array.from(await f.load('s').data())).toEqual([2.5]);
    expect(f.load('empty').shape).toEqual([0, 3]);
  });

  it('loads as stored on the CPU as a view of the mapped file (no copy)', async () => {
    const path = join(tmp, 'view.safetensors');
    await writeSafetensors(path, { t: tensor(new Float32Array([1, 2]), [2]) });
    const t = openSafetensors(path).load('t');
    expect(t.dtype).toBe('f32');
    // Overwrite the file in place: a view sees the new bytes (a shared page), a copy would not.
    const len = Number(readFileSync(path).readBigUInt64LE(0));
    const fd = openSync(path, 'r+');
    writeSync(fd, new Uint8Array(new Float32Array([7]).buffer), 0, 4, 8 + len);
    closeSync(fd);
    expect(Array.from(await t.data())).toEqual([7, 2]);
  });

  it('replaces a file atomically, so views of the old file stay valid', async () => {
    const path = join(tmp, 'replace.safetensors');
    await writeSafetensors(path, { t: tensor(new Float32Array([1, 2]), [2]) });
    const old = openSafetensors(path).load('t');
    await writeSafetensors(path, { u: tensor(new Float32Array([3]), [1]) });
    expect(Array.from(await old.data())).toEqual([1, 2]);
    expect(openSafetensors(path).tensors.map((t) => t.name)).toEqual(['u']);
  });

  it('converts float dtypes on load, rounding as dtype.ts does', async () => {
    const path = join(tmp, 'conv.safetensors');
    const vals = [0.1, -3.3333, 65504, 1e-6, 1234.5678];
    await writeSafetensors(path, {
      f: tensor(vals, [5]),
      h: tensor(vals, [5], { dtype: 'f16' }),
      b: tensor(vals, [5], { dtype: 'bf16' }),
    });
    const f = openSafetensors(path);
    expect(await f.load('f', { dtype: 'bf16' }).bytes()).toEqual(encode(vals, 'bf16', [5]));
    expect(await f.load('f', { dtype: 'f16' }).bytes()).toEqual(encode(vals, 'f16', [5]));
    const hb = new Uint16Array((await f.load('h', { dtype: 'bf16' }).bytes()).slice().buffer);
    const hv = Array.from(await f.load('h').data());
    expect(Array.from(hb)).toEqual(hv.map(f32ToBf16Bits));
    const bh = new Uint16Array((await f.load('b', { dtype: 'f16' }).bytes()).slice().buffer);
    expect(Array.from(bh)).toEqual(Array.from(await f.load('b').data()).map(f32ToF16Bits));
    expect(Array.from(await f.load('b', { dtype: 'f32' }).data())).toEqual(Array.from(await f.load('b').data()));
  });

  it('refuses duplicate or reserved names and bad metadata', async () => {
    const t = tensor([1], [1]);
    await expect(
      writeSafetensors(join(tmp, 'd.safetensors'), [
        ['x', t],
        ['x', t],
      ]),
    ).rejects.toThrow(/duplicate or reserved tensor name x/);
    await expect(writeSafetensors(join(tmp, 'd.safetensors'), { __metadata__: t })).rejects.toThrow(/reserved/);
    await expect(writeSafetensors(join(tmp, 'd.safetensors'), { t }, { n: 1 as unknown as string })).rejects.toThrow(
      /metadata n is not a string/,
    );
    // Names that are Object.prototype keys are ordinary names.
    await writeSafetensors(join(tmp, 'proto.safetensors'), [
      ['constructor', t],
      ['__proto__', t],
    ]);
    expect(openSafetensors(join(tmp, 'proto.safetensors')).tensors.map((x) => x.name)).toEqual([
      'constructor',
      '__proto__',
    ]);
  });

  it('places tensors on another device when asked', async () => {
    const path = join(tmp, 'dev.safetensors');
    await writeSafetensors(path, { t: tensor(new Float32Array([1, 2]), [2]) });
    const f = openSafetensors(path);
    const cuda = devices().find((d) => d !== 'cpu');
    if (cuda) {
      const t = f.load('t', { device: cuda, dtype: 'f16' });
      expect(t.device).toBe(cuda);
      expect(Array.from(await t.data())).toEqual([1, 2]);
    } else {
      expect(() => f.load('t', { device: 'cuda:0' })).toThrow(/CUDA/);
    }
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
      JSON.stringify({
        metadata: {},
        weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' },
      }),
    );
    const f = openWeights(join(tmp, 'model.safetensors.index.json'));
    expect(f.tensors.map((t) => t.name)).toEqual(['x', 'y']);
    expect(Array.from(await f.load('y').data())).toEqual([3]);
    expect(f.info('x')).toEqual({ name: 'x', dtype: 'F32', shape: [2] });
  });

  it('reports broken sharded sets', () => {
    const sub = mkdtempSync(join(tmp, 'shards-'));
    copyFileSync(join(tmp, 'model-00001-of-00002.safetensors'), join(sub, 'a.safetensors'));
    const index = (weight_map: unknown) => {
      const p = join(sub, 'model.safetensors.index.json');
      writeFileSync(p, JSON.stringify({ weight_map }));
      return p;
    };
    expect(() => openWeights(index({ x: 'missing.safetensors' }))).toThrow(/shard missing\.safetensors is missing/);
    expect(() => openWeights(index({ x: '../a.safetensors' }))).toThrow(/invalid shard/);
    expect(() => openWeights(index({ x: 'a.safetensors', y: 'a.safetensors' }))).toThrow(
      /a\.safetensors does not hold tensor y/,
    );
    expect(() => openWeights(index({ y: 'a.safetensors' }))).toThrow(
      /shard a\.safetensors holds tensor x, which the index does not list/,
    );
    expect(() => openWeights(index([1]))).toThrow(/no weight_map/);
    // A name listed twice: JSON.parse would keep the second shard and forget the first.
    writeFileSync(
      join(sub, 'model.safetensors.index.json'),
      '{"weight_map":{"x":"a.safetensors","x":"b.safetensors"}}',
    );
    expect(() => openWeights(join(sub, 'model.safetensors.index.json'))).toThrow(
      /tensor x is listed twice in weight_map/,
    );
    // Every indexed name in its shard and nowhere else: b holds x as well as y.
    copyFileSync(join(tmp, 'model-00001-of-00002.safetensors'), join(sub, 'b.safetensors'));
    expect(() => openWeights(index({ x: 'b.safetensors', y: 'a.safetensors' }))).toThrow(
      /tensor x is in shard a\.safetensors, but the index puts it in b\.safetensors/,
    );
    writeFileSync(join(sub, 'bad.index.json'), '{');
    expect(() => openWeights(join(sub, 'bad.index.json'))).toThrow(/not a valid index JSON/);
  });

  it('converts F64 and I64 on load', async () => {
    const data = Buffer.alloc(16 + 16);
    data.writeDoubleLE(1.5, 0);
    data.writeDoubleLE(-2.25, 8);
    data.writeBigInt64LE(5n, 16);
    data.writeBigInt64LE(-7n, 24);
    const p = raw(
      {
        f: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
        i: { dtype: 'I64', shape: [2], data_offsets: [16, 32] },
      },
      data,
    );
    const f = openSafetensors(p);
    expect(Array.from(await f.load('f').data())).toEqual([1.5, -2.25]);
    expect(Array.from(await f.load('i').data())).toEqual([5, -7]);
    expect(f.load('f').dtype).toBe('f32');
    expect(f.load('i').dtype).toBe('i32');
    expect(f.tensors.map((t) => t.dtype)).toEqual(['F64', 'I64']);
  });

  it('converts I16, I8 and BOOL, and refuses I64 values outside i32', async () => {
    const data = Buffer.alloc(4 + 2 + 2 + 16);
    data.writeInt16LE(-300, 0);
    data.writeInt16LE(300, 2);
    data.writeInt8(-5, 4);
    data.writeInt8(7, 5);
    data[6] = 1;
    data[7] = 0;
    data.writeBigInt64LE(1n, 8);
    data.writeBigInt64LE(1n << 40n, 16);
    const p = raw(
      {
        s: { dtype: 'I16', shape: [2], data_offsets: [0, 4] },
        c: { dtype: 'I8', shape: [2], data_offsets: [4, 6] },
        m: { dtype: 'BOOL', shape: [2], data_offsets: [6, 8] },
        big: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
      },
      data,
    );
    const f = openSafetensors(p);
    expect(Array.from(await f.load('s').data())).toEqual([-300, 300]);
    expect(Array.from(await f.load('c').data())).toEqual([-5, 7]);
    const m = f.load('m');
    expect(m.dtype).toBe('u8');
    expect(Array.from(await m.data())).toEqual([1, 0]);
    expect(() => f.load('big')).toThrow(/tensor big: I64 value 1099511627776 at index 1 does not fit in i32/);
    expect(() => f.load('s', { dtype: 'f32' })).toThrow(/cannot convert a I16 tensor to f32/);
  });

  it('is told from a legacy pickle even when its header length starts with 0x80 0x03', async () => {
    // A header of exactly 0x380 bytes: the file starts 80 03 00 00, like a protocol-3 pickle.
    const base = JSON.stringify({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    const p = raw(base + ' '.repeat(0x380 - base.length), new Uint8Array(new Float32Array([5]).buffer));
    expect(readFileSync(p).subarray(0, 2)).toEqual(Buffer.from([0x80, 0x03]));
    expect(Array.from(await openWeights(p).load('t').data())).toEqual([5]);
  });
});

describe('hostile safetensors files give clear errors', () => {
  const ok = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, () => string, RegExp][] = [
    [
      'shorter than 8 bytes',
      () => {
        const p = join(tmp, 'short.safetensors');
        writeFileSync(p, Buffer.from([1, 2]));
        return p;
      },
      /shorter than the 8-byte header length/,
    ],
    ['header length past the end', () => raw(ok, new Uint8Array(8), 1000n), /runs past the end of the file/],
    ['absurd header length', () => raw(ok, new Uint8Array(8), 1n << 40n), /absurd/],
    ['header not JSON', () => raw('{not json', new Uint8Array(0)), /not valid JSON/],
    ['header not an object', () => raw('[1,2]', new Uint8Array(0)), /not a JSON object/],
    [
      'unknown dtype',
      () => raw({ t: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)),
      /unsupported dtype F8_E4M3 for tensor t/,
    ],
    [
      'a dtype that is an Object.prototype key',
      () => raw({ t: { dtype: 'constructor', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /unsupported dtype constructor for tensor t/,
    ],
    ['entry not an object', () => raw({ t: [1, 2] }, new Uint8Array(0)), /tensor t: header entry is not a JSON object/],
    [
      'shape of floats',
      () => raw({ t: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /tensor t: shape \[1\.5\]/,
    ],
    [
      'more than 8 dims',
      () => raw({ t: { dtype: 'U8', shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /at most 8/,
    ],
    [
      'data_offsets not integers',
      () => raw({ t: { dtype: 'U8', shape: [1], data_offsets: [0, '1'] } }, new Uint8Array(1)),
      /tensor t: data_offsets \[0,"1"\]/,
    ],
    [
      'data_offsets missing',
      () => raw({ t: { dtype: 'U8', shape: [1] } }, new Uint8Array(1)),
      /tensor t: data_offsets undefined/,
    ],
    [
      '__metadata__ not an object',
      () => raw({ __metadata__: 'x', ...ok }, new Uint8Array(8)),
      /__metadata__ is not a JSON object/,
    ],
    [
      '__metadata__ with a non-string value',
      () => raw({ __metadata__: { n: 1 }, ...ok }, new Uint8Array(8)),
      /__metadata__ value n is not a string/,
    ],
    ['bad shape', () => raw({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape/],
    [
      'absurd shape',
      () => raw({ t: { dtype: 'F32', shape: [1e12, 1e12], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /tensor t: holds 8 bytes but F32 \[1000000000000, 1000000000000\] needs 4000000000000000000000000/,
    ],
    [
      'offsets out of range',
      () => raw({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)),
      /tensor t: data \[0, 8\) lies past the end of the data section \(4 bytes\)/,
    ],
    [
      'size mismatch',
      () => raw({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /needs 12/,
    ],
    [
      'reversed offsets',
      () => raw({ t: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, new Uint8Array(8)),
      /data_offsets/,
    ],
    [
      'overlapping tensors',
      () =>
        raw(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
          },
          new Uint8Array(12),
        ),
      /tensors a and b overlap/,
    ],
    // The format's own rules, which JSON.parse and a lenient reader let through.
    [
      'data not starting at offset 0',
      () => raw({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)),
      /a gap of 4 bytes before the first tensor t \(data_offsets must start at 0\)/,
    ],
    [
      'a gap between two tensors',
      () =>
        raw(
          {
            a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
            b: { dtype: 'U8', shape: [2], data_offsets: [6, 8] },
          },
          new Uint8Array(8),
        ),
      /a gap of 2 bytes between tensors a and b/,
    ],
    [
      'bytes after the last tensor',
      () => raw(ok, new Uint8Array(11)),
      /3 trailing bytes after the last tensor t \(data_offsets must end at the end of the file\)/,
    ],
    ['data but no tensors', () => raw({ __metadata__: {} }, new Uint8Array(5)), /no tensors, but 5 bytes of data/],
    [
      'an empty tensor inside another one',
      () =>
        raw(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
          },
          new Uint8Array(8),
        ),
      /tensors a and e overlap/,
    ],
    [
      'a tensor named twice (JSON.parse would keep the last)',
      () =>
        raw(
          '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
          new Uint8Array(8),
        ),
      /tensor t appears twice in the header/,
    ],
    [
      'a field named twice in a tensor entry',
      () => raw('{"t":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)),
      /tensor t: key dtype appears twice/,
    ],
    [
      'a metadata key named twice',
      () =>
        raw(
          '{"__metadata__":{"a":"1","a":"2"},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
          new Uint8Array(1),
        ),
      /__metadata__: key a appears twice/,
    ],
    [
      'a name that is not UTF-8 (an escaped lone surrogate)',
      () => raw('{"t\\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)),
      /tensor name "t\\ud800" is not valid UTF-8/,
    ],
    [
      'metadata that is not UTF-8 (an escaped lone surrogate)',
      () =>
        raw('{"__metadata__":{"k":"\\udc00"},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)),
      /__metadata__ entry "k" is not valid UTF-8/,
    ],
    [
      'a header that is not UTF-8',
      () => raw(Buffer.from('{"t\xff":{}}', 'latin1'), new Uint8Array(0)),
      /header is not valid UTF-8/,
    ],
  ];
  for (const [what, make, message] of cases) {
    it(what, () => {
      const p = make();
      expect(() => openWeights(p)).toThrow(message);
      expect(() => openWeights(p)).toThrow(/^f\w+\.safetensors: |short\.safetensors: /); // names the file
    });
  }

  it('truncated anywhere: always refused at open (random damage is fuzzed in fuzz.test.ts)', () => {
    const whole = readFileSync(join(__dirname, '..', 'fixtures', 'torch', 'checkpoint.safetensors'));
    const p = join(tmp, 'cut.safetensors');
    // The tensors must end exactly at the end of the file, so every shorter prefix breaks a rule.
    for (let cut = 0; cut < whole.length; cut += 7) {
      writeFileSync(p, whole.subarray(0, cut));
      expect(() => openWeights(p), `cut at ${cut}`).toThrow(Error);
    }
  });

  it('a missing file or tensor is a clear error', () => {
    expect(() => openWeights(join(tmp, 'nope.safetensors'))).toThrow(/no such file/);
    const p = raw(ok, new Uint8Array(8));
    expect(() => openWeights(p).load('missing')).toThrow(/has no tensor missing/);
    const f = openWeights(p);
    const kept = f.load('t');
    f.close();
    expect(() => f.load('t')).toThrow(/was closed/);
    expect(kept.shape).toEqual([2]); // tensors loaded before close() stay valid
  });
});
