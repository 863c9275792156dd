/**
 * THE op set. Each function validates its inputs (shape, dtype, device) with an error that names the op,
 * computes the output shape, and enqueues the op on the inputs' device; it returns at once. The exact
 * semantics of every op are in docs/ops.md; the references in src/ref/ implement the same definitions.
 */
import { type DType, dtypeId, isFloat, numel } from './dtype.js';
import type { NativeParams } from './native/addon-types.js';
import { loadAddon } from './native/load-addon.js';
import { Tensor } from './tensor.js';

/**
 * The names of every op (native/ops.def is the native op table; test/conformance/op-table.test.ts checks the
 * two lists are equal). Each op's native arguments are exactly the params its function below sends: the
 * native side requires every one and refuses unknown ones, so the defaults live here only.
 */
export const OP_NAMES = [
  'linear',
  'matmul',
  'add',
  'mul',
  'scale',
  'silu',
  'gelu',
  'tanh',
  'relu',
  'softmax',
  'layernorm',
  'rmsnorm',
  'rope',
  'embedding',
  'concat',
  'slice',
  'set_slice',
  'permute',
  'cast',
  'argmax',
  'attention',
  'codebook_nearest',
  'sample',
  'conv2d',
  'group_norm',
  'upsample_nearest2x',
  'geglu',
] as const;
export type OpName = (typeof OP_NAMES)[number];

interface OutSpec {
  dtype: DType;
  shape: readonly number[];
}

function run(op: OpName, inputs: readonly Tensor[], outputs: readonly OutSpec[], params: NativeParams = {}): Tensor[] {
  const device = inputs[0].device;
  for (const t of inputs)
    if (t.device !== device) throw new Error(`${op}: inputs are on different devices (${device} and ${t.device})`);
  const handles = loadAddon().enqueue(
    op,
    inputs.map((t) => t.native),
    outputs.map((o) => ({ dtype: dtypeId(o.dtype), shape: o.shape })),
    params,
  );
  return handles.map((h, i) => new Tensor(h, outputs[i].dtype, outputs[i].shape, device));
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

function fail(op: string, msg: string): never {
  throw new Error(`${op}: ${msg}`);
}

function live(op: string, ...ts: (Tensor | undefined)[]): void {
  for (const t of ts) {
    if (t === undefined) continue;
    if (!(t instanceof Tensor)) fail(op, 'expected a Tensor');
    if (t.disposed) fail(op, `input ${t.toString()} was disposed`);
  }
}

function float(op: string, name: string, t: Tensor): void {
  if (!isFloat(t.dtype)) fail(op, `${name} must be f32, f16 or bf16, got ${t.dtype}`);
}

function sameDtype(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) fail(op, `dtypes differ: ${a.dtype} and ${b.dtype}`);
}

const last = (t: Tensor) => t.shape[t.shape.length - 1];

// ---------------------------------------------------------------- matrix products

/** y[..., N] = x[..., K] · wᵀ (+ bias). w is [N, K] in f32, f16, bf16 or q8 (the int8 weight format). */
export function linear(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  live('linear', x, w, bias);
  float('linear', 'x', x);
  if (!(isFloat(w.dtype) || w.dtype === 'q8')) fail('linear', `weight must be f32, f16, bf16 or q8, got ${w.dtype}`);
  if (w.rank !== 2) fail('linear', `weight must be 2-D [N, K], got ${fmt(w.shape)}`);
  if (x.rank < 1 || last(x) !== w.shape[1])
    fail('linear', `x ${fmt(x.shape)} does not match weight ${fmt(w.shape)} (last dim must be ${w.shape[1]})`);
  if (bias) {
    float('linear', 'bias', bias);
    if (bias.rank !== 1 || bias.shape[0] !== w.shape[0])
      fail('linear', `bias must be [${w.shape[0]}], got ${fmt(bias.shape)}`);
  }
  const shape = [...x.shape.slice(0, -1), w.shape[0]];
  return run('linear', bias ? [x, w, bias] : [x, w], [{ dtype: x.dtype, shape }])[0];
}

