/** The shared weight loader: spec trees, problem listing, precision policy, memory check, clean failure. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ArrayWeight,
  InMemoryWeights,
  joined,
  listSpecs,
  loadWeights,
  memoryInfo,
  openWeights,
  ops,
  synchronize,
  type Tensor,
  tensor,
  weight,
  writeSafetensors,
} from '../../src/index.js';

const values = (n: number, k = 1) => Float32Array.from({ length: n }, (_, i) => k * (i + 1) * 0.25);
const entry = (shape: number[], k = 1): ArrayWeight => ({
  shape,
  data: values(
    shape.reduce((a, b) => a * b, 1),
    k,
  ),
});

/** A small two-layer "model": a norm, matrices, an optional bias, a joined bias and a reshaped conv. */
const specs = (layers = 2) => ({
  norm: weight('norm.weight', [4]),
  layers: Array.from({ length: layers }, (_, l) => ({
    up: weight(`layers.${l}.up.weight`, [6, 4]),
    bias: l === 0 ? weight(`layers.${l}.up.bias`, [6], { precision: 'f32' }) : undefined,
  })),
  qkvBias: joined([weight('q_bias', [2]), weight('v_bias', [2])], ([q, v]) => ops.concat([q, v], 0)),
  conv: weight('conv.weight', [3, 2, 2], { transform: (t: Tensor) => t.reshape([3, 4]) }),
});

const files = () =>
  new InMemoryWeights([
    ['norm.weight', entry([4])],
    ['layers.0.up.weight', entry([6, 4])],
    ['layers.0.up.bias', entry([6], 2)],
    ['layers.1.up.weight', entry([6, 4], 3)],
    ['q_bias', entry([2], 5)],
    ['v_bias', entry([2], 7)],
    ['conv.weight', entry([3, 2, 2])],
  ]);

const base = { what: 'the test model', source: 'memory', unexpected: 'error' as const };

