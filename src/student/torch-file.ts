/**
 * Weights in PyTorch's own format (`pytorch_model.bin`, written by `torch.save(state_dict)`), read without
 * Python and without executing the pickle (torch-pickle.ts).
 *
 * - zip format (torch ≥ 1.6): `<archive>/data.pkl` (the pickle) and `<archive>/data/<key>` (one stored,
 *   uncompressed entry per storage); ZIP64 included. Only the bytes of the selected tensors are read.
 * - legacy format (torch < 1.6): consecutive pickles (magic number, protocol, system info, the state dict,
 *   the storage keys), then each storage as an int64 element count and its bytes.
 *
 * Tensors come back as float32 like `readSafetensors`, with the same `select` filter; strided views
 * (e.g. tied or transposed weights) are copied out contiguously.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { BYTES, type ReadTensor, toFloat32 } from './safetensors.js';
import { readStateDictPickle, type TorchTensor } from './torch-pickle.js';

interface ZipEntry {
  name: string;
  method: number;
  size: number;
  /** offset of the local header */
  local: number;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** true when `file` starts like a zip archive (torch ≥ 1.6) */
async function isZip(fh: FileHandle): Promise<boolean> {
  const b = Buffer.alloc(4);
  await fh.read(b, 0, 4, 0);
  return b.readUInt32LE(0) === 0x04034b50;
}

async function readAt(fh: FileHandle, pos: number, n: number, file: string): Promise<Buffer> {
  const b = Buffer.alloc(n);
  const { bytesRead } = await fh.read(b, 0, n, pos);
  if (bytesRead !== n) throw new InputError(`truncated file: needs bytes ${pos}..${pos + n}`, file);
  return b;
}

async function zipEntries(fh: FileHandle, file: string): Promise<Map<string, ZipEntry>> {
  const { size } = await fh.stat();
  const tailLen = Math.min(size, 65_557);
  const tail = await readAt(fh, size - tailLen, tailLen, file);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new InputError('not a zip archive (no end of central directory)', file);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff || cdSize === 0xffffffff) {
    // ZIP64: the locator sits just before the end record and points at the ZIP64 end record
    if (eocd < 20 || tail.readUInt32LE(eocd - 20) !== 0x07064b50) throw new InputError('malformed ZIP64 archive', file);
    const rec = await readAt(fh, Number(tail.readBigUInt64LE(eocd - 20 + 8)), 56, file);
    if (rec.readUInt32LE(0) !== 0x06064b50) throw new InputError('malformed ZIP64 end record', file);
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  if (cdSize > 64 << 20) throw new InputError(`zip central directory of ${cdSize} bytes is implausibly large`, file);
  const cd = await readAt(fh, cdOffset, cdSize, file);
  const out = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50)
      throw new InputError('malformed zip central directory', file);
    const method = cd.readUInt16LE(p + 10);
    let csize = cd.readUInt32LE(p + 20);
    let usize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let local = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extra field: the 64-bit values of the fields set to 0xffffffff, in this order
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (usize === 0xffffffff) {
          usize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (csize === 0xffffffff) {
          csize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (local === 0xffffffff) local = Number(cd.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    if (method === 0 && csize !== usize) throw new InputError(`zip entry ${name}: stored sizes differ`, file);
    out.set(name, { name, method, size: usize, local });
    p = eEnd + commentLen;
  }
  return out;
}

async function entryData(
  fh: FileHandle,
  entry: ZipEntry,
  file: string,
  from = 0,
  length = entry.size,
): Promise<Buffer> {
  if (entry.method !== 0)
    throw new InputError(
      `zip entry ${entry.name} is compressed (method ${entry.method}); torch.save stores entries uncompressed`,
      file,
    );
  if (from + length > entry.size)
    throw new InputError(`zip entry ${entry.name} has ${entry.size} bytes, a tensor needs ${from + length}`, file);
  const h = await readAt(fh, entry.local, 30, file);
  if (h.readUInt32LE(0) !== 0x04034b50) throw new InputError(`zip entry ${entry.name}: bad local header`, file);
  const start = entry.local + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  return readAt(fh, start + from, length, file);
}

/** byte reader of one storage: (element offset, element count) → bytes */
type StorageReader = (t: TorchTensor, firstElement: number, elements: number) => Promise<Buffer>;

/**
 * Reads a PyTorch weights file (zip or legacy) as float32 tensors; `select(name)` may skip tensors
 * (their bytes are then not read). Non-tensor entries of the state dict are ignored.
 */
export async function readTorchFile(
  file: string,
  opts: { select?: (name: string) => boolean } = {},
): Promise<{ tensors: Map<string, ReadTensor> }> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`cannot read: ${err.code ?? err.message}`, file);
  });
  try {
    let dict: unknown;
    let readStorage: StorageReader;
    if (await isZip(fh)) {
      const entries = await zipEntries(fh, file);
      const pkl = [...entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
      if (!pkl) throw new InputError('zip archive without data.pkl: not a torch.save file', file);
      const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
      const pickle = await entryData(fh, entries.get(pkl)!, file);
      dict = readStateDictPickle(pickle, `${file}:${pkl}`).value;
      readStorage = (t, first, n) => {
        const entry = entries.get(`${prefix}data/${t.key}`);
        if (!entry) throw new InputError(`storage ${t.key} is missing from the archive`, file);
        const w = BYTES[t.dtype];
        return entryData(fh, entry, file, first * w, n * w);
      };
    } else {
      ({ dict, readStorage } = await readLegacy(fh, file));
    }
    if (!(dict instanceof Map))
      throw new InputError('the pickle holds no dict of tensors (a state dict is expected)', file);
    const tensors = new Map<string, ReadTensor>();
    for (const [name, t] of dict as Map<unknown, unknown>) {
      if (typeof name !== 'string' || (t as TorchTensor)?.kind !== 'tensor') continue;
      if (opts.select && !opts.select(name)) continue;
      tensors.set(name, await materialise(t as TorchTensor, readStorage));
    }
    return { tensors };
  } finally {
    await fh.close();
  }
}

