/** Memory stays flat over 10,000 op calls when results are disposed (native counters and process RSS). */
import { describe, expect, it } from 'vitest';
import { memoryInfo, ops, scope, synchronize, tensor } from '../src/index.js';

describe('memory', () => {
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
