// Property-based fuzzing of the weight readers with fast-check. Valid safetensors files and PyTorch
// checkpoints (generated, and the real torch-written fixtures) are damaged: truncated, bit-flipped, bytes
// appended, header fields edited (offsets, shapes, dtypes, storage sizes, offsets, sizes, strides), entries
// duplicated, dropped or moved out of the archive's folder. Every case must either read back exactly what the
// file declares or throw an Error when opened; never crash, hang (each case < 1 s) or hand out a tensor
// larger than the file plus a small constant.
//
// "What the file declares" comes from an oracle written here, plainly and separately from the readers: it
// decides from the same bytes whether the file keeps every rule of docs/security.md and, if so, which
// tensors it holds with which bytes. The reader must agree both ways: accept exactly what the oracle accepts
// (so a damaged file that loads silently fails the test), and load exactly the oracle's values.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FILE_DTYPE_SIZE,
  type FileDType,
  isTuple,
  openWeights,
  type PickleValue,
  type TensorRef,
  unpickle,
  type WeightFile,
} from '../../src/index.js';
import { STORAGE_DTYPE } from '../../src/io/pytorch.js';
import { readZipDirectory } from '../../src/io/zip.js';
import { checkpointBytes, dictPickle, safetensorsBytes, tensorOp } from '../helpers/weight-files.js';

const tmp = mkdtempSync(join(tmpdir(), 'seed-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fixtures = join(__dirname, '..', 'fixtures', 'torch');
/** fast-check's seed: fixed so CI is reproducible; SEED_FUZZ_SEED=<n> explores other cases. */
const seed = Number(process.env.SEED_FUZZ_SEED ?? 20260512);
const RUNS = 3000;
/** What a strided PyTorch view may gather beyond its storage (pytorch.ts MAX_EXPANSION). */
const SLACK = 1 << 20;

const DTYPES = Object.keys(FILE_DTYPE_SIZE) as FileDType[];
const NAMES = ['a', 'emb', 'layer.0.weight', 'x_y', 'ünï', 'b.c'];

/** One tensor as the file declares it: dtype, shape and its bytes as stored, row-major. */
interface Declared {
  name: string;
  dtype: FileDType;
  shape: number[];
  bytes: Uint8Array;
}

// ---------------------------------------------------------------- reading back

/** The values `load(name).data()` must give for `bytes` stored as `dtype`, or 'too big' for I64 past i32. */
function values(bytes: Uint8Array, dtype: FileDType): number[] | 'too big' {
  const b = bytes.slice().buffer; // aligned
  switch (dtype) {
    case 'F64':
      return Array.from(new Float64Array(b), Math.fround);
    case 'F32':
      return Array.from(new Float32Array(b));
    case 'F16':
      return Array.from(new Uint16Array(b), (h) => {
        const sign = h & 0x8000 ? -1 : 1;
        const e = (h >> 10) & 31;
        const m = h & 1023;
        if (e === 31) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
        return e === 0 ? sign * m * 2 ** -24 : sign * (1 + m / 1024) * 2 ** (e - 15);
      });
    case 'BF16':
      return Array.from(new Float32Array(new Uint32Array(Array.from(new Uint16Array(b), (h) => h << 16)).buffer));
    case 'I64': {
      const v = Array.from(new BigInt64Array(b));
      return v.some((x) => x < -(2n ** 31n) || x >= 2n ** 31n) ? 'too big' : v.map(Number);
    }
    case 'I32':
      return Array.from(new Int32Array(b));
    case 'I16':
      return Array.from(new Int16Array(b));
    case 'I8':
      return Array.from(new Int8Array(b));
    case 'U8':
    case 'BOOL':
      return Array.from(new Uint8Array(b));
  }
}

function storedBytes(f: WeightFile, name: string): Uint8Array {
  const s = f.stored(name);
  if ('bytes' in s) return s.bytes;
  return new Uint8Array(readFileSync(s.path).subarray(s.byteOffset, s.byteOffset + s.byteLength));
}

const stats = { accepted: 0, refused: 0, slowest: 0 };
let caseNo = 0;

/**
 * Write `file`, open it and check the outcome against `declared` (the oracle's reading; undefined: the file
 * breaks a rule). Refusal must be an Error at open; acceptance must list and load exactly what is declared.
 */
async function readBack(file: Uint8Array, ext: string, declared: Declared[] | undefined): Promise<void> {
  const path = join(tmp, `case-${caseNo++}${ext}`);
  writeFileSync(path, file);
  const started = performance.now();
  try {
    let f: WeightFile;
    try {
      f = openWeights(path);
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
      expect(declared, `refused a valid file: ${(e as Error).message}`).toBeUndefined();
      stats.refused++;
      return;
    }
    try {
      expect(declared, 'accepted a file that breaks a rule').toBeDefined();
      const want = declared as Declared[];
      expect(f.tensors).toEqual(want.map(({ name, dtype, shape }) => ({ name, dtype, shape })));
      for (const d of want) {
        // No tensor may cost more memory than the file itself plus a small constant.
        expect(d.bytes.byteLength).toBeLessThanOrEqual(file.byteLength + SLACK);
        expect(storedBytes(f, d.name)).toEqual(d.bytes);
        const v = values(d.bytes, d.dtype);
        if (v === 'too big') {
          expect(() => f.load(d.name)).toThrow(/does not fit in i32/);
          continue;
        }
        const t = f.load(d.name);
        expect(t.shape).toEqual(d.shape);
        expect(Array.from(await t.data())).toEqual(v);
        t.dispose();
      }
      stats.accepted++;
    } finally {
      f.close();
    }
  } finally {
    rmSync(path); // mappings of it stay valid until released
    const ms = performance.now() - started;
    stats.slowest = Math.max(stats.slowest, ms);
    expect(ms).toBeLessThan(1000);
  }
}

/** A generated file, shown by fast-check as its label (what was done to it) rather than its bytes. */
interface Case {
  label: string;
  file: Uint8Array;
}
const labelled = (label: string, file: Uint8Array): Case =>
  Object.assign({ label, file }, { [fc.toStringMethod]: () => `${label} (${file.byteLength} bytes)` });

// ---------------------------------------------------------------- byte-level damage, for either format

type ByteEdit =
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; extra: Uint8Array }
  | { kind: 'flip'; bits: [number, number][] };

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({
    kind: fc.constant('flip' as const),
    bits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 3 }),
  }),
);

