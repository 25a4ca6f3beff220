/**
 * safetensors reading and writing (https://github.com/huggingface/safetensors, "Format"):
 *
 *   [8 bytes: header length N, u64 little-endian][N bytes: JSON header][tensor data]
 *   header = { "__metadata__"?: {string: string}, "<name>": { dtype, shape, data_offsets: [begin, end] } }
 *   offsets are relative to the start of the data; data is little-endian, row-major.
 *
 * Written here because npm has no maintained safetensors package for Node (none in the registry's list of
 * packages with real use; the format is a JSON header plus raw bytes), and because we want to stream
 * tensors to and from disk without holding a second copy of a 400 MB file in memory.
 *
 * Reading converts every floating dtype (F32, F16, BF16, F64) to Float32Array, and integer/bool dtypes to
 * Float32Array too (they occur as buffers such as `bert.embeddings.position_ids`). Writing supports F32 and,
 * optionally, F16/BF16 (round to nearest even).
 */
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { InputError } from '../errors.js';
import { writeFileAtomicAsync } from '../files.js';
import type { NamedTensor } from './types.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** bytes per element */
export const BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) in the data section */
  offsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** byte position of the data section in the file */
  dataStart: number;
}

export interface ReadTensor extends NamedTensor {
  /** dtype stored in the file (data is always converted to float32) */
  dtype: SafetensorsDtype;
}

if (endianness() !== 'LE') {
  // typed arrays use the host's byte order; safetensors is little-endian
  throw new Error('safetensors I/O needs a little-endian host');
}

const MAX_HEADER = 100 * 1024 * 1024; // the reference implementation's limit

/** Reads and validates the header of a safetensors file. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await openForRead(file);
  try {
    return await readHeader(fh, file);
  } finally {
    await fh.close();
  }
}

/**
 * Reads tensors of a safetensors file as float32, in file-header order. `select(name)` may skip tensors
 * (they are then not read at all).
 */
