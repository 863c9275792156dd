/**
 * Conformance: every op × dtype × available backend (cpu on every SIMD path this machine has — avx512, avx2,
 * scalar, switched at run time by setCpuPath — and cuda:N when present) against the TypeScript
 * reference (src/ref), on fresh random inputs (never zeros), including awkward sizes: single rows, widths
 * that are not a multiple of the SIMD width, long rows. Tolerances follow each dtype's precision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CpuPath,
  convAlgorithmFor,
  cpuPaths,
  type Device,
  type DType,
  devices,
  fromBytes,
  ops,
  q8ScalesOffset,
  runtimeInfo,
  setConvAlgorithm,
  setCpuPath,
  type Tensor,
  tensor,
} from '../../src/index.js';
import { loadAddon } from '../../src/native/load-addon.js';
import { OP_NAMES } from '../../src/ops.js';
import { expectClose, type RefTensor, Rng, randomTensor, ref, toleranceFor, toRef } from '../../src/testing/index.js';

const FLOATS: DType[] = ['f32', 'f16', 'bf16'];
// The CPU once per SIMD path (best first, so a failure on the default path shows first), then each GPU.
const paths = [...cpuPaths()].reverse();
const backends: { device: Device; path?: CpuPath; label: string }[] = [
  ...paths.map((path) => ({ device: 'cpu' as Device, path, label: `cpu (${path})` })),
  ...devices()
    .filter((d) => d !== 'cpu')
    .map((device) => ({ device, label: device })),
];
let seed = 1;
const rng = () => new Rng(seed++);

// Which ops the cases below enqueued on which device: every op of the table must have run on every device
// (the last test of each device's block checks it), so a new op cannot ship without conformance cases.
const addon = loadAddon();
const enqueue = addon.enqueue;
const ran = new Map<string, Set<string>>();
let current = '';
beforeAll(() => {
  addon.enqueue = (op, inputs, outputs, params) => {
    const set = ran.get(current) ?? new Set<string>();
    ran.set(current, set);
    set.add(op);
    return enqueue(op, inputs, outputs, params);
  };
});
afterAll(async () => {
  addon.enqueue = enqueue;
  await setCpuPath(paths[0]);
});

async function check(t: Tensor, expected: RefTensor, tolScale = 1, what = '') {
  expectClose(await toRef(t), expected, toleranceFor(expected.dtype, tolScale), what);
  t.dispose();
}

/**
 * q8 weights at 5 or more rows take the int8 prefill path on every SIMD path (AMX-INT8 tiles, AVX-512 VNNI, AVX2
 * maddubs): x is quantized per block of 32 along K, so each x moves by at most half a step, max|x over its
 * block| / 254, and therefore |y − y_ref|[m, n] ≤ Σ_k |w[n, k]| · max|x[m, block(k)]| / 254. Checked per element,
 * on top of the output dtype's tolerance (paths without the int8 kernel are simply closer).
 */
async function checkQ8(t: Tensor, x: RefTensor, w: RefTensor, expected: RefTensor, what: string) {
  const actual = await toRef(t);
  t.dispose();
  const [N, K] = w.shape;
  const M = x.data.length / K;
  const tol = toleranceFor(expected.dtype);
  const bound = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    const step = new Float64Array(K);
    for (let k0 = 0; k0 < K; k0 += 32) {
      let amax = 0;
      for (let k = k0; k < Math.min(K, k0 + 32); k++) amax = Math.max(amax, Math.abs(x.data[m * K + k]));
      for (let k = k0; k < Math.min(K, k0 + 32); k++) step[k] = amax / 254;
    }
    for (let n = 0; n < N; n++) {
      let b = 0;
      for (let k = 0; k < K; k++) b += Math.abs(w.data[n * K + k]) * step[k];
      bound[m * N + n] = b * (1 + 1e-3);
    }
  }
  expect(actual.shape).toEqual(expected.shape);
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    const allowed = bound[i] * (expected.dtype === 'f32' ? 1 : 1.01) + tol.atol + tol.rtol * Math.abs(e);
    if (!(Math.abs(a - e) <= allowed)) throw new Error(`${what}: element ${i} is ${a}, expected ${e} ± ${allowed}`);
  }
}

