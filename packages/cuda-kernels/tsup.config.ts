import { defineConfig } from 'tsup';

export default defineConfig({
  // Named entries: with a plain list esbuild keeps the common base (src/, bench/) and emits dist/src/index.js,
  // which is not where package.json's exports point.
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'bench/kernels.bench': 'bench/kernels.bench.ts',
  },
  format: ['esm'],
  dts: { entry: ['src/index.ts', 'src/testing/index.ts'] },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
