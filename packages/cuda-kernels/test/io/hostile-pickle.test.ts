// Hostile PyTorch checkpoints: the restricted unpickler refuses every global it does not know, never runs
// anything, and every malformed archive is an Error with a useful message.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPytorch, openWeights, unpickle } from '../../src/index.js';
import {
  checkpointBytes,
  dictPickle,
  f32,
  type Layout,
  pglobal,
  pickleBytes,
  pint,
  pstr,
  tensorOp,
} from '../helpers/weight-files.js';
import { zipStored } from '../helpers/zip-writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'seed-pkl-'));
const b = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

function checkpoint(pkl: Uint8Array, extra: { name: string; data: Uint8Array; method?: number }[] = []): string {
  const p = join(tmp, `c${Math.random().toString(36).slice(2)}.pt`);
  writeFileSync(p, checkpointBytes(pkl, extra));
  return p;
}

// A float storage tensor: _rebuild_tensor_v2(persistent storage '0' of 4 floats, offset, size (2,), stride (1,))
function tensorPickle(offset: number, numel: number): Uint8Array {
  return b(
    '\x80\x02}q\x00X\x01\x00\x00\x00tq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06' +
      `K${String.fromCharCode(numel)}tq\x07QK${String.fromCharCode(offset)}K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)Rtq\x08Rq\x09s.`,
  );
}

describe('restricted unpickler', () => {
  it('refuses os.system through GLOBAL, naming it', () => {
    const pkl = b('\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.');
    expect(() => unpickle(pkl)).toThrow(/refusing to load global os\.system/);
    expect(() => openPytorch(checkpoint(pkl))).toThrow(/refusing to load global os\.system/);
  });

  it('refuses builtins.eval through STACK_GLOBAL, naming it', () => {
    const pkl = b('\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x061+1\x85R.');
    expect(() => unpickle(pkl)).toThrow(/refusing to load global builtins\.eval/);
  });

  it('refuses posix.system and subprocess.Popen', () => {
    expect(() => unpickle(b('\x80\x02cposix\nsystem\n.'))).toThrow(/posix\.system/);
    expect(() => unpickle(b('\x80\x02csubprocess\nPopen\n.'))).toThrow(/subprocess\.Popen/);
  });

  it('refuses builtins.eval through STACK_GLOBAL inside a checkpoint too', () => {
    const pkl = b(
      '\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x061+1\x94\x85\x94R\x94.',
    );
    expect(() => openPytorch(checkpoint(pkl))).toThrow(/data\.pkl: refusing to load global builtins\.eval/);
  });

  it('refuses globals even where torch would call them only later (BUILD, NEWOBJ)', () => {
    expect(() => unpickle(b('\x80\x02ctorch\nload\n)\x81.'))).toThrow(/refusing to load global torch\.load/);
    expect(() => unpickle(b('\x80\x02}ccollections\ndefaultdict\nb.'))).toThrow(/collections\.defaultdict/);
  });

  it('names an unsupported storage type and protocol', () => {
    expect(() =>
      unpickle(
        dictPickle([['t', tensorOp({ type: 'ComplexFloatStorage', numel: 1, offset: 0, size: [1], stride: [1] })]]),
      ),
    ).toThrow(/unsupported storage type torch\.ComplexFloatStorage/);
    expect(() => unpickle(b('\x80\x06N.'))).toThrow(/pickle protocol 6 is not supported/);
  });

  it('accepts torch.device and keeps only its name', () => {
    const v = unpickle(dictPickle([['dev', `${pglobal('torch', 'device')}${pstr('cuda')}${pint(1)}\x86R`]])) as Map<
      unknown,
      unknown
    >;
    expect(v.get('dev')).toBe('cuda:1');
  });

  it('names an unknown opcode', () => {
    expect(() => unpickle(b('\x80\x02\xff.'))).toThrow(/unsupported pickle opcode 0xff/);
  });

  it('rejects truncated and unbalanced pickles', () => {
    expect(() => unpickle(b('\x80\x02X\xff\x00\x00\x00ab'))).toThrow(/truncated/);
    expect(() => unpickle(b('\x80\x02s.'))).toThrow(/underflow/);
  });

  it('reads a well-formed tensor pickle', async () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const f = openPytorch(checkpoint(tensorPickle(1, 4), [{ name: 'archive/data/0', data }]));
    expect(f.tensors).toEqual([{ name: 't', dtype: 'F32', shape: [2] }]);
    expect(Array.from(await f.load('t').data())).toEqual([2, 3]);
  });
});

