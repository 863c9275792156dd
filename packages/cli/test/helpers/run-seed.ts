/** Running the built `seed` command in a test: synchronously, with stdin and environment as given. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

/**
 * Run `seed ARGS…`. The model-finding variables of the caller's environment are cleared (a developer's
 * SEED_MODEL_DIR or pulled cache must not leak into the tests) and `env` is applied on top.
 */
export function seed(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, SEED_HOME: '/nonexistent/seed-home', ...options.env };
  if (!options.env?.SEED_MODEL_DIR) delete env.SEED_MODEL_DIR;
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input: options.input, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
