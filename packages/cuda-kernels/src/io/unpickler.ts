/**
 * A restricted unpickler for PyTorch checkpoints (pickle protocols 2–5). It builds plain values — dicts
 * (as Map, keeping order), lists, tuples, numbers, strings, bytes — and knows exactly these globals:
 * `collections.OrderedDict`, the torch tensor rebuild functions and the torch storage types. Any other
 * global (`os.system`, `builtins.eval`, …) is refused with an Error naming it; an unknown opcode is an
 * Error naming it. Nothing is ever executed: "calling" a known global only builds a description object.
 */

/** A storage referenced by a persistent id: ('storage', StorageType, key, location, numel). */
export interface StorageRef {
  kind: 'storage';
  /** torch storage type name, e.g. "FloatStorage" */
  type: string;
  key: string;
  location: string;
  numel: number;
}

/** A tensor as pickled: a view (offset, size, stride) of a storage. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Tuple
  | Map<PickleValue, PickleValue>
  | TensorRef
  | StorageRef
  | GlobalRef;

/** Tuples are frozen arrays tagged so they can be told from lists. */
export interface Tuple extends ReadonlyArray<PickleValue> {
  readonly __tuple: true;
}

interface GlobalRef {
  kind: 'global';
  module: string;
  name: string;
}

const STORAGE_TYPES = new Set([
  'FloatStorage', 'HalfStorage', 'BFloat16Storage', 'DoubleStorage', 'LongStorage', 'IntStorage', 'ShortStorage',
  'CharStorage', 'ByteStorage', 'BoolStorage',
]);

const ALLOWED = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  ...[...STORAGE_TYPES].map((s) => `torch.${s}`),
]);

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

function tuple(items: PickleValue[]): Tuple {
  Object.defineProperty(items, '__tuple', { value: true });
  return Object.freeze(items) as unknown as Tuple;
}

export function isTuple(v: unknown): v is Tuple {
  return Array.isArray(v) && (v as unknown as { __tuple?: boolean }).__tuple === true;
}

const asInt = (v: PickleValue, what: string): number => {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new Error(`pickle: ${what} is not an integer`);
};

const intList = (v: PickleValue, what: string): number[] => {
  if (!Array.isArray(v)) throw new Error(`pickle: ${what} is not a tuple`);
  return (v as PickleValue[]).map((x) => asInt(x, what));
};

/** Unpickle `data` (a data.pkl). Throws on anything outside the allowed subset. */
export function unpickle(data: Uint8Array, what = 'data.pkl'): PickleValue {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  const fail = (msg: string): never => {
    throw new Error(`${what}: ${msg}`);
  };
  const need = (n: number) => {
    if (pos + n > data.byteLength) fail('truncated pickle');
  };
  const u8 = () => (need(1), data[pos++]);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(data.byteLength)) fail('length field larger than the pickle');
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (pos += n), data.subarray(pos - n, pos));
  const utf8 = new TextDecoder('utf-8');
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated GLOBAL');
    const s = utf8.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack.pop()!;
    if (v === MARK) fail('unexpected MARK');
    return v as PickleValue;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('stack underflow');
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail('no MARK on the stack');
    const items = stack.splice(i) as PickleValue[];
    items.shift();
    return items;
  };
  const global = (module: string, name: string): GlobalRef => {
    const full = `${module}.${name}`;
    if (!ALLOWED.has(full)) fail(`refusing to load global ${full}: only tensors, storages and containers are allowed in a checkpoint`);
    return { kind: 'global', module, name };
  };
  const call = (fn: PickleValue, args: PickleValue): PickleValue => {
    if (!fn || typeof fn !== 'object' || (fn as GlobalRef).kind !== 'global') fail('REDUCE on something that is not an allowed global');
    const g = fn as GlobalRef;
    const a = (Array.isArray(args) ? args : fail('REDUCE arguments are not a tuple')) as PickleValue[];
    switch (`${g.module}.${g.name}`) {
      case 'collections.OrderedDict':
        return new Map();
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2': {
        const storage = a[0] as StorageRef;
        if (!storage || storage.kind !== 'storage') fail('tensor rebuilt from something that is not a storage');
        return { kind: 'tensor', storage, offset: asInt(a[1], 'storage offset'), size: intList(a[2], 'tensor size'), stride: intList(a[3], 'tensor stride') };
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state': {
        const t = a[0] as TensorRef;
        if (!t || t.kind !== 'tensor') fail('parameter rebuilt from something that is not a tensor');
        return t;
      }
      default:
        return fail(`calling ${g.module}.${g.name} is not allowed`);
    }
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME (length only; frames are read inline)
      case 0x2e: return stack.length === 1 ? pop() : fail('pickle stopped with an unbalanced stack'); // STOP
      case 0x28: stack.push(MARK); break;
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x85: stack.push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple([a, b, c])); break; } // TUPLE3
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { // DICT
        const items = popMark();
        const m = new Map<PickleValue, PickleValue>();
        for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i], items[i + 1]);
        stack.push(m);
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} is not set`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: case 0x8b: { // LONG1, LONG4
        const n = op === 0x8a ? u8() : u32();
        if (n > 64) fail('integer longer than 64 bytes');
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: need(8); stack.push(dv.getFloat64(pos, false)); pos += 8; break; // BINFLOAT (big-endian)
      case 0x58: stack.push(utf8.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(utf8.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x55: stack.push(new TextDecoder('latin1').decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x54: stack.push(new TextDecoder('latin1').decode(bytes(u32()))); break; // BINSTRING
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4e: stack.push(null); break; // NONE
      case 0x63: { const module = line(); const name = line(); stack.push(global(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x62: { // BUILD: state for an object; for OrderedDict (its _metadata) and tensors it is dropped
        pop();
        const obj = top();
        if (obj === null || typeof obj !== 'object') fail('BUILD on a value that is not an object');
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) fail('unsupported persistent id (expected a torch storage)');
        const [, type, key, location, numel] = pid as PickleValue[];
        const t = type as GlobalRef;
        if (!t || t.kind !== 'global' || !STORAGE_TYPES.has(t.name)) fail('persistent id names an unknown storage type');
        stack.push({ kind: 'storage', type: t.name, key: String(key), location: String(location), numel: asInt(numel, 'storage size') });
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        const d = top();
        if (!(d instanceof Map)) fail('SETITEM on a value that is not a dict');
        (d as Map<PickleValue, PickleValue>).set(k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = top();
        if (!(d instanceof Map)) fail('SETITEMS on a value that is not a dict');
        for (let i = 0; i + 1 < items.length; i += 2) (d as Map<PickleValue, PickleValue>).set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l) || isTuple(l)) fail('APPEND on a value that is not a list');
        (l as PickleValue[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l) || isTuple(l)) fail('APPENDS on a value that is not a list');
        (l as PickleValue[]).push(...items);
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${pos - 1}`);
    }
  }
}