async function readLegacy(fh: FileHandle, file: string): Promise<{ dict: unknown; readStorage: StorageReader }> {
  const { size } = await fh.stat();
  // the pickles come first and are small (the tensors' bytes follow them); read a generous head
  const head = await readAt(fh, 0, Math.min(size, 64 << 20), file);
  const bytes = new Uint8Array(head.buffer, head.byteOffset, head.length);
  if (bytes[0] !== 0x80) throw new InputError('neither a zip archive nor a pickle: not a PyTorch weights file', file);
  const magic = readStateDictPickle(bytes, file, 0);
  if (magic.value !== LEGACY_MAGIC) {
    throw new InputError('a pickle, but not a torch.save file (wrong magic number)', file);
  }
  const protocol = readStateDictPickle(bytes, file, magic.end);
  if (protocol.value !== 1001)
    throw new InputError(`unsupported legacy torch.save protocol ${String(protocol.value)}`, file);
  const sysInfo = readStateDictPickle(bytes, file, protocol.end);
  const data = readStateDictPickle(bytes, file, sysInfo.end);
  const keys = readStateDictPickle(bytes, file, data.end);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string'))
    throw new InputError('malformed storage key list', file);
  // storages follow in key order: int64 element count, then the elements; their dtypes come from the tensors
  const dtypes = new Map<string, TorchTensor>();
  const collect = (v: unknown) => {
    if (v instanceof Map) for (const x of v.values()) collect(x);
    else if ((v as TorchTensor)?.kind === 'tensor') dtypes.set((v as TorchTensor).key, v as TorchTensor);
  };
  collect(data.value);
  const starts = new Map<string, number>();
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const numel = Number((await readAt(fh, pos, 8, file)).readBigInt64LE(0));
    const t = dtypes.get(key);
    if (!t) throw new InputError(`storage ${key} is used by no tensor; cannot tell its size`, file);
    starts.set(key, pos + 8);
    pos += 8 + numel * BYTES[t.dtype];
  }
  return {
    dict: data.value,
    readStorage: (t, first, n) => {
      const start = starts.get(t.key);
      if (start === undefined) throw new InputError(`storage ${t.key} is missing from the file`, file);
      const w = BYTES[t.dtype];
      return readAt(fh, start + first * w, n * w, file);
    },
  };
}

async function materialise(t: TorchTensor, readStorage: StorageReader): Promise<ReadTensor> {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return { dtype: t.dtype, shape: t.shape, data: new Float32Array(0) };
  let contiguous = true;
  for (let d = t.shape.length - 1, s = 1; d >= 0; d--) {
    if (t.shape[d]! > 1 && t.stride[d] !== s) contiguous = false;
    s *= t.shape[d]!;
  }
  let span = 1;
  for (let d = 0; d < t.shape.length; d++) span += (t.shape[d]! - 1) * t.stride[d]!;
  const raw = await readStorage(t, t.offset, contiguous ? numel : span);
  // a fresh aligned copy, as toFloat32 views it in place
  const fresh = new Uint8Array(raw.length);
  fresh.set(raw);
  const all = toFloat32(fresh, t.dtype);
  if (contiguous) return { dtype: t.dtype, shape: t.shape, data: all.length === numel ? all : all.slice(0, numel) };
  const out = new Float32Array(numel);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < numel; i++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d]! * t.stride[d]!;
    out[i] = all[src]!;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < t.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { dtype: t.dtype, shape: t.shape, data: out };
}
