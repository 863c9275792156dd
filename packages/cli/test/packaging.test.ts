/**
 * Packaging test: the packages as a user gets them from a registry, not as the workspace links them.
 *
 * Builds the prebuilt addon packages (`pnpm prebuild`, cached by a hash of the sources), starts a local verdaccio on
 * 127.0.0.1 with its storage in a temporary folder, publishes every @seed package (`pnpm pack` turns workspace:*
 * into versions, as `pnpm publish` does), then in fresh apps whose PATH holds only node, npm, npx, pnpm and sh — no
 * cmake, no compiler — installs by name from that registry and runs what a user would: `npx seed info`, the first
 * example of each package's README (read from the installed package), a TypeScript consumer type-checked with
 * `moduleResolution` nodenext and bundler, and a CommonJS `require`. Each install's time is printed.
 * Everything that is not @seed/* (sharp, commander, typescript…) comes from the real registry through verdaccio.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs helper without type declarations.
import { startRegistry } from '../../../tools/packaging-test/registry.mjs';
import { writeTinySeedLlama } from '../../seed-llama/test/helpers/tiny-seed-llama.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const PUBLISHED = [
  'cuda-kernels-prebuilt-linux-x64',
  'cuda-kernels-prebuilt-linux-x64-cuda',
  'cuda-kernels',
  'llama-core',
  'seed-tokenizer',
  'diffusion-decoder',
  'seed-llama',
  'cli',
];
const LIBRARIES = ['cuda-kernels', 'llama-core', 'seed-tokenizer', 'diffusion-decoder', 'seed-llama'];
// The real registry verdaccio proxies; under pnpm this is the user's configured registry.
const UPLINK = process.env.npm_config_registry || 'https://registry.npmjs.org/';

let work: string;
let registry: { url: string; stop(): Promise<void>; log(): string };
let env: NodeJS.ProcessEnv;
const timings: string[] = [];

/** Runs a command; fails the test with its output when it exits non-zero. */
function sh(cmd: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

function timed(label: string, cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const started = performance.now();
  const r = sh(cmd, args, cwd);
  const line = `${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`;
  timings.push(line);
  console.log(`[packaging] ${line}`);
  return r;
}

/** A bin folder with only the tools a user without a build toolchain has (npx runs bins through sh). */
function toolsOnlyPath(dir: string): string {
  mkdirSync(dir);
  for (const tool of ['node', 'npm', 'npx', 'pnpm', 'sh']) {
    const found = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (!found) throw new Error(`${tool} is not on the PATH`);
    symlinkSync(found, join(dir, tool));
  }
  return dir;
}

function freshApp(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`);
  writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}\n`);
  return dir;
}

/** The first ```ts block of the Install section of a package's README, as installed from the registry. */
function firstExample(app: string, pkg: string): string {
  const readme = readFileSync(join(app, 'node_modules', '@seed', pkg, 'README.md'), 'utf8');
  const install = readme.indexOf('\n## Install');
  expect(install, `${pkg}'s README has an Install section`).toBeGreaterThan(-1);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(install));
  expect(m, `${pkg}'s Install section has a ts example`).not.toBeNull();
  return m![1];
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'seed-packaging-'));
  const started = performance.now();
  // Prebuilt binaries from this tree (cached across runs by a hash of the native sources and toolchain).
  const pre = spawnSync(process.execPath, [join(repo, 'tools/prebuild.mjs')], { encoding: 'utf8' });
  if (pre.status !== 0) throw new Error(`pnpm prebuild failed:\n${pre.stdout}\n${pre.stderr}`);
  console.log(`[packaging] prebuild: ${((performance.now() - started) / 1000).toFixed(1)} s`);

  registry = await startRegistry(join(work, 'registry'), UPLINK);
  const bin = toolsOnlyPath(join(work, 'bin'));
  // A user's environment: nothing from the workspace's pnpm run leaks in (npm_config_*, node_modules/.bin).
  env = {
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    LANG: 'C.UTF-8',
    PATH: bin,
    CI: 'true',
    npm_config_update_notifier: 'false',
  };
  // Publishing needs a token in the npm config; verdaccio lets anyone publish @seed/* here.
  const npmrc = join(work, 'publish.npmrc');
  writeFileSync(npmrc, `registry=${registry.url}\n//${new URL(registry.url).host}/:_authToken=packaging-test\n`);
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  for (const pkg of PUBLISHED) {
    const dir = join(repo, 'packages', pkg);
    const packed = spawnSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir, encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`pnpm pack in ${pkg} failed:\n${packed.stdout}\n${packed.stderr}`);
  }
  for (const tgz of readdirSync(tarballs)) {
    sh('npm', ['publish', join(tarballs, tgz), '--userconfig', npmrc], work);
  }
  console.log(`[packaging] published ${readdirSync(tarballs).length} packages to ${registry.url}`);
}, 600_000);

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  if (timings.length) console.log(`[packaging] install times:\n  ${timings.join('\n  ')}`);
});

