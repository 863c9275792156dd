/**
 * Loads the native addon once. Looks for the cmake-js build next to this package
 * (build/Release/seed_kernels.node), or at $SEED_KERNELS_ADDON, and fails with an error that says how to
 * build it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Addon } from './addon-types.js';

let cached: Addon | undefined;

function candidates(): string[] {
  const out: string[] = [];
  if (process.env.SEED_KERNELS_ADDON) out.push(resolve(process.env.SEED_KERNELS_ADDON));
  // src/native/ (tests), dist/ (built): walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    out.push(join(dir, 'build', 'Release', 'seed_kernels.node'));
    dir = dirname(dir);
  }
  return out;
}

export function loadAddon(): Addon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried = candidates();
  for (const path of tried) {
    if (!existsSync(path)) continue;
    cached = require(path) as Addon;
    return cached;
  }
  throw new Error(
    `the seed_kernels native addon is not built (looked in: ${tried.join(', ')}). ` +
      'Build it with `pnpm --filter @seed/cuda-kernels build:native` (needs cmake and a C++17 compiler; CUDA is optional).',
  );
}
