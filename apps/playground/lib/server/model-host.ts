/**
 * The one backend of this server process, chosen from the environment on first use: a running seed serve
 * when SEED_API_URL is set, otherwise the model set in SEED_MODEL_DIR (default: the bundled
 * models/seed-micro at the repository root) loaded in-process. Kept on globalThis because Next.js bundles
 * each route separately: a module-level variable would load the model once per route.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Backend } from './backend';
import { LocalBackend } from './local-backend';
import { RemoteBackend } from './remote-backend';
import { TestGridDecoder } from './test-decoder';

const KEY = Symbol.for('seed.playground.backend');
type Holder = { [KEY]?: Backend };

export function backend(): Backend {
  const g = globalThis as Holder;
  g[KEY] ??= create();
  return g[KEY];
}

function create(): Backend {
  const api = process.env.SEED_API_URL;
  if (api) return new RemoteBackend(api, process.env.SEED_API_KEY);
  // The directory is only known at run time: the build must not try to trace (and bundle) what it names.
  const dir = resolve(
    /*turbopackIgnore: true*/ process.env.SEED_MODEL_DIR ?? join(repositoryRoot(), 'models', 'seed-micro'),
  );
  // TEST ONLY: the browser tests draw with a stand-in decoder (see test-decoder.ts).
  const decoder = process.env.SEED_PLAYGROUND_TEST_DECODER === 'grid' ? new TestGridDecoder() : undefined;
  return new LocalBackend({ dir, device: process.env.SEED_DEVICE ?? 'cpu', decoder });
}

/** The directory holding pnpm-workspace.yaml above the server's working directory. */
function repositoryRoot(): string {
  for (let d = process.cwd(); ; d = dirname(d)) {
    if (existsSync(join(d, 'pnpm-workspace.yaml'))) return d;
    if (dirname(d) === d) return process.cwd();
  }
}
