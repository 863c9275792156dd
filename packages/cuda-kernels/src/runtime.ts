/** Devices, build information, memory accounting and stream synchronisation. */
import type { AddonInfo, AddonMemory } from './native/addon-types.js';
import { CONV_ALGORITHMS, type ConvAlgorithm, CPU_PATHS, type CpuPath, loadAddon } from './native/load-addon.js';
import type { Device } from './tensor.js';

// Which native binary is in use (a prebuilt package or a local build) and why the others were skipped.
export {
  type AddonCandidate,
  type AddonSelection,
  type AddonSource,
  addonSelection,
  CONV_ALGORITHMS,
  type ConvAlgorithm,
  CPU_PATHS,
  type CpuPath,
} from './native/load-addon.js';
export type { AddonInfo as RuntimeInfo, AddonMemory as MemoryInfo };

/** Version, CPU features in use, whether CUDA was compiled in, CUDA devices and why CUDA is unavailable. */
export function runtimeInfo(): AddonInfo {
  return loadAddon().info();
}

/** Devices that can run ops now: always 'cpu', plus each usable 'cuda:N'. */
export function devices(): Device[] {
  const info = loadAddon().info();
  return ['cpu', ...info.cudaDevices.map((d) => d.name as Device)];
}

/** Parse and check a device name; throws an Error saying why a CUDA device cannot be used. */
export function requireDevice(name: string): Device {
  if (name === 'cpu') return 'cpu';
  const m = /^cuda(?::(\d{1,3}))?$/.exec(name);
  if (!m) throw new Error(`unknown device '${name}' (expected 'cpu' or 'cuda:N')`);
  const device = `cuda:${m[1] ?? 0}` as Device;
  const info = loadAddon().info();
  if (!info.cudaDevices.some((d) => d.name === device)) {
    const why = info.cudaUnavailableReason ?? `${info.cudaDevices.length} CUDA device(s) present`;
    throw new Error(`device ${device} is not available: ${why}`);
  }
  return device;
}

/** Resolves once every op enqueued on the device so far has run. */
export function synchronize(device: Device = 'cpu'): Promise<void> {
  return loadAddon().synchronize(device);
}

/** Live native tensors and bytes per device kind, and the freed CPU buffers kept for reuse. */
export function memoryInfo(): AddonMemory {
  return loadAddon().memory();
}

/**
 * Frees the CPU buffers the runtime keeps for reuse. Freed storages are kept (up to SEED_CPU_CACHE_MB,
 * default 1024; 0 turns it off) for the next allocation of the same size, which then skips malloc (contended
 * between the JS and stream threads), a page fault and a kernel zero-fill per 4 KiB; call this to give that
 * memory back to the system.
 */
export function releaseCachedMemory(): void {
  loadAddon().releaseCachedMemory();
}

/** One row of the CPU kernel profile: an op (with its input dtypes and shapes in 'shapes' mode). */
export interface KernelProfileRow {
  key: string;
  calls: number;
  /** Milliseconds inside the kernel on the CPU stream (threads included), summed over the calls. */
  ms: number;
}

/**
 * Times every CPU kernel from now on, keyed by op name ('ops') or by op name and input shapes ('shapes');
 * 'off' stops timing (the default: no cost). Clears what was recorded before. Read it with kernelProfile()
 * after `await synchronize()`. For finding where a model's time goes, e.g. the diffusion decoder's
 * `bench --profile`; it counts the kernels' own time, not queueing, allocation or JS.
 */
export function profileKernels(mode: 'off' | 'ops' | 'shapes'): void {
  const addon = loadAddon();
  addon.setKernelProfile(mode === 'off' ? 0 : mode === 'ops' ? 1 : 2);
  addon.resetKernelProfile();
}

/** What profileKernels recorded so far, slowest first. */
export function kernelProfile(): KernelProfileRow[] {
  return loadAddon()
    .kernelProfile()
    .sort((a, b) => b.ms - a.ms);
}

/**
 * Runs fn with the CPU kernels timed ('shapes': per op and input shapes; 'ops': per op) and returns a report:
 * the 15 (or `top`) slowest rows, the time by op, and the kernels' share of the wall time — the lines the
 * benches print with --profile.
 */
export async function profileDuring(
  what: string,
  fn: () => Promise<void>,
  options: { mode?: 'ops' | 'shapes'; top?: number } = {},
): Promise<string[]> {
  await loadAddon().synchronize('cpu');
  profileKernels(options.mode ?? 'shapes');
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    await loadAddon().synchronize('cpu');
  }
  const wall = performance.now() - t0;
  const rows = kernelProfile();
  profileKernels('off');
  const total = rows.reduce((s, r) => s + r.ms, 0);
  const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`);
  const lines = [`profile: ${what}: ${ms(wall)} wall, ${ms(total)} in CPU kernels; slowest:`];
  for (const r of rows.slice(0, options.top ?? 15))
    lines.push(`  ${ms(r.ms).padStart(9)} ${String(r.calls).padStart(5)}× ${r.key}`);
  const byOp = new Map<string, number>();
  for (const r of rows) byOp.set(r.key.split(' ')[0], (byOp.get(r.key.split(' ')[0]) ?? 0) + r.ms);
  lines.push(
    `  by op: ${[...byOp]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${ms(v)}`)
      .join(', ')}`,
  );
  return lines;
}