function damage(file: Uint8Array, e: ByteEdit): Uint8Array {
  if (e.kind === 'truncate') return file.slice(0, e.at % file.byteLength);
  if (e.kind === 'append') return new Uint8Array([...file, ...e.extra]);
  const out = file.slice();
  for (const [at, bit] of e.bits) out[at % out.byteLength] ^= 1 << bit;
  return out;
}

/** Odd numbers a hostile header might hold where a count, offset or stride belongs. */
const oddInt = fc.oneof(
  fc.integer({ min: -3, max: 40 }),
  fc.constantFrom<number | bigint>(
    2 ** 31,
    2 ** 32,
    2 ** 32 + 1,
    2 ** 53,
    2n ** 62n,
    2n ** 63n - 1n,
    -(2n ** 63n),
    2n ** 64n,
  ),
);

// ---------------------------------------------------------------- safetensors

interface StModel {
  tensors: [string, { dtype: FileDType; shape: number[]; data: Uint8Array }][];
  metadata: Record<string, string> | null;
}

const stTensor = fc
  .record({ dtype: fc.constantFrom(...DTYPES), shape: fc.array(fc.nat({ max: 3 }), { maxLength: 3 }) })
  .chain((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1) * FILE_DTYPE_SIZE[t.dtype];
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => ({ ...t, data }));
  });
