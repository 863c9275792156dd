import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/bin.ts'],
  format: ['esm'],
  target: 'node20',
  sourcemap: true,
  clean: true,
  // The runtime stays an external import: it locates its native addon relative to its own files.
  external: ['@seed/cuda-kernels'],
  banner: { js: '#!/usr/bin/env node' },
});
