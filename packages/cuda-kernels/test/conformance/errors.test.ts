/** Bad input is a JS Error naming the problem, never a crash; the process stays usable afterwards. */
import { describe, expect, it } from 'vitest';
import { ops, tensor, zeros } from '../../src/index.js';

describe('errors', () => {
  const x = tensor(new Float32Array(12).fill(1), [3, 4]);

  it('shape and dtype mismatches throw at the call', () => {
    expect(() => ops.linear(x, zeros([5, 3]))).toThrow(/linear: x \[3, 4\] does not match weight \[5, 3\]/);
    expect(() => ops.add(x, zeros([3, 5]))).toThrow(/do not broadcast/);
    expect(() => ops.add(x, zeros([3, 4], 'f16'))).toThrow(/dtypes differ: f32 and f16/);
    expect(() => ops.matmul(x, zeros([5, 2]))).toThrow(/inner dims differ/);
    expect(() => ops.embedding(x, zeros([2], 'f32'))).toThrow(/ids must be i32/);
    expect(() => ops.attention(zeros([1, 2, 3, 8]), zeros([1, 2, 2, 8]), zeros([1, 2, 2, 8]))).toThrow(
      /multiple of kv heads/,
    );
    expect(() => ops.rope(zeros([2, 2, 8]), zeros([3], 'i32'))).toThrow(/positions must be i32 \[2\]/);
    expect(() => ops.cast(zeros([2, 2, 2]), 'q8')).toThrow(/only 2-D float tensors quantize/);
    expect(() => ops.sample(x, { topP: 0 })).toThrow(/topP 0 is out of range/);
    expect(() => ops.slice(x, [0, 3], [3, 2])).toThrow(/range \[3, 2\) is invalid/);
    expect(() => ops.setSlice(x, zeros([2, 4]), [2, 0])).toThrow(/does not fit/);
  });

  it('out-of-range ids are found when the kernel runs and reported by the read', async () => {
    const ids = tensor(new Int32Array([0, 2, 3]), [3]);
    await expect(ops.embedding(x, ids).data()).rejects.toThrow(/id 3 .* outside \[0, 3\)/);
    const logits = tensor(new Float32Array([1, 2, 3]), [1, 3]);
    await expect(
      ops.sample(logits, { repetitionPenalty: 1.2, penaltyIds: tensor(new Int32Array([7]), [1]) }).data(),
    ).rejects.toThrow(/penalty id 7/);
    await expect(ops.sample(logits, { allowedMask: tensor(new Uint8Array(3), [3]) }).data()).rejects.toThrow(
      /no token is allowed/,
    );
    expect(Array.from(await ops.scale(x, 2).data())[0]).toBe(2);
  });

  it('disposed tensors and writes into a mapped file are refused', async () => {
    const t = tensor(new Float32Array([1, 2]), [2]);
    t.dispose();
    expect(() => ops.silu(t)).toThrow(/disposed/);
    expect(() => t.reshape([1, 2])).toThrow(/disposed/);
    await expect(async () => t.data()).rejects.toThrow(/disposed/);
  });
});
