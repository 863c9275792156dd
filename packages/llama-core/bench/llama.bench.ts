/**
 * LLaMA decode and prefill speed: seed against llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU binary) on the
 * same random model, at the same thread count and precision (int8: seed's per-row q8, llama.cpp's Q8_0;
 * or f32), side by side in one run; decode also against the bandwidth roofline (weight bytes per token ÷
 * this machine's copy and read bandwidth, measured right before and after seed's runs, the higher kept).
 *
 *   pnpm --filter @seed/llama-core bench [--json] [--sizes 100m,1b] [--dtype q8|f32] [--profile]
 *                                        [--llama-cpu best|haswell|…] [--help]
 *
 * --profile adds, on stderr, where the time of one more prefill and of DECODE more decoded tokens goes (CPU
 * kernels by op and input shapes, @seed/cuda-kernels profileDuring).
 *
 * --llama-cpu caps the CPU build of llama.cpp: node-llama-cpp ships one ggml CPU backend per x86 level and ggml
 * loads the best this CPU runs (sapphirerapids, AVX-512 + AMX, on an AVX-512 machine), so seed's AVX2 path would
 * meet llama.cpp's AVX-512 one. `--llama-cpu haswell` (AVX2, FMA, F16C; no AVX-512, no AVX-VNNI) loads
 * node-llama-cpp from a temporary copy that holds no variant above it (see llama-cpu-variant.ts). It defaults to
 * haswell when SEED_CPU_PATH=avx2 and to best (ggml's own pick) otherwise; the header names the variant loaded:
 *
 *   SEED_CPU_PATH=avx2 pnpm --filter @seed/llama-core bench --sizes 100m
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cpuPathSummary,
  InMemoryWeights,
  listSpecs,
  loadWeights,
  measureCpuCeilings,
  ops,
  profileDuring,
  runtimeInfo,
  setCpuThreads,
} from '@seed/cuda-kernels';
import { KvCache, LlamaModel, llamaWeightSpecs, parseLlamaConfig } from '../src/index.js';
import { type TinyConfig, tinyHfConfig, writeTinyGguf } from '../test/helpers/tiny-llama.js';
import { randomWeights, SIZES } from './bench-models.js';
import {
  defaultLlamaCpu,
  importNodeLlamaCpp,
  LLAMA_CPU_CHOICES,
  loadedLlamaCpuVariant,
  type NodeLlamaCpp,
} from './llama-cpu-variant.js';

const THREADS = 2;
const PREFILL = 512;
const DECODE = 32;

const args = process.argv.slice(2);
const json = args.includes('--json');
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const sizes = arg('--sizes', '100m,1b').split(',');
const dtype = arg('--dtype', 'q8') as 'q8' | 'f32';
const profile = args.includes('--profile');
const llamaCpu = arg('--llama-cpu', defaultLlamaCpu());

const HELP = `usage: pnpm --filter @seed/llama-core bench [options]
  --json               one JSON object per line (a header, then one per row) instead of the table
  --sizes LIST         model sizes, comma-separated: ${Object.keys(SIZES).join(', ')} (default 100m,1b)
  --dtype q8|f32       weight precision: seed's int8 rows against llama.cpp's Q8_0, or f32 (default q8)
  --profile            on stderr, where the time of one more prefill and of ${DECODE} more decoded tokens goes
  --llama-cpu VARIANT  the highest llama.cpp (ggml) CPU variant node-llama-cpp may load, or best to let ggml pick
                       (default haswell when SEED_CPU_PATH=avx2, else best; here ${llamaCpu}); one of
                       ${LLAMA_CPU_CHOICES.join(' ')}
  --help               this text
SEED_CPU_PATH=scalar|avx2|avx512|amx caps seed's CPU kernels.`;

/** node-llama-cpp, imported once: from a copy with the CPU variants above --llama-cpu removed, unless 'best'. */
let nodeLlamaCpp: Promise<NodeLlamaCpp> | undefined;
/** The ggml CPU variant llama.cpp loaded (from /proc/self/maps once a model is loaded), for the header and rows. */
let llamaCpuLoaded = 'not loaded';