describe('tensor layouts', () => {
  it('gathers arbitrary strided views, of any dtype, in row-major order', async () => {
    const storage = Array.from({ length: 24 }, (_, i) => i * 10 - 7);
    const size = [2, 3, 2];
    const stride = [1, 8, 3];
    const want: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) want.push(storage[1 + i * 1 + j * 8 + k * 3]);
    const i64 = new BigInt64Array(storage.map(BigInt));
    const f = openPytorch(
      checkpoint(
        dictPickle([
          ['f', tensorOp({ numel: 24, offset: 1, size, stride })],
          ['l', tensorOp({ type: 'LongStorage', key: '1', numel: 24, offset: 1, size, stride })],
          ['bcast', tensorOp({ numel: 24, offset: 2, size: [3, 2], stride: [0, 1] })],
        ]),
        [
          { name: 'archive/data/0', data: f32(storage) },
          { name: 'archive/data/1', data: new Uint8Array(i64.buffer) },
        ],
      ),
    );
    expect(f.tensors).toEqual([
      { name: 'f', dtype: 'F32', shape: size },
      { name: 'l', dtype: 'I64', shape: size },
      { name: 'bcast', dtype: 'F32', shape: [3, 2] },
    ]);
    expect(Array.from(await f.load('f').data())).toEqual(want);
    expect(Array.from(await f.load('l').data())).toEqual(want);
    expect(Array.from(await f.load('bcast').data())).toEqual([13, 23, 13, 23, 13, 23]);
    expect(Array.from(await f.load('f', { dtype: 'bf16' }).data())).toEqual(want);
  });

  it('flattens nested lists and dicts into dotted names and refuses duplicate names', () => {
    const t = tensorOp({ numel: 4, offset: 0, size: [2], stride: [1] });
    const data = [{ name: 'archive/data/0', data: f32([1, 2, 3, 4]) }];
    const nested = b(
      `\x80\x02}(${pstr('layers')}](${t}${t}e${pstr('cfg')}}(${pstr('lr')}G?\xb9\x99\x99\x99\x99\x99\x9au${pstr('x')}(${t}tu.`,
    );
    expect(openPytorch(checkpoint(nested, data)).tensors.map((x) => x.name)).toEqual(['layers.0', 'layers.1']);
    const dup = b(`\x80\x02}(${pstr('a.b')}${t}${pstr('a')}}(${pstr('b')}${t}uu.`);
    expect(() => openPytorch(checkpoint(dup, data))).toThrow(/two tensors are both named a\.b/);
  });

  it('refuses negative strides, absurd sizes and views that would blow up their storage', () => {
    const data = [{ name: 'archive/data/0', data: f32([1, 2, 3, 4]) }];
    const open = (l: Layout) => openPytorch(checkpoint(dictPickle([['t', tensorOp(l)]]), data));
    expect(() => open({ numel: 4, offset: 0, size: [2], stride: [-1] })).toThrow(
      /tensor t: negative stride of dim 0 -1/,
    );
    expect(() => open({ numel: 4, offset: 0, size: [2 ** 30, 2 ** 30], stride: [0, 0] })).toThrow(
      /tensor t: view .* would expand a 16-byte storage to 4611686018427387904 bytes/,
    );
    expect(() => open({ numel: 4, offset: 0, size: [100000, 100000], stride: [0, 0] })).toThrow(
      /would expand a 16-byte storage/,
    );
    expect(() => open({ numel: 4, offset: 1, size: [2, 2], stride: [1, 2] })).toThrow(
      /tensor t: view \(offset 1, size \[2, 2\], stride \[1, 2\]\) reaches element 4/,
    );
  });

  it('refuses pickles that refer to themselves or fan out exponentially', () => {
    const cyclic = b('\x80\x02]q\x00h\x00a.'); // l = []; l.append(l)
    expect(() => openPytorch(checkpoint(cyclic))).toThrow(/refers to itself/);
    let laughs = '\x80\x02]q\x000';
    for (let i = 0; i < 30; i++)
      laughs += `(h${String.fromCharCode(i)}h${String.fromCharCode(i)}lq${String.fromCharCode(i + 1)}0`;
    laughs += 'h\x1e.';
    expect(() => openPytorch(checkpoint(b(laughs)))).toThrow(/too many containers/);
  });

  it('needs a state dict at the root', () => {
    const bare = b(`\x80\x02${tensorOp({ numel: 4, offset: 0, size: [2], stride: [1] })}.`);
    expect(() => openPytorch(checkpoint(bare))).toThrow(/holds no state dict/);
  });
});

