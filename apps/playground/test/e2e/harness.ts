/**
 * The browser tests' world: a tiny SEED-LLaMA model set (random weights, real formats) written to a temporary
 * directory, the playground's production build serving it (`next start`) with the test-only stand-in decoder,
 * and Debian's chromium driven by playwright-core. Nothing is downloaded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { writeTinySeedLlama } from '../../../../packages/seed-llama/test/helpers/tiny-seed-llama';

export const APP = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const ROOT = join(APP, '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Real PNG files (the image tokenizer's preprocessing fixtures). */
export const IMAGES = join(ROOT, 'packages/seed-tokenizer/test/fixtures/preprocess');
/** The bundled model set (real weights and decoder), when it is in the checkout. */
export const MICRO = join(ROOT, 'models/seed-micro');
/** Rendered scenes of seed-micro's world: seed-N.png is `world.render(world.scene(N))`. */
export const SCENES = join(ROOT, 'packages/seed-llama/test/fixtures/world');

/** Why the browser tests cannot run here, or undefined when they can. */
export function missingPrerequisite(): string | undefined {
  if (!existsSync(CHROMIUM))
    return `no chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it) — browser tests skipped`;
  if (!existsSync(join(APP, '.next/BUILD_ID')))
    return 'no production build (run `pnpm build` first) — browser tests skipped';
  return undefined;
}

export interface Playground {
  url: string;
  modelDir: string;
  /** Server output so far (shown when a test fails). */
  log: () => string;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start `next start` on the tiny model with the stand-in decoder, or on `o.modelDir` with its own decoder;
 * resolves once the model is loaded.
 */
export async function startPlayground(
  env: Record<string, string> = {},
  o: { modelDir?: string } = {},
): Promise<Playground> {
  const model = o.modelDir ? { dir: o.modelDir } : await writeTinySeedLlama({ seed: 3 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [join(APP, 'node_modules/next/dist/bin/next'), 'start', '-H', '127.0.0.1', '-p', String(port)],
    {
      cwd: APP,
      env: {
        ...process.env,
        NEXT_TELEMETRY_DISABLED: '1',
        SEED_MODEL_DIR: model.dir,
        // TEST ONLY: the stand-in decoder (lib/server/test-decoder.ts), unless a real model set is named.
        ...(o.modelDir ? {} : { SEED_PLAYGROUND_TEST_DECODER: 'grid' }),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited (${child.exitCode}):\n${output}`);
    try {
      const info = (await (await fetch(`${url}/api/model`)).json()) as { state: string; error?: string };
      if (info.state === 'ready') break;
      if (info.state === 'error') throw new Error(`the model did not load: ${info.error}`);
    } catch (e) {
      if ((e as Error).message.startsWith('the model did not load')) {
        await stop();
        throw e;
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the playground did not become ready within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, modelDir: model.dir, log: () => output, stop };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Save what the page showed, for a failed test. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(APP, 'test-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name.replace(/[^a-z0-9-]+/gi, '-').toLowerCase()}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  return file;
}