interface Row {
  name: string;
  engine: 'seed' | 'llama.cpp' | 'roofline';
  /** seed's CPU kernel path (SEED_CPU_PATH caps it), or llama.cpp's ggml CPU variant (--llama-cpu caps it). */
  path?: string;
  median_ms: number;
  tokens_per_s: number;
  ratio: number | null;
  ratio_of: string | null;
}
const rows: Row[] = [];
const emit = (partial: Row) => {
  const path = { seed: runtimeInfo().simd, 'llama.cpp': llamaCpuLoaded, roofline: undefined }[partial.engine];
  const r: Row = { ...partial, path };
  rows.push(r);
  if (json) console.log(JSON.stringify(r));
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchSize(label: string, c: TinyConfig): Promise<void> {
  const weights = randomWeights(c);
  const config = parseLlamaConfig(tinyHfConfig(c));
  const dir = mkdtempSync(join(tmpdir(), 'seed-llama-bench-'));
  const gguf = join(dir, 'model.gguf');
  writeTinyGguf(gguf, c, weights, dtype === 'q8' ? 'q8_0' : 'f32');

  // ---- seed ----
  const specs = llamaWeightSpecs(config);
  let weightBytesPerToken = 0; // every weight but the embedding table is read once per decoded token
  for (const { path, spec, shape } of listSpecs(specs)) {
    const n = shape.reduce((x, y) => x * y, 1);
    if (path !== 'embed')
      weightBytesPerToken += spec.precision === 'matrix' && dtype === 'q8' ? n + 4 * shape[0] : 4 * n;
  }
  const loaded = await loadWeights({
    specs,
    files: new InMemoryWeights(weights),
    what: `the ${label} model`,
    source: 'random weights',
    dtype: dtype === 'q8' ? 'int8' : 'f32',
    unexpected: 'error',
  });
  weights.clear();
  const model = new LlamaModel(config, loaded.weights, 'cpu');
  const prompt = Array.from({ length: PREFILL }, (_, i) => 3 + ((i * 7919) % (c.vocabSize - 3)));
  const cache = new KvCache(config, 'cpu', c.maxSeq);
  const prefillMs: number[] = [];
  const decodeMs: number[] = [];
  // The bandwidth of these shared machines drifts by a third within minutes: the rooflines use the higher of
  // two measurements taken right before and right after seed's runs, not the one from the start of the bench.
  const around = [await measureCpuCeilings(300)];
  for (let rep = 0; rep < 3; rep++) {
    cache.reset();
    let t0 = performance.now();
    let logits = model.forward(prompt, cache);
    await logits.data();
    prefillMs.push(performance.now() - t0);
    logits.dispose();
    t0 = performance.now();
    let id = 5;
    for (let i = 0; i < DECODE; i++) {
      logits = model.forward([id], cache);
      const am = ops.argmax(logits);
      id = (await am.data())[0];
      am.dispose();
      logits.dispose();
    }
    decodeMs.push((performance.now() - t0) / DECODE);
  }
  around.push(await measureCpuCeilings(300));
  if (profile) {
    cache.reset();
    const lines = await profileDuring(`${label} ${dtype} prefill ${PREFILL}`, async () => {
      const logits = model.forward(prompt, cache);
      await logits.data();
      logits.dispose();
    });
    lines.push(
      ...(await profileDuring(`${label} ${dtype} ${DECODE} decoded tokens`, async () => {
        let id = 5;
        for (let i = 0; i < DECODE; i++) {
          const logits = model.forward([id], cache);
          const am = ops.argmax(logits);
          id = (await am.data())[0];
          am.dispose();
          logits.dispose();
        }
      })),
    );
    for (const line of lines) process.stderr.write(`${line}\n`);
  }
  cache.dispose();
  loaded.dispose();

  // ---- llama.cpp ----
  nodeLlamaCpp ??= importNodeLlamaCpp(llamaCpu);
  const { getLlama } = await nodeLlamaCpp;
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  const nlcModel = await llama.loadModel({ modelPath: gguf });
  llamaCpuLoaded = loadedLlamaCpuVariant();
  const refPrefill: number[] = [];
  const refDecode: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const context = await nlcModel.createContext({ contextSize: c.maxSeq, threads: THREADS, batchSize: PREFILL });
    const seq = context.getSequence();
    let t0 = performance.now();
    // biome-ignore lint/suspicious/noExplicitAny: branded Token ids
    await seq.evaluateWithoutGeneratingNewTokens(prompt as any);
    refPrefill.push(performance.now() - t0);
    t0 = performance.now();
    let n = 0;
    let t1 = t0;
    // Time to the DECODE-th token, taken inside the loop: leaving the iterator early has a cost of its own.
    // biome-ignore lint/suspicious/noExplicitAny: branded Token ids
    for await (const _ of seq.evaluate([5] as any, { temperature: 0 })) {
      if (++n >= DECODE) {
        t1 = performance.now();
        break;
      }
    }
    refDecode.push((t1 - t0) / DECODE);
    await context.dispose();
  }
  await nlcModel.dispose();
  await llama.dispose();
  rmSync(dir, { recursive: true, force: true });

  const name = `${label} ${dtype}`;
  const sp = median(prefillMs);
  const rp = median(refPrefill);
  const sd = median(decodeMs);
  const rd = median(refDecode);
  emit({
    name: `${name} prefill ${PREFILL}`,
    engine: 'llama.cpp',
    median_ms: rp,
    tokens_per_s: (PREFILL / rp) * 1000,
    ratio: null,
    ratio_of: null,
  });
  emit({
    name: `${name} prefill ${PREFILL}`,
    engine: 'seed',
    median_ms: sp,
    tokens_per_s: (PREFILL / sp) * 1000,
    ratio: rp / sp,
    ratio_of: 'llama.cpp prefill tokens/s',
  });
  emit({
    name: `${name} decode`,
    engine: 'llama.cpp',
    median_ms: rd,
    tokens_per_s: 1000 / rd,
    ratio: null,
    ratio_of: null,
  });
  emit({
    name: `${name} decode`,
    engine: 'seed',
    median_ms: sd,
    tokens_per_s: 1000 / sd,
    ratio: rd / sd,
    ratio_of: 'llama.cpp decode tokens/s',
  });
  // Two rooflines: the copy rate (bytes read plus bytes written while copying) and the read rate (bytes read
  // while summing 1 GB). A decode step only reads its weights, so the read rate is the one it can reach; the
  // copy rate, higher on these machines, is kept as the original measure.
  for (const [what, gbs] of [
    ['copy', Math.max(...around.map((a) => a.copyGBps))],
    ['read', Math.max(...around.map((a) => a.readGBps))],
  ] as const) {
    const rooflineMs = (weightBytesPerToken / (gbs * 1e9)) * 1000;
    emit({
      name: `${name} decode`,
      engine: 'roofline',
      median_ms: rooflineMs,
      tokens_per_s: 1000 / rooflineMs,
      ratio: rooflineMs / sd,
      ratio_of: `seed decode vs ${(weightBytesPerToken / 1e6).toFixed(0)} MB of weights per token at the ${what} rate, ${gbs.toFixed(1)} GB/s`,
    });
  }
}

