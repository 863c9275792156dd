/**
 * SEED tokenizer speed at the full SEED-2 size with random weights: seconds per image (encode: pixels →
 * 32 codes) and per code sequence (decode: codes → 1024-d embedding), seed against the PyTorch reference
 * (tools/golden/seed_tokenizer_ref.py, fp32, OpenBLAS) on the same checkpoint files at the same thread
 * count, side by side in one run; plus the codebook lookup's share of encode time. Without torch the
 * PyTorch column is skipped (said so) and seed's random weights are written by this script instead.
 *
 *   pnpm --filter @seed/seed-tokenizer bench [--json] [--repeat 3] [--threads 2] [--dtype f32|auto]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listSpecs, ops, setCpuThreads, synchronize, type Tensor, tensor, writeSafetensors } from '@seed/cuda-kernels';
import { SEED2_CONFIG, SeedTokenizer, seedWeightSpecs } from '../src/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const repeat = Number(arg('--repeat', '3'));
const threads = Number(arg('--threads', '2'));
const dtype = arg('--dtype', 'f32') as 'f32' | 'auto';
const REF = fileURLToPath(new URL('../../../tools/golden/seed_tokenizer_ref.py', import.meta.url));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (s: string) => process.stderr.write(`${s}\n`);

function hasTorch(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Random SEED-2-sized weights written by us (when torch is absent): f16 ViT like LAVIS's file, f32 rest. */
async function writeRandomCheckpoint(dir: string): Promise<void> {
  let s = 987654321;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const make = (shape: number[], isVit: boolean): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const k = 2 / Math.sqrt(shape[shape.length - 1]);
    for (let i = 0; i < n; i++) data[i] = rnd() * k;
    return tensor(data, shape, { dtype: isVit ? 'f16' : 'f32' });
  };
  const specs = listSpecs(seedWeightSpecs(SEED2_CONFIG));
  for (const file of ['vit', 'quantizer'] as const) {
    const list = specs
      .filter((sp) => sp.file === file)
      .map((sp) => [sp.name, make([...sp.shape], file === 'vit')] as [string, Tensor]);
    await writeSafetensors(join(dir, file === 'vit' ? 'eva_vit_g.safetensors' : 'seed_quantizer.safetensors'), list);
    for (const [, t] of list) t.dispose();
  }
}

async function main(): Promise<void> {
  setCpuThreads(threads);
  const torch = hasTorch();
  const dir = mkdtempSync(join(tmpdir(), 'seed-tok-bench-'));
  try {
    if (torch) {
      log(`writing a random SEED-2 checkpoint with PyTorch ${torch} (tools/golden/seed_tokenizer_ref.py make-full) …`);
      execFileSync('python3', [REF, 'make-full', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    } else {
      log('PyTorch is not installed: the PyTorch column is skipped (apt install python3-torch to compare)');
      await writeRandomCheckpoint(dir);
    }

    // ---- seed ----
    log(`loading (dtype ${dtype}) …`);
    const tok = await SeedTokenizer.load(dir, { dtype });
    const c = tok.config;
    let r = 12345;
    const pixels = Float32Array.from({ length: 3 * 224 * 224 }, () => {
      r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
      return (r / 4294967296 - 0.5) * 3;
    });
    const codes = Array.from({ length: 32 }, (_, i) => (i * 2654435761) % c.codebookSize);
    const time = async (fn: () => Promise<unknown>) => {
      await fn(); // warm-up
      const ts: number[] = [];
      for (let i = 0; i < repeat; i++) {
        const t0 = performance.now();
        await fn();
        ts.push((performance.now() - t0) / 1000);
      }
      return ts;
    };
    log(`seed: encode × ${repeat + 1} …`);
    const encode = await time(() => tok.encodePixels(pixels, 1));
    const decode = await time(() => tok.decode([codes]));
    // The codebook lookup alone, at encode's shape: 32 vectors against 8192 codes.
    const z = tensor(
      Float32Array.from({ length: 32 * c.codeDim }, (_, i) => Math.sin(i)),
      [32, c.codeDim],
    );
    const cb = tensor(
      Float32Array.from({ length: c.codebookSize * c.codeDim }, (_, i) => Math.cos(i * 0.37)),
      [c.codebookSize, c.codeDim],
    );
    const lookup = await time(async () => {
      for (let i = 0; i < 10; i++) ops.codebookNearest(z, cb).dispose();
      await synchronize('cpu');
    });
    z.dispose();
    cb.dispose();
    tok.dispose();

    // ---- PyTorch ----
    let ref: { encode_s: number[]; decode_s: number[] } | undefined;
    if (torch) {
      log(`PyTorch: encode × ${repeat + 1} …`);
      const out = execFileSync(
        'python3',
        [REF, 'bench', dir, '--threads', String(threads), '--repeat', String(repeat), '--json'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      ref = JSON.parse(out.trim().split('\n').pop() as string);
    }

    const rows = [
      {
        name: 'encode (pixels → 32 codes), s/image',
        seed_s: median(encode),
        torch_s: ref ? median(ref.encode_s) : undefined,
      },
      {
        name: 'decode (32 codes → embedding), s/sequence',
        seed_s: median(decode),
        torch_s: ref ? median(ref.decode_s) : undefined,
      },
    ].map((row) => ({ ...row, ratio: row.torch_s ? row.torch_s / row.seed_s : undefined }));
    const lookupShare = median(lookup) / 10 / median(encode);
    if (json) {
      for (const row of rows)
        process.stdout.write(
          `${JSON.stringify({ name: row.name, median_ms: row.seed_s * 1000, torch_median_ms: row.torch_s ? row.torch_s * 1000 : null, ratio: row.ratio ?? null, reference: ref ? 'pytorch-fp32' : 'skipped: torch not installed', threads, dtype })}\n`,
        );
      process.stdout.write(
        `${JSON.stringify({ name: 'codebook lookup 32×8192×32 share of encode', median_ms: (median(lookup) / 10) * 1000, ratio: lookupShare, reference: 'encode time' })}\n`,
      );
    } else {
      const f = (x?: number) => (x === undefined ? 'skipped' : x.toFixed(3));
      console.log(
        `SEED tokenizer, full SEED-2 size, random weights, ${threads} threads, seed dtype ${dtype}${torch ? `, PyTorch ${torch} fp32` : ''}`,
      );
      console.log('| what | seed (s) | PyTorch (s) | ratio (PyTorch / seed) |');
      console.log('|---|---|---|---|');
      for (const row of rows)
        console.log(
          `| ${row.name} | ${f(row.seed_s)} | ${f(row.torch_s)} | ${row.ratio ? row.ratio.toFixed(2) : '–'} |`,
        );
      console.log(
        `codebook lookup (32 × 8192 × 32): ${((median(lookup) / 10) * 1000).toFixed(3)} ms = ${(lookupShare * 100).toFixed(3)}% of encode`,
      );
      if (!torch) console.log('(PyTorch column skipped: torch is not installed)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
