/**
 * Tokenizers that are not BERT's WordPiece — byte-level BPE (RoBERTa), Unigram/SentencePiece
 * (XLM-RoBERTa), ... — run by Hugging Face's Rust `tokenizers` (npm, N-API) from the model's own
 * tokenizer.json, behind the same `Tokenizer` interface the student uses.
 *
 * The binding only encodes asynchronously, while window planning (align.ts) asks for a word's sub-words
 * synchronously; so the words of a batch of sentences are encoded first with `prepareWords` (one
 * `encodeBatch`), and `wordIds` reads them back. A word is encoded as Hugging Face encodes pre-split
 * words (`is_split_into_words`, `add_prefix_space=True` for byte-level BPE): with a leading space, so
 * "Paris" inside a sentence becomes "ĠParis" as it does in running text.
 *
 * BERT's WordPiece stays with the hand-written tokenizer (tokenizer.ts): on the 13,131-sentence corpus both
 * give identical ids and offsets, and it is about twice as fast here (bench/tokenizer.ts).
 */
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { InputError } from '../errors.js';
import { Tokenizer } from './tokenizer.js';
import type { Encoding, WordPieces } from './tokenizer-settings.js';

/** prepared words kept at most (a larger corpus is prepared in parts by its callers' batches) */
const PREPARED_LIMIT = 500_000;

// biome-ignore lint/suspicious/noExplicitAny: tokenizer.json and tokenizer_config.json are free-form JSON
type Json = Record<string, any>;

function tokenString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof (v as Json)?.content === 'string' ? (v as Json).content : undefined;
}

function hasByteLevel(p: Json | null | undefined): { found: boolean; prefix: boolean } {
  if (!p) return { found: false, prefix: false };
  if (p.type === 'ByteLevel') return { found: true, prefix: p.add_prefix_space === true };
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) {
    for (const q of p.pretokenizers) {
      const r = hasByteLevel(q);
      if (r.found) return r;
    }
  }
  return { found: false, prefix: false };
}

/** offsets from the `tokenizers` binding, which counts code points, as UTF-16 units (JavaScript strings, tokenizer.ts) */
export function toUtf16Offsets(text: string, offsets: number[][]): Array<[number, number]> {
  const at: number[] = [];
  let u = 0;
  for (const ch of text) {
    at.push(u);
    u += ch.length;
  }
  at.push(u);
  return offsets.map(([a, b]) => [at[a!] ?? u, at[b!] ?? u]);
}

export class HfTokenizer extends Tokenizer {
  private readonly rust: RustTokenizer;
  private readonly raw: Json;
  private readonly config: Json;
  /** prepend a space to each word (byte-level BPE without add_prefix_space) */
  private readonly spaceBefore: boolean;
  private readonly prepared = new Map<string, number[]>();

  private constructor(
    vocab: string[],
    special: { unk: string; cls: string; sep: string; pad: string; mask: string },
    raw: Json,
    config: Json,
    file?: string,
  ) {
    const maxLen =
      typeof config.model_max_length === 'number' && config.model_max_length < 1e9 ? config.model_max_length : 512;
    super(vocab, {
      special,
      modelMaxLength: maxLen,
      lowercase: false,
      stripAccents: false,
      cleanText: false,
      handleChineseChars: false,
    });
    this.raw = raw;
    this.config = config;
    try {
      this.rust = RustTokenizer.fromString(JSON.stringify(raw));
    } catch (err) {
      throw new InputError(`tokenizers cannot load this tokenizer.json: ${(err as Error).message}`, file);
    }
    const bl = hasByteLevel(raw.pre_tokenizer);
    this.spaceBefore = bl.found && !bl.prefix;
  }

