#!/usr/bin/env node
// `pnpm playground [--model DIR] [--port N] [--device cpu|cuda:N]` from the repository root: after the
// production build (the root script runs it first), starts `next start` on http://127.0.0.1:3000 with the
// model set named by --model, SEED_MODEL_DIR, or the bundled models/seed-micro. SEED_API_URL uses a
// running `seed serve` instead.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    host: { type: 'string', default: '127.0.0.1' },
    device: { type: 'string' },
  },
  allowPositionals: false,
});

const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
// Relative paths are the user's, from where they ran the command (pnpm runs root scripts from the root).
const from = process.env.INIT_CWD ?? process.cwd();
if (values.model) env.SEED_MODEL_DIR = resolve(from, values.model);
else if (env.SEED_MODEL_DIR) env.SEED_MODEL_DIR = resolve(from, env.SEED_MODEL_DIR);
if (values.device) env.SEED_DEVICE = values.device;

const model = env.SEED_API_URL
  ? `seed serve at ${env.SEED_API_URL}`
  : (env.SEED_MODEL_DIR ?? 'models/seed-micro (bundled)');
console.log(`seed playground: http://${values.host}:${values.port}  (model: ${model})`);

const next = spawn(
  process.execPath,
  [join(app, 'node_modules/next/dist/bin/next'), 'start', '-H', values.host, '-p', values.port],
  { cwd: app, env, stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => next.kill(signal));
next.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
