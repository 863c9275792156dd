/**
 * Finds and loads the seed_kernels native addon, once per process, and remembers why it chose that one.
 *
 * Candidates, in order; the first that passes its check is used and `addonSelection()` reports every one:
 *   1. `@seed/cuda-kernels-<platform>-<arch>-cuda`: prebuilt with the CUDA kernels (sm_80, sm_90, cudart static).
 *      Used only when it loads and sees a usable CUDA device. Not tried when SEED_CUDA=off.
 *   2. `@seed/cuda-kernels-<platform>-<arch>`: prebuilt, CPU kernels only (they still pick AVX2 / AVX-512 at run time).
 *   3. The local build, `build/Release/seed_kernels.node` in this package: built from source by
 *      `scripts/build-from-source.mjs`, or by `pnpm build` in a development checkout.
 * The local build moves to the front when it was asked for: SEED_BUILD_FROM_SOURCE=1 in the environment (then it is
 * built on first use if missing, and the prebuilts are not tried), a local build made with SEED_BUILD_FROM_SOURCE=1,
 * or a development checkout (this package not inside node_modules), whose sources are newer than any prebuilt.
 * SEED_KERNELS_ADDON=<path to a .node file> replaces the list with that one file.
 *
 * A candidate that is not the last one left is first loaded in a child process: a binary that cannot load here
 * (older glibc, a crash) is skipped with its reason instead of taking this process down, and a CUDA build on a
 * machine without a GPU never starts its runtime in this process. The last one is loaded here directly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OP_NAMES } from '../ops.js';
import type { Addon, AddonInfo } from './addon-types.js';

/** Where a candidate binary comes from. */
export type AddonSource = 'cuda-prebuilt' | 'cpu-prebuilt' | 'local-build' | 'env-path';

export interface AddonCandidate {
  source: AddonSource;
  /** A package name and version, or a short description. */
  label: string;
  /** The .node file, when one was found. */
  path: string | null;
  /** 'used': loaded and in use; 'skipped': tried or ruled out (see reason); 'not-tried': an earlier one was used. */
  status: 'used' | 'skipped' | 'not-tried';
  /** Why it was used or skipped, in words. */
  reason: string;
}

export interface AddonSelection {
  /** The candidate in use, or null when none could be loaded. */
  used: AddonCandidate | null;
  /** Every candidate in the order they were considered. */
  candidates: AddonCandidate[];
}

/** What a prebuilt package's build-info.json states (written by tools/prebuild.mjs). */
interface BuildInfo {
  version: string;
  /** The newest GLIBC_x.y symbol version the binary needs. */
  glibc: string;
}

const PACKAGE_NAME = '@seed/cuda-kernels';
const BINARY = 'seed_kernels.node';

let cached: Addon | undefined;
let selection: AddonSelection | undefined;

/** Loads the addon (first call) and returns it; throws an Error listing every candidate and what to run. */
/** The SIMD paths of the CPU kernels, slowest first (SEED_CPU_PATH caps the one used). */
export const CPU_PATHS = ['scalar', 'avx2', 'avx512', 'amx'] as const;
export type CpuPath = (typeof CPU_PATHS)[number];

/** How the CPU conv2d computes 3×3 convolutions (SEED_CPU_CONV picks one at start-up; default auto). */
export const CONV_ALGORITHMS = ['auto', 'direct', 'winograd'] as const;
export type ConvAlgorithm = (typeof CONV_ALGORITHMS)[number];

export function loadAddon(): Addon {
  if (cached) return cached;
  // The addon reads SEED_CPU_PATH itself (and ignores a value it does not know): refuse a typo here, loudly.
  const path = process.env.SEED_CPU_PATH;
  if (path && !CPU_PATHS.includes(path as CpuPath))
    throw new Error(`SEED_CPU_PATH=${path}: expected one of ${CPU_PATHS.join(', ')} (or unset for the best path)`);
  const conv = process.env.SEED_CPU_CONV;
  if (conv && !CONV_ALGORITHMS.includes(conv as ConvAlgorithm))
    throw new Error(`SEED_CPU_CONV=${conv}: expected one of ${CONV_ALGORITHMS.join(', ')} (or unset for auto)`);
  const root = packageRoot();
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const planned = plan(root, version);
  for (const [i, p] of planned.entries()) {
    const c = p.candidate;
    if (c.status === 'skipped') continue;
    if (cached) {
      c.reason = 'an earlier candidate is in use';
      continue;
    }
    const buildError = p.build?.();
    if (buildError) {
      skip(p, buildError);
      continue;
    }
    if (!c.path || !existsSync(c.path)) {
      skip(p, 'not built');
      continue;
    }
    const lastLeft = planned.slice(i + 1).every((n) => n.candidate.status === 'skipped');
    const result = lastLeft ? loadHere(c.path) : probeInChild(c.path);
    if ('error' in result) {
      skip(p, result.error);
      continue;
    }
    const problem = check(result, version, p.needsCuda);
    if (problem) {
      skip(p, problem);
      continue;
    }
    // A candidate that passed in the child is loaded here for real; the last one left already is.
    cached = 'addon' in result ? (result as Loaded).addon : (createRequire(import.meta.url)(c.path) as Addon);
    c.status = 'used';
    c.reason = p.whyUsed(result.info);
  }
  const candidates = planned.map((p) => p.candidate);
  selection = { used: candidates.find((c) => c.status === 'used') ?? null, candidates };
  if (cached) return cached;
  throw new Error(noAddonMessage(root, candidates));
}

