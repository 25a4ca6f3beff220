/**
 * A pickle reader for PyTorch state dicts that executes nothing: it interprets the opcodes `torch.save`
 * emits for a dict of tensors and knows a fixed list of globals (below); any other global — os.system,
 * builtins.eval, a model class — is refused with one line naming it, before anything else happens. This
 * is stricter than Python's own `torch.load(weights_only=True)`, which still runs the unpickler's
 * reducers for its allow-list.
 *
 * The result is plain data: dicts (Map), lists/tuples (arrays), numbers, strings, and `TorchTensor`
 * descriptions (a storage key, dtype, offset, shape and strides) whose bytes the caller reads from the
 * archive (torch-file.ts).
 */
import { InputError } from '../errors.js';
import type { SafetensorsDtype } from './safetensors.js';

/** A tensor as the pickle describes it: a view into storage `key`. */
export interface TorchTensor {
  kind: 'tensor';
  key: string;
  dtype: SafetensorsDtype;
  /** elements in the storage */
  storageNumel: number;
  /** in elements */
  offset: number;
  shape: number[];
  stride: number[];
}

/** storage classes by name, as `torch.save` writes them in persistent ids */
export const STORAGE_DTYPES: Record<string, SafetensorsDtype> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** the globals a state dict uses; everything else is refused */
const ALLOWED = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

interface Global {
  kind: 'global';
  name: string;
}
interface Storage {
  kind: 'storage';
  key: string;
  dtype: SafetensorsDtype;
  numel: number;
}
type Value = unknown;

export interface PickleResult {
  value: Value;
  /** the byte just after the STOP opcode */
  end: number;
}

/**
 * Interprets one pickle starting at `start`. `where` names the file (and archive entry) for error lines.
 */
export function readStateDictPickle(buf: Uint8Array, where: string, start = 0): PickleResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Value>();
  let pos = start;
  const fail = (msg: string): never => {
    throw new InputError(`${msg} (pickle byte ${pos})`, where);
  };
  const need = (n: number) => {
    if (pos + n > buf.length) fail('truncated pickle');
  };
  const u8 = () => {
    need(1);
    return buf[pos++]!;
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const bytes = (n: number) => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const text = (n: number) => new TextDecoder().decode(bytes(n));
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle');
    const s = new TextDecoder().decode(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): Value => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1]!))
      fail('pickle stack underflow');
    return stack.pop();
  };
  const top = (): Value => {
    if (stack.length === 0) fail('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): Value[] => {
    const m = marks.pop();
    if (m === undefined) fail('pickle has no MARK');
    return stack.splice(m!);
  };
  const global = (module: string, name: string): Global => {
    const full = `${module}.${name}`;
    if (!ALLOWED.has(full))
      fail(`refused: the pickle names the global ${full}, which a state dict does not use (nothing was executed)`);
    return { kind: 'global', name: full };
  };
  const setItems = (target: Value, items: Value[]) => {
    if (!(target instanceof Map)) fail('SETITEM on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (target as Map<Value, Value>).set(items[i], items[i + 1]);
  };
  const longLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME
        bytes(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail('pickle ended with a malformed stack');
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(longLE(bytes(u8())));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(text(u32()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(text(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()));
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail('APPEND to something that is not a list');
        (list as Value[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS to something that is not a list');
        (list as Value[]).push(...items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`pickle refers to memo ${k}, which was never stored`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL without strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistent(pop(), fail));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args, fail));
        break;
      }
      case 0x62: {
        // BUILD: only an OrderedDict's attribute dict (a state dict's `_metadata`), which is dropped
        const state = pop();
        if (!(top() instanceof Map) || !(state instanceof Map || state === null))
          fail('BUILD on something that is not a dict');
        break;
      }
      default:
        fail(`pickle opcode 0x${op.toString(16).padStart(2, '0')} is not one a state dict uses`);
    }
  }
}

function persistent(pid: Value, fail: (m: string) => never): Storage {
  // ('storage', <storage class>, key, location, numel[, view metadata])
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) return fail('persistent id is not a storage');
  const [, type, key, , numel] = pid as [string, Global, unknown, unknown, unknown];
  if (type?.kind !== 'global' || !type.name.startsWith('torch.')) return fail('persistent id names no storage class');
  const dtype = STORAGE_DTYPES[type.name.slice('torch.'.length)];
  if (!dtype) return fail(`storage class ${type.name} is not supported`);
  if (typeof key !== 'string' || typeof numel !== 'number') return fail('malformed storage persistent id');
  if (pid[5] !== undefined && pid[5] !== null)
    return fail('storage views (legacy torch.save of shared views) are not supported');
  return { kind: 'storage', key, dtype, numel };
}

function ints(v: Value): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x) && (x as number) >= 0);
}

function reduce(fn: Value, args: Value, fail: (m: string) => never): Value {
  if ((fn as Global)?.kind !== 'global' || !Array.isArray(args))
    return fail('REDUCE of something that is not an allowed global');
  const name = (fn as Global).name;
  switch (name) {
    case 'collections.OrderedDict': {
      const m = new Map<Value, Value>();
      const items = args[0];
      if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
      return m;
    }
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2': {
      const [storage, offset, shape, stride] = args as [Storage, unknown, unknown, unknown];
      if (
        storage?.kind !== 'storage' ||
        !Number.isInteger(offset) ||
        !ints(shape) ||
        !ints(stride) ||
        shape.length !== stride.length
      ) {
        return fail('malformed tensor in the pickle');
      }
      const t: TorchTensor = {
        kind: 'tensor',
        key: storage.key,
        dtype: storage.dtype,
        storageNumel: storage.numel,
        offset: offset as number,
        shape,
        stride,
      };
      let last = t.offset;
      for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * stride[d]!;
      if (shape.every((d) => d > 0) && last >= storage.numel)
        fail(`tensor reaches element ${last} of a storage of ${storage.numel}`);
      return t;
    }
    case 'torch._utils._rebuild_parameter': {
      if ((args[0] as TorchTensor)?.kind !== 'tensor') return fail('malformed parameter in the pickle');
      return args[0];
    }
    default:
      return fail(`the global ${name} cannot be called`);
  }
}
