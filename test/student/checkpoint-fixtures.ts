/** Test helpers for checkpoint tests (not a test file itself). */

/** An independent, minimal safetensors writer: raw bytes per tensor, header as given. */
export function handBuilt(
  tensors: Array<{ name: string; dtype: string; shape: number[]; bytes: Uint8Array }>,
  metadata?: object,
): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...tensors.map((t) => Buffer.from(t.bytes))]);
}