/** Batched a[...B, M, K] · b[...B, K, N] (b: [...B, N, K] with transB). b may be 2-D and shared. */
export function matmul(a: Tensor, b: Tensor, options: { transB?: boolean } = {}): Tensor {
  live('matmul', a, b);
  float('matmul', 'a', a);
  sameDtype('matmul', a, b);
  if (a.rank < 2 || b.rank < 2)
    fail('matmul', `operands must be at least 2-D, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const [M, K] = a.shape.slice(-2);
  const transB = options.transB ?? false;
  const [bK, N] = transB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : b.shape.slice(-2);
  if (bK !== K) fail('matmul', `inner dims differ: a ${fmt(a.shape)}, b ${fmt(b.shape)}${transB ? ' (transB)' : ''}`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  if (b.rank > 2 && fmt(aBatch) !== fmt(bBatch)) fail('matmul', `batch dims differ: ${fmt(aBatch)} and ${fmt(bBatch)}`);
  return run('matmul', [a, b], [{ dtype: a.dtype, shape: [...aBatch, M, N] }], { transB: transB ? 1 : 0 })[0];
}

// ---------------------------------------------------------------- element-wise

/** NumPy broadcast shape of two shapes, or an error naming the op. */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) fail(op, `shapes ${fmt(a)} and ${fmt(b)} do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

function binary(op: 'add' | 'mul', a: Tensor, b: Tensor): Tensor {
  live(op, a, b);
  float(op, 'a', a);
  sameDtype(op, a, b);
  return run(op, [a, b], [{ dtype: a.dtype, shape: broadcastShape(op, a.shape, b.shape) }])[0];
}

/** a + b with NumPy broadcasting. */
export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
/** a · b with NumPy broadcasting. */
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);

/** x · factor + bias. */
export function scale(x: Tensor, factor: number, bias = 0): Tensor {
  live('scale', x);
  float('scale', 'x', x);
  if (!Number.isFinite(factor) || !Number.isFinite(bias)) fail('scale', 'factor and bias must be finite numbers');
  return run('scale', [x], [{ dtype: x.dtype, shape: x.shape }], { scale: factor, bias })[0];
}

function unary(op: 'silu' | 'gelu' | 'tanh' | 'relu' | 'softmax', x: Tensor): Tensor {
  live(op, x);
  float(op, 'x', x);
  return run(op, [x], [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** x · sigmoid(x). */
export const silu = (x: Tensor): Tensor => unary('silu', x);
/** Exact GELU: 0.5·x·(1 + erf(x/√2)). */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** Softmax over the last axis. */
export const softmax = (x: Tensor): Tensor => unary('softmax', x);

/** Convert to another dtype: between f32/f16/bf16/i32/u8, f32/f16/bf16 2-D → q8 (quantize), q8 → floats. */
export function cast(x: Tensor, dtype: DType): Tensor {
  live('cast', x);
  dtypeId(dtype);
  if (dtype === 'q8' && (!isFloat(x.dtype) || x.rank !== 2))
    fail('cast', `only 2-D float tensors quantize to q8, got ${x.dtype} ${fmt(x.shape)}`);
  if (x.dtype === 'q8' && !isFloat(dtype)) fail('cast', `q8 converts only to f32, f16 or bf16, not ${dtype}`);
  return run('cast', [x], [{ dtype, shape: x.shape }])[0];
}

/** Quantize a [rows, cols] weight to the int8 format with one f32 scale per row. */
export const quantizeQ8 = (w: Tensor): Tensor => cast(w, 'q8');

// ---------------------------------------------------------------- row ops

function normWeight(op: string, x: Tensor, w: Tensor, name: string): void {
  float(op, name, w);
  if (w.rank !== 1 || w.shape[0] !== last(x)) fail(op, `${name} must be [${last(x)}], got ${fmt(w.shape)}`);
}

/** LayerNorm over the last axis (biased variance). */
export function layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  live('layernorm', x, weight, bias);
  float('layernorm', 'x', x);
  normWeight('layernorm', x, weight, 'weight');
  normWeight('layernorm', x, bias, 'bias');
  if (!(eps >= 0)) fail('layernorm', 'eps must be a non-negative number');
  return run('layernorm', [x, weight, bias], [{ dtype: x.dtype, shape: x.shape }], { eps })[0];
}

/** RMSNorm over the last axis (HF LLaMA): x / √(mean(x²) + eps) · weight. */
export function rmsnorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  live('rmsnorm', x, weight);
  float('rmsnorm', 'x', x);
  normWeight('rmsnorm', x, weight, 'weight');
  if (!(eps >= 0)) fail('rmsnorm', 'eps must be a non-negative number');
  return run('rmsnorm', [x, weight], [{ dtype: x.dtype, shape: x.shape }], { eps })[0];
}

/** Index of the largest value along the last axis (ties → lowest index), as i32. */
export function argmax(x: Tensor): Tensor {
  live('argmax', x);
  if (x.dtype === 'q8') fail('argmax', 'q8 is a weight format; cast it first');
  if (x.rank < 1 || last(x) === 0) fail('argmax', `needs a non-empty last axis, got ${fmt(x.shape)}`);
  return run('argmax', [x], [{ dtype: 'i32', shape: x.shape.slice(0, -1) }])[0];
}

// ---------------------------------------------------------------- positions

export interface RopeOptions {
  /** Rotary base θ (default 10000). */
  base?: number;
  /** 'half' = HF LLaMA (pairs i, i + d/2); 'interleaved' = pairs (2i, 2i + 1). */
  layout?: 'half' | 'interleaved';
  /** Rotate only the first rotaryDim dims of each head (default: all). */
  rotaryDim?: number;
}

/** Rotary position embedding of x [..., T, H, D] at positions (i32 [T]). */
export function rope(x: Tensor, positions: Tensor, options: RopeOptions = {}): Tensor {
  live('rope', x, positions);
  float('rope', 'x', x);
  if (x.rank < 3) fail('rope', `x must be [..., T, H, D], got ${fmt(x.shape)}`);
  const T = x.shape[x.rank - 3];
  const D = last(x);
  if (positions.dtype !== 'i32' || positions.rank !== 1 || positions.shape[0] !== T)
    fail('rope', `positions must be i32 [${T}], got ${positions.dtype} ${fmt(positions.shape)}`);
  const rotaryDim = options.rotaryDim ?? D;
  if (!Number.isInteger(rotaryDim) || rotaryDim % 2 !== 0 || rotaryDim > D || rotaryDim <= 0)
    fail('rope', `rotaryDim must be even and in (0, ${D}], got ${rotaryDim}`);
  const base = options.base ?? 10000;
  if (!(base > 0)) fail('rope', 'base must be positive');
  const layout = options.layout ?? 'half';
  if (layout !== 'half' && layout !== 'interleaved') fail('rope', `layout must be 'half' or 'interleaved'`);
  return run('rope', [x, positions], [{ dtype: x.dtype, shape: x.shape }], {
    base,
    layout: layout === 'half' ? 0 : 1,
    rotaryDim,
  })[0];
}

// ---------------------------------------------------------------- gathers and layout

/** Rows of table [V, C] at ids (i32 [...]) → [..., C]. A q8 table gives f32 rows. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  live('embedding', table, ids);
  if (!(isFloat(table.dtype) || table.dtype === 'q8'))
    fail('embedding', `table must be f32, f16, bf16 or q8, got ${table.dtype}`);
  if (table.rank !== 2) fail('embedding', `table must be 2-D [V, C], got ${fmt(table.shape)}`);
  if (ids.dtype !== 'i32') fail('embedding', `ids must be i32, got ${ids.dtype}`);
  const dtype = table.dtype === 'q8' ? 'f32' : table.dtype;
  return run('embedding', [table, ids], [{ dtype, shape: [...ids.shape, table.shape[1]] }])[0];
}

/** The vectors of codes (codebook gather): the same as embedding. */
export const codebookLookup = embedding;

function axisOf(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) fail(op, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Join tensors along an axis. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) fail('concat', 'needs at least one tensor');
  live('concat', ...tensors);
  const first = tensors[0];
  const a = axisOf('concat', axis, first.rank);
  let total = 0;
  for (const t of tensors) {
    if (t.dtype !== first.dtype) fail('concat', `dtypes differ: ${first.dtype} and ${t.dtype}`);
    if (t.dtype === 'q8') fail('concat', 'q8 tensors cannot be concatenated');
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i]))
      fail('concat', `shapes ${fmt(first.shape)} and ${fmt(t.shape)} differ outside axis ${a}`);
    total += t.shape[a];
  }
  const shape = first.shape.map((d, i) => (i === a ? total : d));
  return run('concat', tensors, [{ dtype: first.dtype, shape }], { axis: a })[0];
}

