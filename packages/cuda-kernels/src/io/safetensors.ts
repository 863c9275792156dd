/**
 * Safetensors reader. The file is memory-mapped and its header (8-byte little-endian length, then a JSON
 * object) is validated completely when the file is opened, before any tensor is touched, so a truncated or
 * hostile file is an Error naming the file and the tensor, never an out-of-bounds read later.
 */
import { basename } from 'node:path';
import { MappedFile } from '../tensor.js';
import { tensorFromStored } from './convert.js';
import {
  FILE_DTYPE_SIZE,
  isFileDType,
  type LoadOptions,
  type StoredBytes,
  type TensorInfo,
  type WeightFile,
} from './types.js';

/** Real headers are kilobytes to a few megabytes; a larger length means a corrupt file or not safetensors. */
const MAX_HEADER = 100 * 1024 * 1024;
/** seed tensors have at most 8 dims (tensor.ts). */
const MAX_RANK = 8;

interface Entry extends TensorInfo {
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

/** One `.safetensors` file, memory-mapped. */
export class SafetensorsFile implements WeightFile {
  readonly tensors: TensorInfo[] = [];
  /** The header's `__metadata__` (string → string), empty when absent. */
  readonly metadata: Record<string, string> = {};
  readonly #entries = new Map<string, Entry>();
  #file: MappedFile | undefined;

  /** Map and validate `path`; throws an Error naming the file (and tensor) on anything malformed. */
  constructor(readonly path: string) {
    const where = basename(path);
    const file = new MappedFile(path);
    const bytes = new Uint8Array(file.buffer);
    if (bytes.byteLength < 8)
      throw new Error(
        `${where}: not a safetensors file (${bytes.byteLength} bytes, shorter than the 8-byte header length)`,
      );
    const headerLen = new DataView(file.buffer).getBigUint64(0, true);
    if (headerLen > BigInt(MAX_HEADER))
      throw new Error(
        `${where}: header length ${headerLen} is absurd (over 100 MB): not a safetensors file, or corrupt`,
      );
    const dataStart = 8 + Number(headerLen);
    if (dataStart > bytes.byteLength)
      throw new Error(
        `${where}: header length ${headerLen} runs past the end of the file (${bytes.byteLength} bytes): truncated or corrupt`,
      );
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
    } catch (e) {
      throw new Error(`${where}: header is not valid JSON (${(e as Error).message})`);
    }
    if (!isPlainObject(header)) throw new Error(`${where}: header is not a JSON object`);
    const dataLen = bytes.byteLength - dataStart;

    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (!isPlainObject(raw)) throw new Error(`${where}: __metadata__ is not a JSON object`);
        for (const [k, v] of Object.entries(raw)) {
          if (typeof v !== 'string') throw new Error(`${where}: __metadata__ value ${k} is not a string`);
          this.metadata[k] = v;
        }
        continue;
      }
      const bad = (msg: string) => new Error(`${where}: tensor ${name}: ${msg}`);
      if (!isPlainObject(raw)) throw bad('header entry is not a JSON object');
      const { dtype, shape, data_offsets: off } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (!isFileDType(dtype))
        throw new Error(
          `${where}: unsupported dtype ${typeof dtype === 'string' ? dtype : JSON.stringify(dtype)} for tensor ${name} (seed reads ${Object.keys(FILE_DTYPE_SIZE).join(', ')})`,
        );
      if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
        throw bad(`shape ${JSON.stringify(shape)} is not a list of at most ${MAX_RANK} non-negative integers`);
      if (
        !Array.isArray(off) ||
        off.length !== 2 ||
        !off.every((d) => Number.isSafeInteger(d) && d >= 0) ||
        off[0] > off[1]
      )
        throw bad(`data_offsets ${JSON.stringify(off)} is not [begin, end] with 0 <= begin <= end`);
      const need = (shape as number[]).reduce((a, b) => a * b, 1) * FILE_DTYPE_SIZE[dtype];
      // Checked before the range so that [1e12, 1e12] reads as what it is, not as a size mismatch.
      if (!Number.isSafeInteger(need) || need > 2 ** 50) throw bad(`shape [${shape.join(', ')}] is absurdly large`);
      if (off[1] > dataLen)
        throw bad(
          `data [${off[0]}, ${off[1]}) lies past the end of the data section (${dataLen} bytes): truncated or corrupt`,
        );
      if (off[1] - off[0] !== need)
        throw bad(`holds ${off[1] - off[0]} bytes but ${dtype} [${shape.join(', ')}] needs ${need}`);
      this.#entries.set(name, {
        name,
        dtype,
        shape: shape as number[],
        begin: dataStart + off[0],
        end: dataStart + off[1],
      });
    }

    // File order is data order; no two tensors may share bytes (empty tensors share nothing).
    const sorted = [...this.#entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
    let furthest: Entry | undefined;
    for (const e of sorted) {
      if (e.end === e.begin) continue;
      if (furthest && e.begin < furthest.end)
        throw new Error(`${where}: tensors ${furthest.name} and ${e.name} overlap`);
      if (!furthest || e.end > furthest.end) furthest = e;
    }
    for (const e of sorted) this.tensors.push({ name: e.name, dtype: e.dtype, shape: [...e.shape] });
    this.#file = file;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  info(name: string): TensorInfo {
    const e = this.#entry(name);
    return { name: e.name, dtype: e.dtype, shape: [...e.shape] };
  }

  load(name: string, options: LoadOptions = {}) {
    const e = this.#entry(name);
    if (!this.#file) throw new Error(`${basename(this.path)} was closed`);
    const bytes = new Uint8Array(this.#file.buffer, e.begin, e.end - e.begin);
    return tensorFromStored(bytes, e.dtype, [...e.shape], options, `${basename(this.path)}: tensor ${name}`, {
      file: this.#file,
      byteOffset: e.begin,
    });
  }

  stored(name: string): StoredBytes {
    const e = this.#entry(name);
    if (!this.#file) throw new Error(`${basename(this.path)} was closed`);
    return { path: this.path, byteOffset: e.begin, byteLength: e.end - e.begin };
  }

  close(): void {
    this.#file = undefined; // the mapping itself goes when no loaded tensor views it any more
  }

  #entry(name: string): Entry {
    const e = this.#entries.get(name);
    if (!e) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    return e;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
