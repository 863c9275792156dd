/**
 * A restricted unpickler for PyTorch checkpoints (pickle protocols 2–5). It builds plain values — dicts
 * (as Map, keeping order), lists, tuples, numbers, strings, bytes — and knows exactly these globals:
 * `collections.OrderedDict`, the torch tensor rebuild functions, `torch.device` and the torch storage types
 * (referenced through persistent ids `('storage', StorageType, key, location, numel)`). Any other
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
  /** Elements, as pickled: a Python int is unbounded, so BigInt until the reader has checked it. */
  numel: bigint;
}

/**
 * A tensor as pickled: a view (offset, size, stride) of a storage. The integers are exactly as pickled
 * (BigInt, possibly negative or huge); the checkpoint reader checks them against the storage.
 */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: bigint;
  size: bigint[];
  stride: bigint[];
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
  'FloatStorage',
  'HalfStorage',
  'BFloat16Storage',
  'DoubleStorage',
  'LongStorage',
  'IntStorage',
  'ShortStorage',
  'CharStorage',
  'ByteStorage',
  'BoolStorage',
]);

const ALLOWED = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch.device',
  ...[...STORAGE_TYPES].map((s) => `torch.${s}`),
]);

/** Pickle opcodes, named as in CPython's pickle.py. */
const OP = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e,
  MARK: 0x28,
  EMPTY_DICT: 0x7d,
  EMPTY_LIST: 0x5d,
  EMPTY_TUPLE: 0x29,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  TUPLE: 0x74,
  LIST: 0x6c,
  DICT: 0x64,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  MEMOIZE: 0x94,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINFLOAT: 0x47,
  BINUNICODE: 0x58,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  SHORT_BINSTRING: 0x55,
  BINSTRING: 0x54,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  BINBYTES8: 0x8e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  NONE: 0x4e,
  GLOBAL: 0x63,
  STACK_GLOBAL: 0x93,
  REDUCE: 0x52,
  NEWOBJ: 0x81,
  BUILD: 0x62,
  BINPERSID: 0x51,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  APPEND: 0x61,
  APPENDS: 0x65,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
} as const;

const MARK = Symbol('mark');
const utf8 = new TextDecoder('utf-8', { fatal: true });
type StackItem = PickleValue | typeof MARK;

function tuple(items: PickleValue[]): Tuple {
  Object.defineProperty(items, '__tuple', { value: true });
  return Object.freeze(items) as unknown as Tuple;
}

export function isTuple(v: unknown): v is Tuple {
  return Array.isArray(v) && (v as unknown as { __tuple?: boolean }).__tuple === true;
}

const asInt = (v: PickleValue, what: string): bigint => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw new Error(`pickle: ${what} is not an integer`);
};

const intList = (v: PickleValue, what: string): bigint[] => {
  if (!Array.isArray(v)) throw new Error(`pickle: ${what} is not a tuple`);
  return (v as PickleValue[]).map((x) => asInt(x, what));
};

