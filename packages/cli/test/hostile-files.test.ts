/**
 * Inconsistent and hostile weight files through the built `seed` command (`node dist/bin.js`, built by
 * turbo before the tests): `seed inspect` prints nothing but the reader's error, naming the broken fact, and
 * exits 1; `seed convert` fails the same way and leaves nothing behind. The files are built with the
 * weight-file builders of @seed/cuda-kernels' tests; every rule has its own case there.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkpointBytes,
  dictPickle,
  f32,
  type Layout,
  safetensorsBytes,
  tensorOp,
} from '../../cuda-kernels/test/helpers/weight-files.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'seed-cli-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function seed(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const storage = { name: 'archive/data/0', data: f32([1, 2, 3, 4]) };
const checkpoint = (l: Partial<Layout>, entries = [storage]) =>
  checkpointBytes(dictPickle([['t', tensorOp({ numel: 4, offset: 0, size: [2], stride: [1], ...l })]]), entries);
const t4 = { t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } };

/** [what, file name, bytes, the fact the error must name]. */
const files: [string, string, Uint8Array, RegExp][] = [
  [
    'safetensors with bytes after the last tensor',
    'trailing.safetensors',
    safetensorsBytes(t4, new Uint8Array(7)),
    /trailing\.safetensors: 3 trailing bytes after the last tensor t/,
  ],
  [
    'safetensors with a gap between tensors',
    'gap.safetensors',
    safetensorsBytes({ ...t4, u: { dtype: 'U8', shape: [1], data_offsets: [8, 9] } }, new Uint8Array(9)),
    /gap\.safetensors: a gap of 4 bytes between tensors t and u/,
  ],
  [
    'safetensors naming a tensor twice',
    'twice.safetensors',
    safetensorsBytes(
      '{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
      new Uint8Array(2),
    ),
    /twice\.safetensors: tensor t appears twice in the header/,
  ],
  [
    'a checkpoint missing a storage',
    'missing.pt',
    checkpoint({}, []),
    /missing\.pt: tensor t: storage 0 is missing from the archive/,
  ],
  [
    'a checkpoint whose storage entry is shorter than declared',
    'short.pt',
    checkpoint({ numel: 5 }),
    /short\.pt: tensor t: storage 0 declares 5 F32 elements \(20 bytes\) but its entry archive\/data\/0 holds 16 bytes/,
  ],
  [
    'a checkpoint whose view wraps 64-bit arithmetic',
    'wrap.pt',
    checkpoint({ size: [2 ** 32 + 1], stride: [2 ** 32] }),
    /wrap\.pt: tensor t: view .* reaches element 18446744073709551616 of a storage of 4 elements/,
  ],
  [
    'a checkpoint with a negative stride',
    'negative.pt',
    checkpoint({ size: [2], stride: [-1] }),
    /negative\.pt: tensor t: negative stride of dim 0 -1/,
  ],
  [
    'a checkpoint with an entry outside its folder',
    'outside.pt',
    checkpoint({}, [storage, { name: '../payload', data: new Uint8Array(1) }]),
    /outside\.pt: entry \.\.\/payload lies outside the archive's folder archive\//,
  ],
  [
    'a checkpoint with a duplicated entry',
    'dup.pt',
    checkpoint({}, [storage, storage]),
    /dup\.pt: entry archive\/data\/0 appears twice in the archive/,
  ],
];

/** A sharded set whose second shard also holds the tensor the index puts in the first. */
function misplacedSet(): string {
  const set = join(dir, 'misplaced');
  mkdirSync(set);
  const shard = (names: string[]) =>
    checkpointBytes(
      dictPickle(names.map((n, i) => [n, tensorOp({ key: String(i), numel: 1, offset: 0, size: [1], stride: [1] })])),
      names.map((_, i) => ({ name: `archive/data/${i}`, data: f32([i]) })),
    );
  writeFileSync(join(set, 'pytorch_model-00001-of-00002.bin'), shard(['a']));
  writeFileSync(join(set, 'pytorch_model-00002-of-00002.bin'), shard(['b', 'a']));
  writeFileSync(
    join(set, 'pytorch_model.bin.index.json'),
    JSON.stringify({ weight_map: { a: 'pytorch_model-00001-of-00002.bin', b: 'pytorch_model-00002-of-00002.bin' } }),
  );
  return set;
}

/** The whole of stderr is one line: `seed <command>: ` and the reader's error. */
function expectOnlyTheError(r: ReturnType<typeof seed>, command: string, fact: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(new RegExp(`^seed ${command}: [^\\n]+\\n$`));
  expect(r.stderr).toMatch(fact);
}

describe('hostile weight files through the seed command', () => {
  for (const [what, name, bytes, fact] of files)
    it(`${what}: inspect prints only the error, convert leaves nothing behind`, () => {
      const sub = mkdtempSync(join(dir, 'case-'));
      const file = join(sub, name);
      writeFileSync(file, bytes);
      expectOnlyTheError(seed('inspect', file), 'inspect', fact);
      expectOnlyTheError(seed('inspect', file, '--json'), 'inspect', fact);
      expectOnlyTheError(seed('convert', file, join(sub, 'out.safetensors')), 'convert', fact);
      expectOnlyTheError(seed('convert', file, sub), 'convert', fact); // into the directory itself
      expect(readdirSync(sub)).toEqual([name]);
    });

  it('a sharded set with a tensor in two shards: refused by inspect and convert, no output directory', () => {
    const set = misplacedSet();
    const fact =
      /tensor a is in shard pytorch_model-00002-of-00002\.bin, but the index puts it in pytorch_model-00001-of-00002\.bin/;
    expectOnlyTheError(seed('inspect', set), 'inspect', fact);
    const out = join(dir, 'misplaced-out');
    expectOnlyTheError(seed('convert', set, out), 'convert', fact);
    expect(readdirSync(dir)).not.toContain('misplaced-out');
    expect(readdirSync(set).sort()).toEqual([
      'pytorch_model-00001-of-00002.bin',
      'pytorch_model-00002-of-00002.bin',
      'pytorch_model.bin.index.json',
    ]);
  });
});
