// The zip container of PyTorch checkpoints: ZIP64 archives (what torch.save writes past 4 GB) read like
// small ones, and broken directories are Errors naming the problem.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPytorch } from '../../src/index.js';
import { readZipDirectory } from '../../src/io/zip.js';

const tmp = mkdtempSync(join(tmpdir(), 'seed-zip-'));
const b = (s: string) => Buffer.from(s, 'latin1');

/**
 * A STORED zip whose end record defers to a ZIP64 end record, and whose central entries keep their local
 * header offsets in the ZIP64 extra field (0xffffffff in the 32-bit field), as big torch checkpoints do.
 */
function zip64(entries: { name: string; data: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = b(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, Buffer.from(e.data));
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt32LE(e.data.length, 20);
    c.writeUInt32LE(e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(12, 30); // extra field length
    c.writeUInt32LE(0xffffffff, 42);
    const extra = Buffer.alloc(12);
    extra.writeUInt16LE(1, 0);
    extra.writeUInt16LE(8, 2);
    extra.writeBigUInt64LE(BigInt(offset), 4);
    central.push(c, name, extra);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(central);
  const z64 = Buffer.alloc(56);
  z64.writeUInt32LE(0x06064b50, 0);
  z64.writeBigUInt64LE(44n, 4);
  z64.writeBigUInt64LE(BigInt(entries.length), 24);
  z64.writeBigUInt64LE(BigInt(entries.length), 32);
  z64.writeBigUInt64LE(BigInt(cd.length), 40);
  z64.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([...parts, cd, z64, locator, eocd]);
}

// {'t': tensor of FloatStorage '0' (2 floats), offset 0, size (2,), stride (1,)}
const pkl = b(
  '\x80\x02}X\x01\x00\x00\x00tctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x02tQK\x00K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs.',
);

describe('zip container', () => {
  it('reads ZIP64 archives', async () => {
    const p = join(tmp, 'z64.pt');
    writeFileSync(
      p,
      zip64([
        { name: 'm/data.pkl', data: pkl },
        { name: 'm/data/0', data: new Uint8Array(new Float32Array([4, 5]).buffer) },
      ]),
    );
    const f = openPytorch(p);
    expect(f.tensors).toEqual([{ name: 't', dtype: 'F32', shape: [2] }]);
    expect(Array.from(await f.load('t').data())).toEqual([4, 5]);
  });

  it('names a broken ZIP64 directory', () => {
    const good = zip64([{ name: 'm/data.pkl', data: pkl }]);
    const noLocator = Buffer.from(good);
    noLocator.writeUInt32LE(0, good.length - 22 - 20);
    expect(() => readZipDirectory(noLocator, 'x.pt')).toThrow(/x\.pt: ZIP64 archive without a ZIP64 locator/);
    const farRecord = Buffer.from(good);
    farRecord.writeBigUInt64LE(1n << 40n, good.length - 22 - 20 + 8);
    expect(() => readZipDirectory(farRecord, 'x.pt')).toThrow(/ZIP64 end record is missing or out of range/);
  });

  it('names a central directory or entry that lies outside the file', () => {
    const good = zip64([{ name: 'm/data.pkl', data: pkl }]);
    const cdPast = Buffer.from(good);
    cdPast.writeBigUInt64LE(BigInt(good.length), good.length - 22 - 20 - 56 + 48);
    expect(() => readZipDirectory(cdPast, 'x.pt')).toThrow(/central directory .* lies past the end of the file/);
    const localPast = Buffer.from(good);
    const cdStart = 30 + 10 + pkl.length;
    localPast.writeBigUInt64LE(1n << 33n, cdStart + 46 + 10 + 4);
    expect(() => readZipDirectory(localPast, 'x.pt')).toThrow(
      /entry m\/data\.pkl: local header is missing or out of range/,
    );
    expect(() => readZipDirectory(new Uint8Array(10), 'x.pt')).toThrow(/not a zip archive/);
  });
});
