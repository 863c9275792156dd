import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The tests spawn the built CLI, which loads the native addon: allow for a cold start.
    testTimeout: 30_000,
    pool: 'forks',
    // Commands that find no model must not fall back to the repository's bundled one in these tests
    // (a test that wants it removes this).
    env: { SEED_BUNDLED_MODEL: 'none' },
  },
});