/**
 * One line for bench headers and logs: the CPU path the kernels run (with the SEED_CPU_PATH cap, if any), every
 * path this CPU has, and its features, e.g. `CPU path amx; paths here: scalar avx2 avx512 amx; features: …`.
 */
export function cpuPathSummary(): string {
  const info = runtimeInfo();
  const feats = Object.entries(info.cpuFeatures)
    .filter(([, on]) => on)
    .map(([k]) => k);
  const cap = info.cpuPathEnv ? ` (SEED_CPU_PATH=${info.cpuPathEnv})` : '';
  return `CPU path ${info.simd}${cap}; paths here: ${(info.simdPaths ?? [info.simd]).join(' ')}; features: ${feats.join(' ') || 'none'}`;
}

/** The SIMD paths this CPU can run, slowest first ('scalar' always; 'avx2', 'avx512', 'amx' when present). */
export function cpuPaths(): CpuPath[] {
  const info = loadAddon().info();
  return info.simdPaths ?? CPU_PATHS.slice(0, CPU_PATHS.indexOf(info.simd) + 1);
}

/**
 * Caps the SIMD path of the CPU kernels (for tests and benchmarks; SEED_CPU_PATH does the same at start-up).
 * Ops enqueued before the call still run on the old path; resolves, with the path now in use (the cap or the
 * best this CPU has, whichever is lower), once the CPU stream has switched.
 */
export async function setCpuPath(path: CpuPath): Promise<CpuPath> {
  if (!CPU_PATHS.includes(path)) throw new Error(`setCpuPath: path must be one of ${CPU_PATHS.join(', ')}`);
  const used = loadAddon().setCpuPath(path);
  await loadAddon().synchronize('cpu');
  return used;
}

/**
 * How the CPU conv2d computes 3×3 stride-1 padding-1 convolutions: 'auto' (the default: Winograd F(2×2, 3×3)
 * where it was measured faster, else the implicit-im2col GEMM), 'direct' or 'winograd' (every such convolution).
 * Both agree with the reference within the f32 tolerance; this is for tests and benchmarks (SEED_CPU_CONV does the
 * same at start-up). Resolves once the CPU stream has switched; ops enqueued before still use the old choice.
 */
export async function setConvAlgorithm(algorithm: ConvAlgorithm): Promise<ConvAlgorithm> {
  if (!CONV_ALGORITHMS.includes(algorithm))
    throw new Error(`setConvAlgorithm: algorithm must be one of ${CONV_ALGORITHMS.join(', ')}`);
  const used = loadAddon().setConvAlgorithm(algorithm);
  await loadAddon().synchronize('cpu');
  return used;
}

/**
 * What the CPU conv2d does for input [B, Cin, H, W] and weight [Cout, Cin, kh, kw] under the current choice
 * (setConvAlgorithm, after the ops enqueued before it have run): 'winograd' or 'direct'.
 */
export function convAlgorithmFor(
  x: readonly number[],
  w: readonly number[],
  opts: { stride: number; padding: number },
): 'direct' | 'winograd' {
  if (x.length !== 4 || w.length !== 4) throw new Error('convAlgorithmFor: x and w must be 4-D shapes');
  const [B, Cin, H, W] = x;
  const [Cout, , kh, kw] = w;
  return loadAddon().convAlgorithmFor(B, Cin, H, W, Cout, kh, kw, opts.stride, opts.padding);
}

/** Threads the CPU kernels use (default: the number of cores). */
export function setCpuThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error('thread count must be a positive integer');
  loadAddon().setThreads(n);
}

export interface CpuCeilings {
  /** fp32 GFLOP/s of an in-register FMA loop on every kernel thread (an FMA counts as 2 FLOPs). */
  fmaGflops: number;
  /** GB/s of a 256 MB multi-threaded memcpy, counting bytes read plus bytes written. */
  copyGBps: number;
  /**
   * GB/s of a multi-threaded sum over a 1 GB buffer (bytes read): the rate a decode step, which only reads its
   * weights, can stream them from memory. Lower than copyGBps, which counts both directions.
   */
  readGBps: number;
  /** The vector ISA the FMA loop used. */
  fmaIsa: 'avx512' | 'avx2' | 'scalar';
}

/** Measure this machine's own ceilings (for benchmarks): runs on the CPU stream for about 2 × ms. */
export async function measureCpuCeilings(ms = 300): Promise<CpuCeilings> {
  const d = new Float64Array(await loadAddon().measureCeilings(ms));
  return {
    fmaGflops: d[0],
    copyGBps: d[1],
    readGBps: d[3] ?? 0,
    fmaIsa: d[2] === 1 ? 'avx512' : d[2] === 2 ? 'avx2' : 'scalar',
  };
}
