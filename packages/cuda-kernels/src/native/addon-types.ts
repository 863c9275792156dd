/** Typed mirror of every export of the seed_kernels addon (native/addon.cpp). */

/** An opaque native tensor handle. */
export type NativeTensor = { readonly __nativeTensor: unique symbol };
/** An opaque handle to a memory-mapped file. */
export type NativeMapping = { readonly __nativeMapping: unique symbol };

export type NativeParams = Record<string, number | boolean | readonly number[] | undefined>;

/** How the CPU conv2d computes 3×3 convolutions (load-addon.ts CONV_ALGORITHMS). */
export type ConvAlgorithm = 'auto' | 'direct' | 'winograd';

export interface AddonInfo {
  version: string;
  cpuFeatures: {
    avx2: boolean;
    f16c: boolean;
    avx512f: boolean;
    avx512bw: boolean;
    avx512bf16: boolean;
    avx512vnni: boolean;
    /** AMX-TILE + AMX-INT8, with the OS's permission to use the tiles (older addons: absent). */
    amxInt8?: boolean;
  };
  /** The SIMD path the CPU kernels use now: the best this CPU has, capped by SEED_CPU_PATH or setCpuPath. */
  simd: 'amx' | 'avx512' | 'avx2' | 'scalar';
  /** Every path this CPU can run, slowest first (older addons: absent). */
  simdPaths?: ('amx' | 'avx512' | 'avx2' | 'scalar')[];
  /** SEED_CPU_PATH as the addon read it at start-up, or null when unset. */
  cpuPathEnv?: string | null;
  cpuPathEnvValid?: boolean;
  /** How the CPU conv2d computes 3×3 convolutions (SEED_CPU_CONV / setConvAlgorithm; older addons: absent). */
  convAlgorithm?: ConvAlgorithm;
  threads: number;
  cudaCompiled: boolean;
  cudaDevices: { name: string; description: string; memoryBytes: number }[];
  /** Why no CUDA device can be used, or null when at least one can. */
  cudaUnavailableReason: string | null;
}

export interface AddonMemory {
  cpuBytes: number;
  cpuTensors: number;
  cudaBytes: number;
  cudaTensors: number;
  /** Freed CPU buffers kept for reuse by allocations of the same size (not live tensors; SEED_CPU_CACHE_MB caps it). */
  cpuCachedBytes: number;
}

export interface Addon {
  create(
    device: string,
    dtype: number,
    shape: readonly number[],
    data?: ArrayBufferView | ArrayBuffer | null,
  ): NativeTensor;
  mapFile(path: string): { handle: NativeMapping; buffer: ArrayBuffer };
  fromMapping(mapping: NativeMapping, byteOffset: number, dtype: number, shape: readonly number[]): NativeTensor;
  enqueue(
    op: string,
    inputs: readonly NativeTensor[],
    outputs: readonly { dtype: number; shape: readonly number[] }[],
    params: NativeParams,
  ): NativeTensor[];
  read(t: NativeTensor): Promise<ArrayBuffer>;
  synchronize(device: string): Promise<void>;
  dispose(t: NativeTensor): void;
  /** A handle sharing t's storage with another shape of the same element count. */
  view(t: NativeTensor, shape: readonly number[]): NativeTensor;
  info(): AddonInfo;
  memory(): AddonMemory;
  releaseCachedMemory(): void;
  setThreads(n: number): void;
  /** Caps the CPU kernels' SIMD path in stream order; returns the path ops enqueued from now on run. */
  setCpuPath(path: 'scalar' | 'avx2' | 'avx512' | 'amx'): 'scalar' | 'avx2' | 'avx512' | 'amx';
  /** How the CPU conv2d computes 3×3 convolutions from now on, in stream order; returns the algorithm. */
  setConvAlgorithm(algorithm: ConvAlgorithm): ConvAlgorithm;
  /** What the CPU conv2d does for this shape under the current choice. */
  convAlgorithmFor(
    B: number,
    Cin: number,
    H: number,
    W: number,
    Cout: number,
    kh: number,
    kw: number,
    stride: number,
    padding: number,
  ): 'direct' | 'winograd';
  /** The op table's names (native/ops.def order); src/ops.ts OP_NAMES lists the same set. */
  opNames(): string[];
  /** CPU kernel timing: 0 off, 1 per op, 2 per op and input shapes (runtime.ts, profileKernels). */
  setKernelProfile(mode: 0 | 1 | 2): void;
  kernelProfile(): { key: string; calls: number; ms: number }[];
  resetKernelProfile(): void;
  /** Measure this CPU's FMA peak and copy bandwidth on the kernel threads: three doubles (GFLOP/s, GB/s, isa code). */
  measureCeilings(ms: number): Promise<ArrayBuffer>;
}
