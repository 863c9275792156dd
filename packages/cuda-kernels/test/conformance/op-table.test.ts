/**
 * The op table is declared twice, once per language (src/ops.ts OP_NAMES, native/ops.def): the lists must be
 * equal, and the native side must refuse, with a JS Error naming the op and the argument, any argument it
 * does not get exactly as its table declares it.
 */
import { describe, expect, it } from 'vitest';
import { dtypeId, tensor } from '../../src/index.js';
import { loadAddon } from '../../src/native/load-addon.js';
import { OP_NAMES } from '../../src/ops.js';

describe('the op table', () => {
  const addon = loadAddon();

  it('TypeScript and the addon list the same ops', () => {
    expect([...addon.opNames()].sort()).toEqual([...OP_NAMES].sort());
  });

  const x = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [1, 2, 3]);
  const out = [{ dtype: dtypeId('f32'), shape: [1, 2, 3] }];
  const enqueue = (params: Record<string, number | number[]>) =>
    addon.enqueue('scale', [x.native], out, params as Parameters<typeof addon.enqueue>[3]);

  it('a missing argument is a JS Error naming the op and the argument', () => {
    expect(() => enqueue({ scale: 2 })).toThrow(/^scale: missing argument 'bias'$/);
  });

  it('unknown, ill-typed and out-of-range arguments are refused', () => {
    expect(() => enqueue({ scale: 2, bias: 0, eps: 1 })).toThrow(/scale: unknown argument 'eps'/);
    expect(() => enqueue({ scale: Number.NaN, bias: 0 })).toThrow(/scale: argument 'scale' must be a finite number/);
    const pos = tensor(new Int32Array([0]), [1]);
    const rope = (params: Record<string, number>) => addon.enqueue('rope', [x.native, pos.native], out, params);
    expect(() => rope({ base: 10000, layout: 2, rotaryDim: 2 })).toThrow(
      /rope: argument 'layout' must be an integer in \[0, 1\]/,
    );
    expect(() => rope({ base: 10000, layout: 0, rotaryDim: 3 })).toThrow(/rope: rotaryDim must be even/);
    expect(() => rope({ base: 10000, layout: 0, rotaryDim: 1e300 })).toThrow(/rope: argument 'rotaryDim'/);
    expect(() => addon.enqueue('permute', [x.native], out, { perm: [0, 1] })).toThrow(
      /permute: perm must have one entry per dim/,
    );
  });

  it('shapes that break an op are refused before anything is queued', () => {
    const wrong = [{ dtype: dtypeId('f32'), shape: [1, 2, 4] }];
    expect(() => addon.enqueue('silu', [x.native], wrong, {})).toThrow(
      /silu: the output must have x's dtype and shape/,
    );
    expect(() => addon.enqueue('add', [x.native], out, {})).toThrow(/add: takes 2 inputs and 1 outputs, got 1 and 1/);
  });
});
