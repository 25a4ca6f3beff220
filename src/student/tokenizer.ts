/**
 * BERT WordPiece tokenizer with character offsets, giving the same ids as Hugging Face's BertTokenizer
 * (the `tokenizers` crate's BertNormalizer + BertPreTokenizer + WordPiece, i.e. what `tokenizer.json`
 * describes and what transformers.js runs).
 *
 * Written here rather than wrapping @huggingface/tokenizers because that library returns no character
 * offsets, and offsets are what word alignment, span grounding and the review page need.
 *
 * Pipeline for one piece of text (between special tokens such as "[SEP]", which are matched verbatim
 * first, as HF's added tokens are):
 *   1. clean text: drop NUL, U+FFFD and control/format characters (U+FEFF, U+200B, ...); whitespace → space
 *   2. put spaces around CJK ideographs
 *   3. strip accents (NFD, drop non-spacing marks) when `stripAccents`, or when it is null and `lowercase`
 *   4. lower-case
 *   5. split on whitespace, and isolate every punctuation character (ASCII punctuation/symbols, Unicode P*)
 *   6. WordPiece: greedy longest match from the left, "##" on continuations; a word longer than
 *      `maxInputCharsPerWord` code points, or one with an unmatchable remainder, becomes one [UNK].
 *
 * Offsets are [start, end) in UTF-16 code units of the input string (JavaScript string indices), so
 * `text.slice(start, end)` is the original text a sub-word came from (e.g. "Café" for the uncased "cafe").
 *
 * Known, deliberate differences (see test/student/tokenizer.test.ts):
 * Where Hugging Face's implementations disagree we follow the Rust `tokenizers` crate (the "fast" tokenizer
 * that AutoTokenizer loads by default). Known differences (see test/student/tokenizer.test.ts):
 *   - CJK ideographs outside the BMP (U+20000...) are split as in Rust; transformers.js misses them
 *     (it tests UTF-16 code units). Rust's Extension E range starts at U+2B920 (Python: U+2B820).
 *   - Lower-casing is per character, as in Rust (capital sigma → σ, never the final ς that Python's and
 *     JavaScript's whole-string lower-casing give at a word end).
 *   - Unassigned code points (Cn) are kept, as transformers.js does; the Rust crate drops characters its
 *     (older) Unicode tables do not know, e.g. emoji newer than those tables. Either way such a word is
 *     rarely in the vocabulary.
 *   - With clean_text off, U+FEFF is not whitespace (Rust), where transformers.js splits on it.
 *   - Python's slow BertTokenizer also applies NFC first; the fast one (and we) do not.
 *
 * This file holds the Tokenizer class (vocabulary, special tokens, encoding and decoding). Steps 1-5 are
 * tokenizer-basic.ts, step 6 tokenizer-wordpiece.ts; reading and writing Hugging Face's files are
 * tokenizer-load.ts and tokenizer-save.ts; the settings and encoding shapes are tokenizer-settings.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readTextAsync } from '../files.js';
import { basicWords, type OnWord } from './tokenizer-basic.js';
import { parseTokenizerJson, readJsonFile, readTokenizerConfig } from './tokenizer-load.js';
import { specialTokensMap, tokenizerConfig, tokenizerJson } from './tokenizer-save.js';
import { defaultSettings, type Encoding, type TokenizerSettings, type WordPieces } from './tokenizer-settings.js';
import { wordPiece } from './tokenizer-wordpiece.js';

const WORD_CACHE_LIMIT = 200_000;

export class Tokenizer {
  readonly settings: TokenizerSettings;
  /** id → token (a vocab.txt line) */
  readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly maskId: number;
  private readonly specialPattern: RegExp | null;
  private readonly specialIds: Map<string, number>;
  private readonly stripAccents: boolean;
  private readonly wordCache = new Map<string, WordPieces>();

  /**
   * @param vocab tokens by id (vocab.txt order)
   * @param extraSpecial further special tokens matched verbatim in text (HF `added_tokens`), by content
   */
  constructor(
    vocab: readonly string[],
    settings: Partial<TokenizerSettings> = {},
    extraSpecial: Map<string, number> = new Map(),
  ) {
    this.settings = defaultSettings(settings);
    this.vocab = vocab;
    this.ids = new Map();
    // like HF's load_vocab: a duplicated line maps to its last index
    vocab.forEach((token, id) => this.ids.set(token, id));
    const need = (token: string, role: string): number => {
      const id = this.ids.get(token);
      if (id === undefined) throw new InputError(`vocabulary has no ${role} token "${token}"`);
      return id;
    };
    const sp = this.settings.special;
    this.unkId = need(sp.unk, 'unknown');
    this.clsId = need(sp.cls, 'classifier');
    this.sepId = need(sp.sep, 'separator');
    this.padId = need(sp.pad, 'padding');
    this.maskId = this.ids.get(sp.mask) ?? -1;
    this.specialIds = new Map(extraSpecial);
    for (const t of [sp.unk, sp.cls, sp.sep, sp.pad, sp.mask]) {
      const id = this.ids.get(t);
      if (id !== undefined && !this.specialIds.has(t)) this.specialIds.set(t, id);
    }
    const alternatives = [...this.specialIds.keys()]
      .filter((t) => t.length > 0)
      .sort((a, b) => b.length - a.length)
      .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.specialPattern = alternatives.length ? new RegExp(alternatives.join('|'), 'g') : null;
    this.stripAccents = this.settings.stripAccents ?? this.settings.lowercase;
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** id of a token string, or undefined */
  tokenId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** token string of an id */
  idToken(id: number): string {
    const t = this.vocab[id];
    if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.vocab.length})`);
    return t;
  }

  // ---------------------------------------------------------------- loading

  /** From the text of a vocab.txt (one token per line, id = line number). */
  static fromVocabText(text: string, settings: Partial<TokenizerSettings> = {}, file?: string): Tokenizer {
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const vocab = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    if (vocab.length === 0) throw new InputError('vocabulary file is empty', file);
    try {
      return new Tokenizer(vocab, settings);
    } catch (e) {
      if (e instanceof InputError && file && !e.file) throw new InputError(e.message, file);
      throw e;
    }
  }

  static async fromVocabFile(file: string, settings: Partial<TokenizerSettings> = {}): Promise<Tokenizer> {
    const text = await readTextAsync(file, 'vocabulary');
    return Tokenizer.fromVocabText(text, settings, file);
  }

  /** From a parsed Hugging Face tokenizer.json (WordPiece model, BertNormalizer). */
  static fromTokenizerJson(json: unknown, file?: string, overrides: Partial<TokenizerSettings> = {}): Tokenizer {
    const { vocab, settings: merged, extra } = parseTokenizerJson(json, file, overrides);
    try {
      return new Tokenizer(vocab, merged, extra);
    } catch (e) {
      if (e instanceof InputError && file && !e.file) throw new InputError(e.message, file);
      throw e;
    }
  }

  /**
   * From a model folder: `tokenizer.json` if present, else `vocab.txt`; `tokenizer_config.json` (if present)
   * overrides do_lower_case / strip_accents / tokenize_chinese_chars and the special tokens, as
   * BertTokenizerFast does.
   */
  static async fromDirectory(dir: string): Promise<Tokenizer> {
    const { overrides, cfg } = await readTokenizerConfig(dir);
    const jsonFile = path.join(dir, 'tokenizer.json');
    if (existsSync(jsonFile)) {
      const json = await readJsonFile(jsonFile);
      // byte-level BPE (RoBERTa), Unigram (XLM-RoBERTa), ...: Hugging Face's tokenizers (tokenizer-hf.ts)
      if (json.model?.type !== 'WordPiece') {
        const { HfTokenizer } = await import('./tokenizer-hf.js');
        return HfTokenizer.fromJson(json, cfg, jsonFile);
      }
      return Tokenizer.fromTokenizerJson(json, jsonFile, overrides);
    }
    const vocabFile = path.join(dir, 'vocab.txt');
    if (!existsSync(vocabFile)) {
      throw new InputError('model folder has neither tokenizer.json nor vocab.txt', dir);
    }
    // BertTokenizer's own default is do_lower_case=True when tokenizer_config.json does not say
    if (overrides.lowercase === undefined) overrides.lowercase = true;
    return Tokenizer.fromVocabFile(vocabFile, overrides);
  }

  // ---------------------------------------------------------------- encoding

  /** Sub-words of `text` without [CLS]/[SEP]. */
  tokenize(text: string): Encoding {
    const out: Encoding = { ids: [], tokens: [], offsets: [], specialTokensMask: [] };
    const push = (id: number, start: number, end: number, special: number) => {
      out.ids.push(id);
      out.tokens.push(this.vocab[id]!);
      out.offsets.push([start, end]);
      out.specialTokensMask.push(special);
    };
    let from = 0;
    if (this.specialPattern) {
      for (const m of text.matchAll(this.specialPattern)) {
        this.splitText(text, from, m.index, (id, s, e) => push(id, s, e, 0));
        push(this.specialIds.get(m[0])!, m.index, m.index + m[0].length, 1);
        from = m.index + m[0].length;
      }
    }
    this.splitText(text, from, text.length, (id, s, e) => push(id, s, e, 0));
    return out;
  }

  /** `[CLS] sub-words [SEP]`, like HF's `tokenizer(text)` (no truncation: see align.ts for windows). */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): Encoding {
    const enc = this.tokenize(text);
    if (opts.addSpecialTokens === false) return enc;
    return {
      ids: [this.clsId, ...enc.ids, this.sepId],
      tokens: [this.vocab[this.clsId]!, ...enc.tokens, this.vocab[this.sepId]!],
      offsets: [[0, 0], ...enc.offsets, [0, 0]],
      specialTokensMask: [1, ...enc.specialTokensMask, 1],
    };
  }

  /**
   * Sub-words of one pre-split word (as HF's `is_split_into_words`), offsets relative to the word; cached.
   * May be empty (a word of only control characters); `wordIds`, which align.ts encodes with, makes it [UNK].
   */
  encodeWord(word: string): WordPieces {
    let hit = this.wordCache.get(word);
    if (hit) return hit;
    const enc = this.tokenize(word);
    hit = { ids: enc.ids, offsets: enc.offsets };
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, hit);
    return hit;
  }

  /**
   * Sub-word ids of one pre-split word for labelling: never empty. A word whose characters all vanish
   * (only control/format characters such as U+FEFF or U+200B) becomes one [UNK], so that every word of a
   * sentence has a first sub-word to carry (and receive) its label. (HF's `is_split_into_words` would give
   * such a word no sub-word and no prediction.)
   */
  wordIds(word: string): number[] {
    const ids = this.encodeWord(word).ids;
    return ids.length > 0 ? ids.slice() : [this.unkId];
  }

  /**
   * The words BERT's basic tokenizer sees in raw text (whitespace split, each punctuation character and
   * CJK ideograph on its own), as slices of the ORIGINAL text with [start, end) offsets in UTF-16 code
   * units. Words made only of removed characters (control/format) are dropped; special-token strings
   * such as "[SEP]" are kept as one word.
   */
  splitWords(text: string): Array<{ word: string; start: number; end: number }> {
    const out: Array<{ word: string; start: number; end: number }> = [];
    const onWord = (_w: string, _b: readonly number[], starts: readonly number[], ends: readonly number[]) => {
      const start = starts[0]!;
      const end = ends[ends.length - 1]!;
      out.push({ word: text.slice(start, end), start, end });
    };
    let from = 0;
    if (this.specialPattern) {
      for (const m of text.matchAll(this.specialPattern)) {
        this.basicWords(text, from, m.index, onWord);
        out.push({ word: m[0], start: m.index, end: m.index + m[0].length });
        from = m.index + m[0].length;
      }
    }
    this.basicWords(text, from, text.length, onWord);
    return out;
  }

  /** Joins sub-words back into text the way HF's WordPiece decoder does (for debugging and display). */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const specials = new Set(this.specialIds.values());
    const prefix = this.settings.continuingSubwordPrefix;
    let s = '';
    for (const id of ids) {
      if (skip && specials.has(id)) continue;
      const t = this.idToken(id);
      if (t.startsWith(prefix)) s += t.slice(prefix.length);
      else s += (s ? ' ' : '') + t;
    }
    return s;
  }

  /**
   * Normalises and pre-tokenises text[from, to) on the fly, keeping each character's source range,
   * and emits WordPiece sub-words.
   */
  private splitText(
    text: string,
    from: number,
    to: number,
    emit: (id: number, start: number, end: number) => void,
  ): void {
    this.basicWords(text, from, to, (word, bounds, starts, ends) => this.wordPiece(word, bounds, starts, ends, emit));
  }

  /** BERT's basic tokenizer over text[from, to) (tokenizer-basic.ts) with this tokenizer's settings. */
  private basicWords(text: string, from: number, to: number, onWord: OnWord): void {
    basicWords(text, from, to, this.settings, this.stripAccents, onWord);
  }

  private wordPiece(
    word: string,
    bounds: readonly number[],
    starts: readonly number[],
    ends: readonly number[],
    emit: (id: number, start: number, end: number) => void,
  ): void {
    wordPiece(this.ids, this.unkId, this.settings, word, bounds, starts, ends, emit);
  }

  // ---------------------------------------------------------------- saving

  /** vocab.txt contents */
  vocabText(): string {
    return this.vocab.join('\n') + '\n';
  }

  /** tokenizer_config.json contents (BertTokenizer / BertTokenizerFast read these). */
  tokenizerConfig(): Record<string, unknown> {
    return tokenizerConfig(this.settings);
  }

  /** special_tokens_map.json contents */
  specialTokensMap(): Record<string, string> {
    return specialTokensMap(this.settings);
  }

  /** A Hugging Face tokenizer.json describing exactly this tokenizer (loads in tokenizers and transformers.js). */
  toTokenizerJson(): Record<string, unknown> {
    return tokenizerJson(this.settings, this.ids, this.specialIds, this.clsId, this.sepId);
  }
}
