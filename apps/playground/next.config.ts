import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const here = dirname(fileURLToPath(import.meta.url));

const config: NextConfig = {
  // The model runs in the server process through a native addon: these packages are required at run time from
  // node_modules, never bundled (a bundler cannot follow a .node binary).
  serverExternalPackages: ['@seed/seed-llama', '@seed/cuda-kernels', 'sharp'],
  // The workspace root, so that Turbopack resolves the linked workspace packages.
  turbopack: { root: `${here}/../..` },
  poweredByHeader: false,
};

export default config;
