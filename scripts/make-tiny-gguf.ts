/**
 * Writes a tiny llama-architecture GGUF model (GGUF v3, F32 tensors, ~100 KB) for testing the embedded
 * llama.cpp provider's plumbing. No real model can be downloaded here, and the tests need one that
 * llama.cpp loads and runs.
 *
 *   npx tsx scripts/make-tiny-gguf.ts OUT.gguf [--seed N]
 *
 * The model: 1 transformer block, 32-dim embeddings, 2 heads, SentencePiece ("llama") vocabulary of
 * <unk> <s> </s>, the 256 byte-fallback tokens <0x00>..<0xFF>, "▁" and the printable ASCII characters.
 * Weights are seeded random, plus one deliberate structure: every token embedding carries a shared
 * direction `u`, and the output matrix maps `u` to a fixed per-token bias (closing quotes and brackets and
 * end-of-sequence high, bytes and whitespace low). So the logits are roughly the same at every step, and
 * a JSON grammar walks to a short, complete answer instead of wandering in an endless string — random
 * weights alone would almost never close a string.
 *
 * Format written by hand (no npm package writes GGUF): header (magic "GGUF", version 3, tensor count,
 * metadata count), metadata key/values, tensor infos (name, dims with ne0 first, type, offset), padding to
 * `general.alignment` (32), tensor data each aligned to 32. Spec: ggml docs/gguf.md.
 */
import { writeFileSync } from 'node:fs';

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const ALIGNMENT = 32;

enum ValueType {
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}

/** token types of llama.cpp's vocabulary */
enum TokenType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  BYTE = 6,
}

type MetaValue =
  | { type: ValueType.UINT32 | ValueType.INT32 | ValueType.FLOAT32; value: number }
  | { type: ValueType.BOOL; value: boolean }
  | { type: ValueType.STRING; value: string }
  | { type: ValueType.ARRAY; itemType: ValueType.STRING; value: string[] }
  | { type: ValueType.ARRAY; itemType: ValueType.FLOAT32 | ValueType.INT32; value: number[] };

class Writer {
  private chunks: Buffer[] = [];
  length = 0;

  private push(buf: Buffer) {
    this.chunks.push(buf);
    this.length += buf.length;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string) {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  raw(buf: Buffer) {
    this.push(buf);
  }
  pad(alignment: number) {
    const rem = this.length % alignment;
    if (rem !== 0) this.push(Buffer.alloc(alignment - rem));
  }
  value(v: MetaValue) {
    this.u32(v.type);
    switch (v.type) {
      case ValueType.UINT32:
        return this.u32(v.value);
      case ValueType.INT32:
        return this.i32(v.value);
      case ValueType.FLOAT32:
        return this.f32(v.value);
      case ValueType.BOOL:
        return this.raw(Buffer.from([v.value ? 1 : 0]));
      case ValueType.STRING:
        return this.str(v.value);
      case ValueType.ARRAY: {
        this.u32(v.itemType);
        this.u64(v.value.length);
        for (const item of v.value) {
          if (v.itemType === ValueType.STRING) this.str(item as string);
          else if (v.itemType === ValueType.FLOAT32) this.f32(item as number);
          else this.i32(item as number);
        }
      }
    }
  }
  buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** seeded normal random numbers (mulberry32 + Box-Muller) */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export interface TinyGgufOptions {
  seed?: number;
  /** embedding width (default 32) */
  nEmbd?: number;
  /** transformer blocks (default 1) */
  nLayer?: number;
  /** context length the model claims (default 16384: prompts are char-level here) */
  contextLength?: number;
}

export interface TinyVocab {
  tokens: string[];
  scores: number[];
  types: number[];
}

/** <unk>, <s>, </s>, 256 byte tokens, "▁", printable ASCII */
export function tinyVocab(): TinyVocab {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TokenType.BYTE);
  }
  tokens.push('\u2581');
  types.push(TokenType.NORMAL);
  for (let c = 0x21; c <= 0x7e; c++) {
    tokens.push(String.fromCharCode(c));
    types.push(TokenType.NORMAL);
  }
  const scores = tokens.map((_, i) => (types[i] === TokenType.NORMAL ? -i : 0));
  return { tokens, scores, types };
}

/** the fixed output preference per token (see the file comment) */
function outputBias(token: string, type: number): number {
  if (token === '</s>') return 6;
  if (type === TokenType.BYTE || type === TokenType.UNKNOWN || type === TokenType.CONTROL) return -4;
  const table: Record<string, number> = {
    '"': 4,
    ']': 3.5,
    '}': 3,
    ',': 1,
    '{': 0.5,
    '[': 0.5,
    ':': 0.5,
    '\u2581': -2,
  };
  return table[token] ?? 0;
}