/** Which addon binary is in use and why the others were skipped (loads the addon if it is not loaded yet). */
export function addonSelection(): AddonSelection {
  if (!selection) {
    try {
      loadAddon();
    } catch {
      // The selection still says what was tried; loadAddon() gives the full error to callers that need it.
    }
  }
  return selection!;
}

interface Planned {
  candidate: AddonCandidate;
  /** When it loads: does it have to see a CUDA device to be used? */
  needsCuda: boolean;
  /** Builds the local binary first (SEED_BUILD_FROM_SOURCE=1 with no local build yet); returns an error or null. */
  build?: () => string | null;
  whyUsed(info: AddonInfo): string;
}

function candidate(source: AddonSource, label: string, path: string | null): AddonCandidate {
  return { source, label, path, status: 'not-tried', reason: '' };
}

function skip(p: Planned, reason: string): void {
  if (p.candidate.status === 'skipped') return;
  p.candidate.status = 'skipped';
  p.candidate.reason = reason;
}

/** The candidates in the order they are tried, some already ruled out with their reason. */
function plan(root: string, version: string): Planned[] {
  const env = process.env;
  if (env.SEED_KERNELS_ADDON) {
    const path = resolve(env.SEED_KERNELS_ADDON);
    const c = candidate('env-path', 'SEED_KERNELS_ADDON', path);
    return [{ candidate: c, needsCuda: false, whyUsed: () => 'SEED_KERNELS_ADDON names it' }];
  }
  const fromSource = env.SEED_BUILD_FROM_SOURCE === '1';
  const platform = `${process.platform}-${process.arch}`;
  const local = localBuild(root, fromSource);
  const prebuilts: Planned[] = [
    prebuilt(`${PACKAGE_NAME}-${platform}-cuda`, 'cuda-prebuilt', version, root, true),
    prebuilt(`${PACKAGE_NAME}-${platform}`, 'cpu-prebuilt', version, root, false),
  ];
  if (env.SEED_CUDA === 'off') skip(prebuilts[0], 'SEED_CUDA=off');
  if (fromSource) {
    for (const p of prebuilts) skip(p, 'SEED_BUILD_FROM_SOURCE=1 asks for a build from source');
    return [local, ...prebuilts];
  }
  const devCheckout = !root.split(sep).includes('node_modules');
  if (devCheckout || local.requested) return [local, ...prebuilts];
  return [...prebuilts, local];
}

function prebuilt(name: string, source: AddonSource, version: string, root: string, cuda: boolean): Planned {
  const planned: Planned = {
    candidate: candidate(source, name, null),
    needsCuda: cuda,
    whyUsed: (info) =>
      cuda ? `CUDA device ${info.cudaDevices.map((d) => d.name).join(', ')} is usable` : 'loads on this machine',
  };
  let dir: string;
  try {
    // Resolved from this package, the way npm and pnpm link its optionalDependencies.
    dir = dirname(createRequire(join(root, 'package.json')).resolve(`${name}/package.json`));
  } catch {
    skip(planned, 'not installed (published for linux-x64 with glibc only; also left out by --omit=optional)');
    return planned;
  }
  let info: BuildInfo;
  try {
    info = JSON.parse(readFileSync(join(dir, 'build-info.json'), 'utf8')) as BuildInfo;
  } catch {
    skip(planned, `no binary in ${dir}; in the repository, \`pnpm prebuild\` makes it`);
    return planned;
  }
  planned.candidate.label = `${name}@${info.version}`;
  planned.candidate.path = join(dir, BINARY);
  if (info.version !== version) {
    skip(planned, `built for ${PACKAGE_NAME}@${info.version}, this is ${version}`);
    return planned;
  }
  const glibc = glibcVersion();
  if (glibc === null) skip(planned, `needs glibc ≥ ${info.glibc}; this system's C library is not glibc`);
  else if (compareVersions(glibc, info.glibc) < 0)
    skip(planned, `needs glibc ≥ ${info.glibc}; this system has ${glibc}`);
  return planned;
}

