#!/usr/bin/env node
// Builds the seed_kernels addon from this package's sources into build/Release/seed_kernels.node, the loader's
// "local build". Used when no prebuilt binary fits this machine, or when asked for (SEED_BUILD_FROM_SOURCE=1).
// Needs cmake ≥ 3.20 and a C++17 compiler on the PATH; compiles the CUDA kernels too when nvcc is found, unless
// SEED_CUDA=off. There is deliberately no install script calling this: npm (11.19+) and pnpm (10+) block
// dependency install scripts by default, so the prebuilt packages carry installs and a build is a command you run:
//   node node_modules/@seed/cuda-kernels/scripts/build-from-source.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));

const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0) {
  console.error(
    '@seed/cuda-kernels: building from source needs cmake ≥ 3.20 and a C++17 compiler on the PATH ' +
      '(Debian/Ubuntu: apt-get install cmake g++). cmake was not found.',
  );
  process.exit(1);
}

const cudaOff = process.env.SEED_CUDA === 'off';
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'compile', '--out', 'build', `--CDSEED_WITH_CUDA=${cudaOff ? 'OFF' : 'ON'}`];
console.error(`@seed/cuda-kernels: building the addon from source in ${root}${cudaOff ? ' (SEED_CUDA=off)' : ''}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 2, 2] });
if (r.status !== 0) {
  console.error('@seed/cuda-kernels: the build from source failed (see the compiler output above)');
  process.exit(1);
}
// Tells the loader this build was made on purpose; SEED_BUILD_FROM_SOURCE=1 also makes it preferred over prebuilts.
mkdirSync(join(root, 'build'), { recursive: true });
const marker = {
  requested: process.env.SEED_BUILD_FROM_SOURCE === '1',
  cuda: !cudaOff,
  builtAt: new Date().toISOString(),
};
writeFileSync(join(root, 'build', 'local-build.json'), `${JSON.stringify(marker, null, 2)}\n`);
console.error(`@seed/cuda-kernels: built ${join(root, 'build', 'Release', 'seed_kernels.node')}`);
