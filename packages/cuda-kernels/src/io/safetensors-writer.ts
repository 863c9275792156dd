/**
 * Safetensors writer: header first (offsets in order, padded with spaces to 8 bytes), then each tensor's
 * bytes streamed to the file one at a time, so writing never holds more than one tensor in JS memory.
 */
import { open } from 'node:fs/promises';
import type { Tensor } from '../tensor.js';
import type { FileDType } from './types.js';

const FILE_NAME: Record<string, FileDType> = { f32: 'F32', f16: 'F16', bf16: 'BF16', i32: 'I32', u8: 'U8' };

export async function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor> | readonly (readonly [string, Tensor])[],
  metadata?: Record<string, string>,
): Promise<void> {
  const entries: (readonly [string, Tensor])[] = Array.isArray(tensors) ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const dtype = FILE_NAME[t.dtype];
    if (!dtype) throw new Error(`writeSafetensors: ${name} is ${t.dtype}, which safetensors cannot hold (dequantize q8 first)`);
    if (name === '__metadata__' || name in header) throw new Error(`writeSafetensors: duplicate or reserved tensor name ${name}`);
    const n = t.shape.reduce((a: number, b: number) => a * b, 1) * (t.dtype === 'f32' || t.dtype === 'i32' ? 4 : t.dtype === 'u8' ? 1 : 2);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const fh = await open(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    await fh.write(len);
    await fh.write(Buffer.from(json, 'utf8'));
    for (const [, t] of entries) await fh.write(await t.bytes());
  } finally {
    await fh.close();
  }
}