describe('every fact a checkpoint states is checked at open, before any tensor is listed', () => {
  const storage = { name: 'archive/data/0', data: f32([1, 2, 3, 4]) };
  const one = (l: Partial<Layout>, entries = [storage]) =>
    checkpoint(dictPickle([['t', tensorOp({ numel: 4, offset: 0, size: [2], stride: [1], ...l })]]), entries);
  const cases: [string, () => string, RegExp][] = [
    ['a storage entry that is missing', () => one({}, []), /tensor t: storage 0 is missing from the archive/],
    [
      'a storage entry shorter than numel × element size',
      () => one({}, [{ name: 'archive/data/0', data: new Uint8Array(12) }]),
      /tensor t: storage 0 declares 4 F32 elements \(16 bytes\) but its entry archive\/data\/0 holds 12 bytes/,
    ],
    [
      'a storage entry longer than numel × element size',
      () => one({ type: 'HalfStorage' }),
      /tensor t: storage 0 declares 4 F16 elements \(8 bytes\) but its entry archive\/data\/0 holds 16 bytes/,
    ],
    ['a negative storage size', () => one({ numel: -4 }), /tensor t: storage 0 declares -4 F32 elements/],
    [
      'one storage declared two ways',
      () =>
        checkpoint(
          dictPickle([
            ['a', tensorOp({ numel: 4, offset: 0, size: [4], stride: [1] })],
            ['b', tensorOp({ type: 'HalfStorage', numel: 8, offset: 0, size: [8], stride: [1] })],
          ]),
          [storage],
        ),
      /tensor b: storage 0 is declared as 8 × HalfStorage here but as 4 × FloatStorage by tensor a/,
    ],
    ['a negative size', () => one({ size: [-2], stride: [1] }), /tensor t: negative size of dim 0 -2/],
    ['a negative storage offset', () => one({ offset: -1 }), /tensor t: negative storage offset -1/],
    ['a negative stride', () => one({ size: [2, 1], stride: [-1, 1] }), /tensor t: negative stride of dim 0 -1/],
    [
      'a size of 2^62',
      () => one({ size: [2n ** 62n], stride: [0] }),
      /tensor t: size of dim 0 4611686018427387904 is absurdly large/,
    ],
    [
      'a stride of 2^62',
      () => one({ size: [2], stride: [2n ** 62n] }),
      /tensor t: stride of dim 0 4611686018427387904 is absurdly large/,
    ],
    [
      // (2^32 + 1 − 1) · 2^32 = 2^64: 0 in 64-bit arithmetic, which would put the view inside its storage.
      'a view whose extent wraps 64 bits',
      () => one({ size: [2 ** 32 + 1], stride: [2 ** 32] }),
      /tensor t: view \(offset 0, size \[4294967297\], stride \[4294967296\]\) reaches element 18446744073709551616 of a storage of 4 elements/,
    ],
    [
      'a view past its storage',
      () => one({ offset: 1, size: [2, 2], stride: [2, 1] }),
      /tensor t: view \(offset 1, size \[2, 2\], stride \[2, 1\]\) reaches element 4 of a storage of 4 elements/,
    ],
    [
      'an empty view starting past its storage',
      () => one({ offset: 5, size: [0], stride: [1] }),
      /tensor t: view .* reaches element 5 of a storage of 4 elements/,
    ],
    [
      'more than 8 dims',
      () => one({ size: Array(9).fill(1), stride: Array(9).fill(1) }),
      /tensor t: invalid layout .*at most 8 dims/,
    ],
    ['a size without its stride', () => one({ size: [2, 1], stride: [1] }), /tensor t: invalid layout/],
    [
      'a pickle string that is not UTF-8',
      () =>
        checkpoint(
          pickleBytes(
            `\x80\x02}(${pstr('', new Uint8Array([0x74, 0xff]))}${tensorOp({ numel: 4, offset: 0, size: [2], stride: [1] })}u.`,
          ),
          [storage],
        ),
      /data\.pkl: string at byte 9 is not valid UTF-8/,
    ],
    [
      'an archive entry named twice',
      () => one({}, [storage, storage]),
      /entry archive\/data\/0 appears twice in the archive/,
    ],
    [
      'an entry outside the archive folder',
      () => one({}, [storage, { name: 'other/payload', data: new Uint8Array(1) }]),
      /entry other\/payload lies outside the archive's folder archive\//,
    ],
    [
      'an entry that climbs out of the folder',
      () => one({}, [storage, { name: 'archive/../x', data: new Uint8Array(1) }]),
      /entry archive\/\.\.\/x lies outside the archive's folder/,
    ],
  ];
  for (const [what, make, message] of cases)
    it(what, () => {
      const p = make();
      expect(() => openPytorch(p)).toThrow(message);
      expect(() => openWeights(p)).toThrow(/^c\w+\.pt: /); // names the file
    });

  it('an entry name that is not UTF-8', () => {
    const p = join(tmp, 'name.pt');
    const zip = Buffer.from(
      zipStored([
        { name: 'archive/data.pkl', data: tensorPickle(0, 4) },
        { name: Buffer.from('archive/\xff', 'latin1'), data: new Uint8Array(1) },
      ]),
    );
    writeFileSync(p, zip);
    expect(() => openPytorch(p)).toThrow(/name\.pt: central directory entry 1: its name is not valid UTF-8/);
  });
});

