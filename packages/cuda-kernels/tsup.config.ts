import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/testing/index.ts', 'bench/kernels.bench.ts'],
  format: ['esm'],
  dts: { entry: ['src/index.ts', 'src/testing/index.ts'] },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