const stModel: fc.Arbitrary<StModel> = fc.record({
  tensors: fc.uniqueArray(fc.tuple(fc.constantFrom(...NAMES), stTensor), { selector: ([n]) => n, maxLength: 4 }),
  metadata: fc.option(fc.dictionary(fc.constantFrom('format', 'note'), fc.string({ maxLength: 6 }))),
});

type StEdit =
  | { kind: 'none' }
  | { kind: 'field'; tensor: number; field: 'begin' | 'end'; value: number | bigint }
  | { kind: 'field'; tensor: number; field: 'shape'; value: (number | bigint)[] }
  | { kind: 'field'; tensor: number; field: 'dtype'; value: string }
  | { kind: 'duplicate'; tensor: number }
  | { kind: 'drop'; tensor: number };

const stEdit: fc.Arbitrary<StEdit> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({
    kind: fc.constant('field' as const),
    tensor: fc.nat(),
    field: fc.constantFrom('begin' as const, 'end' as const),
    value: oddInt,
  }),
  fc.record({
    kind: fc.constant('field' as const),
    tensor: fc.nat(),
    field: fc.constant('shape' as const),
    value: fc.array(oddInt, { maxLength: 9 }),
  }),
  fc.record({
    kind: fc.constant('field' as const),
    tensor: fc.nat(),
    field: fc.constant('dtype' as const),
    value: fc.constantFrom(...DTYPES, 'F8_E4M3', 'constructor', ''),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), tensor: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), tensor: fc.nat() }),
);

/** The model written as the format says (data in header order, no gaps), then `edit` applied to the header. */
function stFile(m: StModel, edit: StEdit = { kind: 'none' }): Uint8Array {
  const header: Record<string, unknown> = m.metadata ? { __metadata__: m.metadata } : {};
  let at = 0;
  const entries = m.tensors.map(([name, t]) => {
    const entry: Record<string, unknown> = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
    header[name] = entry;
    return [name, entry] as const;
  });
  const data = new Uint8Array(m.tensors.flatMap(([, t]) => [...t.data]));
  if (edit.kind === 'none' || entries.length === 0) return safetensorsBytes(header, data);
  const [name, entry] = entries[edit.tensor % entries.length];
  // JSON cannot hold a BigInt: odd numbers are written as their decimal digits.
  const json = (v: unknown) =>
    JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `@${x}@` : x)).replace(/"@(-?\d+)@"/g, '$1');
  if (edit.kind === 'duplicate') {
    const text = json(header);
    return safetensorsBytes(`${text.slice(0, -1)},${JSON.stringify(name)}:${json(entry)}}`, data);
  }
  if (edit.kind === 'drop') delete header[name];
  else if (edit.field === 'begin' || edit.field === 'end')
    (entry.data_offsets as unknown[])[edit.field === 'begin' ? 0 : 1] = edit.value;
  else entry[edit.field] = edit.value;
  return safetensorsBytes(json(header), data);
}

/** The oracle: the tensors a safetensors file declares, or undefined when it breaks a rule of the format. */
function declaredSafetensors(file: Uint8Array): Declared[] | undefined {
  if (file.byteLength < 8) return undefined;
  const n = Buffer.from(file.buffer, file.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(file.byteLength - 8)) return undefined;
  let text: string;
  let header: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + Number(n)));
    header = JSON.parse(text);
  } catch {
    return undefined;
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(header)) return undefined;
  // A key written twice (JSON.parse kept one): the generated names never appear in any other position.
  for (const k of Object.keys(header)) if (text.split(`${JSON.stringify(k)}:`).length > 2) return undefined;
  const data = file.subarray(8 + Number(n));
  const found: (Declared & { begin: number; end: number })[] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(e) || !Object.values(e).every((v) => typeof v === 'string')) return undefined;
      continue;
    }
    if (!isObject(e)) return undefined;
    const { dtype, shape, data_offsets: o } = e as { dtype: FileDType; shape: number[]; data_offsets: number[] };
    if (!DTYPES.includes(dtype)) return undefined;
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      return undefined;
    if (!Array.isArray(o) || o.length !== 2 || !o.every((x) => Number.isSafeInteger(x) && x >= 0)) return undefined;
    const [begin, end] = o;
    if (begin > end || end > data.byteLength) return undefined;
    if (end - begin !== shape.reduce((a, b) => a * b, 1) * FILE_DTYPE_SIZE[dtype]) return undefined;
    found.push({ name, dtype, shape, bytes: data.subarray(begin, end), begin, end });
  }
  found.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of found) {
    if (t.begin !== at) return undefined;
    at = t.end;
  }
  if (at !== data.byteLength) return undefined;
  return found.map(({ name, dtype, shape, bytes }) => ({ name, dtype, shape, bytes }));
}

