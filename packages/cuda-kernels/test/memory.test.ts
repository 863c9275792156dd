/**
 * Memory stays flat over 10,000 op calls when results are disposed (native counters and process RSS); the CPU
 * buffer cache reuses freed large buffers, and a chain of ops cycles through the few its earlier ops gave back.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { memoryInfo, ops, releaseCachedMemory, scope, synchronize, tensor, zeros } from '../src/index.js';

describe('memory', () => {
  // 512 GiB is refused at once where the kernel refuses what cannot fit (overcommit modes 0 and 2); with mode 1
  // the allocation would succeed and be zero-filled, so the test skips there, as on a machine that big.
  const overcommit = (() => {
    try {
      return readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim();
    } catch {
      return 'unknown';
    }
  })();
  const refuses = (overcommit === '0' || overcommit === '2') && totalmem() < 2 ** 38;
  it.skipIf(!refuses)(
    `a failed allocation is an Error and leaves the live counters as they were${refuses ? '' : ` (skipped: overcommit mode ${overcommit}, ${totalmem()} bytes of memory)`}`,
    async () => {
      const before = memoryInfo();
      expect(() => zeros([2 ** 37])).toThrow(/out of memory: could not allocate 549755813888 bytes on cpu/);
      const after = memoryInfo();
      expect([after.cpuTensors, after.cpuBytes]).toEqual([before.cpuTensors, before.cpuBytes]);
      expect(Array.from(await zeros([2]).data())).toEqual([0, 0]); // and allocation goes on working
    },
  );

  it('is flat over 10,000 op calls with dispose and scopes', async () => {
    const x = tensor(
      Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i)),
      [16, 256],
    );
    const w = tensor(
      Float32Array.from({ length: 256 * 64 }, (_, i) => Math.cos(i)),
      [64, 256],
    );
    const norm = tensor(new Float32Array(256).fill(1), [256]);
    const round = () => {
      for (let i = 0; i < 1000; i++) {
        const h = ops.rmsnorm(x, norm, 1e-6);
        const y = ops.silu(h);
        h.dispose();
        y.dispose();
        scope(() => {
          ops.softmax(ops.linear(x, w)); // nothing returned: everything made inside is disposed
        });
      }
    };
    round();
    await synchronize();
    const before = memoryInfo();
    const rssBefore = process.memoryUsage().rss;
    for (let k = 0; k < 10; k++) {
      round(); // 1000 × (rmsnorm + silu + linear + softmax) = 4000 ops per round
      await synchronize();
    }
    const after = memoryInfo();
    expect(after.cpuTensors).toBe(before.cpuTensors);
    expect(after.cpuBytes).toBe(before.cpuBytes);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('the CPU buffer cache', () => {
  it('reuses a freed buffer for the next of its size, zero-filled, and gives it back on request', async () => {
    const n = 300_000; // 1.2 MB
    releaseCachedMemory();
    const a = tensor(new Float32Array(n).fill(7), [n]);
    await synchronize();
    const live = memoryInfo().cpuBytes;
    a.dispose();
    await synchronize();
    const cached = memoryInfo();
    expect(cached.cpuCachedBytes).toBe(n * 4);
    expect(cached.cpuBytes).toBe(live - n * 4); // not live any more
    const b = zeros([n]);
    expect(memoryInfo().cpuCachedBytes).toBe(0); // taken again
    expect(((await b.data()) as Float32Array).every((v) => v === 0)).toBe(true); // not the 7s it held
    b.dispose();
    await synchronize();
    expect(memoryInfo().cpuCachedBytes).toBe(n * 4);
    releaseCachedMemory();
    expect(memoryInfo().cpuCachedBytes).toBe(0);
    // Small buffers too (kept at their 64-byte padded size): decode frees hundreds of them per token, and
    // malloc freeing them on the stream thread contended with the JS thread allocating the next ones.
    const small = tensor(new Float32Array(1000), [1000]);
    small.dispose();
    await synchronize();
    expect(memoryInfo().cpuCachedBytes).toBe(4032);
    releaseCachedMemory();
  });

  it('serves a chain of ops with the few buffers its earlier ops have just given back', async () => {
    // 24 ops on 4 MB activations, enqueued while the stream is busy, so that every intermediate is disposed before
    // the first of them runs. An output takes its memory when its op runs and an intermediate goes back once its
    // last reader has run, so two buffers serve the chain; memory taken at enqueue would have been 24 buffers.
    releaseCachedMemory();
    const n = 1 << 20;
    const xs = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const x = tensor(xs, [n]);
    const a = tensor(
      Float32Array.from({ length: 700 * 700 }, (_, i) => Math.cos(i)),
      [700, 700],
    );
    await synchronize();
    const busy = [ops.matmul(a, a), ops.matmul(a, a), ops.matmul(a, a)];
    const out = scope(() => {
      let h = x;
      for (let i = 0; i < 24; i++) h = i % 2 === 0 ? ops.scale(h, 0.5) : ops.add(h, x);
      return h;
    });
    const got = (await out.data()) as Float32Array;
    // The same sums in f32, one rounding per op: a buffer handed out while still being read would show here.
    const want = Float32Array.from(xs);
    for (let i = 0; i < 24; i++)
      for (let j = 0; j < n; j++) want[j] = i % 2 === 0 ? want[j] * 0.5 : Math.fround(want[j] + xs[j]);
    expect(got).toEqual(want);
    expect(memoryInfo().cpuCachedBytes).toBeLessThanOrEqual(2 * n * 4);
    for (const t of [x, a, out, ...busy]) t.dispose();
    releaseCachedMemory();
  });

  it('SEED_CPU_CACHE_MB=0 turns it off', () => {
    const script = `import('@seed/cuda-kernels').then(async (m) => {
      const t = m.tensor(new Float32Array(300000), [300000]); await m.synchronize(); t.dispose(); await m.synchronize();
      process.stdout.write(String(m.memoryInfo().cpuCachedBytes)); })`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, SEED_CPU_CACHE_MB: '0' },
      encoding: 'utf8',
    });
    expect(out).toBe('0');
  });
});
