/**
 * Safetensors writer: the header first (tensors in the order given, offsets ascending, JSON padded with
 * spaces to a multiple of 8 so the data section starts aligned), then each tensor's bytes streamed to the
 * file one at a time, so writing never holds more than one tensor's bytes in JS memory.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { byteLength } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import type { FileDType } from './types.js';

const FILE_NAME: Partial<Record<Tensor['dtype'], FileDType>> = {
  f32: 'F32',
  f16: 'F16',
  bf16: 'BF16',
  i32: 'I32',
  u8: 'U8',
};

/**
 * Write tensors (a record, or [name, tensor] pairs to fix the order) as a safetensors file, with optional
 * string metadata (`__metadata__`). Tensors may live on any device; each is read back with `bytes()` in turn.
 * The file is written next to `path` and renamed over it at the end, so readers (and memory-mapped views of
 * an older file at `path`) never see a half-written file. q8 tensors are refused: safetensors has no q8.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor> | readonly (readonly [string, Tensor])[],
  metadata?: Record<string, string>,
): Promise<void> {
  const entries: (readonly [string, Tensor])[] = Array.isArray(tensors) ? [...tensors] : Object.entries(tensors);
  // Every problem is found before the file is created.
  const header: Record<string, unknown> = Object.create(null); // a tensor may be named "__proto__"
  if (metadata) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new Error(`writeSafetensors: metadata ${k} is not a string`);
    header.__metadata__ = { ...metadata };
  }
  const layout = entries.map(([name, t]) => {
    const dtype = FILE_NAME[t.dtype];
    if (!dtype)
      throw new Error(
        `writeSafetensors: tensor ${name} is ${t.dtype}, which safetensors cannot hold (dequantize q8 to a float dtype first)`,
      );
    if (t.disposed) throw new Error(`writeSafetensors: tensor ${name} was disposed`);
    return { name, dtype, shape: t.shape, byteLength: byteLength(t.dtype, t.shape) };
  });
  const prefix = safetensorsHeader(layout, header, 'writeSafetensors');

  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  try {
    try {
      await writeAll(fh, prefix);
      for (const [, t] of entries) await writeAll(fh, await t.bytes());
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** One tensor's entry in a safetensors header. */
export interface SafetensorsEntry {
  name: string;
  dtype: FileDType;
  shape: readonly number[];
  byteLength: number;
}

/**
 * The bytes a safetensors file starts with: the 8-byte little-endian header length, then the JSON header
 * (tensors at ascending offsets in the order given, padded with spaces to a multiple of 8 so the data
 * starts aligned). `base` holds entries already placed, e.g. `__metadata__`; names must be unique.
 */
export function safetensorsHeader(
  entries: readonly SafetensorsEntry[],
  base: Record<string, unknown> = Object.create(null),
  who = 'safetensors',
): Buffer {
  const header: Record<string, unknown> = Object.assign(Object.create(null), base); // a tensor may be named "__proto__"
  let offset = 0;
  for (const e of entries) {
    if (e.name === '__metadata__' || Object.hasOwn(header, e.name))
      throw new Error(`${who}: duplicate or reserved tensor name ${e.name}`);
    header[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, offset + e.byteLength] };
    offset += e.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8')]);
}

/** write(2) moves at most ~2 GiB per call on Linux, and big embedding tables are larger: loop until done. */
export async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.byteLength - done, 1 << 30));
    if (bytesWritten <= 0) throw new Error('safetensors: write made no progress');
    done += bytesWritten;
  }
}
