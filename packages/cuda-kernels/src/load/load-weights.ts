/**
 * The one weight loader every model package uses: a model's spec tree + its open weight files + the load
 * options → the same tree of tensors on the chosen device and precision.
 *
 *   1. locate every spec (first source present wins) and collect every problem — missing, misshapen, and
 *      (under the model's `unexpected: 'error'` policy) unexpected tensors — into one Error;
 *   2. estimate the bytes the weights take at the chosen precision (+ the model's extra, e.g. a KV cache)
 *      and refuse up front when the device cannot hold them;
 *   3. load tensor by tensor (quantizing int8 matrices on the CPU before moving them), reporting progress,
 *      and dispose everything already loaded if anything fails.
 */
import { totalmem } from 'node:os';
import { dtypeSize } from '../dtype.js';
import { nativeDType, type WeightFile } from '../io/types.js';
import { cast } from '../ops.js';
import { requireDevice, runtimeInfo, synchronize } from '../runtime.js';
import type { Device, Tensor } from '../tensor.js';
import {
  isJoinedSpec,
  isWeightSpec,
  type Loaded,
  listSpecs,
  loadedTensors,
  type WeightSource,
  type WeightSpec,
  type WeightTree,
} from './spec.js';

/** The precision asked at load: as stored, a float dtype, or int8 (per-row scales) for the matrices. */
export type LoadDType = 'auto' | 'f32' | 'f16' | 'bf16' | 'int8';

export const LOAD_DTYPES: readonly LoadDType[] = ['auto', 'f32', 'f16', 'bf16', 'int8'];

export interface LoadWeightsOptions<T extends WeightTree> {
  /** The model's weight declaration. */
  specs: T;
  /** One file, or the files by role (a string instead of a file says why that file is absent). */
  files: WeightFile | Readonly<Record<string, WeightFile | string>>;
  /** What is loaded and from where, for messages, e.g. "the tokenizer" and its directory. */
  what: string;
  source: string;
  /** Default 'auto'. */
  dtype?: LoadDType;
  /** Default 'cpu'. */
  device?: Device | string;
  /**
   * Checkpoint tensors no spec asks for: 'error' refuses the files (a checkpoint of another model size or
   * architecture), 'list' accepts them and returns them in `unused` (files that carry training-only parts).
   */
  unexpected: 'error' | 'list';
  /** Tensors never reported as unexpected or unused (known harmless buffers). */
  ignore?: readonly RegExp[];
  /** Memory the model needs beyond its weights, e.g. a KV cache, with what it is for the message. */
  extra?: { bytes: number; what: string };
  /** Appended to a refusal for lack of memory, e.g. "try --dtype int8". */
  memoryHint?: string;
  /** Called after each tensor is loaded. */
  onProgress?: (loaded: number, total: number, name: string) => void;
}

export interface LoadedWeights<T extends WeightTree> {
  weights: Loaded<T>;
  device: Device;
  /** Bytes the loaded weights occupy on the device (as estimated before loading). */
  bytes: number;
  /** Tensors in the files that no spec uses, as "file: name" (empty under `unexpected: 'error'`). */
  unused: string[];
  /** Free every loaded tensor. */
  dispose(): void;
}

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

const list = (xs: readonly string[], sep = ', ') =>
  `${xs.slice(0, 8).join(sep)}${xs.length > 8 ? ` (+${xs.length - 8} more)` : ''}`;

/** A spec resolved to the file and name it is read from. */
interface Located {
  spec: WeightSpec;
  path: string;
  file: WeightFile;
  name: string;
}

