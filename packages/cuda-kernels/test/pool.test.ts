// The CPU thread pool under a fault-injecting build: a worker pausing right after it reads the next chunk
// must never run a chunk of the following run (the pool once did: that run ran one chunk twice, another
// not at all, and returned while the late copy still wrote to its caller's freed buffers, which crashed
// a test worker in CI). test/native/pool-stress.cpp is compiled here with the pause turned on, and run with the
// pool's threads polling for the next run (the default) and sleeping at once.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'seed-pool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compiler(): string | null {
  for (const c of [process.env.CXX, 'g++', 'c++', 'clang++']) {
    if (!c) continue;
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch {}
  }
  return null;
}
const cxx = compiler();

describe.skipIf(cxx === null)(
  `the CPU thread pool${cxx === null ? ' (skipped: no C++ compiler on the PATH)' : ''}`,
  () => {
    it("runs every chunk exactly once when workers arrive late, across runs of different sizes, and rethrows a chunk's exception after the run", () => {
      const exe = join(dir, 'pool-stress');
      execFileSync(cxx as string, [
        '-O2',
        '-std=c++17',
        '-DSEED_POOL_CLAIM_DELAY_US=50',
        `-I${join(root, 'native')}`,
        join(root, 'test/native/pool-stress.cpp'),
        join(root, 'native/cpu/parallel.cpp'),
        '-o',
        exe,
        '-lpthread',
      ]);
      // The default (threads poll for up to 100 µs before sleeping), then sleeping at once.
      for (const spin of [undefined, '0']) {
        const env = { ...process.env, SEED_POOL_SPIN_US: spin };
        const out = execFileSync(exe, ['4000'], { encoding: 'utf8', timeout: 60_000, env }).trim();
        expect(out, `SEED_POOL_SPIN_US=${spin ?? '(default)'}`).toBe('runs 4000, wrong 0, thrown 800, caught 800');
      }
    });
  },
);
