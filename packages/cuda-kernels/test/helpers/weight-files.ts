/**
 * Builders for weight files with every field under the test's control, hostile ones included: raw
 * safetensors (any header text, any data), and PyTorch checkpoints from pickle opcodes (protocol 2, as
 * torch.save writes them) in a STORED zip. Used by the reader tests, the fuzz test and the CLI tests.
 */
import { zipStored } from './zip-writer.js';

/**
 * A safetensors file: 8-byte little-endian header length (or `headerLength`), the header (an object to
 * stringify, JSON text, or raw bytes), the data.
 */
export function safetensorsBytes(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const json =
    header instanceof Uint8Array
      ? header
      : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLength ?? BigInt(json.length));
  return new Uint8Array(Buffer.concat([len, json, data]));
}

// Pickle opcodes are built as latin1 strings (one char per byte) and turned into bytes by `pickleBytes`.

/** An int: BININT when it fits 32 bits, else LONG1 with as many two's-complement bytes as it needs. */
export function pint(v: number | bigint): string {
  const n = BigInt(v);
  if (n >= -(2n ** 31n) && n < 2n ** 31n) {
    const x = Buffer.alloc(5);
    x.write('J', 0, 'latin1');
    x.writeInt32LE(Number(n), 1);
    return x.toString('latin1');
  }
  const bytes: number[] = [];
  let rest = n;
  // Little-endian bytes until the remaining value is all sign bits and the last byte's top bit agrees.
  do {
    bytes.push(Number(rest & 0xffn));
    rest >>= 8n;
  } while (!((rest === 0n && bytes[bytes.length - 1] < 0x80) || (rest === -1n && bytes[bytes.length - 1] >= 0x80)));
  return `\x8a${String.fromCharCode(bytes.length, ...bytes)}`;
}

/** A str: BINUNICODE of its UTF-8 bytes (or of `raw` bytes, which need not be UTF-8). */
export function pstr(s: string, raw?: Uint8Array): string {
  const bytes = raw ?? Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(bytes.length);
  return `X${len.toString('latin1')}${Buffer.from(bytes).toString('latin1')}`;
}

export const ptuple = (...items: string[]) => `(${items.join('')}t`;
export const pglobal = (module: string, name: string) => `c${module}\n${name}\n`;

/** A tensor as torch pickles it: a view (offset, size, stride) of a storage (type, key, numel). */
export interface Layout {
  type?: string;
  key?: string;
  numel: number | bigint;
  offset: number | bigint;
  size: (number | bigint)[];
  stride: (number | bigint)[];
}

/** `_rebuild_tensor_v2(persistent ('storage', type, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`. */
export function tensorOp(l: Layout): string {
  const storage = ptuple(
    pstr('storage'),
    pglobal('torch', l.type ?? 'FloatStorage'),
    pstr(l.key ?? '0'),
    pstr('cpu'),
    pint(l.numel),
  );
  return (
    `${pglobal('torch._utils', '_rebuild_tensor_v2')}(${storage}Q${pint(l.offset)}` +
    `${ptuple(...l.size.map(pint))}${ptuple(...l.stride.map(pint))}\x89${pglobal('collections', 'OrderedDict')})RtR`
  );
}

export const pickleBytes = (ops: string) => new Uint8Array(Buffer.from(ops, 'latin1'));

/** A dict pickle {key: value, …}, the values given as opcodes (e.g. `tensorOp(…)`). */
export const dictPickle = (items: [key: string, value: string][]) =>
  pickleBytes(`\x80\x02}(${items.map(([k, v]) => pstr(k) + v).join('')}u.`);

export const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

/** A checkpoint: `archive/data.pkl` holding `pkl`, then `entries` (storages are `archive/data/<key>`). */
export function checkpointBytes(
  pkl: Uint8Array,
  entries: { name: string; data: Uint8Array; method?: number }[] = [],
): Uint8Array {
  return zipStored([{ name: 'archive/data.pkl', data: pkl }, ...entries]);
}
