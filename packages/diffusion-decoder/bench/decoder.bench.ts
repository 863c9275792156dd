/**
 * SD-2.1-unCLIP decoder speed at full size with random weights: seconds per UNet call with classifier-free
 * guidance (batch 2) at 64×64 and 96×96 latents (512 and 768 pixels), and the VAE decode of a 512×512 image;
 * seed against the PyTorch reference (tools/golden/unclip_ref.py bench, fp32) on the same files at the same
 * thread count, side by side; and the projected seconds for one 768×768 image (21 UNet calls + the VAE at 768,
 * scaled from 512 by the pixel count). The weights are written by `unclip_ref.py make-full` (needs torch);
 * give a folder made before with --model DIR. Without torch the PyTorch column is skipped, said so.
 *
 *   pnpm --filter @seed/diffusion-decoder bench [--json] [--model DIR] [--repeat 2] [--threads 2]
 *                                               [--sizes 64,96] [--dtype f32|f16|bf16] [--device cpu|cuda:0]
 *                                               [--no-torch] [--profile]
 * --profile adds, on stderr, where the time of one more UNet call and VAE decode goes (CPU kernels by op and
 * input shapes, @seed/cuda-kernels profileKernels); --no-torch leaves out the PyTorch column.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Device, profileDuring, scope, setCpuThreads, tensor } from '@seed/cuda-kernels';
import { classLabels, gaussianNoise, loadDecoder, timestepEmbedding, unetForward, vaeDecode } from '../src/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const repeat = Number(arg('--repeat', '2'));
const threads = Number(arg('--threads', '2'));
const sizes = arg('--sizes', '64,96').split(',').map(Number);
const dtype = arg('--dtype', 'f32') as 'f32' | 'f16' | 'bf16';
const device = arg('--device', 'cpu') as Device;
const noTorch = args.includes('--no-torch');
const profile = args.includes('--profile');
const VAE_SIZE = 512;
const REF = fileURLToPath(new URL('../../../tools/golden/unclip_ref.py', import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);

/** A python with torch: $SEED_PYTHON, python3, or Debian's /usr/bin/python3 (python3-torch). */
function torchPython(): { python: string; version: string } | undefined {
  for (const python of [process.env.SEED_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!python) continue;
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return undefined;
}

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** Runs fn once with the CPU kernels timed; logs where the time went (profileDuring). */
async function profiled(what: string, fn: () => Promise<void>): Promise<void> {
  for (const line of await profileDuring(what, fn)) log(line);
}

async function seedColumn(dir: string): Promise<Record<string, number>> {
  setCpuThreads(threads);
  const loaded = await loadDecoder(dir, { dtype, device, skipText: true });
  const c = loaded.configs;
  const E = c.embeddingDim;
  const out: Record<string, number> = {};
  try {
    const ctx = tensor(gaussianNoise(2 * 77 * c.unet.crossAttentionDim, 1), [2, 77, c.unet.crossAttentionDim], {
      dtype,
      device,
    });
    const level0 = timestepEmbedding([0], E, { flipSinToCos: true, downscaleFreqShift: 0 });
    const cond = new Float32Array(2 * E);
    cond.set(gaussianNoise(E, 2));
    cond.set(level0, E);
    const labels = tensor(classLabels(cond), [2, 2 * E], { dtype, device });
    const unetCall = async (s: number) => {
      const x = gaussianNoise(2 * 4 * s * s, 3);
      const r = scope(() =>
        unetForward(c.unet, loaded.unet, tensor(x, [2, 4, s, s], { dtype, device }), 951, ctx, labels),
      );
      await r.data();
      r.dispose();
    };
    log(`seed: warm-up (UNet at ${sizes[0]}×${sizes[0]})`);
    await unetCall(sizes[0]);
    for (const s of sizes) {
      const ts: number[] = [];
      for (let i = 0; i < repeat; i++) ts.push(await time(() => unetCall(s)));
      out[`unet_cfg_${s}x${s}_s`] = Math.min(...ts);
      log(`seed: UNet call with CFG at ${s}×${s} latents: ${ts.map((t) => t.toFixed(2)).join(', ')} s`);
    }
    const z = gaussianNoise(4 * (VAE_SIZE / 8) ** 2, 4);
    const vaeCall = async () => {
      const r = scope(() =>
        vaeDecode(c.vae, loaded.vae, tensor(z, [1, 4, VAE_SIZE / 8, VAE_SIZE / 8], { dtype, device })),
      );
      await r.data();
      r.dispose();
    };
    const ts: number[] = [];
    for (let i = 0; i < repeat; i++) ts.push(await time(vaeCall));
    out[`vae_decode_${VAE_SIZE}_s`] = Math.min(...ts);
    log(`seed: VAE decode at ${VAE_SIZE}×${VAE_SIZE}: ${ts.map((t) => t.toFixed(2)).join(', ')} s`);
    if (profile && device === 'cpu') {
      await profiled(`UNet call at ${sizes[0]}×${sizes[0]}`, () => unetCall(sizes[0]));
      await profiled(`VAE decode at ${VAE_SIZE}×${VAE_SIZE}`, vaeCall);
    }
    ctx.dispose();
    labels.dispose();
  } finally {
    loaded.dispose();
  }
  return out;
}

/**
 * torch's environment: Debian's torch calls whatever `libblas.so.3` the alternatives point at, by default the
 * unoptimised reference BLAS (its nn.Linear and matmul ~4× slower than OpenBLAS); a fair peer gets OpenBLAS
 * when it is installed (libopenblas0-pthread), and OpenMP / OpenBLAS at the bench's thread count.
 */
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
function torchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
  };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (existsSync(join(OPENBLAS_DIR, 'libblas.so.3')))
    env.LD_LIBRARY_PATH = [OPENBLAS_DIR, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  else log(`torch: no OpenBLAS in ${OPENBLAS_DIR} (apt-get install libopenblas0-pthread); its BLAS may be slow`);
  return env;
}

