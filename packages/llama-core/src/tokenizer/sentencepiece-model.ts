/**
 * Reads a SentencePiece `tokenizer.model` (a serialized `sentencepiece.ModelProto`) without any protobuf
 * dependency: only the handful of fields a BPE tokenizer needs. Field numbers are those of
 * sentencepiece_model.proto: ModelProto { 1: pieces, 2: trainer_spec, 3: normalizer_spec },
 * SentencePiece { 1: piece, 2: score, 3: type }, TrainerSpec { 3: model_type, 35: byte_fallback,
 * 40: unk_id, 41: bos_id, 42: eos_id, 43: pad_id }, NormalizerSpec { 3: add_dummy_prefix,
 * 4: remove_extra_whitespaces, 5: escape_whitespaces }.
 */

/** SentencePiece.Type */
export enum PieceType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface SentencePiece {
  piece: string;
  score: number;
  type: PieceType;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  /** 1 = unigram, 2 = BPE, 3 = word, 4 = char */
  modelType: number;
  byteFallback: boolean;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
}

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error(`${this.what}: truncated varint`);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
    throw new Error(`${this.what}: varint longer than 10 bytes`);
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error(`${this.what}: field of ${n} bytes runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  float32(): number {
    if (this.pos + 4 > this.buf.length) throw new Error(`${this.what}: truncated float`);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`${this.what}: unsupported protobuf wire type ${wire}`);
    if (this.pos > this.buf.length) throw new Error(`${this.what}: truncated field`);
  }

  /** Iterate (field, wireType) keys. */
  *fields(): Generator<[number, number]> {
    while (!this.done) {
      const key = this.varint();
      yield [Math.floor(key / 8), key & 7];
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readPiece(buf: Uint8Array): SentencePiece {
  const r = new Reader(buf, 'tokenizer.model piece');
  const p: SentencePiece = { piece: '', score: 0, type: PieceType.Normal };
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 2) p.piece = utf8.decode(r.bytes());
    else if (field === 2 && wire === 5) p.score = r.float32();
    else if (field === 3 && wire === 0) p.type = r.varint();
    else r.skip(wire);
  }
  return p;
}

/** Parse the bytes of a tokenizer.model file. Throws an Error naming the problem on malformed input. */
export function parseSentencePieceModel(bytes: Uint8Array): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    byteFallback: false,
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
  };
  const r = new Reader(bytes, 'tokenizer.model');
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 2) model.pieces.push(readPiece(r.bytes()));
    else if (field === 2 && wire === 2) {
      const t = new Reader(r.bytes(), 'tokenizer.model trainer_spec');
      for (const [f, w] of t.fields()) {
        if (w !== 0) t.skip(w);
        else if (f === 3) model.modelType = t.varint();
        else if (f === 35) model.byteFallback = t.varint() !== 0;
        else if (f === 40) model.unkId = signed32(t.varint());
        else if (f === 41) model.bosId = signed32(t.varint());
        else if (f === 42) model.eosId = signed32(t.varint());
        else if (f === 43) model.padId = signed32(t.varint());
        else t.skip(w);
      }
    } else if (field === 3 && wire === 2) {
      const n = new Reader(r.bytes(), 'tokenizer.model normalizer_spec');
      for (const [f, w] of n.fields()) {
        if (w !== 0) n.skip(w);
        else if (f === 3) model.addDummyPrefix = n.varint() !== 0;
        else if (f === 4) model.removeExtraWhitespaces = n.varint() !== 0;
        else n.skip(w);
      }
    } else r.skip(wire);
  }
  if (model.pieces.length === 0) throw new Error('tokenizer.model holds no pieces (not a SentencePiece model?)');
  return model;
}

// int32 fields are varint-encoded as 64-bit two's complement: -1 arrives as 2^64 - 1.
function signed32(v: number): number {
  return v >= 2 ** 63 ? -1 : v > 0x7fffffff ? v - 2 ** 32 : v;
}

// ---- writing (used to build test models; the same schema subset) ----

function varintBytes(v: number): number[] {
  const out: number[] = [];
  let x = v < 0 ? 2 ** 64 + v : v;
  do {
    const low = x % 128;
    x = Math.floor(x / 128);
    out.push(x > 0 ? low | 0x80 : low);
  } while (x > 0);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array | number[]): number[] {
  return [...varintBytes(field * 8 + 2), ...varintBytes(payload.length), ...payload];
}

/** Serialize a model (pieces, BPE trainer flags, normalizer flags) as a tokenizer.model. */
export function serializeSentencePieceModel(model: SentencePieceModel): Uint8Array {
  const enc = new TextEncoder();
  const chunks: number[][] = [];
  const f32 = new DataView(new ArrayBuffer(4));
  for (const p of model.pieces) {
    f32.setFloat32(0, p.score, true);
    const body = [
      ...lengthDelimited(1, enc.encode(p.piece)),
      ...varintBytes((2 << 3) | 5),
      ...new Uint8Array(f32.buffer.slice(0)),
      ...varintBytes(3 << 3),
      ...varintBytes(p.type),
    ];
    chunks.push(lengthDelimited(1, body));
  }
  const trainer = [
    ...varintBytes(3 << 3),
    ...varintBytes(model.modelType),
    ...varintBytes(35 << 3),
    ...varintBytes(model.byteFallback ? 1 : 0),
    ...varintBytes(40 << 3),
    ...varintBytes(model.unkId),
    ...varintBytes(41 << 3),
    ...varintBytes(model.bosId),
    ...varintBytes(42 << 3),
    ...varintBytes(model.eosId),
    ...varintBytes(43 << 3),
    ...varintBytes(model.padId),
  ];
  chunks.push(lengthDelimited(2, trainer));
  const normalizer = [
    ...varintBytes(3 << 3),
    ...varintBytes(model.addDummyPrefix ? 1 : 0),
    ...varintBytes(4 << 3),
    ...varintBytes(model.removeExtraWhitespaces ? 1 : 0),
  ];
  chunks.push(lengthDelimited(3, normalizer));
  return Uint8Array.from(chunks.flat());
}

/**
 * A BPE SentencePiece model with LLaMA's settings — byte fallback, dummy prefix, `<unk>` 0, `<s>` 1, `</s>` 2 —
 * over the given pieces (for tests and small models trained here; the released models ship tokenizer.model).
 */
export function llamaSentencePieceModel(pieces: SentencePieceModel['pieces']): SentencePieceModel {
  return {
    pieces,
    modelType: 2,
    byteFallback: true,
    addDummyPrefix: true,
    removeExtraWhitespaces: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
  };
}