/** Contiguous copy of x[starts : ends] (one start/end per dim; missing dims are taken whole). */
export function slice(x: Tensor, starts: readonly number[], ends?: readonly number[]): Tensor {
  live('slice', x);
  if (x.dtype === 'q8') fail('slice', 'q8 tensors cannot be sliced');
  const s = x.shape.map((_, i) => starts[i] ?? 0);
  const e = x.shape.map((d, i) => ends?.[i] ?? d);
  for (let i = 0; i < x.rank; i++)
    if (!Number.isInteger(s[i]) || !Number.isInteger(e[i]) || s[i] < 0 || s[i] > e[i] || e[i] > x.shape[i])
      fail('slice', `range [${s[i]}, ${e[i]}) is invalid for dim ${i} of ${fmt(x.shape)}`);
  // The output's shape carries the ends; the native op takes only where the box starts.
  return run('slice', [x], [{ dtype: x.dtype, shape: s.map((v, i) => e[i] - v) }], { starts: s })[0];
}

/** Slice along one axis: x[..., start:end, ...]. */
export function narrow(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = axisOf('slice', axis, x.rank);
  const starts = x.shape.map((_, i) => (i === a ? start : 0));
  const ends = x.shape.map((d, i) => (i === a ? end : d));
  return slice(x, starts, ends);
}