  /** From a parsed tokenizer.json and tokenizer_config.json (special tokens as the config names them). */
  static fromJson(raw: Json, config: Json, file?: string): HfTokenizer {
    const model = raw.model;
    if (!model || typeof model.type !== 'string') throw new InputError('tokenizer.json has no model', file);
    let vocab: string[];
    try {
      const rust = RustTokenizer.fromString(JSON.stringify(raw));
      const map = rust.getVocab(true);
      vocab = [];
      for (const [token, id] of Object.entries(map)) vocab[id] = token;
      for (let i = 0; i < vocab.length; i++) if (vocab[i] === undefined) vocab[i] = `<unused ${i}>`;
    } catch (err) {
      throw new InputError(`tokenizers cannot load this tokenizer.json: ${(err as Error).message}`, file);
    }
    const pp = raw.post_processor as Json | null;
    const special = {
      unk: tokenString(config.unk_token) ?? tokenString(model.unk_token) ?? '<unk>',
      cls: tokenString(config.cls_token) ?? tokenString(config.bos_token) ?? pp?.cls?.[0] ?? '<s>',
      sep: tokenString(config.sep_token) ?? tokenString(config.eos_token) ?? pp?.sep?.[0] ?? '</s>',
      pad: tokenString(config.pad_token) ?? '<pad>',
      mask: tokenString(config.mask_token) ?? '<mask>',
    };
    try {
      return new HfTokenizer(vocab, special, raw, config, file);
    } catch (e) {
      if (e instanceof InputError && file && !e.file) throw new InputError(e.message, file);
      throw e;
    }
  }

  /** the tokenizer.json model type (BPE, Unigram, ...) */
  get modelType(): string {
    return String(this.raw.model?.type);
  }

  /** Encodes the words not yet known, so that `wordIds` can answer them synchronously. */
  async prepareWords(words: Iterable<string>): Promise<void> {
    const todo = [...new Set([...words].filter((w) => !this.prepared.has(w)))];
    if (todo.length === 0) return;
    if (this.prepared.size + todo.length > PREPARED_LIMIT) this.prepared.clear();
    const batch = 4096;
    for (let i = 0; i < todo.length; i += batch) {
      const part = todo.slice(i, i + batch);
      const encs = await this.rust.encodeBatch(
        part.map((w) => (this.spaceBefore ? ` ${w}` : w)),
        { addSpecialTokens: false },
      );
      part.forEach((w, k) => this.prepared.set(w, encs[k]!.getIds()));
    }
  }

  override encodeWord(word: string): WordPieces {
    const ids = this.prepared.get(word);
    if (!ids) throw new Error(`word ${JSON.stringify(word)} was not prepared (call prepareWords first)`);
    return { ids, offsets: [] };
  }

  override tokenize(_text: string): Encoding {
    throw new Error('this tokenizer encodes asynchronously: use encodeAsync');
  }

  /** `text` encoded with the tokenizer's special tokens, offsets in UTF-16 units (as tokenizer.ts's) */
  async encodeAsync(text: string, opts: { addSpecialTokens?: boolean } = {}): Promise<Encoding> {
    const e = await this.rust.encode(text, null, { addSpecialTokens: opts.addSpecialTokens ?? true });
    return {
      ids: e.getIds(),
      tokens: e.getTokens(),
      offsets: toUtf16Offsets(text, e.getOffsets()),
      specialTokensMask: e.getSpecialTokensMask(),
    };
  }

  override splitWords(text: string): Array<{ word: string; start: number; end: number }> {
    return [...text.matchAll(/\S+/g)].map((m) => ({ word: m[0], start: m.index, end: m.index + m[0].length }));
  }

  override decode(ids: readonly number[]): string {
    return ids.map((id) => this.idToken(id)).join(' ');
  }

  /** none: the vocabulary lives in tokenizer.json */
  override vocabText(): string {
    return '';
  }

  override tokenizerConfig(): Record<string, unknown> {
    return { ...this.config, model_max_length: this.settings.modelMaxLength };
  }

  override specialTokensMap(): Record<string, string> {
    const s = this.settings.special;
    return {
      bos_token: s.cls,
      eos_token: s.sep,
      unk_token: s.unk,
      sep_token: s.sep,
      pad_token: s.pad,
      cls_token: s.cls,
      mask_token: s.mask,
    };
  }

  override toTokenizerJson(): Record<string, unknown> {
    return this.raw;
  }
}