// ---------------------------------------------------------------- PyTorch checkpoints

interface PtTensor {
  storage: number;
  offset: number;
  size: number[];
  /** null: contiguous. */
  stride: number[] | null;
}
interface PtModel {
  tensors: [string, PtTensor][];
  types: string[];
  slack: number;
  pool: Uint8Array;
}

const ptTensor: fc.Arbitrary<PtTensor> = fc
  .record({
    storage: fc.nat({ max: 2 }),
    offset: fc.nat({ max: 3 }),
    size: fc.array(fc.nat({ max: 3 }), { maxLength: 3 }),
  })
  .chain((t) =>
    fc
      .option(fc.array(fc.nat({ max: 4 }), { minLength: t.size.length, maxLength: t.size.length }))
      .map((stride) => ({ ...t, stride })),
  );
const ptModel: fc.Arbitrary<PtModel> = fc.record({
  tensors: fc.uniqueArray(fc.tuple(fc.constantFrom(...NAMES), ptTensor), {
    selector: ([n]) => n,
    minLength: 1,
    maxLength: 4,
  }),
  types: fc.array(fc.constantFrom(...Object.keys(STORAGE_DTYPE)), { minLength: 3, maxLength: 3 }),
  slack: fc.nat({ max: 2 }),
  pool: fc.uint8Array({ minLength: 512, maxLength: 512 }),
});

type PtEdit =
  | { kind: 'none' }
  | {
      kind: 'layout';
      tensor: number;
      field: 'offset' | 'numel' | 'size' | 'stride';
      dim: number;
      value: number | bigint;
    }
  | { kind: 'dim'; tensor: number; dim: number; size: number | bigint; stride: number | bigint }
  | { kind: 'type'; tensor: number; type: string }
  | { kind: 'resize'; storage: number; delta: number }
  | { kind: 'duplicate'; entry: number }
  | { kind: 'drop'; storage: number }
  | { kind: 'move'; storage: number; to: string };

const ptEdit: fc.Arbitrary<PtEdit> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({
    kind: fc.constant('layout' as const),
    tensor: fc.nat(),
    field: fc.constantFrom('offset' as const, 'numel' as const, 'size' as const, 'stride' as const),
    dim: fc.nat(),
    value: oddInt,
  }),
  // A size and stride together, so that products reach past 64 bits: (2^32 + 1 − 1) · 2^32 wraps to 0, and
  // 1024 · (2^53 − 1) to a negative number, with few enough elements to pass every other check.
  fc
    .record({
      tensor: fc.nat(),
      dim: fc.nat(),
      pair: fc.oneof(
        fc.tuple(oddInt, oddInt),
        fc.constantFrom<[number, number]>([2 ** 32 + 1, 2 ** 32], [1025, 2 ** 53 - 1], [2 ** 11 + 1, 2 ** 52 + 1]),
      ),
    })
    .map(({ tensor, dim, pair: [size, stride] }) => ({ kind: 'dim' as const, tensor, dim, size, stride })),
  fc.record({
    kind: fc.constant('type' as const),
    tensor: fc.nat(),
    type: fc.constantFrom(...Object.keys(STORAGE_DTYPE)),
  }),
  fc.record({ kind: fc.constant('resize' as const), storage: fc.nat(), delta: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), entry: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), storage: fc.nat() }),
  fc.record({
    kind: fc.constant('move' as const),
    storage: fc.nat(),
    to: fc.constantFrom('other/data/%', 'archive/../%', 'archive/data/./%', '%'),
  }),
);

