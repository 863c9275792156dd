/**
 * Safetensors reader: the file is memory-mapped; the header (8-byte little-endian length, then JSON) is
 * validated completely before any tensor is touched, so a truncated or hostile file is an Error that names
 * the file and the tensor, never an out-of-bounds read. Sharded checkpoints are read through their
 * `*.safetensors.index.json` (`weight_map`: tensor name → shard file).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MappedFile } from '../tensor.js';
import { tensorFromStored } from './convert.js';
import { FILE_DTYPE_SIZE, type FileDType, type LoadOptions, type TensorInfo, type WeightFile } from './types.js';

const MAX_HEADER = 100 * 1024 * 1024;

interface Entry extends TensorInfo {
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export class SafetensorsFile implements WeightFile {
  readonly tensors: TensorInfo[] = [];
  readonly metadata: Record<string, string> = {};
  private readonly entries = new Map<string, Entry>();
  private file: MappedFile | undefined;

  constructor(readonly path: string) {
    const file = new MappedFile(path);
    this.file = file;
    const bytes = new Uint8Array(file.buffer);
    const where = basename(path);
    if (bytes.byteLength < 8) throw new Error(`${where}: not a safetensors file (${bytes.byteLength} bytes, shorter than the 8-byte header length)`);
    const headerLen = Number(new DataView(file.buffer).getBigUint64(0, true));
    if (headerLen > MAX_HEADER) throw new Error(`${where}: header length ${headerLen} is absurd (over 100 MB): not a safetensors file or corrupt`);
    if (8 + headerLen > bytes.byteLength) throw new Error(`${where}: header length ${headerLen} runs past the end of the file (${bytes.byteLength} bytes): truncated or corrupt`);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
    } catch (e) {
      throw new Error(`${where}: header is not valid JSON (${(e as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error(`${where}: header is not a JSON object`);
    const dataStart = 8 + headerLen;
    const dataLen = bytes.byteLength - dataStart;
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: __metadata__ is not an object`);
        for (const [k, v] of Object.entries(raw as Record<string, unknown>)) this.metadata[k] = String(v);
        continue;
      }
      const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const bad = (msg: string) => new Error(`${where}: tensor ${name}: ${msg}`);
      if (typeof e !== 'object' || e === null) throw bad('entry is not an object');
      if (typeof e.dtype !== 'string' || !(e.dtype in FILE_DTYPE_SIZE)) throw bad(`unsupported dtype ${String(e.dtype)}`);
      if (!Array.isArray(e.shape) || e.shape.length > 8 || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
        throw bad(`shape ${JSON.stringify(e.shape)} is not a list of at most 8 non-negative integers`);
      const off = e.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1])
        throw bad(`data_offsets ${JSON.stringify(off)} is not [begin, end]`);
      const dtype = e.dtype as FileDType;
      const shape = e.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      if (n * FILE_DTYPE_SIZE[dtype] > 2 ** 50) throw bad(`shape [${shape.join(', ')}] is absurdly large`);
      if (off[1] > dataLen) throw bad(`data [${off[0]}, ${off[1]}) lies past the end of the data section (${dataLen} bytes): truncated or corrupt`);
      if (off[1] - off[0] !== n * FILE_DTYPE_SIZE[dtype])
        throw bad(`holds ${off[1] - off[0]} bytes but ${dtype} [${shape.join(', ')}] needs ${n * FILE_DTYPE_SIZE[dtype]}`);
      this.entries.set(name, { name, dtype, shape, begin: dataStart + off[0], end: dataStart + off[1] });
    }
    // File order, and no two tensors may share bytes.
    const sorted = [...this.entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
    let last: Entry | undefined; // the non-empty tensor reaching furthest so far
    for (const e of sorted) {
      if (e.end === e.begin) continue;
      if (last && e.begin < last.end) throw new Error(`${where}: tensors ${last.name} and ${e.name} overlap`);
      if (!last || e.end > last.end) last = e;
    }
    for (const e of sorted) this.tensors.push({ name: e.name, dtype: e.dtype, shape: e.shape });
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorInfo {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    return { name: e.name, dtype: e.dtype, shape: e.shape };
  }

  load(name: string, options: LoadOptions = {}) {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    if (!this.file) throw new Error(`${basename(this.path)} was closed`);
    const bytes = new Uint8Array(this.file.buffer, e.begin, e.end - e.begin);
    return tensorFromStored(bytes, e.dtype, e.shape, options, `${basename(this.path)}: ${name}`, { file: this.file, byteOffset: e.begin });
  }

  close(): void {
    this.file = undefined; // the mapping goes when no tensor views it any more
  }
}

/** A sharded safetensors checkpoint: `model.safetensors.index.json` + its shards, seen as one file. */
export class ShardedWeights implements WeightFile {
  readonly tensors: TensorInfo[] = [];
  private readonly owner = new Map<string, WeightFile>();
  private readonly shards: WeightFile[] = [];

  constructor(
    readonly path: string,
    open: (shardPath: string) => WeightFile,
  ) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${basename(path)}: not a valid index JSON (${(e as Error).message})`);
    }
    const map = index.weight_map;
    if (typeof map !== 'object' || map === null) throw new Error(`${basename(path)}: no weight_map`);
    const byShard = new Map<string, string[]>();
    for (const [name, shard] of Object.entries(map)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard.startsWith('.'))
        throw new Error(`${basename(path)}: tensor ${name} names an invalid shard ${JSON.stringify(shard)}`);
      byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
    }
    for (const [shard, names] of byShard) {
      const shardPath = join(dirname(path), shard);
      if (!existsSync(shardPath)) throw new Error(`${basename(path)}: shard ${shard} is missing`);
      const file = open(shardPath);
      this.shards.push(file);
      for (const name of names) {
        if (!file.has(name)) throw new Error(`${basename(path)}: ${shard} does not hold ${name}`);
        this.owner.set(name, file);
        this.tensors.push(file.info(name));
      }
    }
  }

  has(name: string): boolean {
    return this.owner.has(name);
  }

  info(name: string): TensorInfo {
    const f = this.owner.get(name);
    if (!f) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    return f.info(name);
  }

  load(name: string, options?: LoadOptions) {
    const f = this.owner.get(name);
    if (!f) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    return f.load(name, options);
  }

  close(): void {
    for (const s of this.shards) s.close();
  }
}