export function makeTinyGguf(options: TinyGgufOptions = {}): Buffer {
  const seed = options.seed ?? 1;
  const nEmbd = options.nEmbd ?? 32;
  const nLayer = options.nLayer ?? 1;
  const nHead = 2;
  const nFf = nEmbd * 2;
  const contextLength = options.contextLength ?? 16384;
  const vocab = tinyVocab();
  const nVocab = vocab.tokens.length;
  const randn = gaussian(seed);

  // the shared direction u (unit length)
  const u = Float32Array.from({ length: nEmbd }, () => randn());
  const norm = Math.hypot(...u);
  for (let i = 0; i < nEmbd; i++) u[i]! /= norm;

  const tensors: Array<{ name: string; dims: number[]; data: Float32Array }> = [];
  const random = (dims: number[], std: number) =>
    Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => randn() * std);
  const ones = (n: number) => new Float32Array(n).fill(1);

  const embd = random([nEmbd, nVocab], 0.3);
  for (let t = 0; t < nVocab; t++) for (let i = 0; i < nEmbd; i++) embd[t * nEmbd + i]! += 4 * u[i]!;
  tensors.push({ name: 'token_embd.weight', dims: [nEmbd, nVocab], data: embd });
  for (let l = 0; l < nLayer; l++) {
    const p = `blk.${l}.`;
    tensors.push({ name: `${p}attn_norm.weight`, dims: [nEmbd], data: ones(nEmbd) });
    tensors.push({ name: `${p}attn_q.weight`, dims: [nEmbd, nEmbd], data: random([nEmbd, nEmbd], 0.05) });
    tensors.push({ name: `${p}attn_k.weight`, dims: [nEmbd, nEmbd], data: random([nEmbd, nEmbd], 0.05) });
    tensors.push({ name: `${p}attn_v.weight`, dims: [nEmbd, nEmbd], data: random([nEmbd, nEmbd], 0.05) });
    tensors.push({ name: `${p}attn_output.weight`, dims: [nEmbd, nEmbd], data: random([nEmbd, nEmbd], 0.05) });
    tensors.push({ name: `${p}ffn_norm.weight`, dims: [nEmbd], data: ones(nEmbd) });
    tensors.push({ name: `${p}ffn_gate.weight`, dims: [nEmbd, nFf], data: random([nEmbd, nFf], 0.05) });
    tensors.push({ name: `${p}ffn_up.weight`, dims: [nEmbd, nFf], data: random([nEmbd, nFf], 0.05) });
    tensors.push({ name: `${p}ffn_down.weight`, dims: [nFf, nEmbd], data: random([nFf, nEmbd], 0.05) });
  }
  tensors.push({ name: 'output_norm.weight', dims: [nEmbd], data: ones(nEmbd) });
  const out = random([nEmbd, nVocab], 0.02);
  const scale = 1 / Math.sqrt(nEmbd); // the normed hidden state is about sqrt(nEmbd) * u
  for (let t = 0; t < nVocab; t++) {
    const bias = outputBias(vocab.tokens[t]!, vocab.types[t]!);
    for (let i = 0; i < nEmbd; i++) out[t * nEmbd + i]! += bias * scale * u[i]!;
  }
  tensors.push({ name: 'output.weight', dims: [nEmbd, nVocab], data: out });

  const u32 = (value: number): MetaValue => ({ type: ValueType.UINT32, value });
  const metadata: Array<[string, MetaValue]> = [
    ['general.architecture', { type: ValueType.STRING, value: 'llama' }],
    ['general.name', { type: ValueType.STRING, value: 'nerd-tiny-random-llama (test fixture, not a language model)' }],
    ['general.alignment', u32(ALIGNMENT)],
    ['general.file_type', u32(0)], // ALL_F32
    ['llama.context_length', u32(contextLength)],
    ['llama.embedding_length', u32(nEmbd)],
    ['llama.block_count', u32(nLayer)],
    ['llama.feed_forward_length', u32(nFf)],
    ['llama.attention.head_count', u32(nHead)],
    ['llama.attention.head_count_kv', u32(nHead)],
    ['llama.rope.dimension_count', u32(nEmbd / nHead)],
    ['llama.attention.layer_norm_rms_epsilon', { type: ValueType.FLOAT32, value: 1e-5 }],
    ['llama.vocab_size', u32(nVocab)],
    ['tokenizer.ggml.model', { type: ValueType.STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: ValueType.ARRAY, itemType: ValueType.STRING, value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: ValueType.ARRAY, itemType: ValueType.FLOAT32, value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: ValueType.ARRAY, itemType: ValueType.INT32, value: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', u32(0)],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
    ['tokenizer.ggml.add_bos_token', { type: ValueType.BOOL, value: true }],
    ['tokenizer.ggml.add_eos_token', { type: ValueType.BOOL, value: false }],
  ];

  const w = new Writer();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.str(key);
    w.value(value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(0); // GGML_TYPE_F32
    w.u64(offset);
    offsets.push(offset);
    offset += Math.ceil((t.data.length * 4) / ALIGNMENT) * ALIGNMENT;
  }
  w.pad(ALIGNMENT);
  const dataStart = w.length;
  tensors.forEach((t, i) => {
    const at = dataStart + offsets[i]!;
    if (w.length < at) w.raw(Buffer.alloc(at - w.length));
    w.raw(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  });
  w.pad(ALIGNMENT);
  return w.buffer();
}

export function writeTinyGguf(file: string, options: TinyGgufOptions = {}): string {
  writeFileSync(file, makeTinyGguf(options));
  return file;
}

// CLI: npx tsx scripts/make-tiny-gguf.ts OUT.gguf [--seed N]
if (process.argv[1] && /make-tiny-gguf\.(ts|js)$/.test(process.argv[1])) {
  const args = process.argv.slice(2);
  const out = args.find((a) => !a.startsWith('--'));
  const seedAt = args.indexOf('--seed');
  if (!out) {
    process.stderr.write('usage: make-tiny-gguf OUT.gguf [--seed N]\n');
    process.exit(2);
  }
  writeTinyGguf(out, { seed: seedAt >= 0 ? Number(args[seedAt + 1]) : 1 });
  process.stdout.write(`${out}\n`);
}