/** Row-major strides of `size`. */
const denseStrides = (size: number[]) => size.map((_, i) => size.slice(i + 1).reduce((a, b) => a * b, 1));

/** The model as torch.save writes it (each storage just large enough, plus `slack`), then `edit` applied. */
function ptFile(m: PtModel, edit: PtEdit = { kind: 'none' }): Uint8Array {
  const layouts = m.tensors.map(([name, t]) => {
    const stride = t.stride ?? denseStrides(t.size);
    const n = t.size.reduce((a, b) => a * b, 1);
    const last = t.offset + t.size.reduce((acc, d, i) => acc + (d - 1) * stride[i], 0);
    return {
      name,
      key: String(t.storage),
      offset: t.offset,
      size: t.size,
      stride,
      reach: n === 0 ? t.offset : last + 1,
    };
  });
  const numel = new Map<string, number>();
  for (const l of layouts) numel.set(l.key, Math.max(numel.get(l.key) ?? 0, l.reach + m.slack));
  const ops = layouts.map((l) => ({
    name: l.name,
    layout: {
      type: m.types[Number(l.key)],
      key: l.key,
      numel: numel.get(l.key) as number | bigint,
      offset: l.offset as number | bigint,
      size: [...l.size] as (number | bigint)[],
      stride: [...l.stride] as (number | bigint)[],
    },
  }));
  let entries = [...numel].map(([key, count], i) => {
    const bytes = count * FILE_DTYPE_SIZE[STORAGE_DTYPE[m.types[Number(key)]]];
    const data = new Uint8Array(bytes).map((_, j) => m.pool[(i * 97 + j) % m.pool.length]);
    return { name: `archive/data/${key}`, data };
  });
  if (edit.kind === 'layout') {
    const l = ops[edit.tensor % ops.length].layout;
    if (edit.field === 'offset' || edit.field === 'numel') l[edit.field] = edit.value;
    else if (l[edit.field].length > 0) l[edit.field][edit.dim % l[edit.field].length] = edit.value;
  } else if (edit.kind === 'dim') {
    const l = ops[edit.tensor % ops.length].layout;
    if (l.size.length > 0) {
      l.size[edit.dim % l.size.length] = edit.size;
      l.stride[edit.dim % l.size.length] = edit.stride;
    }
  } else if (edit.kind === 'type') ops[edit.tensor % ops.length].layout.type = edit.type;
  const which = (i: number) => i % entries.length;
  if (edit.kind === 'resize') {
    const e = entries[which(edit.storage)];
    e.data =
      edit.delta < 0
        ? e.data.slice(0, Math.max(0, e.data.length + edit.delta))
        : new Uint8Array([...e.data, ...new Uint8Array(edit.delta)]);
  } else if (edit.kind === 'duplicate') entries.push(entries[which(edit.entry)]);
  else if (edit.kind === 'drop') entries = entries.filter((_, i) => i !== which(edit.storage));
  else if (edit.kind === 'move') {
    const e = entries[which(edit.storage)];
    e.name = edit.to.replace('%', e.name.slice('archive/data/'.length));
  }
  return checkpointBytes(dictPickle(ops.map((o) => [o.name, tensorOp(o.layout)])), entries);
}

/**
 * The oracle: the tensors a checkpoint declares, or undefined when it breaks a rule. The zip directory and
 * the pickle are parsed with seed's own parsers (tested on their own in zip.test.ts and
 * hostile-pickle.test.ts); every fact they yield is checked, and every view gathered, here.
 */
