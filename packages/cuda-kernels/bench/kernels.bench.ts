/**
 * Kernel benchmarks of @seed/cuda-kernels against this machine's own measured ceilings.
 *
 *   pnpm --filter @seed/cuda-kernels bench            a table
 *   pnpm --silent --filter @seed/cuda-kernels bench --json    one JSON object per line
 *   … bench --device cpu                                only one device (default: every usable device)
 *   … bench --only conv2d                               only the rows whose name contains the text (ceilings always run)
 *
 * First, per device, the ceilings: on the CPU a native FMA loop and a native multi-threaded 256 MB memcpy
 * (read + write bytes counted); on a GPU the runtime's own large copy and matmul. Then each named kernel, reported as a throughput and
 * a ratio to the ceiling that bounds it, or, for the small latency-bound kernels, to a time budget.
 * What each row measures is in docs/bench.md. An op that fails (e.g. "not implemented") becomes a row
 * "n/a (message)" instead of ending the run.
 */
import { cpus } from 'node:os';
import {
  byteLength,
  type ConvAlgorithm,
  convAlgorithmFor,
  cpuPathSummary,
  type Device,
  type DType,
  devices,
  fromBytes,
  measureCpuCeilings,
  memoryInfo,
  ops,
  q8ScalesOffset,
  runtimeInfo,
  setConvAlgorithm,
  synchronize,
  type Tensor,
  tensor,
} from '../src/index.js';

// ---------------------------------------------------------------- rows

interface Row {
  device: string;
  /** The CPU kernels' SIMD path the row ran on (SEED_CPU_PATH caps it); null on a GPU. */
  path: string | null;
  name: string;
  /** Median wall time of one run, or null when the op failed. */
  median_ms: number | null;
  min_ms: number | null;
  runs: number;
  /** Throughput in `unit` (GB/s, GFLOP/s) or null for latency rows. */
  throughput: number | null;
  unit: string | null;
  /** throughput / ceiling (higher is better), or median / budget for latency rows (lower is better). */
  ratio: number | null;
  /** What `ratio` is against, with the ceiling's value and how it was measured. */
  ratio_of: string | null;
  /** The goal for `ratio`, e.g. "≥ 0.6" or "≤ 1". */
  target: string | null;
  meets: boolean | null;
  /** For ceilings: how the number was measured. */
  how?: string;
  /** Why the row is n/a. */
  error?: string;
}

/** A measured ceiling a kernel row is compared against. */
interface Ceiling {
  value: number;
  unit: string;
  label: string;
}

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const onlyDevice = args.includes('--device') ? args[args.indexOf('--device') + 1] : undefined;
const onlyRows = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

const rows: Row[] = [];
const MB = 1 << 20;

