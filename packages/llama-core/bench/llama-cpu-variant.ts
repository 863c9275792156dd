/**
 * Which CPU build of llama.cpp the bench's node-llama-cpp runs.
 *
 * node-llama-cpp's prebuilt linux-x64 package ships one ggml CPU backend per x86 level (libggml-cpu-<variant>.so)
 * and ggml dlopens every one of them and keeps the best this CPU can run (ggml_backend_load_best, from the folder of
 * llama-addon.node); nothing (option, environment variable) caps that choice. To compare seed's AVX2 kernels with
 * llama.cpp's AVX2 build on an AVX-512 machine, importNodeLlamaCpp loads node-llama-cpp from a temporary copy of
 * its pnpm layout whose bins folder holds only the variants up to the requested one.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type NodeLlamaCpp = typeof import('node-llama-cpp');

const HASWELL = ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2'];
const AVX512 = [...HASWELL, 'AVX512'];
/**
 * ggml's x86 CPU variants and the features each is compiled for (ggml_add_cpu_backend_variant in
 * ggml/src/CMakeLists.txt of the llama.cpp that node-llama-cpp 3.21.1 bundles). A variant can stand in for
 * another when its features are a subset of the other's: haswell keeps x64 … piledriver (FMA3, not AMD's FMA4),
 * and drops alderlake (AVX-VNNI) and every AVX-512 one.
 */
const VARIANT_FEATURES: Record<string, string[]> = {
  x64: [],
  sse42: ['SSE42'],
  sandybridge: ['SSE42', 'AVX'],
  ivybridge: ['SSE42', 'AVX', 'F16C'],
  piledriver: ['SSE42', 'AVX', 'F16C', 'FMA'],
  haswell: HASWELL,
  alderlake: [...HASWELL, 'AVX_VNNI'],
  skylakex: AVX512,
  cannonlake: [...AVX512, 'AVX512_VBMI'],
  cascadelake: [...AVX512, 'AVX512_VNNI'],
  icelake: [...AVX512, 'AVX512_VBMI', 'AVX512_VNNI'],
  cooperlake: [...AVX512, 'AVX512_VNNI', 'AVX512_BF16'],
  zen4: [...AVX512, 'AVX512_VBMI', 'AVX512_VNNI', 'AVX512_BF16'],
  sapphirerapids: [...AVX512, 'AVX512_VBMI', 'AVX512_VNNI', 'AVX512_BF16', 'AMX_TILE', 'AMX_INT8'],
};

/** What --llama-cpu accepts: 'best' (ggml's own pick) or a variant to cap it at. */
export const LLAMA_CPU_CHOICES = ['best', ...Object.keys(VARIANT_FEATURES)];

/** seed's AVX2 path (SEED_CPU_PATH=avx2) is matched with llama.cpp's AVX2 build; anything else with its best. */
export const defaultLlamaCpu = (): string => (process.env.SEED_CPU_PATH === 'avx2' ? 'haswell' : 'best');

/** node-llama-cpp, as installed ('best'), or from a copy that can load no CPU variant above `variant`. */
export async function importNodeLlamaCpp(variant: string): Promise<NodeLlamaCpp> {
  if (!LLAMA_CPU_CHOICES.includes(variant))
    throw new Error(`--llama-cpu ${variant}: expected one of ${LLAMA_CPU_CHOICES.join(', ')}`);
  if (variant === 'best') return import('node-llama-cpp');
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`--llama-cpu ${variant}: only the linux-x64 build of node-llama-cpp has CPU variants`);
  const entry = join(copyPnpmLayout(variant), 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
  return import(pathToFileURL(entry).href);
}

/**
 * Copies node-llama-cpp's pnpm store entry and its @node-llama-cpp/linux-x64 one into <tmp>/.pnpm/, next to
 * symlinks to every other entry of the real store, so that the copy's relative dependency symlinks resolve as in the
 * real store, and its import('@node-llama-cpp/linux-x64') (getBinariesPathFromModules in
 * dist/bindings/utils/compileLLamaCpp.js) finds the copied bins folder, from which it loads llama-addon.node and
 * ggml its backends. Returns the copied node-llama-cpp store entry; the copy goes when the process exits.
 */
function copyPnpmLayout(variant: string): string {
  // .../node_modules/.pnpm/node-llama-cpp@3.21.1_typescript@5.9.3/node_modules/node-llama-cpp/dist/index.js
  const pkg = dirname(dirname(realpathSync(fileURLToPath(import.meta.resolve('node-llama-cpp')))));
  const nlcEntry = dirname(dirname(pkg));
  const store = dirname(nlcEntry);
  if (basename(store) !== '.pnpm') throw new Error(`--llama-cpu: node-llama-cpp at ${pkg} is not in a pnpm store`);
  const binsPkg = realpathSync(join(nlcEntry, 'node_modules', '@node-llama-cpp', 'linux-x64'));
  const binsEntry = join(store, relative(store, binsPkg).split(sep)[0]);

  const root = mkdtempSync(join(tmpdir(), `seed-llama-cpu-${variant}-`));
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  const copyStore = join(root, '.pnpm');
  mkdirSync(copyStore);
  for (const name of readdirSync(store)) {
    const from = join(store, name);
    if (from !== nlcEntry && from !== binsEntry) symlinkSync(from, join(copyStore, name));
  }
  // verbatimSymlinks keeps the store's relative links (../../chalk@5.6.2/…) relative, so they resolve in the copy.
  // llama.cpp's source bundle (34 MB) is only read to build it, which the bench never does: link it instead.
  const bundle = join(pkg, 'llama', 'gitRelease.bundle');
  for (const from of [nlcEntry, binsEntry])
    cpSync(from, join(copyStore, basename(from)), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (f) => f !== bundle,
    });
  const copyPkg = join(copyStore, relative(store, pkg));
  if (existsSync(bundle)) symlinkSync(bundle, join(copyPkg, 'llama', 'gitRelease.bundle'));

  removeVariantsAbove(join(copyStore, relative(store, binsPkg), 'bins'), variant);
  return join(copyStore, basename(nlcEntry));
}

/** Deletes, from every folder under bins, the CPU variants that need a feature `variant` lacks. */
function removeVariantsAbove(bins: string, variant: string): void {
  const allowed = new Set(VARIANT_FEATURES[variant]);
  let kept = 0;
  for (const dir of readdirSync(bins, { recursive: true, encoding: 'utf8' })) {
    const m = /(?:^|\/)libggml-cpu-([\w.-]+)\.so$/.exec(dir);
    if (!m) continue;
    const features = VARIANT_FEATURES[m[1]];
    // An unknown variant (a newer node-llama-cpp) may need anything: drop it rather than risk running it.
    if (features?.every((f) => allowed.has(f))) kept++;
    else rmSync(join(bins, dir));
  }
  if (kept === 0) throw new Error(`--llama-cpu ${variant}: no libggml-cpu-*.so at or below ${variant} in ${bins}`);
}

/**
 * The ggml CPU variant(s) mapped into this process (read once llama.cpp has loaded its backends), e.g. 'haswell';
 * ggml dlcloses the candidates it only scored, so one is expected. 'unknown' where /proc/self/maps is missing.
 */
export function loadedLlamaCpuVariant(): string {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return 'unknown';
  }
  const variants = new Set([...maps.matchAll(/\/libggml-cpu-([\w.-]+)\.so$/gm)].map((m) => m[1]));
  return variants.size ? [...variants].join('+') : 'none';
}
