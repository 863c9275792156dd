/** Devices, build information, memory accounting and stream synchronisation. */
import type { AddonInfo, AddonMemory } from './native/addon-types.js';
import { loadAddon } from './native/load-addon.js';
import type { Device } from './tensor.js';

// Which native binary is in use (a prebuilt package or a local build) and why the others were skipped.
export { type AddonCandidate, type AddonSelection, type AddonSource, addonSelection } from './native/load-addon.js';
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

/** Live native tensors and bytes per device kind. */
export function memoryInfo(): AddonMemory {
  return loadAddon().memory();
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
  /** The vector ISA the FMA loop used. */
  fmaIsa: 'avx512' | 'avx2' | 'scalar';
}

/** Measure this machine's own ceilings (for benchmarks): runs on the CPU stream for about 2 × ms. */
export async function measureCpuCeilings(ms = 300): Promise<CpuCeilings> {
  const d = new Float64Array(await loadAddon().measureCeilings(ms));
  return { fmaGflops: d[0], copyGBps: d[1], fmaIsa: d[2] === 1 ? 'avx512' : d[2] === 2 ? 'avx2' : 'scalar' };
}
