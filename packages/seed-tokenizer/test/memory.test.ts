// Encoding and decoding many times leaks nothing: native tensor counts and bytes return to where they were,
// and disposing the tokenizer frees every weight.
import { join } from 'node:path';
import { memoryInfo, synchronize } from '@seed/cuda-kernels';
import { describe, expect, it } from 'vitest';
import { SeedTokenizer } from '../src/index.js';
import { golden, IMAGE_DIR, TINY_DIR } from './helpers/golden.js';

describe('memory', () => {
  it('is flat over repeated encodes and decodes, and dispose() frees the weights', async () => {
    const g = golden();
    const empty = memoryInfo();
    const tok = await SeedTokenizer.load(TINY_DIR);
    const files = g.images.slice(0, 2).map((i) => join(IMAGE_DIR, i.file));
    await tok.encode(files);
    await tok.decode([g.random_codes]);
    await synchronize();
    const before = memoryInfo();
    for (let k = 0; k < 10; k++) {
      expect(await tok.encode(files, { batchSize: 2 })).toEqual(g.images.slice(0, 2).map((i) => i.codes));
      await tok.decode([g.random_codes, g.images[0].codes]);
    }
    await synchronize();
    const after = memoryInfo();
    expect(after.cpuTensors).toBe(before.cpuTensors);
    expect(after.cpuBytes).toBe(before.cpuBytes);
    tok.dispose();
    await synchronize();
    expect(memoryInfo().cpuTensors).toBe(empty.cpuTensors);
  });
});
