/**
 * Just enough of the ZIP format to read PyTorch checkpoints: the end-of-central-directory record (ZIP64 when
 * it says so), the central directory, and each entry's local header to find where its bytes start. Only
 * STORED (uncompressed) entries can be read, which is what torch.save writes. Every offset is checked
 * against the file size; entry names must be UTF-8 and distinct.
 */

export interface ZipEntry {
  name: string;
  /** Absolute offset of the entry's data in the archive. */
  dataOffset: number;
  size: number;
  /** 0 = STORED; anything else is compressed (and unreadable here). */
  compression: number;
  encrypted: boolean;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The entries of the zip archive `buf`, by name. `what` (the file name) prefixes every error. */
export function readZipDirectory(buf: Uint8Array, what: string): Map<string, ZipEntry> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const fail = (msg: string): never => {
    throw new Error(`${what}: ${msg}`);
  };
  const u64 = (o: number) => {
    const v = dv.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('a ZIP64 field is absurdly large');
    return Number(v);
  };
  // The EOCD is the last 22 bytes plus a comment of at most 65535 bytes.
  let eocd = -1;
  for (let i = buf.byteLength - 22; i >= Math.max(0, buf.byteLength - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('not a zip archive (no end-of-central-directory record): truncated or not a PyTorch checkpoint');
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== ZIP64_LOCATOR) fail('ZIP64 archive without a ZIP64 locator');
    const z = u64(loc + 8);
    if (z + 56 > buf.byteLength || dv.getUint32(z, true) !== ZIP64_EOCD)
      fail('ZIP64 end record is missing or out of range');
    count = u64(z + 32);
    cdSize = u64(z + 40);
    cdOffset = u64(z + 48);
  }
  if (cdOffset + cdSize > buf.byteLength)
    fail(`central directory [${cdOffset}, +${cdSize}) lies past the end of the file (${buf.byteLength} bytes)`);
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || dv.getUint32(p, true) !== CENTRAL)
      fail(`central directory entry ${i} is corrupt`);
    const encrypted = (dv.getUint16(p + 8, true) & 1) !== 0;
    const compression = dv.getUint16(p + 10, true);
    let size = dv.getUint32(p + 20, true); // compressed size (= stored size)
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > buf.byteLength) fail(`central directory entry ${i} runs past the end`);
    let name: string;
    try {
      name = utf8.decode(buf.subarray(p + 46, p + 46 + nameLen));
    } catch {
      return fail(`central directory entry ${i}: its name is not valid UTF-8`);
    }
    // Two entries of one name: which one a reader sees would depend on the reader.
    if (entries.has(name)) fail(`entry ${name} appears twice in the archive`);
    // ZIP64 extra field (id 1): the 8-byte values of whichever fields are saturated, in this order.
    const uncompressedSat = dv.getUint32(p + 24, true) === 0xffffffff;
    if (size === 0xffffffff || local === 0xffffffff || uncompressedSat) {
      let e = p + 46 + nameLen;
      const end = e + extraLen;
      while (e + 4 <= end) {
        const id = dv.getUint16(e, true);
        const len = dv.getUint16(e + 2, true);
        if (e + 4 + len > end) fail(`entry ${name}: extra field runs past its end`);
        if (id === 1) {
          const want = 8 * (Number(uncompressedSat) + Number(size === 0xffffffff) + Number(local === 0xffffffff));
          if (len < want) fail(`entry ${name}: ZIP64 extra field is too short`);
          let q = e + 4;
          if (uncompressedSat) q += 8;
          if (size === 0xffffffff) {
            size = u64(q);
            q += 8;
          }
          if (local === 0xffffffff) local = u64(q);
          break;
        }
        e += 4 + len;
      }
    }
    if (local + 30 > buf.byteLength || dv.getUint32(local, true) !== LOCAL)
      fail(`entry ${name}: local header is missing or out of range`);
    const dataOffset = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    if (dataOffset + size > buf.byteLength)
      fail(`entry ${name}: data [${dataOffset}, +${size}) lies past the end of the file: truncated`);
    entries.set(name, { name, dataOffset, size, compression, encrypted });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