/** seed's CPU path, every path this CPU has, and its features. */
const cpuHeader = () => `seed ${cpuPathSummary()}`;
/** The llama.cpp CPU variant that ran, and the cap asked for (it may run lower, on a CPU without that variant). */
const llamaCpuHeader = () => `llama.cpp cpu variant: ${llamaCpuLoaded} (--llama-cpu ${llamaCpu})`;

async function main(): Promise<void> {
  if (args.includes('--help')) {
    console.log(HELP);
    return;
  }
  if (!LLAMA_CPU_CHOICES.includes(llamaCpu))
    throw new Error(`--llama-cpu ${llamaCpu}: expected one of ${LLAMA_CPU_CHOICES.join(', ')}`);
  setCpuThreads(THREADS);
  // The variant llama.cpp loads is known only once it has loaded a model: the JSON rows carry it as their path.
  if (json) console.log(JSON.stringify({ header: cpuHeader(), path: runtimeInfo().simd, llama_cpu: llamaCpu }));
  const ceilings = await measureCpuCeilings(300);
  for (const s of sizes) {
    const c = SIZES[s];
    if (!c) throw new Error(`unknown size ${s} (expected ${Object.keys(SIZES).join(', ')})`);
    await benchSize(s, c);
  }
  if (json) {
    console.log(JSON.stringify({ header: llamaCpuHeader(), llama_cpu: llamaCpu, llama_cpu_loaded: llamaCpuLoaded }));
  } else {
    console.log(cpuHeader());
    console.log(llamaCpuHeader());
    console.log(
      `threads ${THREADS}, ${dtype} weights, measured at the start: copy bandwidth ${ceilings.copyGBps.toFixed(1)} GB/s (read+write), read bandwidth ${ceilings.readGBps.toFixed(1)} GB/s; each roofline row uses the higher of two measurements around seed's runs`,
    );
    console.log(
      [
        'benchmark'.padEnd(26),
        'engine'.padEnd(24),
        'ms'.padStart(9),
        'tok/s'.padStart(9),
        'ratio'.padStart(7),
        '  ratio of',
      ].join(' '),
    );
    for (const r of rows)
      console.log(
        [
          r.name.padEnd(26),
          (r.path ? `${r.engine} ${r.path}` : r.engine).padEnd(24),
          r.median_ms.toFixed(2).padStart(9),
          r.tokens_per_s.toFixed(1).padStart(9),
          (r.ratio === null ? '' : r.ratio.toFixed(2)).padStart(7),
          `  ${r.ratio_of ?? ''}`,
        ].join(' '),
      );
  }
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).message}`);
  process.exit(1);
});