/**
 * Unpickle `data` (a checkpoint's data.pkl) into plain values: dicts become Maps (insertion order kept),
 * tensors become {@link TensorRef}s. Throws an Error prefixed with `what` on any global outside the allowed
 * set, any opcode outside the supported subset, and any malformed or truncated pickle.
 */
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
  /** Advance past `n` bytes (checked) and return where they start. */
  const take = (n: number): number => {
    need(n);
    pos += n;
    return pos - n;
  };
  const u8 = () => data[take(1)];
  const u16 = () => dv.getUint16(take(2), true);
  const u32 = () => dv.getUint32(take(4), true);
  const i32 = () => dv.getInt32(take(4), true);
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(data.byteLength)) fail('length field larger than the pickle');
    return Number(v);
  };
  const bytes = (n: number) => data.subarray(take(n), pos);
  // Strings must be UTF-8, as Python's unpickler requires (torch.load reads even protocol-0/1 byte strings
  // as UTF-8); a malformed one is an error, not a name with U+FFFD in it.
  const text = (n: number) => {
    const at = pos;
    const raw = bytes(n);
    try {
      return utf8.decode(raw);
    } catch {
      return fail(`string at byte ${at} is not valid UTF-8`);
    }
  };
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated GLOBAL');
    const s = text(end - pos);
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
    if (module === 'torch' && name.endsWith('Storage') && !ALLOWED.has(full))
      fail(`unsupported storage type ${full} (seed reads ${[...STORAGE_TYPES].join(', ')})`);
    if (!ALLOWED.has(full))
      fail(`refusing to load global ${full}: only tensors, storages and containers are allowed in a checkpoint`);
    return { kind: 'global', module, name };
  };
  const call = (fn: PickleValue, args: PickleValue): PickleValue => {
    if (!fn || typeof fn !== 'object' || (fn as GlobalRef).kind !== 'global')
      fail('REDUCE on something that is not an allowed global');
    const g = fn as GlobalRef;
    const a = (Array.isArray(args) ? args : fail('REDUCE arguments are not a tuple')) as PickleValue[];
    switch (`${g.module}.${g.name}`) {
      case 'collections.OrderedDict': {
        // OrderedDict() or OrderedDict([(k, v), …]); protocol 2 usually sends the items later with SETITEMS.
        const m = new Map<PickleValue, PickleValue>();
        const items = a[0];
        if (Array.isArray(items))
          for (const kv of items as PickleValue[]) {
            if (!Array.isArray(kv) || kv.length !== 2) fail('OrderedDict items are not (key, value) pairs');
            m.set((kv as PickleValue[])[0], (kv as PickleValue[])[1]);
          }
        return m;
      }
      case 'torch.device': {
        // A device only names where a tensor lived when saved; seed places tensors itself, so keep the name.
        if (typeof a[0] !== 'string') fail('torch.device without a device name');
        return a.length > 1 && a[1] !== null ? `${String(a[0])}:${String(a[1])}` : (a[0] as string);
      }
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2': {
        const storage = a[0] as StorageRef;
        if (storage?.kind !== 'storage') fail('tensor rebuilt from something that is not a storage');
        return {
          kind: 'tensor',
          storage,
          offset: asInt(a[1], 'storage offset'),
          size: intList(a[2], 'tensor size'),
          stride: intList(a[3], 'tensor stride'),
        };
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state': {
        const t = a[0] as TensorRef;
        if (t?.kind !== 'tensor') fail('parameter rebuilt from something that is not a tensor');
        return t;
      }
      default:
        return fail(`calling ${g.module}.${g.name} is not allowed`);
    }
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case OP.PROTO: {
        const v = u8();
        if (v > 5) fail(`pickle protocol ${v} is not supported (2 to 5 are)`);
        break;
      }
      case OP.FRAME:
        u64();
        break; // frames only group bytes: read through them
      case OP.STOP:
        return stack.length === 1 ? pop() : fail('pickle stopped with an unbalanced stack');
      case OP.MARK:
        stack.push(MARK);
        break;
      case OP.EMPTY_DICT:
        stack.push(new Map());
        break;
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.EMPTY_TUPLE:
        stack.push(tuple([]));
        break;
      case OP.TUPLE1:
        stack.push(tuple([pop()]));
        break;
      case OP.TUPLE2: {
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case OP.TUPLE:
        stack.push(tuple(popMark()));
        break;
      case OP.LIST:
        stack.push(popMark());
        break;
      case OP.DICT: {
        const items = popMark();
        const m = new Map<PickleValue, PickleValue>();
        for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i], items[i + 1]);
        stack.push(m);
        break;
      }
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
      case OP.LONG_BINGET: {
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} is not set`);
        stack.push(memo.get(k)!);
        break;
      }
      case OP.BININT:
        stack.push(i32());
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(u16());
        break;
      case OP.LONG1:
      case OP.LONG4: {
        const n = op === 0x8a ? u8() : u32();
        if (n > 64) fail('integer longer than 64 bytes');
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case OP.BINFLOAT:
        stack.push(dv.getFloat64(take(8), false));
        break; // big-endian, unlike every other number in a pickle
      case OP.BINUNICODE:
      case OP.BINSTRING:
        stack.push(text(u32()));
        break;
      case OP.SHORT_BINUNICODE:
      case OP.SHORT_BINSTRING:
        stack.push(text(u8()));
        break;
      case OP.BINUNICODE8:
        stack.push(text(u64()));
        break;
      case OP.BINBYTES:
        stack.push(bytes(u32()).slice());
        break;
      case OP.SHORT_BINBYTES:
        stack.push(bytes(u8()).slice());
        break;
      case OP.BINBYTES8:
        stack.push(bytes(u64()).slice());
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.GLOBAL: {
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case OP.NEWOBJ: {
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      }
      case OP.BUILD: {
        // BUILD: state for an object; for OrderedDict (its _metadata) and tensors it is dropped
        pop();
        const obj = top();
        if (obj === null || typeof obj !== 'object') fail('BUILD on a value that is not an object');
        break;
      }
      case OP.BINPERSID: {
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
          fail('unsupported persistent id (expected a torch storage)');
        const [, type, key, location, numel] = pid as PickleValue[];
        const t = type as GlobalRef;
        if (t?.kind !== 'global' || t.module !== 'torch' || !STORAGE_TYPES.has(t.name))
          fail(
            `unsupported storage type ${t?.kind === 'global' ? `${t.module}.${t.name}` : 'in a persistent id'} (seed reads ${[...STORAGE_TYPES].join(', ')})`,
          );
        if (typeof key !== 'string') fail('storage key is not a string');
        stack.push({
          kind: 'storage',
          type: t.name,
          key: key as string,
          location: String(location),
          numel: asInt(numel, 'storage size'),
        });
        break;
      }
      case OP.SETITEM: {
        const v = pop();
        const k = pop();
        const d = top();
        if (!(d instanceof Map)) fail('SETITEM on a value that is not a dict');
        (d as Map<PickleValue, PickleValue>).set(k, v);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        const d = top();
        if (!(d instanceof Map)) fail('SETITEMS on a value that is not a dict');
        for (let i = 0; i + 1 < items.length; i += 2) (d as Map<PickleValue, PickleValue>).set(items[i], items[i + 1]);
        break;
      }
      case OP.APPEND: {
        const v = pop();
        const l = top();
        if (!Array.isArray(l) || isTuple(l)) fail('APPEND on a value that is not a list');
        (l as PickleValue[]).push(v);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        const l = top();
        if (!Array.isArray(l) || isTuple(l)) fail('APPENDS on a value that is not a list');
        (l as PickleValue[]).push(...items);
        break;
      }
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        stack.push(top());
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${pos - 1}`);
    }
  }
}
