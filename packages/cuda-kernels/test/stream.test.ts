// "Every device is a stream": op calls enqueue and return at once; the event loop keeps running while the
// CPU works; results and errors arrive through promises.
import { describe, expect, it } from 'vitest';
import { kernelProfile, ops, profileKernels, scope, synchronize, tensor } from '../src/index.js';
import { mulberry32 } from './helpers/rng.js';

describe('the CPU stream', () => {
  it('enqueues a large GEMM without blocking the event loop', async () => {
    const rng = mulberry32(7);
    const n = 1024;
    const a = tensor(
      Float32Array.from({ length: n * n }, () => rng() - 0.5),
      [n, n],
    );
    const b = tensor(
      Float32Array.from({ length: n * n }, () => rng() - 0.5),
      [n, n],
    );
    await synchronize();
    // Once first, so the 12 outputs below come from the buffer cache. A fresh 4 MB output is faulted in by the
    // JS thread (a thousand page faults, 1 ms on a quiet machine and 5–12 ms while the kernel threads hold both
    // cores), which on a busy host made enqueueing take half the run and this test flaky.
    const warm = scope(() => Array.from({ length: 12 }, () => ops.matmul(a, b)));
    await synchronize();
    for (const t of warm) t.dispose();

    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    // 12 GEMMs of 1024³ ≈ 26 GFLOP: well over 100 ms on 2 cores even at the FMA peak, while enqueueing them
    // (12 output allocations, no math) takes a few ms on a quiet machine. On a loaded one the JS thread is
    // descheduled too, so the bound is a fraction of the run: were the math done at enqueue, it would be all of it.
    const outs = scope(() => Array.from({ length: 12 }, () => ops.matmul(a, b)));
    const enqueueMs = performance.now() - t0;
    const first = await outs[11].data();
    const totalMs = performance.now() - t0;
    clearInterval(timer);

    expect(first.length).toBe(n * n);
    const seen = `enqueue ${enqueueMs.toFixed(1)} ms, total ${totalMs.toFixed(1)} ms, ${ticks} timer ticks`;
    expect(enqueueMs, seen).toBeLessThan(Math.max(20, totalMs / 2));
    // The 1 ms timer kept firing while the kernels ran on native threads.
    expect(ticks, seen).toBeGreaterThan(Math.min(10, totalMs / 20));
    for (const t of [a, b, ...outs]) t.dispose();
  });

  it('delivers a kernel error through the awaited read, and the process stays usable', async () => {
    const table = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
    const ids = tensor(new Int32Array([0, 5]), [2]);
    const rows = ops.embedding(table, ids); // returns at once; the bad id is found when the kernel runs
    await expect(rows.data()).rejects.toThrow(/5/);
    // Ops fed by the poisoned tensor fail the same way instead of computing garbage.
    await expect(ops.scale(rows, 2).data()).rejects.toThrow(/embedding/);
    expect(Array.from(await ops.scale(table, 2).data())).toEqual([2, 4, 6, 8]);
  });
});

describe('the CPU kernel profile', () => {
  it('is off by default, then counts each op and its time, per shape when asked', async () => {
    const a = tensor(new Float32Array(256 * 256).fill(1), [256, 256]);
    const b = tensor(new Float32Array(64 * 64).fill(1), [64, 64]);
    await synchronize();
    profileKernels('off');
    scope(() => ops.matmul(a, a));
    await synchronize();
    expect(kernelProfile()).toEqual([]);

    profileKernels('ops');
    scope(() => [ops.matmul(a, a), ops.matmul(a, a), ops.matmul(b, b), ops.silu(b)]);
    await synchronize();
    const byOp = kernelProfile();
    expect(byOp.map((r) => [r.key, r.calls])).toEqual([
      ['matmul', 3],
      ['silu', 1],
    ]);
    expect(byOp[0].ms).toBeGreaterThan(0);

    profileKernels('shapes');
    scope(() => [ops.matmul(a, a), ops.matmul(b, b), ops.matmul(b, b)]);
    await synchronize();
    const byShape = Object.fromEntries(kernelProfile().map((r) => [r.key, r.calls]));
    expect(byShape).toEqual({ 'matmul f32[256,256] f32[256,256]': 1, 'matmul f32[64,64] f32[64,64]': 2 });

    profileKernels('off');
    a.dispose();
    b.dispose();
  });
});
