// Hostile PyTorch checkpoints: the restricted unpickler refuses every global it does not know, never runs
// anything, and every malformed archive is an Error with a useful message.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPytorch, unpickle } from '../../src/index.js';
import { zipStored } from '../helpers/zip-writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'seed-pkl-'));
const b = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

function checkpoint(pkl: Uint8Array, extra: { name: string; data: Uint8Array; method?: number }[] = []): string {
  const p = join(tmp, `c${Math.random().toString(36).slice(2)}.pt`);
  writeFileSync(p, zipStored([{ name: 'archive/data.pkl', data: pkl }, ...extra]));
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

describe('malformed archives', () => {
  it('a storage offset past the end of the storage', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const f = openPytorch(checkpoint(tensorPickle(3, 4), [{ name: 'archive/data/0', data }]));
    expect(() => f.load('t')).toThrow(/reaches element 4 of a storage of 4/);
  });

  it('a storage entry that is missing', () => {
    const f = openPytorch(checkpoint(tensorPickle(0, 4)));
    expect(() => f.load('t')).toThrow(/storage 0 is missing/);
  });

  it('a compressed entry', () => {
    const f = openPytorch(checkpoint(tensorPickle(0, 4), [{ name: 'archive/data/0', data: new Uint8Array(16), method: 8 }]));
    expect(() => f.load('t')).toThrow(/compressed/);
  });

  it('a truncated zip', () => {
    const whole = zipStored([{ name: 'archive/data.pkl', data: tensorPickle(0, 4) }]);
    const p = join(tmp, 'trunc.pt');
    writeFileSync(p, whole.subarray(0, whole.length - 30));
    expect(() => openPytorch(p)).toThrow(/not a zip archive|past the end|corrupt/);
  });

  it('an archive without data.pkl', () => {
    const p = join(tmp, 'nopkl.pt');
    writeFileSync(p, zipStored([{ name: 'x/readme', data: new Uint8Array(3) }]));
    expect(() => openPytorch(p)).toThrow(/no data\.pkl/);
  });
});
