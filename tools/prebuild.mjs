#!/usr/bin/env node
// `pnpm prebuild`: builds the prebuilt addon binaries that ship in the per-platform packages, the same way every time.
//   packages/cuda-kernels-prebuilt-linux-x64/       CPU kernels only (SEED_WITH_CUDA=OFF)
//   packages/cuda-kernels-prebuilt-linux-x64-cuda/  CPU + CUDA kernels for sm_80 and sm_90, cudart linked statically
// Each gets seed_kernels.node and build-info.json (version, glibc and libstdc++ it needs, CPU baseline, CUDA
// architectures, toolchain, a hash of the sources, the binary's sha256). The CPU code is built for the x86-64
// baseline (no -march): AVX2 / AVX-512 paths are chosen at run time, so one binary serves every x86-64 CPU.
// Builds are cached under ~/.cache/seed/prebuild by a hash of the sources and toolchain, so an unchanged
// tree costs nothing the second time; --force rebuilds. Usage: node tools/prebuild.mjs [--force] [--only cpu|cuda]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const source = join(root, 'packages', 'cuda-kernels');
const args = process.argv.slice(2);
const force = args.includes('--force');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;

const VARIANTS = [
  { id: 'cpu', dir: 'cuda-kernels-prebuilt-linux-x64', cuda: false },
  { id: 'cuda', dir: 'cuda-kernels-prebuilt-linux-x64-cuda', cuda: true },
];
const CUDA_ARCHITECTURES = ['80', '90'];

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', ...options });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  return r;
}

/** The first line of `<tool> --version`, or null when the tool is missing. */
function toolVersion(cmd) {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim().split('\n')[0];
}