function declaredCheckpoint(file: Uint8Array): Declared[] | undefined {
  if (file.byteLength < 4 || Buffer.from(file.subarray(0, 4)).readUInt32LE(0) !== 0x04034b50) return undefined;
  let entries: ReturnType<typeof readZipDirectory>;
  let root: PickleValue;
  const names = [] as string[];
  try {
    entries = readZipDirectory(file, 'fuzz');
    names.push(...entries.keys());
  } catch {
    return undefined;
  }
  const pkl = names.find((n) => n === 'data.pkl' || /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) return undefined;
  const prefix = pkl.slice(0, -'data.pkl'.length);
  if (prefix === './' || prefix === '../') return undefined;
  for (const n of names) {
    const rest = n.startsWith(prefix) ? n.slice(prefix.length).replace(/\/$/, '') : undefined;
    if (
      rest === undefined ||
      (rest !== '' && rest.split('/').some((s) => ['', '.', '..'].includes(s) || s.includes('\\')))
    )
      return undefined;
  }
  const stored = (name: string) => {
    const e = entries.get(name);
    return e && e.compression === 0 && !e.encrypted ? file.subarray(e.dataOffset, e.dataOffset + e.size) : undefined;
  };
  const order = entries.get(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(stored(order.name) ?? new Uint8Array()).trim() !== 'little') return undefined;
  const pickled = stored(pkl);
  if (!pickled) return undefined;
  try {
    root = unpickle(pickled);
  } catch {
    return undefined;
  }
  if (!(root instanceof Map) && !(Array.isArray(root) && !isTuple(root))) return undefined;

  // Flatten as state_dict() names things; two tensors of one name, or nesting past 64, break a rule.
  const refs = new Map<string, TensorRef>();
  const visit = (v: PickleValue, name: string, depth: number): boolean => {
    if (v instanceof Map || (Array.isArray(v) && !isTuple(v))) {
      if (depth > 64) return false;
      const kids: [PickleValue, PickleValue][] = v instanceof Map ? [...v] : (v as PickleValue[]).map((x, i) => [i, x]);
      return kids.every(
        ([k, x]) =>
          !['string', 'number', 'bigint'].includes(typeof k) ||
          visit(x, name ? `${name}.${String(k)}` : String(k), depth + 1),
      );
    }
    if (!v || typeof v !== 'object' || (v as TensorRef).kind !== 'tensor') return true;
    if (refs.has(name)) return false;
    refs.set(name, v as TensorRef);
    return true;
  };
  if (!visit(root, '', 0)) return undefined;

  const declaredAs = new Map<string, string>();
  const out: Declared[] = [];
  for (const [name, t] of refs) {
    const dtype = STORAGE_DTYPE[t.storage.type];
    const es = BigInt(FILE_DTYPE_SIZE[dtype]);
    if (t.size.length > 8 || t.size.length !== t.stride.length) return undefined;
    if ([t.offset, ...t.size, ...t.stride].some((v) => v < 0n || v >= 2n ** 53n)) return undefined;
    const storage = stored(`${prefix}data/${t.storage.key}`);
    if (!storage) return undefined;
    const declaration = `${t.storage.type} × ${t.storage.numel}`;
    if ((declaredAs.get(t.storage.key) ?? declaration) !== declaration) return undefined;
    declaredAs.set(t.storage.key, declaration);
    if (t.storage.numel * es !== BigInt(storage.byteLength)) return undefined;
    const n = t.size.reduce((a, b) => a * b, 1n);
    const last = t.size.reduce((acc, d, i) => acc + (d - 1n) * t.stride[i], t.offset);
    if (n > 0n ? last >= t.storage.numel : t.offset > t.storage.numel) return undefined;
    const dense = denseStrides(t.size.map(Number));
    const contiguous = t.size.every((d, i) => d === 1n || Number(t.stride[i]) === dense[i]);
    if (!contiguous && n * es > BigInt(storage.byteLength + SLACK)) return undefined;
    // Gather the view element by element, counting through its indices in row-major order.
    const size = t.size.map(Number);
    const bytes = new Uint8Array(Number(n * es));
    const index = size.map(() => 0);
    for (let k = 0; k < Number(n); k++) {
      const element = Number(t.offset) + index.reduce((acc, j, d) => acc + j * Number(t.stride[d]), 0);
      bytes.set(storage.subarray(element * Number(es), (element + 1) * Number(es)), k * Number(es));
      for (let d = size.length - 1; d >= 0 && ++index[d] === size[d]; d--) index[d] = 0;
    }
    out.push({ name, dtype, shape: size, bytes });
  }
  return out;
}