function emit(partial: Omit<Row, 'path'>): void {
  const row: Row = { ...partial, path: partial.device === 'cpu' ? runtimeInfo().simd : null };
  rows.push(row);
  if (asJson) process.stdout.write(`${JSON.stringify(row)}\n`);
  else if (process.stderr.isTTY)
    process.stderr.write(`  ${row.device} ${row.name}: ${fmtMs(row.median_ms, row.error)}\n`);
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');

// ---------------------------------------------------------------- timing

interface Timing {
  median: number;
  min: number;
  runs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Time `run` after `warmup` untimed calls. The number of timed runs adapts to the kernel's speed: at least
 * `minRuns`, then more until about `budgetMs` of timed work or `maxRuns`, so slow kernels don't stall the
 * bench and fast ones get a stable median.
 */
async function measure(
  run: () => Promise<void> | void,
  { warmup = 2, minRuns = 5, maxRuns = 30, budgetMs = 2000 } = {},
): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  let spent = 0;
  while (times.length < minRuns || (spent < budgetMs && times.length < maxRuns)) {
    const t0 = performance.now();
    await run();
    const dt = performance.now() - t0;
    times.push(dt);
    spent += dt;
  }
  return { median: median(times), min: Math.min(...times), runs: times.length };
}

/**
 * Time an op. `enqueue` enqueues the work and returns the tensors it produced (or wrote in place). The
 * first call reads every one of them back: a CPU kernel's failure only surfaces when its output is read,
 * and `synchronize()` alone would time a failed op as instantaneous. Timed runs then end either with
 * `synchronize(device)` (large outputs: the kernel is the work) or, with `readBack`, by reading the last
 * output (small outputs a caller needs on the host: token ids, code ids).
 */
async function measureOp(
  device: Device,
  enqueue: () => Tensor[],
  opts: {
    readBack?: boolean;
    keep?: Tensor[];
    warmup?: number;
    minRuns?: number;
    maxRuns?: number;
    budgetMs?: number;
  } = {},
): Promise<Timing> {
  const release = (ts: Tensor[]) => {
    for (const t of ts) if (!opts.keep?.includes(t)) t.dispose();
  };
  const first = enqueue();
  try {
    for (const t of first) await t.bytes();
  } finally {
    release(first);
  }
  return measure(async () => {
    const outs = enqueue();
    try {
      if (opts.readBack) await outs[outs.length - 1].bytes();
      else await synchronize(device);
    } finally {
      release(outs);
    }
  }, opts);
}

// ---------------------------------------------------------------- data

/** Deterministic pseudo-random floats in [-scale, scale) (xorshift32: fast enough for 45M values). */
function randomF32(n: number, scale = 1, seed = 0x9e3779b9): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/** Raw bytes of a tensor of random values in `dtype`, built directly (no dependence on the cast kernel). */
function randomBytes(dtype: DType, shape: readonly number[], scale: number, seed?: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'f32') return new Uint8Array(randomF32(n, scale, seed).buffer);
  if (dtype === 'bf16') {
    // bf16 is the top half of an f32 (truncation is fine for timing).
    const f = new Uint32Array(randomF32(n, scale, seed).buffer);
    const h = new Uint16Array(n);
    for (let i = 0; i < n; i++) h[i] = f[i] >>> 16;
    return new Uint8Array(h.buffer);
  }
  if (dtype === 'q8') {
    const [rows, cols] = shape;
    const out = new Uint8Array(byteLength('q8', shape));
    const q = new Int8Array(out.buffer, 0, rows * cols);
    const f = randomF32(rows * cols, 127, seed);
    for (let i = 0; i < q.length; i++) q[i] = Math.round(f[i]);
    new Float32Array(out.buffer, q8ScalesOffset(rows, cols), rows).fill(scale / 127);
    return out;
  }
  throw new Error(`randomBytes: unsupported dtype ${dtype}`);
}