describe('loadWeights', () => {
  it('turns the spec tree into the same tree of tensors, joined and transformed, with progress', async () => {
    const progress: string[] = [];
    const before = memoryInfo().cpuTensors;
    const { weights, dispose, unused } = await loadWeights({
      ...base,
      specs: specs(),
      files: files(),
      onProgress: (done, total, name) => progress.push(`${done}/${total} ${name}`),
    });
    expect(Array.from(await weights.layers[1].up.data()).slice(0, 2)).toEqual([0.75, 1.5]);
    expect(weights.layers[1].bias).toBeUndefined();
    expect(weights.layers[0].bias?.shape).toEqual([6]);
    expect(Array.from(await weights.qkvBias.data())).toEqual([1.25, 2.5, 1.75, 3.5]);
    expect(weights.conv.shape).toEqual([3, 4]);
    expect(progress).toEqual([
      '1/7 norm.weight',
      '2/7 layers.0.up.weight',
      '3/7 layers.0.up.bias',
      '4/7 layers.1.up.weight',
      '5/7 q_bias',
      '6/7 v_bias',
      '7/7 conv.weight',
    ]);
    expect(unused).toEqual([]);
    // The joined parts and the conv before its reshape are freed: 7 tensors remain, none after dispose().
    await synchronize('cpu');
    expect(memoryInfo().cpuTensors - before).toBe(6 + 0); // norm, 2 up, bias, qkvBias, conv view
    dispose();
    expect(memoryInfo().cpuTensors).toBe(before);
  });

  it('lists every missing, unexpected and misshapen tensor in one error', async () => {
    const f = new InMemoryWeights([
      ['norm.weight', entry([5])],
      ['layers.0.up.weight', entry([6, 4])],
      ['layers.0.up.bias', entry([6])],
      ['layers.7.up.weight', entry([6, 4])],
      ['q_bias', entry([2])],
      ['v_bias', entry([2])],
      ['conv.weight', entry([3, 2, 2])],
    ]);
    const err = await loadWeights({ ...base, specs: specs(), files: f }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      'memory: the weights of the test model do not match its configuration — missing: layers.1.up.weight | unexpected: layers.7.up.weight | misshapen: norm.weight is [5], expected [4]',
    );
  });

  it("states each model's policy for tensors no spec asks for: 'list' returns them, ignore hides them", async () => {
    const f = new InMemoryWeights([
      ...files().tensors.map((t) => [t.name, entry(t.shape)] as const),
      ['extra.buf', entry([1])],
      ['rotary.inv_freq', entry([1])],
    ]);
    await expect(loadWeights({ ...base, specs: specs(), files: f, ignore: [/inv_freq$/] })).rejects.toThrow(
      /unexpected: extra\.buf$/,
    );
    const listed = await loadWeights({ ...base, unexpected: 'list', specs: specs(), files: f, ignore: [/inv_freq$/] });
    expect(listed.unused).toEqual(['extra.buf']);
    listed.dispose();
  });

  it('looks in aliases and other files in order, and says why a file is absent', async () => {
    const tree = {
      a: weight('new.name', [2], { file: 'main', aliases: ['old.name', { file: 'other', name: 'x.a' }] }),
    };
    const inMain = new InMemoryWeights([['old.name', entry([2], 3)]]);
    const inOther = new InMemoryWeights([['x.a', entry([2], 4)]]);
    const one = await loadWeights({ ...base, specs: tree, files: { main: inMain, other: 'no other.bin' } });
    expect(Array.from(await one.weights.a.data())).toEqual([0.75, 1.5]);
    one.dispose();
    const two = await loadWeights({ ...base, specs: tree, files: { main: new InMemoryWeights([]), other: inOther } });
    expect(Array.from(await two.weights.a.data())).toEqual([1, 2]);
    two.dispose();
    await expect(
      loadWeights({ ...base, specs: tree, files: { main: new InMemoryWeights([]), other: 'no other.bin here' } }),
    ).rejects.toThrow(/missing: new\.name \(no other\.bin here\)/);
  });

  it('applies the precision policy: matrix follows the dtype (int8 quantized), float follows floats, f32 stays', async () => {
    const load = (dtype: 'auto' | 'f16' | 'int8') => loadWeights({ ...base, specs: specs(), files: files(), dtype });
    const f16 = await load('f16');
    expect([f16.weights.layers[0].up.dtype, f16.weights.norm.dtype, f16.weights.layers[0].bias?.dtype]).toEqual([
      'f16',
      'f16',
      'f32',
    ]);
    const q8 = await load('int8');
    expect([q8.weights.layers[0].up.dtype, q8.weights.norm.dtype, q8.weights.conv.dtype]).toEqual(['q8', 'f32', 'f32']);
    // int8 values round-trip within half a quantization step of each row's max / 127.
    const got = await q8.weights.layers[1].up.data();
    const want = values(24, 3);
    for (let r = 0; r < 6; r++)
      for (let c = 0; c < 4; c++)
        expect(Math.abs(got[r * 4 + c] - want[r * 4 + c])).toBeLessThanOrEqual(want[r * 4 + 3] / 127 / 2 + 1e-6);
    expect(q8.bytes).toBe(4 * 4 + 2 * (24 + 6 * 4) + 6 * 4 + 4 * 4 + 12 * 4);
    for (const l of [f16, q8]) l.dispose();
    await expect(loadWeights({ ...base, specs: specs(), files: files(), dtype: 'int4' as never })).rejects.toThrow(
      /unknown weight dtype 'int4'/,
    );
  });

  it('refuses a model that does not fit before allocating anything', async () => {
    const before = memoryInfo().cpuTensors;
    await expect(
      loadWeights({
        ...base,
        specs: specs(),
        files: files(),
        extra: { bytes: 1e18, what: 'a huge cache' },
        memoryHint: 'try --dtype int8',
      }),
    ).rejects.toThrow(
      /the test model needs 1000000000\.00 GB on cpu \(weights at auto \+ a huge cache\) but cpu has .* GB; try --dtype int8/,
    );
    expect(memoryInfo().cpuTensors).toBe(before);
  });

  it('frees everything already loaded when a later tensor fails', async () => {
    const before = memoryInfo().cpuTensors;
    const tree = {
      ...specs(),
      bad: weight('conv.weight', [3, 2, 2], {
        transform: () => {
          throw new Error('transform failed');
        },
      }),
    };
    await expect(loadWeights({ ...base, specs: tree, files: files() })).rejects.toThrow('transform failed');
    await synchronize('cpu');
    expect(memoryInfo().cpuTensors).toBe(before);
  });

  it('loads from real files by role, and lists unused tensors as "file: name"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seed-loader-'));
    const a = join(dir, 'a.safetensors');
    const b = join(dir, 'b.safetensors');
    await writeSafetensors(a, [['norm.weight', tensor(values(4), [4], { dtype: 'bf16' })]]);
    await writeSafetensors(b, [
      ['up.weight', tensor(values(8), [2, 4], { dtype: 'f16' })],
      ['training.only', tensor(values(2), [2])],
    ]);
    const fa = openWeights(a);
    const fb = openWeights(b);
    const tree = { norm: weight('norm.weight', [4], { file: 'a' }), up: weight('up.weight', [2, 4], { file: 'b' }) };
    const r = await loadWeights({ ...base, unexpected: 'list', specs: tree, files: { a: fa, b: fb } });
    expect([r.weights.norm.dtype, r.weights.up.dtype]).toEqual(['bf16', 'f16']); // 'auto' keeps them as stored
    expect(r.unused).toEqual([`${b}: training.only`]);
    expect(Array.from(await r.weights.up.data())).toEqual(Array.from(values(8)));
    r.dispose();
    fa.close();
    fb.close();
  });

  it('lists specs with their paths, canonical names and files', () => {
    const listed = listSpecs(specs(1)).map((s) => `${s.path} ${s.name} [${s.shape.join(',')}]`);
    expect(listed).toEqual([
      'norm norm.weight [4]',
      'layers.0.up layers.0.up.weight [6,4]',
      'layers.0.bias layers.0.up.bias [6]',
      'qkvBias.0 q_bias [2]',
      'qkvBias.1 v_bias [2]',
      'conv conv.weight [3,2,2]',
    ]);
  });
});