/** Write src into dst[starts : starts + src.shape] in place (KV caches). Returns dst. */
export function setSlice(dst: Tensor, src: Tensor, starts: readonly number[]): Tensor {
  live('set_slice', dst, src);
  sameDtype('set_slice', dst, src);
  if (dst.dtype === 'q8') fail('set_slice', 'q8 tensors cannot be written in slices');
  if (src.rank !== dst.rank) fail('set_slice', `ranks differ: dst ${fmt(dst.shape)}, src ${fmt(src.shape)}`);
  const s = dst.shape.map((_, i) => starts[i] ?? 0);
  for (let i = 0; i < dst.rank; i++)
    if (!Number.isInteger(s[i]) || s[i] < 0 || s[i] + src.shape[i] > dst.shape[i])
      fail('set_slice', `src ${fmt(src.shape)} at ${fmt(s)} does not fit in dst ${fmt(dst.shape)}`);
  run('set_slice', [dst, src], [], { starts: s });
  return dst;
}

/** Contiguous copy with dims reordered: y.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  live('permute', x);
  if (x.dtype === 'q8') fail('permute', 'q8 tensors cannot be permuted');
  const sorted = [...perm].sort((p, q) => p - q);
  if (perm.length !== x.rank || sorted.some((p, i) => p !== i))
    fail('permute', `perm ${fmt(perm)} is not a permutation of ${x.rank} dims`);
  return run('permute', [x], [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }], { perm: [...perm] })[0];
}

/** Swap two dims (a contiguous copy). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = axisOf('permute', dim0, x.rank);
  const b = axisOf('permute', dim1, x.rank);
  const perm = x.shape.map((_, i) => i);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

// ---------------------------------------------------------------- the named kernels

export interface AttentionOptions {
  /** Score scale (default 1/√D). */
  scale?: number;
  /** Mask keys after each query's own position. */
  causal?: boolean;
  /** Additive f32 mask [Tq, Tk] or [B, 1 | Hq, Tq, Tk] (the Q-Former uses −10000). */
  mask?: Tensor;
  /** Valid rows of k/v when they are a larger cache (default: all). */
  kvLen?: number;
  /** Absolute position of query 0 for the causal mask (default kvLen − Tq). */
  qOffset?: number;
}

