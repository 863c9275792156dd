/**
 * Safetensors reader. The file is memory-mapped and its header (8-byte little-endian length, then a JSON
 * object) is validated completely when the file is opened, before any tensor is touched, so a truncated or
 * hostile file is an Error naming the file and the tensor, never an out-of-bounds read later. The checks are
 * the format's own rules (docs/security.md lists them): a file seed opens says one thing to every reader.
 */
import { basename } from 'node:path';
import { MappedFile } from '../tensor.js';
import { tensorFromStored } from './convert.js';
import { isWellFormedText, repeatedKey } from './json.js';
import {
  byteLength,
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
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
    } catch {
      throw new Error(`${where}: header is not valid UTF-8`);
    }
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch (e) {
      throw new Error(`${where}: header is not valid JSON (${(e as Error).message})`);
    }
    if (!isPlainObject(header)) throw new Error(`${where}: header is not a JSON object`);
    // JSON.parse keeps the last of two equal keys; the format allows each name (and field) only once.
    const repeated = repeatedKey(text);
    if (repeated) {
      const owner = repeated[0] === '__metadata__' ? '__metadata__' : `tensor ${repeated[0]}`;
      throw new Error(
        repeated.length === 1
          ? `${where}: ${owner} appears twice in the header`
          : `${where}: ${owner}: key ${repeated[repeated.length - 1]} appears twice`,
      );
    }
    const dataLen = bytes.byteLength - dataStart;

    for (const [name, raw] of Object.entries(header)) {
      if (!isWellFormedText(name))
        throw new Error(`${where}: tensor name ${JSON.stringify(name)} is not valid UTF-8 (a lone surrogate)`);
      if (name === '__metadata__') {
        if (!isPlainObject(raw)) throw new Error(`${where}: __metadata__ is not a JSON object`);
        for (const [k, v] of Object.entries(raw)) {
          if (typeof v !== 'string') throw new Error(`${where}: __metadata__ value ${k} is not a string`);
          if (!isWellFormedText(k) || !isWellFormedText(v))
            throw new Error(`${where}: __metadata__ entry ${JSON.stringify(k)} is not valid UTF-8 (a lone surrogate)`);
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
      if (off[1] > dataLen)
        throw bad(
          `data [${off[0]}, ${off[1]}) lies past the end of the data section (${dataLen} bytes): truncated or corrupt`,
        );
      const need = byteLength(dtype, shape);
      if (BigInt(off[1] - off[0]) !== need)
        throw bad(`holds ${off[1] - off[0]} bytes but ${dtype} [${shape.join(', ')}] needs ${need}`);
      this.#entries.set(name, {
        name,
        dtype,
        shape: shape as number[],
        begin: dataStart + off[0],
        end: dataStart + off[1],
      });
    }

    // The format's own rule: sorted by offset, the tensors tile the data section exactly, the first starting
    // at 0, each where the previous one ends, the last at the end of the file. Bytes that belong to no tensor
    // or to two are a corrupt or doctored file (and a place to hide data from a reader that skips them).
    const sorted = [...this.#entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
    let at = dataStart;
    let previous: Entry | undefined;
    for (const e of sorted) {
      if (previous && e.begin < at)
        throw new Error(
          `${where}: tensors ${previous.name} and ${e.name} overlap (data_offsets [${previous.begin - dataStart}, ${previous.end - dataStart}) and [${e.begin - dataStart}, ${e.end - dataStart}))`,
        );
      if (e.begin > at)
        throw new Error(
          previous
            ? `${where}: a gap of ${e.begin - at} bytes between tensors ${previous.name} and ${e.name} (data_offsets must tile the data section)`
            : `${where}: a gap of ${e.begin - at} bytes before the first tensor ${e.name} (data_offsets must start at 0)`,
        );
      at = e.end;
      previous = e;
    }
    if (at !== bytes.byteLength)
      throw new Error(
        previous
          ? `${where}: ${bytes.byteLength - at} trailing bytes after the last tensor ${previous.name} (data_offsets must end at the end of the file)`
          : `${where}: no tensors, but ${bytes.byteLength - at} bytes of data`,
      );
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
