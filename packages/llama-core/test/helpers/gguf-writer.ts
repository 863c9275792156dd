/**
 * A minimal GGUF v3 writer for tests: metadata of the types we need and F32 or Q8_0 tensors. It exists so
 * that the same random LLaMA weights can be run by llama.cpp (through node-llama-cpp), the independent
 * reference. Layout facts: magic "GGUF", version 3, counts as u64, strings as u64 length + bytes, tensor
 * dims listed innermost first, data aligned to 32 bytes.
 */
import { writeFileSync } from 'node:fs';

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: string[] }
  | { type: 'f32[]'; value: number[] }
  | { type: 'i32[]'; value: number[] };

export interface GgufTensor {
  name: string;
  /** PyTorch-order shape, e.g. [N, K] for a linear weight; written reversed (ne0 = K). */
  shape: number[];
  data: Float32Array;
  type: 'f32' | 'q8_0';
}

const T = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
const ALIGN = 32;

class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(): void {
    const n = (ALIGN - (this.length % ALIGN)) % ALIGN;
    if (n) this.push(Buffer.alloc(n));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Q8_0: blocks of 32 values, each an f16 scale (max|x|/127) and 32 int8 values rounded to nearest. */
function q8_0(data: Float32Array): Buffer {
  if (data.length % 32 !== 0) throw new Error('Q8_0 needs rows that are a multiple of 32');
  const out = Buffer.alloc((data.length / 32) * 34);
  for (let b = 0; b < data.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(data[b * 32 + i]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    out.writeUInt16LE(f16(d), b * 34);
    for (let i = 0; i < 32; i++) {
      const q = data[b * 32 + i] * id;
      out.writeInt8(Math.sign(q) * Math.round(Math.abs(q)), b * 34 + 2 + i); // roundf: half away from zero
    }
  }
  return out;
}

function f16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const man = u & 0x7fffff;
  if (exp <= 0) return sign; // tiny scales flush to zero (never happens for our weights)
  let h = sign | (exp << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h += 1;
  return h;
}

export function writeGguf(path: string, metadata: Record<string, GgufValue>, tensors: GgufTensor[]): void {
  const head = new Bytes();
  head.push(Buffer.from('GGUF', 'ascii'));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(Object.keys(metadata).length);
  for (const [key, v] of Object.entries(metadata)) {
    head.str(key);
    switch (v.type) {
      case 'u32':
        head.u32(T.u32);
        head.u32(v.value);
        break;
      case 'i32':
        head.u32(T.i32);
        head.i32(v.value);
        break;
      case 'f32':
        head.u32(T.f32);
        head.f32(v.value);
        break;
      case 'bool':
        head.u32(T.bool);
        head.push(Buffer.from([v.value ? 1 : 0]));
        break;
      case 'string':
        head.u32(T.string);
        head.str(v.value);
        break;
      case 'string[]':
        head.u32(T.array);
        head.u32(T.string);
        head.u64(v.value.length);
        for (const s of v.value) head.str(s);
        break;
      case 'f32[]':
        head.u32(T.array);
        head.u32(T.f32);
        head.u64(v.value.length);
        for (const x of v.value) head.f32(x);
        break;
      case 'i32[]':
        head.u32(T.array);
        head.u32(T.i32);
        head.u64(v.value.length);
        for (const x of v.value) head.i32(x);
        break;
    }
  }
  const blobs = tensors.map((t) =>
    t.type === 'f32' ? Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength) : q8_0(t.data),
  );
  let offset = 0;
  tensors.forEach((t, i) => {
    head.str(t.name);
    head.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) head.u64(d);
    head.u32(t.type === 'f32' ? 0 : 8);
    head.u64(offset);
    offset += Math.ceil(blobs[i].length / ALIGN) * ALIGN;
  });
  head.pad();
  const body = new Bytes();
  for (const b of blobs) {
    body.push(b);
    body.pad();
  }
  writeFileSync(path, Buffer.concat([head.concat(), body.concat()]));
}