export async function loadWeights<T extends WeightTree>(options: LoadWeightsOptions<T>): Promise<LoadedWeights<T>> {
  const device = requireDevice(options.device ?? 'cpu');
  const dtype = options.dtype ?? 'auto';
  if (!LOAD_DTYPES.includes(dtype))
    throw new Error(`unknown weight dtype '${dtype}' (expected ${LOAD_DTYPES.join(', ')})`);
  const files = isWeightFile(options.files) ? { weights: options.files } : options.files;
  const roles = Object.keys(files);
  if (roles.length === 0) throw new Error(`${options.source}: no weight files given`);
  const fileOf = (role: string | undefined) => files[role ?? roles[0]];

  // ---- 1. locate every spec; collect all problems before failing ----
  const located = new Map<WeightSpec, Located>();
  const missing: string[] = [];
  const misshapen: string[] = [];
  for (const { path, spec } of listSpecs(options.specs)) {
    const found = spec.sources
      .map((s) => ({ s, file: fileOf(s.file) }))
      .find((c): c is { s: WeightSource; file: WeightFile } => typeof c.file === 'object' && c.file.has(c.s.name));
    if (!found) {
      const absent = spec.sources.map((s) => fileOf(s.file)).find((f) => typeof f === 'string');
      missing.push(`${spec.sources[0].name}${absent ? ` (${absent})` : ''}`);
      continue;
    }
    const shape = found.file.info(found.s.name).shape;
    if (shape.join('x') !== spec.shape.join('x'))
      misshapen.push(`${found.s.name} is [${shape.join(', ')}], expected [${spec.shape.join(', ')}]`);
    located.set(spec, { spec, path, file: found.file, name: found.s.name });
  }
  const used = new Set([...located.values()].map((l) => `${l.file.path}\0${l.name}`));
  const opened = [...new Set(Object.values(files).filter((f): f is WeightFile => typeof f === 'object'))];
  const unused = opened.flatMap((f) =>
    f.tensors
      .filter((t) => !used.has(`${f.path}\0${t.name}`) && !options.ignore?.some((re) => re.test(t.name)))
      .map((t) => (opened.length > 1 ? `${f.path}: ${t.name}` : t.name)),
  );
  const problems = [
    missing.length ? `missing: ${list(missing)}` : '',
    options.unexpected === 'error' && unused.length ? `unexpected: ${list(unused)}` : '',
    misshapen.length ? `misshapen: ${list(misshapen, '; ')}` : '',
  ].filter(Boolean);
  if (problems.length)
    throw new Error(
      `${options.source}: the weights of ${options.what} do not match its configuration — ${problems.join(' | ')}`,
    );

  // ---- 2. will it fit? ----
  let bytes = 0;
  for (const l of located.values()) bytes += loadedBytes(l, dtype);
  const need = bytes + (options.extra?.bytes ?? 0);
  const have =
    device === 'cpu' ? totalmem() : (runtimeInfo().cudaDevices.find((d) => d.name === device)?.memoryBytes ?? 0);
  if (need > have)
    throw new Error(
      `${options.what} needs ${gb(need)} on ${device} (weights at ${dtype}${options.extra ? ` + ${options.extra.what}` : ''}) but ${device} has ${gb(have)}${options.memoryHint ? `; ${options.memoryHint}` : ''}`,
    );

  // ---- 3. load, in declaration order ----
  const loaded: Tensor[] = [];
  let done = 0;
  const total = located.size;
  const loadOne = async (spec: WeightSpec): Promise<Tensor> => {
    const l = located.get(spec) as Located;
    let t = await loadLocated(l, dtype, device);
    loaded.push(t);
    if (spec.transform) {
      t = spec.transform(t);
      loaded.push(t);
    }
    options.onProgress?.(++done, total, l.name);
    if (done % 16 === 0) await new Promise((r) => setImmediate(r)); // let progress bars draw
    return t;
  };
  const build = async (node: WeightTree): Promise<unknown> => {
    if (node === undefined) return undefined;
    if (isWeightSpec(node)) return loadOne(node);
    if (isJoinedSpec(node)) {
      const parts: Tensor[] = [];
      for (const p of node.parts) parts.push(await loadOne(p));
      const t = node.join(parts);
      loaded.push(t);
      return t;
    }
    if (Array.isArray(node)) {
      const out: unknown[] = [];
      for (const child of node) out.push(await build(child));
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) out[key] = await build(child as WeightTree);
    return out;
  };
  let weights: Loaded<T>;
  try {
    weights = (await build(options.specs)) as Loaded<T>;
  } catch (e) {
    for (const t of loaded) t.dispose();
    throw e;
  }
  // Intermediates (a transform's input, a joined spec's parts) are not in the tree: free them now.
  const kept = new Set(loadedTensors(weights));
  for (const t of loaded) if (!kept.has(t)) t.dispose();
  return {
    weights,
    device,
    bytes,
    unused: options.unexpected === 'list' ? unused : [],
    dispose: () => {
      for (const t of kept) t.dispose();
    },
  };
}

function isWeightFile(x: unknown): x is WeightFile {
  return typeof (x as WeightFile).load === 'function' && typeof (x as WeightFile).has === 'function';
}

/** The dtype a located tensor is converted to on load (undefined: as stored), before any int8 quantization. */
function loadAs(l: Located, dtype: LoadDType): 'f32' | 'f16' | 'bf16' | undefined {
  if (l.spec.precision === 'f32') return 'f32';
  return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16' ? dtype : undefined;
}

const quantized = (l: Located, dtype: LoadDType) => dtype === 'int8' && l.spec.precision === 'matrix';

/** Bytes a located tensor occupies once loaded (int8: one byte per value + one f32 scale per row). */
function loadedBytes(l: Located, dtype: LoadDType): number {
  const n = l.spec.shape.reduce((a, b) => a * b, 1);
  if (quantized(l, dtype)) return n + 4 * l.spec.shape[0];
  const as = loadAs(l, dtype);
  return n * dtypeSize(as ?? nativeDType(l.file.info(l.name).dtype));
}

async function loadLocated(l: Located, dtype: LoadDType, device: Device): Promise<Tensor> {
  if (!quantized(l, dtype)) return l.file.load(l.name, { dtype: loadAs(l, dtype), device });
  // int8: quantize on the CPU, then move; wait for each quantization so peak memory stays one matrix over.
  const full = l.file.load(l.name, { device: 'cpu' });
  const q = cast(full, 'q8');
  full.dispose();
  await synchronize('cpu');
  if (device === 'cpu') return q;
  const moved = await q.to(device);
  q.dispose();
  return moved;
}