/**
 * Fused attention (online softmax): q [B, Tq, Hq, D], k and v [B, Tk, Hkv, D] with Hq a multiple of Hkv
 * (grouped-query heads) → [B, Tq, Hq, D].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const op = 'attention';
  live(op, q, k, v, options.mask);
  float(op, 'q', q);
  sameDtype(op, q, k);
  sameDtype(op, q, v);
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4)
    fail(op, `q, k, v must be 4-D [B, T, H, D], got ${fmt(q.shape)}, ${fmt(k.shape)}, ${fmt(v.shape)}`);
  const [B, Tq, Hq, D] = q.shape;
  const [kB, Tk, Hkv, kD] = k.shape;
  if (fmt(k.shape) !== fmt(v.shape)) fail(op, `k ${fmt(k.shape)} and v ${fmt(v.shape)} differ`);
  if (kB !== B || kD !== D) fail(op, `k ${fmt(k.shape)} does not match q ${fmt(q.shape)} in batch or head dim`);
  if (Hkv === 0 || Hq % Hkv !== 0) fail(op, `query heads (${Hq}) must be a multiple of kv heads (${Hkv})`);
  if (D > 512) fail(op, `head dim ${D} is larger than 512`);
  const kvLen = options.kvLen ?? Tk;
  if (!Number.isInteger(kvLen) || kvLen < 0 || kvLen > Tk) fail(op, `kvLen ${kvLen} must be an integer in [0, ${Tk}]`);
  const qOffset = options.qOffset ?? kvLen - Tq;
  if (!Number.isInteger(qOffset)) fail(op, 'qOffset must be an integer');
  const scale = options.scale ?? 1 / Math.sqrt(D);
  const inputs = [q, k, v];
  const mask = options.mask;
  if (mask) {
    if (mask.dtype !== 'f32') fail(op, `mask must be f32, got ${mask.dtype}`);
    const ok2 = mask.rank === 2 && mask.shape[0] === Tq && mask.shape[1] >= kvLen;
    const ok4 =
      mask.rank === 4 &&
      mask.shape[0] === B &&
      (mask.shape[1] === 1 || mask.shape[1] === Hq) &&
      mask.shape[2] === Tq &&
      mask.shape[3] >= kvLen;
    if (!ok2 && !ok4)
      fail(op, `mask must be [${Tq}, ≥${kvLen}] or [${B}, 1|${Hq}, ${Tq}, ≥${kvLen}], got ${fmt(mask.shape)}`);
    inputs.push(mask);
  }
  return run(op, inputs, [{ dtype: q.dtype, shape: q.shape }], {
    scale,
    causal: options.causal ? 1 : 0,
    kvLen,
    qOffset,
  })[0];
}

/** For each row of z [N, D], the index of the nearest codebook row [K, D] by squared L2 (ties → lowest). */
export function codebookNearest(z: Tensor, codebook: Tensor): Tensor {
  live('codebook_nearest', z, codebook);
  float('codebook_nearest', 'z', z);
  float('codebook_nearest', 'codebook', codebook);
  if (z.rank !== 2 || codebook.rank !== 2 || z.shape[1] !== codebook.shape[1])
    fail(
      'codebook_nearest',
      `z [N, D] and codebook [K, D] must share D, got ${fmt(z.shape)} and ${fmt(codebook.shape)}`,
    );
  if (codebook.shape[0] === 0) fail('codebook_nearest', 'the codebook is empty');
  return run('codebook_nearest', [z, codebook], [{ dtype: 'i32', shape: [z.shape[0]] }])[0];
}

export interface SampleOptions {
  /** 0 = greedy (default 1). */
  temperature?: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set with cumulative probability ≥ topP (1 = off). */
  topP?: number;
  /** Drop tokens below minP · p_max (0 = off). */
  minP?: number;
  /** HF repetition penalty over penaltyIds (1 = off). */
  repetitionPenalty?: number;
  /** Ids (i32 [P] or [B, P]; negative = padding) that the repetition penalty applies to. */
  penaltyIds?: Tensor;
  /** u8 [V] or [B, V]: 1 = allowed. */
  allowedMask?: Tensor;
  /** RNG seed and draw counter (integers in [0, 2³²)); the same pair draws the same token on every backend. */
  seed?: number;
  counter?: number;
}

