/**
 * Bad input is a JS Error naming the problem, never a crash; the process stays usable afterwards. The cases
 * run on every device present: a kernel error is reported against the failing op's outputs (and what is
 * computed from them) with the op's name, on CUDA as on the CPU.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Device,
  devices,
  mapFile,
  openSafetensors,
  ops,
  tensor,
  writeSafetensors,
  zeros,
} from '../../src/index.js';

for (const device of devices()) {
  describe(`errors on ${device}`, () => {
    const on = { device } as { device: Device };
    const x = tensor(new Float32Array(12).fill(1), [3, 4], on);
    const z = (shape: number[], dtype: 'f32' | 'f16' | 'i32' = 'f32') => zeros(shape, dtype, device);

    it('shape and dtype mismatches throw at the call', () => {
      expect(() => ops.linear(x, z([5, 3]))).toThrow(/linear: x \[3, 4\] does not match weight \[5, 3\]/);
      expect(() => ops.add(x, z([3, 5]))).toThrow(/do not broadcast/);
      expect(() => ops.add(x, z([3, 4], 'f16'))).toThrow(/dtypes differ: f32 and f16/);
      expect(() => ops.matmul(x, z([5, 2]))).toThrow(/inner dims differ/);
      expect(() => ops.embedding(x, z([2]))).toThrow(/ids must be i32/);
      expect(() => ops.attention(z([1, 2, 3, 8]), z([1, 2, 2, 8]), z([1, 2, 2, 8]))).toThrow(/multiple of kv heads/);
      expect(() => ops.rope(z([2, 2, 8]), z([3], 'i32'))).toThrow(/positions must be i32 \[2\]/);
      expect(() => ops.cast(z([2, 2, 2]), 'q8')).toThrow(/only 2-D float tensors quantize/);
      expect(() => ops.sample(x, { topP: 0 })).toThrow(/topP 0 is out of range/);
      expect(() => ops.slice(x, [0, 3], [3, 2])).toThrow(/range \[3, 2\) is invalid/);
      expect(() => ops.setSlice(x, z([2, 4]), [2, 0])).toThrow(/does not fit/);
    });

    it('the image ops name the argument that is wrong', () => {
      const img = z([1, 4, 5, 5]);
      const w = z([8, 4, 3, 3]);
      expect(() => ops.conv2d(img, z([8, 3, 3, 3]), undefined, { stride: 1, padding: 1 })).toThrow(
        /^conv2d: weight must be \[Cout, 4, kh, kw\]/,
      );
      expect(() => ops.conv2d(img, w, z([7]), { stride: 1, padding: 1 })).toThrow(/^conv2d: bias must be \[8\]/);
      expect(() => ops.conv2d(img, w, undefined, { stride: 0, padding: 1 })).toThrow(/^conv2d: stride must be/);
      expect(() => ops.conv2d(img, w, undefined, { stride: 1, padding: -1 })).toThrow(/^conv2d: padding must be/);
      expect(() => ops.conv2d(z([1, 4, 1, 1]), w, undefined, { stride: 1, padding: 0 })).toThrow(
        /^conv2d: the padded input 1×1 is smaller than the kernel 3×3/,
      );
      expect(() => ops.groupNorm(img, z([4]), z([4]), 3, 1e-5)).toThrow(/^group_norm: groups must be .* dividing/);
      expect(() => ops.groupNorm(img, z([5]), z([4]), 2, 1e-5)).toThrow(/^group_norm: weight must be \[4\]/);
      expect(() => ops.groupNorm(img, z([4]), z([4]), 2, -1)).toThrow(/^group_norm: eps must be/);
      expect(() => ops.upsampleNearest2x(z([4, 5, 5]))).toThrow(/^upsample_nearest2x: x must be \[B, C, H, W\]/);
      expect(() => ops.geglu(z([2, 5]))).toThrow(/^geglu: x must be \[\.\.\., 2F\]/);
      expect(() => ops.attention(z([1, 2, 1, 513]), z([1, 2, 1, 513]), z([1, 2, 1, 513]))).toThrow(
        /^attention: head dim 513 is larger than 512/,
      );
    });

    it('out-of-range ids are found when the kernel runs and reported by the read, against that op only', async () => {
      const ids = tensor(new Int32Array([0, 2, 3]), [3], on);
      const bad = ops.embedding(x, ids);
      const fine = ops.scale(x, 2); // queued after the failing op: unaffected by it
      await expect(bad.data()).rejects.toThrow(/^embedding: .*(id 3 .* outside \[0, 3\)|outside the table)/);
      // What is computed from the bad rows fails the same way, naming the op that failed.
      await expect(ops.scale(bad, 2).data()).rejects.toThrow(/^embedding: /);
      expect(Array.from(await fine.data())[0]).toBe(2);
      const logits = tensor(new Float32Array([1, 2, 3]), [1, 3], on);
      await expect(
        ops.sample(logits, { repetitionPenalty: 1.2, penaltyIds: tensor(new Int32Array([7]), [1], on) }).data(),
      ).rejects.toThrow(/^sample: .*penalty id/);
      await expect(ops.sample(logits, { allowedMask: tensor(new Uint8Array(3), [3], on) }).data()).rejects.toThrow(
        /^sample: no token is allowed/,
      );
      expect(Array.from(await ops.scale(x, 2).data())[0]).toBe(2);
    });

    it('a dim of 0 anywhere gives an empty result of the right shape, never a crash', async () => {
      // Each kernel divides or loops by some of these dims; a 0 that reaches a division is a SIGFPE that takes
      // the process down (rope over 0 heads once did).
      const pos = (n: number) =>
        tensor(
          Int32Array.from({ length: n }, (_, i) => i),
          [n],
          on,
        );
      const ids = (...v: number[]) => tensor(Int32Array.from(v), [v.length], on);
      const conv = { stride: 1, padding: 1 };
      const cases: [string, () => ReturnType<typeof zeros>, number[]][] = [
        ['rope, 0 heads', () => ops.rope(z([2, 0, 4]), pos(2)), [2, 0, 4]],
        ['rope, 0 positions', () => ops.rope(z([0, 2, 4]), pos(0)), [0, 2, 4]],
        ['rope, 0 batches', () => ops.rope(z([0, 2, 2, 4]), pos(2)), [0, 2, 2, 4]],
        ['group_norm, 0 channels', () => ops.groupNorm(z([1, 0, 2, 2]), z([0]), z([0]), 1, 1e-5), [1, 0, 2, 2]],
        ['group_norm, 0 batches', () => ops.groupNorm(z([0, 4, 2, 2]), z([4]), z([4]), 2, 1e-5), [0, 4, 2, 2]],
        ['group_norm, 0 pixels', () => ops.groupNorm(z([1, 4, 0, 2]), z([4]), z([4]), 2, 1e-5), [1, 4, 0, 2]],
        ['upsample, 0 columns', () => ops.upsampleNearest2x(z([1, 1, 2, 0])), [1, 1, 4, 0]],
        ['geglu, 0 features', () => ops.geglu(z([2, 0])), [2, 0]],
        ['layernorm, 0 columns', () => ops.layernorm(z([2, 0]), z([0]), z([0]), 1e-5), [2, 0]],
        ['rmsnorm, 0 rows', () => ops.rmsnorm(z([0, 4]), z([4]), 1e-5), [0, 4]],
        ['argmax, 0 rows', () => ops.argmax(z([0, 3])), [0]],
        ['embedding, 0 ids', () => ops.embedding(z([3, 4]), ids()), [0, 4]],
        ['embedding, 0 columns', () => ops.embedding(z([3, 0]), ids(1)), [1, 0]],
        ['attention, 0 queries', () => ops.attention(z([1, 0, 2, 4]), z([1, 3, 2, 4]), z([1, 3, 2, 4])), [1, 0, 2, 4]],
        ['codebook, 0 rows', () => ops.codebookNearest(z([0, 4]), z([5, 4])), [0]],
        ['sample, 0 rows', () => ops.sample(z([0, 5])), [0]],
        ['conv2d, 0 out channels', () => ops.conv2d(z([1, 2, 4, 4]), z([0, 2, 3, 3]), undefined, conv), [1, 0, 4, 4]],
        ['conv2d, 0 batches', () => ops.conv2d(z([0, 2, 4, 4]), z([2, 2, 3, 3]), undefined, conv), [0, 2, 4, 4]],
        ['matmul, 0 rows', () => ops.matmul(z([2, 0, 3]), z([2, 3, 4])), [2, 0, 4]],
        ['linear, 0 rows', () => ops.linear(z([0, 4]), z([3, 4])), [0, 3]],
        ['concat of empties', () => ops.concat([z([0, 2]), z([0, 2])], 0), [0, 2]],
        ['permute, 0 rows', () => ops.permute(z([0, 2, 3]), [2, 0, 1]), [3, 0, 2]],
        ['cast to q8, 0 columns', () => ops.cast(z([2, 0]), 'q8'), [2, 0]],
      ];
      for (const [what, make, shape] of cases) {
        const t = make();
        expect(t.shape, what).toEqual(shape);
        expect((await t.data()).length, what).toBe(0);
      }
      // Products over an empty K are zeros (plus the bias), of the full output shape.
      expect(Array.from(await ops.linear(z([2, 0]), z([3, 0]), tensor([1, 2, 3], [3], on)).data())).toEqual([
        1, 2, 3, 1, 2, 3,
      ]);
      expect(Array.from(await ops.matmul(z([1, 2, 0]), z([1, 0, 2])).data())).toEqual([0, 0, 0, 0]);
      expect(Array.from(await ops.scale(x, 2).data())[0]).toBe(2); // the process and its stream still work
    });

    it('disposed tensors are refused', async () => {
      const t = tensor(new Float32Array([1, 2]), [2], on);
      t.dispose();
      expect(() => ops.silu(t)).toThrow(/disposed/);
      expect(() => t.reshape([1, 2])).toThrow(/disposed/);
      await expect(async () => t.data()).rejects.toThrow(/disposed/);
    });
  });
}

describe('tensors that view a memory-mapped file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seed-mapped-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuse writes into the file, with an error that says to copy first', async () => {
    const path = join(dir, 'w.safetensors');
    await writeSafetensors(path, { w: tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]) });
    const before = readFileSync(path);
    const file = openSafetensors(path);
    const w = file.load('w'); // zero-copy: a view of the mapped pages
    const src = tensor(new Float32Array([9, 9, 9]), [1, 3]);
    expect(() => ops.setSlice(w, src, [0, 0])).toThrow(
      /set_slice: cannot write into a tensor that views a memory-mapped file/,
    );
    // A reshaped handle shares the mapping and is refused too.
    expect(() => ops.setSlice(w.reshape([3, 2]), src.reshape([1, 3]).reshape([3, 1]), [0, 0])).toThrow(/memory-mapped/);
    // Nothing was written: the tensor and the file hold what was stored.
    expect(Array.from(await w.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(readFileSync(path).equals(before)).toBe(true);
    // A copy is writable.
    const copy = ops.scale(w, 1);
    ops.setSlice(copy, src, [1, 0]);
    expect(Array.from(await copy.data())).toEqual([1, 2, 3, 9, 9, 9]);
    file.close();
  });

  it('start on an element boundary: a view at an unaligned or fractional offset is refused', async () => {
    const path = join(dir, 'raw.bin');
    const floats = new Float32Array(64); // 1, 2, 3, 4, then zeros: room for a q8 [1, 4] view (68 bytes)
    floats.set([1, 2, 3, 4]);
    writeFileSync(path, new Uint8Array(floats.buffer));
    const file = mapFile(path);
    expect(Array.from(await file.tensor(4, 'f32', [3]).data())).toEqual([2, 3, 4]);
    expect(() => file.tensor(2, 'f32', [3])).toThrow(/byte offset 2 is not a multiple of 4 \(a f32 element\)/);
    expect(() => file.tensor(1, 'f16', [2])).toThrow(/byte offset 1 is not a multiple of 2/);
    expect(() => file.tensor(1.5, 'u8', [2])).toThrow(/byte offset 1.5 is not a multiple of 1/);
    expect(() => file.tensor(2, 'q8', [1, 4])).toThrow(
      /byte offset 2 is not a multiple of 4 \(q8 row scales are f32\)/,
    );
    expect(Array.from(await file.tensor(3, 'u8', [2]).data())).toEqual([63, 0]); // bytes need no alignment
  });
});
