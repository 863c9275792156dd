/**
 * PyTorch checkpoint reader (`.pt`, `.pth`, `.bin` written by torch.save ≥ 1.6): a zip archive holding
 * `<archive>/data.pkl` (the pickled object, read by the restricted unpickler, never executed) and one STORED
 * entry per storage, `<archive>/data/<key>`. Tensors are views (offset, size, stride) of storages:
 * contiguous ones load as zero-copy views of the memory-mapped archive, strided ones are gathered into a
 * copy; tensors sharing a storage each get their own view. Nested dicts and lists are flattened into names
 * joined with "." (`{'linear': {'weight': t}}` → `linear.weight`), as state_dict() names them.
 */
import { basename } from 'node:path';
import { MappedFile } from '../tensor.js';
import { tensorFromStored } from './convert.js';
import {
  FILE_DTYPE_SIZE,
  type FileDType,
  type LoadOptions,
  type StoredBytes,
  type TensorInfo,
  type WeightFile,
} from './types.js';
import { isTuple, type PickleValue, type TensorRef, unpickle } from './unpickler.js';
import { readZipDirectory, type ZipEntry } from './zip.js';

const STORAGE_DTYPE: Record<string, FileDType> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** Nesting deeper than this is no state dict (and a cyclic pickle would otherwise recurse forever). */
const MAX_DEPTH = 64;
/** Containers visited while listing; bounds "billion laughs" pickles that share one list many times over. */
const MAX_NODES = 100_000;

/** A PyTorch zip checkpoint, memory-mapped. */
export class PytorchCheckpoint implements WeightFile {
  readonly tensors: TensorInfo[] = [];
  readonly #refs = new Map<string, TensorRef>();
  readonly #entries: Map<string, ZipEntry>;
  readonly #prefix: string;
  #file: MappedFile | undefined;
  #nodes = 0;

