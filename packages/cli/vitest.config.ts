import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The tests spawn the built CLI, which loads the native addon: allow for a cold start.
    testTimeout: 30_000,
    pool: 'forks',
  },
});
