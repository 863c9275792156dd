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
import { isTuple, type PickleValue, type StorageRef, type TensorRef, unpickle } from './unpickler.js';
import { readZipDirectory, type ZipEntry } from './zip.js';

/** torch storage class → the file dtype its elements have. */
export const STORAGE_DTYPE: Readonly<Record<string, FileDType>> = {
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
/** seed tensors have at most 8 dims (tensor.ts). */
const MAX_RANK = 8;
/** No file can back a count, offset or stride past 2^53 (and a Number would round it). */
const MAX_INT = BigInt(Number.MAX_SAFE_INTEGER);
/**
 * A strided view (stride 0 repeats elements) is gathered into a copy that may exceed its storage by at most
 * this much: so no tensor of a checkpoint costs more memory than the file itself plus a small constant.
 */
const MAX_EXPANSION = 1 << 20;

/** A tensor as seed reads it: a view of one storage entry, every number checked against it at open. */
interface View {
  dtype: FileDType;
  /** The storage's archive entry. */
  entry: ZipEntry;
  offset: number;
  size: number[];
  stride: number[];
  /** Row-major and dense: its bytes are one range of the storage. */
  contiguous: boolean;
}

/** A PyTorch zip checkpoint, memory-mapped. */
export class PytorchCheckpoint implements WeightFile {
  readonly tensors: TensorInfo[] = [];
  readonly #views = new Map<string, View>();
  readonly #entries: Map<string, ZipEntry>;
  readonly #prefix: string;
  #file: MappedFile | undefined;
  #nodes = 0;

  /**
   * Map `path`, read its zip directory, unpickle data.pkl and check every tensor against its storage entry;
   * throws an Error naming the file (and the tensor) on anything wrong. Nothing but the directory and the
   * pickle is read: tensor data is first touched by `load`.
   */
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
    // torch.save puts everything in one folder; an entry elsewhere is not part of this checkpoint.
    for (const name of this.#entries.keys())
      if (!insideFolder(name, this.#prefix))
        throw new Error(`${where}: entry ${name} lies outside the archive's folder ${this.#prefix || '/'}`);
    const order = this.#entries.get(`${this.#prefix}byteorder`);
    if (order && new TextDecoder().decode(this.#bytes(order)).trim() !== 'little')
      throw new Error(`${where}: big-endian checkpoints are not supported`);
    const root = unpickle(this.#bytes(this.#entries.get(pkl)!), `${where}: data.pkl`);
    if (!(root instanceof Map) && !(Array.isArray(root) && !isTuple(root)))
      throw new Error(`${where}: data.pkl holds no state dict (a dict or list of tensors)`);
    const refs = new Map<string, TensorRef>();
    this.#collect(root, '', 0, new Set(), refs);
    const storages = new Map<string, { storage: StorageRef; by: string }>();
    for (const [name, t] of refs) {
      const view = this.#check(name, t, storages);
      this.#views.set(name, view);
      this.tensors.push({ name, dtype: view.dtype, shape: [...view.size] });
    }
  }

  has(name: string): boolean {
    return this.#views.has(name);
  }

  info(name: string): TensorInfo {
    const v = this.#view(name);
    return { name, dtype: v.dtype, shape: [...v.size] };
  }

  load(name: string, options: LoadOptions = {}) {
    const b = this.#stored(name);
    const what = `${basename(this.path)}: tensor ${name}`;
    const { dtype, size } = this.#view(name);
    if (b.byteOffset !== undefined)
      return tensorFromStored(b.bytes, dtype, [...size], options, what, { file: b.file, byteOffset: b.byteOffset });
    return tensorFromStored(b.bytes, dtype, [...size], options, what);
  }

  stored(name: string): StoredBytes {
    const b = this.#stored(name);
    return b.byteOffset !== undefined
      ? { path: this.path, byteOffset: b.byteOffset, byteLength: b.bytes.byteLength }
      : { bytes: b.bytes };
  }

  close(): void {
    this.#file = undefined; // the mapping itself goes when no loaded tensor views it any more
  }

  /** A tensor's bytes: a view of the mapping (with its file offset) when contiguous, else a gathered copy. */
  #stored(name: string): { bytes: Uint8Array; file: MappedFile; byteOffset: number | undefined } {
    const v = this.#view(name);
    const file = this.#file;
    if (!file) throw new Error(`${basename(this.path)} was closed`);
    const storage = this.#bytes(v.entry);
    const es = FILE_DTYPE_SIZE[v.dtype];
    if (!v.contiguous) return { bytes: gather(storage, es, v), file, byteOffset: undefined };
    const n = v.size.reduce((a, b) => a * b, 1);
    const bytes = storage.subarray(v.offset * es, (v.offset + n) * es);
    return { bytes, file, byteOffset: v.entry.dataOffset + v.offset * es };
  }

  #view(name: string): View {
    const v = this.#views.get(name);
    if (!v) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    return v;
  }

  /**
   * Check tensor `name` against its storage, with the pickle's integers as BigInts so that nothing wraps:
   * a known dtype, at most 8 dims, no negative or absurd number, the storage entry present, STORED and
   * exactly numel × element size bytes, declared alike by every tensor sharing it, and the furthest element
   * of the view, offset + Σ (size_i − 1)·stride_i, inside it.
   */
  #check(name: string, t: TensorRef, storages: Map<string, { storage: StorageRef; by: string }>): View {
    const layout = `offset ${t.offset}, size [${t.size.join(', ')}], stride [${t.stride.join(', ')}]`;
    const bad = (fact: string) => new Error(`${basename(this.path)}: tensor ${name}: ${fact}`);
    const s = t.storage;
    const dtype = STORAGE_DTYPE[s.type];
    if (!dtype) throw bad(`unsupported storage ${s.type}`);
    if (t.size.length > MAX_RANK || t.size.length !== t.stride.length)
      throw bad(`invalid layout (${layout}): at most ${MAX_RANK} dims, one stride per dim`);
    const numbers: [string, bigint][] = [
      ['storage offset', t.offset],
      ...t.size.map((d, i): [string, bigint] => [`size of dim ${i}`, d]),
      ...t.stride.map((d, i): [string, bigint] => [`stride of dim ${i}`, d]),
    ];
    for (const [what, v] of numbers) {
      if (v < 0n) throw bad(`negative ${what} ${v} (${layout})`);
      if (v > MAX_INT) throw bad(`${what} ${v} is absurdly large (${layout})`);
    }

    const entryName = `${this.#prefix}data/${s.key}`;
    const entry = this.#entries.get(entryName);
    if (!entry) throw bad(`storage ${s.key} is missing from the archive (no entry ${entryName})`);
    const seen = storages.get(s.key);
    if (seen && (seen.storage.type !== s.type || seen.storage.numel !== s.numel))
      throw bad(
        `storage ${s.key} is declared as ${s.numel} × ${s.type} here but as ${seen.storage.numel} × ${seen.storage.type} by tensor ${seen.by}`,
      );
    storages.set(s.key, seen ?? { storage: s, by: name });
    this.#bytes(entry); // compressed or encrypted entries are refused now, not at load
    const es = FILE_DTYPE_SIZE[dtype];
    if (s.numel < 0n || s.numel * BigInt(es) !== BigInt(entry.size))
      throw bad(
        `storage ${s.key} declares ${s.numel} ${dtype} elements (${s.numel * BigInt(es)} bytes) but its entry ${entryName} holds ${entry.size} bytes`,
      );

    const n = t.size.reduce((a, d) => a * d, 1n);
    const last = t.size.reduce((acc, d, i) => acc + (d - 1n) * t.stride[i], t.offset);
    if (n > 0n ? last >= s.numel : t.offset > s.numel)
      throw bad(`view (${layout}) reaches element ${n > 0n ? last : t.offset} of a storage of ${s.numel} elements`);
    const size = t.size.map(Number);
    const stride = t.stride.map(Number);
    let expected = 1;
    let contiguous = true;
    for (let d = size.length - 1; d >= 0; d--) {
      if (size[d] !== 1 && stride[d] !== expected) contiguous = false;
      expected *= size[d];
    }
    // A contiguous view lies inside its storage; a strided one may repeat elements (stride 0) when gathered.
    if (!contiguous && n * BigInt(es) > BigInt(entry.size + MAX_EXPANSION))
      throw bad(`view (${layout}) would expand a ${entry.size}-byte storage to ${n * BigInt(es)} bytes`);
    return { dtype, entry, offset: Number(t.offset), size, stride, contiguous: contiguous || n === 0n };
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

  /** Find every tensor under `v`, named as state_dict() names them, into `out`. */
  #collect(v: PickleValue, name: string, depth: number, path: Set<object>, out: Map<string, TensorRef>): void {
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
        this.#collect(x, name ? `${name}.${String(k)}` : String(k), depth + 1, path, out);
      }
      path.delete(v as object);
      return;
    }
    if (!v || typeof v !== 'object' || (v as TensorRef).kind !== 'tensor') return; // numbers, strings, metadata…
    if (out.has(name)) throw new Error(`${where}: two tensors are both named ${name}`);
    out.set(name, v as TensorRef);
  }
}

/**
 * Whether archive entry `name` lies in the checkpoint's folder `prefix` ("archive/", or "" for a flat
 * archive): under it, with no empty, "." or ".." path segment and no backslash.
 */
function insideFolder(name: string, prefix: string): boolean {
  const folder = prefix.slice(0, -1);
  if (folder === '.' || folder === '..' || !name.startsWith(prefix)) return false;
  const rest = name.slice(prefix.length).replace(/\/$/, ''); // a directory entry ends in "/"
  return (
    rest === '' || rest.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..' && !seg.includes('\\'))
  );
}

/** Copy a strided view of `storage` (elements of `es` bytes) into a new row-major buffer. */
function gather(storage: Uint8Array, es: number, t: View): Uint8Array {
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