function nvccVersion() {
  const r = spawnSync('nvcc', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return /release [\d.]+, V([\d.]+)/.exec(r.stdout)?.[1] ?? r.stdout.trim().split('\n').at(-1);
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** What decides the bytes of a binary: the native sources, the build script, the version and the toolchain. */
function inputsHash(variant, toolchain) {
  const h = createHash('sha256');
  const files = [join(source, 'CMakeLists.txt'), join(source, 'package.json'), ...listFiles(join(source, 'native'))];
  for (const f of files.sort()) {
    h.update(relative(source, f));
    h.update(readFileSync(f));
  }
  h.update(
    JSON.stringify({
      variant: variant.id,
      toolchain,
      archs: CUDA_ARCHITECTURES,
      script: readFileSync(new URL(import.meta.url)),
    }),
  );
  return h.digest('hex').slice(0, 16);
}

/** The newest symbol version the binary needs from glibc and from libstdc++ (read from its dynamic symbols). */
function requiredVersions(binary) {
  const r = run('objdump', ['-T', binary]);
  if (r.status !== 0) fail(`objdump -T ${binary} failed: ${r.stderr}`);
  const newest = (prefix) =>
    [...r.stdout.matchAll(new RegExp(`\\b${prefix}_([\\d.]+)\\b`, 'g'))]
      .map((m) => m[1])
      .sort((a, b) => {
        const pa = a.split('.').map(Number);
        const pb = b.split('.').map(Number);
        for (let i = 0; i < Math.max(pa.length, pb.length); i++)
          if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
        return 0;
      })
      .at(-1);
  return { glibc: newest('GLIBC'), glibcxx: newest('GLIBCXX') };
}

/** Loads the binary in a fresh Node and returns what it says about itself. */
function selfReport(binary) {
  const probe = `const a = require(process.argv[1]); console.log(JSON.stringify({ info: a.info(), ops: a.opNames().length })); process.exit(0);`;
  const r = run(process.execPath, ['-e', probe, binary]);
  if (r.status !== 0) fail(`${binary} does not load: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

function build(variant, version, toolchain, out) {
  const buildDir = join(tmpdir(), `seed-prebuild-${variant.id}-${process.pid}`);
  rmSync(buildDir, { recursive: true, force: true });
  // Paths of this checkout must not end up in the binary: the same sources give the same bytes anywhere.
  const prefixMap = `-ffile-prefix-map=${source}=@seed/cuda-kernels -ffile-prefix-map=${buildDir}=build`;
  const cmakeJs = join(source, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  const argv = [cmakeJs, 'compile', '--out', buildDir, `--CDCMAKE_CXX_FLAGS=${prefixMap}`];
  if (variant.cuda) {
    argv.push('--CDSEED_WITH_CUDA=ON', `--CDCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES.join(';')}`);
    argv.push(
      `--CDCMAKE_CUDA_FLAGS=${prefixMap
        .split(' ')
        .map((f) => `-Xcompiler=${f}`)
        .join(' ')}`,
    );
  } else {
    argv.push('--CDSEED_WITH_CUDA=OFF');
  }
  console.log(
    `prebuild: building ${variant.dir} (${variant.cuda ? `CUDA sm_${CUDA_ARCHITECTURES.join(', sm_')}` : 'CPU only'})`,
  );
  const started = Date.now();
  // SEED_CUDA is the loader's and CMakeLists' switch; the variant decides here, not the caller's environment.
  const env = { ...process.env, SEED_CUDA: '' };
  const r = spawnSync(process.execPath, argv, { cwd: source, stdio: ['ignore', 'inherit', 'inherit'], env });
  if (r.status !== 0) fail(`the ${variant.id} build failed (output above)`);
  const binary = join(buildDir, 'Release', 'seed_kernels.node');
  const self = selfReport(binary);
  if (self.info.version !== version)
    fail(`the ${variant.id} binary reports version ${self.info.version}, expected ${version}`);
  if (self.info.cudaCompiled !== variant.cuda)
    fail(`the ${variant.id} binary has cudaCompiled=${self.info.cudaCompiled}`);
  const bytes = readFileSync(binary);
  const info = {
    package: `@seed/${variant.dir.replace('-prebuilt', '')}`,
    version,
    platform: 'linux',
    arch: 'x64',
    libc: 'glibc',
    ...requiredVersions(binary),
    cpu: 'x86-64 baseline (SSE2); AVX2 and AVX-512 kernels chosen at run time',
    cuda: variant.cuda
      ? { architectures: CUDA_ARCHITECTURES.map((a) => `sm_${a}`), cudart: 'static', nvcc: toolchain.nvcc }
      : null,
    nodeApi: 8,
    toolchain,
    ops: self.ops,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  };
  mkdirSync(out, { recursive: true });
  copyFileSync(binary, join(out, 'seed_kernels.node'));
  writeFileSync(join(out, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
  rmSync(buildDir, { recursive: true, force: true });
  console.log(`prebuild: ${variant.id} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// --check (the prebuilt packages' prepack): refuse to pack a package whose binary is missing or not the one
// its build-info.json describes, so a registry never gets an empty or mismatched prebuilt.
if (args.includes('--check')) {
  const dir = process.cwd();
  const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
  if (!existsSync(join(dir, 'seed_kernels.node')) || !existsSync(join(dir, 'build-info.json'))) {
    fail(`${name} has no binary: run \`pnpm prebuild\` at the repository root first`);
  }
  const info = JSON.parse(readFileSync(join(dir, 'build-info.json'), 'utf8'));
  const sha = createHash('sha256')
    .update(readFileSync(join(dir, 'seed_kernels.node')))
    .digest('hex');
  if (info.package !== name || info.sha256 !== sha) fail(`${name}: seed_kernels.node does not match build-info.json`);
  process.exit(0);
}

if (process.platform !== 'linux' || process.arch !== 'x64') fail('the prebuilt packages are built on linux-x64');
const version = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')).version;
const toolchain = { cxx: toolVersion('c++'), cmake: toolVersion('cmake'), nvcc: nvccVersion(), node: process.version };
if (!toolchain.cxx || !toolchain.cmake) fail('needs cmake and a C++17 compiler (c++) on the PATH');
const cache = join(homedir(), '.cache', 'seed', 'prebuild');

for (const variant of VARIANTS.filter((v) => !only || v.id === only)) {
  const pkgDir = join(root, 'packages', variant.dir);
  const pkgVersion = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  if (pkgVersion !== version) fail(`${variant.dir} is version ${pkgVersion}, @seed/cuda-kernels is ${version}`);
  if (variant.cuda && !toolchain.nvcc) fail('the CUDA package needs nvcc on the PATH (CUDA 12.x or 13.x)');
  const out = join(cache, `${variant.id}-${inputsHash(variant, toolchain)}`);
  if (force || !existsSync(join(out, 'build-info.json'))) build(variant, version, toolchain, out);
  else console.log(`prebuild: ${variant.id} unchanged, reusing ${out}`);
  for (const f of ['seed_kernels.node', 'build-info.json']) copyFileSync(join(out, f), join(pkgDir, f));
  const info = JSON.parse(readFileSync(join(pkgDir, 'build-info.json'), 'utf8'));
  const size = (statSync(join(pkgDir, 'seed_kernels.node')).size / 1e6).toFixed(1);
  console.log(
    `prebuild: ${info.package}@${info.version}: ${size} MB, glibc ≥ ${info.glibc}, sha256 ${info.sha256.slice(0, 12)}`,
  );
}