function localBuild(root: string, fromSource: boolean): Planned & { requested: boolean } {
  const path = join(root, 'build', 'Release', BINARY);
  const requested = readLocalMarker(root)?.requested === true;
  const build =
    fromSource && !existsSync(path)
      ? () => {
          // Asked for explicitly, so the wait (tens of seconds) is expected; the build prints its progress on stderr.
          const script = join(root, 'scripts', 'build-from-source.mjs');
          const r = spawnSync(process.execPath, [script], { stdio: ['ignore', 2, 2] });
          return r.status === 0 ? null : 'the build from source failed (its output is above)';
        }
      : undefined;
  return {
    candidate: candidate('local-build', 'local build', path),
    needsCuda: false,
    build,
    requested,
    whyUsed: () =>
      fromSource ? 'SEED_BUILD_FROM_SOURCE=1' : requested ? 'built from source on request' : 'built from these sources',
  };
}

/** build/local-build.json, written by scripts/build-from-source.mjs. */
function readLocalMarker(root: string): { requested: boolean } | null {
  try {
    return JSON.parse(readFileSync(join(root, 'build', 'local-build.json'), 'utf8')) as { requested: boolean };
  } catch {
    return null;
  }
}

/** What a binary says about itself once loaded. */
interface Probed {
  info: AddonInfo;
  opNames: string[];
}
interface Loaded extends Probed {
  addon: Addon;
}

function loadHere(path: string): Loaded | { error: string } {
  try {
    const addon = createRequire(import.meta.url)(path) as Addon;
    return { addon, info: addon.info(), opNames: addon.opNames() };
  } catch (e) {
    return { error: `does not load: ${firstLine(e)}` };
  }
}

// Runs in the child: load the binary, print what it says about itself, exit at once (its threads may still run).
const PROBE = `const a = require(process.argv[1]);
require('node:fs').writeSync(1, JSON.stringify({ info: a.info(), opNames: a.opNames() }));
process.exit(0);`;

function probeInChild(path: string): Probed | { error: string } {
  const r = spawnSync(process.execPath, ['-e', PROBE, path], {
    encoding: 'utf8',
    timeout: 60_000,
    // Under Electron, execPath is the app: this makes it behave as plain Node.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  if (r.error) return { error: `could not be checked: ${r.error.message}` };
  if (r.signal) return { error: `crashed while loading (${r.signal})` };
  if (r.status !== 0) {
    const msg = r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr.trim().split('\n')[0];
    return { error: `does not load: ${msg}` };
  }
  return JSON.parse(r.stdout) as Probed;
}

/** Why a loaded binary cannot be used by this version of the package, or null when it can. */
function check(p: Probed, version: string, needsCuda: boolean): string | null {
  if (p.info.version !== version) return `it is version ${p.info.version}, this package is ${version}`;
  const missing = OP_NAMES.filter((n) => !p.opNames.includes(n));
  if (missing.length > 0) return `built from other sources: it lacks ops ${missing.join(', ')}`;
  if (needsCuda && p.info.cudaDevices.length === 0) {
    return `loads, but no CUDA device is usable: ${p.info.cudaUnavailableReason ?? 'none found'}`;
  }
  return null;
}

function noAddonMessage(root: string, report: AddonCandidate[]): string {
  const lines = report.map((c) => `  - ${c.label}${c.path ? ` (${c.path})` : ''}: ${c.reason}`);
  return [
    'the seed_kernels native addon could not be loaded. Tried:',
    ...lines,
    'To build it from source (needs cmake ≥ 3.20 and a C++17 compiler; the CUDA kernels too when nvcc is on the',
    'PATH, or set SEED_CUDA=off), run this in your project:',
    `  node ${JSON.stringify(join(root, 'scripts', 'build-from-source.mjs'))}`,
    'or set SEED_BUILD_FROM_SOURCE=1 to build it on first use.',
  ].join('\n');
}

/** The directory holding this package's package.json: src/native/ in tests, dist/ once built. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME) {
      return dir;
    }
    dir = dirname(dir);
  }
  throw new Error(`${PACKAGE_NAME}: cannot find its own package.json above ${fileURLToPath(import.meta.url)}`);
}

/** The running glibc's version ("2.36"), or null on another C library (musl) or another OS. */
function glibcVersion(): string | null {
  const reporter = process.report as (NodeJS.ProcessReport & { excludeNetwork: boolean }) | undefined;
  if (process.platform !== 'linux' || !reporter) return null;
  // The report would otherwise look up every network interface, which can take seconds on some hosts.
  const excluded = reporter.excludeNetwork;
  reporter.excludeNetwork = true;
  try {
    const report = reporter.getReport() as { header?: { glibcVersionRuntime?: string } };
    return report.header?.glibcVersionRuntime ?? null;
  } finally {
    reporter.excludeNetwork = excluded;
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