function torchColumn(python: string, dir: string): Record<string, number> {
  log('torch: running unclip_ref.py bench');
  const r = spawnSync(
    python,
    [
      REF,
      'bench',
      dir,
      '--threads',
      String(threads),
      '--repeat',
      String(repeat),
      '--sizes',
      sizes.join(','),
      '--vae-size',
      String(VAE_SIZE),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20, env: torchEnv() },
  );
  if (r.status !== 0) throw new Error(`unclip_ref.py bench failed (exit ${r.status ?? r.signal})`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number | string>;
  log(`torch: ${res.torch}, ${res.threads} threads, BLAS ${res.blas}`);
  torchBlas = String(res.blas);
  return res as Record<string, number>;
}

let torchBlas: string | null = null;

const projected = (col: Record<string, number>) =>
  col.unet_cfg_96x96_s !== undefined && col[`vae_decode_${VAE_SIZE}_s`] !== undefined
    ? 21 * col.unet_cfg_96x96_s + col[`vae_decode_${VAE_SIZE}_s`] * (768 / VAE_SIZE) ** 2
    : undefined;

async function main() {
  const torch = torchPython();
  let dir = args.includes('--model') ? arg('--model', '') : '';
  let made: string | undefined;
  if (!dir) {
    if (!torch) {
      log(
        'no --model DIR and no torch to write the full-size random weights (python3 tools/golden/unclip_ref.py make-full DIR)',
      );
      process.exitCode = 1;
      return;
    }
    made = mkdtempSync(join(tmpdir(), 'seed-unclip-bench-'));
    dir = join(made, 'sd21');
    log(`writing full-size random weights to ${dir} (unclip_ref.py make-full; ~3.6 GB)`);
    const r = spawnSync(torch.python, [REF, 'make-full', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error('unclip_ref.py make-full failed');
  }
  if (!existsSync(join(dir, 'model_index.json'))) throw new Error(`${dir}: not a decoder folder`);
  try {
    const seed = await seedColumn(dir);
    const ref = torch && !noTorch && device === 'cpu' && dtype === 'f32' ? torchColumn(torch.python, dir) : undefined;
    if (!torch) log('torch is not installed (Debian: python3-torch): the PyTorch column is skipped');
    else if (noTorch) log('--no-torch: the PyTorch column is skipped');
    else if (!ref) log('the PyTorch column is measured for --device cpu --dtype f32 only: skipped');
    const rows = [...sizes.map((s) => `unet_cfg_${s}x${s}_s`), `vae_decode_${VAE_SIZE}_s`];
    const result = {
      threads,
      repeat,
      dtype,
      device,
      torch: torch?.version ?? null,
      torch_blas: torchBlas,
      rows: Object.fromEntries(
        rows.map((k) => [k, { seed: seed[k], torch: ref?.[k] ?? null, ratio: ref?.[k] ? ref[k] / seed[k] : null }]),
      ),
      projected_768_image_s: { seed: projected(seed) ?? null, torch: (ref && projected(ref)) ?? null },
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const f = (v: number | null | undefined) => (v == null ? '—' : v.toFixed(2));
      process.stdout.write(
        `| what (${device}, ${dtype}, ${threads} threads) | seed s | torch ${torch?.version ?? '—'} s | torch / seed |\n`,
      );
      process.stdout.write('| --- | ---: | ---: | ---: |\n');
      for (const [k, v] of Object.entries(result.rows))
        process.stdout.write(`| ${k} | ${f(v.seed)} | ${f(v.torch)} | ${f(v.ratio)} |\n`);
      const p = result.projected_768_image_s;
      process.stdout.write(
        `| one 768×768 image (21 UNet calls + VAE) | ${f(p.seed)} | ${f(p.torch)} | ${f(p.seed && p.torch ? p.torch / p.seed : null)} |\n`,
      );
      if (torchBlas) process.stdout.write(`\ntorch's BLAS: ${torchBlas}\n`);
    }
  } finally {
    if (made) rmSync(made, { recursive: true, force: true });
  }
}

await main();