export async function readSafetensors(
  file: string,
  opts: { select?: (name: string, info: TensorInfo) => boolean } = {},
): Promise<{ tensors: Map<string, ReadTensor>; metadata: Record<string, string> }> {
  const fh = await openForRead(file);
  try {
    const header = await readHeader(fh, file);
    const tensors = new Map<string, ReadTensor>();
    for (const [name, info] of header.tensors) {
      if (opts.select && !opts.select(name, info)) continue;
      const [begin, end] = info.offsets;
      const bytes = new Uint8Array(end - begin);
      const { bytesRead } = await fh.read(bytes, 0, bytes.length, header.dataStart + begin);
      if (bytesRead !== bytes.length) {
        throw new InputError(`truncated safetensors file: tensor "${name}" needs bytes the file does not have`, file);
      }
      tensors.set(name, { dtype: info.dtype, shape: info.shape, data: toFloat32(bytes, info.dtype) });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await fh.close();
  }
}

/**
 * Writes tensors to `file` atomically (a temporary file in the same folder, then rename). Tensors are
 * stored in the map's order; `metadata` (strings only) goes into `__metadata__` with `format: "pt"`, which
 * Hugging Face's loader expects.
 */
export async function writeSafetensors(
  file: string,
  tensors: ReadonlyMap<string, NamedTensor>,
  metadata: Record<string, string> = {},
  opts: { dtype?: 'F32' | 'F16' | 'BF16' } = {},
): Promise<void> {
  const dtype = opts.dtype ?? 'F32';
  const width = BYTES[dtype];
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`safetensors metadata must be strings; "${k}" is ${typeof v}`);
  }
  header.__metadata__ = { format: 'pt', ...metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(`tensor "${name}": shape [${t.shape}] holds ${count} values but data has ${t.data.length}`);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + count * width] };
    offset += count * width;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8; // like the reference writer: data starts 8-byte aligned
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(json.length));

  await writeFileAtomicAsync(file, async (fh) => {
    await fh.write(lengthBytes);
    await fh.write(json);
    for (const t of tensors.values()) {
      const bytes =
        dtype === 'F32'
          ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
          : fromFloat32(t.data, dtype);
      // one tensor at a time: memory stays flat for conversions
      await fh.write(bytes);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------

type Handle = Awaited<ReturnType<typeof open>>;

async function openForRead(file: string): Promise<Handle> {
  try {
    return await open(file, 'r');
  } catch (e) {
    throw new InputError(`cannot open safetensors file: ${(e as Error).message}`, file);
  }
}

async function readHeader(fh: Handle, file: string): Promise<SafetensorsHeader> {
  const size = (await fh.stat()).size;
  const bad = (msg: string): never => {
    throw new InputError(`not a valid safetensors file: ${msg}`, file);
  };
  if (size < 8) bad(`${size} bytes is shorter than the 8-byte header length`);
  const lenBuf = Buffer.alloc(8);
  await fh.read(lenBuf, 0, 8, 0);
  const n = lenBuf.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER)) bad(`header length ${n} is implausible (file truncated or not safetensors?)`);
  const headerLen = Number(n);
  if (8 + headerLen > size)
    bad(`header says ${headerLen} bytes but the file has only ${size - 8} after the length (truncated?)`);
  const jsonBuf = Buffer.alloc(headerLen);
  await fh.read(jsonBuf, 0, headerLen, 8);
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonBuf.toString('utf8'));
  } catch (e) {
    bad(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) bad('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataSize = size - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, v] of Object.entries(parsed as Record<string, any>)) {
    if (name === '__metadata__') {
      if (v !== null && typeof v === 'object') metadata = v;
      continue;
    }
    const dtype = v?.dtype as SafetensorsDtype;
    if (!(dtype in BYTES)) bad(`tensor "${name}" has unsupported dtype ${JSON.stringify(v?.dtype)}`);
    const shape = v.shape;
    if (!Array.isArray(shape) || !shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0)) {
      bad(`tensor "${name}" has a bad shape ${JSON.stringify(shape)}`);
    }
    const off = v.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0) ||
      off[1] < off[0]
    ) {
      bad(`tensor "${name}" has bad data_offsets ${JSON.stringify(off)}`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (off[1] - off[0] !== count * BYTES[dtype]) {
      bad(
        `tensor "${name}" [${shape}] ${dtype} needs ${count * BYTES[dtype]} bytes but its offsets span ${off[1] - off[0]}`,
      );
    }
    if (off[1] > dataSize) {
      throw new InputError(
        `truncated safetensors file: tensor "${name}" ends at data byte ${off[1]} but the file has ${dataSize} data bytes`,
        file,
      );
    }
    tensors.set(name, { dtype, shape: shape as number[], offsets: [off[0], off[1]] });
    spans.push([off[0], off[1], name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) bad(`tensors "${spans[i - 1]![2]}" and "${spans[i]![2]}" overlap`);
  }
  return { tensors, metadata, dataStart };
}

/** little-endian bytes of `dtype` as float32 (the bytes must start a fresh, aligned ArrayBuffer) */
export function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const buf = bytes.buffer; // a fresh, aligned ArrayBuffer of exactly this tensor
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf, 0, bytes.length / 4);
    case 'F64':
      return Float32Array.from(new Float64Array(buf, 0, bytes.length / 8));
    case 'F16': {
      const h = new Uint16Array(buf, 0, bytes.length / 2);
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]!);
      return out;
    }
    case 'BF16': {
      const h = new Uint16Array(buf, 0, bytes.length / 2);
      const u = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) u[i] = h[i]! << 16;
      return new Float32Array(u.buffer);
    }
    case 'I64': {
      const v = new BigInt64Array(buf, 0, bytes.length / 8);
      const out = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = Number(v[i]!);
      return out;
    }
    case 'I32':
      return Float32Array.from(new Int32Array(buf, 0, bytes.length / 4));
    case 'I16':
      return Float32Array.from(new Int16Array(buf, 0, bytes.length / 2));
    case 'I8':
      return Float32Array.from(new Int8Array(buf, 0, bytes.length));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(bytes);
  }
}

/** IEEE 754 half → float (subnormals, infinities and NaN included) */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float → IEEE 754 half bits, round to nearest even, overflow to infinity */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

function fromFloat32(data: Float32Array, dtype: 'F16' | 'BF16'): Uint8Array {
  const out = new Uint16Array(data.length);
  if (dtype === 'F16') {
    for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i]!);
  } else {
    const u = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < data.length; i++) {
      const b = u[i]!;
      if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff)
        out[i] = (b >>> 16) | 0x40; // keep NaN a NaN
      else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    }
  }
  return new Uint8Array(out.buffer);
}
