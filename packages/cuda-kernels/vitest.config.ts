import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // Op outputs start as NaN bytes, not as whatever buffer they reuse: a kernel that leaves an element unwritten
    // fails its test (outputs are not zero-filled; see Backend::alloc).
    env: { SEED_FILL_OUTPUTS: 'nan' },
  },
});