describe('malformed archives', () => {
  it('a storage offset past the end of the storage', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const p = checkpoint(tensorPickle(3, 4), [{ name: 'archive/data/0', data }]);
    expect(() => openPytorch(p)).toThrow(/tensor t: view .* reaches element 4 of a storage of 4 elements/);
  });

  it('a storage entry that is missing', () => {
    expect(() => openPytorch(checkpoint(tensorPickle(0, 4)))).toThrow(
      /tensor t: storage 0 is missing from the archive \(no entry archive\/data\/0\)/,
    );
  });

  it('a compressed entry', () => {
    const p = checkpoint(tensorPickle(0, 4), [{ name: 'archive/data/0', data: new Uint8Array(16), method: 8 }]);
    expect(() => openPytorch(p)).toThrow(/entry archive\/data\/0 is compressed/);
  });

  it('a truncated zip', () => {
    const whole = zipStored([{ name: 'archive/data.pkl', data: tensorPickle(0, 4) }]);
    const p = join(tmp, 'trunc.pt');
    writeFileSync(p, whole.subarray(0, whole.length - 30));
    expect(() => openPytorch(p)).toThrow(/not a zip archive|past the end|corrupt/);
  });

  it('a compressed data.pkl', () => {
    const p = join(tmp, 'zpkl.pt');
    writeFileSync(p, zipStored([{ name: 'archive/data.pkl', data: tensorPickle(0, 4), method: 8 }]));
    expect(() => openPytorch(p)).toThrow(/zpkl\.pt: entry archive\/data\.pkl is compressed \(zip method 8\)/);
  });

  it('a big-endian checkpoint', () => {
    const p = checkpoint(tensorPickle(0, 4), [{ name: 'archive/byteorder', data: b('big') }]);
    expect(() => openPytorch(p)).toThrow(/big-endian checkpoints are not supported/);
  });

  it('the legacy tar format', () => {
    const p = join(tmp, 'tar.pt');
    const tar = Buffer.alloc(1024);
    tar.write('storages', 0);
    tar.write('ustar', 257);
    writeFileSync(p, tar);
    expect(() => openWeights(p)).toThrow(/legacy \(pre-1\.6, non-zip\) torch\.save format is not supported/);
  });

  it('truncated anywhere: always refused at open (random damage is fuzzed in fuzz.test.ts)', () => {
    const whole = readFileSync(join(__dirname, '..', 'fixtures', 'torch', 'checkpoint.pt'));
    const p = join(tmp, 'cut.pt');
    // The end-of-central-directory record is the last thing in the file: no prefix of it is an archive.
    for (let cut = 0; cut < whole.length; cut += 13) {
      writeFileSync(p, whole.subarray(0, cut));
      expect(() => openPytorch(p), `cut at ${cut}`).toThrow(Error);
    }
  });

  it('an archive without data.pkl', () => {
    const p = join(tmp, 'nopkl.pt');
    writeFileSync(p, zipStored([{ name: 'x/readme', data: new Uint8Array(3) }]));
    expect(() => openPytorch(p)).toThrow(/no data\.pkl/);
  });
});
