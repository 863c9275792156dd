/**
 * PyTorch checkpoint reader (`.pt`, `.pth`, `.bin` written by torch.save ≥ 1.6): a zip archive holding
 * `<archive>/data.pkl` (the pickled state dict, read by the restricted unpickler) and one entry per storage
 * `<archive>/data/<key>`. Tensors are views (offset, size, stride) of storages: contiguous ones load as
 * zero-copy views of the memory-mapped archive, strided ones are gathered into a copy; tensors sharing a
 * storage each get their own view. Nested dicts are flattened with "." between keys.
 */
import { basename } from 'node:path';
import { MappedFile } from '../tensor.js';
import { tensorFromStored } from './convert.js';
import { FILE_DTYPE_SIZE, type FileDType, type LoadOptions, type TensorInfo, type WeightFile } from './types.js';
import { isTuple, type PickleValue, type StorageRef, type TensorRef, unpickle } from './unpickler.js';
import { readZipDirectory, type ZipEntry } from './zip.js';

const STORAGE_DTYPE: Record<string, FileDType> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

export class PytorchCheckpoint implements WeightFile {
  readonly tensors: TensorInfo[] = [];
  private readonly refs = new Map<string, TensorRef>();
  private readonly entries: Map<string, ZipEntry>;
  private readonly prefix: string;
  private file: MappedFile | undefined;

  constructor(readonly path: string) {
    const where = basename(path);
    const file = new MappedFile(path);
    this.file = file;
    const bytes = new Uint8Array(file.buffer);
    if (bytes.byteLength >= 2 && bytes[0] === 0x80 && bytes[1] <= 5)
      throw new Error(`${where}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with torch >= 1.6`);
    this.entries = readZipDirectory(bytes, where);
    const pkl = [...this.entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
    if (!pkl) throw new Error(`${where}: no data.pkl in the archive: not a PyTorch checkpoint`);
    this.prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
    const order = this.entries.get(`${this.prefix}byteorder`);
    if (order && new TextDecoder().decode(this.entry(order)) !== 'little') throw new Error(`${where}: big-endian checkpoints are not supported`);
    const root = unpickle(this.entry(this.entries.get(pkl)!), `${where}: data.pkl`);
    this.collect(root, '');
    if (this.refs.size === 0 && !(root instanceof Map)) throw new Error(`${where}: data.pkl holds no state dict`);
  }

  private entry(e: ZipEntry): Uint8Array {
    if (e.compression !== 0) throw new Error(`${basename(this.path)}: entry ${e.name} is compressed (method ${e.compression}); torch.save writes stored entries only`);
    return new Uint8Array(this.file!.buffer, e.dataOffset, e.size);
  }

  private collect(v: PickleValue, name: string): void {
    if (v instanceof Map) {
      for (const [k, x] of v) this.collect(x, name ? `${name}.${String(k)}` : String(k));
    } else if (Array.isArray(v) && !isTuple(v)) {
      v.forEach((x, i) => this.collect(x, name ? `${name}.${i}` : String(i)));
    } else if (v && typeof v === 'object' && (v as TensorRef).kind === 'tensor') {
      const t = v as TensorRef;
      const dtype = STORAGE_DTYPE[t.storage.type];
      if (!dtype) throw new Error(`${basename(this.path)}: tensor ${name} has an unsupported storage ${t.storage.type}`);
      if (t.size.length > 8 || t.size.length !== t.stride.length || t.size.some((d) => d < 0) || t.stride.some((s) => s < 0))
        throw new Error(`${basename(this.path)}: tensor ${name} has an invalid size/stride`);
      this.refs.set(name, t);
      this.tensors.push({ name, dtype, shape: t.size });
    }
  }

  has(name: string): boolean {
    return this.refs.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.refs.get(name);
    if (!t) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    return { name, dtype: STORAGE_DTYPE[t.storage.type], shape: t.size };
  }

  load(name: string, options: LoadOptions = {}) {
    const where = `${basename(this.path)}: ${name}`;
    const t = this.refs.get(name);
    if (!t) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    if (!this.file) throw new Error(`${basename(this.path)} was closed`);
    const dtype = STORAGE_DTYPE[t.storage.type];
    const es = FILE_DTYPE_SIZE[dtype];
    const entry = this.entries.get(`${this.prefix}data/${t.storage.key}`);
    if (!entry) throw new Error(`${where}: storage ${t.storage.key} is missing from the archive`);
    const storage = this.entry(entry);
    const available = Math.min(t.storage.numel, Math.floor(storage.byteLength / es));
    const n = t.size.reduce((a, b) => a * b, 1);
    // The furthest element this view touches must lie inside the storage.
    const extent = n === 0 ? 0 : t.offset + t.size.reduce((acc, d, i) => acc + (d - 1) * t.stride[i], 0) + 1;
    if (n > 0 && (t.offset < 0 || extent > available))
      throw new Error(`${where}: view (offset ${t.offset}, size [${t.size.join(', ')}], stride [${t.stride.join(', ')}]) reaches element ${extent - 1} of a storage of ${available}`);
    const contiguous = t.size.every((_, i) => t.size[i] === 1 || t.stride[i] === t.size.slice(i + 1).reduce((a, b) => a * b, 1));
    if (contiguous) {
      const bytes = storage.subarray(t.offset * es, (t.offset + n) * es);
      return tensorFromStored(bytes, dtype, t.size, options, where, { file: this.file, byteOffset: entry.dataOffset + t.offset * es });
    }
    // Strided view: gather element by element (row-major over size).
    const out = new Uint8Array(n * es);
    const idx = new Array(t.size.length).fill(0);
    for (let i = 0; i < n; i++) {
      let src = t.offset;
      for (let d = 0; d < idx.length; d++) src += idx[d] * t.stride[d];
      out.set(storage.subarray(src * es, src * es + es), i * es);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < t.size[d]) break;
        idx[d] = 0;
      }
    }
    return tensorFromStored(out, dtype, t.size, options, where);
  }

  close(): void {
    this.file = undefined;
  }
}

/** Storage references of a checkpoint, for tools (e.g. how many tensors share one storage). */
export type { StorageRef };