// ---------------------------------------------------------------- the properties

describe('fuzzing the weight readers (fast-check)', () => {
  const realSafetensors = new Uint8Array(readFileSync(join(fixtures, 'checkpoint.safetensors')));
  const realCheckpoint = new Uint8Array(readFileSync(join(fixtures, 'checkpoint.pt')));

  it('the oracles read the files the generators write, and the real fixtures, as written', () => {
    fc.assert(
      fc.property(stModel, (m) => {
        const got = declaredSafetensors(stFile(m));
        expect(got?.map((t) => [t.name, t.dtype, t.shape, [...t.bytes]])).toEqual(
          m.tensors.map(([name, t]) => [name, t.dtype, t.shape, [...t.data]]),
        );
      }),
      { seed, numRuns: 200 },
    );
    fc.assert(
      fc.property(ptModel, (m) => {
        expect(declaredCheckpoint(ptFile(m))?.map((t) => t.name)).toEqual(m.tensors.map(([name]) => name));
      }),
      { seed, numRuns: 200 },
    );
    expect(declaredSafetensors(realSafetensors)?.length).toBe(11);
    expect(declaredCheckpoint(realCheckpoint)?.length).toBe(11);
  });

  it(`safetensors: ${RUNS} damaged files each read back exactly as declared, or refused with an Error`, async () => {
    const file = fc.oneof(
      fc.tuple(stModel, stEdit).map(([m, e]) => labelled(`${fc.stringify(m)} ${fc.stringify(e)}`, stFile(m, e))),
      fc
        .tuple(
          fc.oneof(
            stModel.map((m) => labelled(fc.stringify(m), stFile(m))),
            fc.constant(labelled('checkpoint.safetensors', realSafetensors)),
          ),
          byteEdit,
        )
        .map(([c, e]) => labelled(`${c.label} ${fc.stringify(e)}`, damage(c.file, e))),
    );
    await fc.assert(
      fc.asyncProperty(file, (c) => readBack(c.file, '.safetensors', declaredSafetensors(c.file))),
      { seed, numRuns: RUNS },
    );
  });

  it(`PyTorch zip: ${RUNS} damaged checkpoints each read back exactly as declared, or refused with an Error`, async () => {
    const file = fc.oneof(
      fc
        .tuple(ptModel, ptEdit)
        .map(([m, e]) => labelled(`${fc.stringify(m.tensors)} ${fc.stringify(e)}`, ptFile(m, e))),
      fc
        .tuple(
          fc.oneof(
            ptModel.map((m) => labelled(fc.stringify(m.tensors), ptFile(m))),
            fc.constant(labelled('checkpoint.pt', realCheckpoint)),
          ),
          byteEdit,
        )
        .map(([c, e]) => labelled(`${c.label} ${fc.stringify(e)}`, damage(c.file, e))),
    );
    await fc.assert(
      fc.asyncProperty(file, (c) => readBack(c.file, '.pt', declaredCheckpoint(c.file))),
      { seed, numRuns: RUNS },
    );
  });

  it('both outcomes were exercised', () => {
    // A generator that only ever produced broken (or only intact) files would make the properties vacuous.
    console.log(
      `fuzz: ${stats.accepted} read back, ${stats.refused} refused; slowest case ${stats.slowest.toFixed(1)} ms`,
    );
    expect(stats.accepted).toBeGreaterThan(RUNS / 5);
    expect(stats.refused).toBeGreaterThan(RUNS / 2);
  });
});
