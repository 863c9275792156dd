import { describe, expect, it } from 'vitest';
import { devices, memoryInfo, ops, scope, synchronize, tensor, zeros } from '../src/index.js';

describe('tensors', () => {
  it('round-trips f32, i32, u8, f16, bf16 values', async () => {
    expect(Array.from(await tensor(new Float32Array([1.5, -2, 3]), [3]).data())).toEqual([1.5, -2, 3]);
    expect(Array.from(await tensor(new Int32Array([7, -8]), [2]).data())).toEqual([7, -8]);
    expect(Array.from(await tensor(new Uint8Array([0, 255]), [2]).data())).toEqual([0, 255]);
    expect(Array.from(await tensor([1, 0.5, -3], [3], { dtype: 'f16' }).data())).toEqual([1, 0.5, -3]);
    expect(Array.from(await tensor([1, 0.5, -3], [3], { dtype: 'bf16' }).data())).toEqual([1, 0.5, -3]);
  });

  it('rejects data that does not match the shape', () => {
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(/5 values given for shape \[2, 3\]/);
    expect(() => zeros([-1])).toThrow(/invalid shape/);
  });

  it('errors on a disposed tensor instead of crashing', () => {
    const t = tensor(new Float32Array([1, 2]), [2]);
    t.dispose();
    expect(() => ops.scale(t, 2)).toThrow(/disposed/);
  });

  it('reshape shares storage', async () => {
    const t = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const r = t.reshape([3, -1]);
    expect(r.shape).toEqual([3, 2]);
    expect(Array.from(await r.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => t.reshape([4, 2])).toThrow(/cannot reshape/);
  });

  it('scope disposes what it does not return', async () => {
    await synchronize();
    const before = memoryInfo().cpuTensors;
    const kept = scope(() => {
      zeros([4]);
      zeros([5]);
      return zeros([6]);
    });
    await synchronize();
    expect(memoryInfo().cpuTensors).toBe(before + 1);
    kept.dispose();
    await synchronize();
    expect(memoryInfo().cpuTensors).toBe(before);
  });

  it('refuses a CUDA device with a reason when none is usable, and uses it when it is', async () => {
    if (devices().includes('cuda:0')) {
      expect(Array.from(await zeros([2], 'f32', 'cuda:0').data())).toEqual([0, 0]);
    } else {
      expect(() => zeros([2], 'f32', 'cuda:0')).toThrow(/CUDA/);
    }
    // A device index past the last one present is always refused.
    expect(() => zeros([2], 'f32', 'cuda:99')).toThrow(/cuda:99|CUDA/);
  });
});

describe('q8 encoding in TypeScript', () => {
  it('quantizes like the native cast, NaN and infinities included', async () => {
    const values = [1, Number.NaN, -2, 0.5, ...[0, 0, 0, 0].map(() => Number.NaN), Infinity, 1, -3, 0, 0, 0, 0, 0];
    const encoded = tensor(Float32Array.from(values), [4, 4], { dtype: 'q8' });
    const cast = scope(() => ops.cast(tensor(Float32Array.from(values), [4, 4]), 'q8'));
    const ours = (await encoded.data()) as Float32Array;
    expect(ours).toEqual((await cast.data()) as Float32Array);
    const s = Math.fround(2 / 127); // row 0's scale: NaN left out of its range; row 1 all NaN: scale 0
    expect(Array.from(ours.subarray(0, 8))).toEqual([64, 0, -127, 32, 0, 0, 0, 0].map((q) => Math.fround(q * s)));
    encoded.dispose();
    cast.dispose();
  });
});