/** Draw one token id per row of logits [B, V] (or [V]) → i32 [B] (or [1]). The algorithm is in docs/ops.md. */
export function sample(logits: Tensor, options: SampleOptions = {}): Tensor {
  const op = 'sample';
  live(op, logits, options.penaltyIds, options.allowedMask);
  float(op, 'logits', logits);
  const x = logits.rank === 1 ? logits.reshape([1, logits.shape[0]]) : logits;
  if (x.rank !== 2 || x.shape[1] === 0) fail(op, `logits must be [B, V] or [V], got ${fmt(logits.shape)}`);
  const [B, V] = x.shape;
  const num = (name: string, v: number, ok: boolean) => {
    if (!ok || !Number.isFinite(v)) fail(op, `${name} ${v} is out of range`);
    return v;
  };
  const temperature = num('temperature', options.temperature ?? 1, (options.temperature ?? 1) >= 0);
  const topK = num('topK', options.topK ?? 0, Number.isInteger(options.topK ?? 0) && (options.topK ?? 0) >= 0);
  const topP = num('topP', options.topP ?? 1, (options.topP ?? 1) > 0 && (options.topP ?? 1) <= 1);
  const minP = num('minP', options.minP ?? 0, (options.minP ?? 0) >= 0 && (options.minP ?? 0) <= 1);
  const repetitionPenalty = num(
    'repetitionPenalty',
    options.repetitionPenalty ?? 1,
    (options.repetitionPenalty ?? 1) > 0,
  );
  const u32 = (name: string, v: number) => num(name, v, Number.isInteger(v) && v >= 0 && v < 2 ** 32);
  const seed = u32('seed', options.seed ?? 0);
  const counter = u32('counter', options.counter ?? 0);
  const inputs = [x];
  const { penaltyIds, allowedMask } = options;
  if (penaltyIds) {
    if (penaltyIds.dtype !== 'i32' || !(penaltyIds.rank === 1 || (penaltyIds.rank === 2 && penaltyIds.shape[0] === B)))
      fail(op, `penaltyIds must be i32 [P] or [${B}, P], got ${penaltyIds.dtype} ${fmt(penaltyIds.shape)}`);
    inputs.push(penaltyIds);
  }
  if (allowedMask) {
    if (allowedMask.dtype !== 'u8' || !(fmt(allowedMask.shape) === fmt([V]) || fmt(allowedMask.shape) === fmt([B, V])))
      fail(op, `allowedMask must be u8 [${V}] or [${B}, ${V}], got ${allowedMask.dtype} ${fmt(allowedMask.shape)}`);
    inputs.push(allowedMask);
  }
  return run(op, inputs, [{ dtype: 'i32', shape: [B] }], {
    temperature,
    topK,
    topP,
    minP,
    repetitionPenalty,
    seed,
    counter,
    hasPenalty: penaltyIds ? 1 : 0,
    hasMask: allowedMask ? 1 : 0,
  })[0];
}

// ---------------------------------------------------------------- image ops (NCHW, contiguous)

export interface Conv2dOptions {
  /** Stride along H and W (the same for both). */
  stride: number;
  /** Zero padding on every side. */
  padding: number;
}

/** Output length of `n` under a kernel of `k` taps (stride s, padding p on both sides). */
const convOut = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