function randomTensor(dtype: DType, shape: readonly number[], device: Device, scale = 1, seed?: number): Tensor {
  return fromBytes(randomBytes(dtype, shape, scale, seed), dtype, shape, device);
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

// ---------------------------------------------------------------- ceilings

/** A sync JS copy of a 256 MB buffer: bandwidth of one thread's memcpy, read + write bytes counted. */
async function hostCopyCeiling(kind: 'Buffer.copy' | 'TypedArray.set'): Promise<Ceiling | null> {
  const bytes = 256 * MB;
  const src = Buffer.allocUnsafe(bytes);
  const dst = Buffer.allocUnsafe(bytes);
  // Touch every page first: untouched pages would be mapped on first write (and read as the zero page).
  src.fill(0x5a);
  dst.fill(0);
  const s64 = new Float64Array(src.buffer, src.byteOffset, bytes / 8);
  const d64 = new Float64Array(dst.buffer, dst.byteOffset, bytes / 8);
  const t = await measure(() => (kind === 'Buffer.copy' ? void src.copy(dst) : d64.set(s64)), {
    minRuns: 5,
    maxRuns: 10,
  });
  const gbs = (2 * bytes) / (t.median * 1e6);
  const how = `${kind} of a 256 MB buffer in JS (one thread), 2 × 256 MB (read + write) per copy`;
  emit(ceilingRow('cpu', `ceiling: memory copy, ${kind} 256 MB`, t, gbs, 'GB/s', how));
  return { value: gbs, unit: 'GB/s', label: `${kind} 256 MB` };
}

/** The runtime's own copy kernel (set_slice into a preallocated tensor): its threads, no allocation. */
async function runtimeCopyCeiling(device: Device): Promise<Ceiling | null> {
  const n = (256 * MB) / 4;
  const name = 'ceiling: memory copy, runtime set_slice 256 MB';
  const how = 'ops.setSlice of a 256 MB f32 tensor into another (in place, no allocation), read + write bytes counted';
  let src: Tensor | undefined;
  let dst: Tensor | undefined;
  try {
    src = randomTensor('f32', [n], device);
    dst = randomTensor('f32', [n], device, 1, 7);
    const s = src;
    const d = dst;
    const t = await measureOp(device, () => [ops.setSlice(d, s, [0])], { keep: [d], minRuns: 5, maxRuns: 15 });
    const gbs = (2 * n * 4) / (t.median * 1e6);
    emit(ceilingRow(device, name, t, gbs, 'GB/s', how));
    return { value: gbs, unit: 'GB/s', label: 'runtime set_slice 256 MB' };
  } catch (e) {
    emit(failedRow(device, name, e, how));
    return null;
  } finally {
    src?.dispose();
    dst?.dispose();
  }
}

/**
 * FMA peak as the runtime reaches it: matmuls small enough to stay in cache (CPU: 256³, 16 per timed run)
 * or big enough to fill the GPU (CUDA: 2048³, 4 per run), so memory never limits them.
 */
async function fmaCeiling(device: Device): Promise<Ceiling | null> {
  const cuda = device !== 'cpu';
  const n = cuda ? 2048 : 256;
  const reps = cuda ? 4 : 16;
  const name = `ceiling: FMA peak, runtime matmul ${n}³ ×${reps}`;
  const how = `ops.matmul f32 ${n}×${n}·${n}×${n}, ${reps} enqueued per timed run (${cuda ? 'fills the GPU' : 'in cache'}), 2·n³ flops each`;
  const a = randomTensor('f32', [n, n], device, 1, 1);
  const b = randomTensor('f32', [n, n], device, 1, 2);
  try {
    const t = await measureOp(device, () => Array.from({ length: reps }, () => ops.matmul(a, b)), { budgetMs: 1500 });
    const gflops = (reps * 2 * n ** 3) / (t.median * 1e6);
    emit(ceilingRow(device, name, t, gflops, 'GFLOP/s', how));
    return { value: gflops, unit: 'GFLOP/s', label: `runtime matmul ${n}³` };
  } catch (e) {
    emit(failedRow(device, name, e, how));
    return null;
  } finally {
    a.dispose();
    b.dispose();
  }
}

/**
 * The CPU's own ceilings from native probes on the kernel threads: an in-register FMA loop (AVX-512 or AVX2,
 * 12 independent accumulators) and a 256 MB multi-threaded memcpy. Kernels are compared against these.
 */
async function nativeCpuCeilings(): Promise<{ fma: Ceiling; copy: Ceiling; read: Ceiling }> {
  const t0 = performance.now();
  const c = await measureCpuCeilings(400);
  const ms = performance.now() - t0;
  const t: Timing = { median: ms, min: ms, runs: 1 };
  const fmaHow = `native ${c.fmaIsa} FMA loop in registers on every kernel thread (2 FLOPs per FMA lane)`;
  const copyHow =
    'native memcpy of 256 MB split across the kernel threads, best of several; read + write bytes counted';
  emit(ceilingRow('cpu', `ceiling: FMA peak, native ${c.fmaIsa} loop`, t, c.fmaGflops, 'GFLOP/s', fmaHow));
  emit(ceilingRow('cpu', 'ceiling: memory copy, native memcpy 256 MB', t, c.copyGBps, 'GB/s', copyHow));
  const readHow = 'native sum over a 1 GB buffer (2× the largest L3 here) split across the kernel threads; bytes read';
  emit(ceilingRow('cpu', 'ceiling: memory read, native 1 GB sum', t, c.readGBps, 'GB/s', readHow));
  return {
    fma: { value: c.fmaGflops, unit: 'GFLOP/s', label: `native ${c.fmaIsa} FMA loop` },
    copy: { value: c.copyGBps, unit: 'GB/s', label: 'native memcpy 256 MB' },
    read: { value: c.readGBps, unit: 'GB/s', label: 'native 1 GB sum' },
  };
}

function ceilingRow(
  device: string,
  name: string,
  t: Timing,
  value: number,
  unit: string,
  how: string,
): Omit<Row, 'path'> {
  return {
    device,
    name,
    median_ms: t.median,
    min_ms: t.min,
    runs: t.runs,
    throughput: value,
    unit,
    ratio: null,
    ratio_of: null,
    target: null,
    meets: null,
    how,
  };
}

function failedRow(device: string, name: string, e: unknown, how?: string): Omit<Row, 'path'> {
  return {
    device,
    name,
    median_ms: null,
    min_ms: null,
    runs: 0,
    throughput: null,
    unit: null,
    ratio: null,
    ratio_of: null,
    target: null,
    meets: null,
    ...(how ? { how } : {}),
    error: message(e),
  };
}

/** The best of the measured ceilings (the one a kernel could at least reach). */
function best(cs: (Ceiling | null)[]): Ceiling | null {
  return cs.reduce<Ceiling | null>((acc, c) => (c && (!acc || c.value > acc.value) ? c : acc), null);
}

// ---------------------------------------------------------------- kernels

type Goal =
  | { kind: 'ceiling'; ceiling: Ceiling | null; what: string; min: number }
  | { kind: 'budget'; budgetMs: number }
  | { kind: 'none' };

/**
 * The read ceiling for a row that streams from memory. The read rate of these shared hosts drifts by a third
 * within minutes: measured again just before the row, the higher of that and the run's first figure.
 */
async function readCeilingNow(start: Ceiling): Promise<Ceiling> {
  const again = (await measureCpuCeilings(300)).readGBps;
  return again > start.value ? { ...start, value: again, label: 'native 1 GB sum, just before this row' } : start;
}

/**
 * Run one kernel row: `setup` makes the inputs (not timed), `enqueue` the op; `work` is the flops or bytes
 * of one run (converted to `unit` per second). Failures anywhere become an n/a row.
 */
async function kernel(
  device: Device,
  name: string,
  spec: {
    setup: () => Tensor[];
    enqueue: (inputs: Tensor[], run: number) => Tensor[];
    work?: { amount: number; unit: 'GFLOP/s' | 'GB/s' };
    goal: Goal;
    readBack?: boolean;
  },
): Promise<void> {
  if (onlyRows !== undefined && !name.includes(onlyRows)) return;
  let inputs: Tensor[] = [];
  try {
    inputs = spec.setup();
    let run = 0;
    const t = await measureOp(device, () => spec.enqueue(inputs, run++), { readBack: spec.readBack });
    const throughput = spec.work ? spec.work.amount / (t.median * 1e6) : null;
    let ratio: number | null = null;
    let ratioOf: string | null = null;
    let target: string | null = null;
    let meets: boolean | null = null;
    const g = spec.goal;
    if (g.kind === 'ceiling') {
      target = `≥ ${g.min}`;
      // The scalar path has no FMA probe (its ceiling reads 0): no ratio then, rather than Infinity.
      if (g.ceiling && g.ceiling.value > 0 && throughput !== null) {
        ratio = throughput / g.ceiling.value;
        ratioOf = `${g.what} ${g.ceiling.value.toFixed(1)} ${g.ceiling.unit} (${g.ceiling.label})`;
        meets = ratio >= g.min;
      } else ratioOf = `${g.what} (not measured)`;
    } else if (g.kind === 'budget') {
      ratio = t.median / g.budgetMs;
      ratioOf = `${g.budgetMs} ms budget (median / budget)`;
      target = '≤ 1';
      meets = ratio <= 1;
    }
    emit({
      device,
      name,
      median_ms: t.median,
      min_ms: t.min,
      runs: t.runs,
      throughput,
      unit: spec.work?.unit ?? null,
      ratio,
      ratio_of: ratioOf,
      target,
      meets,
    });
  } catch (e) {
    emit(failedRow(device, name, e));
  } finally {
    for (const t of inputs) t.dispose();
    gc();
  }
}

async function benchDevice(device: Device): Promise<void> {
  // Ceilings. On the CPU the JS copies need nothing from the runtime; the runtime's own copy may do better
  // with its threads. On a GPU only the runtime's copy measures device memory.
  // On the CPU the native probes set the ceilings; the JS and runtime copies are shown for comparison.
  // On a GPU only the runtime's own copy and matmul can measure the device.
  const native = device === 'cpu' ? await nativeCpuCeilings() : null;
  const copies =
    device === 'cpu' ? [await hostCopyCeiling('Buffer.copy'), await hostCopyCeiling('TypedArray.set')] : [];
  gc();
  const runtimeCopy = await runtimeCopyCeiling(device);
  gc();
  const bandwidth = native ? native.copy : best([...copies, runtimeCopy]);
  const fma = native ? native.fma : await fmaCeiling(device);

  // fp32 GEMM, the prefill shape of the work: compute-bound.
  const N = 1024;
  await kernel(device, 'gemm f32 1024³ (matmul)', {
    setup: () => [randomTensor('f32', [N, N], device, 1, 3), randomTensor('f32', [N, N], device, 1, 4)],
    enqueue: ([a, b]) => [ops.matmul(a, b)],
    work: { amount: 2 * N ** 3, unit: 'GFLOP/s' },
    goal: { kind: 'ceiling', ceiling: fma, what: 'FMA peak', min: 0.6 },
  });

  // The models' prefill shapes: 512 tokens through LLaMA-7B's MLP projection (f32 weights, and q8 weights,
  // which take the int8 kernel on every SIMD path), and the ViT-g MLP over its 257 tokens.
  for (const [label, M, K, Nout, wd] of [
    ['gemm f32 512×4096→11008 (linear, LLaMA-7B prefill)', 512, 4096, 11008, 'f32'],
    ['gemm f32 257×1408→6144 (linear, ViT-g MLP)', 257, 1408, 6144, 'f32'],
    ['linear q8 512×4096→11008 (int8 prefill)', 512, 4096, 11008, 'q8'],
  ] as const) {
    await kernel(device, label, {
      setup: () => [randomTensor('f32', [M, K], device, 1, 16), randomTensor(wd, [Nout, K], device, 0.05, 17)],
      enqueue: ([x, w]) => [ops.linear(x, w)],
      work: { amount: 2 * M * K * Nout, unit: 'GFLOP/s' },
      goal: { kind: 'ceiling', ceiling: fma, what: 'f32 FMA peak', min: 0.6 },
    });
  }

  // LLaMA-7B decode: one token through an MLP projection; must stream the weight once.
  for (const dtype of ['f32', 'bf16', 'q8'] as const) {
    const shape = [11008, 4096];
    await kernel(device, `gemv ${dtype} x[1,4096]·w[11008,4096]ᵀ (linear)`, {
      setup: () => [randomTensor('f32', [1, 4096], device, 1, 5), randomTensor(dtype, shape, device, 0.05, 6)],
      enqueue: ([x, w]) => [ops.linear(x, w)],
      work: { amount: byteLength(dtype, shape), unit: 'GB/s' },
      goal: { kind: 'ceiling', ceiling: bandwidth, what: 'bandwidth', min: 0.85 },
    });
  }

  // The 1B model's decode (llama-core bench): its q8 projections are small, 0.5–11.5 MB each, so fixed costs
  // per call (waking the threads, the first misses of each stream) weigh more than in the 7B row above. Each
  // timed run enqueues the call 16 times (a step's 16 layers) before it waits, as a decode step does: waiting
  // after each call timed the round trip to JS (20–40 µs), not the kernel (the k/v row read 0.29–0.46 that way).
  const calls = 16;
  for (const [what, N, K] of [
    ['gate/up', 5632, 2048],
    ['down', 2048, 5632],
    ['q/o', 2048, 2048],
    ['k/v', 256, 2048],
    ['lm head', 32000, 2048],
  ] as const) {
    await kernel(device, `gemv q8 x[1,${K}]·w[${N},${K}]ᵀ (1B decode: ${what}, ${calls} calls per run)`, {
      setup: () => [randomTensor('f32', [1, K], device, 1, 5), randomTensor('q8', [N, K], device, 0.05, 6)],
      enqueue: ([x, w]) => Array.from({ length: calls }, () => ops.linear(x, w)),
      work: { amount: calls * byteLength('q8', [N, K]), unit: 'GB/s' },
      goal: { kind: 'ceiling', ceiling: bandwidth, what: 'bandwidth', min: 0.85 },
    });
  }

  // The same projections as a decode step meets them: every layer's weights in turn, 740 MB in all (more than
  // any L3 here), so each is read from memory; against the read ceiling, as a decode step only reads. One row per
  // weight dtype: the same bytes, so f32 holds a quarter of q8's rows and bf16 half.
  if (native) {
    for (const [dtype, rows, what] of [
      ['q8', 16 * 5632, '1B gate/up of 16 layers'],
      ['bf16', 8 * 5632, '1B gate/up of 8 layers'],
      ['f32', 4 * 5632, '1B gate/up of 4 layers'],
    ] as const) {
      const shape = [rows, 2048];
      const name = `gemv ${dtype} x[1,2048] through 4 × w[${rows},2048] (${what}, from memory)`;
      if (onlyRows !== undefined && !name.includes(onlyRows)) continue;
      const read = await readCeilingNow(native.read);
      await kernel(device, name, {
        setup: () => [
          randomTensor('f32', [1, 2048], device, 1, 5),
          ...[0, 1, 2, 3].map((i) => randomTensor(dtype, shape, device, 0.05, 30 + i)),
        ],
        enqueue: ([x, ...ws]) => ws.map((w) => ops.linear(x, w)),
        work: { amount: 4 * byteLength(dtype, shape), unit: 'GB/s' },
        goal: { kind: 'ceiling', ceiling: read, what: 'read bandwidth', min: 0.85 },
      });
    }
  }

  // Decode attention: one query over a 2048-token KV cache; streams K and V once. Each run takes the next of
  // several caches, 512 MB in all (a decode step reads each layer's cache in turn): one cache read again and
  // again is partly served by the L3 of these hosts (f32: 23.6 GB/s that way where the caches in turn gave 13).
  for (const dtype of ['f32', 'bf16'] as const) {
    const kv = [1, 2048, 32, 128];
    const caches = Math.ceil((512 * MB) / (2 * byteLength(dtype, kv)));
    const name = `attention ${dtype} 1 query × 2048 keys, 32 heads, D 128 (${caches} caches in turn)`;
    if (onlyRows !== undefined && !name.includes(onlyRows)) continue;
    const read = native ? await readCeilingNow(native.read) : undefined;
    await kernel(device, name, {
      setup: () => [
        randomTensor(dtype, [1, 1, 32, 128], device, 1, 7),
        ...Array.from({ length: 2 * caches }, (_, i) => randomTensor(dtype, kv, device, 1, 8 + i)),
      ],
      enqueue: ([q, ...kvs], run) => {
        const c = run % caches;
        return [ops.attention(q, kvs[2 * c], kvs[2 * c + 1])];
      },
      work: { amount: 2 * byteLength(dtype, kv), unit: 'GB/s' },
      goal: read
        ? { kind: 'ceiling', ceiling: read, what: 'read bandwidth', min: 0.7 }
        : { kind: 'ceiling', ceiling: bandwidth, what: 'bandwidth', min: 0.7 },
    });
  }

  // The diffusion decoder's convolutions (SD 2.1 at 512 and 768 pixels: the UNet with CFG batch 2, the VAE's
  // decoder at batch 1): compute-bound. On the CPU each 3×3 stride-1 row runs twice: by the direct (implicit
  // im2col) GEMM, whose GFLOP/s are real FLOPs against the FMA peak, and by Winograd F(2×2, 3×3), where the
  // auto choice takes it (conv_algo.h), counted in the direct convolution's FLOPs ("equivalent", so over 1.0
  // of the FMA peak is possible: it does 2.25× fewer multiply-adds).
  const convs: [string, number, number, number, number, number, number, DType][] = [
    // [label, B, Cin, Cout, H (= W), kernel, stride, weight dtype]
    ['320→320 3×3 64×64, B 2 (UNet)', 2, 320, 320, 64, 3, 1, 'f32'],
    ['320→320 3×3 96×96, B 2 (UNet)', 2, 320, 320, 96, 3, 1, 'f32'],
    ['320→320 3×3 96×96 bf16 w, B 2 (UNet)', 2, 320, 320, 96, 3, 1, 'bf16'],
    ['320→320 3×3 s2 64×64, B 2 (UNet)', 2, 320, 320, 64, 3, 2, 'f32'],
    ['640→640 3×3 32×32, B 2 (UNet)', 2, 640, 640, 32, 3, 1, 'f32'],
    ['1280→1280 3×3 16×16, B 2 (UNet)', 2, 1280, 1280, 16, 3, 1, 'f32'],
    ['1280→1280 3×3 8×8, B 2 (UNet)', 2, 1280, 1280, 8, 3, 1, 'f32'],
    ['640→320 1×1 64×64, B 2 (UNet)', 2, 640, 320, 64, 1, 1, 'f32'],
    ['512→512 3×3 128×128 (VAE)', 1, 512, 512, 128, 3, 1, 'f32'],
    ['128→128 3×3 512×512 (VAE)', 1, 128, 128, 512, 3, 1, 'f32'],
  ];
  for (const [label, B, Cin, Cout, H, k, stride, wd] of convs) {
    const padding = (k - 1) / 2;
    const Ho = Math.floor((H + 2 * padding - k) / stride) + 1;
    const winograd =
      device === 'cpu' &&
      k === 3 &&
      stride === 1 &&
      convAlgorithmFor([B, Cin, H, H], [Cout, Cin, k, k], { stride, padding }) === 'winograd';
    const algorithms: ConvAlgorithm[] = device !== 'cpu' ? ['auto'] : winograd ? ['direct', 'winograd'] : ['direct'];
    for (const algorithm of algorithms) {
      if (device === 'cpu') await setConvAlgorithm(algorithm);
      const by = device !== 'cpu' ? '' : algorithm === 'winograd' ? ' winograd (equivalent GFLOP/s)' : ' direct';
      await kernel(device, `conv2d ${label}${by}`, {
        setup: () => [
          randomTensor('f32', [B, Cin, H, H], device, 1, 13),
          randomTensor(wd, [Cout, Cin, k, k], device, 0.05, 14),
          randomTensor('f32', [Cout], device, 1, 15),
        ],
        enqueue: ([x, w, b]) => [ops.conv2d(x, w, b, { stride, padding })],
        work: { amount: 2 * B * Cout * Cin * k * k * Ho * Ho, unit: 'GFLOP/s' },
        goal: { kind: 'ceiling', ceiling: fma, what: 'FMA peak', min: 0.5 },
      });
    }
    if (device === 'cpu') await setConvAlgorithm('auto');
  }

  // Long-sequence attention: the UNet's self-attention at 64×64 latents (5 heads of 64 over 4,096 tokens, CFG
  // batch 2) and the VAE mid-block's single head of 512 over 4,096 tokens (a 512×512 image); 4·T²·D flops a head.
  for (const [label, B, T, H, D] of [
    ['UNet self 2×5 heads D 64 × 4096 tokens', 2, 4096, 5, 64],
    ['VAE mid 1 head D 512 × 4096 tokens', 1, 4096, 1, 512],
  ] as const) {
    await kernel(device, `attention f32 ${label}`, {
      setup: () => [1, 2, 3].map((seed) => randomTensor('f32', [B, T, H, D], device, 1, 20 + seed)),
      enqueue: ([q, k, v]) => [ops.attention(q, k, v)],
      work: { amount: 4 * B * H * T * T * D, unit: 'GFLOP/s' },
      goal: { kind: 'ceiling', ceiling: fma, what: 'FMA peak', min: 0.3 },
    });
  }

  // SEED quantizer: 32 query vectors against an 8192 × 32 codebook; the ids are needed on the host.
  await kernel(device, 'codebook nearest 32×8192×32', {
    setup: () => [randomTensor('f32', [32, 32], device, 1, 10), randomTensor('f32', [8192, 32], device, 1, 11)],
    enqueue: ([z, cb]) => [ops.codebookNearest(z, cb)],
    work: { amount: 3 * 32 * 8192 * 32, unit: 'GFLOP/s' },
    goal: { kind: 'budget', budgetMs: 1 },
    readBack: true,
  });
  await kernel(device, 'codebook lookup 32×8192×32 (nearest + gather)', {
    setup: () => [randomTensor('f32', [32, 32], device, 1, 10), randomTensor('f32', [8192, 32], device, 1, 11)],
    enqueue: ([z, cb]) => {
      const ids = ops.codebookNearest(z, cb);
      return [ids, ops.embedding(cb, ids)];
    },
    goal: { kind: 'budget', budgetMs: 1 },
    readBack: true,
  });

  // One decoding step's sampler over SEED-LLaMA's vocabulary (32000 words + 8192 codes + specials).
  await kernel(device, 'sample top-p 0.9 over 40194 logits', {
    setup: () => [tensor(randomF32(40194, 8, 12), [1, 40194], { device })],
    enqueue: ([logits], run) => [ops.sample(logits, { temperature: 0.8, topP: 0.9, seed: 42, counter: run })],
    goal: { kind: 'budget', budgetMs: 1 },
    readBack: true,
  });
}

// ---------------------------------------------------------------- output

function fmtMs(ms: number | null, error?: string): string {
  if (ms === null) return `n/a (${error ?? 'failed'})`;
  return ms < 10 ? ms.toFixed(3) : ms.toFixed(1);
}

const deviceLabel = (r: Row) => (r.path ? `${r.device} ${r.path}` : r.device);

/** The CPU line of the headers: the path the kernels run, every path this CPU has, its features, threads. */
const cpuHeader = () => `${cpuPathSummary()}; ${runtimeInfo().threads} threads`;

function printTable(): void {
  const info = runtimeInfo();
  const head = ['device', 'benchmark', 'median ms', 'throughput', 'ratio', 'ratio of', 'target', 'note'];
  const body = rows.map((r) => {
    if (r.error !== undefined) return [deviceLabel(r), r.name, 'n/a', '', '', '', '', `n/a (${r.error})`];
    const tp = r.throughput === null ? '' : `${r.throughput.toFixed(1)} ${r.unit}`;
    const ratio = r.ratio === null ? '' : r.ratio.toFixed(2);
    const verdict = r.meets === null ? '' : r.meets ? 'ok' : 'MISSED';
    const note = r.how ?? (r.ratio_of && r.ratio === null ? '' : verdict);
    return [deviceLabel(r), r.name, fmtMs(r.median_ms), tp, ratio, r.ratio_of ?? '', r.target ?? '', note];
  });
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  console.log(
    `seed kernel bench — ${cpus()[0]?.model ?? 'cpu'}; addon ${info.version}, ${info.simd}, ${info.threads} threads`,
  );
  console.log(cpuHeader());
  console.log(
    `CUDA: ${info.cudaCompiled ? 'compiled' : 'not compiled'}${info.cudaUnavailableReason ? `, unavailable: ${info.cudaUnavailableReason}` : ''}`,
  );
  console.log('');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) console.log(line(row));
}

async function main(): Promise<void> {
  if (asJson) process.stdout.write(`${JSON.stringify({ header: cpuHeader(), cpu: runtimeInfo().simd })}\n`);
  else if (process.stderr.isTTY) process.stderr.write(`${cpuHeader()}\n`);
  const list = devices().filter((d) => onlyDevice === undefined || d === onlyDevice);
  if (list.length === 0) throw new Error(`device ${onlyDevice} is not available (usable: ${devices().join(', ')})`);
  for (const device of list) await benchDevice(device);
  if (!asJson) printTable();
  const mem = memoryInfo();
  if (mem.cpuTensors + mem.cudaTensors > 0)
    process.stderr.write(`bench: ${mem.cpuTensors + mem.cudaTensors} tensor(s) were not disposed\n`);
}

main().catch((e) => {
  process.stderr.write(`bench: ${message(e)}\n`);
  process.exitCode = 1;
});