describe('installed from a registry, with no compiler on the PATH', () => {
  it('has no cmake and no C/C++ compiler on the PATH it installs with', () => {
    for (const tool of ['cmake', 'cc', 'c++', 'gcc', 'g++', 'clang', 'nvcc', 'make', 'ninja']) {
      const r = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env, encoding: 'utf8' });
      expect(r.stdout.trim(), tool).toBe('');
    }
  });

  let npmApp: string;
  it('npm install @seed/cli: prebuilt addon, no install scripts, `npx seed info` says which binary and why', () => {
    npmApp = freshApp('npm-app');
    const r = timed('npm install @seed/cli', 'npm', ['install', '@seed/cli'], npmApp);
    // npm 11 warns about (and skips) dependency install scripts; seed has none to warn about.
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/install-scripts|install scripts/);
    const installed = readdirSync(join(npmApp, 'node_modules', '@seed')).sort();
    expect(installed).toEqual(
      expect.arrayContaining(['cli', 'cuda-kernels', 'cuda-kernels-linux-x64', 'cuda-kernels-linux-x64-cuda']),
    );
    // Nothing was compiled: no local build in the installed package.
    expect(readdirSync(join(npmApp, 'node_modules', '@seed', 'cuda-kernels'))).not.toContain('build');

    const text = sh('npx', ['seed', 'info'], npmApp).stdout;
    console.log(`[packaging] npx seed info:\n${text}`);
    expect(text).toMatch(/^binary\s+@seed\/cuda-kernels-linux-x64(-cuda)?@0\.1\.0/m);
    const info = JSON.parse(sh('npx', ['seed', 'info', '--json'], npmApp).stdout);
    const { binary, others } = info.addon;
    expect(['cuda-prebuilt', 'cpu-prebuilt']).toContain(binary.source);
    if (binary.source === 'cpu-prebuilt') {
      // On a machine without a usable GPU the CUDA build loads but is passed over, with the driver's reason.
      const cuda = others.find((c: { source: string }) => c.source === 'cuda-prebuilt');
      expect(cuda.status).toBe('skipped');
      expect(cuda.reason).toMatch(/no CUDA device is usable/);
    }
    expect(others.find((c: { source: string }) => c.source === 'local-build').status).toBe('not-tried');

    // SEED_CUDA=off: the CUDA build is not even tried.
    const off = JSON.parse(sh('npx', ['seed', 'info', '--json'], npmApp, { SEED_CUDA: 'off' }).stdout);
    expect(off.addon.binary.source).toBe('cpu-prebuilt');
    expect(off.addon.others.find((c: { source: string }) => c.source === 'cuda-prebuilt').reason).toBe('SEED_CUDA=off');
  });

  it("runs each package's README first example, a TypeScript consumer (nodenext, bundler) and CommonJS require", async () => {
    const libs = LIBRARIES.map((p) => `@seed/${p}`);
    timed(
      'npm install (the five libraries, typescript, @types/node)',
      'npm',
      ['install', ...libs, 'typescript@5.9.3', '@types/node@20.19.43'],
      npmApp,
    );

    // The README examples read models/seed-llama (llm/, tokenizer/, decoder/) and cat.png: tiny ones here.
    const tiny = await writeTinySeedLlama();
    const models = join(npmApp, 'models', 'seed-llama');
    cpSync(tiny.dir, models, { recursive: true });
    rmSync(tiny.dir, { recursive: true, force: true });
    cpSync(join(repo, 'packages/diffusion-decoder/test/fixtures/tiny-unclip'), join(models, 'decoder'), {
      recursive: true,
    });
    cpSync(join(repo, 'packages/seed-tokenizer/test/fixtures/preprocess/shrink-320x240.png'), join(npmApp, 'cat.png'));

    for (const pkg of LIBRARIES) {
      const file = `example-${pkg}.mjs`;
      writeFileSync(join(npmApp, file), firstExample(npmApp, pkg));
      const r = sh('node', [file], npmApp);
      console.log(`[packaging] ${pkg} README example: ${r.stdout.trim().slice(0, 160)}`);
    }
    expect(sh('node', ['example-cuda-kernels.mjs'], npmApp).stdout).toMatch(/4, 5, 10, 11/);
    expect(readFileSync(join(npmApp, 'out.png')).subarray(1, 4).toString()).toBe('PNG');

    // A TypeScript consumer of every library and of @seed/cuda-kernels/testing, checked under both resolutions.
    writeFileSync(
      join(npmApp, 'consumer.ts'),
      [
        "import { ops, runtimeInfo, tensor, addonSelection, type AddonSelection } from '@seed/cuda-kernels';",
        "import { Rng } from '@seed/cuda-kernels/testing';",
        "import { loadLlama } from '@seed/llama-core';",
        "import { SeedTokenizer } from '@seed/seed-tokenizer';",
        "import { DiffusionDecoder } from '@seed/diffusion-decoder';",
        "import { SeedLlama } from '@seed/seed-llama';",
        'const selection: AddonSelection = addonSelection();',
        'const simd: string = runtimeInfo().simd;',
        'const t = ops.add(tensor([1], [1]), tensor([2], [1]));',
        'export const used = [selection, simd, t, Rng, loadLlama, SeedTokenizer.load, DiffusionDecoder.load, SeedLlama.load];',
        '',
      ].join('\n'),
    );
    for (const resolution of ['nodenext', 'bundler']) {
      const compilerOptions = {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: resolution === 'nodenext' ? 'nodenext' : 'esnext',
        moduleResolution: resolution,
        types: ['node'],
        skipLibCheck: false,
      };
      writeFileSync(
        join(npmApp, `tsconfig.${resolution}.json`),
        JSON.stringify({ compilerOptions, files: ['consumer.ts'] }),
      );
      sh('node', ['node_modules/typescript/bin/tsc', '-p', `tsconfig.${resolution}.json`], npmApp);
    }

    // CommonJS: require() of every library (one module instance: Node ≥ 20.19 loads the ES modules).
    writeFileSync(
      join(npmApp, 'require.cjs'),
      [
        "const kernels = require('@seed/cuda-kernels');",
        "for (const p of ['llama-core', 'seed-tokenizer', 'diffusion-decoder', 'seed-llama', 'cuda-kernels/testing'])",
        "  if (Object.keys(require(['@seed', p].join('/'))).length === 0) throw new Error(p + ': nothing exported');",
        'console.log(kernels.addonSelection().used.label, kernels.runtimeInfo().simd);',
        '',
      ].join('\n'),
    );
    expect(sh('node', ['require.cjs'], npmApp).stdout).toMatch(/^@seed\/cuda-kernels-linux-x64/);
  }, 300_000);

  it('pnpm add @seed/seed-tokenizer: installs without approving any build, and its README example runs', () => {
    const app = freshApp('pnpm-app');
    timed('pnpm add @seed/seed-tokenizer', 'pnpm', ['add', '@seed/seed-tokenizer'], app);
    cpSync(join(npmApp, 'models'), join(app, 'models'), { recursive: true });
    cpSync(join(npmApp, 'cat.png'), join(app, 'cat.png'));
    writeFileSync(join(app, 'example.mjs'), firstExample(app, 'seed-tokenizer'));
    const r = sh('node', ['example.mjs'], app);
    expect(r.stdout.trim().split(' ').length).toBeGreaterThan(1);
  }, 300_000);
});