for (const { device, path, label } of backends) {
  describe(`conformance on ${label}`, () => {
    beforeAll(async () => {
      current = label;
      if (path) {
        expect(await setCpuPath(path)).toBe(path);
        expect(runtimeInfo().simd).toBe(path);
      }
    });
    const rnd = (shape: number[], dtype: DType, r: Rng, scale = 1) => randomTensor(shape, dtype, r, { device, scale });

    it('linear: f32/f16/bf16 activations × f32/f16/bf16/q8 weights, with and without bias', async () => {
      for (const xd of FLOATS)
        for (const wd of [...FLOATS, 'q8'] as DType[])
          for (const [M, N, K] of [
            [1, 7, 33],
            [3, 100, 257],
            [64, 48, 96],
            [2, 5, 4097],
            [1, 19, 1],
            [13, 70, 100], // int8 prefill: partial row tile, partial panel, K not a multiple of 32
            [6, 64, 4096],
            [37, 97, 161], // amx: 2 full 16-row tiles + 5 rows, 3 full panels + 1 column, 6 blocks (last ragged)
            [16, 32, 31], // amx: exactly one tile over a single partial block
            [100, 300, 1100], // f32 GEMM: 2 row-tile blocks (last tile partial), 3 panel groups (last panel partial), 3 K blocks
          ]) {
            const r = rng();
            const x = rnd([M, K], xd, r);
            const w = rnd([N, K], wd, r, 1 / Math.sqrt(K));
            const b = rnd([N], 'f32', r);
            if (wd === 'q8') {
              await checkQ8(ops.linear(x.t, w.t), x.r, w.r, ref.linear(x.r, w.r), `linear ${xd}×q8 ${M}x${N}x${K}`);
              await checkQ8(
                ops.linear(x.t, w.t, b.t),
                x.r,
                w.r,
                ref.linear(x.r, w.r, b.r),
                `linear+bias ${xd}×q8 ${M}x${N}x${K}`,
              );
              continue;
            }
            await check(ops.linear(x.t, w.t), ref.linear(x.r, w.r), 1, `linear ${xd}×${wd} ${M}x${N}x${K}`);
            await check(
              ops.linear(x.t, w.t, b.t),
              ref.linear(x.r, w.r, b.r),
              1,
              `linear+bias ${xd}×${wd} ${M}x${N}x${K}`,
            );
          }
    });

    it('linear: q8 weights holding -128 (never written by cast, possible in a file), decode and prefill rows', async () => {
      // The AVX2 int8 kernel negates one operand by the sign of the other; -128 is the value that cannot be negated.
      const r = rng();
      const [N, K] = [40, 70];
      const bytes = new Uint8Array(q8ScalesOffset(N, K) + 4 * N);
      const q = new Int8Array(bytes.buffer, 0, N * K);
      for (let i = 0; i < q.length; i++) q[i] = r.next() < 0.3 ? -128 : r.int(-128, 128);
      const scales = new Float32Array(bytes.buffer, q8ScalesOffset(N, K), N);
      for (let n = 0; n < N; n++) scales[n] = (0.5 + r.next()) / 128;
      const wr: RefTensor = {
        dtype: 'f32',
        shape: [N, K],
        data: Float64Array.from(q, (v, i) => v * scales[Math.floor(i / K)]),
      };
      const w = fromBytes(bytes, 'q8', [N, K], device);
      for (const M of [1, 9]) {
        const x = rnd([M, K], 'f32', r);
        await checkQ8(ops.linear(x.t, w), x.r, wr, ref.linear(x.r, wr), `linear f32×q8(-128) ${M}x${N}x${K}`);
      }
      w.dispose();
    });

    it('linear keeps leading dims: x [2, 3, K] → [2, 3, N]', async () => {
      const r = rng();
      const x = rnd([2, 3, 40], 'f32', r);
      const w = rnd([9, 40], 'f32', r);
      const y = ops.linear(x.t, w.t);
      expect(y.shape).toEqual([2, 3, 9]);
      await check(y, ref.linear(x.r, w.r));
    });

    it('matmul: batched, transB, shared 2-D b', async () => {
      for (const dtype of FLOATS) {
        const r = rng();
        const a = rnd([3, 17, 33], dtype, r);
        const b = rnd([3, 33, 20], dtype, r);
        const bt = rnd([3, 20, 33], dtype, r);
        const b2 = rnd([33, 7], dtype, r);
        const tol = Math.sqrt(33);
        await check(ops.matmul(a.t, b.t), ref.matmul(a.r, b.r), tol, `matmul ${dtype}`);
        await check(
          ops.matmul(a.t, bt.t, { transB: true }),
          ref.matmul(a.r, bt.r, { transB: true }),
          tol,
          `matmul transB ${dtype}`,
        );
        await check(ops.matmul(a.t, b2.t), ref.matmul(a.r, b2.r), tol, `matmul shared b ${dtype}`);
      }
    });

    it('matmul: GEMM blocking (K blocks, several panel groups, a narrow product split over row blocks)', async () => {
      for (const [M, K, N] of [
        [300, 600, 40], // one panel group: its row blocks are shared out among the threads, 2 K blocks
        [1000, 64, 40], // several row blocks per share
        [150, 600, 300], // a few panel groups, the last panel partial
        [20, 40, 2100], // many panel groups: a thread's run of tasks spans several (each packs its own)
      ]) {
        const r = rng();
        const a = rnd([1, M, K], 'f32', r);
        const b = rnd([K, N], 'f32', r, 1 / Math.sqrt(K));
        await check(ops.matmul(a.t, b.t), ref.matmul(a.r, b.r), Math.sqrt(K), `matmul ${M}x${K}x${N}`);
      }
    });

    it('add / mul with broadcasting', async () => {
      const shapes: [number[], number[]][] = [
        [
          [5, 7],
          [5, 7],
        ],
        [[4, 33], [33]],
        [
          [3, 1, 9],
          [1, 5, 9],
        ],
        [
          [2, 3, 4],
          [3, 1],
        ],
        [[1], [6, 2]],
        [
          [1, 4097],
          [1, 4097],
        ],
      ];
      for (const dtype of FLOATS)
        for (const [sa, sb] of shapes) {
          const r = rng();
          const a = rnd(sa, dtype, r);
          const b = rnd(sb, dtype, r);
          await check(ops.add(a.t, b.t), ref.add(a.r, b.r), 1, `add ${dtype} ${sa}+${sb}`);
          await check(ops.mul(a.t, b.t), ref.mul(a.r, b.r), 1, `mul ${dtype} ${sa}*${sb}`);
        }
    });

    it('scale, silu, gelu (erf), tanh, relu', async () => {
      for (const dtype of FLOATS)
        for (const shape of [[1], [7], [3, 33], [4097]]) {
          const r = rng();
          const x = rnd(shape, dtype, r, 3);
          await check(ops.scale(x.t, 0.37, -1.5), ref.scale(x.r, 0.37, -1.5), 3, `scale ${dtype}`);
          await check(ops.silu(x.t), ref.silu(x.r), 3, `silu ${dtype}`);
          await check(ops.gelu(x.t), ref.gelu(x.r), 3, `gelu ${dtype}`);
          await check(ops.tanh(x.t), ref.tanh(x.r), 1, `tanh ${dtype}`);
          await check(ops.relu(x.t), ref.relu(x.r), 3, `relu ${dtype}`);
        }
    });

    it('silu and gelu hold their precision over a wide range (vector exp / erfc paths, both tails)', async () => {
      // −30 … 30 in 0.013 steps: the SIMD kernels' range reduction, clamping and the erfc fit across tails.
      const values = Float32Array.from({ length: 4616 }, (_, i) => -30 + i * 0.013);
      const x = tensor(values, [values.length], { device });
      const xr: RefTensor = { dtype: 'f32', shape: [values.length], data: Float64Array.from(values) };
      await check(ops.silu(x), ref.silu(xr), 1, 'silu wide');
      await check(ops.gelu(x), ref.gelu(xr), 1, 'gelu wide');
      x.dispose();
    });

    it('softmax, layernorm, rmsnorm over the last axis (incl. long rows)', async () => {
      for (const dtype of FLOATS)
        for (const shape of [
          [1, 1],
          [3, 7],
          [2, 33],
          [1, 11008],
        ]) {
          const r = rng();
          const x = rnd(shape, dtype, r, 2);
          const C = shape[1];
          const w = rnd([C], dtype, r);
          const b = rnd([C], dtype, r);
          await check(ops.softmax(x.t), ref.softmax(x.r), 1, `softmax ${dtype} ${shape}`);
          await check(
            ops.layernorm(x.t, w.t, b.t, 1e-5),
            ref.layernorm(x.r, w.r, b.r, 1e-5),
            4,
            `layernorm ${dtype} ${shape}`,
          );
          await check(ops.rmsnorm(x.t, w.t, 1e-6), ref.rmsnorm(x.r, w.r, 1e-6), 4, `rmsnorm ${dtype} ${shape}`);
        }
    });

    it('softmax of a fully masked row is zeros', async () => {
      const x = tensor(new Float32Array([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 1]), [2, 2], {
        device,
      });
      expect(Array.from(await ops.softmax(x).data()).slice(0, 2)).toEqual([0, 0]);
    });

    it('rope: half-split and interleaved, full and partial rotary dims', async () => {
      for (const dtype of FLOATS)
        for (const layout of ['half', 'interleaved'] as const)
          for (const [shape, rotaryDim] of [
            [[5, 3, 64], undefined],
            [[2, 4, 2, 88], 32],
            [[1, 1, 128], undefined],
            // 130 positions: the cos/sin table is computed across the pool's threads. The CPU keeps the last
            // table; the next two calls reuse neither it (new positions) nor its rotary dim (32).
            [[2, 130, 3, 64], undefined],
            [[130, 2, 64], undefined],
            [[130, 2, 64], 32],
          ] as [number[], number | undefined][]) {
            const r = rng();
            const x = rnd(shape, dtype, r);
            const T = shape[shape.length - 3];
            const pos = randomTensor([T], 'i32', r, { device, intMax: 2048 });
            const opts = { layout, rotaryDim, base: 10000 };
            await check(ops.rope(x.t, pos.t, opts), ref.rope(x.r, pos.r, opts), 1, `rope ${dtype} ${layout} ${shape}`);
          }
    });

    it('embedding from f32/f16/bf16/q8 tables (the codebook gather)', async () => {
      for (const dtype of [...FLOATS, 'q8'] as DType[]) {
        const r = rng();
        const table = rnd([50, 33], dtype, r);
        const ids = randomTensor([2, 7], 'i32', r, { device, intMax: 50 });
        await check(ops.embedding(table.t, ids.t), ref.embedding(table.r, ids.r), 1, `embedding ${dtype}`);
      }
    });

    it('concat, slice, setSlice, permute / transpose for every dtype', async () => {
      for (const dtype of [...FLOATS, 'i32', 'u8'] as DType[]) {
        const r = rng();
        const a = rnd([2, 3, 5], dtype, r);
        const b = rnd([2, 4, 5], dtype, r);
        await check(ops.concat([a.t, b.t], 1), ref.concat([a.r, b.r], 1), 1, `concat ${dtype}`);
        const c = rnd([3, 3, 5], dtype, r);
        await check(
          ops.concat([a.t, c.t.reshape([3, 3, 5]).reshape([3, 3, 5])].slice(0, 1), 0),
          ref.concat([a.r], 0),
          1,
          `concat single ${dtype}`,
        );
        await check(ops.slice(b.t, [1, 1, 2], [2, 4, 5]), ref.slice(b.r, [1, 1, 2], [2, 4, 5]), 1, `slice ${dtype}`);
        await check(ops.narrow(b.t, 2, 1, 4), ref.slice(b.r, [0, 0, 1], [2, 4, 4]), 1, `narrow ${dtype}`);
        const dst = rnd([4, 6, 5], dtype, r);
        const expected = ref.setSlice(dst.r, a.r, [1, 2, 0]);
        ops.setSlice(dst.t, a.t, [1, 2, 0]);
        await check(dst.t, expected, 1, `setSlice ${dtype}`);
        await check(ops.permute(b.t, [2, 0, 1]), ref.permute(b.r, [2, 0, 1]), 1, `permute ${dtype}`);
        await check(ops.transpose(b.t), ref.transpose(b.r), 1, `transpose ${dtype}`);
      }
    });

    it('cast between every pair of dtypes, including to and from q8', async () => {
      const all: DType[] = ['f32', 'f16', 'bf16', 'i32', 'u8'];
      for (const from of all)
        for (const to of all) {
          const r = rng();
          const x =
            from === 'i32' || from === 'u8'
              ? randomTensor([3, 37], from, r, { device, intMax: 200 })
              : rnd([3, 37], from, r, 100);
          await check(ops.cast(x.t, to), ref.cast(x.r, to), 100, `cast ${from}→${to}`);
        }
      for (const from of FLOATS) {
        const r = rng();
        const x = rnd([5, 70], from, r);
        const q = ops.cast(x.t, 'q8');
        await check(ops.cast(q, 'f32'), ref.cast(ref.cast(x.r, 'q8'), 'f32'), 1, `cast ${from}→q8→f32`);
      }
    });

    it('argmax: ties go to the lowest index', async () => {
      for (const dtype of [...FLOATS, 'i32'] as DType[]) {
        const r = rng();
        const x = dtype === 'i32' ? randomTensor([4, 33], 'i32', r, { device, intMax: 5 }) : rnd([4, 33], dtype, r);
        await check(ops.argmax(x.t), ref.argmax(x.r), 1, `argmax ${dtype}`);
      }
      const ties = tensor(new Float32Array([1, 3, 3, 2, 5, 5, 5, 5]), [2, 4], { device });
      expect(Array.from(await ops.argmax(ties).data())).toEqual([1, 0]);
    });

    it('attention: head dims 64/88/128, 1 to 130 queries, causal, additive masks, GQA, KV cache', async () => {
      const cases = [
        { B: 1, Tq: 1, Tk: 40, Hq: 8, Hkv: 8, D: 128, causal: true, kvLen: 33 },
        // Decode (one query): GQA over several work items and key chunks, masks, a KV-cache offset.
        { B: 1, Tq: 1, Tk: 200, Hq: 32, Hkv: 4, D: 64, causal: true, kvLen: 131, qOffset: 130 },
        // Decode over 128 keys or more, under 4 query heads per kv head, no mask: the keys shared out among the
        // threads, partial chunks, merged.
        { B: 2, Tq: 1, Tk: 320, Hq: 6, Hkv: 2, D: 40, causal: true, kvLen: 300, qOffset: 250 },
        { B: 1, Tq: 1, Tk: 700, Hq: 6, Hkv: 6, D: 88, causal: false, kvLen: 700 },
        { B: 1, Tq: 1, Tk: 200, Hq: 3, Hkv: 3, D: 20, causal: false, kvLen: 200 }, // D past the vectors: scalar tails
        { B: 2, Tq: 1, Tk: 70, Hq: 8, Hkv: 2, D: 64, causal: true, kvLen: 70, mask: 'bh', qOffset: 69 },
        { B: 1, Tq: 1, Tk: 150, Hq: 6, Hkv: 6, D: 88, causal: false, kvLen: 150, mask: 'b1' },
        { B: 2, Tq: 7, Tk: 20, Hq: 4, Hkv: 1, D: 64, causal: true, kvLen: 13 },
        { B: 1, Tq: 130, Tk: 130, Hq: 2, Hkv: 2, D: 64, causal: true, kvLen: 130 },
        { B: 1, Tq: 32, Tk: 257, Hq: 12, Hkv: 12, D: 64, causal: false, kvLen: 257 },
        { B: 2, Tq: 5, Tk: 9, Hq: 4, Hkv: 2, D: 88, causal: false, kvLen: 9, mask: 'b1' },
        { B: 1, Tq: 32, Tk: 32, Hq: 2, Hkv: 2, D: 88, causal: false, kvLen: 32, mask: '2d' },
        { B: 2, Tq: 3, Tk: 6, Hq: 4, Hkv: 4, D: 64, causal: true, kvLen: 6, mask: 'bh', qOffset: 2 },
      ];
      for (const dtype of FLOATS)
        for (const c of cases) {
          const r = rng();
          const q = rnd([c.B, c.Tq, c.Hq, c.D], dtype, r);
          const k = rnd([c.B, c.Tk, c.Hkv, c.D], dtype, r);
          const v = rnd([c.B, c.Tk, c.Hkv, c.D], dtype, r);
          const maskShape =
            c.mask === '2d' ? [c.Tq, c.Tk] : c.mask === 'b1' ? [c.B, 1, c.Tq, c.Tk] : [c.B, c.Hq, c.Tq, c.Tk];
          const mask = c.mask ? randomTensor(maskShape, 'f32', r, { device }) : undefined;
          if (mask) {
            // The Q-Former's causal mask: −10000 above the diagonal, 0 below.
            const m = mask.r.data;
            for (let i = 0; i < m.length; i++) {
              const col = i % c.Tk;
              const row = Math.floor(i / c.Tk) % c.Tq;
              m[i] = col > row ? -10000 : 0;
            }
            mask.t.dispose();
            mask.t = (await import('../../src/index.js')).tensor(Float32Array.from(m), maskShape, { device });
          }
          const opts = { causal: c.causal, kvLen: c.kvLen, qOffset: c.qOffset };
          await check(
            ops.attention(q.t, k.t, v.t, { ...opts, mask: mask?.t }),
            ref.attention(q.r, k.r, v.r, { ...opts, mask: mask?.r }),
            1,
            `attention ${dtype} ${JSON.stringify(c)}`,
          );
        }
    });

    it('attention with every key masked gives zeros', async () => {
      const r = rng();
      const q = rnd([1, 2, 2, 64], 'f32', r);
      const k = rnd([1, 4, 2, 64], 'f32', r);
      const out = await ops.attention(q.t, k.t, k.t, { causal: true, kvLen: 4, qOffset: -5 }).data();
      expect(Array.from(out).every((x) => x === 0)).toBe(true);
    });

    it('codebook nearest: exact ids, including planted exact ties (lowest index wins)', async () => {
      for (const dtype of FLOATS) {
        const r = rng();
        const cb = rnd([8192, 32], dtype, r);
        const z = rnd([32, 32], dtype, r);
        await check(ops.codebookNearest(z.t, cb.t), ref.codebookNearest(z.r, cb.r), 1, `codebook ${dtype}`);
      }
      // Codes 3 and 7 are identical; a query equal to them must get 3. Query 1 is code 9 exactly.
      const r = rng();
      const base = Float32Array.from({ length: 12 * 5 }, () => r.normal());
      base.set(base.subarray(15, 20), 35);
      const z = Float32Array.from([...base.subarray(15, 20), ...base.subarray(45, 50)]);
      const ids = await ops.codebookNearest(tensor(z, [2, 5], { device }), tensor(base, [12, 5], { device })).data();
      expect(Array.from(ids)).toEqual([3, 9]);
    });

    it('sample: greedy, temperature, top-k, top-p, min-p, repetition penalty, mask; ids equal the reference exactly', async () => {
      const settings = [
        { temperature: 0 },
        { temperature: 1 },
        { temperature: 0.7, topP: 0.9 },
        { temperature: 1.2, topK: 40 },
        { temperature: 1, topK: 50, topP: 0.8, minP: 0.05 },
        { temperature: 0.8, minP: 0.1 },
        { temperature: 1, repetitionPenalty: 1.3, penalty: true },
        { temperature: 1, topP: 0.95, mask: true },
      ];
      for (const dtype of FLOATS)
        for (const s of settings)
          for (const [B, V] of [
            [1, 40194],
            [3, 1000],
          ]) {
            const r = rng();
            const logits = rnd([B, V], dtype, r, 3);
            const penalty = s.penalty ? randomTensor([12], 'i32', r, { device, intMax: V }) : undefined;
            let mask: { t: Tensor; r: RefTensor } | undefined;
            if (s.mask) {
              const m = Uint8Array.from({ length: V }, () => (r.next() < 0.3 ? 1 : 0));
              mask = { t: tensor(m, [V], { device }), r: { dtype: 'u8', shape: [V], data: Float64Array.from(m) } };
            }
            for (const counter of [0, 1, 17]) {
              const opts = { ...s, seed: 1234 + seed, counter };
              const got = ops.sample(logits.t, { ...opts, penaltyIds: penalty?.t, allowedMask: mask?.t });
              await check(
                got,
                ref.sample(logits.r, { ...opts, penaltyIds: penalty?.r, allowedMask: mask?.r }),
                1,
                `sample ${dtype} ${JSON.stringify(s)} B=${B}`,
              );
            }
          }
    });

    it('attention for long sequences: head dims 4–16 and 512 over thousands of keys (no score matrix)', async () => {
      // The VAE mid-block's single head of 512 over 2,048 keys (128 queries keep the f64 reference quick), a
      // tiny model's heads of 8 over 3,000 keys, head dims 4 and 16, and 512 with a cross-attention length.
      const cases = [
        { B: 1, Tq: 128, Tk: 2048, Hq: 1, Hkv: 1, D: 512 },
        { B: 1, Tq: 1000, Tk: 3000, Hq: 1, Hkv: 1, D: 8 },
        { B: 2, Tq: 300, Tk: 1500, Hq: 2, Hkv: 2, D: 4 },
        { B: 1, Tq: 70, Tk: 2100, Hq: 2, Hkv: 1, D: 16 },
        { B: 1, Tq: 3, Tk: 77, Hq: 1, Hkv: 1, D: 512 },
      ];
      for (const dtype of FLOATS)
        for (const c of cases) {
          if (dtype !== 'f32' && c.Tq * c.Tk * c.D > 5e7) continue; // the f64 reference is the slow part: once is enough
          const r = rng();
          const q = rnd([c.B, c.Tq, c.Hq, c.D], dtype, r);
          const k = rnd([c.B, c.Tk, c.Hkv, c.D], dtype, r);
          const v = rnd([c.B, c.Tk, c.Hkv, c.D], dtype, r);
          await check(
            ops.attention(q.t, k.t, v.t),
            ref.attention(q.r, k.r, v.r),
            1,
            `attention ${dtype} ${JSON.stringify(c)}`,
          );
        }
    });

    it('conv2d: 3×3 pad 1 stride 1 and 2, 1×1, odd sizes; f32/f16/bf16 weights, with and without bias', async () => {
      const cases = [
        { B: 2, Cin: 5, H: 9, W: 7, Cout: 7, k: 3, stride: 1, padding: 1 },
        { B: 1, Cin: 8, H: 10, W: 13, Cout: 13, k: 3, stride: 2, padding: 1 },
        { B: 2, Cin: 9, H: 6, W: 5, Cout: 17, k: 1, stride: 1, padding: 0 },
        { B: 1, Cin: 40, H: 12, W: 11, Cout: 35, k: 3, stride: 1, padding: 1 }, // K = 360: two K blocks
        { B: 1, Cin: 3, H: 7, W: 8, Cout: 4, k: 3, stride: 2, padding: 0 },
        { B: 1, Cin: 2, H: 3, W: 3, Cout: 3, k: 3, stride: 1, padding: 2 },
        { B: 1, Cin: 4, H: 1, W: 67, Cout: 5, k: 3, stride: 1, padding: 1 }, // pixels run across panels
        { B: 3, Cin: 6, H: 4, W: 5, Cout: 200, k: 3, stride: 1, padding: 1 }, // few pixels: M split across tasks
        // Rows a multiple of the panel width: every panel one run of one output row (conv.cpp pack_full_runs),
        // across batch rows; at 48 wide only for 16-column panels (avx2, scalar), the general packing at 32.
        { B: 2, Cin: 6, H: 5, W: 64, Cout: 20, k: 3, stride: 1, padding: 1 },
        { B: 1, Cin: 10, H: 3, W: 48, Cout: 13, k: 3, stride: 1, padding: 1 },
      ];
      for (const xd of FLOATS)
        for (const wd of FLOATS)
          for (const c of cases) {
            if (xd !== 'f32' && wd !== xd) continue; // activations f32 with every weight dtype; else one dtype
            const r = rng();
            const x = rnd([c.B, c.Cin, c.H, c.W], xd, r);
            const w = rnd([c.Cout, c.Cin, c.k, c.k], wd, r, 1 / Math.sqrt(c.Cin * c.k * c.k));
            const b = rnd([c.Cout], wd, r);
            const opts = { stride: c.stride, padding: c.padding };
            const what = `conv2d ${xd}×${wd} ${JSON.stringify(c)}`;
            await check(ops.conv2d(x.t, w.t, undefined, opts), ref.conv2d(x.r, w.r, undefined, opts), 1, what);
            await check(ops.conv2d(x.t, w.t, b.t, opts), ref.conv2d(x.r, w.r, b.r, opts), 1, `${what} +bias`);
          }
    });

    it('conv2d at a UNet width: 64 → 96 channels, 3×3, 24×20 (several row tiles, K blocks and pixel blocks)', async () => {
      const r = rng();
      const x = rnd([2, 64, 24, 20], 'f32', r);
      const w = rnd([96, 64, 3, 3], 'f16', r, 1 / 24);
      const b = rnd([96], 'f32', r);
      for (const stride of [1, 2]) {
        const opts = { stride, padding: 1 };
        await check(
          ops.conv2d(x.t, w.t, b.t, opts),
          ref.conv2d(x.r, w.r, b.r, opts),
          2,
          `conv2d wide stride ${stride}`,
        );
      }
    });

    // The CPU computes 3×3 stride-1 padding-1 convolutions by Winograd F(2×2, 3×3) where it is faster
    // (conv_winograd.cpp); forcing each algorithm in turn checks both on every path, at shapes that cover the
    // Winograd code's edges: odd sizes (a half tile at the right and bottom), one-pixel images, batch rows,
    // chunks that end inside a tile row and inside a panel, Cout not a multiple of the row tile, Cin over one
    // K block, and dtypes other than f32 on both sides.
    it('conv2d 3×3 pad 1 by Winograd F(2,3) and by the direct GEMM: edges, chunks, K blocks, dtypes', async () => {
      const cases = [
        { B: 1, Cin: 3, H: 1, W: 1, Cout: 2 },
        { B: 2, Cin: 5, H: 9, W: 7, Cout: 7 },
        { B: 1, Cin: 4, H: 2, W: 67, Cout: 5 },
        { B: 3, Cin: 8, H: 13, W: 3, Cout: 13 },
        { B: 2, Cin: 33, H: 30, W: 34, Cout: 40 }, // 510 tiles: several chunks, split inside tile rows
        { B: 1, Cin: 300, H: 11, W: 12, Cout: 25 }, // Cin over one 256-row K block
        { B: 1, Cin: 64, H: 32, W: 32, Cout: 48 }, // 256 tiles: the auto choice takes Winograd here
      ];
      const dts: [DType, DType][] = [
        ['f32', 'f32'],
        ['f32', 'bf16'],
        ['f16', 'f16'],
      ];
      const big = cases[cases.length - 1];
      if (device === 'cpu')
        expect(
          convAlgorithmFor([big.B, big.Cin, big.H, big.W], [big.Cout, big.Cin, 3, 3], { stride: 1, padding: 1 }),
        ).toBe('winograd');
      try {
        for (const algorithm of ['winograd', 'direct', 'auto'] as const) {
          expect(await setConvAlgorithm(algorithm)).toBe(algorithm);
          for (const c of cases)
            for (const [xd, wd] of dts) {
              if (xd !== 'f32' && c.Cin * c.H * c.W > 50_000) continue; // the big cases once, in f32
              const r = rng();
              const x = rnd([c.B, c.Cin, c.H, c.W], xd, r);
              const w = rnd([c.Cout, c.Cin, 3, 3], wd, r, 1 / Math.sqrt(c.Cin * 9));
              const b = rnd([c.Cout], 'f32', r);
              const opts = { stride: 1, padding: 1 };
              const what = `conv2d ${algorithm} ${xd}×${wd} ${JSON.stringify(c)}`;
              if (device === 'cpu' && algorithm !== 'auto')
                expect(convAlgorithmFor(x.t.shape, w.t.shape, opts), what).toBe(algorithm);
              await check(ops.conv2d(x.t, w.t, b.t, opts), ref.conv2d(x.r, w.r, b.r, opts), 1, what);
              if (c.Cin < 10)
                await check(
                  ops.conv2d(x.t, w.t, undefined, opts),
                  ref.conv2d(x.r, w.r, undefined, opts),
                  1,
                  `${what} no bias`,
                );
            }
        }
      } finally {
        await setConvAlgorithm('auto');
      }
    });

    it('group_norm with and without fused SiLU: 1-D to 3-D spatial, 1 to C groups', async () => {
      const cases: [number[], number][] = [
        [[2, 8, 5, 3], 4],
        [[1, 6, 7], 3],
        [[3, 4], 2],
        [[1, 32, 33, 9], 32],
        [[2, 12, 3, 2, 2], 1],
        [[1, 4, 70, 70], 2], // groups of 9,800: several chunks
      ];
      for (const dtype of FLOATS)
        for (const [shape, groups] of cases) {
          const r = rng();
          const x = rnd(shape, dtype, r, 2);
          const w = rnd([shape[1]], dtype, r);
          const b = rnd([shape[1]], 'f32', r);
          for (const silu of [false, true])
            await check(
              ops.groupNorm(x.t, w.t, b.t, groups, 1e-6, { silu }),
              ref.groupNorm(x.r, w.r, b.r, groups, 1e-6, { silu }),
              4,
              `group_norm ${dtype} ${shape} g${groups} silu ${silu}`,
            );
        }
    });

    it('upsample_nearest2x and geglu', async () => {
      for (const dtype of FLOATS) {
        for (const shape of [
          [1, 1, 1, 1],
          [2, 3, 5, 7],
          [1, 2, 16, 33],
        ]) {
          const x = rnd(shape, dtype, rng());
          await check(ops.upsampleNearest2x(x.t), ref.upsampleNearest2x(x.r), 1, `upsample ${dtype} ${shape}`);
        }
        for (const shape of [[2], [3, 10], [2, 5, 66], [1, 4097 * 2]]) {
          const x = rnd(shape, dtype, rng(), 3);
          await check(ops.geglu(x.t), ref.geglu(x.r), 3, `geglu ${dtype} ${shape}`);
        }
      }
    });

    it('every op of the table has conformance cases on this device', () => {
      const missing = OP_NAMES.filter((op) => !ran.get(label)?.has(op));
      expect(missing).toEqual([]);
    });
  });
}