  /** Map `path`, read its zip directory and unpickle data.pkl; throws an Error naming the file on anything wrong. */
  constructor(readonly path: string) {
    const where = basename(path);
    const file = new MappedFile(path);
    const bytes = new Uint8Array(file.buffer);
    // The pre-1.6 format is a bare pickle stream (magic number first); older still, a tar archive.
    const isTar = bytes.byteLength >= 262 && new TextDecoder('latin1').decode(bytes.subarray(257, 262)) === 'ustar';
    const isZip = bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b;
    if (!isZip && ((bytes.byteLength >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) || isTar))
      throw new Error(
        `${where}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with torch >= 1.6 (torch.save(torch.load(f), f))`,
      );
    this.#entries = readZipDirectory(bytes, where);
    this.#file = file;
    const pkl = [...this.#entries.keys()].find((n) => n === 'data.pkl' || /^[^/]+\/data\.pkl$/.test(n));
    if (!pkl) throw new Error(`${where}: no data.pkl in the archive: not a PyTorch checkpoint`);
    this.#prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
    const order = this.#entries.get(`${this.#prefix}byteorder`);
    if (order && new TextDecoder().decode(this.#bytes(order)).trim() !== 'little')
      throw new Error(`${where}: big-endian checkpoints are not supported`);
    const root = unpickle(this.#bytes(this.#entries.get(pkl)!), `${where}: data.pkl`);
    if (!(root instanceof Map) && !(Array.isArray(root) && !isTuple(root)))
      throw new Error(`${where}: data.pkl holds no state dict (a dict or list of tensors)`);
    this.#collect(root, '', 0, new Set());
  }

  has(name: string): boolean {
    return this.#refs.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.#ref(name);
    return { name, dtype: STORAGE_DTYPE[t.storage.type], shape: [...t.size] };
  }

  load(name: string, options: LoadOptions = {}) {
    const v = this.#view(name);
    if (v.byteOffset !== undefined)
      return tensorFromStored(v.bytes, v.dtype, v.shape, options, v.what, { file: v.file, byteOffset: v.byteOffset });
    return tensorFromStored(v.bytes, v.dtype, v.shape, options, v.what);
  }

  stored(name: string): StoredBytes {
    const v = this.#view(name);
    return v.byteOffset !== undefined
      ? { path: this.path, byteOffset: v.byteOffset, byteLength: v.bytes.byteLength }
      : { bytes: v.bytes };
  }

  /** A tensor's bytes, checked against its storage: a view of the mapping when contiguous, else a gathered copy. */
  #view(name: string) {
    const t = this.#ref(name);
    const what = `${basename(this.path)}: tensor ${name}`;
    const file = this.#file;
    if (!file) throw new Error(`${basename(this.path)} was closed`);
    const dtype = STORAGE_DTYPE[t.storage.type];
    const es = FILE_DTYPE_SIZE[dtype];
    const entry = this.#entries.get(`${this.#prefix}data/${t.storage.key}`);
    if (!entry) throw new Error(`${what}: storage ${t.storage.key} is missing from the archive`);
    const storage = this.#bytes(entry);
    // The pickle's numel and the entry's size must agree on what exists; trust the smaller.
    const available = Math.min(t.storage.numel, Math.floor(storage.byteLength / es));
    const n = t.size.reduce((a, b) => a * b, 1);
    const layout = `offset ${t.offset}, size [${t.size.join(', ')}], stride [${t.stride.join(', ')}]`;
    if (!Number.isSafeInteger(n * es) || n * es > 2 ** 50)
      throw new Error(`${what}: size [${t.size.join(', ')}] is absurdly large`);
    // The furthest element this view touches must lie inside the storage.
    const last = n === 0 ? -1 : t.offset + t.size.reduce((acc, d, i) => acc + (d - 1) * t.stride[i], 0);
    if (n > 0 && last >= available)
      throw new Error(`${what}: view (${layout}) reaches element ${last} of a storage of ${available} elements`);
    // A strided copy can be far larger than its storage (stride 0 repeats elements): refuse absurd ones.
    if (n * es > 16 * storage.byteLength + (1 << 20))
      throw new Error(`${what}: view (${layout}) would expand a ${storage.byteLength}-byte storage to ${n * es} bytes`);

    let expected = 1;
    let contiguous = true;
    for (let d = t.size.length - 1; d >= 0; d--) {
      if (t.size[d] !== 1 && t.stride[d] !== expected) contiguous = false;
      expected *= t.size[d];
    }
    const shape = [...t.size];
    if (contiguous || n === 0) {
      const bytes = storage.subarray(t.offset * es, (t.offset + n) * es);
      return { what, file, dtype, shape, bytes, byteOffset: entry.dataOffset + t.offset * es };
    }
    return { what, file, dtype, shape, bytes: gather(storage, es, t), byteOffset: undefined };
  }

  close(): void {
    this.#file = undefined; // the mapping itself goes when no loaded tensor views it any more
  }

  #ref(name: string): TensorRef {
    const t = this.#refs.get(name);
    if (!t) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    return t;
  }

  #bytes(e: ZipEntry): Uint8Array {
    const where = basename(this.path);
    if (e.encrypted) throw new Error(`${where}: entry ${e.name} is encrypted`);
    if (e.compression !== 0)
      throw new Error(
        `${where}: entry ${e.name} is compressed (zip method ${e.compression}); torch.save writes uncompressed (STORED) entries, so re-save the checkpoint with torch.save`,
      );
    return new Uint8Array(this.#file!.buffer, e.dataOffset, e.size);
  }

  #collect(v: PickleValue, name: string, depth: number, path: Set<object>): void {
    const where = basename(this.path);
    const container = v instanceof Map || (Array.isArray(v) && !isTuple(v));
    if (container) {
      if (depth > MAX_DEPTH || path.has(v as object))
        throw new Error(`${where}: data.pkl nests too deeply or refers to itself (at ${name || 'the root'})`);
      if (++this.#nodes > MAX_NODES)
        throw new Error(`${where}: data.pkl holds too many containers (over ${MAX_NODES})`);
      path.add(v as object);
      const children: [PickleValue, PickleValue][] =
        v instanceof Map ? [...v] : (v as PickleValue[]).map((x, i) => [i, x]);
      for (const [k, x] of children) {
        if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint') continue; // e.g. tuple keys: no tensor names
        this.#collect(x, name ? `${name}.${String(k)}` : String(k), depth + 1, path);
      }
      path.delete(v as object);
      return;
    }
    if (!v || typeof v !== 'object' || (v as TensorRef).kind !== 'tensor') return; // numbers, strings, metadata…
    const t = v as TensorRef;
    const dtype = STORAGE_DTYPE[t.storage.type];
    if (!dtype) throw new Error(`${where}: tensor ${name} has an unsupported storage ${t.storage.type}`);
    if (
      t.size.length > 8 ||
      t.size.length !== t.stride.length ||
      t.size.some((d) => d < 0) ||
      t.stride.some((s) => s < 0) ||
      t.offset < 0
    )
      throw new Error(
        `${where}: tensor ${name} has an invalid layout (offset ${t.offset}, size [${t.size.join(', ')}], stride [${t.stride.join(', ')}])`,
      );
    if (this.#refs.has(name)) throw new Error(`${where}: two tensors are both named ${name}`);
    this.#refs.set(name, t);
    this.tensors.push({ name, dtype, shape: [...t.size] });
  }
}

/** Copy a strided view of `storage` (elements of `es` bytes) into a new row-major buffer. */
function gather(storage: Uint8Array, es: number, t: TensorRef): Uint8Array {
  const rank = t.size.length;
  const n = t.size.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n * es);
  const inner = t.size[rank - 1];
  const innerStride = t.stride[rank - 1] * es;
  const idx = new Array<number>(rank - 1).fill(0);
  let o = 0;
  for (let row = 0; row < n / inner; row++) {
    let src = t.offset;
    for (let d = 0; d < rank - 1; d++) src += idx[d] * t.stride[d];
    src *= es;
    for (let j = 0; j < inner; j++, src += innerStride) for (let b = 0; b < es; b++) out[o++] = storage[src + b];
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < t.size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
