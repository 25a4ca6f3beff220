import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import {
  floatToHalf,
  halfToFloat,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from '../../src/student/safetensors.js';
import type { NamedTensor } from '../../src/student/types.js';
import { handBuilt } from './checkpoint-fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nerd-st-'));

function u16(values: number[]): Uint8Array {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
}

describe('safetensors', () => {
  it('round-trips float32 tensors, metadata and odd shapes', async () => {
    const tensors = new Map<string, NamedTensor>([
      ['b.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 65504.25]) }],
      ['a.bias', { shape: [3], data: Float32Array.from([NaN, Infinity, -Infinity]) }],
      ['scalar', { shape: [], data: Float32Array.from([7]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    // a view into a bigger buffer must be written from its own offset
    const big = new Float32Array(10).map((_, i) => i);
    tensors.set('view', { shape: [3], data: big.subarray(4, 7) });
    const file = path.join(dir, 'rt.safetensors');
    await writeSafetensors(file, tensors, { step: '42' });
    const { tensors: back, metadata } = await readSafetensors(file);
    expect(metadata).toEqual({ format: 'pt', step: '42' });
    expect([...back.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      expect(back.get(name)!.shape).toEqual(t.shape);
      expect(back.get(name)!.dtype).toBe('F32');
      expect(Object.is(back.get(name)!.data[0], t.data[0]) || t.data.length === 0).toBe(true);
      expect([...back.get(name)!.data]).toEqual([...t.data]);
    }
    // layout per the spec: u64 LE header length, JSON header padded to 8 bytes, contiguous data
    const raw = readFileSync(file);
    const n = Number(raw.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(raw.subarray(8, 8 + n).toString());
    expect(header['b.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(raw.length).toBe(8 + n + 4 * (6 + 3 + 1 + 0 + 3));
    expect(raw.readFloatLE(8 + n + 8)).toBe(3.5);
  });

  it('reads F16 and BF16 (and integer buffers) as float32', async () => {
    // half: 1, -2, 65504 (max), 2^-24 (smallest subnormal), 2^-14 (smallest normal), +inf, 0.333251953125, -0
    const half = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0x3555, 0x8000];
    const halfValues = [1, -2, 65504, 2 ** -24, 2 ** -14, Infinity, 0.333251953125, -0];
    // bf16: 1, -2, 3.140625, 1.171875 · 2^126
    const bf = [0x3f80, 0xc000, 0x4049, 0x7e96];
    const i64 = Buffer.alloc(24);
    [0n, 1n, 511n].forEach((v, i) => i64.writeBigInt64LE(v, i * 8));
    const file = path.join(dir, 'half.safetensors');
    writeFileSync(
      file,
      handBuilt([
        { name: 'h', dtype: 'F16', shape: [2, 4], bytes: u16(half) },
        { name: 'bf', dtype: 'BF16', shape: [4], bytes: u16(bf) },
        { name: 'ids', dtype: 'I64', shape: [1, 3], bytes: i64 },
      ]),
    );
    const { tensors } = await readSafetensors(file);
    expect([...tensors.get('h')!.data]).toEqual(halfValues);
    expect(tensors.get('h')!.dtype).toBe('F16');
    expect(Object.is(tensors.get('h')!.data[7], -0)).toBe(true);
    const b = tensors.get('bf')!.data;
    expect([b[0], b[1], b[2]]).toEqual([1, -2, 3.140625]);
    expect(b[3]).toBe(1.171875 * 2 ** 126); // 0x7e96 → sign 0, exponent 0xfd, mantissa 0x16
    expect([...tensors.get('ids')!.data]).toEqual([0, 1, 511]);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('writes F16/BF16 with round-to-nearest-even', async () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(65520)).toBe(0x7c00); // rounds up to infinity
    expect(floatToHalf(65519)).toBe(0x7bff);
    expect(floatToHalf(2 ** -25)).toBe(0); // halfway to the smallest subnormal: ties to even (0)
    expect(floatToHalf(3 * 2 ** -25)).toBe(2); // 1.5 subnormal units: ties to even (2)
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(NaN) & 0x7c00).toBe(0x7c00);
    for (let h = 0; h < 0x7c00; h += 7) expect(floatToHalf(halfToFloat(h))).toBe(h);
    const t = new Map([['x', { shape: [4], data: Float32Array.from([1, 0.1, -3.3, 1000.7]) }]]);
    for (const dtype of ['F16', 'BF16'] as const) {
      const file = path.join(dir, `w-${dtype}.safetensors`);
      await writeSafetensors(file, t, {}, { dtype });
      const back = (await readSafetensors(file)).tensors.get('x')!;
      expect(back.dtype).toBe(dtype);
      [...back.data].forEach((v, i) =>
        expect(Math.abs(v - t.get('x')!.data[i]!)).toBeLessThan(dtype === 'F16' ? 0.5 : 4),
      );
    }
  });

  it('reads only selected tensors', async () => {
    const file = path.join(dir, 'rt.safetensors');
    const { tensors } = await readSafetensors(file, { select: (n) => n.endsWith('bias') });
    expect([...tensors.keys()]).toEqual(['a.bias']);
    const header = await readSafetensorsHeader(file);
    expect(header.tensors.get('b.weight')!.offsets).toEqual([0, 24]);
  });

  it('rejects truncated and malformed files with InputError naming the file', async () => {
    const good = readFileSync(path.join(dir, 'rt.safetensors'));
    const cases: Array<[string, Buffer, RegExp]> = [
      ['trunc-data', good.subarray(0, good.length - 5), /truncated/],
      ['trunc-header', good.subarray(0, 20), /truncated/],
      ['tiny', good.subarray(0, 5), /shorter than/],
      ['not-json', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{oops')]), /not JSON/],
      ['huge-len', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7b]), /implausible/],
      ['bad-dtype', handBuilt([{ name: 'x', dtype: 'F8_E4M3', shape: [1], bytes: new Uint8Array(1) }]), /dtype/],
      ['bad-size', handBuilt([{ name: 'x', dtype: 'F32', shape: [2], bytes: new Uint8Array(4) }]), /needs 8 bytes/],
    ];
    for (const [name, bytes, msg] of cases) {
      const file = path.join(dir, `${name}.safetensors`);
      writeFileSync(file, bytes);
      const err = await readSafetensors(file).catch((e) => e);
      expect(err, name).toBeInstanceOf(InputError);
      expect((err as InputError).file).toBe(file);
      expect((err as InputError).message, name).toMatch(msg);
    }
    await expect(readSafetensors(path.join(dir, 'nope.safetensors'))).rejects.toThrow(InputError);
  });
});