/**
 * 2-D convolution (cross-correlation, like PyTorch): x [B, Cin, H, W], w [Cout, Cin, kh, kw] (f32, f16 or bf16,
 * may differ from x), bias [Cout] or undefined → [B, Cout, Ho, Wo] in x's dtype, Ho = ⌊(H + 2p − kh)/s⌋ + 1.
 * Accumulates in f32.
 */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | undefined, options: Conv2dOptions): Tensor {
  const op = 'conv2d';
  live(op, x, w, bias);
  float(op, 'x', x);
  float(op, 'weight', w);
  if (x.rank !== 4) fail(op, `x must be [B, Cin, H, W], got ${fmt(x.shape)}`);
  if (w.rank !== 4 || w.shape[1] !== x.shape[1])
    fail(op, `weight must be [Cout, ${x.shape[1]}, kh, kw] for x ${fmt(x.shape)}, got ${fmt(w.shape)}`);
  const [B, Cin, H, W] = x.shape;
  const [Cout, , kh, kw] = w.shape;
  if (Cin === 0 || kh === 0 || kw === 0) fail(op, `Cin, kh and kw must be positive, got weight ${fmt(w.shape)}`);
  const { stride, padding } = options;
  if (!Number.isInteger(stride) || stride < 1 || stride > 64)
    fail(op, `stride must be an integer in [1, 64], got ${stride}`);
  if (!Number.isInteger(padding) || padding < 0 || padding > 1024)
    fail(op, `padding must be an integer in [0, 1024], got ${padding}`);
  if (H + 2 * padding < kh || W + 2 * padding < kw)
    fail(op, `the padded input ${H + 2 * padding}×${W + 2 * padding} is smaller than the kernel ${kh}×${kw}`);
  if (bias) {
    float(op, 'bias', bias);
    if (bias.rank !== 1 || bias.shape[0] !== Cout) fail(op, `bias must be [${Cout}], got ${fmt(bias.shape)}`);
  }
  const shape = [B, Cout, convOut(H, kh, stride, padding), convOut(W, kw, stride, padding)];
  return run(op, bias ? [x, w, bias] : [x, w], [{ dtype: x.dtype, shape }], { stride, padding })[0];
}

export interface GroupNormOptions {
  /** Apply SiLU to the normalized output (fused). */
  silu?: boolean;
}

/**
 * GroupNorm: x [B, C, ...spatial], weight and bias [C]; mean and (biased) variance per batch row and group of
 * C/groups consecutive channels over all their spatial positions; y = (x − μ)/√(σ² + eps)·weight + bias,
 * then SiLU with `silu`. Same shape and dtype as x.
 */
export function groupNorm(
  x: Tensor,
  weight: Tensor,
  bias: Tensor,
  groups: number,
  eps: number,
  options: GroupNormOptions = {},
): Tensor {
  const op = 'group_norm';
  live(op, x, weight, bias);
  float(op, 'x', x);
  if (x.rank < 2) fail(op, `x must be [B, C, ...], got ${fmt(x.shape)}`);
  const C = x.shape[1];
  for (const [name, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    float(op, name, t);
    if (t.rank !== 1 || t.shape[0] !== C) fail(op, `${name} must be [${C}], got ${fmt(t.shape)}`);
  }
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0)
    fail(op, `groups must be a positive integer dividing the ${C} channels, got ${groups}`);
  if (!(eps >= 0) || !Number.isFinite(eps)) fail(op, 'eps must be a non-negative number');
  return run(op, [x, weight, bias], [{ dtype: x.dtype, shape: x.shape }], {
    groups,
    eps,
    silu: options.silu ? 1 : 0,
  })[0];
}

/** Nearest-neighbour 2× upsampling: x [B, C, H, W] → [B, C, 2H, 2W], y[.., i, j] = x[.., ⌊i/2⌋, ⌊j/2⌋]. */
export function upsampleNearest2x(x: Tensor): Tensor {
  const op = 'upsample_nearest2x';
  live(op, x);
  float(op, 'x', x);
  if (x.rank !== 4) fail(op, `x must be [B, C, H, W], got ${fmt(x.shape)}`);
  const [B, C, H, W] = x.shape;
  return run(op, [x], [{ dtype: x.dtype, shape: [B, C, 2 * H, 2 * W] }])[0];
}

/** GEGLU (diffusers): x [..., 2F] → [..., F] = x[..., :F] · gelu_exact(x[..., F:]) (value first, gate second). */
export function geglu(x: Tensor): Tensor {
  const op = 'geglu';
  live(op, x);
  float(op, 'x', x);
  if (x.rank < 1 || last(x) % 2 !== 0) fail(op, `x must be [..., 2F] (an even last dim), got ${fmt(x.shape)}`);
  return run(op, [x], [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), last(x) / 2] }])[0];
}

/** Number of elements helper re-exported for model code. */
export { numel };
